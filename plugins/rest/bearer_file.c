/* bearer_file: a token read from a file, and read again at a round's
 * start when the file has changed, as a Kubernetes service account's
 * projected token is replaced every hour or so. A token read once
 * (`${file:...}`) would go stale and fail every round until a restart. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rest.h"

/* A token is a line of text: far below this. */
#define BEARER_FILE_MAX (16 * 1024)

static int same_file(const rest_source *s, const struct stat *st) {
  return s->bearer != NULL && s->bearer_ino == st->st_ino && s->bearer_size == st->st_size &&
         s->bearer_mtime.tv_sec == st->st_mtim.tv_sec &&
         s->bearer_mtime.tv_nsec == st->st_mtim.tv_nsec;
}

int rest_bearer_file_refresh(rest_source *s, char *msg, size_t msg_len) {
  /* Follows a symlink: Kubernetes swaps a ..data link to a new directory,
   * so the token is a new inode. */
  struct stat st;
  if (stat(s->bearer_file, &st) != 0) {
    int e = errno;
    snprintf(msg, msg_len, "cannot read %s: %s", s->bearer_file, strerror(e));
    return -e;
  }
  if (same_file(s, &st)) {
    return 0;
  }
  int fd = open(s->bearer_file, O_RDONLY | O_NONBLOCK | O_CLOEXEC); /* a FIFO must not block */
  if (fd < 0) {
    int e = errno;
    snprintf(msg, msg_len, "cannot read %s: %s", s->bearer_file, strerror(e));
    return -e;
  }
  struct stat fst;
  if (fstat(fd, &fst) != 0 || !S_ISREG(fst.st_mode)) {
    close(fd);
    snprintf(msg, msg_len, "%s is not a file", s->bearer_file);
    return -EINVAL;
  }
  char *buf = malloc(BEARER_FILE_MAX + 1);
  if (buf == NULL) {
    close(fd);
    return -ENOMEM;
  }
  size_t len = 0;
  for (;;) {
    ssize_t n = read(fd, buf + len, BEARER_FILE_MAX + 1 - len);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0 || (len += (size_t)n) > BEARER_FILE_MAX) {
      break;
    }
  }
  close(fd);
  if (len > BEARER_FILE_MAX) {
    free(buf);
    snprintf(msg, msg_len, "%s is over %d KiB: not a token", s->bearer_file,
             BEARER_FILE_MAX / 1024);
    return -EFBIG;
  }
  /* An editor's or `echo`'s trailing newline is not the token's. */
  while (len > 0 && strchr(" \t\r\n", buf[len - 1]) != NULL) {
    len--;
  }
  buf[len] = '\0';
  if (len == 0 || memchr(buf, '\0', len) != NULL) {
    free(buf);
    snprintf(msg, msg_len, "%s holds no token (the file is empty)", s->bearer_file);
    return -EINVAL;
  }
  if (strpbrk(buf, "\r\n") != NULL) {
    free(buf);
    snprintf(msg, msg_len, "%s holds more than one line: a token is one (it is not shown)",
             s->bearer_file);
    return -EINVAL;
  }
  int rc = rest_source_set_bearer(s, buf);
  if (rc != 0) {
    snprintf(msg, msg_len, "%s", strerror(-rc));
    return rc;
  }
  /* The file as read: one changed while it was read is read again next
   * round, since its stamp then differs from this one. */
  s->bearer_ino = fst.st_ino;
  s->bearer_size = fst.st_size;
  s->bearer_mtime = fst.st_mtim;
  return 0;
}
