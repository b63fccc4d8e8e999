/* Every BSON type the server stores, as it appears in a record's data in
 * relaxed and in canonical Extended JSON. */
#include <criterion/criterion.h>
#include <string.h>

#include "mongot.h"
#include "tmpfile.h"

static void seed_all_types(const char *db) {
  bson_t *d = bson_new();
  bson_oid_t oid;
  bson_oid_init_from_string(&oid, "5f0c1a2b3c4d5e6f70819203");
  uint8_t bin[] = {0x00, 0x01, 0xfe, 0xff};
  uint8_t uuid[16] = {0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x45, 0x67,
                      0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67};
  bson_decimal128_t dec;
  bson_decimal128_from_string("1234.5678", &dec);
  bson_t sub, arr, scope;
  BSON_APPEND_DOUBLE(d, "double", 1.5);
  BSON_APPEND_UTF8(d, "string", "h\u00e9llo \"q\"");
  BSON_APPEND_DOCUMENT_BEGIN(d, "document", &sub);
  BSON_APPEND_INT32(&sub, "x", 1);
  bson_append_document_end(d, &sub);
  BSON_APPEND_ARRAY_BEGIN(d, "array", &arr);
  BSON_APPEND_INT32(&arr, "0", 1);
  BSON_APPEND_UTF8(&arr, "1", "two");
  bson_append_array_end(d, &arr);
  BSON_APPEND_BINARY(d, "binary", BSON_SUBTYPE_BINARY, bin, sizeof(bin));
  BSON_APPEND_BINARY(d, "uuid", BSON_SUBTYPE_UUID, uuid, sizeof(uuid));
  BSON_APPEND_OID(d, "oid", &oid);
  BSON_APPEND_BOOL(d, "bool", true);
  BSON_APPEND_DATE_TIME(d, "date", 1600000000123);
  BSON_APPEND_NULL(d, "null");
  BSON_APPEND_REGEX(d, "regex", "^a.c$", "i");
  BSON_APPEND_CODE(d, "code", "function () { return 1; }");
  bson_init(&scope);
  BSON_APPEND_INT32(&scope, "y", 2);
  BSON_APPEND_CODE_WITH_SCOPE(d, "code_scope", "function () { return y; }", &scope);
  bson_destroy(&scope);
  BSON_APPEND_INT32(d, "int32", -42);
  BSON_APPEND_TIMESTAMP(d, "timestamp", 1600000000, 7);
  BSON_APPEND_INT64(d, "int64", 9007199254740993LL);
  BSON_APPEND_DECIMAL128(d, "decimal", &dec);
  BSON_APPEND_MINKEY(d, "minkey");
  BSON_APPEND_MAXKEY(d, "maxkey");
  mongoc_collection_t *c = mongoc_client_get_collection(mt_client(), db, "types");
  bson_error_t err;
  cr_assert(mongoc_collection_insert_one(c, d, NULL, NULL, &err), "insert: %s", err.message);
  mongoc_collection_destroy(c);
  bson_destroy(d);
}

static json_t *read_back(const char *mode) {
  char *db = mt_db();
  seed_all_types(db);
  char *opts = mt_fmt("\"database\": \"%s\", \"collection\": \"types\", \"extended_json\": \"%s\"",
                      db, mode);
  char *src = mt_source("types", "\"interval\": \"1s\"", opts);
  char *cfg = mt_config("", src);
  tproc p;
  int st = mt_once(&p, cfg, 30000);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  json_t *recs = mt_records(p.out);
  json_t *data = mt_data(recs, "types");
  cr_assert_eq(json_array_size(data), 1, "%s", p.out);
  json_t *doc = json_incref(json_array_get(data, 0));
  json_decref(data);
  json_decref(recs);
  tproc_free(&p);
  free(cfg);
  free(src);
  free(opts);
  free(db);
  return doc;
}

/* Each field's JSON, compact, against what Extended JSON says it is. */
static void expect(json_t *doc, const char *key, const char *want) {
  json_t *v = json_object_get(doc, key);
  cr_assert_not_null(v, "field %s missing from %s", key,
                     json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY));
  char *got = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  cr_expect_str_eq(got, want, "field %s: got %s, want %s", key, got, want);
  free(got);
}

