/* wsload: a WebSocket broadcast load generator (loopback only).
 *
 *   wsload --port P[,P2...] [--path /ws/chat] [--conns N] [--senders S]
 *          [--rate R] [--seconds D] [--warmup W] [--server-pid PID[,PID2...]]
 *          [--echo] [--connect-batch B] [--threads T] [--drain 2]
 *          [--busy-poll] [--connect-seconds 120]
 *
 * Opens N connections (spread over the ports given, and over the source
 * addresses 127.0.0.1, .2, ... when N exceeds one address's ephemeral
 * ports); S of them send {"action":"chat","payload":{"message":"<send time
 * ns>"}} at R messages per second in total; every frame received whose text
 * holds "💬 <time>" counts as one delivery, with its latency. In --echo mode
 * each connection sends {"action":"echo",...} and waits for the reply (closed
 * loop). After the measured D seconds it waits for late deliveries until
 * every one is in, or for at most --drain seconds. --connect-batch keeps at
 * most B handshakes in flight per thread; the connect phase ends when every
 * connection is open or failed, or after --connect-seconds. Pings are answered, as browsers do, so the server's idle
 * timeout does not close connections while a slow connect phase lasts.
 * --threads defaults to the CPUs this process may run on (taskset): each
 * thread has its own loop and a share of the connections and senders.
 * Latency is reported twice: when wsload read the frame (p50_ms ...), and
 * when the frame reached the client's socket (arrival_p50_ms ...), from the
 * kernel's receive timestamp (SO_TIMESTAMPNS) of the newest segment in the
 * read, so a frame is never counted as arriving earlier than it did. The
 * second leaves out the time the frame waited for this process, which on a
 * saturated load core is most of the first.
 * --busy-poll: each thread polls its sockets without ever sleeping, for a
 * load generator that has cores of its own (taskset). On loopback the
 * client's receive path runs on the server's core, waking a sleeping client
 * included; a client that never sleeps takes that part off the server, as
 * clients on other machines would, and reads each frame as it arrives.
 * Prints one JSON line; the servers' CPU and RSS come from /proc. Every run is
 * bounded in time. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

/* Latency buckets: 20 us wide up to 10 s, then 10 ms wide up to 130 s
 * (a slow peer's broadcast to thousands), and one for anything later. */
#define FINE_US 20
#define FINE 500000
#define COARSE_US 10000
#define COARSE 12000
#define BUCKETS (FINE + COARSE + 1)
#define READ_BUF 262144
#define MAX_PORTS 8
#define CONNS_PER_SOURCE 20000 /* well inside one address's ephemeral ports */

struct worker;

typedef struct conn {
  uv_poll_t poll;
  int fd, connected; /* connected: the TCP connect finished */
  struct worker *w;
  int id, open; /* open: 0 handshaking, 1 open, -1 done */
  unsigned char *buf; /* bytes read and not yet parsed */
  size_t len;
  char *out; /* bytes the socket did not take yet */
  size_t out_len;
} conn;

typedef struct {
  uint64_t *hist, max_ns;
} latency;

typedef struct worker {
  uv_loop_t loop;
  uv_thread_t thread;
  uv_timer_t tick;
  conn *c;
  int n, next_connect, in_flight;
  int senders;
  double rate; /* this worker's share */
  uint64_t sender_due, sent_total, sent_measured, delivered, errors;
  latency read, arrival;
  int stopped; /* for --busy-poll, which never blocks in uv_run */
  /* Published at each tick for worker 0, which ends the drain once every
   * measured message has reached every client. */
  _Atomic uint64_t seen_sent, seen_delivered;
  _Atomic int seen_final; /* a tick at or past the end of sending */
} worker;

static struct {
  int ports[MAX_PORTS], nports, pids[MAX_PORTS], npids;
  int conns, senders, echo, batch, threads, busy_poll;
  double rate, seconds, warmup, drain, connect_seconds;
  const char *path;
  worker *w;
  uint64_t t0, measure_from, measure_to, stop_at;
  _Atomic int opened, failed;
  _Atomic uint64_t connect_done; /* 0 until every connection is settled */
  _Atomic int all_in; /* every expected delivery has arrived */
  double cpu0, cpu1;
  long rss_connected_kb;
  int64_t realtime_minus_mono; /* kernel timestamps are CLOCK_REALTIME */
} g;

static uint64_t now_ns(void) { return uv_hrtime(); }

