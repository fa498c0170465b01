/* The Redis queue channel layer, with channels_redis' RedisChannelLayer
 * semantics, on Redis Streams:
 *
 * - A channel is a stream at "<prefix><name>". This process's connection
 *   channels ("specific.<process>!<n>") share one stream,
 *   "<prefix>specific.<process>!"; an entry names its target channel, or the
 *   group it was sent to.
 * - send: one Lua script drops entries older than `expiry`, refuses with
 *   "channel full" at capacity, else XADD and refresh the key's expiry.
 *   A named channel's capacity is `capacity` (100). A process's stream is
 *   shared by all its connections and drained while the process lives, so
 *   `capacity` there would refuse bursts to live clients; it is bounded by
 *   `expiry` and by `process_capacity` (100000) against dead processes.
 * - Groups are sorted sets "<prefix>:group:<group>" scored by join time.
 *   Members are this process's stream name ("specific.<process>!") while it
 *   has connections in the group (it knows which, and fans out locally),
 *   and any other channel names added to the group. So a group send is one
 *   Lua script that writes once per process, with a small entry, whatever
 *   the number of connections; members older than `group_expiry` are
 *   dropped. (channels_redis lists every member channel in every message.)
 * - Receiving: one XREAD BLOCK on a connection of its own, from the last
 *   entry id read. Entries are deleted only after delivery, so whatever Redis
 *   accepted is delivered once this process can read again, even after a
 *   reconnect (a BZPOPMIN-style pop would lose the entry whose reply died
 *   with the connection). Expired entries are dropped on receipt.
 * - This process re-adds itself to its groups every group_expiry/3, so a
 *   connected client is never silently dropped from its groups (the
 *   channels_redis complaint).
 * - A process is alive while its key "<prefix>:alive:<proc>!" exists: set
 *   with a time to live of `expiry` and renewed every second (or every
 *   expiry/3 if shorter) with one SET .. GET. A group send removes a
 *   process member whose key is gone, so a dead process stops costing every
 *   group send a write within `expiry` (60 s), not after group_expiry (a
 *   day: the channels_redis zombie-member complaint). A process that finds
 *   its key gone at renewal (Redis lost its data, or the process's loop
 *   stalled longer than `expiry`), or itself missing from a group it sends
 *   to, re-adds its memberships.
 * - Sends made while Redis is unreachable fail at once with WSC_ELAYER. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../alloc.h"
#include "../layer.h"
#include "../config.h"
#include "../strmap.h"
#include "redis_common.h"
#include "wschannels/error.h"

#define READ_BLOCK_MS "5000"
#define READ_BLOCK_GRACE_MS 5000 /* the read's answer may take this long */
#define READ_COUNT "512"
#define REREAD_MS 1000
#define ALIVE_CHECK_MS 1000

/* KEYS[1] stream; ARGV target, message, capacity, expiry ms. */
static const char SEND_LUA[] =
    "local t = redis.call('TIME')\n"
    "local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"
    "redis.call('XTRIM', KEYS[1], 'MINID', now - tonumber(ARGV[4]))\n"
    "if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end\n"
    "redis.call('XADD', KEYS[1], '*', 't', ARGV[1], 'm', ARGV[2])\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[4])\n"
    "return 1\n";

/* KEYS[1] group set; ARGV message, capacity, expiry ms, group expiry ms,
 * prefix, process capacity, group name, and the sending process's member
 * if it has connections in the group (else ""). Missing from the set (Redis
 * lost its data), the sender is added back with its alive key, so its own
 * clients get the message and other processes' sends do not take it for
 * dead before it renews the key. A member ending in '!' is a process's
 * stream: it gets the group's name and fans out itself, unless the process
 * is no longer alive (then it leaves the group). Another process's
 * connection added by name ("x!3") goes to its process's stream ("x!") as a
 * target; a named channel to its own stream. A member whose key is not a
 * stream (channels_redis keeps sorted sets under the same default prefix)
 * is skipped, not allowed to abort the send for everyone. Returns {streams
 * full, members skipped, dead processes removed, sender added back}. */
