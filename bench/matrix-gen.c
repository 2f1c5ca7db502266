/* Generates results stores and bundles for `kvmqual matrix`, written through
 * the store's own API (store/), with realistic rows: a probe
 * document and ~20 checks, boots under TCG and KVM, ~60 samples (native,
 * TCG, KVM), speed-ups and verdicts judged as runners/targets.conf does.
 *
 *   matrix-gen bench --out DIR [--devices N] [--runs R] [--dbs D]
 *                    [--bundle-devices B] [--seed S]
 *       N devices x R runs: the first N-B split over D stores
 *       (DIR/store-NN.db), the last B one bundle each (DIR/bundles/).
 *   matrix-gen spec OUT.db|OUT.json RUNSPEC...
 *       One run per RUNSPEC, in order (later is newer), into a store or,
 *       for OUT.json, a bundle (the store's JSON export).  RUNSPEC is
 *       key=value pairs separated by commas (values hold no comma):
 *         model soc kernel arch page     the host (defaults: Test Board,
 *                                        test-soc, 6.1.0-test, aarch64, 4096)
 *         kvm=1|0                        whether KVM booted the guest (1)
 *         probe=kvm-ready|kvm-limited|tcg-only   the probe's verdict
 *         boot=MS                        KVM boot median (900); tcgboot=MS
 *         cpu mem net disk=PCT           KVM % of native (97 98 90 95)
 *         netdev=tap|user                tap measures iperf3-h2g-tap (tap)
 *         image suite                    guest image hash, suite version
 *         emulated=1                     probe host.emulated
 *         status reason started          the run's (complete; default
 *                                        times one minute apart)
 *         el gic                         boot EL, GIC version (EL2, v3)
 * Prints what it wrote. */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../store/store.h"

struct gen_run {
	char arch[32], model[96], soc[64], kernel[64];
	long page;
	char started[40], status[16], probe[16], netdev[8], el[8], gic[16];
	int kvm, emulated;
	double boot_kvm, boot_tcg, cpu, mem, net, disk;
	char image[80], suite[32], reason[256];
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static double rnd(void) /* [0, 1) */
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (double)(rng_state >> 11) / 9007199254740992.0;
}

static void run_defaults(struct gen_run *g)
{
	memset(g, 0, sizeof(*g));
	snprintf(g->arch, sizeof(g->arch), "aarch64");
	snprintf(g->model, sizeof(g->model), "Test Board");
	snprintf(g->soc, sizeof(g->soc), "test-soc");
	snprintf(g->kernel, sizeof(g->kernel), "6.1.0-test");
	g->page = 4096;
	snprintf(g->status, sizeof(g->status), "complete");
	snprintf(g->probe, sizeof(g->probe), "kvm-ready");
	snprintf(g->netdev, sizeof(g->netdev), "tap");
	snprintf(g->el, sizeof(g->el), "EL2");
	snprintf(g->gic, sizeof(g->gic), "v3");
	snprintf(g->image, sizeof(g->image), "1111111111111111111111111111111111111111111111111111111111111111");
	snprintf(g->suite, sizeof(g->suite), "0.1.0");
	g->kvm = 1;
	g->boot_kvm = 900;
	g->boot_tcg = 9000;
	g->cpu = 97;
	g->mem = 98;
	g->net = 90;
	g->disk = 95;
}

/* ---- the probe's document and checks ---- */

struct gen_check {
	const char *id, *status;
	char value[64];
	const char *detail, *hint;
};

