/* What the two Redis drivers share: their config keys, the URL and the
 * create-time probe, this process's id, and the table of local channels
 * ("specific.<process>!<n>", as channels_redis names them) that turns target
 * names carried in messages into receivers. */
#ifndef WSC_LIB_REDIS_COMMON_H
#define WSC_LIB_REDIS_COMMON_H

#include <cjson/cJSON.h>

#include "../strmap.h"
#include "redis_conn.h"
#include "redis_url.h"
#include "wschannels/layer.h"

typedef struct wsc__redis_base {
  const wsc_layer_host *host;
  wsc__redis_url url;
  char ip[64];
  int version; /* major*100+minor */
  uint64_t reply_timeout_ms; /* "reply_timeout": see wsc__redis_conn_watch */
  size_t max_pending;  /* "max_pending_bytes" */
  size_t pending;      /* bytes of sends taken and not yet answered */
  unsigned long refused; /* sends refused since Redis fell behind */
  int behind;          /* refusing; cleared when half the room is free */
  char prefix[64];
  char proc[48]; /* "specific.<24 hex>": this process's part of names */
  unsigned long next_id;
  wsc__strmap locals; /* local channel name -> receiver */
  void **scratch;
  size_t scratch_cap;
} wsc__redis_base;

/* Validates the alias's object (driver, url, prefix, and `extra` keys),
 * parses the URL and probes Redis (see wsc__redis_probe). Errors name the
 * key and the masked URL. */
int wsc__redis_base_init(wsc__redis_base *b, const wsc_layer_host *host,
                         const cJSON *cfg,
                         const char *const *extra, char *err, size_t errlen);
void wsc__redis_base_clear(wsc__redis_base *b);

/* Words for the caller about the error the current op returns. */
int wsc__redis_fail(wsc__redis_base *b, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* WSC_ELAYER for an op on `kind` `name` refused because `c` is down, with
 * the reason it is down when known ("Connection refused", "NOAUTH ..."). */
int wsc__redis_unavailable(wsc__redis_base *b, const wsc__redis_conn *c,
                           const char *kind, const char *name);

/* A new local channel for `receiver`. */
int wsc__redis_base_new_channel(wsc__redis_base *b, void *receiver,
                                char *name, size_t namelen);
void wsc__redis_base_release(wsc__redis_base *b, const char *name);
/* new_channel and release_channel for layers whose first member is a
 * wsc__redis_base. */
int wsc__redis_new_channel_op(void *inst, void *receiver, char *name,
                              size_t namelen);
void wsc__redis_release_op(void *inst, const char *name);


/* Delivers `msg` to the local receivers among `targets` (names separated by
 * ','); unknown names (closed connections) are skipped. */
void wsc__redis_deliver(wsc__redis_base *b, const char *targets, size_t tlen,
                        const char *msg, size_t len);
/* Delivers to `recv` (copied first: handlers may change the source). */
void wsc__redis_deliver_all(wsc__redis_base *b, void *const *recv, size_t n,
                            const char *msg, size_t len);

/* This process's members of each group (group -> wsc__local_group), so a
 * message for a group fans out here without naming its members. */
typedef struct wsc__local_group {
  void **recv;
  char **names;
  size_t n, cap;
} wsc__local_group;

/* Adds a local member; *first is set when the group just got its first. */
int wsc__lgroups_add(wsc__strmap *groups, const char *group,
                     const char *name, void *recv, int *first);
/* Removes a member; *last is set when the group just lost its last. */
void wsc__lgroups_discard(wsc__strmap *groups, const char *group,
                          const char *name, int *last);
void wsc__lgroups_deliver(wsc__redis_base *b, wsc__strmap *groups,
                          const char *group, const char *msg, size_t len);
void wsc__lgroups_clear(wsc__strmap *groups);

/* A send taken and not yet answered, carried as hiredis privdata. */
typedef struct wsc__redis_op {
  wsc__redis_base *b;
  wsc_layer_done_fn done;
  void *arg;
  size_t bytes; /* its share of the room for unanswered sends */
  char what[WSC_NAME_MAX + 32]; /* "channel 'x'" / "group 'g'" */
} wsc__redis_op;

/* A send of `bytes` (its command's arguments) to `kind` `name`. It takes
 * room among the sends Redis has not answered: while that would pass
 * "max_pending_bytes" (Redis hangs, or the network to it is cut, and
 * hiredis would buffer without end) it is refused with WSC_EAGAIN, worded
 * for the caller. WSC_ENOMEM when out of memory. */
int wsc__redis_op_new(wsc__redis_base *b, size_t bytes, wsc_layer_done_fn done,
                      void *arg, const char *kind, const char *name,
                      wsc__redis_op **out);
/* Tells the sender `status` (and `msg` when it failed), gives the op's room
 * back and frees it. */
void wsc__redis_op_end(wsc__redis_op *op, int status, const char *msg);
/* Frees an op that was never sent (its sender hears of it from the call). */
void wsc__redis_op_free(wsc__redis_op *op);
/* Finishes an op for a reply that was lost (NULL) or an error reply. */
void wsc__redis_op_fail(wsc__redis_op *op, const redisReply *r, int closing);
/* Fails `op` with WSC_ELAYER and "<what>: <why>". */
void wsc__redis_op_fail_why(wsc__redis_op *op, const char *why);

#endif
