/* kvmqual's STREAM memory bandwidth benchmark, written from STREAM's run
 * rules (https://www.cs.virginia.edu/stream/ref.html):
 *   - four kernels on double arrays: Copy c=a, Scale b=s*c, Add c=a+b,
 *     Triad a=b+s*c, run in that order NTIMES times;
 *   - every array at least 4x the sum of the last-level caches;
 *   - the best (minimum) time of passes 2..N is reported, the first pass
 *     being a warm-up; bytes counted as 2 arrays for Copy/Scale, 3 for
 *     Add/Triad, MB = 10^6 bytes;
 *   - each timed pass must be at least ~20 timer ticks long;
 *   - the results are checked by replaying the kernels on scalars.
 * Build: gcc -O2 -std=gnu11 -Wall -Wextra -pthread -static -o stream stream.c
 * Only libc and pthreads: it must run in a tiny guest and on a phone. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stream.h"

#define INIT_A 1.0
#define INIT_B 2.0
#define INIT_C 0.0
#define MIB (1024.0 * 1024.0)
#define ARRAY_ALIGN (2u << 20)	/* lets transparent huge pages back the arrays */
#define PAGE_BYTES 4096u
/* Beyond this the footprint arithmetic could overflow size_t. */
#define MAX_ELEMENTS ((unsigned long long)(SIZE_MAX / 32))

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static double abs_double(double x)
{
	return x < 0 ? -x : x;
}

/* ---- options ---------------------------------------------------------- */

void stream_default_options(struct stream_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->threads = 1;
	opts->passes = STREAM_DEFAULT_PASSES;
}

void stream_usage(FILE *out, const char *prog)
{
	fprintf(out,
		"usage: %s [--threads N|all] [--passes N] [--elements N | --array-mb N] [--json]\n"
		"\n"
		"Measures sustainable memory bandwidth with STREAM's four kernels on double\n"
		"arrays: Copy c=a, Scale b=s*c, Add c=a+b, Triad a=b+s*c. Each array is 4x the\n"
		"last-level caches (from sysfs) or %llu elements, whichever is larger, and\n"
		"3 arrays must fit in %d%% of MemAvailable (an automatic size shrinks to fit).\n"
		"\n"
		"  --threads N|all  worker threads (default 1; all = one per online CPU)\n"
		"  --passes N       passes of the 4 kernels, %d-%d (default %d); the first is a\n"
		"                   warm-up, the best of the others is reported\n"
		"  --elements N     doubles per array, instead of the automatic size\n"
		"  --array-mb N     MiB (1048576 bytes) per array, instead of --elements\n"
		"  --json           one JSON object on stdout (schema kvmqual.stream, version 1)\n"
		"  --help           this text\n"
		"\n"
		"Bandwidth is in MB/s (10^6 bytes). Exit status: 0 ok, 1 the results failed\n"
		"validation, 2 a usage or system error.\n",
		prog, STREAM_FLOOR_ELEMENTS, STREAM_MEM_PERCENT, 2, STREAM_MAX_PASSES, STREAM_DEFAULT_PASSES);
}

/* A decimal number in [min, max]; the message names the flag and the text. */
static int parse_number(const char *flag, const char *text, unsigned long long min, unsigned long long max,
			unsigned long long *out, char *err, size_t errlen)
{
	unsigned long long value;
	char range[64];
	char *end;

	/* Sizes have no useful upper bound to quote; the memory check follows. */
	if (max > 1000000)
		snprintf(range, sizeof(range), "of at least %llu", min);
	else
		snprintf(range, sizeof(range), "from %llu to %llu", min, max);
	/* strtoull would accept "-1" (as a huge number), " 5" and "+5". */
	if (!isdigit((unsigned char)text[0]))
		return fail(err, errlen, "%s '%s': expected a whole number %s", flag, text, range);
	errno = 0;
	value = strtoull(text, &end, 10);
	if (*end)
		return fail(err, errlen, "%s '%s': expected a whole number %s", flag, text, range);
	if ((errno == ERANGE || value > max) && max > 1000000)
		return fail(err, errlen, "%s %s: too large for this machine", flag, text);
	if (errno == ERANGE || value < min || value > max)
		return fail(err, errlen, "%s %s: out of range, must be a number %s", flag, text, range);
	*out = value;
	return 0;
}

static const char *const value_flags[] = { "--threads", "--passes", "--elements", "--array-mb" };

