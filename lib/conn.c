#include "conn.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <strings.h>
#include <string.h>

#include <libwebsockets.h>

#include "alloc.h"
#include "consumer.h"
#include "keycase.h"
#include "layer.h"
#include "message.h"
#include "outcome.h"
#include "server.h"
#include "wschannels/error.h"

#define CONN_LOG(c, lvl, ...) wsc__log(&(c)->srv->log, lvl, "conn", __VA_ARGS__)

wsc_conn *wsc__conn_new(wsc_server *srv, wsc_consumer *consumer,
                        struct wsc__layer *layer, const char *path,
                        wsc__kv *params, size_t nparams, wsc__kv *query,
                        size_t nquery) {
  wsc_conn *c = wsc__calloc(1, sizeof *c);
  if (!c) return NULL;
  c->srv = srv;
  c->consumer = consumer;
  c->layer = layer;
  if (!(c->path = wsc__strdup(path))) {
    wsc__free(c);
    return NULL;
  }
  c->params = params;
  c->nparams = nparams;
  c->query = query;
  c->nquery = nquery;
  return c;
}

static void drop_queue(wsc_conn *c) {
  while (c->qlen) {
    wsc__frame_unref(c->q[c->qhead]);
    c->qhead = (c->qhead + 1) & (c->qcap - 1);
    c->qlen--;
  }
  c->qbytes = 0;
}

void wsc__conn_free(wsc_conn *c) {
  if (!c) return;
  if (c->admitted) wsc__server_release_slot(c->srv, c->peer);
  wsc__outcome_forget(c);
  drop_queue(c);
  wsc__free(c->q);
  if (c->free_data) c->free_data(c->data);
  for (size_t i = 0; i < c->ngroups; i++) wsc__free(c->groups[i]);
  wsc__free(c->groups);
  wsc__kv_free(c->params, c->nparams);
  wsc__kv_free(c->query, c->nquery);
  wsc__free(c->path);
  wsc__free(c->rx);
  wsc__free(c->refused_detail);
  wsc__free(c->close_reason);
  wsc__free(c->user_id);
  cJSON_Delete(c->claims);
  wsc__free(c);
}

int wsc__conn_refuse(wsc_conn *c, int status, const char *fmt, ...) {
  if (!c->refused_detail && !(c->refused_detail = wsc__malloc(WSC__REFUSAL_MAX)))
    return status;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->refused_detail, WSC__REFUSAL_MAX, fmt, ap);
  va_end(ap);
  return status;
}

/* ---- sending ------------------------------------------------------------ */

static void request_writable(wsc_conn *c) {
  if (!c->writable_requested) {
    c->writable_requested = 1;
    lws_callback_on_writable(c->wsi);
  }
}

int wsc__conn_queue(wsc_conn *c, wsc__frame *f) {
  if (c->state != WSC__CONN_OPEN) return WSC_ECLOSED;
  /* The limit bounds what a client leaves unread: one message bigger than
   * it still goes to a client that has read everything before it. */
  if (c->qbytes && c->qbytes + f->len > c->srv->cfg.send_queue_bytes) {
    CONN_LOG(c, WSC_LOG_WARN,
             "%s: client is not reading (%zu bytes queued, limit %zu); "
             "closing it with 1008",
             c->channel, c->qbytes, c->srv->cfg.send_queue_bytes);
    drop_queue(c);
    c->srv->counts.closed_slow++;
    wsc__conn_start_close(c, 1008, "send queue full: client too slow");
    return WSC_EAGAIN;
  }
  if (c->qlen == c->qcap) {
    size_t ncap = c->qcap ? c->qcap * 2 : 8;
    wsc__frame **nq = wsc__malloc(ncap * sizeof *nq);
    if (!nq) return WSC_ENOMEM;
    for (size_t i = 0; i < c->qlen; i++)
      nq[i] = c->q[(c->qhead + i) & (c->qcap - 1)];
    wsc__free(c->q);
    c->q = nq;
    c->qhead = 0;
    c->qcap = ncap;
  }
  c->q[(c->qhead + c->qlen) & (c->qcap - 1)] = f;
  c->qlen++;
  c->qbytes += f->len;
  wsc__frame_ref(f);
  c->srv->counts.frames_queued++;
  wsc__server_mark_dirty(c->srv, c);
  return 0;
}

