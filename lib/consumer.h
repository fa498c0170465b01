/* Consumer definitions and handler look-up. */
#ifndef WSC_LIB_CONSUMER_H
#define WSC_LIB_CONSUMER_H

#include "wschannels/consumer.h"
#include "wschannels/schema.h"

typedef struct wsc__handler {
  char *action;
  wsc_action_fn fn;
  void *user_data;
  void (*free_user_data)(void *);
  /* wsc_consumer_document: */
  wsc_schema *input, *output;
  char *summary, *description;
  char **tags;
  size_t ntags;
} wsc__handler;

typedef struct wsc__handler_table {
  wsc__handler *v;
  size_t n, cap;
} wsc__handler_table;

struct wsc_consumer {
  char *name;
  char *description;
  char **tags;
  size_t ntags, tags_cap;
  char *layer; /* NULL: "default" */
  char **groups;
  size_t ngroups, groups_cap;
  wsc__handler_table actions;
  wsc__handler_table events;
  wsc_consumer_hooks hooks;
  void *hooks_ud;
  void (*hooks_free)(void *);
  char *expected_tags; /* "'chat', 'ping'", built by wsc__consumer_seal */
  /* wsc_consumer_options */
  char *discriminator;
  int camelize, send_completion, send_auth_message, log_messages;
  int group_metadata;
  char **log_ignored;
  size_t nlog_ignored, log_ignored_cap;
  /* the config's "jwt" authenticator; NULL secret: none */
  char *jwt_secret, *jwt_query_param, *jwt_user_claim;
  long jwt_leeway;
};

const wsc__handler *wsc__handler_find(const wsc__handler_table *t,
                                      const char *action);

struct wsc__consumer_cfg;
/* Called when a server takes the consumer: applies the config's entry for
 * it (may be NULL), and precomputes the error text listing the expected
 * actions. Returns 0 or WSC_ENOMEM. */
int wsc__consumer_seal(wsc_consumer *c, const struct wsc__consumer_cfg *cfg);

/* The key that picks client messages' handler ("action" by default). */
const char *wsc__consumer_discriminator(const wsc_consumer *c);

/* Whether frames with this action are logged (log_websocket_message). */
int wsc__consumer_logs(const wsc_consumer *c, const char *action);

const char *wsc__consumer_layer(const wsc_consumer *c);

#endif
