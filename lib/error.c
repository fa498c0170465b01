/* wsc_strerror and wsc_err_name, generated from WSC_ERR_MAP so that codes and
 * texts cannot drift apart. */
#include "wschannels/error.h"

const char *wsc_strerror(int err) {
  switch (err) {
    case WSC_OK:
      return "success";
#define WSC__ERR_TEXT(name, code, text) \
  case WSC_##name:                      \
    return text;
      WSC_ERR_MAP(WSC__ERR_TEXT)
#undef WSC__ERR_TEXT
    default:
      return "unknown error";
  }
}

const char *wsc_err_name(int err) {
  switch (err) {
    case WSC_OK:
      return "WSC_OK";
#define WSC__ERR_NAME(name, code, text) \
  case WSC_##name:                      \
    return "WSC_" #name;
      WSC_ERR_MAP(WSC__ERR_NAME)
#undef WSC__ERR_NAME
    default:
      return "WSC_UNKNOWN";
  }
}
