#include "alloc.h"

#include <stdlib.h>
#include <string.h>

#include "wschannels/alloc.h"
#include "wschannels/error.h"

static void *libc_malloc(size_t size, void *ctx) {
  (void)ctx;
  return malloc(size);
}
static void *libc_realloc(void *p, size_t size, void *ctx) {
  (void)ctx;
  return realloc(p, size);
}
static void libc_free(void *p, size_t size, void *ctx) {
  (void)size;
  (void)ctx;
  free(p);
}

static wsc_allocator current = {sizeof(wsc_allocator), libc_malloc,
                                libc_realloc, libc_free, NULL};

int wsc_set_allocator(const wsc_allocator *a) {
  if (a == NULL) {
    current = (wsc_allocator){sizeof(wsc_allocator), libc_malloc,
                              libc_realloc, libc_free, NULL};
    return 0;
  }
  if (a->struct_size < sizeof(wsc_allocator) || !a->malloc_fn ||
      !a->realloc_fn || !a->free_fn)
    return WSC_EINVAL;
  current = *a;
  current.struct_size = sizeof(wsc_allocator);
  return 0;
}

void *wsc__malloc(size_t size) {
  return current.malloc_fn(size ? size : 1, current.ctx);
}

void *wsc__calloc(size_t n, size_t size) {
  if (size != 0 && n > ((size_t)-1) / size) return NULL;
  void *p = wsc__malloc(n * size);
  if (p) memset(p, 0, n * size);
  return p;
}

void *wsc__realloc(void *p, size_t size) {
  return current.realloc_fn(p, size ? size : 1, current.ctx);
}

void wsc__free(void *p) {
  if (p) current.free_fn(p, 0, current.ctx);
}

char *wsc__strndup(const char *s, size_t n) {
  char *d = wsc__malloc(n + 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

char *wsc__strdup(const char *s) { return wsc__strndup(s, strlen(s)); }

int wsc__grow(void **arr, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t ncap = *cap ? *cap : 4;
  while (ncap < need) {
    if (ncap > ((size_t)-1) / 2 / elem) return -1;
    ncap *= 2;
  }
  void *p = wsc__realloc(*arr, ncap * elem);
  if (!p) return -1;
  *arr = p;
  *cap = ncap;
  return 0;
}

void wsc_free(void *p) { wsc__free(p); }
