/* URL routing: path parameters, nested includes, query parameters, and a 404
 * at the upgrade for paths no route matches. */
#include <stdlib.h>

#include "helpers/check.h"
#include "helpers/server_thread.h"
#include "helpers/ws_client.h"

static int on_where(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)msg, (void)ud;
  cJSON *p = cJSON_CreateObject();
  cJSON_AddStringToObject(p, "path", wsc_conn_get_path(c));
  const char *names[] = {"room_name", "id", "token", "x", "missing"};
  for (int i = 0; i < 2; i++) {
    const char *v = wsc_conn_get_path_param(c, names[i]);
    if (v) cJSON_AddStringToObject(p, names[i], v);
  }
  for (int i = 2; i < 5; i++) {
    const char *v = wsc_conn_get_query_param(c, names[i]);
    if (v) {
      char key[32];
      snprintf(key, sizeof key, "q_%s", names[i]);
      cJSON_AddStringToObject(p, key, v);
    }
  }
  int rc = wsc_conn_reply(c, "where", p);
  cJSON_Delete(p);
  return rc;
}

static wst_server *srv;

static void expect_where(const char *path, const char *want) {
  wst_client *c = wst_open(wst_port(srv), path);
  wst_send_text(c, "{\"action\":\"where\"}");
  wst_expect(c, want);
  wst_close(c, 1000);
}

static void test_path_parameters(void) {
  expect_where("/ws/room/lobby",
               "{\"action\":\"where\",\"payload\":{\"path\":\"/ws/room/lobby\","
               "\"room_name\":\"lobby\"}}");
  expect_where("/ws/room/caf%C3%A9",
               "{\"action\":\"where\",\"payload\":{\"path\":\"/ws/room/café\","
               "\"room_name\":\"café\"}}");
  /* A trailing slash matches the same route, as Django's paths usually do. */
  expect_where("/ws/room/lobby/",
               "{\"action\":\"where\",\"payload\":{\"path\":\"/ws/room/lobby/\","
               "\"room_name\":\"lobby\"}}");
}

static void test_nested_include(void) {
  expect_where("/api/v1/items/42",
               "{\"action\":\"where\",\"payload\":{\"path\":\"/api/v1/items/42\","
               "\"id\":\"42\"}}");
  expect_where("/api/status",
               "{\"action\":\"where\",\"payload\":{\"path\":\"/api/status\"}}");
}

static void test_query_parameters(void) {
  expect_where("/ws/room/lobby?token=a%20b%2Bc%26d&x=1&x=2&flag",
               "{\"action\":\"where\",\"payload\":{\"path\":\"/ws/room/lobby\","
               "\"room_name\":\"lobby\",\"q_token\":\"a b+c&d\",\"q_x\":\"1\"}}");
}

static void test_unknown_paths_get_404(void) {
  const char *paths[] = {"/", "/ws", "/ws/room", "/ws/room/a/b", "/api/v1",
                         "/api/v1/items", "/nope?x=1", "/WS/room/lobby"};
  for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
    int st = 0;
    CHECK(wst_connect(wst_port(srv), paths[i], NULL, &st) == NULL);
    if (st != 404) fprintf(stderr, "path %s\n", paths[i]);
    CHECK_EQ(st, 404);
  }
  /* The server keeps serving. */
  expect_where("/api/status",
               "{\"action\":\"where\",\"payload\":{\"path\":\"/api/status\"}}");
}

int main(void) {
  wsc_consumer *a, *b;
  CHECK_OK(wsc_consumer_new("rooms", &a));
  CHECK_OK(wsc_consumer_on(a, "where", on_where, NULL, NULL));
  CHECK_OK(wsc_consumer_new("api", &b));
  CHECK_OK(wsc_consumer_on(b, "where", on_where, NULL, NULL));
  wsc_consumer *cs[] = {a, b};
  srv = wst_server_start(
      "{\"routes\":["
      " {\"path\":\"/ws/room/{room_name}\",\"consumer\":\"rooms\"},"
      " {\"path\":\"/api\",\"include\":["
      "   {\"path\":\"/v1\",\"include\":["
      "     {\"path\":\"/items/{id}\",\"consumer\":\"api\"}]},"
      "   {\"path\":\"/status\",\"consumer\":\"api\"}]}]}",
      cs, 2);
  RUN(test_path_parameters);
  RUN(test_nested_include);
  RUN(test_query_parameters);
  RUN(test_unknown_paths_get_404);
  wst_server_stop(srv);
  return 0;
}
