#include "redis_url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wschannels/error.h"

/* A masked copy of a URL we could not parse, so errors never show a
 * password: everything between "://" and the last '@' becomes "***". */
static void mask_raw(const char *url, char *out, size_t n) {
  const char *s = strstr(url, "://");
  const char *at = strrchr(url, '@');
  if (s && at && at > s)
    snprintf(out, n, "%.*s***%s", (int)(s + 3 - url), url, at);
  else
    snprintf(out, n, "%s", url);
}

static int bad(char *err, size_t errlen, const char *url, const char *why) {
  char m[512];
  mask_raw(url, m, sizeof m);
  if (err) snprintf(err, errlen, "'%s': %s", m, why);
  return WSC_ECONFIG;
}

static int parse_int(const char *s, size_t n, int lo, int hi, int *out) {
  if (n == 0 || n > 9) return -1;
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  if (v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

int wsc__redis_url_parse(const char *url, wsc__redis_url *u, char *err,
                         size_t errlen) {
  memset(u, 0, sizeof *u);
  u->port = 6379;
  if (strncmp(url, "rediss://", 9) == 0)
    return bad(err, errlen, url,
               "TLS to Redis (rediss://) is not supported: Debian 12's hiredis "
               "0.14 has none; reach it through a local TLS tunnel (stunnel, "
               "a sidecar) and give that redis:// address");
  if (strncmp(url, "redis://", 8) != 0)
    return bad(err, errlen, url, "expected redis://[:password@]host[:port][/db]");
  const char *p = url + 8;
  const char *at = strrchr(p, '@');
  if (at) { /* userinfo: [user]:password, or a bare password */
    const char *colon = memchr(p, ':', (size_t)(at - p));
    const char *pw = colon ? colon + 1 : p;
    size_t ul = colon ? (size_t)(colon - p) : 0, pl = (size_t)(at - pw);
    if (ul >= sizeof u->user || pl >= sizeof u->password)
      return bad(err, errlen, url, "user or password too long");
    memcpy(u->user, p, ul);
    memcpy(u->password, pw, pl);
    p = at + 1;
  }
  const char *slash = strchr(p, '/');
  size_t hl = slash ? (size_t)(slash - p) : strlen(p);
  const char *hend = p + hl, *portp = NULL;
  if (*p == '[') { /* [IPv6]:port */
    const char *rb = memchr(p, ']', hl);
    if (!rb) return bad(err, errlen, url, "unterminated '[' in host");
    if (rb + 1 < hend && rb[1] == ':') portp = rb + 2;
    else if (rb + 1 != hend) return bad(err, errlen, url, "bad host");
    p++;
    hl = (size_t)(rb - p);
  } else {
    const char *colon = memchr(p, ':', hl);
    if (colon) {
      portp = colon + 1;
      hl = (size_t)(colon - p);
    }
  }
  if (hl == 0 || hl >= sizeof u->host) return bad(err, errlen, url, "bad host");
  memcpy(u->host, p, hl);
  if (portp && parse_int(portp, (size_t)(hend - portp), 1, 65535, &u->port))
    return bad(err, errlen, url, "bad port (1-65535)");
  if (slash && slash[1] && parse_int(slash + 1, strlen(slash + 1), 0, 100000, &u->db))
    return bad(err, errlen, url, "bad database number after '/'");
  const char *h6 = strchr(u->host, ':') ? "[" : "", *h6e = *h6 ? "]" : "";
  if (u->password[0])
    snprintf(u->masked, sizeof u->masked, "redis://%s:***@%s%s%s:%d/%d", u->user,
             h6, u->host, h6e, u->port, u->db);
  else
    snprintf(u->masked, sizeof u->masked, "redis://%s%s%s:%d/%d", h6, u->host,
             h6e, u->port, u->db);
  return 0;
}
