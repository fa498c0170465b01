/* 1,000 hostile connections in a row: truncated and garbage handshakes,
 * then frames that break RFC 6455 in every way we know (unmasked, reserved
 * opcodes and bits, oversized or fragmented control frames, orphan
 * continuations, invalid UTF-8, absurd lengths, truncated headers, bad close
 * frames, random bytes). The server must drop each offender and go on
 * serving a well-behaved client, which is checked every 25 attacks, and end
 * with only that client connected. Protocol errors close with 1002, invalid
 * UTF-8 with 1007. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "helpers/check.h"
#include "helpers/server_thread.h"
#include "helpers/ws_client.h"

static int port;
static unsigned rng = 12345;

static unsigned next(void) {
  rng = rng * 1103515245u + 12345u;
  return rng >> 8;
}

static int raw_connect(void) {
  int fd = wst_tcp_connect(port);
  CHECK(fd >= 0);
  return fd;
}

/* Waits up to `ms` for the server to close: a close frame, or the socket
 * hung up. Returns the close code (1006: no frame), or 0. */
static int server_closes(int fd, int ms) {
  unsigned char buf[4096];
  for (int waited = 0; waited < ms; waited += 50) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 50) > 0) {
      ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (r == 0 || (r < 0 && errno != EAGAIN)) return 1006;
      /* frames the server sent: find a close frame among them */
      for (ssize_t i = 0; i + 1 < r;) {
        size_t len = buf[i + 1] & 0x7F, hl = 2;
        if (len == 126) len = (size_t)(buf[i + 2] << 8 | buf[i + 3]), hl = 4;
        if ((buf[i] & 0x0F) == 0x8)
          return len >= 2 && i + 3 < r ? buf[i + 2] << 8 | buf[i + 3] : 1005;
        i += (ssize_t)(hl + len);
      }
    }
  }
  return 0;
}

static const char *const upgrade =
    "GET /ws/talk HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n";

static void truncated_handshake(void) {
  int fd = raw_connect();
  size_t n = next() % strlen(upgrade);
  CHECK(write(fd, upgrade, n) == (ssize_t)n);
  close(fd);
}

static void garbage_handshake(void) {
  int fd = raw_connect();
  unsigned char junk[512];
  size_t n = 1 + next() % sizeof junk;
  for (size_t i = 0; i < n; i++) junk[i] = (unsigned char)next();
  if (write(fd, junk, n) < 0) { /* the server may already have hung up */
  }
  close(fd);
}

/* A frame with the given first byte, mask bit and payload (masked with a
 * zero key when `masked`). */
static size_t frame(unsigned char *out, unsigned char b0, int masked,
                    const void *payload, size_t len) {
  size_t o = 0;
  out[o++] = b0;
  unsigned char m = masked ? 0x80 : 0;
  if (len < 126) {
    out[o++] = m | (unsigned char)len;
  } else {
    out[o++] = m | 126;
    out[o++] = (unsigned char)(len >> 8);
    out[o++] = (unsigned char)len;
  }
  if (masked) {
    memset(out + o, 0, 4);
    o += 4;
  }
  memcpy(out + o, payload, len);
  return o + len;
}

