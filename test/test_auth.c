/* Authentication and permissions over real sockets: the built-in HS256 JWT
 * authenticator (query string and Authorization header; valid, expired,
 * tampered, unsigned, missing tokens), the permit hook, the may_join hook on
 * static groups (at the handshake) and on runtime joins (an error to the
 * client), Chanx's authentication frames for each refusal, and is_mine /
 * is_current on broadcasts seen by two connections of one user and one of
 * another. */
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "helpers/check.h"
#include "helpers/server_thread.h"
#include "helpers/ws_client.h"

static const char *const SECRET = "test-secret-of-32-bytes-at-least";

static void b64url(const unsigned char *in, size_t n, char *out) {
  static const char *a =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)in[i] << 16;
    if (i + 1 < n) v |= (unsigned)in[i + 1] << 8;
    if (i + 2 < n) v |= in[i + 2];
    out[o++] = a[(v >> 18) & 63];
    out[o++] = a[(v >> 12) & 63];
    if (i + 1 < n) out[o++] = a[(v >> 6) & 63];
    if (i + 2 < n) out[o++] = a[v & 63];
  }
  out[o] = '\0';
}

/* A compact JWS of `payload` with header `header`, signed with `secret`. */
static char *token_with(const char *header, const char *payload,
                        const char *secret) {
  static char tok[2048];
  char h[512], p[1024], sig[128];
  b64url((const unsigned char *)header, strlen(header), h);
  b64url((const unsigned char *)payload, strlen(payload), p);
  snprintf(tok, sizeof tok, "%s.%s", h, p);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)tok,
       strlen(tok), mac, &len);
  b64url(mac, len, sig);
  strcat(tok, ".");
  strcat(tok, sig);
  return tok;
}

static char *token(const char *payload) {
  return token_with("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, SECRET);
}

static char *claims_for(const char *user, long exp_offset, const char *extra) {
  static char buf[512];
  snprintf(buf, sizeof buf, "{\"sub\":\"%s\",\"exp\":%ld%s%s}", user,
           (long)time(NULL) + exp_offset, extra ? "," : "", extra ? extra : "");
  return buf;
}

/* ---- the consumer ---------------------------------------------------------- */

static int permit(wsc_conn *c, void *ud) {
  (void)ud;
  const cJSON *banned = cJSON_GetObjectItem(wsc_conn_get_claims(c), "banned");
  return cJSON_IsTrue(banned) ? 403 : 0;
}

static int may_join(wsc_conn *c, const char *group, void *ud) {
  (void)ud;
  const cJSON *claims = wsc_conn_get_claims(c);
  if (strcmp(group, "lobby") == 0)
    return cJSON_IsTrue(cJSON_GetObjectItem(claims, "no_lobby")) ? -1 : 0;
  if (strcmp(group, "vip") == 0)
    return cJSON_IsTrue(cJSON_GetObjectItem(claims, "vip")) ? 0 : -1;
  return 0;
}

static int on_whoami(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)msg, (void)ud;
  cJSON *p = cJSON_CreateObject();
  cJSON_AddStringToObject(p, "user", wsc_conn_get_user_id(c));
  cJSON_AddItemToObject(p, "claims", cJSON_Duplicate(wsc_conn_get_claims(c), 1));
  cJSON_AddStringToObject(p, "peer", wsc_conn_get_peer_address(c));
  int rc = wsc_conn_reply(c, "whoami", p);
  cJSON_Delete(p);
  return rc;
}

static int on_join(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)ud;
  const cJSON *g = cJSON_GetObjectItem(msg, "payload");
  int rc = wsc_conn_group_add(c, cJSON_IsString(g) ? g->valuestring : "");
  cJSON *r = cJSON_CreateString(wsc_err_name(rc));
  wsc_conn_reply(c, "joined", r);
  cJSON_Delete(r);
  return 0;
}

static int on_say(wsc_conn *c, const cJSON *msg, void *ud) {
  (void)ud;
  cJSON *m = cJSON_CreateObject();
  cJSON_AddStringToObject(m, "action", "chat_group");
  cJSON_AddItemToObject(m, "payload",
                        cJSON_Duplicate(cJSON_GetObjectItem(msg, "payload"), 1));
  int rc = wsc_conn_broadcast_json(c, m, NULL, 0, 0);
  cJSON_Delete(m);
  return rc;
}

