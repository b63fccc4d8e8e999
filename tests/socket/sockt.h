/* Helpers for the socket plugin's end-to-end tests: a siphon child with
 * one socket source, and plain blocking client sockets with timeouts. */
#ifndef SIPHON_TEST_SOCKT_H
#define SIPHON_TEST_SOCKT_H

#include <stddef.h>

#include <jansson.h>

#include "proc.h"

/* A config with one socket source named "s" (options as JSON text) and
 * the build's plugin directory on the plugin path. `extra_source` is put
 * in the source object (e.g. "\"timeout\": \"500ms\", ") or "". Caller
 * frees. */
char *sockt_config(const char *extra_source, const char *options_fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Starts `siphon -c cfg --log-level debug` and waits until the source
 * logs "listening on ...": the port bound (port 0 in the config picks a
 * free one) is returned, or 0 for unix sockets; -1 (after failing the
 * test) when it never listened. */
int sockt_start(tproc *p, const char *cfg);

/* SIGTERM and wait; asserts exit 0. */
void sockt_stop(tproc *p);

/* A TCP connection to host:port (IPv4 or IPv6 literal), with 5 s send
 * and receive timeouts. Asserts on failure. */
int sockt_connect(const char *host, int port);
/* The same to a unix socket path. */
int sockt_connect_unix(const char *path);

/* Sends all of buf; asserts on failure. */
void sockt_send(int fd, const void *buf, size_t n);
/* Serves one accepted connection as a test peer: reads (2 s at most a
 * read) until `wait_for` has come when it is not NULL, then sends `reply`
 * when it is not NULL. Does not close c. */
void sockt_serve_one(int c, const char *wait_for, const char *reply);
void sockt_sends(int fd, const char *s);

/* Waits (at most timeout_ms) for the peer to close: returns 1 when recv
 * saw the end of stream (or a reset), 0 on timeout. */
int sockt_wait_closed(int fd, int timeout_ms);

/* "127.0.0.1:PORT" of a socket's local end. */
void sockt_local_name(int fd, char *out, size_t size);

/* Every record line of stdout, parsed; asserts that each is JSON. */
json_t *sockt_records(const char *out);

/* Waits until stdout holds at least n lines (records), at most
 * timeout_ms. Returns the number seen. */
size_t sockt_wait_records(tproc *p, size_t n, int timeout_ms);

/* Reads the child's stdout and stderr for ms milliseconds, so that its
 * output pipe never fills while a test is busy sending. */
void sockt_pump(tproc *p, int ms);

/* The data strings of records, in order, joined by '|' (for asserts). */
char *sockt_data_join(json_t *records);

#endif
