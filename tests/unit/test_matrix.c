/* kvmqual matrix: the read-only store open, the run picking, the bundle
 * reader's refusals, the status rules, merging and conflicts, and the
 * writers' escaping.  Stores are made with the store's own API in a
 * temporary directory; bundles with store_export or by hand. */
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../matrix/matrix.h"
#include "test.h"

static char *make_tmpdir(void)
{
	char *dir = kq_xstrdup("/tmp/kvmqual-matrix.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	return dir;
}

static void remove_tree(char *dir)
{
	char *cmd = kq_xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stdout, "    cannot remove %s\n", dir);
	free(cmd);
	free(dir);
}

static void sql(const char *path, const char *statement)
{
	sqlite3 *db;
	if (sqlite3_open(path, &db) != SQLITE_OK || sqlite3_exec(db, statement, NULL, NULL, NULL) != SQLITE_OK)
		fprintf(stdout, "    sql(%s): %s\n", statement, sqlite3_errmsg(db));
	sqlite3_close(db);
}

static char *slurp(const char *path, size_t *len)
{
	char *data = NULL;
	struct kq_err err;
	if (kq_read_file(path, 1 << 26, &data, len, &err))
		fprintf(stdout, "    %s\n", err.msg);
	return data;
}

/* What a generated run is like. */
struct spec {
	const char *model;
	int kvm_boots;       /* 0: KVM did not boot */
	const char *probe;   /* kvm-ready, kvm-limited, tcg-only */
	double cpu_pct;      /* KVM % of native for the cpu target */
	const char *status;  /* complete, incomplete, ... */
	const char *image;
	int emulated;
};

static const char *probe_doc(const struct spec *sp)
{
	static char buf[1024];
	snprintf(buf, sizeof(buf),
		 "{\"schema\":\"kvmqual.probe\",\"host\":{\"arch\":\"aarch64\",\"emulated\":%s},"
		 "\"checks\":[{\"id\":\"cpu.boot_el\",\"status\":\"%s\",\"value\":\"%s\",\"detail\":\"d\"},"
		 "{\"id\":\"gic.version\",\"status\":\"warn\",\"value\":\"v2\",\"detail\":\"gic-400\"}],"
		 "\"verdict\":{\"status\":\"%s\",\"kvm_usable\":%s,\"summary\":\"summary of %s\",\"reasons\":[%s]}}",
		 sp->emulated ? "true" : "false", strcmp(sp->probe, "tcg-only") ? "pass" : "fail",
		 strcmp(sp->probe, "tcg-only") ? "EL2" : "EL1", sp->probe,
		 strcmp(sp->probe, "tcg-only") ? "true" : "false", sp->probe,
		 !strcmp(sp->probe, "kvm-limited") ? "\"gic.version: v2\"" : "");
	return buf;
}

