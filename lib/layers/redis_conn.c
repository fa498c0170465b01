#include "redis_conn.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "../alloc.h"
#include "../layer.h"
#include "wschannels/error.h"

#define CONNECT_TIMEOUT_MS 5000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define REPLY_TIMEOUT_MS 15000
#define WATCH_MS 1000
#define RETIRED_MAX_MS 30000 /* how long answers owed on a given-up connection are awaited */
#define RETIRED_QUIET_MS 2000 /* ... once Redis answers its successor */
#define SUSPECT_QUIET_MS 1000 /* a sibling that read this recently is alive */
#define SUSPECT_MS 2000       /* how long a suspected sibling has to answer */

/* ---- hiredis on a uv_poll ------------------------------------------------
 * hiredis 0.14's adapters/libuv.h returns early when the poll reports an
 * error, and libuv reports a refused connect as an error, so the connect
 * callback never runs (redis/hiredis#508). On an error we hand hiredis the
 * events it asked for, and it finds the socket error itself. */

typedef struct uvev {
  uv_poll_t poll;
  redisAsyncContext *ac;
  int events;
  unsigned long *reads; /* counted for the watch: Redis is alive */
} uvev;

static void uvev_cb(uv_poll_t *h, int status, int events) {
  uvev *e = h->data;
  int ev = status < 0 ? e->events : events;
  /* Either call may free the context (cleanup then clears e->ac). */
  if (e->ac && (ev & UV_READABLE)) {
    ++*e->reads;
    redisAsyncHandleRead(e->ac);
  }
  if (e->ac && (ev & UV_WRITABLE)) redisAsyncHandleWrite(e->ac);
}

static void uvev_update(uvev *e, int add, int del) {
  e->events = (e->events | add) & ~del;
  if (e->events)
    uv_poll_start(&e->poll, e->events, uvev_cb);
  else
    uv_poll_stop(&e->poll);
}

static void uvev_add_read(void *p) { uvev_update(p, UV_READABLE, 0); }
static void uvev_del_read(void *p) { uvev_update(p, 0, UV_READABLE); }
static void uvev_add_write(void *p) { uvev_update(p, UV_WRITABLE, 0); }
static void uvev_del_write(void *p) { uvev_update(p, 0, UV_WRITABLE); }
static void uvev_closed(uv_handle_t *h) { wsc__free(h->data); }

static void uvev_cleanup(void *p) {
  uvev *e = p;
  e->ac = NULL;
  uv_close((uv_handle_t *)&e->poll, uvev_closed);
}

static int uvev_attach(redisAsyncContext *ac, uv_loop_t *loop,
                       unsigned long *reads) {
  uvev *e = wsc__calloc(1, sizeof *e);
  if (!e) return -1;
  if (uv_poll_init(loop, &e->poll, ac->c.fd)) {
    wsc__free(e);
    return -1;
  }
  e->poll.data = e;
  e->ac = ac;
  e->reads = reads;
  ac->ev.data = e;
  ac->ev.addRead = uvev_add_read;
  ac->ev.delRead = uvev_del_read;
  ac->ev.addWrite = uvev_add_write;
  ac->ev.delWrite = uvev_del_write;
  ac->ev.cleanup = uvev_cleanup;
  return 0;
}

/* ---- the kept-up connection -------------------------------------------- */

static void connect_now(wsc__redis_conn *c);

/* ---- a given-up connection, kept for the answers it is owed -------------
 * A hung Redis and a dead network look alike from here, so a connection
 * given up by the watch is not thrown away at once: Redis may only be busy,
 * and then what was sent on it is still carried out and answered. It stays
 * open, taking nothing new, until those answers are in, or for
 * RETIRED_MAX_MS. A subscriber's keeps delivering until its owner drops it
 * (the Pub/Sub layer hands over to the successor without losing or
 * repeating a message: redis_handoff.c). Its reads are counted apart, so
 * they do not count as its successor's progress. */

static void on_retired_disconnect(const redisAsyncContext *cac, int status) {
  (void)status;
  wsc__redis_conn *c = cac->data;
  if (c->retired == cac) c->retired = NULL;
}

void wsc__redis_conn_drop_retired(wsc__redis_conn *c) {
  redisAsyncContext *ac = c->retired;
  c->retired = NULL;
  if (ac) redisAsyncFree(ac);
}

