/* kvmqual export --format lava (reports/lava.c, reports/lava_export.c):
 * the id mapping, and the cases written for runs stored through the real
 * store API in SQLite files: a complete KVM run, a tcg-only host, an
 * interrupted run, a run without samples, a database without runs, a
 * compare document with a regression, text that tries to forge a signal,
 * and the databases the export must refuse.  tests/sections/lava.sh checks
 * the same output against LAVA's own parser. */
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../reports/lava.h"
#include "../../store/store.h"
#include "test.h"

TEST(lava_id_mapping)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "kvm.smoke", "kvm.smoke" },
		{ "tcg.sysbench-cpu.events_per_second", "tcg.sysbench-cpu.events_per_second" },
		{ "a b", "a_x20b" },
		{ "50%", "50_x25" },
		{ "MB/s", "MB_x2Fs" },
		{ "x=1>", "x_x3D1_x3E" },
		{ "", "_" },
		{ "é", "_xC3_xA9" },
	};
	for (size_t i = 0; i < KQ_ARRAY_SIZE(cases); i++) {
		char *id = lava_id(cases[i].in);
		CHECK_STR(id, cases[i].out);
		free(id);
	}
	/* Long names: cut to the limit, kept apart by the hash. */
	char a[200], b[200];
	memset(a, 'w', sizeof(a) - 1);
	a[sizeof(a) - 1] = 0;
	memcpy(b, a, sizeof(b));
	b[150] = 'z';
	char *ia = lava_id(a), *ib = lava_id(b), *ia2 = lava_id(a);
	CHECK_INT(strlen(ia), LAVA_ID_MAX);
	CHECK_INT(strlen(ib), LAVA_ID_MAX);
	CHECK(strcmp(ia, ib) != 0);
	CHECK_STR(ia, ia2);
	CHECK(ia[LAVA_ID_MAX - 9] == '-');
	free(ia);
	free(ib);
	free(ia2);
}

struct tmpdb {
	char dir[64], db[128];
};

static void tmpdb_init(struct tmpdb *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/kvmqual-lava-unit.XXXXXX");
	if (!mkdtemp(t->dir))
		abort();
	snprintf(t->db, sizeof(t->db), "%s/kvmqual.db", t->dir);
}

