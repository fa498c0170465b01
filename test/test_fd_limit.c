/* A server process at its open-file limit (RLIMIT_NOFILE, lowered for it
 * here): new clients are turned away with HTTP 503 at once, the clients it
 * holds are still served, it does not spin on the listening socket (lws 4.1
 * retries a failed accept on every loop turn, logging each), and once some
 * clients leave it accepts again. And a server whose descriptors were taken
 * by the rest of its program (so that accepting fails outright) rests its
 * listener instead of spinning, and serves the waiting client once
 * descriptors are free again. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <uv.h>

#include "helpers/check.h"
#include "helpers/log_capture.h"
#include "helpers/process.h"
#include "helpers/server_thread.h"
#include "helpers/ws_client.h"

#define LIMIT 160
#define MAX_CLIENTS 200

/* CPU seconds the process has used (user + system). */
static double cpu_seconds(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  CHECK(f);
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  unsigned long ut = 0, st = 0;
  const char *p = strrchr(buf, ')');
  CHECK(p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2);
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU seconds this process has used: no descriptor needed, unlike /proc. */
static double own_cpu_seconds(void) {
  struct rusage u;
  CHECK(getrusage(RUSAGE_SELF, &u) == 0);
  return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/* The program around the server opens files until none is left but one,
 * which a client's socket then takes: the server's accept fails (EMFILE). */
static void descriptors_taken_elsewhere(void) {
  struct rlimit mine, low;
  CHECK(getrlimit(RLIMIT_NOFILE, &mine) == 0);
  low = mine;
  low.rlim_cur = 256;
  CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
  wsc_set_default_logger(wst_log_capture, WSC_LOG_ERROR, NULL);
  wsc_consumer *c;
  CHECK_OK(wsc_consumer_new("chat", &c));
  wst_server *srv = wst_server_start(
      "{\"routes\":[{\"path\":\"/ws/chat\",\"consumer\":\"chat\"}]}", &c, 1);
  static int eaten[256];
  int n = 0, fd;
  while (n < 256 && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0) eaten[n++] = fd;
  CHECK(errno == EMFILE && n > 100);
  close(eaten[--n]);
  int client = wst_tcp_connect(wst_port(srv)); /* the last descriptor */
  CHECK(client >= 0);
  uv_sleep(200); /* the server has seen it, and failed to accept it */
  double before = own_cpu_seconds();
  uint64_t start = uv_hrtime();
  uv_sleep(1000);
  double busy = (own_cpu_seconds() - before) / ((double)(uv_hrtime() - start) / 1e9);
  printf("server CPU while it could not accept: %.0f%% of a core\n", busy * 100);
  fflush(stdout);
  CHECK(busy < 0.5); /* lws 4.1 alone retries on every loop turn */
  /* Said once, with the cause, rather than once per attempt. */
  CHECK_EQ(wst_log_count("cannot accept connections (Too many open files", NULL), 1);
  CHECK_EQ(wst_log_count("accept: errno", NULL), 0);
  for (int i = 0; i < 100; i++) close(eaten[--n]);
  static const char get[] = "GET /nothing HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  CHECK(write(client, get, sizeof get - 1) == (ssize_t)(sizeof get - 1));
  struct pollfd p = {client, POLLIN, 0};
  char answer[64] = "";
  CHECK(poll(&p, 1, 5000) == 1);
  CHECK(read(client, answer, sizeof answer - 1) > 0);
  CHECK_CONTAINS(answer, "HTTP/1.1 404");
  close(client);
  while (n) close(eaten[--n]);
  wst_server_stop(srv);
  CHECK(setrlimit(RLIMIT_NOFILE, &mine) == 0);
}

int main(int argc, char **argv) {
  CHECK(argc == 2);
  signal(SIGPIPE, SIG_IGN);
  /* The server inherits a low limit; this process keeps its own. */
  struct rlimit mine, low;
  CHECK(getrlimit(RLIMIT_NOFILE, &mine) == 0);
  low = mine;
  low.rlim_cur = LIMIT;
  CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
  char *args[] = {argv[1], "L",
                  "{\"layers\":{\"L\":{\"driver\":\"memory\"}},"
                  "\"routes\":[{\"path\":\"/ws/chat\",\"consumer\":\"chat\"}],"
                  "\"consumers\":{\"chat\":{\"layer\":\"L\",\"groups\":[\"lobby\"]}}}",
                  NULL};
  wst_proc p = wst_proc_start(args);
  CHECK(setrlimit(RLIMIT_NOFILE, &mine) == 0);

  static wst_client *held[MAX_CLIENTS];
  int n = 0, status = 0;
  wst_client *c;
  while (n < MAX_CLIENTS && (c = wst_connect(p.port, "/ws/chat", NULL, &status)))
    held[n++] = c;
  printf("held %d clients at an open-file limit of %d; the next got HTTP %d\n", n, LIMIT,
         status);
  fflush(stdout);
  CHECK(n > 20 && n < LIMIT);
  CHECK_EQ(status, 503);
  /* More knock while it is full: each is turned away at once. */
  double before = cpu_seconds(p.pid);
  uint64_t start = uv_hrtime();
  for (int i = 0; i < 20; i++) {
    status = 0;
    CHECK(wst_connect(p.port, "/ws/chat", NULL, &status) == NULL);
    CHECK_EQ(status, 503);
  }
  uv_sleep(1000);
  double busy = (cpu_seconds(p.pid) - before) / ((double)(uv_hrtime() - start) / 1e9);
  printf("server CPU while full: %.0f%% of a core\n", busy * 100);
  CHECK(busy < 0.5); /* a spinning accept loop takes all of it */
  /* Those it holds are served: a broadcast reaches every one. */
  wst_send_text(held[0], "{\"action\":\"say\",\"payload\":{\"text\":\"still here\"}}");
  for (int i = 0; i < n; i++) wst_expect(held[i], "{\"action\":\"said\",\"payload\":\"still here\"}");
  /* Some leave: new clients are taken again. */
  for (int i = 0; i < 10; i++) wst_close(held[--n], 1000);
  uv_sleep(300);
  wst_client *again = wst_open(p.port, "/ws/chat");
  wst_send_text(again, "{\"action\":\"whoami\"}");
  char *me = wst_recv(again, 5000);
  CHECK(me && strstr(me, "\"whoami\""));
  free(me);
  wst_close(again, 1000);
  for (int i = 0; i < n; i++) wst_close(held[i], 1000);
  wst_proc_stop(&p);
  descriptors_taken_elsewhere();
  printf("ok\n");
  return 0;
}
