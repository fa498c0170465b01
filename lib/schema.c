/* The JSON Schema subset (see wschannels/schema.h): compiled once into a
 * tree of nodes, then checked against messages with Pydantic's error names
 * and texts. */
#include "wschannels/schema.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "log.h"
#include "wschannels/error.h"

enum {
  WT_STRING = 1,
  WT_INTEGER = 2,
  WT_NUMBER = 4,
  WT_BOOLEAN = 8,
  WT_NULL = 16,
  WT_ARRAY = 32,
  WT_OBJECT = 64
};

/* Deeper schemas are refused, which bounds the validator's recursion. */
#define MAX_DEPTH 64

typedef struct node node;

typedef struct prop {
  const char *name;
  node *schema; /* NULL: anything */
  const cJSON *def;
  int required;
} prop;

struct node {
  unsigned types; /* 0: any type */
  const cJSON *enumv, *constv;
  const char *title;
  int has_min_len, has_max_len;
  size_t min_len, max_len;
  int has_min, has_max, has_xmin, has_xmax;
  double min, max, xmin, xmax;
  node *items;
  int has_min_items, has_max_items;
  size_t min_items, max_items;
  prop *props;
  size_t nprops;
  int no_extra;
  node **alts;
  size_t nalts;
};

struct wsc_schema {
  cJSON *doc;
  node *root;
};

/* ---- compiling ----------------------------------------------------------- */

typedef struct cctx {
  char *err;
  size_t errlen;
  char path[512];
} cctx;

static int cfail(cctx *cx, const char *fmt, ...) WSC__PRINTF(2, 3);
static int cfail(cctx *cx, const char *fmt, ...) {
  if (cx->err && cx->errlen) {
    size_t plen = strlen(cx->path);
    const char *where = plen > 100 ? cx->path + plen - 100 : cx->path;
    int n = snprintf(cx->err, cx->errlen, "%s%s: ", plen > 100 ? "..." : "",
                     plen ? where : "(schema root)");
    if (n >= 0 && (size_t)n < cx->errlen) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(cx->err + n, cx->errlen - (size_t)n, fmt, ap);
      va_end(ap);
    }
  }
  return WSC_ECONFIG;
}

static void node_free(node *n) {
  if (!n) return;
  for (size_t i = 0; i < n->nprops; i++) node_free(n->props[i].schema);
  for (size_t i = 0; i < n->nalts; i++) node_free(n->alts[i]);
  node_free(n->items);
  wsc__free(n->props);
  wsc__free(n->alts);
  wsc__free(n);
}

static const struct {
  const char *name;
  unsigned bit;
} type_names[] = {{"string", WT_STRING},   {"integer", WT_INTEGER},
                  {"number", WT_NUMBER},   {"boolean", WT_BOOLEAN},
                  {"null", WT_NULL},       {"array", WT_ARRAY},
                  {"object", WT_OBJECT}};

static int type_bit(const cJSON *j, unsigned *bit) {
  if (!cJSON_IsString(j)) return -1;
  for (size_t i = 0; i < sizeof type_names / sizeof *type_names; i++)
    if (strcmp(j->valuestring, type_names[i].name) == 0) {
      *bit = type_names[i].bit;
      return 0;
    }
  return -1;
}

static const char *const annotations[] = {
    "title",   "description", "examples",  "example",  "format",
    "$schema", "$comment",    "$id",       "deprecated", "readOnly",
    "writeOnly"};

static const char *const known[] = {
    "type",      "nullable",  "anyOf",           "const",
    "enum",      "minLength", "maxLength",       "minimum",
    "maximum",   "exclusiveMinimum", "exclusiveMaximum", "items",
    "minItems",  "maxItems",  "properties",      "required",
    "additionalProperties",   "default"};

static int in_list(const char *k, const char *const *list, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(k, list[i]) == 0) return 1;
  return 0;
}

static int compile(cctx *cx, const cJSON *j, int depth, node **out);

