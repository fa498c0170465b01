/* The in-memory channel layer: events to a channel name and to groups routed
 * to event handlers, unknown events dropped (never sent raw), channel
 * capacity ("channel full" to the sender), message expiry, and several
 * aliases live at once, each consumer on its own. */
#include <stdlib.h>

#include <uv.h>

#include "helpers/check.h"
#include "helpers/server_thread.h"
#include "helpers/ws_client.h"

static wst_server *srv;

static const char *str_field(const cJSON *msg, const char *name) {
  const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(msg, "payload"), name);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int on_whoami(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)msg, (void)ud;
  cJSON *p = cJSON_CreateString(wsc_conn_get_channel(c));
  wsc_conn_reply(c, "whoami", p);
  cJSON_Delete(p);
  return 0;
}

/* poke {to, n}: sends n "poked" events to channel `to`; replies how many
 * were accepted and the first error. */
static int on_poke(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)ud;
  const cJSON *n = cJSON_GetObjectItem(cJSON_GetObjectItem(msg, "payload"), "n");
  int count = cJSON_IsNumber(n) ? n->valueint : 1, ok = 0, first = 0;
  for (int i = 0; i < count; i++) {
    char ev[128];
    snprintf(ev, sizeof ev, "{\"action\":\"poked\",\"payload\":{\"i\":%d}}", i);
    int rc = wsc_conn_send_event(c, str_field(msg, "to"), ev, strlen(ev));
    if (rc == 0) ok++;
    else if (!first) first = rc;
  }
  cJSON *p = cJSON_CreateObject();
  cJSON_AddNumberToObject(p, "accepted", ok);
  cJSON_AddStringToObject(p, "error", wsc_err_name(first));
  cJSON_AddStringToObject(p, "errmsg",
                          first ? wsc_server_errmsg(wsc_conn_get_server(c)) : "");
  wsc_conn_reply(c, "poke_result", p);
  cJSON_Delete(p);
  return 0;
}

/* Event handler: tells its own client which channel handled the event. */
static int on_poked(wsc_conn *c, const cJSON *ev, void *ud) {
  (void)ud;
  cJSON *p = cJSON_Duplicate(cJSON_GetObjectItem(ev, "payload"), 1);
  cJSON_AddStringToObject(p, "handled_by", wsc_conn_get_channel(c));
  wsc_conn_reply(c, "poked", p);
  cJSON_Delete(p);
  return 0;
}

static char *whoami(wst_client *c) {
  wst_send_text(c, "{\"action\":\"whoami\"}");
  char *m = wst_recv(c, 5000);
  cJSON *j = cJSON_Parse(m);
  char *ch = strdup(cJSON_GetObjectItem(j, "payload")->valuestring);
  cJSON_Delete(j);
  free(m);
  return ch;
}

static void sync_client(wst_client *c) {
  wst_send_text(c, "{\"action\":\"ping\"}");
  wst_expect(c, "{\"action\":\"pong\",\"payload\":null}");
}

static void test_event_to_channel_name(void) {
  int port = wst_port(srv);
  wst_client *a = wst_open(port, "/ws/a"), *b = wst_open(port, "/ws/a");
  char *ach = whoami(a), msg[256], want[256];
  snprintf(msg, sizeof msg, "{\"action\":\"poke\",\"payload\":{\"to\":\"%s\"}}", ach);
  wst_send_text(b, msg);
  wst_expect(b, "{\"action\":\"poke_result\",\"payload\":{\"accepted\":1,"
                "\"error\":\"WSC_OK\",\"errmsg\":\"\"}}");
  snprintf(want, sizeof want,
           "{\"action\":\"poked\",\"payload\":{\"i\":0,\"handled_by\":\"%s\"}}", ach);
  wst_expect(a, want);
  CHECK(wst_silent(b, 50));
  free(ach);
  wst_close(a, 1000);
  wst_close(b, 1000);
}

typedef struct server_send {
  const char *alias, *target, *json;
  int group, rc;
  char errmsg[256];
} server_send;

/* `group`: 0 send_event to target, 1 broadcast_event, 2 broadcast_message,
 * 3 group_add(target group, json as the channel). */
