#include "relay.h"

#include <string.h>

#include "conn.h"
#include "consumer.h"
#include "keycase.h"
#include "layer.h"
#include "message.h"
#include "server.h"
#include "alloc.h"

#define SRV_LOG(srv, lvl, ...) wsc__log(&(srv)->log, lvl, "server", __VA_ARGS__)

/* The frames one delivery needs, each built once, on first use:
 * [camelized][is_mine][is_current]; metadata variants only for consumers
 * that ask for it (group_message_metadata). */
typedef struct variants {
  const cJSON *message;
  char *text[2]; /* the message printed, plain and camelCased */
  size_t len[2];
  wsc__frame *plain[2];
  wsc__frame *meta[2][2][2];
} variants;

static const char *printed(variants *v, int camel) {
  if (!v->text[camel]) {
    cJSON *copy = camel ? cJSON_Duplicate(v->message, 1) : NULL;
    if (camel && (!copy || wsc__keycase_convert(copy, 1))) {
      cJSON_Delete(copy);
      return NULL;
    }
    v->text[camel] = cJSON_PrintUnformatted(camel ? copy : v->message);
    cJSON_Delete(copy);
    if (v->text[camel]) v->len[camel] = strlen(v->text[camel]);
  }
  return v->text[camel];
}

/* The message with "is_mine" and "is_current" spliced in before its last
 * '}': no re-serialization per recipient. */
static wsc__frame *with_metadata(variants *v, int camel, int mine, int current) {
  wsc__frame **f = &v->meta[camel][mine][current];
  if (*f) return *f;
  const char *t = printed(v, camel);
  if (!t || v->len[camel] < 2) return NULL;
  char tail[64];
  int n = snprintf(tail, sizeof tail, "%s\"%s\":%s,\"%s\":%s}",
                   v->len[camel] > 2 ? "," : "", camel ? "isMine" : "is_mine",
                   mine ? "true" : "false", camel ? "isCurrent" : "is_current",
                   current ? "true" : "false");
  size_t body = v->len[camel] - 1; /* without the closing brace */
  char *s = wsc__malloc(body + (size_t)n + 1);
  if (!s) return NULL;
  memcpy(s, t, body);
  memcpy(s + body, tail, (size_t)n + 1);
  *f = wsc__frame_new_text(s, body + (size_t)n);
  wsc__free(s);
  return *f;
}

static wsc__frame *frame_for(variants *v, const wsc_conn *c, const char *from,
                             const char *from_user) {
  int camel = c->consumer->camelize;
  if (c->consumer->group_metadata) {
    int mine = from_user && c->user_id && strcmp(from_user, c->user_id) == 0;
    int current = strcmp(c->channel, from) == 0;
    return with_metadata(v, camel, mine, current);
  }
  if (!v->plain[camel]) {
    const char *t = printed(v, camel);
    if (t) v->plain[camel] = wsc__frame_new_text(t, v->len[camel]);
  }
  return v->plain[camel];
}

static void variants_clear(variants *v) {
  for (int a = 0; a < 2; a++) {
    cJSON_free(v->text[a]);
    if (v->plain[a]) wsc__frame_unref(v->plain[a]);
    for (int b = 0; b < 2; b++)
      for (int d = 0; d < 2; d++)
        if (v->meta[a][b][d]) wsc__frame_unref(v->meta[a][b][d]);
  }
}

static void relay_group_message(wsc_server *srv, void *const *receivers,
                                size_t n, const cJSON *env) {
  const cJSON *from = cJSON_GetObjectItemCaseSensitive(env, "from_channel");
  const cJSON *user = cJSON_GetObjectItemCaseSensitive(env, "from_user");
  int exclude =
      cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(env, "exclude_current"));
  const char *from_s = cJSON_IsString(from) ? from->valuestring : "";
  const char *user_s = cJSON_IsString(user) ? user->valuestring : NULL;
  variants v;
  memset(&v, 0, sizeof v);
  v.message = cJSON_GetObjectItemCaseSensitive(env, "message");
  if (!cJSON_IsObject(v.message)) {
    SRV_LOG(srv, WSC_LOG_WARN, "dropped a group message without a message");
    return;
  }
  for (size_t i = 0; i < n; i++) {
    wsc_conn *c = receivers[i];
    if (exclude && strcmp(c->channel, from_s) == 0) continue;
    wsc__frame *f = frame_for(&v, c, from_s, user_s);
    if (!f) {
      SRV_LOG(srv, WSC_LOG_ERROR, "out of memory relaying a group message");
      break;
    }
    wsc__conn_queue(c, f);
    if (c->consumer->log_messages) {
      int camel = c->consumer->camelize;
      wsc__conn_log_frame(c, "sent", v.text[camel], v.len[camel], v.message);
    }
    wsc__conn_send_completion(c, WSC__GROUP_COMPLETE);
  }
  variants_clear(&v);
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
