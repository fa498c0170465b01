/* A real redis-server for tests: started on a free loopback port in a
 * temporary directory, waited for with PING, stopped by its pid (never by
 * name: other Redis servers may run on the machine). A missing redis-server
 * is a test failure, not a skip. */
#ifndef WSC_TEST_REDIS_SERVER_H
#define WSC_TEST_REDIS_SERVER_H

typedef struct wst_redis wst_redis;

/* `persist`: append-only file with fsync on every write, so what Redis
 * acknowledged survives a kill -9. */
wst_redis *wst_redis_start(int persist);
int wst_redis_port(const wst_redis *r);
const char *wst_redis_url(const wst_redis *r); /* redis://127.0.0.1:PORT/0 */
/* SIGSTOP or SIGCONT: a hung Redis (the kernel still takes connections
 * and what is sent on them). */
void wst_redis_signal(wst_redis *r, int sig);
/* SIGKILL, then wait for the process to end. */
void wst_redis_kill(wst_redis *r);
/* Starts again on the same port and directory (after wst_redis_kill). */
void wst_redis_restart(wst_redis *r);
/* Runs a command through redis-cli and returns its output (malloc'd). */
char *wst_redis_cli(const wst_redis *r, const char *args);
void wst_redis_stop(wst_redis *r);

/* A free TCP port on 127.0.0.1 (bound, read and released). */
int wst_free_port(void);

#endif
