#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include <libwebsockets.h>

#include "fd_limit.h"

static wsc__logger default_logger = {wsc_log_stderr, WSC_LOG_ERROR, NULL, {{0}}};

void wsc_set_default_logger(wsc_log_fn fn, wsc_log_level max_level,
                            void *user_data) {
  default_logger.fn = fn;
  default_logger.level = max_level;
  default_logger.user_data = user_data;
}

/* Its sites stay empty: only copies of it log through wsc__log. */
wsc__logger wsc__default_logger(void) { return default_logger; }

void wsc_log_stderr(wsc_log_level level, const char *subsystem,
                    const char *msg, void *user_data) {
  static const char *names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
  (void)user_data;
  const char *ln = (unsigned)level < 4 ? names[level] : "?";
  fprintf(stderr, "wschannels[%s] %s: %s\n", ln, subsystem, msg);
}

/* The site of `key`, or the longest idle one, taken over for it. */
static wsc__log_site *site_of(wsc__logger *lg, const void *key) {
  wsc__log_site *idle = &lg->sites[0];
  for (size_t i = 0; i < WSC__LOG_SITES; i++) {
    wsc__log_site *s = &lg->sites[i];
    if (s->key == key) return s;
    if (s->since_ns < idle->since_ns) idle = s;
  }
  *idle = (wsc__log_site){key, 0, 0, 0};
  return idle;
}

/* Whether a line from `key` may go out now; *left_out and *over_s say what
 * was left out since the last one that did. */
static int may_log(wsc__logger *lg, const void *key, unsigned long *left_out,
                   double *over_s) {
  wsc__log_site *s = site_of(lg, key);
  uint64_t now = uv_hrtime();
  *left_out = 0;
  if (s->lines && now - s->since_ns < 1000000000u) {
    if (s->lines >= WSC__LOG_BURST) {
      s->left_out++;
      return 0;
    }
  } else {
    *left_out = s->left_out;
    *over_s = (double)(now - s->since_ns) / 1e9;
    s->since_ns = now;
    s->lines = 0;
    s->left_out = 0;
  }
  s->lines++;
  return 1;
}

/* Passes `msg` on, saying what was left out before it. */
static void deliver(wsc__logger *lg, wsc_log_level level, const char *subsys,
                    const char *msg, unsigned long left_out, double over_s) {
  if (!left_out) {
    lg->fn(level, subsys, msg, lg->user_data);
    return;
  }
  char buf[1200];
  snprintf(buf, sizeof buf, "%s (%lu more like this in the last %.1f s were not logged)",
           msg, left_out, over_s);
  lg->fn(level, subsys, buf, lg->user_data);
}

void wsc__log_line(wsc__logger *lg, wsc_log_level level, const char *subsys,
                   const void *site, const char *msg) {
  unsigned long left_out;
  double over_s = 0;
  if (WSC__LOG_ON(lg, level) && may_log(lg, site, &left_out, &over_s))
    deliver(lg, level, subsys, msg, left_out, over_s);
}

void wsc__log(wsc__logger *lg, wsc_log_level level, const char *subsys,
              const char *fmt, ...) {
  unsigned long left_out;
  double over_s = 0;
  if (!WSC__LOG_ON(lg, level) || !may_log(lg, fmt, &left_out, &over_s)) return;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  deliver(lg, level, subsys, buf, left_out, over_s);
}

/* libwebsockets' lines get a budget too (it logged every failed accept at
 * the open-file limit, some 1.7 million lines a second), one per level; lws
 * may log from each server's loop thread, hence the lock. */
static uv_mutex_t lws_budget_lock;
static wsc__logger lws_budget;
static const char lws_levels[WSC_LOG_DEBUG + 1]; /* the budgets' keys */

static void lws_emit(int lws_level, const char *line) {
  const char *accept = (lws_level & LLL_ERR) ? strstr(line, "accept: ") : NULL;
  /* A server logs it, once, with what it does about it. */
  if (accept && wsc__fd_limit_accept_failed(accept)) return;
  wsc_log_level level = (lws_level & LLL_ERR)    ? WSC_LOG_ERROR
                        : (lws_level & LLL_WARN) ? WSC_LOG_WARN
                                                 : WSC_LOG_INFO;
  if (!WSC__LOG_ON(&default_logger, level)) return;
  unsigned long left_out;
  double over_s = 0;
  uv_mutex_lock(&lws_budget_lock);
  int ok = may_log(&lws_budget, &lws_levels[level], &left_out, &over_s);
  uv_mutex_unlock(&lws_budget_lock);
  if (!ok) return;
  char buf[512];
  /* lws lines carry a timestamp prefix and a trailing newline. */
  const char *p = strstr(line, "] ");
  p = p ? p + 2 : line;
  size_t n = strlen(p);
  while (n && (p[n - 1] == '\n' || p[n - 1] == '\r')) n--;
  if (n >= sizeof buf) n = sizeof buf - 1;
  memcpy(buf, p, n);
  buf[n] = '\0';
  deliver(&default_logger, level, "lws", buf, left_out, over_s);
}

static uv_once_t lws_bridge_once = UV_ONCE_INIT;
static void lws_bridge_init(void) {
  uv_mutex_init(&lws_budget_lock);
  lws_set_log_level(LLL_ERR | LLL_WARN, lws_emit);
}
void wsc__log_bridge_lws(void) { uv_once(&lws_bridge_once, lws_bridge_init); }
