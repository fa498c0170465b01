/* Bad input of every kind gets Chanx's error frame, to that client only;
 * the connection stays usable (except 1009), and other clients notice
 * nothing. */
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "helpers/check.h"
#include "helpers/server_thread.h"
#include "helpers/ws_client.h"

static int on_chat(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)ud;
  return wsc_conn_reply(c, "chat", cJSON_GetObjectItem(msg, "payload"));
}

static int on_fail(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)c, (void)msg, (void)ud;
  return -1;
}

static wst_server *srv;
static wst_client *victim, *bystander;

static void still_usable(wst_client *c) {
  wst_send_text(c, "{\"action\":\"ping\"}");
  wst_expect(c, "{\"action\":\"pong\",\"payload\":null}");
}

static void bystander_unaffected(void) {
  CHECK(wst_silent(bystander, 50));
  still_usable(bystander);
}

static void expect_reply(const char *send, const char *want) {
  wst_send_text(victim, send);
  wst_expect(victim, want);
  still_usable(victim);
  bystander_unaffected();
}

static void test_unknown_action(void) {
  expect_reply("{\"action\":\"nope\"}",
               "{\"action\":\"error\",\"payload\":[{\"type\":\"union_tag_invalid\","
               "\"loc\":[],\"msg\":\"Input tag 'nope' found using 'action' does "
               "not match any of the expected tags: 'chat', 'fail', 'ping'\"}]}");
}

static void test_missing_action(void) {
  expect_reply("{\"payload\":{\"message\":\"hi\"}}",
               "{\"action\":\"error\",\"payload\":[{\"type\":\"union_tag_not_found\","
               "\"loc\":[],\"msg\":\"Unable to extract tag using discriminator "
               "'action'\"}]}");
}

static void test_action_not_a_string(void) {
  expect_reply("{\"action\":42}",
               "{\"action\":\"error\",\"payload\":[{\"type\":\"union_tag_invalid\","
               "\"loc\":[],\"msg\":\"Input tag '42' found using 'action' does "
               "not match any of the expected tags: 'chat', 'fail', 'ping'\"}]}");
}

static void test_malformed_json(void) {
  expect_reply("{\"action\": \"chat\",",
               "{\"action\":\"error\",\"payload\":[{\"type\":\"json_invalid\","
               "\"loc\":[],\"msg\":\"Invalid JSON: syntax error at line 1 "
               "column 18\"}]}");
  expect_reply("", "{\"action\":\"error\",\"payload\":[{\"type\":\"json_invalid\","
                   "\"loc\":[],\"msg\":\"Invalid JSON: EOF while parsing a value "
                   "at line 1 column 0\"}]}");
}

static void test_not_an_object(void) {
  const char *want =
      "{\"action\":\"error\",\"payload\":[{\"type\":\"model_attributes_type\","
      "\"loc\":[],\"msg\":\"Input should be a valid dictionary or object to "
      "extract fields from\"}]}";
  expect_reply("[1,2,3]", want);
  expect_reply("\"chat\"", want);
  expect_reply("null", want);
}

static void test_binary_frame(void) {
  wst_send_frame(victim, 2, "\x01\x02\x03", 3, 1);
  wst_expect(victim,
             "{\"action\":\"error\",\"payload\":[{\"type\":\"frame_type\","
             "\"loc\":[],\"msg\":\"Binary frames are not supported: send JSON "
             "objects as text frames\"}]}");
  still_usable(victim);
  bystander_unaffected();
}

static void test_handler_failure(void) {
  expect_reply("{\"action\":\"fail\"}",
               "{\"action\":\"error\",\"payload\":{\"detail\":\"Failed to "
               "process message for fail\"}}");
}

static void test_fragmented_message_is_one_message(void) {
  const char *parts[] = {"{\"action\":\"ch", "at\",\"payload\":", "{\"n\":1}}"};
  wst_send_frame(victim, 1, parts[0], strlen(parts[0]), 0);
  wst_send_frame(victim, 0, parts[1], strlen(parts[1]), 0);
  wst_send_frame(victim, 0, parts[2], strlen(parts[2]), 1);
  wst_expect(victim, "{\"action\":\"chat\",\"payload\":{\"n\":1}}");
}

static void test_single_handler_literal_error(void) {
  /* A consumer whose only message is ping: Pydantic checks the literal. */
  wst_client *c = wst_open(wst_port(srv), "/ws/pingonly");
  wst_send_text(c, "{\"action\":\"chat\"}");
  wst_expect(c, "{\"action\":\"error\",\"payload\":[{\"type\":\"literal_error\","
                "\"loc\":[\"action\"],\"msg\":\"Input should be 'ping'\"}]}");
  still_usable(c);
  wst_close(c, 1000);
}

