/* A Redis channel layer (WST_DRIVER: "redis_pubsub" or "redis") across real
 * server processes sharing a real redis-server started on a free port:
 * broadcasts reach clients of both processes exactly once, sends to a
 * channel name reach only that client, prefixes keep aliases apart, Redis
 * dying and coming back leaves clients connected with broadcasts resuming,
 * and 10,000 broadcasts reach 200 clients over two processes in order.
 * A Redis that refuses reconnects (a password set since) is retried with
 * backoff, not hammered. For the queue driver also: capacity, expiry,
 * messages Redis accepted before a kill -9 delivered after its restart, and
 * group memberships back within a second of Redis losing its data. A network
 * that goes silent without closing anything is noticed within seconds. */
#include <signal.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "helpers/check.h"
#include "helpers/process.h"
#include "helpers/redis_server.h"
#include "helpers/tcp_relay.h"
#include "helpers/ws_client.h"

#define IS_QUEUE (strcmp(WST_DRIVER, "redis") == 0)

static char *server_bin;
static wst_redis *redis;

static char *config_at(const char *url, const char *prefix, const char *extra) {
  char *c = malloc(1024);
  snprintf(c, 1024,
           "{\"layers\":{\"L\":{\"driver\":\"%s\",\"url\":\"%s\",\"prefix\":\"%s\"%s}},"
           "\"routes\":[{\"path\":\"/ws/chat\",\"consumer\":\"chat\"}],"
           /* load tests: one client sends thousands of messages */
           "\"limits\":{\"messages_per_second\":0},"
           "\"consumers\":{\"chat\":{\"layer\":\"L\",\"groups\":[\"lobby\"]}}}",
           WST_DRIVER, url, prefix, extra ? extra : "");
  return c;
}

static char *config(const char *prefix, const char *extra) {
  return config_at(wst_redis_url(redis), prefix, extra);
}

static wst_proc start(const char *cfg) {
  char *argv[] = {server_bin, "L", (char *)cfg, NULL};
  return wst_proc_start(argv);
}

static char *field(const char *json, const char *name) {
  cJSON *j = cJSON_Parse(json);
  const cJSON *v = cJSON_GetObjectItem(j, name);
  char *out = cJSON_IsString(v) ? strdup(v->valuestring) : cJSON_PrintUnformatted(v);
  cJSON_Delete(j);
  return out;
}

static char *whoami(wst_client *c) {
  wst_send_text(c, "{\"action\":\"whoami\"}");
  char *m = wst_recv(c, 5000);
  CHECK(m);
  char *ch = field(m, "payload");
  free(m);
  return ch;
}

static void say(wst_client *c, const char *text) {
  char m[256];
  snprintf(m, sizeof m, "{\"action\":\"say\",\"payload\":{\"text\":\"%s\"}}", text);
  wst_send_text(c, m);
}

static void tell(wst_client *c, const char *to, const char *text) {
  char m[512];
  snprintf(m, sizeof m, "{\"action\":\"tell\",\"payload\":{\"to\":\"%s\",\"text\":\"%s\"}}",
           to, text);
  wst_send_text(c, m);
}

/* Waits until a broadcast from `from` reaches every client (subscriptions
 * and group joins travel through Redis, so they take a moment), then leaves
 * every client with nothing pending. */
static void settle(wst_client *from, wst_client **cl, int n) {
  static int round;
  for (int attempt = 0; attempt < 50; attempt++) {
    char token[32], want[96];
    snprintf(token, sizeof token, "sync-%d", ++round);
    snprintf(want, sizeof want, "{\"action\":\"said\",\"payload\":\"%s\"}", token);
    say(from, token);
    int all = 1;
    for (int i = 0; i < n; i++) {
      char *m;
      int got = 0;
      while ((m = wst_recv(cl[i], all ? 1000 : 50))) {
        got = strcmp(m, want) == 0;
        free(m);
        if (got) break;
      }
      all = all && got;
    }
    if (all) {
      for (int i = 0; i < n; i++) CHECK(wst_silent(cl[i], i ? 0 : 100));
      return;
    }
  }
  CHECK(!"clients never all received a broadcast");
}

static void expect_said(wst_client *c, const char *text) {
  char want[256];
  snprintf(want, sizeof want, "{\"action\":\"said\",\"payload\":\"%s\"}", text);
  wst_expect(c, want);
}

