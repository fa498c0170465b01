#include "consumer.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "config.h"
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

static void free_strv(char **v, size_t n) {
  for (size_t i = 0; i < n; i++) wsc__free(v[i]);
  wsc__free(v);
}

static void clear_doc(wsc__handler *h) {
  wsc_schema_free(h->input);
  wsc_schema_free(h->output);
  wsc__free(h->summary);
  wsc__free(h->description);
  free_strv(h->tags, h->ntags);
  h->input = h->output = NULL;
  h->summary = h->description = NULL;
  h->tags = NULL;
  h->ntags = 0;
}

static void free_table(wsc__handler_table *t) {
  for (size_t i = 0; i < t->n; i++) {
    if (t->v[i].free_user_data) t->v[i].free_user_data(t->v[i].user_data);
    wsc__free(t->v[i].action);
    clear_doc(&t->v[i]);
  }
  wsc__free(t->v);
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
  wsc__free(c->discriminator);
  free_strv(c->log_ignored, c->nlog_ignored);
  wsc__free(c->jwt_secret);
  wsc__free(c->jwt_query_param);
  wsc__free(c->jwt_user_claim);
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
  char *name = NULL;
  if (!action || !*action || !fn)
    rc = WSC_EINVAL;
  else if (wsc__handler_find(t, action))
    rc = WSC_EEXIST;
  else if (wsc__grow((void **)&t->v, &t->cap, t->n + 1, sizeof *t->v) ||
           !(name = wsc__strdup(action)))
    rc = WSC_ENOMEM;
  if (rc) {
    if (free_ud) free_ud(ud);
    return rc;
  }
  wsc__handler *h = &t->v[t->n++];
  memset(h, 0, sizeof *h);
  h->action = name;
  h->fn = fn;
  h->user_data = ud;
  h->free_user_data = free_ud;
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
  /* 0.1's struct ended after on_disconnect; later fields stay NULL. */
  size_t v1 = offsetof(wsc_consumer_hooks, permit);
  if (!c || !hooks || hooks->struct_size < v1) {
    if (free_user_data) free_user_data(user_data);
    return WSC_EINVAL;
  }
  if (c->hooks_free) c->hooks_free(c->hooks_ud);
  memset(&c->hooks, 0, sizeof c->hooks);
  memcpy(&c->hooks, hooks,
         hooks->struct_size < sizeof c->hooks ? hooks->struct_size : sizeof c->hooks);
  c->hooks.struct_size = sizeof c->hooks;
  c->hooks_ud = user_data;
  c->hooks_free = free_user_data;
  return 0;
}

const char *wsc__consumer_layer(const wsc_consumer *c) {
  return c->layer ? c->layer : "default";
}

/* ---- documentation and options ------------------------------------------ */

void wsc_handler_doc_init(wsc_handler_doc *d) {
  if (!d) return;
  memset(d, 0, sizeof *d);
  d->struct_size = sizeof *d;
}

static int compile_schema(const char *text, const char *which, wsc_schema **out,
                          char *err, size_t errlen) {
  if (!text) return 0;
  char why[WSC_ERRBUF_SIZE] = "";
  int rc = wsc_schema_new(text, strlen(text), out, why, sizeof why);
  if (rc && err && errlen) snprintf(err, errlen, "%s: %s", which, why);
  return rc;
}

int wsc_consumer_document(wsc_consumer *c, wsc_handler_kind kind,
                          const char *action, const wsc_handler_doc *doc,
                          char *err, size_t errlen) {
  if (err && errlen) err[0] = '\0';
  if (!c || !action || !doc || doc->struct_size < sizeof *doc ||
      (doc->ntags && !doc->tags) ||
      (kind != WSC_WS_HANDLER && kind != WSC_EVENT_HANDLER))
    return WSC_EINVAL;
  wsc__handler *h = (wsc__handler *)wsc__handler_find(
      kind == WSC_WS_HANDLER ? &c->actions : &c->events, action);
  if (!h) return WSC_ENOTFOUND;
  wsc__handler d;
  memset(&d, 0, sizeof d);
  int rc = compile_schema(doc->input_schema, "input_schema", &d.input, err,
                          errlen);
  if (!rc)
    rc = compile_schema(doc->output_schema, "output_schema", &d.output, err,
                        errlen);
  if (!rc && doc->summary && !(d.summary = wsc__strdup(doc->summary)))
    rc = WSC_ENOMEM;
  if (!rc && doc->description &&
      !(d.description = wsc__strdup(doc->description)))
    rc = WSC_ENOMEM;
  size_t cap = 0;
  for (size_t i = 0; !rc && i < doc->ntags; i++)
    if (!doc->tags[i])
      rc = WSC_EINVAL;
    else if ((rc = push_str(&d.tags, &d.ntags, &cap, doc->tags[i])) ==
             WSC_EEXIST)
      rc = 0;
  if (rc) {
    clear_doc(&d);
    return rc;
  }
  clear_doc(h);
  h->input = d.input;
  h->output = d.output;
  h->summary = d.summary;
  h->description = d.description;
  h->tags = d.tags;
  h->ntags = d.ntags;
  return 0;
}

