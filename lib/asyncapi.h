/* The AsyncAPI 3.0 document of a server's routes and consumers. */
#ifndef WSC_LIB_ASYNCAPI_H
#define WSC_LIB_ASYNCAPI_H

#include <stddef.h>

#include "wschannels/server.h"

/* Returns the document as compact JSON (a cJSON allocation: free with
 * cJSON_free) and its length, or NULL (out of memory). `host` is the
 * servers' host ("localhost:8000"); NULL or "" uses the listening address.
 * The config's asyncapi.server, when set, wins over both. */
char *wsc__asyncapi_json(const wsc_server *srv, const char *host, size_t *len);

#endif
