/* The config document, validated into a struct. Only this file reads the
 * document; everything else reads wsc__config. */
#ifndef WSC_LIB_CONFIG_H
#define WSC_LIB_CONFIG_H

#include <stddef.h>

#include <uv.h>

#include <cjson/cJSON.h>

#include "wschannels/server.h"

typedef struct wsc__layer_cfg {
  char *alias;
  char *driver;
  cJSON *options; /* owned copy of the alias's object */
} wsc__layer_cfg;

typedef struct wsc__route_cfg {
  char *path; /* full path pattern, includes flattened */
  char *consumer;
  char *where; /* JSON path of the entry, for error messages */
} wsc__route_cfg;

typedef struct wsc__consumer_cfg {
  char *name;
  char *layer;   /* NULL: not set in the config */
  char **groups; /* valid when has_groups */
  size_t ngroups;
  int has_groups;
  /* Chanx options (wsc_consumer_options); NULL or -1: not set */
  char *discriminator;
  int camelize, send_completion, send_auth_message, log_messages;
  int group_metadata;
  char *jwt_secret; /* "jwt": {"secret", "query_param", "user_claim", "leeway"} */
  char *jwt_query_param, *jwt_user_claim;
  long jwt_leeway;
  char **log_ignored; /* valid when has_log_ignored */
  size_t nlog_ignored;
  int has_log_ignored;
} wsc__consumer_cfg;

/* "asyncapi": the generated document and where it is served. */
typedef struct wsc__asyncapi_cfg {
  int enabled;       /* default 1 */
  char *path;        /* "/asyncapi": serves <path>/, <path>/docs/, <path>/schema/ */
  char *title;       /* "AsyncAPI Documentation" */
  char *version;     /* "1.0.0" */
  char *description; /* NULL: none */
  char *server;      /* host[:port] clients connect to; NULL: the request's Host */
} wsc__asyncapi_cfg;

typedef struct wsc__config {
  char *host;
  int port;
  size_t max_message_bytes;
  size_t send_queue_bytes;
  /* "limits" for hostile clients (0: no limit) */
  unsigned long max_connections;             /* 100000: then HTTP 503 */
  unsigned long max_connections_per_address; /* 0: then HTTP 429 */
  unsigned long messages_per_second;         /* 200 (token bucket rate) */
  unsigned long message_burst;               /* 400 (bucket size) */
  unsigned long handshake_timeout;           /* 10 s to finish the upgrade */
  char **origins;
  size_t norigins; /* 0 and origins NULL: any origin */
  unsigned ping_interval;
  unsigned idle_timeout;
  wsc__layer_cfg *layers;
  size_t nlayers;
  wsc__route_cfg *routes;
  size_t nroutes;
  wsc__consumer_cfg *consumers;
  size_t nconsumers;
  wsc__asyncapi_cfg asyncapi;
  char *tls_cert, *tls_key; /* "tls": PEM files; NULL: plain ws:// */
  char *static_dir;   /* "http.static_dir": files served at "/"; NULL: none */
  char *static_index; /* "http.index": for paths ending in "/" */
  char *metrics_path; /* "http.metrics": the counters for Prometheus; NULL: none */
} wsc__config;

/* Fill `cfg` from the options struct, then apply opts->config_json on top.
 * Returns 0, WSC_ECONFIG/WSC_EINVAL with `err` naming the key, WSC_ENOMEM.
 * On failure `cfg` is cleared. */
int wsc__config_load(wsc__config *cfg, const wsc_server_options *opts,
                     char *err, size_t errlen);
void wsc__config_clear(wsc__config *cfg);

const wsc__layer_cfg *wsc__config_layer(const wsc__config *cfg,
                                        const char *alias);
const wsc__consumer_cfg *wsc__config_consumer(const wsc__config *cfg,
                                              const char *name);

/* Helpers for layer drivers reading their alias's object. `where` is the
 * JSON path of `obj` ("layers.chat"). */
int wsc__cfg_check_keys(const cJSON *obj, const char *const *allowed,
                        const char *where, char *err, size_t errlen);
int wsc__cfg_get_uint(const cJSON *obj, const char *key, unsigned long min,
                      unsigned long max, unsigned long dflt,
                      unsigned long *out, const char *where, char *err,
                      size_t errlen);

/* The options every queueing layer shares, with Django Channels' defaults:
 * "capacity" (100), "expiry" (60 s), "group_expiry" (86400 s). */
typedef struct wsc__queue_limits {
  unsigned long capacity, expiry_s, group_expiry_s;
} wsc__queue_limits;
int wsc__cfg_queue_limits(const cJSON *obj, const char *where,
                          wsc__queue_limits *out, char *err, size_t errlen);

/* Expand ${VAR} / ${VAR:-default} / $$ in every string of `doc`, in place. */
int wsc__config_expand_env(cJSON *doc, char *err, size_t errlen);

#endif