static int64_t add_run(struct store *s, const struct spec *sp)
{
	struct kq_err err = { "" };
	const struct store_host host = { "aarch64", sp->model, "soc", "6.1.0", 4096 };
	const struct store_run_info info = { .profile = "quick", .suite_version = "0.1.0",
					     .guest_image_hash = sp->image ? sp->image : "img-a",
					     .probe_json = probe_doc(sp) };
	int64_t run = store_begin_run(s, &host, &info, &err);
	CHECK(run > 0);
	const struct store_check checks[] = { { "kvm.device", "pass", "ok", "/dev/kvm", NULL },
					      { "mem.page_size", "pass", "4K", NULL, NULL } };
	CHECK_INT(store_add_checks(s, run, checks, 2, &err), 0);
	for (int i = 0; i < 3; i++) {
		struct store_boot_sample tb = { "tcg", i, 9000 + i, STORE_UNKNOWN, STORE_UNKNOWN, STORE_UNKNOWN, NULL };
		CHECK_INT(store_add_boot_sample(s, run, &tb, &err), 0);
		if (i < sp->kvm_boots) {
			struct store_boot_sample kb = { "kvm", i, 800 + 100 * i, STORE_UNKNOWN, STORE_UNKNOWN,
							STORE_UNKNOWN, NULL };
			CHECK_INT(store_add_boot_sample(s, run, &kb, &err), 0);
		}
	}
	int kvm = sp->kvm_boots > 0;
	struct store_speedup spd = { "sysbench-cpu", "events_per_second", kvm ? 5 : STORE_UNKNOWN,
				     kvm ? sp->cpu_pct : STORE_UNKNOWN, 19 };
	CHECK_INT(store_add_speedup(s, run, &spd, &err), 0);
	struct store_verdict v = { "boot", "boot.total_ms", kvm ? 900 : STORE_UNKNOWN, 2000, "<",
				   kvm ? "pass" : "skip", kvm ? NULL : "not measured: kvm did not run it" };
	CHECK_INT(store_add_verdict(s, run, &v, &err), 0);
	v = (struct store_verdict){ "cpu", "sysbench-cpu.events_per_second (% of native)",
				    kvm ? sp->cpu_pct : STORE_UNKNOWN, 85, ">=",
				    !kvm ? "skip" : sp->cpu_pct >= 85 ? "pass" : "fail",
				    kvm ? NULL : "not measured: kvm did not run it" };
	CHECK_INT(store_add_verdict(s, run, &v, &err), 0);
	enum store_run_status st = !strcmp(sp->status, "complete") ? STORE_RUN_COMPLETE : STORE_RUN_INCOMPLETE;
	CHECK_INT(store_finish_run(s, run, st, kvm ? NULL : "kvm: the guest did not boot", &err), 0);
	if (err.msg[0])
		fprintf(stdout, "    %s\n", err.msg);
	return run;
}

static struct store *new_store(const char *dir, const char *name, char **path)
{
	*path = kq_xasprintf("%s/%s", dir, name);
	struct kq_err err;
	struct store *s = store_open(*path, NULL, &err);
	CHECK(s != NULL);
	return s;
}

static const struct matrix_row *row_of(const struct matrix *m, const char *model, size_t nth)
{
	for (size_t i = 0; i < m->row_count; i++)
		if (!strcmp(m->rows[i].run->model, model) && nth-- == 0)
			return &m->rows[i];
	return NULL;
}

static int has_mark(const struct matrix_row *row, const char *kind)
{
	for (size_t i = 0; row && i < row->mark_count; i++)
		if (!strcmp(row->marks[i].kind, kind))
			return 1;
	return 0;
}

TEST(matrix_store_readonly_refusals)
{
	char *dir = make_tmpdir();
	struct kq_err err;
	char *missing = kq_xasprintf("%s/none.db", dir);
	CHECK(store_open_readonly(missing, &err) == NULL);
	CHECK(strstr(err.msg, "No such file") != NULL);
	CHECK(access(missing, F_OK) != 0); /* not created */
	CHECK(store_open_readonly(dir, &err) == NULL);
	CHECK(strstr(err.msg, "not a regular file") != NULL);
	char *empty = kq_xasprintf("%s/empty.db", dir);
	FILE *f = fopen(empty, "w");
	fclose(f);
	CHECK(store_open_readonly(empty, &err) == NULL);
	CHECK(strstr(err.msg, "empty") != NULL);
	char *junk = kq_xasprintf("%s/junk.db", dir);
	f = fopen(junk, "w");
	fputs("this is not a database, not at all, and it is long enough to be read as one page header", f);
	fclose(f);
	CHECK(store_open_readonly(junk, &err) == NULL);
	CHECK(strstr(err.msg, "not a SQLite database") != NULL);
	char *foreign = kq_xasprintf("%s/foreign.db", dir);
	sql(foreign, "CREATE TABLE t (x); PRAGMA application_id = 42;");
	CHECK(store_open_readonly(foreign, &err) == NULL);
	CHECK(strstr(err.msg, "another application") != NULL);
	char *plain = kq_xasprintf("%s/plain.db", dir);
	sql(plain, "CREATE TABLE t (x);");
	CHECK(store_open_readonly(plain, &err) == NULL);
	CHECK(strstr(err.msg, "not a kvmqual store") != NULL);
	char *newer;
	struct store *s = new_store(dir, "newer.db", &newer);
	store_close(s);
	sql(newer, "PRAGMA user_version = 9;");
	CHECK(store_open_readonly(newer, &err) == NULL);
	char *knows = kq_xasprintf("schema version 9 is newer than this kvmqual knows (%d)", store_schema_version());
	CHECK(strstr(err.msg, knows) != NULL);
	free(knows);
	free(missing);
	free(empty);
	free(junk);
	free(foreign);
	free(plain);
	free(newer);
	remove_tree(dir);
}

