/* A string-keyed hash map (open addressing, linear probing, backward-shift
 * deletion). Keys are copied; values are borrowed pointers. */
#ifndef WSC_LIB_STRMAP_H
#define WSC_LIB_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct wsc__strmap_slot {
  char *key; /* NULL: empty */
  uint32_t hash;
  void *val;
} wsc__strmap_slot;

typedef struct wsc__strmap {
  wsc__strmap_slot *slots;
  size_t cap; /* a power of two, or 0 */
  size_t count;
} wsc__strmap;

void *wsc__strmap_get(const wsc__strmap *m, const char *key);
/* Returns 0, WSC_EEXIST (key present; nothing changed) or WSC_ENOMEM. */
int wsc__strmap_put(wsc__strmap *m, const char *key, void *val);
/* Removes `key`; returns its value or NULL. */
void *wsc__strmap_remove(wsc__strmap *m, const char *key);
/* Frees the keys and the table; calls free_val (may be NULL) on values. */
void wsc__strmap_clear(wsc__strmap *m, void (*free_val)(void *));

#define WSC__STRMAP_FOREACH(m, s)                                   \
  for (wsc__strmap_slot *s = (m)->slots; s && s < (m)->slots + (m)->cap; \
       s++)                                                          \
    if (s->key)

#endif
