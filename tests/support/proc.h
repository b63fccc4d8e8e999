/* Runs the siphon binary (or any program) as a child process, as a user
 * would from a shell, and captures what it prints. Every wait is bounded. */
#ifndef SIPHON_TEST_PROC_H
#define SIPHON_TEST_PROC_H

#include <stddef.h>
#include <sys/types.h>

typedef struct tproc {
  pid_t pid;
  int out_fd; /* child's stdout, -1 once closed */
  int err_fd; /* child's stderr, -1 once closed */
  char *out;  /* everything read from stdout so far, NUL-terminated */
  size_t out_len;
  char *err;
  size_t err_len;
  int status; /* exit code, or 128+signal; -1 while running */
} tproc;

/* Starts argv[0] (a path) with argv. `env` is a NULL-terminated list of
 * "NAME=value" added to (or replacing in) the current environment; may be
 * NULL. stdin is /dev/null. Returns 0 or -errno. */
int tproc_start(tproc *p, const char *const *argv, const char *const *env);

/* Reads output until stdout contains `needle` or timeout_ms passes.
 * Returns 1 when found, 0 on timeout or when the child closed stdout. */
int tproc_wait_stdout(tproc *p, const char *needle, int timeout_ms);
/* Reads output until stdout contains `needle` n times or timeout_ms
 * passes. Returns 1 when it does, 0 on timeout or when stdout closed. */
int tproc_wait_stdout_count(tproc *p, const char *needle, size_t n, int timeout_ms);
/* The same as tproc_wait_stdout for stderr. */
int tproc_wait_stderr(tproc *p, const char *needle, int timeout_ms);

/* Counts occurrences of `needle` in what stdout has shown so far. */
size_t tproc_count(const char *haystack, const char *needle);

/* Sends a signal. */
void tproc_kill(tproc *p, int sig);

/* Reads everything until the child exits, waiting at most timeout_ms; on
 * timeout the child is killed with SIGKILL and 137 returned. Returns the
 * exit status (or 128+signal). */
int tproc_finish(tproc *p, int timeout_ms);

/* Frees the buffers (after tproc_finish). */
void tproc_free(tproc *p);

/* Runs to completion: start + finish. Returns the exit status, or -1 if
 * the program could not be started. */
int tproc_run(tproc *p, const char *const *argv, const char *const *env, int timeout_ms);

/* Runs the siphon binary with the given arguments (NULL-terminated). */
int tproc_siphon(tproc *p, int timeout_ms, const char *arg0, ...);

#endif
