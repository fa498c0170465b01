/* The open-file limit, seen from the listening socket: connections that
 * would leave the process without file descriptors are turned away at
 * accept time, before they cost one; and when accepting fails for want of
 * descriptors anyway, the listener rests instead of spinning. */
#ifndef WSC_LIB_FD_LIMIT_H
#define WSC_LIB_FD_LIMIT_H

#include <uv.h>

#include "log.h"

/* Descriptors kept free for everything else a server opens (its Redis
 * connections, a file it serves, the program's own). Once none is free,
 * libwebsockets 4.1's accept fails with EMFILE on every turn of the loop
 * (the listening socket stays readable) and logs each failure: one core
 * spun and some 1.7 million lines a second were written. */
#define WSC__FD_HEADROOM 64

/* How long the listener rests after a failed accept (newer libwebsockets
 * rest 100 ms too). */
#define WSC__ACCEPT_REST_MS 100

/* Whether to turn away the connection just accepted on `fd`. Descriptors
 * are numbered lowest free first, so `fd` tells how many are in use. When
 * it leaves fewer than WSC__FD_HEADROOM, the client is answered 503 and the
 * refusal logged at ERROR (under the log's budget). Returns 1 to close it. */
int wsc__fd_limit_refuse(int fd, wsc__logger *log);

/* libwebsockets 4.1 tells of a failed accept only in its log: the log
 * bridge hands such a line (`what`: "accept: errno 24") here, on the thread
 * that failed to accept. Returns 1 when a server's loop on this thread will
 * tell of it (the bridge then leaves the line out), 0 when none runs here
 * (another lws user's accept: the bridge logs the line). */
int wsc__fd_limit_accept_failed(const char *what);

/* A server's listener, rested after failed accepts: the headroom above does
 * not help when the descriptors went elsewhere (the program's own files,
 * the system-wide limit, ENFILE), and lws would retry on every loop turn. */
typedef struct wsc__listener_rest {
  uv_loop_t *loop;
  int port;
  uv_poll_t *poll; /* lws's handle for the listening socket, once found */
  uv_timer_t timer;
  unsigned seen; /* this thread's failed accepts, as last seen */
  int resting;
  int failing; /* logged; until a loop turn without a failed accept */
} wsc__listener_rest;

void wsc__listener_rest_init(wsc__listener_rest *r, uv_loop_t *loop, int port);
/* Once per loop turn (after the poll phase): rests the listener for
 * WSC__ACCEPT_REST_MS if an accept failed on this thread since the last
 * call, logging once when the failures begin. */
void wsc__listener_rest_check(wsc__listener_rest *r, wsc__logger *log);
/* Before libwebsockets frees the listener: closes the timer; `done` gets
 * it with `data` set to `done_data`. */
void wsc__listener_rest_close(wsc__listener_rest *r, uv_close_cb done, void *done_data);

#endif