int stream_parse_args(int argc, char **argv, struct stream_options *opts, char *err, size_t errlen)
{
	unsigned long long number;

	stream_default_options(opts);
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *flag = NULL, *value = NULL;

		if (!strcmp(arg, "--json")) {
			opts->json = 1;
			continue;
		}
		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			opts->help = 1;
			continue;
		}
		for (size_t f = 0; f < sizeof(value_flags) / sizeof(value_flags[0]); f++) {
			size_t len = strlen(value_flags[f]);

			if (strncmp(arg, value_flags[f], len) || (arg[len] && arg[len] != '='))
				continue;
			flag = value_flags[f];
			if (arg[len] == '=')
				value = arg + len + 1;
			else if (i + 1 < argc)
				value = argv[++i];
			break;
		}
		if (!flag) {
			if (arg[0] == '-')
				return fail(err, errlen, "unknown option '%s'", arg);
			return fail(err, errlen, "unexpected argument '%s'", arg);
		}
		if (!value || !value[0])
			return fail(err, errlen, "%s: missing value", flag);

		if (!strcmp(flag, "--threads")) {
			if (!strcmp(value, "all")) {
				opts->threads = 0;
				continue;
			}
			if (parse_number(flag, value, 1, STREAM_MAX_THREADS, &number, err, errlen) < 0) {
				size_t used = strlen(err);

				snprintf(err + used, errlen - used, ", or 'all'");
				return -1;
			}
			opts->threads = (unsigned)number;
		} else if (!strcmp(flag, "--passes")) {
			if (parse_number(flag, value, 2, STREAM_MAX_PASSES, &number, err, errlen) < 0)
				return -1;
			opts->passes = (unsigned)number;
		} else if (!strcmp(flag, "--elements")) {
			if (parse_number(flag, value, 1, MAX_ELEMENTS, &number, err, errlen) < 0)
				return -1;
			opts->elements = number;
		} else {
			if (parse_number(flag, value, 1, MAX_ELEMENTS * sizeof(double) / (1u << 20), &number, err,
					 errlen) < 0)
				return -1;
			opts->array_mib = number;
		}
	}
	if (opts->elements && opts->array_mib)
		return fail(err, errlen, "--elements and --array-mb both set the array size: give one of them");
	return 0;
}

/* ---- kernels ----------------------------------------------------------- */

/* Each kernel walks blocks of 8 with a fixed inner count: gcc's -O2 cost
 * model vectorizes only loops whose trip count is a known multiple of the
 * vector length, and the kernels should run as the hardware allows.
 * noinline keeps them real functions: the timing brackets a call the
 * compiler cannot merge with its neighbours or drop (the arrays escape to
 * other threads and are validated afterwards). */
#define BLOCK 8

__attribute__((noinline)) void stream_copy(double *restrict c, const double *restrict a, size_t n)
{
	size_t i = 0;

	for (; i + BLOCK <= n; i += BLOCK)
		for (size_t k = 0; k < BLOCK; k++)
			c[i + k] = a[i + k];
	for (; i < n; i++)
		c[i] = a[i];
}

__attribute__((noinline)) void stream_scale(double *restrict b, const double *restrict c, double scalar, size_t n)
{
	size_t i = 0;

	for (; i + BLOCK <= n; i += BLOCK)
		for (size_t k = 0; k < BLOCK; k++)
			b[i + k] = scalar * c[i + k];
	for (; i < n; i++)
		b[i] = scalar * c[i];
}

__attribute__((noinline)) void stream_add(double *restrict c, const double *restrict a, const double *restrict b,
					  size_t n)
{
	size_t i = 0;

	for (; i + BLOCK <= n; i += BLOCK)
		for (size_t k = 0; k < BLOCK; k++)
			c[i + k] = a[i + k] + b[i + k];
	for (; i < n; i++)
		c[i] = a[i] + b[i];
}

__attribute__((noinline)) void stream_triad(double *restrict a, const double *restrict b, const double *restrict c,
					    double scalar, size_t n)
{
	size_t i = 0;

	for (; i + BLOCK <= n; i += BLOCK)
		for (size_t k = 0; k < BLOCK; k++)
			a[i + k] = b[i + k] + scalar * c[i + k];
	for (; i < n; i++)
		a[i] = b[i] + scalar * c[i];
}

void stream_init_arrays(double *a, double *b, double *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		a[i] = INIT_A;
		b[i] = INIT_B;
		c[i] = INIT_C;
	}
}

static const char *const kernel_names[STREAM_KERNELS] = { "copy", "scale", "add", "triad" };

const char *stream_kernel_name(enum stream_kernel kernel)
{
	return (unsigned)kernel < STREAM_KERNELS ? kernel_names[kernel] : "?";
}

double stream_kernel_bytes(enum stream_kernel kernel, size_t n)
{
	unsigned arrays = kernel == STREAM_COPY || kernel == STREAM_SCALE ? 2 : 3;

	return (double)arrays * sizeof(double) * (double)n;
}

/* ---- checker ----------------------------------------------------------- */

void stream_expected(unsigned passes, double scalar, double *a, double *b, double *c)
{
	double va = INIT_A, vb = INIT_B, vc = INIT_C;

	for (unsigned pass = 0; pass < passes; pass++) {
		vc = va;
		vb = scalar * vc;
		vc = va + vb;
		va = vb + scalar * vc;
	}
	*a = va;
	*b = vb;
	*c = vc;
}

static void check_array(const double *x, size_t n, double expected, double tolerance, char name,
			struct stream_check *check)
{
	/* Relative error; c is 0 only with no passes, where absolute is fine. */
	double inv_scale = expected != 0 ? 1.0 / abs_double(expected) : 1.0;

