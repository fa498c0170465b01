/* wschannels: one WebSocket connection, as seen from handlers.
 *
 * A wsc_conn is owned by the server and borrowed by callbacks: it is valid
 * from authenticate until on_disconnect returns. Outside callbacks, refer to
 * a connection by its channel name (wsc_conn_get_channel), which any part of
 * the program, or any process on the same channel layer, can send events to.
 *
 * Thread: every function here runs on the server's loop thread only and
 * returns WSC_ETHREAD elsewhere (getters return NULL/0). */
#ifndef WSCHANNELS_CONN_H
#define WSCHANNELS_CONN_H

#include "common.h"

#include <cjson/cJSON.h>

WSC_BEGIN_DECLS

/* Flags for wsc_conn_broadcast. */
#define WSC_EXCLUDE_CURRENT 0x1u /* skip this very connection */

/* This connection's channel name on its consumer's layer; "" until the
 * connection is open (not yet during authenticate).
 * Returns borrowed, valid while the connection is. Since: 0.1 */
WSC_API const char *wsc_conn_get_channel(const wsc_conn *c);

/* The request path without the query string, e.g. "/ws/room/lobby". */
WSC_API const char *wsc_conn_get_path(const wsc_conn *c);

/* A path parameter from the route ("/ws/room/{room_name}"), URL-decoded, or
 * NULL. Returns borrowed, valid while the connection is. */
WSC_API const char *wsc_conn_get_path_param(const wsc_conn *c,
                                            const char *name);

/* A query-string parameter ("?token=abc"), URL-decoded, or NULL if absent.
 * The first occurrence wins. Returns borrowed, valid while the connection is. */
WSC_API const char *wsc_conn_get_query_param(const wsc_conn *c,
                                             const char *name);

/* A request header of the handshake (case-insensitive `name`, e.g.
 * "authorization", "cookie", "x-forwarded-for") or a cookie, copied into
 * `buf` (NUL-terminated). Only during authenticate: the handshake's headers
 * are released once the connection is open.
 * Returns the value's length, WSC_ENOTFOUND, WSC_EINVAL (NULL, or `len` too
 * small for it), WSC_ECLOSED (not in authenticate), WSC_ETHREAD. Since: 0.2 */
WSC_API int wsc_conn_get_header(const wsc_conn *c, const char *name, char *buf,
                                size_t len);
WSC_API int wsc_conn_get_cookie(const wsc_conn *c, const char *name, char *buf,
                                size_t len);

/* The client's IP address ("127.0.0.1", "::1"), as seen on the socket.
 * Returns borrowed, valid while the connection is. Since: 0.2 */
WSC_API const char *wsc_conn_get_peer_address(const wsc_conn *c);

/* Who is connected: set by an authenticator (the built-in JWT one sets the
 * token's user claim and its claims). `claims` may be NULL (copied).
 * `user_id` NULL clears. Returns 0, WSC_EINVAL, WSC_ENOMEM, WSC_ETHREAD.
 * Broadcasts carry the sender's user id (is_mine). Since: 0.2 */
WSC_API int wsc_conn_set_user(wsc_conn *c, const char *user_id,
                              const cJSON *claims);
/* NULL when nobody authenticated. Returns borrowed, valid until the next
 * wsc_conn_set_user or the end of the connection. Since: 0.2 */
WSC_API const char *wsc_conn_get_user_id(const wsc_conn *c);
WSC_API const cJSON *wsc_conn_get_claims(const wsc_conn *c);

/* The name of the consumer serving this connection. Returns borrowed. */
WSC_API const char *wsc_conn_get_consumer_name(const wsc_conn *c);

/* The server this connection belongs to. */
WSC_API wsc_server *wsc_conn_get_server(const wsc_conn *c);

/* Per-connection user data, never read by the library. `free_data` (may be
 * NULL) is called once with it after on_disconnect (or when the connection is
 * dropped before opening) or when it is replaced. Since: 0.1 */
WSC_API void wsc_conn_set_data(wsc_conn *c, void *data,
                               void (*free_data)(void *));
WSC_API void *wsc_conn_get_data(const wsc_conn *c);

/* Nonzero while the connection is open and not closing. */
WSC_API int wsc_conn_is_open(const wsc_conn *c);

/* Send one JSON text frame to this connection's client.
 * Returns 0, WSC_EINVAL, WSC_ECLOSED (closing or closed), WSC_ENOMEM, or
 * WSC_EAGAIN if the client's send queue is over its limit (the connection is
 * then closed with 1008).
 * Ownership: borrows `json`; copies before returning. Since: 0.1 */
