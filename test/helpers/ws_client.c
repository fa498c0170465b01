#include "ws_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct wst_client {
  int fd;
  unsigned char *buf; /* buf[off..len) read but not consumed */
  size_t off, len, cap;
  int close_code; /* 0: open */
  int pings;
  char close_reason[128];
};

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Reads more bytes into c->buf before `deadline`; 0 ok, -1 timeout/EOF. */
static int fill(wst_client *c, long long deadline) {
  for (;;) {
    long long left = deadline - now_ms();
    if (left < 0) return -1;
    struct pollfd p = {c->fd, POLLIN, 0};
    int r = poll(&p, 1, (int)left);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    if (c->off) { /* compact once per read, not once per frame */
      memmove(c->buf, c->buf + c->off, c->len - c->off);
      c->len -= c->off;
      c->off = 0;
    }
    if (c->cap - c->len < 65536) {
      c->cap = c->cap * 2 + 65536;
      c->buf = realloc(c->buf, c->cap);
    }
    ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -2;
    c->len += (size_t)n;
    return 0;
  }
}

static void consume(wst_client *c, size_t n) { c->off += n; }

/* Bytes available past the consumed part. */
static size_t avail(const wst_client *c) { return c->len - c->off; }

static int send_all(int fd, const void *p, size_t n) {
  const char *s = p;
  while (n) {
    ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    s += w;
    n -= (size_t)w;
  }
  return 0;
}

wst_client *wst_connect(int port, const char *path, const char *headers,
                        int *status) {
  return wst_connect_opt(port, path, headers, status, NULL, 0);
}

static struct sockaddr_in loopback(int port) {
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

int wst_tcp_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = loopback(port);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

wst_client *wst_connect_opt(int port, const char *path, const char *headers,
                            int *status, const char *source, int rcvbuf) {
  *status = 0;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (source) { /* any 127.x.y.z is this machine: a client "from elsewhere" */
    struct sockaddr_in src = {0};
    src.sin_family = AF_INET;
    inet_pton(AF_INET, source, &src.sin_addr);
    if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0) {
      close(fd);
      return NULL;
    }
  }
  if (rcvbuf) /* before connect: a small window the server fills quickly */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct sockaddr_in a = loopback(port);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return NULL;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char req[4096];
  int n = snprintf(req, sizeof req,
                   "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\n%s\r\n",
                   path, port, headers ? headers : "");
  wst_client *c = calloc(1, sizeof *c);
  c->fd = fd;
  if (send_all(fd, req, (size_t)n) != 0) goto fail;
  long long deadline = now_ms() + 5000;
  char *end = NULL;
  while (!end) {
    if (fill(c, deadline) != 0) goto fail;
    c->buf[c->len < c->cap ? c->len : c->cap - 1] = 0;
    end = c->len >= 4 ? strstr((char *)c->buf, "\r\n\r\n") : NULL;
  }
  int code = 0;
  sscanf((char *)c->buf, "HTTP/1.%*d %d", &code);
  *status = code;
  if (code != 101) goto fail;
  consume(c, (size_t)(end + 4 - (char *)c->buf));
  return c;
fail:
  close(fd);
  free(c->buf);
  free(c);
  return NULL;
}

wst_client *wst_open(int port, const char *path) {
  int st;
  wst_client *c = wst_connect(port, path, NULL, &st);
  if (!c) {
    fprintf(stderr, "wst_open(%d, %s): HTTP status %d\n", port, path, st);
    abort();
  }
  return c;
}

int wst_send_frame(wst_client *c, int opcode, const void *data, size_t len,
                   int fin) {
  unsigned char hdr[14];
  size_t h = 0;
  hdr[h++] = (unsigned char)((fin ? 0x80 : 0) | (opcode & 0x0f));
  if (len < 126) {
    hdr[h++] = (unsigned char)(0x80 | len);
  } else if (len < 65536) {
    hdr[h++] = 0x80 | 126;
    hdr[h++] = (unsigned char)(len >> 8);
    hdr[h++] = (unsigned char)len;
  } else {
    hdr[h++] = 0x80 | 127;
    for (int i = 7; i >= 0; i--) hdr[h++] = (unsigned char)((uint64_t)len >> (8 * i));
  }
  unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
  memcpy(hdr + h, mask, 4);
  h += 4;
  unsigned char *body = malloc(len ? len : 1);
  for (size_t i = 0; i < len; i++)
    body[i] = ((const unsigned char *)data)[i] ^ mask[i & 3];
  int rc = send_all(c->fd, hdr, h);
  if (!rc) rc = send_all(c->fd, body, len);
  free(body);
  return rc;
}

