#include "redis_handoff.h"

#include <stdio.h>
#include <string.h>

#include "../alloc.h"
#include "../layer.h"

#define TICK_MS 250
#define OLD_QUIET_MS 1000 /* after the successor has the marker */
#define HELD_BYTES_MAX (32u << 20)

struct wsc__handoff_msg {
  wsc__handoff_msg *next;
  size_t chlen, len;
  char data[]; /* channel, NUL, payload */
};

static void free_msgs(wsc__handoff_msg *m) {
  while (m) {
    wsc__handoff_msg *next = m->next;
    wsc__free(m);
    m = next;
  }
}

static void deliver_msgs(wsc__handoff *h, wsc__handoff_msg *m) {
  while (m) {
    wsc__handoff_msg *next = m->next;
    h->route(h->ud, m->data, m->data + m->chlen + 1, m->len);
    wsc__free(m);
    m = next;
  }
}

/* Takes the held messages out, for the caller to deliver or free. */
static void detach(wsc__handoff *h, wsc__handoff_msg **before, wsc__handoff_msg **after) {
  *before = h->before;
  *after = h->after;
  h->before = h->after = NULL;
  h->before_tail = &h->before;
  h->after_tail = &h->after;
  h->held_bytes = 0;
}

/* Ends the handoff; what was held has been detached. */
static void reset(wsc__handoff *h) {
  h->active = 0;
  h->old = NULL;
  wsc__strmap_clear(&h->old_channels, NULL);
  h->successor_up = h->subscribed = h->marker_sent = h->marker_seen = 0;
  uv_timer_stop(&h->timer);
}

static void drop_old(wsc__handoff *h) {
  if (h->old && h->sub->retired == h->old) wsc__redis_conn_drop_retired(h->sub);
  h->old = NULL;
}

static void say(const wsc__handoff *h, const char *what) {
  wsc__host_logf(h->sub->host, WSC_LOG_WARN, "%s connection to %s: %s", h->sub->role,
                 h->sub->url->masked, what);
}

/* The retired subscriber delivered everything before the marker. */
static void old_reached_marker(wsc__handoff *h) {
  say(h, "the given-up connection handed over to the new one (nothing lost or repeated)");
  wsc__handoff_msg *before, *after;
  detach(h, &before, &after);
  drop_old(h);
  free_msgs(before);
  /* Until the successor has the marker too, what it receives is repeated. */
  if (h->marker_seen) reset(h);
  deliver_msgs(h, after);
}

/* The retired subscriber is gone or dead: the successor delivers all it
 * can without repeating. */
static void old_lost(wsc__handoff *h) {
  say(h, "the given-up connection did not hand over; what it had not delivered is lost");
  int old_read = h->successor_up && h->sub->retired_reads != h->old_reads_at_up;
  wsc__handoff_msg *before, *after;
  detach(h, &before, &after);
  drop_old(h);
  reset(h);
  if (old_read)
    free_msgs(before);
  else
    deliver_msgs(h, before);
  deliver_msgs(h, after);
}

static void marker_reply(redisAsyncContext *ac, void *r, void *pd) {
  (void)ac;
  wsc__handoff *h = pd;
  redisReply *reply = r;
  if (!reply || reply->type == REDIS_REPLY_ERROR) h->marker_sent = 0; /* again, next tick */
}

static void send_marker_if_due(wsc__handoff *h) {
  if (!h->active || !h->subscribed || h->marker_sent || !h->pub->ready) return;
  const char *argv[3] = {"PUBLISH", h->own_channel, h->marker};
  size_t lens[3] = {7, strlen(h->own_channel), strlen(h->marker)};
  if (wsc__redis_conn_cmd(h->pub, marker_reply, h, 3, argv, lens) == 0) h->marker_sent = 1;
}

static void on_tick(uv_timer_t *t) {
  wsc__handoff *h = t->data;
  if (!h->active) return;
  uint64_t now = uv_now(t->loop);
  if (h->old && h->sub->retired != h->old) { /* it disconnected */
    old_lost(h);
    return;
  }
  send_marker_if_due(h);
  if (!h->old) return; /* reached; the successor's marker is awaited */
  if (h->sub->retired_reads != h->old_reads_seen) {
    h->old_reads_seen = h->sub->retired_reads;
    h->old_heard_at = now;
  }
  uint64_t quiet = now - h->old_heard_at;
  uint64_t up_quiet = h->successor_up_at > h->old_heard_at ? now - h->successor_up_at : quiet;
  if ((h->marker_seen && quiet >= OLD_QUIET_MS) ||
      (h->successor_up && up_quiet >= h->sub->timeout_ms) || h->held_bytes > HELD_BYTES_MAX)
    old_lost(h);
}