/* Records what authenticate saw, for the header and cookie checks. */
static char seen_header[256], seen_cookie[64];
static int authenticate(wsc_conn *c, void *ud) {
  (void)ud;
  seen_header[0] = seen_cookie[0] = '\0';
  wsc_conn_get_header(c, "X-Client-Version", seen_header, sizeof seen_header);
  wsc_conn_get_cookie(c, "theme", seen_cookie, sizeof seen_cookie);
  char tiny[2];
  CHECK_EQ(wsc_conn_get_header(c, "user-agent", tiny, sizeof tiny) == WSC_EINVAL ||
               wsc_conn_get_header(c, "user-agent", tiny, sizeof tiny) == WSC_ENOTFOUND,
           1);
  CHECK_EQ(wsc_conn_get_header(c, "x-not-there", tiny, sizeof tiny), WSC_ENOTFOUND);
  return 0;
}

static wsc_consumer *make(const char *name) {
  wsc_consumer *c;
  CHECK_OK(wsc_consumer_new(name, &c));
  CHECK_OK(wsc_consumer_on(c, "whoami", on_whoami, NULL, NULL));
  CHECK_OK(wsc_consumer_on(c, "join", on_join, NULL, NULL));
  CHECK_OK(wsc_consumer_on(c, "say", on_say, NULL, NULL));
  CHECK_OK(wsc_consumer_add_group(c, "lobby"));
  wsc_consumer_hooks h;
  wsc_consumer_hooks_init(&h);
  h.authenticate = authenticate;
  h.permit = permit;
  h.may_join = may_join;
  CHECK_OK(wsc_consumer_set_hooks(c, &h, NULL, NULL));
  return c;
}

/* ---- the tests --------------------------------------------------------------- */

static int port;

static int status_of(const char *path_fmt, const char *tok, const char *headers) {
  char path[2400];
  snprintf(path, sizeof path, path_fmt, tok ? tok : "");
  int status = 0;
  wst_client *c = wst_connect(port, path, headers, &status);
  if (c) wst_close(c, 1000);
  return status;
}

static void test_tokens(void) {
  char path[2400];
  /* valid, in the query string */
  snprintf(path, sizeof path, "/ws/rooms?token=%s", token(claims_for("alice", 60, NULL)));
  wst_client *a = wst_open(port, path);
  wst_send_text(a, "{\"action\":\"whoami\"}");
  char *r = wst_recv(a, 5000);
  CHECK_CONTAINS(r, "\"user\":\"alice\"");
  CHECK_CONTAINS(r, "\"sub\":\"alice\"");
  CHECK_CONTAINS(r, "\"peer\":\"127.0.0.1\"");
  free(r);
  wst_close(a, 1000);
  /* valid, in an Authorization header; headers and cookies reach the hooks */
  char hdr[2400];
  snprintf(hdr, sizeof hdr,
           "Authorization: Bearer %s\r\nX-Client-Version: 2.5\r\nCookie: a=1; theme=dark\r\n",
           token(claims_for("bob", 60, NULL)));
  CHECK_EQ(status_of("/ws/rooms", NULL, hdr), 101);
  CHECK_STREQ(seen_header, "2.5");
  CHECK_STREQ(seen_cookie, "dark");
  /* refused with 401 */
  CHECK_EQ(status_of("/ws/rooms", NULL, NULL), 401); /* missing */
  CHECK_EQ(status_of("/ws/rooms?token=%s", token(claims_for("alice", -10, NULL)), NULL),
           401); /* expired */
  char tampered[2048];
  snprintf(tampered, sizeof tampered, "%s", token(claims_for("alice", 60, NULL)));
  char *dot = strchr(tampered, '.');
  dot[3] = dot[3] == 'A' ? 'B' : 'A'; /* one payload character */
  CHECK_EQ(status_of("/ws/rooms?token=%s", tampered, NULL), 401);
  CHECK_EQ(status_of("/ws/rooms?token=%s",
                     token_with("{\"alg\":\"HS256\"}", claims_for("eve", 60, NULL),
                                "another-secret-of-32-bytes-long!"),
                     NULL),
           401); /* signed with another key */
  CHECK_EQ(status_of("/ws/rooms?token=%s",
                     token_with("{\"alg\":\"none\"}", claims_for("eve", 60, NULL), SECRET),
                     NULL),
           401); /* not HS256 */
  CHECK_EQ(status_of("/ws/rooms?token=%s", "not.a.jwt", NULL), 401);
  /* authenticated but not permitted */
  CHECK_EQ(status_of("/ws/rooms?token=%s",
                     token(claims_for("mallory", 60, "\"banned\":true")), NULL),
           403);
  /* a static group the user may not join refuses the handshake */
  CHECK_EQ(status_of("/ws/rooms?token=%s",
                     token(claims_for("carol", 60, "\"no_lobby\":true")), NULL),
           403);
}

