#include "server.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <strings.h>

#include "alloc.h"
#include "consumer.h"
#include "fd_limit.h"
#include "http.h"
#include "message.h"
#include "relay.h"
#include "wschannels/auth.h"
#include "wschannels/error.h"

#define SRV_LOG(s, lvl, ...) wsc__log(&(s)->log, lvl, "server", __VA_ARGS__)

/* How long close waits for clients to acknowledge the 1001 close. */
#define GRACEFUL_CLOSE_MS 2000

void wsc_server_options_init(wsc_server_options *o) {
  memset(o, 0, sizeof *o);
  o->struct_size = sizeof *o;
  o->host = "127.0.0.1";
  o->port = 8000;
  o->max_message_bytes = 1u << 20;
  o->send_queue_bytes = 4u << 20;
  o->ping_interval = 20;
  o->idle_timeout = 60;
  o->log_level = WSC_LOG_ERROR;
}

int wsc__on_loop_thread(const wsc_server *srv) {
  uv_thread_t self = uv_thread_self();
  return uv_thread_equal(&self, &srv->loop_thread);
}

int wsc__server_fail(wsc_server *srv, int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(srv->errmsg, sizeof srv->errmsg, fmt, ap);
  va_end(ap);
  return rc;
}

static int errbuf_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    WSC__PRINTF(4, 5);
static int errbuf_fail(char *err, size_t errlen, int rc, const char *fmt,
                       ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return rc;
}

/* The open connections, oldest first. */
static wsc_conn *first_open(const wsc_server *srv) {
  return WSC__DLIST_ENTRY(srv->conns.head, wsc_conn, open);
}

static wsc_conn *next_open(const wsc_conn *c) {
  return WSC__DLIST_ENTRY(c->open.next, wsc_conn, open);
}

/* ---- flushing: one gathered write per dirty connection per loop turn ---- */

static void on_kick(uv_idle_t *h) { (void)h; }

/* Appends: a connection dirtied again after its write waits behind every
 * connection still waiting for its first (see on_flush). */
void wsc__server_mark_dirty(wsc_server *srv, wsc_conn *c) {
  if (c->in_dirty) return;
  c->in_dirty = 1;
  wsc__dlist_append(&srv->dirty, &c->dirty);
  /* An active idle handle makes the loop poll without blocking, so the
   * uv_check below runs this turn even if the frame came from a timer. */
  uv_idle_start(&srv->flush_kick, on_kick);
}

void wsc__server_unmark_dirty(wsc_server *srv, wsc_conn *c) {
  if (!c->in_dirty) return;
  wsc__dlist_unlink(&srv->dirty, &c->dirty);
  c->in_dirty = 0;
}

/* lws reads at most WSC__RX_BUFFER per connection per turn. A connection
 * that filled that read probably has more waiting (a busy sender), and
 * every message it holds is another frame for each recipient: flushing now
 * would spend one send() per recipient on a few frames, then again next
 * turn. So the flush waits while such sockets still have input, up to
 * WSC__FLUSH_DEFER_NS: the next turns read it, and the recipients get all
 * of it in one write each, as a server with big read buffers would do. */
void wsc__server_note_input(wsc_server *srv, wsc_conn *c, size_t len) {
  if (c->rx_turn != srv->turn) {
    c->rx_turn = srv->turn;
    c->rx_turn_bytes = 0;
  }
  size_t before = c->rx_turn_bytes;
  c->rx_turn_bytes += len + 6; /* a client frame's header with its mask */
  if (before < WSC__RX_BUFFER / 2 && c->rx_turn_bytes >= WSC__RX_BUFFER / 2 &&
      srv->nbusy_readers < WSC__BUSY_READERS)
    srv->busy_readers[srv->nbusy_readers++] = lws_get_socket_fd(c->wsi);
}

static int input_waiting(wsc_server *srv) {
  for (size_t i = 0; i < srv->nbusy_readers; i++) {
    int n = 0;
    if (ioctl(srv->busy_readers[i], FIONREAD, &n) == 0 && n > 0) return 1;
  }
  return 0;
}

static int flush_should_wait(wsc_server *srv) {
  int wait = 0;
  if (srv->dirty.head && srv->nbusy_readers && !srv->closing &&
      input_waiting(srv)) {
    uint64_t now = uv_hrtime();
    if (!srv->defer_since) srv->defer_since = now;
    wait = now - srv->defer_since < WSC__FLUSH_DEFER_NS;
  }
  if (!wait) srv->defer_since = 0;
  srv->nbusy_readers = 0;
  srv->turn++;
  return wait;
}

/* Writes dirty connections, oldest first, for at most WSC__FLUSH_SLICE_NS,
 * then lets the loop read again. A big group's writes thus form one sweep
 * over its members that the next messages join as they arrive: a message
 * reaches every member within one sweep, rather than waiting for the
 * current round of writes to end before its own round begins. */
static void on_flush(uv_check_t *h) {
  wsc_server *srv = h->data;
  wsc__listener_rest_check(&srv->rest, &srv->log);
  if (flush_should_wait(srv)) return; /* the kick stays on: no blocking */
  uint64_t until = uv_hrtime() + WSC__FLUSH_SLICE_NS;
  unsigned n = 0;
  while (srv->dirty.head) {
    if (++n % 16 == 0 && uv_hrtime() > until) break;
    wsc_conn *c = WSC__DLIST_ENTRY(srv->dirty.head, wsc_conn, dirty);
    wsc__server_unmark_dirty(srv, c);
    wsc__conn_flush(c);
  }
  if (!srv->dirty.head) uv_idle_stop(&srv->flush_kick); /* else: more next turn */
}

/* lws may use a POLLOUT to drain what it buffered without calling WRITEABLE
 * afterwards; then a connection with frames left would wait for a callback
 * that never comes. While any connection has output waiting, in our queue
 * or in lws's, this timer flushes it again and re-arms POLLOUT, so progress
 * never depends on one callback or one poll registration. */
