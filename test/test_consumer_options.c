/* Chanx's consumer options, each over real sockets: send_completion,
 * camelize, discriminator_field, send_authentication_message,
 * log_websocket_message with log_ignored_actions; set through the C API and
 * through the config. */
#include <stdlib.h>
#include <string.h>

#include "helpers/check.h"
#include "helpers/log_capture.h"
#include "helpers/server_thread.h"
#include "helpers/whoami.h"
#include "helpers/ws_client.h"

/* ---- handlers shared by the consumers ------------------------------------ */

static int on_echo(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)ud;
  return wsc_conn_reply(c, "echo", cJSON_GetObjectItem(msg, "payload"));
}

static int on_fail(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)c, (void)msg, (void)ud;
  return -1;
}

/* Replies {"room_name": <payload.room_name>, "status_code": 200}: what a
 * snake_case handler sees and says. */
static int on_room_info(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)ud;
  const cJSON *p = cJSON_GetObjectItem(msg, "payload");
  const cJSON *room = cJSON_GetObjectItemCaseSensitive(p, "room_name");
  cJSON *out = cJSON_CreateObject();
  cJSON_AddStringToObject(out, "room_name",
                          cJSON_IsString(room) ? room->valuestring : "(none)");
  cJSON_AddNumberToObject(out, "status_code", 200);
  int rc = wsc_conn_reply(c, "room_info", out);
  cJSON_Delete(out);
  return rc;
}

/* Broadcasts {"action":"note","payload":{"user_name":...}} to "all". */
static int on_note(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)ud;
  cJSON *m = cJSON_CreateObject();
  cJSON_AddStringToObject(m, "action", "note");
  cJSON_AddItemToObject(m, "payload",
                        cJSON_Duplicate(cJSON_GetObjectItem(msg, "payload"), 1));
  const char *g = "all";
  int rc = wsc_conn_broadcast_json(c, m, &g, 1, 0);
  cJSON_Delete(m);
  return rc;
}

static int on_event(wsc_conn *c, const cJSON *ev, void *ud) {
  (void)ud;
  return wsc_conn_reply(c, "event_seen", cJSON_GetObjectItem(ev, "payload"));
}

static int handler_runs; /* loop thread */
static int counting_echo(wsc_conn *c, const cJSON *msg, void *ud) {
  handler_runs++;
  return on_echo(c, msg, ud);
}

static int authenticate(wsc_conn *c, void *ud) {
  (void)ud;
  const char *t = wsc_conn_get_query_param(c, "token");
  return t && strcmp(t, "ok") == 0 ? 0 : 403;
}

static wsc_consumer *consumer(const char *name, int with_auth) {
  wsc_consumer *c;
  CHECK_OK(wsc_consumer_new(name, &c));
  CHECK_OK(wsc_consumer_on(c, "echo", counting_echo, NULL, NULL));
  CHECK_OK(wsc_consumer_on(c, "fail", on_fail, NULL, NULL));
  CHECK_OK(wsc_consumer_on(c, "room_info", on_room_info, NULL, NULL));
  CHECK_OK(wsc_consumer_on(c, "note", on_note, NULL, NULL));
  CHECK_OK(wsc_consumer_on(c, "whoami", wst_whoami_handler, NULL, NULL));
  CHECK_OK(wsc_consumer_on_event(c, "poke", on_event, NULL, NULL));
  CHECK_OK(wsc_consumer_add_group(c, "all"));
  if (with_auth) {
    wsc_consumer_hooks h;
    wsc_consumer_hooks_init(&h);
    h.authenticate = authenticate;
    CHECK_OK(wsc_consumer_set_hooks(c, &h, NULL, NULL));
  }
  return c;
}

/* ---- the tests ------------------------------------------------------------ */

static const char *const COMPLETE = "{\"action\":\"complete\",\"payload\":null}";

