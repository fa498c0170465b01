/* A channel layer without a server (include/wschannels/sender.h): the same
 * drivers and envelopes as a server's layers, for programs that only send. */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "config.h"
#include "layer.h"
#include "log.h"
#include "stats.h"
#include "wschannels/error.h"
#include "wschannels/sender.h"

struct wsc_layer {
  wsc__layer layer;
  wsc__config cfg;
  wsc__logger log;
  int closing;
  wsc_close_cb close_cb;
  void *close_ud;
  char errmsg[WSC_ERRBUF_SIZE];
};

/* Nothing receives on a sending-only layer. */
static void no_delivery(void *host_data, void *const *receivers, size_t n,
                        const char *msg, size_t len) {
  (void)host_data, (void)receivers, (void)n, (void)msg, (void)len;
}

int wsc_layer_new(uv_loop_t *loop, const char *json, const char *alias,
                  wsc_layer **out, char *err, size_t errlen) {
  if (err && errlen) err[0] = '\0';
  if (!loop || !json || !out) return WSC_EINVAL;
  *out = NULL;
  if (!alias) alias = "default";
  wsc_layer *l = wsc__calloc(1, sizeof *l);
  if (!l) return WSC_ENOMEM;
  l->log = wsc__default_logger();
  wsc_server_options o;
  wsc_server_options_init(&o);
  o.config_json = json;
  int rc = wsc__config_load(&l->cfg, &o, err, errlen);
  const wsc__layer_cfg *lc = rc ? NULL : wsc__config_layer(&l->cfg, alias);
  if (!rc && !lc) {
    if (err) snprintf(err, errlen, "config: layers.%s: no such layer alias", alias);
    rc = WSC_ENOTFOUND;
  }
  if (!rc)
    rc = wsc__layer_open(&l->layer, lc, loop, no_delivery, l, &l->log, err,
                         errlen);
  if (rc) {
    wsc__config_clear(&l->cfg);
    wsc__free(l);
    return rc;
  }
  *out = l;
  return 0;
}

const char *wsc_layer_errmsg(const wsc_layer *l) { return l ? l->errmsg : ""; }

static int send_op(wsc_layer *l, wsc__send_kind kind, const char *target,
                   const char *json, size_t len, wsc_result_fn cb, void *ud) {
  if (!l || !target || !json) return WSC_EINVAL;
  if (l->closing) return WSC_ECLOSED;
  return wsc__layer_send_json(&l->layer, kind, target, json, len, cb, ud,
                              l->errmsg, sizeof l->errmsg);
}

int wsc_layer_send_event(wsc_layer *l, const char *channel, const char *json,
                         size_t len, wsc_result_fn cb, void *ud) {
  return send_op(l, WSC__EVENT_TO_CHANNEL, channel, json, len, cb, ud);
}
int wsc_layer_broadcast_event(wsc_layer *l, const char *group,
                              const char *json, size_t len, wsc_result_fn cb,
                              void *ud) {
  return send_op(l, WSC__EVENT_TO_GROUP, group, json, len, cb, ud);
}
int wsc_layer_broadcast_message(wsc_layer *l, const char *group,
                                const char *json, size_t len,
                                wsc_result_fn cb, void *ud) {
  return send_op(l, WSC__MESSAGE_TO_GROUP, group, json, len, cb, ud);
}

int wsc_layer_group_add(wsc_layer *l, const char *group, const char *channel) {
  if (!l || !channel) return WSC_EINVAL;
  if (!wsc_channel_name_is_valid(channel)) {
    snprintf(l->errmsg, sizeof l->errmsg, "invalid channel name '%.120s'", channel);
    return WSC_EBADNAME;
  }
  return wsc__layer_group_add(&l->layer, group, channel, l->errmsg,
                              sizeof l->errmsg);
}

int wsc_layer_group_discard(wsc_layer *l, const char *group,
                            const char *channel) {
  if (!l || !group || !channel) return WSC_EINVAL;
  return wsc__layer_group_discard(&l->layer, group, channel);
}

static void on_closed(void *arg) {
  wsc_layer *l = arg;
  wsc_close_cb cb = l->close_cb;
  void *ud = l->close_ud;
  wsc__config_clear(&l->cfg);
  wsc__free(l);
  if (cb) cb(ud);
}

int wsc_layer_close(wsc_layer *l, wsc_close_cb cb, void *ud) {
  if (!l) return WSC_EINVAL;
  if (l->closing) return WSC_ECLOSED;
  l->closing = 1;
  l->close_cb = cb;
  l->close_ud = ud;
  wsc__layer_close(&l->layer, on_closed, l);
  return 0;
}

int wsc_layer_get_stats(const wsc_layer *l, wsc_layer_stats *out) {
  if (!l || !out) return WSC_EINVAL;
  return wsc__layer_get_stats(&l->layer, out);
}