static void on_retry(uv_timer_t *t) {
  wsc_server *srv = t->data;
  int any = 0;
  for (wsc_conn *c = first_open(srv); c; c = next_open(c))
    if (wsc__conn_has_output(c)) {
      c->writable_requested = 0;
      wsc__server_mark_dirty(srv, c);
      any = 1;
    } else if (c->lws_buffered) { /* only these: a look into lws is a miss */
      if ((c->lws_buffered = (unsigned char)lws_partial_buffered(c->wsi))) {
        lws_callback_on_writable(c->wsi);
        any = 1;
      }
    }
  if (!any) uv_timer_stop(t);
}

void wsc__server_retry_flush(wsc_server *srv) {
  if (!srv->closing && !uv_is_active((uv_handle_t *)&srv->reflush))
    uv_timer_start(&srv->reflush, on_retry, 10, 10);
}

unsigned char *wsc__server_scratch(wsc_server *srv, size_t n) {
  if (n + LWS_PRE > srv->scratch_cap) {
    unsigned char *p = wsc__realloc(srv->scratch, n + LWS_PRE);
    if (!p) return NULL;
    srv->scratch = p;
    srv->scratch_cap = n + LWS_PRE;
  }
  return srv->scratch + LWS_PRE;
}

/* ---- libwebsockets glue ------------------------------------------------- */

/* Refuses an upgrade with an HTTP/1.1 status. lws's own
 * lws_return_http_status answers "HTTP/1.0" at this stage, which strict
 * WebSocket clients (python-websockets) reject as "no valid HTTP response". */
static int refuse_why(wsc_server *srv, struct lws *wsi, int status, const char *why) {
  srv->counts.refused++;
  char buf[LWS_PRE + 512], body[256];
  char *p = buf + LWS_PRE;
  const char *text = wsc__http_status_text(status);
  int bl = snprintf(body, sizeof body, "%d %s%s%s\n", status, text,
                    why ? ": " : "", why ? why : "");
  int n = snprintf(p, sizeof buf - LWS_PRE,
                   "HTTP/1.1 %d %s\r\ncontent-type: text/plain\r\n"
                   "content-length: %d\r\nconnection: close\r\n\r\n%s",
                   status, text, bl, body);
  lws_write(wsi, (unsigned char *)p, (size_t)n, LWS_WRITE_RAW);
  return 1;
}

static int refuse(wsc_server *srv, struct lws *wsi, int status) {
  return refuse_why(srv, wsi, status, NULL);
}

/* The connection limits: a slot per accepted upgrade, in total and per
 * client address. Returns 0 (admitted: count it) or the HTTP status. */
static int admit(wsc_server *srv, wsc_conn *c, const char **why) {
  const wsc__config *cfg = &srv->cfg;
  if (cfg->max_connections && srv->nadmitted >= cfg->max_connections) {
    *why = "too many connections";
    return 503;
  }
  uintptr_t here = (uintptr_t)wsc__strmap_get(&srv->per_address, c->peer);
  if (cfg->max_connections_per_address &&
      here >= cfg->max_connections_per_address) {
    *why = "too many connections from this address";
    return 429;
  }
  if (here) {
    wsc__strmap_remove(&srv->per_address, c->peer);
  }
  if (wsc__strmap_put(&srv->per_address, c->peer, (void *)(here + 1))) {
    *why = "out of memory";
    return 500;
  }
  srv->nadmitted++;
  c->admitted = 1;
  return 0;
}

void wsc__server_release_slot(wsc_server *srv, const char *peer) {
  srv->nadmitted--;
  uintptr_t here = (uintptr_t)wsc__strmap_remove(&srv->per_address, peer);
  if (here > 1) wsc__strmap_put(&srv->per_address, peer, (void *)(here - 1));
}

/* The query string as lws hands it over: one fragment per "name=value",
 * already URL-decoded (so a value may hold a decoded '&' or '='). */
static int read_query(struct lws *wsi, wsc__kv **out, size_t *n) {
  wsc__kv *kv = NULL;
  size_t cnt = 0, cap = 0;
  char frag[1024];
  for (int i = 0;; i++) {
    int fl = lws_hdr_copy_fragment(wsi, frag, sizeof frag,
                                   WSI_TOKEN_HTTP_URI_ARGS, i);
    if (fl <= 0) break;
    char *eq = strchr(frag, '=');
    if (wsc__grow((void **)&kv, &cap, cnt + 1, sizeof *kv)) goto nomem;
    kv[cnt].key = eq ? wsc__strndup(frag, (size_t)(eq - frag)) : wsc__strdup(frag);
    kv[cnt].val = wsc__strdup(eq ? eq + 1 : "");
    cnt++;
    if (!kv[cnt - 1].key || !kv[cnt - 1].val) goto nomem;
  }
  *out = kv;
  *n = cnt;
  return 0;
nomem:
  wsc__kv_free(kv, cnt);
  return WSC_ENOMEM;
}

static int origin_allowed(wsc_server *srv, struct lws *wsi) {
  if (!srv->cfg.norigins) return 1;
  char origin[256];
  if (lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) <= 0)
    return 0;
  for (size_t i = 0; i < srv->cfg.norigins; i++)
    if (strcmp(srv->cfg.origins[i], origin) == 0) return 1;
  return 0;
}

/* A hook's answer as a refusal status: 0, or 400-599 (403 otherwise). */
static int as_status(int st) {
  return st == 0 ? 0 : st >= 400 && st <= 599 ? st : 403;
}

