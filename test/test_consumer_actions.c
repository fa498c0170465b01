/* Handlers and lifecycle hooks: ping/pong, reply to sender, overriding ping,
 * closing with a code, authenticate, on_connect, on_disconnect, and
 * per-connection data freed exactly once. */
#include <stdlib.h>

#include <uv.h>

#include "helpers/check.h"
#include "helpers/server_thread.h"
#include "helpers/ws_client.h"

static wst_server *srv;

static int on_echo(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)ud;
  return wsc_conn_reply(c, "echo", cJSON_GetObjectItem(msg, "payload"));
}

static int on_my_ping(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)msg, (void)ud;
  cJSON *p = cJSON_CreateString("custom");
  int rc = wsc_conn_reply(c, "pong", p);
  cJSON_Delete(p);
  return rc;
}

static int on_kick(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)msg, (void)ud;
  wsc_conn_reply(c, "bye", NULL); /* queued before the close: sent first */
  return wsc_conn_close(c, 4001, "kicked by handler");
}

static int on_whoami(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)msg, (void)ud;
  cJSON *p = cJSON_CreateObject();
  cJSON_AddStringToObject(p, "channel", wsc_conn_get_channel(c));
  cJSON_AddStringToObject(p, "consumer", wsc_conn_get_consumer_name(c));
  int *visits = wsc_conn_get_data(c);
  cJSON_AddNumberToObject(p, "visits", ++*visits);
  int rc = wsc_conn_reply(c, "whoami", p);
  cJSON_Delete(p);
  return rc;
}

/* ---- hooks -------------------------------------------------------------- */

static uv_mutex_t mu;
static int freed_data, last_close_code, disconnects, hooks_freed;

static void free_visits(void *p) {
  uv_mutex_lock(&mu);
  freed_data++;
  uv_mutex_unlock(&mu);
  free(p);
}

static int authenticate(wsc_conn *c, void *ud) {
  CHECK_STREQ(ud, "hooks-ud");
  const char *tok = wsc_conn_get_query_param(c, "token");
  if (!tok) return 401;
  if (strcmp(tok, "let me in") != 0) return 1; /* any other value: 403 */
  return 0;
}

static int on_connect(wsc_conn *c, void *ud) {
  (void)ud;
  wsc_conn_set_data(c, calloc(1, sizeof(int)), free_visits);
  CHECK(wsc_conn_is_open(c));
  CHECK(strncmp(wsc_conn_get_channel(c), "specific..inmemory!", 19) == 0);
  return 0;
}

static void on_disconnect(wsc_conn *c, int code, void *ud) {
  (void)c, (void)ud;
  uv_mutex_lock(&mu);
  last_close_code = code;
  disconnects++;
  uv_mutex_unlock(&mu);
}

static void free_hooks_ud(void *p) {
  CHECK_STREQ(p, "hooks-ud");
  hooks_freed++;
}

static int read_locked(int *v) {
  uv_mutex_lock(&mu);
  int x = *v;
  uv_mutex_unlock(&mu);
  return x;
}

static void wait_for(int *v, int want) {
  for (int i = 0; i < 500 && read_locked(v) != want; i++) uv_sleep(10);
  CHECK_EQ(read_locked(v), want);
}

/* ---- tests -------------------------------------------------------------- */

static void test_builtin_ping(void) {
  wst_client *c = wst_open(wst_port(srv), "/ws/plain");
  wst_send_text(c, "{\"action\":\"ping\"}");
  wst_expect(c, "{\"action\":\"pong\",\"payload\":null}");
  wst_send_text(c, "{\"action\":\"ping\",\"payload\":null}");
  wst_expect(c, "{\"action\":\"pong\",\"payload\":null}");
  wst_close(c, 1000);
}

static void test_consumer_ping_overrides_builtin(void) {
  wst_client *c = wst_open(wst_port(srv), "/ws/ownping");
  wst_send_text(c, "{\"action\":\"ping\"}");
  wst_expect(c, "{\"action\":\"pong\",\"payload\":\"custom\"}");
  wst_close(c, 1000);
}

static void test_reply_goes_to_sender_only(void) {
  wst_client *a = wst_open(wst_port(srv), "/ws/plain");
  wst_client *b = wst_open(wst_port(srv), "/ws/plain");
  wst_send_text(a, "{\"action\":\"echo\",\"payload\":{\"text\":\"héllo 💬\"}}");
  wst_expect(a, "{\"action\":\"echo\",\"payload\":{\"text\":\"héllo 💬\"}}");
  CHECK(wst_silent(b, 100));
  wst_close(a, 1000);
  wst_close(b, 1000);
}

static void test_handler_closes_with_code(void) {
  wst_client *c = wst_open(wst_port(srv), "/ws/plain");
  wst_send_text(c, "{\"action\":\"kick\"}");
  wst_expect(c, "{\"action\":\"bye\",\"payload\":null}");
  CHECK_EQ(wst_wait_close(c, 5000), 4001);
  CHECK_STREQ(wst_close_reason(c), "kicked by handler");
  wst_close(c, 0);
}

static void test_authenticate_refuses_with_status(void) {
  int st;
  CHECK(wst_connect(wst_port(srv), "/ws/guarded", NULL, &st) == NULL);
  CHECK_EQ(st, 401);
  CHECK(wst_connect(wst_port(srv), "/ws/guarded?token=nope", NULL, &st) ==
        NULL);
  CHECK_EQ(st, 403);
  /* Refused connections never reach on_connect or on_disconnect. */
  CHECK_EQ(read_locked(&disconnects), 0);
}