static int64_t clock_ns(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void record(latency *l, uint64_t lat_ns) {
  uint64_t us = lat_ns / 1000, b = us / FINE_US;
  if (b >= FINE) b = FINE + (us - (uint64_t)FINE * FINE_US) / COARSE_US;
  l->hist[b < BUCKETS ? b : BUCKETS - 1]++;
  if (lat_ns > l->max_ns) l->max_ns = lat_ns;
}

/* The upper edge of bucket i, in ms. */
static double bucket_edge_ms(int i) {
  uint64_t us = i < FINE ? (uint64_t)(i + 1) * FINE_US
                         : (uint64_t)FINE * FINE_US + (uint64_t)(i - FINE + 1) * COARSE_US;
  return (double)us / 1000.0;
}

/* The upper edge of the bucket the percentile falls in, never above the
 * largest latency seen (which is all the open-ended last bucket tells). */
static double percentile(const latency *l, double p) {
  uint64_t total = 0, seen = 0;
  double max_ms = (double)l->max_ns / 1e6;
  for (int i = 0; i < BUCKETS; i++) total += l->hist[i];
  if (!total) return 0;
  uint64_t want = (uint64_t)(p * (double)total);
  for (int i = 0; i < BUCKETS - 1; i++) {
    seen += l->hist[i];
    if (seen > want) {
      double edge = bucket_edge_ms(i);
      return edge < max_ms ? edge : max_ms;
    }
  }
  return max_ms;
}

static void on_poll(uv_poll_t *p, int status, int events);

static void watch(conn *c) {
  if (c->open < 0) return;
  int events = UV_READABLE;
  if (c->out_len || !c->connected) events |= UV_WRITABLE; /* writable: connected */
  uv_poll_start(&c->poll, events, on_poll);
}

/* Sends what the socket takes now and keeps the rest for when it is writable. */
static void write_bytes(conn *c, const void *p, size_t n) {
  if (c->open < 0) return;
  const char *b = p;
  if (!c->out_len) {
    ssize_t k = send(c->fd, b, n, MSG_NOSIGNAL);
    if (k < 0 && errno != EAGAIN) {
      c->w->errors++;
      return;
    }
    if (k > 0) b += k, n -= (size_t)k;
    if (!n) return;
  }
  c->out = realloc(c->out, c->out_len + n);
  memcpy(c->out + c->out_len, b, n);
  c->out_len += n;
  watch(c);
}

static void flush_out(conn *c) {
  ssize_t k = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
  if (k < 0) {
    if (errno != EAGAIN) c->w->errors++, c->out_len = 0;
  } else {
    memmove(c->out, c->out + k, c->out_len - (size_t)k);
    c->out_len -= (size_t)k;
  }
  if (!c->out_len) watch(c);
}

/* Writes one masked frame of `opcode` (FIN set). */
static void send_frame(conn *c, unsigned char opcode, const void *data, size_t len) {
  unsigned char f[256];
  const unsigned char *d = data;
  size_t h = 0;
  if (len + 8 > sizeof f) return;
  f[h++] = (unsigned char)(0x80 | opcode);
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
  for (size_t i = 0; i < len; i++) f[h + i] = d[i] ^ mask[i & 3];
  write_bytes(c, f, h + len);
}

static void send_stamped(conn *c, const char *action) {
  char m[160];
  uint64_t t = now_ns();
  int n = snprintf(m, sizeof m, "{\"action\":\"%s\",\"payload\":{\"message\":\"%llu\"}}",
                   action, (unsigned long long)t);
  send_frame(c, 0x1, m, (size_t)n);
  c->w->sent_total++;
  if (t >= g.measure_from && t < g.measure_to) c->w->sent_measured++;
}

/* Where needle starts in p[0..n), or NULL. glibc's memmem and strtoull took a
 * third of this process's time at 9 M frames/s (perf); with a memchr for the
 * needle's first byte and a digit loop its user time halved, and the time
 * this process takes to read a frame is part of the latency it reports. */
static const unsigned char *find(const unsigned char *p, size_t n, const char *needle, size_t k) {
  const unsigned char *end = p + n;
  for (; (size_t)(end - p) >= k && (p = memchr(p, needle[0], (size_t)(end - p) - k + 1)); p++)
    if (!memcmp(p, needle, k)) return p;
  return NULL;
}

static uint64_t parse_digits(const unsigned char *s, const unsigned char *end) {
  uint64_t v = 0;
  for (; s < end && *s >= '0' && *s <= '9'; s++) v = v * 10 + (uint64_t)(*s - '0');
  return v;
}

/* A frame's text; `read_at` and `arrived`: when the read that brought it
 * returned, and when its newest segment reached the socket. */
static void on_text(conn *c, const unsigned char *p, size_t n, uint64_t read_at, uint64_t arrived) {
  /* "💬 " is F0 9F 92 AC 20 in UTF-8; the echo reply has the bare stamp. */
  const unsigned char *s = find(p, n, "\xF0\x9F\x92\xAC ", 5);
  if (s) s += 5;
  else if (g.echo && (s = find(p, n, "\"message\":\"", 11))) s += 11;
  if (!s || !atomic_load(&g.connect_done)) return; /* join notices, before the run */
  uint64_t t = parse_digits(s, p + n);
  int measured = t >= g.measure_from && t < g.measure_to;
  if (measured) {
    c->w->delivered++;
    record(&c->w->read, read_at > t ? read_at - t : 0);
    record(&c->w->arrival, arrived > t ? arrived - t : 0);
  }
  if (g.echo && read_at < g.stop_at) send_stamped(c, "echo");
}

static void start_next(worker *w);

static void settle(worker *w, int ok) {
  atomic_fetch_add(ok ? &g.opened : &g.failed, 1);
  w->in_flight--;
  start_next(w);
}

static void fail(conn *c) {
  if (c->open == 1) c->w->errors++;
  else if (c->open == 0) settle(c->w, 0);
  c->open = -1;
  uv_poll_stop(&c->poll);
}

/* One read, when it returned, and the kernel's receive time of its newest
 * segment. */
static ssize_t read_stamped(conn *c, uint64_t *read_at, uint64_t *arrived) {
  struct iovec iov = {c->buf + c->len, READ_BUF - c->len};
  char control[CMSG_SPACE(sizeof(struct timespec))];
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                     .msg_controllen = sizeof control};
  ssize_t n = recvmsg(c->fd, &m, 0);
  *read_at = *arrived = now_ns();
  for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); n > 0 && h; h = CMSG_NXTHDR(&m, h))
    if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_TIMESTAMPNS) {
      struct timespec ts;
      memcpy(&ts, CMSG_DATA(h), sizeof ts);
      int64_t mono = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - g.realtime_minus_mono;
      if (mono > 0 && (uint64_t)mono < *arrived) *arrived = (uint64_t)mono;
    }
  return n;
}

