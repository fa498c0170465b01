/* wschannels: compile-time and run-time versions. The ABI follows the major
 * number (the shared library's SOVERSION); minor releases only add. */
#ifndef WSCHANNELS_VERSION_H
#define WSCHANNELS_VERSION_H

#include "common.h"

#define WSC_VERSION_MAJOR 0
#define WSC_VERSION_MINOR 6
#define WSC_VERSION_PATCH 0
#define WSC_VERSION_STRING "0.6.0"
#define WSC_VERSION_HEX \
  ((WSC_VERSION_MAJOR << 16) | (WSC_VERSION_MINOR << 8) | WSC_VERSION_PATCH)
#define WSC_AT_LEAST_VERSION(x, y, z) \
  (WSC_VERSION_HEX >= (((x) << 16) | ((y) << 8) | (z)))

WSC_BEGIN_DECLS

/* The runtime library's WSC_VERSION_HEX, to compare with the headers.
 * Thread: any. Since: 0.1 */
WSC_API unsigned int wsc_version(void);

/* The runtime library's version as "major.minor.patch"; returns borrowed
 * static storage. Thread: any. Since: 0.1 */
WSC_API const char *wsc_version_string(void);

WSC_END_DECLS

#endif
