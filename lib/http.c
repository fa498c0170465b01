#include "http.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <libwebsockets.h>

#include "alloc.h"
#include "asyncapi.h"
#include "message.h"
#include "metrics.h"
#include "server.h"
#include "wschannels/error.h"

/* lib/asyncapi_page.html, embedded by cmake/embed.cmake. */
extern const unsigned char wsc__asyncapi_page[];
extern const size_t wsc__asyncapi_page_len;

#define CHUNK 16384
#define MAX_STATIC_FILE (16u << 20)

/* Appends `s` (n bytes) to the body. */
static int put(wsc__http_session *s, size_t *cap, const char *p, size_t n) {
  if (wsc__grow((void **)&s->body, cap, s->len + n + 1, 1)) return -1;
  memcpy(s->body + s->len, p, n);
  s->len += n;
  s->body[s->len] = '\0';
  return 0;
}

static int put_html_escaped(wsc__http_session *s, size_t *cap, const char *t) {
  for (; *t; t++) {
    const char *r = *t == '<' ? "&lt;" : *t == '>' ? "&gt;" : *t == '&' ? "&amp;"
                  : *t == '"' ? "&quot;" : NULL;
    if (put(s, cap, r ? r : t, r ? strlen(r) : 1)) return -1;
  }
  return 0;
}

/* The page with {{TITLE}} and {{SCHEMA_URL}} filled in. */
static int page(wsc_server *srv, wsc__http_session *s) {
  const char *tpl = (const char *)wsc__asyncapi_page, *end = tpl + wsc__asyncapi_page_len;
  char url[300];
  snprintf(url, sizeof url, "%s/schema/",
           strcmp(srv->cfg.asyncapi.path, "/") == 0 ? "" : srv->cfg.asyncapi.path);
  size_t cap = 0;
  while (tpl < end) {
    const char *m = strstr(tpl, "{{");
    if (!m) m = end;
    if (put(s, &cap, tpl, (size_t)(m - tpl))) return -1;
    if (m == end) break;
    if (strncmp(m, "{{TITLE}}", 9) == 0) {
      if (put_html_escaped(s, &cap, srv->cfg.asyncapi.title)) return -1;
      tpl = m + 9;
    } else if (strncmp(m, "{{SCHEMA_URL}}", 14) == 0) {
      if (put_html_escaped(s, &cap, url)) return -1;
      tpl = m + 14;
    } else {
      if (put(s, &cap, m, 2)) return -1;
      tpl = m + 2;
    }
  }
  return 0;
}

static int schema(wsc_server *srv, struct lws *wsi, wsc__http_session *s) {
  char host[256] = "";
  if (lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST) <= 0) host[0] = '\0';
  size_t n = 0;
  char *doc = wsc__asyncapi_json(srv, host, &n);
  if (!doc) return -1;
  size_t cap = 0;
  int rc = put(s, &cap, doc, n);
  cJSON_free(doc);
  return rc;
}

/* "/asyncapi/docs/" under prefix "/asyncapi" -> "docs"; NULL if outside. */
static const char *under(const char *uri, const char *prefix) {
  size_t n = strcmp(prefix, "/") == 0 ? 0 : strlen(prefix);
  if (strncmp(uri, prefix, n) != 0) return NULL;
  const char *rest = uri + n;
  if (*rest && *rest != '/') return NULL;
  while (*rest == '/') rest++;
  return rest;
}

static int is(const char *rest, const char *name) {
  size_t n = strlen(name);
  return strncmp(rest, name, n) == 0 && (rest[n] == '\0' || strcmp(rest + n, "/") == 0);
}

static const wsc__http_content *registered(const wsc_server *srv,
                                           const char *uri) {
  for (size_t i = 0; i < srv->ncontents; i++)
    if (strcmp(srv->contents[i].path, uri) == 0) return &srv->contents[i];
  return NULL;
}

static const char *type_of(const char *file) {
  static const char *const types[][2] = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},   {".json", "application/json"},
      {".svg", "image/svg+xml"},             {".png", "image/png"},
      {".ico", "image/x-icon"},              {".txt", "text/plain; charset=utf-8"}};
  const char *dot = strrchr(file, '.');
  for (size_t i = 0; dot && i < sizeof types / sizeof *types; i++)
    if (strcmp(dot, types[i][0]) == 0) return types[i][1];
  return "application/octet-stream";
}

/* A file under http.static_dir. Paths with "..", hidden names or
 * backslashes are not served. Returns 0 (found, read into the body),
 * 1 (not found), -1 (out of memory). */
static int static_file(const wsc_server *srv, const char *uri,
                       wsc__http_session *s, const char **type) {
  if (!srv->cfg.static_dir || uri[0] != '/' || strstr(uri, "/.") ||
      strchr(uri, '\\'))
    return 1;
  char path[1024];
  size_t n = strlen(uri);
  int w = snprintf(path, sizeof path, "%s%s%s", srv->cfg.static_dir, uri,
                   uri[n - 1] == '/' ? srv->cfg.static_index : "");
  if (w < 0 || (size_t)w >= sizeof path) return 1;
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
      (size_t)st.st_size > MAX_STATIC_FILE)
    return 1;
  FILE *f = fopen(path, "rb");
  if (!f) return 1;
  size_t cap = 0;
  char buf[8192];
  int rc = 0;
  while (!rc && (n = fread(buf, 1, sizeof buf, f)) > 0)
    if (put(s, &cap, buf, n)) rc = -1;
  fclose(f);
  if (!rc && !s->body && put(s, &cap, "", 0)) rc = -1; /* an empty file */
  *type = type_of(path);
  return rc;
}