static size_t make_checks(const struct gen_run *g, struct gen_check *c)
{
	int tcg_only = !strcmp(g->probe, "tcg-only");
	int arm = !strcmp(g->arch, "aarch64");
	size_t n = 0;
#define CHECK(i, s, d, h, ...)                                                     \
	do {                                                                       \
		c[n] = (struct gen_check){ i, s, "", d, h };                       \
		snprintf(c[n].value, sizeof(c[n].value), __VA_ARGS__);             \
		n++;                                                               \
	} while (0)
	CHECK("cpu.arch", "pass", "", NULL, "%s", g->arch);
	if (arm)
		CHECK("cpu.boot_el", tcg_only ? "fail" : "pass", "from the kernel log", tcg_only ? "the vendor owns EL2" : NULL,
		      "%s", tcg_only ? "EL1" : g->el);
	else
		CHECK("cpu.boot_el", "skip", "exception levels are an Arm concept", NULL, "%s", "");
	CHECK("kvm.mode", tcg_only ? "fail" : "pass", "from the kernel log", NULL, "%s",
	      tcg_only ? "unavailable" : arm ? "vhe" : "vmx");
	CHECK("kvm.device", tcg_only ? "fail" : "pass", "/dev/kvm", NULL, "%s", tcg_only ? "absent" : "ok");
	const char *no_kvm = "no /dev/kvm: not run";
	CHECK("kvm.api", tcg_only ? "skip" : "pass", tcg_only ? no_kvm : "KVM_GET_API_VERSION", NULL, "%s",
	      tcg_only ? "" : "12");
	CHECK("kvm.smoke", tcg_only ? "skip" : "pass", tcg_only ? no_kvm : "a tiny guest ran", NULL, "%s",
	      tcg_only ? "" : "ok in 900 us");
	CHECK("kvm.vgic", tcg_only || !arm ? "skip" : "pass", tcg_only ? no_kvm : arm ? "vGIC" : "an Arm interrupt controller",
	      NULL, "%s", tcg_only || !arm ? "" : g->gic);
	if (arm)
		CHECK("gic.version", !strcmp(g->gic, "v2") ? "warn" : "pass", "from the device tree",
		      !strcmp(g->gic, "v2") ? "GICv3-only VMMs cannot run" : NULL, "%s", g->gic);
	else
		CHECK("gic.version", "skip", "x86 hosts have an APIC, not a GIC", NULL, "%s", "");
	CHECK("iommu.present", arm ? "pass" : "warn", "IOMMU", NULL, "%s", arm ? "SMMUv3 enabled" : "none");
	CHECK("kconfig.KVM", tcg_only ? "fail" : "pass", "CONFIG_KVM", NULL, "%s", tcg_only ? "n" : "y");
	CHECK("kconfig.VHOST_NET", "pass", "CONFIG_VHOST_NET", NULL, "%s", "m");
	CHECK("kconfig.VIRTIO", "pass", "CONFIG_VIRTIO", NULL, "%s", "y");
	CHECK("kconfig.VIRTIO_BLK", "pass", "CONFIG_VIRTIO_BLK", NULL, "%s", "y");
	CHECK("kconfig.VIRTIO_NET", "pass", "CONFIG_VIRTIO_NET", NULL, "%s", "y");
	CHECK("dev.vhost_net", !strcmp(g->netdev, "tap") ? "pass" : "warn", "/dev/vhost-net", NULL, "%s",
	      !strcmp(g->netdev, "tap") ? "ok" : "absent");
	CHECK("dev.tun", "pass", "/dev/net/tun", NULL, "%s", "ok");
	CHECK("mem.page_size", g->page == 4096 ? "pass" : "warn", "getpagesize()", NULL, "%ldK", g->page / 1024);
	CHECK("mem.hugepages", "pass", "THP", NULL, "%s", "THP madvise");
	CHECK("cpu.topology", "pass", "clusters", NULL, "%s", "4x Cortex-A76");
	CHECK("qemu.accel", "pass", "qemu -accel help", NULL, "%s", "7.2.22 (kvm, tcg)");
#undef CHECK
	return n;
}

static void json_str(struct kq_buf *b, const char *s)
{
	kq_buf_add(b, "\"", 1);
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			kq_buf_printf(b, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			kq_buf_printf(b, "\\u%04x", *s);
		else
			kq_buf_add(b, s, 1);
	}
	kq_buf_add(b, "\"", 1);
}

