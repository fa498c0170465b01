/* The Redis Pub/Sub channel layer, with Django Channels'
 * RedisPubSubChannelLayer semantics: a group send is one PUBLISH; each
 * process subscribes to a group only while one of its connections is in it
 * (reference-counted SUBSCRIBE/UNSUBSCRIBE), and to one channel of its own
 * ("<prefix>specific.<process>") for sends to its connections' channel names,
 * whose messages carry the target name ("<target>\n<message>").
 *
 * Fast and lossy by design: Redis keeps nothing, so what is published while a
 * process is cut off from Redis never reaches it. Sends made while this
 * process is disconnected fail at once with WSC_ELAYER (no buffering: a
 * buffer would only hide the loss). On reconnect every subscription is
 * restored. Groups hold only this process's channels (as in Django's layer).
 *
 * A subscriber given up by the watch is replaced without losing or
 * repeating a message (redis_handoff.h).
 *
 * SUBSCRIBE and PUBLISH travel on two connections, so a publish could reach
 * Redis before the subscription a connection just made: the join notice a
 * consumer broadcasts right after joining would miss the joiner. So while a
 * SUBSCRIBE is unconfirmed, publishes wait (in order) for its confirmation;
 * and while the subscriber is down (lost, or given up in a cut), for its
 * successor's: published meanwhile, they would reach this process's own
 * members no more. Having been accepted, they also wait for a publish
 * connection given up meanwhile to be remade; for HELD_MAX_MS in all, then
 * they fail and their senders are told. */
#include <stdio.h>
#include <string.h>

#include "../alloc.h"
#include "../layer.h"
#include "../strmap.h"
#include "redis_common.h"
#include "redis_handoff.h"
#include "wschannels/error.h"

/* How long a publish waits for the subscriptions, and for a publish
 * connection given up meanwhile to be remade, before it fails. */
#define HELD_MAX_MS 60000
/* While publishes wait, how often what holds them is looked at again (a
 * suspected publish connection clears without an event of its own). */
#define HELD_CHECK_MS 250

/* A publish waiting for SUBSCRIBE confirmations. */
typedef struct held_publish {
  struct held_publish *next;
  wsc__redis_op *op;
  uint64_t at;
  size_t chlen, len;
  char data[]; /* redis channel, then the payload */
} held_publish;

typedef struct ps_layer {
  wsc__redis_base b; /* first: the shared channel ops take the layer as it */
  int pending_subs;   /* SUBSCRIBEs sent and not yet confirmed */
  held_publish *held, **held_tail;
  uv_timer_t held_timer; /* runs while publishes are held */
  wsc__redis_conn pub, sub;
  wsc__handoff handoff;
  char self_channel[128]; /* <prefix><proc> */
  char ping_channel[140]; /* <prefix>__ping__<proc>: nobody publishes */
  char group_prefix[96];  /* <prefix>__group__ */
  wsc__strmap groups;     /* group -> wsc__local_group */
  int open_conns;
  void (*done)(void *);
  void *done_arg;
} ps_layer;

static void group_channel(ps_layer *l, const char *group, char *out,
                          size_t n) {
  snprintf(out, n, "%s%s", l->group_prefix, group);
}

static void release_held(ps_layer *l);

/* ---- receiving ----------------------------------------------------------- */

/* Delivers a message of `ch` to this process's channels. */
static void route(void *ud, const char *ch, const char *payload, size_t plen) {
  ps_layer *l = ud;
  if (strcmp(ch, l->self_channel) == 0) {
    const char *nl = memchr(payload, '\n', plen);
    if (!nl) return;
    wsc__redis_deliver(&l->b, payload, (size_t)(nl - payload), nl + 1,
                       plen - (size_t)(nl - payload) - 1);
    return;
  }
  size_t gl = strlen(l->group_prefix);
  if (strncmp(ch, l->group_prefix, gl) != 0) return;
  wsc__lgroups_deliver(&l->b, &l->groups, ch + gl, payload, plen);
}

static void on_message(redisAsyncContext *ac, void *r, void *pd) {
  ps_layer *l = pd;
  redisReply *reply = r;
  if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3)
    return; /* the connection ended: sub_down releases what waits */
  if (strcmp(reply->element[0]->str, "subscribe") == 0) {
    if (ac != l->sub.ac || strcmp(reply->element[1]->str, l->ping_channel) == 0) return;
    if (l->pending_subs > 0 && --l->pending_subs == 0) {
      release_held(l);
      wsc__handoff_subscribed(&l->handoff);
    }
    return;
  }
  if (strcmp(reply->element[0]->str, "message") != 0) return;
  const char *ch = reply->element[1]->str;
  const char *payload = reply->element[2]->str;
  size_t plen = reply->element[2]->len;
  if (!wsc__handoff_take(&l->handoff, ac, ch, payload, plen)) route(l, ch, payload, plen);
}

