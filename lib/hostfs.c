#define _GNU_SOURCE
#include "hostfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tar.h"

#ifndef RESOLVE_IN_ROOT
#define RESOLVE_IN_ROOT 0x10
#endif

struct hostfs {
	enum hostfs_kind kind;
	char *origin;
	int root_fd;                /* HOSTFS_DIR */
	struct tar_archive tar;     /* HOSTFS_TARBALL */
};

/* glibc 2.36 has no openat2() wrapper; the struct is open_how. */
struct kq_open_how {
	unsigned long long flags, mode, resolve;
};

enum hostfs_kind hostfs_kind(const struct hostfs *fs)
{
	return fs->kind;
}

const char *hostfs_origin(const struct hostfs *fs)
{
	return fs->origin;
}

struct hostfs *hostfs_open_live(void)
{
	struct hostfs *fs = kq_xcalloc(1, sizeof(*fs));
	fs->kind = HOSTFS_LIVE;
	fs->origin = kq_xstrdup("/");
	fs->root_fd = -1;
	return fs;
}

static int read_fd(int fd, char **data, size_t *len, size_t max)
{
	struct kq_buf b;
	kq_buf_init(&b);
	char chunk[16384];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			kq_buf_free(&b);
			return -e;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > max) {
			kq_buf_free(&b);
			return -EFBIG;
		}
		kq_buf_add(&b, chunk, (size_t)n);
	}
	*len = b.len;
	*data = kq_buf_steal(&b);
	return 0;
}

struct hostfs *hostfs_open_tar_memory(const void *data, size_t len, struct kq_err *err)
{
	struct hostfs *fs = kq_xcalloc(1, sizeof(*fs));
	fs->kind = HOSTFS_TARBALL;
	fs->root_fd = -1;
	fs->origin = kq_xstrdup("(memory)");
	if (tar_parse(data, len, &fs->tar, err)) {
		hostfs_close(fs);
		return NULL;
	}
	return fs;
}

