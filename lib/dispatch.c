/* Client frames in: size limit and assembly, JSON parsing, the consumer's
 * options (camelize, discriminator, logging, completion), routing by action,
 * schema validation and Chanx's error frames. And channel-layer events to
 * event handlers. */
#include <stdio.h>
#include <string.h>

#include <libwebsockets.h>

#include "alloc.h"
#include "conn.h"
#include "consumer.h"
#include "keycase.h"
#include "message.h"
#include "server.h"
#include "wschannels/error.h"

#define CONN_LOG(c, lvl, ...) wsc__log(&(c)->srv->log, lvl, "conn", __VA_ARGS__)

static void send_validation_error(wsc_conn *c, const char *type,
                                  const char *loc0, const char *msg) {
  c->srv->counts.rejected++;
  CONN_LOG(c, WSC_LOG_INFO, "%s: rejected message: %s: %s", c->channel, type,
           msg);
  wsc__conn_send_owned(c, wsc__msg_validation_error(type, loc0, msg));
}

static void json_error(wsc_conn *c, const char *text, size_t len) {
  const char *at = cJSON_GetErrorPtr();
  size_t off = (at && at >= text && at <= text + len) ? (size_t)(at - text)
                                                      : len;
  size_t line = 1, col = 1;
  for (size_t i = 0; i < off; i++) {
    if (text[i] == '\n') {
      line++;
      col = 1;
    } else {
      col++;
    }
  }
  char msg[160];
  if (len == 0)
    snprintf(msg, sizeof msg, "Invalid JSON: EOF while parsing a value at "
             "line 1 column 0");
  else
    snprintf(msg, sizeof msg, "Invalid JSON: syntax error at line %zu column "
             "%zu", line, col);
  send_validation_error(c, "json_invalid", NULL, msg);
}

/* The action names no handler: Pydantic's discriminated-union errors, or
 * its literal error when the consumer has one message type. */
static void unknown_action(wsc_conn *c, const char *tag) {
  const wsc_consumer *cons = c->consumer;
  const char *discr = wsc__consumer_discriminator(cons);
  char buf[256];
  if (!strchr(cons->expected_tags, ',')) {
    snprintf(buf, sizeof buf, "Input should be %s", cons->expected_tags);
    send_validation_error(c, "literal_error", discr, buf);
    return;
  }
  size_t n = strlen(tag) + strlen(discr) + strlen(cons->expected_tags) + 128;
  char *m = wsc__malloc(n);
  if (!m) return;
  snprintf(m, n,
           "Input tag '%s' found using '%s' does not match any of the "
           "expected tags: %s",
           tag, discr, cons->expected_tags);
  send_validation_error(c, "union_tag_invalid", NULL, m);
  wsc__free(m);
}

/* Checks `msg` against the handler's input schema (filling defaults).
 * Returns 0 when the handler may run; otherwise the client got the list of
 * problems. */
static int validate(wsc_conn *c, const wsc__handler *h, cJSON *msg,
                    const char *tag) {
  if (!h->input) return 0;
  cJSON *errors = cJSON_CreateArray(), *prefix = cJSON_CreateArray();
  int n = WSC_ENOMEM;
  if (errors && prefix &&
      cJSON_AddItemToArray(prefix, cJSON_CreateString(tag)))
    n = wsc_schema_validate(h->input, msg, prefix, errors);
  cJSON_Delete(prefix);
  if (n == 0) {
    cJSON_Delete(errors);
    return 0;
  }
  if (n < 0) {
    cJSON_Delete(errors);
    wsc__conn_send_owned(c, wsc__msg_detail_error("Failed to process message"));
    return -1;
  }
  c->srv->counts.rejected++;
  CONN_LOG(c, WSC_LOG_INFO, "%s: '%s' rejected: %d schema problem%s",
           c->channel, tag, n, n == 1 ? "" : "s");
  wsc__conn_send_owned(c, wsc__msg_error_list(errors));
  return -1;
}

