/* Server processes for multi-process tests: spawned with a pipe on stdout,
 * their port read from the "PORT <n>" line, stopped by pid. */
#ifndef WSC_TEST_PROCESS_H
#define WSC_TEST_PROCESS_H

#include <sys/types.h>

typedef struct wst_proc {
  pid_t pid;
  int port;
} wst_proc;

/* Runs `argv` (argv[0] a path) and waits up to 10 s for "PORT <n>"; aborts
 * the test if the process fails or prints "ERROR ...". */
wst_proc wst_proc_start(char *const argv[]);
/* SIGTERM, wait, and check the process exited with status 0. */
void wst_proc_stop(wst_proc *p);
void wst_proc_signal(wst_proc *p, int sig);

#endif