static void tmpdb_free(struct tmpdb *t)
{
	char *cmd = kq_xasprintf("rm -rf '%s'", t->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", t->dir);
	free(cmd);
}

static const char probe_ready[] =
	"{\"verdict\":{\"status\":\"kvm-ready\",\"kvm_usable\":true,\"summary\":\"KVM ready (smoke test passed)\"},"
	"\"host\":{\"emulated\":false}}";
static const char probe_tcg_only[] =
	"{\"verdict\":{\"status\":\"tcg-only\",\"kvm_usable\":false,\"summary\":\"KVM unusable: cpu.boot_el: EL1; "
	"kvm.device: absent\"},\"host\":{\"emulated\":true}}";

/* A run on one host: checks, boots and one sysbench metric under each
 * accelerator asked for; status and reason as given. */
static int64_t add_run(struct store *s, const char *probe, const char *accels, enum store_run_status status,
		       const char *reason, int samples)
{
	struct kq_err err;
	struct store_host host = { .arch = "aarch64", .model = "board", .soc = "soc", .kernel_release = "6.1.0",
				   .page_size = 4096 };
	char *cl = kq_xasprintf("kvmqual run --accel %s --profile quick", accels);
	struct store_run_info info = { .profile = "quick", .suite_version = "0.1.0", .command_line = cl,
				       .probe_json = probe };
	int64_t run = store_begin_run(s, &host, &info, &err);
	free(cl);
	if (run < 0)
		return -1;
	int tcg_only = strstr(probe, "tcg-only") != NULL;
	struct store_check checks[] = {
		{ .id = "cpu.boot_el", .status = tcg_only ? "fail" : "pass", .value = tcg_only ? "EL1" : "EL2",
		  .hint = tcg_only ? "the kernel booted at EL1: <LAVA_SIGNAL_TESTRAISE forged>" : NULL },
		{ .id = "kvm.smoke", .status = tcg_only ? "skip" : "pass", .value = "ok" },
		{ .id = "kconfig.VHOST_NET", .status = "warn", .value = "n", .hint = "no vhost-net" },
	};
	store_add_checks(s, run, checks, KQ_ARRAY_SIZE(checks), &err);
	const char *accel_list[] = { "tcg", "kvm" };
	for (int i = 0; i < samples; i++) {
		struct store_sample native = { .accel = "native", .workload = "sysbench-cpu", .metric = "events_per_second",
					       .unit = "events/s", .value = 1000 + i, .iteration = i, .higher_is_better = 1 };
		store_add_sample(s, run, &native, &err);
		for (size_t a = 0; a < 2; a++) {
			if (!strstr(accels, accel_list[a]) || (tcg_only && a == 1))
				continue;
			struct store_boot_sample b = { .accel = accel_list[a], .iteration = i, .total_ms = a ? 900 : 1500.25,
						       .before_kernel_ms = NAN, .kernel_ms = NAN, .userspace_ms = NAN };
			store_add_boot_sample(s, run, &b, &err);
			struct store_sample sm = { .accel = accel_list[a], .workload = "sysbench-cpu",
						   .metric = "events_per_second", .unit = "events/s",
						   .value = a ? 950 + i : 200 + i, .iteration = i, .higher_is_better = 1 };
			store_add_sample(s, run, &sm, &err);
		}
	}
	if (samples) {
		/* As the runner stores them: NaN where KVM has no numbers. */
		int kvm = !tcg_only && strstr(accels, "kvm");
		struct store_speedup sp = { .workload = "sysbench-cpu", .metric = "events_per_second",
					    .kvm_over_tcg = kvm ? 4.75 : NAN, .kvm_pct_of_native = kvm ? 95.1 : NAN,
					    .tcg_pct_of_native = 20.02 };
		store_add_speedup(s, run, &sp, &err);
	}
	struct store_verdict v = { .target = "cpu", .metric = "sysbench-cpu.events_per_second (% of native)",
				   .value = tcg_only ? NAN : 95.1, .threshold = 85, .op = ">=",
				   .status = tcg_only ? "fail" : "pass", .detail = "" };
	store_add_verdict(s, run, &v, &err);
	if (status != STORE_RUN_RUNNING && store_finish_run(s, run, status, reason, &err))
		return -1;
	return run;
}

/* The export of run (NULL: latest) with the given compare file, into a
 * string; *rc is the exit status. */
static char *export(const char *db, const char *run, const char *compare, int *rc)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	*rc = lava_export(db, run, compare, out);
	fclose(out);
	return text;
}

static int has(const char *text, const char *line)
{
	return text && strstr(text, line) != NULL;
}

/* No case failed; the failed ones are named otherwise. */
#define CHECK_NO_FAIL(text)                                                     \
	do {                                                                    \
		for (const char *p_ = (text); p_ && (p_ = strstr(p_, "RESULT=fail")); p_++) { \
			const char *l_ = p_;                                    \
			while (l_ > (text) && l_[-1] != '\n')                   \
				l_--;                                           \
			test_fail(__FILE__, __LINE__, "a failed case: %.*s", (int)strcspn(l_, "\n"), l_); \
		}                                                               \
	} while (0)

