/* Reads and validates the JSON config document (docs/config.md). Every key
 * has a default in wsc_server_options_init; unknown keys, wrong types and
 * out-of-range values are errors naming the key's JSON path. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "wschannels/config.h"
#include "wschannels/error.h"
#include "wschannels/layer.h"

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int rc, const char *fmt, ...) {
  if (err && errlen) {
    int n = snprintf(err, errlen, "config: ");
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < errlen) vsnprintf(err + n, errlen - n, fmt, ap);
    va_end(ap);
  }
  return rc;
}

/* ---- ${VAR:-default} expansion ---------------------------------------- */

typedef struct sbuf {
  char *p;
  size_t len, cap;
} sbuf;

static int sbuf_add(sbuf *b, const char *s, size_t n) {
  if (wsc__grow((void **)&b->p, &b->cap, b->len + n + 1, 1)) return -1;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
  return 0;
}

/* Expands one string; *out is a wsc__ allocation. */
static int expand_string(const char *s, char **out, const char *where,
                         char *err, size_t errlen) {
  sbuf b = {0};
  if (sbuf_add(&b, "", 0)) return WSC_ENOMEM;
  for (const char *p = s; *p;) {
    if (p[0] == '$' && p[1] == '$') {
      if (sbuf_add(&b, "$", 1)) goto nomem;
      p += 2;
    } else if (p[0] == '$' && p[1] == '{') {
      const char *end = strchr(p + 2, '}');
      if (!end) {
        wsc__free(b.p);
        return fail(err, errlen, WSC_ECONFIG, "%s: unterminated '${' in \"%s\"",
                    where, s);
      }
      const char *name = p + 2, *dflt = NULL;
      size_t nlen = (size_t)(end - name), dlen = 0;
      const char *sep = strstr(name, ":-");
      if (sep && sep < end) {
        nlen = (size_t)(sep - name);
        dflt = sep + 2;
        dlen = (size_t)(end - dflt);
      }
      char var[128];
      if (nlen == 0 || nlen >= sizeof var) {
        wsc__free(b.p);
        return fail(err, errlen, WSC_ECONFIG,
                    "%s: bad variable name in \"%s\"", where, s);
      }
      memcpy(var, name, nlen);
      var[nlen] = '\0';
      const char *val = getenv(var);
      if (val && *val) {
        if (sbuf_add(&b, val, strlen(val))) goto nomem;
      } else if (dflt) {
        if (sbuf_add(&b, dflt, dlen)) goto nomem;
      } else {
        wsc__free(b.p);
        return fail(err, errlen, WSC_ECONFIG,
                    "%s: environment variable %s is not set (write "
                    "${%s:-default} to give a default)",
                    where, var, var);
      }
      p = end + 1;
    } else {
      if (sbuf_add(&b, p, 1)) goto nomem;
      p++;
    }
  }
  *out = b.p;
  return 0;
nomem:
  wsc__free(b.p);
  return WSC_ENOMEM;
}

static int expand_node(cJSON *node, char *where, size_t wcap, char *err,
                       size_t errlen) {
  size_t base = strlen(where);
  int idx = 0;
  for (cJSON *it = node->child; it; it = it->next, idx++) {
    if (cJSON_IsObject(node) && it->string)
      snprintf(where + base, wcap - base, "%s%s", base ? "." : "", it->string);
    else
      snprintf(where + base, wcap - base, "[%d]", idx);
    if (cJSON_IsString(it) && strchr(it->valuestring, '$')) {
      char *v = NULL;
      int rc = expand_string(it->valuestring, &v, where, err, errlen);
      if (rc) return rc;
      char *nv = cJSON_malloc(strlen(v) + 1);
      if (!nv) {
        wsc__free(v);
        return WSC_ENOMEM;
      }
      memcpy(nv, v, strlen(v) + 1);
      wsc__free(v);
      cJSON_free(it->valuestring);
      it->valuestring = nv;
    } else if (cJSON_IsObject(it) || cJSON_IsArray(it)) {
      int rc = expand_node(it, where, wcap, err, errlen);
      if (rc) return rc;
    }
    where[base] = '\0';
  }
  return 0;
}

