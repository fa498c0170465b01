/* The monitoring counters (wschannels/stats.h) against what real clients do
 * over real sockets: connections opened and closed, handshakes refused,
 * messages received, rejected and failed, frames and bytes sent, layer
 * events dropped; the layer's sends and deliveries; the struct_size
 * contract with older and newer callers; and the same counters served to
 * Prometheus at the config's http.metrics path. The limits' counters (slow, idle,
 * bad input) are checked where test_limits provokes them. */
#include <stddef.h>
#include <string.h>

#include <uv.h>

#include "helpers/check.h"
#include "helpers/server_thread.h"
#include "helpers/whoami.h"
#include "helpers/ws_client.h"

static wst_server *srv;

static wsc_server_stats stats(void) { return wst_stats(srv); }

static wsc_layer_stats layer_stats(void) { return wst_layer_stats(srv); }

/* Counters move after the loop thread has seen the socket: wait for it. */
static wsc_server_stats stats_when(size_t field, uint64_t at_least) {
  wsc_server_stats st;
  for (int i = 0; i < 500; i++) {
    st = stats();
    uint64_t v;
    memcpy(&v, (char *)&st + field, sizeof v);
    if (v >= at_least) return st;
    uv_sleep(10);
  }
  fprintf(stderr, "counter at offset %zu never reached %llu\n", field,
          (unsigned long long)at_least);
  abort();
}
#define STATS_WHEN(field, n) stats_when(offsetof(wsc_server_stats, field), (n))

static void test_connections_are_counted_as_they_open_and_close(void) {
  wsc_server_stats before = stats();
  wst_client *a = wst_open(wst_port(srv), "/ws/talk");
  wst_client *b = wst_open(wst_port(srv), "/ws/talk");
  wsc_server_stats st = STATS_WHEN(connections_opened, before.connections_opened + 2);
  CHECK_EQ(st.connections, before.connections + 2);
  wst_close(a, 1000);
  st = STATS_WHEN(connections_closed, before.connections_closed + 1);
  CHECK_EQ(st.connections, before.connections + 1);
  CHECK_EQ(st.connections_opened - st.connections_closed, st.connections);
  wst_close(b, 1000);
  STATS_WHEN(connections_closed, before.connections_closed + 2);
}

static void test_refused_handshakes_are_counted(void) {
  wsc_server_stats before = stats();
  int status = 0;
  CHECK(!wst_connect(wst_port(srv), "/ws/nowhere", NULL, &status));
  CHECK_EQ(status, 404);
  CHECK(!wst_connect(wst_port(srv), "/ws/talk", "Sec-WebSocket-Protocol: graphql-ws\r\n",
                     &status));
  CHECK_EQ(status, 400);
  wsc_server_stats st = stats();
  CHECK_EQ(st.handshakes_refused, before.handshakes_refused + 2);
  CHECK_EQ(st.connections_opened, before.connections_opened);
}

/* The next message holds `text`. */
static void expect_containing(wst_client *c, const char *text) {
  char *m = wst_recv(c, 5000);
  CHECK_CONTAINS(m, text);
  free(m);
}

/* Every message is counted once, as handled, rejected or failed, and each
 * broadcast counts one frame per recipient. */
