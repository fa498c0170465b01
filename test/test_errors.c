/* Error codes, their names and texts, and the version functions. */
#include "helpers/check.h"

static void test_every_code_has_a_distinct_name_and_text(void) {
  static const int codes[] = {
#define XX(name, code, text) WSC_##name,
      WSC_ERR_MAP(XX)
#undef XX
  };
  size_t n = sizeof codes / sizeof *codes;
  for (size_t i = 0; i < n; i++) {
    CHECK(codes[i] < 0);
    CHECK(strncmp(wsc_err_name(codes[i]), "WSC_E", 5) == 0);
    CHECK(strcmp(wsc_strerror(codes[i]), "unknown error") != 0);
    for (size_t j = 0; j < i; j++) {
      CHECK(codes[i] != codes[j]);
      CHECK(strcmp(wsc_err_name(codes[i]), wsc_err_name(codes[j])) != 0);
    }
  }
  CHECK_STREQ(wsc_err_name(WSC_EFULL), "WSC_EFULL");
  CHECK_STREQ(wsc_strerror(WSC_EFULL), "channel full");
  CHECK_STREQ(wsc_err_name(0), "WSC_OK");
  CHECK_STREQ(wsc_strerror(0), "success");
  CHECK_STREQ(wsc_strerror(-9999), "unknown error");
  CHECK_STREQ(wsc_err_name(12345), "WSC_UNKNOWN");
}

static void test_codes_are_stable(void) {
  /* Published numbers never change (append only). */
  CHECK_EQ(WSC_EINVAL, -1);
  CHECK_EQ(WSC_ECONFIG, -6);
  CHECK_EQ(WSC_EAGAIN, -11);
  CHECK_EQ(WSC_ETHREAD, -14);
  CHECK_EQ(WSC_EFULL, -15);
}

static void test_version(void) {
  CHECK_EQ(wsc_version(), WSC_VERSION_HEX);
  CHECK_STREQ(wsc_version_string(), WSC_VERSION_STRING);
  CHECK(WSC_AT_LEAST_VERSION(0, 1, 0));
  CHECK(!WSC_AT_LEAST_VERSION(99, 0, 0));
}

static void test_names(void) {
  CHECK(wsc_group_name_is_valid("room_lobby-1.a"));
  CHECK(!wsc_group_name_is_valid(""));
  CHECK(!wsc_group_name_is_valid("a b"));
  CHECK(!wsc_group_name_is_valid("a!b"));
  char longname[101];
  memset(longname, 'a', 100);
  longname[100] = 0;
  CHECK(!wsc_group_name_is_valid(longname));
  longname[99] = 0;
  CHECK(wsc_group_name_is_valid(longname));
  CHECK(wsc_channel_name_is_valid("specific..inmemory!abcDEF"));
  CHECK(!wsc_channel_name_is_valid("a!b!c"));
  CHECK(!wsc_channel_name_is_valid("!abc"));
  CHECK(!wsc_channel_name_is_valid(NULL));
}

int main(void) {
  RUN(test_every_code_has_a_distinct_name_and_text);
  RUN(test_codes_are_stable);
  RUN(test_version);
  RUN(test_names);
  return 0;
}
