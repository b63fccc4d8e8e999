/* siphon: command line entry point. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "output.h"

/* Started with stdin, stdout or stderr closed (`siphon >&-`), the next
 * descriptors opened, libuv's epoll and signal pipe among them, would take
 * their numbers: records would be written into the epoll descriptor, and
 * libuv asserts that it never closes one of 0-2. /dev/null holds them. */
static int hold_std_fds(void) {
  for (int fd = 0; fd <= 2; fd++) {
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) {
      continue;
    }
    int nul = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
    if (nul == -1) {
      return -1;
    }
    if (fd == 1) {
      siphon__output_stdout_was_closed();
    }
    if (nul != fd) { /* a lower one was closed too and is held already */
      if (dup2(nul, fd) == -1) {
        return -1;
      }
      close(nul);
    }
  }
  return 0;
}

/* The soft limit on open files is often 1024 (systemd's default for a
 * service, with a hard limit of 524288), below what a listener's
 * max_connections (1024 by default) and the other sources need. Past it,
 * libuv's accept() gets EMFILE and closes the waiting connections
 * unread, without a word to siphon: clients lose what they sent, and no
 * counter or log line says so. Every descriptor siphon holds is watched
 * by epoll, never select(), so the soft limit goes up to the hard one, as
 * Go programs (Telegraf among them) do at start. Capped at 2^20, the
 * kernel's default nr_open, for a hard limit of "unlimited". */
static void raise_open_files_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    return;
  }
  rlim_t want = rl.rlim_max;
  if (want == RLIM_INFINITY || want > ((rlim_t)1 << 20)) {
    want = (rlim_t)1 << 20;
  }
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
    rl.rlim_cur = want;
    (void)setrlimit(RLIMIT_NOFILE, &rl); /* best effort: the listener warns if still short */
  }
}

int main(int argc, char **argv) {
  if (hold_std_fds() != 0) {
    return 1; /* no stderr to say why on */
  }
  raise_open_files_limit();
  /* A closed stdout must surface as EPIPE from write(), not kill us
   * before we can count what was not written. */
  signal(SIGPIPE, SIG_IGN);
  siphon__cli cli;
  int rc = siphon__cli_parse(&cli, argc, argv);
  if (rc != 0) {
    return rc < 0 ? 0 : rc;
  }
  rc = siphon__cli_run(&cli);
  siphon__cli_free(&cli);
  return rc;
}