/* One protocol violation on an open connection; the server must hang up. */
static void bad_frame(int kind) {
  wst_client *c = wst_open(port, "/ws/talk");
  unsigned char buf[1024], pay[300];
  memset(pay, 'a', sizeof pay);
  size_t n = 0;
  switch (kind) {
    case 0: n = frame(buf, 0x81, 0, "{}", 2); break;              /* unmasked */
    case 1: n = frame(buf, 0x83, 1, "x", 1); break;               /* opcode 3 */
    case 2: n = frame(buf, 0xC1, 1, "{}", 2); break;              /* RSV1 */
    case 3: n = frame(buf, 0x89, 1, pay, 200); break;             /* big ping */
    case 4: n = frame(buf, 0x09, 1, "p", 1); break;               /* ping, FIN 0 */
    case 5: n = frame(buf, 0x80, 1, "x", 1); break;               /* orphan cont. */
    case 6: n = frame(buf, 0x81, 1, "\xff\xfe\xc3\x28", 4); break; /* bad UTF-8 */
    case 7: { /* a 64-bit length of 2^63 */
      unsigned char h[] = {0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
      memcpy(buf, h, sizeof h);
      n = sizeof h;
      break;
    }
    case 8: n = frame(buf, 0x88, 1, "\x03", 1); break;            /* close, 1 byte */
    case 9: n = frame(buf, 0x88, 1, "\x00\x05", 2); break;        /* close code 5 */
    default: { /* random bytes behind a reserved opcode */
      n = 2 + next() % 200;
      for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)next();
      buf[0] = (unsigned char)(0x80 | (3 + next() % 5));
      buf[1] = (unsigned char)(0x80 | (buf[1] % 126));
      break;
    }
  }
  wst_send_raw(c, buf, n);
  /* Protocol errors close with 1002 (libwebsockets), invalid UTF-8 with
   * 1007; an absurd length or an oversized ping is dropped at once. Only an
   * unmasked client frame is tolerated by libwebsockets 4.1 (that client
   * stays, harmless, until it leaves). */
  if (kind == 0) { /* tolerated: answered like any message */
    char *r = wst_recv(c, 5000);
    CHECK_CONTAINS(r, "\"action\":\"error\"");
    free(r);
    wst_close(c, 1000);
    return;
  }
  int code = server_closes(wst_fd(c), 5000);
  int want = kind == 6 ? 1007 : kind == 1 || kind == 2 || kind == 4 || kind == 5 ||
                                        kind == 9 || kind == 10 ? 1002 : -1;
  if (code == 0 || (want > 0 && code != want)) {
    fprintf(stderr, "violation %d: close code %d, expected %d\n", kind, code, want);
    abort();
  }
  wst_close(c, 0);
}

static void truncated_frame(void) {
  wst_client *c = wst_open(port, "/ws/talk");
  unsigned char buf[64];
  size_t n = frame(buf, 0x81, 1, "{\"action\":\"ping\"}", 17);
  wst_send_raw(c, buf, 1 + next() % (n - 1)); /* then vanish mid-frame */
  wst_close(c, 0);
}

static size_t open_count;
static void count(wsc_server *s, void *ud) {
  (void)ud;
  open_count = wsc_server_connection_count(s);
}

int main(void) {
  wsc_consumer *talk;
  CHECK_OK(wsc_consumer_new("talk", &talk));
  wst_server *srv = wst_server_start(
      "{\"routes\":[{\"path\":\"/ws/talk\",\"consumer\":\"talk\"}],"
      "\"limits\":{\"handshake_timeout\":2}}",
      &talk, 1);
  port = wst_port(srv);
  wst_client *good = wst_open(port, "/ws/talk");
  int violations = 0;
  for (int i = 0; i < 1000; i++) {
    switch (i % 4) {
      case 0: truncated_handshake(); break;
      case 1: garbage_handshake(); break;
      case 2: bad_frame(violations++ % 11); break;
      default: truncated_frame(); break;
    }
    if (i % 25 == 24) {
      wst_send_text(good, "{\"action\":\"ping\"}");
      wst_expect(good, "{\"action\":\"pong\",\"payload\":null}");
    }
  }
  /* Every offender is gone; the good client is the one left. */
  for (int tries = 0; tries < 100; tries++) {
    wst_call(srv, count, NULL);
    if (open_count == 1) break;
    usleep(50000);
  }
  CHECK_EQ(open_count, 1);
  wst_send_text(good, "{\"action\":\"ping\"}");
  wst_expect(good, "{\"action\":\"pong\",\"payload\":null}");
  wst_close(good, 1000);
  wst_server_stop(srv);
  printf("ok\n");
  return 0;
}
