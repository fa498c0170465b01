/* wschannels: message schemas, a JSON Schema subset, and Pydantic-style
 * validation errors.
 *
 * A schema is JSON text. Supported keywords:
 *   type        "string" "integer" "number" "boolean" "null" "array"
 *               "object", or an array of them (["string","null"])
 *   nullable    true: null is also accepted (OpenAPI style)
 *   anyOf       alternatives; [X, {"type":"null"}] is the usual nullable X
 *   const, enum accepted values (literal_error otherwise)
 *   minLength, maxLength           strings, counted in Unicode characters
 *   minimum, maximum, exclusiveMinimum, exclusiveMaximum   numbers
 *   items, minItems, maxItems      arrays
 *   properties, required, additionalProperties (false or true)   objects
 *   default     filled in when the property is missing
 *   title, description, examples, format, $schema, $comment, deprecated,
 *   readOnly, writeOnly: kept for documentation, not checked
 * {} and true accept anything. Keywords that would change what is valid but
 * are not supported ($ref, allOf, oneOf, not, pattern, multipleOf, ...)
 * make wsc_schema_new fail rather than be silently ignored.
 *
 * Types are strict, as JSON gives them: "5" is not an integer and 1 is not a
 * boolean; 2.0 is an integer, 2.5 is not.
 *
 * Errors are objects {"type", "loc", "msg"} named as Pydantic names them:
 * missing, string_type, int_type, int_from_float, float_type, bool_type,
 * none_required, list_type, dict_type, model_type, literal_error,
 * string_too_short, string_too_long, greater_than, greater_than_equal,
 * less_than, less_than_equal, too_short, too_long, extra_forbidden. At most
 * WSC_SCHEMA_MAX_ERRORS are listed; past that one last error of type
 * "too_many_errors" says how many more there were. */
#ifndef WSCHANNELS_SCHEMA_H
#define WSCHANNELS_SCHEMA_H

#include "common.h"

#include <cjson/cJSON.h>

WSC_BEGIN_DECLS

#define WSC_SCHEMA_MAX_ERRORS 100

typedef struct wsc_schema wsc_schema;

/* Compile the schema in `json` (`len` bytes). Returns 0 and *out, or
 * WSC_ECONFIG with `err` saying where and what is wrong (e.g. "/properties/
 * age/minimum: must be a number"), WSC_EINVAL, WSC_ENOMEM.
 * Ownership: returns owned; free with wsc_schema_free.
 * Thread: any; a compiled schema may be used by many threads at once.
 * Since: 0.2 */
WSC_API int wsc_schema_new(const char *json, size_t len, wsc_schema **out,
                           char *err, size_t errlen);

/* NULL is a no-op. Since: 0.2 */
WSC_API void wsc_schema_free(wsc_schema *s);

/* The schema as a cJSON document. Returns borrowed, valid for the schema's
 * life; do not modify it. Since: 0.2 */
WSC_API const cJSON *wsc_schema_json(const wsc_schema *s);

/* Check `value`, adding the defaults of missing properties to it. Each
 * problem is appended to the array `errors` as {"type","loc","msg"}; every
 * "loc" starts with the elements of `loc_prefix` (a cJSON array, or NULL).
 * Returns the number of problems found (0: valid), or WSC_EINVAL,
 * WSC_ENOMEM. Thread: any. Since: 0.2 */
WSC_API int wsc_schema_validate(const wsc_schema *s, cJSON *value,
                                const cJSON *loc_prefix, cJSON *errors);

WSC_END_DECLS

#endif
