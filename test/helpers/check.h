/* Test assertions that print both sides and the library's error text. */
#ifndef WSC_TEST_CHECK_H
#define WSC_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wschannels/wschannels.h>

#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) {                                                         \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,     \
              #cond);                                                      \
      abort();                                                             \
    }                                                                      \
  } while (0)

#define CHECK_EQ(a, b)                                                     \
  do {                                                                     \
    long long a_ = (long long)(a), b_ = (long long)(b);                    \
    if (a_ != b_) {                                                        \
      fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld vs %lld)\n", \
              __FILE__, __LINE__, #a, #b, a_, b_);                         \
      abort();                                                             \
    }                                                                      \
  } while (0)

#define CHECK_OK(rc)                                                       \
  do {                                                                     \
    int rc_ = (rc);                                                        \
    if (rc_ != 0) {                                                        \
      fprintf(stderr, "%s:%d: CHECK_OK failed: %s = %s (%s)\n", __FILE__,  \
              __LINE__, #rc, wsc_err_name(rc_), wsc_strerror(rc_));        \
      abort();                                                             \
    }                                                                      \
  } while (0)

#define CHECK_STREQ(a, b)                                                  \
  do {                                                                     \
    const char *a_ = (a), *b_ = (b);                                       \
    if (!a_ || !b_ || strcmp(a_, b_) != 0) {                               \
      fprintf(stderr, "%s:%d: CHECK_STREQ failed: %s == %s\n  got:  %s\n"  \
              "  want: %s\n", __FILE__, __LINE__, #a, #b,                  \
              a_ ? a_ : "(null)", b_ ? b_ : "(null)");                     \
      abort();                                                             \
    }                                                                      \
  } while (0)

#define CHECK_CONTAINS(hay, needle)                                        \
  do {                                                                     \
    const char *h_ = (hay), *n_ = (needle);                                \
    if (!h_ || !strstr(h_, n_)) {                                          \
      fprintf(stderr, "%s:%d: CHECK_CONTAINS failed: \"%s\" in \"%s\"\n",  \
              __FILE__, __LINE__, n_, h_ ? h_ : "(null)");                 \
      abort();                                                             \
    }                                                                      \
  } while (0)

/* Runs one named test function and reports it (a failure aborts). */
/* WST_ONLY=part[,part...] runs only the tests whose name contains a part. */
static inline int wst_selected(const char *name) {
  const char *only = getenv("WST_ONLY");
  if (!only) return 1;
  for (const char *p = only; *p;) {
    size_t n = strcspn(p, ",");
    char part[128];
    snprintf(part, sizeof part, "%.*s", (int)n, p);
    if (n && strstr(name, part)) return 1;
    p += n + (p[n] == ',');
  }
  return 0;
}

#define RUN(fn)                                  \
  do {                                           \
    if (!wst_selected(#fn)) break;               \
    fprintf(stderr, "[ RUN  ] %s\n", #fn);       \
    fn();                                        \
    fprintf(stderr, "[  OK  ] %s\n", #fn);       \
  } while (0)

#endif