/* Compiles `j` found under key `key` of the current path. */
static int compile_at(cctx *cx, const cJSON *j, const char *key, int depth,
                      node **out) {
  size_t len = strlen(cx->path);
  int n = snprintf(cx->path + len, sizeof cx->path - len, "/%s", key);
  if (n < 0 || (size_t)n >= sizeof cx->path - len)
    return cfail(cx, "schema path too long");
  int rc = compile(cx, j, depth + 1, out);
  if (rc == 0) cx->path[len] = '\0';
  return rc;
}

static int get_count(cctx *cx, const cJSON *j, const char *key, int *has,
                     size_t *v) {
  const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, key);
  if (!x) return 0;
  if (!cJSON_IsNumber(x) || x->valuedouble < 0 ||
      x->valuedouble != floor(x->valuedouble) || x->valuedouble > 1e15)
    return cfail(cx, "%s must be a non-negative integer", key);
  *has = 1;
  *v = (size_t)x->valuedouble;
  return 0;
}

static int get_number(cctx *cx, const cJSON *j, const char *key, int *has,
                      double *v) {
  const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, key);
  if (!x) return 0;
  if (!cJSON_IsNumber(x)) return cfail(cx, "%s must be a number", key);
  *has = 1;
  *v = x->valuedouble;
  return 0;
}

static int compile_type(cctx *cx, const cJSON *j, node *n) {
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "type");
  if (t) {
    unsigned bit;
    if (cJSON_IsArray(t)) {
      const cJSON *e;
      cJSON_ArrayForEach(e, t) {
        if (type_bit(e, &bit)) goto bad;
        n->types |= bit;
      }
      if (!n->types) goto bad;
    } else {
      if (type_bit(t, &bit)) goto bad;
      n->types = bit;
    }
  }
  const cJSON *nl = cJSON_GetObjectItemCaseSensitive(j, "nullable");
  if (nl && !cJSON_IsBool(nl)) return cfail(cx, "nullable must be a boolean");
  if (cJSON_IsTrue(nl) && n->types) n->types |= WT_NULL;
  return 0;
bad:
  return cfail(cx,
               "type must be one of string, integer, number, boolean, null, "
               "array, object, or an array of them");
}

static int add_prop(node *n, size_t *cap, const char *name) {
  for (size_t i = 0; i < n->nprops; i++)
    if (strcmp(n->props[i].name, name) == 0) return (int)i;
  if (wsc__grow((void **)&n->props, cap, n->nprops + 1, sizeof *n->props))
    return WSC_ENOMEM;
  memset(&n->props[n->nprops], 0, sizeof *n->props);
  n->props[n->nprops].name = name;
  return (int)n->nprops++;
}

static int compile_object(cctx *cx, const cJSON *j, int depth, node *n) {
  size_t cap = 0;
  const cJSON *props = cJSON_GetObjectItemCaseSensitive(j, "properties");
  if (props) {
    if (!cJSON_IsObject(props))
      return cfail(cx, "properties must be an object");
    const cJSON *p;
    cJSON_ArrayForEach(p, props) {
      int i = add_prop(n, &cap, p->string);
      if (i < 0) return i;
      if (n->props[i].schema)
        return cfail(cx, "property '%s' is defined twice", p->string);
      char key[300];
      snprintf(key, sizeof key, "properties/%s", p->string);
      int rc = compile_at(cx, p, key, depth, &n->props[i].schema);
      if (rc) return rc;
      n->props[i].def = cJSON_GetObjectItemCaseSensitive(p, "default");
    }
  }
  const cJSON *req = cJSON_GetObjectItemCaseSensitive(j, "required");
  if (req) {
    if (!cJSON_IsArray(req))
      return cfail(cx, "required must be an array of property names");
    const cJSON *r;
    cJSON_ArrayForEach(r, req) {
      if (!cJSON_IsString(r))
        return cfail(cx, "required must be an array of property names");
      int i = add_prop(n, &cap, r->valuestring);
      if (i < 0) return i;
      n->props[i].required = 1;
    }
  }
  const cJSON *ap = cJSON_GetObjectItemCaseSensitive(j, "additionalProperties");
  if (ap) {
    if (!cJSON_IsBool(ap))
      return cfail(cx,
                   "additionalProperties must be true or false (schemas "
                   "there are not supported)");
    n->no_extra = cJSON_IsFalse(ap);
  }
  return 0;
}

