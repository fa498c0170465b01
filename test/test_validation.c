/* Handler input schemas over real sockets: a message that does not match
 * never reaches its handler and its sender gets every problem in one Chanx
 * error frame; defaults are filled in before the handler runs; events that
 * do not match are dropped while the others are handled. */
#include <string.h>

#include "helpers/check.h"
#include "helpers/server_thread.h"
#include "helpers/whoami.h"
#include "helpers/ws_client.h"

static int chat_calls; /* loop thread only; read through the "calls" action */

static int on_chat(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)ud;
  chat_calls++;
  return wsc_conn_reply(c, "chat_ok", cJSON_GetObjectItem(msg, "payload"));
}

static int on_calls(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)msg, (void)ud;
  cJSON *n = cJSON_CreateNumber(chat_calls);
  int rc = wsc_conn_reply(c, "calls", n);
  cJSON_Delete(n);
  return rc;
}

static int on_notify(wsc_conn *c, const cJSON *ev, void *ud) {
  (void)ud;
  return wsc_conn_reply(c, "notified", cJSON_GetObjectItem(ev, "payload"));
}

static const char *const chat_schema =
    "{\"title\":\"ChatMessage\",\"type\":\"object\",\"properties\":{"
    "\"action\":{\"const\":\"chat\"},"
    "\"payload\":{\"title\":\"ChatPayload\",\"type\":\"object\","
    "\"properties\":{"
    "\"message\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":20},"
    "\"room\":{\"type\":\"string\",\"default\":\"lobby\"},"
    "\"priority\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":5,"
    "\"default\":3},"
    "\"tags\":{\"type\":\"array\",\"items\":{\"enum\":[\"a\",\"b\"]},"
    "\"maxItems\":2}},"
    "\"required\":[\"message\"]}},"
    "\"required\":[\"action\",\"payload\"]}";

static const char *const notify_schema =
    "{\"type\":\"object\",\"properties\":{\"action\":{\"const\":\"notify\"},"
    "\"payload\":{\"type\":\"object\",\"properties\":{"
    "\"text\":{\"type\":\"string\"},"
    "\"level\":{\"type\":\"string\",\"default\":\"info\"}},"
    "\"required\":[\"text\"]}},\"required\":[\"payload\"]}";

static wsc_consumer *make_consumer(void) {
  wsc_consumer *c;
  CHECK_OK(wsc_consumer_new("chat", &c));
  CHECK_OK(wsc_consumer_on(c, "chat", on_chat, NULL, NULL));
  CHECK_OK(wsc_consumer_on(c, "calls", on_calls, NULL, NULL));
  CHECK_OK(wsc_consumer_on(c, "whoami", wst_whoami_handler, NULL, NULL));
  CHECK_OK(wsc_consumer_on_event(c, "notify", on_notify, NULL, NULL));
  wsc_handler_doc d;
  wsc_handler_doc_init(&d);
  d.input_schema = chat_schema;
  d.summary = "Handle chat messages";
  char err[WSC_ERRBUF_SIZE];
  CHECK_OK(wsc_consumer_document(c, WSC_WS_HANDLER, "chat", &d, err, sizeof err));
  wsc_handler_doc_init(&d);
  d.input_schema = notify_schema;
  CHECK_OK(wsc_consumer_document(c, WSC_EVENT_HANDLER, "notify", &d, err,
                                 sizeof err));
  return c;
}

static void test_document_errors(void) {
  wsc_consumer *c = make_consumer();
  wsc_handler_doc d;
  wsc_handler_doc_init(&d);
  char err[WSC_ERRBUF_SIZE] = "";
  CHECK_EQ(wsc_consumer_document(c, WSC_WS_HANDLER, "nope", &d, err, sizeof err),
           WSC_ENOTFOUND);
  CHECK_EQ(wsc_consumer_document(c, WSC_EVENT_HANDLER, "chat", &d, err,
                                 sizeof err),
           WSC_ENOTFOUND);
  d.output_schema = "{\"type\":\"strin\"}";
  CHECK_EQ(wsc_consumer_document(c, WSC_WS_HANDLER, "chat", &d, err, sizeof err),
           WSC_ECONFIG);
  CHECK_CONTAINS(err, "output_schema: (schema root): type must be one of");
  d.struct_size = 8;
  CHECK_EQ(wsc_consumer_document(c, WSC_WS_HANDLER, "chat", &d, err, sizeof err),
           WSC_EINVAL);
  wsc_consumer_free(c);
}

static int calls(wst_client *cl) {
  wst_send_text(cl, "{\"action\":\"calls\"}");
  char *r = wst_recv(cl, 5000);
  CHECK(r);
  cJSON *j = cJSON_Parse(r);
  int n = cJSON_GetObjectItem(j, "payload")->valueint;
  cJSON_Delete(j);
  free(r);
  return n;
}

