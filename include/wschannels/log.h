/* wschannels: logging through a user callback. */
#ifndef WSCHANNELS_LOG_H
#define WSCHANNELS_LOG_H

#include "common.h"

WSC_BEGIN_DECLS

typedef enum wsc_log_level {
  WSC_LOG_ERROR = 0,
  WSC_LOG_WARN = 1,
  WSC_LOG_INFO = 2,
  WSC_LOG_DEBUG = 3
} wsc_log_level;

/* `subsystem` names the source file ("server", "conn", "layer.memory") or
 * "lws" for libwebsockets. `msg` is borrowed for the call: copy what you keep.
 * Called on the loop thread of the object that logs. Each place that logs
 * (one message of the library, or one level of a layer's lines) passes on
 * at most 20 lines a second; its next line after that ends with "(N more
 * like this in the last S s were not logged)" (0.5.3). */
typedef void (*wsc_log_fn)(wsc_log_level level, const char *subsystem,
                           const char *msg, void *user_data);

/* Set the logger used where no object-specific logger applies (libwebsockets'
 * own messages, and objects created with no logger). `fn` NULL makes it silent.
 * Messages above `max_level` are neither formatted nor passed on.
 * The built-in default prints WSC_LOG_ERROR to stderr.
 * Ownership: borrows `user_data` until replaced.
 * Thread: call before creating servers or layers. Since: 0.1 */
WSC_API void wsc_set_default_logger(wsc_log_fn fn, wsc_log_level max_level,
                                    void *user_data);

/* The built-in logger: "wschannels[LEVEL] subsystem: msg" on stderr.
 * Thread: any. Since: 0.1 */
WSC_API void wsc_log_stderr(wsc_log_level level, const char *subsystem,
                            const char *msg, void *user_data);

WSC_END_DECLS

#endif
