/* Unit tests for workloads/stream: kernels on tiny arrays, the checker (it
 * must catch one bad element), option errors, sizing from captured sysfs
 * and meminfo trees, thread slices and the JSON writer.
 * Build: gcc -O2 -std=gnu11 -Wall -Wextra -pthread -DSTREAM_NO_MAIN \
 *            -o test_stream test_stream.c stream.c
 * Prints "PASS stream/<name>" or "FAIL stream/<name>: why" per test and
 * exits 1 if any failed. An argument runs only tests whose name holds it. */
#define _GNU_SOURCE	/* nftw */
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stream.h"

static char failure[512];

static void record_failure(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void record_failure(int line, const char *fmt, ...)
{
	va_list ap;
	int used;

	if (failure[0])
		return;	/* the first failure is the one worth reading */
	used = snprintf(failure, sizeof(failure), "line %d: ", line);
	va_start(ap, fmt);
	vsnprintf(failure + used, sizeof(failure) - (size_t)used, fmt, ap);
	va_end(ap);
}

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			record_failure(__LINE__, "%s", #cond);                 \
	} while (0)
#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b); \
		if (a_ != b_)                                                  \
			record_failure(__LINE__, "%s is %llu, expected %llu", #a, a_, b_); \
	} while (0)
#define CHECK_CONTAINS(text, part)                                             \
	do {                                                                   \
		if (!strstr((text), (part)))                                   \
			record_failure(__LINE__, "\"%s\" lacks \"%s\"", (text), (part)); \
	} while (0)

/* ---- kernels and checker ---------------------------------------------- */

static void test_kernels(void)
{
	enum { N = 21 };	/* two blocks of 8 and a tail of 5 */
	double a[N], b[N], c[N];

	stream_init_arrays(a, b, c, N);
	for (int i = 0; i < N; i++)
		a[i] = i;
	stream_copy(c, a, N);
	for (int i = 0; i < N; i++)
		CHECK(c[i] == i);
	stream_scale(b, c, 3.0, N);
	for (int i = 0; i < N; i++)
		CHECK(b[i] == 3.0 * i);
	stream_add(c, a, b, N);
	for (int i = 0; i < N; i++)
		CHECK(c[i] == 4.0 * i);
	stream_triad(a, b, c, 3.0, N);
	for (int i = 0; i < N; i++)
		CHECK(a[i] == 15.0 * i);
	/* n = 0 touches nothing */
	a[0] = 42;
	stream_copy(a, c, 0);
	CHECK(a[0] == 42);
}

static void test_expected_values(void)
{
	double a, b, c;

	stream_expected(0, 3.0, &a, &b, &c);
	CHECK(a == 1.0 && b == 2.0 && c == 0.0);
	/* c=a=1, b=3c=3, c=a+b=4, a=b+3c=15 */
	stream_expected(1, 3.0, &a, &b, &c);
	CHECK(a == 15.0 && b == 3.0 && c == 4.0);
	stream_expected(2, 3.0, &a, &b, &c);
	CHECK(a == 225.0 && b == 45.0 && c == 60.0);
	/* The largest --passes must stay finite. */
	stream_expected(STREAM_MAX_PASSES, 3.0, &a, &b, &c);
	CHECK(a < 1e300 && a > 1e200);
}

/* Runs the real kernels on tiny arrays, then damages one element. */
static void run_tiny(unsigned threads, unsigned passes, size_t n, struct stream_arrays *arrays)
{
	double *times = calloc((size_t)passes * STREAM_KERNELS, sizeof(*times));
	char err[256] = "";

	CHECK(times != NULL);
	if (!times)
		return;
	CHECK(stream_alloc(arrays, n, err, sizeof(err)) == 0);
	CHECK(stream_run(arrays, n, threads, passes, times, err, sizeof(err)) == 0);
	if (err[0])
		record_failure(__LINE__, "%s", err);
	for (unsigned i = 0; i < passes * STREAM_KERNELS; i++)
		CHECK(times[i] >= 0);
	free(times);
}

static void test_run_validates(void)
{
	static const unsigned threads[] = { 1, 3, 8 };
	struct stream_arrays arrays;
	struct stream_check check;

	for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
		run_tiny(threads[t], 4, 1000, &arrays);
		if (!arrays.block)
			return;
		CHECK(stream_validate(arrays.a, arrays.b, arrays.c, 1000, 4, STREAM_SCALAR, STREAM_TOLERANCE,
				      &check) == 0);
		CHECK_EQ(check.bad, 0);
		/* The checker must replay exactly as many passes as ran. */
		CHECK(stream_validate(arrays.a, arrays.b, arrays.c, 1000, 3, STREAM_SCALAR, STREAM_TOLERANCE,
				      &check) < 0);
		stream_free(&arrays);
	}
}

