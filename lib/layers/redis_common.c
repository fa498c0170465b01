#include "redis_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../alloc.h"
#include "../config.h"
#include "../layer.h"
#include "wschannels/error.h"

int wsc__redis_fail(wsc__redis_base *b, int rc, const char *fmt, ...) {
  char buf[WSC_ERRBUF_SIZE];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (b->host->set_error) b->host->set_error(b->host->host_data, buf);
  return rc;
}

int wsc__redis_unavailable(wsc__redis_base *b, const wsc__redis_conn *c,
                           const char *kind, const char *name) {
  const char *why = wsc__redis_conn_down_reason(c);
  return wsc__redis_fail(b, WSC_ELAYER, "%s '%s': Redis at %s is unreachable (%s%sreconnecting)",
                         kind, name, b->url.masked, why, why[0] ? "; " : "");
}

int wsc__redis_base_init(wsc__redis_base *b, const wsc_layer_host *host,
                         const cJSON *cfg,
                         const char *const *extra, char *err, size_t errlen) {
  memset(b, 0, sizeof *b);
  b->host = host;
  const char *keys[16] = {"driver", "url", "prefix", "reply_timeout", "max_pending_bytes"};
  size_t nk = 5;
  for (; extra && *extra && nk < 15; extra++) keys[nk++] = *extra;
  keys[nk] = NULL;
  char where[128];
  snprintf(where, sizeof where, "layers.%s", host->alias);
  int rc = wsc__cfg_check_keys(cfg, keys, where, err, errlen);
  if (rc) return rc;
  const cJSON *url = cJSON_GetObjectItemCaseSensitive(cfg, "url");
  const cJSON *prefix = cJSON_GetObjectItemCaseSensitive(cfg, "prefix");
  if (url && !cJSON_IsString(url)) {
    snprintf(err, errlen, "config: %s.url: expected a string", where);
    return WSC_ECONFIG;
  }
  if (prefix && (!cJSON_IsString(prefix) || strlen(prefix->valuestring) > 40)) {
    snprintf(err, errlen, "config: %s.prefix: expected a string of at most 40 "
             "characters", where);
    return WSC_ECONFIG;
  }
  snprintf(b->prefix, sizeof b->prefix, "%s", prefix ? prefix->valuestring : "asgi");
  unsigned long timeout_s;
  rc = wsc__cfg_get_uint(cfg, "reply_timeout", 1, 3600, 15, &timeout_s, where,
                         err, errlen);
  if (rc) return rc;
  b->reply_timeout_ms = timeout_s * 1000;
  unsigned long max_pending;
  rc = wsc__cfg_get_uint(cfg, "max_pending_bytes", 65536, 1ul << 31, 32ul << 20,
                         &max_pending, where, err, errlen);
  if (rc) return rc;
  b->max_pending = max_pending;
  char uerr[WSC_ERRBUF_SIZE];
  if (wsc__redis_url_parse(url ? url->valuestring : "redis://localhost:6379", &b->url,
                           uerr, sizeof uerr)) {
    snprintf(err, errlen, "config: %s.url: %s", where, uerr);
    return WSC_ECONFIG;
  }
  rc = wsc__redis_probe(&b->url, b->ip, sizeof b->ip, &b->version, uerr,
                        sizeof uerr);
  if (rc) {
    snprintf(err, errlen, "config: %s.url: %s", where, uerr);
    return rc;
  }
  unsigned char rnd[12];
  uv_random(NULL, NULL, rnd, sizeof rnd, 0, NULL);
  int n = snprintf(b->proc, sizeof b->proc, "specific.");
  for (size_t i = 0; i < sizeof rnd; i++)
    n += snprintf(b->proc + n, sizeof b->proc - (size_t)n, "%02x", rnd[i]);
  return 0;
}

void wsc__redis_base_clear(wsc__redis_base *b) {
  wsc__strmap_clear(&b->locals, NULL);
  wsc__free(b->scratch);
  b->scratch = NULL;
}