/* Dropped after RETIRED_MAX_MS, or once its successor is up and it has
 * read nothing for RETIRED_QUIET_MS since: Redis answers, so had it only
 * been busy, the answers owed on the old connection (sent before the
 * successor's greeting) would have come; its path is dead (a cut), and its
 * senders hear so in seconds, not in 30. A subscriber's stays until its
 * owner drops it. */
static void drop_retired_if_overdue(wsc__redis_conn *c) {
  if (!c->retired || (c->retired->c.flags & REDIS_SUBSCRIBED)) return;
  uint64_t now = uv_now(c->loop);
  if (c->retired_reads != c->retired_reads_seen) {
    c->retired_reads_seen = c->retired_reads;
    c->retired_heard_at = now;
  }
  int dead = c->ready && now - c->retired_heard_at >= RETIRED_QUIET_MS;
  if (dead)
    wsc__host_logf(c->host, WSC_LOG_WARN,
                   "%s connection to %s: the given-up connection stayed silent "
                   "while the new one was answered; what it was owed is lost",
                   c->role, c->url->masked);
  if (dead || now - c->retired_at >= RETIRED_MAX_MS)
    wsc__redis_conn_drop_retired(c);
}

static void retire(wsc__redis_conn *c, redisAsyncContext *ac) {
  wsc__redis_conn_drop_retired(c);
  c->retired = ac;
  c->retired_at = c->retired_heard_at = uv_now(c->loop);
  c->retired_reads_seen = c->retired_reads;
  ac->onDisconnect = on_retired_disconnect;
  ((uvev *)ac->ev.data)->reads = &c->retired_reads;
  /* Closes once the owed answers are in (at once if none are owed). */
  if (!(ac->c.flags & REDIS_SUBSCRIBED)) redisAsyncDisconnect(ac);
}

static void on_retry(uv_timer_t *t) {
  drop_retired_if_overdue(t->data);
  connect_now(t->data);
}

static void lost(wsc__redis_conn *c, const char *why) {
  int was_ready = c->ready;
  /* Refused by Redis (a password, a database): an operator must act. */
  int level = why == c->greeting_error ? WSC_LOG_ERROR : WSC_LOG_WARN;
  c->ready = 0;
  c->greeting = 0;
  /* One line per outage, and one more each time the reason changes: a
   * Redis that refuses every attempt alike (NOAUTH, LOADING) is said once. */
  if (strcmp(c->logged_why, why) != 0) {
    wsc__host_logf(c->host, level, "%s connection to %s: %s; reconnecting", c->role,
          c->url->masked, why);
    snprintf(c->logged_why, sizeof c->logged_why, "%s", why);
  }
  if (was_ready && c->on_down) c->on_down(c, c->ud);
  if (c->closing) return;
  unsigned d = c->backoff_ms ? c->backoff_ms : BACKOFF_MIN_MS;
  c->backoff_ms = d * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : d * 2;
  uv_timer_start(&c->timer, on_retry, d, 0);
}

/* Stops using a connection Redis does not answer on, and reconnects. With
 * `keep`, what it is owed is still awaited (retire); else its pending
 * callbacks get NULL replies now, and commands they send are refused. */
static void give_up(wsc__redis_conn *c, const char *why, int keep) {
  redisAsyncContext *ac = c->ac;
  c->ac = NULL;
  if (keep) {
    retire(c, ac);
  } else {
    ac->onDisconnect = NULL; /* told below, once */
    redisAsyncFree(ac);
  }
  lost(c, why);
}

/* ---- the watch ------------------------------------------------------------
 * Progress is anything read from Redis. Redis owes us something while
 * hiredis holds callbacks for replies (a subscribed connection holds none
 * for its messages) or a ping is out; silence then for the timeout (plus
 * the grace of a blocking read) means a hung Redis or a dead network, which
 * TCP would report only after its retransmissions give up (~15 minutes). */

static int send_ping(wsc__redis_conn *c) {
  if (c->ping) return c->ping(c, c->ud);
  return redisAsyncCommand(c->ac, NULL, NULL, "PING") == REDIS_OK ? 0 : -1;
}

/* Notes what was read since last looked: Redis answered, so no ping or
 * suspicion is outstanding. 1 if anything was. */
static int heard_since(wsc__redis_conn *c, uint64_t now) {
  if (c->reads == c->reads_seen) return 0;
  c->reads_seen = c->reads;
  c->heard_at = now;
  c->pinging = 0;
  c->suspect_until = 0;
  return 1;
}

