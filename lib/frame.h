/* A complete server-to-client WebSocket frame (header + payload): a text
 * frame, or a control frame such as keepalive's ping. Built once and shared
 * by every connection it is queued on. Loop thread only: the reference count
 * is not atomic. */
#ifndef WSC_LIB_FRAME_H
#define WSC_LIB_FRAME_H

#include <stddef.h>
#include <stdint.h>

typedef struct wsc__frame {
  uint32_t refs;
  uint32_t len; /* header + payload */
  unsigned char data[];
} wsc__frame;

/* Returns a frame holding one reference, or NULL (out of memory, or a payload
 * over 4 GiB). */
wsc__frame *wsc__frame_new_text(const char *payload, size_t len);
/* A frame of `len` bytes already framed (a control frame), or NULL. */
wsc__frame *wsc__frame_new_raw(const void *bytes, size_t len);
void wsc__frame_unref(wsc__frame *f);
static inline void wsc__frame_ref(wsc__frame *f) { f->refs++; }

#endif
