/* The open-file limit, seen from the listening socket: connections that
 * would leave the process without file descriptors are turned away at
 * accept time, before they cost one. */
#ifndef WSC_LIB_FD_LIMIT_H
#define WSC_LIB_FD_LIMIT_H

#include "log.h"

/* Descriptors kept free for everything else a server opens (its Redis
 * connections, a file it serves, the program's own). Once none is free,
 * libwebsockets 4.1's accept fails with EMFILE on every turn of the loop
 * (the listening socket stays readable) and logs each failure: one core
 * spun and some 1.7 million lines a second were written. */
#define WSC__FD_HEADROOM 64

/* Whether to turn away the connection just accepted on `fd`. Descriptors
 * are numbered lowest free first, so `fd` tells how many are in use. When
 * it leaves fewer than WSC__FD_HEADROOM, the client is answered 503 and the
 * refusal logged at ERROR (under the log's budget). Returns 1 to close it. */
int wsc__fd_limit_refuse(int fd, wsc__logger *log);

#endif