static void test_messages(int port) {
  wst_client *a = wst_open(port, "/ws/chat");
  /* valid: the handler sees the defaults filled in */
  wst_send_text(a, "{\"action\":\"chat\",\"payload\":{\"message\":\"hi\"}}");
  wst_expect(a,
             "{\"action\":\"chat_ok\",\"payload\":{\"message\":\"hi\","
             "\"room\":\"lobby\",\"priority\":3}}");
  CHECK_EQ(calls(a), 1);
  /* the example, exactly */
  wst_send_text(a, "{\"action\":\"chat\",\"payload\":{}}");
  wst_expect(a,
             "{\"action\":\"error\",\"payload\":[{\"type\":\"missing\","
             "\"loc\":[\"chat\",\"payload\",\"message\"],\"msg\":\"Field "
             "required\"}]}");
  wst_send_text(a, "{\"action\":\"chat\"}");
  wst_expect(a,
             "{\"action\":\"error\",\"payload\":[{\"type\":\"missing\","
             "\"loc\":[\"chat\",\"payload\"],\"msg\":\"Field required\"}]}");
  /* every problem in one frame */
  wst_send_text(a,
                "{\"action\":\"chat\",\"payload\":{\"message\":\"\","
                "\"room\":5,\"priority\":9,\"tags\":[\"a\",\"c\",\"b\"]}}");
  wst_expect(
      a,
      "{\"action\":\"error\",\"payload\":["
      "{\"type\":\"string_too_short\",\"loc\":[\"chat\",\"payload\",\"message\"],"
      "\"msg\":\"String should have at least 1 character\"},"
      "{\"type\":\"string_type\",\"loc\":[\"chat\",\"payload\",\"room\"],"
      "\"msg\":\"Input should be a valid string\"},"
      "{\"type\":\"less_than_equal\",\"loc\":[\"chat\",\"payload\",\"priority\"],"
      "\"msg\":\"Input should be less than or equal to 5\"},"
      "{\"type\":\"literal_error\",\"loc\":[\"chat\",\"payload\",\"tags\",1],"
      "\"msg\":\"Input should be 'a' or 'b'\"},"
      "{\"type\":\"too_long\",\"loc\":[\"chat\",\"payload\",\"tags\"],"
      "\"msg\":\"List should have at most 2 items after validation, not 3\"}]}");
  wst_send_text(a, "{\"action\":\"chat\",\"payload\":{\"message\":7.5}}");
  wst_expect(a,
             "{\"action\":\"error\",\"payload\":[{\"type\":\"string_type\","
             "\"loc\":[\"chat\",\"payload\",\"message\"],\"msg\":\"Input "
             "should be a valid string\"}]}");
  /* none of the invalid ones reached the handler */
  CHECK_EQ(calls(a), 1);
  /* another client is unaffected */
  wst_client *b = wst_open(port, "/ws/chat");
  wst_send_text(b, "{\"action\":\"chat\",\"payload\":{\"message\":\"yo\","
                   "\"priority\":1}}");
  wst_expect(b,
             "{\"action\":\"chat_ok\",\"payload\":{\"message\":\"yo\","
             "\"priority\":1,\"room\":\"lobby\"}}");
  wst_close(b, 1000);
  wst_close(a, 1000);
}

static void test_events(wst_server *s) {
  int port = wst_port(s);
  wst_client *a = wst_open(port, "/ws/chat");
  char *channel = wst_whoami(a);
  const char *bad = "{\"action\":\"notify\",\"payload\":{\"txt\":\"x\"}}";
  const char *good = "{\"action\":\"notify\",\"payload\":{\"text\":\"x\"}}";
  CHECK_OK(wsc_server_send_event_threadsafe(wst_srv(s), NULL, channel, bad,
                                            strlen(bad)));
  CHECK_OK(wsc_server_send_event_threadsafe(wst_srv(s), NULL, channel, good,
                                            strlen(good)));
  /* the bad one is dropped (logged), the good one handled with defaults */
  wst_expect(a,
             "{\"action\":\"notified\",\"payload\":{\"text\":\"x\","
             "\"level\":\"info\"}}");
  CHECK(wst_silent(a, 200));
  wst_close(a, 1000);
  free(channel);
}

int main(void) {
  test_document_errors();
  wsc_consumer *c = make_consumer();
  wst_server *s = wst_server_start(
      "{\"routes\":[{\"path\":\"/ws/chat\",\"consumer\":\"chat\"}]}", &c, 1);
  test_messages(wst_port(s));
  test_events(s);
  wst_server_stop(s);
  printf("ok\n");
  return 0;
}