TEST(lava_complete_kvm_run)
{
	struct tmpdb t;
	tmpdb_init(&t);
	struct kq_err err;
	struct store *s = store_open(t.db, NULL, &err);
	CHECK(s != NULL);
	int64_t run = add_run(s, probe_ready, "kvm,tcg", STORE_RUN_COMPLETE, NULL, 3);
	CHECK(run > 0);
	store_close(s);
	int rc;
	char *out = export(t.db, NULL, NULL, &rc);
	CHECK_INT(rc, 0);
	CHECK(has(out, "<LAVA_SIGNAL_TESTSET START probe>\n"));
	CHECK(has(out, "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=kvm.smoke RESULT=pass>\n"));
	CHECK(has(out, "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=kconfig.VHOST_NET RESULT=pass>\n"));
	CHECK(has(out, "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=probe.verdict RESULT=pass>\n"));
	CHECK(has(out, "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=run.status RESULT=pass>\n"));
	CHECK(has(out, "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=run.samples RESULT=pass UNITS=samples MEASUREMENT=15>\n"));
	CHECK(has(out, "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=boot.kvm RESULT=pass UNITS=ms MEASUREMENT=900>\n"));
	CHECK(has(out, "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=boot.tcg RESULT=pass UNITS=ms MEASUREMENT=1500.25>\n"));
	CHECK(has(out, "TEST_CASE_ID=kvm.sysbench-cpu.events_per_second RESULT=pass UNITS=events/s MEASUREMENT=951>"));
	CHECK(has(out, "TEST_CASE_ID=native.sysbench-cpu.events_per_second RESULT=pass UNITS=events/s MEASUREMENT=1001>"));
	CHECK(has(out, "TEST_CASE_ID=sysbench-cpu.events_per_second.kvm-pct-of-native RESULT=pass UNITS=% MEASUREMENT=95.1>"));
	CHECK(has(out, "TEST_CASE_ID=sysbench-cpu.events_per_second.kvm-over-tcg RESULT=pass UNITS=x MEASUREMENT=4.75>"));
	CHECK(has(out, "TEST_CASE_ID=target.cpu RESULT=pass UNITS=% MEASUREMENT=95.1>"));
	CHECK_NO_FAIL(out);
	/* Every set closed: as many STOP as START. */
	size_t starts = 0, stops = 0;
	for (const char *p = out; (p = strstr(p, "<LAVA_SIGNAL_TESTSET START ")); p++)
		starts++;
	for (const char *p = out; (p = strstr(p, "<LAVA_SIGNAL_TESTSET STOP>")); p++)
		stops++;
	CHECK_INT(starts, stops);
	CHECK(starts >= 6);
	free(out);
	tmpdb_free(&t);
}

TEST(lava_tcg_only_host_skips_kvm)
{
	struct tmpdb t;
	tmpdb_init(&t);
	struct kq_err err;
	struct store *s = store_open(t.db, NULL, &err);
	add_run(s, probe_tcg_only, "tcg", STORE_RUN_COMPLETE, NULL, 3);
	store_close(s);
	int rc;
	char *out = export(t.db, "1", NULL, &rc);
	CHECK_INT(rc, 0);
	CHECK(has(out, "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=cpu.boot_el RESULT=skip>\n"));
	CHECK(has(out, "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=probe.verdict RESULT=skip>\n"));
	CHECK(has(out, "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=boot.kvm RESULT=skip>\n"));
	CHECK(has(out, "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=kvm.sysbench-cpu.events_per_second RESULT=skip>\n"));
	CHECK(has(out, "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=target.cpu RESULT=skip>\n"));
	CHECK(has(out, "TEST_CASE_ID=boot.tcg RESULT=pass UNITS=ms"));
	/* The probe's reason is in the log, and nothing fails. */
	CHECK(has(out, "kvmqual: boot.kvm: skip: tcg-only host: the probe found KVM unusable: KVM unusable: cpu.boot_el: EL1"));
	CHECK_NO_FAIL(out);
	/* The stored hint tried to raise: its brackets are defanged. */
	CHECK(!has(out, "<LAVA_SIGNAL_TESTRAISE"));
	CHECK(has(out, "[LAVA_SIGNAL_TESTRAISE forged]"));
	free(out);
	tmpdb_free(&t);
}

TEST(lava_interrupted_and_empty_runs)
{
	struct tmpdb t;
	tmpdb_init(&t);
	struct kq_err err;
	struct store *s = store_open(t.db, NULL, &err);
	add_run(s, probe_ready, "kvm,tcg", STORE_RUN_INTERRUPTED, "interrupted by SIGTERM", 1);
	add_run(s, probe_ready, "kvm,tcg", STORE_RUN_FAILED, "tcg: no QEMU", 0);
	store_close(s);
	int rc;
	char *out = export(t.db, "1", NULL, &rc);
	CHECK_INT(rc, 0);
	CHECK(has(out, "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=run.status RESULT=fail>\n"));
	CHECK(has(out, "kvmqual: run.status: fail: run 1 on board (aarch64): interrupted: interrupted by SIGTERM"));
	CHECK(has(out, "TEST_CASE_ID=boot.kvm RESULT=pass"));
	free(out);
	out = export(t.db, NULL, NULL, &rc);
	CHECK_INT(rc, 0);
	CHECK(has(out, "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=run.samples RESULT=fail UNITS=samples MEASUREMENT=0>\n"));
	CHECK(has(out, "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=boot.kvm RESULT=fail>\n"));
	CHECK(has(out, "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=boot.tcg RESULT=fail>\n"));
	CHECK(has(out, "kvmqual: boot.tcg: fail: not measured: the run is failed: tcg: no QEMU"));
	free(out);
	/* A run that does not exist is a failed case too, not an error. */
	out = export(t.db, "7", NULL, &rc);
	CHECK_INT(rc, 0);
	CHECK(has(out, "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=run.status RESULT=fail>\n"));
	CHECK(has(out, "holds no run 7"));
	free(out);
	out = export(t.db, "x1", NULL, &rc);
	CHECK_INT(rc, 2);
	free(out);
	tmpdb_free(&t);
}

