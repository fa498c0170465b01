/* Cross-thread posts onto a loop: a mutex-protected queue plus a uv_async.
 * uv_async_send coalesces, so the loop side drains the whole queue. */
#ifndef WSC_LIB_INBOX_H
#define WSC_LIB_INBOX_H

#include <uv.h>

typedef struct wsc__inbox_item wsc__inbox_item;
struct wsc__inbox_item {
  wsc__inbox_item *next;
  /* Runs on the loop thread; `item` is freed by the inbox afterwards. */
  void (*run)(wsc__inbox_item *item, void *ctx);
};

typedef struct wsc__inbox {
  uv_mutex_t mu;
  uv_async_t async;
  wsc__inbox_item *head, *tail;
  void *ctx;
  int closed;
  void (*closed_cb)(void *ctx);
} wsc__inbox;

int wsc__inbox_init(wsc__inbox *in, uv_loop_t *loop, void *ctx);
/* Takes `item` (a wsc__ allocation) on success; WSC_ECLOSED after close. */
int wsc__inbox_post(wsc__inbox *in, wsc__inbox_item *item);
/* Refuses further posts, frees queued items unrun, closes the async handle;
 * `closed_cb(ctx)` runs once it is closed. Loop thread. */
void wsc__inbox_close(wsc__inbox *in, void (*closed_cb)(void *ctx));
/* Destroys the mutex, after the async handle's close callback. */
void wsc__inbox_destroy(wsc__inbox *in);

#endif
