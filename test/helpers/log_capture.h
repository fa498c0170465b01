/* The library's log lines, kept for tests to look for: install
 * wst_log_capture as a logger (wsc_set_default_logger, or a server's
 * opts.logger) and search what it kept. Each line is "<LEVEL> <message>". */
#ifndef WSC_TEST_LOG_CAPTURE_H
#define WSC_TEST_LOG_CAPTURE_H

#include <wschannels/log.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A wsc_log_fn; callable from any thread. */
void wst_log_capture(wsc_log_level level, const char *subsystem,
                     const char *msg, void *user_data);
/* 1 if a kept line holds `needle` now. */
int wst_logged(const char *needle);
/* The first kept line holding `needle` (malloc'd; free it), waiting up to
 * `timeout_ms` for it; NULL (the whole log printed to stderr) if none came. */
char *wst_log_line(const char *needle, int timeout_ms);
/* How many kept lines hold `needle`; *left_out (if not NULL) gets the sum
 * of the counts those lines say were not logged ("(N more like this"). */
int wst_log_count(const char *needle, unsigned long *left_out);
void wst_log_clear(void);

#ifdef __cplusplus
}
#endif

#endif
