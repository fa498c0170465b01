/* ref_server: the least work a WebSocket broadcast server can do, to stand
 * for the physical limit in benchmarks. One thread, epoll, one group (every
 * connection), the seeds' chat protocol without a JSON parser:
 *   {"action":"chat","payload":{"message":M}} -> every client gets
 *     {"action":"chat_notification","payload":{"message":"💬 M"}}
 *   {"action":"echo","payload":P} -> the sender gets {"action":"echo","payload":P}
 * Each broadcast is serialized and framed once and appended to every
 * connection's output; each connection is written once per epoll round.
 * Loopback only; prints "PORT <n>"; SIGINT/SIGTERM stop it.
 *
 *   ref_server [port]   (0 or none: a free port) */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#define MAX_OUT (64u << 20) /* a client this far behind is dropped */

typedef struct client {
  int fd, open, dirty, closing;
  size_t idx; /* in members, while open */
  unsigned char *in, *out;
  size_t inlen, incap, outlen, outoff, outcap;
  struct client *next_dirty;
} client;

static client **clients; /* by fd */
static client **members;  /* the one group: every open connection */
static size_t nmembers, members_cap;
static int nfds_cap, epfd;
static client *dirty;
static volatile sig_atomic_t stop;

static void on_signal(int s) {
  (void)s;
  stop = 1;
}

static void append(client *c, const void *p, size_t n) {
  if (c->closing) return;
  if (c->outlen - c->outoff + n > MAX_OUT) {
    c->closing = 1; /* too slow: drop it */
    return;
  }
  if (c->outlen + n > c->outcap) {
    if (c->outoff) { /* slide what is left to the front */
      memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
      c->outlen -= c->outoff;
      c->outoff = 0;
    }
    while (c->outlen + n > c->outcap) c->outcap = c->outcap ? c->outcap * 2 : 65536;
    c->out = realloc(c->out, c->outcap);
  }
  memcpy(c->out + c->outlen, p, n);
  c->outlen += n;
  if (!c->dirty) {
    c->dirty = 1;
    c->next_dirty = dirty;
    dirty = c;
  }
}

static size_t frame_header(unsigned char *h, size_t len) {
  h[0] = 0x81;
  if (len < 126) {
    h[1] = (unsigned char)len;
    return 2;
  }
  if (len < 65536) {
    h[1] = 126;
    h[2] = (unsigned char)(len >> 8);
    h[3] = (unsigned char)len;
    return 4;
  }
  h[1] = 127;
  for (int i = 0; i < 8; i++) h[2 + i] = (unsigned char)(len >> (56 - 8 * i));
  return 10;
}

static void send_text(client *c, const char *text, size_t len) {
  unsigned char h[10];
  append(c, h, frame_header(h, len));
  append(c, text, len);
}

static void close_client(client *c) {
  if (c->open) { /* leave the group: swap the last member in */
    members[c->idx] = members[--nmembers];
    members[c->idx]->idx = c->idx;
    c->open = 0;
  }
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  clients[c->fd] = NULL;
  c->closing = 1;
  c->fd = -1; /* freed once off the dirty list */
  if (!c->dirty) {
    free(c->in);
    free(c->out);
    free(c);
  }
}

/* {"action":"chat","payload":{"message":"M"}} -> M (no escapes expected:
 * the load generator sends digits). */
static int field(const char *s, size_t n, const char *key, const char **v,
                 size_t *vl) {
  const char *k = memmem(s, n, key, strlen(key));
  if (!k) return -1;
  const char *start = k + strlen(key);
  const char *end = memchr(start, '"', n - (size_t)(start - s));
  if (!end) return -1;
  *v = start;
  *vl = (size_t)(end - start);
  return 0;
}

static void on_message(client *c, const char *s, size_t n) {
  const char *v;
  size_t vl;
  if (memmem(s, n, "\"action\":\"chat\"", 15) &&
      field(s, n, "\"message\":\"", &v, &vl) == 0) {
    char text[512];
    int tl = snprintf(text, sizeof text,
                      "{\"action\":\"chat_notification\",\"payload\":{\"message\":"
                      "\"\xf0\x9f\x92\xac %.*s\"}}",
                      (int)vl, v);
    if (tl < 0 || (size_t)tl >= sizeof text) return;
    unsigned char frame[530];
    size_t hl = frame_header(frame, (size_t)tl);
    memcpy(frame + hl, text, (size_t)tl);
    for (size_t i = 0; i < nmembers; i++) /* serialized once, copied to all */
      append(members[i], frame, hl + (size_t)tl);
  } else if (memmem(s, n, "\"action\":\"echo\"", 15)) {
    const char *p = memmem(s, n, "\"payload\":", 10);
    if (!p) return;
    p += 10;
    size_t pl = n - (size_t)(p - s) - 1; /* up to the closing brace */
    char text[1024];
    int tl = snprintf(text, sizeof text, "{\"action\":\"echo\",\"payload\":%.*s}",
                      (int)pl, p);
    if (tl > 0 && (size_t)tl < sizeof text) send_text(c, text, (size_t)tl);
  }
}