static void test_two_processes(void) {
  char *cfg = config("t", NULL);
  wst_proc a = start(cfg), b = start(cfg);
  wst_client *cl[4] = {wst_open(a.port, "/ws/chat"), wst_open(a.port, "/ws/chat"),
                       wst_open(b.port, "/ws/chat"), wst_open(b.port, "/ws/chat")};
  settle(cl[0], cl, 4);

  /* A broadcast from a client of A reaches every client once. */
  say(cl[0], "hello both");
  for (int i = 0; i < 4; i++) expect_said(cl[i], "hello both");
  say(cl[3], "and back");
  for (int i = 0; i < 4; i++) expect_said(cl[i], "and back");
  for (int i = 0; i < 4; i++) CHECK(wst_silent(cl[i], i ? 0 : 150));

  /* A send to the channel name of a client of B, made from A. */
  char *target = whoami(cl[2]);
  CHECK(strncmp(target, "specific.", 9) == 0 && strchr(target, '!'));
  tell(cl[0], target, "only you");
  wst_expect(cl[2], "{\"action\":\"told\",\"payload\":\"only you\"}");
  wst_expect(cl[0], "{\"action\":\"tell_result\",\"payload\":{\"status\":\"WSC_OK\","
                    "\"error\":\"\"}}");
  for (int i = 0; i < 4; i++) CHECK(wst_silent(cl[i], i ? 0 : 150));

  /* Events broadcast to a group run each member's handler, on both sides. */
  wst_send_text(cl[2], "{\"action\":\"shout\",\"payload\":{\"text\":\"ev\"}}");
  for (int i = 0; i < 4; i++) wst_expect(cl[i], "{\"action\":\"told\",\"payload\":\"ev\"}");

  /* Prefixes keep aliases apart on one Redis. */
  char *other = config("other", NULL);
  wst_proc c = start(other);
  wst_client *oc[1] = {wst_open(c.port, "/ws/chat")};
  settle(oc[0], oc, 1);
  say(cl[0], "prefix t");
  for (int i = 0; i < 4; i++) expect_said(cl[i], "prefix t");
  say(oc[0], "prefix other");
  expect_said(oc[0], "prefix other");
  CHECK(wst_silent(oc[0], 200));
  for (int i = 0; i < 4; i++) CHECK(wst_silent(cl[i], i ? 0 : 200));

  for (int i = 0; i < 4; i++) wst_close(cl[i], 1000);
  wst_close(oc[0], 1000);
  wst_proc_stop(&a);
  wst_proc_stop(&b);
  wst_proc_stop(&c);
  free(target);
  free(cfg);
  free(other);
}

/* A consumer that joins a group and broadcasts to it at once (Chanx's join
 * notices) reaches the joiner too: on Pub/Sub the publish waits for the new
 * subscription. Fresh groups every time, so every join subscribes anew. */
static void test_broadcast_right_after_joining(void) {
  char *cfg = config("j", NULL);
  wst_proc a = start(cfg);
  wst_client *c = wst_open(a.port, "/ws/chat");
  for (int i = 0; i < 100; i++) {
    char msg[128], want[128];
    snprintf(msg, sizeof msg, "{\"action\":\"join\",\"payload\":{\"group\":\"g%d\"}}", i);
    snprintf(want, sizeof want, "{\"action\":\"said\",\"payload\":\"joined g%d\"}", i);
    wst_send_text(c, msg);
    char *got = wst_recv(c, 5000);
    if (!got || strcmp(got, want) != 0)
      fprintf(stderr, "join %d: got %s\n", i, got ? got : "(nothing in 5 s)");
    CHECK(got && strcmp(got, want) == 0);
    free(got);
  }
  wst_close(c, 1000);
  wst_proc_stop(&a);
  free(cfg);
}

static void test_capacity_and_expiry(void) {
  if (!IS_QUEUE) return; /* Pub/Sub keeps nothing: no capacity, no expiry */
  char *cfg = config("cap", ",\"capacity\":3,\"expiry\":1");
  wst_proc a = start(cfg), b = start(cfg);
  wst_client *x = wst_open(a.port, "/ws/chat"), *y = wst_open(b.port, "/ws/chat");
  /* Nobody reads "nobody": the 4th message is refused, to the sender. */
  for (int i = 0; i < 4; i++) tell(x, "nobody", "hello?");
  for (int i = 0; i < 3; i++)
    wst_expect(x, "{\"action\":\"tell_result\",\"payload\":{\"status\":\"WSC_OK\","
                  "\"error\":\"\"}}");
  char *r = wst_recv(x, 5000);
  CHECK_CONTAINS(r, "\"status\":\"WSC_EFULL\"");
  CHECK_CONTAINS(r, "channel 'nobody' is full");
  free(r);
  /* A message that waits longer than the expiry is not delivered. */
  char *ych = whoami(y);
  wst_proc_signal(&b, SIGSTOP);
  tell(x, ych, "stale");
  wst_expect(x, "{\"action\":\"tell_result\",\"payload\":{\"status\":\"WSC_OK\","
                "\"error\":\"\"}}");
  uv_sleep(1600);
  wst_proc_signal(&b, SIGCONT);
  tell(x, ych, "fresh");
  wst_expect(y, "{\"action\":\"told\",\"payload\":\"fresh\"}");
  CHECK(wst_silent(y, 200));
  free(ych);
  wst_close(x, 1000);
  wst_close(y, 1000);
  wst_proc_stop(&a);
  wst_proc_stop(&b);
  free(cfg);
}

enum { PER_PROC = 50 };

static void test_redis_restart(void) {
  char *cfg = config("rs", NULL);
  wst_proc a = start(cfg), b = start(cfg);
  wst_client *cl[2 * PER_PROC];
  for (int i = 0; i < 2 * PER_PROC; i++)
    cl[i] = wst_open(i < PER_PROC ? a.port : b.port, "/ws/chat");
  settle(cl[0], cl, 2 * PER_PROC);
  char *bch = whoami(cl[PER_PROC]);
  if (IS_QUEUE) { /* B cannot read; Redis accepts a message for it */
    wst_proc_signal(&b, SIGSTOP);
    tell(cl[0], bch, "kept");
    wst_expect(cl[0], "{\"action\":\"tell_result\",\"payload\":{\"status\":"
                      "\"WSC_OK\",\"error\":\"\"}}");
  }
  wst_redis_kill(redis);
  if (IS_QUEUE) wst_proc_signal(&b, SIGCONT);
  /* Every client is still connected and served. */
  for (int i = 0; i < 2 * PER_PROC; i++) {
    wst_send_text(cl[i], "{\"action\":\"ping\"}");
    char *m;
    do { /* a "kept" may arrive first on B's client */
      m = wst_recv(cl[i], 5000);
      CHECK(m);
    } while (strstr(m, "\"told\"") && (free(m), 1));
    CHECK_STREQ(m, "{\"action\":\"pong\",\"payload\":null}");
    free(m);
  }
  /* A layer operation while Redis is down fails clearly. */
  say(cl[0], "during");
  char *err = wst_recv(cl[0], 5000);
  CHECK_STREQ(err, "{\"action\":\"error\",\"payload\":{\"detail\":\"Failed to "
                   "process message for say\"}}");
  free(err);
  wst_redis_restart(redis);
  settle(cl[0], cl, 2 * PER_PROC); /* broadcasts resume, to everyone */
  if (IS_QUEUE) {
    /* What Redis accepted before the kill was delivered, exactly once
     * (settle discarded it if it came first; ask again to be sure). */
    tell(cl[0], bch, "after");
    wst_expect(cl[0], "{\"action\":\"tell_result\",\"payload\":{\"status\":"
                      "\"WSC_OK\",\"error\":\"\"}}");
    wst_expect(cl[PER_PROC], "{\"action\":\"told\",\"payload\":\"after\"}");
  }
  for (int i = 0; i < 2 * PER_PROC; i++) wst_close(cl[i], 0);
  wst_proc_stop(&a);
  wst_proc_stop(&b);
  free(bch);
  free(cfg);
}

