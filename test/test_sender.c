/* A layer without a server (wsc_layer_*): a worker-style program opens the
 * config's alias and reaches the clients of a real server process through a
 * real redis-server, for both Redis drivers; outcomes and errors come back
 * to the sender, with why Redis is down (refused, or hung). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "helpers/check.h"
#include "helpers/process.h"
#include "helpers/redis_server.h"
#include "helpers/ws_client.h"

/* A string literal and its length. */
#define S(lit) lit, strlen(lit)

static char *server_bin;
static wst_redis *redis;

typedef struct outcome {
  int calls, status;
  char msg[256];
} outcome;

static void on_result(int status, const char *errmsg, void *ud) {
  outcome *o = ud;
  o->calls++;
  o->status = status;
  snprintf(o->msg, sizeof o->msg, "%s", errmsg ? errmsg : "");
}

/* Runs the loop until the outcome arrives (bounded: 10 s). */
static void wait_outcome(uv_loop_t *loop, outcome *o) {
  for (int i = 0; i < 1000 && !o->calls; i++) {
    uv_run(loop, UV_RUN_NOWAIT);
    uv_sleep(10);
  }
  CHECK_EQ(o->calls, 1);
}

/* Listens on 127.0.0.1:port and never accepts nor answers. */
static int silent_listener(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(fd >= 0);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 16) == 0);
  return fd;
}

/* Runs the loop, broadcasting every 10 ms, until a broadcast returns `rc`
 * (with `errmsg` in the layer's message, if given) or `ms` have passed. */
static int until(uv_loop_t *loop, wsc_layer *l, int ms, int rc, const char *errmsg) {
  for (int t = 0; t < ms; t += 10) {
    uv_run(loop, UV_RUN_NOWAIT);
    if (wsc_layer_broadcast_event(l, "lobby", S("{\"action\":\"x\"}"), NULL, NULL) == rc &&
        (!errmsg || strstr(wsc_layer_errmsg(l), errmsg)))
      return 1;
    uv_sleep(10);
  }
  return 0;
}

/* A longer hang with a burst in flight: the server's subscriber is given up
 * as well, and replaced while Redis works through the burst. Every message
 * the sender had accepted reaches the client once, in order. */
static void burst_through_a_long_hang(uv_loop_t *loop, wsc_layer *l, wst_client *c) {
  enum { BURST = 2000 };
  static outcome sent[BURST];
  memset(sent, 0, sizeof sent);
  char *got;
  while ((got = wst_recv(c, 300))) free(got); /* what came before */
  wst_redis_signal(redis, SIGSTOP);
  char msg[600];
  for (int i = 0; i < BURST; i++) {
    int n = snprintf(msg, sizeof msg, "{\"action\":\"told\",\"payload\":\"b%d %0480d\"}", i, 0);
    CHECK_OK(wsc_layer_broadcast_event(l, "lobby", msg, (size_t)n, on_result, &sent[i]));
  }
  for (int t = 0; t < 7000; t += 10) { /* the server gives its subscriber up at ~4 s */
    uv_run(loop, UV_RUN_NOWAIT);
    uv_sleep(10);
  }
  wst_redis_signal(redis, SIGCONT);
  wait_outcome(loop, &sent[BURST - 1]);
  for (int i = 0; i < BURST; i++) CHECK_EQ(sent[i].status, 0);
  static int times[BURST];
  memset(times, 0, sizeof times);
  int last = -1, received = 0, missing = 0, doubled = 0, unordered = 0;
  while (received < BURST && (got = wst_recv(c, 5000))) {
    int k = -1;
    CHECK(sscanf(got, "{\"action\":\"told\",\"payload\":\"b%d ", &k) == 1);
    CHECK(k >= 0 && k < BURST);
    unordered += k < last;
    last = k;
    times[k]++;
    received++;
    free(got);
  }
  for (int i = 0; i < BURST; i++) {
    missing += times[i] == 0;
    doubled += times[i] > 1;
  }
  if (missing || doubled || unordered)
    fprintf(stderr, "of %d: %d missing, %d twice, %d out of order\n", BURST, missing, doubled,
            unordered);
  CHECK_EQ(missing + doubled + unordered, 0);
}

