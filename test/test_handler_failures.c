/* What the client and the server's log see when a handler or hook fails:
 * the client gets Chanx's generic error (or the close the failure causes)
 * and never the reason; the log line names the handler and says why, in the
 * handler's own words (wsc_conn_handler_failed) or those of the library call
 * that failed inside it, and never repeats an earlier failure's reason. */
#include <stdlib.h>

#include <libwebsockets.h>
#include <uv.h>

#include "helpers/check.h"
#include "helpers/log_capture.h"
#include "helpers/server_thread.h"
#include "helpers/ws_client.h"

static wst_server *srv;

/* The log line holding `needle`, waiting for it (malloc'd). */
static char *log_line(const char *needle) {
  char *line = wst_log_line(needle, 5000);
  CHECK(line != NULL);
  return line;
}

/* ---- handlers and hooks ------------------------------------------------- */

static int on_says_why(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)msg, (void)ud;
  return wsc_conn_handler_failed(c, "the database is unavailable");
}

static int on_bad_join(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)msg, (void)ud;
  return wsc_conn_group_add(c, "no spaces allowed");
}

static int on_minus_one(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)c, (void)msg, (void)ud;
  return -1;
}

/* Passes on a library code as a program might, with no reason recorded. */
static int on_channel_full(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)c, (void)msg, (void)ud;
  return WSC_EFULL;
}

static int on_fail_event(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)msg, (void)ud;
  return wsc_conn_handler_failed(c, "cannot store the event");
}

static int on_send_event_to_self(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)msg, (void)ud;
  static const char ev[] = "{\"action\":\"store\",\"payload\":null}";
  return wsc_conn_send_event(c, wsc_conn_get_channel(c), ev, sizeof ev - 1);
}

static int refuse_setup(wsc_conn *c, void *ud) {
  (void)ud;
  return wsc_conn_handler_failed(c, "no session for this user");
}

static void record_visit(wsc_conn *c, int code, void *ud) {
  (void)code, (void)ud;
  wsc_conn_handler_failed(c, "cannot record the visit");
}

/* ---- tests -------------------------------------------------------------- */

/* Sends {"action": action}, expects Chanx's generic error for it, and returns
 * the server's log line about the failure. */
static char *fail_action(wst_client *c, const char *action) {
  char msg[128], want[192], needle[128];
  snprintf(msg, sizeof msg, "{\"action\":\"%s\"}", action);
  snprintf(want, sizeof want,
           "{\"action\":\"error\",\"payload\":{\"detail\":"
           "\"Failed to process message for %s\"}}", action);
  snprintf(needle, sizeof needle, "handler for '%s' failed", action);
  wst_send_text(c, msg);
  wst_expect(c, want);
  return log_line(needle);
}

static void test_reason_given_by_the_handler(void) {
  wst_client *c = wst_open(wst_port(srv), "/ws/failing");
  char *line = fail_action(c, "says_why");
  CHECK_CONTAINS(line, "ERROR specific..inmemory!");
  CHECK_CONTAINS(line, "handler for 'says_why' failed: the database is unavailable");
  free(line);
  /* The connection goes on. */
  wst_send_text(c, "{\"action\":\"ping\"}");
  wst_expect(c, "{\"action\":\"pong\",\"payload\":null}");
  wst_close(c, 1000);
}

/* A client's message to `action` fails, and the log line says `why`. */
static void failure_is_logged_as(const char *action, const char *why) {
  wst_client *c = wst_open(wst_port(srv), "/ws/failing");
  char *line = fail_action(c, action);
  CHECK_CONTAINS(line, why);
  free(line);
  wst_close(c, 1000);
}

static void test_reason_of_the_library_call_that_failed(void) {
  failure_is_logged_as("bad_join", "failed: invalid group name 'no spaces allowed'");
}

static void test_no_reason_never_reuses_an_earlier_one(void) {
  wst_client *c = wst_open(wst_port(srv), "/ws/failing");
  free(fail_action(c, "says_why"));
  char *line = fail_action(c, "minus_one");
  CHECK_CONTAINS(line, "handler for 'minus_one' failed: returned -1");
  CHECK(strstr(line, "database") == NULL);
  free(line);
  wst_close(c, 1000);
}

static void test_a_library_code_passed_on_is_named(void) {
  failure_is_logged_as("channel_full",
                       "handler for 'channel_full' failed: returned WSC_EFULL (channel full)");
}

static void test_event_handler_failure_is_logged_with_its_reason(void) {
  wst_client *c = wst_open(wst_port(srv), "/ws/failing");
  wst_send_text(c, "{\"action\":\"event_to_self\"}");
  char *line = log_line("event handler for 'store' failed");
  CHECK_CONTAINS(line, "event handler for 'store' failed: cannot store the event");
  free(line);
  /* As in Chanx, a failing event handler tells the client nothing. */
  CHECK(wst_silent(c, 100));
  wst_close(c, 1000);
}

static void test_on_connect_failure_closes_and_is_logged(void) {
  wst_client *c = wst_open(wst_port(srv), "/ws/nosetup");
  CHECK_EQ(wst_wait_close(c, 5000), 1011);
  CHECK_STREQ(wst_close_reason(c), "connection setup failed");
  char *line = log_line("on_connect failed");
  CHECK_CONTAINS(line, "ERROR specific..inmemory!");
  CHECK_CONTAINS(line, "on_connect failed: no session for this user");
  free(line);
  wst_close(c, 0);
}