/* With send_authentication_message: Chanx's frames, then the close. */
static void expect_refusal(const char *tok, int status, const char *text,
                           const char *detail, int close_code) {
  char path[2400], want[512];
  snprintf(path, sizeof path, "/ws/told%s%s", tok ? "?token=" : "", tok ? tok : "");
  wst_client *c = wst_open(port, path);
  snprintf(want, sizeof want,
           "{\"action\":\"authentication\",\"payload\":{\"status_code\":%d,"
           "\"status_text\":\"%s\",\"data\":{\"detail\":\"%s\"}}}",
           status, text, detail);
  wst_expect(c, want);
  CHECK_EQ(wst_wait_close(c, 5000), close_code);
  wst_close(c, 0);
}

static void test_authentication_frames(void) {
  expect_refusal(NULL, 401, "Unauthorized", "Authentication credentials were not provided.", 4001);
  expect_refusal(token(claims_for("alice", -10, NULL)), 401, "Unauthorized",
                 "Token has expired", 4001);
  expect_refusal(token(claims_for("mallory", 60, "\"banned\":true")), 403, "Forbidden",
                 "You do not have permission to perform this action.", 4003);
  expect_refusal(token(claims_for("carol", 60, "\"no_lobby\":true")), 403, "Forbidden",
                 "You do not have permission to join 'lobby'.", 4003);
  char path[2400];
  snprintf(path, sizeof path, "/ws/told?token=%s", token(claims_for("alice", 60, NULL)));
  wst_client *ok = wst_open(port, path);
  wst_expect(ok, "{\"action\":\"authentication\",\"payload\":{\"status_code\":200,"
                 "\"status_text\":\"OK\",\"data\":{\"detail\":\"OK\"}}}");
  wst_close(ok, 1000);
}

static void test_runtime_join(void) {
  char path[2400];
  snprintf(path, sizeof path, "/ws/rooms?token=%s", token(claims_for("alice", 60, NULL)));
  wst_client *a = wst_open(port, path);
  wst_send_text(a, "{\"action\":\"join\",\"payload\":\"vip\"}");
  wst_expect(a, "{\"action\":\"error\",\"payload\":{\"detail\":\"You do not have "
                "permission to join 'vip'.\"}}");
  wst_expect(a, "{\"action\":\"joined\",\"payload\":\"WSC_EDENIED\"}");
  snprintf(path, sizeof path, "/ws/rooms?token=%s",
           token(claims_for("vera", 60, "\"vip\":true")));
  wst_client *v = wst_open(port, path);
  wst_send_text(v, "{\"action\":\"join\",\"payload\":\"vip\"}");
  wst_expect(v, "{\"action\":\"joined\",\"payload\":\"WSC_OK\"}");
  wst_close(v, 1000);
  wst_close(a, 1000);
}

