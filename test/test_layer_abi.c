/* The layer driver ABI: a driver written against a frozen copy of the v1
 * table registers and serves real clients, and reads as up in the layer's
 * counters; the same driver with v2's backend_up reports its backend through
 * them; bad tables are refused with WSC_EVERSION or WSC_EINVAL. Static
 * asserts pin every v1 and v2 field's offset. */
#include <stddef.h>
#include <stdlib.h>

#include <uv.h>

#include "helpers/check.h"
#include "helpers/server_thread.h"
#include "helpers/ws_client.h"

/* ---- the v1 table exactly as published in 0.1; never edit ------------- */
typedef struct frozen_v1_ops {
  size_t struct_size;
  uint32_t abi_version;
  const char *name;
  int (*create)(const wsc_layer_host *, const cJSON *, void **, char *, size_t);
  int (*new_channel)(void *, void *, char *, size_t);
  void (*release_channel)(void *, const char *);
  int (*send)(void *, const char *, const char *, size_t, wsc_layer_done_fn,
              void *);
  int (*group_add)(void *, const char *, const char *);
  int (*group_discard)(void *, const char *, const char *);
  int (*group_send)(void *, const char *, const char *, size_t,
                    wsc_layer_done_fn, void *);
  void (*close)(void *, void (*)(void *), void *);
} frozen_v1_ops;

