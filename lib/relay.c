#include "relay.h"

#include <string.h>

#include "conn.h"
#include "consumer.h"
#include "keycase.h"
#include "layer.h"
#include "message.h"
#include "server.h"

#define SRV_LOG(srv, lvl, ...) wsc__log(&(srv)->log, lvl, "server", __VA_ARGS__)

/* The frame for `c`: plain, or camelCased (built once per delivery). */
static wsc__frame *frame_for(wsc_conn *c, wsc__frame *plain, wsc__frame **camel,
                             const cJSON *m) {
  if (!c->consumer->camelize) return plain;
  if (!*camel) {
    cJSON *copy = cJSON_Duplicate(m, 1);
    char *text = copy && wsc__keycase_convert(copy, 1) == 0
                     ? cJSON_PrintUnformatted(copy)
                     : NULL;
    cJSON_Delete(copy);
    if (text) *camel = wsc__frame_new_text(text, strlen(text));
    cJSON_free(text);
  }
  return *camel ? *camel : plain;
}

static void relay_group_message(wsc_server *srv, void *const *receivers,
                                size_t n, const cJSON *env) {
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(env, "message");
  const cJSON *from = cJSON_GetObjectItemCaseSensitive(env, "from_channel");
  int exclude =
      cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(env, "exclude_current"));
  const char *from_s = cJSON_IsString(from) ? from->valuestring : "";
  char *text = cJSON_PrintUnformatted(m);
  size_t len = text ? strlen(text) : 0;
  wsc__frame *f = text ? wsc__frame_new_text(text, len) : NULL, *camel = NULL;
  if (!f) {
    SRV_LOG(srv, WSC_LOG_ERROR, "out of memory relaying a group message");
    cJSON_free(text);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    wsc_conn *c = receivers[i];
    if (exclude && strcmp(c->channel, from_s) == 0) continue;
    wsc__conn_queue(c, frame_for(c, f, &camel, m));
    wsc__conn_log_frame(c, "sent", text, len, m);
    wsc__conn_send_completion(c, WSC__GROUP_COMPLETE);
  }
  wsc__frame_unref(f);
  if (camel) wsc__frame_unref(camel);
  cJSON_free(text);
}

void wsc__relay_deliver(void *host_data, void *const *receivers, size_t n,
                        const char *msg, size_t len) {
  wsc__layer *l = host_data;
  wsc_server *srv = l->owner;
  cJSON *env = cJSON_ParseWithLength(msg, len);
  const cJSON *type = cJSON_GetObjectItemCaseSensitive(env, "type");
  const char *t = cJSON_IsString(type) ? type->valuestring : "";
  if (strcmp(t, WSC__ENV_GROUP_MESSAGE) == 0) {
    relay_group_message(srv, receivers, n, env);
  } else if (strcmp(t, WSC__ENV_CHANNEL_EVENT) == 0) {
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(env, "event_data");
    for (size_t i = 0; i < n && cJSON_IsObject(ev); i++)
      wsc__conn_deliver_event(receivers[i], ev);
  } else {
    SRV_LOG(srv, WSC_LOG_WARN,
            "layer '%s': dropped a message that is not a wschannels envelope "
            "(%zu bytes)",
            l->alias, len);
  }
  cJSON_Delete(env);
}