int wsc__config_expand_env(cJSON *doc, char *err, size_t errlen) {
  char where[512] = "";
  return expand_node(doc, where, sizeof where, err, errlen);
}

int wsc_config_parse(const char *json, size_t len, cJSON **out, char *err,
                     size_t errlen) {
  if (!json || !out) return WSC_EINVAL;
  *out = NULL;
  const char *end = NULL;
  cJSON *doc = cJSON_ParseWithLengthOpts(json, len, &end, 0);
  if (!doc) {
    size_t off = end ? (size_t)(end - json) : 0;
    return fail(err, errlen, WSC_ECONFIG, "invalid JSON near offset %zu",
                off);
  }
  if (!cJSON_IsObject(doc)) {
    cJSON_Delete(doc);
    return fail(err, errlen, WSC_ECONFIG, "the document must be an object");
  }
  int rc = wsc__config_expand_env(doc, err, errlen);
  if (rc) {
    cJSON_Delete(doc);
    return rc;
  }
  *out = doc;
  return 0;
}

/* ---- typed readers ------------------------------------------------------ */

int wsc__cfg_check_keys(const cJSON *obj, const char *const *allowed,
                        const char *where, char *err, size_t errlen) {
  if (!cJSON_IsObject(obj))
    return fail(err, errlen, WSC_ECONFIG, "%s: expected object", where);
  for (const cJSON *it = obj->child; it; it = it->next) {
    int ok = 0;
    for (const char *const *a = allowed; *a; a++)
      if (strcmp(*a, it->string) == 0) ok = 1;
    if (!ok)
      return fail(err, errlen, WSC_ECONFIG, "%s%s%s: unknown key", where,
                  *where ? "." : "", it->string);
  }
  return 0;
}

/* Integers may also be given as strings of digits, so that "${PORT:-8000}"
 * works. */
int wsc__cfg_get_uint(const cJSON *obj, const char *key, unsigned long min,
                      unsigned long max, unsigned long dflt,
                      unsigned long *out, const char *where, char *err,
                      size_t errlen) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  *out = dflt;
  if (!v) return 0;
  double d;
  if (cJSON_IsNumber(v)) {
    d = v->valuedouble;
  } else if (cJSON_IsString(v) && v->valuestring[0]) {
    char *endp;
    errno = 0;
    d = strtod(v->valuestring, &endp);
    if (*endp || errno) goto bad;
  } else {
    goto bad;
  }
  /* Range first: converting a negative or huge double is undefined. */
  if (!(d >= (double)min && d <= (double)max) || d != floor(d)) goto bad;
  *out = (unsigned long)d;
  return 0;
bad:
  return fail(err, errlen, WSC_ECONFIG, "%s%s%s: expected an integer from %lu to %lu",
              where, *where ? "." : "", key, min, max);
}

int wsc__cfg_queue_limits(const cJSON *obj, const char *where,
                          wsc__queue_limits *out, char *err, size_t errlen) {
  int rc = wsc__cfg_get_uint(obj, "capacity", 1, 10000000, 100, &out->capacity,
                             where, err, errlen);
  if (!rc)
    rc = wsc__cfg_get_uint(obj, "expiry", 1, 86400 * 365, 60, &out->expiry_s,
                           where, err, errlen);
  if (!rc)
    rc = wsc__cfg_get_uint(obj, "group_expiry", 1, 86400 * 365, 86400,
                           &out->group_expiry_s, where, err, errlen);
  return rc;
}

static int get_string(const cJSON *obj, const char *key, char **out,
                      const char *where, char *err, size_t errlen) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!v) return 0;
  if (!cJSON_IsString(v) || !v->valuestring[0])
    return fail(err, errlen, WSC_ECONFIG, "%s%s%s: expected a non-empty string",
                where, *where ? "." : "", key);
  char *s = wsc__strdup(v->valuestring);
  if (!s) return WSC_ENOMEM;
  wsc__free(*out);
  *out = s;
  return 0;
}

/* A boolean: *out stays as it is when `key` is absent. */
static int get_bool(const cJSON *obj, const char *key, int *out,
                    const char *where, char *err, size_t errlen) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!v) return 0;
  if (!cJSON_IsBool(v))
    return fail(err, errlen, WSC_ECONFIG, "%s.%s: expected true or false",
                where, key);
  *out = cJSON_IsTrue(v);
  return 0;
}

