/* BSON <-> JSON through libbson's Extended JSON, so that every BSON type
 * has one documented JSON shape (relaxed: numbers and dates readable;
 * canonical: types kept exactly). */
#include <stdlib.h>
#include <string.h>

#include "mongo.h"

bson_t *mg_json_to_bson(const json_t *value, char *why, size_t why_len) {
  /* Wrapped in {"v": ...}: libbson parses documents, and an array stage
   * list then comes back as the document {"0": .., "1": ..}. */
  json_t *wrap = json_pack("{sO}", "v", (json_t *)value);
  char *text = wrap != NULL ? json_dumps(wrap, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
  json_decref(wrap);
  if (text == NULL) {
    snprintf(why, why_len, "out of memory");
    return NULL;
  }
  bson_error_t berr;
  bson_t *outer = bson_new_from_json((const uint8_t *)text, -1, &berr);
  free(text);
  if (outer == NULL) {
    snprintf(why, why_len, "not valid Extended JSON: %.120s", berr.message);
    return NULL;
  }
  bson_iter_t it;
  const uint8_t *data = NULL;
  uint32_t len = 0;
  if (bson_iter_init_find(&it, outer, "v") &&
      (BSON_ITER_HOLDS_DOCUMENT(&it) || BSON_ITER_HOLDS_ARRAY(&it))) {
    if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
      bson_iter_document(&it, &len, &data);
    } else {
      bson_iter_array(&it, &len, &data);
    }
  }
  bson_t *inner = data != NULL ? bson_new_from_data(data, len) : NULL;
  bson_destroy(outer);
  if (inner == NULL) {
    /* An object such as {"$oid": ".."} is a value, not a document. */
    snprintf(why, why_len, "expected a document, got an Extended JSON value");
  }
  return inner;
}

json_t *mg_bson_to_json(const bson_t *doc, mg_ejson mode) {
  size_t len = 0;
  char *text = mode == MG_EJSON_CANONICAL ? bson_as_canonical_extended_json(doc, &len)
                                          : bson_as_relaxed_extended_json(doc, &len);
  if (text == NULL) {
    return NULL;
  }
  json_error_t jerr;
  /* JSON_ALLOW_NUL: a BSON string may hold U+0000. */
  json_t *out = json_loadb(text, len, JSON_ALLOW_NUL, &jerr);
  bson_free(text);
  return out;
}
