/* wschannels: typed WebSocket endpoints with Chanx-style action routing,
 * groups and pluggable channel layers, embeddable on a libuv loop.
 * This umbrella header is the only one applications need to include. */
#ifndef WSCHANNELS_H
#define WSCHANNELS_H

#include "common.h"
#include "version.h"
#include "error.h"
#include "alloc.h"
#include "log.h"
#include "config.h"
#include "schema.h"
#include "auth.h"
#include "consumer.h"
#include "conn.h"
#include "layer.h"
#include "server.h"
#include "sender.h"
#include "stats.h"

#endif
