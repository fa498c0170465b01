#include "redis_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

struct wst_redis {
  pid_t pid;
  int port;
  int persist;
  char dir[64];
  char url[64];
};

int wst_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) || getsockname(fd, (struct sockaddr *)&a, &len)) {
    perror("wst_free_port");
    abort();
  }
  close(fd);
  return ntohs(a.sin_port);
}

static void spawn(wst_redis *r) {
  char port[16], logfile[96];
  snprintf(port, sizeof port, "%d", r->port);
  snprintf(logfile, sizeof logfile, "%s/redis.log", r->dir);
  r->pid = fork();
  if (r->pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive an aborted test */
    const char *persist[] = {"--appendonly", "yes", "--appendfsync", "always"};
    const char *volatile_[] = {"--appendonly", "no", "--save", ""};
    const char **p = r->persist ? persist : volatile_;
    execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1",
           "--dir", r->dir, "--save", "", p[0], p[1], p[2], p[3],
           "--daemonize", "no", "--loglevel", "warning", "--logfile", logfile,
           (char *)NULL);
    fprintf(stderr, "cannot run redis-server: %s (install redis-server)\n",
            strerror(errno));
    _exit(127);
  }
  for (int i = 0; i < 500; i++) { /* up to 5 s */
    struct timeval tv = {0, 200000};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", r->port, tv);
    if (c && !c->err) {
      redisReply *rep = redisCommand(c, "PING");
      int ok = rep && rep->type == REDIS_REPLY_STATUS;
      freeReplyObject(rep);
      redisFree(c);
      if (ok) return;
    } else if (c) {
      redisFree(c);
    }
    int st;
    if (waitpid(r->pid, &st, WNOHANG) == r->pid) {
      fprintf(stderr, "redis-server exited (status %d)\n", st);
      abort();
    }
    struct timespec ts = {0, 10000000};
    nanosleep(&ts, NULL);
  }
  fprintf(stderr, "redis-server did not answer PING on port %d\n", r->port);
  abort();
}

wst_redis *wst_redis_start(int persist) {
  wst_redis *r = calloc(1, sizeof *r);
  r->persist = persist;
  snprintf(r->dir, sizeof r->dir, "/tmp/wst-redis-XXXXXX");
  if (!mkdtemp(r->dir)) abort();
  r->port = wst_free_port();
  snprintf(r->url, sizeof r->url, "redis://127.0.0.1:%d/0", r->port);
  spawn(r);
  return r;
}

int wst_redis_port(const wst_redis *r) { return r->port; }
const char *wst_redis_url(const wst_redis *r) { return r->url; }

void wst_redis_signal(wst_redis *r, int sig) {
  if (r->pid > 0) kill(r->pid, sig);
}

void wst_redis_kill(wst_redis *r) {
  if (r->pid <= 0) return;
  kill(r->pid, SIGKILL);
  waitpid(r->pid, NULL, 0);
  r->pid = 0;
}

void wst_redis_restart(wst_redis *r) { spawn(r); }

char *wst_redis_cli(const wst_redis *r, const char *args) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "redis-cli -h 127.0.0.1 -p %d %s 2>&1", r->port, args);
  FILE *f = popen(cmd, "r");
  char *out = calloc(1, 65536);
  size_t n = f ? fread(out, 1, 65535, f) : 0;
  out[n] = 0;
  if (f) pclose(f);
  return out;
}

void wst_redis_stop(wst_redis *r) {
  if (r->pid > 0) {
    kill(r->pid, SIGTERM);
    waitpid(r->pid, NULL, 0);
  }
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", r->dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", r->dir);
  free(r);
}