int wsc__redis_base_new_channel(wsc__redis_base *b, void *receiver,
                                char *name, size_t namelen) {
  char buf[WSC_NAME_MAX + 1];
  int n = snprintf(buf, sizeof buf, "%s!%lu", b->proc, ++b->next_id);
  if (n < 0 || (size_t)n >= namelen) return WSC_EINVAL;
  int rc = wsc__strmap_put(&b->locals, buf, receiver);
  if (rc) return rc;
  memcpy(name, buf, (size_t)n + 1);
  return 0;
}

void wsc__redis_base_release(wsc__redis_base *b, const char *name) {
  wsc__strmap_remove(&b->locals, name);
}

int wsc__redis_new_channel_op(void *inst, void *receiver, char *name,
                              size_t namelen) {
  return wsc__redis_base_new_channel(inst, receiver, name, namelen);
}

void wsc__redis_release_op(void *inst, const char *name) {
  wsc__redis_base_release(inst, name);
}

void wsc__redis_deliver_all(wsc__redis_base *b, void *const *recv, size_t n,
                            const char *msg, size_t len) {
  if (!n) return;
  if (wsc__grow((void **)&b->scratch, &b->scratch_cap, n, sizeof *b->scratch)) {
    wsc__host_logf(b->host, WSC_LOG_ERROR, "out of memory: dropped a message for "
                    "%zu connection(s)", n);
    wsc__host_dropped(b->host, 1);
    return;
  }
  memcpy(b->scratch, recv, n * sizeof *recv);
  b->host->deliver(b->host->host_data, b->scratch, n, msg, len);
}

void wsc__redis_deliver(wsc__redis_base *b, const char *targets, size_t tlen,
                        const char *msg, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < tlen;) {
    size_t j = i;
    while (j < tlen && targets[j] != ',') j++;
    char name[WSC_NAME_MAX + 1];
    if (j - i < sizeof name) {
      memcpy(name, targets + i, j - i);
      name[j - i] = '\0';
      void *r = wsc__strmap_get(&b->locals, name);
      if (r && !wsc__grow((void **)&b->scratch, &b->scratch_cap, n + 1,
                          sizeof *b->scratch))
        b->scratch[n++] = r;
    }
    i = j + 1;
  }
  if (n) b->host->deliver(b->host->host_data, b->scratch, n, msg, len);
}

/* What an op costs beyond its arguments: the op, hiredis's callback entry
 * and the command's framing. */
#define OP_OVERHEAD (sizeof(wsc__redis_op) + 128)

int wsc__redis_op_new(wsc__redis_base *b, size_t bytes, wsc_layer_done_fn done,
                      void *arg, const char *kind, const char *name,
                      wsc__redis_op **out) {
  bytes += OP_OVERHEAD;
  if (b->pending + bytes > b->max_pending) {
    if (!b->behind)
      wsc__host_logf(b->host, WSC_LOG_WARN,
                      "Redis at %s has not answered %zu KiB of sends "
                      "(max_pending_bytes); refusing sends until it catches up",
                      b->url.masked, b->pending >> 10);
    b->behind = 1;
    b->refused++;
    return wsc__redis_fail(b, WSC_EAGAIN,
                           "%s '%s': refused: Redis at %s has not answered the "
                           "%zu KiB of sends before it (max_pending_bytes)",
                           kind, name, b->url.masked, b->pending >> 10);
  }
  wsc__redis_op *op = wsc__calloc(1, sizeof *op);
  if (!op) return WSC_ENOMEM;
  op->b = b;
  op->done = done;
  op->arg = arg;
  op->bytes = bytes;
  snprintf(op->what, sizeof op->what, "%s '%s'", kind, name);
  b->pending += bytes;
  *out = op;
  return 0;
}

