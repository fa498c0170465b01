#include "layer.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "layer_registry.h"
#include "message.h"
#include "wschannels/error.h"

static void host_log(void *host_data, wsc_log_level level, const char *msg) {
  wsc__layer *l = host_data;
  if ((unsigned)level <= WSC_LOG_DEBUG)
    wsc__log_line(l->log, level, l->subsystem, &l->log_sites[level], msg);
}

/* Once closing, the owner may have let its receivers go: a driver still
 * draining its sends delivers to no one. */
static void host_deliver(void *host_data, void *const *receivers, size_t n,
                         const char *msg, size_t len) {
  wsc__layer *l = host_data;
  if (l->closing) return;
  l->counts.received++;
  l->deliver(l, receivers, n, msg, len);
}

static void host_dropped(void *host_data, size_t n) {
  ((wsc__layer *)host_data)->counts.dropped += n;
}

static void host_set_error(void *host_data, const char *msg) {
  wsc__layer *l = host_data;
  snprintf(l->lasterr, sizeof l->lasterr, "%s", msg);
}

int wsc__layer_open(wsc__layer *l, const wsc__layer_cfg *cfg, uv_loop_t *loop,
                    wsc__deliver_fn deliver, void *owner,
                    wsc__logger *log, char *err, size_t errlen) {
  memset(l, 0, sizeof *l);
  l->ops = wsc__layer_registry_find(cfg->driver);
  if (!l->ops) {
    if (err)
      snprintf(err, errlen,
               "config: layers.%s.driver: unknown driver '%s' (known: "
               "\"memory\", \"redis_pubsub\", \"redis\")",
               cfg->alias, cfg->driver);
    return WSC_ECONFIG;
  }
  if (!(l->alias = wsc__strdup(cfg->alias))) return WSC_ENOMEM;
  l->owner = owner;
  l->log = log;
  snprintf(l->subsystem, sizeof l->subsystem, "layer.%s", l->ops->name);
  l->host.struct_size = sizeof l->host;
  l->host.loop = loop;
  l->host.alias = l->alias;
  l->host.host_data = l;
  l->deliver = deliver;
  l->host.deliver = host_deliver;
  l->host.log = host_log;
  l->host.set_error = host_set_error;
  l->host.dropped = host_dropped;
  int rc = l->ops->create(&l->host, cfg->options, &l->inst, err, errlen);
  if (rc) {
    wsc__free(l->alias);
    l->alias = NULL;
    l->inst = NULL;
  }
  return rc;
}

static int set_err(char *err, size_t errlen, int rc, wsc__layer *l,
                   const char *what, const char *name) {
  if (err && errlen && rc && l->lasterr[0]) {
    snprintf(err, errlen, "layer '%s': %s", l->alias ? l->alias : "?",
             l->lasterr);
  } else if (err && errlen) {
    if (rc == WSC_EFULL)
      snprintf(err, errlen, "layer '%s': channel '%s' is full", l->alias ? l->alias : "?",
               name);
    else if (rc == WSC_EBADNAME)
      snprintf(err, errlen,
               "layer '%s': invalid %s name '%.120s' (1-99 characters of "
               "A-Z a-z 0-9 - _ .%s)",
               l->alias ? l->alias : "?", what, name ? name : "(null)",
               strcmp(what, "channel") == 0 ? ", one '!'" : "");
    else if (rc)
      snprintf(err, errlen, "layer '%s': %s '%.120s': %s", l->alias ? l->alias : "?", what,
               name, wsc_strerror(rc));
  }
  return rc;
}

/* A send the driver took, counted until it is answered (so closing can
 * wait for it), with whom to tell: the driver-style `done`, or a caller's
 * result callback `cb`. */
typedef struct taken {
  wsc__layer *l;
  wsc_layer_done_fn done;
  void *arg;
  wsc_result_fn cb;
  void *user_data;
} taken;

static void taken_done(void *arg, int status, const char *errmsg) {
  taken *t = arg;
  wsc__layer *l = t->l;
  l->in_flight--;
  if (status) l->counts.failed++;
  else l->counts.ok++;
  if (l->closing) l->heard_at = uv_now(l->host.loop);
  if (t->cb)
    t->cb(status, status ? errmsg : NULL, t->user_data);
  else if (t->done)
    t->done(t->arg, status, errmsg);
  wsc__free(t);
}

/* Validates, then hands a send (to a group, or to a channel) to the driver,
 * counting it; `how` says whom to tell. */