static void free_strv(char **v, size_t n) {
  for (size_t i = 0; i < n; i++) wsc__free(v[i]);
  wsc__free(v);
}

static int get_strv(const cJSON *arr, char ***out, size_t *n,
                    const char *where, int (*valid)(const char *),
                    const char *what, char *err, size_t errlen) {
  if (!cJSON_IsArray(arr))
    return fail(err, errlen, WSC_ECONFIG, "%s: expected an array of strings",
                where);
  size_t cnt = (size_t)cJSON_GetArraySize(arr), i = 0;
  char **v = wsc__calloc(cnt ? cnt : 1, sizeof *v);
  if (!v) return WSC_ENOMEM;
  for (const cJSON *it = arr->child; it; it = it->next, i++) {
    if (!cJSON_IsString(it) || (valid && !valid(it->valuestring))) {
      free_strv(v, i);
      return fail(err, errlen, WSC_ECONFIG, "%s[%zu]: expected %s", where, i,
                  what);
    }
    if (!(v[i] = wsc__strdup(it->valuestring))) {
      free_strv(v, i);
      return WSC_ENOMEM;
    }
  }
  free_strv(*out, *n);
  *out = v;
  *n = cnt;
  return 0;
}

/* ---- sections ------------------------------------------------------------ */

static int load_listen(wsc__config *cfg, const cJSON *o, char *err,
                       size_t errlen) {
  static const char *const keys[] = {"host", "port", NULL};
  int rc = wsc__cfg_check_keys(o, keys, "listen", err, errlen);
  unsigned long port;
  if (!rc) rc = get_string(o, "host", &cfg->host, "listen", err, errlen);
  if (!rc)
    rc = wsc__cfg_get_uint(o, "port", 0, 65535, (unsigned long)cfg->port,
                           &port, "listen", err, errlen);
  if (!rc) cfg->port = (int)port;
  return rc;
}

static int load_limits(wsc__config *cfg, const cJSON *o, char *err,
                       size_t errlen) {
  static const char *const keys[] = {
      "max_message_bytes",   "send_queue_bytes",     "max_connections",
      "max_connections_per_address", "messages_per_second", "message_burst",
      "handshake_timeout",   NULL};
  static const struct {
    const char *key;
    unsigned long min, max;
    size_t off;
  } ul[] = {
      {"max_connections", 0, 10000000, offsetof(wsc__config, max_connections)},
      {"max_connections_per_address", 0, 10000000,
       offsetof(wsc__config, max_connections_per_address)},
      {"messages_per_second", 0, 10000000,
       offsetof(wsc__config, messages_per_second)},
      {"message_burst", 1, 10000000, offsetof(wsc__config, message_burst)},
      {"handshake_timeout", 1, 3600, offsetof(wsc__config, handshake_timeout)}};
  unsigned long v;
  int rc = wsc__cfg_check_keys(o, keys, "limits", err, errlen);
  if (!rc)
    rc = wsc__cfg_get_uint(o, "max_message_bytes", 16, 1ul << 30,
                           cfg->max_message_bytes, &v, "limits", err, errlen);
  if (!rc) cfg->max_message_bytes = v;
  if (!rc)
    rc = wsc__cfg_get_uint(o, "send_queue_bytes", 1024, 1ul << 31,
                           cfg->send_queue_bytes, &v, "limits", err, errlen);
  if (!rc) cfg->send_queue_bytes = v;
  for (size_t i = 0; !rc && i < sizeof ul / sizeof *ul; i++) {
    unsigned long *field = (unsigned long *)((char *)cfg + ul[i].off);
    rc = wsc__cfg_get_uint(o, ul[i].key, ul[i].min, ul[i].max, *field, field,
                           "limits", err, errlen);
  }
  return rc;
}

static int load_keepalive(wsc__config *cfg, const cJSON *o, char *err,
                          size_t errlen) {
  static const char *const keys[] = {"ping_interval", "idle_timeout", NULL};
  unsigned long v;
  int rc = wsc__cfg_check_keys(o, keys, "keepalive", err, errlen);
  if (!rc)
    rc = wsc__cfg_get_uint(o, "ping_interval", 0, 65535, cfg->ping_interval,
                           &v, "keepalive", err, errlen);
  if (!rc) cfg->ping_interval = (unsigned)v;
  if (!rc)
    rc = wsc__cfg_get_uint(o, "idle_timeout", 0, 65535, cfg->idle_timeout, &v,
                           "keepalive", err, errlen);
  if (!rc) cfg->idle_timeout = (unsigned)v;
  return rc;
}