static void test_validator_catches_corruption(void)
{
	struct stream_arrays arrays;
	struct stream_check check;
	double good;

	run_tiny(2, 3, 777, &arrays);
	if (!arrays.block)
		return;

	good = arrays.b[123];
	arrays.b[123] = good * (1 + 1e-12);	/* 10x the tolerance */
	CHECK(stream_validate(arrays.a, arrays.b, arrays.c, 777, 3, STREAM_SCALAR, STREAM_TOLERANCE, &check) < 0);
	CHECK_EQ(check.bad, 1);
	CHECK(check.first_array == 'b');
	CHECK_EQ(check.first_index, 123);
	CHECK(check.expected == good);

	arrays.b[123] = good * (1 + 1e-15);	/* rounding-sized: accepted */
	CHECK(stream_validate(arrays.a, arrays.b, arrays.c, 777, 3, STREAM_SCALAR, STREAM_TOLERANCE, &check) == 0);

	arrays.b[123] = good;
	arrays.c[776] = 0.0 / 0.0;	/* NaN compares false both ways */
	CHECK(stream_validate(arrays.a, arrays.b, arrays.c, 777, 3, STREAM_SCALAR, STREAM_TOLERANCE, &check) < 0);
	CHECK(check.first_array == 'c');
	CHECK_EQ(check.first_index, 776);

	arrays.c[776] = arrays.c[0];
	arrays.a[0] = -arrays.a[0];
	CHECK(stream_validate(arrays.a, arrays.b, arrays.c, 777, 3, STREAM_SCALAR, STREAM_TOLERANCE, &check) < 0);
	CHECK(check.first_array == 'a');
	CHECK_EQ(check.first_index, 0);
	stream_free(&arrays);
}

static void test_slices(void)
{
	static const size_t sizes[] = { 0, 1, 7, 8, 100, 1001, 10000003 };
	static const unsigned thread_counts[] = { 1, 2, 3, 7, 64 };

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (size_t t = 0; t < sizeof(thread_counts) / sizeof(thread_counts[0]); t++) {
			size_t next = 0, begin, end;

			for (unsigned id = 0; id < thread_counts[t]; id++) {
				stream_slice(sizes[s], thread_counts[t], id, &begin, &end);
				CHECK_EQ(begin, next);	/* no gap, no overlap */
				CHECK(end >= begin);
				CHECK(end == sizes[s] || end % 8 == 0);
				next = end;
			}
			CHECK_EQ(next, sizes[s]);
		}
	}
}