/* Appends our close frame (code + reason, unmasked). lws 4.1 sends no close
 * frame when a WRITEABLE callback or a timeout ends a connection, so the
 * close frame travels like every other frame: pre-framed, in the gathered
 * write, after everything queued before it. */
static size_t put_close_frame(wsc_conn *c, unsigned char *p) {
  const char *reason = c->close_reason ? c->close_reason : "";
  size_t rl = strlen(reason);
  p[0] = 0x88;
  p[1] = (unsigned char)(2 + rl);
  p[2] = (unsigned char)(c->close_code >> 8);
  p[3] = (unsigned char)c->close_code;
  memcpy(p + 4, reason, rl);
  return 4 + rl;
}

/* Our close frame is still to be written. */
static int close_pending(const wsc_conn *c) {
  return c->state == WSC__CONN_CLOSING && !c->close_sent;
}

int wsc__conn_has_output(const wsc_conn *c) { return c->qlen || close_pending(c); }

/* Copies whole queued frames into one buffer (up to WSC__TX_PACKET, or one
 * bigger frame alone) and hands it to lws as one raw write: the frames are
 * already framed, so lws adds nothing. */
static int write_queued(wsc_conn *c) {
  if (!wsc__conn_has_output(c)) return 0;
  int closing = close_pending(c);
  size_t first = c->qlen ? c->q[c->qhead]->len : 0;
  unsigned char *buf = wsc__server_scratch(
      c->srv, (first > WSC__TX_PACKET ? first : WSC__TX_PACKET) + 128);
  if (!buf) return -1;
  size_t total = 0;
  while (c->qlen) {
    wsc__frame *f = c->q[c->qhead];
    if (total && total + f->len > WSC__TX_PACKET) break;
    memcpy(buf + total, f->data, f->len);
    total += f->len;
    c->qbytes -= f->len;
    c->qhead = (c->qhead + 1) & (c->qcap - 1);
    c->qlen--;
    wsc__frame_unref(f);
  }
  closing = closing && !c->qlen;
  if (closing) total += put_close_frame(c, buf + total);
  if (lws_write(c->wsi, buf, total, LWS_WRITE_RAW) < 0) return -1;
  c->srv->counts.bytes_written += total;
  if (closing) {
    c->close_sent = 1;
    /* The peer answers with its close frame (then lws hangs up, see
     * wsc__conn_on_peer_close); one that never does is dropped. */
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_ACK, 5);
  }
  return 0;
}

/* After a write: what is left, ours or lws's, is watched until it is sent. */
static void watch_leftovers(wsc_conn *c) {
  c->lws_buffered = (unsigned char)lws_partial_buffered(c->wsi);
  int ours = wsc__conn_has_output(c);
  if (ours) request_writable(c);
  if (ours || c->lws_buffered) wsc__server_retry_flush(c->srv);
}

void wsc__conn_flush(wsc_conn *c) {
  if (c->state != WSC__CONN_OPEN && c->state != WSC__CONN_CLOSING) return;
  /* While lws holds unsent bytes it must drain them first; a new write
   * would be appended behind them anyway. */
  if (!lws_partial_buffered(c->wsi) && write_queued(c) < 0) {
    drop_queue(c);
    return; /* lws closes the connection */
  }
  watch_leftovers(c);
}

int wsc__conn_on_writeable(wsc_conn *c) {
  c->writable_requested = 0;
  if (c->state != WSC__CONN_OPEN && c->state != WSC__CONN_CLOSING) return 0;
  if (write_queued(c) < 0) return -1;
  watch_leftovers(c);
  return 0;
}

void wsc__conn_start_close(wsc_conn *c, int code, const char *reason) {
  if (c->state != WSC__CONN_OPEN) return;
  c->state = WSC__CONN_CLOSING;
  c->close_code = code;
  if (reason && *reason && (c->close_reason = wsc__malloc(WSC__CLOSE_REASON_MAX + 1)))
    snprintf(c->close_reason, WSC__CLOSE_REASON_MAX + 1, "%s", reason);
  wsc__server_mark_dirty(c->srv, c);
}