static void test_hooks_and_connection_data(void) {
  wst_client *c = wst_open(wst_port(srv), "/ws/guarded?token=let%20me%20in");
  wst_send_text(c, "{\"action\":\"whoami\"}");
  char *r = wst_recv(c, 5000);
  CHECK_CONTAINS(r, "\"channel\":\"specific..inmemory!");
  CHECK_CONTAINS(r, "\"consumer\":\"guarded\"");
  CHECK_CONTAINS(r, "\"visits\":1");
  free(r);
  wst_send_text(c, "{\"action\":\"whoami\"}");
  r = wst_recv(c, 5000);
  CHECK_CONTAINS(r, "\"visits\":2");
  free(r);
  wst_close(c, 4321);
  wait_for(&disconnects, 1);
  CHECK_EQ(read_locked(&last_close_code), 4321);
  wait_for(&freed_data, 1);
}

static void test_abrupt_disconnect_reports_1006(void) {
  int before = read_locked(&disconnects);
  wst_client *c = wst_open(wst_port(srv), "/ws/guarded?token=let%20me%20in");
  wst_send_text(c, "{\"action\":\"ping\"}");
  wst_expect(c, "{\"action\":\"pong\",\"payload\":null}");
  wst_close(c, 0); /* socket closed, no close frame */
  wait_for(&disconnects, before + 1);
  CHECK_EQ(read_locked(&last_close_code), 1006);
  wait_for(&freed_data, 2);
}

static void count_conns(wsc_server *s, void *ud) {
  *(size_t *)ud = wsc_server_connection_count(s);
}

static void test_connection_count(void) {
  size_t n = 99;
  wst_call(srv, count_conns, &n);
  CHECK_EQ(n, 0);
  wst_client *a = wst_open(wst_port(srv), "/ws/plain");
  wst_client *b = wst_open(wst_port(srv), "/ws/plain");
  wst_send_text(b, "{\"action\":\"ping\"}");
  wst_expect(b, "{\"action\":\"pong\",\"payload\":null}");
  wst_call(srv, count_conns, &n);
  CHECK_EQ(n, 2);
  wst_close(a, 1000);
  wst_close(b, 1000);
  for (int i = 0; i < 500 && n; i++) {
    wst_call(srv, count_conns, &n);
    uv_sleep(5);
  }
  CHECK_EQ(n, 0);
}

static void test_registration_errors(void) {
  wsc_consumer *c;
  CHECK_EQ(wsc_consumer_new("bad name!", &c), WSC_EINVAL);
  CHECK_OK(wsc_consumer_new("x", &c));
  CHECK_OK(wsc_consumer_on(c, "a", on_echo, NULL, NULL));
  int freed = hooks_freed;
  CHECK_EQ(wsc_consumer_on(c, "a", on_echo, "hooks-ud", free_hooks_ud),
           WSC_EEXIST);
  CHECK_EQ(hooks_freed, freed + 1); /* freed at once on failure */
  CHECK_EQ(wsc_consumer_add_group(c, "no spaces"), WSC_EBADNAME);
  CHECK_OK(wsc_consumer_add_group(c, "ok"));
  CHECK_EQ(wsc_consumer_add_group(c, "ok"), WSC_EEXIST);
  wsc_consumer_free(c);
}

int main(void) {
  uv_mutex_init(&mu);
  wsc_consumer *plain, *ownping, *guarded;
  CHECK_OK(wsc_consumer_new("plain", &plain));
  CHECK_OK(wsc_consumer_on(plain, "echo", on_echo, NULL, NULL));
  CHECK_OK(wsc_consumer_on(plain, "kick", on_kick, NULL, NULL));
  CHECK_OK(wsc_consumer_new("ownping", &ownping));
  CHECK_OK(wsc_consumer_on(ownping, "ping", on_my_ping, NULL, NULL));
  CHECK_OK(wsc_consumer_new("guarded", &guarded));
  CHECK_OK(wsc_consumer_on(guarded, "whoami", on_whoami, NULL, NULL));
  wsc_consumer_hooks h;
  wsc_consumer_hooks_init(&h);
  h.authenticate = authenticate;
  h.on_connect = on_connect;
  h.on_disconnect = on_disconnect;
  CHECK_OK(wsc_consumer_set_hooks(guarded, &h, "hooks-ud", free_hooks_ud));
  wsc_consumer *cs[] = {plain, ownping, guarded};
  srv = wst_server_start(
      "{\"routes\":[{\"path\":\"/ws/plain\",\"consumer\":\"plain\"},"
      "{\"path\":\"/ws/ownping\",\"consumer\":\"ownping\"},"
      "{\"path\":\"/ws/guarded\",\"consumer\":\"guarded\"}]}",
      cs, 3);
  RUN(test_builtin_ping);
  RUN(test_consumer_ping_overrides_builtin);
  RUN(test_reply_goes_to_sender_only);
  RUN(test_handler_closes_with_code);
  RUN(test_authenticate_refuses_with_status);
  RUN(test_hooks_and_connection_data);
  RUN(test_abrupt_disconnect_reports_1006);
  RUN(test_connection_count);
  RUN(test_registration_errors);
  int freed = hooks_freed;
  wst_server_stop(srv);
  CHECK_EQ(hooks_freed, freed + 1); /* the server freed the consumer's ud */
  uv_mutex_destroy(&mu);
  return 0;
}