#define SAME_OFFSET(f) \
  _Static_assert(offsetof(frozen_v1_ops, f) == offsetof(wsc_layer_ops, f), #f)
SAME_OFFSET(struct_size);
SAME_OFFSET(abi_version);
SAME_OFFSET(name);
SAME_OFFSET(create);
SAME_OFFSET(new_channel);
SAME_OFFSET(release_channel);
SAME_OFFSET(send);
SAME_OFFSET(group_add);
SAME_OFFSET(group_discard);
SAME_OFFSET(group_send);
SAME_OFFSET(close);
_Static_assert(WSC_LAYER_ABI_V1 == 0x57530001u, "v1 value is published");

/* ---- v2 as published in 0.6: v1, then backend_up; never edit ---------- */
typedef struct frozen_v2_ops {
  frozen_v1_ops v1;
  int (*backend_up)(void *);
} frozen_v2_ops;
_Static_assert(offsetof(frozen_v2_ops, backend_up) == offsetof(wsc_layer_ops, backend_up),
               "backend_up");
_Static_assert(WSC_LAYER_ABI_V2 == 0x57530002u, "v2 value is published");

/* ---- "relay": a small third-party driver ------------------------------- */
enum { MAXCH = 16, MAXQ = 64 };
typedef struct relay {
  const wsc_layer_host *host;
  uv_idle_t idle;
  struct { char name[64]; void *receiver; } ch[MAXCH];
  struct { char group[64], channel[64]; int used; } member[MAXCH * 2];
  struct {
    char target[64];
    int is_group;
    char *msg;
    size_t len;
    wsc_layer_done_fn done;
    void *arg;
  } q[MAXQ];
  int nq, next_id;
  void (*done)(void *);
  void *done_arg;
} relay;

static void relay_drain(uv_idle_t *h) {
  relay *r = h->data;
  int n = r->nq;
  r->nq = 0;
  for (int i = 0; i < n; i++) {
    void *recv[MAXCH];
    size_t nr = 0;
    for (int c = 0; c < MAXCH; c++) {
      if (!r->ch[c].receiver) continue;
      int hit = 0;
      if (!r->q[i].is_group) hit = strcmp(r->ch[c].name, r->q[i].target) == 0;
      for (int m = 0; r->q[i].is_group && m < MAXCH * 2; m++)
        hit |= r->member[m].used && !strcmp(r->member[m].group, r->q[i].target) &&
               !strcmp(r->member[m].channel, r->ch[c].name);
      if (hit) recv[nr++] = r->ch[c].receiver;
    }
    if (nr) r->host->deliver(r->host->host_data, recv, nr, r->q[i].msg, r->q[i].len);
    if (r->q[i].done) r->q[i].done(r->q[i].arg, 0, NULL);
    free(r->q[i].msg);
  }
  if (!r->nq) uv_idle_stop(&r->idle);
}

static int relay_create(const wsc_layer_host *host, const cJSON *cfg, void **inst,
                        char *err, size_t errlen) {
  if (cJSON_GetArraySize(cfg) != 1) {
    snprintf(err, errlen, "config: layers.%s: relay takes no options", host->alias);
    return WSC_ECONFIG;
  }
  relay *r = calloc(1, sizeof *r);
  r->host = host;
  uv_idle_init(host->loop, &r->idle);
  r->idle.data = r;
  *inst = r;
  return 0;
}

static int relay_new_channel(void *inst, void *receiver, char *name, size_t n) {
  relay *r = inst;
  for (int c = 0; c < MAXCH; c++)
    if (!r->ch[c].receiver) {
      snprintf(r->ch[c].name, sizeof r->ch[c].name, "relay!%d", r->next_id++);
      r->ch[c].receiver = receiver;
      snprintf(name, n, "%s", r->ch[c].name);
      return 0;
    }
  return WSC_ENOMEM;
}

static void relay_release(void *inst, const char *name) {
  relay *r = inst;
  for (int c = 0; c < MAXCH; c++)
    if (r->ch[c].receiver && !strcmp(r->ch[c].name, name)) r->ch[c].receiver = NULL;
}

static int enqueue(relay *r, const char *target, int is_group, const char *msg,
                   size_t len, wsc_layer_done_fn done, void *arg) {
  if (r->nq == MAXQ) return WSC_EFULL;
  r->q[r->nq].done = done;
  r->q[r->nq].arg = arg;
  snprintf(r->q[r->nq].target, 64, "%s", target);
  r->q[r->nq].is_group = is_group;
  r->q[r->nq].msg = malloc(len);
  memcpy(r->q[r->nq].msg, msg, len);
  r->q[r->nq].len = len;
  r->nq++;
  uv_idle_start(&r->idle, relay_drain);
  return 0;
}

static int relay_send(void *inst, const char *ch, const char *msg, size_t len,
                      wsc_layer_done_fn done, void *arg) {
  return enqueue(inst, ch, 0, msg, len, done, arg);
}
static int relay_group_send(void *inst, const char *g, const char *msg,
                            size_t len, wsc_layer_done_fn done, void *arg) {
  return enqueue(inst, g, 1, msg, len, done, arg);
}

static int relay_group_add(void *inst, const char *g, const char *ch) {
  relay *r = inst;
  for (int m = 0; m < MAXCH * 2; m++)
    if (!r->member[m].used) {
      snprintf(r->member[m].group, 64, "%s", g);
      snprintf(r->member[m].channel, 64, "%s", ch);
      r->member[m].used = 1;
      return 0;
    }
  return WSC_ENOMEM;
}

static int relay_group_discard(void *inst, const char *g, const char *ch) {
  relay *r = inst;
  for (int m = 0; m < MAXCH * 2; m++)
    if (r->member[m].used && !strcmp(r->member[m].group, g) &&
        !strcmp(r->member[m].channel, ch))
      r->member[m].used = 0;
  return 0;
}

static void relay_closed(uv_handle_t *h) {
  relay *r = h->data;
  for (int i = 0; i < r->nq; i++) free(r->q[i].msg);
  void (*done)(void *) = r->done;
  void *arg = r->done_arg;
  free(r);
  done(arg);
}

static void relay_close(void *inst, void (*done)(void *), void *arg) {
  relay *r = inst;
  for (int i = 0; i < r->nq; i++)
    if (r->q[i].done) r->q[i].done(r->q[i].arg, WSC_ECLOSED, "closed");
  r->done = done;
  r->done_arg = arg;
  uv_close((uv_handle_t *)&r->idle, relay_closed);
}

static const frozen_v1_ops relay_ops = {
    sizeof(frozen_v1_ops), WSC_LAYER_ABI_V1, "relay", relay_create,
    relay_new_channel, relay_release, relay_send, relay_group_add,
    relay_group_discard, relay_group_send, relay_close};

/* The same driver as v2, its backend's state set by the test. */
static int relay_backend_is_up = 1;
static int relay_backend_up(void *inst) {
  (void)inst;
  return relay_backend_is_up;
}

/* ---- tests ------------------------------------------------------------- */

static int on_say(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)ud;
  return wsc_conn_broadcast_json(c, cJSON_GetObjectItem(msg, "payload"), NULL, 0, 0);
}