/* Logs a frame when the consumer logs this frame's action. */
void wsc__conn_log_frame(wsc_conn *c, const char *dir, const char *text,
                         size_t len, const cJSON *parsed) {
  const wsc_consumer *cons = c->consumer;
  if (!cons->log_messages) return;
  cJSON *own = parsed ? NULL : cJSON_ParseWithLength(text, len);
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(parsed ? parsed : own,
                                                    wsc__consumer_discriminator(cons));
  if (wsc__consumer_logs(cons, cJSON_IsString(a) ? a->valuestring : NULL))
    CONN_LOG(c, WSC_LOG_INFO, "%s %s: Websocket %s: %.*s", cons->name,
             c->channel, dir, len > 2048 ? 2048 : (int)len, text);
  cJSON_Delete(own);
}

int wsc__conn_send_text(wsc_conn *c, const char *json, size_t len) {
  char *camel = NULL;
  if (c->consumer->camelize &&
      (camel = wsc__keycase_camelize_text(json, len, &len)))
    json = camel;
  wsc__conn_log_frame(c, "sent", json, len, NULL);
  wsc__frame *f = wsc__frame_new_text(json, len);
  cJSON_free(camel);
  if (!f) return WSC_ENOMEM;
  int rc = wsc__conn_queue(c, f);
  wsc__frame_unref(f);
  return rc;
}

int wsc__conn_send_owned(wsc_conn *c, char *s) {
  if (!s) return WSC_ENOMEM;
  int rc = wsc__conn_send_text(c, s, strlen(s));
  wsc__msg_free(s);
  return rc;
}

void wsc__conn_send_completion(wsc_conn *c, wsc__completion which) {
  if (c->consumer->send_completion)
    wsc__conn_queue(c, c->srv->completion[which]);
}

/* ---- handler failures --------------------------------------------------- */

void wsc__conn_reason_reset(wsc_conn *c) { c->srv->errmsg[0] = '\0'; }

void wsc__conn_log_failure(wsc_conn *c, const char *hook, const char *name,
                           int rc, const char *then) {
  char why[128];
  const char *reason = c->srv->errmsg;
  c->srv->counts.handler_failures++;
  /* -1 is a handler's plain "failed"; a library code passed on is named. */
  if (!reason[0] && rc < -1 && strcmp(wsc_err_name(rc), "WSC_UNKNOWN") != 0)
    snprintf(why, sizeof why, "returned %s (%s)", wsc_err_name(rc),
             wsc_strerror(rc)), reason = why;
  else if (!reason[0])
    snprintf(why, sizeof why, "returned %d", rc), reason = why;
  if (name)
    CONN_LOG(c, WSC_LOG_ERROR, "%s: %s '%s' failed: %s%s", c->channel, hook,
             name, reason, then);
  else
    CONN_LOG(c, WSC_LOG_ERROR, "%s: %s failed: %s%s", c->channel, hook, reason,
             then);
}

/* ---- lifecycle ---------------------------------------------------------- */

static int join(wsc_conn *c, const char *group) {
  for (size_t i = 0; i < c->ngroups; i++)
    if (strcmp(c->groups[i], group) == 0) return WSC_EEXIST;
  if (wsc__grow((void **)&c->groups, &c->groups_cap, c->ngroups + 1,
                sizeof *c->groups))
    return WSC_ENOMEM;
  char *g = wsc__strdup(group);
  if (!g) return WSC_ENOMEM;
  int rc = wsc__layer_group_add(c->layer, group, c->channel, c->srv->errmsg,
                                sizeof c->srv->errmsg);
  if (rc) {
    wsc__free(g);
    return rc;
  }
  c->groups[c->ngroups++] = g;
  return 0;
}

