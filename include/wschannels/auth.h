/* wschannels: signed-token authentication (HS256 JWT).
 *
 * The built-in authenticator is configured per consumer in the config:
 *   "consumers": {"room_chat": {"jwt": {"secret": "${JWT_SECRET}",
 *       "query_param": "token", "user_claim": "sub", "leeway": 0}}}
 * It reads the token from the query string (?token=...) or from an
 * "Authorization: Bearer <token>" header, checks its HS256 signature, "exp"
 * and "nbf", and sets the connection's user (wsc_conn_get_user_id: the
 * user claim; wsc_conn_get_claims: every claim) before the consumer's own
 * authenticate hook runs. A missing or bad token refuses the connection
 * with 401. wsc_jwt_verify is the same check, for authenticators of your
 * own. */
#ifndef WSCHANNELS_AUTH_H
#define WSCHANNELS_AUTH_H

#include "common.h"

#include <cjson/cJSON.h>

WSC_BEGIN_DECLS

/* Verify an HS256 JWT (compact form) with `secret`. `leeway_s` seconds of
 * clock skew are allowed on "exp" and "nbf". On success returns 0 and, if
 * `claims` is not NULL, the payload (owned: cJSON_Delete it). Otherwise
 * returns WSC_EINVAL with `why` saying what is wrong ("Token has expired",
 * "Token signature is invalid", ...), or WSC_ENOMEM.
 * Only "alg":"HS256" is accepted ("none" and every other algorithm are
 * refused); the signature is compared in constant time.
 * Thread: any. Since: 0.2 */
WSC_API int wsc_jwt_verify(const char *token, const void *secret,
                           size_t secret_len, long leeway_s, cJSON **claims,
                           char *why, size_t whylen);

WSC_END_DECLS

#endif