static void on_layer_closed(void *ud) { *(int *)ud = 1; }

static wsc_layer_stats stats_of(const wsc_layer *l) {
  wsc_layer_stats st = {.struct_size = sizeof st};
  CHECK_OK(wsc_layer_get_stats(l, &st));
  return st;
}

/* Runs the loop until the layer reports its backend up (both of its
 * connections answer), or `ms` have passed. */
static int backend_comes_up(uv_loop_t *loop, const wsc_layer *l, int ms) {
  for (int t = 0; t < ms && !stats_of(l).backend_up; t += 10) {
    uv_run(loop, UV_RUN_NOWAIT);
    uv_sleep(10);
  }
  return stats_of(l).backend_up == 1;
}

/* A cron job in C: sends, closes at once, runs the loop to the end. What
 * the layer took is carried out before it closes (each callback says so,
 * and one sent without a callback arrives too); what comes after the close
 * is refused. */
static void send_then_close(const char *cfg, wst_client *c) {
  enum { N = 100 };
  uv_loop_t loop;
  uv_loop_init(&loop);
  wsc_layer *l;
  char err[WSC_ERRBUF_SIZE], msg[64];
  CHECK_OK(wsc_layer_new(&loop, cfg, "L", &l, err, sizeof err));
  static outcome sent[N];
  memset(sent, 0, sizeof sent);
  for (int i = 0; i < N; i++) {
    int n = snprintf(msg, sizeof msg, "{\"action\":\"told\",\"payload\":\"c%d\"}", i);
    CHECK_OK(wsc_layer_broadcast_event(l, "lobby", msg, (size_t)n, on_result, &sent[i]));
  }
  CHECK_OK(wsc_layer_broadcast_event(l, "lobby", S("{\"action\":\"told\",\"payload\":\"last\"}"),
                                     NULL, NULL));
  int closed = 0;
  CHECK_OK(wsc_layer_close(l, on_layer_closed, &closed));
  CHECK_EQ(wsc_layer_broadcast_event(l, "lobby", S("{\"action\":\"x\"}"), NULL, NULL),
           WSC_ECLOSED);
  CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  CHECK(closed);
  CHECK_EQ(uv_loop_close(&loop), 0);
  for (int i = 0; i < N; i++) {
    CHECK_EQ(sent[i].calls, 1);
    CHECK_EQ(sent[i].status, 0);
    snprintf(msg, sizeof msg, "{\"action\":\"told\",\"payload\":\"c%d\"}", i);
    wst_expect(c, msg);
  }
  wst_expect(c, "{\"action\":\"told\",\"payload\":\"last\"}");

  /* Redis hangs: the close waits for answers only while they come (2 s of
   * silence ends it), and the sender is told its send was cut short. */
  uv_loop_init(&loop);
  CHECK_OK(wsc_layer_new(&loop, cfg, "L", &l, err, sizeof err));
  outcome up = {0, 0, ""}, hung = {0, 0, ""};
  CHECK_OK(wsc_layer_broadcast_event(l, "lobby", S("{\"action\":\"told\",\"payload\":\"up\"}"),
                                     on_result, &up));
  wait_outcome(&loop, &up);
  wst_redis_signal(redis, SIGSTOP);
  CHECK_OK(wsc_layer_broadcast_event(l, "lobby", S("{\"action\":\"told\",\"payload\":\"hung\"}"),
                                     on_result, &hung));
  uint64_t start = uv_hrtime();
  closed = 0;
  CHECK_OK(wsc_layer_close(l, on_layer_closed, &closed));
  CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  double took = (double)(uv_hrtime() - start) / 1e9;
  wst_redis_signal(redis, SIGCONT);
  CHECK_EQ(uv_loop_close(&loop), 0);
  CHECK(closed);
  CHECK_EQ(hung.calls, 1);
  CHECK(hung.status == WSC_ECLOSED || hung.status == WSC_ELAYER);
  fprintf(stderr, "  a close with Redis hung took %.1f s\n", took);
  CHECK(took >= 1.5 && took < 6);
  char *got;
  while ((got = wst_recv(c, 500))) free(got); /* "up", and "hung" once Redis woke */
}

