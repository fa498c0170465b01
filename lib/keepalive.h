/* Keepalive: a connection that has sent nothing for `ping_interval` seconds
 * is pinged; one silent for `idle_timeout` seconds is hung up.
 *
 * Open connections wait in two lists, each in the order they were last heard
 * from: `quiet` (not pinged since) and `pinged`. Hearing from a connection
 * moves it to the tail of `quiet`, the due ones leave from the heads, and one
 * timer wakes for the earliest: O(1) per frame heard, per ping and per
 * hang-up. lws's own validity timers (retry policy) keep every connection in
 * one sorted list that each ping and pong re-sorts by walking it; with 19,800
 * idle connections that walk took the whole core (docs/design.md). */
#ifndef WSC_LIB_KEEPALIVE_H
#define WSC_LIB_KEEPALIVE_H

#include <stdint.h>

#include <uv.h>

#include "dlist.h"
#include "frame.h"

struct wsc_conn;

/* A connection's place in the keepalive lists (in every connection: kept
 * small, an idle connection's bytes count). */
typedef struct wsc__keepalive_entry {
  wsc__dlink link;
  uint64_t heard_at;  /* uv_now (ms) when it was last heard from, or pinged
                         when pings are sent without hanging up */
  unsigned char list; /* 0: none; or which list, see keepalive.c */
} wsc__keepalive_entry;

typedef struct wsc__keepalive {
  uv_timer_t timer;
  uint64_t ping_ms, idle_ms; /* 0: never */
  wsc__dlist quiet, pinged; /* of wsc_conn.keepalive.link */
  wsc__frame *ping; /* one ping frame, shared by every connection; lazy */
  void *ctx;
  void (*closed_cb)(void *ctx);
} wsc__keepalive;

/* Seconds as in the config (0: never). Initializes the timer handle. */
void wsc__keepalive_init(wsc__keepalive *ka, uv_loop_t *loop, unsigned ping_interval,
                         unsigned idle_timeout, void *ctx);
/* The connection is open: it counts as heard from now. */
void wsc__keepalive_add(wsc__keepalive *ka, struct wsc_conn *c);
/* It sent a frame (a message, a fragment or a pong). */
void wsc__keepalive_heard(wsc__keepalive *ka, struct wsc_conn *c);
/* It is closed (a no-op if it was never added). */
void wsc__keepalive_remove(wsc__keepalive *ka, struct wsc_conn *c);
/* Closes the timer and frees the ping frame; `closed_cb(ctx)` runs once the
 * timer is closed. Loop thread. */
void wsc__keepalive_close(wsc__keepalive *ka, void (*closed_cb)(void *ctx));

#endif