	for (size_t i = 0; i < n; i++) {
		double rel = abs_double(x[i] - expected) * inv_scale;

		/* Written so that NaN counts as bad. */
		if (rel <= tolerance) {
			if (rel > check->max_rel_error)
				check->max_rel_error = rel;
			continue;
		}
		if (!check->bad) {
			check->first_array = name;
			check->first_index = i;
			check->expected = expected;
			check->got = x[i];
		}
		check->bad++;
		if (!(rel <= check->max_rel_error))
			check->max_rel_error = rel;
	}
}

int stream_validate(const double *a, const double *b, const double *c, size_t n, unsigned passes, double scalar,
		    double tolerance, struct stream_check *check)
{
	double ea, eb, ec;

	memset(check, 0, sizeof(*check));
	stream_expected(passes, scalar, &ea, &eb, &ec);
	check_array(a, n, ea, tolerance, 'a', check);
	check_array(b, n, eb, tolerance, 'b', check);
	check_array(c, n, ec, tolerance, 'c', check);
	return check->bad ? -1 : 0;
}

/* ---- sizing ------------------------------------------------------------ */

/* snprintf for paths: -1 instead of a silently truncated name. */
static int path_printf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int path_printf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* sysfs writes "32768K"; accept K/M/G or plain bytes in case. */
static int parse_cache_size(const char *text, unsigned long long *bytes)
{
	unsigned long long value;
	char *end;

	if (!isdigit((unsigned char)text[0]))
		return -1;
	value = strtoull(text, &end, 10);
	switch (*end) {
	case 'K': value <<= 10; end++; break;
	case 'M': value <<= 20; end++; break;
	case 'G': value <<= 30; end++; break;
	default: break;
	}
	if (*end)
		return -1;
	*bytes = value;
	return 0;
}

/* One attribute of /sys/devices/system/cpu/cpuN/cache/indexM. */
static int read_cache_attr(const char *cpu_dir, const char *index, const char *attr, char *buf, size_t len)
{
	char path[PATH_MAX];

	if (path_printf(path, sizeof(path), "%s/cache/%s/%s", cpu_dir, index, attr) < 0)
		return -1;
	return read_line(path, buf, len);
}

struct cache_instance {
	unsigned level;
	unsigned long long bytes;
	char *shared_cpus;
};

/* The highest-level data or unified cache of one CPU. Its size is 0 when
 * sysfs does not say (ARM guests without ACPI PPTT or DT cache nodes). */
static int cpu_last_level_cache(const char *cpu_dir, struct cache_instance *out)
{
	char path[PATH_MAX], text[4096];
	int found = 0;
	struct dirent *ent;
	DIR *dir;

	if (path_printf(path, sizeof(path), "%s/cache", cpu_dir) < 0)
		return -1;
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((ent = readdir(dir))) {
		unsigned long long bytes = 0;
		unsigned long level;
		char *end;

		if (strncmp(ent->d_name, "index", 5))
			continue;
		if (read_cache_attr(cpu_dir, ent->d_name, "type", text, sizeof(text)) == 0 &&
		    !strcmp(text, "Instruction"))
			continue;
		if (read_cache_attr(cpu_dir, ent->d_name, "level", text, sizeof(text)) < 0)
			continue;
		level = strtoul(text, &end, 10);
		if (!isdigit((unsigned char)text[0]) || *end)
			continue;
		if (read_cache_attr(cpu_dir, ent->d_name, "size", text, sizeof(text)) < 0 ||
		    parse_cache_size(text, &bytes) < 0)
			bytes = 0;
		if (found && (level < out->level || (level == out->level && bytes <= out->bytes)))
			continue;
		/* Without a list the cache is taken as private to this CPU. */
		if (read_cache_attr(cpu_dir, ent->d_name, "shared_cpu_list", text, sizeof(text)) < 0 || !text[0])
			snprintf(text, sizeof(text), "%s", strrchr(cpu_dir, '/') + 1);
		free(found ? out->shared_cpus : NULL);
		out->level = (unsigned)level;
		out->bytes = bytes;
		out->shared_cpus = strdup(text);
		if (!out->shared_cpus) {
			closedir(dir);
			return -1;
		}
		found = 1;
	}
	closedir(dir);
	return found ? 0 : -1;
}

static int is_cpu_dir_name(const char *name)
{
	if (strncmp(name, "cpu", 3) || !name[3])
		return 0;
	for (name += 3; *name; name++)
		if (!isdigit((unsigned char)*name))
			return 0;
	return 1;
}

