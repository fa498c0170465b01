#include "message.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "wschannels/error.h"

/* Validates `json` as an object (and, for events, with a string action). */
static int check_object(const char *json, size_t len, int need_action) {
  const char *end = NULL;
  cJSON *doc = cJSON_ParseWithLengthOpts(json, len, &end, 0);
  int rc = 0;
  /* Nothing may follow the value (a NUL or garbage would break the
   * envelope it is copied into). */
  while (doc && end < json + len &&
         (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
    end++;
  if (doc && end != json + len) {
    rc = WSC_EINVAL;
  } else if (!cJSON_IsObject(doc)) {
    rc = WSC_EINVAL;
  } else if (need_action) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(doc, "action");
    if (!cJSON_IsString(a) || !a->valuestring[0]) rc = WSC_EINVAL;
  }
  cJSON_Delete(doc);
  return rc;
}

/* Concatenates head + json + "}" without re-serializing the caller's JSON. */
static char *wrap(const char *head, const char *json, size_t len,
                  size_t *outlen, int *rc) {
  size_t hl = strlen(head);
  char *s = wsc__malloc(hl + len + 2);
  if (!s) {
    *rc = WSC_ENOMEM;
    return NULL;
  }
  memcpy(s, head, hl);
  memcpy(s + hl, json, len);
  s[hl + len] = '}';
  s[hl + len + 1] = '\0';
  *outlen = hl + len + 1;
  *rc = 0;
  return s;
}

char *wsc__env_group_message(const char *json, size_t len, int exclude_current,
                             const char *from_channel, const char *from_user,
                             size_t *outlen, int *rc) {
  if ((*rc = check_object(json, len, 0))) return NULL;
  char head[512], user[200] = "";
  if (from_user) { /* any text: escape it */
    cJSON *u = cJSON_CreateString(from_user);
    char *q = u ? cJSON_PrintUnformatted(u) : NULL;
    cJSON_Delete(u);
    if (!q) {
      *rc = WSC_ENOMEM;
      return NULL;
    }
    snprintf(user, sizeof user, ",\"from_user\":%s", q);
    cJSON_free(q);
  }
  /* from_channel is a validated channel name: nothing to escape. */
  snprintf(head, sizeof head,
           "{\"type\":\"" WSC__ENV_GROUP_MESSAGE
           "\",\"exclude_current\":%s,\"from_channel\":\"%s\"%s,\"message\":",
           exclude_current ? "true" : "false",
           from_channel ? from_channel : "", user);
  return wrap(head, json, len, outlen, rc);
}

char *wsc__env_event(const char *json, size_t len, size_t *outlen, int *rc) {
  if ((*rc = check_object(json, len, 1))) return NULL;
  return wrap("{\"type\":\"" WSC__ENV_CHANNEL_EVENT "\",\"event_data\":", json,
              len, outlen, rc);
}

const char *wsc__env_problem(int rc, int event) {
  if (rc != WSC_EINVAL) return wsc_strerror(rc);
  return event ? "an event is a JSON object with a string \"action\""
               : "a message is a JSON object";
}

static char *print_and_delete(cJSON *o) {
  char *s = o ? cJSON_PrintUnformatted(o) : NULL;
  cJSON_Delete(o);
  return s;
}

char *wsc__msg_validation_error(const char *type, const char *loc0,
                                const char *msg) {
  cJSON *o = cJSON_CreateObject(), *arr = cJSON_CreateArray(),
        *e = cJSON_CreateObject(), *loc = cJSON_CreateArray();
  if (!o || !arr || !e || !loc) {
    cJSON_Delete(o);
    cJSON_Delete(arr);
    cJSON_Delete(e);
    cJSON_Delete(loc);
    return NULL;
  }
  if (loc0) cJSON_AddItemToArray(loc, cJSON_CreateString(loc0));
  cJSON_AddStringToObject(e, "type", type);
  cJSON_AddItemToObject(e, "loc", loc);
  cJSON_AddStringToObject(e, "msg", msg);
  cJSON_AddItemToArray(arr, e);
  cJSON_AddStringToObject(o, "action", "error");
  cJSON_AddItemToObject(o, "payload", arr);
  return print_and_delete(o);
}

char *wsc__msg_error_list(cJSON *errors) {
  cJSON *o = cJSON_CreateObject();
  if (!o || !errors) {
    cJSON_Delete(o);
    cJSON_Delete(errors);
    return NULL;
  }
  cJSON_AddStringToObject(o, "action", "error");
  cJSON_AddItemToObject(o, "payload", errors);
  return print_and_delete(o);
}

char *wsc__msg_detail_error(const char *detail) {
  cJSON *o = cJSON_CreateObject(), *p = cJSON_CreateObject();
  if (!o || !p) {
    cJSON_Delete(o);
    cJSON_Delete(p);
    return NULL;
  }
  cJSON_AddStringToObject(p, "detail", detail);
  cJSON_AddStringToObject(o, "action", "error");
  cJSON_AddItemToObject(o, "payload", p);
  return print_and_delete(o);
}

char *wsc__msg_handler_failed(const char *action) {
  char detail[320];
  snprintf(detail, sizeof detail, "Failed to process message for %s", action);
  return wsc__msg_detail_error(detail);
}

char *wsc__msg_reply(const char *action, const cJSON *payload) {
  cJSON *o = cJSON_CreateObject();
  cJSON *p = payload ? cJSON_Duplicate(payload, 1) : cJSON_CreateNull();
  if (!o || !p) {
    cJSON_Delete(o);
    cJSON_Delete(p);
    return NULL;
  }
  cJSON_AddStringToObject(o, "action", action);
  cJSON_AddItemToObject(o, "payload", p);
  return print_and_delete(o);
}

void wsc__msg_free(char *s) { cJSON_free(s); }

const char *wsc__http_status_text(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Refused";
  }
}

/* Django REST framework's default details, which Chanx sends. */
static const char *drf_detail(int status) {
  switch (status) {
    case 200: return "OK";
    case 401: return "Authentication credentials were not provided.";
    case 403: return "You do not have permission to perform this action.";
    case 404: return "Not found.";
    case 429: return "Request was throttled.";
    case 500: return "Internal server error";
    default: return wsc__http_status_text(status);
  }
}

char *wsc__msg_authentication(int status, const char *detail) {
  cJSON *o = cJSON_CreateObject(), *p = cJSON_CreateObject(),
        *d = cJSON_CreateObject();
  if (!o || !p || !d) {
    cJSON_Delete(o);
    cJSON_Delete(p);
    cJSON_Delete(d);
    return NULL;
  }
  cJSON_AddStringToObject(d, "detail", detail && *detail ? detail : drf_detail(status));
  cJSON_AddNumberToObject(p, "status_code", status);
  cJSON_AddStringToObject(p, "status_text", wsc__http_status_text(status));
  cJSON_AddItemToObject(p, "data", d);
  cJSON_AddStringToObject(o, "action", "authentication");
  cJSON_AddItemToObject(o, "payload", p);
  return print_and_delete(o);
}