static void do_server_send(wsc_server *s, void *ud) {
  server_send *x = ud;
  size_t n = strlen(x->json);
  switch (x->group) {
    case 0: x->rc = wsc_server_send_event(s, x->alias, x->target, x->json, n); break;
    case 1: x->rc = wsc_server_broadcast_event(s, x->alias, x->target, x->json, n); break;
    case 2: x->rc = wsc_server_broadcast_message(s, x->alias, x->target, x->json, n); break;
    default: x->rc = wsc_server_group_add(s, x->alias, x->target, x->json); break;
  }
  snprintf(x->errmsg, sizeof x->errmsg, "%s", wsc_server_errmsg(s));
}

static int server_op(const char *alias, int op, const char *target,
                     const char *json) {
  server_send x = {alias, target, json, op, 0, ""};
  wst_call(srv, do_server_send, &x);
  return x.rc;
}

static void test_broadcast_event_runs_each_members_handler(void) {
  int port = wst_port(srv);
  wst_client *a = wst_open(port, "/ws/a"), *b = wst_open(port, "/ws/a");
  char *ach = whoami(a), *bch = whoami(b), want[256];
  server_send x = {NULL, "a_members",
                   "{\"action\":\"poked\",\"payload\":{\"i\":7}}", 1, 0, ""};
  wst_call(srv, do_server_send, &x);
  CHECK_OK(x.rc);
  snprintf(want, sizeof want,
           "{\"action\":\"poked\",\"payload\":{\"i\":7,\"handled_by\":\"%s\"}}", ach);
  wst_expect(a, want);
  snprintf(want, sizeof want,
           "{\"action\":\"poked\",\"payload\":{\"i\":7,\"handled_by\":\"%s\"}}", bch);
  wst_expect(b, want);
  free(ach);
  free(bch);
  wst_close(a, 1000);
  wst_close(b, 1000);
}

static void test_unknown_event_is_dropped_not_relayed(void) {
  wst_client *a = wst_open(wst_port(srv), "/ws/a");
  char *ach = whoami(a);
  server_send x = {NULL, ach, "{\"action\":\"mystery\",\"payload\":1}", 0, 0, ""};
  wst_call(srv, do_server_send, &x);
  CHECK_OK(x.rc);
  CHECK(wst_silent(a, 150));
  sync_client(a);
  /* Not an event at all: refused before anything is sent. */
  server_send y = {NULL, ach, "[1]", 0, 0, ""};
  wst_call(srv, do_server_send, &y);
  CHECK_EQ(y.rc, WSC_EINVAL);
  CHECK_CONTAINS(y.errmsg, "\"action\"");
  server_send z = {NULL, "bad name!", "{\"action\":\"poked\"}", 0, 0, ""};
  wst_call(srv, do_server_send, &z);
  CHECK_EQ(z.rc, WSC_EBADNAME);
  CHECK_CONTAINS(z.errmsg, "invalid channel name 'bad name!'");
  server_send w = {"nope", ach, "{\"action\":\"poked\"}", 0, 0, ""};
  wst_call(srv, do_server_send, &w);
  CHECK_EQ(w.rc, WSC_ENOTFOUND);
  free(ach);
  wst_close(a, 1000);
}

static void test_burst_to_a_connection_is_not_refused(void) {
  /* Layer "small" has capacity 3, but a connection drains its channel every
   * loop turn: a burst of 10 within one turn is all delivered, in order. */
  int port = wst_port(srv);
  wst_client *a = wst_open(port, "/ws/small"), *b = wst_open(port, "/ws/small");
  char *ach = whoami(a), msg[256];
  snprintf(msg, sizeof msg,
           "{\"action\":\"poke\",\"payload\":{\"to\":\"%s\",\"n\":10}}", ach);
  wst_send_text(b, msg);
  wst_expect(b, "{\"action\":\"poke_result\",\"payload\":{\"accepted\":10,"
                "\"error\":\"WSC_OK\",\"errmsg\":\"\"}}");
  for (int i = 0; i < 10; i++) {
    char *m = wst_recv(a, 5000), want[64];
    snprintf(want, sizeof want, "\"i\":%d,", i);
    CHECK_CONTAINS(m, want);
    free(m);
  }
  CHECK(wst_silent(a, 50));
  free(ach);
  wst_close(a, 1000);
  wst_close(b, 1000);
}

