/* Plain HTTP GET on the server's port: the AsyncAPI document and its page,
 * documents the program registered, files under http.static_dir; a 404 for
 * everything else. */
#ifndef WSC_LIB_HTTP_H
#define WSC_LIB_HTTP_H

#include <stddef.h>

struct lws;
struct wsc_server;

/* Per-request state, lws's per-session data of our protocol. */
typedef struct wsc__http_session {
  char *body; /* wsc__ allocation */
  size_t len, sent;
} wsc__http_session;

/* LWS_CALLBACK_HTTP: `uri` is the path. Returns what the callback returns. */
int wsc__http_request(struct wsc_server *srv, struct lws *wsi,
                      wsc__http_session *s, const char *uri);
/* LWS_CALLBACK_HTTP_WRITEABLE. */
int wsc__http_writeable(struct lws *wsi, wsc__http_session *s);
struct wsc__http_content;
/* Frees what a registered document holds. */
void wsc__http_content_free(struct wsc__http_content *c);

/* The request is over (LWS_CALLBACK_CLOSED_HTTP and the like). */
void wsc__http_release(wsc__http_session *s);

#endif
