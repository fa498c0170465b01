/* libFuzzer target: what an operator or a client controls before a
 * connection opens. The input is tried as a server config document (with
 * ${VAR:-default} expansion, every section and key checked), and as a JWT
 * presented for authentication (a signed, valid token is in the seed
 * corpus so mutations reach the claim checks).
 * Built with clang by -DWSC_FUZZ=ON; CI runs it for a bounded time. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "wschannels/auth.h"
#include "wschannels/server.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  setenv("WSC_FUZZ_PORT", "8123", 1);
  setenv("WSC_FUZZ_URL", "redis://127.0.0.1:1/0", 1);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  memcpy(text, data, size);
  text[size] = '\0';

  wsc_server_options o;
  wsc_server_options_init(&o);
  o.config_json = text;
  wsc__config cfg;
  char err[WSC_ERRBUF_SIZE];
  if (wsc__config_load(&cfg, &o, err, sizeof err) == 0) wsc__config_clear(&cfg);

  cJSON *claims = NULL;
  char why[128];
  static const char secret[] = "fuzzing-secret-of-32-bytes-long!";
  if (wsc_jwt_verify(text, secret, sizeof secret - 1, 5, &claims, why, sizeof why) == 0)
    cJSON_Delete(claims);
  free(text);
  return 0;
}