int wst_send_text(wst_client *c, const char *text) {
  return wst_send_frame(c, 1, text, strlen(text), 1);
}

int wst_send_raw(wst_client *c, const void *data, size_t len) {
  return send_all(c->fd, data, len);
}

char *wst_recv(wst_client *c, int timeout_ms) {
  long long deadline = now_ms() + timeout_ms;
  for (;;) {
    if (c->close_code) return NULL;
    while (avail(c) < 2)
      if (fill(c, deadline) != 0) goto gone;
    unsigned char *b = c->buf + c->off;
    if (b[1] & 0x80) { /* servers never mask */
      fprintf(stderr, "wst_recv: masked server frame\n");
      abort();
    }
    size_t plen = b[1] & 0x7f, h = 2;
    if (plen == 126) {
      while (avail(c) < 4)
        if (fill(c, deadline) != 0) goto gone;
      b = c->buf + c->off;
      plen = ((size_t)b[2] << 8) | b[3];
      h = 4;
    } else if (plen == 127) {
      while (avail(c) < 10)
        if (fill(c, deadline) != 0) goto gone;
      b = c->buf + c->off;
      plen = 0;
      for (int i = 0; i < 8; i++) plen = (plen << 8) | b[2 + i];
      h = 10;
    }
    while (avail(c) < h + plen)
      if (fill(c, deadline) != 0) goto gone;
    b = c->buf + c->off;
    int op = b[0] & 0x0f;
    if (op == 1) {
      char *s = malloc(plen + 1);
      memcpy(s, b + h, plen);
      s[plen] = 0;
      consume(c, h + plen);
      return s;
    }
    if (op == 8) {
      c->close_code = plen >= 2 ? (b[h] << 8) | b[h + 1] : 1005;
      size_t rl = plen > 2 ? plen - 2 : 0;
      if (rl >= sizeof c->close_reason) rl = sizeof c->close_reason - 1;
      memcpy(c->close_reason, b + h + 2, rl);
      c->close_reason[rl] = 0;
      consume(c, h + plen);
      return NULL;
    }
    if (op == 9) {
      c->pings++;
      wst_send_frame(c, 0xA, b + h, plen, 1);
    }
    consume(c, h + plen);
  }
gone:
  if (now_ms() < deadline && !c->close_code) c->close_code = 1006;
  return NULL;
}

void wst_expect(wst_client *c, const char *want) {
  char *got = wst_recv(c, 5000);
  if (!got || strcmp(got, want) != 0) {
    fprintf(stderr, "wst_expect mismatch\n  got:  %s\n  want: %s\n",
            got ? got : "(nothing)", want);
    abort();
  }
  free(got);
}

int wst_silent(wst_client *c, int ms) {
  char *got = wst_recv(c, ms);
  if (got) fprintf(stderr, "wst_silent: unexpected %s\n", got);
  free(got);
  return got == NULL && c->close_code == 0;
}

int wst_wait_close(wst_client *c, int timeout_ms) {
  long long deadline = now_ms() + timeout_ms;
  while (!c->close_code && now_ms() < deadline) {
    char *m = wst_recv(c, (int)(deadline - now_ms()));
    free(m);
  }
  return c->close_code ? c->close_code : -1;
}

const char *wst_close_reason(const wst_client *c) { return c->close_reason; }
int wst_pings(const wst_client *c) { return c->pings; }

void wst_close(wst_client *c, int code) {
  if (!c) return;
  if (code && !c->close_code) {
    unsigned char p[2] = {(unsigned char)(code >> 8), (unsigned char)code};
    wst_send_frame(c, 8, p, 2, 1);
    /* Wait for the server's close reply so the server sees a clean close. */
    wst_wait_close(c, 2000);
  }
  close(c->fd);
  free(c->buf);
  free(c);
}

int wst_fd(const wst_client *c) { return c->fd; }

char *wst_http_get(int port, const char *path, const char *host) {
  int fd = wst_tcp_connect(port);
  if (fd < 0) return strdup("");
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char req[1024], local[32];
  if (!host) snprintf(local, sizeof local, "127.0.0.1:%d", port), host = local;
  int n = snprintf(req, sizeof req,
                   "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                   path, host);
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  if (write(fd, req, (size_t)n) == n) {
    ssize_t r;
    while ((r = read(fd, buf + len, cap - len - 1)) > 0) {
      len += (size_t)r;
      if (len + 1 == cap) buf = realloc(buf, cap *= 2);
    }
  }
  buf[len] = '\0';
  close(fd);
  return buf;
}

int wst_http_status(const char *response) {
  int st = 0;
  sscanf(response, "HTTP/1.1 %d", &st);
  return st;
}
