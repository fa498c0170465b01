/* The send path: broadcasting to many connections makes (next to) no
 * epoll_ctl calls, because frames are gathered into one raw write per
 * connection per loop turn instead of a writable request per message. The
 * documented libwebsockets pattern costs about two epoll_ctl calls per
 * message per connection on libuv (../shared/DEPENDENCIES.md). This test
 * interposes epoll_ctl in its own process to count libuv's calls. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "helpers/check.h"
#include "helpers/server_thread.h"
#include "helpers/ws_client.h"

static atomic_long epoll_ctl_calls;

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev) {
  static int (*real)(int, int, int, struct epoll_event *);
  if (!real) real = (int (*)(int, int, int, struct epoll_event *))dlsym(RTLD_NEXT, "epoll_ctl");
  atomic_fetch_add(&epoll_ctl_calls, 1);
  return real(epfd, op, fd, ev);
}

static int on_say(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)ud;
  return wsc_conn_broadcast_json(c, cJSON_GetObjectItem(msg, "payload"), NULL, 0, 0);
}

enum { CLIENTS = 200, MESSAGES = 200 };

/* A server whose one consumer puts every client in the group "crowd" and
 * broadcasts each "say" payload to it (no message rate limit). */
static wst_server *start_crowd(void) {
  wsc_consumer *c;
  CHECK_OK(wsc_consumer_new("crowd", &c));
  CHECK_OK(wsc_consumer_add_group(c, "crowd"));
  CHECK_OK(wsc_consumer_on(c, "say", on_say, NULL, NULL));
  return wst_server_start(
      "{\"routes\":[{\"path\":\"/ws\",\"consumer\":\"crowd\"}],"
      "\"limits\":{\"messages_per_second\":0}}", &c, 1);
}

/* Opens n clients, each answered once (so each is in the group). */
static void join_crowd(wst_server *srv, wst_client **cl, int n) {
  for (int i = 0; i < n; i++) {
    cl[i] = wst_open(wst_port(srv), "/ws");
    wst_send_text(cl[i], "{\"action\":\"ping\"}");
    wst_expect(cl[i], "{\"action\":\"pong\",\"payload\":null}");
  }
}

static void test_broadcast_makes_no_epoll_ctl_storm(void) {
  wst_server *srv = start_crowd();
  wst_client *cl[CLIENTS];
  join_crowd(srv, cl, CLIENTS);
  long before = atomic_load(&epoll_ctl_calls);
  /* The counter works: each accepted connection was registered with epoll. */
  CHECK(before >= CLIENTS);
  for (int m = 0; m < MESSAGES; m++) {
    char msg[160];
    snprintf(msg, sizeof msg,
             "{\"action\":\"say\",\"payload\":{\"action\":\"chat_notification\","
             "\"payload\":{\"message\":\"💬 %d\"}}}", m);
    wst_send_text(cl[m % CLIENTS], msg);
  }
  /* Each message comes from a different sender, so only "all of them,
   * once each" holds across senders (order is per sender). */
  for (int i = 0; i < CLIENTS; i++) {
    char seen[MESSAGES] = {0};
    for (int k = 0; k < MESSAGES; k++) {
      char *got = wst_recv(cl[i], 10000);
      int m = -1;
      CHECK(got && sscanf(got, "{\"action\":\"chat_notification\",\"payload\":"
                               "{\"message\":\"💬 %d\"}}", &m) == 1);
      CHECK(m >= 0 && m < MESSAGES && !seen[m]);
      seen[m] = 1;
      free(got);
    }
  }
  long calls = atomic_load(&epoll_ctl_calls) - before;
  fprintf(stderr, "epoll_ctl calls for %d deliveries: %ld\n", CLIENTS * MESSAGES,
          calls);
  CHECK(calls < CLIENTS); /* vs ~2 per delivery for the documented pattern */
  for (int i = 0; i < CLIENTS; i++) wst_close(cl[i], 0);
  wst_server_stop(srv);
}

/* The flush writes for a bounded time per loop turn, then reads again and
 * resumes where it stopped, oldest connection first. A steady stream into a
 * big group keeps that sweep going across many turns: every member must still
 * get every message, in the order sent. */
static void test_a_stream_reaches_every_member_in_order(void) {
  enum { MEMBERS = 300, STREAM = 2000 };
  wst_server *srv = start_crowd();
  wst_client *cl[MEMBERS];
  join_crowd(srv, cl, MEMBERS);
  for (int m = 0; m < STREAM; m++) {
    char msg[160];
    snprintf(msg, sizeof msg, "{\"action\":\"say\",\"payload\":{\"n\":%d}}", m);
    wst_send_text(cl[0], msg);
  }
  for (int i = 0; i < MEMBERS; i++) {
    for (int m = 0; m < STREAM; m++) {
      char *got = wst_recv(cl[i], 10000), want[32];
      snprintf(want, sizeof want, "{\"n\":%d}", m);
      CHECK_STREQ(got, want);
      free(got);
    }
  }
  for (int i = 0; i < MEMBERS; i++) wst_close(cl[i], 0);
  wst_server_stop(srv);
}

int main(void) {
  wst_raise_fd_limit();
  RUN(test_broadcast_makes_no_epoll_ctl_storm);
  RUN(test_a_stream_reaches_every_member_in_order);
  return 0;
}
