/* examples/echo: a minimal wschannels server.
 *
 *   ./echo [port]          then connect to ws://127.0.0.1:8000/ws/echo
 *
 *   -> {"action":"echo","payload":{"text":"hi"}}
 *   <- {"action":"echo","payload":{"text":"hi"}}          (to the sender)
 *   -> {"action":"shout","payload":{"text":"hi"}}
 *   <- {"action":"shout","payload":{"text":"📣 hi"}}      (to everyone)
 *   -> {"action":"ping"}
 *   <- {"action":"pong","payload":null}                   (built in)
 */
#include <stdio.h>
#include <stdlib.h>

#include <uv.h>
#include <wschannels/wschannels.h>

static int on_echo(wsc_conn *conn, const cJSON *msg, void *user_data) {
  (void)user_data; /* the return value goes to the sender, as in Chanx */
  return wsc_conn_reply(conn, "echo", cJSON_GetObjectItem(msg, "payload"));
}

static int on_shout(wsc_conn *conn, const cJSON *msg, void *user_data) {
  (void)user_data;
  const cJSON *text = cJSON_GetObjectItem(cJSON_GetObjectItem(msg, "payload"), "text");
  if (!cJSON_IsString(text)) return -1; /* the client gets an error frame */
  char buf[512];
  snprintf(buf, sizeof buf, "📣 %s", text->valuestring);
  cJSON *out = cJSON_CreateObject();
  cJSON_AddStringToObject(out, "action", "shout");
  cJSON_AddStringToObject(cJSON_AddObjectToObject(out, "payload"), "text", buf);
  int rc = wsc_conn_broadcast_json(conn, out, NULL, 0, 0); /* its groups */
  cJSON_Delete(out);
  return rc;
}

static void on_signal(uv_signal_t *sig, int signum) {
  (void)signum;
  uv_close((uv_handle_t *)sig, NULL);
  wsc_server_close(sig->data, NULL, NULL);
}

int main(int argc, char **argv) {
  wsc_consumer *echo;
  wsc_consumer_new("echo", &echo);
  wsc_consumer_add_group(echo, "everyone");
  wsc_consumer_on(echo, "echo", on_echo, NULL, NULL);
  wsc_consumer_on(echo, "shout", on_shout, NULL, NULL);

  wsc_server_options opts;
  wsc_server_options_init(&opts);
  opts.port = argc > 1 ? atoi(argv[1]) : 8000;
  opts.config_json = "{\"routes\": [{\"path\": \"/ws/echo\", \"consumer\": \"echo\"}]}";
  opts.consumers = &echo;
  opts.n_consumers = 1;

  char err[WSC_ERRBUF_SIZE];
  wsc_server *srv;
  if (wsc_server_new(&opts, &srv, err, sizeof err) != 0) {
    fprintf(stderr, "echo: %s\n", err);
    wsc_consumer_free(echo);
    return 1;
  }
  uv_signal_t sig;
  uv_signal_init(wsc_server_get_loop(srv), &sig);
  sig.data = srv;
  uv_signal_start(&sig, on_signal, SIGINT);
  printf("echo: listening on ws://127.0.0.1:%d/ws/echo (Ctrl-C stops)\n",
         wsc_server_get_port(srv));
  fflush(stdout);
  return wsc_server_run(srv); /* until closed */
}