static int load_layers(wsc__config *cfg, const cJSON *o, char *err,
                       size_t errlen) {
  if (!cJSON_IsObject(o))
    return fail(err, errlen, WSC_ECONFIG, "layers: expected an object of "
                "alias -> {\"driver\": ...}");
  size_t n = (size_t)cJSON_GetArraySize(o), i = 0;
  if (n == 0)
    return fail(err, errlen, WSC_ECONFIG, "layers: expected at least one alias");
  wsc__layer_cfg *ls = wsc__calloc(n, sizeof *ls);
  if (!ls) return WSC_ENOMEM;
  cfg->layers = ls;
  for (const cJSON *it = o->child; it; it = it->next, i++) {
    cfg->nlayers = i + 1;
    char where[160];
    snprintf(where, sizeof where, "layers.%s", it->string);
    if (!wsc_group_name_is_valid(it->string))
      return fail(err, errlen, WSC_ECONFIG,
                  "%s: an alias is 1-99 of [A-Za-z0-9_.-]", where);
    if (!cJSON_IsObject(it))
      return fail(err, errlen, WSC_ECONFIG, "%s: expected an object", where);
    const cJSON *drv = cJSON_GetObjectItemCaseSensitive(it, "driver");
    if (!cJSON_IsString(drv))
      return fail(err, errlen, WSC_ECONFIG, "%s.driver: expected a string "
                  "(\"memory\", \"redis_pubsub\" or \"redis\")", where);
    ls[i].alias = wsc__strdup(it->string);
    ls[i].driver = wsc__strdup(drv->valuestring);
    ls[i].options = cJSON_Duplicate(it, 1);
    if (!ls[i].alias || !ls[i].driver || !ls[i].options) return WSC_ENOMEM;
  }
  return 0;
}

static int add_route(wsc__config *cfg, size_t *cap, const char *prefix,
                     const cJSON *entry, const char *where, char *err,
                     size_t errlen);

static int load_routes(wsc__config *cfg, size_t *cap, const char *prefix,
                       const cJSON *arr, const char *where, char *err,
                       size_t errlen) {
  if (!cJSON_IsArray(arr))
    return fail(err, errlen, WSC_ECONFIG, "%s: expected an array", where);
  size_t i = 0;
  for (const cJSON *it = arr->child; it; it = it->next, i++) {
    char w[256];
    snprintf(w, sizeof w, "%s[%zu]", where, i);
    int rc = add_route(cfg, cap, prefix, it, w, err, errlen);
    if (rc) return rc;
  }
  return 0;
}

static int add_route(wsc__config *cfg, size_t *cap, const char *prefix,
                     const cJSON *entry, const char *where, char *err,
                     size_t errlen) {
  static const char *const keys[] = {"path", "consumer", "include", NULL};
  int rc = wsc__cfg_check_keys(entry, keys, where, err, errlen);
  if (rc) return rc;
  const cJSON *path = cJSON_GetObjectItemCaseSensitive(entry, "path");
  const cJSON *cons = cJSON_GetObjectItemCaseSensitive(entry, "consumer");
  const cJSON *inc = cJSON_GetObjectItemCaseSensitive(entry, "include");
  if (!cJSON_IsString(path) || path->valuestring[0] != '/')
    return fail(err, errlen, WSC_ECONFIG,
                "%s.path: expected a string starting with '/'", where);
  if (!!cons == !!inc)
    return fail(err, errlen, WSC_ECONFIG,
                "%s: expected exactly one of \"consumer\" and \"include\"",
                where);
  char full[512];
  size_t plen = strlen(prefix);
  /* "/ws" + "/chat" -> "/ws/chat"; a trailing '/' on the prefix is dropped. */
  if (plen && prefix[plen - 1] == '/') plen--;
  size_t slen = strlen(path->valuestring);
  if (plen + slen >= sizeof full)
    return fail(err, errlen, WSC_ECONFIG, "%s.path: too long", where);
  memcpy(full, prefix, plen);
  memcpy(full + plen, path->valuestring, slen + 1);
  if (inc) {
    char w[300];
    snprintf(w, sizeof w, "%s.include", where);
    return load_routes(cfg, cap, full, inc, w, err, errlen);
  }
  if (!cJSON_IsString(cons))
    return fail(err, errlen, WSC_ECONFIG, "%s.consumer: expected a string",
                where);
  if (wsc__grow((void **)&cfg->routes, cap, cfg->nroutes + 1,
                sizeof *cfg->routes))
    return WSC_ENOMEM;
  wsc__route_cfg *r = &cfg->routes[cfg->nroutes++];
  r->path = wsc__strdup(full);
  r->consumer = wsc__strdup(cons->valuestring);
  r->where = wsc__strdup(where);
  if (!r->path || !r->consumer || !r->where) return WSC_ENOMEM;
  return 0;
}