static void on_readable(conn *c) {
  uint64_t read_at, arrived;
  ssize_t nread = read_stamped(c, &read_at, &arrived);
  if (nread <= 0) {
    if (nread == 0 || errno != EAGAIN) fail(c);
    return;
  }
  c->len += (size_t)nread;
  size_t off = 0;
  if (!c->open) { /* the handshake response */
    unsigned char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (!end) return;
    if (memcmp(c->buf, "HTTP/1.1 101", 12) != 0) {
      fail(c);
      return;
    }
    c->open = 1;
    settle(c->w, 1);
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
    if ((f[0] & 0x0f) == 8) { /* the server closed: an error in a bounded run */
      fail(c);
      return;
    }
    if ((f[0] & 0x0f) == 1) on_text(c, f + h, plen, read_at, arrived);
    if ((f[0] & 0x0f) == 9) send_frame(c, 0xA, f + h, plen); /* pong */
    off += h + plen;
  }
  memmove(c->buf, c->buf + off, c->len - off);
  c->len -= off;
}

/* The connect finished: sends the upgrade request. */
static void on_connected(conn *c) {
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
  c->connected = 1;
  if (err) {
    fail(c);
    return;
  }
  char req[512];
  int n = snprintf(req, sizeof req,
                   "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n", g.path);
  watch(c);
  write_bytes(c, req, (size_t)n);
}

static void on_poll(uv_poll_t *p, int status, int events) {
  conn *c = p->data;
  if (status < 0) {
    fail(c);
    return;
  }
  if (!c->connected) {
    on_connected(c);
    return;
  }
  if ((events & UV_WRITABLE) && c->out_len) flush_out(c);
  if ((events & UV_READABLE) && c->open >= 0) on_readable(c);
}

/* A non-blocking socket connecting to connection i's port, from its source
 * address, with receive timestamps on; -1 if that failed at once. */
