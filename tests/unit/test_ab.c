/* kvmqual ab's parts that need no guest: SPECs, the plan, the rule on
 * samples with known shifts, vCPU pinning lists and /proc's affinity line,
 * and the store's A/B tables (a version-1 store of this host migrated,
 * a session written, a dead session recovered). */
#define _GNU_SOURCE
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../ab/ab.h"
#include "../../lib/hostfs.h"
#include "../../lib/stats.h"
#include "../../store/ab.h"
#include "../../store/read_report.h"
#include "sql.h"
#include "test.h"

TEST(ab_spec_items)
{
	struct ab_arm a;
	memset(&a, 0, sizeof(a));
	struct kq_err err;
	CHECK_INT(ab_arm_parse(&a, "qemu=/opt/q/bin/qemu-system-aarch64; append=mitigations=off ;cpus=2", &err), 0);
	CHECK_STR(a.qemu, "/opt/q/bin/qemu-system-aarch64");
	CHECK_STR(a.append, "mitigations=off");
	CHECK_INT(a.cpus, 2);
	/* Items of a second --a add to the first; opts are split into words,
	 * quotes keeping spaces, and accumulate. */
	CHECK_INT(ab_arm_parse(&a, "opts=-overcommit mem-lock=off -name 'a b'; opts=-smp 1; pin=each:1,0; net=tap", &err), 0);
	CHECK(a.opts != NULL);
	CHECK_STR(a.opts[0], "-overcommit");
	CHECK_STR(a.opts[1], "mem-lock=off");
	CHECK_STR(a.opts[2], "-name");
	CHECK_STR(a.opts[3], "a b");
	CHECK_STR(a.opts[4], "-smp");
	CHECK_STR(a.opts[5], "1");
	CHECK(a.opts[6] == NULL);
	CHECK_INT(a.pin.mode, VCPU_PIN_EACH);
	CHECK_STR(a.pin.cpus, "1,0");
	CHECK_INT(a.net, AB_NET_TAP);
	CHECK_STR(a.spec, "qemu=/opt/q/bin/qemu-system-aarch64; append=mitigations=off ;cpus=2; "
			  "opts=-overcommit mem-lock=off -name 'a b'; opts=-smp 1; pin=each:1,0; net=tap");
	char what[600];
	ab_arm_describe(&a, what, sizeof(what));
	CHECK_STR(what, "qemu=/opt/q/bin/qemu-system-aarch64; append=mitigations=off; opts=-overcommit mem-lock=off "
			"-name a b -smp 1; cpus=2; pin=each:1,0; net=tap");
	ab_arm_free(&a);
	/* Huge pages: a page size, described back; off undoes it. */
	CHECK_INT(ab_arm_parse(&a, "hugepages=2M; mem=1024", &err), 0);
	CHECK_INT(a.hugepage_kb, 2048);
	ab_arm_describe(&a, what, sizeof(what));
	CHECK_STR(what, "mem=1024; hugepages=2M");
	CHECK_INT(ab_arm_parse(&a, "hugepages=64k", &err), 0);
	CHECK_INT(a.hugepage_kb, 64);
	CHECK_INT(ab_arm_parse(&a, "hugepages=off", &err), 0);
	CHECK_INT(a.hugepage_kb, 0);
	ab_arm_describe(&a, what, sizeof(what));
	CHECK_STR(what, "mem=1024");
	ab_arm_free(&a);
	CHECK_INT(ab_arm_parse(&a, "default", &err), 0);
	ab_arm_describe(&a, what, sizeof(what));
	CHECK_STR(what, "defaults");
	ab_arm_free(&a);
}