static char *probe_json(const struct gen_run *g, const struct gen_check *c, size_t n)
{
	struct kq_buf b;
	kq_buf_init(&b);
	kq_buf_printf(&b, "{\"schema\":\"kvmqual.probe\",\"schema_version\":1,\"probe_version\":\"0.1.0\","
			  "\"source\":{\"kind\":\"live\",\"path\":\"/\"},\"host\":{\"arch\":");
	json_str(&b, g->arch);
	kq_buf_printf(&b, ",\"model\":");
	json_str(&b, g->model);
	kq_buf_printf(&b, ",\"soc\":");
	json_str(&b, g->soc);
	kq_buf_printf(&b, ",\"kernel_release\":");
	json_str(&b, g->kernel);
	kq_buf_printf(&b, ",\"page_size\":%ld,\"cpus\":4%s},\"checks\":[", g->page,
		      g->emulated ? ",\"emulated\":true" : "");
	struct kq_buf reasons;
	kq_buf_init(&reasons);
	for (size_t i = 0; i < n; i++) {
		kq_buf_printf(&b, "%s{\"id\":\"%s\",\"status\":\"%s\",\"value\":", i ? "," : "", c[i].id, c[i].status);
		json_str(&b, c[i].value);
		kq_buf_printf(&b, ",\"detail\":");
		json_str(&b, c[i].detail);
		if (c[i].hint) {
			kq_buf_printf(&b, ",\"hint\":");
			json_str(&b, c[i].hint);
		}
		kq_buf_add(&b, "}", 1);
		int limits = !strcmp(c[i].status, "fail") || (!strcmp(c[i].status, "warn") && !strcmp(g->probe, "kvm-limited"));
		if (limits) {
			char *one = kq_xasprintf("%s: %s", c[i].id, c[i].value);
			kq_buf_add(&reasons, reasons.len ? "," : "", reasons.len ? 1 : 0);
			json_str(&reasons, one);
			free(one);
		}
	}
	const char *summary = !strcmp(g->probe, "tcg-only") ? "TCG only: KVM cannot run here"
			      : !strcmp(g->probe, "kvm-limited") ? "KVM with limits" : "KVM ready";
	kq_buf_printf(&b, "],\"verdict\":{\"status\":\"%s\",\"kvm_usable\":%s,\"summary\":\"%s\",\"reasons\":[%s]},"
			  "\"elapsed_ms\":40.5,\"error\":null}",
		      g->probe, strcmp(g->probe, "tcg-only") ? "true" : "false", summary, reasons.data ? reasons.data : "");
	kq_buf_free(&reasons);
	return kq_buf_steal(&b);
}

/* ---- one run ---- */

struct metric {
	const char *workload, *metric, *unit;
	double native, tcg_pct;
	int pct; /* which KVM percentage: 0 cpu, 1 mem, 2 net, 3 disk */
};

static const struct metric metrics[] = {
	{ "sysbench-cpu", "events_per_second", "events/s", 10000, 19, 0 },
	{ "sysbench-cpu-1t", "events_per_second", "events/s", 5000, 19, 0 },
	{ "stream", "copy_mbps", "MB/s", 20000, 8, 1 },
	{ "stream", "scale_mbps", "MB/s", 18000, 5, 1 },
	{ "stream", "add_mbps", "MB/s", 19000, 5, 1 },
	{ "stream", "triad_mbps", "MB/s", 19000, 5, 1 },
	{ "fio-seqread", "seqread_mbps", "MB/s", 2000, 4, 3 },
	{ "fio-seqwrite", "seqwrite_mbps", "MB/s", 1500, 60, 3 },
	{ "fio-randread", "randread_iops", "IOPS", 20000, 27, 3 },
	{ "iperf3-h2g", "gbps", "Gbit/s", 40, 2.5, 2 },
	{ "iperf3-g2h", "gbps", "Gbit/s", 40, 1.1, 2 },
	{ "iperf3-h2g-tap", "gbps", "Gbit/s", 40, 3, 2 },
};

#define ITERATIONS 2