static int load_jwt(wsc__consumer_cfg *c, const cJSON *o, const char *where,
                    char *err, size_t errlen) {
  static const char *const keys[] = {"secret", "query_param", "user_claim",
                                     "leeway", NULL};
  char w[200];
  snprintf(w, sizeof w, "%s.jwt", where);
  unsigned long leeway = 0;
  int rc = wsc__cfg_check_keys(o, keys, w, err, errlen);
  if (!rc) rc = get_string(o, "secret", &c->jwt_secret, w, err, errlen);
  if (!rc && !c->jwt_secret)
    rc = fail(err, errlen, WSC_ECONFIG, "%s.secret: required", w);
  if (!rc && strlen(c->jwt_secret) < 16)
    rc = fail(err, errlen, WSC_ECONFIG,
              "%s.secret: at least 16 characters (HS256 wants 32)", w);
  if (!rc) rc = get_string(o, "query_param", &c->jwt_query_param, w, err, errlen);
  if (!rc) rc = get_string(o, "user_claim", &c->jwt_user_claim, w, err, errlen);
  if (!rc) rc = wsc__cfg_get_uint(o, "leeway", 0, 3600, 0, &leeway, w, err, errlen);
  if (rc) return rc;
  if (!c->jwt_query_param && !(c->jwt_query_param = wsc__strdup("token")))
    return WSC_ENOMEM;
  if (!c->jwt_user_claim && !(c->jwt_user_claim = wsc__strdup("sub")))
    return WSC_ENOMEM;
  c->jwt_leeway = (long)leeway;
  return 0;
}

static int load_consumers(wsc__config *cfg, const cJSON *o, char *err,
                          size_t errlen) {
  static const char *const keys[] = {
      "layer",       "groups",   "discriminator_field",
      "camelize",    "send_completion", "send_authentication_message",
      "log_websocket_message", "log_ignored_actions", "group_message_metadata",
      "jwt", NULL};
  if (!cJSON_IsObject(o))
    return fail(err, errlen, WSC_ECONFIG, "consumers: expected an object");
  size_t n = (size_t)cJSON_GetArraySize(o), i = 0;
  cfg->consumers = wsc__calloc(n ? n : 1, sizeof *cfg->consumers);
  if (!cfg->consumers) return WSC_ENOMEM;
  for (const cJSON *it = o->child; it; it = it->next, i++) {
    wsc__consumer_cfg *c = &cfg->consumers[i];
    cfg->nconsumers = i + 1;
    char where[160];
    snprintf(where, sizeof where, "consumers.%s", it->string);
    int rc = wsc__cfg_check_keys(it, keys, where, err, errlen);
    if (rc) return rc;
    if (!(c->name = wsc__strdup(it->string))) return WSC_ENOMEM;
    c->camelize = c->send_completion = c->send_auth_message =
        c->log_messages = c->group_metadata = -1;
    if ((rc = get_string(it, "layer", &c->layer, where, err, errlen)) ||
        (rc = get_string(it, "discriminator_field", &c->discriminator, where,
                         err, errlen)) ||
        (rc = get_bool(it, "camelize", &c->camelize, where, err, errlen)) ||
        (rc = get_bool(it, "send_completion", &c->send_completion, where, err,
                       errlen)) ||
        (rc = get_bool(it, "send_authentication_message",
                       &c->send_auth_message, where, err, errlen)) ||
        (rc = get_bool(it, "log_websocket_message", &c->log_messages, where,
                       err, errlen)) ||
        (rc = get_bool(it, "group_message_metadata", &c->group_metadata, where,
                       err, errlen)))
      return rc;
    const cJSON *jwt = cJSON_GetObjectItemCaseSensitive(it, "jwt");
    if (jwt && (rc = load_jwt(c, jwt, where, err, errlen))) return rc;
    const cJSON *ig = cJSON_GetObjectItemCaseSensitive(it, "log_ignored_actions");
    if (ig) {
      char w[200];
      snprintf(w, sizeof w, "%s.log_ignored_actions", where);
      rc = get_strv(ig, &c->log_ignored, &c->nlog_ignored, w, NULL,
                    "an action name", err, errlen);
      if (rc) return rc;
      c->has_log_ignored = 1;
    }
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(it, "groups");
    if (g) {
      char w[200];
      snprintf(w, sizeof w, "%s.groups", where);
      rc = get_strv(g, &c->groups, &c->ngroups, w, wsc_group_name_is_valid,
                    "a group name (1-99 of [A-Za-z0-9_.-])", err, errlen);
      if (rc) return rc;
      c->has_groups = 1;
    }
  }
  return 0;
}

