#include "room_chat.h"

#include <stdio.h>
#include <stdlib.h>

#include "check.h"

static int notify(wsc_conn *c, const char *text, unsigned flags) {
  const char *room = wsc_conn_get_path_param(c, "room_name");
  char group[128];
  snprintf(group, sizeof group, "room_%s", room);
  cJSON *m = cJSON_CreateObject();
  cJSON_AddStringToObject(m, "action", "room_notification");
  cJSON *p = cJSON_AddObjectToObject(m, "payload");
  cJSON_AddStringToObject(p, "message", text);
  cJSON_AddStringToObject(p, "room_name", room);
  const char *groups[] = {group};
  int rc = wsc_conn_broadcast_json(c, m, groups, 1, flags);
  cJSON_Delete(m);
  return rc;
}

static int on_room_chat(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)ud;
  const cJSON *text = cJSON_GetObjectItem(cJSON_GetObjectItem(msg, "payload"),
                                          "message");
  if (!cJSON_IsString(text)) return -1;
  char buf[1024];
  snprintf(buf, sizeof buf, "💬 %s", text->valuestring);
  return notify(c, buf, 0);
}

static int on_connect(wsc_conn *c, void *ud) {
  (void)ud;
  char group[128], buf[256];
  const char *room = wsc_conn_get_path_param(c, "room_name");
  snprintf(group, sizeof group, "room_%s", room);
  int rc = wsc_conn_group_add(c, group);
  if (rc) return rc;
  snprintf(buf, sizeof buf, "🚪 Someone joined room '%s'", room);
  return notify(c, buf, WSC_EXCLUDE_CURRENT);
}

static void on_disconnect(wsc_conn *c, int code, void *ud) {
  (void)ud;
  (void)code;
  char buf[256];
  snprintf(buf, sizeof buf, "👋 Someone left room '%s'",
           wsc_conn_get_path_param(c, "room_name"));
  notify(c, buf, WSC_EXCLUDE_CURRENT);
}

wsc_consumer *wst_room_chat_consumer(const char *name) {
  wsc_consumer *c;
  CHECK_OK(wsc_consumer_new(name, &c));
  CHECK_OK(wsc_consumer_set_description(c, "Room Chat Consumer - Dynamic "
                                           "room-based messaging"));
  CHECK_OK(wsc_consumer_on(c, "room_chat", on_room_chat, NULL, NULL));
  wsc_consumer_hooks h;
  wsc_consumer_hooks_init(&h);
  h.on_connect = on_connect;
  h.on_disconnect = on_disconnect;
  CHECK_OK(wsc_consumer_set_hooks(c, &h, NULL, NULL));
  return c;
}