static const char GROUP_SEND_LUA[] =
    "local t = redis.call('TIME')\n"
    "local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, now - tonumber(ARGV[4]))\n"
    "local back = 0\n"
    "if ARGV[8] ~= '' and redis.call('ZADD', KEYS[1], 'NX', now, ARGV[8]) == 1 then\n"
    "  redis.call('PEXPIRE', KEYS[1], ARGV[4])\n"
    "  redis.call('SET', ARGV[5] .. ':alive:' .. ARGV[8], '1', 'PX', ARGV[3], 'NX')\n"
    "  back = 1\n"
    "end\n"
    "local full, foreign, gone = 0, 0, 0\n"
    "for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do\n"
    "  local bang = string.find(m, '!', 1, true)\n"
    "  local proc = bang == #m\n"
    "  local key = ARGV[5] .. (bang and string.sub(m, 1, bang) or m)\n"
    "  if proc and m ~= ARGV[8] and\n"
    "      redis.call('EXISTS', ARGV[5] .. ':alive:' .. m) == 0 then\n"
    "    redis.call('ZREM', KEYS[1], m)\n"
    "    gone = gone + 1\n"
    "  else\n"
    "    local trimmed = redis.pcall('XTRIM', key, 'MINID', now - tonumber(ARGV[3]))\n"
    "    if type(trimmed) == 'table' and trimmed.err then foreign = foreign + 1\n"
    "    elseif redis.call('XLEN', key) < tonumber(bang and ARGV[6] or ARGV[2]) then\n"
    "      if proc then redis.call('XADD', key, '*', 'g', ARGV[7], 'm', ARGV[1])\n"
    "      else redis.call('XADD', key, '*', 't', m, 'm', ARGV[1]) end\n"
    "      redis.call('PEXPIRE', key, ARGV[3])\n"
    "    else full = full + 1 end\n"
    "  end\n"
    "end\n"
    "return {full, foreign, gone, back}\n";

/* KEYS[1] group set; ARGV channel, group expiry ms. */
static const char GROUP_ADD_LUA[] =
    "local t = redis.call('TIME')\n"
    "redis.call('ZADD', KEYS[1], t[1] * 1000 + math.floor(t[2] / 1000), "
    "ARGV[1])\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "return 1\n";

/* A send script, run by its SHA1 (EVALSHA): with EVAL, Redis hashes and
 * parses the text on every send (SHA1 alone was 9% of its time at 30,000
 * group sends a second). */
typedef struct script {
  const char *text;
  char sha[41]; /* "": run by EVAL */
  int loading;  /* a SCRIPT LOAD of it is unanswered */
} script;

typedef struct q_layer {
  wsc__redis_base b; /* first: the shared channel ops take the layer as it */
  wsc__redis_conn cmd, rx;
  script send_script, group_send_script;
  char stream[128]; /* <prefix><proc>! */
  char member[96];  /* <proc>!: this process in group sets */
  char alive[192];  /* <prefix>:alive:<proc>!: exists while this process lives */
  char last_id[48];
  int reading;
  unsigned long expiry_ms, group_expiry_ms;
  char capacity_s[24], process_capacity_s[24], expiry_s[24], group_expiry_s[24];
  wsc__strmap groups; /* group -> wsc__local_group: our members */
  uv_timer_t refresh;
  uv_timer_t reread; /* retries a read Redis refused (not a lost connection) */
  int read_failing;   /* the last read was refused: logged once per streak */
  int alive_set;      /* the alive key was set once: finding it gone is news */
  uint64_t refreshed_at; /* uv_now when the memberships were last re-added */
  int open_handles;
  void (*done)(void *);
  void *done_arg;
} q_layer;

static void group_key(q_layer *l, const char *group, char *out, size_t n) {
  snprintf(out, n, "%s:group:%s", l->b.prefix, group);
}

/* ---- receiving ------------------------------------------------------------ */

/* A command whose arguments are all C strings (at most 8). */
static int text_cmd(wsc__redis_conn *c, redisCallbackFn *fn, void *pd, int argc,
                    const char **argv) {
  size_t lens[8];
  if (argc > 8) return WSC_EINVAL;
  for (int i = 0; i < argc; i++) lens[i] = strlen(argv[i]);
  return wsc__redis_conn_cmd(c, fn, pd, argc, argv, lens);
}