static int add_run(struct store *s, const struct gen_run *g, int64_t *run_id, struct kq_err *err)
{
	struct gen_check checks[32];
	size_t nchecks = make_checks(g, checks);
	char *probe = probe_json(g, checks, nchecks);
	const struct store_host host = { g->arch, g->model, g->soc, g->kernel, g->page };
	const struct store_run_info info = { .profile = "quick", .suite_version = g->suite, .qemu_version = "7.2.22",
					     .guest_image_hash = g->image,
					     .command_line = "kvmqual run --profile quick", .probe_json = probe };
	if (store_batch_begin(s, err))
		goto fail_free;
	int64_t run = store_begin_run(s, &host, &info, err);
	free(probe);
	probe = NULL;
	if (run < 0)
		goto fail;
	*run_id = run;
	struct store_check sc[32];
	for (size_t i = 0; i < nchecks; i++)
		sc[i] = (struct store_check){ checks[i].id, checks[i].status, checks[i].value, checks[i].detail,
					      checks[i].hint };
	if (store_add_checks(s, run, sc, nchecks, err))
		goto fail;
	for (int kvm = 0; kvm <= g->kvm; kvm++) {
		double median = kvm ? g->boot_kvm : g->boot_tcg;
		/* three boots whose median is exactly the one asked for */
		const double spread[] = { 0.97, 1.0, 1.05 };
		for (int i = 0; i < 3; i++) {
			struct store_boot_sample b = { kvm ? "kvm" : "tcg", i + 1, median * spread[i], median * 0.1,
						       median * spread[i] * 0.85, median * 0.05, NULL };
			if (store_add_boot_sample(s, run, &b, err))
				goto fail;
		}
	}
	const double pcts[4] = { g->cpu, g->mem, g->net, g->disk };
	const char *conditions = "{\"load1\":0.4,\"procs_running\":1}";
	for (size_t m = 0; m < KQ_ARRAY_SIZE(metrics); m++) {
		const struct metric *mt = &metrics[m];
		int tap = !strcmp(mt->workload, "iperf3-h2g-tap");
		if (tap && strcmp(g->netdev, "tap"))
			continue;
		double native = mt->native * (0.9 + 0.2 * rnd());
		double values[3] = { native, native * mt->tcg_pct / 100, native * pcts[mt->pct] / 100 };
		const char *accels[3] = { "native", "tcg", "kvm" };
		for (int a = 0; a < 3; a++) {
			if (a == 2 && (!g->kvm || isnan(pcts[mt->pct])))
				continue;
			/* two iterations, symmetric around the median */
			for (int it = 0; it < ITERATIONS; it++) {
				struct store_sample sm = { accels[a], mt->workload, mt->metric, mt->unit,
							   values[a] * (it ? 1.01 : 0.99), it + 1, 1, NULL, conditions };
				if (store_add_sample(s, run, &sm, err))
					goto fail;
			}
		}
		int have_kvm = g->kvm && !isnan(pcts[mt->pct]);
		struct store_speedup sp = { mt->workload, mt->metric,
					    have_kvm ? values[2] / values[1] : STORE_UNKNOWN,
					    have_kvm ? 100 * values[2] / values[0] : STORE_UNKNOWN,
					    100 * values[1] / values[0] };
		if (store_add_speedup(s, run, &sp, err))
			goto fail;
	}
	/* The verdicts, as runners/targets.conf judges. */
	const char *kvm_skip = "not measured: kvm did not run it";
	double net_gbps = g->kvm && !strcmp(g->netdev, "tap") && !isnan(g->net) ? 40 * g->net / 100 : NAN;
	double disk_mbps = g->kvm && !isnan(g->disk) ? 2000 * g->disk / 100 : NAN;
	struct {
		const char *target, *metric, *op;
		double value, threshold;
	} targets[] = {
		{ "boot", "boot.total_ms", "<", g->kvm ? g->boot_kvm : NAN, 2000 },
		{ "cpu", "sysbench-cpu.events_per_second (% of native)", ">=", g->kvm ? g->cpu : NAN, 85 },
		{ "memory", "stream.triad_mbps (% of native)", ">=", g->kvm ? g->mem : NAN, 95 },
		{ "network", "iperf3-h2g-tap.gbps", ">=", net_gbps, 1 },
		{ "disk", "fio-seqread.seqread_mbps", ">=", disk_mbps, 200 },
	};
	for (size_t i = 0; i < KQ_ARRAY_SIZE(targets); i++) {
		double v = targets[i].value, t = targets[i].threshold;
		int met = !strcmp(targets[i].op, "<") ? v < t : v >= t;
		struct store_verdict vd = { targets[i].target, targets[i].metric, v, t, targets[i].op,
					    isnan(v) ? "skip" : met ? "pass" : "fail", isnan(v) ? kvm_skip : "" };
		if (store_add_verdict(s, run, &vd, err))
			goto fail;
	}
	enum store_run_status st = !strcmp(g->status, "incomplete") ? STORE_RUN_INCOMPLETE
				   : !strcmp(g->status, "failed") ? STORE_RUN_FAILED
				   : !strcmp(g->status, "interrupted") ? STORE_RUN_INTERRUPTED : STORE_RUN_COMPLETE;
	const char *reason = g->reason[0] ? g->reason : NULL;
	if (!g->kvm && !reason && strcmp(g->probe, "tcg-only"))
		reason = "kvm: the guest did not boot: the guest did not become ready within 10000 ms";
	if (!g->kvm && st == STORE_RUN_COMPLETE && !g->reason[0])
		st = STORE_RUN_INCOMPLETE;
	if (strcmp(g->status, "running") && store_finish_run(s, run, st, reason, err))
		goto fail;
	return store_batch_commit(s, err);
fail_free:
	free(probe);
	return -1;
fail:
	store_batch_rollback(s);
	return -1;
}