static int subscribe(ps_layer *l, const char *cmd, const char *channel) {
  const char *argv[2] = {cmd, channel};
  size_t lens[2] = {strlen(cmd), strlen(channel)};
  int rc = wsc__redis_conn_cmd(&l->sub, on_message, l, 2, argv, lens);
  if (rc == 0 && cmd[0] == 'S') l->pending_subs++;
  return rc;
}

/* The watch's ping: a subscribed connection cannot PING (hiredis 0.14
 * hands the answer to no callback), so it subscribes again to a channel of
 * its own, which Redis confirms each time. */
static int sub_ping(wsc__redis_conn *c, void *ud) {
  ps_layer *l = ud;
  const char *argv[2] = {"SUBSCRIBE", l->ping_channel};
  size_t lens[2] = {9, strlen(l->ping_channel)};
  return wsc__redis_conn_cmd(c, on_message, l, 2, argv, lens);
}

/* Calls fn for our own channel and the channel of every group we have
 * members in: what the subscriber is subscribed to. */
static void each_channel(ps_layer *l, void (*fn)(ps_layer *, const char *)) {
  fn(l, l->self_channel);
  WSC__STRMAP_FOREACH(&l->groups, s) {
    char ch[256];
    group_channel(l, s->key, ch, sizeof ch);
    fn(l, ch);
  }
}

static void subscribe_to(ps_layer *l, const char *channel) {
  subscribe(l, "SUBSCRIBE", channel);
}

static void old_subscriber_has(ps_layer *l, const char *channel) {
  wsc__handoff_old_has(&l->handoff, channel);
}

/* (Re)subscribes to our own channel and every group we have members in. */
static void sub_ready(wsc__redis_conn *c, void *ud) {
  (void)c;
  ps_layer *l = ud;
  l->pending_subs = 0; /* what the old connection waited for is moot */
  wsc__handoff_successor_up(&l->handoff);
  each_channel(l, subscribe_to);
}

/* The publish connection is (re)made: what waited for it goes out. */
static void pub_ready(wsc__redis_conn *c, void *ud) {
  (void)c;
  release_held(ud);
}

/* The subscriber connection dropped: what waits, and what is published
 * from now on, waits for its successor's subscriptions (sub_ready). A
 * retired one hands over to its successor. */
static void sub_down(wsc__redis_conn *c, void *ud) {
  (void)c;
  ps_layer *l = ud;
  l->pending_subs = 0;
  if (wsc__handoff_subscriber_down(&l->handoff)) each_channel(l, old_subscriber_has);
}

static void publish_reply(redisAsyncContext *ac, void *r, void *pd) {
  wsc__redis_op *op = pd;
  redisReply *reply = r;
  if (reply && reply->type != REDIS_REPLY_ERROR) {
    wsc__redis_op_end(op, 0, NULL);
    return;
  }
  wsc__redis_conn *c = ac->data;
  wsc__redis_op_fail(op, reply, c->closing);
}

static int send_publish(ps_layer *l, const char *redis_channel, size_t chlen,
                        const char *payload, size_t len, wsc__redis_op *op) {
  const char *argv[3] = {"PUBLISH", redis_channel, payload};
  size_t lens[3] = {7, chlen, len};
  return wsc__redis_conn_cmd(&l->pub, publish_reply, op, 3, argv, lens);
}

/* ---- publishes held for the subscriptions --------------------------------- */

/* Whether a publish now must wait: it could miss this process's own
 * members (a SUBSCRIBE is unconfirmed, or the subscriber that was up is
 * down), or either connection is suspected dead (its sibling was just given
 * up for silence; a suspected subscriber is given up or cleared within 2 s). */
static int publishing_blocked(const ps_layer *l) {
  return l->pending_subs > 0 || (l->sub.ever_ready && !l->sub.ready) ||
         wsc__redis_conn_suspected(&l->pub) || wsc__redis_conn_suspected(&l->sub);
}

/* Up while both connections answer (a publish can reach this process's own
 * members). */
static int ps_backend_up(void *inst) {
  const ps_layer *l = inst;
  return l->pub.ready && l->sub.ready && !wsc__redis_conn_suspected(&l->pub) &&
         !wsc__redis_conn_suspected(&l->sub);
}