static void test_summarize(void)
{
	/* Pass 1 (index 0) is fastest but must not count. */
	double times[3 * STREAM_KERNELS] = {
		0.001, 0.001, 0.001, 0.001,
		0.004, 0.008, 0.006, 0.006,
		0.002, 0.008, 0.003, 0.012,
	};
	struct stream_stat stats[STREAM_KERNELS];

	stream_summarize(times, 3, 1000000, stats);
	CHECK(stats[STREAM_COPY].min_s == 0.002);
	CHECK(stats[STREAM_COPY].max_s == 0.004);
	CHECK(stats[STREAM_COPY].avg_s > 0.0029999 && stats[STREAM_COPY].avg_s < 0.0030001);
	/* 2 arrays x 8 bytes x 1e6 / 0.002 s = 8000 MB/s; Add: 3 arrays / 0.003 s */
	CHECK(stats[STREAM_COPY].best_mbps > 7999.99 && stats[STREAM_COPY].best_mbps < 8000.01);
	CHECK(stats[STREAM_SCALE].best_mbps > 1999.99 && stats[STREAM_SCALE].best_mbps < 2000.01);
	CHECK(stats[STREAM_ADD].best_mbps > 7999.99 && stats[STREAM_ADD].best_mbps < 8000.01);
	CHECK(stats[STREAM_TRIAD].best_mbps > 3999.99 && stats[STREAM_TRIAD].best_mbps < 4000.01);

	/* A timer that saw nothing: no division by zero, bandwidth 0 (JSON null). */
	memset(times, 0, sizeof(times));
	stream_summarize(times, 3, 1000, stats);
	CHECK(stats[STREAM_TRIAD].best_mbps == 0);
	CHECK(stream_kernel_bytes(STREAM_TRIAD, 10) == 240);
	CHECK(stream_kernel_bytes(STREAM_SCALE, 10) == 160);
}

/* ---- options ------------------------------------------------------------ */

struct parse_case {
	const char *args[6];
	int ok;
	const char *error_part;	/* for failures: the message must hold this */
	unsigned threads, passes;
	unsigned long long elements, array_mib;
};

static const struct parse_case parse_cases[] = {
	{ { NULL }, 1, NULL, 1, 10, 0, 0 },
	{ { "--threads", "4", "--passes", "5", NULL }, 1, NULL, 4, 5, 0, 0 },
	{ { "--threads=all", "--elements=1000", NULL }, 1, NULL, 0, 10, 1000, 0 },
	{ { "--array-mb", "64", "--json", NULL }, 1, NULL, 1, 10, 0, 64 },
	{ { "--passes", "2", NULL }, 1, NULL, 1, 2, 0, 0 },
	{ { "--passes", "0", NULL }, 0, "--passes 0: out of range, must be a number from 2 to 200", 0, 0, 0, 0 },
	{ { "--passes", "1", NULL }, 0, "--passes 1", 0, 0, 0, 0 },
	{ { "--passes", "201", NULL }, 0, "--passes 201: out of range", 0, 0, 0, 0 },
	{ { "--elements", "abc", NULL }, 0, "--elements 'abc': expected a whole number of at least 1", 0, 0, 0, 0 },
	{ { "--elements", "12x", NULL }, 0, "--elements '12x'", 0, 0, 0, 0 },
	{ { "--elements", "0", NULL }, 0, "--elements 0: out of range, must be a number of at least 1", 0, 0, 0, 0 },
	{ { "--elements", "99999999999999999999999", NULL }, 0, "too large for this machine", 0, 0, 0, 0 },
	{ { "--threads", "-1", NULL }, 0, "--threads '-1': expected a whole number from 1 to 4096, or 'all'", 0, 0, 0,
	  0 },
	{ { "--threads", "0", NULL }, 0, "--threads 0: out of range", 0, 0, 0, 0 },
	{ { "--threads", "+2", NULL }, 0, "--threads '+2'", 0, 0, 0, 0 },
	{ { "--threads", " 2", NULL }, 0, "--threads ' 2'", 0, 0, 0, 0 },
	{ { "--threads", NULL }, 0, "--threads: missing value", 0, 0, 0, 0 },
	{ { "--passes=", NULL }, 0, "--passes: missing value", 0, 0, 0, 0 },
	{ { "--elements", "10", "--array-mb", "1", NULL }, 0, "give one of them", 0, 0, 0, 0 },
	{ { "--bogus", NULL }, 0, "unknown option '--bogus'", 0, 0, 0, 0 },
	{ { "--passesx", "3", NULL }, 0, "unknown option '--passesx'", 0, 0, 0, 0 },
	{ { "extra", NULL }, 0, "unexpected argument 'extra'", 0, 0, 0, 0 },
};

