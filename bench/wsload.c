/* wsload: a WebSocket broadcast load generator (loopback only).
 *
 *   wsload --port P [--path /ws/chat] [--conns N] [--senders S] [--rate R]
 *          [--seconds D] [--warmup W] [--server-pid PID] [--echo]
 *          [--connect-batch B]   (at most B handshakes at once; default all)
 *
 * Opens N connections; S of them send {"action":"chat","payload":{"message":
 * "<send time ns>"}} at R messages per second in total; every frame received
 * whose text holds "💬 <time>" counts as one delivery, with its latency. In
 * --echo mode each connection sends {"action":"echo",...} and waits for the
 * reply (closed loop). Prints one JSON line. Every run is bounded in time. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#define BUCKET_US 20
#define BUCKETS 500000 /* up to 10 s */

typedef struct conn {
  uv_tcp_t tcp;
  uv_connect_t creq;
  int id, open, sender;
  unsigned char *buf;
  size_t len;
  uint64_t echo_sent;
} conn;

static struct {
  int port, conns, senders, echo;
  double rate, seconds, warmup;
  const char *path;
  int server_pid;
  uv_loop_t *loop;
  conn *c;
  int opened, failed;
  int batch, next_connect; /* at most `batch` handshakes in flight */
  struct sockaddr_in addr;
  uint64_t t0, connect_done, measure_from, measure_to, stop_at;
  uint64_t sent_total, sent_measured, delivered, errors, echoes;
  uint64_t *hist;
  uint64_t max_ns;
  uv_timer_t tick;
  double server_cpu0, server_cpu1;
  int cpu0_taken, cpu1_taken;
} g;
static void on_connect(uv_connect_t *r, int status);
static void start_next(void);

static uint64_t now_ns(void) { return uv_hrtime(); }

static void record(uint64_t lat_ns) {
  uint64_t b = lat_ns / 1000 / BUCKET_US;
  g.hist[b < BUCKETS ? b : BUCKETS - 1]++;
  if (lat_ns > g.max_ns) g.max_ns = lat_ns;
}

static double percentile(double p) {
  uint64_t total = 0, seen = 0;
  for (int i = 0; i < BUCKETS; i++) total += g.hist[i];
  if (!total) return 0;
  uint64_t want = (uint64_t)(p * (double)total);
  for (int i = 0; i < BUCKETS; i++) {
    seen += g.hist[i];
    if (seen > want) return (i + 1) * BUCKET_US / 1000.0;
  }
  return BUCKETS * BUCKET_US / 1000.0;
}

static void on_written(uv_write_t *w, int status) {
  if (status) g.errors++;
  free(w);
}

/* Writes one masked text frame (header, mask, payload in one buffer). */
static void send_text(conn *c, const char *text, size_t len) {
  uv_write_t *w = malloc(sizeof *w + len + 14);
  unsigned char *f = (unsigned char *)(w + 1);
  size_t h = 0;
  f[h++] = 0x81;
  if (len < 126) {
    f[h++] = (unsigned char)(0x80 | len);
  } else {
    f[h++] = 0x80 | 126;
    f[h++] = (unsigned char)(len >> 8);
    f[h++] = (unsigned char)len;
  }
  static const unsigned char mask[4] = {1, 2, 3, 4};
  memcpy(f + h, mask, 4);
  h += 4;
  for (size_t i = 0; i < len; i++) f[h + i] = (unsigned char)text[i] ^ mask[i & 3];
  uv_buf_t b = uv_buf_init((char *)f, (unsigned)(h + len));
  if (uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, on_written)) {
    g.errors++;
    free(w);
  }
}

static void send_stamped(conn *c, const char *action) {
  char m[160];
  uint64_t t = now_ns();
  int n = snprintf(m, sizeof m, "{\"action\":\"%s\",\"payload\":{\"message\":\"%llu\"}}",
                   action, (unsigned long long)t);
  send_text(c, m, (size_t)n);
  c->echo_sent = t;
  g.sent_total++;
  if (t >= g.measure_from && t < g.measure_to) g.sent_measured++;
}

static void on_text(conn *c, const unsigned char *p, size_t n) {
  /* "💬 " is F0 9F 92 AC 20 in UTF-8; the echo reply has the bare stamp. */
  const unsigned char *s = NULL;
  for (size_t i = 0; i + 5 < n && !s; i++)
    if (p[i] == 0xF0 && p[i + 1] == 0x9F && p[i + 2] == 0x92 && p[i + 3] == 0xAC)
      s = p + i + 5;
  if (!s && g.echo) {
    const char *q = memmem(p, n, "\"message\":\"", 11);
    if (q) s = (const unsigned char *)q + 11;
  }
  if (!s) return;
  uint64_t t = strtoull((const char *)s, NULL, 10), now = now_ns();
  if (t < g.measure_from || t >= g.measure_to) {
    if (g.echo && now < g.stop_at) send_stamped(c, "echo");
    return;
  }
  g.delivered++;
  record(now - t);
  if (g.echo) {
    g.echoes++;
    if (now < g.stop_at) send_stamped(c, "echo");
  }
}