static void fail_held(held_publish *h, const ps_layer *l) {
  char why[640];
  snprintf(why, sizeof why, "not published: Redis at %s did not take it within %d s",
           l->b.url.masked, HELD_MAX_MS / 1000);
  wsc__redis_op_fail_why(h->op, why);
  wsc__free(h);
}

/* Fails what has waited HELD_MAX_MS. */
static void expire_held(ps_layer *l) {
  uint64_t now = uv_now(l->b.host->loop);
  while (l->held && now - l->held->at >= HELD_MAX_MS) {
    held_publish *h = l->held;
    if (!(l->held = h->next)) l->held_tail = &l->held;
    fail_held(h, l);
  }
}

/* Publishes what waited, in order, once nothing holds it any more. */
static void release_held(ps_layer *l) {
  expire_held(l);
  if (l->held && (!wsc__redis_conn_usable(&l->pub) || publishing_blocked(l))) return;
  uv_timer_stop(&l->held_timer);
  held_publish *h = l->held;
  l->held = NULL;
  l->held_tail = &l->held;
  while (h) {
    held_publish *next = h->next;
    if (send_publish(l, h->data, h->chlen, h->data + h->chlen, h->len, h->op))
      wsc__redis_op_fail(h->op, NULL, l->pub.closing);
    wsc__free(h);
    h = next;
  }
}

static void on_held_timer(uv_timer_t *t) { release_held(t->data); }

static void hold(ps_layer *l, held_publish *h) {
  if (!l->held)
    uv_timer_start(&l->held_timer, on_held_timer, HELD_CHECK_MS, HELD_CHECK_MS);
  *l->held_tail = h;
  l->held_tail = &h->next;
}

/* ---- ops ------------------------------------------------------------------ */

static void conn_closed(void *arg) {
  ps_layer *l = arg;
  if (--l->open_conns) return;
  void (*done)(void *) = l->done;
  void *darg = l->done_arg;
  wsc__redis_base_clear(&l->b);
  wsc__free(l);
  done(darg);
}

static int ps_create(const wsc_layer_host *host, const cJSON *cfg,
                     void **inst, char *err, size_t errlen) {
  ps_layer *l = wsc__calloc(1, sizeof *l);
  if (!l) return WSC_ENOMEM;
  int rc = wsc__redis_base_init(&l->b, host, cfg, NULL, err,
                                errlen);
  if (rc) {
    wsc__free(l);
    return rc;
  }
  snprintf(l->self_channel, sizeof l->self_channel, "%s%s", l->b.prefix,
           l->b.proc);
  snprintf(l->group_prefix, sizeof l->group_prefix, "%s__group__", l->b.prefix);
  snprintf(l->ping_channel, sizeof l->ping_channel, "%s__ping__%s", l->b.prefix,
           l->b.proc);
  if (wsc__handoff_init(&l->handoff, host->loop, &l->sub, &l->pub, l->self_channel, route,
                        l) ||
      wsc__redis_conn_start(&l->pub, host->loop, &l->b.url, l->b.ip,
                            "publish", host, pub_ready, NULL, l) ||
      wsc__redis_conn_start(&l->sub, host->loop, &l->b.url, l->b.ip,
                            "subscribe", host, sub_ready, sub_down, l)) {
    wsc__free(l); /* only fails on timer init, before anything is live */
    return WSC_ENOMEM;
  }
  wsc__redis_conn_pair(&l->pub, &l->sub);
  wsc__redis_conn_watch(&l->pub, l->b.reply_timeout_ms, 0, NULL, 1);
  wsc__redis_conn_watch(&l->sub, l->b.reply_timeout_ms, 0, sub_ping, 1);
  uv_timer_init(host->loop, &l->held_timer);
  l->held_timer.data = l;
  l->open_conns = 4; /* the two connections and two timers */
  l->held_tail = &l->held;
  *inst = l;
  return 0;
}