TEST(matrix_store_read_leaves_file_alone)
{
	char *dir = make_tmpdir(), *path;
	struct store *s = new_store(dir, "a.db", &path);
	const struct spec sp = { "Board", 3, "kvm-ready", 97, "complete", NULL, 0 };
	add_run(s, &sp);
	store_close(s);
	size_t len_before, len_after;
	char *before = slurp(path, &len_before);
	struct matrix m;
	matrix_init(&m);
	struct kq_err err;
	CHECK_INT(matrix_read_store(&m, path, &err), 0);
	CHECK_INT(m.run_count, 1);
	char *after = slurp(path, &len_after);
	CHECK(before && after && len_before == len_after && !memcmp(before, after, len_before));
	/* immutable read: no log or shared memory file appears beside it */
	char *wal = kq_xasprintf("%s-wal", path), *shm = kq_xasprintf("%s-shm", path);
	CHECK(access(wal, F_OK) != 0);
	CHECK(access(shm, F_OK) != 0);
	/* writing through the read-only handle fails */
	struct store *ro = store_open_readonly(path, &err);
	CHECK(ro != NULL);
	if (ro) {
		const struct store_host host = { "aarch64", "x", "y", "z", 4096 };
		CHECK(store_begin_run(ro, &host, NULL, &err) < 0);
		store_close(ro);
	}
	matrix_free(&m);
	free(before);
	free(after);
	free(wal);
	free(shm);
	free(path);
	remove_tree(dir);
}

struct picked {
	int64_t ids[8];
	size_t count;
};

static int note_run(const struct store_run_record *r, void *ctx)
{
	struct picked *p = ctx;
	if (p->count < 8)
		p->ids[p->count++] = r->id;
	return 0;
}

TEST(matrix_store_pick)
{
	char *dir = make_tmpdir(), *path;
	struct store *s = new_store(dir, "a.db", &path);
	const struct spec good = { "A", 3, "kvm-ready", 97, "complete", NULL, 0 };
	const struct spec broken = { "A", 0, "kvm-ready", 0, "incomplete", NULL, 0 };
	const struct spec other = { "B", 0, "kvm-ready", 0, "incomplete", NULL, 0 };
	int64_t r1 = add_run(s, &good), r2 = add_run(s, &broken), r3 = add_run(s, &other);
	/* a run in progress is never "latest" */
	const struct store_host host = { "aarch64", "A", "soc", "6.1.0", 4096 };
	struct kq_err err;
	int64_t r4 = store_begin_run(s, &host, NULL, &err);
	CHECK(r4 > 0);
	struct store *ro = store_open_readonly(path, &err);
	CHECK(ro != NULL);
	const struct store_run_visitor v = { .run = note_run };
	struct picked p = { { 0 }, 0 };
	CHECK_INT(store_read_runs(ro, STORE_PICK_LATEST, 0, &v, &p, &err), 0);
	CHECK_INT(p.count, 2);
	CHECK_INT(p.ids[0], r2);
	CHECK_INT(p.ids[1], r3);
	p.count = 0;
	CHECK_INT(store_read_runs(ro, STORE_PICK_LATEST_KVM, 0, &v, &p, &err), 0);
	CHECK_INT(p.count, 3);
	CHECK_INT(p.ids[0], r2);
	CHECK_INT(p.ids[1], r1);
	CHECK_INT(p.ids[2], r3);
	p.count = 0;
	CHECK_INT(store_read_runs(ro, STORE_PICK_RUN, r1, &v, &p, &err), 0);
	CHECK_INT(p.count, 1);
	CHECK_INT(p.ids[0], r1);
	p.count = 0;
	CHECK_INT(store_read_runs(ro, STORE_PICK_ALL, 0, &v, &p, &err), 0);
	CHECK_INT(p.count, 4);
	store_close(ro);
	store_close(s);
	free(path);
	remove_tree(dir);
}