static void dispatch_object(wsc_conn *c, cJSON *msg) {
  const wsc_consumer *cons = c->consumer;
  const char *discr = wsc__consumer_discriminator(cons);
  const cJSON *action = cJSON_GetObjectItemCaseSensitive(msg, discr);
  if (!action) {
    char buf[160];
    snprintf(buf, sizeof buf, "Unable to extract tag using discriminator '%s'",
             discr);
    send_validation_error(c, "union_tag_not_found", NULL, buf);
    return;
  }
  char *printed = cJSON_IsString(action) ? NULL : cJSON_PrintUnformatted(action);
  const char *tag = printed ? printed : action->valuestring;
  const wsc__handler *h = printed ? NULL : wsc__handler_find(&cons->actions, tag);
  if (h) {
    if (validate(c, h, msg, tag) == 0) {
      wsc__conn_reason_reset(c);
      c->handling = tag; /* its broadcasts' later failures name it */
      int rc = h->fn(c, msg, h->user_data);
      c->handling = NULL;
      if (rc < 0) {
        wsc__conn_log_failure(c, "handler for", tag, rc, "");
        wsc__conn_send_owned(c, wsc__msg_handler_failed(tag));
      }
    }
  } else if (!printed && strcmp(tag, "ping") == 0) {
    wsc__conn_send_owned(c, wsc__msg_reply("pong", NULL));
  } else {
    unknown_action(c, tag);
  }
  if (printed) cJSON_free(printed);
}

static void dispatch_text(wsc_conn *c, const char *text, size_t len) {
  cJSON *msg = cJSON_ParseWithLength(text, len);
  if (!msg) {
    wsc__conn_log_frame(c, "received", text, len, NULL);
    json_error(c, text, len);
    return;
  }
  if (c->consumer->camelize && wsc__keycase_convert(msg, 0)) {
    cJSON_Delete(msg);
    wsc__conn_send_owned(c, wsc__msg_detail_error("Failed to process message"));
    return;
  }
  wsc__conn_log_frame(c, "received", text, len, msg);
  if (cJSON_IsObject(msg))
    dispatch_object(c, msg);
  else
    send_validation_error(c, "model_attributes_type", NULL,
                          "Input should be a valid dictionary or object to "
                          "extract fields from");
  cJSON_Delete(msg);
}

/* RFC 3629 UTF-8: no overlongs, surrogates or code points past U+10FFFF. */
static int valid_utf8(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned char b = s[i];
    size_t need;
    unsigned cp;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xC2 && b <= 0xDF) {
      need = 1, cp = b & 0x1Fu;
    } else if (b >= 0xE0 && b <= 0xEF) {
      need = 2, cp = b & 0x0Fu;
    } else if (b >= 0xF0 && b <= 0xF4) {
      need = 3, cp = b & 0x07u;
    } else {
      return 0;
    }
    if (i + need >= n) return 0; /* truncated sequence */
    for (size_t k = 1; k <= need; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return 0;
      cp = (cp << 6) | (s[i + k] & 0x3Fu);
    }
    if ((need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
      return 0;
    i += need + 1;
  }
  return 1;
}

/* The message-rate token bucket: refills at messages_per_second up to
 * message_burst; each message takes a token. Returns 0 when there is one. */
static int take_token(wsc_conn *c) {
  const wsc__config *cfg = &c->srv->cfg;
  if (!cfg->messages_per_second) return 0;
  uint64_t now = uv_now(c->srv->loop);
  c->tokens += (double)(now - c->tokens_at) * (double)cfg->messages_per_second / 1000.0;
  c->tokens_at = now;
  if (c->tokens > (double)cfg->message_burst) c->tokens = (double)cfg->message_burst;
  if (c->tokens < 1.0) return -1;
  c->tokens -= 1.0;
  return 0;
}

