/* wschannels: consumers, the Chanx-style endpoint definitions.
 *
 * A consumer has a name (what routes and scripts call it), metadata for API
 * documentation, the channel-layer alias it uses, static groups every
 * connection joins, a table of WebSocket handlers keyed by the message's
 * "action", a table of event handlers keyed by the event's "action", and
 * lifecycle hooks. One consumer serves many connections; per-connection state
 * lives on the wsc_conn (wsc_conn_set_data). */
#ifndef WSCHANNELS_CONSUMER_H
#define WSCHANNELS_CONSUMER_H

#include "common.h"

#include <cjson/cJSON.h>

WSC_BEGIN_DECLS

/* The Chanx option "discriminator_field": the key that picks the handler. */
#define WSC_DEFAULT_DISCRIMINATOR "action"

/* A WebSocket or event handler. `msg` is the whole parsed message
 * ({"action": ..., "payload": ...}), borrowed for the call.
 * Return 0 on success. A negative return sends the client
 * {"action":"error","payload":{"detail":"Failed to process message for <action>"}}
 * (for WebSocket handlers; a failing event handler is logged only, as in Chanx). */
typedef int (*wsc_action_fn)(wsc_conn *conn, const cJSON *msg, void *user_data);

/* Decides whether a connection may open, before the WebSocket handshake
 * completes. Path, path and query parameters are readable on `conn`.
 * Return 0 to accept; an HTTP status from 400 to 599 to refuse with that
 * status; any other value refuses with 403. */
typedef int (*wsc_auth_fn)(wsc_conn *conn, void *user_data);

/* Runs once the connection is open and has joined its static groups (Chanx's
 * post_authentication). A negative return closes the connection (1011). */
typedef int (*wsc_connect_fn)(wsc_conn *conn, void *user_data);

/* Runs once when an opened connection closes, before it leaves its groups.
 * `close_code` is the WebSocket close code seen (1006 if none). A failure
 * recorded while it runs (wsc_conn_handler_failed, or a library call that
 * failed) is logged at ERROR ("on_disconnect failed: ..."). */
typedef void (*wsc_disconnect_fn)(wsc_conn *conn, int close_code,
                                  void *user_data);

/* May this (authenticated) connection join `group`? (Chanx's object
 * permission: "may this user join room X".) Return 0 to allow; anything
 * else refuses: a static group refuses the connection (403), a runtime
 * wsc_conn_group_add fails with WSC_EDENIED and the client is told. */
typedef int (*wsc_join_fn)(wsc_conn *conn, const char *group, void *user_data);

typedef struct wsc_consumer_hooks {
  size_t struct_size;            /* set by wsc_consumer_hooks_init */
  wsc_auth_fn authenticate;      /* NULL: everyone may connect */
  wsc_connect_fn on_connect;     /* NULL: nothing */
  wsc_disconnect_fn on_disconnect; /* NULL: nothing */
  /* --- since 0.2 (older callers pass a smaller struct_size) --- */
  /* The permission check, after authentication (the JWT authenticator and
   * `authenticate`) succeeded: the user is known. Same return values as
   * `authenticate`; NULL: every authenticated connection may connect. */
  wsc_auth_fn permit;
  wsc_join_fn may_join;          /* NULL: every group may be joined */
} wsc_consumer_hooks;

/* Fill `h` with NULL hooks and its struct_size. Since: 0.1 */
WSC_API void wsc_consumer_hooks_init(wsc_consumer_hooks *h);

/* Create a consumer called `name` (1-99 characters of [A-Za-z0-9_.-]).
 * Returns 0 and *out, WSC_EINVAL for a bad name, WSC_ENOMEM.
 * Ownership: returns owned; free with wsc_consumer_free, unless a server
 * took it (wsc_server_options.consumers).
 * Thread: any thread, until a server takes it. Since: 0.1 */
WSC_API int wsc_consumer_new(const char *name, wsc_consumer **out);

/* Free a consumer no server has taken; calls each handler's free_user_data.
 * NULL is a no-op. Since: 0.1 */
WSC_API void wsc_consumer_free(wsc_consumer *c);

/* The consumer's name. Returns borrowed, valid for the consumer's life. */
WSC_API const char *wsc_consumer_get_name(const wsc_consumer *c);

/* Metadata kept for generated API documentation.
 * Returns 0, WSC_EINVAL, WSC_ENOMEM. Ownership: copies the strings. */
WSC_API int wsc_consumer_set_description(wsc_consumer *c, const char *text);
WSC_API int wsc_consumer_add_tag(wsc_consumer *c, const char *tag);

/* The channel-layer alias this consumer uses ("default" when never set).
 * The config's "consumers": {"<name>": {"layer": ...}} overrides it.
 * Returns 0, WSC_EINVAL, WSC_ENOMEM. Ownership: copies `alias`. */
WSC_API int wsc_consumer_set_layer(wsc_consumer *c, const char *alias);

/* Add a group every connection joins on connect and leaves on close; it is
 * also the default target of broadcasts. The config's "groups" list for this
 * consumer, when present, replaces the groups set here.
 * Returns 0, WSC_EBADNAME, WSC_EEXIST, WSC_ENOMEM. Ownership: copies. */
WSC_API int wsc_consumer_add_group(wsc_consumer *c, const char *group);

/* Route WebSocket messages whose "action" is `action` to `fn`.
 * `free_user_data` (may be NULL) is called once with `user_data` when the
 * consumer is freed, or at once if this call fails.
 * Returns 0, WSC_EINVAL, WSC_EEXIST (action already has a handler),
 * WSC_ENOMEM. Ownership: copies `action`; keeps `user_data`.
 * Thread: before the consumer is given to a server. Since: 0.1 */
