/* Internal logging: a logger bound to an object, with level filtering done
 * before any formatting. */
#ifndef WSC_LIB_LOG_H
#define WSC_LIB_LOG_H

#include <stdint.h>

#include "wschannels/log.h"

/* One place that logs (a format string, or a layer's level) and how much it
 * logged in its current second. */
typedef struct wsc__log_site {
  const void *key;
  uint64_t since_ns; /* start of its current second */
  unsigned lines;
  unsigned long left_out;
} wsc__log_site;

/* Places tracked at once; a new one takes over the longest idle. */
#define WSC__LOG_SITES 16
/* Lines one place may log in a second: beyond, they are left out and the
 * next line from there says how many. A failing backend or a hostile client
 * would otherwise cost a line per message, and a logger that blocks (a full
 * stderr pipe) would stall the loop for everyone. */
#define WSC__LOG_BURST 20

/* Used on one loop thread only (its sites change as it logs). */
typedef struct wsc__logger {
  wsc_log_fn fn; /* NULL: silent */
  wsc_log_level level;
  void *user_data;
  wsc__log_site sites[WSC__LOG_SITES];
} wsc__logger;

/* The process default (wsc_set_default_logger). */
wsc__logger wsc__default_logger(void);

#if defined(__GNUC__)
#define WSC__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define WSC__PRINTF(a, b)
#endif

/* Logs under the format string's budget. */
void wsc__log(wsc__logger *lg, wsc_log_level level, const char *subsys,
              const char *fmt, ...) WSC__PRINTF(4, 5);
/* Logs a line already made, under the budget of `site`. */
void wsc__log_line(wsc__logger *lg, wsc_log_level level, const char *subsys,
                   const void *site, const char *msg);

#define WSC__LOG_ON(lg, lvl) ((lg)->fn != NULL && (lvl) <= (lg)->level)

/* Route libwebsockets' (process-global) log to the default logger, once. */
void wsc__log_bridge_lws(void);

#endif