/* What both modes render the same way. */
static void expect_common(json_t *d) {
  expect(d, "string", "\"h\u00e9llo \\\"q\\\"\"");
  expect(d, "binary", "{\"$binary\":{\"base64\":\"AAH+/w==\",\"subType\":\"00\"}}");
  expect(d, "uuid", "{\"$binary\":{\"base64\":\"EjRWeBI0RWeJq83vASNFZw==\",\"subType\":\"04\"}}");
  expect(d, "oid", "{\"$oid\":\"5f0c1a2b3c4d5e6f70819203\"}");
  expect(d, "bool", "true");
  expect(d, "null", "null");
  expect(d, "regex", "{\"$regularExpression\":{\"pattern\":\"^a.c$\",\"options\":\"i\"}}");
  expect(d, "code", "{\"$code\":\"function () { return 1; }\"}");
  expect(d, "timestamp", "{\"$timestamp\":{\"t\":1600000000,\"i\":7}}");
  expect(d, "decimal", "{\"$numberDecimal\":\"1234.5678\"}");
  expect(d, "minkey", "{\"$minKey\":1}");
  expect(d, "maxkey", "{\"$maxKey\":1}");
  /* The server assigned an ObjectId _id. */
  cr_expect(json_is_string(json_object_get(json_object_get(d, "_id"), "$oid")));
}

Test(types, relaxed) {
  json_t *d = read_back("relaxed");
  expect_common(d);
  /* Relaxed: numbers are plain JSON numbers, dates ISO-8601 text. */
  expect(d, "double", "1.5");
  expect(d, "int32", "-42");
  /* Above 2^53: still exact, as a JSON integer. */
  expect(d, "int64", "9007199254740993");
  expect(d, "document", "{\"x\":1}");
  expect(d, "array", "[1,\"two\"]");
  expect(d, "date", "{\"$date\":\"2020-09-13T12:26:40.123Z\"}");
  expect(d, "code_scope", "{\"$code\":\"function () { return y; }\",\"$scope\":{\"y\":2}}");
  json_decref(d);
}

Test(types, canonical) {
  json_t *d = read_back("canonical");
  expect_common(d);
  /* Canonical: every number keeps its BSON type. */
  expect(d, "double", "{\"$numberDouble\":\"1.5\"}");
  expect(d, "int32", "{\"$numberInt\":\"-42\"}");
  expect(d, "int64", "{\"$numberLong\":\"9007199254740993\"}");
  expect(d, "document", "{\"x\":{\"$numberInt\":\"1\"}}");
  expect(d, "array", "[{\"$numberInt\":\"1\"},\"two\"]");
  expect(d, "date", "{\"$date\":{\"$numberLong\":\"1600000000123\"}}");
  expect(d, "code_scope",
         "{\"$code\":\"function () { return y; }\",\"$scope\":{\"y\":{\"$numberInt\":\"2\"}}}");
  json_decref(d);
}

/* Doubles that JSON has no number for still make valid record lines. */
Test(types, non_finite_doubles) {
  char *db = mt_db();
  mt_insert(db, "f",
            "[{\"n\": 1, \"v\": {\"$numberDouble\": \"NaN\"}},"
            " {\"n\": 2, \"v\": {\"$numberDouble\": \"-Infinity\"}}]");
  char *opts = mt_fmt("\"database\": \"%s\", \"collection\": \"f\", \"sort\": {\"n\": 1}", db);
  char *src = mt_source("f", "\"interval\": \"1s\"", opts);
  char *cfg = mt_config("", src);
  tproc p;
  int st = mt_once(&p, cfg, 30000);
  cr_assert_eq(st, 0, "exit %d: %s", st, p.err);
  json_t *recs = mt_records(p.out);
  json_t *data = mt_data(recs, "f");
  cr_assert_eq(json_array_size(data), 2, "%s", p.out);
  expect(json_array_get(data, 0), "v", "{\"$numberDouble\":\"NaN\"}");
  expect(json_array_get(data, 1), "v", "{\"$numberDouble\":\"-Infinity\"}");
  json_decref(data);
  json_decref(recs);
  tproc_free(&p);
  free(cfg);
  free(src);
  free(opts);
  free(db);
}
