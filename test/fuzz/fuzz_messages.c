/* libFuzzer target: what a client controls on the way to a handler. The
 * input is "<path>\n<message>":
 *   the path goes through the route table ({param} captures, URL forms);
 *   the message goes through JSON parsing, snake_case conversion (camelize),
 *   action routing and validation against a schema using every keyword, with
 *   defaults filled in; then it is compiled as a schema itself and, if it is
 *   one, checked against a fixed document.
 * Built with clang by -DWSC_FUZZ=ON; CI runs it for a bounded time. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "keycase.h"
#include "router.h"
#include "wschannels/schema.h"

static const char *const kSchema =
    "{\"title\":\"ChatMessage\",\"type\":\"object\",\"properties\":{"
    "\"action\":{\"enum\":[\"chat\",\"ping\",\"join\"]},"
    "\"payload\":{\"anyOf\":[{\"type\":\"object\",\"title\":\"P\","
    "\"properties\":{"
    "\"message\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":64},"
    "\"room\":{\"type\":[\"string\",\"null\"],\"default\":\"lobby\"},"
    "\"n\":{\"type\":\"integer\",\"minimum\":-5,\"exclusiveMaximum\":100},"
    "\"x\":{\"type\":\"number\",\"exclusiveMinimum\":0,\"maximum\":1.5},"
    "\"ok\":{\"type\":\"boolean\",\"default\":false},"
    "\"tags\":{\"type\":\"array\",\"items\":{\"const\":\"a\"},\"minItems\":1,"
    "\"maxItems\":3},"
    "\"meta\":{\"type\":\"object\",\"nullable\":true,\"properties\":{"
    "\"k\":{}},\"required\":[\"k\"],\"additionalProperties\":false}},"
    "\"required\":[\"message\"]},{\"type\":\"null\"}]}},"
    "\"required\":[\"action\"]}";

static wsc_schema *schema;
static wsc__router router;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  if (wsc_schema_new(kSchema, strlen(kSchema), &schema, NULL, 0)) abort();
  static int targets[3];
  if (wsc__router_add(&router, "/ws/room/{room_name}", &targets[0]) ||
      wsc__router_add(&router, "/ws/chat", &targets[1]) ||
      wsc__router_add(&router, "/ws/{a}/{b}/x", &targets[2]))
    abort();
  return 0;
}

static void route(const char *path) {
  wsc__kv *params = NULL;
  size_t n = 0;
  if (wsc__router_match(&router, path, &params, &n)) {
    for (size_t i = 0; i < n; i++)
      if (!params[i].key || !params[i].val) abort();
    wsc__kv_free(params, n);
  }
}

static void validate(const wsc_schema *s, cJSON *value) {
  cJSON *errors = cJSON_CreateArray(), *prefix = cJSON_CreateArray();
  cJSON_AddItemToArray(prefix, cJSON_CreateString("chat"));
  int n = wsc_schema_validate(s, value, prefix, errors);
  if (n > 0) {
    if (cJSON_GetArraySize(errors) != (n > WSC_SCHEMA_MAX_ERRORS ? WSC_SCHEMA_MAX_ERRORS + 1 : n))
      abort();
    char *text = cJSON_PrintUnformatted(errors);
    cJSON_free(text);
  }
  cJSON_Delete(prefix);
  cJSON_Delete(errors);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *nl = memchr(data, '\n', size);
  size_t plen = nl ? (size_t)(nl - (const char *)data) : 0;
  char *path = malloc(plen + 1);
  memcpy(path, data, plen);
  path[plen] = '\0';
  if (memchr(path, '\0', plen) == NULL) route(path);
  free(path);

  const char *msg = nl ? nl + 1 : (const char *)data;
  size_t mlen = size - (size_t)(msg - (const char *)data);
  cJSON *m = cJSON_ParseWithLength(msg, mlen);
  if (m) {
    wsc__keycase_convert(m, 0);
    const cJSON *action = cJSON_GetObjectItemCaseSensitive(m, "action");
    if (cJSON_IsObject(m) && cJSON_IsString(action)) validate(schema, m);
    char *printed = cJSON_PrintUnformatted(m);
    if (printed) {
      size_t n = 0;
      char *camel = wsc__keycase_camelize_text(printed, strlen(printed), &n);
      cJSON_free(camel);
      cJSON_free(printed);
    }
    cJSON_Delete(m);
  }
  wsc_schema *user = NULL;
  if (wsc_schema_new(msg, mlen, &user, NULL, 0) == 0) {
    cJSON *doc = cJSON_Parse("{\"action\":\"chat\",\"payload\":{\"message\":\"hi\","
                             "\"list\":[1,\"a\",null,{\"k\":2.5}]}}");
    validate(user, doc);
    cJSON_Delete(doc);
    wsc_schema_free(user);
  }
  return 0;
}
