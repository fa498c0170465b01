/* wschannels: replaceable allocator for the library's own allocations.
 * libwebsockets, libuv, hiredis and cJSON keep their own allocators: their
 * hooks are process-global and belong to the host program. */
#ifndef WSCHANNELS_ALLOC_H
#define WSCHANNELS_ALLOC_H

#include "common.h"

WSC_BEGIN_DECLS

typedef struct wsc_allocator {
  size_t struct_size; /* sizeof(wsc_allocator) as the caller compiled it */
  void *(*malloc_fn)(size_t size, void *ctx);
  void *(*realloc_fn)(void *p, size_t size, void *ctx);
  void (*free_fn)(void *p, size_t size, void *ctx); /* size 0 = unknown */
  void *ctx;
} wsc_allocator;

/* Replace the allocator; NULL restores libc's.
 * Returns 0, or WSC_EINVAL if a member is NULL or struct_size is too small.
 * Ownership: copies `a`.
 * Thread: call before any other wsc_ function, or once every wsc_ object
 * has been freed (like uv_replace_allocator). Since: 0.1 */
WSC_API int wsc_set_allocator(const wsc_allocator *a);

/* Free memory the library returned to the caller (wsc_server_asyncapi).
 * NULL is a no-op. Thread: any. Since: 0.2 */
WSC_API void wsc_free(void *p);

WSC_END_DECLS

#endif