int stream_llc_bytes(const char *root, unsigned long long *llc_bytes, unsigned *instances)
{
	struct cache_instance *seen = NULL;
	size_t seen_count = 0, seen_cap = 0;
	unsigned long long total = 0;
	char path[PATH_MAX];
	struct dirent *ent;
	DIR *cpus;

	if (path_printf(path, sizeof(path), "%s/sys/devices/system/cpu", root) < 0)
		return -1;
	cpus = opendir(path);
	if (!cpus)
		return -1;
	while ((ent = readdir(cpus))) {
		char cpu_dir[PATH_MAX];
		struct cache_instance llc;
		size_t i;

		if (!is_cpu_dir_name(ent->d_name))
			continue;
		if (path_printf(cpu_dir, sizeof(cpu_dir), "%s/%s", path, ent->d_name) < 0 ||
		    cpu_last_level_cache(cpu_dir, &llc) < 0)
			continue;
		for (i = 0; i < seen_count; i++)
			if (seen[i].level == llc.level && !strcmp(seen[i].shared_cpus, llc.shared_cpus))
				break;
		if (i < seen_count || !llc.bytes) {
			free(llc.shared_cpus);
			continue;
		}
		if (seen_count == seen_cap) {
			size_t cap = seen_cap ? seen_cap * 2 : 16;
			struct cache_instance *grown = realloc(seen, cap * sizeof(*seen));

			if (!grown) {
				free(llc.shared_cpus);
				break;
			}
			seen = grown;
			seen_cap = cap;
		}
		seen[seen_count++] = llc;
	}
	closedir(cpus);
	for (size_t i = 0; i < seen_count; i++) {
		total += seen[i].bytes;
		free(seen[i].shared_cpus);
	}
	free(seen);
	*llc_bytes = total;
	*instances = (unsigned)seen_count;
	return total ? 0 : -1;
}

int stream_mem_available(const char *root, unsigned long long *bytes, const char **field)
{
	unsigned long long available = 0, free_kib = 0, kib;
	int have_available = 0, have_free = 0;
	char path[PATH_MAX], line[256], name[64];
	FILE *f;

	if (path_printf(path, sizeof(path), "%s/proc/meminfo", root) < 0)
		return -1;
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63[^:]: %llu", name, &kib) != 2)
			continue;
		if (!strcmp(name, "MemAvailable")) {
			available = kib;
			have_available = 1;
		} else if (!strcmp(name, "MemFree")) {
			free_kib = kib;
			have_free = 1;
		}
	}
	fclose(f);
	/* MemAvailable appeared in Linux 3.14; older phone kernels have only MemFree. */
	if (have_available) {
		*bytes = available * 1024;
		*field = "MemAvailable";
	} else if (have_free) {
		*bytes = free_kib * 1024;
		*field = "MemFree";
	} else {
		return -1;
	}
	return 0;
}

static size_t round_up(size_t value, size_t multiple)
{
	return (value + multiple - 1) / multiple * multiple;
}

static size_t array_stride(size_t elements)
{
	return round_up(elements * sizeof(double), PAGE_BYTES) + STREAM_STAGGER_BYTES;
}

unsigned long long stream_footprint_bytes(size_t elements)
{
	return 3ULL * array_stride(elements);
}

const char *stream_size_source_name(enum stream_size_source source)
{
	switch (source) {
	case STREAM_SIZE_LLC: return "llc";
	case STREAM_SIZE_FLOOR: return "floor";
	case STREAM_SIZE_USER: return "user";
	case STREAM_SIZE_MEMORY: return "memory";
	}
	return "?";
}

int stream_plan_size(const struct stream_options *opts, unsigned long long llc_bytes,
		     unsigned long long mem_available, struct stream_plan *plan, char *err, size_t errlen)
{
	unsigned long long wanted;
	char flag[64] = "";

	memset(plan, 0, sizeof(*plan));
	if (opts->elements) {
		wanted = opts->elements;
		plan->source = STREAM_SIZE_USER;
		snprintf(flag, sizeof(flag), "--elements %llu", opts->elements);
	} else if (opts->array_mib) {
		wanted = opts->array_mib * (1u << 20) / sizeof(double);
		plan->source = STREAM_SIZE_USER;
		snprintf(flag, sizeof(flag), "--array-mb %llu", opts->array_mib);
	} else {
		unsigned long long by_cache = (4 * llc_bytes + sizeof(double) - 1) / sizeof(double);

		wanted = by_cache > STREAM_FLOOR_ELEMENTS ? by_cache : STREAM_FLOOR_ELEMENTS;
		plan->source = by_cache > STREAM_FLOOR_ELEMENTS ? STREAM_SIZE_LLC : STREAM_SIZE_FLOOR;
	}
	if (wanted > MAX_ELEMENTS)
		return fail(err, errlen, "%llu elements per array is more than this machine can address", wanted);
	plan->wanted_elements = (size_t)wanted;

	if (mem_available) {
		unsigned long long budget = mem_available / 100 * STREAM_MEM_PERCENT;
		unsigned long long fit = budget > 3 * (PAGE_BYTES + STREAM_STAGGER_BYTES) ?
			(budget - 3 * (PAGE_BYTES + STREAM_STAGGER_BYTES)) / (3 * sizeof(double)) : 0;

		fit = fit / 1024 * 1024;
		if (stream_footprint_bytes((size_t)wanted) > budget) {
			if (plan->source == STREAM_SIZE_USER)
				return fail(err, errlen,
					    "%s needs %.1f MiB for 3 arrays, more than %d%% of available memory "
					    "(%.1f of %.1f MiB); use --elements %llu or less",
					    flag, (double)stream_footprint_bytes((size_t)wanted) / MIB, STREAM_MEM_PERCENT,
					    (double)budget / MIB, (double)mem_available / MIB, fit);
			if (fit < STREAM_MIN_AUTO_ELEMENTS)
				return fail(err, errlen,
					    "only %.1f MiB of memory is available: 3 arrays of at least %llu elements "
					    "(%.1f MiB) must fit in %d%% of it to measure memory rather than caches",
					    (double)mem_available / MIB, STREAM_MIN_AUTO_ELEMENTS,
					    (double)stream_footprint_bytes(STREAM_MIN_AUTO_ELEMENTS) / MIB,
					    STREAM_MEM_PERCENT);
			wanted = fit;
			plan->source = STREAM_SIZE_MEMORY;
		}
	}
	plan->elements = (size_t)wanted;
	plan->below_cache_rule = llc_bytes && wanted * sizeof(double) < 4 * llc_bytes;
	return 0;
}

