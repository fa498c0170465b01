/* What a client is told when a broadcast or event its message made fails
 * after the layer took it (Redis lost before it answered, not taken within
 * its time): the same error frame as a handler whose broadcast raised in
 * Chanx, {"action":"error","payload":{"detail":"Failed to process message
 * for <action>"}}, once per client message however many groups it went to.
 * The failure is logged as before. The connection may be gone when the
 * outcome arrives (a layer may take up to a minute): it forgets its pending
 * outcomes when freed, so they tell nobody. */
#ifndef WSC_LIB_OUTCOME_H
#define WSC_LIB_OUTCOME_H

#include "layer.h"
#include "wschannels/conn.h"

typedef struct wsc__outcome wsc__outcome;

/* For the sends that follow, made by `c` (NULL when `c` is not handling a
 * client message, or out of memory: failures are then only logged). */
wsc__outcome *wsc__outcome_begin(wsc_conn *c);
/* The done and arg to give one layer send under `o` (which may be NULL). */
void wsc__outcome_arm(wsc__outcome *o, wsc__layer *l, wsc_layer_done_fn *done,
                      void **arg);
/* The send armed last was refused at once: its done will not run. */
void wsc__outcome_disarm(wsc__outcome *o);
/* After the sends: the outcome lives on while any of them is under way. */
void wsc__outcome_end(wsc__outcome *o);
/* `c` is being freed: outcomes still to come tell nobody. */
void wsc__outcome_forget(wsc_conn *c);

#endif
