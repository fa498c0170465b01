#include "server_thread.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <uv.h>

#include "check.h"

struct wst_server {
  uv_thread_t thread;
  uv_loop_t loop;
  uv_sem_t ready;
  const char *config;
  wsc_consumer *const *consumers;
  size_t n;
  wsc_server *srv;
  int rc;
  int loop_close_rc;
  char err[WSC_ERRBUF_SIZE];
};

static void thread_main(void *arg) {
  wst_server *s = arg;
  uv_loop_init(&s->loop);
  wsc_server_options o;
  wsc_server_options_init(&o);
  o.loop = &s->loop;
  o.port = 0;
  o.config_json = s->config;
  o.consumers = s->consumers;
  o.n_consumers = s->n;
  if (getenv("WSC_TEST_LOG")) {
    o.logger = wsc_log_stderr;
    o.log_level = (wsc_log_level)atoi(getenv("WSC_TEST_LOG"));
  }
  s->rc = wsc_server_new(&o, &s->srv, s->err, sizeof s->err);
  uv_sem_post(&s->ready);
  uv_run(&s->loop, UV_RUN_DEFAULT);
  s->loop_close_rc = uv_loop_close(&s->loop);
}

wst_server *wst_server_start(const char *config_json,
                             wsc_consumer *const *consumers, size_t n) {
  wst_server *s = calloc(1, sizeof *s);
  s->config = config_json;
  s->consumers = consumers;
  s->n = n;
  uv_sem_init(&s->ready, 0);
  uv_thread_create(&s->thread, thread_main, s);
  uv_sem_wait(&s->ready);
  if (s->rc) {
    fprintf(stderr, "wst_server_start: %s: %s\n", wsc_err_name(s->rc), s->err);
    abort();
  }
  return s;
}

int wst_port(const wst_server *s) { return wsc_server_get_port(s->srv); }
wsc_server *wst_srv(const wst_server *s) { return s->srv; }

typedef struct call {
  void (*fn)(wsc_server *, void *);
  void *ud;
  uv_sem_t done;
} call;

static void run_call(wsc_server *srv, void *arg) {
  call *c = arg;
  c->fn(srv, c->ud);
  uv_sem_post(&c->done);
}

void wst_call(wst_server *s, void (*fn)(wsc_server *, void *), void *ud) {
  call c;
  c.fn = fn;
  c.ud = ud;
  uv_sem_init(&c.done, 0);
  CHECK_OK(wsc_server_post(s->srv, run_call, &c));
  uv_sem_wait(&c.done);
  uv_sem_destroy(&c.done);
}

static void read_stats(wsc_server *srv, void *ud) {
  wsc_server_stats *st = ud;
  st->struct_size = sizeof *st;
  CHECK_OK(wsc_server_get_stats(srv, st));
}

wsc_server_stats wst_stats(wst_server *s) {
  wsc_server_stats st;
  wst_call(s, read_stats, &st);
  return st;
}

static void read_layer_stats(wsc_server *srv, void *ud) {
  wsc_layer_stats *st = ud;
  st->struct_size = sizeof *st;
  CHECK_OK(wsc_server_get_layer_stats(srv, NULL, st));
}

wsc_layer_stats wst_layer_stats(wst_server *s) {
  wsc_layer_stats st;
  wst_call(s, read_layer_stats, &st);
  return st;
}

void wst_server_stop(wst_server *s) {
  CHECK_OK(wsc_server_stop_threadsafe(s->srv));
  uv_thread_join(&s->thread);
  CHECK_EQ(s->loop_close_rc, 0);
  uv_sem_destroy(&s->ready);
  free(s);
}

void wst_raise_fd_limit(void) {
  struct rlimit r;
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}