static void run_driver(const char *driver) {
  char cfg[1024];
  snprintf(cfg, sizeof cfg,
           "{\"layers\":{\"L\":{\"driver\":\"%s\",\"url\":\"${WST_REDIS_URL}\","
           "\"prefix\":\"snd_%s\",\"reply_timeout\":2%s}},"
           "\"routes\":[{\"path\":\"/ws/chat\",\"consumer\":\"chat\"}],"
           "\"consumers\":{\"chat\":{\"layer\":\"L\",\"groups\":[\"lobby\"]}}}",
           driver, driver, strcmp(driver, "redis") == 0 ? ",\"capacity\":2" : "");
  char *argv[] = {server_bin, "L", cfg, NULL};
  wst_proc p = wst_proc_start(argv);
  wst_client *c = wst_open(p.port, "/ws/chat");
  wst_send_text(c, "{\"action\":\"whoami\"}");
  char *me = wst_recv(c, 5000), channel[128];
  CHECK(sscanf(me, "{\"action\":\"whoami\",\"payload\":\"%127[^\"]\"}", channel) == 1);
  free(me);

  uv_loop_t loop;
  uv_loop_init(&loop);
  wsc_layer *l;
  char err[WSC_ERRBUF_SIZE];
  CHECK_EQ(wsc_layer_new(&loop, cfg, "nope", &l, err, sizeof err), WSC_ENOTFOUND);
  CHECK_CONTAINS(err, "layers.nope");
  /* A Redis that has not seen the queue layer's scripts (new, restarted,
   * or flushed), as a cron job meets it: its first sends, made before the
   * connection is up, must not fail with NOSCRIPT. */
  free(wst_redis_cli(redis, "SCRIPT FLUSH"));
  CHECK_OK(wsc_layer_new(&loop, cfg, "L", &l, err, sizeof err));

  /* Broadcast an event: the server's event handler runs for the client.
   * (The group join travels through Redis: retry until it lands; every
   * attempt, the first included, must be carried out.) */
  char *got = NULL;
  for (int i = 0; i < 50 && !got; i++) {
    outcome o = {0, 0, ""};
    CHECK_OK(wsc_layer_broadcast_event(l, "lobby", S("{\"action\":\"told\",\"payload\":\"all\"}"), on_result, &o));
    wait_outcome(&loop, &o);
    CHECK_EQ(o.status, 0);
    got = wst_recv(c, 100);
  }
  CHECK_STREQ(got, "{\"action\":\"told\",\"payload\":\"all\"}");
  free(got);
  while ((got = wst_recv(c, 300))) free(got); /* retries that landed too */

  /* An event to the client's channel name. */
  outcome o = {0, 0, ""};
  CHECK_OK(wsc_layer_send_event(l, channel, S("{\"action\":\"told\",\"payload\":\"you\"}"), on_result, &o));
  wait_outcome(&loop, &o);
  CHECK_EQ(o.status, 0);
  wst_expect(c, "{\"action\":\"told\",\"payload\":\"you\"}");

  send_then_close(cfg, c);

  /* Errors reach the sender. */
  CHECK_EQ(wsc_layer_send_event(l, channel, S("[1]"), on_result, &o), WSC_EINVAL);
  CHECK_CONTAINS(wsc_layer_errmsg(l), "\"action\"");
  CHECK_EQ(wsc_layer_send_event(l, "bad name", S("{\"action\":\"x\"}"), NULL, NULL),
           WSC_EBADNAME);
  if (strcmp(driver, "redis") == 0) { /* capacity 2 on a channel nobody reads */
    outcome f[3];
    memset(f, 0, sizeof f);
    for (int i = 0; i < 3; i++) {
      CHECK_OK(wsc_layer_send_event(l, "nobody", S("{\"action\":\"x\"}"), on_result, &f[i]));
      wait_outcome(&loop, &f[i]);
    }
    CHECK_EQ(f[0].status, 0);
    CHECK_EQ(f[2].status, WSC_EFULL);
    CHECK_CONTAINS(f[2].msg, "channel 'nobody' is full");
    /* A group send reaches its other members and skips the full one, as
     * channels_redis does; the skip is logged and counted as dropped. */
    uint64_t dropped = stats_of(l).dropped;
    CHECK_OK(wsc_layer_group_add(l, "with_nobody", "nobody"));
    outcome g = {0, 0, ""};
    CHECK_OK(wsc_layer_broadcast_event(l, "with_nobody", S("{\"action\":\"x\"}"), on_result, &g));
    wait_outcome(&loop, &g);
    CHECK_EQ(g.status, 0);
    CHECK_EQ(stats_of(l).dropped, dropped + 1);
  }
  /* Redis hangs (stopped: the kernel still takes what is sent). Once Redis
   * owes an answer for reply_timeout, later sends are refused at once,
   * saying why (they waited in hiredis before: for ever, on a dead
   * network); what was sent before is not given up on, and is carried out
   * and reported when Redis wakes. */
  wst_redis_signal(redis, SIGSTOP);
  outcome h = {0, 0, ""};
  CHECK_OK(wsc_layer_broadcast_event(l, "lobby", S("{\"action\":\"told\",\"payload\":\"held\"}"),
                                     on_result, &h));
  CHECK(until(&loop, l, 10000, WSC_ELAYER, "is unreachable (no answer in 2 s; reconnecting)"));
  CHECK_EQ(h.calls, 0);
  /* The counters say so too: down, the held send pending, the refused
   * ones refused. */
  wsc_layer_stats st = stats_of(l);
  CHECK_EQ(st.backend_up, 0);
  CHECK(st.sends_pending >= 1);
  CHECK(st.sends_refused >= 1);
  wst_redis_signal(redis, SIGCONT);
  wait_outcome(&loop, &h);
  CHECK_EQ(h.status, 0);
  wst_expect(c, "{\"action\":\"told\",\"payload\":\"held\"}");
  CHECK(until(&loop, l, 15000, 0, NULL));
  CHECK(backend_comes_up(&loop, l, 5000));
  burst_through_a_long_hang(&loop, l, c);

  /* Redis down: a clear, immediate error naming the URL and why (after a
   * second of retries, the refused connect rather than the first loss). */
  wst_redis_kill(redis);
  for (int i = 0; i < 100; i++) {
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_sleep(10);
  }
  CHECK_EQ(wsc_layer_broadcast_event(l, "lobby", S("{\"action\":\"x\"}"), NULL, NULL),
           WSC_ELAYER);
  CHECK_CONTAINS(wsc_layer_errmsg(l), "is unreachable (Connection refused; reconnecting)");
  CHECK_CONTAINS(wsc_layer_errmsg(l), wst_redis_url(redis));
  CHECK_EQ(stats_of(l).backend_up, 0);
  /* Something takes connections on Redis' port and never answers (a hung
   * Redis, a half-dead proxy): down too, with that reason, not connected. */
  int silent = silent_listener(wst_redis_port(redis));
  CHECK(until(&loop, l, 15000, WSC_ELAYER, "(connected, but no answer in time; reconnecting)"));
  close(silent);
  wst_redis_restart(redis);
  CHECK(until(&loop, l, 15000, 0, NULL)); /* back, within the backoff */
  CHECK(backend_comes_up(&loop, l, 5000));
  st = stats_of(l);
  CHECK_EQ(st.sends_taken, st.sends_ok + st.sends_failed + st.sends_pending);

  CHECK_OK(wsc_layer_close(l, NULL, NULL));
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_EQ(uv_loop_close(&loop), 0);
  wst_close(c, 1000);
  wst_proc_stop(&p);
}

int main(int argc, char **argv) {
  CHECK(argc == 2);
  server_bin = argv[1];
  signal(SIGPIPE, SIG_IGN);
  redis = wst_redis_start(0);
  setenv("WST_REDIS_URL", wst_redis_url(redis), 1);
  fprintf(stderr, "[ RUN  ] redis_pubsub\n");
  run_driver("redis_pubsub");
  fprintf(stderr, "[  OK  ] redis_pubsub\n[ RUN  ] redis\n");
  run_driver("redis");
  fprintf(stderr, "[  OK  ] redis\n");
  wst_redis_stop(redis);
  return 0;
}
