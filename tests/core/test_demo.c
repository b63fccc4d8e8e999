/* The demo `make run` shows must work offline, from any directory: the
 * rest source reads its file, the probe reaches the listener, and the
 * listener turns the probe's heartbeat into a record. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"
#include "proc.h"
#include "tmpfile.h"

Test(demo, runs_offline_with_all_its_sources) {
  char env_port[64];
  snprintf(env_port, sizeof(env_port), "SIPHON_DEMO_PORT=%d", tnet_free_port(SOCK_STREAM));
  const char *env[] = {env_port, NULL};
  const char *argv[] = {SIPHON_BIN, "-c", SIPHON_SOURCE_DIR "/config/demo.json", NULL};
  tproc p;
  cr_assert_eq(tproc_start(&p, argv, env), 0);
  cr_assert(tproc_wait_stdout(&p, "\"source\":\"inventory\"", 5000), "%s", p.err);
  cr_assert(tproc_wait_stdout(&p, "\"result\":\"success\"", 5000), "probe: %s\n%s", p.out, p.err);
  cr_assert(tproc_wait_stdout(&p, "\"event\":\"heartbeat\"", 5000), "listener: %s", p.out);
  tproc_kill(&p, SIGINT);
  cr_assert_eq(tproc_finish(&p, 10000), 0, "%s", p.err);
  cr_assert_eq(tproc_count(p.out, "\"source\":\"inventory\""), 3, "one record per item: %s", p.out);
  cr_assert(strstr(p.out, "\"sku\":\"C-310\"") != NULL, "%s", p.out);
  /* Whoever ran it by hand was told how to stop it. */
  cr_assert(strstr(p.err, "running 3 sources: Ctrl-C or SIGTERM stops") != NULL, "%s", p.err);
  tproc_free(&p);
}