/* The status rules on runs with known verdicts. */
TEST(matrix_status_rules)
{
	char *dir = make_tmpdir(), *path;
	struct store *s = new_store(dir, "a.db", &path);
	const struct spec specs[] = {
		{ "1 qualified", 3, "kvm-ready", 97, "complete", NULL, 0 },
		{ "2 slow cpu", 3, "kvm-ready", 70, "complete", NULL, 0 },
		{ "3 limited probe", 3, "kvm-limited", 97, "complete", NULL, 0 },
		{ "4 no kvm boot", 0, "kvm-ready", 0, "incomplete", NULL, 0 },
		{ "5 tcg only", 0, "tcg-only", 0, "incomplete", NULL, 0 },
		{ "6 emulated", 3, "kvm-ready", 97, "complete", NULL, 1 },
	};
	for (size_t i = 0; i < KQ_ARRAY_SIZE(specs); i++)
		add_run(s, &specs[i]);
	store_close(s);
	struct matrix m;
	matrix_init(&m);
	struct kq_err err;
	CHECK_INT(matrix_read_store(&m, path, &err), 0);
	CHECK_INT(matrix_build(&m, &err), 0);
	CHECK_INT(m.row_count, 6);
	CHECK_INT(m.devices, 6);
	const struct matrix_row *r = row_of(&m, "1 qualified", 0);
	CHECK(r && r->status == MATRIX_QUALIFIED && r->reason_count == 0);
	CHECK(r && fabs(r->cells[MC_CPU].value - 97) < 1e-9);
	CHECK(r && fabs(r->cells[MC_BOOT_KVM].value - 900) < 1e-9); /* median of 800, 900, 1000 */
	CHECK(r && fabs(r->cells[MC_SPEEDUP].value - 5) < 1e-9);
	CHECK(r && r->cells[MC_MEMORY].text == NULL && r->cells[MC_MEMORY].missing != NULL);
	r = row_of(&m, "2 slow cpu", 0);
	CHECK(r && r->status == MATRIX_LIMITED && r->reason_count == 1);
	CHECK(r && strstr(r->reasons[0], "cpu: 70 % of native (target >= 85 % of native)") != NULL);
	r = row_of(&m, "3 limited probe", 0);
	CHECK(r && r->status == MATRIX_LIMITED);
	CHECK(r && r->reason_count == 1 && !strcmp(r->reasons[0], "probe: gic.version: v2"));
	r = row_of(&m, "4 no kvm boot", 0);
	CHECK(r && r->status == MATRIX_NOT_QUALIFIED);
	CHECK(r && !strcmp(r->reasons[0], "kvm: the guest did not boot"));
	CHECK(r && r->cells[MC_BOOT_KVM].text == NULL && !strcmp(r->cells[MC_BOOT_KVM].missing, "KVM did not boot the guest"));
	r = row_of(&m, "5 tcg only", 0);
	CHECK(r && r->status == MATRIX_NOT_QUALIFIED);
	CHECK(r && !strcmp(r->reasons[0], "no usable KVM: summary of tcg-only"));
	CHECK(r && r->cells[MC_BOOT_EL].text && !strcmp(r->cells[MC_BOOT_EL].text, "EL1"));
	CHECK(r && !strcmp(r->cells[MC_BOOT_EL].status, "fail"));
	r = row_of(&m, "6 emulated", 0);
	CHECK(r && r->status == MATRIX_QUALIFIED && has_mark(r, "emulated"));
	CHECK_INT(m.counts[MATRIX_QUALIFIED], 2);
	CHECK_INT(m.counts[MATRIX_LIMITED], 2);
	CHECK_INT(m.counts[MATRIX_NOT_QUALIFIED], 2);
	matrix_free(&m);
	free(path);
	remove_tree(dir);
}

