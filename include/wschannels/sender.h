/* wschannels: a channel layer without a server, for programs that only send:
 * workers, scripts, cron jobs. It reads the same config document as the
 * servers, so a layer alias names the same Redis, prefix and options.
 *
 * Thread: every function runs on the loop thread (the thread that created
 * the layer, or that runs `loop`), and callbacks fire there. */
#ifndef WSCHANNELS_SENDER_H
#define WSCHANNELS_SENDER_H

#include "common.h"
#include "server.h"

WSC_BEGIN_DECLS

typedef struct wsc_layer wsc_layer;

/* Opens the layer `alias` (NULL: "default") of the config document `json`
 * (with ${VAR:-default} expansion) on `loop`. A Redis alias is checked now:
 * a wrong or unreachable URL fails here, with the masked URL in `errbuf`.
 * Returns 0 and *out; WSC_ECONFIG, WSC_ENOTFOUND (no such alias),
 * WSC_ELAYER, WSC_EINVAL, WSC_ENOMEM.
 * Ownership: borrows; returns owned (end it with wsc_layer_close). */
WSC_API int wsc_layer_new(uv_loop_t *loop, const char *json, const char *alias,
                          wsc_layer **out, char *errbuf, size_t errlen);

/* Sends an event (a JSON object with a string "action") to a channel name or
 * to a group; the receiving connections' event handlers run. Or relays a
 * message as is to a group's clients. `cb` (may be NULL) gets the outcome
 * once the layer knows it, exactly once, later, from the loop.
 * Returns 0 (cb will be called), or an error known now (cb never is):
 * WSC_EINVAL, WSC_EBADNAME, WSC_EFULL, WSC_ELAYER, WSC_ECLOSED, WSC_ENOMEM,
 * WSC_EAGAIN (Redis has not answered max_pending_bytes of earlier sends: a
 * burst outran it, or it hangs; retry after some of them completed, as the
 * Python package does; since 0.5.3); wsc_layer_errmsg() says more. Ownership: borrows; copies. */
WSC_API int wsc_layer_send_event(wsc_layer *l, const char *channel,
                                 const char *json, size_t len,
                                 wsc_result_fn cb, void *user_data);
WSC_API int wsc_layer_broadcast_event(wsc_layer *l, const char *group,
                                      const char *json, size_t len,
                                      wsc_result_fn cb, void *user_data);
WSC_API int wsc_layer_broadcast_message(wsc_layer *l, const char *group,
                                        const char *json, size_t len,
                                        wsc_result_fn cb, void *user_data);

/* Adds or removes any channel name to a group (Django's group_add). */
WSC_API int wsc_layer_group_add(wsc_layer *l, const char *group,
                                const char *channel);
WSC_API int wsc_layer_group_discard(wsc_layer *l, const char *group,
                                    const char *channel);

/* The last error's message ("" if none). Returns borrowed, valid until the
 * next call on `l`. */
WSC_API const char *wsc_layer_errmsg(const wsc_layer *l);

/* Closes: later sends return WSC_ECLOSED; the sends already taken are
 * carried out first and report their outcomes (since 0.5.4: a program may
 * send, close and run its loop to the end), for as long as Redis keeps
 * answering them: after 2 s without an answer the rest report WSC_ECLOSED
 * (a hung Redis may still carry them out when it wakes). `cb` (may be NULL)
 * runs once everything is released, then the memory is freed. Since: 0.1 */
WSC_API int wsc_layer_close(wsc_layer *l, wsc_close_cb cb, void *user_data);

WSC_END_DECLS

#endif
