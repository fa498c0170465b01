/* wschannels: counters for monitoring, so that what a server refused,
 * rejected, closed or failed to send shows on a dashboard and not only in
 * its log (a Prometheus exporter, a health endpoint, a test).
 *
 * Counters count from the object's creation and only grow, except those
 * marked "now". Each struct starts with `struct_size`: set it to
 * sizeof(the struct) before the call. The library fills what it knows, up
 * to that size, zeroes the rest and sets `struct_size` to the bytes it
 * filled; fields are only ever appended, so a program built against an
 * older header keeps working with a newer library and the reverse.
 *
 * Thread: the object's loop thread, like every other call on it; from
 * another thread, read them in a function given to wsc_server_post. */
#ifndef WSCHANNELS_STATS_H
#define WSCHANNELS_STATS_H

#include <stdint.h>

#include "common.h"
#include "sender.h"
#include "server.h"

WSC_BEGIN_DECLS

typedef struct wsc_server_stats {
  size_t struct_size;
  /* Connections. */
  uint64_t connections;        /* open now */
  uint64_t connections_opened; /* WebSocket handshakes completed */
  uint64_t connections_closed; /* by either side, for any reason */
  uint64_t handshakes_refused; /* answered with an HTTP error or an
                                  authentication refusal: Origin, route,
                                  subprotocol, limits, authentication, the
                                  open-file headroom, closing */
  uint64_t closed_slow;        /* closed 1008: left more than send_queue_bytes
                                  unread */
  uint64_t closed_bad_input;   /* closed 1007 (invalid UTF-8), 1008 (over
                                  messages_per_second), 1009 (over
                                  max_message_bytes) */
  uint64_t closed_idle;        /* silent past idle_timeout */
  /* What clients sent. */
  uint64_t messages_received; /* whole messages, text or binary */
  uint64_t messages_rejected; /* answered with an "error" frame instead of
                                 reaching a handler: malformed JSON, no or
                                 unknown action, invalid payload, binary */
  uint64_t handler_failures;  /* action and event handlers and on_connect
                                 hooks that returned an error, and
                                 on_disconnect hooks that recorded one */
  /* What clients were sent. */
  uint64_t frames_queued; /* frames queued to clients: one per recipient of a
                             broadcast, pings included */
  uint64_t bytes_written; /* to client sockets, WebSocket framing included */
  uint64_t bytes_queued;  /* now: queued and not yet written
                             (wsc_server_queued_bytes) */
  /* From the channel layers. */
  uint64_t events_dropped; /* layer events that reached a connection whose
                              consumer has no event handler for them, or
                              whose payload failed the handler's schema */
} wsc_server_stats;

/* A channel layer's traffic, for a server's layer alias or a standalone
 * layer (sender.h). The sends counted are sends and group sends, of events
 * and of messages; every taken send ends in exactly one of ok and failed,
 * and is pending until then. */
typedef struct wsc_layer_stats {
  size_t struct_size;
  uint64_t sends_taken;   /* accepted by the layer (the call returned 0) */
  uint64_t sends_refused; /* refused at once (the call returned an error:
                             backend down, channel full, backpressure, bad
                             name, closing) */
  uint64_t sends_ok;      /* taken, and the backend confirmed them */
  uint64_t sends_failed;  /* taken, then failed (the backend went away, a
                             stream full, closing cut the wait short) */
  uint64_t sends_pending; /* now: taken and not yet answered */
  uint64_t received;      /* messages the layer brought to this process's
                             connections (one per message, whatever the
                             number of recipients) */
  uint64_t dropped;       /* messages the driver dropped after taking
                             them, and logged: not queued for a group
                             member whose queue was full, expired before
                             this process read them (queue layer), out of
                             memory */
  uint64_t backend_up;    /* now: 1 while the backend (Redis) can be
                             reached, 0 while it cannot (sends are refused
                             or wait); always 1 for the in-memory layer */
} wsc_layer_stats;

/* Fills `out` (set out->struct_size first). Returns 0; WSC_EINVAL (NULL, or
 * struct_size smaller than a size_t), WSC_ETHREAD. Ownership: borrows.
 * Thread: the loop thread. Since: 0.6 */
WSC_API int wsc_server_get_stats(const wsc_server *srv, wsc_server_stats *out);

/* The same for the server's layer `alias` (NULL: "default"). Returns 0;
 * WSC_ENOTFOUND (no such alias), WSC_EINVAL, WSC_ETHREAD. Since: 0.6 */
WSC_API int wsc_server_get_layer_stats(const wsc_server *srv, const char *alias,
                                       wsc_layer_stats *out);

/* The same for a standalone layer. Returns 0; WSC_EINVAL. Thread: the
 * layer's loop thread. Since: 0.6 */
WSC_API int wsc_layer_get_stats(const wsc_layer *l, wsc_layer_stats *out);

WSC_END_DECLS

#endif