/* latest-qualifying skips a newer run where KVM failed, and says so. */
TEST(matrix_select_modes)
{
	char *dir = make_tmpdir(), *path;
	struct store *s = new_store(dir, "a.db", &path);
	const struct spec good = { "A", 3, "kvm-ready", 97, "complete", NULL, 0 };
	const struct spec broken = { "A", 0, "kvm-ready", 0, "incomplete", NULL, 0 };
	int64_t r1 = add_run(s, &good);
	int64_t r2 = add_run(s, &broken);
	store_close(s);
	enum matrix_select modes[] = { MATRIX_LATEST_QUALIFYING, MATRIX_LATEST, MATRIX_RUN, MATRIX_RUN };
	int64_t want[] = { r1, r2, r1, 0 };
	for (size_t i = 0; i < KQ_ARRAY_SIZE(modes); i++) {
		struct matrix m;
		matrix_init(&m);
		m.select = modes[i];
		m.select_run = i == 2 ? r1 : 99;
		struct kq_err err;
		CHECK_INT(matrix_read_store(&m, path, &err), 0);
		int rc = matrix_build(&m, &err);
		if (!want[i]) {
			CHECK_INT(rc, -1);
			CHECK(strstr(err.msg, "no input holds a run 99") != NULL);
		} else {
			CHECK_INT(rc, 0);
			CHECK_INT(m.row_count, 1);
			CHECK(m.row_count && m.rows[0].run->id == want[i]);
			CHECK_INT(m.row_count && has_mark(&m.rows[0], "newer-run"), i == 0);
		}
		matrix_free(&m);
	}
	free(path);
	remove_tree(dir);
}

static int export_to(const char *db, const char *json)
{
	struct kq_err err;
	struct store *s = store_open_readonly(db, &err);
	CHECK(s != NULL);
	if (!s)
		return -1;
	FILE *f = fopen(json, "w");
	int rc = store_export(s, 0, STORE_FORMAT_JSON, f, &err);
	fclose(f);
	store_close(s);
	return rc;
}

/* A store and its own export are the same runs: one row, two sources.
 * Another store claiming the same identity is a conflict; one changed
 * number in the export makes the same run differ. */
