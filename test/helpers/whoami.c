#include "whoami.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"

int wst_whoami_handler(wsc_conn *c, const cJSON *msg, void *user_data) {
  (void)msg, (void)user_data;
  cJSON *s = cJSON_CreateString(wsc_conn_get_channel(c));
  int rc = wsc_conn_reply(c, "whoami", s);
  cJSON_Delete(s);
  return rc;
}

char *wst_whoami(wst_client *cl) {
  wst_send_text(cl, "{\"action\":\"whoami\"}");
  char *r = NULL;
  while ((r = wst_recv(cl, 5000)) && !strstr(r, "\"whoami\"")) free(r);
  CHECK(r);
  cJSON *j = cJSON_Parse(r);
  char *ch = strdup(cJSON_GetObjectItem(j, "payload")->valuestring);
  cJSON_Delete(j);
  free(r);
  return ch;
}
