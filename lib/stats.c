/* wsc_server_get_stats and wsc_server_get_layer_stats (wsc_layer_get_stats
 * is in sender.c): the counters copied out, as much of them as the
 * caller's struct holds. */
#include "stats.h"

#include <string.h>

#include "layer.h"
#include "server.h"
#include "wschannels/error.h"

/* Copies `full` (ours, struct_size first) into `out` up to the caller's
 * struct_size, zeroes what we do not know and says how much we filled. */
static int copy_out(void *out, const void *full, size_t full_size) {
  size_t want;
  memcpy(&want, out, sizeof want);
  if (want < sizeof(size_t)) return WSC_EINVAL;
  size_t n = want < full_size ? want : full_size;
  memcpy((char *)out + sizeof(size_t), (const char *)full + sizeof(size_t),
         n - sizeof(size_t));
  memset((char *)out + n, 0, want - n);
  memcpy(out, &n, sizeof n);
  return 0;
}

int wsc__layer_get_stats(const wsc__layer *l, wsc_layer_stats *out) {
  /* A v2 method: a v1 driver's table, as the registry keeps it, has NULL. */
  int up = l->inst && (l->ops->abi_version < WSC_LAYER_ABI_V2 || !l->ops->backend_up ||
                       l->ops->backend_up(l->inst));
  wsc_layer_stats s = {sizeof s,        l->counts.taken, l->counts.refused,
                       l->counts.ok,    l->counts.failed, l->in_flight,
                       l->counts.received, l->counts.dropped, (uint64_t)up};
  return copy_out(out, &s, sizeof s);
}

int wsc_server_get_stats(const wsc_server *srv, wsc_server_stats *out) {
  if (!srv || !out) return WSC_EINVAL;
  if (!wsc__on_loop_thread(srv)) return WSC_ETHREAD;
  const wsc__server_counters *k = &srv->counts;
  wsc_server_stats s = {
      .struct_size = sizeof s,
      .connections = srv->nconns,
      .connections_opened = k->opened,
      .connections_closed = k->closed,
      .handshakes_refused = k->refused,
      .closed_slow = k->closed_slow,
      .closed_bad_input = k->closed_bad_input,
      .closed_idle = k->closed_idle,
      .messages_received = k->received,
      .messages_rejected = k->rejected,
      .handler_failures = k->handler_failures,
      .frames_queued = k->frames_queued,
      .bytes_written = k->bytes_written,
      .bytes_queued = wsc_server_queued_bytes(srv),
      .events_dropped = k->events_dropped,
  };
  return copy_out(out, &s, sizeof s);
}

int wsc_server_get_layer_stats(const wsc_server *srv, const char *alias,
                               wsc_layer_stats *out) {
  if (!srv || !out) return WSC_EINVAL;
  if (!wsc__on_loop_thread(srv)) return WSC_ETHREAD;
  if (!alias) alias = "default";
  for (size_t i = 0; i < srv->nlayers; i++)
    if (srv->layers[i].host.alias && strcmp(srv->layers[i].host.alias, alias) == 0)
      return wsc__layer_get_stats(&srv->layers[i], out);
  return WSC_ENOTFOUND;
}
