/* The in-memory channel layer, with Django Channels' InMemoryChannelLayer
 * semantics: per-channel capacity (a send to a full channel fails with
 * WSC_EFULL; a group send skips full members and logs them), message expiry,
 * and group expiry. Delivery is deferred to the loop, in order: a uv_check
 * handle delivers at the end of the loop turn the message was sent in (just
 * before the server flushes its connections, so a broadcast reaches sockets
 * in the same turn), and a uv_idle keeps the loop from blocking meanwhile.
 *
 * One broadcast is one queue item holding one message and the array of its
 * target channels: no per-recipient allocation. Channels with a live local
 * receiver (connections) are neither capacity-limited here (their client's
 * send queue is, see chan_full) nor dropped from groups by group_expiry while
 * they are open: they leave their groups when they close. Capacity, expiry
 * and group expiry apply to channels nobody reads in this process. */
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "../alloc.h"
#include "../config.h"
#include "../layer.h"
#include "../strmap.h"
#include "wschannels/error.h"
#include "wschannels/layer.h"

typedef struct mem_msg {
  uint32_t refs;
  uint64_t expires; /* loop ms */
  size_t len;
  char data[];
} mem_msg;

struct mem_group;

/* Where a channel sits in one of its groups: joining, leaving and moving
 * within a group find it here, not by searching the group's members. */
typedef struct membership {
  struct mem_group *g;
  size_t slot;
} membership;

typedef struct mem_chan {
  char *name;
  void *receiver; /* NULL: nobody reads it here; messages wait in `backlog` */
  int released;   /* the receiver is gone; the struct waits for its refs */
  size_t pending; /* queue items not yet delivered that target it */
  size_t group_refs; /* entries in `groups`, allocated to fit: an idle
                        connection's bytes count (bench/run --hold-only) */
  membership *groups;
  mem_msg **backlog; /* ring */
  size_t bhead, blen, bcap;
} mem_chan;

typedef struct member {
  mem_chan *ch; /* NULL: left; the slot is reclaimed by the next compaction */
  uint64_t joined;
} member;

/* Members in join order (broadcasts reach them in that order). Leaving
 * empties a slot in O(1); the slots are compacted in the pass every group
 * send makes anyway, or once half of them are empty. */
typedef struct mem_group {
  member *m;
  size_t n, cap; /* slots in use, members and empty */
  size_t left;   /* empty slots among the n */
} mem_group;

typedef struct item {
  struct item *next;
  wsc_layer_done_fn done;
  void *done_arg;
  mem_msg *msg;
  size_t n;
  mem_chan *one; /* targets == &one for a single send */
  mem_chan **targets;
} item;

typedef struct mem_layer {
  const wsc_layer_host *host;
  wsc__strmap chans, groups;
  item *head, *tail;
  uv_check_t drain;
  uv_idle_t kick;
  int closing_handles;
  unsigned long capacity, expiry_ms, group_expiry_ms;
  uint64_t rng;
  void **scratch;
  size_t scratch_cap;
  void (*done)(void *);
  void *done_arg;
} mem_layer;

static uint64_t now_ms(mem_layer *l) { return uv_now(l->host->loop); }

static void msg_unref(mem_msg *m) {
  if (m && --m->refs == 0) wsc__free(m);
}

static void chan_drop_backlog(mem_chan *c) {
  while (c->blen) {
    msg_unref(c->backlog[c->bhead]);
    c->bhead = (c->bhead + 1) % c->bcap;
    c->blen--;
  }
}

static void chan_free(mem_chan *c) {
  chan_drop_backlog(c);
  wsc__free(c->groups);
  wsc__free(c->backlog);
  wsc__free(c->name);
  wsc__free(c);
}

/* Frees a channel nobody can reach any more. */
static void chan_maybe_free(mem_layer *l, mem_chan *c) {
  if (c->pending || c->group_refs || c->blen) return;
  if (c->released) {
    chan_free(c);
  } else if (!c->receiver) {
    wsc__strmap_remove(&l->chans, c->name);
    chan_free(c);
  }
}

