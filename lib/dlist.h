/* An intrusive doubly linked list: the link lives in the element, so joining,
 * leaving and moving to the tail cost O(1) and allocate nothing. The server's
 * open and to-flush connections and keepalive's lists are such lists. Whether
 * an element is in a list is its owner's to record. */
#ifndef WSC_LIB_DLIST_H
#define WSC_LIB_DLIST_H

#include <stddef.h>

typedef struct wsc__dlink {
  struct wsc__dlink *prev, *next;
} wsc__dlink;

typedef struct wsc__dlist {
  wsc__dlink *head, *tail;
} wsc__dlist;

static inline void wsc__dlist_append(wsc__dlist *l, wsc__dlink *n) {
  n->prev = l->tail;
  n->next = NULL;
  if (l->tail) l->tail->next = n;
  else l->head = n;
  l->tail = n;
}

static inline void wsc__dlist_unlink(wsc__dlist *l, wsc__dlink *n) {
  if (n->prev) n->prev->next = n->next;
  else l->head = n->next;
  if (n->next) n->next->prev = n->prev;
  else l->tail = n->prev;
  n->prev = n->next = NULL;
}

/* The element whose `member` is link `n`, or NULL for NULL. */
#define WSC__DLIST_ENTRY(n, type, member) \
  ((type *)wsc__dlist_entry((n), offsetof(type, member)))

static inline void *wsc__dlist_entry(wsc__dlink *n, size_t offset) {
  return n ? (char *)n - offset : NULL;
}

#endif
