/* Replacing a Pub/Sub subscriber without losing or repeating a message.
 *
 * When the watch gives a subscriber up, Redis may only have been busy, and
 * the retired connection (redis_conn.c) still receives what was published
 * to it. Dropping it once its successor is up loses what it had not read
 * and what was published before the successor's subscriptions landed;
 * keeping both delivers messages twice. So the two streams are cut at one
 * point both see: once the successor's subscriptions are confirmed, a
 * marker is published on the process's own channel, to which both are
 * subscribed. Redis sends each publish to all subscribers in one order, so
 * the retired connection delivers what precedes the marker and is dropped
 * on reaching it, and the successor delivers what follows it (held until
 * then, in order).
 *
 * A retired connection that is dead (a cut network) never reaches the
 * marker. It is dropped once it has read nothing for a second after the
 * successor has the marker (or for the reply timeout after the successor
 * is up, or when 32 MiB wait), and what the successor received before the
 * marker is delivered as well, unless the retired one read anything since
 * the successor came up: those could repeat, and Pub/Sub is at most once.
 *
 * Channels the retired connection did not have (groups joined since, or
 * left and joined again) are the successor's alone, delivered at once. */
#ifndef WSC_LIB_REDIS_HANDOFF_H
#define WSC_LIB_REDIS_HANDOFF_H

#include "../strmap.h"
#include "redis_conn.h"

typedef struct wsc__handoff_msg wsc__handoff_msg;
/* Delivers a message to this process's channels, as if just received. */
typedef void (*wsc__handoff_route_fn)(void *ud, const char *channel, const char *payload,
                                      size_t len);

typedef struct wsc__handoff {
  wsc__redis_conn *sub, *pub;
  const char *own_channel; /* both are subscribed to it; it carries the marker */
  wsc__handoff_route_fn route;
  void *ud;
  uv_timer_t timer;
  int active;
  redisAsyncContext *old; /* the retired subscriber; NULL once it reached the marker */
  wsc__strmap old_channels; /* what it delivers */
  unsigned gen;
  char marker[64];
  int successor_up, subscribed, marker_sent, marker_seen;
  uint64_t successor_up_at, old_heard_at;
  unsigned long old_reads_seen, old_reads_at_up;
  wsc__handoff_msg *before, **before_tail, *after, **after_tail;
  size_t held_bytes;
  void (*closed)(void *);
  void *closed_arg;
} wsc__handoff;

int wsc__handoff_init(wsc__handoff *h, uv_loop_t *loop, wsc__redis_conn *sub,
                      wsc__redis_conn *pub, const char *own_channel,
                      wsc__handoff_route_fn route, void *ud);

/* The subscriber went down: ends a handoff under way (its successor is
 * gone), and starts one when the subscriber was retired (then returns 1,
 * and the caller names the channels it had with wsc__handoff_old_has). */
int wsc__handoff_subscriber_down(wsc__handoff *h);
void wsc__handoff_old_has(wsc__handoff *h, const char *channel);
/* This process left `channel`: the retired subscriber's copies are ignored. */
void wsc__handoff_forget(wsc__handoff *h, const char *channel);

/* The successor is greeted (before it subscribes), and later has every
 * subscription confirmed (the marker is then published). */
void wsc__handoff_successor_up(wsc__handoff *h);
void wsc__handoff_subscribed(wsc__handoff *h);

/* Whether a message that arrived on `ac` is the handoff's (held, ignored,
 * or the marker); 0: the caller delivers it now. */
int wsc__handoff_take(wsc__handoff *h, const redisAsyncContext *ac, const char *channel,
                      const char *payload, size_t len);

/* Frees what is held (not delivered) and closes the timer; `closed(arg)`
 * runs from the loop. */
void wsc__handoff_close(wsc__handoff *h, void (*closed)(void *), void *arg);

#endif
