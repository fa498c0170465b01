/* Groups: broadcasts with and without exclude_current, room isolation (the
 * seeds' room chat), runtime join/leave, and 500 clients in one group each
 * receiving every broadcast exactly once, in order per sender, before and
 * after most of them leave. */
#include <stdlib.h>

#include <uv.h>

#include "helpers/check.h"
#include "helpers/room_chat.h"
#include "helpers/server_thread.h"
#include "helpers/ws_client.h"

static wst_server *srv;

static const char *str_field(const cJSON *msg, const char *name) {
  const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(msg, "payload"), name);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* {"action":"say","payload":{"text":..., "group":?, "exclude":?}} */
static int on_say(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)ud;
  const char *text = str_field(msg, "text"), *group = str_field(msg, "group");
  if (!text) return -1;
  cJSON *out = cJSON_CreateObject();
  cJSON_AddStringToObject(out, "action", "said");
  cJSON_AddStringToObject(out, "payload", text);
  const cJSON *ex = cJSON_GetObjectItem(cJSON_GetObjectItem(msg, "payload"),
                                        "exclude");
  const char *groups[] = {group};
  int rc = wsc_conn_broadcast_json(c, out, group ? groups : NULL, group ? 1 : 0,
                                   cJSON_IsTrue(ex) ? WSC_EXCLUDE_CURRENT : 0);
  cJSON_Delete(out);
  return rc;
}

static int reply_rc(wsc_conn *c, const char *action, int rc) {
  cJSON *p = cJSON_CreateString(wsc_err_name(rc));
  wsc_conn_reply(c, action, p);
  cJSON_Delete(p);
  return 0;
}

static int on_join(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)ud;
  return reply_rc(c, "joined", wsc_conn_group_add(c, str_field(msg, "group")));
}

static int on_leave(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)ud;
  return reply_rc(c, "left", wsc_conn_group_discard(c, str_field(msg, "group")));
}

static void sync_client(wst_client *c) { /* all earlier frames handled */
  wst_send_text(c, "{\"action\":\"ping\"}");
  wst_expect(c, "{\"action\":\"pong\",\"payload\":null}");
}

static void test_room_join_chat_leave_and_isolation(void) {
  int port = wst_port(srv);
  wst_client *a = wst_open(port, "/ws/room/lobby");
  sync_client(a);
  wst_client *b = wst_open(port, "/ws/room/lobby");
  wst_client *other = wst_open(port, "/ws/room/kitchen");
  /* A sees B join; B does not see its own join (exclude_current). */
  wst_expect(a, "{\"action\":\"room_notification\",\"payload\":{\"message\":"
                "\"🚪 Someone joined room 'lobby'\",\"room_name\":\"lobby\"}}");
  sync_client(b);
  sync_client(other);
  wst_send_text(b, "{\"action\":\"room_chat\",\"payload\":{\"message\":\"hi\"}}");
  const char *hi = "{\"action\":\"room_notification\",\"payload\":{\"message\":"
                   "\"💬 hi\",\"room_name\":\"lobby\"}}";
  wst_expect(a, hi);
  wst_expect(b, hi); /* the sender is in the room too */
  wst_send_text(other,
                "{\"action\":\"room_chat\",\"payload\":{\"message\":\"psst\"}}");
  wst_expect(other, "{\"action\":\"room_notification\",\"payload\":{\"message\":"
                    "\"💬 psst\",\"room_name\":\"kitchen\"}}");
  wst_close(b, 1000);
  wst_expect(a, "{\"action\":\"room_notification\",\"payload\":{\"message\":"
                "\"👋 Someone left room 'lobby'\",\"room_name\":\"lobby\"}}");
  /* Rooms never see each other's messages. */
  CHECK(wst_silent(a, 100));
  CHECK(wst_silent(other, 50));
  wst_close(a, 1000);
  wst_close(other, 1000);
}

