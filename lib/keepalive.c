#include "keepalive.h"

#include <string.h>

#include <libwebsockets.h>

#include "conn.h"
#include "server.h"

enum { NONE, QUIET, PINGED };

/* A client's frames arrive many times a second; moving it to the tail once
 * per this many ms keeps the lists in order at a fraction of the work, and
 * makes a deadline at most this much early. */
#define HEARD_GRANULARITY_MS 100

static wsc__dlist *list_of(wsc__keepalive *ka, int which) {
  return which == QUIET ? &ka->quiet : &ka->pinged;
}

static wsc_conn *head_of(const wsc__dlist *l) {
  return WSC__DLIST_ENTRY(l->head, wsc_conn, keepalive.link);
}

static void unlink_entry(wsc__keepalive *ka, wsc_conn *c) {
  wsc__keepalive_entry *e = &c->keepalive;
  if (e->list == NONE) return;
  wsc__dlist_unlink(list_of(ka, e->list), &e->link);
  e->list = NONE;
}

static void append(wsc__keepalive *ka, wsc_conn *c, int which) {
  c->keepalive.list = (unsigned char)which;
  wsc__dlist_append(list_of(ka, which), &c->keepalive.link);
}

/* When the head of each list is due: a ping after ping_ms of silence, then
 * a hang-up after idle_ms of it. Without a hang-up, a ping restarts the
 * count in `quiet`, and `pinged` stays empty. */
static uint64_t quiet_due(const wsc__keepalive *ka, const wsc_conn *c) {
  return c->keepalive.heard_at + (ka->ping_ms ? ka->ping_ms : ka->idle_ms);
}

static uint64_t pinged_due(const wsc__keepalive *ka, const wsc_conn *c) {
  return c->keepalive.heard_at + ka->idle_ms;
}

static void on_tick(uv_timer_t *t);

/* Wakes for the earliest head (each list is in due order). */
static void arm(wsc__keepalive *ka) {
  uint64_t due = UINT64_MAX, now = uv_now(ka->timer.loop);
  if (ka->quiet.head) due = quiet_due(ka, head_of(&ka->quiet));
  if (ka->pinged.head) {
    uint64_t p = pinged_due(ka, head_of(&ka->pinged));
    if (p < due) due = p;
  }
  if (due == UINT64_MAX) uv_timer_stop(&ka->timer);
  else uv_timer_start(&ka->timer, on_tick, due > now ? due - now : 0, 0);
}

static void ping(wsc__keepalive *ka, wsc_conn *c, uint64_t now) {
  /* FIN + ping, "wsc": lws 4.1 tells us of no pong whose payload is empty. */
  static const unsigned char frame[5] = {0x89, 0x03, 'w', 's', 'c'};
  if (!ka->idle_ms) c->keepalive.heard_at = now;
  append(ka, c, ka->idle_ms ? PINGED : QUIET);
  /* Made at the first ping, so that init cannot fail; out of memory, this
   * round goes unpinged and the next one tries again. */
  if (!ka->ping) ka->ping = wsc__frame_new_raw(frame, sizeof frame);
  if (ka->ping) wsc__conn_queue(c, ka->ping); /* a closing connection takes none */
}

/* Silent past idle_timeout: presumed gone, so no close handshake waits for
 * it; on_disconnect sees 1006, as for any connection that drops. */
static void hang_up(wsc__keepalive *ka, wsc_conn *c) {
  wsc__log(&c->srv->log, WSC_LOG_INFO, "conn", "%s: silent for %llu s; hanging up",
           c->channel, (unsigned long long)(ka->idle_ms / 1000));
  c->srv->counts.closed_idle++;
  lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

static void on_tick(uv_timer_t *t) {
  wsc__keepalive *ka = t->data;
  uint64_t now = uv_now(t->loop);
  wsc_conn *c;
  while ((c = head_of(&ka->quiet)) && quiet_due(ka, c) <= now) {
    unlink_entry(ka, c);
    if (ka->ping_ms) ping(ka, c, now);
    else hang_up(ka, c);
  }
  while ((c = head_of(&ka->pinged)) && pinged_due(ka, c) <= now) {
    unlink_entry(ka, c);
    hang_up(ka, c);
  }
  arm(ka);
}

void wsc__keepalive_init(wsc__keepalive *ka, uv_loop_t *loop, unsigned ping_interval,
                         unsigned idle_timeout, void *ctx) {
  memset(ka, 0, sizeof *ka);
  ka->ping_ms = (uint64_t)ping_interval * 1000;
  ka->idle_ms = (uint64_t)idle_timeout * 1000;
  ka->ctx = ctx;
  uv_timer_init(loop, &ka->timer);
  ka->timer.data = ka;
}

void wsc__keepalive_add(wsc__keepalive *ka, wsc_conn *c) {
  if (!ka->ping_ms && !ka->idle_ms) return;
  int was_empty = !ka->quiet.head;
  c->keepalive.heard_at = uv_now(ka->timer.loop);
  append(ka, c, QUIET);
  if (was_empty) arm(ka);
}

void wsc__keepalive_heard(wsc__keepalive *ka, wsc_conn *c) {
  wsc__keepalive_entry *e = &c->keepalive;
  if (e->list == NONE) return;
  uint64_t now = uv_now(ka->timer.loop);
  if (e->list == QUIET && now - e->heard_at < HEARD_GRANULARITY_MS) return;
  unlink_entry(ka, c);
  e->heard_at = now;
  int was_empty = !ka->quiet.head;
  append(ka, c, QUIET);
  if (was_empty) arm(ka);
}

void wsc__keepalive_remove(wsc__keepalive *ka, wsc_conn *c) { unlink_entry(ka, c); }

static void on_timer_closed(uv_handle_t *h) {
  wsc__keepalive *ka = h->data;
  ka->closed_cb(ka->ctx);
}

void wsc__keepalive_close(wsc__keepalive *ka, void (*closed_cb)(void *ctx)) {
  ka->closed_cb = closed_cb;
  /* Connections lws closes later must find themselves in no list. */
  wsc_conn *c;
  while ((c = head_of(&ka->quiet))) unlink_entry(ka, c);
  while ((c = head_of(&ka->pinged))) unlink_entry(ka, c);
  ka->ping_ms = ka->idle_ms = 0;
  wsc__frame_unref(ka->ping);
  ka->ping = NULL;
  uv_close((uv_handle_t *)&ka->timer, on_timer_closed);
}