int wsc__conn_on_established(wsc_conn *c, struct lws *wsi) {
  c->wsi = wsi;
  wsc__layer *l = c->layer;
  int rc = l->ops->new_channel(l->inst, c, c->channel, sizeof c->channel);
  if (rc) {
    CONN_LOG(c, WSC_LOG_ERROR, "layer '%s': cannot create a channel: %s",
             l->alias, wsc_strerror(rc));
    return -1;
  }
  c->state = WSC__CONN_OPEN;
  wsc_server *srv = c->srv;
  wsc__dlist_append(&srv->conns, &c->open);
  srv->nconns++;
  srv->counts.opened++;
  wsc__keepalive_add(&srv->keepalive, c);
  if (c->consumer->send_auth_message)
    wsc__conn_send_owned(
        c, wsc__msg_authentication(c->refused_status ? c->refused_status : 200,
                                   c->refused_detail ? c->refused_detail : ""));
  if (c->refused_status) {
    /* Chanx's refusal after accepting: 403 -> 4003; a server error 1011. */
    int st = c->refused_status;
    wsc__conn_start_close(c, st < 500 ? 4000 + st - 400 : 1011,
                          wsc__http_status_text(st));
    return 0;
  }
  wsc__conn_reason_reset(c);
  for (size_t i = 0; i < c->consumer->ngroups; i++) {
    if ((rc = join(c, c->consumer->groups[i])) && rc != WSC_EEXIST) {
      CONN_LOG(c, WSC_LOG_ERROR, "%s: cannot join group '%s': %s", c->channel,
               c->consumer->groups[i], srv->errmsg);
      wsc__conn_start_close(c, 1011, "cannot join group");
      return 0;
    }
  }
  const wsc_consumer_hooks *hk = &c->consumer->hooks;
  if (hk->on_connect && (rc = hk->on_connect(c, c->consumer->hooks_ud)) < 0) {
    wsc__conn_log_failure(c, "on_connect", NULL, rc, "; closing (1011)");
    wsc__conn_start_close(c, 1011, "connection setup failed");
  }
  return 0;
}

int wsc__conn_on_peer_close(wsc_conn *c, const void *in, size_t len) {
  if (len >= 2) {
    const unsigned char *p = in;
    c->close_code = (p[0] << 8) | p[1];
  }
  /* The peer acknowledged our close frame: hang up without lws echoing a
   * second close frame. */
  return c->close_sent ? -1 : 0;
}

void wsc__conn_on_closed(wsc_conn *c, int notify) {
  if (c->state == WSC__CONN_PENDING || c->state == WSC__CONN_CLOSED) {
    c->state = WSC__CONN_CLOSED;
    return;
  }
  wsc_server *srv = c->srv;
  const wsc_consumer_hooks *hk = &c->consumer->hooks;
  /* CLOSING during the hook: the client is gone (sends to it fail) but the
   * hook may still broadcast, as Chanx's leave notices do. */
  c->state = WSC__CONN_CLOSING;
  if (notify && hk->on_disconnect && !c->refused_status) {
    wsc__conn_reason_reset(c);
    hk->on_disconnect(c, c->close_code ? c->close_code : 1006,
                      c->consumer->hooks_ud);
    /* It returns nothing: a reason recorded during it is its failure. */
    if (srv->errmsg[0]) wsc__conn_log_failure(c, "on_disconnect", NULL, 0, "");
  }
  c->state = WSC__CONN_CLOSED;
  for (size_t i = 0; i < c->ngroups; i++)
    wsc__layer_group_discard(c->layer, c->groups[i], c->channel);
  if (c->layer->inst) c->layer->ops->release_channel(c->layer->inst, c->channel);
  wsc__dlist_unlink(&srv->conns, &c->open);
  srv->nconns--;
  srv->counts.closed++;
  wsc__keepalive_remove(&srv->keepalive, c);
  wsc__server_unmark_dirty(srv, c);
  drop_queue(c);
}

/* ---- public API ---------------------------------------------------------- */

#define LOOP_ONLY(c)                                             \
  do {                                                           \
    if (!(c)) return WSC_EINVAL;                                 \
    if (!wsc__on_loop_thread((c)->srv)) return WSC_ETHREAD;      \
  } while (0)

#define LOOP_GETTER(c) \
  if (!(c) || !wsc__on_loop_thread((c)->srv)) return NULL

const char *wsc_conn_get_channel(const wsc_conn *c) {
  LOOP_GETTER(c);
  return c->channel;
}

const char *wsc_conn_get_path(const wsc_conn *c) {
  LOOP_GETTER(c);
  return c->path;
}

