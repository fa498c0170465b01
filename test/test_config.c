/* Configuration: every bad document fails the create call with WSC_ECONFIG
 * and a message naming the offending key, nothing is left running, and the
 * caller keeps its consumers; ${VAR:-default} expansion. */
#include <stdlib.h>

#include "helpers/check.h"
#include "helpers/server_thread.h"
#include "helpers/ws_client.h"

static wsc_consumer *make(const char *name) {
  wsc_consumer *c;
  CHECK_OK(wsc_consumer_new(name, &c));
  return c;
}

/* Creates a server (private loop, port 0) from `json` with consumers "chat"
 * and "room"; returns the code and copies the message. Closes on success. */
static int try_config(const char *json, char *err, size_t errlen) {
  wsc_consumer *cs[] = {make("chat"), make("room")};
  wsc_server_options o;
  wsc_server_options_init(&o);
  o.port = 0;
  o.config_json = json;
  o.consumers = cs;
  o.n_consumers = 2;
  wsc_server *srv = NULL;
  err[0] = 0;
  int rc = wsc_server_new(&o, &srv, err, errlen);
  if (rc == 0) {
    CHECK_OK(wsc_server_close(srv, NULL, NULL));
  } else {
    CHECK(srv == NULL);
    wsc_consumer_free(cs[0]); /* still ours: ASan catches a double free */
    wsc_consumer_free(cs[1]);
  }
  return rc;
}

static void expect_error(const char *json, int code, const char *needle) {
  char err[WSC_ERRBUF_SIZE];
  int rc = try_config(json, err, sizeof err);
  if (rc != code || !strstr(err, needle))
    fprintf(stderr, "config %s\n  rc %s, err \"%s\"\n  want %s, \"%s\"\n", json,
            wsc_err_name(rc), err, wsc_err_name(code), needle);
  CHECK_EQ(rc, code);
  CHECK_CONTAINS(err, needle);
}

static void test_bad_documents_name_the_key(void) {
  expect_error("{\"lisen\":{}}", WSC_ECONFIG, "config: lisen: unknown key");
  expect_error("{\"listen\":{\"port\":\"abc\"}}", WSC_ECONFIG,
               "config: listen.port: expected an integer from 0 to 65535");
  expect_error("{\"listen\":{\"port\":70000}}", WSC_ECONFIG, "listen.port");
  /* found by the config fuzzer: out-of-range numbers are refused before
   * any conversion (a negative or NaN double to unsigned is undefined) */
  expect_error("{\"listen\":{\"port\":-3}}", WSC_ECONFIG, "listen.port");
  expect_error("{\"listen\":{\"port\":\"nan\"}}", WSC_ECONFIG, "listen.port");
  expect_error("{\"limits\":{\"max_connections\":\"1e300\"}}", WSC_ECONFIG,
               "limits.max_connections: expected an integer from 0 to 10000000");
  expect_error("{\"limits\":{\"messages_per_second\":2.5}}", WSC_ECONFIG,
               "limits.messages_per_second");
  expect_error("{\"listen\":{\"host\":5}}", WSC_ECONFIG,
               "config: listen.host: expected a non-empty string");
  expect_error("{\"limits\":{\"max_message_bytes\":-1}}", WSC_ECONFIG,
               "config: limits.max_message_bytes: expected an integer");
  expect_error("{\"routes\":[{\"path\":\"/ws/chat\",\"consumer\":\"chatt\"}]}",
               WSC_ECONFIG, "config: routes[0].consumer: unknown consumer 'chatt'");
  expect_error("{\"routes\":[{\"path\":\"/ws\",\"include\":[{\"path\":\"/a\","
               "\"consumer\":\"chat\"},{\"path\":\"b\",\"consumer\":\"chat\"}]}]}",
               WSC_ECONFIG,
               "config: routes[0].include[1].path: expected a string starting "
               "with '/'");
  expect_error("{\"routes\":[{\"path\":\"/a\",\"consumer\":\"chat\"},"
               "{\"path\":\"/a\",\"consumer\":\"room\"}]}",
               WSC_ECONFIG, "config: routes[1].path: '/a' is routed twice");
  expect_error("{\"routes\":[{\"path\":\"/a/x{id}\",\"consumer\":\"chat\"}]}",
               WSC_ECONFIG, "routes[0].path: bad pattern");
  expect_error("{\"routes\":[{\"path\":\"/a\",\"consumer\":\"chat\",\"x\":1}]}",
               WSC_ECONFIG, "config: routes[0].x: unknown key");
  expect_error("{\"routes\":[{\"path\":\"/a\"}]}", WSC_ECONFIG,
               "config: routes[0]: expected exactly one of");
  expect_error("{\"layers\":{\"default\":{\"driver\":\"nope\"}}}", WSC_ECONFIG,
               "config: layers.default.driver: unknown driver 'nope'");
  expect_error("{\"layers\":{\"default\":{}}}", WSC_ECONFIG,
               "config: layers.default.driver: expected a string");
  expect_error("{\"layers\":{\"default\":{\"driver\":\"memory\",\"capacity\":\"big\"}}}",
               WSC_ECONFIG, "config: layers.default.capacity: expected an integer");
  expect_error("{\"layers\":{\"default\":{\"driver\":\"memory\",\"bogus\":1}}}",
               WSC_ECONFIG, "config: layers.default.bogus: unknown key");
  expect_error("{\"layers\":{\"other\":{\"driver\":\"memory\"}}}", WSC_ECONFIG,
               "config: consumer 'chat': unknown layer alias 'default'");
  expect_error("{\"consumers\":{\"chat\":{\"layer\":\"missing\"}}}", WSC_ECONFIG,
               "config: consumers.chat.layer: unknown layer alias 'missing'");
  expect_error("{\"consumers\":{\"ghost\":{}}}", WSC_ECONFIG,
               "config: consumers.ghost: no consumer called 'ghost'");
  expect_error("{\"consumers\":{\"chat\":{\"groups\":[\"ok\",\"not ok\"]}}}",
               WSC_ECONFIG, "config: consumers.chat.groups[1]: expected a group name");
  expect_error("{\"keepalive\":{\"ping_interval\":30,\"idle_timeout\":10}}",
               WSC_ECONFIG, "config: keepalive.idle_timeout: must be greater");
  expect_error("{\"routes\": [", WSC_ECONFIG, "config: invalid JSON near offset");
  expect_error("[1]", WSC_ECONFIG, "config: the document must be an object");
}

