#include "frame.h"

#include <string.h>

#include "alloc.h"

/* A frame of `hdr + len` bytes holding one reference, its bytes unset;
 * NULL past 4 GiB (its length is 32 bits) or out of memory. */
static wsc__frame *frame_alloc(size_t hdr, size_t len) {
  if (len > UINT32_MAX - hdr) return NULL;
  wsc__frame *f = wsc__malloc(sizeof *f + hdr + len);
  if (!f) return NULL;
  f->refs = 1;
  f->len = (uint32_t)(hdr + len);
  return f;
}

wsc__frame *wsc__frame_new_text(const char *payload, size_t len) {
  size_t hdr = len < 126 ? 2 : len < 65536 ? 4 : 10;
  wsc__frame *f = frame_alloc(hdr, len);
  if (!f) return NULL;
  unsigned char *h = f->data;
  h[0] = 0x81; /* FIN + text; server frames are never masked */
  if (len < 126) {
    h[1] = (unsigned char)len;
  } else if (len < 65536) {
    h[1] = 126;
    h[2] = (unsigned char)(len >> 8);
    h[3] = (unsigned char)len;
  } else {
    h[1] = 127;
    for (int i = 0; i < 8; i++)
      h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
  }
  memcpy(h + hdr, payload, len);
  return f;
}

wsc__frame *wsc__frame_new_raw(const void *bytes, size_t len) {
  wsc__frame *f = frame_alloc(0, len);
  if (f) memcpy(f->data, bytes, len);
  return f;
}

void wsc__frame_unref(wsc__frame *f) {
  if (f && --f->refs == 0) wsc__free(f);
}
