/* The AsyncAPI 3.0 document, generated from the routes and the consumers'
 * handlers as Chanx maps them (seed 003, "AsyncAPI Documentation Mapping"):
 *   one channel per route (its address, with path parameters);
 *   a WebSocket handler -> a "receive" operation with its input message,
 *     and a reply when it has an output;
 *   an event handler -> a "send" operation with its output message only
 *     (the event itself is internal and not documented);
 *   messages in components, their payload the handlers' JSON Schemas. */
#include "asyncapi.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "consumer.h"
#include "server.h"
#include "wschannels/error.h"

typedef struct gen {
  cJSON *doc, *channels, *operations, *messages;
  int nomem;
} gen;

/* Keys of channels, operations and messages: ^[A-Za-z0-9_-]+$. */
static void key_from(char *out, size_t n, const char *s) {
  size_t o = 0;
  for (; *s && o + 1 < n; s++)
    out[o++] = isalnum((unsigned char)*s) || *s == '-' || *s == '_' ? *s : '_';
  if (o == 0 && n > 1) out[o++] = '_';
  out[o] = '\0';
}

/* "room_chat" -> "RoomChat". */
static void camel_from(char *out, size_t n, const char *s) {
  size_t o = 0;
  int up = 1;
  for (; *s && o + 1 < n; s++) {
    if (!isalnum((unsigned char)*s)) {
      up = 1;
      continue;
    }
    out[o++] = up ? (char)toupper((unsigned char)*s) : *s;
    up = 0;
  }
  out[o] = '\0';
}

static cJSON *add_obj(gen *g, cJSON *parent, const char *key) {
  cJSON *o = cJSON_AddObjectToObject(parent, key);
  if (!o) g->nomem = 1;
  return o;
}

static void add_str(gen *g, cJSON *o, const char *key, const char *v) {
  if (v && !cJSON_AddStringToObject(o, key, v)) g->nomem = 1;
}

static void add_ref(gen *g, cJSON *arr_or_obj, const char *key,
                    const char *ref) {
  cJSON *r = cJSON_CreateObject();
  if (!r || !cJSON_AddStringToObject(r, "$ref", ref)) {
    cJSON_Delete(r);
    g->nomem = 1;
    return;
  }
  if (key ? !cJSON_AddItemToObject(arr_or_obj, key, r)
          : !cJSON_AddItemToArray(arr_or_obj, r)) {
    cJSON_Delete(r);
    g->nomem = 1;
  }
}

static void add_tags(gen *g, cJSON *o, char *const *tags, size_t n) {
  if (!n) return;
  cJSON *arr = cJSON_AddArrayToObject(o, "tags");
  if (!arr) {
    g->nomem = 1;
    return;
  }
  for (size_t i = 0; i < n; i++) {
    cJSON *t = cJSON_CreateObject();
    if (!t || !cJSON_AddStringToObject(t, "name", tags[i]) ||
        !cJSON_AddItemToArray(arr, t)) {
      cJSON_Delete(t);
      g->nomem = 1;
    }
  }
}

/* The message's name: the schema's title, else derived from the action. */
static void message_name(char *out, size_t n, const cJSON *schema,
                         const char *action, const char *suffix) {
  const cJSON *title = cJSON_GetObjectItemCaseSensitive(schema, "title");
  const cJSON *props = cJSON_GetObjectItemCaseSensitive(schema, "properties");
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(props, "action");
  const cJSON *cst = cJSON_GetObjectItemCaseSensitive(a, "const");
  char base[128];
  if (cJSON_IsString(title) && title->valuestring[0]) {
    key_from(out, n, title->valuestring);
    return;
  }
  if (cJSON_IsString(cst)) {
    camel_from(base, sizeof base, cst->valuestring);
    snprintf(out, n, "%sMessage", base);
  } else {
    camel_from(base, sizeof base, action);
    snprintf(out, n, "%s%s", base, suffix);
  }
  char tmp[160];
  key_from(tmp, sizeof tmp, out);
  snprintf(out, n, "%s", tmp);
}

/* Puts `schema` in components/messages under a unique name (reusing one
 * that holds the same schema) and returns that name in `id`. */
static void add_message(gen *g, const cJSON *schema, const char *action,
                        const char *suffix, char *id, size_t idlen) {
  char base[160];
  message_name(base, sizeof base, schema, action, suffix);
  for (int i = 1;; i++) {
    if (i == 1)
      snprintf(id, idlen, "%s", base);
    else
      snprintf(id, idlen, "%s_%d", base, i);
    const cJSON *have = cJSON_GetObjectItemCaseSensitive(g->messages, id);
    if (!have) break;
    if (cJSON_Compare(cJSON_GetObjectItemCaseSensitive(have, "payload"),
                      schema, 1))
      return;
  }
  cJSON *m = add_obj(g, g->messages, id);
  if (!m) return;
  add_str(g, m, "name", id);
  const cJSON *title = cJSON_GetObjectItemCaseSensitive(schema, "title");
  add_str(g, m, "title", cJSON_IsString(title) ? title->valuestring : id);
  add_str(g, m, "contentType", "application/json");
  cJSON *p = cJSON_Duplicate(schema, 1);
  if (!p || !cJSON_AddItemToObject(m, "payload", p)) {
    cJSON_Delete(p);
    g->nomem = 1;
  }
}