/* ---- running ----------------------------------------------------------- */

int stream_alloc(struct stream_arrays *arrays, size_t elements, char *err, size_t errlen)
{
	size_t stride = array_stride(elements);
	void *block;
	int rc;

	memset(arrays, 0, sizeof(*arrays));
	rc = posix_memalign(&block, ARRAY_ALIGN, 3 * stride);
	if (rc)
		return fail(err, errlen, "cannot allocate %.1f MiB for 3 arrays of %zu elements: %s; try a smaller --elements",
			    (double)(3 * stride) / MIB, elements, strerror(rc));
	arrays->block = block;
	arrays->a = block;
	arrays->b = (double *)((char *)block + stride);
	arrays->c = (double *)((char *)block + 2 * stride);
	return 0;
}

void stream_free(struct stream_arrays *arrays)
{
	free(arrays->block);
	memset(arrays, 0, sizeof(*arrays));
}

static size_t slice_bound(size_t n, unsigned threads, unsigned id)
{
	size_t chunk = n / threads, extra = n % threads;

	if (id >= threads)
		return n;
	/* On 8-element (64-byte) lines: no cache line is written by two threads. */
	return (id * chunk + (id < extra ? id : extra)) & ~(size_t)7;
}

void stream_slice(size_t n, unsigned threads, unsigned id, size_t *begin, size_t *end)
{
	*begin = slice_bound(n, threads, id);
	*end = slice_bound(n, threads, id + 1);
}

double stream_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