TEST(ab_spec_refusals)
{
	static const struct {
		const char *spec, *says;
	} bad[] = {
		{ "qemu", "not KEY=VALUE" },
		{ "colour=red", "unknown key 'colour'" },
		{ "cpus=0", "cpus takes a number from 1 to 64" },
		{ "cpus=2x", "not '2x'" },
		{ "mem=10", "mem takes a number from 64" },
		{ "pin=7-", "pinning '7-'" },
		{ "pin=each:", "pinning 'each:'" },
		{ "net=wifi", "net takes user, tap or vhost" },
		{ "opts=-name 'open", "a quote (') is not closed" },
		{ "disk=cache=none aio=native", "disk takes QEMU -drive options" },
		{ "qemu=", "qemu needs a path" },
		{ "name=", "name takes 1 to" },
		{ "hugepages=2MB", "hugepages takes a page size such as 2M, 64K or 32M, or off, not '2MB'" },
		{ "hugepages=", "hugepages takes a page size" },
		{ "hugepages=on", "not 'on'" },
		{ "hugepage=2M", "unknown key 'hugepage' (keys: name, qemu, image, append, opts, cpus, mem, pin, affinity,"
				 " cgroup, disk, net, hugepages)" },
	};
	for (size_t i = 0; i < KQ_ARRAY_SIZE(bad); i++) {
		struct ab_arm a;
		memset(&a, 0, sizeof(a));
		struct kq_err err = { "" };
		CHECK_INT(ab_arm_parse(&a, bad[i].spec, &err), -1);
		if (!strstr(err.msg, bad[i].says))
			test_fail(__FILE__, __LINE__, "'%s' said '%s', not '%s'", bad[i].spec, err.msg, bad[i].says);
		ab_arm_free(&a);
	}
}

TEST(ab_plan_labels)
{
	struct ab_plan p;
	struct kq_err err;
	CHECK_INT(ab_plan_parse(&p, "boot, sysbench-cpu-1t,stream,sysbench-cpu-1t", &err), 0);
	CHECK(p.boot);
	CHECK_INT(p.nsteps, 2);
	CHECK_STR(p.steps[0]->label, "sysbench-cpu-1t");
	CHECK(p.steps[0]->one_thread);
	CHECK_INT(ab_plan_parse(&p, "boot,dhrystone", &err), -1);
	CHECK(strstr(err.msg, "'dhrystone' is none of: boot sysbench-cpu") != NULL);
	CHECK(strstr(err.msg, "stress-ng-cpu") != NULL && strstr(err.msg, "balloon") == NULL);
	/* Measured once per guest by kvmqual run, not in rounds. */
	CHECK_INT(ab_plan_parse(&p, "vmm-memory", &err), -1);
	CHECK(strstr(err.msg, "'vmm-memory' is none of") != NULL);
	CHECK_INT(ab_plan_parse(&p, ",", &err), -1);
	CHECK(strstr(err.msg, "no workloads") != NULL);
}

/* Samples with a known shift: a base that varies, and the arm the same
 * rounds times a factor, with a little noise of its own. */
static void shifted(double *ref, double *arm, size_t n, double factor, unsigned seed)
{
	struct stats_rng g;
	stats_rng_seed(&g, seed);
	for (size_t i = 0; i < n; i++) {
		double drift = 1 + 0.2 * sin((double)i); /* the host, shared by the pair */
		double e1 = 1 + ((double)stats_rng_below(&g, 1001) - 500) / 1e5;
		double e2 = 1 + ((double)stats_rng_below(&g, 1001) - 500) / 1e5;
		ref[i] = 1000 * drift * e1;
		arm[i] = 1000 * drift * e2 * factor;
	}
}

TEST(ab_rule_decides)
{
	struct ab_rule rule;
	ab_rule_default(&rule);
	CHECK(rule.alpha == 0.01);
	double ref[12], arm[12];
	struct ab_verdict v;
	/* 10 % slower, 8 pairs: every pair says so, p = 2/256. */
	shifted(ref, arm, 8, 0.9, 1);
	ab_decide(ref, arm, 8, 1, &rule, &v);
	CHECK_INT(v.decision, AB_WORSE);
	CHECK(fabs(v.p - 2.0 / 256) < 1e-12);
	CHECK(v.change_pct < -9 && v.change_pct > -11);
	CHECK(v.ci_lo < v.change_pct && v.ci_hi > v.change_pct && v.ci_hi < -8);
	/* The same numbers as a time (lower is better): 10 % less is better. */
	ab_decide(ref, arm, 8, 0, &rule, &v);
	CHECK_INT(v.decision, AB_BETTER);
	/* 1 % faster, significant, within the 2 % threshold: no change. */
	shifted(ref, arm, 12, 1.01, 2);
	ab_decide(ref, arm, 12, 1, &rule, &v);
	CHECK(v.p < 0.01);
	CHECK_INT(v.decision, AB_SAME);
	/* Identical arms: no change, whatever the drift. */
	shifted(ref, arm, 12, 1, 3);
	ab_decide(ref, arm, 12, 1, &rule, &v);
	CHECK_INT(v.decision, AB_SAME);
	CHECK(fabs(v.change_pct) < 0.5);
	/* Seven pairs cannot reach p < 0.01 (2/128): inconclusive, and it says why. */
	shifted(ref, arm, 7, 0.5, 4);
	ab_decide(ref, arm, 7, 1, &rule, &v);
	CHECK_INT(v.decision, AB_INCONCLUSIVE);
	CHECK(strstr(v.why, "7 rounds a side: the test cannot reach p < 0.01") != NULL);
	/* Unpaired (Mann-Whitney), five a side reach 2/252. */
	rule.paired = 0;
	shifted(ref, arm, 5, 0.8, 5);
	ab_decide(ref, arm, 5, 1, &rule, &v);
	CHECK(fabs(v.p - 2.0 / 252) < 1e-9 || v.decision == AB_SAME);
	ab_decide(ref, arm, 0, 1, &rule, &v);
	CHECK_INT(v.decision, AB_INCONCLUSIVE);
}

