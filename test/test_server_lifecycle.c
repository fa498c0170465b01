/* Loop ownership and clean shutdown: a server on the caller's loop leaves
 * the caller's own handles working and, once closed, every handle released
 * (uv_loop_close() == 0); a server on its own loop runs until stopped from
 * another thread; clients get a 1001 close; a port in use fails the create
 * call and leaves nothing behind; the server listens on the configured
 * address only. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "helpers/check.h"
#include "helpers/ws_client.h"

static wsc_consumer *echo_consumer(void) {
  wsc_consumer *c;
  CHECK_OK(wsc_consumer_new("echo", &c));
  return c;
}

static const char *ROUTES =
    "{\"routes\":[{\"path\":\"/ws/echo\",\"consumer\":\"echo\"}]}";

/* ---- the caller's loop --------------------------------------------------- */

typedef struct app {
  uv_loop_t loop;
  uv_timer_t tick;
  int ticks;
  wsc_server *srv;
  int port;
  int closed_cb_calls;
  uv_sem_t ready;
  int loop_close_rc;
} app;

static void on_tick(uv_timer_t *t) { ((app *)t->data)->ticks++; }

static void on_server_closed(void *ud) {
  app *a = ud;
  a->closed_cb_calls++;
  uv_close((uv_handle_t *)&a->tick, NULL); /* the app's own handle */
}

static void app_thread(void *arg) {
  app *a = arg;
  uv_loop_init(&a->loop);
  uv_timer_init(&a->loop, &a->tick);
  a->tick.data = a;
  uv_timer_start(&a->tick, on_tick, 5, 5);
  wsc_consumer *c = echo_consumer();
  wsc_server_options o;
  wsc_server_options_init(&o);
  o.loop = &a->loop;
  o.port = 0;
  o.config_json = ROUTES;
  o.consumers = &c;
  o.n_consumers = 1;
  char err[WSC_ERRBUF_SIZE];
  CHECK_OK(wsc_server_new(&o, &a->srv, err, sizeof err));
  a->port = wsc_server_get_port(a->srv);
  CHECK(a->port > 0);
  CHECK(wsc_server_get_loop(a->srv) == &a->loop);
  uv_sem_post(&a->ready);
  uv_run(&a->loop, UV_RUN_DEFAULT);
  a->loop_close_rc = uv_loop_close(&a->loop);
}

static void close_from_loop(wsc_server *srv, void *ud) {
  CHECK_OK(wsc_server_close(srv, on_server_closed, ud));
  CHECK_EQ(wsc_server_close(srv, on_server_closed, ud), WSC_ECLOSED);
}

static void test_callers_loop(void) {
  app a;
  memset(&a, 0, sizeof a);
  uv_sem_init(&a.ready, 0);
  uv_thread_t th;
  uv_thread_create(&th, app_thread, &a);
  uv_sem_wait(&a.ready);
  wst_client *c = wst_open(a.port, "/ws/echo");
  for (int i = 0; i < 20; i++) {
    wst_send_text(c, "{\"action\":\"ping\"}");
    wst_expect(c, "{\"action\":\"pong\",\"payload\":null}");
    uv_sleep(5);
  }
  CHECK(a.ticks > 5); /* the app's timer kept firing while we served */
  CHECK_OK(wsc_server_post(a.srv, close_from_loop, &a));
  CHECK_EQ(wst_wait_close(c, 5000), 1001);
  CHECK_STREQ(wst_close_reason(c), "server shutting down");
  wst_close(c, 0);
  uv_thread_join(&th);
  CHECK_EQ(a.closed_cb_calls, 1);
  CHECK_EQ(a.loop_close_rc, 0); /* every handle released */
  uv_sem_destroy(&a.ready);
}

/* ---- a loop the server owns --------------------------------------------- */

typedef struct owned {
  wsc_server *srv;
  uv_sem_t ready;
  int run_rc;
} owned;

static void owned_thread(void *arg) {
  owned *o = arg;
  wsc_consumer *c = echo_consumer();
  wsc_server_options opts;
  wsc_server_options_init(&opts);
  opts.port = 0;
  opts.config_json = ROUTES;
  opts.consumers = &c;
  opts.n_consumers = 1;
  CHECK_OK(wsc_server_new(&opts, &o->srv, NULL, 0));
  uv_sem_post(&o->ready);
  o->run_rc = wsc_server_run(o->srv); /* frees the server when it returns */
}

static void test_private_loop_stopped_from_another_thread(void) {
  owned o = {0};
  uv_sem_init(&o.ready, 0);
  uv_thread_t th;
  uv_thread_create(&th, owned_thread, &o);
  uv_sem_wait(&o.ready);
  wst_client *c = wst_open(wsc_server_get_port(o.srv), "/ws/echo");
  wst_send_text(c, "{\"action\":\"ping\"}");
  wst_expect(c, "{\"action\":\"pong\",\"payload\":null}");
  CHECK_OK(wsc_server_stop_threadsafe(o.srv));
  CHECK_EQ(wst_wait_close(c, 5000), 1001);
  wst_close(c, 0);
  uv_thread_join(&th);
  CHECK_EQ(o.run_rc, 0);
  uv_sem_destroy(&o.ready);
}

