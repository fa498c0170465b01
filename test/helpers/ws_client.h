/* A blocking WebSocket client for tests: real sockets on loopback, a real
 * handshake, masked client frames, and timeouts on every read. */
#ifndef WSC_TEST_WS_CLIENT_H
#define WSC_TEST_WS_CLIENT_H

#include <stddef.h>

typedef struct wst_client wst_client;

/* Connects and upgrades `path` (query included). Returns the client on 101;
 * otherwise NULL with the HTTP status (0: no response) in *status. `headers`
 * (may be NULL) is extra "Name: value\r\n" lines. */
wst_client *wst_connect(int port, const char *path, const char *headers,
                        int *status);
/* As wst_connect, from the local address `source` (NULL: any; any 127.x.y.z
 * works on Linux) with a receive buffer of `rcvbuf` bytes (0: default). */
wst_client *wst_connect_opt(int port, const char *path, const char *headers,
                            int *status, const char *source, int rcvbuf);
/* A plain TCP connection to 127.0.0.1:`port` (for raw HTTP and hostile
 * bytes), or -1. */
int wst_tcp_connect(int port);
/* A plain HTTP GET of `path` with `host` as the Host header (NULL:
 * 127.0.0.1:port); returns the whole response (malloc'd; free it). */
char *wst_http_get(int port, const char *path, const char *host);
/* The status of an HTTP response, or 0. */
int wst_http_status(const char *response);
/* As wst_connect, but aborts the test unless the upgrade succeeds. */
wst_client *wst_open(int port, const char *path);

int wst_send_text(wst_client *c, const char *text);
int wst_send_frame(wst_client *c, int opcode, const void *data, size_t len,
                   int fin);
/* Sends raw bytes on the socket (for malformed input). */
int wst_send_raw(wst_client *c, const void *data, size_t len);

/* The next text message (malloc'd; free it), or NULL on timeout or close.
 * Pings are answered; a close frame sets the close code. */
char *wst_recv(wst_client *c, int timeout_ms);
/* Receives and compares with `want`; aborts the test on a mismatch. */
void wst_expect(wst_client *c, const char *want);
/* 1 if nothing arrives within `ms`. */
int wst_silent(wst_client *c, int ms);
/* Waits for the server's close; returns its code (1006: socket closed
 * without a close frame, -1: timeout). */
int wst_wait_close(wst_client *c, int timeout_ms);
const char *wst_close_reason(const wst_client *c);
/* How many pings the server sent (and wst_recv answered). */
int wst_pings(const wst_client *c);

/* The socket, for tests that misbehave below the WebSocket protocol. */
int wst_fd(const wst_client *c);

/* Sends a close frame (unless `code` is 0) and frees the client. */
void wst_close(wst_client *c, int code);

#endif
