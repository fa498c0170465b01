/* Thread-safe entry points: another thread sends events to a client's channel
 * and broadcasts to a group, in order; posts run on the loop thread; loop-only
 * functions refuse other threads with WSC_ETHREAD. */
#include <stdlib.h>

#include <uv.h>

#include "helpers/check.h"
#include "helpers/server_thread.h"
#include "helpers/ws_client.h"

static wst_server *srv;
static char channel[128];

static int on_whoami(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)msg, (void)ud;
  cJSON *p = cJSON_CreateString(wsc_conn_get_channel(c));
  wsc_conn_reply(c, "whoami", p);
  cJSON_Delete(p);
  return 0;
}

static int on_job_result(wsc_conn *c, const cJSON *ev, void *ud) {
  (void)ud; /* the seeds' worker pattern: the event goes to its client */
  return wsc_conn_send_json(c, ev);
}

enum { N = 200 };

static void worker(void *arg) {
  (void)arg;
  for (int i = 0; i < N; i++) {
    char ev[128];
    snprintf(ev, sizeof ev, "{\"action\":\"job_result\",\"payload\":%d}", i);
    CHECK_OK(wsc_server_send_event_threadsafe(wst_srv(srv), NULL, channel, ev,
                                              strlen(ev)));
    snprintf(ev, sizeof ev, "{\"action\":\"news\",\"payload\":%d}", i);
    CHECK_OK(wsc_server_broadcast_message_threadsafe(wst_srv(srv), "default",
                                                     "workers", ev, strlen(ev)));
  }
}

static void test_worker_thread_sends_and_broadcasts(void) {
  int port = wst_port(srv);
  wst_client *a = wst_open(port, "/ws/jobs"), *b = wst_open(port, "/ws/jobs");
  wst_send_text(a, "{\"action\":\"whoami\"}");
  char *m = wst_recv(a, 5000);
  CHECK(sscanf(m, "{\"action\":\"whoami\",\"payload\":\"%127[^\"]\"}", channel) == 1);
  free(m);
  wst_send_text(b, "{\"action\":\"ping\"}");
  wst_expect(b, "{\"action\":\"pong\",\"payload\":null}");
  uv_thread_t th[2];
  uv_thread_create(&th[0], worker, NULL);
  uv_thread_join(&th[0]);
  int results = 0, news_a = 0, news_b = 0;
  while (results < N || news_a < N) {
    m = wst_recv(a, 5000);
    CHECK(m != NULL);
    int v;
    if (sscanf(m, "{\"action\":\"job_result\",\"payload\":%d}", &v) == 1)
      CHECK_EQ(v, results++);
    else if (sscanf(m, "{\"action\":\"news\",\"payload\":%d}", &v) == 1)
      CHECK_EQ(v, news_a++);
    else
      CHECK(!"unexpected frame");
    free(m);
  }
  while (news_b < N) { /* b gets the broadcasts, never a's results */
    m = wst_recv(b, 5000);
    int v;
    CHECK(m && sscanf(m, "{\"action\":\"news\",\"payload\":%d}", &v) == 1);
    CHECK_EQ(v, news_b++);
    free(m);
  }
  CHECK(wst_silent(a, 50) && wst_silent(b, 50));
  wst_close(a, 1000);
  wst_close(b, 1000);
}

typedef struct probe {
  uv_thread_t thread;
  int rc_send, rc_close;
} probe;

static void record_thread(wsc_server *s, void *ud) {
  (void)s;
  ((probe *)ud)->thread = uv_thread_self();
}

static void test_post_runs_on_loop_thread_and_others_are_refused(void) {
  probe p;
  wst_call(srv, record_thread, &p);
  uv_thread_t self = uv_thread_self();
  CHECK(!uv_thread_equal(&self, &p.thread));
  /* From this (non-loop) thread, loop-only calls refuse and do nothing. */
  CHECK_EQ(wsc_server_send_event(wst_srv(srv), NULL, "x", "{\"action\":\"a\"}", 14),
           WSC_ETHREAD);
  CHECK_EQ(wsc_server_close(wst_srv(srv), NULL, NULL), WSC_ETHREAD);
  CHECK_EQ(wsc_server_post(wst_srv(srv), NULL, NULL), WSC_EINVAL);
  CHECK_EQ(wsc_server_send_event_threadsafe(wst_srv(srv), NULL, NULL, "{}", 2),
           WSC_EINVAL);
  /* A bad event posted from a thread fails on the loop, logged, no crash. */
  CHECK_OK(wsc_server_send_event_threadsafe(wst_srv(srv), NULL, "x", "nope", 4));
  wst_call(srv, record_thread, &p);
}

int main(void) {
  wsc_consumer *jobs;
  CHECK_OK(wsc_consumer_new("jobs", &jobs));
  CHECK_OK(wsc_consumer_add_group(jobs, "workers"));
  CHECK_OK(wsc_consumer_on(jobs, "whoami", on_whoami, NULL, NULL));
  CHECK_OK(wsc_consumer_on_event(jobs, "job_result", on_job_result, NULL, NULL));
  srv = wst_server_start(
      "{\"routes\":[{\"path\":\"/ws/jobs\",\"consumer\":\"jobs\"}]}", &jobs, 1);
  RUN(test_worker_thread_sends_and_broadcasts);
  RUN(test_post_runs_on_loop_thread_and_others_are_refused);
  wsc_server *s = wst_srv(srv);
  wst_server_stop(srv);
  (void)s;
  return 0;
}
