/* A TCP relay on 127.0.0.1 for tests, run on a thread of its own: it passes
 * bytes between its clients and a target port, and can be cut like a
 * network that fails without closing anything (a partition, a dead host
 * behind a NAT, a failover that moved the address): the connections it
 * holds stay open and carry nothing more either way, so neither end hears
 * of it, while connections made after the cut are relayed again. */
#ifndef WSC_TEST_TCP_RELAY_H
#define WSC_TEST_TCP_RELAY_H

typedef struct wst_relay wst_relay;

wst_relay *wst_relay_start(int target_port);
int wst_relay_port(const wst_relay *r);
/* Every connection open now goes silent, at once and for good. */
void wst_relay_cut(wst_relay *r);
/* Closes everything and joins the thread. */
void wst_relay_stop(wst_relay *r);

#endif
