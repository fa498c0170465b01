/* Keepalive: the server pings a connection after ping_interval seconds of
 * silence; a client that answers stays connected, and so does one that talks
 * without reading; one that does neither is hung up after idle_timeout, and
 * nobody else notices. */
#include <stdio.h>
#include <stdlib.h>

#include <uv.h>

#include "helpers/check.h"
#include "helpers/server_thread.h"
#include "helpers/ws_client.h"

/* A server with one consumer at /ws and this keepalive section. */
static wst_server *start(const char *keepalive) {
  wsc_consumer *c;
  CHECK_OK(wsc_consumer_new("k", &c));
  char cfg[256];
  snprintf(cfg, sizeof cfg,
           "{\"keepalive\":%s,\"routes\":[{\"path\":\"/ws\",\"consumer\":\"k\"}]}",
           keepalive);
  return wst_server_start(cfg, &c, 1);
}

static void test_pings_and_idle_hangup(void) {
  wst_server *srv = start("{\"ping_interval\":1,\"idle_timeout\":3}");
  wst_client *alive = wst_open(wst_port(srv), "/ws");
  wst_client *silent = wst_open(wst_port(srv), "/ws");
  wst_client *talker = wst_open(wst_port(srv), "/ws");
  /* For 5 s `alive` reads (and so answers pings), `talker` sends a message
   * every 0.5 s and reads nothing (its sending is what the server hears),
   * `silent` does nothing. */
  for (int i = 0; i < 10; i++) {
    wst_send_text(talker, "{\"action\":\"ping\"}");
    CHECK(wst_silent(alive, 500));
  }
  CHECK(wst_pings(alive) >= 1);
  for (int i = 0; i < 10; i++) wst_expect(talker, "{\"action\":\"pong\",\"payload\":null}");
  CHECK(wst_silent(talker, 100)); /* still open: not hung up */
  /* By now `silent` has been hung up: what it reads is the end. */
  CHECK(wst_wait_close(silent, 2000) > 0);
  CHECK(wst_pings(silent) >= 1); /* it was pinged, never answered, dropped */
  wst_send_text(alive, "{\"action\":\"ping\"}");
  wst_expect(alive, "{\"action\":\"pong\",\"payload\":null}");
  wst_close(alive, 1000);
  wst_close(talker, 1000);
  wst_close(silent, 0);
  wst_server_stop(srv);
}

/* ping_interval without idle_timeout: pings every interval of silence, and
 * never hangs up. */
static void test_pings_without_hangup(void) {
  wst_server *srv = start("{\"ping_interval\":1,\"idle_timeout\":0}");
  wst_client *mute = wst_open(wst_port(srv), "/ws");
  uv_sleep(3500); /* reads nothing meanwhile, so answers nothing */
  CHECK(wst_silent(mute, 300)); /* what waited: pings only, no close */
  CHECK(wst_pings(mute) >= 2);
  wst_close(mute, 1000);
  wst_server_stop(srv);
}

int main(void) {
  RUN(test_pings_and_idle_hangup);
  RUN(test_pings_without_hangup);
  return 0;
}
