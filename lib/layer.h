/* One live channel-layer instance (a config alias), as the core uses it:
 * the driver's ops, its instance, and the host table handed to it. */
#ifndef WSC_LIB_LAYER_H
#define WSC_LIB_LAYER_H

#include "config.h"
#include "log.h"
#include "stats.h"
#include "wschannels/layer.h"
#include "wschannels/server.h"

typedef void (*wsc__deliver_fn)(void *host_data, void *const *receivers,
                                size_t n, const char *msg, size_t len);

typedef struct wsc__layer {
  char *alias;
  const wsc_layer_ops *ops;
  void *inst; /* NULL once closed */
  wsc_layer_host host;
  wsc__logger *log;
  char subsystem[80];
  /* Log budgets (see wsc__log_line): one per level for the driver's lines,
   * and one for sends that failed after they were taken. */
  char log_sites[WSC_LOG_DEBUG + 2];
  char lasterr[WSC_ERRBUF_SIZE]; /* the driver's words for the last error */
  void *owner; /* what deliveries are for (the server) */
  wsc__deliver_fn deliver; /* the owner's; not called once closing */
  size_t in_flight; /* sends the driver took and has not answered yet */
  wsc__layer_counters counts;
  int closing;      /* no sends taken; the driver is closed once drained */
  uint64_t heard_at; /* the last answer to a send, while draining */
  uv_timer_t drain;
  void (*closed)(void *);
  void *closed_arg;
} wsc__layer;

/* Creates the driver instance for `cfg`. Returns 0 or an error with `err`
 * naming the alias (unknown driver, bad options). */
int wsc__layer_open(wsc__layer *l, const wsc__layer_cfg *cfg, uv_loop_t *loop,
                    wsc__deliver_fn deliver, void *owner,
                    wsc__logger *log, char *err, size_t errlen);

/* The ops, with name validation and an error text in `err`. `done` as in
 * wsc_layer_ops (called only when 0 is returned). */
int wsc__layer_send(wsc__layer *l, const char *channel, const char *msg,
                    size_t len, wsc_layer_done_fn done, void *arg, char *err,
                    size_t errlen);
int wsc__layer_group_send(wsc__layer *l, const char *group, const char *msg,
                          size_t len, wsc_layer_done_fn done, void *arg,
                          char *err, size_t errlen);
int wsc__layer_group_add(wsc__layer *l, const char *group,
                         const char *channel, char *err, size_t errlen);
int wsc__layer_group_discard(wsc__layer *l, const char *group,
                             const char *channel);

/* printf-style logging through a driver's host table (drivers' helper). */
void wsc__host_logf(const wsc_layer_host *host, wsc_log_level lvl,
                    const char *fmt, ...) WSC__PRINTF(3, 4);

/* Counts `n` messages a driver dropped, through a host that knows how
 * (drivers' helper). */
void wsc__host_dropped(const wsc_layer_host *host, size_t n);

/* A wsc_layer_done_fn for sends nobody waits on: logs a failure at WARN
 * (arg is the wsc__layer); a send cut short by closing is not logged. */
void wsc__layer_log_failure(void *arg, int status, const char *errmsg);

/* What to send: an event to a channel, an event to a group, or a message
 * (relayed as is) to a group. */
typedef enum wsc__send_kind {
  WSC__EVENT_TO_CHANNEL,
  WSC__EVENT_TO_GROUP,
  WSC__MESSAGE_TO_GROUP
} wsc__send_kind;

/* Wraps `json` in its envelope and sends it; `cb` (may be NULL: failures are
 * logged) gets the outcome later, as wsc_server_send_event_cb says.
 * Returns 0 or an error known now, with `err` saying why. */
int wsc__layer_send_json(wsc__layer *l, wsc__send_kind kind,
                         const char *target, const char *json, size_t len,
                         wsc_result_fn cb, void *user_data, char *err,
                         size_t errlen);

/* Starts closing: sends are refused from now on (WSC_ECLOSED); those the
 * driver took are carried out first, for as long as their answers keep
 * coming (a pause of WSC__DRAIN_QUIET_MS ends the wait: the driver's close
 * fails the rest with WSC_ECLOSED). done(arg) runs from the loop when the
 * driver has closed. */
#define WSC__DRAIN_QUIET_MS 2000
void wsc__layer_close(wsc__layer *l, void (*done)(void *), void *arg);

#endif
