/* Incremental reads keep the last value of the `since` field in a small
 * file, so that a restart neither repeats nor skips documents. The file is
 * canonical Extended JSON ({"field": .., "value": ..}) to keep the value's
 * exact BSON type (an ObjectId stays an ObjectId, an Int64 an Int64). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mongo.h"

#define SINCE_MAX_BYTES (64 * 1024)

char *mg_since_path(const char *dir, const char *source_name) {
  /* Names hold letters, digits and "_ . : -" (the host checks), and ':'
   * has no place in a portable file name. It becomes "%3A", and a leading
   * '.' (a hidden file, or ".." climbing out of dir) "%2E": '%' is not a
   * name's character, so no two names share a file, as "x:y" and "x_y"
   * did when both became x_y. Anything else the host would refuse is
   * escaped the same way. */
  size_t n = strlen(source_name);
  char *safe = malloc(3 * n + 1);
  if (safe == NULL) {
    return NULL;
  }
  size_t at = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)source_name[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '-' || c == '_' || c == '.';
    if (ok && !(i == 0 && c == '.')) {
      safe[at++] = (char)c;
    } else {
      at += (size_t)snprintf(safe + at, 4, "%%%02X", c);
    }
  }
  safe[at] = '\0';
  size_t len = strlen(dir) + at + 32;
  char *path = malloc(len);
  if (path != NULL) {
    snprintf(path, len, "%s/%s.mongo-since.json", dir, safe);
  }
  free(safe);
  return path;
}

static int read_all(const char *path, char **out, siphon_error *err) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    if (errno == ENOENT) {
      return 0;
    }
    int e = errno;
    snprintf(err->text, sizeof(err->text), "cannot open state file %s: %s", path, strerror(e));
    return -e;
  }
  char *buf = malloc(SINCE_MAX_BYTES + 1);
  size_t n = buf != NULL ? fread(buf, 1, SINCE_MAX_BYTES + 1, f) : 0;
  int bad = buf == NULL || ferror(f) || n > SINCE_MAX_BYTES;
  fclose(f);
  if (bad) {
    free(buf);
    snprintf(err->text, sizeof(err->text), "cannot read state file %s", path);
    return -EIO;
  }
  buf[n] = '\0';
  *out = buf;
  return 1;
}

int mg_since_load(const char *path, const char *field, bson_value_t *value, siphon_error *err) {
  char *text = NULL;
  int rc = read_all(path, &text, err);
  if (rc <= 0) {
    return rc;
  }
  bson_error_t berr;
  bson_t *doc = bson_new_from_json((const uint8_t *)text, -1, &berr);
  free(text);
  bson_iter_t fit, vit;
  if (doc == NULL || !bson_iter_init_find(&fit, doc, "field") || !BSON_ITER_HOLDS_UTF8(&fit) ||
      !bson_iter_init_find(&vit, doc, "value")) {
    snprintf(err->text, sizeof(err->text),
             "state file %s is corrupt (expected {\"field\": .., \"value\": ..}); "
             "remove it to read from the start",
             path);
    bson_destroy(doc);
    return -EINVAL;
  }
  if (strcmp(bson_iter_utf8(&fit, NULL), field) != 0) {
    snprintf(err->text, sizeof(err->text),
             "state file %s tracks field \"%s\", not \"%s\"; remove it to read from the start",
             path, bson_iter_utf8(&fit, NULL), field);
    bson_destroy(doc);
    return -EINVAL;
  }
  bson_value_copy(bson_iter_value(&vit), value);
  bson_destroy(doc);
  return 1;
}

static int write_fully(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return -errno;
    }
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

static void fsync_dir_of(const char *path) {
  char *dir = strdup(path);
  if (dir == NULL) {
    return;
  }
  char *slash = strrchr(dir, '/');
  if (slash != NULL) {
    *slash = '\0';
    int fd = open(slash == dir ? "/" : dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
      /* Makes the rename itself durable; best effort (some filesystems
       * refuse fsync on directories). */
      (void)fsync(fd);
      close(fd);
    }
  }
  free(dir);
}

int mg_since_save(const char *path, const char *field, const bson_value_t *value,
                  siphon_error *err) {
  bson_t doc = BSON_INITIALIZER;
  char *text = NULL;
  if (BSON_APPEND_UTF8(&doc, "field", field) && bson_append_value(&doc, "value", 5, value)) {
    text = bson_as_canonical_extended_json(&doc, NULL);
  }
  bson_destroy(&doc);
  if (text == NULL) {
    snprintf(err->text, sizeof(err->text), "cannot encode the since value of \"%s\"", field);
    return -EINVAL;
  }
  size_t len = strlen(path) + 8;
  char *tmp = malloc(len);
  if (tmp == NULL) {
    bson_free(text);
    return -ENOMEM;
  }
  snprintf(tmp, len, "%s.tmp", path);
  int rc = 0;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    rc = -errno;
  } else {
    rc = write_fully(fd, text, strlen(text));
    if (rc == 0) {
      rc = write_fully(fd, "\n", 1);
    }
    if (rc == 0 && fsync(fd) != 0) {
      rc = -errno;
    }
    if (close(fd) != 0 && rc == 0) {
      rc = -errno;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
      rc = -errno;
    }
    if (rc != 0) {
      unlink(tmp);
    }
  }
  bson_free(text);
  if (rc != 0) {
    snprintf(err->text, sizeof(err->text), "cannot write state file %s: %s", path, strerror(-rc));
  } else {
    fsync_dir_of(path);
  }
  free(tmp);
  return rc;
}
