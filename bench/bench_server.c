/* bench_server: the seeds' chat consumer, for load tests.
 *   bench_server <config JSON>      prints "PORT <n>"; SIGINT/SIGTERM stop it
 * /ws/chat: "chat" broadcasts {"action":"chat_notification","payload":
 * {"message":"💬 <message>"}} to the group "chat" on the consumer's layer;
 * "echo" replies with its payload. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <uv.h>
#include <wschannels/wschannels.h>

static int on_chat(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)ud;
  const cJSON *m = cJSON_GetObjectItem(cJSON_GetObjectItem(msg, "payload"), "message");
  if (!cJSON_IsString(m)) return -1;
  char out[512];
  int n = snprintf(out, sizeof out,
                   "{\"action\":\"chat_notification\",\"payload\":{\"message\":\"💬 %s\"}}",
                   m->valuestring);
  if (n < 0 || (size_t)n >= sizeof out) return -1;
  return wsc_conn_broadcast(c, out, (size_t)n, NULL, 0, 0);
}

static int on_echo(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)ud;
  return wsc_conn_reply(c, "echo", cJSON_GetObjectItem(msg, "payload"));
}

static uv_signal_t sigs[2];

static void on_signal(uv_signal_t *s, int signum) {
  (void)signum;
  for (int i = 0; i < 2; i++)
    if (!uv_is_closing((uv_handle_t *)&sigs[i])) uv_close((uv_handle_t *)&sigs[i], NULL);
  wsc_server_close(s->data, NULL, NULL);
}

int main(int argc, char **argv) {
  wsc_consumer *chat;
  wsc_consumer_new("chat", &chat);
  wsc_consumer_add_group(chat, "chat");
  wsc_consumer_on(chat, "chat", on_chat, NULL, NULL);
  wsc_consumer_on(chat, "echo", on_echo, NULL, NULL);
  wsc_server_options o;
  wsc_server_options_init(&o);
  o.port = 0;
  o.config_json = argc > 1 ? argv[1] : "{\"routes\":[{\"path\":\"/ws/chat\",\"consumer\":\"chat\"}]}";
  o.consumers = &chat;
  o.n_consumers = 1;
  char err[WSC_ERRBUF_SIZE];
  wsc_server *srv;
  if (wsc_server_new(&o, &srv, err, sizeof err)) {
    fprintf(stderr, "bench_server: %s\n", err);
    return 1;
  }
  int signums[2] = {SIGINT, SIGTERM};
  for (int i = 0; i < 2; i++) {
    uv_signal_init(wsc_server_get_loop(srv), &sigs[i]);
    sigs[i].data = srv;
    uv_signal_start(&sigs[i], on_signal, signums[i]);
  }
  printf("PORT %d\n", wsc_server_get_port(srv));
  fflush(stdout);
  return wsc_server_run(srv);
}
