/* Hostile clients, each hitting one limit of the config, while 50
 * well-behaved clients (each from its own loopback address) in the same
 * group keep receiving every broadcast: message size (1009), message rate
 * (1008), connections per address (HTTP 429) and in total (HTTP 503), the
 * handshake timeout, the Origin list (HTTP 403), a reader that stops reading
 * (1008, with the server's queued bytes bounded) while one message bigger
 * than that bound still reaches those who read, and the idle timeout (a
 * client that answers no ping is dropped). */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <uv.h>

#include "helpers/check.h"
#include "helpers/server_thread.h"
#include "helpers/ws_client.h"

#define GOOD 50
#define ORIGIN "Origin: http://good.example\r\n"

static wst_server *srv;
static int port;
static wst_client *good[GOOD];
static int round_no;

static long long now_ms(void) { return (long long)(uv_hrtime() / 1000000); }

/* Answers the pings that came for the good clients meanwhile. */
static void keep_good_alive(void) {
  for (int i = 0; i < GOOD; i++) CHECK(wst_silent(good[i], 0));
}

/* A broadcast from the server reaches all 50, in order, once. */
static void all_good_receive(const char *why) {
  static char msg[40000];
  snprintf(msg, sizeof msg, "{\"action\":\"said\",\"payload\":\"%s #%d\"}", why,
           ++round_no);
  CHECK_OK(wsc_server_broadcast_message_threadsafe(wst_srv(srv), NULL, "all",
                                                   msg, strlen(msg)));
  for (int i = 0; i < GOOD; i++) wst_expect(good[i], msg);
}

static wst_client *open_from(const char *source, const char *headers,
                             int *status, int rcvbuf) {
  return wst_connect_opt(port, "/ws/talk", headers ? headers : ORIGIN, status,
                         source, rcvbuf);
}

static void test_message_too_big(void) {
  wsc_server_stats before = wst_stats(srv);
  wst_client *bad = open_from("127.0.9.1", NULL, &(int){0}, 0);
  CHECK(bad);
  char big[5000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  wst_send_text(bad, big);
  CHECK_EQ(wst_wait_close(bad, 5000), 1009);
  CHECK_CONTAINS(wst_close_reason(bad), "message over 4096 bytes");
  wst_close(bad, 0);
  all_good_receive("after a too-big message");
  CHECK_EQ(wst_stats(srv).closed_bad_input - before.closed_bad_input, 1);
}

static void test_message_flood(void) {
  wsc_server_stats before = wst_stats(srv);
  wst_client *bad = open_from("127.0.9.2", NULL, &(int){0}, 0);
  CHECK(bad);
  for (int i = 0; i < 200; i++)
    if (wst_send_text(bad, "{\"action\":\"ping\"}") != 0) break;
  CHECK_EQ(wst_wait_close(bad, 5000), 1008);
  CHECK_CONTAINS(wst_close_reason(bad), "message rate limit exceeded (20/s)");
  wst_close(bad, 0);
  all_good_receive("after a flood");
  wsc_server_stats st = wst_stats(srv);
  CHECK_EQ(st.closed_bad_input - before.closed_bad_input, 1);
  CHECK(st.messages_received - before.messages_received >= 21); /* the 21st closed it */
}

static void test_connections_per_address_and_in_total(void) {
  wsc_server_stats before = wst_stats(srv);
  wst_client *mine[3];
  int status = 0;
  for (int i = 0; i < 3; i++) CHECK((mine[i] = open_from("127.0.9.3", NULL, &status, 0)));
  CHECK(open_from("127.0.9.3", NULL, &status, 0) == NULL);
  CHECK_EQ(status, 429);
  /* 53 open; 7 more from other addresses reach the total of 60 */
  wst_client *more[7];
  for (int i = 0; i < 7; i++) {
    char src[32];
    snprintf(src, sizeof src, "127.0.10.%d", i + 1);
    CHECK((more[i] = open_from(src, NULL, &status, 0)));
  }
  CHECK(open_from("127.0.11.1", NULL, &status, 0) == NULL);
  CHECK_EQ(status, 503);
  CHECK_EQ(wst_stats(srv).handshakes_refused - before.handshakes_refused, 2);
  all_good_receive("at the connection limit");
  /* closing frees the slots */
  for (int i = 0; i < 7; i++) wst_close(more[i], 1000);
  for (int i = 0; i < 3; i++) wst_close(mine[i], 1000);
  wst_client *again = NULL;
  long long deadline = now_ms() + 5000;
  while (!again && now_ms() < deadline) {
    again = open_from("127.0.9.3", NULL, &status, 0);
    if (!again) usleep(20000);
  }
  CHECK(again);
  wst_close(again, 1000);
  all_good_receive("after the limits freed");
}

static void test_handshake_timeout(void) {
  int fd = wst_tcp_connect(port);
  CHECK(fd >= 0);
  const char *partial = "GET /ws/talk HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr";
  CHECK(write(fd, partial, strlen(partial)) == (ssize_t)strlen(partial));
  long long start = now_ms(), closed_at = -1;
  while (now_ms() - start < 8000 && closed_at < 0) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 200) > 0) {
      char buf[256];
      ssize_t r = read(fd, buf, sizeof buf);
      if (r <= 0) closed_at = now_ms();
    }
    keep_good_alive();
  }
  close(fd);
  CHECK(closed_at >= 0); /* dropped: handshake_timeout is 1 s */
  all_good_receive("after a stalled handshake");
}

