/* What kvmqual run and kvmqual ab need before a guest boots: setup.h. */
#define _GNU_SOURCE
#include "setup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/stats.h"
#include "../lib/util.h"
#include "native.h"

char *setup_self_dir(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return kq_xstrdup(".");
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	return kq_xstrdup(exe);
}

char *setup_suite_path(const char *dir, const char *in_build, const char *installed)
{
	char *build = kq_xasprintf("%s/%s", dir, in_build);
	if (access(build, F_OK) == 0)
		return build;
	char *inst = kq_xasprintf("%s/../%s", dir, installed);
	if (access(inst, F_OK) == 0) {
		free(build);
		return inst;
	}
	free(inst);
	return build;
}

int setup_supports_direct(const char *path)
{
	int fd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* A scratch file of mib MiB for fio, written through with data: the
 * sequential read runs before any write, and a file made by ftruncate (or
 * fallocate) is holes or unwritten extents, which the file system answers
 * with zeros without touching the disk (natively 145 GB/s "read" here).
 * The bytes are pseudo-random, so that no compressing or deduplicating
 * layer under the file shortens the reads either. */
int setup_scratch_file(char *path, size_t size, const char *dir, long long mib, volatile sig_atomic_t *stop)
{
	snprintf(path, size, "%s/kvmqual-scratch.%ld.XXXXXX", dir, (long)getpid());
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	enum { CHUNK = 1 << 20 };
	unsigned long long *buf = kq_xmalloc(CHUNK);
	struct stats_rng g;
	stats_rng_seed(&g, (unsigned long long)getpid());
	int rc = 0;
	for (long long m = 0; m < mib && !rc && !*stop; m++) {
		for (size_t i = 0; i < CHUNK / sizeof(*buf); i++)
			buf[i] = stats_rng_next(&g);
		for (size_t done = 0; done < CHUNK;) {
			ssize_t n = write(fd, (char *)buf + done, CHUNK - done);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				if (n == 0)
					errno = ENOSPC;
				rc = -1;
				break;
			}
			done += (size_t)n;
		}
	}
	if (!rc && *stop) {
		errno = EINTR;
		rc = -1;
	}
	if (!rc && fsync(fd))
		rc = -1;
	int e = errno;
	free(buf);
	close(fd);
	if (rc)
		unlink(path);
	errno = e;
	return rc;
}

char *setup_qemu_version(const char *binary)
{
	const char *argv[] = { binary, "--version", NULL };
	struct agent_result r;
	struct kq_err err;
	if (native_exec(argv, 10000, &r, &err))
		return NULL;
	char ver[64] = "";
	if (r.exit_code == 0)
		sscanf((char *)r.out, "QEMU emulator version %63s", ver);
	agent_result_free(&r);
	return ver[0] ? kq_xstrdup(ver) : NULL;
}