/* The built-in JWT authenticator: ?<query_param>= or Authorization: Bearer. */
static int jwt_login(wsc_conn *c) {
  const wsc_consumer *cons = c->consumer;
  char header[4096];
  const char *token = wsc_conn_get_query_param(c, cons->jwt_query_param);
  if (!token && wsc_conn_get_header(c, "authorization", header, sizeof header) > 7 &&
      strncasecmp(header, "Bearer ", 7) == 0)
    token = header + 7;
  if (!token || !*token)
    return wsc__conn_refuse(c, 401, "Authentication credentials were not provided.");
  cJSON *claims = NULL;
  char why[WSC__REFUSAL_MAX];
  int rc = wsc_jwt_verify(token, cons->jwt_secret, strlen(cons->jwt_secret),
                          cons->jwt_leeway, &claims, why, sizeof why);
  if (rc == WSC_ENOMEM) return 500;
  if (rc) return wsc__conn_refuse(c, 401, "%s", why);
  const cJSON *u = cJSON_GetObjectItemCaseSensitive(claims, cons->jwt_user_claim);
  char id[64];
  if (cJSON_IsNumber(u))
    snprintf(id, sizeof id, "%.0f", u->valuedouble);
  else if (cJSON_IsString(u) && u->valuestring[0])
    snprintf(id, sizeof id, "%s", u->valuestring);
  else
    id[0] = '\0';
  if (!id[0]) {
    cJSON_Delete(claims);
    return wsc__conn_refuse(c, 401, "Token has no \"%s\" claim", cons->jwt_user_claim);
  }
  rc = wsc_conn_set_user(c, id, claims);
  cJSON_Delete(claims);
  return rc ? 500 : 0;
}

/* Who may open this connection: the JWT authenticator, `authenticate`,
 * `permit`, then `may_join` for each static group. Returns 0 or the
 * refusal's HTTP status (c->refused_detail may say why). */
static int authorize(wsc_conn *c) {
  wsc_consumer *cons = c->consumer;
  const wsc_consumer_hooks *h = &cons->hooks;
  int st = 0;
  c->in_handshake = 1;
  wsc__conn_reason_reset(c);
  if (cons->jwt_secret) st = jwt_login(c);
  if (!st && h->authenticate) st = as_status(h->authenticate(c, cons->hooks_ud));
  if (!st && h->permit) st = as_status(h->permit(c, cons->hooks_ud));
  for (size_t i = 0; !st && h->may_join && i < cons->ngroups; i++)
    if (h->may_join(c, cons->groups[i], cons->hooks_ud))
      st = wsc__conn_refuse(c, 403, "You do not have permission to join '%s'.",
                            cons->groups[i]);
  c->in_handshake = 0;
  return st;
}

/* Whether the client asked for no subprotocol or for ours. lws 4.1 drops a
 * handshake whose subprotocols are all unknown without an HTTP answer, so
 * the client could not tell why. */
static int subprotocol_spoken(struct lws *wsi) {
  char list[256];
  int n = lws_hdr_copy(wsi, list, sizeof list, WSI_TOKEN_PROTOCOL);
  if (n <= 0) return n == 0 || lws_hdr_total_length(wsi, WSI_TOKEN_PROTOCOL) == 0;
  for (char *save = NULL, *p = strtok_r(list, ", \t", &save); p; p = strtok_r(NULL, ", \t", &save))
    if (strcmp(p, "wschannels") == 0) return 1;
  return 0;
}

static int on_confirm_upgrade(wsc_server *srv, struct lws *wsi) {
  if (srv->closing) return refuse(srv, wsi, 503);
  char uri[2048];
  if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0)
    return refuse(srv, wsi, 400);
  if (!origin_allowed(srv, wsi)) {
    SRV_LOG(srv, WSC_LOG_INFO, "%s: refused: Origin not allowed", uri);
    return refuse(srv, wsi, 403);
  }
  if (!subprotocol_spoken(wsi)) {
    SRV_LOG(srv, WSC_LOG_INFO, "%s: refused: unsupported subprotocol", uri);
    return refuse_why(srv, wsi, 400,
                      "unsupported Sec-WebSocket-Protocol: this server speaks "
                      "\"wschannels\" (or send none)");
  }
  wsc__kv *params;
  size_t np;
  const wsc__route *rt = wsc__router_match(&srv->router, uri, &params, &np);
  if (!rt) {
    SRV_LOG(srv, WSC_LOG_INFO, "%s: no route; 404", uri);
    return refuse(srv, wsi, 404);
  }
  wsc_consumer *cons = rt->target;
  wsc__layer *layer = NULL;
  for (size_t i = 0; i < srv->nlayers; i++)
    if (strcmp(srv->layers[i].host.alias, wsc__consumer_layer(cons)) == 0)
      layer = &srv->layers[i];
  wsc__kv *query = NULL;
  size_t nq = 0;
  wsc_conn *c = NULL;
  if (read_query(wsi, &query, &nq) == 0)
    c = wsc__conn_new(srv, cons, layer, uri, params, np, query, nq);
  if (!c) {
    wsc__kv_free(params, np);
    wsc__kv_free(query, nq);
    return refuse(srv, wsi, 500);
  }
  c->wsi = wsi;
  if (!lws_get_peer_simple(wsi, c->peer, sizeof c->peer)) c->peer[0] = '\0';
  if (strncmp(c->peer, "::ffff:", 7) == 0 && strchr(c->peer + 7, '.'))
    memmove(c->peer, c->peer + 7, strlen(c->peer + 7) + 1); /* IPv4 client */
  c->tokens = (double)srv->cfg.message_burst;
  c->tokens_at = uv_now(srv->loop);
  const char *why = NULL;
  int limit = admit(srv, c, &why);
  if (limit) {
    SRV_LOG(srv, WSC_LOG_WARN, "%s from %s: refused: %s (%d)", uri, c->peer,
            why, limit);
    wsc__conn_free(c);
    return refuse_why(srv, wsi, limit, why);
  }
  int st = authorize(c);
  if (st) {
    const char *why = c->refused_detail ? c->refused_detail : "";
    /* A server error's cause is for the log only, never the client. */
    const char *cause = st >= 500 ? srv->errmsg : "";
    SRV_LOG(srv, st >= 500 ? WSC_LOG_ERROR : WSC_LOG_INFO,
            "%s from %s: refused (%d%s%s)%s%s", uri, c->peer, st,
            why[0] ? ": " : "", why, cause[0] ? ": " : "", cause);
    if (!cons->send_auth_message) {
      char detail[WSC__REFUSAL_MAX];
      snprintf(detail, sizeof detail, "%s", why);
      wsc__conn_free(c);
      return refuse_why(srv, wsi, st, detail[0] ? detail : NULL);
    }
    c->refused_status = st; /* told after the handshake, then closed */
    srv->counts.refused++;
  }
  lws_set_opaque_user_data(wsi, c);
  return 0;
}

