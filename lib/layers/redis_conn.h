/* A Redis connection kept up on the loop: async connect to an address
 * resolved once at create time (no DNS on the loop), AUTH and SELECT, a
 * PING that proves the connection usable, a timeout on a loop timer for
 * all of it, and reconnection with backoff. Once up, the same timer
 * watches it: a Redis that stops answering (hung, or cut off by a network
 * that leaves the socket open, which TCP reports only after many minutes)
 * is given up after the reply timeout and reconnected to. Also the
 * bounded blocking probe that lets a create call fail on a wrong URL,
 * password or database. */
#ifndef WSC_LIB_REDIS_CONN_H
#define WSC_LIB_REDIS_CONN_H

#include <uv.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "redis_url.h"
#include "wschannels/layer.h"

typedef struct wsc__redis_conn wsc__redis_conn;
typedef void (*wsc__redis_event_fn)(wsc__redis_conn *rc, void *ud);
/* Asks Redis for an answer on `rc` (the watch's ping); 0 when sent. */
typedef int (*wsc__redis_ping_fn)(wsc__redis_conn *rc, void *ud);

struct wsc__redis_conn {
  uv_loop_t *loop;
  const wsc__redis_url *url;
  const char *ip;
  const char *role; /* "publish", "subscribe", "receive": for logs */
  const wsc_layer_host *host;
  redisAsyncContext *ac;
  int ready;      /* connected, and the greeting (AUTH, SELECT, PING) answered */
  int ever_ready; /* ready at least once since start */
  int greeting;   /* connected, the greeting's answer awaited */
  int closing;
  char greeting_error[128]; /* why Redis refused the greeting, for the log */
  char logged_why[128];     /* the reason last logged for this outage; "" when up */
  uv_timer_t timer; /* connect timeout, reconnect backoff, or the watch */
  unsigned backoff_ms;
  /* The watch (see wsc__redis_conn_watch). */
  uint64_t timeout_ms, grace_ms;
  wsc__redis_ping_fn ping;
  unsigned long reads, reads_seen; /* readable events, and as last seen */
  uint64_t tick_at, heard_at, waiting_since;
  int pinging; /* a ping is out: Redis owes us an answer */
  uint64_t suspect_until; /* a sibling was given up: answer by then (0: no) */
  struct wsc__redis_conn *sibling; /* to the same Redis (wsc__redis_conn_pair) */
  int keep_owed; /* a given-up connection is retired, not dropped */
  redisAsyncContext *retired; /* given up, awaiting what it is owed */
  uint64_t retired_at;
  unsigned long retired_reads, retired_reads_seen; /* its readable events */
  uint64_t retired_heard_at; /* its last read, or its successor's greeting */
  wsc__redis_event_fn on_ready, on_down;
  void *ud;
  void (*closed_cb)(void *);
  void *closed_arg;
};

/* Create time only (blocking, bounded): resolve `host` to a numeric address,
 * then connect, AUTH, SELECT and PING with a 2 s timeout. `version` gets
 * Redis' version as major*100+minor. WSC_ELAYER (unreachable) or
 * WSC_ECONFIG (authentication or database refused), with `err` naming the
 * masked URL. */
int wsc__redis_probe(const wsc__redis_url *u, char *ip, size_t iplen,
                     int *version, char *err, size_t errlen);

/* Starts connecting; on_ready runs each time the connection is (re)made,
 * on_down each time it is lost. Returns 0 or WSC_ENOMEM. */
int wsc__redis_conn_start(wsc__redis_conn *c, uv_loop_t *loop,
                          const wsc__redis_url *u, const char *ip,
                          const char *role, const wsc_layer_host *host,
                          wsc__redis_event_fn on_ready,
                          wsc__redis_event_fn on_down, void *ud);

/* Sets how the connection is watched once up (call after start): when
 * Redis owes an answer (a reply, or a ping's) and has sent nothing for
 * `timeout_ms`, plus `grace_ms` on a connection that always waits on a
 * blocking command, the connection is given up ("no answer in N s") and
 * remade with backoff. With `keep_owed` the given-up connection is
 * retired: it stays open for up to 30 s for the answers it is owed (a hung
 * Redis answers them when it wakes), or until it has been silent for 2 s
 * while Redis answers its successor, and a subscriber's keeps delivering
 * until dropped with wsc__redis_conn_drop_retired; without, its pending
 * callbacks get NULL at once (for a read that is simply made again). A
 * connection silent for `timeout_ms` is pinged: with `ping`, or PING when
 * NULL (a subscribed connection cannot PING). The default is 15 s, no
 * grace, PING, not kept. */
void wsc__redis_conn_watch(wsc__redis_conn *c, uint64_t timeout_ms,
                           uint64_t grace_ms, wsc__redis_ping_fn ping,
                           int keep_owed);

/* Two connections of one layer to the same Redis: when the watch gives one
 * up, the other, if it has read nothing for a second, is asked for an
 * answer at once and given up unless one comes within 2 s (plus its grace),
 * instead of up to twice the timeout later. Call after start. */
void wsc__redis_conn_pair(wsc__redis_conn *a, wsc__redis_conn *b);

/* 1 while the connection is suspected that way and has not answered yet. */
int wsc__redis_conn_suspected(const wsc__redis_conn *c);

/* Whether commands are accepted now: when connected, and also during the
 * first connect after start (hiredis holds them until it is made), so a
 * program may send right after creating a layer. */
int wsc__redis_conn_usable(const wsc__redis_conn *c);

/* Why the connection is down, as last logged ("" while up or not known). */
const char *wsc__redis_conn_down_reason(const wsc__redis_conn *c);

/* Sends a command; `fn` gets the reply, or NULL if the connection is lost
 * or closed first. WSC_ELAYER when not usable (fn is then not called). */
int wsc__redis_conn_cmd(wsc__redis_conn *c, redisCallbackFn *fn, void *pd,
                        int argc, const char **argv, const size_t *lens);

/* Closes the retired connection, if any; answers still owed get NULL
 * replies (deferred by hiredis when called from one of its callbacks). */
void wsc__redis_conn_drop_retired(wsc__redis_conn *c);

/* Drops the connection (pending callbacks get NULL replies, from inside
 * this call) and calls closed(arg) from the loop once the timer is closed. */
void wsc__redis_conn_close(wsc__redis_conn *c, void (*closed)(void *),
                           void *arg);

#endif