static int publish(ps_layer *l, const char *redis_channel, const char *head,
                   size_t hl, const char *msg, size_t len,
                   wsc_layer_done_fn done, void *arg, const char *kind,
                   const char *name) {
  if (!wsc__redis_conn_usable(&l->pub))
    return wsc__redis_unavailable(&l->b, &l->pub, kind, name);
  size_t chlen = strlen(redis_channel);
  wsc__redis_op *op;
  int rc = wsc__redis_op_new(&l->b, chlen + hl + len, done, arg, kind, name, &op);
  if (rc) return rc;
  int wait = l->held || publishing_blocked(l);
  if (!wait && hl == 0) { /* no copy needed */
    rc = send_publish(l, redis_channel, chlen, msg, len, op);
  } else {
    held_publish *h = wsc__malloc(sizeof *h + chlen + hl + len);
    if (!h) {
      wsc__redis_op_free(op);
      return WSC_ENOMEM;
    }
    h->next = NULL;
    h->op = op;
    h->at = uv_now(l->b.host->loop);
    h->chlen = chlen;
    h->len = hl + len;
    memcpy(h->data, redis_channel, chlen);
    memcpy(h->data + chlen, head, hl);
    memcpy(h->data + chlen + hl, msg, len);
    if (wait) {
      hold(l, h);
      return 0;
    }
    rc = send_publish(l, h->data, chlen, h->data + chlen, h->len, op);
    wsc__free(h); /* hiredis formatted its own copy */
  }
  if (rc) {
    wsc__redis_op_free(op);
    return wsc__redis_fail(&l->b, rc, "%s '%s': Redis at %s is unreachable",
                           kind, name, l->b.url.masked);
  }
  return 0;
}

static int ps_send(void *inst, const char *channel, const char *msg,
                   size_t len, wsc_layer_done_fn done, void *arg) {
  ps_layer *l = inst;
  /* "a.b!c" goes to the process channel "<prefix>a.b" with its target. */
  char rch[256], head[WSC_NAME_MAX + 2];
  const char *bang = strchr(channel, '!');
  size_t base = bang ? (size_t)(bang - channel) : strlen(channel);
  snprintf(rch, sizeof rch, "%s%.*s", l->b.prefix, (int)base, channel);
  int hl = snprintf(head, sizeof head, "%s\n", channel);
  return publish(l, rch, head, (size_t)hl, msg, len, done, arg, "channel",
                 channel);
}

static int ps_group_send(void *inst, const char *group, const char *msg,
                         size_t len, wsc_layer_done_fn done, void *arg) {
  ps_layer *l = inst;
  char rch[256];
  group_channel(l, group, rch, sizeof rch);
  return publish(l, rch, "", 0, msg, len, done, arg, "group", group);
}

static int ps_group_add(void *inst, const char *group, const char *channel) {
  ps_layer *l = inst;
  void *recv = wsc__strmap_get(&l->b.locals, channel);
  if (!recv)
    return wsc__redis_fail(&l->b, WSC_EINVAL,
                           "group '%s': only this process's channels can join "
                           "groups on a Pub/Sub layer ('%s' is not one)",
                           group, channel);
  int first;
  int rc = wsc__lgroups_add(&l->groups, group, channel, recv, &first);
  if (!rc && first) { /* if down, sub_ready subscribes later */
    char rch[256];
    group_channel(l, group, rch, sizeof rch);
    subscribe(l, "SUBSCRIBE", rch);
  }
  return rc;
}

static int ps_group_discard(void *inst, const char *group,
                            const char *channel) {
  ps_layer *l = inst;
  int last;
  wsc__lgroups_discard(&l->groups, group, channel, &last);
  if (last) {
    char rch[256];
    group_channel(l, group, rch, sizeof rch);
    subscribe(l, "UNSUBSCRIBE", rch);
    wsc__handoff_forget(&l->handoff, rch);
  }
  return 0;
}

static void held_timer_closed(uv_handle_t *h) { conn_closed(h->data); }

static void ps_close(void *inst, void (*done)(void *), void *arg) {
  ps_layer *l = inst;
  l->done = done;
  l->done_arg = arg;
  /* What still waits fails with WSC_ECLOSED, as the layer ABI says. */
  uv_close((uv_handle_t *)&l->held_timer, held_timer_closed);
  while (l->held) {
    held_publish *h = l->held;
    l->held = h->next;
    wsc__redis_op_fail(h->op, NULL, 1);
    wsc__free(h);
  }
  l->held_tail = &l->held;
  wsc__lgroups_clear(&l->groups);
  wsc__redis_conn_close(&l->pub, conn_closed, l);
  wsc__redis_conn_close(&l->sub, conn_closed, l);
  wsc__handoff_close(&l->handoff, conn_closed, l);
}

const wsc_layer_ops wsc__redis_pubsub_layer_ops = {
    sizeof(wsc_layer_ops), WSC_LAYER_ABI_V2, "redis_pubsub",
    ps_create,             wsc__redis_new_channel_op, wsc__redis_release_op,
    ps_send,               ps_group_add,     ps_group_discard,
    ps_group_send,         ps_close,         ps_backend_up,
};