static int lws_cb(struct lws *wsi, enum lws_callback_reasons reason,
                  void *user, void *in, size_t len) {
  struct lws_context *ctx = lws_get_context(wsi);
  wsc_server *srv = ctx ? lws_context_user(ctx) : NULL;
  wsc_conn *c = wsi ? lws_get_opaque_user_data(wsi) : NULL;
  switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
      if (!srv || !wsc__fd_limit_refuse((int)(intptr_t)in, &srv->log)) return 0;
      srv->counts.refused++;
      return 1;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
      return srv ? on_confirm_upgrade(srv, wsi) : -1;
    case LWS_CALLBACK_HTTP:
      return srv && user ? wsc__http_request(srv, wsi, user, in) : -1;
    case LWS_CALLBACK_HTTP_WRITEABLE:
      return user ? wsc__http_writeable(wsi, user) : -1;
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
      if (!c) wsc__http_release(user);
      return lws_callback_http_dummy(wsi, reason, user, in, len);
    case LWS_CALLBACK_ESTABLISHED:
      return c ? wsc__conn_on_established(c, wsi) : -1;
    case LWS_CALLBACK_RECEIVE:
      return c ? wsc__conn_on_receive(c, in, len) : -1;
    case LWS_CALLBACK_RECEIVE_PONG:
      if (c) wsc__keepalive_heard(&srv->keepalive, c);
      return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
      return c ? wsc__conn_on_writeable(c) : 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
      return c ? wsc__conn_on_peer_close(c, in, len) : 0;
    case LWS_CALLBACK_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY:
      if (c) {
        lws_set_opaque_user_data(wsi, NULL);
        wsc__conn_on_closed(c, !srv->closing);
        wsc__conn_free(c);
      }
      return reason == LWS_CALLBACK_CLOSED
                 ? 0
                 : lws_callback_http_dummy(wsi, reason, user, in, len);
    default:
      return lws_callback_http_dummy(wsi, reason, user, in, len);
  }
}

/* The interface lws binds (NULL: every address; "localhost" is 127.0.0.1,
 * as for daphne). lws 4.1 on its default IPv6 socket reads an IPv4 address
 * given as the interface into the wrong field and binds [::], every address
 * of the machine: an IPv4 host gets an IPv4 socket (*family), which binds
 * that address. */
static const char *bind_iface(const wsc_server *srv, uint64_t *family) {
  const char *host = strcasecmp(srv->cfg.host, "localhost") ? srv->cfg.host : "127.0.0.1";
  struct in_addr a;
  *family = inet_pton(AF_INET, host, &a) == 1 ? LWS_SERVER_OPTION_DISABLE_IPV6 : 0;
  return strcmp(host, "0.0.0.0") ? host : NULL;
}

static int start_lws(wsc_server *srv, char *err, size_t errlen) {
  struct lws_context_creation_info info;
  memset(&info, 0, sizeof info);
  void *loops[1] = {srv->loop};
  uint64_t family;
  const char *iface = bind_iface(srv, &family);
  info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
                 LWS_SERVER_OPTION_VALIDATE_UTF8 | family;
  if (srv->cfg.tls_cert) info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
  info.foreign_loops = loops;
  info.user = srv;
  info.pcontext = &srv->ctx;
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.timeout_secs = (unsigned)srv->cfg.handshake_timeout;
  srv->ctx = lws_create_context(&info);
  if (!srv->ctx)
    return errbuf_fail(err, errlen, WSC_ENOMEM,
                       "cannot create the libwebsockets context (is the "
                       "libwebsockets-evlib-uv package installed?)");
  srv->protocols[0].name = "wschannels";
  srv->protocols[0].callback = lws_cb;
  srv->protocols[0].rx_buffer_size = WSC__RX_BUFFER;
  srv->protocols[0].per_session_data_size = sizeof(wsc__http_session);
  srv->protocols[0].tx_packet_size = WSC__TX_PACKET;
  /* Clients without Sec-WebSocket-Protocol must land on our protocol. */
  srv->pvo_default.name = "default";
  srv->pvo_default.value = "1";
  srv->pvo.name = "wschannels";
  srv->pvo.options = &srv->pvo_default;
  memset(&info, 0, sizeof info);
  info.port = srv->cfg.port;
  info.iface = iface;
  info.protocols = srv->protocols;
  info.pvo = &srv->pvo;
  info.vhost_name = "wschannels";
  info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | family;
  if (srv->cfg.tls_cert) { /* wss:// and https:// on this port */
    /* lws reads this flag from the vhost's info too, or serves plain text. */
    info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.ssl_cert_filepath = srv->cfg.tls_cert;
    info.ssl_private_key_filepath = srv->cfg.tls_key;
  }
  info.timeout_secs_ah_idle = (unsigned)srv->cfg.handshake_timeout;
  /* No validity timers of lws's (without a policy it pings after 300 s):
   * keepalive.c does that, without their cost. */
  static const lws_retry_bo_t no_validity_checks;
  info.retry_and_idle_policy = &no_validity_checks;
  srv->vhost = lws_create_vhost(srv->ctx, &info);
  if (!srv->vhost)
    return errbuf_fail(err, errlen, srv->cfg.tls_cert ? WSC_ECONFIG : WSC_EBIND,
                       srv->cfg.tls_cert
                           ? "cannot listen on %s:%d with TLS (address in use, "
                             "or tls.cert/tls.key are not a matching PEM "
                             "certificate and key)"
                           : "cannot listen on %s:%d (address in use, or not a "
                             "local address)",
                       srv->cfg.host, srv->cfg.port);
  srv->port = lws_get_vhost_listen_port(srv->vhost);
  return 0;
}

