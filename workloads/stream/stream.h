/* kvmqual's STREAM: sustainable memory bandwidth of four simple vector
 * kernels (Copy, Scale, Add, Triad), after John McCalpin's STREAM run rules.
 * Written for kvmqual from the published rules; no STREAM code is used.
 *
 * stream.c holds everything, main() included; compile it with
 * -DSTREAM_NO_MAIN to link the functions below into a test. Nothing here
 * calls exit() or prints errors: functions return -1 and fill `err`, and
 * main() decides the exit code. */
#ifndef KVMQUAL_STREAM_H
#define KVMQUAL_STREAM_H

#include <stddef.h>
#include <stdio.h>

enum stream_kernel { STREAM_COPY, STREAM_SCALE, STREAM_ADD, STREAM_TRIAD, STREAM_KERNELS };

#define STREAM_SCALAR 3.0
#define STREAM_TOLERANCE 1e-13	/* relative, for double */
#define STREAM_DEFAULT_PASSES 10
/* Every pass multiplies the values by 15; past ~260 passes they overflow. */
#define STREAM_MAX_PASSES 200
#define STREAM_MAX_THREADS 4096
/* STREAM's own default size: 80 MB per array, 4x a 20 MB cache. Used when
 * sysfs reports less (or nothing, as ARM guests and phones often do, whose
 * system-level caches of 8-16 MB are invisible to sysfs). */
#define STREAM_FLOOR_ELEMENTS 10000000ULL
/* Below this an automatically shrunk run is refused: it would measure
 * caches, not memory. */
#define STREAM_MIN_AUTO_ELEMENTS (1ULL << 20)
#define STREAM_MEM_PERCENT 60	/* of MemAvailable for the 3 arrays */
#define STREAM_MIN_TICKS 20	/* a timed pass shorter than this is noise */
/* Arrays start 1 KiB apart modulo 4 KiB so that the streams do not alias in
 * L1 sets or in the CPU's 4K store-to-load address check. */
#define STREAM_STAGGER_BYTES 1024

struct stream_options {
	unsigned threads;	/* 0: one per online CPU (--threads all) */
	unsigned passes;
	unsigned long long elements;	/* 0: sized from the caches */
	unsigned long long array_mib;	/* 0: not given */
	int json;
	int help;
};

/* Options */
void stream_default_options(struct stream_options *opts);
int stream_parse_args(int argc, char **argv, struct stream_options *opts, char *err, size_t errlen);
void stream_usage(FILE *out, const char *prog);

/* Kernels: plain loops over n elements; callers pass slices. */
void stream_copy(double *restrict c, const double *restrict a, size_t n);
void stream_scale(double *restrict b, const double *restrict c, double scalar, size_t n);
void stream_add(double *restrict c, const double *restrict a, const double *restrict b, size_t n);
void stream_triad(double *restrict a, const double *restrict b, const double *restrict c, double scalar,
		  size_t n);
void stream_init_arrays(double *a, double *b, double *c, size_t n);
const char *stream_kernel_name(enum stream_kernel kernel);
/* Bytes a kernel moves over n elements, counted as STREAM counts them. */
double stream_kernel_bytes(enum stream_kernel kernel, size_t n);

/* Checker: replays the kernels on scalars, then compares every element. */
void stream_expected(unsigned passes, double scalar, double *a, double *b, double *c);
struct stream_check {
	size_t bad;		/* elements outside the tolerance, all arrays */
	char first_array;	/* 'a', 'b' or 'c' of the first bad element */
	size_t first_index;
	double expected, got;
	double max_rel_error;
};
int stream_validate(const double *a, const double *b, const double *c, size_t n, unsigned passes, double scalar,
		    double tolerance, struct stream_check *check);

/* Sizing. `root` prefixes /sys and /proc ("" for the live system) so tests
 * can use a captured tree. */
int stream_llc_bytes(const char *root, unsigned long long *llc_bytes, unsigned *instances);
int stream_mem_available(const char *root, unsigned long long *bytes, const char **field);

enum stream_size_source {
	STREAM_SIZE_LLC,	/* 4x the last-level caches */
	STREAM_SIZE_FLOOR,	/* the floor was larger */
	STREAM_SIZE_USER,	/* --elements or --array-mb */
	STREAM_SIZE_MEMORY,	/* shrunk to fit in memory */
};
struct stream_plan {
	size_t elements;
	enum stream_size_source source;
	size_t wanted_elements;	/* before shrinking */
	int below_cache_rule;	/* an array is smaller than 4x the LLC */
};
/* mem_available 0 means unknown: no memory check. */
int stream_plan_size(const struct stream_options *opts, unsigned long long llc_bytes,
		     unsigned long long mem_available, struct stream_plan *plan, char *err, size_t errlen);
unsigned long long stream_footprint_bytes(size_t elements);
const char *stream_size_source_name(enum stream_size_source source);

/* Running */
struct stream_arrays {
	double *a, *b, *c;
	void *block;
};
int stream_alloc(struct stream_arrays *arrays, size_t elements, char *err, size_t errlen);
void stream_free(struct stream_arrays *arrays);
/* Runs `passes` passes of the four kernels on `threads` threads (each first
 * touches its own slice). times[pass * STREAM_KERNELS + kernel] gets seconds. */
int stream_run(struct stream_arrays *arrays, size_t elements, unsigned threads, unsigned passes, double *times,
	       char *err, size_t errlen);
/* Start and end of thread `id`'s slice of n elements. */
void stream_slice(size_t n, unsigned threads, unsigned id, size_t *begin, size_t *end);

struct stream_stat {
	double best_mbps;	/* 0 when the timer saw no time pass */
	double avg_s, min_s, max_s;
};
/* Statistics over passes 2..N (the first pass warms up). */
void stream_summarize(const double *times, unsigned passes, size_t elements, struct stream_stat stats[STREAM_KERNELS]);

/* Timer */
double stream_timer_granularity(void);	/* smallest step seen, seconds */
double stream_timer_resolution(void);	/* clock_getres, seconds */
double stream_now(void);

/* Output */
#define STREAM_MAX_WARNINGS 8
struct stream_report {
	unsigned threads, passes;
	size_t elements;
	unsigned long long llc_bytes;	/* 0: unknown */
	unsigned llc_instances;
	enum stream_size_source size_source;
	double timer_granularity_s;
	struct stream_stat stats[STREAM_KERNELS];
	int validated;
	char error[512];	/* "" when none */
	unsigned warning_count;
	char warnings[STREAM_MAX_WARNINGS][320];
};
void stream_report_warn(struct stream_report *report, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void stream_print_text(FILE *out, const struct stream_report *report);
void stream_print_json(FILE *out, const struct stream_report *report);
/* {"schema":..,"schema_version":1,"error":".."} for failures before a run. */
void stream_print_json_error(FILE *out, const char *message);

#endif