static void test_too_big_closes_1009(void) {
  wst_client *c = wst_open(wst_port(srv), "/ws/chat");
  char big[3000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = 0;
  wst_send_text(c, big);
  CHECK_EQ(wst_wait_close(c, 5000), 1009);
  CHECK_CONTAINS(wst_close_reason(c), "2048");
  wst_close(c, 0);
  bystander_unaffected();
  still_usable(victim);
}

static void test_invalid_utf8_closes_1007(void) {
  wst_client *c = wst_open(wst_port(srv), "/ws/chat");
  wst_send_frame(c, 1, "{\"a\":\"\xff\xfe\"}", 10, 1);
  CHECK_EQ(wst_wait_close(c, 5000), 1007);
  wst_close(c, 0);
  bystander_unaffected();
}

static void test_garbage_bytes_only_hurt_the_sender(void) {
  wst_client *c = wst_open(wst_port(srv), "/ws/chat");
  /* An unmasked client frame with a reserved opcode: a protocol error. */
  wst_send_raw(c, "\x83\x7f\xff\xff\xff\xff\xff\xff\xff\xff", 10);
  CHECK(wst_wait_close(c, 5000) > 0);
  wst_close(c, 0);
  bystander_unaffected();
  still_usable(victim);
}

/* A client that asks only for subprotocols the server does not speak is
 * told so, with the reason (lws dropped it without an answer); one that
 * lists ours among others is served. */
static void test_an_unknown_subprotocol_is_refused_with_a_reason(void) {
  int fd = wst_tcp_connect(wst_port(srv));
  CHECK(fd >= 0);
  struct timeval bound = {5, 0}; /* the reads below end by then at the latest */
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
  static const char req[] =
      "GET /ws/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-ws\r\n\r\n";
  CHECK(send(fd, req, sizeof req - 1, 0) == (ssize_t)(sizeof req - 1));
  char answer[1024];
  size_t got = 0;
  ssize_t n;
  while (got < sizeof answer - 1 && (n = recv(fd, answer + got, sizeof answer - 1 - got, 0)) > 0)
    got += (size_t)n;
  answer[got] = '\0';
  close(fd);
  CHECK_EQ(wst_http_status(answer), 400);
  CHECK_CONTAINS(answer, "unsupported Sec-WebSocket-Protocol");
  int status = 0;
  wst_client *c = wst_connect(wst_port(srv), "/ws/chat",
                              "Sec-WebSocket-Protocol: graphql-ws, wschannels\r\n", &status);
  CHECK(c);
  still_usable(c);
  wst_close(c, 1000);
  bystander_unaffected();
}

int main(void) {
  wsc_consumer *chat, *pingonly;
  CHECK_OK(wsc_consumer_new("chat", &chat));
  CHECK_OK(wsc_consumer_on(chat, "chat", on_chat, NULL, NULL));
  CHECK_OK(wsc_consumer_on(chat, "fail", on_fail, NULL, NULL));
  CHECK_OK(wsc_consumer_new("pingonly", &pingonly));
  wsc_consumer *cs[] = {chat, pingonly};
  srv = wst_server_start(
      "{\"limits\":{\"max_message_bytes\":2048},"
      "\"routes\":[{\"path\":\"/ws/chat\",\"consumer\":\"chat\"},"
      "{\"path\":\"/ws/pingonly\",\"consumer\":\"pingonly\"}]}",
      cs, 2);
  victim = wst_open(wst_port(srv), "/ws/chat");
  bystander = wst_open(wst_port(srv), "/ws/chat");
  RUN(test_unknown_action);
  RUN(test_missing_action);
  RUN(test_action_not_a_string);
  RUN(test_malformed_json);
  RUN(test_not_an_object);
  RUN(test_binary_frame);
  RUN(test_handler_failure);
  RUN(test_fragmented_message_is_one_message);
  RUN(test_single_handler_literal_error);
  RUN(test_too_big_closes_1009);
  RUN(test_invalid_utf8_closes_1007);
  RUN(test_garbage_bytes_only_hurt_the_sender);
  RUN(test_an_unknown_subprotocol_is_refused_with_a_reason);
  wst_close(victim, 1000);
  wst_close(bystander, 1000);
  wst_server_stop(srv);
  return 0;
}