/* ---- close: a timer-driven sequence, the same on any loop ---------------- */

static void free_server(wsc_server *srv) {
  for (size_t i = 0; i < srv->nconsumers; i++)
    wsc_consumer_free(srv->consumers[i]);
  wsc__free(srv->consumers);
  wsc__free(srv->layers);
  wsc__router_clear(&srv->router);
  wsc__config_clear(&srv->cfg);
  wsc__free(srv->scratch);
  for (int i = 0; i < WSC__NCOMPLETIONS; i++)
    if (srv->completion[i]) wsc__frame_unref(srv->completion[i]);
  for (size_t i = 0; i < srv->ncontents; i++)
    wsc__http_content_free(&srv->contents[i]);
  wsc__free(srv->contents);
  wsc__strmap_clear(&srv->per_address, NULL);
  wsc__inbox_destroy(&srv->inbox);
  if (!srv->owns_loop) wsc__free(srv);
}

static void on_timer_closed(uv_handle_t *h) {
  wsc_server *srv = h->data;
  wsc_close_cb cb = srv->close_cb;
  void *ud = srv->close_ud;
  free_server(srv); /* frees srv unless the loop is ours (run frees it) */
  if (cb) cb(ud);
}

static void on_part_closed(void *ctx) {
  wsc_server *srv = ctx;
  srv->handles_open--;
}

static void on_handle_closed(uv_handle_t *h) { on_part_closed(h->data); }

static void on_layer_closed(void *arg) {
  wsc_server *srv = arg;
  srv->layers_open--;
}

static void close_tick(uv_timer_t *t) {
  wsc_server *srv = t->data;
  srv->close_ticks++;
  switch (srv->close_stage) {
    case 0: /* clients are closing with 1001 */
      if (srv->nconns && uv_now(srv->loop) - srv->close_started <
                             GRACEFUL_CLOSE_MS)
        return;
      srv->close_stage = 1;
      /* fall through */
    case 1:
      wsc__listener_rest_close(&srv->rest, on_handle_closed, srv); /* lws frees its poll */
      if (srv->ctx) lws_context_destroy(srv->ctx);
      for (size_t i = 0; i < srv->nlayers; i++) {
        srv->layers_open++;
        wsc__layer_close(&srv->layers[i], on_layer_closed, srv);
      }
      uv_close((uv_handle_t *)&srv->flush_check, on_handle_closed);
      uv_close((uv_handle_t *)&srv->flush_kick, on_handle_closed);
      uv_close((uv_handle_t *)&srv->reflush, on_handle_closed);
      wsc__inbox_close(&srv->inbox, on_part_closed);
      wsc__keepalive_close(&srv->keepalive, on_part_closed);
      srv->close_stage = 2;
      srv->close_ticks = 0;
      uv_timer_start(t, close_tick, 1, 1);
      return;
    case 2: /* our handles and layers close; lws frees on its own turn */
      if (srv->layers_open || srv->handles_open || srv->close_ticks < 2)
        return;
      /* On a foreign loop the first destroy leaves the context allocated
       * until it is destroyed again (warmcat/libwebsockets#1969). */
      if (srv->ctx) lws_context_destroy(srv->ctx);
      srv->close_stage = 3;
      srv->close_ticks = 0;
      return;
    default:
      if (srv->close_ticks < 2) return;
      uv_timer_stop(t);
      uv_close((uv_handle_t *)t, on_timer_closed);
      return;
  }
}

/* Starts the close sequence; `graceful` sends clients a 1001 first. */
static void begin_close(wsc_server *srv, int graceful) {
  srv->closing = 1;
  srv->close_started = uv_now(srv->loop);
  srv->close_stage = graceful ? 0 : 1;
  for (wsc_conn *c = first_open(srv); c; c = next_open(c))
    wsc__conn_start_close(c, 1001, "server shutting down");
  uv_timer_start(&srv->close_timer, close_tick, graceful ? 10 : 0,
                 graceful ? 10 : 1);
}

/* Runs a private loop until the close sequence is over, then frees. */
static void run_private_to_end(wsc_server *srv) {
  srv->running = 1;
  uv_run(srv->loop, UV_RUN_DEFAULT);
  while (uv_loop_close(srv->loop) == UV_EBUSY) uv_run(srv->loop, UV_RUN_NOWAIT);
  wsc__free(srv);
}

/* ---- creation ----------------------------------------------------------- */

static int check_options(const wsc_server_options *o, char *err,
                         size_t errlen) {
  if (o->struct_size < sizeof(wsc_server_options))
    return errbuf_fail(err, errlen, WSC_EINVAL,
                       "options: struct_size too small (use "
                       "wsc_server_options_init)");
  if (o->n_consumers && !o->consumers)
    return errbuf_fail(err, errlen, WSC_EINVAL, "options: consumers is NULL");
  for (size_t i = 0; i < o->n_consumers; i++) {
    if (!o->consumers[i])
      return errbuf_fail(err, errlen, WSC_EINVAL,
                         "options: consumers[%zu] is NULL", i);
    for (size_t j = 0; j < i; j++)
      if (strcmp(o->consumers[i]->name, o->consumers[j]->name) == 0)
        return errbuf_fail(err, errlen, WSC_EINVAL,
                           "options: two consumers are called '%s'",
                           o->consumers[i]->name);
  }
  return 0;
}