static void test_exclude_current(void) {
  int port = wst_port(srv);
  wst_client *a = wst_open(port, "/ws/talk"), *b = wst_open(port, "/ws/talk");
  sync_client(b);
  wst_send_text(a, "{\"action\":\"say\",\"payload\":{\"text\":\"all\"}}");
  wst_expect(a, "{\"action\":\"said\",\"payload\":\"all\"}");
  wst_expect(b, "{\"action\":\"said\",\"payload\":\"all\"}");
  wst_send_text(a, "{\"action\":\"say\",\"payload\":{\"text\":\"not me\","
                   "\"exclude\":true}}");
  wst_expect(b, "{\"action\":\"said\",\"payload\":\"not me\"}");
  CHECK(wst_silent(a, 100));
  wst_close(a, 1000);
  wst_close(b, 1000);
}

static void test_runtime_join_and_leave(void) {
  int port = wst_port(srv);
  wst_client *a = wst_open(port, "/ws/talk"), *b = wst_open(port, "/ws/talk");
  wst_send_text(b, "{\"action\":\"join\",\"payload\":{\"group\":\"side\"}}");
  wst_expect(b, "{\"action\":\"joined\",\"payload\":\"WSC_OK\"}");
  wst_send_text(b, "{\"action\":\"join\",\"payload\":{\"group\":\"side\"}}");
  wst_expect(b, "{\"action\":\"joined\",\"payload\":\"WSC_EEXIST\"}");
  wst_send_text(b, "{\"action\":\"join\",\"payload\":{\"group\":\"bad group!\"}}");
  wst_expect(b, "{\"action\":\"joined\",\"payload\":\"WSC_EBADNAME\"}");
  /* A is not in "side" but may broadcast to it. */
  wst_send_text(a, "{\"action\":\"say\",\"payload\":{\"text\":\"psst\","
                   "\"group\":\"side\"}}");
  wst_expect(b, "{\"action\":\"said\",\"payload\":\"psst\"}");
  CHECK(wst_silent(a, 50));
  wst_send_text(b, "{\"action\":\"leave\",\"payload\":{\"group\":\"side\"}}");
  wst_expect(b, "{\"action\":\"left\",\"payload\":\"WSC_OK\"}");
  wst_send_text(b, "{\"action\":\"leave\",\"payload\":{\"group\":\"side\"}}");
  wst_expect(b, "{\"action\":\"left\",\"payload\":\"WSC_ENOTFOUND\"}");
  wst_send_text(a, "{\"action\":\"say\",\"payload\":{\"text\":\"gone?\","
                   "\"group\":\"side\"}}");
  sync_client(a);
  CHECK(wst_silent(b, 100));
  wst_close(a, 1000);
  wst_close(b, 1000);
}

static void test_client_that_paused_reading_gets_everything(void) {
  /* 2,000 broadcasts of 1 KB pile up behind a client that is not reading
   * (well past the kernel's socket buffers, under the 4 MiB queue limit);
   * once it reads again every frame arrives, in order. */
  int port = wst_port(srv);
  wst_client *sender = wst_open(port, "/ws/talk"), *slow = wst_open(port, "/ws/talk");
  sync_client(slow);
  char pad[1001];
  memset(pad, 'x', 1000);
  pad[1000] = 0;
  for (int i = 0; i < 2000; i++) {
    char m[1200];
    snprintf(m, sizeof m, "{\"action\":\"say\",\"payload\":{\"text\":\"%d %s\"}}", i, pad);
    wst_send_text(sender, m);
    free(wst_recv(sender, 5000)); /* the sender keeps up */
  }
  for (int i = 0; i < 2000; i++) {
    char *m = wst_recv(slow, 10000);
    int n = -1;
    CHECK(m && sscanf(m, "{\"action\":\"said\",\"payload\":\"%d ", &n) == 1);
    CHECK_EQ(n, i);
    free(m);
  }
  wst_close(sender, 1000);
  wst_close(slow, 1000);
}

enum { CROWD = 500, SENDERS = 2, PER_SENDER = 25 };

/* The senders broadcast PER_SENDER messages each; every client in `in`
 * gets each once, in order per sender; the others get none. */