static void test_v1_driver_serves_clients(void) {
  char err[WSC_ERRBUF_SIZE];
  CHECK_OK(wsc_layer_register((const wsc_layer_ops *)&relay_ops, err, sizeof err));
  wsc_consumer *c;
  CHECK_OK(wsc_consumer_new("chat", &c));
  CHECK_OK(wsc_consumer_add_group(c, "everyone"));
  CHECK_OK(wsc_consumer_on(c, "say", on_say, NULL, NULL));
  wst_server *srv = wst_server_start(
      "{\"layers\":{\"default\":{\"driver\":\"relay\"}},"
      "\"routes\":[{\"path\":\"/ws\",\"consumer\":\"chat\"}]}", &c, 1);
  wst_client *a = wst_open(wst_port(srv), "/ws"), *b = wst_open(wst_port(srv), "/ws");
  wst_send_text(b, "{\"action\":\"ping\"}");
  wst_expect(b, "{\"action\":\"pong\",\"payload\":null}");
  wst_send_text(a, "{\"action\":\"say\",\"payload\":{\"action\":\"said\",\"payload\":1}}");
  wst_expect(a, "{\"action\":\"said\",\"payload\":1}");
  wst_expect(b, "{\"action\":\"said\",\"payload\":1}");
  /* The core counts its sends; without backend_up it reads as up. */
  wsc_layer_stats ls = wst_layer_stats(srv);
  CHECK_EQ(ls.sends_taken, 1);
  CHECK_EQ(ls.sends_ok, 1);
  CHECK_EQ(ls.received, 1);
  CHECK_EQ(ls.backend_up, 1);
  wst_close(a, 1000);
  wst_close(b, 1000);
  wst_server_stop(srv);
}

static void test_v2_driver_reports_its_backend(void) {
  frozen_v2_ops t = {relay_ops, relay_backend_up};
  t.v1.struct_size = sizeof t;
  t.v1.abi_version = WSC_LAYER_ABI_V2;
  t.v1.name = "relay2";
  char err[WSC_ERRBUF_SIZE];
  CHECK_OK(wsc_layer_register((const wsc_layer_ops *)&t, err, sizeof err));
  wsc_consumer *c;
  CHECK_OK(wsc_consumer_new("chat", &c));
  wst_server *srv = wst_server_start(
      "{\"layers\":{\"default\":{\"driver\":\"relay2\"}},"
      "\"routes\":[{\"path\":\"/ws\",\"consumer\":\"chat\"}]}", &c, 1);
  CHECK_EQ(wst_layer_stats(srv).backend_up, 1);
  relay_backend_is_up = 0;
  CHECK_EQ(wst_layer_stats(srv).backend_up, 0);
  relay_backend_is_up = 1;
  CHECK_EQ(wst_layer_stats(srv).backend_up, 1);
  wst_server_stop(srv);
}

static void test_bad_tables_are_refused(void) {
  char err[WSC_ERRBUF_SIZE];
  frozen_v1_ops t = relay_ops;
  t.name = "other";
  t.abi_version = 0x12340001u;
  CHECK_EQ(wsc_layer_register((const wsc_layer_ops *)&t, err, sizeof err), WSC_EVERSION);
  CHECK_CONTAINS(err, "bad ABI magic");
  t.abi_version = WSC_LAYER_ABI_MAGIC | 99u;
  CHECK_EQ(wsc_layer_register((const wsc_layer_ops *)&t, err, sizeof err), WSC_EVERSION);
  CHECK_CONTAINS(err, "newer wschannels layer ABI");
  t.abi_version = WSC_LAYER_ABI_V1;
  t.struct_size = offsetof(frozen_v1_ops, close);
  CHECK_EQ(wsc_layer_register((const wsc_layer_ops *)&t, err, sizeof err), WSC_EVERSION);
  CHECK_CONTAINS(err, "smaller than the v1 table");
  t.struct_size = sizeof t;
  t.group_send = NULL;
  CHECK_EQ(wsc_layer_register((const wsc_layer_ops *)&t, err, sizeof err), WSC_EINVAL);
  t = relay_ops;
  CHECK_EQ(wsc_layer_register((const wsc_layer_ops *)&t, err, sizeof err), WSC_EEXIST);
  t.name = "memory";
  CHECK_EQ(wsc_layer_register((const wsc_layer_ops *)&t, err, sizeof err), WSC_EEXIST);
  CHECK_EQ(wsc_layer_register(NULL, err, sizeof err), WSC_EINVAL);
}

static void test_driver_config_errors_reach_the_caller(void) {
  wsc_consumer *c;
  CHECK_OK(wsc_consumer_new("chat", &c));
  wsc_server_options o;
  wsc_server_options_init(&o);
  o.port = 0;
  o.config_json = "{\"layers\":{\"default\":{\"driver\":\"relay\",\"x\":1}}}";
  o.consumers = &c;
  o.n_consumers = 1;
  wsc_server *srv;
  char err[WSC_ERRBUF_SIZE];
  CHECK_EQ(wsc_server_new(&o, &srv, err, sizeof err), WSC_ECONFIG);
  CHECK_STREQ(err, "config: layers.default: relay takes no options");
  wsc_consumer_free(c);
}

int main(void) {
  RUN(test_v1_driver_serves_clients);
  RUN(test_v2_driver_reports_its_backend);
  RUN(test_bad_tables_are_refused);
  RUN(test_driver_config_errors_reach_the_caller);
  return 0;
}