static void chan_expire_backlog(mem_layer *l, mem_chan *c) {
  uint64_t now = now_ms(l);
  while (c->blen && c->backlog[c->bhead]->expires <= now) {
    msg_unref(c->backlog[c->bhead]);
    c->bhead = (c->bhead + 1) % c->bcap;
    c->blen--;
  }
}

static int chan_backlog_push(mem_chan *c, mem_msg *m) {
  if (c->blen == c->bcap) {
    size_t ncap = c->bcap ? c->bcap * 2 : 8;
    mem_msg **nq = wsc__calloc(ncap, sizeof *nq);
    if (!nq) return WSC_ENOMEM;
    for (size_t i = 0; i < c->blen; i++)
      nq[i] = c->backlog[(c->bhead + i) % c->bcap];
    wsc__free(c->backlog);
    c->backlog = nq;
    c->bhead = 0;
    c->bcap = ncap;
  }
  c->backlog[(c->bhead + c->blen) % c->bcap] = m;
  c->blen++;
  m->refs++;
  return 0;
}

static mem_chan *chan_new(mem_layer *l, const char *name, void *receiver) {
  mem_chan *c = wsc__calloc(1, sizeof *c);
  if (!c) return NULL;
  c->receiver = receiver;
  if (!(c->name = wsc__strdup(name)) || wsc__strmap_put(&l->chans, name, c)) {
    wsc__free(c->name);
    wsc__free(c);
    return NULL;
  }
  return c;
}

/* Capacity bounds what waits unread. A channel with a live local receiver
 * (a connection) is drained into its client's send queue every loop turn,
 * which has its own byte limit, so a burst to a connection is never refused
 * here; only channels nobody reads in this process fill up. */
static int chan_full(mem_layer *l, mem_chan *c) {
  return !c->receiver && c->pending + c->blen >= l->capacity;
}

static mem_msg *msg_new(mem_layer *l, const char *data, size_t len) {
  mem_msg *m = wsc__malloc(sizeof *m + len);
  if (!m) return NULL;
  m->refs = 1;
  m->expires = now_ms(l) + l->expiry_ms;
  m->len = len;
  memcpy(m->data, data, len);
  return m;
}

/* ---- delivery ---------------------------------------------------------- */

static void drain(uv_check_t *h);
static void on_kick(uv_idle_t *h) { (void)h; }

static void enqueue(mem_layer *l, item *it) {
  it->next = NULL;
  if (l->tail)
    l->tail->next = it;
  else
    l->head = it;
  l->tail = it;
  /* Starting puts this check first in line, before the server's flush (an
   * active one stays where it is). */
  uv_check_start(&l->drain, drain);
  uv_idle_start(&l->kick, on_kick);
}

static void drain(uv_check_t *h) {
  mem_layer *l = h->data;
  /* Take the current list only: what deliveries queue runs next turn. */
  item *it = l->head;
  l->head = l->tail = NULL;
  uint64_t now = now_ms(l);
  while (it) {
    item *next = it->next;
    size_t nr = 0;
    int expired = it->msg->expires <= now;
    if (!expired && wsc__grow((void **)&l->scratch, &l->scratch_cap, it->n,
                              sizeof *l->scratch)) {
      wsc__host_logf(l->host, WSC_LOG_ERROR, "out of memory: dropped a message for %zu "
            "channel(s)", it->n);
      wsc__host_dropped(l->host, 1);
      expired = 1;
    }
    for (size_t i = 0; i < it->n; i++) {
      mem_chan *c = it->targets[i];
      c->pending--;
      if (!expired && c->receiver) {
        l->scratch[nr++] = c->receiver; /* a live receiver keeps c alive */
        continue;
      }
      if (!expired && !c->released && chan_backlog_push(c, it->msg)) {
        wsc__host_logf(l->host, WSC_LOG_ERROR, "out of memory: dropped a message for "
              "channel '%s'", c->name);
        wsc__host_dropped(l->host, 1);
      }
      chan_maybe_free(l, c);
    }
    if (nr)
      l->host->deliver(l->host->host_data, l->scratch, nr, it->msg->data,
                       it->msg->len);
    if (it->done) it->done(it->done_arg, 0, NULL);
    msg_unref(it->msg);
    if (it->targets != &it->one) wsc__free(it->targets);
    wsc__free(it);
    it = next;
  }
  if (!l->head) {
    uv_check_stop(&l->drain);
    uv_idle_stop(&l->kick);
  }
}