static void test_origin(void) {
  wsc_server_stats before = wst_stats(srv);
  int status = 0;
  CHECK(open_from("127.0.9.4", "Origin: http://evil.example\r\n", &status, 0) == NULL);
  CHECK_EQ(status, 403);
  CHECK(open_from("127.0.9.4", "", &status, 0) == NULL); /* no Origin */
  CHECK_EQ(status, 403);
  CHECK_EQ(wst_stats(srv).handshakes_refused - before.handshakes_refused, 2);
  all_good_receive("after a cross-site attempt");
}

static size_t queued;
static void read_queued(wsc_server *s, void *ud) {
  (void)ud;
  queued = wsc_server_queued_bytes(s);
}

static void test_slow_reader(void) {
  wsc_server_stats before = wst_stats(srv);
  int status = 0;
  wst_client *slow = open_from("127.0.9.5", NULL, &status, 4096);
  CHECK(slow);
  CHECK(wst_silent(slow, 100)); /* it is in the group */
  static char text[32001];
  memset(text, 'y', sizeof text - 1);
  text[sizeof text - 1] = '\0';
  size_t most = 0;
  int rounds = 0;
  /* The slow client never reads: the kernel's buffers fill (up to a few
   * MB on loopback), then its queue in the server, capped at 64 KiB, and
   * then it is dropped, its queue with it. The good ones read everything. */
  for (; rounds < 400; rounds++) {
    all_good_receive(text);
    wst_call(srv, read_queued, NULL);
    if (queued > most) most = queued;
    if (most > 32000 && queued < 4096) break; /* the slow one was dropped */
  }
  printf("slow reader dropped after %d broadcasts of 32 KB; most bytes queued "
         "at once: %zu\n", rounds, most);
  fflush(stdout);
  CHECK(rounds < 400);
  CHECK(most <= 65536 + 33000);
  /* It reads its backlog, then the close. */
  CHECK_EQ(wst_wait_close(slow, 20000), 1008);
  CHECK_CONTAINS(wst_close_reason(slow), "send queue full: client too slow");
  wst_close(slow, 0);
  wsc_server_stats st = wst_stats(srv);
  CHECK_EQ(st.closed_slow - before.closed_slow, 1); /* only the slow one */
  all_good_receive("after a slow reader");
  wst_call(srv, read_queued, NULL);
  CHECK(queued < 4096);
}

/* A message bigger than send_queue_bytes (64 KiB here) still reaches the
 * clients that have read everything before it: the limit bounds what a
 * client leaves unread, not the size of one message. */
static void test_one_message_bigger_than_the_send_queue(void) {
  static char msg[100064];
  int n = snprintf(msg, sizeof msg, "{\"action\":\"said\",\"payload\":\"%0100000d\"}", 7);
  CHECK_OK(wsc_server_broadcast_message_threadsafe(wst_srv(srv), NULL, "all", msg,
                                                   (size_t)n));
  for (int i = 0; i < GOOD; i++) wst_expect(good[i], msg);
  all_good_receive("after a message bigger than the send queue");
}

static void test_idle_timeout(void) {
  wsc_server_stats before = wst_stats(srv);
  int status = 0;
  wst_client *mute = open_from("127.0.9.6", NULL, &status, 0);
  CHECK(mute);
  /* It never reads, so it answers no ping: dropped after idle_timeout. */
  int fd = wst_fd(mute);
  long long start = now_ms(), closed_at = -1;
  while (now_ms() - start < 15000 && closed_at < 0) {
    struct pollfd p = {fd, POLLRDHUP, 0};
    if (poll(&p, 1, 250) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
      closed_at = now_ms();
    keep_good_alive();
  }
  printf("mute client dropped after %lld ms\n", closed_at - start);
  CHECK(closed_at >= 0);
  CHECK(closed_at - start >= 2000); /* not before idle_timeout (3 s) */
  CHECK_EQ(wst_stats(srv).closed_idle - before.closed_idle, 1);
  wst_close(mute, 0);
  all_good_receive("after a mute client");
  /* the good ones were pinged and answered, and are still here */
  for (int i = 0; i < GOOD; i++) CHECK(wst_pings(good[i]) > 0);
}

static int on_say(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)ud;
  return wsc_conn_reply(c, "said", cJSON_GetObjectItem(msg, "payload"));
}

int main(void) {
  wsc_consumer *talk;
  CHECK_OK(wsc_consumer_new("talk", &talk));
  CHECK_OK(wsc_consumer_on(talk, "say", on_say, NULL, NULL));
  CHECK_OK(wsc_consumer_add_group(talk, "all"));
  srv = wst_server_start(
      "{\"routes\":[{\"path\":\"/ws/talk\",\"consumer\":\"talk\"}],"
      "\"limits\":{\"max_message_bytes\":4096,\"send_queue_bytes\":65536,"
      "\"max_connections\":60,\"max_connections_per_address\":3,"
      "\"messages_per_second\":20,\"message_burst\":20,\"handshake_timeout\":1},"
      "\"keepalive\":{\"ping_interval\":1,\"idle_timeout\":3},"
      "\"allowed_origins\":[\"http://good.example\"]}",
      &talk, 1);
  port = wst_port(srv);
  for (int i = 0; i < GOOD; i++) {
    char src[32];
    snprintf(src, sizeof src, "127.0.1.%d", i + 1);
    int status = 0;
    good[i] = open_from(src, NULL, &status, 0);
    if (!good[i]) fprintf(stderr, "good client %d: HTTP %d\n", i, status);
    CHECK(good[i]);
  }
  all_good_receive("all here");
  test_message_too_big();
  test_message_flood();
  test_connections_per_address_and_in_total();
  test_handshake_timeout();
  test_origin();
  test_slow_reader();
  test_one_message_bigger_than_the_send_queue();
  test_idle_timeout();
  for (int i = 0; i < GOOD; i++) wst_close(good[i], 1000);
  wst_server_stop(srv);
  printf("ok\n");
  return 0;
}
