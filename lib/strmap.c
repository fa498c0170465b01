#include "strmap.h"

#include <string.h>

#include "alloc.h"
#include "wschannels/error.h"

static uint32_t hash_str(const char *s) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

static wsc__strmap_slot *find(const wsc__strmap *m, const char *key,
                              uint32_t h) {
  if (!m->cap) return NULL;
  size_t mask = m->cap - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    wsc__strmap_slot *s = &m->slots[i];
    if (!s->key) return NULL;
    if (s->hash == h && strcmp(s->key, key) == 0) return s;
  }
}

void *wsc__strmap_get(const wsc__strmap *m, const char *key) {
  wsc__strmap_slot *s = find(m, key, hash_str(key));
  return s ? s->val : NULL;
}

static void insert_slot(wsc__strmap_slot *slots, size_t cap,
                        wsc__strmap_slot in) {
  size_t mask = cap - 1;
  size_t i = in.hash & mask;
  while (slots[i].key) i = (i + 1) & mask;
  slots[i] = in;
}

static int rehash(wsc__strmap *m, size_t ncap) {
  wsc__strmap_slot *ns = wsc__calloc(ncap, sizeof *ns);
  if (!ns) return WSC_ENOMEM;
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].key) insert_slot(ns, ncap, m->slots[i]);
  wsc__free(m->slots);
  m->slots = ns;
  m->cap = ncap;
  return 0;
}

int wsc__strmap_put(wsc__strmap *m, const char *key, void *val) {
  uint32_t h = hash_str(key);
  if (find(m, key, h)) return WSC_EEXIST;
  if ((m->count + 1) * 4 > m->cap * 3) {
    int rc = rehash(m, m->cap ? m->cap * 2 : 16);
    if (rc) return rc;
  }
  char *k = wsc__strdup(key);
  if (!k) return WSC_ENOMEM;
  insert_slot(m->slots, m->cap, (wsc__strmap_slot){k, h, val});
  m->count++;
  return 0;
}

void *wsc__strmap_remove(wsc__strmap *m, const char *key) {
  wsc__strmap_slot *s = find(m, key, hash_str(key));
  if (!s) return NULL;
  void *val = s->val;
  wsc__free(s->key);
  size_t mask = m->cap - 1;
  size_t i = (size_t)(s - m->slots);
  /* Backward-shift the run after the hole so lookups never stop early. */
  for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
    size_t home = m->slots[j].hash & mask;
    int movable = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
    if (movable) {
      m->slots[i] = m->slots[j];
      i = j;
    }
  }
  m->slots[i].key = NULL;
  m->count--;
  return val;
}

void wsc__strmap_clear(wsc__strmap *m, void (*free_val)(void *)) {
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->slots[i].key) continue;
    if (free_val) free_val(m->slots[i].val);
    wsc__free(m->slots[i].key);
  }
  wsc__free(m->slots);
  m->slots = NULL;
  m->cap = m->count = 0;
}