static void test_env_expansion(void) {
  char err[WSC_ERRBUF_SIZE];
  unsetenv("WSC_TEST_UNSET");
  expect_error("{\"listen\":{\"host\":\"${WSC_TEST_UNSET}\"}}", WSC_ECONFIG,
               "config: listen.host: environment variable WSC_TEST_UNSET is not set");
  expect_error("{\"listen\":{\"host\":\"${WSC_TEST_UNSET\"}}", WSC_ECONFIG,
               "config: listen.host: unterminated '${'");
  setenv("WSC_TEST_PORT", "0", 1);
  CHECK_OK(try_config("{\"listen\":{\"port\":\"${WSC_TEST_PORT:-8000}\","
                      "\"host\":\"${WSC_TEST_UNSET:-127.0.0.1}\"}}",
                      err, sizeof err));
  setenv("WSC_TEST_PORT", "notaport", 1);
  expect_error("{\"listen\":{\"port\":\"${WSC_TEST_PORT:-0}\"}}", WSC_ECONFIG,
               "config: listen.port: expected an integer");

  cJSON *doc;
  setenv("WSC_TEST_URL", "redis://db:6379/1", 1);
  const char *in =
      "{\"a\":\"${WSC_TEST_URL:-redis://localhost:6379}\",\"b\":[\"x${WSC_TEST_UNSET:-y}z\"],"
      "\"c\":\"cost: $$5 and $HOME\",\"d\":{\"e\":\"${WSC_TEST_UNSET:-}\"}}";
  CHECK_OK(wsc_config_parse(in, strlen(in), &doc, err, sizeof err));
  char *s = cJSON_PrintUnformatted(doc);
  CHECK_STREQ(s, "{\"a\":\"redis://db:6379/1\",\"b\":[\"xyz\"],"
                 "\"c\":\"cost: $5 and $HOME\",\"d\":{\"e\":\"\"}}");
  cJSON_free(s);
  cJSON_Delete(doc);
}

static void test_a_good_config_serves(void) {
  char err[WSC_ERRBUF_SIZE];
  CHECK_OK(try_config(
      "{\"listen\":{\"host\":\"127.0.0.1\",\"port\":0},"
      "\"limits\":{\"max_message_bytes\":4096,\"send_queue_bytes\":65536},"
      "\"keepalive\":{\"ping_interval\":10,\"idle_timeout\":30},"
      "\"allowed_origins\":[\"http://localhost:8000\"],"
      "\"layers\":{\"default\":{\"driver\":\"memory\"},"
      "\"chat\":{\"driver\":\"memory\",\"capacity\":10,\"expiry\":5,\"group_expiry\":60}},"
      "\"routes\":[{\"path\":\"/ws/chat\",\"consumer\":\"chat\"},"
      "{\"path\":\"/ws/room/{room_name}\",\"consumer\":\"room\"}],"
      "\"consumers\":{\"chat\":{\"layer\":\"chat\",\"groups\":[\"chat\"]}}}",
      err, sizeof err));
}

static void test_allowed_origins(void) {
  wsc_consumer *c = make("chat");
  wst_server *srv = wst_server_start(
      "{\"allowed_origins\":[\"http://good.example\"],"
      "\"routes\":[{\"path\":\"/ws\",\"consumer\":\"chat\"}]}",
      &c, 1);
  int st;
  wst_client *ok = wst_connect(wst_port(srv), "/ws",
                               "Origin: http://good.example\r\n", &st);
  CHECK(ok != NULL);
  CHECK(wst_connect(wst_port(srv), "/ws", "Origin: http://evil.example\r\n",
                    &st) == NULL);
  CHECK_EQ(st, 403);
  CHECK(wst_connect(wst_port(srv), "/ws", NULL, &st) == NULL);
  CHECK_EQ(st, 403);
  wst_send_text(ok, "{\"action\":\"ping\"}");
  wst_expect(ok, "{\"action\":\"pong\",\"payload\":null}");
  wst_close(ok, 1000);
  wst_server_stop(srv);
}

int main(void) {
  RUN(test_bad_documents_name_the_key);
  RUN(test_env_expansion);
  RUN(test_a_good_config_serves);
  RUN(test_allowed_origins);
  return 0;
}
