#include "fd_limit.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

int wsc__fd_limit_refuse(int fd, wsc__logger *log) {
  struct rlimit rl;
  if (fd < 0 || getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
      (rlim_t)fd + WSC__FD_HEADROOM < rl.rlim_cur)
    return 0;
  static const char body[] = "503 Service Unavailable: the server is at its open-file limit\n";
  char answer[256];
  int n = snprintf(answer, sizeof answer,
                   "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n"
                   "content-length: %zu\r\nconnection: close\r\n\r\n%s",
                   strlen(body), body);
  /* Best effort: a new socket's buffer takes this at once, or not at all. */
  (void)!send(fd, answer, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
  wsc__log(log, WSC_LOG_ERROR, "server",
           "at the open-file limit (%llu, descriptor %d in use): turning new "
           "connections away with 503 until some close",
           (unsigned long long)rl.rlim_cur, fd);
  return 1;
}

/* Failed accepts on this thread (each server's loop runs on one thread),
 * and why the last one failed. */
static _Thread_local unsigned accept_failures;
static _Thread_local char accept_error[96];
/* A server was made or has run its loop here (its first loop turn may
 * block until the failing client comes). */
static _Thread_local int server_here;

int wsc__fd_limit_accept_failed(const char *what) {
  int err;
  accept_failures++;
  if (sscanf(what, "accept: errno %d", &err) == 1)
    snprintf(accept_error, sizeof accept_error, "%s", strerror(err));
  else
    snprintf(accept_error, sizeof accept_error, "%.*s", (int)strcspn(what, "\r\n"), what);
  return server_here;
}

void wsc__listener_rest_init(wsc__listener_rest *r, uv_loop_t *loop, int port) {
  memset(r, 0, sizeof *r);
  r->loop = loop;
  r->port = port;
  r->seen = accept_failures;
  server_here = 1;
  uv_timer_init(loop, &r->timer);
  r->timer.data = r;
}

static int port_of(int fd) {
  struct sockaddr_storage a;
  socklen_t len = sizeof a;
  if (getsockname(fd, (struct sockaddr *)&a, &len) != 0) return -1;
  if (a.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&a)->sin_port);
  if (a.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&a)->sin6_port);
  return -1;
}

/* lws's poll handle for the socket listening on our port: lws keeps it to
 * itself, but it is a handle of our loop like any other. */
static void match_listener(uv_handle_t *h, void *arg) {
  wsc__listener_rest *r = arg;
  uv_os_fd_t fd;
  int listening = 0;
  socklen_t len = sizeof listening;
  if (r->poll || h->type != UV_POLL || uv_is_closing(h) || uv_fileno(h, &fd) != 0 ||
      getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening ||
      port_of(fd) != r->port)
    return;
  r->poll = (uv_poll_t *)h;
}

static void on_rested(uv_timer_t *t) {
  wsc__listener_rest *r = t->data;
  r->resting = 0;
  uv_poll_start(r->poll, UV_READABLE, r->poll->poll_cb);
}

void wsc__listener_rest_check(wsc__listener_rest *r, wsc__logger *log) {
  server_here = 1;
  int failed = r->seen != accept_failures;
  r->seen = accept_failures;
  if (!failed) {
    if (!r->resting) r->failing = 0;
    return;
  }
  if (r->resting) return;
  if (!r->poll) uv_walk(r->loop, match_listener, r);
  if (!r->poll) return;
  uv_poll_stop(r->poll);
  r->resting = 1;
  uv_timer_start(&r->timer, on_rested, WSC__ACCEPT_REST_MS, 0);
  if (!r->failing)
    wsc__log(log, WSC_LOG_ERROR, "server",
             "cannot accept connections (%s: no file descriptor free, the "
             "process's or the system's limit?); trying again every %d ms",
             accept_error, WSC__ACCEPT_REST_MS);
  r->failing = 1;
}

void wsc__listener_rest_close(wsc__listener_rest *r, uv_close_cb done, void *done_data) {
  uv_timer_stop(&r->timer);
  r->resting = 0;
  r->timer.data = done_data;
  uv_close((uv_handle_t *)&r->timer, done);
}