struct hostfs *hostfs_open_snapshot(const char *path, struct kq_err *err)
{
	/* Never blocks: a FIFO given as the snapshot is refused, not waited on. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		kq_error(err, "snapshot '%s': %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (S_ISDIR(st.st_mode)) {
		struct hostfs *fs = kq_xcalloc(1, sizeof(*fs));
		fs->kind = HOSTFS_DIR;
		fs->origin = kq_xstrdup(path);
		fs->root_fd = fd;
		return fs;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		kq_error(err, "snapshot '%s' is %s: give a snapshot directory or a .tar.gz file", path,
			 kq_file_kind(st.st_mode));
		return NULL;
	}
	char *data;
	size_t len;
	int rc = read_fd(fd, &data, &len, KQ_TAR_MAX_TOTAL);
	close(fd);
	if (rc) {
		kq_error(err, "snapshot '%s': %s", path,
			 rc == -EFBIG ? "larger than 256 MiB" : strerror(-rc));
		return NULL;
	}
	struct kq_err terr;
	struct hostfs *fs = hostfs_open_tar_memory(data, len, &terr);
	free(data);
	if (!fs) {
		kq_error(err, "snapshot '%s': %s", path, terr.msg);
		return NULL;
	}
	free(fs->origin);
	fs->origin = kq_xstrdup(path);
	return fs;
}

void hostfs_close(struct hostfs *fs)
{
	if (!fs)
		return;
	if (fs->root_fd >= 0)
		close(fs->root_fd);
	tar_free(&fs->tar);
	free(fs->origin);
	free(fs);
}

/* Opens a path inside a snapshot directory so that neither ".." nor a
 * symbolic link can lead out of it. */
static int dir_open(const struct hostfs *fs, const char *path, int flags)
{
	if (tar_path_is_safe(path))
		return -EINVAL;
	struct kq_open_how how = { .flags = (unsigned long long)(flags | O_CLOEXEC),
				   .resolve = RESOLVE_IN_ROOT };
	long fd = syscall(SYS_openat2, fs->root_fd, path, &how, sizeof(how));
	if (fd >= 0)
		return (int)fd;
	if (errno != ENOSYS)
		return -errno;
	/* Kernels before 5.6: path is already free of "..", refuse links. */
	fd = openat(fs->root_fd, path, flags | O_CLOEXEC | O_NOFOLLOW);
	return fd >= 0 ? (int)fd : -errno;
}

static int open_path(const struct hostfs *fs, const char *path, int flags)
{
	if (fs->kind == HOSTFS_DIR)
		return dir_open(fs, path, flags);
	char *abs = kq_xasprintf("/%s", path);
	int fd = open(abs, flags | O_CLOEXEC);
	int e = errno;
	free(abs);
	return fd >= 0 ? fd : -e;
}

int hostfs_read(const struct hostfs *fs, const char *path, char **data, size_t *len, size_t max)
{
	if (fs->kind == HOSTFS_TARBALL) {
		const struct tar_entry *e = tar_find(&fs->tar, path);
		if (!e)
			return -ENOENT;
		if (e->is_dir)
			return -EISDIR;
		if (e->size > max)
			return -EFBIG;
		*data = kq_xmalloc(e->size + 1);
		memcpy(*data, e->data, e->size + 1);
		*len = e->size;
		return 0;
	}
	int fd = open_path(fs, path, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return fd;
	/* A snapshot holds regular files only: a device or a FIFO placed in a
	 * snapshot directory is never read.  The live host's few character
	 * devices are read as they are. */
	struct stat st;
	if (fstat(fd, &st) != 0 || (!S_ISREG(st.st_mode) && !(fs->kind == HOSTFS_LIVE && S_ISCHR(st.st_mode)))) {
		int e = S_ISDIR(st.st_mode) ? -EISDIR : HOSTFS_ENOTREG;
		close(fd);
		return e;
	}
	int rc = read_fd(fd, data, len, max);
	close(fd);
	return rc;
}

char *hostfs_read_line(const struct hostfs *fs, const char *path)
{
	char *data;
	size_t len;
	if (hostfs_read(fs, path, &data, &len, 4096))
		return NULL;
	if (memchr(data, '\0', len)) {
		/* Device-tree strings and some sysfs files end in NUL. */
		len = strlen(data);
	}
	char *t = kq_strtrim(data);
	memmove(data, t, strlen(t) + 1);
	return data;
}

int hostfs_exists(const struct hostfs *fs, const char *path)
{
	if (fs->kind == HOSTFS_TARBALL) {
		if (tar_find(&fs->tar, path))
			return 1;
		/* A directory may exist only through the files inside it. */
		size_t n = strlen(path);
		for (size_t i = 0; i < fs->tar.count; i++)
			if (strncmp(fs->tar.entries[i].path, path, n) == 0 &&
			    fs->tar.entries[i].path[n] == '/')
				return 1;
		return 0;
	}
	if (fs->kind == HOSTFS_DIR) {
		int fd = dir_open(fs, path, O_PATH);
		if (fd < 0)
			return 0;
		close(fd);
		return 1;
	}
	char *abs = kq_xasprintf("/%s", path);
	int ok = access(abs, F_OK) == 0;
	free(abs);
	return ok;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t hostfs_list(const struct hostfs *fs, const char *dir, char ***names)
{
	size_t count = 0, cap = 16;
	char **out = kq_xmalloc(cap * sizeof(*out));
	if (fs->kind == HOSTFS_TARBALL) {
		size_t n = strlen(dir);
		for (size_t i = 0; i < fs->tar.count; i++) {
			const char *p = fs->tar.entries[i].path;
			if (strncmp(p, dir, n) || p[n] != '/')
				continue;
			const char *rest = p + n + 1;
			size_t len = strcspn(rest, "/");
			if (count && strlen(out[count - 1]) == len &&
			    strncmp(out[count - 1], rest, len) == 0)
				continue; /* sorted input: repeats are adjacent */
			if (count + 1 >= cap)
				out = kq_xrealloc(out, (cap *= 2) * sizeof(*out));
			out[count] = kq_xmalloc(len + 1);
			memcpy(out[count], rest, len);
			out[count++][len] = '\0';
		}
	} else {
		int fd = open_path(fs, dir, O_RDONLY | O_DIRECTORY);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		if (!d && fd >= 0)
			close(fd);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (count + 1 >= cap)
				out = kq_xrealloc(out, (cap *= 2) * sizeof(*out));
			out[count++] = kq_xstrdup(de->d_name);
		}
		if (d)
			closedir(d);
	}
	if (count > 1)
		qsort(out, count, sizeof(*out), name_cmp);
	/* Tarball listings can repeat a name when a directory entry and files
	 * under it are interleaved with other names; drop repeats. */
	size_t w = 0;
	for (size_t i = 0; i < count; i++) {
		if (w && !strcmp(out[w - 1], out[i])) {
			free(out[i]);
			continue;
		}
		out[w++] = out[i];
	}
	out[w] = NULL;
	*names = out;
	return w;
}

const char *hostfs_strerror(int rc)
{
	switch (rc) {
	case HOSTFS_ENOTREG: return "not a regular file (a device, FIFO or socket is never read from a snapshot)";
	case -EFBIG: return "larger than the probe reads";
	default: return strerror(rc < 0 ? -rc : rc);
	}
}

void hostfs_free_list(char **names)
{
	if (!names)
		return;
	for (char **p = names; *p; p++)
		free(*p);
	free(names);
}