static void test_completion(wst_server *s) {
  int port = wst_port(s);
  wst_client *a = wst_open(port, "/ws/completion");
  wst_client *plain = wst_open(port, "/ws/plain");
  char *ch = wst_whoami(a);
  wst_expect(a, COMPLETE);
  /* after a reply */
  wst_send_text(a, "{\"action\":\"echo\",\"payload\":1}");
  wst_expect(a, "{\"action\":\"echo\",\"payload\":1}");
  wst_expect(a, COMPLETE);
  /* after the built-in ping */
  wst_send_text(a, "{\"action\":\"ping\"}");
  wst_expect(a, "{\"action\":\"pong\",\"payload\":null}");
  wst_expect(a, COMPLETE);
  /* after errors of every kind */
  wst_send_text(a, "{nope");
  char *r = wst_recv(a, 5000);
  CHECK_CONTAINS(r, "json_invalid");
  free(r);
  wst_expect(a, COMPLETE);
  wst_send_text(a, "{\"action\":\"fail\"}");
  wst_expect(a, "{\"action\":\"error\",\"payload\":{\"detail\":\"Failed to "
                "process message for fail\"}}");
  wst_expect(a, COMPLETE);
  wst_send_text(a, "{\"action\":\"nope\"}");
  r = wst_recv(a, 5000);
  CHECK_CONTAINS(r, "union_tag_invalid");
  free(r);
  wst_expect(a, COMPLETE);
  /* a handler that sends nothing still completes */
  wst_send_text(a, "{\"action\":\"note\",\"payload\":{\"x\":1}}");
  /* the relayed group message, then group_complete, then complete (the
   * relay may come before or after the handler's completion) */
  int saw_note = 0, saw_group = 0, saw_complete = 0;
  for (int i = 0; i < 3; i++) {
    r = wst_recv(a, 5000);
    CHECK(r);
    if (strcmp(r, COMPLETE) == 0) {
      saw_complete++;
    } else if (strstr(r, "\"note\"")) {
      CHECK(!saw_group); /* the message comes before its completion */
      saw_note++;
    } else {
      CHECK_STREQ(r, "{\"action\":\"group_complete\",\"payload\":null}");
      saw_group++;
    }
    free(r);
  }
  CHECK(saw_note == 1 && saw_group == 1 && saw_complete == 1);
  /* a consumer without the option in the same group: the note only */
  wst_expect(plain, "{\"action\":\"note\",\"payload\":{\"x\":1}}");
  CHECK(wst_silent(plain, 100));
  /* an event: its output, then event_complete; also for a dropped one */
  const char *ev = "{\"action\":\"poke\",\"payload\":\"p\"}";
  CHECK_OK(wsc_server_send_event_threadsafe(wst_srv(s), NULL, ch, ev,
                                            strlen(ev)));
  wst_expect(a, "{\"action\":\"event_seen\",\"payload\":\"p\"}");
  wst_expect(a, "{\"action\":\"event_complete\",\"payload\":null}");
  const char *unknown = "{\"action\":\"nobody\"}";
  CHECK_OK(wsc_server_send_event_threadsafe(wst_srv(s), NULL, ch, unknown,
                                            strlen(unknown)));
  wst_expect(a, "{\"action\":\"event_complete\",\"payload\":null}");
  free(ch);
  wst_close(plain, 1000);
  wst_close(a, 1000);
}

static void test_camelize(int port) {
  wst_client *a = wst_open(port, "/ws/camel");
  wst_client *plain = wst_open(port, "/ws/plain");
  /* in: keys snake_cased for the handler; out: keys camelCased */
  wst_send_text(a, "{\"action\":\"room_info\",\"payload\":{\"roomName\":\"r1\"}}");
  wst_expect(a, "{\"action\":\"room_info\",\"payload\":{\"roomName\":\"r1\","
                "\"statusCode\":200}}");
  /* values are never changed */
  wst_send_text(a, "{\"action\":\"echo\",\"payload\":{\"aB\":\"snake_value\","
                   "\"list\":[{\"innerKey\":1}]}}");
  wst_expect(a, "{\"action\":\"echo\",\"payload\":{\"aB\":\"snake_value\","
                "\"list\":[{\"innerKey\":1}]}}");
  /* one broadcast, each consumer's own spelling */
  wst_send_text(plain, "{\"action\":\"note\",\"payload\":{\"user_name\":\"ann\"}}");
  wst_expect(a, "{\"action\":\"note\",\"payload\":{\"userName\":\"ann\"}}");
  wst_expect(plain, "{\"action\":\"note\",\"payload\":{\"user_name\":\"ann\"}}");
  wst_close(plain, 1000);
  wst_close(a, 1000);
}