const char *wsc_conn_get_path_param(const wsc_conn *c, const char *name) {
  LOOP_GETTER(c);
  return name ? wsc__kv_get(c->params, c->nparams, name) : NULL;
}

const char *wsc_conn_get_query_param(const wsc_conn *c, const char *name) {
  LOOP_GETTER(c);
  return name ? wsc__kv_get(c->query, c->nquery, name) : NULL;
}

/* "Authorization" -> the lws token whose name is "authorization:". */
static int header_token(const char *name) {
  size_t n = strlen(name);
  for (int t = 0; t < WSI_TOKEN_COUNT; t++) {
    const unsigned char *tn = lws_token_to_string((enum lws_token_indexes)t);
    if (tn && strlen((const char *)tn) == n + 1 && tn[n] == ':' &&
        strncasecmp((const char *)tn, name, n) == 0)
      return t;
  }
  return -1;
}

int wsc_conn_get_header(const wsc_conn *c, const char *name, char *buf,
                        size_t len) {
  LOOP_ONLY(c);
  if (!name || !*name || !buf || !len || len > INT32_MAX) return WSC_EINVAL;
  if (!c->in_handshake || !c->wsi) return WSC_ECLOSED;
  int t = header_token(name), n;
  if (t >= 0) {
    n = lws_hdr_total_length(c->wsi, (enum lws_token_indexes)t);
    if (n <= 0) return WSC_ENOTFOUND;
    if ((size_t)n >= len) return WSC_EINVAL;
    n = lws_hdr_copy(c->wsi, buf, (int)len, (enum lws_token_indexes)t);
  } else {
    char key[128];
    size_t kl = strlen(name);
    if (kl + 2 > sizeof key) return WSC_ENOTFOUND;
    for (size_t i = 0; i < kl; i++) key[i] = (char)tolower((unsigned char)name[i]);
    key[kl] = ':';
    key[kl + 1] = '\0';
    n = lws_hdr_custom_length(c->wsi, key, (int)kl + 1);
    if (n <= 0) return WSC_ENOTFOUND;
    if ((size_t)n >= len) return WSC_EINVAL;
    n = lws_hdr_custom_copy(c->wsi, buf, (int)len, key, (int)kl + 1);
  }
  return n < 0 ? WSC_ENOTFOUND : n;
}

int wsc_conn_get_cookie(const wsc_conn *c, const char *name, char *buf,
                        size_t len) {
  LOOP_ONLY(c);
  if (!name || !*name || !buf || !len) return WSC_EINVAL;
  char header[4096];
  int n = wsc_conn_get_header(c, "cookie", header, sizeof header);
  if (n < 0) return n == WSC_EINVAL ? WSC_ENOTFOUND : n;
  size_t nl = strlen(name);
  /* "a=1; theme=dark" */
  for (char *p = header; *p;) {
    while (*p == ' ' || *p == ';') p++;
    char *end = strchr(p, ';');
    if (!end) end = p + strlen(p);
    if ((size_t)(end - p) > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
      size_t vl = (size_t)(end - (p + nl + 1));
      if (vl >= len) return WSC_EINVAL;
      memcpy(buf, p + nl + 1, vl);
      buf[vl] = '\0';
      return (int)vl;
    }
    p = end;
  }
  return WSC_ENOTFOUND;
}

const char *wsc_conn_get_peer_address(const wsc_conn *c) {
  LOOP_GETTER(c);
  return c->peer;
}

int wsc_conn_set_user(wsc_conn *c, const char *user_id, const cJSON *claims) {
  LOOP_ONLY(c);
  char *id = user_id ? wsc__strdup(user_id) : NULL;
  cJSON *cl = claims ? cJSON_Duplicate(claims, 1) : NULL;
  if ((user_id && !id) || (claims && !cl)) {
    wsc__free(id);
    cJSON_Delete(cl);
    return WSC_ENOMEM;
  }
  wsc__free(c->user_id);
  cJSON_Delete(c->claims);
  c->user_id = id;
  c->claims = cl;
  return 0;
}

const char *wsc_conn_get_user_id(const wsc_conn *c) {
  LOOP_GETTER(c);
  return c->user_id;
}