static int compile_node(cctx *cx, const cJSON *j, int depth, node *n) {
  const cJSON *k;
  cJSON_ArrayForEach(k, j) {
    const char *key = k->string;
    if (in_list(key, known, sizeof known / sizeof *known) ||
        in_list(key, annotations, sizeof annotations / sizeof *annotations) ||
        strncmp(key, "x-", 2) == 0)
      continue;
    return cfail(cx, "keyword '%s' is not supported (see wschannels/schema.h)",
                 key);
  }
  int rc;
  if ((rc = compile_type(cx, j, n))) return rc;
  const cJSON *title = cJSON_GetObjectItemCaseSensitive(j, "title");
  if (cJSON_IsString(title)) n->title = title->valuestring;
  n->constv = cJSON_GetObjectItemCaseSensitive(j, "const");
  n->enumv = cJSON_GetObjectItemCaseSensitive(j, "enum");
  if (n->enumv && (!cJSON_IsArray(n->enumv) || !n->enumv->child))
    return cfail(cx, "enum must be a non-empty array");
  if ((rc = get_count(cx, j, "minLength", &n->has_min_len, &n->min_len)) ||
      (rc = get_count(cx, j, "maxLength", &n->has_max_len, &n->max_len)) ||
      (rc = get_count(cx, j, "minItems", &n->has_min_items, &n->min_items)) ||
      (rc = get_count(cx, j, "maxItems", &n->has_max_items, &n->max_items)) ||
      (rc = get_number(cx, j, "minimum", &n->has_min, &n->min)) ||
      (rc = get_number(cx, j, "maximum", &n->has_max, &n->max)) ||
      (rc = get_number(cx, j, "exclusiveMinimum", &n->has_xmin, &n->xmin)) ||
      (rc = get_number(cx, j, "exclusiveMaximum", &n->has_xmax, &n->xmax)))
    return rc;
  const cJSON *items = cJSON_GetObjectItemCaseSensitive(j, "items");
  if (items) {
    if (!cJSON_IsObject(items) && !cJSON_IsBool(items))
      return cfail(cx, "items must be a schema (tuple forms are not supported)");
    if ((rc = compile_at(cx, items, "items", depth, &n->items))) return rc;
  }
  const cJSON *any = cJSON_GetObjectItemCaseSensitive(j, "anyOf");
  if (any) {
    if (!cJSON_IsArray(any) || !any->child)
      return cfail(cx, "anyOf must be a non-empty array of schemas");
    size_t cnt = (size_t)cJSON_GetArraySize(any);
    if (!(n->alts = wsc__calloc(cnt, sizeof *n->alts))) return WSC_ENOMEM;
    const cJSON *a;
    cJSON_ArrayForEach(a, any) {
      char key[32];
      snprintf(key, sizeof key, "anyOf/%zu", n->nalts);
      if ((rc = compile_at(cx, a, key, depth, &n->alts[n->nalts++])))
        return rc;
    }
  }
  return compile_object(cx, j, depth, n);
}

static int compile(cctx *cx, const cJSON *j, int depth, node **out) {
  *out = NULL;
  if (depth > MAX_DEPTH)
    return cfail(cx, "nested more than %d levels deep", MAX_DEPTH);
  if (cJSON_IsTrue(j)) j = NULL; /* the "true" schema: anything */
  else if (!cJSON_IsObject(j))
    return cfail(cx, "a schema must be a JSON object (or true)");
  node *n = wsc__calloc(1, sizeof *n);
  if (!n) return WSC_ENOMEM;
  *out = n; /* freed by the caller's tree on failure */
  return j ? compile_node(cx, j, depth, n) : 0;
}