void wsc_consumer_options_init(wsc_consumer_options *o) {
  if (!o) return;
  memset(o, 0, sizeof *o);
  o->struct_size = sizeof *o;
  o->discriminator_field = WSC_DEFAULT_DISCRIMINATOR;
}

static int set_ignored(wsc_consumer *c, const char *const *v, size_t n) {
  char **list = NULL;
  size_t cnt = 0, cap = 0;
  for (size_t i = 0; i < n; i++) {
    int rc = v[i] ? push_str(&list, &cnt, &cap, v[i]) : WSC_EINVAL;
    if (rc && rc != WSC_EEXIST) {
      free_strv(list, cnt);
      return rc;
    }
  }
  free_strv(c->log_ignored, c->nlog_ignored);
  c->log_ignored = list;
  c->nlog_ignored = cnt;
  c->log_ignored_cap = cap;
  return 0;
}

int wsc_consumer_set_options(wsc_consumer *c, const wsc_consumer_options *o) {
  if (!c || !o || o->struct_size < sizeof *o ||
      (o->discriminator_field && !*o->discriminator_field) ||
      (o->n_log_ignored_actions && !o->log_ignored_actions))
    return WSC_EINVAL;
  const char *d =
      o->discriminator_field ? o->discriminator_field : WSC_DEFAULT_DISCRIMINATOR;
  int rc = replace_str(&c->discriminator, d);
  if (!rc) rc = set_ignored(c, o->log_ignored_actions, o->n_log_ignored_actions);
  if (rc) return rc;
  c->camelize = !!o->camelize;
  c->send_completion = !!o->send_completion;
  c->send_auth_message = !!o->send_authentication_message;
  c->log_messages = !!o->log_websocket_message;
  c->group_metadata = !!o->group_message_metadata;
  return 0;
}

int wsc__consumer_logs(const wsc_consumer *c, const char *action) {
  if (!c->log_messages) return 0;
  if (action) {
    static const char *const completion[] = {"complete", "group_complete",
                                             "event_complete"};
    for (size_t i = 0; i < 3; i++)
      if (strcmp(action, completion[i]) == 0) return 0;
    for (size_t i = 0; i < c->nlog_ignored; i++)
      if (strcmp(action, c->log_ignored[i]) == 0) return 0;
  }
  return 1;
}

static void apply_flag(int *dst, int cfg_value) {
  if (cfg_value >= 0) *dst = cfg_value;
}

static int apply_config(wsc_consumer *c, const wsc__consumer_cfg *cc) {
  int rc = 0;
  if (cc->layer) rc = replace_str(&c->layer, cc->layer);
  if (!rc && cc->discriminator)
    rc = replace_str(&c->discriminator, cc->discriminator);
  if (!rc && cc->has_log_ignored)
    rc = set_ignored(c, (const char *const *)cc->log_ignored,
                     cc->nlog_ignored);
  if (!rc && cc->has_groups) {
    free_strv(c->groups, c->ngroups);
    c->groups = NULL;
    c->ngroups = c->groups_cap = 0;
    for (size_t i = 0; !rc && i < cc->ngroups; i++)
      if ((rc = push_str(&c->groups, &c->ngroups, &c->groups_cap,
                         cc->groups[i])) == WSC_EEXIST)
        rc = 0;
  }
  apply_flag(&c->camelize, cc->camelize);
  apply_flag(&c->send_completion, cc->send_completion);
  apply_flag(&c->send_auth_message, cc->send_auth_message);
  apply_flag(&c->log_messages, cc->log_messages);
  apply_flag(&c->group_metadata, cc->group_metadata);
  if (!rc && cc->jwt_secret) {
    wsc__free(c->jwt_secret);
    wsc__free(c->jwt_query_param);
    wsc__free(c->jwt_user_claim);
    c->jwt_secret = wsc__strdup(cc->jwt_secret);
    c->jwt_query_param = wsc__strdup(cc->jwt_query_param);
    c->jwt_user_claim = wsc__strdup(cc->jwt_user_claim);
    c->jwt_leeway = cc->jwt_leeway;
    if (!c->jwt_secret || !c->jwt_query_param || !c->jwt_user_claim) rc = WSC_ENOMEM;
  }
  return rc;
}

const char *wsc__consumer_discriminator(const wsc_consumer *c) {
  return c->discriminator ? c->discriminator : WSC_DEFAULT_DISCRIMINATOR;
}

int wsc__consumer_seal(wsc_consumer *c, const wsc__consumer_cfg *cc) {
  int rc = cc ? apply_config(c, cc) : 0;
  if (rc) return rc;
  /* Pydantic lists the union's tags in declaration order; the built-in ping
   * comes last when the consumer has no ping handler of its own. */
  size_t need = 16;
  for (size_t i = 0; i < c->actions.n; i++)
    need += strlen(c->actions.v[i].action) + 4;
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