/* ---- ops --------------------------------------------------------------- */

static int mem_create(const wsc_layer_host *host, const cJSON *cfg,
                      void **inst, char *err, size_t errlen) {
  static const char *const keys[] = {"driver", "capacity", "expiry",
                                     "group_expiry", NULL};
  char where[128];
  snprintf(where, sizeof where, "layers.%s", host->alias);
  wsc__queue_limits lim;
  int rc = wsc__cfg_check_keys(cfg, keys, where, err, errlen);
  if (!rc) rc = wsc__cfg_queue_limits(cfg, where, &lim, err, errlen);
  if (rc) return rc;
  mem_layer *l = wsc__calloc(1, sizeof *l);
  if (!l) return WSC_ENOMEM;
  l->host = host;
  l->capacity = lim.capacity;
  l->expiry_ms = lim.expiry_s * 1000;
  l->group_expiry_ms = lim.group_expiry_s * 1000;
  uv_random(NULL, NULL, &l->rng, sizeof l->rng, 0, NULL);
  l->rng |= 1;
  if (uv_check_init(host->loop, &l->drain) || uv_idle_init(host->loop, &l->kick)) {
    wsc__free(l);
    return WSC_ENOMEM;
  }
  l->drain.data = l->kick.data = l;
  *inst = l;
  return 0;
}

static uint64_t next_rand(mem_layer *l) { /* xorshift64 */
  l->rng ^= l->rng << 13;
  l->rng ^= l->rng >> 7;
  l->rng ^= l->rng << 17;
  return l->rng;
}

