/* wschannels: the embeddable WebSocket server.
 *
 * A server runs on a libuv loop: the caller's (wsc_server_options.loop), which
 * the caller keeps running, or one the server owns (loop NULL), run by
 * wsc_server_run. It owns its libwebsockets context, its routes, consumers and
 * channel layers.
 *
 * Thread rules: every function runs on the loop thread and every callback
 * fires there, except these, which any thread may call: wsc_server_post,
 * wsc_server_send_event_threadsafe, wsc_server_broadcast_event_threadsafe,
 * wsc_server_broadcast_message_threadsafe, wsc_server_stop_threadsafe (and
 * wsc_version*, wsc_strerror, wsc_err_name). Before the loop runs, the thread
 * that created the server counts as the loop thread. */
#ifndef WSCHANNELS_SERVER_H
#define WSCHANNELS_SERVER_H

#include "common.h"
#include "log.h"

WSC_BEGIN_DECLS

typedef void (*wsc_close_cb)(void *user_data);
typedef void (*wsc_post_fn)(wsc_server *srv, void *user_data);

/* Options; fill with wsc_server_options_init, then set what you need.
 * When `config_json` is given, the values it contains override the fields
 * below (see docs/config.md for the document). */
typedef struct wsc_server_options {
  size_t struct_size;
  uv_loop_t *loop;            /* NULL: the server owns a private loop */
  const char *config_json;    /* NULL, or a JSON config document */
  const char *host;           /* "127.0.0.1" */
  int port;                   /* 8000; 0 picks a free port */
  size_t max_message_bytes;   /* 1048576; bigger messages close with 1009 */
  size_t send_queue_bytes;    /* 4194304; a client over it is closed (1008) */
  const char *const *allowed_origins; /* NULL: any Origin (or none) */
  size_t n_allowed_origins;
  unsigned ping_interval;     /* seconds of silence before a ping; 0 = never */
  unsigned idle_timeout;      /* seconds of silence before hang-up; 0 = never */
  wsc_log_fn logger;          /* NULL: the default logger */
  wsc_log_level log_level;    /* WSC_LOG_ERROR */
  void *log_user_data;
  wsc_consumer *const *consumers; /* taken by the server on success */
  size_t n_consumers;
} wsc_server_options;

/* Fill `o` with the defaults above and its struct_size. Since: 0.1 */
WSC_API void wsc_server_options_init(wsc_server_options *o);

/* Create a server, validate its whole configuration and start listening.
 * Either everything is running when this returns 0, or nothing is.
 * Returns 0 and *out; WSC_EINVAL (bad options), WSC_ECONFIG (bad config:
 * unknown key, wrong type, unknown consumer or layer alias...; `errbuf` names
 * the offending key, e.g. "config: routes[1].consumer: unknown consumer
 * 'chatt'"), WSC_EBIND (address in use), WSC_ENOMEM.
 * On failure the caller keeps its consumers; `errbuf` (may be NULL, size
 * `errlen`, WSC_ERRBUF_SIZE is enough) gets the message.
 * Ownership: borrows `opts` and its strings; takes the consumers on success.
 * Returns owned; end it with wsc_server_close or wsc_server_run.
 * Thread: the loop's thread. Since: 0.1 */
WSC_API int wsc_server_new(const wsc_server_options *opts, wsc_server **out,
                           char *errbuf, size_t errlen);

/* The TCP port the server listens on (the chosen one when "port" was 0). */
WSC_API int wsc_server_get_port(const wsc_server *srv);

/* The loop the server runs on. Returns borrowed, valid until the server is
 * closed. */
WSC_API uv_loop_t *wsc_server_get_loop(const wsc_server *srv);

/* The number of open WebSocket connections. */
WSC_API size_t wsc_server_connection_count(const wsc_server *srv);

/* The last error's message on this server ("" if none; emptied as each
 * handler or hook starts). Returns borrowed, valid until the next call on
 * this server. */
WSC_API const char *wsc_server_errmsg(const wsc_server *srv);

/* User data, never read by the library. */
WSC_API void wsc_server_set_data(wsc_server *srv, void *data);
WSC_API void *wsc_server_get_data(const wsc_server *srv);

/* Run a server that owns its loop until it has fully closed (after
 * wsc_server_close from a callback, or wsc_server_stop_threadsafe), then free
 * it: `srv` is invalid once this returns.
 * Returns 0, or WSC_EINVAL if the server runs on the caller's loop.
 * Since: 0.1 */
WSC_API int wsc_server_run(wsc_server *srv);

/* Close: clients get a 1001 "going away" close, pending frames are flushed
 * (bounded by 2 s), then every handle and layer is released; a layer first
 * carries out the sends it took, while Redis keeps answering them (2 s
 * without an answer ends the wait; since 0.5.4). `close_cb` (may
 * be NULL) runs on the loop once that is done; the server's memory is freed
 * after it returns, and on the caller's loop uv_loop_close() then succeeds.
 * No other callback fires after this call, except the result callbacks of
 * sends already taken (each once). On a private loop that is not
 * running, this runs the loop itself until the close has completed.
 * Returns 0, or WSC_ECLOSED if already closing (close_cb is then not called).
 * Since: 0.1 */
WSC_API int wsc_server_close(wsc_server *srv, wsc_close_cb close_cb,
                             void *user_data);

/* Send an event (JSON object with an "action") to a channel name, or to a
 * group, on the layer `alias` (NULL: "default"); the receiving connections'
 * event handlers run.
 * Returns 0, WSC_ENOTFOUND (no such layer), WSC_EINVAL, WSC_EBADNAME,
 * WSC_EFULL, WSC_ELAYER, WSC_ENOMEM, or WSC_EAGAIN (a Redis layer holds
 * max_pending_bytes of sends Redis has not answered; try again once it
 * has: since 0.5.3). Ownership: borrows; copies. */