static wsc_consumer *find_consumer(const wsc_server_options *o,
                                   const char *name) {
  for (size_t i = 0; i < o->n_consumers; i++)
    if (strcmp(o->consumers[i]->name, name) == 0) return o->consumers[i];
  return NULL;
}

/* Cross-checks config and consumers, then seals the consumers. Pure: nothing
 * is on the loop yet. */
static int bind_consumers(wsc_server *srv, const wsc_server_options *o,
                          char *err, size_t errlen) {
  const wsc__config *cfg = &srv->cfg;
  for (size_t i = 0; i < cfg->nconsumers; i++)
    if (!find_consumer(o, cfg->consumers[i].name))
      return errbuf_fail(err, errlen, WSC_ECONFIG,
                         "config: consumers.%s: no consumer called '%s' was "
                         "given to this server",
                         cfg->consumers[i].name, cfg->consumers[i].name);
  for (size_t i = 0; i < o->n_consumers; i++) {
    wsc_consumer *c = o->consumers[i];
    const wsc__consumer_cfg *cc = wsc__config_consumer(cfg, c->name);
    const char *alias = cc && cc->layer ? cc->layer : wsc__consumer_layer(c);
    if (!wsc__config_layer(cfg, alias))
      return errbuf_fail(err, errlen, WSC_ECONFIG,
                         "config: %s%s%s: unknown layer alias '%s'",
                         cc && cc->layer ? "consumers." : "consumer '",
                         c->name, cc && cc->layer ? ".layer" : "'", alias);
    int rc = wsc__consumer_seal(c, cc);
    if (rc) return rc;
  }
  for (size_t i = 0; i < cfg->nroutes; i++) {
    const wsc__route_cfg *r = &cfg->routes[i];
    wsc_consumer *c = find_consumer(o, r->consumer);
    if (!c)
      return errbuf_fail(err, errlen, WSC_ECONFIG,
                         "config: %s.consumer: unknown consumer '%s'", r->where,
                         r->consumer);
    int rc = wsc__router_add(&srv->router, r->path, c);
    if (rc == WSC_EEXIST)
      return errbuf_fail(err, errlen, WSC_ECONFIG,
                         "config: %s.path: '%s' is routed twice", r->where,
                         r->path);
    if (rc == WSC_EINVAL)
      return errbuf_fail(err, errlen, WSC_ECONFIG,
                         "config: %s.path: bad pattern '%s' (parameters are "
                         "whole segments like {room_name})",
                         r->where, r->path);
    if (rc) return rc;
  }
  if (cfg->ping_interval && cfg->idle_timeout &&
      cfg->idle_timeout <= cfg->ping_interval)
    return errbuf_fail(err, errlen, WSC_ECONFIG,
                       "config: keepalive.idle_timeout: must be greater than "
                       "ping_interval");
  return 0;
}

static int make_completions(wsc_server *srv) {
  static const char *const text[WSC__NCOMPLETIONS] = {
      "{\"action\":\"complete\",\"payload\":null}",
      "{\"action\":\"group_complete\",\"payload\":null}",
      "{\"action\":\"event_complete\",\"payload\":null}"};
  for (int i = 0; i < WSC__NCOMPLETIONS; i++)
    if (!(srv->completion[i] = wsc__frame_new_text(text[i], strlen(text[i]))))
      return WSC_ENOMEM;
  return 0;
}

static int init_handles(wsc_server *srv) {
  int rc = wsc__inbox_init(&srv->inbox, srv->loop, srv);
  if (rc) return rc;
  wsc__keepalive_init(&srv->keepalive, srv->loop, srv->cfg.ping_interval,
                      srv->cfg.idle_timeout, srv);
  uv_check_init(srv->loop, &srv->flush_check);
  uv_idle_init(srv->loop, &srv->flush_kick);
  uv_timer_init(srv->loop, &srv->close_timer);
  uv_timer_init(srv->loop, &srv->reflush);
  srv->flush_check.data = srv->flush_kick.data = srv->close_timer.data = srv;
  srv->reflush.data = srv;
  wsc__listener_rest_init(&srv->rest, srv->loop, 0); /* the port is known later */
  srv->handles_open = 6;
  uv_check_start(&srv->flush_check, on_flush);
  return 0;
}

