/* A read-only view of a host's files.  Every file the probe reads goes
 * through here, so the same classification code runs on the live system, on
 * a snapshot directory, or on a snapshot tarball held in memory (never
 * extracted, so a hostile tarball cannot write anywhere). */
#ifndef KQ_HOSTFS_H
#define KQ_HOSTFS_H

#include <errno.h>
#include <stddef.h>

#include "util.h"

enum hostfs_kind {
	HOSTFS_LIVE,     /* the running system, root "/" */
	HOSTFS_DIR,      /* a snapshot directory */
	HOSTFS_TARBALL,  /* a snapshot .tar.gz, loaded into memory */
};

struct hostfs;

struct hostfs *hostfs_open_live(void);
/* PATH is a directory or a .tar.gz (or .tar).  Returns NULL with err set. */
struct hostfs *hostfs_open_snapshot(const char *path, struct kq_err *err);
/* The same, from a tarball already in memory (used by tests and fuzzers). */
struct hostfs *hostfs_open_tar_memory(const void *data, size_t len, struct kq_err *err);
void hostfs_close(struct hostfs *fs);

enum hostfs_kind hostfs_kind(const struct hostfs *fs);
const char *hostfs_origin(const struct hostfs *fs);

/* Reads a whole file of at most max bytes; *data is NUL-terminated and must
 * be freed.  Paths are relative to the host root ("proc/cpuinfo").  Returns 0
 * or a negative errno (-ENOENT, -EFBIG when larger than max,
 * HOSTFS_ENOTREG, ...). */
int hostfs_read(const struct hostfs *fs, const char *path, char **data, size_t *len, size_t max);
/* hostfs_read's answer for a path that is there but not a regular file
 * (in a snapshot: a device, a FIFO or a socket, which are never read). */
#define HOSTFS_ENOTREG (-ENODEV)
/* Words for a negative errno from hostfs_read. */
const char *hostfs_strerror(int rc);
/* Reads a small file and trims white space; NULL when absent or unreadable. */
char *hostfs_read_line(const struct hostfs *fs, const char *path);
int hostfs_exists(const struct hostfs *fs, const char *path);
/* Names in a directory, sorted, without "." and "..".  Returns the count
 * (0 when absent); *names is a NULL-terminated array to free with
 * hostfs_free_list(). */
size_t hostfs_list(const struct hostfs *fs, const char *dir, char ***names);
void hostfs_free_list(char **names);

#endif
