/* Internal logging: a logger bound to an object, with level filtering done
 * before any formatting. */
#ifndef WSC_LIB_LOG_H
#define WSC_LIB_LOG_H

#include "wschannels/log.h"

typedef struct wsc__logger {
  wsc_log_fn fn; /* NULL: silent */
  wsc_log_level level;
  void *user_data;
} wsc__logger;

/* The process default (wsc_set_default_logger). */
wsc__logger wsc__default_logger(void);

#if defined(__GNUC__)
#define WSC__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define WSC__PRINTF(a, b)
#endif

void wsc__log(const wsc__logger *lg, wsc_log_level level, const char *subsys,
              const char *fmt, ...) WSC__PRINTF(4, 5);

#define WSC__LOG_ON(lg, lvl) ((lg)->fn != NULL && (lvl) <= (lg)->level)

/* Route libwebsockets' (process-global) log to the default logger, once. */
void wsc__log_bridge_lws(void);

#endif
