/* Support for the mongo plugin's tests: a real wire-protocol server on
 * loopback (the pinned in-memory CongoServer, or the server named by
 * $SIPHON_TEST_MONGO_URI), seeding through libmongoc from the test
 * process, and configs run through the real siphon binary. */
#ifndef SIPHON_TEST_MONGOT_H
#define SIPHON_TEST_MONGOT_H

#include <jansson.h>
#include <mongoc/mongoc.h>

#include "proc.h"

/* The server's URI (mongodb://127.0.0.1:PORT). The server is started once
 * per test executable, before the first test, and killed after the last. */
const char *mt_uri(void);
/* Starts a private test server (for tests that kill it); returns its URI
 * (caller frees) or NULL with *why set (caller frees). */
char *mt_server_start(tproc *p, char **why);
/* A database name no other test uses. Caller frees. */
char *mt_db(void);
/* A client for seeding; mongoc is initialised on first use. */
mongoc_client_t *mt_client(void);
/* Inserts the documents of a JSON array written in Extended JSON. */
void mt_insert(const char *db, const char *coll, const char *ejson_array);
/* Inserts n documents {"i": 0..n-1, "tag": i % 10} (Int32). */
void mt_insert_range(const char *db, const char *coll, int from, int n);
/* Writes a config with the built plugins and the test plugins on the
 * plugin path; siphon_extra is text inside "siphon": {...} after the
 * path (may be ""), sources is the text inside "sources": [...]. */
char *mt_config(const char *siphon_extra, const char *sources);
/* siphon --once -c cfg; returns the exit status. */
int mt_once(tproc *p, const char *cfg, int timeout_ms);
/* Every stdout line as JSON (fails the test on a line that is not). */
json_t *mt_records(const char *out);
/* The "data" of each record of `source`, in order (new reference). */
json_t *mt_data(json_t *records, const char *source);
/* A source object as text: name, interval, the mongo plugin, and
 * options given as JSON object text without braces; uri added. */
char *mt_source(const char *name, const char *extra, const char *options);
/* printf into a fresh string. */
char *mt_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs one mongo source (see mt_source) with --once; fills p (caller
 * tproc_free()s) and returns the data of its records. */
json_t *mt_once_source(tproc *p, const char *siphon_extra, const char *options, int *status);
/* Waits until stdout has at least n lines or timeout_ms passes; returns
 * the number of lines seen. */
size_t mt_wait_lines(tproc *p, size_t n, int timeout_ms);
/* Compact JSON text of v (caller frees). */
char *mt_dump(const json_t *v);
#endif
