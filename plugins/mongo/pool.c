/* One mongoc_client_pool_t per distinct URI, shared by every source that
 * uses it: sources of one server then share its connections and its
 * monitoring thread. Rounds of different sources run on different pool
 * threads at once, so the registry is guarded by a mutex; a pool lives
 * while some source holds a reference to it. The first source to need a
 * pool opens it, outside the mutex; sources that need it meanwhile wait
 * for that one. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mongo.h"

struct mg_pool_ref {
  char *key; /* the URI's text, timeouts included */
  mongoc_client_pool_t *pool;
  unsigned refs;
  int opening;      /* a source is opening it, outside the lock */
  unsigned waiters; /* sources waiting for that opening */
  int failed;       /* the opening failed: out of the list, kept for its waiters */
  char error[SIPHON_ERROR_TEXT_LENGTH];
  mg_pool_ref *next;
};

struct mg_pools {
  uv_mutex_t lock;
  uv_cond_t opened; /* an opening ended, well or not */
  mg_pool_ref *head;
};

mg_pools *mg_pools_new(void) {
  mg_pools *p = calloc(1, sizeof(*p));
  if (p == NULL) {
    return NULL;
  }
  if (uv_mutex_init(&p->lock) != 0) {
    free(p);
    return NULL;
  }
  if (uv_cond_init(&p->opened) != 0) {
    uv_mutex_destroy(&p->lock);
    free(p);
    return NULL;
  }
  return p;
}

/* Takes r out of the registry's list (under the lock). */
static void pool_unlink(mg_pools *pools, mg_pool_ref *r) {
  mg_pool_ref **pp = &pools->head;
  while (*pp != r) {
    pp = &(*pp)->next;
  }
  *pp = r->next;
}

/* Frees an entry out of the list whose pool is closed or never was. */
static void ref_free(mg_pool_ref *r) {
  free(r->key);
  free(r);
}

void mg_pools_free(mg_pools *pools) {
  if (pools == NULL) {
    return;
  }
  /* Destroy() releases every reference; a leftover one is a bug, but the
   * process is ending: close it rather than leak a monitoring thread. */
  while (pools->head != NULL) {
    mg_pool_ref *r = pools->head;
    pools->head = r->next;
    mongoc_client_pool_destroy(r->pool);
    ref_free(r);
  }
  uv_cond_destroy(&pools->opened);
  uv_mutex_destroy(&pools->lock);
  free(pools);
}

/* The key a pool is shared by: the URI's text and the timeouts that
 * create() applied to it, which mongoc_uri_get_string() leaves out (it
 * returns the text as parsed). Sources of one URI with different
 * timeouts get pools of their own, each bounded by its own timeout.
 * NULL on out of memory. */
static char *pool_key(const mongoc_uri_t *uri) {
  const char *text = mongoc_uri_get_string(uri);
  const char *keys[] = {MONGOC_URI_SERVERSELECTIONTIMEOUTMS, MONGOC_URI_SOCKETTIMEOUTMS,
                        MONGOC_URI_CONNECTTIMEOUTMS, MONGOC_URI_WAITQUEUETIMEOUTMS};
  size_t len = strlen(text) + 4 * 12 + 1;
  char *key = malloc(len);
  if (key == NULL) {
    return NULL;
  }
  size_t at = (size_t)snprintf(key, len, "%s", text);
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
    at += (size_t)snprintf(key + at, len - at, " %d",
                           (int)mongoc_uri_get_option_as_int32(uri, keys[i], 0));
  }
  return key;
}

/* A new client pool for uri, or NULL with err filled. */
static mongoc_client_pool_t *open_pool(const mongoc_uri_t *uri, siphon_error *err) {
  bson_error_t berr;
  mongoc_client_pool_t *pool = mongoc_client_pool_new_with_error(uri, &berr);
  if (pool == NULL) {
    /* berr may name the TLS file that failed, never the credentials. */
    snprintf(err->text, sizeof(err->text), "cannot create a client pool: %.200s", berr.message);
    return NULL;
  }
  /* Errors as the server states them (error API 2), so a bad filter
   * reports the server's own code and message. */
  mongoc_client_pool_set_error_api(pool, MONGOC_ERROR_API_VERSION_2);
  if (mongoc_uri_get_appname(uri) == NULL) {
    mongoc_client_pool_set_appname(pool, "siphon");
  }
  return pool;
}