/* A sibling was given up for silence, so the network or Redis is likely
 * gone for this connection too, whose own watch would take up to twice the
 * timeout to tell (a quiet connection is only asked after the timeout): if
 * it has been quiet, it is asked now and has SUSPECT_MS (plus its grace) to
 * answer. On Pub/Sub that is what a cut costs: messages published while the
 * subscriber's silence is not yet noticed never arrive. */
static void suspect(wsc__redis_conn *c) {
  if (!c || !c->ac || !c->ready || c->suspect_until) return;
  uint64_t now = uv_now(c->loop);
  heard_since(c, now);
  if (now - c->heard_at < SUSPECT_QUIET_MS) return;
  if (!c->pinging) {
    if (send_ping(c)) return;
    c->pinging = 1;
    c->waiting_since = now;
  }
  c->suspect_until = now + SUSPECT_MS + c->grace_ms;
}

static void on_watch(uv_timer_t *t) {
  wsc__redis_conn *c = t->data;
  drop_retired_if_overdue(c);
  if (!c->ac || !c->ready) return;
  uint64_t now = uv_now(c->loop);
  /* A late tick means our own loop was held up (a slow handler): what
   * Redis sent meanwhile is still unread, so its silence proves nothing. */
  int late = now - c->tick_at > 2 * WATCH_MS;
  c->tick_at = now;
  if (!heard_since(c, now) && late) {
    c->heard_at = now;
    c->suspect_until = 0;
  }
  char why[96];
  if (c->suspect_until && now >= c->suspect_until) {
    snprintf(why, sizeof why, "no answer in %.3g s, after the %s connection's silence",
             (double)(now - c->waiting_since) / 1000, c->sibling->role);
    give_up(c, why, c->keep_owed);
    return;
  }
  int owed = c->pinging || c->ac->replies.head;
  if (!owed) {
    c->waiting_since = 0;
    if (now - c->heard_at >= c->timeout_ms && send_ping(c) == 0) {
      c->pinging = 1;
      c->waiting_since = now;
    }
    return;
  }
  if (!c->waiting_since) c->waiting_since = now;
  uint64_t since = c->heard_at > c->waiting_since ? c->heard_at : c->waiting_since;
  if (now - since < c->timeout_ms + c->grace_ms) return;
  snprintf(why, sizeof why, "no answer in %.3g s",
           (double)(c->timeout_ms + c->grace_ms) / 1000);
  give_up(c, why, c->keep_owed);
  suspect(c->sibling);
}

static void start_watch(wsc__redis_conn *c) {
  uint64_t now = uv_now(c->loop);
  c->reads_seen = c->reads;
  c->tick_at = c->heard_at = now;
  c->waiting_since = 0;
  c->pinging = 0;
  c->suspect_until = 0;
  uv_timer_start(&c->timer, on_watch, WATCH_MS, WATCH_MS);
}

/* The connection counts as made once Redis has answered the greeting (AUTH,
 * SELECT, then PING) without an error: a Redis that accepts the socket and
 * refuses every command (a password set since, still loading its data)
 * keeps the backoff growing instead of being reconnected to at once. */
static void on_greeting_reply(redisAsyncContext *ac, void *r, void *pd) {
  redisReply *reply = r;
  wsc__redis_conn *c = ac->data;
  const char *step = pd;
  if (!reply || c->ac != ac) return; /* gone: on_disconnect tells */
  int last = strcmp(step, "PING") == 0;
  if (reply->type == REDIS_REPLY_ERROR && !c->greeting_error[0]) {
    if (last) /* NOAUTH, LOADING, ... */
      snprintf(c->greeting_error, sizeof c->greeting_error, "%s", reply->str);
    else
      snprintf(c->greeting_error, sizeof c->greeting_error, "%s refused: %s", step,
               reply->str);
  }
  if (!last) return;
  if (c->greeting_error[0]) {
    redisAsyncDisconnect(ac); /* on_disconnect gives greeting_error */
    return;
  }
  start_watch(c);
  c->retired_heard_at = uv_now(c->loop); /* its silence counts from here */
  c->greeting = 0;
  c->backoff_ms = 0;
  c->ready = 1;
  c->ever_ready = 1;
  if (c->logged_why[0])
    wsc__host_logf(c->host, WSC_LOG_WARN, "%s connection to %s: connected again", c->role,
          c->url->masked);
  c->logged_why[0] = '\0';
  if (c->on_ready) c->on_ready(c, c->ud);
}

