/* A WebSocket connection: its send queue (pre-framed, shared frames written
 * in one gathered raw write per loop turn), its receive buffer, and the
 * dispatch of complete messages to the consumer's handlers. */
#ifndef WSC_LIB_CONN_H
#define WSC_LIB_CONN_H

#include <cjson/cJSON.h>

#include "dlist.h"
#include "frame.h"
#include "keepalive.h"
#include "log.h"
#include "router.h"
#include "wschannels/conn.h"
#include "wschannels/layer.h"

struct lws;
struct wsc__layer;

typedef enum wsc__conn_state {
  WSC__CONN_PENDING, /* handshake under way */
  WSC__CONN_OPEN,
  WSC__CONN_CLOSING, /* wsc_conn_close called; flushing */
  WSC__CONN_CLOSED
} wsc__conn_state;

struct wsc_conn {
  /* What every broadcast touches for every recipient comes first, in the
   * same two cache lines: fan-out speed is bounded by these misses. */
  wsc_server *srv;
  struct lws *wsi;
  wsc_consumer *consumer;
  wsc__frame **q; /* ring of frames waiting to be written */
  uint32_t qhead, qlen, qcap;
  wsc__conn_state state;
  size_t qbytes;
  wsc__dlink dirty; /* in the server's to-flush list (in_dirty) */
  unsigned char in_dirty, writable_requested, close_sent;
  unsigned char lws_buffered; /* lws held output of ours after our last write */
  struct wsc__layer *layer;
  wsc__dlink open; /* in the server's open connections */
  wsc__keepalive_entry keepalive;
  char channel[WSC_NAME_MAX + 1];
  char *path;
  wsc__kv *params, *query;
  size_t nparams, nquery;
  char **groups;
  size_t ngroups, groups_cap;
  int refused_status; /* authenticate refused; told after the handshake */
  char *refused_detail; /* why, for the client (NULL: the default) */
  int admitted;        /* counted against the connection limits */
  char peer[48];       /* the client's address (INET6_ADDRSTRLEN) */
  int in_handshake;    /* authenticate is running: headers are readable */
  char *user_id;       /* wsc_conn_set_user */
  cJSON *claims;
  double tokens;       /* message rate: token bucket */
  uint64_t tokens_at;  /* uv_now of the last refill */
  int close_code;     /* what we send, or what the peer sent */
  char *close_reason; /* NULL: none */
  unsigned char *rx;
  size_t rxlen, rxcap;
  uint64_t rx_turn;     /* the server's turn of rx_turn_bytes */
  size_t rx_turn_bytes; /* received in that turn, framing included */
  int rx_binary;
  void *data;
  void (*free_data)(void *);
  const char *handling; /* the client message's action while its handler runs */
  wsc__dlist outcomes;  /* of sends made while handling (outcome.h) */
};

/* Room for why a handshake is refused, told to the client. */
#define WSC__REFUSAL_MAX 160
/* A close frame's payload is at most 125 bytes: the code, then the text. */
#define WSC__CLOSE_REASON_MAX 123
/* Records why the handshake is refused (printf-style, at most
 * WSC__REFUSAL_MAX bytes, allocated only then: accepted connections carry no
 * buffer for it) and returns `status`. Out of memory, the default text. */
int wsc__conn_refuse(wsc_conn *c, int status, const char *fmt, ...)
    WSC__PRINTF(3, 4);

/* Allocates a pending connection; takes `params` and `query` on success. */
wsc_conn *wsc__conn_new(wsc_server *srv, wsc_consumer *consumer,
                        struct wsc__layer *layer, const char *path,
                        wsc__kv *params, size_t nparams, wsc__kv *query,
                        size_t nquery);
/* Frees everything (the connection must be unlinked already). */
void wsc__conn_free(wsc_conn *c);

/* lws events, from the server's protocol callback. Return -1 to make lws
 * close the connection. */
int wsc__conn_on_established(wsc_conn *c, struct lws *wsi);
int wsc__conn_on_receive(wsc_conn *c, const void *in, size_t len);
int wsc__conn_on_writeable(wsc_conn *c);
int wsc__conn_on_peer_close(wsc_conn *c, const void *in, size_t len);
/* The connection is gone: hooks, groups, channel. `notify` runs
 * on_disconnect (not once the server is closing). */
void wsc__conn_on_closed(wsc_conn *c, int notify);

/* The completion frames of send_completion, shared per server. */
typedef enum wsc__completion {
  WSC__COMPLETE,       /* after each client frame */
  WSC__GROUP_COMPLETE, /* after each relayed group message */
  WSC__EVENT_COMPLETE, /* after each channel-layer event */
  WSC__NCOMPLETIONS
} wsc__completion;

/* Send one JSON text to the client: camelized and logged as the consumer's
 * options say. Returns as wsc_conn_send. */
int wsc__conn_send_text(wsc_conn *c, const char *json, size_t len);
/* The same with a cJSON-allocated string, which it frees (NULL: ENOMEM). */
int wsc__conn_send_owned(wsc_conn *c, char *s);
/* Queue a completion frame if the consumer has send_completion on. */
void wsc__conn_send_completion(wsc_conn *c, wsc__completion which);
/* Log a frame received or sent (`dir`), when the consumer logs its action.
 * `parsed` (may be NULL) is the frame already parsed. */
void wsc__conn_log_frame(wsc_conn *c, const char *dir, const char *text,
                         size_t len, const cJSON *parsed);

/* Queue a shared frame (takes a new reference). WSC_ECLOSED, WSC_EAGAIN. */
int wsc__conn_queue(wsc_conn *c, wsc__frame *f);
/* Write what is queued; called from the server's uv_check. */
void wsc__conn_flush(wsc_conn *c);
/* 1 while frames or our close frame wait in this connection's own queue. */
int wsc__conn_has_output(const wsc_conn *c);
/* Route a channel-layer event to the consumer's event handler. */
void wsc__conn_deliver_event(wsc_conn *c, const cJSON *event);

/* Close without checks (server shutdown, protocol errors). */
void wsc__conn_start_close(wsc_conn *c, int code, const char *reason);
/* Before a handler or hook runs, so that the reason its failure is logged
 * with is the one it gave (wsc_conn_handler_failed) or a library call inside
 * it recorded, never an earlier failure's. */
void wsc__conn_reason_reset(wsc_conn *c);
/* Logs at ERROR "<channel>: <hook> ['<name>'] failed: <reason><then>", the
 * reason being the one recorded while the hook ran, else "returned <rc>". */
void wsc__conn_log_failure(wsc_conn *c, const char *hook, const char *name,
                           int rc, const char *then);

#endif