static mg_pool_ref *pool_find(mg_pools *pools, const char *key) {
  mg_pool_ref *r = pools->head;
  while (r != NULL && strcmp(r->key, key) != 0) {
    r = r->next;
  }
  return r;
}

int mg_pools_acquire(mg_pools *pools, const mongoc_uri_t *uri, mg_pool_ref **out,
                     siphon_error *err) {
  char *key = pool_key(uri);
  if (key == NULL) {
    snprintf(err->text, sizeof(err->text), "out of memory");
    return -ENOMEM;
  }
  uv_mutex_lock(&pools->lock);
  mg_pool_ref *r = pool_find(pools, key);
  /* Another source is opening this pool: wait for it rather than open a
   * second (N sources whose first rounds start together would make N
   * pools, and N SRV lookups for mongodb+srv://), and share its outcome:
   * a failure too, rather than each trying again in turn. */
  if (r != NULL && r->opening) {
    r->waiters++;
    while (r->opening) {
      uv_cond_wait(&pools->opened, &pools->lock);
    }
    r->waiters--;
    if (r->failed) {
      snprintf(err->text, sizeof(err->text), "%s", r->error);
      int last = r->waiters == 0;
      uv_mutex_unlock(&pools->lock);
      if (last) {
        ref_free(r);
      }
      free(key);
      return -EINVAL;
    }
  }
  if (r != NULL) {
    r->refs++;
    uv_mutex_unlock(&pools->lock);
    free(key);
    *out = r;
    return 0;
  }
  r = calloc(1, sizeof(*r));
  if (r == NULL) {
    uv_mutex_unlock(&pools->lock);
    free(key);
    snprintf(err->text, sizeof(err->text), "out of memory");
    return -ENOMEM;
  }
  r->key = key;
  r->opening = 1;
  r->next = pools->head;
  pools->head = r;
  uv_mutex_unlock(&pools->lock);
  /* Opened outside the lock: for mongodb+srv:// libmongoc resolves the
   * SRV record here, and a slow DNS must not hold the rounds of sources
   * whose pools are open. */
  mongoc_client_pool_t *pool = open_pool(uri, err);
  uv_mutex_lock(&pools->lock);
  r->opening = 0;
  int keep = 1;
  if (pool == NULL) {
    /* Out of the list, so the next round tries again; its waiters take
     * the error, and the last of them frees it. */
    pool_unlink(pools, r);
    r->failed = 1;
    snprintf(r->error, sizeof(r->error), "%s", err->text);
    keep = r->waiters > 0;
  } else {
    r->pool = pool;
    r->refs++;
  }
  uv_cond_broadcast(&pools->opened);
  uv_mutex_unlock(&pools->lock);
  if (pool == NULL) {
    if (!keep) {
      ref_free(r);
    }
    return -EINVAL;
  }
  *out = r;
  return 0;
}

void mg_pools_release(mg_pools *pools, mg_pool_ref *ref) {
  mongoc_client_pool_t *dead = NULL;
  uv_mutex_lock(&pools->lock);
  /* Sources waiting for its opening take references when they wake: it
   * stays for them. */
  if (--ref->refs == 0 && ref->waiters == 0) {
    pool_unlink(pools, ref);
    dead = ref->pool;
  }
  uv_mutex_unlock(&pools->lock);
  if (dead != NULL) {
    /* Outside the lock: destroying joins the pool's monitoring thread. */
    mongoc_client_pool_destroy(dead);
    ref_free(ref);
  }
}

mongoc_client_pool_t *mg_pool_get(mg_pool_ref *ref) {
  return ref->pool;
}
