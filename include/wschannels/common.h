/* wschannels: export macro, C++ guards and the opaque handle types.
 * Every public header includes this one first. */
#ifndef WSCHANNELS_COMMON_H
#define WSCHANNELS_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define WSC_API
#elif defined(__GNUC__)
#define WSC_API __attribute__((visibility("default")))
#else
#define WSC_API
#endif

#ifdef __cplusplus
#define WSC_BEGIN_DECLS extern "C" {
#define WSC_END_DECLS }
#else
#define WSC_BEGIN_DECLS
#define WSC_END_DECLS
#endif

WSC_BEGIN_DECLS

/* libuv's loop type, declared here so that our headers do not need <uv.h>
 * (which fails under strict -std=c11 without _POSIX_C_SOURCE). An identical
 * typedef may be repeated in C11 and C++. */
struct uv_loop_s;
typedef struct uv_loop_s uv_loop_t;

/* Opaque handles; see docs/api.md for who creates and frees each one. */
typedef struct wsc_server wsc_server;
typedef struct wsc_consumer wsc_consumer;
typedef struct wsc_conn wsc_conn;

/* Room for an error message filled by constructors (curl's CURL_ERROR_SIZE). */
#define WSC_ERRBUF_SIZE 256

WSC_END_DECLS

#endif