const cJSON *wsc_conn_get_claims(const wsc_conn *c) {
  LOOP_GETTER(c);
  return c->claims;
}

const char *wsc_conn_get_consumer_name(const wsc_conn *c) {
  LOOP_GETTER(c);
  return c->consumer->name;
}

wsc_server *wsc_conn_get_server(const wsc_conn *c) { return c ? c->srv : NULL; }

void wsc_conn_set_data(wsc_conn *c, void *data, void (*free_data)(void *)) {
  if (!c || !wsc__on_loop_thread(c->srv)) return;
  if (c->free_data && c->data != data) c->free_data(c->data);
  c->data = data;
  c->free_data = free_data;
}

void *wsc_conn_get_data(const wsc_conn *c) {
  LOOP_GETTER(c);
  return c->data;
}

int wsc_conn_is_open(const wsc_conn *c) {
  return c && wsc__on_loop_thread(c->srv) && c->state == WSC__CONN_OPEN;
}

int wsc_conn_send(wsc_conn *c, const char *json, size_t len) {
  LOOP_ONLY(c);
  if (!json) return WSC_EINVAL;
  return wsc__conn_send_text(c, json, len);
}

int wsc_conn_send_json(wsc_conn *c, const cJSON *msg) {
  LOOP_ONLY(c);
  if (!msg) return WSC_EINVAL;
  return wsc__conn_send_owned(c, cJSON_PrintUnformatted(msg));
}

int wsc_conn_reply(wsc_conn *c, const char *action, const cJSON *payload) {
  LOOP_ONLY(c);
  if (!action || !*action) return WSC_EINVAL;
  return wsc__conn_send_owned(c, wsc__msg_reply(action, payload));
}

/* One send through the layer, to a group or a channel, whose later outcome
 * `o` follows. */
static int layer_send(wsc_conn *c, wsc__outcome *o, int to_group,
                      const char *target, const char *msg, size_t len) {
  wsc_layer_done_fn done;
  void *arg;
  wsc__outcome_arm(o, c->layer, &done, &arg);
  int rc = to_group ? wsc__layer_group_send(c->layer, target, msg, len, done,
                                            arg, c->srv->errmsg,
                                            sizeof c->srv->errmsg)
                    : wsc__layer_send(c->layer, target, msg, len, done, arg,
                                      c->srv->errmsg, sizeof c->srv->errmsg);
  if (rc) wsc__outcome_disarm(o);
  return rc;
}

/* Sends `msg` to each group (this connection's groups by default) and
 * returns the first error after trying them all. */
static int each_group(wsc_conn *c, const char *const *groups, size_t ngroups,
                      const char *msg, size_t len) {
  const char *const *g = groups ? groups : (const char *const *)c->groups;
  size_t n = groups ? ngroups : c->ngroups;
  int first = 0;
  wsc__outcome *o = wsc__outcome_begin(c);
  for (size_t i = 0; i < n; i++) {
    int rc = layer_send(c, o, 1, g[i], msg, len);
    if (rc && !first) first = rc;
  }
  wsc__outcome_end(o);
  return first;
}

int wsc_conn_broadcast(wsc_conn *c, const char *json, size_t len,
                       const char *const *groups, size_t ngroups,
                       unsigned flags) {
  LOOP_ONLY(c);
  if (!json || (ngroups && !groups)) return WSC_EINVAL;
  if (c->state == WSC__CONN_CLOSED || c->state == WSC__CONN_PENDING)
    return WSC_ECLOSED;
  int rc;
  size_t elen;
  char *env = wsc__env_group_message(json, len, flags & WSC_EXCLUDE_CURRENT,
                                     c->channel, c->user_id, &elen, &rc);
  if (!env)
    return wsc__server_fail(c->srv, rc, "broadcast: %s",
                            wsc__env_problem(rc, 0));
  rc = each_group(c, groups, ngroups, env, elen);
  wsc__free(env);
  return rc;
}