static void read_more(q_layer *l);

static void on_reread(uv_timer_t *t) { read_more(t->data); }

static uint64_t wall_ms(void) {
  uv_timeval64_t tv;
  uv_gettimeofday(&tv);
  return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static const redisReply *field(const redisReply *fields, const char *name) {
  for (size_t i = 0; i + 1 < fields->elements; i += 2)
    if (strcmp(fields->element[i]->str, name) == 0) return fields->element[i + 1];
  return NULL;
}

static void on_entries(redisAsyncContext *ac, void *r, void *pd) {
  (void)ac;
  q_layer *l = pd;
  redisReply *reply = r;
  l->reading = 0;
  if (!reply) return; /* connection gone: rx_ready reads again */
  if (reply->type == REDIS_REPLY_ERROR) {
    /* E.g. WRONGTYPE: another program wrote our stream's key. Asking again
     * at once would spin and flood the log until someone fixes it. */
    if (!l->read_failing)
      wsc__host_logf(l->b.host, WSC_LOG_ERROR, "reading %s from %s: %s (retrying every %d ms)",
                      l->stream, l->b.url.masked, reply->str, REREAD_MS);
    l->read_failing = 1;
    uv_timer_start(&l->reread, on_reread, REREAD_MS, 0);
    return;
  }
  if (l->read_failing)
    wsc__host_logf(l->b.host, WSC_LOG_WARN, "reading %s from %s again", l->stream,
                    l->b.url.masked);
  l->read_failing = 0;
  if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1) {
    const redisReply *entries = reply->element[0]->element[1];
    uint64_t now = wall_ms();
    size_t expired = 0, n = entries->elements;
    const char **argv = wsc__calloc(n + 2, sizeof *argv);
    size_t *lens = wsc__calloc(n + 2, sizeof *lens);
    for (size_t i = 0; i < n; i++) {
      const redisReply *e = entries->element[i];
      const char *id = e->element[0]->str;
      const redisReply *t = field(e->element[1], "t"), *m = field(e->element[1], "m"),
                       *g = field(e->element[1], "g");
      if (argv) {
        argv[i + 2] = id;
        lens[i + 2] = e->element[0]->len;
      }
      snprintf(l->last_id, sizeof l->last_id, "%s", id);
      if (strtoull(id, NULL, 10) + l->expiry_ms < now) {
        expired++;
        continue;
      }
      if (g && m)
        wsc__lgroups_deliver(&l->b, &l->groups, g->str, m->str, m->len);
      else if (t && m)
        wsc__redis_deliver(&l->b, t->str, t->len, m->str, m->len);
    }
    if (expired) {
      wsc__host_logf(l->b.host, WSC_LOG_WARN,
                      "dropped %zu message(s) older than the expiry (%lu s) "
                      "on receipt", expired, l->expiry_ms / 1000);
      wsc__host_dropped(l->b.host, expired);
    }
    if (argv && lens && n) { /* delivered: remove them from Redis */
      argv[0] = "XDEL";
      lens[0] = 4;
      argv[1] = l->stream;
      lens[1] = strlen(l->stream);
      wsc__redis_conn_cmd(&l->rx, NULL, NULL, (int)n + 2, argv, lens);
    }
    wsc__free(argv);
    wsc__free(lens);
  }
  read_more(l);
}

static void read_more(q_layer *l) {
  if (l->reading || !l->rx.ready) return;
  const char *argv[] = {"XREAD", "COUNT", READ_COUNT, "BLOCK", READ_BLOCK_MS,
                        "STREAMS", l->stream, l->last_id};
  if (text_cmd(&l->rx, on_entries, l, 8, argv) == 0)
    l->reading = 1;
}

static void rx_ready(wsc__redis_conn *c, void *ud) {
  (void)c;
  q_layer *l = ud;
  l->reading = 0; /* the old read died with the old connection */
  read_more(l);
}

