/* rest over TLS against `openssl s_server` on loopback, with a CA, a
 * server and a client certificate made fresh for each test run:
 * verification on by default, ca_file, insecure_skip_verify (and its
 * warning), client_cert/client_key for a server that demands one. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"
#include "restt.h"
#include "tmpfile.h"

static char *dir;
static tproc srv;
static int tls_port;

/* s_server -www answers GET / with an HTML status page. */
static void start_server(int need_client_cert) {
  static char accept[64], cert[512], key[512], ca[512];
  tls_port = tnet_free_port(SOCK_STREAM);
  snprintf(accept, sizeof(accept), "127.0.0.1:%d", tls_port);
  snprintf(cert, sizeof(cert), "%s/srv.pem", dir);
  snprintf(key, sizeof(key), "%s/srv.key", dir);
  snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
  const char *argv[] = {"/usr/bin/openssl",
                        "s_server",
                        "-accept",
                        accept,
                        "-cert",
                        cert,
                        "-key",
                        key,
                        "-www",
                        "-quiet",
                        need_client_cert ? "-Verify" : NULL,
                        "1",
                        "-CAfile",
                        ca,
                        NULL};
  cr_assert_eq(tproc_start(&srv, argv, NULL), 0);
  cr_assert(restt_wait_listening(tls_port), "openssl s_server did not start: %s", srv.err);
}

static void up(void) {
  dir = restt_make_certs();
}

static void down(void) {
  tproc_kill(&srv, SIGTERM);
  tproc_finish(&srv, 5000);
  tproc_free(&srv);
  tmp_rmtree(dir);
  free(dir);
}

TestSuite(rest_tls, .init = up, .fini = down, .timeout = 60);

Test(rest_tls, verification_is_on_by_default) {
  start_server(0);
  restt_run r =
      restt_once("", "{\"url\": \"https://127.0.0.1:%d/\", \"format\": \"text\"}", tls_port);
  cr_assert_eq(r.status, 1);
  cr_assert_not_null(strstr(r.err, "certificate"), "%s", r.err);
  restt_run_free(&r);
}

Test(rest_tls, ca_file_verifies_the_server) {
  start_server(0);
  restt_run r = restt_once("",
                           "{\"url\": \"https://127.0.0.1:%d/\", \"format\": \"text\", "
                           "\"ca_file\": \"%s/ca.pem\"}",
                           tls_port, dir);
  json_t *d = restt_only_data(&r);
  cr_assert_not_null(strstr(json_string_value(d), "s_server"), "%s", json_string_value(d));
  restt_run_free(&r);
}

Test(rest_tls, insecure_skip_verify_works_and_warns) {
  start_server(0);
  restt_run r = restt_once("",
                           "{\"url\": \"https://127.0.0.1:%d/\", \"format\": \"text\", "
                           "\"insecure_skip_verify\": true}",
                           tls_port);
  cr_assert(json_is_string(restt_only_data(&r)));
  cr_assert_not_null(strstr(r.err, "insecure_skip_verify is on"), "%s", r.err);
  restt_run_free(&r);
}

Test(rest_tls, client_certificate) {
  start_server(1);
  restt_run r = restt_once("",
                           "{\"url\": \"https://127.0.0.1:%d/\", \"format\": \"text\", "
                           "\"ca_file\": \"%s/ca.pem\"}",
                           tls_port, dir);
  cr_assert_eq(r.status, 1, "the server demands a client certificate");
  restt_run_free(&r);
  r = restt_once("",
                 "{\"url\": \"https://127.0.0.1:%d/\", \"format\": \"text\", "
                 "\"ca_file\": \"%s/ca.pem\", \"client_cert\": \"%s/cli.pem\", "
                 "\"client_key\": \"%s/cli.key\"}",
                 tls_port, dir, dir, dir);
  cr_assert_not_null(strstr(json_string_value(restt_only_data(&r)), "s_server"));
  restt_run_free(&r);
}