/* The runs' times: the store stamps "now"; generated runs need their own. */
struct stamp {
	int64_t run;
	char started[40];
};

static int set_times(const char *path, const struct stamp *st, size_t n)
{
	sqlite3 *db;
	sqlite3_stmt *up;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	sqlite3_busy_timeout(db, 60000);
	int ok = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK &&
		 sqlite3_prepare_v2(db,
				    "UPDATE runs SET started_at = ?2, finished_at = CASE WHEN finished_at IS NULL THEN NULL"
				    " ELSE strftime('%Y-%m-%dT%H:%M:%fZ', ?2, '+40 seconds') END WHERE id = ?1",
				    -1, &up, NULL) == SQLITE_OK;
	for (size_t i = 0; ok && i < n; i++) {
		sqlite3_bind_int64(up, 1, st[i].run);
		sqlite3_bind_text(up, 2, st[i].started, -1, SQLITE_STATIC);
		ok = sqlite3_step(up) == SQLITE_DONE;
		sqlite3_reset(up);
	}
	if (ok) {
		sqlite3_finalize(up);
		ok = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
	}
	/* Checkpoint and drop the log: the file alone is the store. */
	sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	sqlite3_close(db);
	return ok ? 0 : -1;
}

static int export_bundle(const char *db, const char *json, struct kq_err *err)
{
	struct store *s = store_open(db, NULL, err);
	if (!s)
		return -1;
	FILE *f = fopen(json, "w");
	if (!f) {
		store_close(s);
		return kq_error(err, "%s: cannot create", json);
	}
	int rc = store_export(s, 0, STORE_FORMAT_JSON, f, err);
	if (fclose(f) != 0 && !rc)
		rc = kq_error(err, "%s: write error", json);
	store_close(s);
	return rc;
}

/* ---- spec mode ---- */