void wsc__redis_op_free(wsc__redis_op *op) {
  wsc__redis_base *b = op->b;
  b->pending -= op->bytes;
  if (b->behind && b->pending <= b->max_pending / 2) {
    wsc__host_logf(b->host, WSC_LOG_WARN,
                    "Redis at %s caught up; sends are taken again (%lu refused)",
                    b->url.masked, b->refused);
    b->behind = 0;
    b->refused = 0;
  }
  wsc__free(op);
}

void wsc__redis_op_end(wsc__redis_op *op, int status, const char *msg) {
  if (op->done) op->done(op->arg, status, msg);
  wsc__redis_op_free(op);
}

static void op_finish(wsc__redis_op *op, int status, const char *why) {
  char msg[1024];
  snprintf(msg, sizeof msg, "%s: %s", op->what, why);
  wsc__redis_op_end(op, status, msg);
}

void wsc__redis_op_fail(wsc__redis_op *op, const redisReply *r, int closing) {
  char why[768];
  if (r)
    snprintf(why, sizeof why, "Redis at %s answered: %.200s", op->b->url.masked,
             r->str ? r->str : "an error");
  else
    snprintf(why, sizeof why, "lost the connection to Redis at %s before it answered",
             op->b->url.masked);
  op_finish(op, closing ? WSC_ECLOSED : WSC_ELAYER, why);
}

void wsc__redis_op_fail_why(wsc__redis_op *op, const char *why) {
  op_finish(op, WSC_ELAYER, why);
}

int wsc__lgroups_add(wsc__strmap *groups, const char *group,
                     const char *name, void *recv, int *first) {
  *first = 0;
  wsc__local_group *g = wsc__strmap_get(groups, group);
  if (!g) {
    if (!(g = wsc__calloc(1, sizeof *g))) return WSC_ENOMEM;
    if (wsc__strmap_put(groups, group, g)) {
      wsc__free(g);
      return WSC_ENOMEM;
    }
    *first = 1;
  }
  for (size_t i = 0; i < g->n; i++)
    if (g->recv[i] == recv) return 0;
  size_t cap = g->cap;
  if (wsc__grow((void **)&g->recv, &cap, g->n + 1, sizeof *g->recv) ||
      wsc__grow((void **)&g->names, &g->cap, g->n + 1, sizeof *g->names) ||
      !(g->names[g->n] = wsc__strdup(name))) {
    if (*first) wsc__free(wsc__strmap_remove(groups, group));
    *first = 0;
    return WSC_ENOMEM;
  }
  g->recv[g->n++] = recv;
  return 0;
}

static void free_local_group(void *p) {
  wsc__local_group *g = p;
  for (size_t i = 0; i < g->n; i++) wsc__free(g->names[i]);
  wsc__free(g->names);
  wsc__free(g->recv);
  wsc__free(g);
}

void wsc__lgroups_discard(wsc__strmap *groups, const char *group,
                          const char *name, int *last) {
  *last = 0;
  wsc__local_group *g = wsc__strmap_get(groups, group);
  if (!g) return;
  for (size_t i = 0; i < g->n; i++) {
    if (strcmp(g->names[i], name) != 0) continue;
    wsc__free(g->names[i]);
    memmove(&g->names[i], &g->names[i + 1], (g->n - i - 1) * sizeof *g->names);
    memmove(&g->recv[i], &g->recv[i + 1], (g->n - i - 1) * sizeof *g->recv);
    g->n--;
    break;
  }
  if (g->n == 0) {
    free_local_group(wsc__strmap_remove(groups, group));
    *last = 1;
  }
}

void wsc__lgroups_deliver(wsc__redis_base *b, wsc__strmap *groups,
                          const char *group, const char *msg, size_t len) {
  wsc__local_group *g = wsc__strmap_get(groups, group);
  if (g) wsc__redis_deliver_all(b, g->recv, g->n, msg, len);
}

void wsc__lgroups_clear(wsc__strmap *groups) {
  wsc__strmap_clear(groups, free_local_group);
}