/* ---- memberships ------------------------------------------------------------ */

static void add_membership(q_layer *l, const char *group, const char *channel) {
  char gk[256];
  group_key(l, group, gk, sizeof gk);
  const char *argv[] = {"EVAL", GROUP_ADD_LUA, "1", gk, channel,
                        l->group_expiry_s};
  text_cmd(&l->cmd, NULL, NULL, 6, argv);
}

static void refresh_all(q_layer *l) {
  l->refreshed_at = uv_now(l->b.host->loop);
  WSC__STRMAP_FOREACH(&l->groups, s) add_membership(l, s->key, l->member);
}

/* SET .. GET answers nil when the key had gone: then group sends may have
 * removed this process from its groups, so it joins them again. */
static void on_alive_renewed(redisAsyncContext *ac, void *r, void *pd) {
  (void)ac;
  q_layer *l = pd;
  redisReply *reply = r;
  if (!reply || reply->type == REDIS_REPLY_ERROR) return;
  if (reply->type == REDIS_REPLY_NIL) {
    if (l->alive_set && l->groups.count) /* not the first: it went */
      wsc__host_logf(l->b.host, WSC_LOG_WARN,
                      "%s was gone from %s (Redis lost its data, or this process "
                      "stalled longer than the expiry); joining its %zu group(s) again",
                      l->alive, l->b.url.masked, l->groups.count);
    refresh_all(l);
  }
  l->alive_set = 1;
}

static void renew_alive(q_layer *l) {
  const char *argv[] = {"SET", l->alive, "1", "PX", l->expiry_s, "GET"};
  text_cmd(&l->cmd, on_alive_renewed, l, 6, argv);
}

static void on_refresh(uv_timer_t *t) {
  q_layer *l = t->data;
  renew_alive(l);
  if (uv_now(l->b.host->loop) - l->refreshed_at >= l->group_expiry_ms / 3)
    refresh_all(l);
}

/* ---- scripts ---------------------------------------------------------------- */

static void script_init(script *sc, const char *text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  sc->text = text;
  sc->sha[0] = '\0';
  if (!EVP_Digest(text, strlen(text), md, &n, EVP_sha1(), NULL) || n != 20) return;
  for (unsigned i = 0; i < n; i++) snprintf(sc->sha + 2 * i, 3, "%02x", md[i]);
}

static void on_script_loaded(redisAsyncContext *ac, void *r, void *pd) {
  (void)ac;
  script *sc = pd;
  redisReply *reply = r;
  sc->loading = 0;
  if (reply && reply->type == REDIS_REPLY_STRING && strcmp(reply->str, sc->sha) != 0)
    sc->sha[0] = '\0'; /* not the SHA1 Redis uses: EVAL from now on */
}

/* Sends SCRIPT LOAD for the send scripts: once a connection is made,
 * before any EVALSHA on it (Redis answers in order, so none can miss them;
 * sends queued while it was being made run by EVAL), and again after a
 * NOSCRIPT (a SCRIPT FLUSH meanwhile; the sends that met it were told). */
static void load_scripts(q_layer *l) {
  script *all[2] = {&l->send_script, &l->group_send_script};
  for (int i = 0; i < 2; i++) {
    const char *argv[] = {"SCRIPT", "LOAD", all[i]->text};
    if (!all[i]->loading && text_cmd(&l->cmd, on_script_loaded, all[i], 3, argv) == 0)
      all[i]->loading = 1;
  }
}

/* After a (re)connect: the scripts are loaded; if Redis lost the alive key
 * or it expired meanwhile, the renewal finds it gone and re-adds the
 * memberships. */
static void cmd_ready(wsc__redis_conn *c, void *ud) {
  (void)c;
  load_scripts(ud);
  renew_alive(ud);
}

/* ---- ops -------------------------------------------------------------------- */

