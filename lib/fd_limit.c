#include "fd_limit.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

int wsc__fd_limit_refuse(int fd, wsc__logger *log) {
  struct rlimit rl;
  if (fd < 0 || getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
      (rlim_t)fd + WSC__FD_HEADROOM < rl.rlim_cur)
    return 0;
  static const char body[] = "503 Service Unavailable: the server is at its open-file limit\n";
  char answer[256];
  int n = snprintf(answer, sizeof answer,
                   "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n"
                   "content-length: %zu\r\nconnection: close\r\n\r\n%s",
                   strlen(body), body);
  /* Best effort: a new socket's buffer takes this at once, or not at all. */
  (void)!send(fd, answer, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
  wsc__log(log, WSC_LOG_ERROR, "server",
           "at the open-file limit (%llu, descriptor %d in use): turning new "
           "connections away with 503 until some close",
           (unsigned long long)rl.rlim_cur, fd);
  return 1;
}
