#include "router.h"

#include <string.h>

#include "alloc.h"
#include "wschannels/error.h"

/* Splits on '/', skipping empty segments, so "/ws/chat/" == "/ws/chat". */
static int split(const char *path, char ***out, size_t *n) {
  char **v = NULL;
  size_t cnt = 0, cap = 0;
  for (const char *p = path; *p;) {
    while (*p == '/') p++;
    if (!*p) break;
    const char *e = strchr(p, '/');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (wsc__grow((void **)&v, &cap, cnt + 1, sizeof *v)) goto nomem;
    if (!(v[cnt] = wsc__strndup(p, len))) goto nomem;
    cnt++;
    p += len;
  }
  *out = v;
  *n = cnt;
  return 0;
nomem:
  for (size_t i = 0; i < cnt; i++) wsc__free(v[i]);
  wsc__free(v);
  return WSC_ENOMEM;
}

static void free_segs(char **v, size_t n) {
  for (size_t i = 0; i < n; i++) wsc__free(v[i]);
  wsc__free(v);
}

static int is_param(const char *seg) {
  size_t n = strlen(seg);
  return n > 2 && seg[0] == '{' && seg[n - 1] == '}';
}

int wsc__router_add(wsc__router *r, const char *pattern, void *target) {
  if (!pattern || pattern[0] != '/') return WSC_EINVAL;
  for (size_t i = 0; i < r->n; i++)
    if (strcmp(r->routes[i].pattern, pattern) == 0) return WSC_EEXIST;
  wsc__route rt = {0};
  if (split(pattern, &rt.segs, &rt.nsegs)) return WSC_ENOMEM;
  for (size_t i = 0; i < rt.nsegs; i++) {
    const char *s = rt.segs[i];
    if ((strchr(s, '{') || strchr(s, '}')) && !is_param(s)) {
      free_segs(rt.segs, rt.nsegs);
      return WSC_EINVAL;
    }
  }
  rt.pattern = wsc__strdup(pattern);
  rt.target = target;
  if (!rt.pattern || wsc__grow((void **)&r->routes, &r->cap, r->n + 1,
                               sizeof *r->routes)) {
    wsc__free(rt.pattern);
    free_segs(rt.segs, rt.nsegs);
    return WSC_ENOMEM;
  }
  r->routes[r->n++] = rt;
  return 0;
}

const wsc__route *wsc__router_match(const wsc__router *r, const char *path,
                                    wsc__kv **params, size_t *nparams) {
  char **segs;
  size_t n;
  *params = NULL;
  *nparams = 0;
  if (split(path, &segs, &n)) return NULL;
  const wsc__route *found = NULL;
  for (size_t i = 0; i < r->n && !found; i++) {
    const wsc__route *rt = &r->routes[i];
    if (rt->nsegs != n) continue;
    size_t np = 0, j;
    for (j = 0; j < n; j++) {
      if (is_param(rt->segs[j]))
        np++;
      else if (strcmp(rt->segs[j], segs[j]) != 0)
        break;
    }
    if (j != n) continue;
    wsc__kv *kv = np ? wsc__calloc(np, sizeof *kv) : NULL;
    if (np && !kv) break;
    size_t k = 0;
    int ok = 1;
    for (j = 0; j < n && ok; j++) {
      if (!is_param(rt->segs[j])) continue;
      const char *pn = rt->segs[j] + 1;
      kv[k].key = wsc__strndup(pn, strlen(pn) - 1);
      kv[k].val = wsc__strdup(segs[j]); /* lws decoded the path already */
      ok = kv[k].key && kv[k].val;
      k++;
    }
    if (!ok) {
      wsc__kv_free(kv, k);
      break;
    }
    *params = kv;
    *nparams = np;
    found = rt;
  }
  free_segs(segs, n);
  return found;
}

void wsc__router_clear(wsc__router *r) {
  for (size_t i = 0; i < r->n; i++) {
    wsc__free(r->routes[i].pattern);
    free_segs(r->routes[i].segs, r->routes[i].nsegs);
  }
  wsc__free(r->routes);
  memset(r, 0, sizeof *r);
}

const char *wsc__kv_get(const wsc__kv *kv, size_t n, const char *key) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(kv[i].key, key) == 0) return kv[i].val;
  return NULL;
}

void wsc__kv_free(wsc__kv *kv, size_t n) {
  for (size_t i = 0; i < n; i++) {
    wsc__free(kv[i].key);
    wsc__free(kv[i].val);
  }
  wsc__free(kv);
}