static int parse_spec(const char *spec, struct gen_run *g, int index)
{
	run_defaults(g);
	snprintf(g->started, sizeof(g->started), "2026-01-01T00:%02d:00.000Z", index % 60);
	char *copy = kq_xstrdup(spec), *save = NULL;
	int ret = 0;
	for (char *kv = strtok_r(copy, ",", &save); kv && !ret; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq) {
			fprintf(stderr, "matrix-gen: '%s' is not key=value\n", kv);
			ret = -1;
			break;
		}
		*eq = '\0';
		const char *k = kv, *v = eq + 1;
		struct {
			const char *key;
			char *dst;
			size_t size;
		} strs[] = {
			{ "model", g->model, sizeof(g->model) }, { "soc", g->soc, sizeof(g->soc) },
			{ "kernel", g->kernel, sizeof(g->kernel) }, { "arch", g->arch, sizeof(g->arch) },
			{ "started", g->started, sizeof(g->started) }, { "status", g->status, sizeof(g->status) },
			{ "probe", g->probe, sizeof(g->probe) }, { "netdev", g->netdev, sizeof(g->netdev) },
			{ "image", g->image, sizeof(g->image) }, { "suite", g->suite, sizeof(g->suite) },
			{ "reason", g->reason, sizeof(g->reason) }, { "el", g->el, sizeof(g->el) },
			{ "gic", g->gic, sizeof(g->gic) },
		};
		struct {
			const char *key;
			double *dst;
		} nums[] = {
			{ "boot", &g->boot_kvm }, { "tcgboot", &g->boot_tcg }, { "cpu", &g->cpu },
			{ "mem", &g->mem }, { "net", &g->net }, { "disk", &g->disk },
		};
		int found = 0;
		for (size_t i = 0; i < KQ_ARRAY_SIZE(strs) && !found; i++)
			if (!strcmp(k, strs[i].key)) {
				snprintf(strs[i].dst, strs[i].size, "%s", v);
				found = 1;
			}
		for (size_t i = 0; i < KQ_ARRAY_SIZE(nums) && !found; i++)
			if (!strcmp(k, nums[i].key)) {
				*nums[i].dst = !strcmp(v, "none") ? NAN : strtod(v, NULL);
				found = 1;
			}
		if (!found && !strcmp(k, "kvm")) {
			g->kvm = atoi(v) != 0;
			found = 1;
		}
		if (!found && !strcmp(k, "emulated")) {
			g->emulated = atoi(v) != 0;
			found = 1;
		}
		if (!found && !strcmp(k, "page")) {
			g->page = atol(v);
			found = 1;
		}
		if (!found) {
			fprintf(stderr, "matrix-gen: unknown key '%s'\n", k);
			ret = -1;
		}
	}
	if (!strcmp(g->probe, "tcg-only"))
		g->kvm = 0;
	free(copy);
	return ret;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

