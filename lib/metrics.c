#include "metrics.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "server.h"
#include "wschannels/stats.h"

typedef struct text {
  char *p;
  size_t len, cap;
  int failed;
} text;

static void add(text *t, const char *fmt, ...) {
  va_list ap;
  for (int tries = 0; tries < 2 && !t->failed; tries++) {
    size_t room = t->cap - t->len;
    va_start(ap, fmt);
    int n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? room : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
      t->failed = 1;
    } else if ((size_t)n < room) {
      t->len += (size_t)n;
      return;
    } else if (wsc__grow((void **)&t->p, &t->cap, t->len + (size_t)n + 1024, 1)) {
      t->failed = 1;
    }
  }
}

/* One metric per counter, named after its field; gauges are the "now"
 * ones. */
typedef struct metric {
  const char *name, *help;
  size_t offset;
  int gauge;
} metric;

#define SERVER(field, gauge, help) {#field, help, offsetof(wsc_server_stats, field), gauge}
static const metric server_metrics[] = {
    SERVER(connections, 1, "Open WebSocket connections."),
    SERVER(connections_opened, 0, "WebSocket handshakes completed."),
    SERVER(connections_closed, 0, "Connections closed, by either side."),
    SERVER(handshakes_refused, 0, "Handshakes refused (Origin, route, subprotocol, limits, authentication, open files)."),
    SERVER(closed_slow, 0, "Clients closed 1008 for leaving send_queue_bytes unread."),
    SERVER(closed_bad_input, 0, "Clients closed 1007, 1008 (message rate) or 1009 (message size)."),
    SERVER(closed_idle, 0, "Clients hung up on for silence past idle_timeout."),
    SERVER(messages_received, 0, "Messages received from clients."),
    SERVER(messages_rejected, 0, "Client messages answered with an error frame."),
    SERVER(handler_failures, 0, "Handlers and hooks that failed."),
    SERVER(frames_queued, 0, "Frames queued to clients, one per recipient."),
    SERVER(bytes_written, 0, "Bytes written to client sockets."),
    SERVER(bytes_queued, 1, "Bytes queued to clients and not yet written."),
    SERVER(events_dropped, 0, "Layer events no event handler took."),
};

#define LAYER(field, gauge, help) {#field, help, offsetof(wsc_layer_stats, field), gauge}
static const metric layer_metrics[] = {
    LAYER(sends_taken, 0, "Sends the layer accepted."),
    LAYER(sends_refused, 0, "Sends the layer refused at once."),
    LAYER(sends_ok, 0, "Accepted sends the backend confirmed."),
    LAYER(sends_failed, 0, "Accepted sends that failed later."),
    LAYER(sends_pending, 1, "Accepted sends not answered yet."),
    LAYER(received, 0, "Messages the layer brought to this process."),
    LAYER(dropped, 0, "Messages the driver dropped after taking them (logged)."),
    LAYER(backend_up, 1, "1 while the layer's backend (Redis) can be reached, else 0."),
};

static uint64_t field(const void *stats, const metric *m) {
  uint64_t v;
  memcpy(&v, (const char *)stats + m->offset, sizeof v);
  return v;
}

static void header(text *t, const char *prefix, const metric *m) {
  add(t, "# HELP wschannels_%s%s%s %s\n# TYPE wschannels_%s%s%s %s\n", prefix, m->name,
      m->gauge ? "" : "_total", m->help, prefix, m->name, m->gauge ? "" : "_total",
      m->gauge ? "gauge" : "counter");
}

char *wsc__metrics_text(const wsc_server *srv, size_t *len) {
  text t = {0};
  wsc_server_stats st = {.struct_size = sizeof st};
  if (wsc_server_get_stats(srv, &st)) return NULL;
  for (size_t i = 0; i < sizeof server_metrics / sizeof *server_metrics; i++) {
    const metric *m = &server_metrics[i];
    header(&t, "", m);
    add(&t, "wschannels_%s%s %llu\n", m->name, m->gauge ? "" : "_total",
        (unsigned long long)field(&st, m));
  }
  for (size_t i = 0; i < sizeof layer_metrics / sizeof *layer_metrics; i++) {
    const metric *m = &layer_metrics[i];
    header(&t, "layer_", m);
    for (size_t k = 0; k < srv->nlayers; k++) {
      const wsc__layer *l = &srv->layers[k];
      wsc_layer_stats ls = {.struct_size = sizeof ls};
      if (!l->host.alias || wsc__layer_get_stats(l, &ls)) continue;
      /* Aliases are [A-Za-z0-9_.-] (the config checks): no quoting. */
      add(&t, "wschannels_layer_%s%s{layer=\"%s\",driver=\"%s\"} %llu\n", m->name,
          m->gauge ? "" : "_total", l->host.alias, l->ops->name,
          (unsigned long long)field(&ls, m));
    }
  }
  if (t.failed || !t.p) {
    wsc__free(t.p);
    return NULL;
  }
  *len = t.len;
  return t.p;
}
