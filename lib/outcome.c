#include "outcome.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "conn.h"
#include "message.h"
#include "wschannels/error.h"

struct wsc__outcome {
  wsc__dlink link; /* in the connection's pending outcomes */
  wsc_conn *conn;  /* NULL once the connection is freed */
  wsc__layer *layer;
  unsigned holds; /* sends under way, and the maker's until end */
  int told;
  char action[256]; /* the client message's, truncated */
};

wsc__outcome *wsc__outcome_begin(wsc_conn *c) {
  if (!c->handling) return NULL;
  wsc__outcome *o = wsc__calloc(1, sizeof *o);
  if (!o) return NULL;
  o->conn = c;
  o->layer = c->layer;
  o->holds = 1;
  snprintf(o->action, sizeof o->action, "%s", c->handling);
  wsc__dlist_append(&c->outcomes, &o->link);
  return o;
}

static void release(wsc__outcome *o) {
  if (--o->holds) return;
  if (o->conn) wsc__dlist_unlink(&o->conn->outcomes, &o->link);
  wsc__free(o);
}

static void outcome_done(void *arg, int status, const char *errmsg) {
  wsc__outcome *o = arg;
  wsc__layer_log_failure(o->layer, status, errmsg);
  wsc_conn *c = o->conn;
  if (status && status != WSC_ECLOSED && !o->told && c &&
      c->state == WSC__CONN_OPEN) {
    o->told = 1;
    wsc__conn_send_owned(c, wsc__msg_handler_failed(o->action));
  }
  release(o);
}

void wsc__outcome_arm(wsc__outcome *o, wsc__layer *l, wsc_layer_done_fn *done,
                      void **arg) {
  if (!o) {
    *done = wsc__layer_log_failure;
    *arg = l;
    return;
  }
  o->holds++;
  *done = outcome_done;
  *arg = o;
}

void wsc__outcome_disarm(wsc__outcome *o) {
  if (o) release(o);
}

void wsc__outcome_end(wsc__outcome *o) {
  if (o) release(o);
}

void wsc__outcome_forget(wsc_conn *c) {
  wsc__dlink *n;
  while ((n = c->outcomes.head)) {
    WSC__DLIST_ENTRY(n, wsc__outcome, link)->conn = NULL;
    wsc__dlist_unlink(&c->outcomes, n);
  }
}
