#include "inbox.h"

#include "alloc.h"
#include "wschannels/error.h"

static void drain(uv_async_t *a) {
  wsc__inbox *in = a->data;
  uv_mutex_lock(&in->mu);
  wsc__inbox_item *it = in->closed ? NULL : in->head;
  in->head = in->tail = NULL;
  uv_mutex_unlock(&in->mu);
  while (it) {
    wsc__inbox_item *next = it->next;
    it->run(it, in->ctx);
    wsc__free(it);
    it = next;
  }
}

int wsc__inbox_init(wsc__inbox *in, uv_loop_t *loop, void *ctx) {
  in->head = in->tail = NULL;
  in->ctx = ctx;
  in->closed = 0;
  if (uv_mutex_init(&in->mu)) return WSC_ENOMEM;
  if (uv_async_init(loop, &in->async, drain)) {
    uv_mutex_destroy(&in->mu);
    return WSC_ENOMEM;
  }
  in->async.data = in;
  return 0;
}

int wsc__inbox_post(wsc__inbox *in, wsc__inbox_item *item) {
  item->next = NULL;
  uv_mutex_lock(&in->mu);
  if (in->closed) {
    uv_mutex_unlock(&in->mu);
    return WSC_ECLOSED;
  }
  if (in->tail)
    in->tail->next = item;
  else
    in->head = item;
  in->tail = item;
  /* Sent under the lock so that close cannot run between the check and the
   * send (uv_async_send on a closing handle is undefined). */
  uv_async_send(&in->async);
  uv_mutex_unlock(&in->mu);
  return 0;
}

static void on_async_closed(uv_handle_t *h) {
  wsc__inbox *in = h->data;
  if (in->closed_cb) in->closed_cb(in->ctx);
}

void wsc__inbox_close(wsc__inbox *in, void (*closed_cb)(void *ctx)) {
  uv_mutex_lock(&in->mu);
  in->closed = 1;
  wsc__inbox_item *it = in->head;
  in->head = in->tail = NULL;
  uv_mutex_unlock(&in->mu);
  while (it) {
    wsc__inbox_item *next = it->next;
    wsc__free(it);
    it = next;
  }
  in->closed_cb = closed_cb;
  uv_close((uv_handle_t *)&in->async, on_async_closed);
}

void wsc__inbox_destroy(wsc__inbox *in) { uv_mutex_destroy(&in->mu); }