TEST(ab_vcpu_pin_lists)
{
	struct vcpu_pin pin;
	struct kq_err err;
	cpu_set_t set;
	char text[64];
	CHECK_INT(vcpu_pin_parse("each:3,1-2", &pin, &err), 0);
	CHECK_INT(vcpu_pin_set_for(&pin, 0, &set), 0);
	CHECK(CPU_COUNT(&set) == 1 && CPU_ISSET(3, &set));
	CHECK_INT(vcpu_pin_set_for(&pin, 1, &set), 0);
	CHECK(CPU_ISSET(1, &set));
	CHECK_INT(vcpu_pin_set_for(&pin, 3, &set), 0); /* cycles */
	CHECK(CPU_ISSET(3, &set));
	vcpu_pin_format(&pin, text, sizeof(text));
	CHECK_STR(text, "each:3,1-2");
	CHECK_INT(vcpu_pin_parse("2-6", &pin, &err), 0);
	CHECK_INT(pin.mode, VCPU_PIN_ALL);
	CHECK_INT(vcpu_pin_set_for(&pin, 5, &set), 0);
	CHECK_INT(CPU_COUNT(&set), 5);
	vcpu_cpulist_format(&set, text, sizeof(text));
	CHECK_STR(text, "2-6");
	CHECK_INT(vcpu_pin_parse("none", &pin, &err), 0);
	CHECK_INT(pin.mode, VCPU_PIN_NONE);
	CHECK_INT(vcpu_pin_set_for(&pin, 0, &set), -1);
	CHECK_INT(vcpu_pin_parse("each:x", &pin, &err), -1);

	/* /proc/PID/task/TID/status as the kernel writes it. */
	char dir[] = "/tmp/kvmqual-ab-proc.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char *task = kq_xasprintf("%s/77/task/78", dir), *cmd = kq_xasprintf("mkdir -p %s", task);
	CHECK_INT(system(cmd), 0);
	char *status = kq_xasprintf("%s/status", task);
	FILE *f = fopen(status, "w");
	fputs("Name:\tCPU 0/TCG\nCpus_allowed:\t2\nCpus_allowed_list:\t1\nMems_allowed_list:\t0\n", f);
	fclose(f);
	char list[64];
	CHECK_INT(vcpu_affinity(dir, 77, 78, list, sizeof(list), &err), 0);
	CHECK_STR(list, "1");
	CHECK_INT(vcpu_affinity(dir, 77, 79, list, sizeof(list), &err), -1);
	CHECK(strstr(err.msg, "vCPU thread 79") != NULL);
	f = fopen(status, "w");
	fputs("Name:\tCPU 0/TCG\n", f);
	fclose(f);
	CHECK_INT(vcpu_affinity(dir, 77, 78, list, sizeof(list), &err), -1);
	CHECK(strstr(err.msg, "no Cpus_allowed_list") != NULL);
	free(cmd);
	cmd = kq_xasprintf("rm -rf %s", dir);
	CHECK_INT(system(cmd), 0);
	free(cmd);
	free(task);
	free(status);
}

