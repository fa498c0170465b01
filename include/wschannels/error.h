/* wschannels: error codes. 0 is success, errors are stable negative numbers.
 * Codes are only ever appended; a retired code becomes WSC_EOBSOLETEnn. */
#ifndef WSCHANNELS_ERROR_H
#define WSCHANNELS_ERROR_H

#include "common.h"

WSC_BEGIN_DECLS

#define WSC_ERR_MAP(XX)                                                   \
  XX(EINVAL, -1, "invalid argument")                                      \
  XX(ENOMEM, -2, "out of memory")                                         \
  XX(ECLOSED, -3, "object is closing or closed")                          \
  XX(ENOTFOUND, -4, "not found")                                          \
  XX(EEXIST, -5, "already exists")                                        \
  XX(ECONFIG, -6, "invalid configuration")                                \
  XX(EBADJSON, -7, "malformed JSON")                                      \
  XX(ESCHEMA, -8, "message does not match its schema")                    \
  XX(ENOACTION, -9, "no handler for action")                              \
  XX(ETOOBIG, -10, "message too big")                                     \
  XX(EAGAIN, -11, "resource temporarily unavailable (backpressure)")      \
  XX(ELAYER, -12, "channel layer backend unavailable")                    \
  XX(EVERSION, -13, "incompatible layer driver ABI version")              \
  XX(ETHREAD, -14, "called from the wrong thread")                        \
  XX(EFULL, -15, "channel full")                                          \
  XX(EBIND, -16, "cannot listen on the configured address")              \
  XX(EBADNAME, -17, "invalid channel or group name")                      \
  XX(EHANDLER, -18, "handler failed")                                     \
  XX(EDENIED, -19, "permission denied")

typedef enum wsc_err {
  WSC_OK = 0,
#define WSC__ERR_ENUM(name, code, text) WSC_##name = (code),
  WSC_ERR_MAP(WSC__ERR_ENUM)
#undef WSC__ERR_ENUM
} wsc_err;

/* A short description of `err`; never NULL ("unknown error").
 * Returns borrowed static storage. Thread: any. Since: 0.1 */
WSC_API const char *wsc_strerror(int err);

/* The code's name, e.g. "WSC_EFULL"; never NULL ("WSC_UNKNOWN").
 * Returns borrowed static storage. Thread: any. Since: 0.1 */
WSC_API const char *wsc_err_name(int err);

WSC_END_DECLS

#endif
