/* Minimal ustar reading and writing for host snapshots: regular files and
 * directories only.  Links, devices and unsafe names are rejected so that a
 * snapshot can never refer to anything outside itself. */
#ifndef KQ_TAR_H
#define KQ_TAR_H

#include <stddef.h>
#include <stdio.h>

#include "util.h"

#define KQ_TAR_MAX_ENTRIES 200000
#define KQ_TAR_MAX_TOTAL (256u << 20)

struct tar_entry {
	char *path;       /* normalised: no leading "./" or "/", no trailing "/" */
	char *data;       /* NUL-terminated copy; NULL for directories */
	size_t size;
	int is_dir;
};

struct tar_archive {
	struct tar_entry *entries;  /* sorted by path */
	size_t count;
};

/* Uncompresses data if it is gzip, then parses the tar.  Returns 0, or -1
 * with err naming the entry and what was wrong. */
int tar_parse(const void *data, size_t len, struct tar_archive *out, struct kq_err *err);
void tar_free(struct tar_archive *ar);
const struct tar_entry *tar_find(const struct tar_archive *ar, const char *path);

/* Returns 0 when a path is safe to hold in a snapshot: relative, no ".."
 * component, no empty component, printable. */
int tar_path_is_safe(const char *path);

/* Gzip in memory, with an upper bound on the inflated size (zip bombs). */
int kq_gunzip(const void *data, size_t len, size_t max_out, char **out, size_t *out_len,
	      struct kq_err *err);
int kq_is_gzip(const void *data, size_t len);

/* Writes a gzip'd ustar archive, entry by entry. */
struct tar_writer;
struct tar_writer *tar_writer_open(const char *path, struct kq_err *err);
/* The same on an open descriptor (which the writer then owns and closes);
 * path only names it in messages. */
struct tar_writer *tar_writer_open_fd(int fd, const char *path, struct kq_err *err);
int tar_writer_add_dir(struct tar_writer *w, const char *path);
int tar_writer_add_file(struct tar_writer *w, const char *path, const void *data, size_t len);
/* Finishes the archive; returns 0 or -1 with err set. */
int tar_writer_close(struct tar_writer *w, struct kq_err *err);

#endif
