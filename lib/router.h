/* Path routing: patterns like "/ws/room/{room_name}" to consumers. */
#ifndef WSC_LIB_ROUTER_H
#define WSC_LIB_ROUTER_H

#include <stddef.h>

typedef struct wsc__kv {
  char *key;
  char *val;
} wsc__kv;

typedef struct wsc__route {
  char *pattern;
  char **segs; /* "{name}" segments capture */
  size_t nsegs;
  void *target; /* the consumer */
} wsc__route;

typedef struct wsc__router {
  wsc__route *routes;
  size_t n, cap;
} wsc__router;

/* Returns 0, WSC_EEXIST (same pattern twice), WSC_EINVAL (bad pattern),
 * WSC_ENOMEM. */
int wsc__router_add(wsc__router *r, const char *pattern, void *target);

/* Finds the first route matching `path` (no query string). On a match
 * returns the route and fills *params (owned; free with wsc__kv_free). */
const wsc__route *wsc__router_match(const wsc__router *r, const char *path,
                                    wsc__kv **params, size_t *nparams);
void wsc__router_clear(wsc__router *r);

const char *wsc__kv_get(const wsc__kv *kv, size_t n, const char *key);
void wsc__kv_free(wsc__kv *kv, size_t n);

#endif