int wsc_conn_broadcast_json(wsc_conn *c, const cJSON *msg,
                            const char *const *groups, size_t ngroups,
                            unsigned flags) {
  LOOP_ONLY(c);
  if (!msg) return WSC_EINVAL;
  char *s = cJSON_PrintUnformatted(msg);
  if (!s) return WSC_ENOMEM;
  int rc = wsc_conn_broadcast(c, s, strlen(s), groups, ngroups, flags);
  cJSON_free(s);
  return rc;
}

/* Wraps an event in its envelope, or records in errmsg why it cannot. */
static char *event_envelope(wsc_conn *c, const char *what, const char *json,
                            size_t len, size_t *elen, int *rc) {
  char *env = wsc__env_event(json, len, elen, rc);
  if (!env)
    wsc__server_fail(c->srv, *rc, "%s: %s", what, wsc__env_problem(*rc, 1));
  return env;
}

int wsc_conn_send_event(wsc_conn *c, const char *channel, const char *json,
                        size_t len) {
  LOOP_ONLY(c);
  if (!json || !channel) return WSC_EINVAL;
  int rc;
  size_t elen;
  char *env = event_envelope(c, "send_event", json, len, &elen, &rc);
  if (!env) return rc;
  wsc__outcome *o = wsc__outcome_begin(c);
  rc = layer_send(c, o, 0, channel, env, elen);
  wsc__outcome_end(o);
  wsc__free(env);
  return rc;
}

int wsc_conn_broadcast_event(wsc_conn *c, const char *json, size_t len,
                             const char *const *groups, size_t ngroups) {
  LOOP_ONLY(c);
  if (!json || (ngroups && !groups)) return WSC_EINVAL;
  int rc;
  size_t elen;
  char *env = event_envelope(c, "broadcast_event", json, len, &elen, &rc);
  if (!env) return rc;
  rc = each_group(c, groups, ngroups, env, elen);
  wsc__free(env);
  return rc;
}

int wsc_conn_group_add(wsc_conn *c, const char *group) {
  LOOP_ONLY(c);
  if (c->state != WSC__CONN_OPEN) return WSC_ECLOSED;
  if (!wsc_group_name_is_valid(group))
    return wsc__server_fail(c->srv, WSC_EBADNAME, "invalid group name '%.120s'",
                            group ? group : "(null)");
  const wsc_consumer_hooks *h = &c->consumer->hooks;
  if (h->may_join && h->may_join(c, group, c->consumer->hooks_ud)) {
    char detail[200];
    snprintf(detail, sizeof detail, "You do not have permission to join '%s'.",
             group);
    CONN_LOG(c, WSC_LOG_INFO, "%s: %s", c->channel, detail);
    wsc__conn_send_owned(c, wsc__msg_detail_error(detail));
    return wsc__server_fail(c->srv, WSC_EDENIED, "%s", detail);
  }
  return join(c, group);
}

int wsc_conn_group_discard(wsc_conn *c, const char *group) {
  LOOP_ONLY(c);
  if (!group) return WSC_EINVAL;
  if (c->state != WSC__CONN_OPEN && c->state != WSC__CONN_CLOSING)
    return WSC_ECLOSED;
  for (size_t i = 0; i < c->ngroups; i++) {
    if (strcmp(c->groups[i], group) != 0) continue;
    int rc = wsc__layer_group_discard(c->layer, group, c->channel);
    wsc__free(c->groups[i]);
    memmove(&c->groups[i], &c->groups[i + 1],
            (c->ngroups - i - 1) * sizeof *c->groups);
    c->ngroups--;
    return rc;
  }
  return WSC_ENOTFOUND;
}

int wsc_conn_handler_failed(wsc_conn *c, const char *reason) {
  LOOP_ONLY(c);
  return wsc__server_fail(c->srv, WSC_EHANDLER, "%s", reason ? reason : "");
}

int wsc_conn_close(wsc_conn *c, int code, const char *reason) {
  LOOP_ONLY(c);
  int ok = code == 1000 || code == 1001 || code == 1008 || code == 1011 ||
           (code >= 3000 && code <= 4999);
  if (!ok || (reason && strlen(reason) > 123)) return WSC_EINVAL;
  if (c->state != WSC__CONN_OPEN) return WSC_ECLOSED;
  wsc__conn_start_close(c, code, reason);
  return 0;
}