int wsc_server_new(const wsc_server_options *opts, wsc_server **out,
                   char *err, size_t errlen) {
  if (err && errlen) err[0] = '\0';
  if (!opts || !out)
    return errbuf_fail(err, errlen, WSC_EINVAL, "options: NULL");
  *out = NULL;
  int rc = check_options(opts, err, errlen);
  if (rc) return rc;
  wsc_server *srv = wsc__calloc(1, sizeof *srv);
  if (!srv) return WSC_ENOMEM;
  srv->loop_thread = uv_thread_self();
  srv->log = wsc__default_logger();
  if (opts->logger) {
    srv->log.fn = opts->logger;
    srv->log.level = opts->log_level;
    srv->log.user_data = opts->log_user_data;
  }
  wsc__log_bridge_lws();
  rc = wsc__config_load(&srv->cfg, opts, err, errlen);
  if (!rc) rc = bind_consumers(srv, opts, err, errlen);
  if (!rc && !opts->loop && uv_loop_init(&srv->own_loop)) rc = WSC_ENOMEM;
  if (rc) { /* nothing is on any loop yet */
    wsc__router_clear(&srv->router);
    wsc__config_clear(&srv->cfg);
    wsc__free(srv);
    return rc;
  }
  srv->owns_loop = !opts->loop;
  srv->loop = opts->loop ? opts->loop : &srv->own_loop;
  if ((rc = init_handles(srv))) {
    wsc__router_clear(&srv->router);
    wsc__config_clear(&srv->cfg);
    if (srv->owns_loop) uv_loop_close(&srv->own_loop);
    wsc__free(srv);
    return rc;
  }
  srv->layers = wsc__calloc(srv->cfg.nlayers, sizeof *srv->layers);
  if (!srv->layers) rc = WSC_ENOMEM;
  if (!rc) rc = make_completions(srv);
  for (size_t i = 0; !rc && i < srv->cfg.nlayers; i++) {
    rc = wsc__layer_open(&srv->layers[i], &srv->cfg.layers[i], srv->loop,
                         wsc__relay_deliver, srv, &srv->log, err, errlen);
    if (!rc) srv->nlayers = i + 1;
  }
  if (!rc) rc = start_lws(srv, err, errlen);
  srv->rest.port = srv->port;
  if (rc) {
    /* Handles exist: unwind through the close sequence, on the loop. The
     * caller keeps its consumers. */
    srv->nconsumers = 0;
    begin_close(srv, 0);
    if (srv->owns_loop) run_private_to_end(srv);
    return rc;
  }
  srv->consumers = wsc__calloc(opts->n_consumers ? opts->n_consumers : 1,
                               sizeof *srv->consumers);
  if (!srv->consumers) {
    begin_close(srv, 0);
    if (srv->owns_loop) run_private_to_end(srv);
    return WSC_ENOMEM;
  }
  memcpy(srv->consumers, opts->consumers,
         opts->n_consumers * sizeof *srv->consumers);
  srv->nconsumers = opts->n_consumers;
  SRV_LOG(srv, WSC_LOG_INFO, "listening on %s:%d", srv->cfg.host, srv->port);
  *out = srv;
  return 0;
}

/* ---- public API ----------------------------------------------------------- */

int wsc_server_get_port(const wsc_server *srv) { return srv ? srv->port : 0; }
uv_loop_t *wsc_server_get_loop(const wsc_server *srv) {
  return srv ? srv->loop : NULL;
}
size_t wsc_server_queued_bytes(const wsc_server *srv) {
  if (!srv || !wsc__on_loop_thread(srv)) return 0;
  size_t n = 0;
  for (const wsc_conn *c = first_open(srv); c; c = next_open(c)) n += c->qbytes;
  return n;
}

size_t wsc_server_connection_count(const wsc_server *srv) {
  return srv ? srv->nconns : 0;
}
const char *wsc_server_errmsg(const wsc_server *srv) {
  return srv ? srv->errmsg : "";
}
void wsc_server_set_data(wsc_server *srv, void *data) {
  if (srv) srv->data = data;
}
void *wsc_server_get_data(const wsc_server *srv) {
  return srv ? srv->data : NULL;
}

int wsc_server_run(wsc_server *srv) {
  if (!srv || !srv->owns_loop || srv->running) return WSC_EINVAL;
  srv->loop_thread = uv_thread_self();
  run_private_to_end(srv);
  return 0;
}

int wsc_server_close(wsc_server *srv, wsc_close_cb close_cb, void *user_data) {
  if (!srv) return WSC_EINVAL;
  if (!wsc__on_loop_thread(srv)) return WSC_ETHREAD;
  if (srv->closing) return WSC_ECLOSED;
  srv->close_cb = close_cb;
  srv->close_ud = user_data;
  begin_close(srv, 1);
  if (srv->owns_loop && !srv->running) run_private_to_end(srv);
  return 0;
}

static wsc__layer *find_layer(wsc_server *srv, const char *alias) {
  if (!alias) alias = "default";
  for (size_t i = 0; i < srv->nlayers; i++)
    if (srv->layers[i].alias && strcmp(srv->layers[i].alias, alias) == 0)
      return &srv->layers[i];
  return NULL;
}

/* Finds the layer for a loop-thread call, setting errmsg when there is none. */
static int layer_for_call(wsc_server *srv, const char *alias, wsc__layer **l) {
  if (!srv) return WSC_EINVAL;
  if (!wsc__on_loop_thread(srv)) return WSC_ETHREAD;
  if (srv->closing) return wsc__server_fail(srv, WSC_ECLOSED, "server closing");
  if (!(*l = find_layer(srv, alias)))
    return wsc__server_fail(srv, WSC_ENOTFOUND, "no layer alias '%s'",
                            alias ? alias : "default");
  return 0;
}

static int check_channel(wsc_server *srv, const char *channel) {
  if (wsc_channel_name_is_valid(channel)) return 0;
  return wsc__server_fail(srv, WSC_EBADNAME, "invalid channel name '%.120s'",
                          channel ? channel : "(null)");
}

int wsc_server_group_add(wsc_server *srv, const char *alias, const char *group,
                         const char *channel) {
  wsc__layer *l;
  int rc = layer_for_call(srv, alias, &l);
  if (!rc) rc = check_channel(srv, channel);
  if (!rc)
    rc = wsc__layer_group_add(l, group, channel, srv->errmsg,
                              sizeof srv->errmsg);
  return rc;
}

int wsc_server_group_discard(wsc_server *srv, const char *alias,
                             const char *group, const char *channel) {
  wsc__layer *l;
  int rc = layer_for_call(srv, alias, &l);
  if (!rc) rc = check_channel(srv, channel);
  if (!rc && !wsc_group_name_is_valid(group))
    rc = wsc__server_fail(srv, WSC_EBADNAME, "invalid group name '%.120s'",
                          group ? group : "(null)");
  if (!rc) rc = wsc__layer_group_discard(l, group, channel);
  return rc;
}

enum send_kind { SEND_EVENT, BROADCAST_EVENT, BROADCAST_MESSAGE };