static int send_taken(wsc__layer *l, int to_group, const char *target, const char *msg,
                      size_t len, taken how, char *err, size_t errlen) {
  const char *what = to_group ? "group" : "channel";
  l->lasterr[0] = '\0';
  taken *t = NULL;
  int rc = 0;
  if (!l->inst || l->closing)
    rc = WSC_ECLOSED;
  else if (!(to_group ? wsc_group_name_is_valid(target) : wsc_channel_name_is_valid(target)))
    rc = WSC_EBADNAME;
  else if (!(t = wsc__malloc(sizeof *t)))
    rc = WSC_ENOMEM;
  if (t) {
    *t = how;
    t->l = l;
    rc = to_group ? l->ops->group_send(l->inst, target, msg, len, taken_done, t)
                  : l->ops->send(l->inst, target, msg, len, taken_done, t);
    if (rc) wsc__free(t); /* done is never called after an error return */
  }
  if (rc) {
    l->counts.refused++;
  } else {
    l->in_flight++;
    l->counts.taken++;
  }
  return set_err(err, errlen, rc, l, what, target);
}

int wsc__layer_send(wsc__layer *l, const char *channel, const char *msg,
                    size_t len, wsc_layer_done_fn done, void *arg, char *err,
                    size_t errlen) {
  return send_taken(l, 0, channel, msg, len, (taken){.done = done, .arg = arg}, err,
                    errlen);
}

int wsc__layer_group_send(wsc__layer *l, const char *group, const char *msg,
                          size_t len, wsc_layer_done_fn done, void *arg,
                          char *err, size_t errlen) {
  return send_taken(l, 1, group, msg, len, (taken){.done = done, .arg = arg}, err,
                    errlen);
}

int wsc__layer_group_add(wsc__layer *l, const char *group,
                         const char *channel, char *err, size_t errlen) {
  l->lasterr[0] = '\0';
  if (!l->inst || l->closing) return set_err(err, errlen, WSC_ECLOSED, l, "group", group);
  if (!wsc_group_name_is_valid(group))
    return set_err(err, errlen, WSC_EBADNAME, l, "group", group);
  return set_err(err, errlen, l->ops->group_add(l->inst, group, channel), l,
                 "group", group);
}

int wsc__layer_group_discard(wsc__layer *l, const char *group,
                             const char *channel) {
  if (!l->inst) return WSC_ECLOSED;
  return l->ops->group_discard(l->inst, group, channel);
}

void wsc__host_logf(const wsc_layer_host *host, wsc_log_level lvl,
                    const char *fmt, ...) {
  if (!host->log) return;
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  host->log(host->host_data, lvl, buf);
}

void wsc__host_dropped(const wsc_layer_host *host, size_t n) {
  if (n && host->struct_size > offsetof(wsc_layer_host, dropped) && host->dropped)
    host->dropped(host->host_data, n);
}

void wsc__layer_log_failure(void *arg, int status, const char *errmsg) {
  wsc__layer *l = arg;
  if (status && status != WSC_ECLOSED)
    wsc__log_line(l->log, WSC_LOG_WARN, l->subsystem, &l->log_sites[WSC_LOG_DEBUG + 1],
                  errmsg ? errmsg : wsc_strerror(status));
}

int wsc__layer_send_json(wsc__layer *l, wsc__send_kind kind,
                         const char *target, const char *json, size_t len,
                         wsc_result_fn cb, void *user_data, char *err,
                         size_t errlen) {
  int rc;
  size_t elen;
  char *env = kind == WSC__MESSAGE_TO_GROUP
                  ? wsc__env_group_message(json, len, 0, NULL, NULL, &elen, &rc)
                  : wsc__env_event(json, len, &elen, &rc);
  if (!env) {
    if (err && errlen)
      snprintf(err, errlen, "%s",
               wsc__env_problem(rc, kind != WSC__MESSAGE_TO_GROUP));
    return rc;
  }
  /* Without a callback a failure is logged. */
  taken how = cb ? (taken){.cb = cb, .user_data = user_data}
                 : (taken){.done = wsc__layer_log_failure, .arg = l};
  rc = send_taken(l, kind != WSC__EVENT_TO_CHANNEL, target, env, elen, how, err, errlen);
  wsc__free(env);
  return rc;
}

static void close_driver(wsc__layer *l) {
  void *inst = l->inst;
  l->inst = NULL;
  wsc__free(l->alias);
  l->alias = NULL;
  if (inst)
    l->ops->close(inst, l->closed, l->closed_arg);
  else if (l->closed)
    l->closed(l->closed_arg);
}

static void on_drained(uv_handle_t *h) { close_driver(h->data); }

static void on_drain_tick(uv_timer_t *t) {
  wsc__layer *l = t->data;
  if (l->in_flight && uv_now(l->host.loop) - l->heard_at < WSC__DRAIN_QUIET_MS) return;
  uv_close((uv_handle_t *)t, on_drained);
}

void wsc__layer_close(wsc__layer *l, void (*done)(void *), void *arg) {
  l->closing = 1;
  l->closed = done;
  l->closed_arg = arg;
  if (!l->inst || !l->in_flight) {
    close_driver(l);
    return;
  }
  /* Sends the driver took are carried out (a program that sends, then
   * closes, expects its sends to go), for as long as answers keep coming. */
  l->heard_at = uv_now(l->host.loop);
  uv_timer_init(l->host.loop, &l->drain);
  l->drain.data = l;
  uv_timer_start(&l->drain, on_drain_tick, 10, 10);
}
