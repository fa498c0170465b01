/* Channel and group name rules, as in Django Channels' layers.py: ASCII
 * letters, digits, '-', '_', '.', shorter than 100 characters; a channel name
 * may carry one '!' followed by a process-local suffix. */
#include <string.h>

#include "wschannels/layer.h"

static int name_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
         (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
}

int wsc_group_name_is_valid(const char *name) {
  if (!name) return 0;
  size_t n = strlen(name);
  if (n == 0 || n > WSC_NAME_MAX) return 0;
  for (size_t i = 0; i < n; i++)
    if (!name_char(name[i])) return 0;
  return 1;
}

int wsc_channel_name_is_valid(const char *name) {
  if (!name) return 0;
  size_t n = strlen(name);
  if (n == 0 || n > WSC_NAME_MAX || name[0] == '!') return 0;
  int bang = 0;
  for (size_t i = 0; i < n; i++) {
    if (name[i] == '!') {
      if (bang++) return 0;
    } else if (!name_char(name[i])) {
      return 0;
    }
  }
  return 1;
}