static int load_asyncapi(wsc__config *cfg, const cJSON *o, char *err,
                         size_t errlen) {
  static const char *const keys[] = {"enabled", "path",        "title",
                                     "version", "description", "server",
                                     NULL};
  wsc__asyncapi_cfg *a = &cfg->asyncapi;
  if (cJSON_IsBool(o)) { /* "asyncapi": false */
    a->enabled = cJSON_IsTrue(o);
    return 0;
  }
  int rc = wsc__cfg_check_keys(o, keys, "asyncapi", err, errlen);
  if (!rc) rc = get_bool(o, "enabled", &a->enabled, "asyncapi", err, errlen);
  if (!rc) rc = get_string(o, "path", &a->path, "asyncapi", err, errlen);
  if (!rc) rc = get_string(o, "title", &a->title, "asyncapi", err, errlen);
  if (!rc) rc = get_string(o, "version", &a->version, "asyncapi", err, errlen);
  if (!rc)
    rc = get_string(o, "description", &a->description, "asyncapi", err,
                    errlen);
  if (!rc) rc = get_string(o, "server", &a->server, "asyncapi", err, errlen);
  if (rc) return rc;
  size_t n = strlen(a->path);
  if (a->path[0] != '/' || strchr(a->path, '?') || strchr(a->path, '{'))
    return fail(err, errlen, WSC_ECONFIG,
                "asyncapi.path: expected a path like \"/asyncapi\"");
  while (n > 1 && a->path[n - 1] == '/') a->path[--n] = '\0';
  return 0;
}

static int load_http(wsc__config *cfg, const cJSON *o, char *err,
                     size_t errlen) {
  static const char *const keys[] = {"static_dir", "index", "metrics", NULL};
  int rc = wsc__cfg_check_keys(o, keys, "http", err, errlen);
  if (!rc) rc = get_string(o, "static_dir", &cfg->static_dir, "http", err, errlen);
  if (!rc) rc = get_string(o, "index", &cfg->static_index, "http", err, errlen);
  if (!rc && strchr(cfg->static_index, '/'))
    rc = fail(err, errlen, WSC_ECONFIG, "http.index: expected a file name");
  if (!rc) rc = get_string(o, "metrics", &cfg->metrics_path, "http", err, errlen);
  if (!rc && cfg->metrics_path && cfg->metrics_path[0] != '/')
    rc = fail(err, errlen, WSC_ECONFIG, "http.metrics: expected a path like \"/metrics\"");
  return rc;
}