static void send_with_trailing_data(wsc_server *s, void *ud) {
  /* A valid object followed by more bytes is not one JSON value. */
  *(int *)ud = wsc_server_broadcast_message(s, NULL, "shared", "{\"action\":\"a\"} x", 16);
}

static void test_trailing_data_is_refused(void) {
  int rc = 0;
  wst_call(srv, send_with_trailing_data, &rc);
  CHECK_EQ(rc, WSC_EINVAL);
}

static void test_channel_full_to_the_sender(void) {
  /* A channel nobody reads fills at capacity 3; the sender (a handler here)
   * gets WSC_EFULL and a message naming the channel. */
  wst_client *b = wst_open(wst_port(srv), "/ws/small");
  wst_send_text(b, "{\"action\":\"poke\",\"payload\":{\"to\":\"unread\",\"n\":5}}");
  char *r = wst_recv(b, 5000);
  CHECK_CONTAINS(r, "\"accepted\":3");
  CHECK_CONTAINS(r, "\"error\":\"WSC_EFULL\"");
  CHECK_CONTAINS(r, "layer 'small': channel 'unread' is full");
  free(r);
  wst_close(b, 1000);
}

static void test_expiry_frees_an_unread_channel(void) {
  /* Nobody reads "nobody": messages wait there until they expire (1 s). */
  server_send x = {"small", "nobody", "{\"action\":\"poked\"}", 0, 0, ""};
  for (int i = 0; i < 3; i++) {
    wst_call(srv, do_server_send, &x);
    CHECK_OK(x.rc);
  }
  wst_call(srv, do_server_send, &x);
  CHECK_EQ(x.rc, WSC_EFULL);
  CHECK_CONTAINS(x.errmsg, "layer 'small': channel 'nobody' is full");
  uv_sleep(1200);
  wst_call(srv, do_server_send, &x);
  CHECK_OK(x.rc);
}

static void test_aliases_are_isolated(void) {
  /* Consumers "a" (layer default) and "small" (layer small) both put their
   * connections in a group of the same name; a broadcast on one layer never
   * reaches the other. */
  int port = wst_port(srv);
  wst_client *a = wst_open(port, "/ws/a"), *s = wst_open(port, "/ws/small");
  sync_client(a);
  sync_client(s);
  server_send x = {"small", "shared", "{\"action\":\"poked\",\"payload\":{}}", 1,
                   0, ""};
  wst_call(srv, do_server_send, &x);
  CHECK_OK(x.rc);
  char *m = wst_recv(s, 5000);
  CHECK_CONTAINS(m, "\"action\":\"poked\"");
  free(m);
  CHECK(wst_silent(a, 100));
  x.alias = NULL; /* "default" */
  wst_call(srv, do_server_send, &x);
  m = wst_recv(a, 5000);
  CHECK_CONTAINS(m, "\"action\":\"poked\"");
  free(m);
  CHECK(wst_silent(s, 100));
  wst_close(a, 1000);
  wst_close(s, 1000);
}

static void test_group_expiry_drops_unread_members(void) {
  /* Layer "brief": capacity 5, group_expiry 1 s. "idle" is in group "g" but
   * nobody reads it: once its membership expires, group sends skip it. */
  const char *ev = "{\"action\":\"poked\"}";
  CHECK_OK(server_op("brief", 3, "g", "idle"));
  CHECK_OK(server_op("brief", 1, "g", ev)); /* queued on idle: 1 of 5 */
  uv_sleep(1200);
  for (int i = 0; i < 4; i++) CHECK_OK(server_op("brief", 1, "g", ev));
  for (int i = 0; i < 4; i++) CHECK_OK(server_op("brief", 0, "idle", ev));
  CHECK_EQ(server_op("brief", 0, "idle", ev), WSC_EFULL); /* 1 + 4 = 5 */
  CHECK_EQ(server_op("brief", 3, "g", "not a channel"), WSC_EBADNAME);
  CHECK_EQ(server_op("nope", 3, "g", "idle"), WSC_ENOTFOUND);
}

static void test_connections_stay_in_their_groups(void) {
  /* A connection is not dropped from its groups by group_expiry while it is
   * connected (it leaves them when it closes). */
  wst_client *c = wst_open(wst_port(srv), "/ws/brief");
  sync_client(c);
  uv_sleep(1200);
  CHECK_OK(server_op("brief", 2, "shared", "{\"action\":\"still_here\"}"));
  wst_expect(c, "{\"action\":\"still_here\"}");
  wst_close(c, 1000);
}