static void test_on_disconnect_failure_is_logged(void) {
  wst_client *c = wst_open(wst_port(srv), "/ws/failing");
  wst_send_text(c, "{\"action\":\"ping\"}");
  wst_expect(c, "{\"action\":\"pong\",\"payload\":null}");
  wst_close(c, 1000);
  char *line = log_line("on_disconnect failed");
  CHECK_CONTAINS(line, "on_disconnect failed: cannot record the visit");
  free(line);
}

static void test_a_flood_of_failures_is_logged_in_brief(void) {
  static const char told[] =
      "{\"action\":\"error\",\"payload\":{\"detail\":"
      "\"Failed to process message for minus_one\"}}";
  static const char needle[] = "handler for 'minus_one' failed: returned -1";
  uv_sleep(1100); /* earlier tests' lines are out of this second */
  wst_log_clear();
  wst_client *c = wst_open(wst_port(srv), "/ws/failing");
  for (int i = 0; i < 100; i++) wst_send_text(c, "{\"action\":\"minus_one\"}");
  for (int i = 0; i < 100; i++) wst_expect(c, told); /* every sender is told */
  int burst = wst_log_count(needle, NULL);
  CHECK(burst >= 1 && burst < 100);
  /* A second later the next line says how many were left out. */
  uv_sleep(1100);
  wst_send_text(c, "{\"action\":\"minus_one\"}");
  wst_expect(c, told);
  free(log_line("were not logged"));
  unsigned long left_out;
  CHECK_EQ(wst_log_count(needle, &left_out), burst + 1);
  CHECK_EQ((int)left_out + burst, 100);
  wst_close(c, 1000);
}

/* libwebsockets' own error lines go through the library's log, with the
 * same budget (a failed accept's line is the server's to tell: see
 * test_fd_limit). */
static void test_libwebsockets_lines_are_logged_in_brief(void) {
  static const char line[] = "lws_adopt_descriptor_vhost failed";
  uv_sleep(1100);
  wst_log_clear();
  for (int i = 0; i < 100; i++) lwsl_err("%s: %d\n", line, i);
  int burst = wst_log_count(line, NULL);
  CHECK(burst >= 1 && burst < 100);
  uv_sleep(1100);
  lwsl_err("%s: %d\n", line, 100);
  unsigned long left_out;
  CHECK_EQ(wst_log_count(line, &left_out), burst + 1);
  CHECK_EQ((int)left_out + burst, 100);
}

static void test_reason_outside_a_handler_thread(void) {
  /* Not on the loop thread: refused, as every wsc_conn_ call is. */
  CHECK_EQ(wsc_conn_handler_failed(NULL, "x"), WSC_EINVAL);
}

int main(void) {
  wsc_set_default_logger(wst_log_capture, WSC_LOG_INFO, NULL);
  wsc_consumer *failing, *nosetup;
  CHECK_OK(wsc_consumer_new("failing", &failing));
  CHECK_OK(wsc_consumer_on(failing, "says_why", on_says_why, NULL, NULL));
  CHECK_OK(wsc_consumer_on(failing, "bad_join", on_bad_join, NULL, NULL));
  CHECK_OK(wsc_consumer_on(failing, "minus_one", on_minus_one, NULL, NULL));
  CHECK_OK(wsc_consumer_on(failing, "channel_full", on_channel_full, NULL, NULL));
  CHECK_OK(wsc_consumer_on(failing, "event_to_self", on_send_event_to_self,
                           NULL, NULL));
  CHECK_OK(wsc_consumer_on_event(failing, "store", on_fail_event, NULL, NULL));
  wsc_consumer_hooks leave;
  wsc_consumer_hooks_init(&leave);
  leave.on_disconnect = record_visit;
  CHECK_OK(wsc_consumer_set_hooks(failing, &leave, NULL, NULL));
  CHECK_OK(wsc_consumer_new("nosetup", &nosetup));
  wsc_consumer_hooks h;
  wsc_consumer_hooks_init(&h);
  h.on_connect = refuse_setup;
  CHECK_OK(wsc_consumer_set_hooks(nosetup, &h, NULL, NULL));
  wsc_consumer *cs[] = {failing, nosetup};
  srv = wst_server_start(
      "{\"routes\":[{\"path\":\"/ws/failing\",\"consumer\":\"failing\"},"
      "{\"path\":\"/ws/nosetup\",\"consumer\":\"nosetup\"}]}",
      cs, 2);
  RUN(test_reason_given_by_the_handler);
  RUN(test_reason_of_the_library_call_that_failed);
  RUN(test_no_reason_never_reuses_an_earlier_one);
  RUN(test_a_library_code_passed_on_is_named);
  RUN(test_event_handler_failure_is_logged_with_its_reason);
  RUN(test_on_connect_failure_closes_and_is_logged);
  RUN(test_on_disconnect_failure_is_logged);
  RUN(test_reason_outside_a_handler_thread);
  RUN(test_a_flood_of_failures_is_logged_in_brief);
  RUN(test_libwebsockets_lines_are_logged_in_brief);
  wst_server_stop(srv);
  return 0;
}
