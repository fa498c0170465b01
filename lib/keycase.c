#include "keycase.h"

#include <ctype.h>
#include <string.h>

#include "wschannels/error.h"

/* pyhumps: leading and trailing underscores are kept; "_x" inside becomes
 * "X" (a digit after '_' is kept as is: "a_1" -> "a1"). */
static char *camelize(const char *s) {
  size_t n = strlen(s);
  char *out = cJSON_malloc(n + 1);
  if (!out) return NULL;
  size_t lead = 0, trail = 0;
  while (lead < n && s[lead] == '_') lead++;
  while (trail < n - lead && s[n - 1 - trail] == '_') trail++;
  size_t o = 0;
  memcpy(out, s, lead);
  o = lead;
  for (size_t i = lead; i < n - trail; i++) {
    if (s[i] == '_' && i + 1 < n - trail && isalnum((unsigned char)s[i + 1])) {
      out[o++] = (char)toupper((unsigned char)s[++i]);
    } else {
      out[o++] = s[i];
    }
  }
  memcpy(out + o, s + n - trail, trail);
  out[o + trail] = '\0';
  return out;
}

/* "statusCode" -> "status_code", "HTTPStatus" -> "http_status". */
static char *decamelize(const char *s) {
  size_t n = strlen(s);
  char *out = cJSON_malloc(2 * n + 1);
  if (!out) return NULL;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (isupper(ch) && i > 0 && s[i - 1] != '_') {
      unsigned char prev = (unsigned char)s[i - 1];
      unsigned char next = (unsigned char)s[i + 1];
      if (islower(prev) || isdigit(prev) || (isupper(prev) && islower(next)))
        out[o++] = '_';
    }
    out[o++] = (char)tolower(ch);
  }
  out[o] = '\0';
  return out;
}

int wsc__keycase_convert(cJSON *v, int to_camel) {
  int rc = 0;
  for (cJSON *c = v ? v->child : NULL; c; c = c->next) {
    if (cJSON_IsObject(v) && c->string) {
      char *k = to_camel ? camelize(c->string) : decamelize(c->string);
      if (!k) return WSC_ENOMEM;
      if (!(c->type & cJSON_StringIsConst)) cJSON_free(c->string);
      c->type &= ~cJSON_StringIsConst;
      c->string = k;
    }
    if ((cJSON_IsObject(c) || cJSON_IsArray(c)) &&
        (rc = wsc__keycase_convert(c, to_camel)))
      return rc;
  }
  return rc;
}

char *wsc__keycase_camelize_text(const char *json, size_t len,
                                 size_t *outlen) {
  cJSON *doc = cJSON_ParseWithLength(json, len);
  char *out = NULL;
  if (doc && wsc__keycase_convert(doc, 1) == 0)
    out = cJSON_PrintUnformatted(doc);
  cJSON_Delete(doc);
  if (out) *outlen = strlen(out);
  return out;
}