typedef struct outcome {
  int calls, status, in_call;
  char errmsg[128];
} outcome;

static void on_result(int status, const char *errmsg, void *ud) {
  outcome *o = ud;
  CHECK(!o->in_call); /* never from inside the call that started the send */
  o->calls++;
  o->status = status;
  snprintf(o->errmsg, sizeof o->errmsg, "%s", errmsg ? errmsg : "");
}

static void start_cb_sends(wsc_server *s, void *ud) {
  outcome *o = ud;
  o[0].in_call = o[1].in_call = o[2].in_call = 1;
  CHECK_OK(wsc_server_send_event_cb(s, "small", "cb_target", "{\"action\":\"a\"}",
                                    14, on_result, &o[0]));
  CHECK_OK(wsc_server_broadcast_message_cb(s, NULL, "empty_group", "{}", 2,
                                           on_result, &o[1]));
  /* cb_target now holds 1 of 3; two more fill it; the next fails now. */
  CHECK_OK(wsc_server_send_event(s, "small", "cb_target", "{\"action\":\"a\"}", 14));
  CHECK_OK(wsc_server_send_event(s, "small", "cb_target", "{\"action\":\"a\"}", 14));
  CHECK_EQ(wsc_server_send_event_cb(s, "small", "cb_target", "{\"action\":\"a\"}",
                                    14, on_result, &o[2]),
           WSC_EFULL);
  o[0].in_call = o[1].in_call = o[2].in_call = 0;
}

static void no_op(wsc_server *s, void *ud) {
  (void)s, (void)ud;
}

static void test_result_callbacks(void) {
  outcome o[3];
  memset(o, 0, sizeof o);
  wst_call(srv, start_cb_sends, o);
  wst_call(srv, no_op, NULL); /* a later loop turn */
  wst_call(srv, no_op, NULL);
  CHECK_EQ(o[0].calls, 1);
  CHECK_EQ(o[0].status, 0);
  CHECK_EQ(o[1].calls, 1); /* a broadcast to nobody completes too */
  CHECK_EQ(o[1].status, 0);
  CHECK_EQ(o[2].calls, 0); /* refused at once: never called */
}

static wsc_consumer *make(const char *name, const char *layer) {
  wsc_consumer *c;
  CHECK_OK(wsc_consumer_new(name, &c));
  if (layer) CHECK_OK(wsc_consumer_set_layer(c, layer));
  CHECK_OK(wsc_consumer_add_group(c, "shared"));
  CHECK_OK(wsc_consumer_on(c, "whoami", on_whoami, NULL, NULL));
  CHECK_OK(wsc_consumer_on(c, "poke", on_poke, NULL, NULL));
  CHECK_OK(wsc_consumer_on_event(c, "poked", on_poked, NULL, NULL));
  return c;
}

int main(void) {
  wsc_consumer *cs[] = {make("a", NULL), make("small", "small"),
                        make("brief", "brief")};
  CHECK_OK(wsc_consumer_add_group(cs[0], "a_members"));
  srv = wst_server_start(
      "{\"layers\":{\"default\":{\"driver\":\"memory\"},"
      "\"small\":{\"driver\":\"memory\",\"capacity\":3,\"expiry\":1},"
      "\"brief\":{\"driver\":\"memory\",\"capacity\":5,\"group_expiry\":1}},"
      "\"routes\":[{\"path\":\"/ws/a\",\"consumer\":\"a\"},"
      "{\"path\":\"/ws/small\",\"consumer\":\"small\"},"
      "{\"path\":\"/ws/brief\",\"consumer\":\"brief\"}]}",
      cs, 3);
  RUN(test_event_to_channel_name);
  RUN(test_broadcast_event_runs_each_members_handler);
  RUN(test_unknown_event_is_dropped_not_relayed);
  RUN(test_burst_to_a_connection_is_not_refused);
  RUN(test_channel_full_to_the_sender);
  RUN(test_trailing_data_is_refused);
  RUN(test_expiry_frees_an_unread_channel);
  RUN(test_aliases_are_isolated);
  RUN(test_group_expiry_drops_unread_members);
  RUN(test_connections_stay_in_their_groups);
  RUN(test_result_callbacks);
  wst_server_stop(srv);
  return 0;
}