static int q_create(const wsc_layer_host *host, const cJSON *cfg, void **inst,
                    char *err, size_t errlen) {
  static const char *const extra[] = {"capacity", "process_capacity",
                                      "expiry", "group_expiry", NULL};
  q_layer *l = wsc__calloc(1, sizeof *l);
  if (!l) return WSC_ENOMEM;
  char where[128];
  snprintf(where, sizeof where, "layers.%s", host->alias);
  unsigned long pcap;
  wsc__queue_limits lim;
  int rc = wsc__redis_base_init(&l->b, host, cfg, extra, err, errlen);
  if (!rc) rc = wsc__cfg_queue_limits(cfg, where, &lim, err, errlen);
  if (!rc)
    rc = wsc__cfg_get_uint(cfg, "process_capacity", 1, 100000000, 100000,
                           &pcap, where, err, errlen);
  if (!rc && l->b.version < 602) {
    snprintf(err, errlen, "config: %s.url: Redis at %s is older than 6.2 "
             "(streams with XTRIM MINID are needed)", where, l->b.url.masked);
    rc = WSC_ECONFIG;
  }
  if (rc) {
    wsc__free(l);
    return rc;
  }
  l->expiry_ms = lim.expiry_s * 1000;
  l->group_expiry_ms = lim.group_expiry_s * 1000;
  snprintf(l->capacity_s, sizeof l->capacity_s, "%lu", lim.capacity);
  snprintf(l->process_capacity_s, sizeof l->process_capacity_s, "%lu", pcap);
  snprintf(l->expiry_s, sizeof l->expiry_s, "%lu", l->expiry_ms);
  snprintf(l->group_expiry_s, sizeof l->group_expiry_s, "%lu",
           l->group_expiry_ms);
  snprintf(l->stream, sizeof l->stream, "%s%s!", l->b.prefix, l->b.proc);
  snprintf(l->member, sizeof l->member, "%s!", l->b.proc);
  snprintf(l->alive, sizeof l->alive, "%s:alive:%s", l->b.prefix, l->member);
  snprintf(l->last_id, sizeof l->last_id, "0-0");
  script_init(&l->send_script, SEND_LUA);
  script_init(&l->group_send_script, GROUP_SEND_LUA);
  uv_timer_init(host->loop, &l->refresh);
  l->refresh.data = l;
  /* Renews the alive key within its time to live, and the memberships
   * within group_expiry; and at least every second, so that a Redis that
   * lost its data without dropping the connection (FLUSHALL, eviction) has
   * this process back in its groups within a second. */
  uint64_t shortest = l->expiry_ms < l->group_expiry_ms ? l->expiry_ms : l->group_expiry_ms;
  uint64_t every = shortest / 3 ? shortest / 3 : 1;
  if (every > ALIVE_CHECK_MS) every = ALIVE_CHECK_MS;
  uv_timer_start(&l->refresh, on_refresh, every, every);
  wsc__redis_conn_start(&l->cmd, host->loop, &l->b.url, l->b.ip, "command",
                        host, cmd_ready, NULL, l);
  wsc__redis_conn_start(&l->rx, host->loop, &l->b.url, l->b.ip, "receive",
                        host, rx_ready, NULL, l);
  wsc__redis_conn_pair(&l->cmd, &l->rx);
  wsc__redis_conn_watch(&l->cmd, l->b.reply_timeout_ms, 0, NULL, 1);
  /* A read is made again from the last id delivered: nothing to keep. */
  wsc__redis_conn_watch(&l->rx, l->b.reply_timeout_ms, READ_BLOCK_GRACE_MS, NULL, 0);
  uv_timer_init(host->loop, &l->reread);
  l->reread.data = l;
  l->open_handles = 4;
  *inst = l;
  return 0;
}

static void send_reply(redisAsyncContext *ac, void *r, void *pd) {
  wsc__redis_op *op = pd;
  redisReply *reply = r;
  wsc__redis_conn *c = ac->data;
  if (!reply || reply->type == REDIS_REPLY_ERROR) {
    if (reply && strncmp(reply->str, "NOSCRIPT", 8) == 0) load_scripts((q_layer *)op->b);
    wsc__redis_op_fail(op, reply, c->closing);
    return;
  }
  if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 0) {
    char msg[WSC_ERRBUF_SIZE];
    snprintf(msg, sizeof msg, "%s is full", op->what);
    wsc__redis_op_end(op, WSC_EFULL, msg);
  } else {
    wsc__redis_op_end(op, 0, NULL);
  }
}

