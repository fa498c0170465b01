/* Internal allocation: every allocation in lib/ goes through these, so the
 * user's wsc_set_allocator sees them all. */
#ifndef WSC_LIB_ALLOC_H
#define WSC_LIB_ALLOC_H

#include <stddef.h>

void *wsc__malloc(size_t size);
void *wsc__calloc(size_t n, size_t size); /* overflow-checked, zeroed */
void *wsc__realloc(void *p, size_t size);
void wsc__free(void *p);
char *wsc__strdup(const char *s);
char *wsc__strndup(const char *s, size_t n);

/* Grow `*arr` (of `*cap` elements of `elem` bytes) to hold at least `need`.
 * Returns 0 or -1 (out of memory; *arr unchanged). */
int wsc__grow(void **arr, size_t *cap, size_t need, size_t elem);

#endif