static int server_send(wsc_server *srv, enum send_kind kind,
                       const char *alias, const char *target,
                       const char *json, size_t len, wsc_result_fn cb,
                       void *user_data) {
  if (!target || !json) return WSC_EINVAL;
  wsc__layer *l;
  int rc = layer_for_call(srv, alias, &l);
  if (rc) return rc;
  static const wsc__send_kind kinds[] = {WSC__EVENT_TO_CHANNEL,
                                         WSC__EVENT_TO_GROUP,
                                         WSC__MESSAGE_TO_GROUP};
  return wsc__layer_send_json(l, kinds[kind], target, json, len, cb,
                              user_data, srv->errmsg, sizeof srv->errmsg);
}

int wsc_server_send_event(wsc_server *srv, const char *alias,
                          const char *channel, const char *json, size_t len) {
  return server_send(srv, SEND_EVENT, alias, channel, json, len, NULL, NULL);
}
int wsc_server_broadcast_event(wsc_server *srv, const char *alias,
                               const char *group, const char *json,
                               size_t len) {
  return server_send(srv, BROADCAST_EVENT, alias, group, json, len, NULL, NULL);
}
int wsc_server_broadcast_message(wsc_server *srv, const char *alias,
                                 const char *group, const char *json,
                                 size_t len) {
  return server_send(srv, BROADCAST_MESSAGE, alias, group, json, len, NULL,
                     NULL);
}
int wsc_server_send_event_cb(wsc_server *srv, const char *alias,
                             const char *channel, const char *json,
                             size_t len, wsc_result_fn cb, void *user_data) {
  return server_send(srv, SEND_EVENT, alias, channel, json, len, cb, user_data);
}
int wsc_server_broadcast_event_cb(wsc_server *srv, const char *alias,
                                  const char *group, const char *json,
                                  size_t len, wsc_result_fn cb,
                                  void *user_data) {
  return server_send(srv, BROADCAST_EVENT, alias, group, json, len, cb,
                     user_data);
}
int wsc_server_broadcast_message_cb(wsc_server *srv, const char *alias,
                                    const char *group, const char *json,
                                    size_t len, wsc_result_fn cb,
                                    void *user_data) {
  return server_send(srv, BROADCAST_MESSAGE, alias, group, json, len, cb,
                     user_data);
}

/* ---- thread-safe entry points ------------------------------------------ */

typedef struct post_item {
  wsc__inbox_item base;
  wsc_post_fn fn;
  void *user_data;
} post_item;

static void run_post(wsc__inbox_item *it, void *ctx) {
  post_item *p = (post_item *)it;
  p->fn(ctx, p->user_data);
}

int wsc_server_post(wsc_server *srv, wsc_post_fn fn, void *user_data) {
  if (!srv || !fn) return WSC_EINVAL;
  post_item *p = wsc__calloc(1, sizeof *p);
  if (!p) return WSC_ENOMEM;
  p->base.run = run_post;
  p->fn = fn;
  p->user_data = user_data;
  int rc = wsc__inbox_post(&srv->inbox, &p->base);
  if (rc) wsc__free(p);
  return rc;
}

typedef struct send_item {
  wsc__inbox_item base;
  enum send_kind kind;
  const char *alias; /* NULL or into `buf` */
  const char *target;
  size_t len;
  char buf[]; /* json, target, alias */
} send_item;

static void run_send(wsc__inbox_item *it, void *ctx) {
  send_item *s = (send_item *)it;
  wsc_server *srv = ctx;
  int rc = server_send(srv, s->kind, s->alias, s->target, s->buf, s->len,
                       NULL, NULL);
  if (rc)
    SRV_LOG(srv, WSC_LOG_ERROR, "thread-safe %s to '%s' failed: %s",
            s->kind == SEND_EVENT ? "send_event" : "broadcast", s->target,
            srv->errmsg);
}

static int post_send(wsc_server *srv, enum send_kind kind, const char *alias,
                     const char *target, const char *json, size_t len) {
  if (!srv || !target || !json) return WSC_EINVAL;
  size_t tl = strlen(target) + 1, al = alias ? strlen(alias) + 1 : 0;
  if (len > ((size_t)-1) / 2) return WSC_EINVAL;
  send_item *s = wsc__malloc(sizeof *s + len + 1 + tl + al);
  if (!s) return WSC_ENOMEM;
  s->base.run = run_send;
  s->kind = kind;
  s->len = len;
  memcpy(s->buf, json, len);
  s->buf[len] = '\0';
  char *t = s->buf + len + 1;
  memcpy(t, target, tl);
  s->target = t;
  s->alias = alias ? memcpy(t + tl, alias, al) : NULL;
  int rc = wsc__inbox_post(&srv->inbox, &s->base);
  if (rc) wsc__free(s);
  return rc;
}

int wsc_server_send_event_threadsafe(wsc_server *srv, const char *alias,
                                     const char *channel, const char *json,
                                     size_t len) {
  return post_send(srv, SEND_EVENT, alias, channel, json, len);
}
int wsc_server_broadcast_event_threadsafe(wsc_server *srv, const char *alias,
                                          const char *group, const char *json,
                                          size_t len) {
  return post_send(srv, BROADCAST_EVENT, alias, group, json, len);
}
int wsc_server_broadcast_message_threadsafe(wsc_server *srv,
                                            const char *alias,
                                            const char *group,
                                            const char *json, size_t len) {
  return post_send(srv, BROADCAST_MESSAGE, alias, group, json, len);
}

static void run_stop(wsc_server *srv, void *ud) {
  (void)ud;
  if (!srv->closing) wsc_server_close(srv, NULL, NULL);
}

int wsc_server_stop_threadsafe(wsc_server *srv) {
  return wsc_server_post(srv, run_stop, NULL);
}
