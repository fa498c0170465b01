#include "tcp_relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"

enum { MAX_PAIRS = 64 };

typedef struct pair {
  int fd[2]; /* client side, target side; -1 when free */
  int cut;
} pair;

struct wst_relay {
  int listen_fd, target_port, port;
  int wake[2]; /* a byte here ends poll: stop */
  int stopping;
  pthread_mutex_t lock; /* held while bytes move, so a cut is immediate */
  pthread_t thread;
  pair pairs[MAX_PAIRS];
};

static int connect_target(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0) return fd;
  if (fd >= 0) close(fd);
  return -1;
}

static void drop(pair *p) {
  for (int i = 0; i < 2; i++) close(p->fd[i]);
  p->fd[0] = p->fd[1] = -1;
  p->cut = 0;
}

static void accept_one(wst_relay *r) {
  int c = accept(r->listen_fd, NULL, NULL);
  if (c < 0) return;
  int t = connect_target(r->target_port);
  for (int i = 0; t >= 0 && i < MAX_PAIRS; i++)
    if (r->pairs[i].fd[0] < 0) {
      r->pairs[i] = (pair){{c, t}, 0};
      return;
    }
  close(c); /* target down, or full: the client sees the connection close */
  if (t >= 0) close(t);
}

/* Moves what one side has to the other; 0 when that side closed. */
static int pass(int from, int to) {
  char buf[65536];
  ssize_t n = read(from, buf, sizeof buf);
  if (n <= 0) return n < 0 && errno == EINTR;
  for (ssize_t off = 0; off < n;) { /* both ends are quick readers */
    ssize_t w = write(to, buf + off, (size_t)(n - off));
    if (w <= 0) return 0;
    off += w;
  }
  return 1;
}

static void *run(void *arg) {
  wst_relay *r = arg;
  for (;;) {
    struct pollfd fds[2 + 2 * MAX_PAIRS];
    int where[2 + 2 * MAX_PAIRS], n = 0;
    fds[n++] = (struct pollfd){.fd = r->wake[0], .events = POLLIN};
    fds[n++] = (struct pollfd){.fd = r->listen_fd, .events = POLLIN};
    pthread_mutex_lock(&r->lock);
    for (int i = 0; i < MAX_PAIRS; i++)
      for (int s = 0; s < 2 && r->pairs[i].fd[0] >= 0 && !r->pairs[i].cut; s++) {
        where[n] = i * 2 + s;
        fds[n++] = (struct pollfd){.fd = r->pairs[i].fd[s], .events = POLLIN};
      }
    pthread_mutex_unlock(&r->lock);
    if (poll(fds, (nfds_t)n, 100) < 0 && errno != EINTR) break;
    pthread_mutex_lock(&r->lock);
    if (r->stopping) {
      pthread_mutex_unlock(&r->lock);
      break;
    }
    if (fds[1].revents) accept_one(r);
    for (int k = 2; k < n; k++) {
      pair *p = &r->pairs[where[k] / 2];
      int s = where[k] % 2;
      if (!fds[k].revents || p->fd[0] < 0 || p->cut) continue;
      if (!pass(p->fd[s], p->fd[1 - s])) drop(p);
    }
    pthread_mutex_unlock(&r->lock);
  }
  return NULL;
}

wst_relay *wst_relay_start(int target_port) {
  wst_relay *r = calloc(1, sizeof *r);
  CHECK(r);
  r->target_port = target_port;
  for (int i = 0; i < MAX_PAIRS; i++) r->pairs[i].fd[0] = r->pairs[i].fd[1] = -1;
  r->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  CHECK(bind(r->listen_fd, (struct sockaddr *)&a, sizeof a) == 0);
  CHECK(listen(r->listen_fd, 64) == 0);
  CHECK(getsockname(r->listen_fd, (struct sockaddr *)&a, &len) == 0);
  r->port = ntohs(a.sin_port);
  CHECK(pipe(r->wake) == 0);
  pthread_mutex_init(&r->lock, NULL);
  CHECK(pthread_create(&r->thread, NULL, run, r) == 0);
  return r;
}

int wst_relay_port(const wst_relay *r) { return r->port; }

void wst_relay_cut(wst_relay *r) {
  pthread_mutex_lock(&r->lock);
  for (int i = 0; i < MAX_PAIRS; i++)
    if (r->pairs[i].fd[0] >= 0) r->pairs[i].cut = 1;
  pthread_mutex_unlock(&r->lock);
}

void wst_relay_stop(wst_relay *r) {
  pthread_mutex_lock(&r->lock);
  r->stopping = 1;
  pthread_mutex_unlock(&r->lock);
  CHECK(write(r->wake[1], "x", 1) == 1);
  pthread_join(r->thread, NULL);
  for (int i = 0; i < MAX_PAIRS; i++)
    if (r->pairs[i].fd[0] >= 0) drop(&r->pairs[i]);
  close(r->listen_fd);
  close(r->wake[0]);
  close(r->wake[1]);
  pthread_mutex_destroy(&r->lock);
  free(r);
}