static void on_connect(const redisAsyncContext *cac, int status) {
  redisAsyncContext *ac = (redisAsyncContext *)cac;
  wsc__redis_conn *c = ac->data;
  if (status != REDIS_OK) { /* hiredis frees the context after this */
    uv_timer_stop(&c->timer);
    c->ac = NULL;
    lost(c, ac->c.errstr[0] ? ac->c.errstr : "connect failed");
    return;
  }
  c->greeting = 1; /* the connect timeout now waits for its answer */
}

static void on_disconnect(const redisAsyncContext *cac, int status) {
  (void)status;
  wsc__redis_conn *c = cac->data;
  c->ac = NULL;
  if (c->closing) return;
  lost(c, c->greeting_error[0]           ? c->greeting_error
          : cac->errstr && cac->errstr[0] ? cac->errstr
                                          : "connection lost");
}

static void on_connect_timeout(uv_timer_t *t) {
  wsc__redis_conn *c = t->data;
  if (!c->ac || c->ready) return;
  give_up(c, c->greeting ? "connected, but no answer in time" : "connect timed out", 0);
}

static void connect_now(wsc__redis_conn *c) {
  c->greeting_error[0] = '\0';
  redisAsyncContext *ac = redisAsyncConnect(c->ip, c->url->port);
  if (!ac) {
    lost(c, "out of memory");
    return;
  }
  if (ac->err) {
    char why[128];
    snprintf(why, sizeof why, "%s", ac->errstr);
    redisAsyncFree(ac);
    lost(c, why);
    return;
  }
  ac->data = c;
  if (uvev_attach(ac, c->loop, &c->reads)) {
    redisAsyncFree(ac);
    lost(c, "cannot watch the socket");
    return;
  }
  redisAsyncSetConnectCallback(ac, on_connect);
  redisAsyncSetDisconnectCallback(ac, on_disconnect);
  c->ac = ac;
  /* Queued now, so they precede whatever is sent while connecting. */
  if (c->url->password[0]) {
    if (c->url->user[0])
      redisAsyncCommand(ac, on_greeting_reply, "AUTH", "AUTH %s %s", c->url->user,
                        c->url->password);
    else
      redisAsyncCommand(ac, on_greeting_reply, "AUTH", "AUTH %s",
                        c->url->password);
  }
  if (c->url->db)
    redisAsyncCommand(ac, on_greeting_reply, "SELECT", "SELECT %d", c->url->db);
  redisAsyncCommand(ac, on_greeting_reply, "PING", "PING");
  uv_timer_start(&c->timer, on_connect_timeout, CONNECT_TIMEOUT_MS, 0);
}

int wsc__redis_conn_start(wsc__redis_conn *c, uv_loop_t *loop,
                          const wsc__redis_url *u, const char *ip,
                          const char *role, const wsc_layer_host *host,
                          wsc__redis_event_fn on_ready,
                          wsc__redis_event_fn on_down, void *ud) {
  memset(c, 0, sizeof *c);
  c->loop = loop;
  c->url = u;
  c->ip = ip;
  c->role = role;
  c->host = host;
  c->on_ready = on_ready;
  c->on_down = on_down;
  c->ud = ud;
  c->timeout_ms = REPLY_TIMEOUT_MS;
  if (uv_timer_init(loop, &c->timer)) return WSC_ENOMEM;
  c->timer.data = c;
  connect_now(c);
  return 0;
}

void wsc__redis_conn_watch(wsc__redis_conn *c, uint64_t timeout_ms,
                           uint64_t grace_ms, wsc__redis_ping_fn ping,
                           int keep_owed) {
  c->keep_owed = keep_owed;
  c->timeout_ms = timeout_ms;
  c->grace_ms = grace_ms;
  c->ping = ping;
}

void wsc__redis_conn_pair(wsc__redis_conn *a, wsc__redis_conn *b) {
  a->sibling = b;
  b->sibling = a;
}

int wsc__redis_conn_suspected(const wsc__redis_conn *c) {
  return c->suspect_until != 0;
}

int wsc__redis_conn_usable(const wsc__redis_conn *c) {
  return c->ac && !c->closing && (c->ready || !c->ever_ready);
}