static int open_socket(const conn *c) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
  if (fd < 0) return -1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g.ports[c->id % g.nports]),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int source = c->id / CONNS_PER_SOURCE;
  if (source) {
    struct sockaddr_in from = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK + (uint32_t)source)};
    bind(fd, (struct sockaddr *)&from, sizeof from);
  }
  if (connect(fd, (struct sockaddr *)&to, sizeof to) && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Starts connections until --connect-batch handshakes are in flight (servers
 * with a small accept backlog drop bursts). Connection i goes to port
 * i % nports from source address 127.0.0.(1 + i / CONNS_PER_SOURCE). */
static void start_next(worker *w) {
  while (w->next_connect < w->n && w->in_flight < g.batch) {
    conn *c = &w->c[w->next_connect++];
    c->fd = open_socket(c);
    if (c->fd < 0 || uv_poll_init_socket(&w->loop, &c->poll, c->fd)) {
      c->open = -1;
      atomic_fetch_add(&g.failed, 1);
      continue;
    }
    c->poll.data = c;
    c->buf = malloc(READ_BUF);
    w->in_flight++;
    watch(c);
  }
}

static double servers_cpu_s(void) {
  double s = 0;
  for (int i = 0; i < g.npids; i++) {
    char p[64], line[1024];
    snprintf(p, sizeof p, "/proc/%d/stat", g.pids[i]);
    FILE *f = fopen(p, "r");
    if (!f) continue;
    unsigned long ut = 0, st = 0;
    if (fgets(line, sizeof line, f)) {
      char *q = strrchr(line, ')');
      if (q) sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
    }
    fclose(f);
    s += (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
  }
  return s;
}

static long servers_rss_kb(void) {
  long total = 0;
  for (int i = 0; i < g.npids; i++) {
    char p[64], line[256];
    long kb = 0;
    snprintf(p, sizeof p, "/proc/%d/status", g.pids[i]);
    FILE *f = fopen(p, "r");
    while (f && fgets(line, sizeof line, f))
      if (sscanf(line, "VmRSS: %ld", &kb) == 1) break;
    if (f) fclose(f);
    total += kb;
  }
  return total;
}

/* Deliveries the measured sends call for: one reply each, or one per client. */
static uint64_t expected_of(uint64_t sent) {
  return g.echo ? sent : sent * (uint64_t)atomic_load(&g.opened);
}

/* After sending: whether every worker has sent its last and all is in. */
static int all_delivered(void) {
  uint64_t sent = 0, delivered = 0;
  for (int t = 0; t < g.threads; t++) {
    if (!atomic_load(&g.w[t].seen_final)) return 0;
    sent += atomic_load(&g.w[t].seen_sent);
    delivered += atomic_load(&g.w[t].seen_delivered);
  }
  return delivered >= expected_of(sent);
}

/* Worker 0 decides when the connect phase is over, samples the servers, and
 * ends the drain early once nothing more is due. */
static void coordinate(uint64_t now) {
  if (!atomic_load(&g.connect_done)) {
    int settled = atomic_load(&g.opened) + atomic_load(&g.failed);
    if (settled < g.conns && now - g.t0 < (uint64_t)(g.connect_seconds * 1e9)) return;
    g.rss_connected_kb = servers_rss_kb();
    g.measure_from = now + (uint64_t)(g.warmup * 1e9);
    g.measure_to = g.measure_from + (uint64_t)(g.seconds * 1e9);
    g.stop_at = g.measure_to;
    g.cpu0 = g.cpu1 = -1;
    atomic_store(&g.connect_done, now); /* publishes the times above */
    return;
  }
  if (g.cpu0 < 0 && now >= g.measure_from) g.cpu0 = servers_cpu_s();
  if (g.cpu1 < 0 && now >= g.measure_to) g.cpu1 = servers_cpu_s();
  if (now >= g.stop_at && !atomic_load(&g.all_in) && all_delivered()) atomic_store(&g.all_in, 1);
}

static void on_tick(uv_timer_t *t) {
  worker *w = t->data;
  uint64_t now = now_ns();
  if (w == &g.w[0]) coordinate(now);
  uint64_t done = atomic_load(&g.connect_done);
  if (!done) return;
  if (w->sender_due == 0 && g.echo) {
    w->sender_due = 1; /* each connection starts its loop once */
    for (int i = 0; i < w->n; i++)
      if (w->c[i].open == 1) send_stamped(&w->c[i], "echo");
  }
  if (!g.echo && w->senders && now < g.stop_at) {
    uint64_t due = (uint64_t)((double)(now - done) / 1e9 * w->rate);
    for (; w->sender_due < due; w->sender_due++) {
      conn *c = &w->c[w->sender_due % (uint64_t)w->senders];
      if (c->open == 1) send_stamped(c, "chat");
    }
  }
  atomic_store(&w->seen_sent, w->sent_measured);
  atomic_store(&w->seen_delivered, w->delivered);
  if (now >= g.stop_at) atomic_store(&w->seen_final, 1);
  /* Late deliveries still count, until all are in or the drain ends. */
  if (atomic_load(&g.all_in) || now >= g.stop_at + (uint64_t)(g.drain * 1e9)) {
    uv_timer_stop(t);
    uv_stop(&w->loop);
    w->stopped = 1;
  }
}

static void run_worker(void *arg) {
  worker *w = arg;
  for (int i = 0; i < g.batch && i < w->n; i++) start_next(w);
  if (g.busy_poll)
    while (!w->stopped) uv_run(&w->loop, UV_RUN_NOWAIT);
  else
    uv_run(&w->loop, UV_RUN_DEFAULT);
}

static void merge(latency *into, const latency *l) {
  if (l->max_ns > into->max_ns) into->max_ns = l->max_ns;
  for (int i = 0; i < BUCKETS; i++) into->hist[i] += l->hist[i];
}

/* ,"<prefix>p50_ms":..,"<prefix>p90_ms":..,"<prefix>p99_ms":..,"<prefix>max_ms":.. */
static void print_latency(const char *prefix, const latency *l) {
  printf(",\"%sp50_ms\":%.2f,\"%sp90_ms\":%.2f,\"%sp99_ms\":%.2f,\"%smax_ms\":%.2f", prefix,
         percentile(l, 0.5), prefix, percentile(l, 0.9), prefix,
         percentile(l, 0.99), prefix, (double)l->max_ns / 1e6);
}

static void report(void) {
  uint64_t sent = 0, sent_total = 0, delivered = 0, errors = 0;
  latency read = {calloc(BUCKETS, sizeof(uint64_t)), 0};
  latency arrival = {calloc(BUCKETS, sizeof(uint64_t)), 0};
  for (int t = 0; t < g.threads; t++) {
    worker *w = &g.w[t];
    sent += w->sent_measured;
    sent_total += w->sent_total;
    delivered += w->delivered;
    errors += w->errors;
    merge(&read, &w->read);
    merge(&arrival, &w->arrival);
  }
  double secs = (double)(g.measure_to - g.measure_from) / 1e9;
  int opened = atomic_load(&g.opened);
  uint64_t expected = expected_of(sent);
  double connect_s = (double)(atomic_load(&g.connect_done) - g.t0) / 1e9;
  printf("{\"mode\":\"%s\",\"conns\":%d,\"open\":%d,\"senders\":%d,\"rate\":%.0f,"
         "\"threads\":%d,\"seconds\":%.1f,\"sent_total\":%llu,\"sent\":%llu,\"expected\":%llu,\"delivered\":%llu,"
         "\"delivered_ratio\":%.4f,\"deliveries_per_s\":%.0f",
         g.echo ? "echo" : "broadcast", g.conns, opened, g.senders, g.rate, g.threads, secs,
         (unsigned long long)sent_total, (unsigned long long)sent, (unsigned long long)expected,
         (unsigned long long)delivered, expected ? (double)delivered / (double)expected : 0.0,
         (double)delivered / secs);
  print_latency("", &read);
  print_latency("arrival_", &arrival);
  printf(",\"connect_s\":%.3f,\"connects_per_s\":%.0f,\"errors\":%llu,\"failed_connects\":%d,"
         "\"server_cpu\":%.2f,\"server_rss_connected_kb\":%ld,\"server_rss_kb\":%ld}\n",
         connect_s, connect_s > 0 ? opened / connect_s : 0.0, (unsigned long long)errors,
         atomic_load(&g.failed), (g.cpu1 - g.cpu0) / secs, g.rss_connected_kb, servers_rss_kb());
  free(read.hist);
  free(arrival.hist);
}

static int parse_list(const char *s, int *out, int max) {
  int n = 0;
  while (*s && n < max) {
    out[n++] = atoi(s);
    const char *comma = strchr(s, ',');
    if (!comma) break;
    s = comma + 1;
  }
  return n;
}

static int cpus_allowed(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set)) return 1;
  return CPU_COUNT(&set) > 0 ? CPU_COUNT(&set) : 1;
}

