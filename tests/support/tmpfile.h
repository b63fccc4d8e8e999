/* Temporary files for tests: configs written from a string. */
#ifndef SIPHON_TEST_TMPFILE_H
#define SIPHON_TEST_TMPFILE_H

#include <stddef.h>

/* A fresh directory under $TMPDIR (or /tmp); caller frees the string and
 * may remove the directory with tmp_rmtree(). */
char *tmp_dir(void);

/* Writes `text` to a new file named `name` inside a new temporary
 * directory and returns its path (caller frees). printf-style. */
char *tmp_write(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes `text` to `path`. Returns 0 or -errno. */
int tmp_write_at(const char *path, const char *text);

/* Reads a whole file; NULL if it cannot. Caller frees. */
char *tmp_read(const char *path, size_t *len_out);

/* Removes a directory tree (best effort). */
void tmp_rmtree(const char *path);
/* Removes the directory tmp_write() made for `path`, then frees path. */
void tmp_discard(char *path);

/* Number of lines in s. */
size_t count_lines(const char *s);

#endif