static void test_is_mine_and_is_current(void) {
  char path[2400];
  snprintf(path, sizeof path, "/ws/rooms?token=%s", token(claims_for("alice", 60, NULL)));
  wst_client *a1 = wst_open(port, path), *a2 = wst_open(port, path);
  snprintf(path, sizeof path, "/ws/rooms?token=%s", token(claims_for("bob", 60, NULL)));
  wst_client *b1 = wst_open(port, path);
  wst_send_text(b1, "{\"action\":\"whoami\"}"); /* all three joined */
  free(wst_recv(b1, 5000));
  wst_send_text(a1, "{\"action\":\"say\",\"payload\":{\"content\":\"hi\"}}");
  wst_expect(a1, "{\"action\":\"chat_group\",\"payload\":{\"content\":\"hi\"},"
                 "\"is_mine\":true,\"is_current\":true}");
  wst_expect(a2, "{\"action\":\"chat_group\",\"payload\":{\"content\":\"hi\"},"
                 "\"is_mine\":true,\"is_current\":false}");
  wst_expect(b1, "{\"action\":\"chat_group\",\"payload\":{\"content\":\"hi\"},"
                 "\"is_mine\":false,\"is_current\":false}");
  wst_send_text(b1, "{\"action\":\"say\",\"payload\":{\"content\":\"yo\"}}");
  wst_expect(a1, "{\"action\":\"chat_group\",\"payload\":{\"content\":\"yo\"},"
                 "\"is_mine\":false,\"is_current\":false}");
  wst_expect(a2, "{\"action\":\"chat_group\",\"payload\":{\"content\":\"yo\"},"
                 "\"is_mine\":false,\"is_current\":false}");
  wst_expect(b1, "{\"action\":\"chat_group\",\"payload\":{\"content\":\"yo\"},"
                 "\"is_mine\":true,\"is_current\":true}");
  wst_close(a1, 1000);
  wst_close(a2, 1000);
  wst_close(b1, 1000);
}

static void test_verify_function(void) {
  char why[128];
  cJSON *claims = NULL;
  const char *tok = token(claims_for("zed", 60, "\"nbf\":1"));
  CHECK_OK(wsc_jwt_verify(tok, SECRET, strlen(SECRET), 0, &claims, why, sizeof why));
  CHECK_STREQ(cJSON_GetObjectItem(claims, "sub")->valuestring, "zed");
  cJSON_Delete(claims);
  /* leeway covers a little clock skew */
  tok = token(claims_for("zed", -5, NULL));
  CHECK_EQ(wsc_jwt_verify(tok, SECRET, strlen(SECRET), 0, NULL, why, sizeof why), WSC_EINVAL);
  CHECK_STREQ(why, "Token has expired");
  CHECK_OK(wsc_jwt_verify(tok, SECRET, strlen(SECRET), 30, NULL, why, sizeof why));
  char future[128];
  snprintf(future, sizeof future, "{\"sub\":\"zed\",\"nbf\":%ld}", (long)time(NULL) + 600);
  CHECK_EQ(wsc_jwt_verify(token(future), SECRET, strlen(SECRET), 0, NULL, why, sizeof why),
           WSC_EINVAL);
  CHECK_STREQ(why, "Token is not yet valid");
  const char *bad[] = {"", "a.b", "a.b.c.d", "!!!.???.***", "e30.e30.", "W10.e30.AAAA"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    CHECK_EQ(wsc_jwt_verify(bad[i], SECRET, strlen(SECRET), 0, NULL, why, sizeof why),
             WSC_EINVAL);
}

int main(void) {
  test_verify_function();
  wsc_consumer *cs[2] = {make("rooms"), make("told")};
  wst_server *s = wst_server_start(
      "{\"routes\":[{\"path\":\"/ws/rooms\",\"consumer\":\"rooms\"},"
      "{\"path\":\"/ws/told\",\"consumer\":\"told\"}],"
      "\"consumers\":{"
      "\"rooms\":{\"jwt\":{\"secret\":\"test-secret-of-32-bytes-at-least\"},"
      "\"group_message_metadata\":true},"
      "\"told\":{\"jwt\":{\"secret\":\"test-secret-of-32-bytes-at-least\"},"
      "\"send_authentication_message\":true}}}",
      cs, 2);
  port = wst_port(s);
  test_tokens();
  test_authentication_frames();
  test_runtime_join();
  test_is_mine_and_is_current();
  wst_server_stop(s);
  printf("ok\n");
  return 0;
}
