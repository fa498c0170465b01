#include "consumer.h"

#include <string.h>

#include "alloc.h"
#include "wschannels/error.h"
#include "wschannels/layer.h"

void wsc_consumer_hooks_init(wsc_consumer_hooks *h) {
  memset(h, 0, sizeof *h);
  h->struct_size = sizeof *h;
}

int wsc_consumer_new(const char *name, wsc_consumer **out) {
  if (!out) return WSC_EINVAL;
  *out = NULL;
  if (!wsc_group_name_is_valid(name)) return WSC_EINVAL;
  wsc_consumer *c = wsc__calloc(1, sizeof *c);
  if (!c) return WSC_ENOMEM;
  if (!(c->name = wsc__strdup(name))) {
    wsc__free(c);
    return WSC_ENOMEM;
  }
  wsc_consumer_hooks_init(&c->hooks);
  *out = c;
  return 0;
}

static void free_table(wsc__handler_table *t) {
  for (size_t i = 0; i < t->n; i++) {
    if (t->v[i].free_user_data) t->v[i].free_user_data(t->v[i].user_data);
    wsc__free(t->v[i].action);
  }
  wsc__free(t->v);
}

static void free_strv(char **v, size_t n) {
  for (size_t i = 0; i < n; i++) wsc__free(v[i]);
  wsc__free(v);
}

void wsc_consumer_free(wsc_consumer *c) {
  if (!c) return;
  free_table(&c->actions);
  free_table(&c->events);
  if (c->hooks_free) c->hooks_free(c->hooks_ud);
  free_strv(c->tags, c->ntags);
  free_strv(c->groups, c->ngroups);
  wsc__free(c->name);
  wsc__free(c->description);
  wsc__free(c->layer);
  wsc__free(c->expected_tags);
  wsc__free(c);
}

const char *wsc_consumer_get_name(const wsc_consumer *c) {
  return c ? c->name : NULL;
}

static int replace_str(char **dst, const char *src) {
  char *s = wsc__strdup(src);
  if (!s) return WSC_ENOMEM;
  wsc__free(*dst);
  *dst = s;
  return 0;
}

static int push_str(char ***v, size_t *n, size_t *cap, const char *s) {
  for (size_t i = 0; i < *n; i++)
    if (strcmp((*v)[i], s) == 0) return WSC_EEXIST;
  if (wsc__grow((void **)v, cap, *n + 1, sizeof **v)) return WSC_ENOMEM;
  if (!((*v)[*n] = wsc__strdup(s))) return WSC_ENOMEM;
  (*n)++;
  return 0;
}

int wsc_consumer_set_description(wsc_consumer *c, const char *text) {
  if (!c || !text) return WSC_EINVAL;
  return replace_str(&c->description, text);
}

int wsc_consumer_add_tag(wsc_consumer *c, const char *tag) {
  if (!c || !tag || !*tag) return WSC_EINVAL;
  return push_str(&c->tags, &c->ntags, &c->tags_cap, tag);
}

int wsc_consumer_set_layer(wsc_consumer *c, const char *alias) {
  if (!c || !wsc_group_name_is_valid(alias)) return WSC_EINVAL;
  return replace_str(&c->layer, alias);
}

int wsc_consumer_add_group(wsc_consumer *c, const char *group) {
  if (!c) return WSC_EINVAL;
  if (!wsc_group_name_is_valid(group)) return WSC_EBADNAME;
  return push_str(&c->groups, &c->ngroups, &c->groups_cap, group);
}

const wsc__handler *wsc__handler_find(const wsc__handler_table *t,
                                      const char *action) {
  for (size_t i = 0; i < t->n; i++)
    if (strcmp(t->v[i].action, action) == 0) return &t->v[i];
  return NULL;
}

static int add_handler(wsc__handler_table *t, const char *action,
                       wsc_action_fn fn, void *ud, void (*free_ud)(void *)) {
  int rc = 0;
  if (!action || !*action || !fn)
    rc = WSC_EINVAL;
  else if (wsc__handler_find(t, action))
    rc = WSC_EEXIST;
  else if (wsc__grow((void **)&t->v, &t->cap, t->n + 1, sizeof *t->v))
    rc = WSC_ENOMEM;
  else if (!(t->v[t->n].action = wsc__strdup(action)))
    rc = WSC_ENOMEM;
  if (rc) {
    if (free_ud) free_ud(ud);
    return rc;
  }
  t->v[t->n].fn = fn;
  t->v[t->n].user_data = ud;
  t->v[t->n].free_user_data = free_ud;
  t->n++;
  return 0;
}

int wsc_consumer_on(wsc_consumer *c, const char *action, wsc_action_fn fn,
                    void *user_data, void (*free_user_data)(void *)) {
  if (!c) {
    if (free_user_data) free_user_data(user_data);
    return WSC_EINVAL;
  }
  return add_handler(&c->actions, action, fn, user_data, free_user_data);
}

int wsc_consumer_on_event(wsc_consumer *c, const char *action,
                          wsc_action_fn fn, void *user_data,
                          void (*free_user_data)(void *)) {
  if (!c) {
    if (free_user_data) free_user_data(user_data);
    return WSC_EINVAL;
  }
  return add_handler(&c->events, action, fn, user_data, free_user_data);
}

int wsc_consumer_set_hooks(wsc_consumer *c, const wsc_consumer_hooks *hooks,
                           void *user_data, void (*free_user_data)(void *)) {
  if (!c || !hooks || hooks->struct_size < sizeof(wsc_consumer_hooks)) {
    if (free_user_data) free_user_data(user_data);
    return WSC_EINVAL;
  }
  if (c->hooks_free) c->hooks_free(c->hooks_ud);
  c->hooks = *hooks;
  c->hooks.struct_size = sizeof c->hooks;
  c->hooks_ud = user_data;
  c->hooks_free = free_user_data;
  return 0;
}

const char *wsc__consumer_layer(const wsc_consumer *c) {
  return c->layer ? c->layer : "default";
}

int wsc__consumer_seal(wsc_consumer *c, const char *layer,
                       char *const *groups, size_t ngroups, int has_groups) {
  if (layer && replace_str(&c->layer, layer)) return WSC_ENOMEM;
  if (has_groups) {
    free_strv(c->groups, c->ngroups);
    c->groups = NULL;
    c->ngroups = c->groups_cap = 0;
    for (size_t i = 0; i < ngroups; i++) {
      int rc = push_str(&c->groups, &c->ngroups, &c->groups_cap, groups[i]);
      if (rc && rc != WSC_EEXIST) return rc;
    }
  }
  /* Pydantic lists the union's tags in declaration order; the built-in ping
   * comes last when the consumer has no ping handler of its own. */
  size_t need = 1;
  for (size_t i = 0; i < c->actions.n; i++)
    need += strlen(c->actions.v[i].action) + 4;
  need += 8;
  char *s = wsc__malloc(need);
  if (!s) return WSC_ENOMEM;
  s[0] = '\0';
  for (size_t i = 0; i < c->actions.n; i++) {
    if (i) strcat(s, ", ");
    strcat(s, "'");
    strcat(s, c->actions.v[i].action);
    strcat(s, "'");
  }
  if (!wsc__handler_find(&c->actions, "ping"))
    strcat(s, c->actions.n ? ", 'ping'" : "'ping'");
  wsc__free(c->expected_tags);
  c->expected_tags = s;
  return 0;
}
