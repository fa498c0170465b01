/* The server object: lifecycle, the lws context on the loop, routes,
 * consumers, layers, and the per-loop-turn flush of dirty connections. */
#ifndef WSC_LIB_SERVER_H
#define WSC_LIB_SERVER_H

#include <uv.h>

#include <libwebsockets.h>

#include "config.h"
#include "fd_limit.h"
#include "conn.h"
#include "inbox.h"
#include "keepalive.h"
#include "layer.h"
#include "log.h"
#include "router.h"
#include "stats.h"
#include "strmap.h"
#include "wschannels/server.h"

/* Largest gathered write: lws caps each send at tx_packet_size. */
#define WSC__TX_PACKET 65536
/* lws reads at most this much per connection per loop turn, and allocates it
 * per connection: small keeps idle connections cheap (see busy_readers). */
#define WSC__RX_BUFFER 512
/* The longest a flush waits for connections that still have input to read. */
#define WSC__FLUSH_DEFER_NS 1000000
/* The longest one loop turn spends writing before it reads again. */
#define WSC__FLUSH_SLICE_NS 1000000
#define WSC__BUSY_READERS 32

/* A document registered with wsc_server_add_http_content. */
typedef struct wsc__http_content {
  char *path, *type, *body;
  size_t len;
} wsc__http_content;

struct wsc_server {
  uv_loop_t *loop;
  uv_loop_t own_loop;
  int owns_loop;
  int running; /* inside wsc_server_run */
  uv_thread_t loop_thread;
  struct lws_context *ctx;
  struct lws_vhost *vhost;
  struct lws_protocols protocols[2];
  struct lws_protocol_vhost_options pvo, pvo_default;
  int port;
  wsc__config cfg;
  wsc__logger log;
  wsc_consumer **consumers;
  size_t nconsumers;
  wsc__router router;
  wsc__layer *layers;
  size_t nlayers;
  wsc__dlist conns; /* open connections (wsc_conn.open) */
  size_t nconns;
  wsc__server_counters counts;
  size_t nadmitted;      /* accepted upgrades, pending or open (limits) */
  wsc__strmap per_address; /* peer address -> admitted count */
  wsc__dlist dirty; /* to flush, oldest first (wsc_conn.dirty) */
  uv_check_t flush_check;
  uv_idle_t flush_kick; /* keeps the loop from blocking before the flush */
  /* Sockets that filled lws's read this turn, and when the flush began to
   * wait for them (0: it is not waiting). */
  int busy_readers[WSC__BUSY_READERS];
  size_t nbusy_readers;
  uint64_t turn, defer_since;
  uv_timer_t reflush;   /* re-flushes connections lws left frames on */
  wsc__listener_rest rest; /* the listener, rested after failed accepts */
  unsigned char *scratch;
  size_t scratch_cap;
  wsc__frame *completion[WSC__NCOMPLETIONS]; /* shared completion frames */
  wsc__inbox inbox;
  wsc__keepalive keepalive;
  uv_timer_t close_timer;
  int closing, close_stage, close_ticks, layers_open, handles_open;
  uint64_t close_started;
  wsc_close_cb close_cb;
  void *close_ud;
  void *data;
  wsc__http_content *contents;
  size_t ncontents, contents_cap;
  char errmsg[WSC_ERRBUF_SIZE];
};

/* Nonzero on the server's loop thread. */
int wsc__on_loop_thread(const wsc_server *srv);
/* Sets srv->errmsg (printf-style) and returns rc. */
int wsc__server_fail(wsc_server *srv, int rc, const char *fmt, ...)
    WSC__PRINTF(3, 4);
/* Put `c` on the flush list for this loop turn. */
void wsc__server_mark_dirty(wsc_server *srv, wsc_conn *c);
void wsc__server_unmark_dirty(wsc_server *srv, wsc_conn *c);
/* Some connection still has frames queued after a flush: retry soon. */
void wsc__server_retry_flush(wsc_server *srv);
/* A connection admitted by on_confirm_upgrade stops counting against the
 * connection limits (called when it is freed). */
void wsc__server_release_slot(wsc_server *srv, const char *peer);
/* Notes `len` bytes received on `c` this loop turn. */
void wsc__server_note_input(wsc_server *srv, wsc_conn *c, size_t len);
/* A scratch buffer of at least `n` bytes plus LWS_PRE before it, or NULL. */
unsigned char *wsc__server_scratch(wsc_server *srv, size_t n);

#endif
