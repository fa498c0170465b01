/* The counters behind wschannels/stats.h, kept by the objects they count
 * (on their loop thread, so plain integers). */
#ifndef WSC_LIB_STATS_H
#define WSC_LIB_STATS_H

#include <stdint.h>

#include "wschannels/stats.h"

struct wsc__layer;

typedef struct wsc__server_counters {
  uint64_t opened, closed, refused, closed_slow, closed_bad_input, closed_idle;
  uint64_t received, rejected, handler_failures;
  uint64_t frames_queued, bytes_written, events_dropped;
} wsc__server_counters;

typedef struct wsc__layer_counters {
  uint64_t taken, refused, ok, failed, received, dropped;
} wsc__layer_counters;

/* A layer's counters into `out` (see wsc_layer_get_stats). */
int wsc__layer_get_stats(const struct wsc__layer *l, wsc_layer_stats *out);

#endif
