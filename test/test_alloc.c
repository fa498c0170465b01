/* The allocator hook sees every allocation the library makes, and after a
 * whole server lifecycle (clients, groups, broadcasts, thread-safe posts,
 * close) every one of them has been freed. */
#include <stdatomic.h>
#include <stdlib.h>

#include "helpers/check.h"
#include "helpers/room_chat.h"
#include "helpers/server_thread.h"
#include "helpers/ws_client.h"

static atomic_long live, total;

static void *count_malloc(size_t n, void *ctx) {
  (void)ctx;
  void *p = malloc(n);
  if (p) {
    atomic_fetch_add(&live, 1);
    atomic_fetch_add(&total, 1);
  }
  return p;
}

static void *count_realloc(void *p, size_t n, void *ctx) {
  (void)ctx;
  void *q = realloc(p, n);
  if (q && !p) {
    atomic_fetch_add(&live, 1);
    atomic_fetch_add(&total, 1);
  }
  return q;
}

static void count_free(void *p, size_t n, void *ctx) {
  (void)n, (void)ctx;
  if (p) atomic_fetch_sub(&live, 1);
  free(p);
}

static void test_bad_allocators_are_refused(void) {
  wsc_allocator a = {sizeof a, count_malloc, NULL, count_free, NULL};
  CHECK_EQ(wsc_set_allocator(&a), WSC_EINVAL);
  a.realloc_fn = count_realloc;
  a.struct_size = 4;
  CHECK_EQ(wsc_set_allocator(&a), WSC_EINVAL);
}

static void test_everything_allocated_is_freed(void) {
  wsc_allocator a = {sizeof a, count_malloc, count_realloc, count_free, NULL};
  CHECK_OK(wsc_set_allocator(&a));
  wsc_consumer *c = wst_room_chat_consumer("room_chat");
  wst_server *srv = wst_server_start(
      "{\"routes\":[{\"path\":\"/ws/room/{room_name}\",\"consumer\":\"room_chat\"}]}",
      &c, 1);
  wst_client *x = wst_open(wst_port(srv), "/ws/room/a?token=1");
  wst_client *y = wst_open(wst_port(srv), "/ws/room/a");
  char *m = wst_recv(x, 5000); /* y's join notice */
  CHECK_CONTAINS(m, "joined");
  free(m);
  for (int i = 0; i < 20; i++)
    wst_send_text(y, "{\"action\":\"room_chat\",\"payload\":{\"message\":\"m\"}}");
  for (int i = 0; i < 20; i++) {
    free(wst_recv(x, 5000));
    free(wst_recv(y, 5000));
  }
  CHECK_OK(wsc_server_broadcast_message_threadsafe(
      wst_srv(srv), NULL, "room_a", "{\"action\":\"x\"}", 14));
  wst_expect(x, "{\"action\":\"x\"}");
  wst_send_text(x, "not json");
  free(wst_recv(x, 5000));
  CHECK(atomic_load(&total) > 20);
  wst_close(x, 1000);
  wst_close(y, 0);
  wst_server_stop(srv);
  CHECK_EQ(atomic_load(&live), 0);
  CHECK_OK(wsc_set_allocator(NULL));
}

int main(void) {
  RUN(test_bad_allocators_are_refused);
  RUN(test_everything_allocated_is_freed);
  return 0;
}