static int mem_new_channel(void *inst, void *receiver, char *name,
                           size_t namelen) {
  mem_layer *l = inst;
  static const char letters[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  char buf[64];
  for (int attempt = 0; attempt < 8; attempt++) {
    /* Django's in-memory names: "specific..inmemory!" + 12 letters. */
    int n = snprintf(buf, sizeof buf, "specific..inmemory!");
    for (int i = 0; i < 12; i++) buf[n + i] = letters[next_rand(l) % 52];
    buf[n + 12] = '\0';
    if (wsc__strmap_get(&l->chans, buf)) continue;
    if ((size_t)n + 13 > namelen) return WSC_EINVAL;
    if (!chan_new(l, buf, receiver)) return WSC_ENOMEM;
    memcpy(name, buf, (size_t)n + 13);
    return 0;
  }
  return WSC_EEXIST;
}

static void mem_release_channel(void *inst, const char *name) {
  mem_layer *l = inst;
  mem_chan *c = wsc__strmap_remove(&l->chans, name);
  if (!c) return;
  c->receiver = NULL;
  c->released = 1;
  chan_drop_backlog(c);
  chan_maybe_free(l, c);
}

static int mem_send(void *inst, const char *channel, const char *msg,
                    size_t len, wsc_layer_done_fn done, void *done_arg) {
  mem_layer *l = inst;
  mem_chan *c = wsc__strmap_get(&l->chans, channel);
  if (!c && !(c = chan_new(l, channel, NULL))) return WSC_ENOMEM;
  chan_expire_backlog(l, c);
  if (chan_full(l, c)) return WSC_EFULL;
  item *it = wsc__calloc(1, sizeof *it);
  mem_msg *m = it ? msg_new(l, msg, len) : NULL;
  if (!m) {
    wsc__free(it);
    chan_maybe_free(l, c);
    return WSC_ENOMEM;
  }
  it->msg = m;
  it->done = done;
  it->done_arg = done_arg;
  it->n = 1;
  it->one = c;
  it->targets = &it->one;
  c->pending++;
  enqueue(l, it);
  return 0;
}

/* c's place in g, or NULL: a channel is in few groups. */
static membership *membership_of(mem_chan *c, const mem_group *g) {
  for (size_t i = 0; i < c->group_refs; i++)
    if (c->groups[i].g == g) return &c->groups[i];
  return NULL;
}

static void group_maybe_free(mem_layer *l, const char *name, mem_group *g) {
  if (g->n > g->left) return;
  wsc__strmap_remove(&l->groups, name);
  wsc__free(g->m);
  wsc__free(g);
}

static int mem_group_add(void *inst, const char *group, const char *channel) {
  mem_layer *l = inst;
  mem_group *g = wsc__strmap_get(&l->groups, group);
  if (!g) {
    if (!(g = wsc__calloc(1, sizeof *g))) return WSC_ENOMEM;
    if (wsc__strmap_put(&l->groups, group, g)) {
      wsc__free(g);
      return WSC_ENOMEM;
    }
  }
  mem_chan *c = wsc__strmap_get(&l->chans, channel);
  if (!c && !(c = chan_new(l, channel, NULL))) return WSC_ENOMEM;
  membership *ms = membership_of(c, g);
  if (ms) {
    g->m[ms->slot].joined = now_ms(l); /* a re-add refreshes, as in Django */
    return 0;
  }
  membership *grown = NULL;
  if (wsc__grow((void **)&g->m, &g->cap, g->n + 1, sizeof *g->m) ||
      !(grown = wsc__realloc(c->groups, (c->group_refs + 1) * sizeof *c->groups))) {
    chan_maybe_free(l, c);
    group_maybe_free(l, group, g);
    return WSC_ENOMEM;
  }
  c->groups = grown;
  c->groups[c->group_refs++] = (membership){g, g->n};
  g->m[g->n++] = (member){c, now_ms(l)};
  return 0;
}

/* c no longer counts g among its groups. */
static void drop_membership(mem_chan *c, const mem_group *g) {
  membership *ms = membership_of(c, g); /* found before the count shrinks */
  *ms = c->groups[--c->group_refs];
}

/* Empties member i's slot, keeping everyone else where they are. */
static void group_remove_at(mem_layer *l, mem_group *g, size_t i) {
  mem_chan *c = g->m[i].ch;
  drop_membership(c, g);
  g->m[i].ch = NULL;
  g->left++;
  chan_maybe_free(l, c);
}

/* Compaction, one member at a time: member i moves down to slot w. */
static void keep_member(mem_group *g, size_t i, size_t w) {
  if (w == i) return;
  g->m[w] = g->m[i];
  membership_of(g->m[w].ch, g)->slot = w;
}

/* Moves the members down over the empty slots, in order. */
static void group_compact(mem_group *g) {
  size_t w = 0;
  for (size_t i = 0; i < g->n; i++)
    if (g->m[i].ch) keep_member(g, i, w++);
  g->n = w;
  g->left = 0;
}

static int mem_group_discard(void *inst, const char *group,
                             const char *channel) {
  mem_layer *l = inst;
  mem_group *g = wsc__strmap_get(&l->groups, group);
  if (!g) return 0;
  mem_chan *c = wsc__strmap_get(&l->chans, channel);
  membership *ms = c ? membership_of(c, g) : NULL;
  if (ms) group_remove_at(l, g, ms->slot);
  if (g->left > g->n / 2) group_compact(g);
  group_maybe_free(l, group, g);
  return 0;
}

/* A group send that reaches nobody still completes, on the next turn. */
static int enqueue_empty(mem_layer *l, wsc_layer_done_fn done, void *arg) {
  if (!done) return 0;
  item *it = wsc__calloc(1, sizeof *it);
  mem_msg *m = it ? msg_new(l, "", 0) : NULL;
  if (!m) {
    wsc__free(it);
    return WSC_ENOMEM;
  }
  it->msg = m;
  it->done = done;
  it->done_arg = arg;
  it->targets = &it->one;
  enqueue(l, it);
  return 0;
}

static int mem_group_send(void *inst, const char *group, const char *msg,
                          size_t len, wsc_layer_done_fn done, void *done_arg) {
  mem_layer *l = inst;
  mem_group *g = wsc__strmap_get(&l->groups, group);
  if (!g) return enqueue_empty(l, done, done_arg);
  uint64_t now = now_ms(l);
  size_t full = 0, n = 0;
  item *it = wsc__calloc(1, sizeof *it);
  mem_chan **targets = it ? wsc__malloc((g->n ? g->n : 1) * sizeof *targets) : NULL;
  mem_msg *m = targets ? msg_new(l, msg, len) : NULL;
  if (!m) {
    wsc__free(targets);
    wsc__free(it);
    return WSC_ENOMEM;
  }
  /* One pass: drop the members that are gone, compact over them and the
   * slots emptied since the last pass, and target the rest. */
  size_t w = 0;
  for (size_t i = 0; i < g->n; i++) {
    mem_chan *c = g->m[i].ch;
    if (!c) continue;
    if (c->released ||
        (!c->receiver && g->m[i].joined + l->group_expiry_ms <= now)) {
      drop_membership(c, g);
      chan_maybe_free(l, c);
      continue;
    }
    keep_member(g, i, w++);
    if (!c->receiver) {
      chan_expire_backlog(l, c);
      if (chan_full(l, c)) {
        full++;
        continue;
      }
    }
    c->pending++;
    targets[n++] = c;
  }
  g->n = w;
  g->left = 0;
  if (full) {
    wsc__host_logf(l->host, WSC_LOG_WARN,
          "group_send to '%s': %zu member channel(s) full (capacity %lu); "
          "the message was not queued for them",
          group, full, l->capacity);
    wsc__host_dropped(l->host, full);
  }
  if (!n) {
    msg_unref(m);
    wsc__free(targets);
    wsc__free(it);
    group_maybe_free(l, group, g);
    return enqueue_empty(l, done, done_arg);
  }
  it->msg = m;
  it->done = done;
  it->done_arg = done_arg;
  it->n = n;
  it->targets = targets;
  enqueue(l, it);
  return 0;
}

static void free_group(void *p) {
  mem_group *g = p;
  wsc__free(g->m);
  wsc__free(g);
}

static void on_handle_closed(uv_handle_t *h) {
  mem_layer *l = h->data;
  if (--l->closing_handles) return;
  void (*done)(void *) = l->done;
  void *arg = l->done_arg;
  wsc__free(l);
  if (done) done(arg);
}

/* A released channel lives only through item and group references. */
static void released_unref(mem_chan *c) {
  if (c->released && !c->pending && !c->group_refs) chan_free(c);
}

static void mem_close(void *inst, void (*done)(void *), void *arg) {
  mem_layer *l = inst;
  for (item *it = l->head, *next; it; it = next) {
    next = it->next;
    for (size_t i = 0; i < it->n; i++) {
      it->targets[i]->pending--;
      released_unref(it->targets[i]);
    }
    if (it->done) it->done(it->done_arg, WSC_ECLOSED, "layer closed");
    msg_unref(it->msg);
    if (it->targets != &it->one) wsc__free(it->targets);
    wsc__free(it);
  }
  l->head = l->tail = NULL;
  WSC__STRMAP_FOREACH(&l->groups, s) {
    mem_group *g = s->val;
    for (size_t i = 0; i < g->n; i++) {
      mem_chan *c = g->m[i].ch;
      if (!c) continue;
      drop_membership(c, g);
      released_unref(c);
    }
  }
  wsc__strmap_clear(&l->groups, free_group);
  WSC__STRMAP_FOREACH(&l->chans, s) chan_free(s->val);
  wsc__strmap_clear(&l->chans, NULL);
  wsc__free(l->scratch);
  l->done = done;
  l->done_arg = arg;
  l->closing_handles = 2;
  uv_close((uv_handle_t *)&l->drain, on_handle_closed);
  uv_close((uv_handle_t *)&l->kick, on_handle_closed);
}

const wsc_layer_ops wsc__memory_layer_ops = {
    sizeof(wsc_layer_ops), WSC_LAYER_ABI_V2, "memory",
    mem_create,            mem_new_channel,  mem_release_channel,
    mem_send,              mem_group_add,    mem_group_discard,
    mem_group_send,        mem_close,
    NULL, /* backend_up: in-process, always */
};
