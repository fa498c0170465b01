/* The "whoami" action many tests use to learn a connection's channel name:
 * the handler replies {"action":"whoami","payload":"<channel>"}. */
#ifndef WSC_TEST_WHOAMI_H
#define WSC_TEST_WHOAMI_H

#include <wschannels/wschannels.h>

#include "ws_client.h"

/* A wsc_action_fn: replies with this connection's channel name. */
int wst_whoami_handler(wsc_conn *c, const cJSON *msg, void *user_data);

/* Sends "whoami" and returns the channel name (malloc'd), skipping other
 * frames that arrive first; aborts the test if no answer comes in 5 s. */
char *wst_whoami(wst_client *cl);

#endif
