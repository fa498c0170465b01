#include "layer_registry.h"

#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "alloc.h"
#include "wschannels/error.h"

extern const wsc_layer_ops wsc__memory_layer_ops;
extern const wsc_layer_ops wsc__redis_pubsub_layer_ops;
extern const wsc_layer_ops wsc__redis_queue_layer_ops;

/* Registered tables live until the process ends (drivers are "borrowed for
 * the program's life"), so a linked list of copies is enough. */
typedef struct entry {
  struct entry *next;
  wsc_layer_ops ops;
} entry;

static uv_once_t once = UV_ONCE_INIT;
static uv_mutex_t mu;
static entry *head;

static int add_locked(const wsc_layer_ops *ops, entry *e, char *err,
                      size_t errlen);

/* Built-ins sit in static storage: the registry never owns heap memory
 * unless a program registers a driver of its own. */
static entry builtins[3];

static void init_registry(void) {
  uv_mutex_init(&mu);
  add_locked(&wsc__memory_layer_ops, &builtins[0], NULL, 0);
  add_locked(&wsc__redis_pubsub_layer_ops, &builtins[1], NULL, 0);
  add_locked(&wsc__redis_queue_layer_ops, &builtins[2], NULL, 0);
}

static int fail(char *err, size_t errlen, int rc, const char *what,
                const char *name) {
  if (err && errlen)
    snprintf(err, errlen, "layer driver '%s': %s", name ? name : "?", what);
  return rc;
}

static int add_locked(const wsc_layer_ops *ops, entry *e, char *err,
                      size_t errlen) {
  if ((ops->abi_version & 0xffff0000u) != WSC_LAYER_ABI_MAGIC)
    return fail(err, errlen, WSC_EVERSION,
                "not a wschannels layer driver (bad ABI magic)", NULL);
  if ((ops->abi_version & 0xffffu) > (WSC_LAYER_ABI & 0xffffu))
    return fail(err, errlen, WSC_EVERSION,
                "built for a newer wschannels layer ABI than this library",
                ops->name);
  size_t v1_size = offsetof(wsc_layer_ops, close) + sizeof(ops->close);
  if (ops->struct_size < v1_size)
    return fail(err, errlen, WSC_EVERSION,
                "struct_size is smaller than the v1 table", ops->name);
  if (!ops->name || !*ops->name || !ops->create || !ops->new_channel ||
      !ops->release_channel || !ops->send || !ops->group_add ||
      !ops->group_discard || !ops->group_send || !ops->close)
    return fail(err, errlen, WSC_EINVAL, "a name or v1 method is missing",
                ops->name);
  for (entry *e = head; e; e = e->next)
    if (strcmp(e->ops.name, ops->name) == 0)
      return fail(err, errlen, WSC_EEXIST, "already registered", ops->name);
  if (!e && !(e = wsc__calloc(1, sizeof *e))) return WSC_ENOMEM;
  /* Copy what the driver knows; methods added after its version stay NULL. */
  size_t n = ops->struct_size < sizeof e->ops ? ops->struct_size
                                              : sizeof e->ops;
  memcpy(&e->ops, ops, n);
  e->ops.struct_size = sizeof e->ops;
  e->next = head;
  head = e;
  return 0;
}

int wsc_layer_register(const wsc_layer_ops *ops, char *errbuf,
                       size_t errlen) {
  if (!ops) return WSC_EINVAL;
  uv_once(&once, init_registry);
  uv_mutex_lock(&mu);
  int rc = add_locked(ops, NULL, errbuf, errlen);
  uv_mutex_unlock(&mu);
  return rc;
}

const wsc_layer_ops *wsc__layer_registry_find(const char *name) {
  uv_once(&once, init_registry);
  uv_mutex_lock(&mu);
  entry *e = head;
  while (e && strcmp(e->ops.name, name) != 0) e = e->next;
  uv_mutex_unlock(&mu);
  return e ? &e->ops : NULL;
}