static int spec_mode(const char *out, int count, char **specs)
{
	struct gen_run *runs = kq_xcalloc((size_t)count + 1, sizeof(*runs));
	for (int i = 0; i < count; i++) {
		if (parse_spec(specs[i], &runs[i], i)) {
			free(runs);
			return 2;
		}
	}
	int bundle = ends_with(out, ".json");
	char tmpdir[] = "/tmp/matrix-gen.XXXXXX";
	char *db = NULL;
	if (bundle) {
		if (!mkdtemp(tmpdir)) {
			perror("matrix-gen: mkdtemp");
			free(runs);
			return 1;
		}
		db = kq_xasprintf("%s/store.db", tmpdir);
	} else {
		db = kq_xstrdup(out);
	}
	struct kq_err err = { "" };
	struct store *s = store_open(db, NULL, &err);
	struct stamp *stamps = kq_xcalloc((size_t)count + 1, sizeof(*stamps));
	int rc = s ? 0 : -1;
	for (int i = 0; !rc && i < count; i++) {
		rc = add_run(s, &runs[i], &stamps[i].run, &err);
		snprintf(stamps[i].started, sizeof(stamps[i].started), "%s", runs[i].started);
	}
	free(runs);
	store_close(s);
	if (!rc && set_times(db, stamps, (size_t)count))
		rc = kq_error(&err, "%s: cannot set the runs' times", db);
	if (!rc && bundle)
		rc = export_bundle(db, out, &err);
	if (bundle) {
		char *cmd = kq_xasprintf("rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "matrix-gen: cannot remove %s\n", tmpdir);
		free(cmd);
	}
	free(stamps);
	free(db);
	if (rc) {
		fprintf(stderr, "matrix-gen: %s\n", err.msg);
		return 1;
	}
	printf("matrix-gen: %d runs into %s\n", count, out);
	return 0;
}

/* ---- bench mode ---- */

static const char *const boards[] = {
	"Raspberry Pi 5 Model B", "Raspberry Pi 4 Model B", "Rock 5B", "Orange Pi 5", "Pixel 8",
	"Pixel 7", "Galaxy S23", "Jetson Orin Nano", "Ampere Altra Dev Kit", "Apple M1 (Asahi)",
	"Khadas VIM4", "Odroid N2+", "Pine64 RockPro64", "Radxa Zero 3", "Honeycomb LX2",
};
static const char *const socs[] = {
	"brcm,bcm2712", "brcm,bcm2711", "rockchip,rk3588", "rockchip,rk3588s", "google,gs301",
	"google,gs201", "qcom,sm8550", "nvidia,tegra234", "ampere,altra", "apple,t8103",
	"amlogic,a311d2", "amlogic,s922x", "rockchip,rk3399", "rockchip,rk3566", "nxp,lx2160a",
};

/* A device's class decides its runs: 0 qualified, 1 limited, 2 TCG only,
 * 3 emulated lab host; qualified devices have a flaky run now and then. */
static void device_run(int device, int run, struct gen_run *g)
{
	run_defaults(g);
	int cls = device % 20 < 14 ? 0 : device % 20 < 17 ? 1 : device % 20 < 19 ? 2 : 3;
	snprintf(g->model, sizeof(g->model), "%s #%04d", boards[device % KQ_ARRAY_SIZE(boards)], device);
	snprintf(g->soc, sizeof(g->soc), "%s", socs[device % KQ_ARRAY_SIZE(socs)]);
	snprintf(g->kernel, sizeof(g->kernel), "6.%d.%d-%d-arm64", 1 + device % 9, device % 40, 1 + device % 3);
	g->page = device % 7 == 0 ? 16384 : 4096;
	time_t t = 1767225600 + (time_t)run * 86400 + (time_t)device * 60; /* 2026-01-01 + run days */
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(g->started, sizeof(g->started), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	g->boot_kvm = 600 + 900 * rnd();
	g->boot_tcg = 8000 + 4000 * rnd();
	g->cpu = 90 + 9 * rnd();
	g->mem = 95.5 + 4 * rnd();
	g->net = 60 + 40 * rnd();
	g->disk = 85 + 14 * rnd();
	if (run % 50 == 49)
		snprintf(g->image, sizeof(g->image), "%064d", 2); /* a newer guest image now and then */
	switch (cls) {
	case 0:
		if (run % 10 == 9)
			g->kvm = 0; /* a flaky run: KVM did not boot */
		break;
	case 1:
		snprintf(g->probe, sizeof(g->probe), "kvm-limited");
		snprintf(g->gic, sizeof(g->gic), "v2");
		g->cpu = 70 + 10 * rnd();
		snprintf(g->netdev, sizeof(g->netdev), "user");
		break;
	case 2:
		snprintf(g->probe, sizeof(g->probe), "tcg-only");
		g->kvm = 0;
		break;
	default:
		g->emulated = 1;
		g->boot_kvm = 5000 + 1000 * rnd();
		break;
	}
}

/* One device's runs into s, in one transaction (as fast as a lab's nightly
 * import), each run's id and start time noted in stamps[*n...]. */
static int add_device_runs(struct store *s, int dev, int runs, struct stamp *stamps, size_t *n, struct kq_err *err)
{
	int rc = store_batch_begin(s, err);
	for (int r = 0; !rc && r < runs; r++) {
		struct gen_run g;
		device_run(dev, r, &g);
		rc = add_run(s, &g, &stamps[*n].run, err);
		snprintf(stamps[(*n)++].started, sizeof(stamps[0].started), "%s", g.started);
	}
	return rc ? rc : store_batch_commit(s, err);
}

static int bench_mode(const char *out, int devices, int runs, int dbs, int bundle_devices)
{
	if (mkdir(out, 0777) != 0 && access(out, W_OK) != 0) {
		perror(out);
		return 1;
	}
	char *bdir = kq_xasprintf("%s/bundles", out);
	mkdir(bdir, 0777);
	struct kq_err err = { "" };
	int store_devices = devices - bundle_devices;
	struct stamp *stamps = kq_xcalloc((size_t)runs * (size_t)(store_devices / dbs + 2), sizeof(*stamps));
	int rc = 0;
	for (int d = 0; !rc && d < dbs; d++) {
		char *db = kq_xasprintf("%s/store-%02d.db", out, d);
		unlink(db);
		struct store *s = store_open(db, NULL, &err);
		size_t n = 0;
		rc = s ? 0 : -1;
		for (int dev = d; !rc && dev < store_devices; dev += dbs)
			rc = add_device_runs(s, dev, runs, stamps, &n, &err);
		store_close(s);
		if (!rc && set_times(db, stamps, n))
			rc = kq_error(&err, "%s: cannot set the runs' times", db);
		fprintf(stderr, "matrix-gen: %s: %zu runs\n", db, n);
		free(db);
	}
	for (int dev = store_devices; !rc && dev < devices; dev++) {
		char *db = kq_xasprintf("%s/bundle-tmp.db", out);
		char *json = kq_xasprintf("%s/device-%04d.json", bdir, dev);
		unlink(db);
		struct store *s = store_open(db, NULL, &err);
		rc = s ? 0 : -1;
		size_t n = 0;
		if (!rc)
			rc = add_device_runs(s, dev, runs, stamps, &n, &err);
		store_close(s);
		if (!rc && set_times(db, stamps, n))
			rc = kq_error(&err, "%s: cannot set the runs' times", db);
		if (!rc)
			rc = export_bundle(db, json, &err);
		char *wal = kq_xasprintf("%s-wal", db), *shm = kq_xasprintf("%s-shm", db);
		unlink(db);
		unlink(wal);
		unlink(shm);
		free(wal);
		free(shm);
		free(db);
		free(json);
	}
	free(stamps);
	free(bdir);
	if (rc) {
		fprintf(stderr, "matrix-gen: %s\n", err.msg);
		return 1;
	}
	printf("matrix-gen: %d devices x %d runs: %d in %d stores, %d as bundles, under %s\n", devices, runs,
	       store_devices, dbs, bundle_devices, out);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "spec"))
		return spec_mode(argv[2], argc - 3, argv + 3);
	if (argc >= 2 && !strcmp(argv[1], "bench")) {
		const char *out = NULL;
		int devices = 1000, runs = 100, dbs = 10, bundle_devices = 50;
		for (int i = 2; i < argc; i++) {
			const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
			if (!v)
				goto usage;
			if (!strcmp(a, "--out"))
				out = v;
			else if (!strcmp(a, "--devices"))
				devices = atoi(v);
			else if (!strcmp(a, "--runs"))
				runs = atoi(v);
			else if (!strcmp(a, "--dbs"))
				dbs = atoi(v);
			else if (!strcmp(a, "--bundle-devices"))
				bundle_devices = atoi(v);
			else if (!strcmp(a, "--seed"))
				rng_state = strtoull(v, NULL, 0) | 1;
			else
				goto usage;
			i++;
		}
		if (!out || devices <= 0 || runs <= 0 || dbs <= 0 || bundle_devices < 0 || bundle_devices > devices)
			goto usage;
		return bench_mode(out, devices, runs, dbs, bundle_devices);
	}
usage:
	fprintf(stderr, "usage: matrix-gen bench --out DIR [--devices N] [--runs R] [--dbs D] [--bundle-devices B]"
			" [--seed S]\n       matrix-gen spec OUT.db|OUT.json RUNSPEC...\n");
	return 2;
}
