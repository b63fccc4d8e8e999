/* siphon: command line entry point. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int main(int argc, char **argv) {
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
