/* Seeds the benchmark collection: N documents {i, tag: i % 100, name,
 * price, at, pad} into DB.COLL, after dropping it.
 * Usage: mongo_bench_seed URI DB COLL N */
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>

enum { CHUNK = 1000 };

static int seed(mongoc_collection_t *coll, int n) {
  bson_error_t err;
  for (int base = 0; base < n; base += CHUNK) {
    bson_t *docs[CHUNK];
    int k = n - base < CHUNK ? n - base : CHUNK;
    for (int j = 0; j < k; j++) {
      int i = base + j;
      char name[32];
      snprintf(name, sizeof(name), "item-%06d", i);
      docs[j] =
          BCON_NEW("i", BCON_INT32(i), "tag", BCON_INT32(i % 100), "name", BCON_UTF8(name), "price",
                   BCON_DOUBLE(i * 0.25), "at", BCON_DATE_TIME(1700000000000LL + (int64_t)i * 1000),
                   "pad", BCON_UTF8("the quick brown fox jumps over the lazy dog 0123456789"));
    }
    bool ok =
        mongoc_collection_insert_many(coll, (const bson_t **)docs, (size_t)k, NULL, NULL, &err);
    for (int j = 0; j < k; j++) {
      bson_destroy(docs[j]);
    }
    if (!ok) {
      fprintf(stderr, "mongo_bench_seed: insert failed: %s\n", err.message);
      return 1;
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: mongo_bench_seed URI DB COLL N\n");
    return 2;
  }
  mongoc_init();
  bson_error_t err;
  mongoc_uri_t *uri = mongoc_uri_new_with_error(argv[1], &err);
  if (uri == NULL) {
    fprintf(stderr, "mongo_bench_seed: bad URI: %s\n", err.message);
    mongoc_cleanup();
    return 2;
  }
  mongoc_client_t *client = mongoc_client_new_from_uri(uri);
  mongoc_collection_t *coll = mongoc_client_get_collection(client, argv[2], argv[3]);
  /* A missing collection is fine: drop only clears a previous run. */
  (void)mongoc_collection_drop(coll, NULL);
  int rc = seed(coll, atoi(argv[4]));
  mongoc_collection_destroy(coll);
  mongoc_client_destroy(client);
  mongoc_uri_destroy(uri);
  mongoc_cleanup();
  return rc;
}
