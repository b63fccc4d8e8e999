/* Helpers for the rest plugin's end-to-end tests: httpfix (the fixture
 * HTTP server) as a child process, and `siphon --once` runs over
 * generated configs whose records come back parsed. */
#ifndef SIPHON_TEST_RESTT_H
#define SIPHON_TEST_RESTT_H

#include <jansson.h>

#include "proc.h"

/* Starts httpfix on a free port; returns the port (asserts on failure). */
int restt_fixture_start(tproc *p);
void restt_fixture_stop(tproc *p);

/* A Criterion suite whose tests share one httpfix, started before the
 * first and stopped after the last; `port` is its port. */
#define RESTT_SUITE(name)                        \
  static tproc restt_suite_fx;                   \
  static int port;                               \
  static void restt_suite_up(void) {             \
    port = restt_fixture_start(&restt_suite_fx); \
  }                                              \
  static void restt_suite_down(void) {           \
    restt_fixture_stop(&restt_suite_fx);         \
  }                                              \
  TestSuite(name, .init = restt_suite_up, .fini = restt_suite_down, .timeout = 60)

/* A "sources" array text (malloc'd): n rest sources named prefix0 ..
 * prefix<n-1>, each with `"interval": interval` and then source_extra
 * (e.g. ", \"timeout\": \"1ms\"", or ""), on http://127.0.0.1:port<path>,
 * with options_extra appended inside "options" (e.g. ", \"max_connections\":
 * 1", or ""). */
char *restt_sources(const char *prefix, int n, const char *interval, const char *source_extra,
                    int port, const char *path, const char *options_extra);

/* The result of one `siphon --once` run. */
typedef struct restt_run {
  int status;      /* siphon's exit status */
  json_t *records; /* every stdout line, parsed */
  char *err;       /* stderr (summary table, log lines) */
  char *config;    /* the config's text */
} restt_run;

/* Runs `siphon --once` over one rest source named "src" whose options
 * are the printf-formatted JSON object text; `source_extra` goes into the
 * source object (e.g. "\"timeout\": \"1s\", ") and may be "". */
restt_run restt_once(const char *source_extra, const char *options_fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The same over a whole "sources" array text. */
restt_run restt_once_sources(const char *sources_json, int timeout_ms);
void restt_run_free(restt_run *r);

/* The first record's data (borrowed), asserting there is exactly one. */
json_t *restt_only_data(const restt_run *r);

/* A fresh directory (caller frees; tmp_rmtree removes it) holding a CA
 * (ca.pem, ca.key), a server certificate for IP 127.0.0.1 signed by it
 * (srv.pem, srv.key) and a client certificate (cli.pem, cli.key). */
char *restt_make_certs(void);

/* Waits (5 s at most) until something accepts TCP on 127.0.0.1:port;
 * 1 when it does. */
int restt_wait_listening(int port);

/* Runs `siphon -c` over a "sources" array text, at log level debug,
 * until stdout has `lines` records (10 s at most), then SIGTERM; asserts
 * a clean exit and no failed round; returns the records (caller frees),
 * and stderr in *err (caller frees) when err is not NULL. */
json_t *restt_rounds(const char *sources, size_t lines, char **err);

/* How many distinct connections served records of httpfix's /conn. */
size_t restt_distinct_conns(const json_t *records);

/* GET http://127.0.0.1:port<path> from the test itself; parsed body. */
json_t *restt_get(int port, const char *path);

#endif