/* A message schema for a handler that declared none: {"action": const}. */
static cJSON *bare_schema(const char *action) {
  cJSON *s = cJSON_CreateObject(), *props = cJSON_AddObjectToObject(s, "properties");
  cJSON *a = cJSON_AddObjectToObject(props, "action");
  cJSON_AddStringToObject(a, "const", action);
  cJSON *req = cJSON_AddArrayToObject(s, "required");
  cJSON_AddItemToArray(req, cJSON_CreateString("action"));
  cJSON_AddStringToObject(s, "type", "object");
  return s;
}

/* Registers a message on the channel; returns the operation's ref to it. */
static void channel_message(gen *g, cJSON *chan, const char *chan_id,
                            const cJSON *schema, const char *action,
                            const char *suffix, char *ref, size_t reflen) {
  char id[192];
  add_message(g, schema, action, suffix, id, sizeof id);
  cJSON *msgs = cJSON_GetObjectItemCaseSensitive(chan, "messages");
  if (!cJSON_GetObjectItemCaseSensitive(msgs, id)) {
    char cref[256];
    snprintf(cref, sizeof cref, "#/components/messages/%s", id);
    add_ref(g, msgs, id, cref);
  }
  snprintf(ref, reflen, "#/channels/%s/messages/%s", chan_id, id);
}

typedef struct op_in {
  const char *action;
  const char *kind; /* "receive" or "send" */
  const cJSON *message, *reply; /* schemas; reply may be NULL */
  const char *summary, *description;
  char *const *tags;
  size_t ntags;
} op_in;

static void add_operation(gen *g, cJSON *chan, const char *chan_id,
                          const op_in *in) {
  char op_id[256], akey[128], ref[512], cref[256];
  key_from(akey, sizeof akey, in->action);
  snprintf(op_id, sizeof op_id, "%s_%s_%s", chan_id, in->kind, akey);
  cJSON *op = add_obj(g, g->operations, op_id);
  if (!op) return;
  snprintf(cref, sizeof cref, "#/channels/%s", chan_id);
  add_str(g, op, "action", in->kind);
  add_ref(g, op, "channel", cref);
  add_str(g, op, "summary", in->summary);
  add_str(g, op, "description", in->description);
  add_tags(g, op, in->tags, in->ntags);
  cJSON *msgs = cJSON_AddArrayToObject(op, "messages");
  if (!msgs) {
    g->nomem = 1;
    return;
  }
  channel_message(g, chan, chan_id, in->message, in->action,
                  strcmp(in->kind, "send") == 0 ? "Event" : "Message", ref,
                  sizeof ref);
  add_ref(g, msgs, NULL, ref);
  if (!in->reply) return;
  cJSON *reply = add_obj(g, op, "reply");
  if (!reply) return;
  add_ref(g, reply, "channel", cref);
  cJSON *rm = cJSON_AddArrayToObject(reply, "messages");
  if (!rm) {
    g->nomem = 1;
    return;
  }
  channel_message(g, chan, chan_id, in->reply, in->action, "Reply", ref,
                  sizeof ref);
  add_ref(g, rm, NULL, ref);
}

static const cJSON *schema_or(const wsc_schema *s, cJSON **bare,
                              const char *action) {
  if (s) return wsc_schema_json(s);
  *bare = bare_schema(action);
  return *bare;
}

static void add_consumer_ops(gen *g, cJSON *chan, const char *chan_id,
                             const wsc_consumer *c) {
  static const char *const pong_schema =
      "{\"title\":\"PongMessage\",\"type\":\"object\",\"properties\":{"
      "\"action\":{\"const\":\"pong\"},\"payload\":{\"type\":\"null\","
      "\"default\":null}},\"required\":[\"action\"]}";
  static const char *const ping_schema =
      "{\"title\":\"PingMessage\",\"type\":\"object\",\"properties\":{"
      "\"action\":{\"const\":\"ping\"},\"payload\":{\"default\":null}},"
      "\"required\":[\"action\"]}";
  for (size_t i = 0; i < c->actions.n; i++) {
    const wsc__handler *h = &c->actions.v[i];
    cJSON *bare = NULL;
    op_in in = {h->action, "receive", schema_or(h->input, &bare, h->action),
                h->output ? wsc_schema_json(h->output) : NULL,
                h->summary, h->description, h->tags, h->ntags};
    add_operation(g, chan, chan_id, &in);
    cJSON_Delete(bare);
  }
  if (!wsc__handler_find(&c->actions, "ping")) { /* the built-in one */
    cJSON *ping = cJSON_Parse(ping_schema), *pong = cJSON_Parse(pong_schema);
    op_in in = {"ping", "receive", ping, pong, "Ping the server", NULL, NULL, 0};
    if (ping && pong)
      add_operation(g, chan, chan_id, &in);
    else
      g->nomem = 1;
    cJSON_Delete(ping);
    cJSON_Delete(pong);
  }
  for (size_t i = 0; i < c->events.n; i++) {
    const wsc__handler *h = &c->events.v[i];
    if (!h->output) continue; /* sends nothing the client could see */
    op_in in = {h->action, "send", wsc_schema_json(h->output), NULL,
                h->summary, h->description, h->tags, h->ntags};
    add_operation(g, chan, chan_id, &in);
  }
}

