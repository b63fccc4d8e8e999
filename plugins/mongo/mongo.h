/* Internal interfaces of the mongo plugin, one file per job:
 *   pool.c    one mongoc_client_pool_t per distinct URI, shared, refcounted
 *   convert.c BSON <-> JSON through libbson's Extended JSON
 *   since.c   the incremental-read state file
 *   ops.c     find / aggregate / count / command for one round
 *   plugin.c  the descriptor, options and the source's lifecycle */
#ifndef SIPHON_MONGO_H
#define SIPHON_MONGO_H

#include <mongoc/mongoc.h>

#include "siphon/plugin.h"

/* --- pool.c --- */

typedef struct mg_pools mg_pools;       /* plugin-wide: every pool */
typedef struct mg_pool_ref mg_pool_ref; /* one URI's pool */

mg_pools *mg_pools_new(void);
/* Frees the registry; every reference must have been released. */
void mg_pools_free(mg_pools *pools);
/* The pool for `uri` (its string is the key), created on first use.
 * Any thread. Returns 0 or a negative errno with err filled. */
int mg_pools_acquire(mg_pools *pools, const mongoc_uri_t *uri, mg_pool_ref **out,
                     siphon_error *err);
void mg_pools_release(mg_pools *pools, mg_pool_ref *ref);
mongoc_client_pool_t *mg_pool_get(mg_pool_ref *ref);

/* --- convert.c --- */

typedef enum mg_ejson { MG_EJSON_RELAXED, MG_EJSON_CANONICAL } mg_ejson;

/* A JSON value (from the options) as BSON: objects as documents, arrays
 * as documents keyed "0", "1", ...; Extended JSON ({"$oid": ..}) is
 * understood. Returns NULL with `why` filled on failure. */
bson_t *mg_json_to_bson(const json_t *value, char *why, size_t why_len);
/* A document as a JSON object, through relaxed or canonical Extended
 * JSON. Returns NULL when libbson cannot render it (invalid UTF-8...). */
json_t *mg_bson_to_json(const bson_t *doc, mg_ejson mode);

/* --- since.c --- */

/* The last value of `field` seen by a source, kept in `path`.
 * mg_since_load: 1 with *value set (caller bson_value_destroy()s it),
 * 0 when there is no state yet, or a negative errno with err filled (a
 * corrupt file, or one written for another field). */
int mg_since_load(const char *path, const char *field, bson_value_t *value, siphon_error *err);
/* Writes atomically: a temp file in the same directory, fsync, rename,
 * fsync of the directory. Returns 0 or a negative errno with err filled. */
int mg_since_save(const char *path, const char *field, const bson_value_t *value,
                  siphon_error *err);
/* <dir>/<source name with unsafe characters replaced>.mongo-since.json. */
char *mg_since_path(const char *dir, const char *source_name);

/* --- ops.c --- */

typedef enum mg_op { MG_OP_FIND, MG_OP_AGGREGATE, MG_OP_COUNT, MG_OP_COMMAND } mg_op;

/* What one source asks for, fixed at create(). */
typedef struct mg_query {
  mg_op op;
  char *database;
  char *collection;
  bson_t *filter;     /* find, count */
  bson_t *projection; /* find; NULL for none */
  bson_t *sort;       /* find; NULL for none */
  bson_t *pipeline;   /* aggregate: {"0": stage, ...} */
  bson_t *command;    /* command */
  int64_t limit;      /* 0: none */
  int32_t batch_size; /* 0: the driver's default */
  int64_t max_documents;
  int64_t max_time_ms; /* maxTimeMS sent with find/aggregate/count */
  mg_ejson ejson;
  char *since; /* field name or NULL */
} mg_query;

/* One round's context for the operations. */
typedef struct mg_run {
  const siphon_host_api *api;
  siphon_source *src;
  siphon_round *round;
  const mg_query *q;
  /* since: the last value accepted so far (in: from the state, out:
   * after this round); has_last says whether it is set. */
  bson_value_t last;
  int has_last;
  int advanced; /* last moved this round: the state file needs writing */
  int64_t emitted;
  int truncated; /* max_documents stopped the round */
} mg_run;

/* Runs the source's operation on `client` and emits its records.
 * Returns 0, or a negative errno with err->text filled (the server's
 * message for a bad filter or pipeline). */
int mg_ops_run(mg_run *run, mongoc_client_t *client, siphon_error *err);

#endif