const char *wsc__redis_conn_down_reason(const wsc__redis_conn *c) {
  return c->logged_why;
}

int wsc__redis_conn_cmd(wsc__redis_conn *c, redisCallbackFn *fn, void *pd,
                        int argc, const char **argv, const size_t *lens) {
  if (!wsc__redis_conn_usable(c)) return WSC_ELAYER;
  if (redisAsyncCommandArgv(c->ac, fn, pd, argc, argv, lens) != REDIS_OK)
    return WSC_ELAYER;
  return 0;
}

static void on_timer_closed(uv_handle_t *h) {
  wsc__redis_conn *c = h->data;
  if (c->closed_cb) c->closed_cb(c->closed_arg);
}

void wsc__redis_conn_close(wsc__redis_conn *c, void (*closed)(void *),
                           void *arg) {
  c->closing = 1;
  c->ready = 0;
  c->closed_cb = closed;
  c->closed_arg = arg;
  wsc__redis_conn_drop_retired(c);
  uv_timer_stop(&c->timer);
  if (c->ac) {
    redisAsyncContext *ac = c->ac;
    c->ac = NULL;
    redisAsyncFree(ac);
  }
  uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}

/* ---- create-time probe ---------------------------------------------------- */

static int resolve(const char *host, char *ip, size_t iplen) {
  struct addrinfo hints, *res = NULL, *a;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res) return -1;
  for (int fam = 0; fam < 2; fam++) /* IPv4 first, as redis' "localhost" */
    for (a = res; a; a = a->ai_next) {
      if (a->ai_family != (fam ? AF_INET6 : AF_INET)) continue;
      const void *addr =
          a->ai_family == AF_INET
              ? (const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr
              : (const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr;
      if (inet_ntop(a->ai_family, addr, ip, (socklen_t)iplen)) {
        freeaddrinfo(res);
        return 0;
      }
    }
  freeaddrinfo(res);
  return -1;
}

static int reply_error(redisReply *r) {
  return !r || r->type == REDIS_REPLY_ERROR;
}

int wsc__redis_probe(const wsc__redis_url *u, char *ip, size_t iplen,
                     int *version, char *err, size_t errlen) {
  if (resolve(u->host, ip, iplen)) {
    snprintf(err, errlen, "%s: cannot resolve host '%s'", u->masked, u->host);
    return WSC_ELAYER;
  }
  struct timeval tv = {2, 0};
  redisContext *rc = redisConnectWithTimeout(ip, u->port, tv);
  if (!rc || rc->err) {
    snprintf(err, errlen, "cannot reach Redis at %s: %s", u->masked,
             rc ? rc->errstr : "out of memory");
    if (rc) redisFree(rc);
    return WSC_ELAYER;
  }
  redisSetTimeout(rc, tv);
  int code = 0;
  redisReply *r = NULL;
  if (u->password[0]) {
    r = u->user[0] ? redisCommand(rc, "AUTH %s %s", u->user, u->password)
                   : redisCommand(rc, "AUTH %s", u->password);
    if (reply_error(r)) {
      snprintf(err, errlen, "Redis at %s refused the password: %s", u->masked,
               r ? r->str : rc->errstr);
      code = r ? WSC_ECONFIG : WSC_ELAYER;
    }
    freeReplyObject(r);
  }
  if (!code && u->db) {
    r = redisCommand(rc, "SELECT %d", u->db);
    if (reply_error(r)) {
      snprintf(err, errlen, "Redis at %s refused database %d: %s", u->masked,
               u->db, r ? r->str : rc->errstr);
      code = r ? WSC_ECONFIG : WSC_ELAYER;
    }
    freeReplyObject(r);
  }
  if (!code) {
    r = redisCommand(rc, "INFO server");
    if (reply_error(r)) {
      snprintf(err, errlen, "Redis at %s: %s", u->masked,
               r ? r->str : rc->errstr);
      /* NOAUTH: a password is needed and the URL has none. */
      code = r ? WSC_ECONFIG : WSC_ELAYER;
    } else {
      const char *v = strstr(r->str, "redis_version:");
      int maj = 0, min = 0;
      if (v) sscanf(v + 14, "%d.%d", &maj, &min);
      *version = maj * 100 + min;
    }
    freeReplyObject(r);
  }
  redisFree(rc);
  return code;
}