TEST(matrix_merge_and_conflicts)
{
	char *dir = make_tmpdir(), *a, *b;
	struct store *s = new_store(dir, "a.db", &a);
	const struct spec one = { "Board", 3, "kvm-ready", 97, "complete", NULL, 0 };
	add_run(s, &one);
	store_close(s);
	char *json = kq_xasprintf("%s/a.json", dir);
	CHECK_INT(export_to(a, json), 0);
	struct matrix m;
	struct kq_err err;
	matrix_init(&m);
	CHECK_INT(matrix_read_store(&m, a, &err), 0);
	CHECK_INT(matrix_read_bundle(&m, json, NULL, &err), 0);
	CHECK_INT(matrix_build(&m, &err), 0);
	CHECK_INT(m.row_count, 1);
	CHECK(m.row_count && m.rows[0].source_count == 2 && m.rows[0].mark_count == 0);
	matrix_free(&m);

	s = new_store(dir, "b.db", &b);
	const struct spec two = { "Board", 3, "kvm-ready", 88, "complete", "img-b", 0 };
	add_run(s, &two);
	store_close(s);
	matrix_init(&m);
	CHECK_INT(matrix_read_store(&m, a, &err), 0);
	CHECK_INT(matrix_read_store(&m, b, &err), 0);
	CHECK_INT(matrix_build(&m, &err), 0);
	CHECK_INT(m.row_count, 2);
	CHECK_INT(m.devices, 1);
	CHECK_INT(m.conflicts, 2);
	CHECK(has_mark(row_of(&m, "Board", 0), "conflict") && has_mark(row_of(&m, "Board", 1), "conflict"));
	CHECK(row_of(&m, "Board", 0) && strstr(row_of(&m, "Board", 0)->marks[0].detail, "different guest images"));
	matrix_free(&m);
	/* told to merge: one row, the newer run */
	matrix_init(&m);
	m.merge_sources = 1;
	CHECK_INT(matrix_read_store(&m, a, &err), 0);
	CHECK_INT(matrix_read_store(&m, b, &err), 0);
	CHECK_INT(matrix_build(&m, &err), 0);
	CHECK_INT(m.row_count, 1);
	CHECK(m.row_count && !strcmp(m.rows[0].run->guest_image_hash, "img-b"));
	matrix_free(&m);

	/* the same run, one number changed in the bundle */
	size_t len;
	char *text = slurp(json, &len);
	char *boot = text ? strstr(text, "\"total_ms\":900") : NULL;
	CHECK(boot != NULL);
	if (boot) {
		memcpy(boot, "\"total_ms\":901", 14);
		matrix_init(&m);
		CHECK_INT(matrix_read_store(&m, a, &err), 0);
		CHECK_INT(matrix_parse_bundle(&m, text, len, "edited.json", &err), 0);
		CHECK_INT(matrix_build(&m, &err), 0);
		CHECK_INT(m.row_count, 2);
		CHECK(has_mark(row_of(&m, "Board", 0), "same-run-differs"));
		CHECK(has_mark(row_of(&m, "Board", 1), "same-run-differs"));
		matrix_free(&m);
	}
	free(text);
	free(json);
	free(a);
	free(b);
	remove_tree(dir);
}

/* Bundles that must be refused, and what the message must say. */
static const struct {
	const char *doc;
	const char *says;
} bad_bundles[] = {
	{ "", "an empty file" },
	{ "not json", "not valid JSON: error at byte 0" },
	{ "{\"schema\":\"kvmqual.export\",\"version\":1,\"runs\":[", "ends early (truncated?)" },
	{ "[1,2]", "expected a results bundle" },
	{ "{\"version\":1,\"runs\":[]}", "schema: missing (expected a string)" },
	{ "{\"schema\":\"kvmqual.probe\",\"version\":1,\"runs\":[]}", "schema 'kvmqual.probe' is not a results bundle" },
	{ "{\"schema\":\"kvmqual.export\",\"version\":7,\"runs\":[]}", "version 7 of kvmqual.export is not one this kvmqual reads" },
	{ "{\"schema\":\"kvmqual.export\",\"version\":\"1\",\"runs\":[]}", "version: expected a number, got a string" },
	{ "{\"schema\":\"kvmqual.export\",\"version\":1.5,\"runs\":[]}", "expected an integer" },
	{ "{\"schema\":\"kvmqual.export\",\"version\":1,\"runs\":{}}", "runs: expected an array, got an object" },
	{ "{\"schema\":\"kvmqual.export\",\"version\":1,\"runs\":[3]}", "runs[0]: expected an object, got a number" },
	{ "{\"schema\":\"kvmqual.export\",\"version\":1,\"error\":\"disk full\",\"runs\":[]}", "failed: disk full" },
	{ "{\"schema\":\"kvmqual.export\",\"version\":1,\"runs\":[{\"id\":1,\"started_at\":\"t\",\"status\":\"complete\"}]}",
	  "runs[0].host: missing" },
	{ "{\"schema\":\"kvmqual.export\",\"version\":1,\"runs\":[{\"id\":1,\"started_at\":\"t\",\"status\":\"odd\"}]}",
	  "runs[0].status: 'odd' is not one of" },
	{ "{\"schema\":\"kvmqual.export\",\"version\":1,\"runs\":[{\"id\":1,\"started_at\":\"t\",\"status\":\"complete\","
	  "\"host\":{\"key\":\"0123456789abcdef\",\"arch\":\"aarch64\",\"model\":\"m\",\"soc\":\"s\","
	  "\"kernel_release\":\"k\",\"page_size\":\"4096\"}}]}",
	  "runs[0].host.page_size: expected a number or null, got a string" },
	{ "{\"schema\":\"kvmqual.export\",\"version\":1,\"runs\":[{\"id\":1,\"started_at\":\"t\",\"status\":\"complete\","
	  "\"host\":{\"key\":\"0123456789abcdef\",\"arch\":\"aarch64\",\"model\":\"m\",\"soc\":\"s\","
	  "\"kernel_release\":\"k\",\"page_size\":4096}}]}",
	  "does not match the host's fields" },
};