static void test_messages_in_and_frames_out(void) {
  wst_client *c[3];
  for (int i = 0; i < 3; i++) c[i] = wst_open(wst_port(srv), "/ws/talk");
  wsc_server_stats before = stats();
  wsc_layer_stats lbefore = layer_stats();
  static const char said[] = "{\"action\":\"said\",\"payload\":\"hello\"}";
  for (int k = 0; k < 5; k++) {
    wst_send_text(c[0], "{\"action\":\"say\",\"payload\":\"hello\"}");
    for (int i = 0; i < 3; i++) wst_expect(c[i], said);
  }
  wst_send_text(c[1], "{not json");
  expect_containing(c[1], "json_invalid");
  wst_send_text(c[1], "{\"action\":\"nope\"}");
  expect_containing(c[1], "union_tag_invalid");
  wst_send_frame(c[1], 2, "\x01\x02", 2, 1);
  expect_containing(c[1], "frame_type");
  wst_send_text(c[2], "{\"action\":\"fail\"}");
  expect_containing(c[2], "Failed to process message for fail");
  wsc_server_stats st = stats();
  CHECK_EQ(st.messages_received - before.messages_received, 9);
  CHECK_EQ(st.messages_rejected - before.messages_rejected, 3);
  CHECK_EQ(st.handler_failures - before.handler_failures, 1);
  /* 5 broadcasts to 3 clients, and 4 error frames. */
  CHECK_EQ(st.frames_queued - before.frames_queued, 5 * 3 + 4);
  CHECK(st.bytes_written - before.bytes_written >= 5 * 3 * (sizeof said - 1 + 2));
  CHECK_EQ(st.bytes_queued, 0);
  /* The broadcasts went through the layer: one send and one delivery each. */
  wsc_layer_stats ls = layer_stats();
  CHECK_EQ(ls.sends_taken - lbefore.sends_taken, 5);
  CHECK_EQ(ls.sends_ok - lbefore.sends_ok, 5);
  CHECK_EQ(ls.sends_pending, 0);
  CHECK_EQ(ls.received - lbefore.received, 5);
  CHECK_EQ(ls.sends_refused, lbefore.sends_refused);
  for (int i = 0; i < 3; i++) wst_close(c[i], 1000);
}

static void broadcast_to_a_bad_group(wsc_server *s, void *ud) {
  (void)ud;
  CHECK_EQ(wsc_server_broadcast_message(s, NULL, "no spaces", "{}", 2), WSC_EBADNAME);
}

static void test_layer_refusals_are_counted(void) {
  wsc_layer_stats before = layer_stats();
  wst_call(srv, broadcast_to_a_bad_group, NULL);
  wsc_layer_stats ls = layer_stats();
  CHECK_EQ(ls.sends_refused - before.sends_refused, 1);
  CHECK_EQ(ls.sends_taken, before.sends_taken);
}

/* An event no handler takes is dropped and logged; now it is counted too. */
static void group_send_past_a_full_member(wsc_server *s, void *ud) {
  (void)ud;
  CHECK_OK(wsc_server_group_add(s, NULL, "with_unread", "unread"));
  for (int i = 0; i < 3; i++) /* capacity 2 */
    CHECK_OK(wsc_server_broadcast_message(s, NULL, "with_unread", "{\"a\":1}", 7));
}

/* The layer's own drops (a full member skipped) are logged and counted. */
static void test_a_full_group_member_is_counted_as_dropped(void) {
  wsc_layer_stats before = layer_stats();
  wst_call(srv, group_send_past_a_full_member, NULL);
  wsc_layer_stats ls = layer_stats();
  CHECK_EQ(ls.dropped - before.dropped, 1);
  CHECK_EQ(ls.sends_taken - before.sends_taken, 3);
  CHECK_EQ(ls.sends_refused, before.sends_refused);
}

static void test_dropped_events_are_counted(void) {
  wst_client *c = wst_open(wst_port(srv), "/ws/talk");
  char *channel = wst_whoami(c);
  wsc_server_stats before = stats();
  CHECK_OK(wsc_server_send_event_threadsafe(wst_srv(srv), NULL, channel,
                                            "{\"action\":\"unheard\"}", 20));
  wsc_server_stats st = STATS_WHEN(events_dropped, before.events_dropped + 1);
  CHECK_EQ(st.events_dropped, before.events_dropped + 1);
  free(channel);
  wst_close(c, 1000);
}

