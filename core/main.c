/* siphon: command line entry point. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <fcntl.h>
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

int main(int argc, char **argv) {
  if (hold_std_fds() != 0) {
    return 1; /* no stderr to say why on */
  }
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
