/* The JSON formats the core speaks: Chanx's client frames (errors, replies)
 * and the envelopes carried by channel layers, named after the dicts Chanx
 * puts on a Django Channels layer:
 *   {"type":"handle_group_message","exclude_current":b,"from_channel":s,
 *    "from_user":s (when the sender has a user),
 *    "message":{...}}           relayed as is to each member's client
 *   {"type":"handle_channel_event","event_data":{...}}
 *                               routed to the member's event handler */
#ifndef WSC_LIB_MESSAGE_H
#define WSC_LIB_MESSAGE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define WSC__ENV_GROUP_MESSAGE "handle_group_message"
#define WSC__ENV_CHANNEL_EVENT "handle_channel_event"

/* Builds an envelope around `json` (validated to be a JSON object; for events
 * also to carry a string "action"). Returns a wsc__ allocation and its length
 * in *outlen, or NULL with *rc set (WSC_EINVAL, WSC_ENOMEM). */
char *wsc__env_group_message(const char *json, size_t len, int exclude_current,
                             const char *from_channel, const char *from_user,
                             size_t *outlen, int *rc);
char *wsc__env_event(const char *json, size_t len, size_t *outlen, int *rc);

/* Why an envelope could not be built from `rc` (as returned above), for
 * error messages: what a message or an event must look like. */
const char *wsc__env_problem(int rc, int event);

/* {"action":"error","payload":[{"type":type,"loc":[loc0?],"msg":msg}]} */
char *wsc__msg_validation_error(const char *type, const char *loc0,
                                const char *msg);
/* {"action":"error","payload":errors}; takes `errors` (a cJSON array). */
char *wsc__msg_error_list(cJSON *errors);
/* {"action":"error","payload":{"detail":detail}} */
char *wsc__msg_detail_error(const char *detail);
/* {"action":"error","payload":{"detail":"Failed to process message for
 * <action>"}}: Chanx's words when a handler fails. */
char *wsc__msg_handler_failed(const char *action);
/* {"action":action,"payload":payload-or-null} */
char *wsc__msg_reply(const char *action, const cJSON *payload);

/* {"action":"authentication","payload":{"status_code":status,
 * "status_text":...,"data":{"detail":...}}}, Chanx's authentication frame;
 * `detail` NULL or "": DRF's default text for the status. */
char *wsc__msg_authentication(int status, const char *detail);

/* "Forbidden" for 403, and so on. */
const char *wsc__http_status_text(int status);

/* Frees what the functions above return. */
void wsc__msg_free(char *s);

#endif