static void older_and_newer_callers(wsc_server *s, void *ud) {
  (void)ud;
  /* A caller built when the struct ended after connections_opened. */
  size_t old_size = offsetof(wsc_server_stats, connections_closed);
  union {
    wsc_server_stats st;
    unsigned char bytes[sizeof(wsc_server_stats) + 32];
  } u;
  memset(&u, 0xAB, sizeof u);
  u.st.struct_size = old_size;
  CHECK_OK(wsc_server_get_stats(s, &u.st));
  CHECK_EQ(u.st.struct_size, old_size);
  CHECK(u.st.connections_opened > 0);
  CHECK_EQ(u.bytes[old_size], 0xAB); /* nothing written past its struct */
  /* A caller built against a newer header: what we do not know is zero. */
  memset(&u, 0xAB, sizeof u);
  u.st.struct_size = sizeof u;
  CHECK_OK(wsc_server_get_stats(s, &u.st));
  CHECK_EQ(u.st.struct_size, sizeof(wsc_server_stats));
  for (size_t i = sizeof(wsc_server_stats); i < sizeof u; i++) CHECK_EQ(u.bytes[i], 0);
  u.st.struct_size = 2;
  CHECK_EQ(wsc_server_get_stats(s, &u.st), WSC_EINVAL);
  wsc_layer_stats ls = {.struct_size = sizeof ls};
  CHECK_EQ(wsc_server_get_layer_stats(s, "nope", &ls), WSC_ENOTFOUND);
}

static void test_struct_size_contract(void) {
  wst_call(srv, older_and_newer_callers, NULL);
  /* Off the loop thread, as every other call on the server. */
  wsc_server_stats st = {.struct_size = sizeof st};
  CHECK_EQ(wsc_server_get_stats(wst_srv(srv), &st), WSC_ETHREAD);
}

/* The value of the exposition line starting with `series` ("name" or
 * "name{labels}"), or -1. */
static long long exposed(const char *text, const char *series) {
  size_t n = strlen(series);
  for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
    if (strncmp(line, series, n) == 0 && line[n] == ' ') return atoll(line + n + 1);
  return -1;
}

/* Prometheus' text format: every sample follows its # HELP and # TYPE, and
 * is "name{labels} value". */
static void check_exposition_format(const char *text) {
  char last_type[128] = "";
  int samples = 0;
  for (const char *line = text; *line;) {
    const char *end = strchr(line, '\n');
    CHECK(end); /* every line ends with a newline */
    char name[128];
    if (strncmp(line, "# TYPE ", 7) == 0) {
      CHECK(sscanf(line + 7, "%127s", last_type) == 1);
      CHECK(strstr(line, " counter\n") == end - 8 || strstr(line, " gauge\n") == end - 6);
    } else if (strncmp(line, "# HELP ", 7) != 0) {
      CHECK(sscanf(line, "%127[a-z_]", name) == 1);
      CHECK_STREQ(name, last_type); /* its TYPE came just before */
      const char *sp = memchr(line, ' ', (size_t)(end - line));
      CHECK(sp && strspn(sp + 1, "0123456789") == (size_t)(end - sp - 1));
      samples++;
    }
    line = end + 1;
  }
  CHECK(samples >= 20);
}

static void test_metrics_for_prometheus(void) {
  wst_client *c = wst_open(wst_port(srv), "/ws/talk");
  wst_send_text(c, "{\"action\":\"say\",\"payload\":\"hi\"}");
  wst_expect(c, "{\"action\":\"said\",\"payload\":\"hi\"}");
  wsc_server_stats st = stats();
  wsc_layer_stats ls = layer_stats();
  char *r = wst_http_get(wst_port(srv), "/metrics", NULL);
  CHECK_EQ(wst_http_status(r), 200);
  CHECK_CONTAINS(r, "content-type: text/plain; version=0.0.4");
  const char *body = strstr(r, "\r\n\r\n") + 4;
  check_exposition_format(body);
  CHECK_CONTAINS(body, "# TYPE wschannels_connections gauge\n");
  CHECK_CONTAINS(body, "# TYPE wschannels_messages_received_total counter\n");
  CHECK_EQ(exposed(body, "wschannels_connections"), 1);
  CHECK_EQ(exposed(body, "wschannels_connections_opened_total"), st.connections_opened);
  CHECK_EQ(exposed(body, "wschannels_messages_received_total"), st.messages_received);
  CHECK_EQ(exposed(body, "wschannels_layer_sends_taken_total{layer=\"default\",driver=\"memory\"}"),
           ls.sends_taken);
  CHECK_EQ(exposed(body, "wschannels_layer_received_total{layer=\"default\",driver=\"memory\"}"),
           ls.received);
  free(r);
  wst_close(c, 1000);
  /* Served only when the config names a path. */
  wsc_consumer *plain;
  CHECK_OK(wsc_consumer_new("talk", &plain));
  wst_server *other = wst_server_start("{\"routes\":[{\"path\":\"/ws/talk\",\"consumer\":\"talk\"}]}",
                                       &plain, 1);
  r = wst_http_get(wst_port(other), "/metrics", NULL);
  CHECK_EQ(wst_http_status(r), 404);
  free(r);
  wst_server_stop(other);
}