static void group_send_reply(redisAsyncContext *ac, void *r, void *pd) {
  wsc__redis_op *op = pd;
  redisReply *reply = r;
  if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 4 ||
      reply->element[0]->type != REDIS_REPLY_INTEGER ||
      reply->element[1]->type != REDIS_REPLY_INTEGER ||
      reply->element[2]->type != REDIS_REPLY_INTEGER ||
      reply->element[3]->type != REDIS_REPLY_INTEGER) {
    send_reply(ac, r, pd); /* an error: reported to whoever sent */
    return;
  }
  long long full = reply->element[0]->integer, foreign = reply->element[1]->integer,
            gone = reply->element[2]->integer;
  if (reply->element[3]->integer) { /* its other groups went the same way */
    wsc__host_logf(op->b->host, WSC_LOG_WARN,
                    "%s: this process had clients in the group but was missing from it "
                    "in Redis (Redis lost its data?); joining its groups again", op->what);
    refresh_all((q_layer *)op->b);
  }
  if (gone > 0)
    wsc__host_logf(op->b->host, WSC_LOG_INFO,
                    "%s: %lld process(es) no longer alive left the group",
                    op->what, gone);
  if (full > 0) {
    wsc__host_logf(op->b->host, WSC_LOG_WARN,
                    "%s: %lld member process queue(s) full; the message was "
                    "not queued for them", op->what, full);
    wsc__host_dropped(op->b->host, (size_t)full);
  }
  if (foreign > 0)
    wsc__host_logf(op->b->host, WSC_LOG_WARN,
                    "%s: %lld member(s) whose key is not a stream (another "
                    "program's, e.g. channels_redis with the same prefix) were "
                    "skipped; give the layers different prefixes", op->what, foreign);
  wsc__redis_op_end(op, 0, NULL);
}

static int eval(q_layer *l, redisCallbackFn *fn, const script *sc,
                const char *key, const char *const *args, int nargs,
                const size_t *arglens, wsc_layer_done_fn done, void *arg,
                const char *kind, const char *name) {
  if (!wsc__redis_conn_usable(&l->cmd))
    return wsc__redis_unavailable(&l->b, &l->cmd, kind, name);
  if (nargs > 8) return WSC_EINVAL;
  /* Before the greeting is answered (a first connect: sends are taken
   * meanwhile), the scripts are not loaded yet, and an EVALSHA queued now
   * would reach Redis ahead of their SCRIPT LOAD: the text goes instead,
   * which loads them too. */
  int by_sha = sc->sha[0] && l->cmd.ready;
  const char *argv[12] = {by_sha ? "EVALSHA" : "EVAL", by_sha ? sc->sha : sc->text, "1", key};
  size_t lens[12] = {strlen(argv[0]), strlen(argv[1]), 1, strlen(key)};
  size_t bytes = lens[1] + lens[3];
  for (int i = 0; i < nargs; i++) {
    argv[4 + i] = args[i];
    lens[4 + i] = arglens ? arglens[i] : strlen(args[i]);
    bytes += lens[4 + i];
  }
  wsc__redis_op *op;
  int rc = wsc__redis_op_new(&l->b, bytes, done, arg, kind, name, &op);
  if (rc) return rc;
  rc = wsc__redis_conn_cmd(&l->cmd, fn, op, 4 + nargs, argv, lens);
  if (rc) {
    wsc__redis_op_free(op);
    return wsc__redis_fail(&l->b, rc, "%s '%s': Redis at %s is unreachable",
                           kind, name, l->b.url.masked);
  }
  return 0;
}