TEST(ab_store_migrates_and_records)
{
	/* A version-1 store of this host (tests/fixtures/results), copied. */
	char dir[] = "/tmp/kvmqual-ab-store.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char *db = kq_xasprintf("%s/k.db", dir);
	char *cmd = kq_xasprintf("cp tests/fixtures/results/x86-pvm-host.db %s", db);
	CHECK_INT(system(cmd), 0);
	free(cmd);
	CHECK_INT(sql_int(db, "PRAGMA user_version"), 1);
	long long runs = sql_int(db, "SELECT count(*) FROM runs");
	struct kq_err err = { "" };
	struct store *s = store_open(db, NULL, &err);
	CHECK(s != NULL);
	struct store_host host = { "x86_64", "m", "s", "6.1", 4096 };
	struct store_ab_session_info info = { .command = "ab", .accel = "tcg", .probe_json = "{\"x\":1}" };
	int64_t session = store_ab_begin(s, &host, &info, &err);
	CHECK(session > 0);
	int64_t x = store_ab_experiment_begin(s, session, "ab", "B against A", "{\"alpha\":0.01}", &err);
	CHECK(x > 0);
	struct store_ab_arm arm = { .arm = 1, .name = "B", .spec = "cpus=1", .status = "ok", .vcpus = "0:1" };
	CHECK_INT(store_ab_put_arm(s, x, &arm, &err), 0);
	arm.status = "failed";
	arm.reason = "the guest did not boot";
	CHECK_INT(store_ab_put_arm(s, x, &arm, &err), 0); /* replaces */
	struct store_ab_sample sm = { .arm = 1, .pass = 0, .round = 3, .workload = "boot", .metric = "total_ms",
				      .unit = "ms", .value = 1234.5, .conditions = "{\"load1\":1}" };
	CHECK_INT(store_ab_add_sample(s, x, &sm, &err), 0);
	sm.conditions = "not json";
	CHECK_INT(store_ab_add_sample(s, x, &sm, &err), -1);
	CHECK(strstr(err.msg, "ab_conditions_is_json") != NULL);
	struct store_ab_result r = { .arm = 1, .workload = "boot", .metric = "total_ms", .unit = "ms", .rounds = 8,
				     .change_pct = 12.5, .ci_low_pct = 10, .ci_high_pct = 15, .p = 0.0078,
				     .threshold_pct = 2, .decision = "regression", .passes = 2, .ref_median = NAN,
				     .arm_median = NAN, .ci_level = NAN, .first_change_pct = 11, .first_p = 0.0078,
				     .first_decision = "regression" };
	CHECK_INT(store_ab_add_result(s, x, &r, &err), 0);
	r.decision = "worse";
	r.metric = "other";
	CHECK_INT(store_ab_add_result(s, x, &r, &err), -1);
	CHECK(strstr(err.msg, "ab_decision_known") != NULL);
	struct store_ab_experiment_end end = { .status = "complete", .rounds = 8, .recommended_arm = -1 };
	CHECK_INT(store_ab_experiment_finish(s, x, &end, &err), 0);
	CHECK_INT(store_ab_finish(s, session, STORE_RUN_COMPLETE, NULL, "-smp 1", &err), 0);
	store_close(s);
	CHECK_INT(sql_int(db, "PRAGMA user_version"), store_schema_version());
	CHECK_INT(sql_int(db, "SELECT count(*) FROM runs"), runs);
	CHECK_INT(sql_int(db, "SELECT count(*) FROM ab_arms WHERE status = 'failed' AND reason IS NOT NULL"), 1);
	CHECK_INT(sql_int(db, "SELECT count(*) FROM ab_samples"), 1);
	CHECK_INT(sql_int(db, "SELECT count(*) FROM ab_results WHERE ref_median IS NULL AND passes = 2"), 1);
	CHECK_INT(sql_int(db, "SELECT count(*) FROM ab_sessions WHERE status = 'complete' AND recommendation = '-smp 1'"), 1);

	/* A session whose process died is recovered like a run. */
	pid_t pid = fork();
	if (pid == 0) {
		struct store *c = store_open(db, NULL, &err);
		_exit(c && store_ab_begin(c, &host, &info, &err) > 0 ? 0 : 1);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	s = store_open(db, NULL, &err);
	CHECK(s != NULL);
	store_close(s);
	CHECK_INT(sql_int(db, "SELECT count(*) FROM ab_sessions WHERE status = 'interrupted'"), 1);
	cmd = kq_xasprintf("rm -rf %s", dir);
	CHECK_INT(system(cmd), 0);
	free(cmd);
	free(db);
}

/* The report's Tuning section on stores from before the A/B tables, opened
 * read-only (not migrated): no tuning, no error.  Version 1 is this host's
 * fixture; version 2 (run_sources) is that fixture taken to version 2 by
 * store/schema.sql's own version-2 text, as the kvmqual of then did. */
TEST(ab_tuning_without_ab_tables)
{
	struct kq_err err = { "" };
	struct store_tuning t;
	struct store *s = store_open_readonly("tests/fixtures/results/x86-pvm-host.db", &err);
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_INT(store_tuning_latest(s, "any host", &t, &err), 0);
	CHECK_INT(t.session, 0);
	store_tuning_free(&t);
	store_close(s);

	char dir[] = "/tmp/kvmqual-ab-v2.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char *db = kq_xasprintf("%s/v2.db", dir);
	char *cmd = kq_xasprintf("cp tests/fixtures/results/x86-pvm-host.db %s", db);
	CHECK_INT(system(cmd), 0);
	free(cmd);
	char *schema;
	size_t len;
	CHECK_INT(kq_read_file("store/schema.sql", 1u << 20, &schema, &len, &err), 0);
	char *v2 = strstr(schema, "\n-- version 2:"), *v3 = v2 ? strstr(v2, "\n-- version 3:") : NULL;
	CHECK(v2 && v3);
	if (v2 && v3) {
		*v3 = '\0';
		char *sql = kq_xasprintf("%s;\nPRAGMA user_version = 2;", v2);
		sqlite3 *h;
		CHECK_INT(sqlite3_open(db, &h), SQLITE_OK);
		CHECK_INT(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(h);
		free(sql);
	}
	free(schema);
	CHECK_INT(sql_int(db, "PRAGMA user_version"), 2);
	CHECK_INT(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'run_sources'"), 1);
	s = store_open_readonly(db, &err);
	CHECK(s != NULL);
	if (s) {
		CHECK_INT(store_tuning_latest(s, "any host", &t, &err), 0);
		CHECK_INT(t.session, 0);
		store_tuning_free(&t);
		store_close(s);
	}
	CHECK_INT(sql_int(db, "PRAGMA user_version"), 2); /* read-only: not migrated */
	cmd = kq_xasprintf("rm -rf %s", dir);
	CHECK_INT(system(cmd), 0);
	free(cmd);
	free(db);
}

/* tune's settings from the probe of a big.LITTLE phone snapshot (no
 * hugetlbfs there: the huge pages setting skipped). */
TEST(ab_tune_settings_phone)
{
	struct kq_err err;
	struct hostfs *fs = hostfs_open_snapshot("tests/fixtures/snapshots/phone-pkvm-like", &err);
	CHECK(fs != NULL);
	if (!fs)
		return;
	struct probe pr;
	struct probe_options opt = { .skip_smoke = 1 };
	CHECK_INT(probe_run(&pr, fs, &opt, &err), 0);
	CHECK_INT(pr.host.cluster_count, 3);
	struct tune_host h = { .guest_arch = "aarch64", .accel = "kvm", .vcpus = 5, .online_cpus = 8,
			       .cluster_count = pr.host.cluster_count, .clusters = pr.host.clusters,
			       .pin_cluster = pr.host.pin_cluster, .o_direct = 1 };
	snprintf(h.vhost_why, sizeof(h.vhost_why), "no /dev/vhost-net here");
	h.mem_mb = 512;
	tune_host_hugepages(&h, fs);
	struct ab_experiment *xs;
	size_t n;
	CHECK_INT(tune_settings(&h, NULL, &xs, &n, &err), 0);
	CHECK_INT(n, 5);
	CHECK_STR(xs[0].setting, "pinning");
	CHECK_INT(xs[0].narms, 4);
	/* Free, then each cluster, fastest core first, QEMU and its vCPUs there. */
	CHECK_STR(xs[0].arms[0].affinity, "");
	CHECK_INT(xs[0].arms[0].pin.mode, VCPU_PIN_NONE);
	static const char *const want[][2] = { { "Cortex-X4", "7" }, { "Cortex-A720", "2-6" }, { "Cortex-A520", "0-1" } };
	for (size_t i = 0; i < 3; i++) {
		const struct ab_arm *a = &xs[0].arms[i + 1];
		CHECK_STR(a->name, want[i][0]);
		CHECK_STR(a->affinity, want[i][1]);
		CHECK_INT(a->pin.mode, VCPU_PIN_ALL);
		CHECK_STR(a->pin.cpus, want[i][1]);
		CHECK(strstr(a->fragment, "taskset -c") != NULL);
	}
	CHECK_STR(xs[1].setting, "vcpus");
	CHECK_INT(xs[1].narms, 3);
	CHECK_INT(xs[1].arms[0].cpus, 5);
	CHECK_INT(xs[1].arms[1].cpus, 1);
	CHECK_INT(xs[1].arms[2].cpus, 2);
	CHECK_STR(xs[2].setting, "aio");
	CHECK_STR(xs[2].arms[2].disk_opts, "cache=none,aio=io_uring");
	CHECK_STR(xs[3].setting, "vhost");
	CHECK_INT(xs[3].status, AB_SKIPPED);
	CHECK_STR(xs[3].reason, "no /dev/vhost-net here");
	CHECK_STR(xs[4].setting, "hugepages");
	CHECK_INT(xs[4].status, AB_SKIPPED);
	CHECK_STR(xs[4].reason, "this kernel offers no huge pages (no sys/kernel/mm/hugepages: CONFIG_HUGETLBFS)");
	for (size_t i = 0; i < n; i++)
		ab_experiment_free(&xs[i]);
	free(xs);
	/* A homogeneous host: a host CPU per vCPU against free; a subset. */
	h.cluster_count = 1;
	h.vcpus = 2;
	h.online_cpus = 2;
	CHECK_INT(tune_settings(&h, "pinning,vcpus", &xs, &n, &err), 0);
	CHECK_INT(n, 2);
	CHECK_STR(xs[0].arms[1].name, "per-vcpu");
	CHECK_INT(xs[0].arms[1].pin.mode, VCPU_PIN_EACH);
	CHECK_STR(xs[0].arms[1].pin.cpus, "0,1");
	for (size_t i = 0; i < n; i++)
		ab_experiment_free(&xs[i]);
	free(xs);
	CHECK_INT(tune_settings(&h, "pinning,turbo", &xs, &n, &err), -1);
	CHECK(strstr(err.msg, "'turbo' is none of") != NULL);
	probe_free(&pr);
	hostfs_close(fs);
}

/* put_file ROOT REL TEXT: a file of a snapshot-like tree. */
static void put_file(const char *root, const char *rel, const char *text)
{
	char *path = kq_xasprintf("%s/%s", root, rel), *dir = kq_xstrdup(path);
	*strrchr(dir, '/') = '\0';
	char *cmd = kq_xasprintf("mkdir -p '%s'", dir);
	CHECK_INT(system(cmd), 0);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
	free(cmd);
	free(dir);
	free(path);
}

/* tune's huge pages setting on a snapshot of an arm64 host with 4K pages
 * (64K, 2M, 32M and 1G hugetlb sizes), a 512 MiB guest: with pages
 * reserved, one arm per size that has enough; with none, skipped with how
 * to reserve them; a snapshot that does not record free pages; and
 * kvmqual's own snapshot of a Pi 5 (16K pages: 2M, 32M, 1G). */
TEST(ab_tune_hugepages_plan)
{
	char root[] = "/tmp/kvmqual-ab-hugepages.XXXXXX";
	CHECK(mkdtemp(root) != NULL);
	static const char *const dirs[] = { "hugepages-64kB", "hugepages-2048kB", "hugepages-32768kB",
					    "hugepages-1048576kB" };
	static const char *const reserved[] = { "100\n", "300\n", "16\n", "2\n" };
	for (size_t i = 0; i < 4; i++) {
		char *rel = kq_xasprintf("sys/kernel/mm/hugepages/%s/free_hugepages", dirs[i]);
		put_file(root, rel, reserved[i]);
		free(rel);
	}
	struct kq_err err;
	struct hostfs *fs = hostfs_open_snapshot(root, &err);
	CHECK(fs != NULL);
	if (!fs)
		return;
	struct tune_host h = { .guest_arch = "aarch64", .accel = "kvm", .vcpus = 2, .online_cpus = 4, .cluster_count = 1,
			       .o_direct = 1, .mem_mb = 512 };
	tune_host_hugepages(&h, fs);
	hostfs_close(fs);
	/* 64K: 100 of 8192 free; 2M: 300 of 256; 32M: 16 of 16; 1G not tried. */
	CHECK_INT(h.hugepage_count, 2);
	CHECK_INT(h.hugepage_kb[0], 2048);
	CHECK_INT(h.hugepage_kb[1], 32768);
	CHECK_STR(h.hugepage_missing, "64K");
	CHECK_STR(h.hugepage_why, "100 huge pages of 64K are free, the guest needs 8192: reserve them as root with "
				  "'echo 8192 > /sys/kernel/mm/hugepages/hugepages-64kB/nr_hugepages' (or hugepagesz=64K "
				  "hugepages=8192 on the kernel command line)");
	struct ab_experiment *xs;
	size_t n;
	CHECK_INT(tune_settings(&h, "hugepages", &xs, &n, &err), 0);
	CHECK_INT(n, 1);
	CHECK_STR(xs[0].setting, "hugepages");
	CHECK(xs[0].status != AB_SKIPPED);
	CHECK_INT(xs[0].narms, 3);
	CHECK_STR(xs[0].arms[0].name, "default");
	CHECK_INT(xs[0].arms[0].hugepage_kb, 0);
	CHECK_STR(xs[0].arms[1].name, "huge-2M");
	CHECK_INT(xs[0].arms[1].hugepage_kb, 2048);
	CHECK_STR(xs[0].arms[1].spec, "hugepages=2M");
	CHECK(strstr(xs[0].arms[1].fragment, "memory-backend-memfd,id=mem,size=512M,hugetlb=on,hugetlbsize=2M") != NULL);
	CHECK_STR(xs[0].arms[2].name, "huge-32M");
	CHECK_INT(xs[0].arms[2].hugepage_kb, 32768);
	CHECK(strstr(xs[0].title, "(left out: 64K)") != NULL);
	CHECK(strstr(xs[0].reason, "'echo 8192 > /sys/kernel/mm/hugepages/hugepages-64kB/nr_hugepages'") != NULL);
	ab_experiment_free(&xs[0]);
	free(xs);

	/* None reserved: skipped, each size with how to reserve its pages. */
	for (size_t i = 0; i < 4; i++) {
		char *rel = kq_xasprintf("sys/kernel/mm/hugepages/%s/free_hugepages", dirs[i]);
		put_file(root, rel, "0\n");
		free(rel);
	}
	fs = hostfs_open_snapshot(root, &err);
	CHECK(fs != NULL);
	if (!fs)
		return;
	tune_host_hugepages(&h, fs);
	hostfs_close(fs);
	CHECK_INT(h.hugepage_count, 0);
	CHECK_INT(tune_settings(&h, "hugepages", &xs, &n, &err), 0);
	CHECK_INT(xs[0].status, AB_SKIPPED);
	CHECK_INT(xs[0].narms, 0);
	CHECK(strstr(xs[0].reason, "0 huge pages of 64K are free, the guest needs 8192: reserve them as root") != NULL);
	CHECK(strstr(xs[0].reason, "; 0 huge pages of 2M are free, the guest needs 256: reserve them as root with "
				   "'echo 256 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages'") != NULL);
	CHECK(strstr(xs[0].reason, "; 0 huge pages of 32M are free, the guest needs 16: ") != NULL);
	CHECK(strstr(xs[0].reason, "1G") == NULL);
	ab_experiment_free(&xs[0]);
	free(xs);

	/* A guest memory that is no whole number of 32M pages. */
	put_file(root, "sys/kernel/mm/hugepages/hugepages-32768kB/free_hugepages", "100\n");
	fs = hostfs_open_snapshot(root, &err);
	h.mem_mb = 528;
	tune_host_hugepages(&h, fs);
	hostfs_close(fs);
	CHECK_INT(h.hugepage_count, 0);
	CHECK(strstr(h.hugepage_why, "32M pages: the guest's 528 MiB are not a whole number of them") != NULL);
	char *cmd = kq_xasprintf("rm -rf %s", root);
	CHECK_INT(system(cmd), 0);
	free(cmd);

	/* The Pi 5 snapshot records the sizes but not the free pages. */
	fs = hostfs_open_snapshot("tests/fixtures/snapshots/pi5-like", &err);
	CHECK(fs != NULL);
	if (!fs)
		return;
	h.mem_mb = 512;
	tune_host_hugepages(&h, fs);
	hostfs_close(fs);
	CHECK_INT(h.hugepage_count, 0);
	CHECK_STR(h.hugepage_missing, "2M, 32M");
	CHECK(strstr(h.hugepage_why, "2M pages: no readable free_hugepages (a snapshot may not record it)") != NULL);
	/* And a host without hugetlbfs. */
	fs = hostfs_open_snapshot("tests/fixtures/snapshots/phone-pkvm-like", &err);
	CHECK(fs != NULL);
	if (!fs)
		return;
	tune_host_hugepages(&h, fs);
	hostfs_close(fs);
	CHECK_INT(h.hugepage_count, 0);
	CHECK_STR(h.hugepage_why, "this kernel offers no huge pages (no sys/kernel/mm/hugepages: CONFIG_HUGETLBFS)");
}

/* tune's advice from results: a better arm, no difference, unclear. */
static void result(struct ab_experiment *x, size_t arm, enum ab_decision d, double change, double lo, double hi,
		   int passes)
{
	x->results = realloc(x->results, (x->nresults + 1) * sizeof(*x->results));
	struct ab_result *r = &x->results[x->nresults++];
	memset(r, 0, sizeof(*r));
	r->arm = arm;
	snprintf(r->workload, sizeof(r->workload), "sysbench-cpu");
	snprintf(r->metric, sizeof(r->metric), "events_per_second");
	r->higher_is_better = 1;
	r->final.decision = d;
	r->final.change_pct = change;
	r->final.ci_lo = lo;
	r->final.ci_hi = hi;
	r->final.p = 0.001;
	r->passes = passes;
}

TEST(ab_tune_advice)
{
	struct ab_rule rule;
	ab_rule_default(&rule);
	struct ab_experiment x;
	memset(&x, 0, sizeof(x));
	snprintf(x.primary, sizeof(x.primary), "sysbench-cpu.events_per_second");
	x.arms = calloc(3, sizeof(*x.arms));
	x.narms = 3;
	snprintf(x.arms[0].name, sizeof(x.arms[0].name), "free");
	snprintf(x.arms[1].name, sizeof(x.arms[1].name), "A720");
	snprintf(x.arms[2].name, sizeof(x.arms[2].name), "X4");
	/* Two better, the larger gain wins, found again: confirmed. */
	result(&x, 1, AB_BETTER, 12, 9, 15, 2);
	result(&x, 2, AB_BETTER, 6, 3, 9, 2);
	tune_recommend(&x, &rule);
	CHECK_INT(x.recommended, 1);
	CHECK_STR(x.confidence, "confirmed");
	CHECK(strstr(x.because, "+12.0 % [+9.0, +15.0] against free") != NULL);
	/* Everything within the threshold: keep the reference, no difference. */
	x.nresults = 0;
	result(&x, 1, AB_SAME, 0.5, -1.5, 1.8, 1);
	result(&x, 2, AB_SAME, -0.2, -1.9, 1.1, 1);
	tune_recommend(&x, &rule);
	CHECK_INT(x.recommended, 0);
	CHECK_STR(x.confidence, "no difference");
	/* Wide intervals: unclear; a worse arm is named. */
	x.nresults = 0;
	result(&x, 1, AB_SAME, 4, -10, 20, 1);
	result(&x, 2, AB_WORSE, -30, -35, -25, 2);
	tune_recommend(&x, &rule);
	CHECK_INT(x.recommended, 0);
	CHECK_STR(x.confidence, "unclear");
	CHECK(strstr(x.because, "X4 -30.0 %") != NULL);
	/* A failed reference: no advice. */
	x.arms[0].failed = 1;
	snprintf(x.arms[0].why, sizeof(x.arms[0].why), "the guest did not boot");
	tune_recommend(&x, &rule);
	CHECK_INT(x.recommended, -1);
	CHECK_STR(x.confidence, "none");
	ab_experiment_free(&x);
}