static void test_parse_args(void)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *pc = &parse_cases[i];
		char *argv[8] = { "stream" };
		struct stream_options opts;
		char err[256] = "";
		int argc = 1, rc;

		for (; pc->args[argc - 1]; argc++)
			argv[argc] = (char *)pc->args[argc - 1];
		rc = stream_parse_args(argc, argv, &opts, err, sizeof(err));
		if (pc->ok) {
			if (rc != 0)
				record_failure(__LINE__, "case %zu: unexpected error \"%s\"", i, err);
			CHECK_EQ(opts.threads, pc->threads);
			CHECK_EQ(opts.passes, pc->passes);
			CHECK_EQ(opts.elements, pc->elements);
			CHECK_EQ(opts.array_mib, pc->array_mib);
		} else {
			if (rc == 0)
				record_failure(__LINE__, "case %zu (%s ...): accepted", i, pc->args[0]);
			else
				CHECK_CONTAINS(err, pc->error_part);
		}
	}
}

/* ---- sizing -------------------------------------------------------------- */

#define MiB (1024ULL * 1024)

static void test_plan_size(void)
{
	struct stream_options opts;
	struct stream_plan plan;
	char err[512];

	stream_default_options(&opts);
	/* This machine: one 32 MiB L3 -> 4 x 32 MiB / 8 bytes */
	CHECK(stream_plan_size(&opts, 32 * MiB, 24000 * MiB, &plan, err, sizeof(err)) == 0);
	CHECK_EQ(plan.elements, 16777216);
	CHECK(plan.source == STREAM_SIZE_LLC);
	CHECK(!plan.below_cache_rule);

	/* Pi 5: 2 MiB L3; or unknown caches: the floor */
	CHECK(stream_plan_size(&opts, 2 * MiB, 4000 * MiB, &plan, err, sizeof(err)) == 0);
	CHECK_EQ(plan.elements, STREAM_FLOOR_ELEMENTS);
	CHECK(plan.source == STREAM_SIZE_FLOOR);
	CHECK(stream_plan_size(&opts, 0, 0, &plan, err, sizeof(err)) == 0);
	CHECK_EQ(plan.elements, STREAM_FLOOR_ELEMENTS);

	/* A 256 MiB guest with ~200 MiB available: shrinks to fit 60% */
	CHECK(stream_plan_size(&opts, 2 * MiB, 200 * MiB, &plan, err, sizeof(err)) == 0);
	CHECK(plan.source == STREAM_SIZE_MEMORY);
	CHECK_EQ(plan.wanted_elements, STREAM_FLOOR_ELEMENTS);
	CHECK(stream_footprint_bytes(plan.elements) <= 200 * MiB * 60 / 100);
	CHECK(plan.elements > 5000000);
	CHECK(!plan.below_cache_rule);
	/* ... and a guest that sees the host's 32 MiB L3 is warned about. */
	CHECK(stream_plan_size(&opts, 32 * MiB, 200 * MiB, &plan, err, sizeof(err)) == 0);
	CHECK(plan.below_cache_rule);

	/* Too little memory for an automatic size: refused, with numbers */
	CHECK(stream_plan_size(&opts, 2 * MiB, 30 * MiB, &plan, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "only 30.0 MiB of memory is available");

	/* A size the user asked for is never shrunk: refused instead */
	opts.elements = 20000000;
	CHECK(stream_plan_size(&opts, 2 * MiB, 200 * MiB, &plan, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "--elements 20000000 needs 457.8 MiB for 3 arrays");
	CHECK_CONTAINS(err, "use --elements");
	CHECK(stream_plan_size(&opts, 2 * MiB, 0, &plan, err, sizeof(err)) == 0);	/* unknown memory */
	CHECK_EQ(plan.elements, 20000000);
	CHECK(plan.source == STREAM_SIZE_USER);

	opts.elements = 1000;
	CHECK(stream_plan_size(&opts, 2 * MiB, 200 * MiB, &plan, err, sizeof(err)) == 0);
	CHECK(plan.below_cache_rule);

	opts.elements = 0;
	opts.array_mib = 64;
	CHECK(stream_plan_size(&opts, 2 * MiB, 200 * MiB, &plan, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "--array-mb 64 needs");
	CHECK(stream_plan_size(&opts, 2 * MiB, 1000 * MiB, &plan, err, sizeof(err)) == 0);
	CHECK_EQ(plan.elements, 64 * MiB / 8);
}

/* A captured-looking /sys and /proc under a temporary directory. */
static char tree[256];

static void put_file(const char *rel, const char *text)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	for (char *p = path + strlen(tree) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	f = fopen(path, "w");
	if (!f) {
		record_failure(__LINE__, "cannot write %s", path);
		return;
	}
	fputs(text, f);
	fclose(f);
}

static void put_cache(unsigned cpu, unsigned index, const char *level, const char *type, const char *size,
		      const char *shared)
{
	static const char *const attrs[] = { "level", "type", "size", "shared_cpu_list" };
	const char *values[] = { level, type, size, shared };
	char rel[256];

	for (int i = 0; i < 4; i++) {
		if (!values[i])
			continue;
		snprintf(rel, sizeof(rel), "sys/devices/system/cpu/cpu%u/cache/index%u/%s", cpu, index, attrs[i]);
		put_file(rel, values[i]);
	}
}

static int make_tree(void)
{
	snprintf(tree, sizeof(tree), "/tmp/test_stream.XXXXXX");
	if (!mkdtemp(tree)) {
		record_failure(__LINE__, "mkdtemp failed");
		return -1;
	}
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_tree(void)
{
	if (nftw(tree, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "test_stream: could not remove %s\n", tree);
}

static void test_llc_from_sysfs(void)
{
	unsigned long long llc = 0;
	unsigned instances = 0;

	/* Like this machine: private L1/L2, one L3 shared by both CPUs. */
	if (make_tree() < 0)
		return;
	for (unsigned cpu = 0; cpu < 2; cpu++) {
		char self[8];

		snprintf(self, sizeof(self), "%u\n", cpu);
		put_cache(cpu, 0, "1\n", "Data\n", "48K\n", self);
		put_cache(cpu, 1, "1\n", "Instruction\n", "32K\n", self);
		put_cache(cpu, 2, "2\n", "Unified\n", "1024K\n", self);
		put_cache(cpu, 3, "3\n", "Unified\n", "32768K\n", "0-1\n");
	}
	put_file("sys/devices/system/cpu/cpufreq/policy0/x", "not a cpu\n");
	CHECK(stream_llc_bytes(tree, &llc, &instances) == 0);
	CHECK_EQ(llc, 32 * MiB);
	CHECK_EQ(instances, 1);
	remove_tree();

	/* Two clusters, each with a shared L2 and no L3 (a phone, a
	 * two-socket box): the instances add up. */
	if (make_tree() < 0)
		return;
	for (unsigned cpu = 0; cpu < 4; cpu++) {
		put_cache(cpu, 0, "1", "Data", "32K", NULL);
		put_cache(cpu, 1, "2", "Unified", cpu < 2 ? "512K" : "2048K", cpu < 2 ? "0-1" : "2-3");
	}
	CHECK(stream_llc_bytes(tree, &llc, &instances) == 0);
	CHECK_EQ(llc, 2560 * 1024ULL);
	CHECK_EQ(instances, 2);
	remove_tree();

	/* An ARM guest: levels but no sizes -> unknown */
	if (make_tree() < 0)
		return;
	put_cache(0, 0, "1", "Data", NULL, "0");
	put_cache(0, 1, "2", "Unified", NULL, "0");
	CHECK(stream_llc_bytes(tree, &llc, &instances) < 0);
	CHECK_EQ(llc, 0);
	remove_tree();

	/* No sysfs at all */
	CHECK(stream_llc_bytes("/nonexistent-root", &llc, &instances) < 0);
}

static void test_meminfo(void)
{
	unsigned long long bytes = 0;
	const char *field = NULL;

	if (make_tree() < 0)
		return;
	put_file("proc/meminfo", "MemTotal:         262144 kB\nMemFree:          150000 kB\n"
				 "MemAvailable:     204800 kB\nBuffers:            1000 kB\n");
	CHECK(stream_mem_available(tree, &bytes, &field) == 0);
	CHECK_EQ(bytes, 200 * MiB);
	CHECK(field && !strcmp(field, "MemAvailable"));
	/* Linux before 3.14 */
	put_file("proc/meminfo", "MemTotal:         262144 kB\nMemFree:          102400 kB\n");
	CHECK(stream_mem_available(tree, &bytes, &field) == 0);
	CHECK_EQ(bytes, 100 * MiB);
	CHECK(field && !strcmp(field, "MemFree"));
	put_file("proc/meminfo", "garbage\n");
	CHECK(stream_mem_available(tree, &bytes, &field) < 0);
	remove_tree();
}

/* ---- output -------------------------------------------------------------- */

static void test_json(void)
{
	static struct stream_report report;
	char text[4096] = "";
	size_t len;
	FILE *f = tmpfile();

	if (!f) {
		record_failure(__LINE__, "tmpfile failed");
		return;
	}
	report.threads = 2;
	report.passes = 10;
	report.elements = 1000;
	report.llc_bytes = 32 * MiB;
	report.stats[STREAM_COPY].best_mbps = 1234.5;
	stream_report_warn(&report, "a \"quoted\"\tword");
	snprintf(report.error, sizeof(report.error), "back\\slash");
	stream_print_json(f, &report);
	stream_print_json_error(f, "--elements 'x\x01': bad");
	rewind(f);
	len = fread(text, 1, sizeof(text) - 1, f);
	text[len] = '\0';
	fclose(f);
	CHECK_CONTAINS(text, "{\"schema\":\"kvmqual.stream\",\"schema_version\":1,\"threads\":2,\"elements\":1000,"
			     "\"array_bytes\":8000,\"passes\":10,\"llc_bytes\":33554432,\"results\":{\"copy\":"
			     "{\"best_mbps\":1234.500,");
	CHECK_CONTAINS(text, "\"scale\":{\"best_mbps\":null,");
	CHECK_CONTAINS(text, "\"validated\":false");
	CHECK_CONTAINS(text, "\"warnings\":[\"a \\\"quoted\\\"\\u0009word\"]");
	CHECK_CONTAINS(text, "\"error\":\"back\\\\slash\"}");
	CHECK_CONTAINS(text, "\"error\":\"--elements 'x\\u0001': bad\"}");
}

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	{ "kernels", test_kernels },
	{ "expected_values", test_expected_values },
	{ "run_validates", test_run_validates },
	{ "validator_catches_corruption", test_validator_catches_corruption },
	{ "slices", test_slices },
	{ "summarize", test_summarize },
	{ "parse_args", test_parse_args },
	{ "plan_size", test_plan_size },
	{ "llc_from_sysfs", test_llc_from_sysfs },
	{ "meminfo", test_meminfo },
	{ "json", test_json },
};

int main(int argc, char **argv)
{
	int failed = 0, passed = 0;

	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (argc > 1 && !strstr(tests[i].name, argv[1]))
			continue;
		failure[0] = '\0';
		tests[i].fn();
		if (failure[0]) {
			printf("FAIL stream/%s: %s\n", tests[i].name, failure);
			failed++;
		} else {
			printf("PASS stream/%s\n", tests[i].name);
			passed++;
		}
		fflush(stdout);
	}
	printf("stream: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