static void count_sends(uv_loop_t *loop, wsc_layer *l) {
  for (int i = 0; i < 3; i++)
    CHECK_OK(wsc_layer_broadcast_message(l, "room", "{\"x\":1}", 7, NULL, NULL));
  CHECK_EQ(wsc_layer_broadcast_message(l, "bad name", "{}", 2, NULL, NULL), WSC_EBADNAME);
  wsc_layer_stats ls = {.struct_size = sizeof ls};
  CHECK_OK(wsc_layer_get_stats(l, &ls));
  CHECK_EQ(ls.sends_taken, 3);
  CHECK_EQ(ls.sends_refused, 1);
  CHECK_EQ(ls.sends_ok + ls.sends_pending, 3);
  for (int i = 0; i < 100 && ls.sends_pending; i++) {
    uv_run(loop, UV_RUN_NOWAIT);
    CHECK_OK(wsc_layer_get_stats(l, &ls));
  }
  CHECK_EQ(ls.sends_ok, 3);
  CHECK_EQ(ls.sends_failed, 0);
  CHECK_EQ(ls.received, 0); /* a sending-only layer delivers to no one */
}

static void test_a_standalone_layer_counts_its_sends(void) {
  uv_loop_t loop;
  CHECK_OK(uv_loop_init(&loop));
  wsc_layer *l;
  char err[WSC_ERRBUF_SIZE];
  CHECK_OK(wsc_layer_new(&loop, "{}", NULL, &l, err, sizeof err));
  count_sends(&loop, l);
  CHECK_OK(wsc_layer_close(l, NULL, NULL));
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_OK(uv_loop_close(&loop));
}

static int on_say(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)ud;
  cJSON *out = cJSON_CreateObject();
  cJSON_AddStringToObject(out, "action", "said");
  cJSON_AddItemToObject(out, "payload", cJSON_Duplicate(cJSON_GetObjectItem(msg, "payload"), 1));
  int rc = wsc_conn_broadcast_json(c, out, NULL, 0, 0);
  cJSON_Delete(out);
  return rc;
}

static int on_fail(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)c, (void)msg, (void)ud;
  return -1;
}

int main(void) {
  wsc_consumer *talk;
  CHECK_OK(wsc_consumer_new("talk", &talk));
  CHECK_OK(wsc_consumer_on(talk, "say", on_say, NULL, NULL));
  CHECK_OK(wsc_consumer_on(talk, "fail", on_fail, NULL, NULL));
  CHECK_OK(wsc_consumer_on(talk, "whoami", wst_whoami_handler, NULL, NULL));
  CHECK_OK(wsc_consumer_add_group(talk, "all"));
  srv = wst_server_start("{\"layers\":{\"default\":{\"driver\":\"memory\",\"capacity\":2}},"
                         "\"routes\":[{\"path\":\"/ws/talk\",\"consumer\":\"talk\"}],"
                         "\"http\":{\"metrics\":\"/metrics\"}}",
                         &talk, 1);
  RUN(test_connections_are_counted_as_they_open_and_close);
  RUN(test_refused_handshakes_are_counted);
  RUN(test_messages_in_and_frames_out);
  RUN(test_layer_refusals_are_counted);
  RUN(test_dropped_events_are_counted);
  RUN(test_a_full_group_member_is_counted_as_dropped);
  RUN(test_struct_size_contract);
  RUN(test_metrics_for_prometheus);
  RUN(test_a_standalone_layer_counts_its_sends);
  wst_server_stop(srv);
  printf("ok\n");
  return 0;
}