int main(int argc, char **argv) {
  g.conns = 100;
  g.senders = 1;
  g.rate = 1000;
  g.seconds = 5;
  g.warmup = 1;
  g.drain = 2;
  g.connect_seconds = 120;
  g.path = "/ws/chat";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "0";
    if (!strcmp(a, "--port")) g.nports = parse_list(v, g.ports, MAX_PORTS), i++;
    else if (!strcmp(a, "--path")) g.path = v, i++;
    else if (!strcmp(a, "--conns")) g.conns = atoi(v), i++;
    else if (!strcmp(a, "--senders")) g.senders = atoi(v), i++;
    else if (!strcmp(a, "--rate")) g.rate = atof(v), i++;
    else if (!strcmp(a, "--seconds")) g.seconds = atof(v), i++;
    else if (!strcmp(a, "--warmup")) g.warmup = atof(v), i++;
    else if (!strcmp(a, "--drain")) g.drain = atof(v), i++;
    else if (!strcmp(a, "--server-pid")) g.npids = parse_list(v, g.pids, MAX_PORTS), i++;
    else if (!strcmp(a, "--echo")) g.echo = 1;
    else if (!strcmp(a, "--connect-batch")) g.batch = atoi(v), i++;
    else if (!strcmp(a, "--connect-seconds")) g.connect_seconds = atof(v), i++;
    else if (!strcmp(a, "--threads")) g.threads = atoi(v), i++;
    else if (!strcmp(a, "--busy-poll")) g.busy_poll = 1;
    else {
      fprintf(stderr, "wsload: unknown option %s\n", a);
      return 2;
    }
  }
  if (!g.nports || g.conns < 1 || g.senders < 1 || g.senders > g.conns || g.seconds <= 0 ||
      g.seconds > 120 || g.conns > 250 * CONNS_PER_SOURCE || g.connect_seconds <= 0 ||
      g.connect_seconds > 3600 || g.drain < 0 || g.drain > 600) {
    fprintf(stderr, "wsload: need --port, 1 <= senders <= conns, 0 < seconds <= 120, "
                    "0 < connect-seconds <= 3600, 0 <= drain <= 600\n");
    return 2;
  }
  for (int i = 0; i < g.nports; i++)
    if (g.ports[i] <= 0 || g.ports[i] > 65535) {
      fprintf(stderr, "wsload: bad port\n");
      return 2;
    }
  if (g.threads <= 0) g.threads = cpus_allowed();
  if (g.threads > g.conns) g.threads = g.conns;
  if (g.batch <= 0) g.batch = g.conns;
  conn *all = calloc((size_t)g.conns, sizeof *all);
  g.w = calloc((size_t)g.threads, sizeof *g.w);
  /* Connections are dealt out in contiguous slices; senders are the first
   * connections of each slice, so every thread has its share of both. */
  for (int t = 0, at = 0; t < g.threads; t++) {
    worker *w = &g.w[t];
    w->n = g.conns / g.threads + (t < g.conns % g.threads);
    w->c = all + at;
    w->senders = g.senders / g.threads + (t < g.senders % g.threads);
    if (w->senders > w->n) w->senders = w->n;
    w->rate = g.rate * w->senders / g.senders;
    w->read.hist = calloc(BUCKETS, sizeof(uint64_t));
    w->arrival.hist = calloc(BUCKETS, sizeof(uint64_t));
    for (int i = 0; i < w->n; i++) {
      w->c[i].w = w;
      w->c[i].id = at + i;
    }
    at += w->n;
    uv_loop_init(&w->loop);
    uv_timer_init(&w->loop, &w->tick);
    w->tick.data = w;
    uv_timer_start(&w->tick, on_tick, 1, 1);
  }
  g.t0 = now_ns();
  g.realtime_minus_mono = clock_ns(CLOCK_REALTIME) - (int64_t)now_ns();
  for (int t = 0; t < g.threads; t++) uv_thread_create(&g.w[t].thread, run_worker, &g.w[t]);
  for (int t = 0; t < g.threads; t++) uv_thread_join(&g.w[t].thread);
  report();
  return atomic_load(&g.failed) ? 1 : 0;
}