WSC_API int wsc_conn_send(wsc_conn *c, const char *json, size_t len);
WSC_API int wsc_conn_send_json(wsc_conn *c, const cJSON *msg);

/* Send {"action": action, "payload": payload} to this client (payload NULL
 * sends null): what a Chanx handler's return value does.
 * Returns as wsc_conn_send. Ownership: borrows both. Since: 0.1 */
WSC_API int wsc_conn_reply(wsc_conn *c, const char *action,
                           const cJSON *payload);

/* Broadcast `json` (a message for clients, relayed as is) to `groups`
 * (NULL/0: the groups this connection is in) on this consumer's layer.
 * With WSC_EXCLUDE_CURRENT this connection does not get it.
 * Returns 0, WSC_EINVAL, WSC_EBADNAME, WSC_ECLOSED, WSC_ENOMEM, WSC_ELAYER,
 * or WSC_EAGAIN (a Redis layer holds max_pending_bytes of sends Redis has
 * not answered yet; since 0.5.3). 0 means the layer took it; a failure after that (Redis lost before it
 * answered) is logged, and when the call was made by the handler of a
 * client's message that client is told, as for a handler that failed:
 * {"action":"error","payload":{"detail":"Failed to process message for
 * <action>"}} (once per message, since 0.5.2). The same holds for the
 * event sends below.
 * Ownership: borrows everything; copies before returning. Since: 0.1 */
WSC_API int wsc_conn_broadcast(wsc_conn *c, const char *json, size_t len,
                               const char *const *groups, size_t ngroups,
                               unsigned flags);
WSC_API int wsc_conn_broadcast_json(wsc_conn *c, const cJSON *msg,
                                    const char *const *groups, size_t ngroups,
                                    unsigned flags);

/* Send an event (a JSON object with an "action") through this consumer's
 * layer to a channel name, or to groups (NULL/0: this connection's groups).
 * The receiving connection's event handler for that action runs.
 * Returns 0, WSC_EINVAL (not an object with a string action), WSC_EBADNAME,
 * WSC_EFULL (channel full: the message was not queued), WSC_ELAYER, WSC_ENOMEM,
 * WSC_EAGAIN (as for wsc_conn_broadcast).
 * Ownership: borrows; copies before returning. Since: 0.1 */
WSC_API int wsc_conn_send_event(wsc_conn *c, const char *channel,
                                const char *json, size_t len);
WSC_API int wsc_conn_broadcast_event(wsc_conn *c, const char *json, size_t len,
                                     const char *const *groups,
                                     size_t ngroups);

/* Join or leave a group at runtime on this consumer's layer. The connection
 * leaves every group it is in when it closes.
 * Returns 0, WSC_EBADNAME, WSC_EEXIST (already in it; add) or WSC_ENOTFOUND
 * (not in it; discard), WSC_ECLOSED, WSC_ELAYER, WSC_ENOMEM, or WSC_EDENIED
 * (the consumer's may_join hook refused; the client got
 * {"action":"error","payload":{"detail":"You do not have permission to join
 * '<group>'."}}). Since: 0.1 */
WSC_API int wsc_conn_group_add(wsc_conn *c, const char *group);
WSC_API int wsc_conn_group_discard(wsc_conn *c, const char *group);

/* Says why the handler or hook now running for `c` fails, for the server's
 * log line about the failure ("handler for 'x' failed: <reason>"), and
 * returns WSC_EHANDLER, so a handler can end with
 * `return wsc_conn_handler_failed(c, "the database is unavailable");`.
 * Without it the log line gives the reason recorded by the library call that
 * failed inside the handler, if one did (wsc_server_errmsg), or the value
 * returned. The reason is for the log only: the client still gets Chanx's
 * generic error, the 1011 close of a failed on_connect, or the refusal of a
 * failed authenticate or permit. Returns WSC_EINVAL (c NULL), WSC_ETHREAD.
 * Since: 0.4 */
WSC_API int wsc_conn_handler_failed(wsc_conn *c, const char *reason);

/* Close the connection with a WebSocket close `code` (1000, or 3000-4999)
 * and a `reason` (at most 123 bytes; may be NULL) after the frames already
 * queued for it are sent. on_disconnect runs later, from the loop.
 * Returns 0, WSC_EINVAL (bad code or reason), WSC_ECLOSED (already closing).
 * Since: 0.1 */
WSC_API int wsc_conn_close(wsc_conn *c, int code, const char *reason);

WSC_END_DECLS

#endif