static void test_discriminator(int port) {
  wst_client *a = wst_open(port, "/ws/typed");
  wst_send_text(a, "{\"type\":\"echo\",\"payload\":2}");
  wst_expect(a, "{\"action\":\"echo\",\"payload\":2}");
  wst_send_text(a, "{\"action\":\"echo\",\"payload\":2}");
  wst_expect(a, "{\"action\":\"error\",\"payload\":[{\"type\":"
                "\"union_tag_not_found\",\"loc\":[],\"msg\":\"Unable to "
                "extract tag using discriminator 'type'\"}]}");
  wst_send_text(a, "{\"type\":\"zzz\"}");
  char *r = wst_recv(a, 5000);
  CHECK_CONTAINS(r, "Input tag 'zzz' found using 'type' does not match");
  free(r);
  wst_close(a, 1000);
}

static void test_authentication_message(int port) {
  wst_client *a = wst_open(port, "/ws/auth?token=ok");
  wst_expect(a, "{\"action\":\"authentication\",\"payload\":{\"status_code\":"
                "200,\"status_text\":\"OK\",\"data\":{\"detail\":\"OK\"}}}");
  wst_send_text(a, "{\"action\":\"echo\",\"payload\":3}");
  wst_expect(a, "{\"action\":\"echo\",\"payload\":3}");
  /* refused: accepted, told why, closed with 4003, no handler runs */
  int runs_before = handler_runs;
  wst_client *b = wst_open(port, "/ws/auth?token=bad");
  wst_send_text(b, "{\"action\":\"echo\",\"payload\":4}");
  wst_expect(b, "{\"action\":\"authentication\",\"payload\":{\"status_code\":"
                "403,\"status_text\":\"Forbidden\",\"data\":{\"detail\":\"You "
                "do not have permission to perform this action.\"}}}");
  CHECK_EQ(wst_wait_close(b, 5000), 4003);
  wst_close(b, 0);
  /* the accepted client got no join or echo from the refused one */
  CHECK(wst_silent(a, 100));
  CHECK_EQ(handler_runs, runs_before);
  /* without the option, a refusal stays an HTTP 403 */
  int status = 0;
  CHECK(wst_connect(port, "/ws/auth_http?token=bad", NULL, &status) == NULL);
  CHECK_EQ(status, 403);
  wst_close(a, 1000);
}

static void test_logging(int port) {
  wst_client *a = wst_open(port, "/ws/logged");
  wst_send_text(a, "{\"action\":\"echo\",\"payload\":\"log-me\"}");
  wst_expect(a, "{\"action\":\"echo\",\"payload\":\"log-me\"}");
  wst_send_text(a, "{\"action\":\"ping\",\"payload\":\"quiet\"}");
  wst_expect(a, "{\"action\":\"pong\",\"payload\":null}");
  wst_close(a, 1000);
  CHECK(wst_logged("Websocket received: {\"action\":\"echo\",\"payload\":\"log-me\"}"));
  CHECK(wst_logged("Websocket sent: {\"action\":\"echo\",\"payload\":\"log-me\"}"));
  CHECK(wst_logged("logged ")); /* lines name the consumer */
  /* ignored actions (both ways) are not logged */
  CHECK(!wst_logged("quiet"));
  CHECK(!wst_logged("\"pong\""));
  /* consumers without the option log no frames */
  CHECK(!wst_logged("\"payload\":1}"));
}