static void alloc_cb(uv_handle_t *h, size_t sz, uv_buf_t *b) {
  conn *c = h->data;
  (void)sz;
  b->base = (char *)c->buf + c->len;
  b->len = (unsigned)(262144 - c->len);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b) {
  conn *c = s->data;
  (void)b;
  if (nread < 0) {
    if (c->open) g.errors++;
    c->open = 0;
    uv_read_stop(s);
    return;
  }
  c->len += (size_t)nread;
  size_t off = 0;
  if (!c->open) { /* the handshake response */
    unsigned char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (!end) return;
    if (memcmp(c->buf, "HTTP/1.1 101", 12) != 0) {
      g.failed++;
      uv_read_stop(s);
      start_next();
      return;
    }
    c->open = 1;
    g.opened++;
    start_next();
    off = (size_t)(end + 4 - c->buf);
  }
  for (;;) {
    if (c->len - off < 2) break;
    unsigned char *f = c->buf + off;
    size_t plen = f[1] & 0x7f, h = 2;
    if (plen == 126) {
      if (c->len - off < 4) break;
      plen = ((size_t)f[2] << 8) | f[3];
      h = 4;
    } else if (plen == 127) {
      if (c->len - off < 10) break;
      plen = 0;
      for (int i = 0; i < 8; i++) plen = (plen << 8) | f[2 + i];
      h = 10;
    }
    if (c->len - off < h + plen) break;
    if ((f[0] & 0x0f) == 1) on_text(c, f + h, plen);
    else if ((f[0] & 0x0f) == 8) c->open = 0;
    off += h + plen;
  }
  memmove(c->buf, c->buf + off, c->len - off);
  c->len -= off;
}


/* Starts the next connection, keeping at most --connect-batch handshakes
 * in flight (servers with a small accept backlog drop bursts). */
static void start_next(void) {
  if (g.next_connect >= g.conns) return;
  conn *c = &g.c[g.next_connect++];
  uv_tcp_connect(&c->creq, &c->tcp, (struct sockaddr *)&g.addr, on_connect);
}

static void on_connect(uv_connect_t *r, int status) {
  conn *c = r->data;
  if (status) {
    g.failed++;
    start_next();
    return;
  }
  char req[512];
  int n = snprintf(req, sizeof req,
                   "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n", g.path);
  uv_write_t *w = malloc(sizeof *w + (size_t)n);
  memcpy(w + 1, req, (size_t)n);
  uv_buf_t b = uv_buf_init((char *)(w + 1), (unsigned)n);
  uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, on_written);
  uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read);
}