static int load_tls(wsc__config *cfg, const cJSON *o, char *err,
                    size_t errlen) {
  static const char *const keys[] = {"cert", "key", NULL};
  int rc = wsc__cfg_check_keys(o, keys, "tls", err, errlen);
  if (!rc) rc = get_string(o, "cert", &cfg->tls_cert, "tls", err, errlen);
  if (!rc) rc = get_string(o, "key", &cfg->tls_key, "tls", err, errlen);
  if (!rc && (!cfg->tls_cert || !cfg->tls_key))
    rc = fail(err, errlen, WSC_ECONFIG,
              "tls: expected both \"cert\" and \"key\" (PEM file paths)");
  for (int i = 0; !rc && i < 2; i++) {
    const char *path = i ? cfg->tls_key : cfg->tls_cert;
    FILE *f = fopen(path, "r");
    if (!f)
      rc = fail(err, errlen, WSC_ECONFIG, "tls.%s: cannot read '%s'",
                i ? "key" : "cert", path);
    else
      fclose(f);
  }
  return rc;
}

static int load_doc(wsc__config *cfg, const cJSON *doc, char *err,
                    size_t errlen) {
  static const char *const keys[] = {"listen",    "limits",  "keepalive",
                                     "allowed_origins", "layers",  "routes",
                                     "consumers", "asyncapi", "http", "tls",
                                     NULL};
  int rc = wsc__cfg_check_keys(doc, keys, "", err, errlen);
  const cJSON *o;
  if (!rc && (o = cJSON_GetObjectItemCaseSensitive(doc, "listen")))
    rc = load_listen(cfg, o, err, errlen);
  if (!rc && (o = cJSON_GetObjectItemCaseSensitive(doc, "limits")))
    rc = load_limits(cfg, o, err, errlen);
  if (!rc && (o = cJSON_GetObjectItemCaseSensitive(doc, "keepalive")))
    rc = load_keepalive(cfg, o, err, errlen);
  if (!rc && (o = cJSON_GetObjectItemCaseSensitive(doc, "allowed_origins")))
    rc = get_strv(o, &cfg->origins, &cfg->norigins, "allowed_origins", NULL,
                  "a string", err, errlen);
  if (!rc && (o = cJSON_GetObjectItemCaseSensitive(doc, "layers")))
    rc = load_layers(cfg, o, err, errlen);
  if (!rc && (o = cJSON_GetObjectItemCaseSensitive(doc, "routes"))) {
    size_t cap = 0;
    rc = load_routes(cfg, &cap, "", o, "routes", err, errlen);
  }
  if (!rc && (o = cJSON_GetObjectItemCaseSensitive(doc, "consumers")))
    rc = load_consumers(cfg, o, err, errlen);
  if (!rc && (o = cJSON_GetObjectItemCaseSensitive(doc, "asyncapi")))
    rc = load_asyncapi(cfg, o, err, errlen);
  if (!rc && (o = cJSON_GetObjectItemCaseSensitive(doc, "http")))
    rc = load_http(cfg, o, err, errlen);
  if (!rc && (o = cJSON_GetObjectItemCaseSensitive(doc, "tls")))
    rc = load_tls(cfg, o, err, errlen);
  return rc;
}

static int default_layer(wsc__config *cfg) {
  cfg->layers = wsc__calloc(1, sizeof *cfg->layers);
  if (!cfg->layers) return WSC_ENOMEM;
  cfg->nlayers = 1;
  cfg->layers[0].alias = wsc__strdup("default");
  cfg->layers[0].driver = wsc__strdup("memory");
  cfg->layers[0].options = cJSON_Parse("{\"driver\":\"memory\"}");
  if (!cfg->layers[0].alias || !cfg->layers[0].driver ||
      !cfg->layers[0].options)
    return WSC_ENOMEM;
  return 0;
}