double stream_timer_resolution(void)
{
	struct timespec ts;

	if (clock_getres(CLOCK_MONOTONIC, &ts) < 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The smallest step between two readings that differ: on most systems the
 * cost of a reading, on some boards the period of a slow counter. */
double stream_timer_granularity(void)
{
	long long best = 0;

	for (int sample = 0; sample < 20; sample++) {
		long long t0 = now_ns(), t1 = t0;

		for (long spin = 0; spin < 100000000L && t1 == t0; spin++)
			t1 = now_ns();
		if (t1 > t0 && (!best || t1 - t0 < best))
			best = t1 - t0;
	}
	return (double)best * 1e-9;
}

struct run_shared {
	struct stream_arrays *arrays;
	size_t elements;
	unsigned threads, passes;
	double *times;
	pthread_barrier_t barrier;
	pthread_mutex_t gate_lock;
	pthread_cond_t gate_cond;
	int gate;		/* 0: wait, 1: go, -1: give up (a thread failed to start) */
};

struct run_thread {
	struct run_shared *shared;
	unsigned id;
	pthread_t handle;
};

static void run_slice(struct run_shared *shared, unsigned id)
{
	size_t begin, end, n;
	double *a, *b, *c;

	stream_slice(shared->elements, shared->threads, id, &begin, &end);
	a = shared->arrays->a + begin;
	b = shared->arrays->b + begin;
	c = shared->arrays->c + begin;
	n = end - begin;
	/* First touch: each thread's pages land on its own NUMA node. */
	stream_init_arrays(a, b, c, n);

	for (unsigned pass = 0; pass < shared->passes; pass++) {
		for (int kernel = 0; kernel < STREAM_KERNELS; kernel++) {
			double start = 0;

			pthread_barrier_wait(&shared->barrier);
			if (id == 0)
				start = stream_now();
			switch (kernel) {
			case STREAM_COPY: stream_copy(c, a, n); break;
			case STREAM_SCALE: stream_scale(b, c, STREAM_SCALAR, n); break;
			case STREAM_ADD: stream_add(c, a, b, n); break;
			case STREAM_TRIAD: stream_triad(a, b, c, STREAM_SCALAR, n); break;
			}
			pthread_barrier_wait(&shared->barrier);
			if (id == 0)
				shared->times[pass * STREAM_KERNELS + kernel] = stream_now() - start;
		}
	}
}

static void *run_worker(void *arg)
{
	struct run_thread *self = arg;
	struct run_shared *shared = self->shared;
	int gate;

	pthread_mutex_lock(&shared->gate_lock);
	while (!shared->gate)
		pthread_cond_wait(&shared->gate_cond, &shared->gate_lock);
	gate = shared->gate;
	pthread_mutex_unlock(&shared->gate_lock);
	if (gate > 0)
		run_slice(shared, self->id);
	return NULL;
}

static void open_gate(struct run_shared *shared, int gate)
{
	pthread_mutex_lock(&shared->gate_lock);
	shared->gate = gate;
	pthread_cond_broadcast(&shared->gate_cond);
	pthread_mutex_unlock(&shared->gate_lock);
}

int stream_run(struct stream_arrays *arrays, size_t elements, unsigned threads, unsigned passes, double *times,
	       char *err, size_t errlen)
{
	struct run_shared shared = {
		.arrays = arrays, .elements = elements, .threads = threads, .passes = passes, .times = times,
	};
	struct run_thread *workers;
	pthread_attr_t attr;
	unsigned started = 1;
	int rc = 0;

	if (!threads || !passes)
		return fail(err, errlen, "nothing to run: %u threads, %u passes", threads, passes);
	workers = calloc(threads, sizeof(*workers));
	if (!workers)
		return fail(err, errlen, "out of memory for %u threads", threads);
	rc = pthread_barrier_init(&shared.barrier, NULL, threads);
	if (rc) {
		free(workers);
		return fail(err, errlen, "pthread_barrier_init for %u threads: %s", threads, strerror(rc));
	}
	pthread_mutex_init(&shared.gate_lock, NULL);
	pthread_cond_init(&shared.gate_cond, NULL);
	pthread_attr_init(&attr);
	/* The workers need little stack; 8 MiB each adds up in a small guest. */
	pthread_attr_setstacksize(&attr, 256 * 1024);

	/* Workers wait at a gate until all exist: a barrier sized for `threads`
	 * would hang if one of them could not be created. */
	for (; started < threads; started++) {
		workers[started].shared = &shared;
		workers[started].id = started;
		rc = pthread_create(&workers[started].handle, &attr, run_worker, &workers[started]);
		if (rc)
			break;
	}
	if (rc) {
		fail(err, errlen, "cannot start thread %u of %u: %s; try fewer --threads", started + 1, threads,
		     strerror(rc));
		open_gate(&shared, -1);
	} else {
		open_gate(&shared, 1);
		run_slice(&shared, 0);
	}
	for (unsigned i = 1; i < started; i++)
		pthread_join(workers[i].handle, NULL);

	pthread_attr_destroy(&attr);
	pthread_cond_destroy(&shared.gate_cond);
	pthread_mutex_destroy(&shared.gate_lock);
	pthread_barrier_destroy(&shared.barrier);
	free(workers);
	return rc ? -1 : 0;
}

void stream_summarize(const double *times, unsigned passes, size_t elements, struct stream_stat stats[STREAM_KERNELS])
{
	unsigned first = passes > 1 ? 1 : 0;

	for (int kernel = 0; kernel < STREAM_KERNELS; kernel++) {
		double min = DBL_MAX, max = 0, sum = 0;

		for (unsigned pass = first; pass < passes; pass++) {
			double t = times[pass * STREAM_KERNELS + kernel];

			sum += t;
			if (t < min)
				min = t;
			if (t > max)
				max = t;
		}
		if (passes <= first)
			min = 0;
		stats[kernel].min_s = min;
		stats[kernel].max_s = max;
		stats[kernel].avg_s = passes > first ? sum / (passes - first) : 0;
		stats[kernel].best_mbps = min > 0 ? stream_kernel_bytes(kernel, elements) / min / 1e6 : 0;
	}
}

/* ---- output ------------------------------------------------------------ */

void stream_report_warn(struct stream_report *report, const char *fmt, ...)
{
	va_list ap;

	if (report->warning_count >= STREAM_MAX_WARNINGS)
		return;
	va_start(ap, fmt);
	vsnprintf(report->warnings[report->warning_count++], sizeof(report->warnings[0]), fmt, ap);
	va_end(ap);
}

static const char *const kernel_titles[STREAM_KERNELS] = { "Copy", "Scale", "Add", "Triad" };

static const char *format_bytes(double bytes, char *buf, size_t len)
{
	if (bytes < MIB)
		snprintf(buf, len, "%.1f KiB", bytes / 1024);
	else
		snprintf(buf, len, "%.1f MiB", bytes / MIB);
	return buf;
}

static const char *format_seconds(double seconds, char *buf, size_t len)
{
	if (seconds < 1e-6)
		snprintf(buf, len, "%.0f ns", seconds * 1e9);
	else if (seconds < 1e-3)
		snprintf(buf, len, "%.1f us", seconds * 1e6);
	else
		snprintf(buf, len, "%.2f ms", seconds * 1e3);
	return buf;
}

void stream_print_text(FILE *out, const struct stream_report *report)
{
	double shortest = DBL_MAX;
	char size[32], llc[32], took[32];

	fprintf(out, "STREAM memory bandwidth (kvmqual), %u thread%s\n", report->threads,
		report->threads == 1 ? "" : "s");
	fprintf(out, "Arrays:  3 x %zu doubles = 3 x %s (size: %s)\n", report->elements,
		format_bytes((double)report->elements * sizeof(double), size, sizeof(size)),
		stream_size_source_name(report->size_source));
	if (report->llc_bytes)
		fprintf(out, "LLC:     %s in %u instance%s (sysfs)\n",
			format_bytes((double)report->llc_bytes, llc, sizeof(llc)), report->llc_instances,
			report->llc_instances == 1 ? "" : "s");
	else
		fprintf(out, "LLC:     unknown (sysfs gives no cache sizes)\n");
	fprintf(out, "Passes:  %u; best, average and worst of passes 2-%u below\n", report->passes, report->passes);
	for (int k = 0; k < STREAM_KERNELS; k++)
		if (report->stats[k].min_s < shortest)
			shortest = report->stats[k].min_s;
	if (report->timer_granularity_s > 0)
		fprintf(out, "Timer:   %.0f ns granularity; the shortest pass took %s = %.0f ticks\n",
			report->timer_granularity_s * 1e9, format_seconds(shortest, took, sizeof(took)),
			shortest / report->timer_granularity_s);
	fprintf(out, "\n%-8s %12s %12s %12s %12s\n", "Kernel", "Best MB/s", "Avg us", "Min us", "Max us");
	for (int k = 0; k < STREAM_KERNELS; k++) {
		const struct stream_stat *s = &report->stats[k];

		fprintf(out, "%-8s %12.1f %12.3f %12.3f %12.3f\n", kernel_titles[k], s->best_mbps, s->avg_s * 1e6,
			s->min_s * 1e6, s->max_s * 1e6);
	}
	fprintf(out, "\n%s\n",
		report->validated ? "Validation: passed (every element within 1e-13 of its expected value)" :
		report->error);
}

static void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(out, "\\u%04x", ch);
		else if (ch >= 0x80)
			fputc('?', out);	/* command-line bytes need not be UTF-8 */
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

void stream_print_json(FILE *out, const struct stream_report *report)
{
	fprintf(out, "{\"schema\":\"kvmqual.stream\",\"schema_version\":1,\"threads\":%u,\"elements\":%zu,"
		"\"array_bytes\":%llu,\"passes\":%u,\"llc_bytes\":%llu,\"results\":{",
		report->threads, report->elements, (unsigned long long)report->elements * sizeof(double),
		report->passes, report->llc_bytes);
	for (int k = 0; k < STREAM_KERNELS; k++) {
		const struct stream_stat *s = &report->stats[k];

		fprintf(out, "%s\"%s\":{\"best_mbps\":", k ? "," : "", kernel_names[k]);
		if (s->best_mbps > 0)
			fprintf(out, "%.3f", s->best_mbps);
		else
			fprintf(out, "null");	/* the timer saw no time pass */
		fprintf(out, ",\"avg_s\":%.9f,\"min_s\":%.9f,\"max_s\":%.9f}", s->avg_s, s->min_s, s->max_s);
	}
	fprintf(out, "},\"validated\":%s,\"size_source\":\"%s\",\"llc_instances\":%u,\"timer_ns\":%.0f,\"warnings\":[",
		report->validated ? "true" : "false", stream_size_source_name(report->size_source),
		report->llc_instances, report->timer_granularity_s * 1e9);
	for (unsigned i = 0; i < report->warning_count; i++) {
		if (i)
			fputc(',', out);
		json_string(out, report->warnings[i]);
	}
	fputc(']', out);
	if (report->error[0]) {
		fprintf(out, ",\"error\":");
		json_string(out, report->error);
	}
	fprintf(out, "}\n");
}

void stream_print_json_error(FILE *out, const char *message)
{
	fprintf(out, "{\"schema\":\"kvmqual.stream\",\"schema_version\":1,\"error\":");
	json_string(out, message);
	fprintf(out, "}\n");
}

/* ---- main -------------------------------------------------------------- */

#ifndef STREAM_NO_MAIN

enum { EXIT_OK = 0, EXIT_INVALID = 1, EXIT_USAGE = 2 };

/* Decided before parsing so that even a bad flag gets a JSON answer. */
static int wants_json(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--json"))
			return 1;
	return 0;
}

static int die(int json, int code, const char *message, int usage_hint)
{
	fprintf(stderr, "stream: %s%s\n", message, usage_hint ? " (see --help)" : "");
	if (json)
		stream_print_json_error(stdout, message);
	return code;
}

static void warn(struct stream_report *report, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(struct stream_report *report, const char *fmt, ...)
{
	char text[sizeof(report->warnings[0])];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	fprintf(stderr, "stream: warning: %s\n", text);
	stream_report_warn(report, "%s", text);
}

int main(int argc, char **argv)
{
	static struct stream_report report;
	struct stream_options opts;
	struct stream_plan plan;
	struct stream_arrays arrays;
	struct stream_check check;
	unsigned long long llc = 0, mem = 0;
	const char *mem_field = "MemAvailable";
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	int json = wants_json(argc, argv);
	double *times, shortest = DBL_MAX;
	char err[512], size[32], llc_text[32];

	if (stream_parse_args(argc, argv, &opts, err, sizeof(err)) < 0)
		return die(json, EXIT_USAGE, err, 1);
	if (opts.help) {
		stream_usage(stdout, argv[0]);
		return EXIT_OK;
	}
	if (online < 1)
		online = 1;
	report.threads = opts.threads ? opts.threads : (unsigned)(online < STREAM_MAX_THREADS ? online : STREAM_MAX_THREADS);
	report.passes = opts.passes;
	if (report.threads > online)
		warn(&report, "%u threads on %ld online CPUs: threads share CPUs, which lowers and blurs the results",
		     report.threads, online);

	if (stream_llc_bytes("", &llc, &report.llc_instances) < 0) {
		llc = 0;
		if (!opts.elements && !opts.array_mib)
			warn(&report, "no cache sizes under /sys/devices/system/cpu/cpu*/cache: using the floor of %llu "
			     "elements, 4x a 20 MB cache; give --elements if the caches are larger",
			     STREAM_FLOOR_ELEMENTS);
	}
	report.llc_bytes = llc;
	if (stream_mem_available("", &mem, &mem_field) < 0) {
		mem = 0;
		warn(&report, "cannot read MemAvailable from /proc/meminfo: array sizes are not checked against memory");
	}
	if (stream_plan_size(&opts, llc, mem, &plan, err, sizeof(err)) < 0)
		return die(json, EXIT_USAGE, err, 0);
	report.elements = plan.elements;
	report.size_source = plan.source;
	if (plan.source == STREAM_SIZE_MEMORY)
		warn(&report, "%s is %.1f MiB: arrays shrunk from %zu to %zu elements (%.1f MiB each) so that 3 fit "
		     "in %d%% of it", mem_field, (double)mem / MIB, plan.wanted_elements, plan.elements,
		     (double)plan.elements * sizeof(double) / MIB, STREAM_MEM_PERCENT);
	if (plan.below_cache_rule)
		warn(&report, "arrays of %s are smaller than 4x the last-level cache (4 x %s): the results may show "
		     "cache rather than memory bandwidth",
		     format_bytes((double)plan.elements * sizeof(double), size, sizeof(size)),
		     format_bytes((double)llc, llc_text, sizeof(llc_text)));

	if (stream_alloc(&arrays, plan.elements, err, sizeof(err)) < 0)
		return die(json, EXIT_USAGE, err, 0);
	times = calloc((size_t)report.passes * STREAM_KERNELS, sizeof(*times));
	if (!times) {
		stream_free(&arrays);
		return die(json, EXIT_USAGE, "out of memory for the timing table", 0);
	}
	report.timer_granularity_s = stream_timer_granularity();
	if (report.timer_granularity_s <= 0 || report.timer_granularity_s > 1e-3)
		warn(&report, "CLOCK_MONOTONIC advances in steps of %.0f ns (clock_getres says %.0f ns): timings are coarse",
		     report.timer_granularity_s * 1e9, stream_timer_resolution() * 1e9);

	if (stream_run(&arrays, plan.elements, report.threads, report.passes, times, err, sizeof(err)) < 0) {
		free(times);
		stream_free(&arrays);
		return die(json, EXIT_USAGE, err, 0);
	}
	stream_summarize(times, report.passes, plan.elements, report.stats);

	for (int k = 0; k < STREAM_KERNELS; k++)
		if (report.stats[k].min_s < shortest)
			shortest = report.stats[k].min_s;
	if (report.timer_granularity_s > 0 && shortest < STREAM_MIN_TICKS * report.timer_granularity_s) {
		/* Time grows with size; aim for 10x the minimum to be clear of it,
		 * and never below the size the cache rule asks for. */
		double grow = shortest > 0 ? 10 * STREAM_MIN_TICKS * report.timer_granularity_s / shortest : 1000;
		double suggest = (double)plan.elements * grow;
		double by_cache = llc ? 4.0 * (double)llc / sizeof(double) : (double)STREAM_FLOOR_ELEMENTS;

		warn(&report, "the shortest timed pass took %.0f ns, %.1f ticks of the %.0f ns timer (fewer than %d): "
		     "the results are mostly timer and barrier noise; use bigger arrays, e.g. --elements %.0f",
		     shortest * 1e9, shortest / report.timer_granularity_s, report.timer_granularity_s * 1e9,
		     STREAM_MIN_TICKS, suggest > by_cache ? suggest : by_cache);
	}

	report.validated = stream_validate(arrays.a, arrays.b, arrays.c, plan.elements, report.passes, STREAM_SCALAR,
					   STREAM_TOLERANCE, &check) == 0;
	if (!report.validated)
		snprintf(report.error, sizeof(report.error),
			 "validation failed: %c[%zu] = %.17g, expected %.17g; %zu of %zu elements off by more than %g "
			 "(relative)", check.first_array, check.first_index, check.got, check.expected, check.bad,
			 3 * plan.elements, STREAM_TOLERANCE);

	if (opts.json)
		stream_print_json(stdout, &report);
	else
		stream_print_text(stdout, &report);
	free(times);
	stream_free(&arrays);
	if (!report.validated) {
		fprintf(stderr, "stream: %s\n", report.error);
		return EXIT_INVALID;
	}
	return EXIT_OK;
}

#endif /* STREAM_NO_MAIN */
