#include "frame.h"

#include <string.h>

#include "alloc.h"

/* A frame of `total` bytes holding one reference, its bytes unset. */
static wsc__frame *frame_alloc(size_t total) {
  if (total > UINT32_MAX - 6) return NULL;
  wsc__frame *f = wsc__malloc(sizeof *f + total);
  if (!f) return NULL;
  f->refs = 1;
  f->len = (uint32_t)total;
  return f;
}

wsc__frame *wsc__frame_new_text(const char *payload, size_t len) {
  size_t hdr = len < 126 ? 2 : len < 65536 ? 4 : 10;
  if (len > UINT32_MAX - 16) return NULL;
  wsc__frame *f = frame_alloc(hdr + len);
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
  wsc__frame *f = frame_alloc(len);
  if (f) memcpy(f->data, bytes, len);
  return f;
}

void wsc__frame_unref(wsc__frame *f) {
  if (f && --f->refs == 0) wsc__free(f);
}
