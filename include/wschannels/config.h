/* wschannels: the JSON configuration document shared by every process of a
 * deployment (servers, workers, scripts). See docs/config.md. */
#ifndef WSCHANNELS_CONFIG_H
#define WSCHANNELS_CONFIG_H

#include "common.h"

#include <cjson/cJSON.h>

WSC_BEGIN_DECLS

/* Parse a config document and expand "${VAR}" and "${VAR:-default}" in every
 * string value from the environment (the same expansion every wschannels
 * process applies). "$$" stands for a literal "$".
 * Returns 0 and *out; WSC_ECONFIG (bad JSON, unterminated or unset ${VAR}
 * without default; `errbuf` says where); WSC_EINVAL; WSC_ENOMEM.
 * Ownership: returns owned; free with cJSON_Delete.
 * Thread: any (reads the environment). Since: 0.1 */
WSC_API int wsc_config_parse(const char *json, size_t len, cJSON **out,
                             char *errbuf, size_t errlen);

WSC_END_DECLS

#endif
