/* A wschannels server process for multi-process tests:
 *   wst_layer_server <layer alias> <config JSON>
 * prints "PORT <n>" once listening, and serves consumer "chat" at /ws/chat
 * (and consumer "other", wherever the config routes it, with only whoami
 * and "told") until SIGTERM or SIGINT. Actions:
 *   whoami                      -> {"action":"whoami","payload":"<channel>"}
 *   say {text, group?, exclude?} broadcast {"action":"said","payload":text}
 *   tell {to, text}             event "told" to channel `to`; the outcome
 *                               comes back as {"action":"tell_result",...}
 *   shout {text}                event "told" to this connection's groups
 *   join {group}                joins `group`, then at once broadcasts
 *                               {"action":"said","payload":"joined <group>"}
 *                               to it (a consumer's join notice)
 * Event handlers "told" and "tell_result" pass the event to the client. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>
#include <wschannels/wschannels.h>

static const char *alias;

static const char *str(const cJSON *msg, const char *name) {
  const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(msg, "payload"), name);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int on_whoami(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)msg, (void)ud;
  cJSON *p = cJSON_CreateString(wsc_conn_get_channel(c));
  int rc = wsc_conn_reply(c, "whoami", p);
  cJSON_Delete(p);
  return rc;
}

static int on_say(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)ud;
  const char *text = str(msg, "text"), *group = str(msg, "group");
  if (!text) return -1;
  cJSON *out = cJSON_CreateObject();
  cJSON_AddStringToObject(out, "action", "said");
  cJSON_AddStringToObject(out, "payload", text);
  const cJSON *ex = cJSON_GetObjectItem(cJSON_GetObjectItem(msg, "payload"), "exclude");
  const char *groups[] = {group};
  int rc = wsc_conn_broadcast_json(c, out, group ? groups : NULL, group ? 1 : 0,
                                   cJSON_IsTrue(ex) ? WSC_EXCLUDE_CURRENT : 0);
  cJSON_Delete(out);
  return rc;
}

typedef struct tell {
  wsc_server *srv;
  char reply_to[WSC_NAME_MAX + 1];
} tell;

/* The outcome travels back to the sender as an event on its own channel. */
static void told(int status, const char *errmsg, void *ud) {
  tell *t = ud;
  if (status != WSC_ECLOSED) {
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "action", "tell_result");
    cJSON *p = cJSON_AddObjectToObject(ev, "payload");
    cJSON_AddStringToObject(p, "status", wsc_err_name(status));
    cJSON_AddStringToObject(p, "error", errmsg ? errmsg : "");
    char *s = cJSON_PrintUnformatted(ev);
    wsc_server_send_event(t->srv, alias, t->reply_to, s, strlen(s));
    cJSON_free(s);
    cJSON_Delete(ev);
  }
  free(t);
}

static int on_tell(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)ud;
  const char *to = str(msg, "to"), *text = str(msg, "text");
  if (!to || !text) return -1;
  cJSON *ev = cJSON_CreateObject();
  cJSON_AddStringToObject(ev, "action", "told");
  cJSON_AddStringToObject(ev, "payload", text);
  char *s = cJSON_PrintUnformatted(ev);
  tell *t = calloc(1, sizeof *t);
  t->srv = wsc_conn_get_server(c);
  snprintf(t->reply_to, sizeof t->reply_to, "%s", wsc_conn_get_channel(c));
  int rc = wsc_server_send_event_cb(t->srv, alias, to, s, strlen(s), told, t);
  if (rc) { /* known at once: answer now */
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "status", wsc_err_name(rc));
    cJSON_AddStringToObject(p, "error", wsc_server_errmsg(t->srv));
    wsc_conn_reply(c, "tell_result", p);
    cJSON_Delete(p);
    free(t);
  }
  cJSON_free(s);
  cJSON_Delete(ev);
  return 0;
}

static int on_shout(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)ud;
  const char *text = str(msg, "text");
  if (!text) return -1;
  cJSON *ev = cJSON_CreateObject();
  cJSON_AddStringToObject(ev, "action", "told");
  cJSON_AddStringToObject(ev, "payload", text);
  char *s = cJSON_PrintUnformatted(ev);
  int rc = wsc_conn_broadcast_event(c, s, strlen(s), NULL, 0);
  cJSON_free(s);
  cJSON_Delete(ev);
  return rc;
}

static int on_join(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)ud;
  const char *group = str(msg, "group");
  if (!group || wsc_conn_group_add(c, group)) return -1;
  char text[160];
  snprintf(text, sizeof text, "{\"action\":\"said\",\"payload\":\"joined %s\"}",
           group);
  return wsc_conn_broadcast(c, text, strlen(text), &group, 1, 0);
}

static int pass_event(wsc_conn *c, const cJSON *ev, void *ud) {
  (void)ud;
  return wsc_conn_send_json(c, ev);
}

static uv_signal_t sigs[2];

static void on_signal(uv_signal_t *sig, int signum) {
  (void)signum;
  for (int i = 0; i < 2; i++)
    if (!uv_is_closing((uv_handle_t *)&sigs[i])) uv_close((uv_handle_t *)&sigs[i], NULL);
  wsc_server_close(sig->data, NULL, NULL);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s <layer alias> <config JSON>\n", argv[0]);
    return 2;
  }
  alias = argv[1];
  wsc_set_default_logger(wsc_log_stderr, getenv("WSC_TEST_LOG") ? WSC_LOG_DEBUG : WSC_LOG_ERROR, NULL);
  wsc_consumer *chat;
  wsc_consumer_new("chat", &chat);
  wsc_consumer_on(chat, "whoami", on_whoami, NULL, NULL);
  wsc_consumer_on(chat, "say", on_say, NULL, NULL);
  wsc_consumer_on(chat, "tell", on_tell, NULL, NULL);
  wsc_consumer_on(chat, "shout", on_shout, NULL, NULL);
  wsc_consumer_on(chat, "join", on_join, NULL, NULL);
  wsc_consumer_on_event(chat, "told", pass_event, NULL, NULL);
  wsc_consumer_on_event(chat, "tell_result", pass_event, NULL, NULL);
  /* A second consumer, for tests that check who is not reached. */
  wsc_consumer *other;
  wsc_consumer_new("other", &other);
  wsc_consumer_set_layer(other, alias);
  wsc_consumer_on(other, "whoami", on_whoami, NULL, NULL);
  wsc_consumer_on_event(other, "told", pass_event, NULL, NULL);
  wsc_consumer *consumers[] = {chat, other};
  wsc_server_options o;
  wsc_server_options_init(&o);
  o.port = 0;
  o.config_json = argv[2];
  o.consumers = consumers;
  o.n_consumers = 2;
  if (getenv("WSC_TEST_LOG")) {
    o.logger = wsc_log_stderr;
    o.log_level = WSC_LOG_DEBUG;
  }
  char err[WSC_ERRBUF_SIZE];
  wsc_server *srv;
  if (wsc_server_new(&o, &srv, err, sizeof err)) {
    printf("ERROR %s\n", err);
    fflush(stdout);
    wsc_consumer_free(chat);
    wsc_consumer_free(other);
    return 1;
  }
  int signums[2] = {SIGTERM, SIGINT};
  for (int i = 0; i < 2; i++) {
    uv_signal_init(wsc_server_get_loop(srv), &sigs[i]);
    sigs[i].data = srv;
    uv_signal_start_oneshot(&sigs[i], on_signal, signums[i]);
  }
  printf("PORT %d\n", wsc_server_get_port(srv));
  fflush(stdout);
  int rc = wsc_server_run(srv);
  return rc;
}
