/* Keepalive: the server pings a connection after ping_interval seconds of
 * silence; a client that answers stays connected, one that never answers is
 * hung up after idle_timeout, and nobody else notices. */
#include <stdlib.h>

#include <uv.h>

#include "helpers/check.h"
#include "helpers/server_thread.h"
#include "helpers/ws_client.h"

static void test_pings_and_idle_hangup(void) {
  wsc_consumer *c;
  CHECK_OK(wsc_consumer_new("k", &c));
  wst_server *srv = wst_server_start(
      "{\"keepalive\":{\"ping_interval\":1,\"idle_timeout\":3},"
      "\"routes\":[{\"path\":\"/ws\",\"consumer\":\"k\"}]}", &c, 1);
  wst_client *alive = wst_open(wst_port(srv), "/ws");
  wst_client *silent = wst_open(wst_port(srv), "/ws");
  /* `alive` reads (and so answers pings) for 5 s; `silent` reads nothing. */
  CHECK(wst_silent(alive, 5000));
  CHECK(wst_pings(alive) >= 1);
  /* By now `silent` has been hung up: what it reads is the end. */
  CHECK(wst_wait_close(silent, 2000) > 0);
  CHECK(wst_pings(silent) >= 1); /* it was pinged, never answered, dropped */
  wst_send_text(alive, "{\"action\":\"ping\"}");
  wst_expect(alive, "{\"action\":\"pong\",\"payload\":null}");
  wst_close(alive, 1000);
  wst_close(silent, 0);
  wst_server_stop(srv);
}

int main(void) {
  RUN(test_pings_and_idle_hangup);
  return 0;
}
