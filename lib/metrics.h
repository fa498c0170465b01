/* The server's counters (wschannels/stats.h) in Prometheus' text format,
 * for the config's "http.metrics" path. */
#ifndef WSC_LIB_METRICS_H
#define WSC_LIB_METRICS_H

#include <stddef.h>

struct wsc_server;

/* The exposition text (a wsc__ allocation, NUL-terminated; its length in
 * *len), or NULL out of memory. Runs on the loop thread. */
char *wsc__metrics_text(const struct wsc_server *srv, size_t *len);

#endif