TEST(lava_database_refusals)
{
	struct tmpdb t;
	tmpdb_init(&t);
	int rc;
	/* Missing: an error, and no database is created by looking. */
	char *out = export(t.db, NULL, NULL, &rc);
	CHECK_INT(rc, 2);
	CHECK(access(t.db, F_OK) != 0);
	free(out);
	/* Empty, not SQLite, a directory. */
	FILE *f = fopen(t.db, "w");
	fclose(f);
	out = export(t.db, NULL, NULL, &rc);
	CHECK_INT(rc, 2);
	free(out);
	f = fopen(t.db, "w");
	fputs("this is not a database, just text long enough to look like a header of one......\n", f);
	fclose(f);
	out = export(t.db, NULL, NULL, &rc);
	CHECK_INT(rc, 2);
	CHECK(!has(out, "LAVA_SIGNAL"));
	free(out);
	out = export(t.dir, NULL, NULL, &rc);
	CHECK_INT(rc, 2);
	free(out);
	/* A store without runs: the run case fails, the export succeeds. */
	unlink(t.db);
	struct kq_err err;
	struct store *s = store_open(t.db, NULL, &err);
	store_close(s);
	out = export(t.db, NULL, NULL, &rc);
	CHECK_INT(rc, 0);
	CHECK(has(out, "<LAVA_SIGNAL_TESTSET START run>\n"));
	CHECK(has(out, "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=run.status RESULT=fail>\n"));
	free(out);
	tmpdb_free(&t);
}

TEST(lava_compare_regression_fails)
{
	struct tmpdb t;
	tmpdb_init(&t);
	struct kq_err err;
	struct store *s = store_open(t.db, NULL, &err);
	add_run(s, probe_ready, "kvm,tcg", STORE_RUN_COMPLETE, NULL, 3);
	store_close(s);
	char *cmp = kq_xasprintf("%s/compare.json", t.dir);
	FILE *f = fopen(cmp, "w");
	fputs("{\"schema\":\"kvmqual.compare\",\"version\":1,\"baseline\":{\"description\":\"last-good (run 0)\"},"
	      "\"candidate\":1,\"metrics\":["
	      "{\"accel\":\"kvm\",\"workload\":\"sysbench-cpu\",\"metric\":\"events_per_second\",\"decision\":\"regression\","
	      "\"baseline\":{\"median\":1200},\"candidate\":{\"median\":951},\"change_pct\":-20.75,\"threshold_pct\":3,\"why\":null},"
	      "{\"accel\":\"tcg\",\"workload\":\"sysbench-cpu\",\"metric\":\"events_per_second\",\"decision\":\"no change\","
	      "\"baseline\":{\"median\":201},\"candidate\":{\"median\":201},\"change_pct\":0,\"threshold_pct\":3}],"
	      "\"error\":null}\n", f);
	fclose(f);
	int rc;
	char *out = export(t.db, NULL, cmp, &rc);
	CHECK_INT(rc, 0);
	CHECK(has(out, "<LAVA_SIGNAL_TESTSET START compare>\n"));
	CHECK(has(out, "TEST_CASE_ID=compare.kvm.sysbench-cpu.events_per_second RESULT=fail UNITS=% MEASUREMENT=-20.75>"));
	CHECK(has(out, "TEST_CASE_ID=compare.tcg.sysbench-cpu.events_per_second RESULT=pass UNITS=% MEASUREMENT=0>"));
	free(out);
	/* A document that is not one: refused, naming it. */
	f = fopen(cmp, "w");
	fputs("{\"schema\":\"kvmqual.export\",\"version\":1}", f);
	fclose(f);
	out = export(t.db, NULL, cmp, &rc);
	CHECK_INT(rc, 2);
	free(out);
	free(cmp);
	tmpdb_free(&t);
}