int wsc__handoff_init(wsc__handoff *h, uv_loop_t *loop, wsc__redis_conn *sub,
                      wsc__redis_conn *pub, const char *own_channel,
                      wsc__handoff_route_fn route, void *ud) {
  memset(h, 0, sizeof *h);
  h->sub = sub;
  h->pub = pub;
  h->own_channel = own_channel;
  h->route = route;
  h->ud = ud;
  if (uv_timer_init(loop, &h->timer)) return -1;
  h->timer.data = h;
  h->before_tail = &h->before;
  h->after_tail = &h->after;
  return 0;
}

int wsc__handoff_subscriber_down(wsc__handoff *h) {
  if (h->active && h->old)
    old_lost(h);
  else if (h->active) /* it handed over; the successor went before the marker */
    reset(h);
  redisAsyncContext *ac = h->sub->retired;
  if (!ac || !(ac->c.flags & REDIS_SUBSCRIBED)) return 0;
  h->active = 1;
  h->old = ac;
  h->gen++;
  snprintf(h->marker, sizeof h->marker, "handoff %u", h->gen); /* no '\n': no target */
  h->old_reads_seen = h->sub->retired_reads;
  h->old_heard_at = uv_now(h->timer.loop);
  uv_timer_start(&h->timer, on_tick, TICK_MS, TICK_MS);
  return 1;
}

void wsc__handoff_old_has(wsc__handoff *h, const char *channel) {
  /* Out of memory: its copies are ignored, the successor's delivered. */
  if (h->active) (void)wsc__strmap_put(&h->old_channels, channel, h);
}

void wsc__handoff_forget(wsc__handoff *h, const char *channel) {
  if (h->active) wsc__strmap_remove(&h->old_channels, channel);
}

void wsc__handoff_successor_up(wsc__handoff *h) {
  if (!h->active || h->successor_up) return;
  h->successor_up = 1;
  h->successor_up_at = uv_now(h->timer.loop);
  h->old_reads_at_up = h->sub->retired_reads;
}

void wsc__handoff_subscribed(wsc__handoff *h) {
  if (!h->active || !h->successor_up) return;
  h->subscribed = 1;
  send_marker_if_due(h);
}

static void hold(wsc__handoff *h, const char *channel, const char *payload, size_t len) {
  size_t chlen = strlen(channel);
  wsc__handoff_msg *m = wsc__malloc(sizeof *m + chlen + 1 + len);
  if (!m) { /* out of order rather than lost */
    h->route(h->ud, channel, payload, len);
    return;
  }
  m->next = NULL;
  m->chlen = chlen;
  m->len = len;
  memcpy(m->data, channel, chlen + 1);
  memcpy(m->data + chlen + 1, payload, len);
  h->held_bytes += sizeof *m + chlen + len;
  if (h->marker_seen) {
    *h->after_tail = m;
    h->after_tail = &m->next;
  } else {
    *h->before_tail = m;
    h->before_tail = &m->next;
  }
}

int wsc__handoff_take(wsc__handoff *h, const redisAsyncContext *ac, const char *channel,
                      const char *payload, size_t len) {
  int from_old = h->old && ac == h->old;
  if (!h->active || (!from_old && ac != h->sub->ac)) return ac != h->sub->ac;
  int own = strcmp(channel, h->own_channel) == 0;
  if (own && len == strlen(h->marker) && memcmp(payload, h->marker, len) == 0) {
    if (from_old) {
      old_reached_marker(h);
    } else {
      h->marker_seen = 1;
      if (!h->old) reset(h); /* the retired one reached it first */
    }
    return 1;
  }
  int old_has = own || wsc__strmap_get(&h->old_channels, channel);
  if (from_old) return !old_has;
  if (!old_has) return 0;
  if (h->old) hold(h, channel, payload, len);
  /* else: before the marker, and the retired one delivered it */
  return 1;
}

static void timer_closed(uv_handle_t *t) {
  wsc__handoff *h = t->data;
  if (h->closed) h->closed(h->closed_arg);
}

void wsc__handoff_close(wsc__handoff *h, void (*closed)(void *), void *arg) {
  wsc__handoff_msg *before, *after;
  detach(h, &before, &after);
  free_msgs(before);
  free_msgs(after);
  drop_old(h);
  reset(h);
  h->closed = closed;
  h->closed_arg = arg;
  uv_close((uv_handle_t *)&h->timer, timer_closed);
}
