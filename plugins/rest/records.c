/* A round's records: held until its last page is in (a round that fails
 * part-way emits nothing), then handed to the host a chunk at a time.
 *
 * Why chunks: one response can hold hundreds of thousands of records
 * (a 23 MB page split into 300,000 held the loop 1.9 s when parsed and
 * written in one go), and every other source's round waits while the
 * loop writes. round.c writes REST_RECORDS_CHUNK of them a loop turn. */
#include <errno.h>
#include <stdlib.h>

#include "rest.h"

int rest_records_push(rest_records *rs, json_t *data, json_t *meta) {
  if (data == NULL || meta == NULL) {
    json_decref(data);
    json_decref(meta);
    return -ENOMEM;
  }
  if (rs->len == rs->cap) {
    size_t cap = rs->cap != 0 ? rs->cap * 2 : 4;
    rest_record *v = realloc(rs->v, cap * sizeof(*v));
    if (v == NULL) {
      json_decref(data);
      json_decref(meta);
      return -ENOMEM;
    }
    rs->v = v;
    rs->cap = cap;
  }
  rs->v[rs->len].data = data;
  rs->v[rs->len].meta = meta;
  rs->len++;
  return 0;
}

int rest_records_send(rest_records *rs, const siphon_host_api *api, siphon_round *round,
                      size_t max) {
  size_t end = rs->len - rs->sent > max ? rs->sent + max : rs->len;
  while (rs->sent < end) {
    rest_record *rec = &rs->v[rs->sent++];
    int rc = api->round_emit(round, rec->data, rec->meta);
    rec->data = rec->meta = NULL;
    if (rc != 0) {
      /* The host refused one (the round was cancelled): it counts each
       * record it refuses as discarded, so hand it the rest as well
       * rather than drop them uncounted. */
      rest_records_discard(rs, api, round);
      return rc;
    }
  }
  return rs->sent < rs->len ? 1 : 0;
}

void rest_records_discard(rest_records *rs, const siphon_host_api *api, siphon_round *round) {
  while (rs->sent < rs->len) {
    rest_record *rec = &rs->v[rs->sent++];
    (void)api->round_emit(round, rec->data, rec->meta);
    rec->data = rec->meta = NULL;
  }
}

void rest_records_free(rest_records *rs) {
  for (size_t i = rs->sent; i < rs->len; i++) {
    json_decref(rs->v[i].data);
    json_decref(rs->v[i].meta);
  }
  free(rs->v);
  rs->v = NULL;
  rs->len = rs->cap = rs->sent = 0;
}