WSC_API int wsc_server_send_event(wsc_server *srv, const char *alias,
                                  const char *channel, const char *json,
                                  size_t len);
WSC_API int wsc_server_broadcast_event(wsc_server *srv, const char *alias,
                                       const char *group, const char *json,
                                       size_t len);

/* Relay `json` as is to every client in `group` on layer `alias` (no event
 * handler runs). Returns as wsc_server_broadcast_event. */
WSC_API int wsc_server_broadcast_message(wsc_server *srv, const char *alias,
                                         const char *group, const char *json,
                                         size_t len);

/* The outcome of a send: 0, WSC_EFULL ("channel full"), WSC_ELAYER (the
 * layer's backend is unreachable) or WSC_ECLOSED (the server closed first),
 * with a message (NULL for 0) borrowed for the call. */
typedef void (*wsc_result_fn)(int status, const char *errmsg, void *user_data);

/* The three sends above, reporting their outcome. With a Redis layer the
 * outcome is known only once Redis has answered: the plain forms then log a
 * failure at WARN; these call `cb` instead, exactly once, later, from the
 * loop (with WSC_ECLOSED during wsc_server_close for sends still under way).
 * Returns 0 (cb will be called) or an error known now (cb is never called),
 * as the plain forms. Since: 0.1 */
WSC_API int wsc_server_send_event_cb(wsc_server *srv, const char *alias,
                                     const char *channel, const char *json,
                                     size_t len, wsc_result_fn cb,
                                     void *user_data);
WSC_API int wsc_server_broadcast_event_cb(wsc_server *srv, const char *alias,
                                          const char *group, const char *json,
                                          size_t len, wsc_result_fn cb,
                                          void *user_data);
WSC_API int wsc_server_broadcast_message_cb(wsc_server *srv,
                                            const char *alias,
                                            const char *group,
                                            const char *json, size_t len,
                                            wsc_result_fn cb, void *user_data);

/* Add or remove any channel name (not only a connection's) to a group on
 * layer `alias` (NULL: "default"), like Django's channel_layer.group_add.
 * Returns 0, WSC_ENOTFOUND (no such layer), WSC_EBADNAME, WSC_ENOMEM,
 * WSC_ELAYER. Ownership: borrows. Since: 0.1 */
WSC_API int wsc_server_group_add(wsc_server *srv, const char *alias,
                                 const char *group, const char *channel);
WSC_API int wsc_server_group_discard(wsc_server *srv, const char *alias,
                                     const char *group, const char *channel);

/* Run `fn(srv, user_data)` on the loop thread, soon. Posts run in order.
 * Returns 0, or WSC_ECLOSED once the server is closing (fn never runs;
 * the caller keeps user_data). Thread: any. Since: 0.1 */
WSC_API int wsc_server_post(wsc_server *srv, wsc_post_fn fn, void *user_data);

/* Thread-safe forms of the three sends above: copy the arguments and perform
 * the send on the loop thread. A failure there (channel full, layer down) is
 * logged at ERROR with the channel or group name (use wsc_server_post to
 * run the send yourself when you need its result).
 * Returns 0 (queued), WSC_EINVAL, WSC_ENOMEM, WSC_ECLOSED. Thread: any. */
WSC_API int wsc_server_send_event_threadsafe(wsc_server *srv,
                                             const char *alias,
                                             const char *channel,
                                             const char *json, size_t len);
WSC_API int wsc_server_broadcast_event_threadsafe(wsc_server *srv,
                                                  const char *alias,
                                                  const char *group,
                                                  const char *json,
                                                  size_t len);
WSC_API int wsc_server_broadcast_message_threadsafe(wsc_server *srv,
                                                    const char *alias,
                                                    const char *group,
                                                    const char *json,
                                                    size_t len);

/* Start closing the server (as wsc_server_close with no callback).
 * Returns 0, or WSC_ECLOSED if it is already closing. Thread: any. */
WSC_API int wsc_server_stop_threadsafe(wsc_server *srv);

/* The AsyncAPI 3.0 document (JSON) generated from this server's routes and
 * consumers: what the server serves at <asyncapi.path>/schema/. `host` (may
 * be NULL) is the host[:port] clients connect to; NULL uses the listening
 * address; the config's asyncapi.server wins over both.
 * Returns 0 with *out (free with wsc_free) and *len (if not NULL), or
 * WSC_EINVAL, WSC_ETHREAD, WSC_ENOMEM. Thread: the loop thread. Since: 0.2 */
WSC_API int wsc_server_asyncapi(wsc_server *srv, const char *host, char **out,
                                size_t *len);

/* Serve a fixed document at `path` (plain HTTP GET on the server's port,
 * exact match, e.g. "/status.json"), replacing one registered there before.
 * The config's "http": {"static_dir": dir} serves files under dir at "/";
 * registered documents and the AsyncAPI paths come first.
 * Returns 0, WSC_EINVAL (path not starting with '/'), WSC_ETHREAD,
 * WSC_ENOMEM. Ownership: copies everything. Thread: the loop thread.
 * Since: 0.2 */
WSC_API int wsc_server_add_http_content(wsc_server *srv, const char *path,
                                        const char *content_type,
                                        const void *body, size_t len);

/* Bytes waiting in the server's send queues, all connections together
 * (what slow readers cost in memory; each connection is capped by
 * limits.send_queue_bytes). Thread: the loop thread (0 elsewhere).
 * Since: 0.2 */
WSC_API size_t wsc_server_queued_bytes(const wsc_server *srv);

WSC_END_DECLS

#endif