int wsc__conn_on_receive(wsc_conn *c, const void *in, size_t len) {
  if (c->state != WSC__CONN_OPEN) return 0;
  struct lws *wsi = c->wsi;
  wsc__server_note_input(c->srv, c, len);
  wsc__keepalive_heard(&c->srv->keepalive, c);
  if (lws_is_first_fragment(wsi)) {
    c->rxlen = 0;
    c->rx_binary = lws_frame_is_binary(wsi);
  }
  size_t max = c->srv->cfg.max_message_bytes;
  if (c->rxlen + len > max) {
    char reason[64];
    snprintf(reason, sizeof reason, "message over %zu bytes", max);
    c->srv->counts.closed_bad_input++;
    CONN_LOG(c, WSC_LOG_INFO, "%s: %s; closing with 1009", c->channel, reason);
    lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                     (unsigned char *)reason, strlen(reason));
    return -1;
  }
  if (wsc__grow((void **)&c->rx, &c->rxcap, c->rxlen + len + 1, 1)) {
    lws_close_reason(wsi, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION,
                     (unsigned char *)"out of memory", 13);
    return -1;
  }
  if (len) memcpy(c->rx + c->rxlen, in, len);
  c->rxlen += len;
  if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
    return 0;
  size_t n = c->rxlen;
  c->rxlen = 0;
  c->srv->counts.received++;
  if (take_token(c)) {
    char reason[80];
    snprintf(reason, sizeof reason, "message rate limit exceeded (%lu/s)",
             c->srv->cfg.messages_per_second);
    c->srv->counts.closed_bad_input++;
    CONN_LOG(c, WSC_LOG_INFO, "%s: %s; closing with 1008", c->channel, reason);
    lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
                     (unsigned char *)reason, strlen(reason));
    return -1;
  }
  if (!c->rx_binary && !valid_utf8(c->rx, n)) {
    c->srv->counts.closed_bad_input++;
    CONN_LOG(c, WSC_LOG_INFO, "%s: invalid UTF-8 in a text frame; closing with 1007",
             c->channel);
    lws_close_reason(wsi, LWS_CLOSE_STATUS_INVALID_PAYLOAD,
                     (unsigned char *)"invalid UTF-8", 13);
    return -1;
  }
  if (c->rx_binary)
    send_validation_error(c, "frame_type", NULL,
                          "Binary frames are not supported: send JSON "
                          "objects as text frames");
  else
    dispatch_text(c, (const char *)c->rx, n);
  wsc__conn_send_completion(c, WSC__COMPLETE);
  if (c->rxcap > 65536) { /* do not keep a big message's buffer */
    wsc__free(c->rx);
    c->rx = NULL;
    c->rxcap = 0;
  }
  return 0;
}

/* Validates an event against the handler's input schema, on a copy that
 * gets the defaults. Returns the copy, or NULL (dropped and logged). */
static cJSON *checked_event(wsc_conn *c, const wsc__handler *h,
                            const cJSON *event) {
  cJSON *own = cJSON_Duplicate(event, 1), *errors = cJSON_CreateArray();
  int n = own && errors ? wsc_schema_validate(h->input, own, NULL, errors)
                        : WSC_ENOMEM;
  if (n) {
    char *text = n > 0 ? cJSON_PrintUnformatted(errors) : NULL;
    c->srv->counts.events_dropped++;
    CONN_LOG(c, WSC_LOG_WARN,
             "%s: event '%s' does not match its schema; dropped: %s",
             c->channel, h->action, text ? text : wsc_strerror(n));
    cJSON_free(text);
    cJSON_Delete(own);
    own = NULL;
  }
  cJSON_Delete(errors);
  return own;
}

void wsc__conn_deliver_event(wsc_conn *c, const cJSON *event) {
  if (c->state != WSC__CONN_OPEN) return;
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(event, "action");
  const char *action = cJSON_IsString(a) ? a->valuestring : "";
  const wsc__handler *h = wsc__handler_find(&c->consumer->events, action);
  cJSON *own = NULL;
  if (!h) {
    c->srv->counts.events_dropped++;
    CONN_LOG(c, WSC_LOG_WARN,
             "consumer '%s' has no event handler for '%s'; event dropped",
             c->consumer->name, action);
  } else if (!h->input || (own = checked_event(c, h, event))) {
    wsc__conn_reason_reset(c);
    int rc = h->fn(c, own ? own : event, h->user_data);
    if (rc < 0) wsc__conn_log_failure(c, "event handler for", action, rc, "");
  }
  cJSON_Delete(own);
  wsc__conn_send_completion(c, WSC__EVENT_COMPLETE);
}