static void broadcast_round(wst_client **cl, const int *in) {
  for (int n = 0; n < PER_SENDER; n++) {
    for (int s = 0; s < SENDERS; s++) {
      char m[128];
      snprintf(m, sizeof m,
               "{\"action\":\"say\",\"payload\":{\"text\":\"%d:%d\"}}", s, n);
      wst_send_text(cl[s], m);
    }
  }
  int waited = 0;
  for (int i = 0; i < CROWD; i++) {
    if (!cl[i]) continue;
    if (!in[i]) { /* by the time the first is checked, everyone was sent to */
      CHECK(wst_silent(cl[i], waited ? 0 : 300));
      waited = 1;
      continue;
    }
    int next[SENDERS] = {0};
    for (int k = 0; k < SENDERS * PER_SENDER; k++) {
      char *m = wst_recv(cl[i], 10000);
      CHECK(m != NULL);
      int s, n;
      CHECK_EQ(sscanf(m, "{\"action\":\"said\",\"payload\":\"%d:%d\"}", &s, &n),
               2);
      CHECK(s >= 0 && s < SENDERS);
      CHECK_EQ(n, next[s]); /* in order per sender, none missing, no dup */
      next[s]++;
      free(m);
    }
    CHECK(wst_silent(cl[i], i == 0 ? 200 : 0)); /* nothing extra */
  }
}

static void test_500_clients_get_every_broadcast_once_in_order(void) {
  int port = wst_port(srv);
  wst_client **cl = calloc(CROWD, sizeof *cl);
  int *in = calloc(CROWD, sizeof *in);
  for (int i = 0; i < CROWD; i++) cl[i] = wst_open(port, "/ws/talk"), in[i] = 1;
  for (int i = 0; i < CROWD; i++) sync_client(cl[i]); /* all have joined */
  broadcast_round(cl, in);
  /* Four in five leave, half by closing and half by "leave", spread over
   * the group: the rest still get everything once, in order. */
  for (int i = SENDERS; i < CROWD; i++) {
    if (i % 5 == 0) continue;
    in[i] = 0;
    if (i % 2) {
      wst_close(cl[i], 1000);
      cl[i] = NULL;
    } else {
      wst_send_text(cl[i], "{\"action\":\"leave\",\"payload\":{\"group\":\"talkers\"}}");
      wst_expect(cl[i], "{\"action\":\"left\",\"payload\":\"WSC_OK\"}");
    }
  }
  broadcast_round(cl, in);
  for (int i = 0; i < CROWD; i++) wst_close(cl[i], 0);
  free(cl);
  free(in);
}

int main(void) {
  wst_raise_fd_limit();
  wsc_consumer *talk;
  CHECK_OK(wsc_consumer_new("talk", &talk));
  CHECK_OK(wsc_consumer_on(talk, "say", on_say, NULL, NULL));
  CHECK_OK(wsc_consumer_on(talk, "join", on_join, NULL, NULL));
  CHECK_OK(wsc_consumer_on(talk, "leave", on_leave, NULL, NULL));
  wsc_consumer *cs[] = {wst_room_chat_consumer("room_chat"), talk};
  /* The config sets talk's static groups (a config overrides the code). */
  srv = wst_server_start(
      "{\"routes\":[{\"path\":\"/ws/room/{room_name}\",\"consumer\":\"room_chat\"},"
      "{\"path\":\"/ws/talk\",\"consumer\":\"talk\"}],"
      "\"limits\":{\"messages_per_second\":0}," /* 10,000 broadcasts from one client */
      "\"consumers\":{\"talk\":{\"groups\":[\"talkers\"]}}}",
      cs, 2);
  RUN(test_room_join_chat_leave_and_isolation);
  RUN(test_exclude_current);
  RUN(test_runtime_join_and_leave);
  RUN(test_client_that_paused_reading_gets_everything);
  RUN(test_500_clients_get_every_broadcast_once_in_order);
  wst_server_stop(srv);
  return 0;
}
