/* The store functions the report adds (store/read_report.c, "for kvmqual
 * report"): the latest finished run, and a host's history as per-run
 * medians, on a real SQLite file. */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../store/read_report.h"
#include "test.h"

struct seen {
	int count;
	char line[16][96];
};

static int collect(const struct store_history_point *p, void *ctx)
{
	struct seen *s = ctx;
	if (s->count < 16)
		snprintf(s->line[s->count], sizeof(s->line[0]), "%lld %s %s %g n=%d", (long long)p->run, p->name,
			 p->accel, p->median, p->samples);
	s->count++;
	return 0;
}

static int stop_at_first(const struct store_history_point *p, void *ctx)
{
	(void)p;
	(*(int *)ctx)++;
	return 1;
}

static void add(struct store *s, int64_t run, const char *accel, const char *workload, double v, int it)
{
	struct kq_err err;
	struct store_sample sample = { .accel = accel, .workload = workload, .metric = "m", .unit = "u",
				       .value = v, .iteration = it, .higher_is_better = 1 };
	if (store_add_sample(s, run, &sample, &err))
		test_fail(__FILE__, __LINE__, "%s", err.msg);
}

TEST(report_store_history)
{
	char dir[] = "/tmp/kvmqual-report-store.XXXXXX";
	if (!mkdtemp(dir))
		abort();
	char *path = kq_xasprintf("%s/k.db", dir);
	struct kq_err err;
	struct store *s = store_open(path, NULL, &err);
	CHECK(s != NULL);
	if (!s)
		goto out;
	CHECK_INT(store_latest_run(s, &err), 0);
	struct store_host a = { .arch = "aarch64", .model = "board A", .kernel_release = "6.1" };
	struct store_host b = { .arch = "aarch64", .model = "board B", .kernel_release = "6.1" };
	int64_t r1 = store_begin_run(s, &a, NULL, &err);
	add(s, r1, "tcg", "w", 3, 1);
	add(s, r1, "tcg", "w", 1, 2);
	add(s, r1, "tcg", "w", 2, 3);
	add(s, r1, "native", "w", 10, 1);
	add(s, r1, "tcg", "other", 99, 1);
	struct store_boot_sample boot = { .accel = "kvm", .iteration = 1, .total_ms = 800,
					  .before_kernel_ms = NAN, .kernel_ms = NAN, .userspace_ms = NAN };
	CHECK_INT(store_add_boot_sample(s, r1, &boot, &err), 0);
	boot.total_ms = 900;
	CHECK_INT(store_add_boot_sample(s, r1, &boot, &err), 0);
	CHECK_INT(store_finish_run(s, r1, STORE_RUN_COMPLETE, NULL, &err), 0);
	int64_t rb = store_begin_run(s, &b, NULL, &err);
	add(s, rb, "tcg", "w", 50, 1);
	CHECK_INT(store_finish_run(s, rb, STORE_RUN_FAILED, "no QEMU", &err), 0);
	int64_t r2 = store_begin_run(s, &a, NULL, &err);
	add(s, r2, "tcg", "w", 4, 1);
	add(s, r2, "tcg", "w", 6, 2);
	CHECK_INT(store_finish_run(s, r2, STORE_RUN_INCOMPLETE, "kvm: no", &err), 0);
	int64_t r3 = store_begin_run(s, &a, NULL, &err); /* still running */
	add(s, r3, "tcg", "w", 100, 1);

	/* The latest finished run, whatever its status; not the running one. */
	CHECK_INT(store_latest_run(s, &err), r2);

	char key[17];
	store_host_key(&a, key);
	const char *names[] = { "w.m", "boot.total_ms", "it's.not-there" };
	struct seen seen = { 0 };
	CHECK_INT(store_history(s, key, names, 3, r2, collect, &seen, &err), 0);
	CHECK_INT(seen.count, 4);
	CHECK_STR(seen.line[0], "1 boot.total_ms kvm 850 n=2");
	CHECK_STR(seen.line[1], "1 w.m native 10 n=1");
	CHECK_STR(seen.line[2], "1 w.m tcg 2 n=3");
	CHECK_STR(seen.line[3], "3 w.m tcg 5 n=2");
	/* 0 = every run of the host, the running one too. */
	memset(&seen, 0, sizeof(seen));
	CHECK_INT(store_history(s, key, names, 1, 0, collect, &seen, &err), 0);
	CHECK_INT(seen.count, 4);
	CHECK_STR(seen.line[3], "4 w.m tcg 100 n=1");
	/* Another host, an unknown host, no names. */
	store_host_key(&b, key);
	memset(&seen, 0, sizeof(seen));
	CHECK_INT(store_history(s, key, names, 3, 0, collect, &seen, &err), 0);
	CHECK_INT(seen.count, 1);
	CHECK_STR(seen.line[0], "2 w.m tcg 50 n=1");
	memset(&seen, 0, sizeof(seen));
	CHECK_INT(store_history(s, "0000000000000000", names, 3, 0, collect, &seen, &err), 0);
	CHECK_INT(store_history(s, key, names, 0, 0, collect, &seen, &err), 0);
	CHECK_INT(seen.count, 0);
	/* The callback can stop it. */
	store_host_key(&a, key);
	int calls = 0;
	CHECK_INT(store_history(s, key, names, 3, 0, stop_at_first, &calls, &err), 0);
	CHECK_INT(calls, 1);
	store_close(s);
out:
	unlink(path);
	char *cmd = kq_xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	free(cmd);
	free(path);
}
