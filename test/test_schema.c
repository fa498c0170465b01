/* The schema subset: every constraint on valid and invalid input, the
 * Pydantic error names, locations and texts, defaults, and the schemas that
 * must be refused when compiled. */
#include <string.h>

#include "helpers/check.h"

static wsc_schema *compile(const char *text) {
  char err[256] = "";
  wsc_schema *s = NULL;
  int rc = wsc_schema_new(text, strlen(text), &s, err, sizeof err);
  if (rc) fprintf(stderr, "schema %s: %s\n", text, err);
  CHECK_OK(rc);
  return s;
}

/* Validates `input` against `schema` with loc prefix ["m"] and returns the
 * compact JSON of the error list (malloc'd by cJSON); *out_value gets the
 * value after defaults when not NULL. */
static char *errors_of(const char *schema, const char *input,
                       char **out_value) {
  wsc_schema *s = compile(schema);
  cJSON *v = cJSON_Parse(input), *errs = cJSON_CreateArray();
  cJSON *prefix = cJSON_CreateArray();
  cJSON_AddItemToArray(prefix, cJSON_CreateString("m"));
  CHECK(v);
  int n = wsc_schema_validate(s, v, prefix, errs);
  CHECK(n >= 0);
  CHECK_EQ(n > 100 ? 101 : n, cJSON_GetArraySize(errs));
  char *out = cJSON_PrintUnformatted(errs);
  if (out_value) *out_value = cJSON_PrintUnformatted(v);
  cJSON_Delete(v);
  cJSON_Delete(errs);
  cJSON_Delete(prefix);
  wsc_schema_free(s);
  return out;
}

static void expect(const char *schema, const char *input, const char *want) {
  char *got = errors_of(schema, input, NULL);
  if (strcmp(got, want) != 0) {
    fprintf(stderr, "schema %s\ninput  %s\n", schema, input);
    CHECK_STREQ(got, want);
  }
  cJSON_free(got);
}

static void expect_valid(const char *schema, const char *input) {
  expect(schema, input, "[]");
}

#define ERR(type, loc, msg) \
  "{\"type\":\"" type "\",\"loc\":[\"m\"" loc "],\"msg\":\"" msg "\"}"
#define ONE(type, loc, msg) "[" ERR(type, loc, msg) "]"

static void test_types(void) {
  expect_valid("{\"type\":\"string\"}", "\"x\"");
  expect("{\"type\":\"string\"}", "5",
         ONE("string_type", "", "Input should be a valid string"));
  expect_valid("{\"type\":\"integer\"}", "5");
  expect_valid("{\"type\":\"integer\"}", "-7.0");
  expect("{\"type\":\"integer\"}", "\"5\"",
         ONE("int_type", "", "Input should be a valid integer"));
  expect("{\"type\":\"integer\"}", "2.5",
         ONE("int_from_float", "",
             "Input should be a valid integer, got a number with a "
             "fractional part"));
  expect_valid("{\"type\":\"number\"}", "2.5");
  expect_valid("{\"type\":\"number\"}", "2");
  expect("{\"type\":\"number\"}", "true",
         ONE("float_type", "", "Input should be a valid number"));
  expect_valid("{\"type\":\"boolean\"}", "false");
  expect("{\"type\":\"boolean\"}", "1",
         ONE("bool_type", "", "Input should be a valid boolean"));
  expect_valid("{\"type\":\"null\"}", "null");
  expect("{\"type\":\"null\"}", "0",
         ONE("none_required", "", "Input should be None"));
  expect_valid("{\"type\":\"array\"}", "[1,\"a\"]");
  expect("{\"type\":\"array\"}", "{}",
         ONE("list_type", "", "Input should be a valid list"));
  expect_valid("{\"type\":\"object\"}", "{}");
  expect("{\"type\":\"object\"}", "[]",
         ONE("dict_type", "", "Input should be a valid dictionary"));
  expect("{\"type\":\"object\",\"title\":\"ChatPayload\"}", "\"hi\"",
         ONE("model_type", "",
             "Input should be a valid dictionary or instance of "
             "ChatPayload"));
  /* "any": {} and true */
  expect_valid("{}", "[1,{\"a\":null}]");
  expect_valid("{\"type\":\"object\",\"properties\":{\"x\":true}}",
               "{\"x\":3}");
}

static void test_nullable(void) {
  const char *forms[] = {
      "{\"type\":[\"string\",\"null\"]}",
      "{\"type\":\"string\",\"nullable\":true}",
      "{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}"};
  for (size_t i = 0; i < 3; i++) {
    expect_valid(forms[i], "null");
    expect_valid(forms[i], "\"s\"");
    /* the real type is named, not null */
    expect(forms[i], "5",
           ONE("string_type", "", "Input should be a valid string"));
  }
  expect_valid("{\"anyOf\":[{\"type\":\"integer\"},{\"type\":\"string\"}]}",
               "\"x\"");
}

