/* HS256 JSON Web Tokens, with the HMAC of the OpenSSL that libwebsockets
 * links already. */
#include "wschannels/auth.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "alloc.h"
#include "wschannels/error.h"

/* base64url without padding (RFC 7515); returns the length or -1. */
static long b64url_decode(const char *in, size_t n, unsigned char *out) {
  unsigned acc = 0;
  int bits = 0;
  long o = 0;
  for (size_t i = 0; i < n; i++) {
    int v;
    char ch = in[i];
    if (ch >= 'A' && ch <= 'Z') v = ch - 'A';
    else if (ch >= 'a' && ch <= 'z') v = ch - 'a' + 26;
    else if (ch >= '0' && ch <= '9') v = ch - '0' + 52;
    else if (ch == '-') v = 62;
    else if (ch == '_') v = 63;
    else return -1;
    acc = (acc << 6) | (unsigned)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (unsigned char)(acc >> bits);
    }
  }
  return bits >= 6 ? -1 : o; /* a lone 6 bits cannot end a byte */
}

static int fail(char *why, size_t whylen, const char *text) {
  if (why && whylen) snprintf(why, whylen, "%s", text);
  return WSC_EINVAL;
}

/* Decodes one part as a JSON object. */
static cJSON *json_part(const char *p, size_t n) {
  unsigned char *buf = wsc__malloc(n + 1);
  if (!buf) return NULL;
  long len = b64url_decode(p, n, buf);
  cJSON *j = len >= 0 ? cJSON_ParseWithLength((const char *)buf, (size_t)len) : NULL;
  wsc__free(buf);
  if (j && !cJSON_IsObject(j)) {
    cJSON_Delete(j);
    j = NULL;
  }
  return j;
}

int wsc_jwt_verify(const char *token, const void *secret, size_t secret_len,
                   long leeway_s, cJSON **claims, char *why, size_t whylen) {
  if (claims) *claims = NULL;
  if (why && whylen) why[0] = '\0';
  if (!token || (!secret && secret_len)) return WSC_EINVAL;
  const char *d1 = strchr(token, '.');
  const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
  size_t tlen = strlen(token);
  if (!d1 || !d2 || strchr(d2 + 1, '.') || tlen > 16384)
    return fail(why, whylen, "Token is malformed");
  cJSON *header = json_part(token, (size_t)(d1 - token));
  const cJSON *alg = cJSON_GetObjectItemCaseSensitive(header, "alg");
  int alg_ok = cJSON_IsString(alg) && strcmp(alg->valuestring, "HS256") == 0;
  cJSON_Delete(header);
  if (!header) return fail(why, whylen, "Token is malformed");
  if (!alg_ok) return fail(why, whylen, "Token algorithm must be HS256");
  unsigned char sig[64], mac[EVP_MAX_MD_SIZE];
  size_t slen = tlen - (size_t)(d2 + 1 - token);
  long got = slen <= 86 ? b64url_decode(d2 + 1, slen, sig) : -1;
  unsigned maclen = 0;
  if (!HMAC(EVP_sha256(), secret, (int)secret_len,
            (const unsigned char *)token, (size_t)(d2 - token), mac, &maclen))
    return WSC_ENOMEM;
  if (got != (long)maclen || CRYPTO_memcmp(sig, mac, maclen) != 0)
    return fail(why, whylen, "Token signature is invalid");
  cJSON *payload = json_part(d1 + 1, (size_t)(d2 - d1 - 1));
  if (!payload) return fail(why, whylen, "Token payload is not a JSON object");
  double now = (double)time(NULL);
  const cJSON *exp = cJSON_GetObjectItemCaseSensitive(payload, "exp");
  const cJSON *nbf = cJSON_GetObjectItemCaseSensitive(payload, "nbf");
  const char *problem = NULL;
  if (exp && !cJSON_IsNumber(exp)) problem = "Token \"exp\" is not a number";
  else if (exp && now > exp->valuedouble + (double)leeway_s) problem = "Token has expired";
  else if (nbf && !cJSON_IsNumber(nbf)) problem = "Token \"nbf\" is not a number";
  else if (nbf && now + (double)leeway_s < nbf->valuedouble) problem = "Token is not yet valid";
  if (problem) {
    cJSON_Delete(payload);
    return fail(why, whylen, problem);
  }
  if (claims)
    *claims = payload;
  else
    cJSON_Delete(payload);
  return 0;
}