static void test_config_checks(void) {
  wsc_consumer *c = consumer("x", 0);
  wsc_server_options o;
  wsc_server_options_init(&o);
  o.port = 0;
  o.consumers = &c;
  o.n_consumers = 1;
  o.config_json = "{\"consumers\":{\"x\":{\"camelize\":\"yes\"}}}";
  char err[WSC_ERRBUF_SIZE];
  wsc_server *srv = NULL;
  CHECK_EQ(wsc_server_new(&o, &srv, err, sizeof err), WSC_ECONFIG);
  CHECK_CONTAINS(err, "consumers.x.camelize: expected true or false");
  o.config_json = "{\"consumers\":{\"x\":{\"log_ignored_actions\":[1]}}}";
  CHECK_EQ(wsc_server_new(&o, &srv, err, sizeof err), WSC_ECONFIG);
  CHECK_CONTAINS(err, "consumers.x.log_ignored_actions[0]: expected");
  o.config_json = "{\"consumers\":{\"x\":{\"send_completions\":true}}}";
  CHECK_EQ(wsc_server_new(&o, &srv, err, sizeof err), WSC_ECONFIG);
  CHECK_CONTAINS(err, "send_completions");
  wsc_consumer_free(c);
  wsc_consumer_options opt;
  wsc_consumer_options_init(&opt);
  CHECK_STREQ(opt.discriminator_field, "action");
  opt.discriminator_field = "";
  wsc_consumer *d = consumer("y", 0);
  CHECK_EQ(wsc_consumer_set_options(d, &opt), WSC_EINVAL);
  wsc_consumer_free(d);
}

int main(void) {
  wsc_set_default_logger(wst_log_capture, WSC_LOG_INFO, NULL);
  test_config_checks();

  wsc_consumer_options opt;
  wsc_consumer *cs[7];
  cs[0] = consumer("completion", 0);
  wsc_consumer_options_init(&opt);
  opt.send_completion = 1; /* through the C API */
  CHECK_OK(wsc_consumer_set_options(cs[0], &opt));
  cs[1] = consumer("plain", 0);
  cs[2] = consumer("camel", 0);   /* the rest through the config */
  cs[3] = consumer("typed", 0);
  cs[4] = consumer("auth", 1);
  cs[5] = consumer("auth_http", 1);
  cs[6] = consumer("logged", 0);
  wsc_consumer_options_init(&opt);
  static const char *const ignored[] = {"ping", "pong"};
  opt.log_websocket_message = 1;
  opt.log_ignored_actions = ignored;
  opt.n_log_ignored_actions = 2;
  CHECK_OK(wsc_consumer_set_options(cs[6], &opt));
  wst_server *s = wst_server_start(
      "{\"routes\":["
      "{\"path\":\"/ws/completion\",\"consumer\":\"completion\"},"
      "{\"path\":\"/ws/plain\",\"consumer\":\"plain\"},"
      "{\"path\":\"/ws/camel\",\"consumer\":\"camel\"},"
      "{\"path\":\"/ws/typed\",\"consumer\":\"typed\"},"
      "{\"path\":\"/ws/auth\",\"consumer\":\"auth\"},"
      "{\"path\":\"/ws/auth_http\",\"consumer\":\"auth_http\"},"
      "{\"path\":\"/ws/logged\",\"consumer\":\"logged\"}],"
      "\"consumers\":{"
      "\"camel\":{\"camelize\":true},"
      "\"typed\":{\"discriminator_field\":\"type\"},"
      "\"auth\":{\"send_authentication_message\":true},"
      "\"logged\":{\"groups\":[\"quiet_room\"]}}}",
      cs, 7);
  test_completion(s);
  test_camelize(wst_port(s));
  test_discriminator(wst_port(s));
  test_authentication_message(wst_port(s));
  test_logging(wst_port(s));
  wst_server_stop(s);
  printf("ok\n");
  return 0;
}
