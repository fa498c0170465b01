#include "log_capture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

static uv_once_t once = UV_ONCE_INIT;
static uv_mutex_t mu;
static char kept[1 << 17];

static void init(void) { uv_mutex_init(&mu); }

static const char *level_name(wsc_log_level level) {
  switch (level) {
    case WSC_LOG_ERROR: return "ERROR";
    case WSC_LOG_WARN: return "WARN";
    case WSC_LOG_INFO: return "INFO";
    default: return "DEBUG";
  }
}

void wst_log_capture(wsc_log_level level, const char *subsystem,
                     const char *msg, void *user_data) {
  (void)subsystem, (void)user_data;
  uv_once(&once, init);
  uv_mutex_lock(&mu);
  size_t n = strlen(kept);
  snprintf(kept + n, sizeof kept - n, "%s %s\n", level_name(level), msg);
  uv_mutex_unlock(&mu);
}

/* A copy of the kept line holding `needle`, or NULL. */
static char *find_line(const char *needle) {
  uv_once(&once, init);
  uv_mutex_lock(&mu);
  char *line = NULL;
  const char *at = strstr(kept, needle);
  if (at) {
    const char *start = at, *end = strchr(at, '\n');
    while (start > kept && start[-1] != '\n') start--;
    line = strndup(start, end ? (size_t)(end - start) : strlen(start));
  }
  uv_mutex_unlock(&mu);
  return line;
}

int wst_logged(const char *needle) {
  char *line = find_line(needle);
  free(line);
  return line != NULL;
}

char *wst_log_line(const char *needle, int timeout_ms) {
  for (int waited = 0;; waited += 10) {
    char *line = find_line(needle);
    if (line || waited >= timeout_ms) {
      if (!line) {
        uv_mutex_lock(&mu);
        fprintf(stderr, "not in the log: %s\nthe log:\n%s", needle, kept);
        uv_mutex_unlock(&mu);
      }
      return line;
    }
    uv_sleep(10);
  }
}

int wst_log_count(const char *needle, unsigned long *left_out) {
  uv_once(&once, init);
  uv_mutex_lock(&mu);
  int n = 0;
  unsigned long sum = 0;
  for (const char *line = kept; *line;) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    char *copy = strndup(line, len);
    if (strstr(copy, needle)) {
      n++;
      const char *note = strstr(copy, "(");
      unsigned long k;
      while (note && !(sscanf(note, "(%lu more like this", &k) == 1)) note = strstr(note + 1, "(");
      if (note) sum += k;
    }
    free(copy);
    line += len + (end ? 1 : 0);
  }
  uv_mutex_unlock(&mu);
  if (left_out) *left_out = sum;
  return n;
}

void wst_log_clear(void) {
  uv_once(&once, init);
  uv_mutex_lock(&mu);
  kept[0] = '\0';
  uv_mutex_unlock(&mu);
}
