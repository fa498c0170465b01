/* Plain HTTP on the server's port. The AsyncAPI document from the C API:
 * handler docs declared in C show up as operations with their summaries,
 * tags, schemas and replies; the config moves, retitles or turns off what
 * the server serves over HTTP; and wsc_server_asyncapi returns the same
 * document. Also: documents the program registers, files under
 * http.static_dir (nothing outside), and 426 for a WebSocket route. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers/check.h"
#include "helpers/server_thread.h"
#include "helpers/ws_client.h"

/* GET `path` with the Host header the documents are checked against. */
static char *http_get(int port, const char *path) {
  char host[64];
  snprintf(host, sizeof host, "docs.example:%d", port);
  return wst_http_get(port, path, host);
}

static cJSON *body_json(const char *resp) {
  const char *b = strstr(resp, "\r\n\r\n");
  CHECK(b);
  cJSON *j = cJSON_Parse(b + 4);
  CHECK(j);
  return j;
}

static int on_any(wsc_conn *c, const cJSON *m, void *ud) {
  (void)c, (void)m, (void)ud;
  return 0;
}

static wsc_consumer *documented(void) {
  wsc_consumer *c;
  CHECK_OK(wsc_consumer_new("orders", &c));
  CHECK_OK(wsc_consumer_set_description(c, "Order updates"));
  CHECK_OK(wsc_consumer_add_tag(c, "shop"));
  CHECK_OK(wsc_consumer_on(c, "place", on_any, NULL, NULL));
  CHECK_OK(wsc_consumer_on(c, "log", on_any, NULL, NULL));
  CHECK_OK(wsc_consumer_on_event(c, "shipped", on_any, NULL, NULL));
  CHECK_OK(wsc_consumer_on_event(c, "internal", on_any, NULL, NULL));
  wsc_handler_doc d;
  wsc_handler_doc_init(&d);
  static const char *const tags[] = {"orders", "write"};
  d.input_schema =
      "{\"type\":\"object\",\"properties\":{\"action\":{\"const\":\"place\"},"
      "\"payload\":{\"type\":\"object\",\"properties\":{\"sku\":{\"type\":"
      "\"string\"}},\"required\":[\"sku\"]}}}";
  d.output_schema =
      "{\"title\":\"OrderPlaced\",\"type\":\"object\",\"properties\":{"
      "\"action\":{\"const\":\"order_placed\"}}}";
  d.summary = "Place an order";
  d.description = "Replies with the order id";
  d.tags = tags;
  d.ntags = 2;
  char err[WSC_ERRBUF_SIZE];
  CHECK_OK(wsc_consumer_document(c, WSC_WS_HANDLER, "place", &d, err, sizeof err));
  wsc_handler_doc_init(&d);
  d.output_schema =
      "{\"type\":\"object\",\"properties\":{\"action\":{\"const\":"
      "\"order_shipped\"}}}";
  CHECK_OK(wsc_consumer_document(c, WSC_EVENT_HANDLER, "shipped", &d, err,
                                 sizeof err));
  return c;
}

static const cJSON *at(const cJSON *j, const char *path) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *k = strtok(buf, "/"); k && j; k = strtok(NULL, "/"))
    j = cJSON_GetObjectItemCaseSensitive(j, k);
  return j;
}

