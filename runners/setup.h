/* What kvmqual run and kvmqual ab both need before a guest boots: the
 * suite's own files (in the build tree or installed), scratch files with
 * real data for fio, and QEMU's version. */
#ifndef KQ_RUNNERS_SETUP_H
#define KQ_RUNNERS_SETUP_H

#include <signal.h>
#include <stddef.h>

#define SUITE_VERSION "0.1.0"

/* kvmqual run's profiles (sampling.c), which kvmqual ab and tune take
 * their durations and sizes from. */
struct profile {
	const char *name;
	int boot_runs;          /* boot samples per accelerator */
	int iterations;         /* samples per workload */
	int duration_s;         /* sysbench, fio, iperf3 */
	long long fio_mib;      /* bytes fio touches on the scratch disk */
	long long stream_elements;
	int stream_passes;
	int guest_mem_mb;
	int hugepages;          /* STREAM and sysbench again on huge pages (--hugepages auto) */
	int balloon;            /* the virtio-balloon step (--balloon auto) */
	int extras;             /* the plan's extra steps (struct step's extra) */
};

extern const struct profile run_profiles[];
extern const size_t run_profile_count;

/* The directory of this binary (build/, or PREFIX/bin), malloc'd. */
char *setup_self_dir(void);

/* The suite's own files, in the build tree (build/kvmqual next to
 * build/stream and build/guest/ARCH, runners/targets.conf one level up) or
 * as `make install` lays them out (PREFIX/bin/kvmqual, PREFIX/lib/kvmqual/
 * for stream and guest/ARCH, PREFIX/share/kvmqual/targets.conf): the build
 * tree's path when it exists, else the installed one when that exists,
 * else the build tree's (so that errors name where make puts it). */
char *setup_suite_path(const char *dir, const char *in_build, const char *installed);

/* Whether the file system behind path takes O_DIRECT (QEMU's cache=none). */
int setup_supports_direct(const char *path);

/* A scratch file of mib MiB in dir, written through with data (see
 * setup.c for why), its name into path.  Stops early when *stop becomes
 * non-zero (errno EINTR).  0, or -1 with errno. */
int setup_scratch_file(char *path, size_t size, const char *dir, long long mib, volatile sig_atomic_t *stop);

/* "7.2.x" from `QEMU --version` (binary: a path or a name on PATH), or
 * NULL; malloc'd. */
char *setup_qemu_version(const char *binary);

#endif