static int closed_calls;
static void count_close(void *ud) {
  (void)ud;
  closed_calls++;
}

static void test_close_idle_private_loop(void) {
  wsc_consumer *c = echo_consumer();
  wsc_server_options o;
  wsc_server_options_init(&o);
  o.port = 0;
  o.config_json = ROUTES;
  o.consumers = &c;
  o.n_consumers = 1;
  wsc_server *srv;
  CHECK_OK(wsc_server_new(&o, &srv, NULL, 0));
  CHECK_EQ(wsc_server_run(NULL), WSC_EINVAL);
  /* Never run: close runs the private loop itself until done. */
  CHECK_OK(wsc_server_close(srv, count_close, NULL));
  CHECK_EQ(closed_calls, 1);
}

static void test_port_in_use_fails_cleanly(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  wsc_consumer *c1 = echo_consumer(), *c2 = echo_consumer();
  wsc_server_options o;
  wsc_server_options_init(&o);
  o.loop = &loop;
  o.port = 0;
  o.config_json = ROUTES;
  o.consumers = &c1;
  o.n_consumers = 1;
  wsc_server *a, *b = NULL;
  CHECK_OK(wsc_server_new(&o, &a, NULL, 0));
  o.port = wsc_server_get_port(a);
  o.consumers = &c2;
  char err[WSC_ERRBUF_SIZE];
  CHECK_EQ(wsc_server_new(&o, &b, err, sizeof err), WSC_EBIND);
  CHECK(b == NULL);
  char want[64];
  snprintf(want, sizeof want, "127.0.0.1:%d", o.port);
  CHECK_CONTAINS(err, want);
  wsc_consumer_free(c2); /* a failed create leaves the consumer with us */
  /* The first server still serves. */
  CHECK_OK(wsc_server_close(a, NULL, NULL));
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_EQ(uv_loop_close(&loop), 0);
}

/* 1 if a TCP connection to address:port is accepted. */
static int tcp_reaches(const char *address, int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(fd >= 0);
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  CHECK(inet_pton(AF_INET, address, &to.sin_addr) == 1);
  int ok = connect(fd, (struct sockaddr *)&to, sizeof to) == 0;
  close(fd);
  return ok;
}

/* "host": "127.0.0.1" (the default) must not become every address: another
 * loopback address stands for the machine's other interfaces. */
static void test_listens_on_the_configured_address_only(void) {
  static const char *const hosts[] = {NULL, "127.0.0.1", "127.0.0.2", "localhost"};
  for (size_t i = 0; i < sizeof hosts / sizeof *hosts; i++) {
    uv_loop_t loop;
    uv_loop_init(&loop);
    wsc_consumer *c = echo_consumer();
    wsc_server_options o;
    wsc_server_options_init(&o);
    o.loop = &loop;
    o.port = 0;
    o.host = hosts[i];
    o.config_json = ROUTES;
    o.consumers = &c;
    o.n_consumers = 1;
    wsc_server *srv;
    char err[WSC_ERRBUF_SIZE];
    CHECK_OK(wsc_server_new(&o, &srv, err, sizeof err));
    const char *mine = hosts[i] && strcmp(hosts[i], "localhost") ? hosts[i] : "127.0.0.1";
    const char *other = strcmp(mine, "127.0.0.1") ? "127.0.0.1" : "127.0.0.3";
    CHECK(tcp_reaches(mine, wsc_server_get_port(srv)));
    CHECK(!tcp_reaches(other, wsc_server_get_port(srv)));
    CHECK_OK(wsc_server_close(srv, NULL, NULL));
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_EQ(uv_loop_close(&loop), 0);
  }
}

static void test_options_are_checked(void) {
  wsc_server *srv = (wsc_server *)1;
  char err[WSC_ERRBUF_SIZE];
  CHECK_EQ(wsc_server_new(NULL, &srv, err, sizeof err), WSC_EINVAL);
  wsc_server_options o;
  wsc_server_options_init(&o);
  o.struct_size = 8;
  CHECK_EQ(wsc_server_new(&o, &srv, err, sizeof err), WSC_EINVAL);
  CHECK_CONTAINS(err, "struct_size");
  wsc_server_options_init(&o);
  wsc_consumer *a = echo_consumer(), *b = echo_consumer();
  wsc_consumer *both[] = {a, b};
  o.consumers = both;
  o.n_consumers = 2;
  CHECK_EQ(wsc_server_new(&o, &srv, err, sizeof err), WSC_EINVAL);
  CHECK_CONTAINS(err, "two consumers are called 'echo'");
  wsc_consumer_free(a);
  wsc_consumer_free(b);
}

int main(void) {
  RUN(test_callers_loop);
  RUN(test_private_loop_stopped_from_another_thread);
  RUN(test_close_idle_private_loop);
  RUN(test_port_in_use_fails_cleanly);
  RUN(test_listens_on_the_configured_address_only);
  RUN(test_options_are_checked);
  return 0;
}
