#include "process.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

wst_proc wst_proc_start(char *const argv[]) {
  int fds[2];
  CHECK(pipe(fds) == 0);
  wst_proc p = {0, 0};
  p.pid = fork();
  if (p.pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive an aborted test */
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execv(argv[0], argv);
    fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  close(fds[1]);
  char line[512];
  size_t n = 0;
  while (n < sizeof line - 1) {
    struct pollfd pf = {fds[0], POLLIN, 0};
    if (poll(&pf, 1, 10000) <= 0) break;
    ssize_t r = read(fds[0], line + n, 1);
    if (r <= 0) break;
    if (line[n] == '\n') break;
    n++;
  }
  line[n] = 0;
  close(fds[0]);
  if (sscanf(line, "PORT %d", &p.port) != 1) {
    fprintf(stderr, "%s did not start: \"%s\"\n", argv[0], line);
    kill(p.pid, SIGKILL);
    waitpid(p.pid, NULL, 0);
    abort();
  }
  return p;
}

void wst_proc_signal(wst_proc *p, int sig) { kill(p->pid, sig); }

void wst_proc_stop(wst_proc *p) {
  kill(p->pid, SIGCONT);
  kill(p->pid, SIGTERM);
  int st = 0;
  CHECK(waitpid(p->pid, &st, 0) == p->pid);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    fprintf(stderr, "server process %d ended with status 0x%x\n", (int)p->pid, st);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