TEST(matrix_bundle_refusals)
{
	for (size_t i = 0; i < KQ_ARRAY_SIZE(bad_bundles); i++) {
		struct matrix m;
		matrix_init(&m);
		struct kq_err err = { "" };
		int rc = matrix_parse_bundle(&m, bad_bundles[i].doc, strlen(bad_bundles[i].doc), "bad.json", &err);
		if (rc != -1 || !strstr(err.msg, bad_bundles[i].says) || strncmp(err.msg, "bad.json: ", 10))
			test_fail(__FILE__, __LINE__, "bundle %zu: rc %d, message '%s', expected '%s'", i, rc, err.msg,
				  bad_bundles[i].says);
		CHECK_INT(m.run_count, 0);
		matrix_free(&m);
	}
}

/* A wrong member deep in a run's rows, after good runs: nothing is kept. */
TEST(matrix_bundle_wrong_type_in_rows)
{
	char *dir = make_tmpdir(), *path;
	struct store *s = new_store(dir, "a.db", &path);
	const struct spec one = { "Board", 3, "kvm-ready", 97, "complete", NULL, 0 };
	add_run(s, &one);
	add_run(s, &one);
	store_close(s);
	char *json = kq_xasprintf("%s/a.json", dir);
	CHECK_INT(export_to(path, json), 0);
	size_t len;
	char *text = slurp(json, &len);
	/* the second run's first verdict's status becomes a number */
	char *second = text ? strstr(text, "\"id\":2,") : NULL;
	char *verdicts = second ? strstr(second, "\"verdicts\":[") : NULL;
	char *status = verdicts ? strstr(verdicts, "\"status\":\"pass\"") : NULL;
	CHECK(status != NULL);
	if (status) {
		memcpy(status, "\"status\":123456", 15);
		struct matrix m;
		matrix_init(&m);
		struct kq_err err;
		CHECK_INT(matrix_parse_bundle(&m, text, len, "x.json", &err), -1);
		CHECK(strstr(err.msg, "x.json: runs[1].verdicts[0].status: expected a string, got a number") != NULL);
		CHECK_INT(m.run_count, 0);
		matrix_free(&m);
	}
	/* a matrix among the bundles is left out, not an error */
	struct matrix m;
	matrix_init(&m);
	struct kq_err err;
	const char *mx = "{\"schema\":\"kvmqual.matrix\",\"version\":1,\"rows\":[]}";
	CHECK_INT(matrix_parse_bundle(&m, mx, strlen(mx), "matrix.json", &err), 1);
	matrix_free(&m);
	free(text);
	free(json);
	free(path);
	remove_tree(dir);
}