static void test_strings(void) {
  const char *s = "{\"type\":\"string\",\"minLength\":2,\"maxLength\":4}";
  expect_valid(s, "\"ab\"");
  expect_valid(s, "\"abcd\"");
  expect(s, "\"a\"",
         ONE("string_too_short", "", "String should have at least 2 characters"));
  expect(s, "\"abcde\"",
         ONE("string_too_long", "", "String should have at most 4 characters"));
  /* characters, not bytes: four emoji are 16 bytes */
  expect_valid(s, "\"\xf0\x9f\x92\xac\xf0\x9f\x92\xac\xf0\x9f\x92\xac\xf0\x9f\x92\xac\"");
  expect("{\"type\":\"string\",\"minLength\":1}", "\"\"",
         ONE("string_too_short", "", "String should have at least 1 character"));
  const char *e = "{\"type\":\"string\",\"enum\":[\"translate\",\"analyze\",\"generate\"]}";
  expect_valid(e, "\"analyze\"");
  expect(e, "\"cook\"",
         ONE("literal_error", "",
             "Input should be 'translate', 'analyze' or 'generate'"));
  expect("{\"enum\":[\"a\",\"b\"]}", "\"c\"",
         ONE("literal_error", "", "Input should be 'a' or 'b'"));
  expect("{\"const\":\"chat\"}", "\"ping\"",
         ONE("literal_error", "", "Input should be 'chat'"));
  expect("{\"enum\":[1,true,null]}", "2",
         ONE("literal_error", "", "Input should be 1, True or None"));
}

static void test_numbers(void) {
  const char *s = "{\"type\":\"integer\",\"minimum\":1,\"maximum\":10}";
  expect_valid(s, "1");
  expect_valid(s, "10");
  expect(s, "0", ONE("greater_than_equal", "",
                     "Input should be greater than or equal to 1"));
  expect(s, "11", ONE("less_than_equal", "",
                      "Input should be less than or equal to 10"));
  const char *x =
      "{\"type\":\"number\",\"exclusiveMinimum\":0,\"exclusiveMaximum\":1.5}";
  expect_valid(x, "0.5");
  expect(x, "0", ONE("greater_than", "", "Input should be greater than 0"));
  expect(x, "1.5", ONE("less_than", "", "Input should be less than 1.5"));
}

static void test_arrays(void) {
  const char *s =
      "{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"minItems\":1,"
      "\"maxItems\":3}";
  expect_valid(s, "[\"a\"]");
  expect(s, "[]", ONE("too_short", "",
                      "List should have at least 1 item after validation, "
                      "not 0"));
  expect(s, "[\"a\",\"b\",\"c\",\"d\"]",
         ONE("too_long", "",
             "List should have at most 3 items after validation, not 4"));
  /* every bad item, each at its index */
  expect(s, "[\"a\",1,false]",
         "[" ERR("string_type", ",1", "Input should be a valid string") ","
         ERR("string_type", ",2", "Input should be a valid string") "]");
}

static const char *const chat =
    "{\"type\":\"object\",\"title\":\"ChatMessage\",\"properties\":{"
    "\"action\":{\"const\":\"chat\"},"
    "\"payload\":{\"type\":\"object\",\"title\":\"ChatPayload\","
    "\"properties\":{"
    "\"message\":{\"type\":\"string\",\"maxLength\":10},"
    "\"room\":{\"type\":\"string\",\"default\":\"lobby\"},"
    "\"meta\":{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"}},"
    "\"required\":[\"n\"]}},"
    "\"required\":[\"message\"],\"additionalProperties\":false}},"
    "\"required\":[\"action\",\"payload\"]}";

static void test_objects(void) {
  expect(chat, "{\"action\":\"chat\"}",
         ONE("missing", ",\"payload\"", "Field required"));
  expect(chat, "{\"action\":\"chat\",\"payload\":{}}",
         ONE("missing", ",\"payload\",\"message\"", "Field required"));
  expect(chat, "{\"action\":\"chat\",\"payload\":{\"message\":5}}",
         ONE("string_type", ",\"payload\",\"message\"",
             "Input should be a valid string"));
  /* every problem at once, in schema order, nested paths included */
  expect(chat,
         "{\"action\":\"chat\",\"payload\":{\"message\":\"01234567890\","
         "\"room\":7,\"meta\":{},\"extra\":1}}",
         "[" ERR("string_too_long", ",\"payload\",\"message\"",
                 "String should have at most 10 characters") ","
         ERR("string_type", ",\"payload\",\"room\"",
             "Input should be a valid string") ","
         ERR("missing", ",\"payload\",\"meta\",\"n\"", "Field required") ","
         ERR("extra_forbidden", ",\"payload\",\"extra\"",
             "Extra inputs are not permitted") "]");
  expect(chat, "{\"action\":\"chat\",\"payload\":null}",
         ONE("model_type", ",\"payload\"",
             "Input should be a valid dictionary or instance of "
             "ChatPayload"));
}

