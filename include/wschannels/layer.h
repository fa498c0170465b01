/* wschannels: channel-layer drivers, a versioned vtable (sqlite's vfs, nng's
 * transport ops). A driver moves opaque message bytes between channels and
 * groups; the core decides what the bytes mean.
 *
 * Two tables: the driver provides `wsc_layer_ops`; the core hands each
 * instance a `wsc_layer_host` (its loop, and where to deliver). Drivers run on
 * the loop thread; every call below is made there, and a driver calls the host
 * there. A driver never calls `deliver` from inside one of its ops: delivery
 * happens later, from the loop. */
#ifndef WSCHANNELS_LAYER_H
#define WSCHANNELS_LAYER_H

#include "common.h"
#include "log.h"

#include <cjson/cJSON.h>

WSC_BEGIN_DECLS

#define WSC_LAYER_ABI_MAGIC 0x57530000u /* "WS" in the upper half */
#define WSC_LAYER_ABI_V1 (WSC_LAYER_ABI_MAGIC | 1u)
#define WSC_LAYER_ABI_V2 (WSC_LAYER_ABI_MAGIC | 2u) /* 0.6: backend_up */
#define WSC_LAYER_ABI WSC_LAYER_ABI_V2 /* the version these headers define */

/* Longest channel or group name, as in Django Channels (length < 100). */
#define WSC_NAME_MAX 99

typedef struct wsc_layer_host {
  size_t struct_size;
  uv_loop_t *loop;
  const char *alias; /* the config's alias for this instance */
  void *host_data;   /* pass back in every call below */
  /* Deliver `msg` to local receivers (the pointers given to new_channel).
   * `receivers` and `msg` are borrowed for the call. */
  void (*deliver)(void *host_data, void *const *receivers, size_t n,
                  const char *msg, size_t len);
  /* Log through the server's logger; subsystem is "layer.<driver name>". */
  void (*log)(void *host_data, wsc_log_level level, const char *msg);
  /* Explain, in words for the caller, the error the current op is about to
   * return (e.g. which URL is unreachable). Optional to use. */
  void (*set_error)(void *host_data, const char *msg);
  /* 0.6 (present when struct_size covers it): count `n` messages the
   * driver dropped after taking them (a group member's queue full, expired
   * before this process read them, out of memory), for
   * wsc_layer_stats.dropped. Log why as well; this only counts. */
  void (*dropped)(void *host_data, size_t n);
} wsc_layer_host;

/* The final outcome of a send or group_send that a driver accepted:
 * 0, WSC_EFULL (channel full) or WSC_ELAYER (backend failed), with a message
 * for logs and errors (NULL when status is 0). */
typedef void (*wsc_layer_done_fn)(void *arg, int status, const char *errmsg);

typedef struct wsc_layer_ops {
  size_t struct_size;   /* sizeof(wsc_layer_ops) as the driver was compiled */
  uint32_t abi_version; /* WSC_LAYER_ABI_Vn the driver implements */
  const char *name;     /* the config's "driver" value: "memory", ... */
  /* --- v1 --- */
  /* Create an instance from the alias's config object (which still holds
   * "driver"). Reject unknown keys and bad values with WSC_ECONFIG and a
   * message naming the key in `err`. `host` stays valid until close's done. */
  int (*create)(const wsc_layer_host *host, const cJSON *cfg, void **inst,
                char *err, size_t errlen);
  /* Make a new process-local channel whose messages are delivered to
   * `receiver`; write its name (NUL-terminated, < WSC_NAME_MAX+1) to `name`. */
  int (*new_channel)(void *inst, void *receiver, char *name, size_t namelen);
  /* The receiver is gone: drop what is queued for it; never deliver to it
   * again. */
  void (*release_channel)(void *inst, const char *name);
  /* Queue `msg` on `channel`. A negative return is a failure known now
   * (WSC_EFULL when the channel is at capacity, WSC_ELAYER when the backend
   * is unreachable, WSC_EAGAIN when it has not yet answered as much as the
   * driver will hold); `done` is then never called. A return of 0 means the
   * send is under way, and `done` (may be NULL) is called exactly once,
   * later and from the loop, with its outcome. */
  int (*send)(void *inst, const char *channel, const char *msg, size_t len,
              wsc_layer_done_fn done, void *arg);
  int (*group_add)(void *inst, const char *group, const char *channel);
  int (*group_discard)(void *inst, const char *group, const char *channel);
  /* Queue `msg` on every channel in `group`; a full member is skipped and
   * logged, never an error. Returns and calls `done` as `send` does. */
  int (*group_send)(void *inst, const char *group, const char *msg,
                    size_t len, wsc_layer_done_fn done, void *arg);
  /* Release everything; call done(arg) from the loop once nothing of the
   * instance remains on the loop. No deliver after close is called; the
   * `done` of every send still under way is called with WSC_ECLOSED (from
   * inside close is allowed). */
  void (*close)(void *inst, void (*done)(void *arg), void *arg);
  /* --- v2 (0.6); optional, NULL is allowed --- */
  /* Whether the backend can be reached now: 1 (connected and answering),
   * 0 (down, reconnecting, or not answering: sends are refused or wait).
   * For monitoring (wsc_layer_stats.backend_up); NULL, as for a v1 driver,
   * reads as 1. */
  int (*backend_up)(void *inst);
  /* --- v3 and later: append below this line only --- */
} wsc_layer_ops;

/* Register a driver so configs can name it by `ops->name`.
 * Returns 0; WSC_EVERSION (bad magic, a newer ABI than this library's, or a
 * struct_size below v1's); WSC_EINVAL (NULL, no name, a v1 method missing);
 * WSC_EEXIST (name taken); WSC_ENOMEM. `errbuf` (may be NULL) gets details.
 * Ownership: borrows `ops` for the life of the process; never changes it.
 * Thread: any (the registry is locked). Since: 0.1 */
WSC_API int wsc_layer_register(const wsc_layer_ops *ops, char *errbuf,
                               size_t errlen);

/* Nonzero if `name` is a valid group name (1-99 of [A-Za-z0-9_.-]), or, for
 * wsc_channel_name_is_valid, a valid channel name (also allows one "!" and a
 * suffix of those characters). Thread: any. Since: 0.1 */
WSC_API int wsc_group_name_is_valid(const char *name);
WSC_API int wsc_channel_name_is_valid(const char *name);

WSC_END_DECLS

#endif