TEST(matrix_short_text)
{
	static const struct {
		const char *in;
		size_t max;
		const char *out;
	} cases[] = {
		{ "short", 80, "short" },
		{ "first clause; second", 80, "first clause..." },
		{ "line one\nline two", 80, "line one..." },
		{ "abcdefghij", 4, "abcd..." },
		{ "caf\xc3\xa9 au lait", 4, "caf..." }, /* not inside the two bytes of e-acute */
		{ "", 10, "" },
	};
	for (size_t i = 0; i < KQ_ARRAY_SIZE(cases); i++) {
		char *got = matrix_short_text(cases[i].in, cases[i].max);
		CHECK_STR(got, cases[i].out);
		free(got);
	}
}

static char *render(const struct matrix *m, int (*fn)(const struct matrix *, FILE *, struct kq_err *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct kq_err err;
	CHECK_INT(fn(m, f, &err), 0);
	fclose(f);
	return buf;
}

/* Hostile names end up as text in every format. */
TEST(matrix_writers_escape)
{
	char *dir = make_tmpdir(), *path;
	struct store *s = new_store(dir, "a.db", &path);
	const struct spec evil = { "<script>alert(1)</script> \"quoted\", | piped", 3, "kvm-ready", 97, "complete",
				   NULL, 0 };
	add_run(s, &evil);
	store_close(s);
	struct matrix m;
	matrix_init(&m);
	struct kq_err err;
	CHECK_INT(matrix_read_store(&m, path, &err), 0);
	CHECK_INT(matrix_build(&m, &err), 0);
	char *html = render(&m, matrix_write_html);
	CHECK(html && !strstr(html, "<script>alert"));
	CHECK(html && strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt; &quot;quoted&quot;, | piped"));
	CHECK(html && strstr(html, "<table id=\"matrix\">"));
	CHECK(html && !strstr(html, "http:") && !strstr(html, "https:") && !strstr(html, "src="));
	char *md = render(&m, matrix_write_markdown);
	/* report.md's rule (kq_md_text): HTML and Markdown punctuation escaped. */
	CHECK(md && strstr(md, "\\<script\\>alert(1)\\</script\\> \"quoted\", \\| piped"));
	char *csv = render(&m, matrix_write_csv);
	CHECK(csv && strstr(csv, ",\"<script>alert(1)</script> \"\"quoted\"\", | piped\","));
	char *json = render(&m, matrix_write_json);
	cJSON *doc = json ? cJSON_Parse(json) : NULL;
	CHECK(doc != NULL);
	const cJSON *rows = cJSON_GetObjectItem(doc, "rows");
	const cJSON *model = cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 0), "model");
	CHECK(cJSON_IsString(model) && !strcmp(model->valuestring, evil.model));
	cJSON_Delete(doc);
	free(html);
	free(md);
	free(csv);
	free(json);
	matrix_free(&m);
	free(path);
	remove_tree(dir);
}

/* A store another process is writing (its log holds committed runs not
 * yet in the main file): the matrix reads through the log. */
TEST(matrix_store_read_through_live_wal)
{
	char *dir = make_tmpdir(), *path;
	struct store *writer = new_store(dir, "live.db", &path);
	const struct spec one = { "Live", 3, "kvm-ready", 97, "complete", NULL, 0 };
	add_run(writer, &one);
	char *wal = kq_xasprintf("%s-wal", path);
	struct stat sb;
	CHECK(stat(wal, &sb) == 0 && sb.st_size > 0); /* the run is in the log */
	struct matrix m;
	matrix_init(&m);
	struct kq_err err;
	CHECK_INT(matrix_read_store(&m, path, &err), 0);
	CHECK_INT(m.run_count, 1);
	CHECK_INT(matrix_build(&m, &err), 0);
	CHECK(m.row_count == 1 && m.rows[0].status == MATRIX_QUALIFIED);
	matrix_free(&m);
	store_close(writer);
	free(wal);
	free(path);
	remove_tree(dir);
}
