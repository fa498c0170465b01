/* Runs a wschannels server on the caller's-loop path: a test-owned
 * uv_loop_t run by a thread of its own, while the test thread acts as the
 * WebSocket clients. */
#ifndef WSC_TEST_SERVER_THREAD_H
#define WSC_TEST_SERVER_THREAD_H

#include <wschannels/wschannels.h>

typedef struct wst_server wst_server;

/* Creates the server on the loop thread from `config_json` (may be NULL) with
 * port 0; aborts the test if creation fails. Takes the consumers. */
wst_server *wst_server_start(const char *config_json,
                             wsc_consumer *const *consumers, size_t n);
int wst_port(const wst_server *s);
wsc_server *wst_srv(const wst_server *s);

/* Runs fn(srv, user_data) on the loop thread and waits for it. */
void wst_call(wst_server *s, void (*fn)(wsc_server *, void *), void *ud);

/* The server's counters (wsc_server_get_stats), read on its loop thread. */
wsc_server_stats wst_stats(wst_server *s);
/* Its default layer's counters (wsc_server_get_layer_stats). */
wsc_layer_stats wst_layer_stats(wst_server *s);

/* Closes the server, waits for the loop to run out of handles, and checks
 * that uv_loop_close() returns 0. */
void wst_server_stop(wst_server *s);

/* Raises the open-files limit for tests with many connections. */
void wst_raise_fd_limit(void);

#endif