static void test_kept_message_survives_restart(void) {
  if (!IS_QUEUE) return;
  char *cfg = config("kept", NULL);
  wst_proc a = start(cfg), b = start(cfg);
  wst_client *x = wst_open(a.port, "/ws/chat"), *y = wst_open(b.port, "/ws/chat");
  char *ych = whoami(y);
  wst_proc_signal(&b, SIGSTOP);
  tell(x, ych, "kept");
  wst_expect(x, "{\"action\":\"tell_result\",\"payload\":{\"status\":\"WSC_OK\","
                "\"error\":\"\"}}");
  wst_redis_kill(redis);
  wst_redis_restart(redis);
  wst_proc_signal(&b, SIGCONT);
  wst_expect(y, "{\"action\":\"told\",\"payload\":\"kept\"}");
  CHECK(wst_silent(y, 500)); /* once */
  free(ych);
  wst_close(x, 1000);
  wst_close(y, 1000);
  wst_proc_stop(&a);
  wst_proc_stop(&b);
  free(cfg);
}

static int group_size(const char *prefix) {
  char args[128];
  snprintf(args, sizeof args, "ZCARD %s:group:lobby", prefix);
  char *out = wst_redis_cli(redis, args);
  int n = atoi(out);
  free(out);
  return n;
}

static void test_memberships_follow_connections_and_processes(void) {
  /* The group set holds one entry per process with members in the group. */
  if (!IS_QUEUE) return; /* Pub/Sub memberships live in each process */
  char *cfg = config("gx", ",\"group_expiry\":2");
  wst_proc a = start(cfg), b = start(cfg);
  wst_client *cl[3] = {wst_open(a.port, "/ws/chat"), wst_open(a.port, "/ws/chat"),
                       wst_open(b.port, "/ws/chat")};
  settle(cl[0], cl, 3);
  CHECK_EQ(group_size("gx"), 2);
  /* When a process's last connection in a group closes, it leaves it. */
  wst_close(cl[2], 1000);
  for (int i = 0; i < 100 && group_size("gx") != 1; i++) uv_sleep(20);
  CHECK_EQ(group_size("gx"), 1);
  wst_close(cl[1], 1000); /* A still has cl[0] */
  uv_sleep(100);
  CHECK_EQ(group_size("gx"), 1);
  cl[2] = wst_open(b.port, "/ws/chat");
  settle(cl[0], (wst_client *[]){cl[0], cl[2]}, 2);
  CHECK_EQ(group_size("gx"), 2);
  /* A dead process's membership expires by group_expiry; a live one's is
   * refreshed, so its client keeps receiving long after group_expiry. */
  wst_proc_signal(&b, SIGKILL);
  CHECK(waitpid(b.pid, NULL, 0) == b.pid);
  uv_sleep(3000);
  say(cl[0], "still here");
  expect_said(cl[0], "still here");
  CHECK_EQ(group_size("gx"), 1);
  wst_close(cl[0], 1000);
  wst_close(cl[2], 0);
  wst_proc_stop(&a);
  free(cfg);
}

/* A process that dies without leaving its groups (kill -9, a crash, a lost
 * host) stops being a member within `expiry`, not group_expiry (a day), so
 * it does not cost every group send a write until then; a live process stays
 * a member however many times `expiry` passes. */
static void test_a_dead_process_leaves_its_groups_within_expiry(void) {
  if (!IS_QUEUE) return;
  char *cfg = config("alive", ",\"expiry\":1");
  wst_proc a = start(cfg), b = start(cfg);
  wst_client *cl[2] = {wst_open(a.port, "/ws/chat"), wst_open(b.port, "/ws/chat")};
  settle(cl[0], cl, 2);
  CHECK_EQ(group_size("alive"), 2);
  wst_proc_signal(&b, SIGKILL);
  CHECK(waitpid(b.pid, NULL, 0) == b.pid);
  for (int round = 0; round < 3; round++) {
    uv_sleep(1500);
    char text[32];
    snprintf(text, sizeof text, "%d ms after the kill", 1500 * (round + 1));
    say(cl[0], text);
    expect_said(cl[0], text);
    CHECK_EQ(group_size("alive"), 1);
  }
  wst_close(cl[0], 1000);
  wst_close(cl[1], 0);
  wst_proc_stop(&a);
  free(cfg);
}

