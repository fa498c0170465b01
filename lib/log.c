#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include <libwebsockets.h>

static wsc__logger default_logger = {wsc_log_stderr, WSC_LOG_ERROR, NULL};

void wsc_set_default_logger(wsc_log_fn fn, wsc_log_level max_level,
                            void *user_data) {
  default_logger.fn = fn;
  default_logger.level = max_level;
  default_logger.user_data = user_data;
}

wsc__logger wsc__default_logger(void) { return default_logger; }

void wsc_log_stderr(wsc_log_level level, const char *subsystem,
                    const char *msg, void *user_data) {
  static const char *names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
  (void)user_data;
  const char *ln = (unsigned)level < 4 ? names[level] : "?";
  fprintf(stderr, "wschannels[%s] %s: %s\n", ln, subsystem, msg);
}

void wsc__log(const wsc__logger *lg, wsc_log_level level, const char *subsys,
              const char *fmt, ...) {
  if (!WSC__LOG_ON(lg, level)) return;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  lg->fn(level, subsys, buf, lg->user_data);
}

static void lws_emit(int lws_level, const char *line) {
  wsc_log_level level = (lws_level & LLL_ERR)    ? WSC_LOG_ERROR
                        : (lws_level & LLL_WARN) ? WSC_LOG_WARN
                                                 : WSC_LOG_INFO;
  if (!WSC__LOG_ON(&default_logger, level)) return;
  char buf[512];
  /* lws lines carry a timestamp prefix and a trailing newline. */
  const char *p = strstr(line, "] ");
  p = p ? p + 2 : line;
  size_t n = strlen(p);
  while (n && (p[n - 1] == '\n' || p[n - 1] == '\r')) n--;
  if (n >= sizeof buf) n = sizeof buf - 1;
  memcpy(buf, p, n);
  buf[n] = '\0';
  default_logger.fn(level, "lws", buf, default_logger.user_data);
}

static uv_once_t lws_bridge_once = UV_ONCE_INIT;
static void lws_bridge_init(void) {
  lws_set_log_level(LLL_ERR | LLL_WARN, lws_emit);
}
void wsc__log_bridge_lws(void) { uv_once(&lws_bridge_once, lws_bridge_init); }
