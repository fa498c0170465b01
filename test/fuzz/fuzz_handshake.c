/* libFuzzer target: the bytes a client sends before its connection opens.
 * A real server (routes with parameters, the JWT authenticator, an
 * authenticate hook reading headers and cookies, limits, the AsyncAPI
 * paths) runs on a loop thread; each input is written to a fresh loopback
 * socket as the client's request, which is then closed after reading what
 * the server answers. The server must survive every input; the
 * handshake-side code of the library (routing, query parsing, auth, HTTP
 * answers) is instrumented for coverage.
 * Built with clang by -DWSC_FUZZ=ON; CI runs it for a bounded time. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>
#include <wschannels/wschannels.h>

static int port;
static uv_sem_t ready;

static int authenticate(wsc_conn *c, void *ud) {
  (void)ud;
  char buf[256];
  wsc_conn_get_header(c, "x-api-key", buf, sizeof buf);
  wsc_conn_get_header(c, "user-agent", buf, sizeof buf);
  wsc_conn_get_cookie(c, "session", buf, sizeof buf);
  const char *room = wsc_conn_get_path_param(c, "room");
  return room && strcmp(room, "forbidden") == 0 ? 403 : 0;
}

static void run_server(void *arg) {
  (void)arg;
  uv_loop_t loop;
  uv_loop_init(&loop);
  wsc_set_default_logger(NULL, WSC_LOG_ERROR, NULL);
  wsc_consumer *talk, *secure;
  wsc_consumer_new("talk", &talk);
  wsc_consumer_new("secure", &secure);
  wsc_consumer_hooks h;
  wsc_consumer_hooks_init(&h);
  h.authenticate = authenticate;
  wsc_consumer_set_hooks(talk, &h, NULL, NULL);
  wsc_consumer *cs[] = {talk, secure};
  wsc_server_options o;
  wsc_server_options_init(&o);
  o.loop = &loop;
  o.port = 0;
  o.consumers = cs;
  o.n_consumers = 2;
  o.config_json =
      "{\"routes\":[{\"path\":\"/ws\",\"include\":["
      "{\"path\":\"/room/{room}\",\"consumer\":\"talk\"},"
      "{\"path\":\"/secure\",\"consumer\":\"secure\"}]}],"
      "\"consumers\":{\"secure\":{\"jwt\":{\"secret\":\"fuzzing-secret-of-32-bytes-long!\"},"
      "\"send_authentication_message\":true}},"
      "\"limits\":{\"handshake_timeout\":1,\"max_connections_per_address\":50},"
      "\"allowed_origins\":[\"http://ok.example\"]}";
  wsc_server *srv = NULL;
  char err[WSC_ERRBUF_SIZE];
  if (wsc_server_new(&o, &srv, err, sizeof err)) abort();
  port = wsc_server_get_port(srv);
  uv_sem_post(&ready);
  uv_run(&loop, UV_RUN_DEFAULT); /* until the process exits */
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  static uv_thread_t t;
  uv_sem_init(&ready, 0);
  uv_thread_create(&t, run_server, NULL);
  uv_sem_wait(&ready);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    if (errno == ECONNREFUSED) abort(); /* the server died */
    close(fd); /* out of local ports or the like: not the server's fault */
    return 0;
  }
  if (size) (void)!send(fd, data, size, MSG_NOSIGNAL);
  shutdown(fd, SHUT_WR);
  char buf[4096];
  for (int i = 0; i < 20; i++) { /* read the answer, at most ~40 ms */
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 2) <= 0) continue;
    if (recv(fd, buf, sizeof buf, 0) <= 0) break;
  }
  /* Reset rather than linger in TIME_WAIT: ~1,000 sockets a second would
   * use up the local ports within a minute. */
  struct linger lg = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(fd);
  return 0;
}