/* c[0] broadcasts `text`, both clients of `a` get it; then all is closed. */
static void said_to_both_then_stop(wst_proc *a, wst_client **c, const char *text) {
  say(c[0], text);
  expect_said(c[0], text);
  expect_said(c[1], text);
  for (int i = 0; i < 2; i++) wst_close(c[i], 1000);
  wst_proc_stop(a);
}

/* CPU seconds (user + system) a process has used so far. */
static double cpu_seconds(pid_t pid) {
  char path[64], line[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  CHECK(f && fgets(line, sizeof line, f));
  fclose(f);
  unsigned long ut = 0, st = 0;
  CHECK(sscanf(strrchr(line, ')') + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
               &ut, &st) == 2);
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Another program overwrites a process's stream with a string: Redis
 * refuses its reads (WRONGTYPE). The process reports it and retries now and
 * then instead of asking again at once (which spun a core and wrote some
 * 15,000 log lines a second), and receives again once the key is fixed. */
static void test_a_refused_read_is_retried_not_spun(void) {
  if (!IS_QUEUE) return;
  char *cfg = config("clobber", NULL);
  wst_proc a = start(cfg);
  wst_client *c[2] = {wst_open(a.port, "/ws/chat"), wst_open(a.port, "/ws/chat")};
  settle(c[0], c, 2);
  char *ch = whoami(c[0]), cmd[256];
  *(strchr(ch, '!') + 1) = '\0'; /* specific.<process>! names its stream */
  snprintf(cmd, sizeof cmd, "SET clobber%s not-a-stream", ch);
  free(wst_redis_cli(redis, cmd));
  /* End the process's blocked read (as a Redis failover would), so that it
   * reads again now and meets the string. */
  char *clients = wst_redis_cli(redis, "CLIENT LIST"), *xread = strstr(clients, "cmd=xread");
  CHECK(xread);
  while (xread > clients && strncmp(xread, "id=", 3) != 0) xread--;
  snprintf(cmd, sizeof cmd, "CLIENT UNBLOCK %ld ERROR", strtol(xread + 3, NULL, 10));
  free(clients);
  free(wst_redis_cli(redis, cmd));
  uv_sleep(300);
  double before = cpu_seconds(a.pid);
  uv_sleep(1500);
  CHECK(cpu_seconds(a.pid) - before < 0.5); /* spinning used all of it */
  snprintf(cmd, sizeof cmd, "DEL clobber%s", ch);
  free(wst_redis_cli(redis, cmd));
  said_to_both_then_stop(&a, c, "back");
  free(ch);
  free(cfg);
}

/* Connections Redis has accepted since it started (its INFO stats). */
static long connections_received(const char *auth) {
  char args[128];
  snprintf(args, sizeof args, "%s INFO stats", auth);
  char *out = wst_redis_cli(redis, args), *v = strstr(out, "total_connections_received:");
  CHECK(v);
  long n = strtol(v + strlen("total_connections_received:"), NULL, 10);
  free(out);
  return n;
}

/* An operator sets a password on the running Redis and drops its clients,
 * then takes the password back (a botched rotation). Redis accepts each
 * reconnect and refuses its commands (NOAUTH): the process backs off as for
 * any outage, instead of counting the socket as a connection made and
 * coming back at once (the Pub/Sub layer did, some 20 times a second with
 * two log lines each), and broadcasts resume once the password is gone. */
static void test_a_refused_reconnect_backs_off(void) {
  char *cfg = config("pw", NULL);
  wst_proc a = start(cfg);
  wst_client *c[2] = {wst_open(a.port, "/ws/chat"), wst_open(a.port, "/ws/chat")};
  settle(c[0], c, 2);
  const char *auth = "-a rotated --no-auth-warning";
  char args[128];
  free(wst_redis_cli(redis, "CONFIG SET requirepass rotated"));
  snprintf(args, sizeof args, "%s CLIENT KILL TYPE normal", auth);
  free(wst_redis_cli(redis, args));
  snprintf(args, sizeof args, "%s CLIENT KILL TYPE pubsub", auth);
  free(wst_redis_cli(redis, args));
  long before = connections_received(auth);
  uv_sleep(3000);
  /* Two connections, backing off from 0.1 s: about four tries each. */
  long tries = connections_received(auth) - before - 1; /* - this redis-cli */
  CHECK(tries >= 2);
  CHECK(tries <= 12);
  snprintf(args, sizeof args, "%s CONFIG SET requirepass \"\"", auth);
  free(wst_redis_cli(redis, args));
  settle(c[0], c, 2);
  said_to_both_then_stop(&a, c, "after the password");
  free(cfg);
}

/* Redis loses its data while every connection to it stays up: FLUSHALL
 * (a cache.clear() of a Django cache sharing the database), or eviction.
 * Group sends then found no members and reached nobody, silently, until
 * each process renewed its alive key (every expiry/3: 20 s here, 5 min in
 * the showcase) and found it gone. A group send now puts the sending
 * process back into the group, and every process notices within a second
 * and joins its groups again. */
static void test_memberships_return_after_redis_loses_its_data(void) {
  if (!IS_QUEUE) return;
  char *cfg = config("flushed", NULL);
  wst_proc a = start(cfg), b = start(cfg);
  wst_client *c[2] = {wst_open(a.port, "/ws/chat"), wst_open(b.port, "/ws/chat")};
  settle(c[0], c, 2);
  free(wst_redis_cli(redis, "FLUSHALL"));
  say(c[0], "right after"); /* the sender puts its own process back at once */
  expect_said(c[0], "right after");
  uv_sleep(2000);
  char *m;
  while ((m = wst_recv(c[1], 0))) free(m); /* B may have been back in time */
  say(c[0], "after the flush");
  expect_said(c[0], "after the flush");
  expect_said(c[1], "after the flush");
  /* Both send soon after: B, back through its own send, is not taken for
   * dead by A's send before B's alive key is renewed (it used to be). */
  free(wst_redis_cli(redis, "FLUSHALL"));
  say(c[1], "b back");
  expect_said(c[1], "b back");
  say(c[0], "a back");
  m = wst_recv(c[0], 5000); /* "b back" too, if A noticed the flush in between */
  if (m && strstr(m, "b back")) free(m), m = wst_recv(c[0], 5000);
  CHECK_STREQ(m, "{\"action\":\"said\",\"payload\":\"a back\"}");
  free(m);
  expect_said(c[1], "a back");
  wst_close(c[1], 1000);
  wst_proc_stop(&b);
  said_to_both_then_stop(&a, (wst_client *[]){c[0], wst_open(a.port, "/ws/chat")}, "still");
  free(cfg);
}

/* A config reaching Redis through `relay`, with `reply_timeout` seconds. */
static char *config_via(wst_relay *relay, const char *prefix, int reply_timeout) {
  char url[64], extra[32];
  snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", wst_relay_port(relay));
  snprintf(extra, sizeof extra, ",\"reply_timeout\":%d", reply_timeout);
  return config_at(url, prefix, extra);
}

/* Process A reaching Redis through a relay that can be cut, B directly,
 * one client on each, settled. */
typedef struct cut_pair {
  wst_relay *relay;
  wst_proc a, b;
  wst_client *c[2];
} cut_pair;

static cut_pair cut_pair_start(const char *prefix, int reply_timeout) {
  cut_pair p;
  p.relay = wst_relay_start(wst_redis_port(redis));
  char *via_relay = config_via(p.relay, prefix, reply_timeout),
       *direct = config(prefix, NULL);
  p.a = start(via_relay);
  p.b = start(direct);
  free(via_relay);
  free(direct);
  p.c[0] = wst_open(p.a.port, "/ws/chat");
  p.c[1] = wst_open(p.b.port, "/ws/chat");
  settle(p.c[1], p.c, 2);
  return p;
}

/* A network that fails without closing anything (a partition, a dead host
 * behind a NAT, a failover that moved the address): TCP says nothing for
 * some 15 minutes, so process A waited that long on its dead connections,
 * and its clients missed every broadcast from B meanwhile (on Pub/Sub its
 * subscriber, which only listens, never noticed at all). A now gives a
 * connection up once Redis owes it an answer for reply_timeout (pinging
 * quiet ones), connects again, and the queue layer then delivers what B
 * sent during the cut. */
static void test_a_silent_network_is_noticed(void) {
  cut_pair p = cut_pair_start("cut", 2);
  wst_client **c = p.c;
  wst_relay_cut(p.relay);
  say(c[1], "during the cut");
  expect_said(c[1], "during the cut");
  if (IS_QUEUE) { /* kept in Redis: A reads it once connected again */
    char *m = wst_recv(c[0], 20000);
    CHECK_STREQ(m, "{\"action\":\"said\",\"payload\":\"during the cut\"}");
    free(m);
  }
  settle(c[1], c, 2); /* B's broadcasts reach A's client again */
  settle(c[0], c, 2); /* and A's reach B's */
  said_to_both_then_stop(&p.a, c, "healed");
  wst_proc_stop(&p.b);
  wst_relay_stop(p.relay);
}

/* The same cut with the default-like timeout of 10 s, on Pub/Sub: A's
 * subscriber only listens, so on its own it is asked for an answer after
 * 10 s of quiet and given up 10 s later, and all that while A's clients
 * miss what others broadcast. Its publish connection, which Redis owes an
 * answer, is given up after 10 s; the subscriber, quiet as well, is then
 * asked at once and given up 2 s later. So B's broadcasts reach A's client
 * again well within the 20 s the subscriber alone would take. And A's
 * client is told its broadcast into the cut failed once Redis answers A
 * again and the old connection stays silent, not 30 s later. */
static void test_a_cut_deafens_the_subscriber_no_longer_than_the_publisher(void) {
  if (IS_QUEUE) return; /* its stream keeps what a cut would lose */
  cut_pair p = cut_pair_start("deaf", 10);
  wst_client **c = p.c;
  wst_relay_cut(p.relay);
  uint64_t cut_at = uv_hrtime();
  say(c[0], "into the cut"); /* Redis owes A's publish connection an answer */
  double heard_after = -1, told_after = -1;
  for (int i = 0; i < 18 * 4 && (heard_after < 0 || told_after < 0); i++) { /* 18 s */
    char text[32];
    snprintf(text, sizeof text, "from B %d", i);
    say(c[1], text);
    char *m;
    while ((m = wst_recv(c[0], 1))) {
      double after = (double)(uv_hrtime() - cut_at) / 1e9;
      if (strstr(m, "from B") && heard_after < 0) heard_after = after;
      if (strstr(m, "\"error\"") && told_after < 0) told_after = after;
      free(m);
    }
    uv_sleep(250);
  }
  printf("  after the cut (reply_timeout 10), A's client heard B after %.1f s, "
         "was told its message failed after %.1f s\n", heard_after, told_after);
  CHECK(heard_after > 0);
  CHECK(told_after > 0);
  for (int i = 0; i < 2; i++) wst_close(c[i], 0);
  wst_proc_stop(&p.a);
  wst_proc_stop(&p.b);
  wst_relay_stop(p.relay);
}

/* On Pub/Sub, a client joins a group during a cut and broadcasts to it: the
 * join notice and the message wait for the SUBSCRIBE, then for the new
 * subscriber's subscriptions and a publish connection that answers, so the
 * client gets both, once each. They used to be published when the old
 * subscriber was given up, onto the dead publish connection, and failed. */
static void test_what_waits_in_a_cut_reaches_the_new_subscriber(void) {
  if (IS_QUEUE) return; /* nothing waits there: its sends fail and say so */
  wst_relay *relay = wst_relay_start(wst_redis_port(redis));
  char *cfg = config_via(relay, "waits", 2);
  wst_proc a = start(cfg);
  wst_client *c = wst_open(a.port, "/ws/chat");
  settle(c, &c, 1);
  wst_relay_cut(relay);
  wst_send_text(c, "{\"action\":\"join\",\"payload\":{\"group\":\"fresh\"}}");
  wst_send_text(c, "{\"action\":\"say\",\"payload\":{\"text\":\"into the cut\","
                  "\"group\":\"fresh\"}}");
  const char *want[2] = {"{\"action\":\"said\",\"payload\":\"joined fresh\"}",
                         "{\"action\":\"said\",\"payload\":\"into the cut\"}"};
  for (int i = 0; i < 2; i++) {
    char *m = wst_recv(c, 20000);
    CHECK_STREQ(m, want[i]);
    free(m);
  }
  CHECK(wst_silent(c, 500));
  wst_close(c, 1000);
  wst_proc_stop(&a);
  wst_relay_stop(relay);
  free(cfg);
}

/* Redis hangs (stopped) while a client broadcasts and joins a group, and
 * the server gives both its Redis connections up: what it had accepted is
 * delivered, once, when Redis wakes. On Pub/Sub the broadcasts after the
 * join wait for its SUBSCRIBE, and then for the publish connection to be
 * remade (they used to fail into the log); the first one is answered on the
 * given-up connection and reaches the client through the given-up
 * subscriber. */
static void test_what_was_accepted_in_a_hang_arrives(void) {
  char *cfg = config("hang", ",\"reply_timeout\":2");
  wst_proc a = start(cfg);
  wst_client *c = wst_open(a.port, "/ws/chat");
  settle(c, &c, 1);
  wst_redis_signal(redis, SIGSTOP);
  say(c, "before the join");
  wst_send_text(c, "{\"action\":\"join\",\"payload\":{\"group\":\"fresh\"}}");
  wst_send_text(c, "{\"action\":\"say\",\"payload\":{\"text\":\"after the join\","
                  "\"group\":\"fresh\"}}");
  uv_sleep(6000); /* given up: the publisher after 2 s, the quiet subscriber after 4 */
  wst_redis_signal(redis, SIGCONT);
  const char *texts[3] = {"before the join", "joined fresh", "after the join"};
  int got[3] = {0, 0, 0};
  for (int i = 0; i < 3; i++) {
    char *m = wst_recv(c, 20000);
    CHECK(m);
    for (int k = 0; k < 3; k++) {
      char want[96];
      snprintf(want, sizeof want, "{\"action\":\"said\",\"payload\":\"%s\"}", texts[k]);
      got[k] += strcmp(m, want) == 0;
    }
    free(m);
  }
  for (int k = 0; k < 3; k++) CHECK_EQ(got[k], 1);
  CHECK(wst_silent(c, 500));
  wst_close(c, 1000);
  wst_proc_stop(&a);
  free(cfg);
}

/* Redis takes a broadcast and dies before answering (stopped, then killed):
 * whether it went out is unknown, and the client that made it is told, as
 * Chanx tells it when a handler's broadcast raises, instead of the failure
 * going only to the server's log. Once, and the server serves on; a client
 * gone meanwhile is told nothing (its connection is freed first). */
static void test_a_broadcast_redis_never_answered_is_told(void) {
  char *cfg = config("unanswered", NULL);
  wst_proc a = start(cfg);
  wst_client *c = wst_open(a.port, "/ws/chat"), *gone = wst_open(a.port, "/ws/chat");
  wst_client *both[2] = {c, gone};
  settle(c, both, 2);
  wst_redis_signal(redis, SIGSTOP);
  say(c, "unanswered");
  say(gone, "unanswered too");
  wst_close(gone, 1000);
  uv_sleep(300); /* written to Redis, which cannot answer */
  wst_redis_kill(redis);
  char *m = wst_recv(c, 10000);
  CHECK_STREQ(m, "{\"action\":\"error\",\"payload\":{\"detail\":\"Failed to "
                 "process message for say\"}}");
  free(m);
  CHECK(wst_silent(c, 500));
  wst_redis_restart(redis);
  settle(c, &c, 1);
  wst_close(c, 1000);
  wst_proc_stop(&a);
  free(cfg);
}

/* Redis hangs while a client keeps broadcasting: what hiredis would buffer
 * for it is bounded by max_pending_bytes, past which each broadcast is
 * refused at once and its sender told (rather than buffered without end, or
 * failing only after reply_timeout). What was taken arrives, once and in
 * order, when Redis wakes, and broadcasts are taken again. */
static void test_a_hung_redis_is_not_buffered_without_end(void) {
  enum { SAYS = 300 };
  char *cfg = config("bounded", ",\"max_pending_bytes\":65536");
  wst_proc a = start(cfg);
  wst_client *c = wst_open(a.port, "/ws/chat");
  settle(c, &c, 1);
  wst_redis_signal(redis, SIGSTOP);
  char pad[201];
  memset(pad, 'x', 200);
  pad[200] = '\0';
  for (int i = 0; i < SAYS; i++) {
    char m[512];
    snprintf(m, sizeof m, "{\"action\":\"say\",\"payload\":{\"text\":\"%d %s\"}}", i, pad);
    wst_send_text(c, m);
  }
  static const char refused[] =
      "{\"action\":\"error\",\"payload\":{\"detail\":\"Failed to process message for say\"}}";
  int told = 0;
  char *m;
  while ((m = wst_recv(c, 2000))) { /* well within reply_timeout (15 s) */
    CHECK_STREQ(m, refused);
    told++;
    free(m);
  }
  CHECK(told > 0 && told < SAYS);
  wst_redis_signal(redis, SIGCONT);
  int next = 0;
  for (int i = told; i < SAYS; i++) {
    CHECK((m = wst_recv(c, 10000)) != NULL);
    int k = -1;
    CHECK_EQ(sscanf(m, "{\"action\":\"said\",\"payload\":\"%d ", &k), 1);
    CHECK(k >= next); /* in order, each once */
    next = k + 1;
    free(m);
  }
  CHECK(wst_silent(c, 500));
  settle(c, &c, 1);
  wst_close(c, 1000);
  wst_proc_stop(&a);
  free(cfg);
}

/* The queue layer runs its send scripts by SHA1 (EVALSHA). An operator's
 * SCRIPT FLUSH fails the send that meets it, told to its sender, and the
 * layer loads the scripts again: the next broadcast goes out. */
static void test_a_script_flush_is_recovered_from(void) {
  if (!IS_QUEUE) return; /* Pub/Sub runs no scripts */
  char *cfg = config("flush", NULL);
  wst_proc a = start(cfg);
  wst_client *c = wst_open(a.port, "/ws/chat");
  settle(c, &c, 1);
  free(wst_redis_cli(redis, "SCRIPT FLUSH"));
  say(c, "after the flush"); /* meets NOSCRIPT */
  wst_expect(c, "{\"action\":\"error\",\"payload\":{\"detail\":\"Failed to "
                "process message for say\"}}");
  say(c, "loaded again");
  expect_said(c, "loaded again");
  CHECK(wst_silent(c, 300));
  wst_close(c, 1000);
  wst_proc_stop(&a);
  free(cfg);
}

enum { CLIENTS = 200, MESSAGES = 10000 };

/* A Redis shared with Django Channels under the same prefix: channels_redis
 * keeps its channels as sorted sets, and a dead Django process's member left
 * in the group must not make the whole group send fail (it used to abort
 * the Lua script with WRONGTYPE, so no client got anything). */
static void test_channels_redis_leftovers_in_the_group(void) {
  if (!IS_QUEUE) return; /* Pub/Sub keeps no group sets in Redis */
  char *cfg = config("mixed", NULL);
  wst_proc a = start(cfg);
  wst_client *c[2] = {wst_open(a.port, "/ws/chat"), wst_open(a.port, "/ws/chat")};
  settle(c[0], c, 2);
  /* Joined a minute ago: before this process, so the script meets it first. */
  char args[128];
  snprintf(args, sizeof args, "ZADD mixed:group:lobby %lld specific.django!abc",
           ((long long)time(NULL) - 60) * 1000);
  char *out = wst_redis_cli(redis, args);
  free(out);
  out = wst_redis_cli(redis, "ZADD mixedspecific.django! 1 leftover"); /* its queue */
  free(out);
  said_to_both_then_stop(&a, c, "still here");
  free(cfg);
}

static void test_10000_broadcasts_to_200_clients(void) {
  /* fsync per write (for the kill -9 test) would make this a disk test. */
  free(wst_redis_cli(redis, "CONFIG SET appendfsync everysec"));
  char *cfg = config("load", NULL);
  wst_proc a = start(cfg), b = start(cfg);
  wst_client **cl = calloc(CLIENTS, sizeof *cl);
  for (int i = 0; i < CLIENTS; i++)
    cl[i] = wst_open(i < CLIENTS / 2 ? a.port : b.port, "/ws/chat");
  settle(cl[0], cl, CLIENTS);
  wst_client *senders[2] = {cl[0], cl[CLIENTS / 2]}; /* one per process */
  for (int m = 0; m < MESSAGES / 2; m++)
    for (int s = 0; s < 2; s++) {
      char text[32];
      snprintf(text, sizeof text, "%d:%d", s, m);
      say(senders[s], text);
    }
  /* Round-robin: a client left unread while others take all of theirs
   * sits at a zero TCP window, and Linux's window probes back off to tens
   * of seconds (seen: 256 KB waiting in the server's socket, none in the
   * client's, for over 20 s). */
  int (*next)[2] = calloc(CLIENTS, sizeof *next);
  for (int k = 0; k < MESSAGES; k++) {
    for (int i = 0; i < CLIENTS; i++) {
      char *got = wst_recv(cl[i], 20000);
      int s, n;
      if (!got) /* closed (its code), or nothing more came */
        fprintf(stderr, "client %d, message %d: got nothing (close code %d, %d pings)\n",
                i, k, wst_wait_close(cl[i], 0), wst_pings(cl[i]));
      else if (sscanf(got, "{\"action\":\"said\",\"payload\":\"%d:%d\"}", &s, &n) != 2)
        fprintf(stderr, "client %d, message %d: got %s\n", i, k, got);
      CHECK(got && sscanf(got, "{\"action\":\"said\",\"payload\":\"%d:%d\"}", &s, &n) == 2);
      CHECK(s == 0 || s == 1);
      CHECK_EQ(n, next[i][s]); /* in order per sender, none lost or repeated */
      next[i][s]++;
      free(got);
    }
  }
  free(next);
  for (int i = 0; i < CLIENTS; i++) CHECK(wst_silent(cl[i], i ? 0 : 300));
  for (int i = 0; i < CLIENTS; i++) wst_close(cl[i], 0);
  free(cl);
  wst_proc_stop(&a);
  wst_proc_stop(&b);
  free(cfg);
}

static void test_bad_urls_fail_the_create_call(void) {
  char cfg[512];
  snprintf(cfg, sizeof cfg,
           "{\"layers\":{\"default\":{\"driver\":\"%s\",\"url\":\"redis://:s3cret@127.0.0.1:%d/0\"}}}",
           WST_DRIVER, wst_free_port());
  wsc_consumer *c;
  CHECK_OK(wsc_consumer_new("chat", &c));
  wsc_server_options o;
  wsc_server_options_init(&o);
  o.port = 0;
  o.config_json = cfg;
  o.consumers = &c;
  o.n_consumers = 1;
  wsc_server *srv;
  char err[WSC_ERRBUF_SIZE];
  CHECK_EQ(wsc_server_new(&o, &srv, err, sizeof err), WSC_ELAYER);
  CHECK_CONTAINS(err, "config: layers.default.url: cannot reach Redis at redis://:***@127.0.0.1:");
  CHECK(!strstr(err, "s3cret"));
  snprintf(cfg, sizeof cfg,
           "{\"layers\":{\"default\":{\"driver\":\"%s\",\"url\":\"redis://:s3cret@127.0.0.1:%d/0\"}}}",
           WST_DRIVER, wst_redis_port(redis));
  CHECK_EQ(wsc_server_new(&o, &srv, err, sizeof err), WSC_ECONFIG);
  CHECK_CONTAINS(err, "refused the password");
  CHECK(!strstr(err, "s3cret"));
  snprintf(cfg, sizeof cfg,
           "{\"layers\":{\"default\":{\"driver\":\"%s\",\"url\":\"http://x\"}}}", WST_DRIVER);
  CHECK_EQ(wsc_server_new(&o, &srv, err, sizeof err), WSC_ECONFIG);
  CHECK_CONTAINS(err, "config: layers.default.url: 'http://x': expected redis://");
  /* A managed Redis with TLS on (ElastiCache, Azure) is told apart. */
  snprintf(cfg, sizeof cfg,
           "{\"layers\":{\"default\":{\"driver\":\"%s\",\"url\":\"rediss://:s3cret@x:6380\"}}}",
           WST_DRIVER);
  CHECK_EQ(wsc_server_new(&o, &srv, err, sizeof err), WSC_ECONFIG);
  CHECK_CONTAINS(err, "'rediss://***@x:6380': TLS to Redis (rediss://) is not supported");
  CHECK(!strstr(err, "s3cret"));
  snprintf(cfg, sizeof cfg,
           "{\"layers\":{\"default\":{\"driver\":\"%s\",\"url\":\"%s\",\"bogus\":1}}}",
           WST_DRIVER, wst_redis_url(redis));
  CHECK_EQ(wsc_server_new(&o, &srv, err, sizeof err), WSC_ECONFIG);
  CHECK_CONTAINS(err, "config: layers.default.bogus: unknown key");
  snprintf(cfg, sizeof cfg,
           "{\"layers\":{\"default\":{\"driver\":\"%s\",\"url\":\"%s\",\"reply_timeout\":0}}}",
           WST_DRIVER, wst_redis_url(redis));
  CHECK_EQ(wsc_server_new(&o, &srv, err, sizeof err), WSC_ECONFIG);
  CHECK_CONTAINS(err, "layers.default.reply_timeout");
  snprintf(cfg, sizeof cfg,
           "{\"layers\":{\"default\":{\"driver\":\"%s\",\"url\":\"%s\",\"max_pending_bytes\":1000}}}",
           WST_DRIVER, wst_redis_url(redis));
  CHECK_EQ(wsc_server_new(&o, &srv, err, sizeof err), WSC_ECONFIG);
  CHECK_CONTAINS(err, "layers.default.max_pending_bytes");
  wsc_consumer_free(c);
}

int main(int argc, char **argv) {
  CHECK(argc == 2);
  server_bin = argv[1];
  signal(SIGPIPE, SIG_IGN);
  redis = wst_redis_start(IS_QUEUE);
  RUN(test_bad_urls_fail_the_create_call);
  RUN(test_two_processes);
  RUN(test_broadcast_right_after_joining);
  RUN(test_capacity_and_expiry);
  RUN(test_kept_message_survives_restart);
  RUN(test_memberships_follow_connections_and_processes);
  RUN(test_channels_redis_leftovers_in_the_group);
  RUN(test_a_dead_process_leaves_its_groups_within_expiry);
  RUN(test_a_refused_read_is_retried_not_spun);
  RUN(test_a_refused_reconnect_backs_off);
  RUN(test_memberships_return_after_redis_loses_its_data);
  RUN(test_a_silent_network_is_noticed);
  RUN(test_a_cut_deafens_the_subscriber_no_longer_than_the_publisher);
  RUN(test_what_was_accepted_in_a_hang_arrives);
  RUN(test_what_waits_in_a_cut_reaches_the_new_subscriber);
  RUN(test_redis_restart);
  RUN(test_a_broadcast_redis_never_answered_is_told);
  RUN(test_a_hung_redis_is_not_buffered_without_end);
  RUN(test_a_script_flush_is_recovered_from);
  RUN(test_10000_broadcasts_to_200_clients);
  wst_redis_stop(redis);
  return 0;
}