static void test_defaults(void) {
  char *value = NULL;
  char *errs = errors_of(chat, "{\"action\":\"chat\",\"payload\":{\"message\":\"hi\"}}",
                         &value);
  CHECK_STREQ(errs, "[]");
  CHECK_STREQ(value,
              "{\"action\":\"chat\",\"payload\":{\"message\":\"hi\","
              "\"room\":\"lobby\"}}");
  cJSON_free(errs);
  cJSON_free(value);
  /* a given value is kept */
  errs = errors_of(chat,
                   "{\"action\":\"chat\",\"payload\":{\"message\":\"hi\","
                   "\"room\":\"r1\"}}",
                   &value);
  CHECK_CONTAINS(value, "\"room\":\"r1\"");
  CHECK(!strstr(value, "lobby"));
  cJSON_free(errs);
  cJSON_free(value);
  /* an object default is a deep copy, a null default fills null */
  errs = errors_of("{\"properties\":{\"o\":{\"default\":{\"a\":[1]}},"
                   "\"p\":{\"type\":[\"string\",\"null\"],\"default\":null}}}",
                   "{}", &value);
  CHECK_STREQ(value, "{\"o\":{\"a\":[1]},\"p\":null}");
  cJSON_free(errs);
  cJSON_free(value);
}

static void test_error_cap(void) {
  /* 500 bad items: 100 listed, then one saying how many more */
  char input[4000] = "[";
  for (int i = 0; i < 500; i++) strcat(input, i ? ",1" : "1");
  strcat(input, "]");
  char *errs = errors_of("{\"items\":{\"type\":\"string\"}}", input, NULL);
  cJSON *a = cJSON_Parse(errs);
  CHECK_EQ(cJSON_GetArraySize(a), WSC_SCHEMA_MAX_ERRORS + 1);
  cJSON *last = cJSON_GetArrayItem(a, WSC_SCHEMA_MAX_ERRORS);
  CHECK_STREQ(cJSON_GetObjectItem(last, "type")->valuestring,
              "too_many_errors");
  CHECK_STREQ(cJSON_GetObjectItem(last, "msg")->valuestring,
              "400 more problems not listed");
  cJSON_Delete(a);
  cJSON_free(errs);
}

static void refused(const char *schema, const char *want) {
  char err[256] = "";
  wsc_schema *s = NULL;
  CHECK_EQ(wsc_schema_new(schema, strlen(schema), &s, err, sizeof err),
           WSC_ECONFIG);
  CHECK(s == NULL);
  CHECK_CONTAINS(err, want);
}

static void test_bad_schemas(void) {
  refused("{\"type\":", "not valid JSON");
  refused("[]", "(schema root): a schema must be a JSON object");
  refused("{\"type\":\"str\"}", "type must be one of");
  refused("{\"$ref\":\"#/x\"}", "keyword '$ref' is not supported");
  refused("{\"properties\":{\"a\":{\"pattern\":\"x\"}}}",
          "/properties/a: keyword 'pattern' is not supported");
  refused("{\"properties\":{\"a\":{\"maxLength\":-1}}}",
          "/properties/a: maxLength must be a non-negative integer");
  refused("{\"items\":{\"minimum\":\"1\"}}", "/items: minimum must be a number");
  refused("{\"enum\":[]}", "enum must be a non-empty array");
  refused("{\"required\":\"a\"}", "required must be an array");
  refused("{\"additionalProperties\":{}}", "additionalProperties must be");
  refused("{\"maxLenght\":3}", "keyword 'maxLenght' is not supported");
  /* found by the fuzzer: a key given twice used to leak the first schema */
  refused("{\"properties\":{\"a\":{},\"a\":{\"type\":\"string\"}}}",
          "property 'a' is defined twice");
  /* too deep */
  char deep[2000] = "";
  for (int i = 0; i < 70; i++) strcat(deep, "{\"items\":");
  strcat(deep, "{}");
  for (int i = 0; i < 70; i++) strcat(deep, "}");
  refused(deep, "nested more than 64 levels deep");
  /* annotations and x- extensions are accepted */
  wsc_schema *s = compile("{\"title\":\"T\",\"description\":\"d\",\"examples\":[1],"
                          "\"x-kind\":1,\"format\":\"date-time\"}");
  CHECK(cJSON_IsObject(wsc_schema_json(s)));
  wsc_schema_free(s);
  CHECK_EQ(wsc_schema_new(NULL, 0, &s, NULL, 0), WSC_EINVAL);
}

int main(void) {
  test_types();
  test_nullable();
  test_strings();
  test_numbers();
  test_arrays();
  test_objects();
  test_defaults();
  test_error_cap();
  test_bad_schemas();
  printf("ok\n");
  return 0;
}