WSC_API int wsc_consumer_on(wsc_consumer *c, const char *action,
                            wsc_action_fn fn, void *user_data,
                            void (*free_user_data)(void *));

/* Route channel-layer events whose "action" is `action` to `fn`; what the
 * handler sends with wsc_conn_send goes to that connection's client.
 * Same contract as wsc_consumer_on. Since: 0.1 */
WSC_API int wsc_consumer_on_event(wsc_consumer *c, const char *action,
                                  wsc_action_fn fn, void *user_data,
                                  void (*free_user_data)(void *));

/* Set the lifecycle hooks (copied) and the user_data they receive;
 * `free_user_data` as for wsc_consumer_on. Setting hooks again replaces them
 * and frees the previous user_data.
 * Returns 0, WSC_EINVAL (NULL or too small struct). Since: 0.1 */
WSC_API int wsc_consumer_set_hooks(wsc_consumer *c,
                                   const wsc_consumer_hooks *hooks,
                                   void *user_data,
                                   void (*free_user_data)(void *));

/* Documentation and validation of one handler (Chanx's ws_handler and
 * event_handler arguments), for wsc_consumer_document. */
typedef struct wsc_handler_doc {
  size_t struct_size;         /* set by wsc_handler_doc_init */
  /* JSON Schema (wschannels/schema.h) of the whole incoming message or
   * event, discriminator included. A WebSocket message that does not match
   * never reaches the handler: the client gets one error frame listing every
   * problem, loc starting with the action. Missing properties with a
   * "default" are filled in before the handler runs. An event that does not
   * match is logged and dropped. NULL: not checked. */
  const char *input_schema;
  /* JSON Schema of what the handler sends to the client: the reply of a
   * WebSocket handler, what an event handler sends. Documentation only.
   * NULL: the handler sends nothing. */
  const char *output_schema;
  const char *summary;     /* one line; may be NULL */
  const char *description; /* may be NULL */
  const char *const *tags; /* `ntags` strings; may be NULL when 0 */
  size_t ntags;
} wsc_handler_doc;

typedef enum wsc_handler_kind {
  WSC_WS_HANDLER = 0,   /* registered with wsc_consumer_on */
  WSC_EVENT_HANDLER = 1 /* registered with wsc_consumer_on_event */
} wsc_handler_kind;

/* Zero `d` and set its struct_size. Since: 0.2 */
WSC_API void wsc_handler_doc_init(wsc_handler_doc *d);

/* Attach schemas and documentation to the handler of `action` (registered
 * before this call), replacing what was attached before. The AsyncAPI
 * document (wsc_server_asyncapi) is generated from it.
 * Returns 0, WSC_EINVAL, WSC_ENOTFOUND (no such handler), WSC_ECONFIG (a
 * schema does not compile; `err` says which and why), WSC_ENOMEM.
 * Ownership: copies everything. Thread: before the consumer is given to a
 * server. Since: 0.2 */
WSC_API int wsc_consumer_document(wsc_consumer *c, wsc_handler_kind kind,
                                  const char *action,
                                  const wsc_handler_doc *doc, char *err,
                                  size_t errlen);

/* Chanx's consumer options. The config's "consumers": {"<name>": {...}}
 * overrides each key it names (same names). */
typedef struct wsc_consumer_options {
  size_t struct_size; /* set by wsc_consumer_options_init */
  /* The key that picks the handler of client messages; "action" when NULL.
   * Events are always routed by "action". */
  const char *discriminator_field;
  /* Nonzero: keys of client messages are snake_cased before routing and
   * validation (roomName -> room_name) and keys of every frame sent to the
   * client are camelCased (status_code -> statusCode). Values are left
   * alone. */
  int camelize;
  /* Nonzero: {"action":"complete","payload":null} after each client frame
   * has been handled (errors included), {"action":"group_complete",...}
   * after each relayed group message and {"action":"event_complete",...}
   * after each channel-layer event. */
  int send_completion;
  /* Nonzero: {"action":"authentication","payload":{"status_code":200,
   * "status_text":"OK","data":{"detail":"OK"}}} once the connection opens.
   * A connection the authenticate hook refuses is then accepted, told the
   * refusal in the same format (e.g. status_code 403, "Forbidden", detail
   * "You do not have permission to perform this action.") and closed with
   * 4000 + (status - 400) (403 -> 4003; 5xx -> 1011), instead of getting an
   * HTTP error; no handler or hook but authenticate runs for it. */
  int send_authentication_message;
  /* Nonzero: each relayed group message gets "is_mine" (sent by the same
   * user: both have a user id and they match) and "is_current" (sent by
   * this very connection) for its recipient, as Chanx 0.x did. */
  int group_message_metadata;
  /* Nonzero: every frame received and sent is logged at WSC_LOG_INFO
   * ("Websocket received: ..."), except the actions listed below and the
   * completion actions. */
  int log_websocket_message;
  const char *const *log_ignored_actions;
  size_t n_log_ignored_actions;
} wsc_consumer_options;

/* Defaults: "action", everything off. Since: 0.2 */
WSC_API void wsc_consumer_options_init(wsc_consumer_options *o);

/* Set the options (copied). Returns 0, WSC_EINVAL (NULL, too small a
 * struct, an empty discriminator), WSC_ENOMEM. Thread: before the consumer
 * is given to a server. Since: 0.2 */
WSC_API int wsc_consumer_set_options(wsc_consumer *c,
                                     const wsc_consumer_options *o);

WSC_END_DECLS

#endif