static double server_cpu_s(void) {
  if (!g.server_pid) return 0;
  char p[64], line[1024];
  snprintf(p, sizeof p, "/proc/%d/stat", g.server_pid);
  FILE *f = fopen(p, "r");
  if (!f) return 0;
  unsigned long ut = 0, st = 0;
  if (fgets(line, sizeof line, f)) {
    char *q = strrchr(line, ')');
    if (q) sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
  }
  fclose(f);
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static long server_rss_kb(void) {
  if (!g.server_pid) return 0;
  char p[64], line[256];
  long kb = 0;
  snprintf(p, sizeof p, "/proc/%d/status", g.server_pid);
  FILE *f = fopen(p, "r");
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld", &kb) == 1) break;
  if (f) fclose(f);
  return kb;
}

static void report(void) {
  double secs = (double)(g.measure_to - g.measure_from) / 1e9;
  uint64_t expected = g.echo ? g.sent_measured : g.sent_measured * (uint64_t)g.opened;
  printf("{\"mode\":\"%s\",\"conns\":%d,\"open\":%d,\"senders\":%d,\"rate\":%.0f,"
         "\"seconds\":%.1f,\"sent\":%llu,\"expected\":%llu,\"delivered\":%llu,"
         "\"delivered_ratio\":%.4f,\"deliveries_per_s\":%.0f,\"p50_ms\":%.2f,"
         "\"p90_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f,\"connect_s\":%.3f,"
         "\"errors\":%llu,\"failed_connects\":%d,\"server_cpu\":%.2f,"
         "\"server_rss_kb\":%ld}\n",
         g.echo ? "echo" : "broadcast", g.conns, g.opened, g.senders, g.rate, secs,
         (unsigned long long)g.sent_measured, (unsigned long long)expected,
         (unsigned long long)g.delivered,
         expected ? (double)g.delivered / (double)expected : 0.0,
         (double)g.delivered / secs, percentile(0.5), percentile(0.9),
         percentile(0.99), (double)g.max_ns / 1e6,
         (double)(g.connect_done - g.t0) / 1e9, (unsigned long long)g.errors,
         g.failed, (g.server_cpu1 - g.server_cpu0) / secs, server_rss_kb());
}

static uint64_t sender_due; /* messages due so far */

static void on_tick(uv_timer_t *t) {
  uint64_t now = now_ns();
  if (!g.connect_done) {
    if (g.opened + g.failed < g.conns && now - g.t0 < 60000000000ULL) return;
    g.connect_done = now;
    g.measure_from = now + (uint64_t)(g.warmup * 1e9);
    g.measure_to = g.measure_from + (uint64_t)(g.seconds * 1e9);
    g.stop_at = g.measure_to;
    if (g.echo)
      for (int i = 0; i < g.conns; i++)
        if (g.c[i].open) send_stamped(&g.c[i], "echo");
    return;
  }
  /* The server's CPU time over exactly the measured window. */
  if (!g.cpu0_taken && now >= g.measure_from) {
    g.server_cpu0 = server_cpu_s();
    g.cpu0_taken = 1;
  }
  if (!g.cpu1_taken && now >= g.measure_to) {
    g.server_cpu1 = server_cpu_s();
    g.cpu1_taken = 1;
  }
  if (!g.echo && now < g.stop_at) {
    uint64_t due = (uint64_t)((double)(now - g.connect_done) / 1e9 * g.rate);
    while (sender_due < due) {
      conn *c = &g.c[sender_due % (uint64_t)g.senders];
      if (c->open) send_stamped(c, "chat");
      sender_due++;
    }
  }
  if (now >= g.stop_at + 2000000000ULL) { /* 2 s to drain */
    report();
    uv_timer_stop(t);
    uv_stop(g.loop);
  }
}

int main(int argc, char **argv) {
  g.conns = 100;
  g.senders = 1;
  g.rate = 1000;
  g.seconds = 5;
  g.warmup = 1;
  g.path = "/ws/chat";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "0";
    if (!strcmp(a, "--port")) g.port = atoi(v), i++;
    else if (!strcmp(a, "--path")) g.path = v, i++;
    else if (!strcmp(a, "--conns")) g.conns = atoi(v), i++;
    else if (!strcmp(a, "--senders")) g.senders = atoi(v), i++;
    else if (!strcmp(a, "--rate")) g.rate = atof(v), i++;
    else if (!strcmp(a, "--seconds")) g.seconds = atof(v), i++;
    else if (!strcmp(a, "--warmup")) g.warmup = atof(v), i++;
    else if (!strcmp(a, "--server-pid")) g.server_pid = atoi(v), i++;
    else if (!strcmp(a, "--echo")) g.echo = 1;
    else if (!strcmp(a, "--connect-batch")) g.batch = atoi(v), i++;
    else {
      fprintf(stderr, "wsload: unknown option %s\n", a);
      return 2;
    }
  }
  if (!g.port || g.conns < 1 || g.senders < 1 || g.senders > g.conns ||
      g.seconds <= 0 || g.seconds > 120) {
    fprintf(stderr, "wsload: need --port, 1 <= senders <= conns, 0 < seconds <= 120\n");
    return 2;
  }
  g.loop = uv_default_loop();
  g.hist = calloc(BUCKETS, sizeof *g.hist);
  g.c = calloc((size_t)g.conns, sizeof *g.c);
  uv_ip4_addr("127.0.0.1", g.port, &g.addr); /* loopback only */
  g.t0 = now_ns();
  for (int i = 0; i < g.conns; i++) {
    conn *c = &g.c[i];
    c->id = i;
    c->buf = malloc(262144);
    uv_tcp_init(g.loop, &c->tcp);
    uv_tcp_nodelay(&c->tcp, 1);
    c->tcp.data = c->creq.data = c;
  }
  if (g.batch <= 0 || g.batch > g.conns) g.batch = g.conns;
  for (int i = 0; i < g.batch; i++) start_next();
  uv_timer_init(g.loop, &g.tick);
  uv_timer_start(&g.tick, on_tick, 1, 1);
  uv_run(g.loop, UV_RUN_DEFAULT);
  return g.failed ? 1 : 0;
}