static int q_send(void *inst, const char *channel, const char *msg, size_t len,
                  wsc_layer_done_fn done, void *arg) {
  q_layer *l = inst;
  char key[256];
  const char *bang = strchr(channel, '!');
  size_t base = bang ? (size_t)(bang - channel) + 1 : strlen(channel);
  snprintf(key, sizeof key, "%s%.*s", l->b.prefix, (int)base, channel);
  const char *cap = bang ? l->process_capacity_s : l->capacity_s;
  const char *args[] = {channel, msg, cap, l->expiry_s};
  size_t lens[] = {strlen(channel), len, strlen(cap), strlen(l->expiry_s)};
  return eval(l, send_reply, &l->send_script, key, args, 4, lens, done, arg,
              "channel", channel);
}

static int q_group_send(void *inst, const char *group, const char *msg,
                        size_t len, wsc_layer_done_fn done, void *arg) {
  q_layer *l = inst;
  char gk[256];
  group_key(l, group, gk, sizeof gk);
  const char *self = wsc__strmap_get(&l->groups, group) ? l->member : "";
  const char *args[] = {msg, l->capacity_s, l->expiry_s, l->group_expiry_s,
                        l->b.prefix, l->process_capacity_s, group, self};
  size_t lens[] = {len, strlen(l->capacity_s), strlen(l->expiry_s),
                   strlen(l->group_expiry_s), strlen(l->b.prefix),
                   strlen(l->process_capacity_s), strlen(group), strlen(self)};
  return eval(l, group_send_reply, &l->group_send_script, gk, args, 8, lens, done,
              arg, "group", group);
}

static int q_group_add(void *inst, const char *group, const char *channel) {
  q_layer *l = inst;
  if (!wsc__redis_conn_usable(&l->cmd))
    return wsc__redis_unavailable(&l->b, &l->cmd, "group", group);
  void *recv = wsc__strmap_get(&l->b.locals, channel);
  if (!recv) { /* another process's or a named channel: itself a member */
    add_membership(l, group, channel);
    return 0;
  }
  int first;
  int rc = wsc__lgroups_add(&l->groups, group, channel, recv, &first);
  if (!rc && first) add_membership(l, group, l->member);
  return rc;
}

static void remove_membership(q_layer *l, const char *group,
                              const char *member) {
  char gk[256];
  group_key(l, group, gk, sizeof gk);
  const char *argv[] = {"ZREM", gk, member};
  /* If Redis is down the membership expires by group_expiry instead. */
  text_cmd(&l->cmd, NULL, NULL, 3, argv);
}

static int q_group_discard(void *inst, const char *group,
                           const char *channel) {
  q_layer *l = inst;
  if (!wsc__strmap_get(&l->b.locals, channel)) {
    remove_membership(l, group, channel);
    return 0;
  }
  int last;
  wsc__lgroups_discard(&l->groups, group, channel, &last);
  if (last) remove_membership(l, group, l->member);
  return 0;
}

static void handle_closed(void *arg) {
  q_layer *l = arg;
  if (--l->open_handles) return;
  void (*done)(void *) = l->done;
  void *darg = l->done_arg;
  wsc__lgroups_clear(&l->groups);
  wsc__redis_base_clear(&l->b);
  wsc__free(l);
  done(darg);
}

static void timer_closed(uv_handle_t *h) { handle_closed(h->data); }

/* Up while both connections answer (sends go out, and the stream is read). */
static int q_backend_up(void *inst) {
  const q_layer *l = inst;
  return l->cmd.ready && l->rx.ready && !wsc__redis_conn_suspected(&l->cmd) &&
         !wsc__redis_conn_suspected(&l->rx);
}

static void q_close(void *inst, void (*done)(void *), void *arg) {
  q_layer *l = inst;
  l->done = done;
  l->done_arg = arg;
  uv_close((uv_handle_t *)&l->refresh, timer_closed);
  uv_close((uv_handle_t *)&l->reread, timer_closed);
  wsc__redis_conn_close(&l->cmd, handle_closed, l);
  wsc__redis_conn_close(&l->rx, handle_closed, l);
}

const wsc_layer_ops wsc__redis_queue_layer_ops = {
    sizeof(wsc_layer_ops), WSC_LAYER_ABI_V2, "redis",
    q_create,              wsc__redis_new_channel_op, wsc__redis_release_op,
    q_send,                q_group_add,      q_group_discard,
    q_group_send,          q_close,          q_backend_up,
};