static void add_route(gen *g, const wsc__route *r) {
  const wsc_consumer *c = r->target;
  char chan_id[160], base[128];
  key_from(base, sizeof base, c->name);
  snprintf(chan_id, sizeof chan_id, "%s", base);
  for (int i = 2; cJSON_GetObjectItemCaseSensitive(g->channels, chan_id); i++)
    snprintf(chan_id, sizeof chan_id, "%s_%d", base, i);
  cJSON *ch = add_obj(g, g->channels, chan_id);
  if (!ch) return;
  add_str(g, ch, "address", r->pattern);
  add_str(g, ch, "title", c->name);
  add_str(g, ch, "description", c->description);
  add_tags(g, ch, c->tags, c->ntags);
  cJSON *params = NULL;
  for (size_t i = 0; i < r->nsegs; i++) {
    const char *seg = r->segs[i];
    size_t n = strlen(seg);
    if (n < 3 || seg[0] != '{' || seg[n - 1] != '}') continue;
    char name[128], desc[192];
    snprintf(name, sizeof name, "%.*s", (int)(n - 2), seg + 1);
    if (!params && !(params = add_obj(g, ch, "parameters"))) return;
    cJSON *p = add_obj(g, params, name);
    snprintf(desc, sizeof desc, "Path parameter %s", name);
    if (p) add_str(g, p, "description", desc);
  }
  if (!add_obj(g, ch, "messages")) return;
  add_consumer_ops(g, ch, chan_id, c);
}

char *wsc__asyncapi_json(const wsc_server *srv, const char *host,
                         size_t *len) {
  const wsc__asyncapi_cfg *a = &srv->cfg.asyncapi;
  gen g = {0};
  g.doc = cJSON_CreateObject();
  if (!g.doc) return NULL;
  add_str(&g, g.doc, "asyncapi", "3.0.0");
  cJSON *info = add_obj(&g, g.doc, "info");
  if (info) {
    add_str(&g, info, "title", a->title);
    add_str(&g, info, "version", a->version);
    add_str(&g, info, "description", a->description);
  }
  char where[300];
  if (!host || !*host) {
    snprintf(where, sizeof where, "%s:%d",
             strcmp(srv->cfg.host, "0.0.0.0") == 0 ? "localhost" : srv->cfg.host,
             srv->port);
    host = where;
  }
  cJSON *servers = add_obj(&g, g.doc, "servers");
  cJSON *dev = servers ? add_obj(&g, servers, "development") : NULL;
  if (dev) {
    add_str(&g, dev, "host", a->server ? a->server : host);
    add_str(&g, dev, "protocol", "ws");
    add_str(&g, dev, "description", "wschannels server");
  }
  g.channels = add_obj(&g, g.doc, "channels");
  g.operations = add_obj(&g, g.doc, "operations");
  cJSON *comp = add_obj(&g, g.doc, "components");
  g.messages = comp ? add_obj(&g, comp, "messages") : NULL;
  for (size_t i = 0; !g.nomem && i < srv->router.n; i++)
    add_route(&g, &srv->router.routes[i]);
  char *out = g.nomem ? NULL : cJSON_PrintUnformatted(g.doc);
  cJSON_Delete(g.doc);
  if (out && len) *len = strlen(out);
  return out;
}

int wsc_server_asyncapi(wsc_server *srv, const char *host, char **out,
                        size_t *len) {
  if (!srv || !out) return WSC_EINVAL;
  *out = NULL;
  if (!wsc__on_loop_thread(srv)) return WSC_ETHREAD;
  size_t n = 0;
  char *doc = wsc__asyncapi_json(srv, host, &n);
  char *copy = doc ? wsc__malloc(n + 1) : NULL;
  if (copy) memcpy(copy, doc, n + 1);
  cJSON_free(doc);
  if (!copy) return WSC_ENOMEM;
  *out = copy;
  if (len) *len = n;
  return 0;
}
