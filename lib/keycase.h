/* snake_case <-> camelCase for the keys of JSON objects (Chanx's
 * `camelize`, which uses pyhumps): keys change, values never do. */
#ifndef WSC_LIB_KEYCASE_H
#define WSC_LIB_KEYCASE_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Renames every key of every object in `v`, recursively. `to_camel`:
 * status_code -> statusCode; otherwise statusCode -> status_code.
 * Returns 0 or WSC_ENOMEM (some keys may then be renamed). */
int wsc__keycase_convert(cJSON *v, int to_camel);

/* Parses `json`, camelCases its keys and prints it. Returns a cJSON
 * allocation (free with cJSON_free) and its length, or NULL (not JSON, out
 * of memory). */
char *wsc__keycase_camelize_text(const char *json, size_t len, size_t *outlen);

#endif
