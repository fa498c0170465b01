/* redis://[[user]:password@]host[:port][/db] URLs, and their masked form
 * (password replaced by ***) for every message that shows a URL. */
#ifndef WSC_LIB_REDIS_URL_H
#define WSC_LIB_REDIS_URL_H

#include <stddef.h>

typedef struct wsc__redis_url {
  char host[256];
  int port;
  int db;
  char user[128];     /* "" when none */
  char password[256]; /* "" when none */
  char masked[512];
} wsc__redis_url;

/* Returns 0, or WSC_ECONFIG with `err` saying what is wrong (the URL shown
 * masked). */
int wsc__redis_url_parse(const char *url, wsc__redis_url *out, char *err,
                         size_t errlen);

#endif
