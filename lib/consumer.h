/* Consumer definitions and handler look-up. */
#ifndef WSC_LIB_CONSUMER_H
#define WSC_LIB_CONSUMER_H

#include "wschannels/consumer.h"

typedef struct wsc__handler {
  char *action;
  wsc_action_fn fn;
  void *user_data;
  void (*free_user_data)(void *);
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
};

const wsc__handler *wsc__handler_find(const wsc__handler_table *t,
                                      const char *action);

/* Called when a server takes the consumer: applies the config's layer and
 * groups, and precomputes the error text listing the expected actions.
 * Returns 0 or WSC_ENOMEM. */
int wsc__consumer_seal(wsc_consumer *c, const char *layer,
                       char *const *groups, size_t ngroups, int has_groups);

const char *wsc__consumer_layer(const wsc_consumer *c);

#endif