int wsc_schema_new(const char *json, size_t len, wsc_schema **out, char *err,
                   size_t errlen) {
  cctx cx = {err, errlen, ""};
  if (err && errlen) err[0] = '\0';
  if (!json || !out) return WSC_EINVAL;
  *out = NULL;
  wsc_schema *s = wsc__calloc(1, sizeof *s);
  if (!s) return WSC_ENOMEM;
  s->doc = cJSON_ParseWithLength(json, len);
  int rc;
  if (!s->doc)
    rc = cfail(&cx, "not valid JSON");
  else
    rc = compile(&cx, s->doc, 0, &s->root);
  if (rc) {
    wsc_schema_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

void wsc_schema_free(wsc_schema *s) {
  if (!s) return;
  node_free(s->root);
  cJSON_Delete(s->doc);
  wsc__free(s);
}

const cJSON *wsc_schema_json(const wsc_schema *s) { return s ? s->doc : NULL; }

/* ---- validating ---------------------------------------------------------- */

typedef struct step {
  const char *key; /* NULL: an array index */
  long idx;
} step;

typedef struct vctx {
  cJSON *errors;        /* NULL: only count (trying anyOf branches) */
  const cJSON *prefix;
  int fill_defaults;
  step path[MAX_DEPTH * 2 + 2];
  size_t depth;
  int count, nomem;
} vctx;

static void push_key(vctx *v, const char *k) {
  v->path[v->depth].key = k;
  v->path[v->depth++].idx = 0;
}
static void push_idx(vctx *v, long i) {
  v->path[v->depth].key = NULL;
  v->path[v->depth++].idx = i;
}

static void report(vctx *v, const char *type, const char *fmt, ...)
    WSC__PRINTF(3, 4);
static void report(vctx *v, const char *type, const char *fmt, ...) {
  v->count++;
  if (!v->errors || v->count > WSC_SCHEMA_MAX_ERRORS) return;
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  cJSON *e = cJSON_CreateObject(), *loc = cJSON_CreateArray();
  if (!e || !loc) goto nomem;
  const cJSON *p;
  cJSON_ArrayForEach(p, v->prefix) {
    cJSON *d = cJSON_Duplicate(p, 1);
    if (!d || !cJSON_AddItemToArray(loc, d)) goto nomem;
  }
  for (size_t i = 0; i < v->depth; i++) {
    cJSON *d = v->path[i].key ? cJSON_CreateString(v->path[i].key)
                              : cJSON_CreateNumber((double)v->path[i].idx);
    if (!d || !cJSON_AddItemToArray(loc, d)) goto nomem;
  }
  if (!cJSON_AddStringToObject(e, "type", type)) goto nomem;
  if (!cJSON_AddItemToObject(e, "loc", loc)) goto nomem;
  loc = NULL;
  if (!cJSON_AddStringToObject(e, "msg", msg)) goto nomem;
  if (!cJSON_AddItemToArray(v->errors, e)) goto nomem;
  return;
nomem:
  v->nomem = 1;
  cJSON_Delete(loc);
  cJSON_Delete(e);
}

/* A number as Python's repr prints it: 3, 2.5, 1e+20. */
static void fmt_number(char *buf, size_t n, double d) {
  if (d == floor(d) && fabs(d) < 1e16)
    snprintf(buf, n, "%.0f", d);
  else
    snprintf(buf, n, "%.15g", d);
}

/* A JSON value as Python's repr prints it, for literal_error. */
static void fmt_literal(char *buf, size_t n, const cJSON *x) {
  if (cJSON_IsString(x))
    snprintf(buf, n, "'%s'", x->valuestring);
  else if (cJSON_IsNumber(x))
    fmt_number(buf, n, x->valuedouble);
  else if (cJSON_IsTrue(x))
    snprintf(buf, n, "True");
  else if (cJSON_IsFalse(x))
    snprintf(buf, n, "False");
  else if (cJSON_IsNull(x))
    snprintf(buf, n, "None");
  else {
    char *s = cJSON_PrintUnformatted(x);
    snprintf(buf, n, "%s", s ? s : "?");
    cJSON_free(s);
  }
}

static unsigned kind_of(const cJSON *x) {
  if (cJSON_IsNull(x)) return WT_NULL;
  if (cJSON_IsBool(x)) return WT_BOOLEAN;
  if (cJSON_IsString(x)) return WT_STRING;
  if (cJSON_IsArray(x)) return WT_ARRAY;
  if (cJSON_IsObject(x)) return WT_OBJECT;
  if (isfinite(x->valuedouble) && x->valuedouble == floor(x->valuedouble))
    return WT_INTEGER | WT_NUMBER;
  return WT_NUMBER;
}

static int check(vctx *v, const node *n, cJSON *x);

static void type_error(vctx *v, const node *n, const cJSON *x) {
  unsigned want = n->types;
  if (want != WT_NULL) want &= ~(unsigned)WT_NULL; /* name the real type */
  if (want & WT_INTEGER && kind_of(x) == WT_NUMBER && !(want & WT_NUMBER))
    report(v, "int_from_float",
           "Input should be a valid integer, got a number with a "
           "fractional part");
  else if (want & WT_STRING)
    report(v, "string_type", "Input should be a valid string");
  else if (want & WT_INTEGER)
    report(v, "int_type", "Input should be a valid integer");
  else if (want & WT_NUMBER)
    report(v, "float_type", "Input should be a valid number");
  else if (want & WT_BOOLEAN)
    report(v, "bool_type", "Input should be a valid boolean");
  else if (want & WT_ARRAY)
    report(v, "list_type", "Input should be a valid list");
  else if (want & WT_OBJECT) {
    if (n->title)
      report(v, "model_type",
             "Input should be a valid dictionary or instance of %s", n->title);
    else
      report(v, "dict_type", "Input should be a valid dictionary");
  } else
    report(v, "none_required", "Input should be None");
}

static void literal_error(vctx *v, const node *n) {
  char msg[400] = "Input should be ";
  size_t len = strlen(msg);
  size_t cnt = n->enumv ? (size_t)cJSON_GetArraySize(n->enumv) : 1;
  const cJSON *e = n->enumv ? n->enumv->child : n->constv;
  for (size_t i = 0; e && i < cnt && len < sizeof msg - 1;
       i++, e = n->enumv ? e->next : NULL) {
    const char *sep = i == 0 ? "" : i + 1 == cnt ? " or " : ", ";
    char one[128];
    fmt_literal(one, sizeof one, e);
    int w = snprintf(msg + len, sizeof msg - len, "%s%s", sep, one);
    if (w < 0) break;
    len += (size_t)w;
  }
  report(v, "literal_error", "%s", msg);
}

static int literal_ok(const node *n, const cJSON *x) {
  if (n->constv && !cJSON_Compare(x, n->constv, 1)) return 0;
  if (n->enumv) {
    const cJSON *e;
    cJSON_ArrayForEach(e, n->enumv) if (cJSON_Compare(x, e, 1)) return 1;
    return 0;
  }
  return 1;
}

static size_t utf8_chars(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    if (((unsigned char)*s & 0xC0) != 0x80) n++;
  return n;
}

static const char *plural(size_t n, const char *one, const char *many) {
  return n == 1 ? one : many;
}

static void check_string(vctx *v, const node *n, const cJSON *x) {
  if (!n->has_min_len && !n->has_max_len) return;
  size_t len = utf8_chars(x->valuestring);
  if (n->has_min_len && len < n->min_len)
    report(v, "string_too_short", "String should have at least %zu %s",
           n->min_len, plural(n->min_len, "character", "characters"));
  if (n->has_max_len && len > n->max_len)
    report(v, "string_too_long", "String should have at most %zu %s",
           n->max_len, plural(n->max_len, "character", "characters"));
}

static void check_number(vctx *v, const node *n, const cJSON *x) {
  double d = x->valuedouble;
  char b[64];
  if (n->has_xmin && !(d > n->xmin)) {
    fmt_number(b, sizeof b, n->xmin);
    report(v, "greater_than", "Input should be greater than %s", b);
  }
  if (n->has_min && !(d >= n->min)) {
    fmt_number(b, sizeof b, n->min);
    report(v, "greater_than_equal",
           "Input should be greater than or equal to %s", b);
  }
  if (n->has_xmax && !(d < n->xmax)) {
    fmt_number(b, sizeof b, n->xmax);
    report(v, "less_than", "Input should be less than %s", b);
  }
  if (n->has_max && !(d <= n->max)) {
    fmt_number(b, sizeof b, n->max);
    report(v, "less_than_equal", "Input should be less than or equal to %s",
           b);
  }
}

static void check_array(vctx *v, const node *n, cJSON *x) {
  long i = 0;
  cJSON *e;
  if (n->items)
    cJSON_ArrayForEach(e, x) {
      push_idx(v, i++);
      check(v, n->items, e);
      v->depth--;
    }
  size_t cnt = (size_t)cJSON_GetArraySize(x);
  if (n->has_min_items && cnt < n->min_items)
    report(v, "too_short",
           "List should have at least %zu %s after validation, not %zu",
           n->min_items, plural(n->min_items, "item", "items"), cnt);
  if (n->has_max_items && cnt > n->max_items)
    report(v, "too_long",
           "List should have at most %zu %s after validation, not %zu",
           n->max_items, plural(n->max_items, "item", "items"), cnt);
}

static void check_object(vctx *v, const node *n, cJSON *x) {
  for (size_t i = 0; i < n->nprops; i++) {
    const prop *p = &n->props[i];
    cJSON *item = cJSON_GetObjectItemCaseSensitive(x, p->name);
    push_key(v, p->name);
    if (item) {
      if (p->schema) check(v, p->schema, item);
    } else if (p->def) {
      if (v->fill_defaults) {
        cJSON *d = cJSON_Duplicate(p->def, 1);
        if (!d || !cJSON_AddItemToObject(x, p->name, d)) {
          cJSON_Delete(d);
          v->nomem = 1;
        }
      }
    } else if (p->required) {
      report(v, "missing", "Field required");
    }
    v->depth--;
  }
  if (!n->no_extra) return;
  cJSON *k;
  cJSON_ArrayForEach(k, x) {
    size_t i = 0;
    while (i < n->nprops && strcmp(n->props[i].name, k->string) != 0) i++;
    if (i < n->nprops) continue;
    push_key(v, k->string);
    report(v, "extra_forbidden", "Extra inputs are not permitted");
    v->depth--;
  }
}

/* anyOf: the first alternative that accepts `x` wins (and fills its
 * defaults); if none does, the first alternative that is not just "null"
 * reports its problems. */
static int check_alternatives(vctx *v, const node *n, cJSON *x) {
  for (size_t i = 0; i < n->nalts; i++) {
    vctx trial = *v;
    trial.errors = NULL;
    trial.fill_defaults = 0;
    trial.count = 0;
    check(&trial, n->alts[i], x);
    if (trial.count == 0) {
      if (v->fill_defaults) check(v, n->alts[i], x);
      return 0;
    }
  }
  size_t pick = 0;
  while (pick + 1 < n->nalts && n->alts[pick]->types == WT_NULL) pick++;
  check(v, n->alts[pick], x);
  return -1;
}

static int check(vctx *v, const node *n, cJSON *x) {
  int before = v->count;
  if (n->nalts && check_alternatives(v, n, x)) return -1;
  unsigned k = kind_of(x);
  if (n->types && !(n->types & k)) {
    type_error(v, n, x);
    return -1;
  }
  if (!literal_ok(n, x)) {
    literal_error(v, n);
    return -1;
  }
  if (k & WT_STRING)
    check_string(v, n, x);
  else if (k & WT_NUMBER)
    check_number(v, n, x);
  else if (k & WT_ARRAY)
    check_array(v, n, x);
  else if (k & WT_OBJECT)
    check_object(v, n, x);
  return v->count == before ? 0 : -1;
}

int wsc_schema_validate(const wsc_schema *s, cJSON *value,
                        const cJSON *loc_prefix, cJSON *errors) {
  if (!s || !value || (errors && !cJSON_IsArray(errors)) ||
      (loc_prefix && !cJSON_IsArray(loc_prefix)))
    return WSC_EINVAL;
  vctx *v = wsc__calloc(1, sizeof *v);
  if (!v) return WSC_ENOMEM;
  v->errors = errors;
  v->prefix = loc_prefix;
  v->fill_defaults = 1;
  check(v, s->root, value);
  int count = v->count;
  if (errors && count > WSC_SCHEMA_MAX_ERRORS) {
    int shown = v->count;
    v->count = 0; /* let this one through */
    v->depth = 0;
    report(v, "too_many_errors", "%d more problems not listed",
           shown - WSC_SCHEMA_MAX_ERRORS);
  }
  int nomem = v->nomem;
  wsc__free(v);
  return nomem ? WSC_ENOMEM : count;
}