static int websocket_route(const wsc_server *srv, const char *uri) {
  wsc__kv *params;
  size_t n;
  if (!wsc__router_match(&srv->router, uri, &params, &n)) return 0;
  wsc__kv_free(params, n);
  return 1;
}

int wsc__http_request(wsc_server *srv, struct lws *wsi, wsc__http_session *s,
                      const char *uri) {
  int status = 200, rc = 0;
  const char *type = "text/html; charset=utf-8";
  const char *rest = srv->cfg.asyncapi.enabled ? under(uri, srv->cfg.asyncapi.path) : NULL;
  const wsc__http_content *doc;
  memset(s, 0, sizeof *s);
  if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0) {
    status = 405; /* only GET */
  } else if (rest && is(rest, "schema")) {
    type = "application/json";
    rc = schema(srv, wsi, s);
  } else if (rest && (*rest == '\0' || is(rest, "docs"))) {
    rc = page(srv, s);
  } else if (srv->cfg.metrics_path && strcmp(uri, srv->cfg.metrics_path) == 0) {
    type = "text/plain; version=0.0.4; charset=utf-8";
    s->body = wsc__metrics_text(srv, &s->len);
    rc = s->body ? 0 : -1;
  } else if ((doc = registered(srv, uri))) {
    size_t cap = 0;
    type = doc->type;
    rc = put(s, &cap, doc->body, doc->len);
  } else if ((rc = static_file(srv, uri, s, &type)) == 1) {
    rc = 0;
    status = websocket_route(srv, uri) ? 426 : 404;
  }
  if (rc) return -1;
  if (status != 200) {
    char text[160];
    int n = snprintf(text, sizeof text, "%d %s\n", status,
                     wsc__http_status_text(status));
    if (status == 426) /* a browser's address bar, or curl */
      n += snprintf(text + n, sizeof text - (size_t)n,
                    "This path is a WebSocket endpoint: connect to it with a "
                    "WebSocket client (ws:// or wss://).\n");
    size_t cap = 0;
    type = "text/plain";
    if (put(s, &cap, text, (size_t)n)) return -1;
  }
  unsigned char buf[LWS_PRE + 512], *start = buf + LWS_PRE, *p = start,
                                    *end = buf + sizeof buf - 1;
  if (lws_add_http_common_headers(wsi, (unsigned)status, type, s->len, &p, end) ||
      lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                  (const unsigned char *)"no-store", 8, &p, end) ||
      (status == 426 && /* RFC 9110: a 426 names the protocol to upgrade to */
       lws_add_http_header_by_name(wsi, (const unsigned char *)"upgrade:",
                                   (const unsigned char *)"websocket", 9, &p, end)) ||
      lws_finalize_write_http_header(wsi, start, &p, end))
    return 1;
  lws_callback_on_writable(wsi);
  return 0;
}

int wsc__http_writeable(struct lws *wsi, wsc__http_session *s) {
  if (!s->body) return -1;
  unsigned char buf[LWS_PRE + CHUNK];
  size_t n = s->len - s->sent < CHUNK ? s->len - s->sent : CHUNK;
  memcpy(buf + LWS_PRE, s->body + s->sent, n);
  int last = s->sent + n == s->len;
  if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
    return -1;
  s->sent += n;
  if (!last) {
    lws_callback_on_writable(wsi);
    return 0;
  }
  wsc__http_release(s);
  return lws_http_transaction_completed(wsi) ? -1 : 0;
}

void wsc__http_release(wsc__http_session *s) {
  if (!s) return;
  wsc__free(s->body);
  s->body = NULL;
  s->len = s->sent = 0;
}

int wsc_server_add_http_content(wsc_server *srv, const char *path,
                                const char *content_type, const void *body,
                                size_t len) {
  if (!srv || !path || path[0] != '/' || !content_type || (len && !body))
    return WSC_EINVAL;
  if (!wsc__on_loop_thread(srv)) return WSC_ETHREAD;
  wsc__http_content c = {wsc__strdup(path), wsc__strdup(content_type),
                         wsc__malloc(len + 1), len};
  if (!c.path || !c.type || !c.body) {
    wsc__http_content_free(&c);
    return WSC_ENOMEM;
  }
  if (len) memcpy(c.body, body, len);
  for (size_t i = 0; i < srv->ncontents; i++)
    if (strcmp(srv->contents[i].path, path) == 0) {
      wsc__http_content_free(&srv->contents[i]);
      srv->contents[i] = c;
      return 0;
    }
  if (wsc__grow((void **)&srv->contents, &srv->contents_cap, srv->ncontents + 1,
                sizeof c)) {
    wsc__http_content_free(&c);
    return WSC_ENOMEM;
  }
  srv->contents[srv->ncontents++] = c;
  return 0;
}

void wsc__http_content_free(wsc__http_content *c) {
  wsc__free(c->path);
  wsc__free(c->type);
  wsc__free(c->body);
}
