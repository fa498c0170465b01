/* Registered layer drivers, by name. */
#ifndef WSC_LIB_LAYER_REGISTRY_H
#define WSC_LIB_LAYER_REGISTRY_H

#include <stddef.h>

#include "wschannels/layer.h"

/* Calls a driver method only if the driver's table has it (sqlite's
 * iVersion>=n && ptr, by size so no version table is needed). */
#define WSC__LAYER_HAS(ops, field)                                   \
  ((ops)->struct_size >= offsetof(wsc_layer_ops, field) +            \
                             sizeof((ops)->field) &&                 \
   (ops)->field != NULL)

/* The registered driver called `name` (built-ins included), as a zero-filled
 * copy of the current size; NULL if none. Thread: any. */
const wsc_layer_ops *wsc__layer_registry_find(const char *name);

#endif