int wsc__config_load(wsc__config *cfg, const wsc_server_options *opts,
                     char *err, size_t errlen) {
  memset(cfg, 0, sizeof *cfg);
  int rc = 0;
  cfg->asyncapi.enabled = 1;
  if (!(cfg->asyncapi.path = wsc__strdup("/asyncapi")) ||
      !(cfg->asyncapi.title = wsc__strdup("AsyncAPI Documentation")) ||
      !(cfg->asyncapi.version = wsc__strdup("1.0.0")) ||
      !(cfg->static_index = wsc__strdup("index.html")))
    rc = WSC_ENOMEM;
  if (!(cfg->host = wsc__strdup(opts->host ? opts->host : "127.0.0.1")))
    rc = WSC_ENOMEM;
  cfg->port = opts->port;
  cfg->max_message_bytes = opts->max_message_bytes;
  cfg->max_connections = 100000;
  cfg->max_connections_per_address = 0;
  cfg->messages_per_second = 200;
  cfg->message_burst = 400;
  cfg->handshake_timeout = 10;
  cfg->send_queue_bytes = opts->send_queue_bytes;
  cfg->ping_interval = opts->ping_interval;
  cfg->idle_timeout = opts->idle_timeout;
  if (!rc && (opts->port < 0 || opts->port > 65535))
    rc = fail(err, errlen, WSC_EINVAL, "options.port: expected 0-65535");
  if (!rc && opts->n_allowed_origins) {
    cfg->origins = wsc__calloc(opts->n_allowed_origins, sizeof(char *));
    if (!cfg->origins) rc = WSC_ENOMEM;
    for (size_t i = 0; !rc && i < opts->n_allowed_origins; i++) {
      cfg->norigins = i + 1;
      if (!opts->allowed_origins[i])
        rc = fail(err, errlen, WSC_EINVAL, "options.allowed_origins[%zu]: NULL",
                  i);
      else if (!(cfg->origins[i] = wsc__strdup(opts->allowed_origins[i])))
        rc = WSC_ENOMEM;
    }
  }
  if (!rc && opts->config_json) {
    cJSON *doc = NULL;
    rc = wsc_config_parse(opts->config_json, strlen(opts->config_json), &doc,
                          err, errlen);
    if (!rc) rc = load_doc(cfg, doc, err, errlen);
    cJSON_Delete(doc);
  }
  if (!rc && cfg->nlayers == 0) rc = default_layer(cfg);
  if (rc) wsc__config_clear(cfg);
  return rc;
}

void wsc__config_clear(wsc__config *cfg) {
  wsc__free(cfg->host);
  wsc__free(cfg->asyncapi.path);
  wsc__free(cfg->asyncapi.title);
  wsc__free(cfg->asyncapi.version);
  wsc__free(cfg->asyncapi.description);
  wsc__free(cfg->asyncapi.server);
  wsc__free(cfg->static_dir);
  wsc__free(cfg->tls_cert);
  wsc__free(cfg->tls_key);
  wsc__free(cfg->static_index);
  wsc__free(cfg->metrics_path);
  free_strv(cfg->origins, cfg->norigins);
  for (size_t i = 0; i < cfg->nlayers; i++) {
    wsc__free(cfg->layers[i].alias);
    wsc__free(cfg->layers[i].driver);
    cJSON_Delete(cfg->layers[i].options);
  }
  wsc__free(cfg->layers);
  for (size_t i = 0; i < cfg->nroutes; i++) {
    wsc__free(cfg->routes[i].path);
    wsc__free(cfg->routes[i].consumer);
    wsc__free(cfg->routes[i].where);
  }
  wsc__free(cfg->routes);
  for (size_t i = 0; i < cfg->nconsumers; i++) {
    wsc__free(cfg->consumers[i].name);
    wsc__free(cfg->consumers[i].layer);
    free_strv(cfg->consumers[i].groups, cfg->consumers[i].ngroups);
    wsc__free(cfg->consumers[i].discriminator);
    wsc__free(cfg->consumers[i].jwt_secret);
    wsc__free(cfg->consumers[i].jwt_query_param);
    wsc__free(cfg->consumers[i].jwt_user_claim);
    free_strv(cfg->consumers[i].log_ignored, cfg->consumers[i].nlog_ignored);
  }
  wsc__free(cfg->consumers);
  memset(cfg, 0, sizeof *cfg);
}

const wsc__layer_cfg *wsc__config_layer(const wsc__config *cfg,
                                        const char *alias) {
  for (size_t i = 0; i < cfg->nlayers; i++)
    if (strcmp(cfg->layers[i].alias, alias) == 0) return &cfg->layers[i];
  return NULL;
}

const wsc__consumer_cfg *wsc__config_consumer(const wsc__config *cfg,
                                              const char *name) {
  for (size_t i = 0; i < cfg->nconsumers; i++)
    if (strcmp(cfg->consumers[i].name, name) == 0) return &cfg->consumers[i];
  return NULL;
}