static const char *str_at(const cJSON *j, const char *path) {
  const cJSON *v = at(j, path);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void check_document(const cJSON *doc, const char *host) {
  CHECK_STREQ(str_at(doc, "asyncapi"), "3.0.0");
  CHECK_STREQ(str_at(doc, "info/title"), "Shop <API>");
  CHECK_STREQ(str_at(doc, "info/version"), "1.0.0"); /* default kept */
  CHECK_STREQ(str_at(doc, "servers/development/host"), host);
  CHECK_STREQ(str_at(doc, "channels/orders/address"), "/shop/{shop_id}/orders");
  CHECK(at(doc, "channels/orders/parameters/shop_id"));
  CHECK_STREQ(str_at(doc, "channels/orders/description"), "Order updates");
  const cJSON *place = at(doc, "operations/orders_receive_place");
  CHECK_STREQ(str_at(place, "action"), "receive");
  CHECK_STREQ(str_at(place, "summary"), "Place an order");
  CHECK_STREQ(str_at(place, "description"), "Replies with the order id");
  CHECK_EQ(cJSON_GetArraySize(at(place, "tags")), 2);
  /* no title: named after the action */
  CHECK_STREQ(cJSON_GetArrayItem(at(place, "messages"), 0)->child->valuestring,
              "#/channels/orders/messages/PlaceMessage");
  CHECK_STREQ(cJSON_GetArrayItem(at(place, "reply/messages"), 0)->child->valuestring,
              "#/channels/orders/messages/OrderPlaced");
  CHECK_STREQ(str_at(doc, "components/messages/PlaceMessage/payload/properties/"
                          "payload/properties/sku/type"),
              "string");
  /* a handler without docs is still listed, without a reply */
  const cJSON *log = at(doc, "operations/orders_receive_log");
  CHECK(log && !at(log, "reply"));
  /* the built-in ping, with its pong reply */
  CHECK(at(doc, "operations/orders_receive_ping/reply"));
  /* an event handler with an output: send; one without: not documented */
  CHECK_STREQ(str_at(doc, "operations/orders_send_shipped/action"), "send");
  CHECK(at(doc, "components/messages/OrderShippedMessage"));
  CHECK(!at(doc, "operations/orders_send_internal"));
}

typedef struct api_call {
  const char *host;
  char *out;
} api_call;

static void from_api(wsc_server *srv, void *ud) {
  api_call *c = ud;
  size_t len = 0;
  CHECK_OK(wsc_server_asyncapi(srv, c->host, &c->out, &len));
  CHECK_EQ(len, strlen(c->out));
}

static void add_status(wsc_server *srv, void *ud) {
  (void)ud;
  const char *body = "{\"mode\":\"memory\"}";
  CHECK_EQ(wsc_server_add_http_content(srv, "status.json", "application/json",
                                       body, strlen(body)),
           WSC_EINVAL);
  CHECK_OK(wsc_server_add_http_content(srv, "/status.json", "text/plain", "x", 1));
  /* replaced */
  CHECK_OK(wsc_server_add_http_content(srv, "/status.json", "application/json",
                                       body, strlen(body)));
}

int main(void) {
  wsc_consumer *c = documented();
  wst_server *s = wst_server_start(
      "{\"routes\":[{\"path\":\"/shop/{shop_id}/orders\",\"consumer\":\"orders\"}],"
      "\"asyncapi\":{\"path\":\"/docs/api/\",\"title\":\"Shop <API>\"}}",
      &c, 1);
  int port = wst_port(s);
  /* served under the configured path; the default one is a 404 */
  char *r = http_get(port, "/docs/api/schema/");
  CHECK_EQ(wst_http_status(r), 200);
  CHECK_CONTAINS(r, "content-type: application/json");
  cJSON *doc = body_json(r);
  char host[64];
  snprintf(host, sizeof host, "docs.example:%d", port); /* the Host header */
  check_document(doc, host);
  /* the C API gives the same document */
  api_call call = {host, NULL};
  wst_call(s, from_api, &call);
  cJSON *same = cJSON_Parse(call.out);
  CHECK(cJSON_Compare(doc, same, 1));
  cJSON_Delete(same);
  wsc_free(call.out);
  cJSON_Delete(doc);
  free(r);
  r = http_get(port, "/docs/api/");
  CHECK_EQ(wst_http_status(r), 200);
  CHECK_CONTAINS(r, "<title>Shop &lt;API&gt;</title>"); /* escaped */
  CHECK_CONTAINS(r, "\"/docs/api/schema/\"");
  free(r);
  r = http_get(port, "/asyncapi/schema/");
  CHECK_EQ(wst_http_status(r), 404);
  free(r);
  wst_server_stop(s);

  /* turned off: nothing is served */
  c = documented();
  s = wst_server_start(
      "{\"routes\":[{\"path\":\"/o\",\"consumer\":\"orders\"}],\"asyncapi\":false}",
      &c, 1);
  r = http_get(wst_port(s), "/asyncapi/schema/");
  CHECK_EQ(wst_http_status(r), 404);
  free(r);
  r = http_get(wst_port(s), "/asyncapi/");
  CHECK_EQ(wst_http_status(r), 404);
  free(r);
  wst_server_stop(s);

  /* static files and registered documents */
  char dir[] = "/tmp/wst_static_XXXXXX";
  CHECK(mkdtemp(dir));
  char p[256], cfg[512];
  snprintf(p, sizeof p, "%s/sub", dir);
  CHECK(mkdir(p, 0700) == 0);
  const char *files[][2] = {{"index.html", "<h1>home</h1>"},
                            {"sub/app.js", "console.log(1)"},
                            {".secret", "no"}};
  for (int i = 0; i < 3; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, files[i][0]);
    FILE *f = fopen(p, "w");
    fputs(files[i][1], f);
    fclose(f);
  }
  c = documented();
  snprintf(cfg, sizeof cfg,
           "{\"routes\":[{\"path\":\"/o\",\"consumer\":\"orders\"}],"
           "\"http\":{\"static_dir\":\"%s\"}}", dir);
  s = wst_server_start(cfg, &c, 1);
  port = wst_port(s);
  r = http_get(port, "/");
  CHECK_EQ(wst_http_status(r), 200);
  CHECK_CONTAINS(r, "content-type: text/html");
  CHECK_CONTAINS(r, "\r\n\r\n<h1>home</h1>");
  free(r);
  r = http_get(port, "/sub/app.js");
  CHECK_EQ(wst_http_status(r), 200);
  CHECK_CONTAINS(r, "content-type: text/javascript");
  free(r);
  const char *refused[] = {"/.secret", "/sub/../.secret", "/../etc/passwd",
                           "/missing.html", "/sub"};
  for (int i = 0; i < 5; i++) {
    r = http_get(port, refused[i]);
    if (wst_http_status(r) != 404) fprintf(stderr, "%s: %s\n", refused[i], r);
    CHECK_EQ(wst_http_status(r), 404);
    free(r);
  }
  /* A WebSocket route asked for over plain HTTP (a browser's address bar,
   * curl) says what it is instead of "Not Found". */
  r = http_get(port, "/o?x=1");
  CHECK_EQ(wst_http_status(r), 426);
  CHECK_CONTAINS(r, "upgrade: websocket\r\n");
  CHECK_CONTAINS(r, "\r\n\r\n426 Upgrade Required\nThis path is a WebSocket endpoint");
  free(r);
  wst_call(s, add_status, NULL);
  r = http_get(port, "/status.json");
  CHECK_EQ(wst_http_status(r), 200);
  CHECK_CONTAINS(r, "content-type: application/json");
  CHECK_CONTAINS(r, "\r\n\r\n{\"mode\":\"memory\"}");
  free(r);
  /* the AsyncAPI paths still come first */
  r = http_get(port, "/asyncapi/schema/");
  CHECK_EQ(wst_http_status(r), 200);
  free(r);
  wst_server_stop(s);
  for (int i = 0; i < 3; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, files[i][0]);
    unlink(p);
  }
  snprintf(p, sizeof p, "%s/sub", dir);
  rmdir(p);
  rmdir(dir);

  /* a bad path in the config is refused */
  c = documented();
  wsc_server_options o;
  wsc_server_options_init(&o);
  o.port = 0;
  o.consumers = &c;
  o.n_consumers = 1;
  o.config_json = "{\"asyncapi\":{\"path\":\"docs\"}}";
  char err[WSC_ERRBUF_SIZE];
  wsc_server *srv = NULL;
  CHECK_EQ(wsc_server_new(&o, &srv, err, sizeof err), WSC_ECONFIG);
  CHECK_CONTAINS(err, "asyncapi.path: expected a path");
  wsc_consumer_free(c);
  printf("ok\n");
  return 0;
}
