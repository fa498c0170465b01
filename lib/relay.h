/* Messages a channel layer delivers to this server's connections: group
 * messages relayed to clients (one shared frame per delivery, a camelCased
 * one for camelize consumers) and events routed to event handlers. */
#ifndef WSC_LIB_RELAY_H
#define WSC_LIB_RELAY_H

#include <stddef.h>

/* A wsc__deliver_fn: `host_data` is the server's wsc__layer, `receivers`
 * its wsc_conn pointers. */
void wsc__relay_deliver(void *host_data, void *const *receivers, size_t n,
                        const char *msg, size_t len);

#endif