static void handshake(client *c) {
  c->in[c->inlen] = '\0';
  char *end = strstr((char *)c->in, "\r\n\r\n");
  if (!end) return;
  char *k = strcasestr((char *)c->in, "Sec-WebSocket-Key:");
  if (!k) {
    c->closing = 1;
    return;
  }
  k += 18;
  while (*k == ' ') k++;
  char key[128];
  size_t kl = strcspn(k, "\r\n");
  if (kl > 60) kl = 60;
  snprintf(key, sizeof key, "%.*s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", (int)kl, k);
  unsigned char sha[SHA_DIGEST_LENGTH];
  SHA1((unsigned char *)key, strlen(key), sha);
  char accept[64];
  EVP_EncodeBlock((unsigned char *)accept, sha, SHA_DIGEST_LENGTH);
  char resp[256];
  int n = snprintf(resp, sizeof resp,
                   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                   accept);
  append(c, resp, (size_t)n);
  size_t used = (size_t)(end + 4 - (char *)c->in);
  memmove(c->in, c->in + used, c->inlen - used);
  c->inlen -= used;
  c->open = 1;
  if (nmembers == members_cap) {
    members_cap = members_cap ? members_cap * 2 : 1024;
    members = realloc(members, members_cap * sizeof *members);
  }
  c->idx = nmembers;
  members[nmembers++] = c;
}

static void frames(client *c) {
  size_t off = 0;
  while (c->inlen - off >= 2) {
    unsigned char *p = c->in + off;
    int op = p[0] & 0x0F;
    size_t len = p[1] & 0x7F, hl = 2;
    if (len == 126) {
      if (c->inlen - off < 4) break;
      len = (size_t)p[2] << 8 | p[3];
      hl = 4;
    } else if (len == 127) {
      if (c->inlen - off < 10) break;
      len = 0;
      for (int i = 0; i < 8; i++) len = len << 8 | p[2 + i];
      hl = 10;
    }
    int masked = p[1] & 0x80;
    if (masked) hl += 4;
    if (c->inlen - off < hl + len) break;
    unsigned char *data = p + hl;
    if (masked)
      for (size_t i = 0; i < len; i++) data[i] ^= p[hl - 4 + (i & 3)];
    if (op == 8) {
      c->closing = 1;
      return;
    }
    if (op == 9) { /* ping -> pong */
      unsigned char h[2] = {0x8A, (unsigned char)(len < 126 ? len : 0)};
      append(c, h, 2);
      if (len < 126) append(c, data, len);
    } else if (op == 1) {
      on_message(c, (const char *)data, len);
    }
    off += hl + len;
  }
  memmove(c->in, c->in + off, c->inlen - off);
  c->inlen -= off;
}

static void on_readable(client *c) {
  for (;;) {
    if (c->incap - c->inlen < 65536) {
      c->incap = c->incap ? c->incap * 2 : 131072;
      c->in = realloc(c->in, c->incap + 1);
    }
    ssize_t r = read(c->fd, c->in + c->inlen, c->incap - c->inlen);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
      c->closing = 1;
      return;
    }
    if (r < 0) break;
    c->inlen += (size_t)r;
    if (!c->open) handshake(c);
    if (c->open) frames(c);
    if (c->closing) return;
  }
}

/* One write per connection per round; what does not fit waits for EPOLLOUT. */
static void flush(client *c) {
  while (c->outoff < c->outlen) {
    ssize_t w = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
    if (w < 0) {
      if (errno == EAGAIN) {
        struct epoll_event ev = {EPOLLIN | EPOLLOUT, {.ptr = c}};
        epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
        return;
      }
      c->closing = 1;
      return;
    }
    c->outoff += (size_t)w;
  }
  c->outoff = c->outlen = 0;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)(argc > 1 ? atoi(argv[1]) : 0));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 4096)) {
    perror("ref_server");
    return 1;
  }
  socklen_t al = sizeof a;
  getsockname(lfd, (struct sockaddr *)&a, &al);
  printf("PORT %d\n", ntohs(a.sin_port));
  fflush(stdout);
  nfds_cap = 1 << 17;
  clients = calloc((size_t)nfds_cap, sizeof *clients);
  epfd = epoll_create1(0);
  struct epoll_event ev = {EPOLLIN, {.ptr = NULL}};
  epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
  struct epoll_event evs[512];
  while (!stop) {
    int n = epoll_wait(epfd, evs, 512, 200);
    for (int i = 0; i < n; i++) {
      client *c = evs[i].data.ptr;
      if (!c) { /* new connections */
        int fd;
        while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          if (fd >= nfds_cap) {
            close(fd);
            continue;
          }
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          client *nc = calloc(1, sizeof *nc);
          nc->fd = fd;
          clients[fd] = nc;
          struct epoll_event cev = {EPOLLIN, {.ptr = nc}};
          epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
      if (c->fd < 0) continue;
      if (evs[i].events & EPOLLOUT) {
        struct epoll_event cev = {EPOLLIN, {.ptr = c}};
        epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &cev);
        flush(c);
      }
      if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c);
      if (c->closing && c->fd >= 0) close_client(c);
    }
    /* the round's output: one write per connection */
    client *d = dirty;
    dirty = NULL;
    while (d) {
      client *next = d->next_dirty;
      d->dirty = 0;
      if (d->fd >= 0) {
        flush(d);
        if (d->closing) close_client(d);
      } else {
        free(d->in);
        free(d->out);
        free(d);
      }
      d = next;
    }
  }
  return 0;
}
