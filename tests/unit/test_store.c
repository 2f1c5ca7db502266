/* The results store on real SQLite files in a temporary directory: schema
 * and migrations, refusals, two writing processes, recovery of a killed
 * run, both export formats, and the guest's view of the CPU's
 * vulnerabilities through export and import. */
#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../store/import.h"
#include "../../store/store.h"
#include "sql.h"
#include "test.h"

struct tmp {
	char dir[64];
	char db[128];
};

static void tmp_init(struct tmp *t, const char *name)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/kvmqual-store.XXXXXX");
	if (!mkdtemp(t->dir))
		abort();
	snprintf(t->db, sizeof(t->db), "%s/%s", t->dir, name);
}

static void tmp_free(struct tmp *t)
{
	char *cmd = kq_xasprintf("rm -rf '%s'", t->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", t->dir);
	free(cmd);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		abort();
	fwrite(data, 1, len, f);
	fclose(f);
}

static const struct store_host test_host = {
	.arch = "aarch64", .model = "Raspberry Pi 5 Model B Rev 1.0", .soc = "bcm2712",
	.kernel_release = "6.6.31+rpt-rpi-2712", .page_size = 16384,
};

static const struct store_run_info test_info = {
	.profile = "quick", .suite_version = "0.1.0", .qemu_version = "7.2.22",
	.guest_image_hash = "sha256:abc", .command_line = "kvmqual run --profile quick",
	.probe_json = "{\"schema\": \"kvmqual.probe\", \"schema_version\": 1, \"checks\": []}",
};

static struct store_sample sample(const char *accel, int iteration, double value)
{
	return (struct store_sample){
		.accel = accel, .workload = "sysbench-cpu", .metric = "events_per_s", .unit = "events/s",
		.value = value, .iteration = iteration, .higher_is_better = 1,
		.conditions = "{\"cpu_freq_khz\": 2400000, \"governor\": \"performance\", \"load\": 0.05, \"throttled\": false}",
	};
}

/* A store with one complete run holding one of everything. */
static int64_t fill(struct store *s)
{
	struct kq_err err = { "" };
	int64_t run = store_begin_run(s, &test_host, &test_info, &err);
	CHECK(run > 0);
	const struct store_check checks[] = {
		{ "kvm.device", "PASS", "ok", "/dev/kvm opens", NULL },
		{ "kvm.mode", "WARN", "pvm", "the kvm_pvm module provides KVM", "only PVM guests boot" },
	};
	CHECK_INT(store_add_checks(s, run, checks, 2, &err), 0);
	struct store_boot_sample boot = { "tcg", 0, 1014.5, 120, 700, 194.5, NULL };
	CHECK_INT(store_add_boot_sample(s, run, &boot, &err), 0);
	boot = (struct store_boot_sample){ "kvm", 0, 250, STORE_UNKNOWN, STORE_UNKNOWN, STORE_UNKNOWN, "throttled" };
	CHECK_INT(store_add_boot_sample(s, run, &boot, &err), 0);
	CHECK_INT(store_batch_begin(s, &err), 0);
	for (int i = 0; i < 3; i++) {
		struct store_sample sm = sample("tcg", i, 100.25 + i);
		CHECK_INT(store_add_sample(s, run, &sm, &err), 0);
		sm = sample("native", i, 1000 + i);
		sm.flags = "throttled,fallback";
		CHECK_INT(store_add_sample(s, run, &sm, &err), 0);
	}
	CHECK_INT(store_batch_commit(s, &err), 0);
	struct store_verdict v = { "boot under KVM", "boot.total_ms", 250, 2000, "<", "pass", "250 ms < 2000 ms" };
	CHECK_INT(store_add_verdict(s, run, &v, &err), 0);
	v = (struct store_verdict){ "CPU", "sysbench-cpu.events_per_s", STORE_UNKNOWN, 85, ">=", "skip", "no KVM" };
	CHECK_INT(store_add_verdict(s, run, &v, &err), 0);
	struct store_speedup sp = { "sysbench-cpu", "events_per_s", STORE_UNKNOWN, STORE_UNKNOWN, 10.1 };
	CHECK_INT(store_add_speedup(s, run, &sp, &err), 0);
	CHECK_INT(store_finish_run(s, run, STORE_RUN_INCOMPLETE, "kvm: guest never ready", &err), 0);
	if (err.msg[0])
		printf("    error: %s\n", err.msg);
	return run;
}

TEST(store_create_insert_reopen)
{
	struct tmp t;
	tmp_init(&t, "results/sub/kvmqual.db"); /* directories are created */
	struct kq_err err = { "" };
	int recovered = -1;
	struct store *s = store_open(t.db, &recovered, &err);
	CHECK(s != NULL);
	if (!s) {
		printf("    %s\n", err.msg);
		tmp_free(&t);
		return;
	}
	CHECK_INT(recovered, 0);
	int64_t run = fill(s);
	store_close(s);

	s = store_open(t.db, &recovered, &err);
	CHECK(s != NULL);
	CHECK_INT(recovered, 0);
	/* the same host identity is one row, whatever the run */
	int64_t run2 = store_begin_run(s, &test_host, NULL, &err);
	CHECK_INT(run2, run + 1);
	CHECK_INT(store_finish_run(s, run2, STORE_RUN_RUNNING, NULL, &err), -1);
	CHECK_INT(store_finish_run(s, 999, STORE_RUN_COMPLETE, NULL, &err), -1);
	CHECK(strstr(err.msg, "cannot finish run 999: it is no longer in the store") != NULL);
	CHECK_INT(store_finish_run(s, run2, STORE_RUN_COMPLETE, NULL, &err), 0);
	store_close(s);

	CHECK_INT(sql_int(t.db, "PRAGMA user_version"), store_schema_version());
	CHECK_INT(sql_int(t.db, "SELECT count(*) FROM schema_migrations"), store_schema_version());
	char *mode = sql_text(t.db, "PRAGMA journal_mode");
	CHECK_STR(mode, "wal");
	free(mode);
	CHECK_INT(sql_int(t.db, "SELECT count(*) FROM hosts"), 1);
	CHECK_INT(sql_int(t.db, "SELECT page_size FROM hosts"), 16384);
	CHECK_INT(sql_int(t.db, "SELECT count(*) FROM runs"), 2);
	CHECK_INT(sql_int(t.db, "SELECT count(*) FROM checks"), 2);
	CHECK_INT(sql_int(t.db, "SELECT count(*) FROM boot_samples WHERE kernel_ms IS NULL"), 1);
	CHECK_INT(sql_int(t.db, "SELECT count(*) FROM samples"), 6);
	CHECK_INT(sql_int(t.db, "SELECT count(*) FROM verdicts WHERE value IS NULL"), 1);
	CHECK_INT(sql_int(t.db, "SELECT count(*) FROM speedups WHERE kvm_over_tcg IS NULL"), 1);
	char *status = sql_text(t.db, "SELECT status || ': ' || reason FROM runs WHERE id = 1");
	CHECK_STR(status, "incomplete: kvm: guest never ready");
	free(status);
	char *finished = sql_text(t.db, "SELECT finished_at FROM runs WHERE id = 1");
	CHECK(finished && strlen(finished) == 24 && finished[23] == 'Z'); /* 2026-01-01T00:00:00.000Z */
	free(finished);
	tmp_free(&t);
}

TEST(store_host_key_is_stable)
{
	char a[17], b[17];
	store_host_key(&test_host, a);
	CHECK_STR(a, "7861ba7ec42add87");
	struct store_host other = test_host;
	other.page_size = 4096;
	store_host_key(&other, b);
	CHECK(strcmp(a, b) != 0);
	/* fields are separated: moving a character between them changes the key */
	struct store_host x = { "ab", "c", "", "", 0 }, y = { "a", "bc", "", "", 0 };
	store_host_key(&x, a);
	store_host_key(&y, b);
	CHECK(strcmp(a, b) != 0);
}

TEST(store_migrates_an_empty_file)
{
	struct tmp t;
	tmp_init(&t, "empty.db");
	write_file(t.db, "", 0);
	struct kq_err err = { "" };
	struct store *s = store_open(t.db, NULL, &err);
	CHECK(s != NULL);
	store_close(s);
	CHECK_INT(sql_int(t.db, "PRAGMA user_version"), store_schema_version());
	CHECK_INT(sql_int(t.db, "SELECT count(*) FROM schema_migrations"), store_schema_version());
	CHECK_INT(sql_int(t.db, "SELECT max(version) FROM schema_migrations"), store_schema_version());
	CHECK_INT(sql_int(t.db, "PRAGMA application_id"), 0x6b767173);
	tmp_free(&t);
}

TEST(store_refuses_a_newer_schema)
{
	struct tmp t;
	tmp_init(&t, "new.db");
	sql_exec(t.db, "CREATE TABLE future (x); PRAGMA user_version = 7");
	struct kq_err err = { "" };
	struct store *s = store_open(t.db, NULL, &err);
	CHECK(s == NULL);
	store_close(s);
	CHECK(strstr(err.msg, t.db) != NULL);
	char *knows = kq_xasprintf("schema version 7 is newer than this kvmqual knows (%d)", store_schema_version());
	CHECK(strstr(err.msg, knows) != NULL);
	free(knows);
	/* and leaves it alone */
	CHECK_INT(sql_int(t.db, "PRAGMA user_version"), 7);
	tmp_free(&t);
}

TEST(store_refuses_garbage_and_foreign_databases)
{
	struct tmp t;
	tmp_init(&t, "garbage.db");
	char junk[4096];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)("not sqlite, just text\n"[i % 22]);
	write_file(t.db, junk, sizeof(junk));
	struct kq_err err = { "" };
	struct store *s = store_open(t.db, NULL, &err);
	CHECK(s == NULL);
	CHECK(strstr(err.msg, t.db) != NULL);
	CHECK(strstr(err.msg, "not a SQLite database, or a corrupt one") != NULL);

	/* a real database whose schema page is damaged */
	snprintf(t.db, sizeof(t.db), "%s/corrupt.db", t.dir);
	s = store_open(t.db, NULL, &err);
	fill(s);
	store_close(s);
	sql_exec(t.db, "PRAGMA journal_mode = DELETE");
	FILE *f = fopen(t.db, "r+b");
	CHECK(f != NULL);
	if (f) {
		fseek(f, 100, SEEK_SET); /* page 1's b-tree header: the schema table */
		fwrite(junk, 1, 200, f);
		fclose(f);
	}
	s = store_open(t.db, NULL, &err);
	CHECK(s == NULL);
	store_close(s);
	CHECK(strstr(err.msg, t.db) != NULL);
	CHECK(strstr(err.msg, "corrupt") != NULL);

	/* somebody else's SQLite file: refused before anything in it changes
	 * (it stays in its rollback-journal mode) */
	snprintf(t.db, sizeof(t.db), "%s/other.db", t.dir);
	sql_exec(t.db, "CREATE TABLE photos (id)");
	s = store_open(t.db, NULL, &err);
	CHECK(s == NULL);
	CHECK(strstr(err.msg, "not a kvmqual store") != NULL);
	char *mode = sql_text(t.db, "PRAGMA journal_mode");
	CHECK_STR(mode, "delete");
	free(mode);
	sql_exec(t.db, "PRAGMA application_id = 42");
	s = store_open(t.db, NULL, &err);
	CHECK(s == NULL);
	CHECK(strstr(err.msg, "another application (application_id 0x2a)") != NULL);
	mode = sql_text(t.db, "PRAGMA journal_mode");
	CHECK_STR(mode, "delete");
	free(mode);

	/* a directory */
	s = store_open(t.dir, NULL, &err);
	CHECK(s == NULL);
	CHECK(strstr(err.msg, "not a regular file") != NULL);
	tmp_free(&t);
}

TEST(store_rejects_invalid_json)
{
	struct tmp t;
	tmp_init(&t, "json.db");
	struct kq_err err = { "" };
	struct store *s = store_open(t.db, NULL, &err);
	struct store_run_info info = test_info;
	info.probe_json = "{not json";
	CHECK_INT(store_begin_run(s, &test_host, &info, &err), -1);
	CHECK(strstr(err.msg, "probe_is_json") != NULL);
	int64_t run = store_begin_run(s, &test_host, &test_info, &err);
	struct store_sample sm = sample("tcg", 0, 1);
	sm.conditions = "{\"governor\":";
	CHECK_INT(store_add_sample(s, run, &sm, &err), -1);
	CHECK(strstr(err.msg, "conditions_is_json") != NULL);
	sm = sample("kvm-ish", 0, 1);
	CHECK_INT(store_add_sample(s, run, &sm, &err), -1);
	CHECK(strstr(err.msg, "sample_accel_known") != NULL);
	/* a sample for a run that does not exist: foreign keys are on */
	sm = sample("tcg", 0, 1);
	CHECK_INT(store_add_sample(s, run + 100, &sm, &err), -1);
	CHECK(strstr(err.msg, "FOREIGN KEY") != NULL);
	store_close(s);
	tmp_free(&t);
}

/* One writer process: its own run, count samples in batches of batch. */
static int writer(const char *path, int count, int batch)
{
	struct kq_err err = { "" };
	struct store *s = store_open(path, NULL, &err);
	if (!s) {
		fprintf(stderr, "writer %d: %s\n", (int)getpid(), err.msg);
		return 1;
	}
	int64_t run = store_begin_run(s, &test_host, &test_info, &err);
	if (run < 0)
		goto fail;
	for (int i = 0; i < count; i += batch) {
		if (store_batch_begin(s, &err))
			goto fail;
		for (int j = i; j < i + batch && j < count; j++) {
			struct store_sample sm = sample("tcg", j, j * 0.5);
			if (store_add_sample(s, run, &sm, &err))
				goto fail;
		}
		if (store_batch_commit(s, &err))
			goto fail;
	}
	if (store_finish_run(s, run, STORE_RUN_COMPLETE, NULL, &err))
		goto fail;
	store_close(s);
	return 0;
fail:
	fprintf(stderr, "writer %d: %s\n", (int)getpid(), err.msg);
	store_close(s);
	return 1;
}

TEST(store_two_processes_write_at_once)
{
	struct tmp t;
	tmp_init(&t, "shared.db");
	/* Both start on a file that does not exist yet: creation and migration
	 * race too. */
	pid_t pids[2];
	for (int i = 0; i < 2; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(writer(t.db, 5000, 50));
		CHECK(pids[i] > 0);
	}
	for (int i = 0; i < 2; i++) {
		int status = -1;
		CHECK_INT(waitpid(pids[i], &status, 0), pids[i]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	CHECK_INT(sql_int(t.db, "SELECT count(*) FROM runs WHERE status = 'complete'"), 2);
	CHECK_INT(sql_int(t.db, "SELECT count(*) FROM samples"), 10000);
	CHECK_INT(sql_int(t.db, "SELECT count(DISTINCT run_id) FROM samples"), 2);
	CHECK_INT(sql_int(t.db, "SELECT min(n) FROM (SELECT count(*) n FROM samples GROUP BY run_id)"), 5000);
	CHECK_INT(sql_int(t.db, "SELECT count(*) FROM schema_migrations"), store_schema_version());
	CHECK_INT(sql_int(t.db, "SELECT count(*) FROM hosts"), 1);
	tmp_free(&t);
}

TEST(store_recovers_a_run_whose_process_died)
{
	struct tmp t;
	tmp_init(&t, "recover.db");
	struct kq_err err = { "" };
	int recovered = -1;
	struct store *s = store_open(t.db, &recovered, &err);
	int64_t mine = store_begin_run(s, &test_host, &test_info, &err); /* alive: this process */
	store_close(s);

	pid_t pid = fork();
	if (pid == 0) {
		struct store *c = store_open(t.db, NULL, &err);
		int64_t run = c ? store_begin_run(c, &test_host, &test_info, &err) : -1;
		_exit(run > 0 ? 0 : 1); /* like SIGKILL: no finish, no close */
	}
	int status = -1;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	s = store_open(t.db, &recovered, &err);
	CHECK(s != NULL);
	CHECK_INT(recovered, 1);
	store_close(s);
	char *dead = sql_text(t.db, "SELECT status || ': ' || reason FROM runs WHERE id = 2");
	CHECK_STR(dead, "interrupted: the process running it died (killed?)");
	free(dead);
	char *alive = sql_text(t.db, "SELECT status FROM runs WHERE id = 1");
	CHECK_STR(alive, "running");
	free(alive);

	/* the same pid on another boot (the machine rebooted) is not alive */
	char *sql = kq_xasprintf("UPDATE runs SET boot_id = 'another-boot' WHERE id = %lld", (long long)mine);
	sql_exec(t.db, sql);
	free(sql);
	s = store_open(t.db, &recovered, &err);
	CHECK_INT(recovered, 1);
	store_close(s);
	/* and a pid reused by another process (different start time) neither */
	s = store_open(t.db, NULL, &err);
	int64_t third = store_begin_run(s, &test_host, &test_info, &err);
	store_close(s);
	sql = kq_xasprintf("UPDATE runs SET pid_start = pid_start + 1 WHERE id = %lld", (long long)third);
	sql_exec(t.db, sql);
	free(sql);
	s = store_open(t.db, &recovered, &err);
	CHECK_INT(recovered, 1);
	store_close(s);
	CHECK_INT(sql_int(t.db, "SELECT count(*) FROM runs WHERE status = 'interrupted'"), 3);
	tmp_free(&t);
}

TEST(store_readers_show_dead_runs_interrupted)
{
	struct tmp t;
	tmp_init(&t, "dead.db");
	struct kq_err err = { "" };
	struct store *s = store_open(t.db, NULL, &err);
	store_close(s);
	pid_t pid = fork();
	if (pid == 0) {
		struct store *c = store_open(t.db, NULL, &err);
		int64_t run = c ? store_begin_run(c, &test_host, &test_info, &err) : -1;
		_exit(run > 0 ? 0 : 1); /* like SIGKILL: no finish, no close */
	}
	int status = -1;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* A reader writes nothing, yet shows the run as the next writer will
	 * store it. */
	s = store_open_readonly(t.db, &err);
	CHECK(s != NULL);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	CHECK_INT(store_export(s, 0, STORE_FORMAT_JSON, f, &err), 0);
	fclose(f);
	store_close(s);
	cJSON *doc = cJSON_Parse(text);
	cJSON *run = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "runs"), 0);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(run, "status")), "interrupted");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(run, "reason")), "the process running it died (killed?)");
	cJSON_Delete(doc);
	free(text);
	char *stored = sql_text(t.db, "SELECT status FROM runs");
	CHECK_STR(stored, "running");
	free(stored);
	tmp_free(&t);
}

static char *export_to_string(struct store *s, int64_t run, enum store_format format, int *rc)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct kq_err err = { "" };
	*rc = store_export(s, run, format, f, &err);
	fclose(f);
	if (*rc)
		printf("    export: %s\n", err.msg);
	return text;
}

TEST(store_csv_quoting)
{
	const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain", "plain" },
		{ "", "" },
		{ "a,b", "\"a,b\"" },
		{ "say \"hi\"", "\"say \"\"hi\"\"\"" },
		{ "two\nlines", "\"two\nlines\"" },
		{ "cr\r", "\"cr\r\"" },
		{ " spaces kept ", " spaces kept " },
	};
	for (size_t i = 0; i < KQ_ARRAY_SIZE(cases); i++) {
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);
		store_csv_field(f, cases[i].in);
		fclose(f);
		CHECK_STR(text, cases[i].out);
		free(text);
	}

	struct tmp t;
	tmp_init(&t, "csv.db");
	struct kq_err err = { "" };
	struct store *s = store_open(t.db, NULL, &err);
	int64_t run = store_begin_run(s, &test_host, &test_info, &err);
	struct store_sample sm = {
		.accel = "tcg", .workload = "fio \"seq\", read", .metric = "bw\nMB", .unit = "MB/s", .value = 0.1,
		.iteration = 2, .higher_is_better = 1, .flags = "throttled,fallback",
		.conditions = "{\"governor\": \"schedutil\"}",
	};
	CHECK_INT(store_add_sample(s, run, &sm, &err), 0);
	int rc;
	char *csv = export_to_string(s, run, STORE_FORMAT_CSV, &rc);
	CHECK_INT(rc, 0);
	char key[17];
	store_host_key(&test_host, key);
	char *want = kq_xasprintf(
		"run_id,host_key,arch,started_at,accel,workload,metric,unit,value,iteration,higher_is_better,flags,conditions\n"
		"1,%s,aarch64,", key);
	CHECK(csv && !strncmp(csv, want, strlen(want)));
	CHECK(csv && strstr(csv, "Z,tcg,\"fio \"\"seq\"\", read\",\"bw\nMB\",MB/s,0.1,2,1,\"throttled,fallback\","
				 "\"{\"\"governor\"\":\"\"schedutil\"\"}\"\n") != NULL);
	free(want);
	free(csv);
	store_close(s);
	tmp_free(&t);
}

TEST(store_json_export_parses_back)
{
	struct tmp t;
	tmp_init(&t, "json.db");
	struct kq_err err = { "" };
	struct store *s = store_open(t.db, NULL, &err);
	int64_t run = fill(s);
	int64_t other = store_begin_run(s, &test_host, NULL, &err);
	int rc;
	char *text = export_to_string(s, run, STORE_FORMAT_JSON, &rc);
	CHECK_INT(rc, 0);
	cJSON *doc = cJSON_Parse(text);
	CHECK(doc != NULL);
	if (!doc)
		printf("    not JSON: %s\n", text);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "schema")), "kvmqual.export");
	CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(doc, "version")), 1);
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(doc, "error")));
	cJSON *runs = cJSON_GetObjectItem(doc, "runs");
	CHECK_INT(cJSON_GetArraySize(runs), 1);
	cJSON *r = cJSON_GetArrayItem(runs, 0);
	CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(r, "id")), run);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(r, "status")), "incomplete");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(r, "qemu_version")), "7.2.22");
	cJSON *host = cJSON_GetObjectItem(r, "host");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(host, "soc")), "bcm2712");
	CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(host, "page_size")), 16384);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "probe"), "schema")),
		  "kvmqual.probe");
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(r, "checks")), 2);
	cJSON *boots = cJSON_GetObjectItem(r, "boot_samples");
	CHECK_INT(cJSON_GetArraySize(boots), 2);
	CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(boots, 0), "total_ms")) == 1014.5);
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(boots, 1), "kernel_ms")));
	cJSON *samples = cJSON_GetObjectItem(r, "samples");
	CHECK_INT(cJSON_GetArraySize(samples), 6);
	cJSON *first = cJSON_GetArrayItem(samples, 0);
	CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(first, "value")) == 100.25);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(first, "conditions"), "governor")),
		  "performance");
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(first, "flags")), 0);
	cJSON *flags = cJSON_GetObjectItem(cJSON_GetArrayItem(samples, 1), "flags");
	CHECK_INT(cJSON_GetArraySize(flags), 2);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(flags, 1)), "fallback");
	cJSON *verdicts = cJSON_GetObjectItem(r, "verdicts");
	CHECK_INT(cJSON_GetArraySize(verdicts), 2);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(verdicts, 0), "op")), "<");
	cJSON *sp = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "speedups"), 0);
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(sp, "kvm_over_tcg")));
	CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(sp, "tcg_pct_of_native")) == 10.1);
	cJSON_Delete(doc);
	free(text);

	/* every run; an unknown run is an error */
	text = export_to_string(s, 0, STORE_FORMAT_JSON, &rc);
	doc = cJSON_Parse(text);
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "runs")), 2);
	cJSON *second = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "runs"), 1);
	CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(second, "id")), other);
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(second, "probe")));
	cJSON_Delete(doc);
	free(text);
	char *none = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&none, &len);
	CHECK_INT(store_export(s, 42, STORE_FORMAT_JSON, f, &err), -1);
	fclose(f);
	free(none);
	CHECK(strstr(err.msg, "no run 42") != NULL);
	store_close(s);
	tmp_free(&t);
}

/* The member "guest_vulnerabilities" of a bundle's first run, as text. */
static char *guest_vulns_of(const char *bundle)
{
	cJSON *doc = cJSON_Parse(bundle);
	cJSON *run = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "runs"), 0);
	char *text = cJSON_PrintUnformatted(cJSON_GetObjectItem(run, "guest_vulnerabilities"));
	cJSON_Delete(doc);
	return text ? text : kq_xstrdup("(none)");
}

TEST(store_guest_vulnerabilities_round_trip)
{
	struct tmp t;
	tmp_init(&t, "gv.db");
	struct kq_err err = { "" };
	struct store *s = store_open(t.db, NULL, &err);
	int64_t run = fill(s);
	/* What a guest may say, cleaned by the runner's parser or not: the
	 * store keeps text as it is. */
	struct store_guest_vulnerabilities tcg = {
		"tcg", "{\"meltdown\":\"Not affected\",\"spectre_v2\":\"Vulnerable <b>&amp;\\n\"}", NULL };
	struct store_guest_vulnerabilities kvm = { "kvm", NULL, "grep in the guest: exit 2: no such directory" };
	CHECK_INT(store_add_guest_vulnerabilities(s, run, &tcg, &err), 0);
	CHECK_INT(store_add_guest_vulnerabilities(s, run, &kvm, &err), 0);
	/* One per run and accelerator; an array or broken JSON is refused. */
	CHECK_INT(store_add_guest_vulnerabilities(s, run, &tcg, &err), -1);
	CHECK(strstr(err.msg, "UNIQUE") != NULL);
	struct store_guest_vulnerabilities bad = { "tcg", "[\"meltdown\"]", NULL };
	int64_t other = store_begin_run(s, &test_host, NULL, &err);
	CHECK_INT(store_add_guest_vulnerabilities(s, other, &bad, &err), -1);
	CHECK(strstr(err.msg, "guest_vulnerabilities_is_object") != NULL);
	bad.vulnerabilities = "{\"x\":";
	CHECK_INT(store_add_guest_vulnerabilities(s, other, &bad, &err), -1);
	bad = (struct store_guest_vulnerabilities){ "native", NULL, "x" };
	CHECK_INT(store_add_guest_vulnerabilities(s, other, &bad, &err), -1);
	CHECK(strstr(err.msg, "guest_vuln_accel_known") != NULL);
	int rc;
	char *first = export_to_string(s, run, STORE_FORMAT_JSON, &rc);
	store_close(s);
	char *gv = guest_vulns_of(first);
	CHECK_STR(gv, "[{\"accel\":\"tcg\",\"status\":\"known\",\"reason\":null,\"vulnerabilities\":{\"meltdown\":"
		      "\"Not affected\",\"spectre_v2\":\"Vulnerable <b>&amp;\\n\"}},{\"accel\":\"kvm\",\"status\":"
		      "\"unknown\",\"reason\":\"grep in the guest: exit 2: no such directory\",\"vulnerabilities\":null}]");

	/* export -> import -> export keeps it, member for member. */
	char *bundle = kq_xasprintf("%s/bundle.json", t.dir), *again = kq_xasprintf("%s/again.db", t.dir);
	write_file(bundle, first, strlen(first));
	struct import_summary sum;
	CHECK_INT(store_import_bundle(again, bundle, NULL, &sum, &err), 0);
	CHECK_INT(sum.imported, 1);
	s = store_open_readonly(again, &err);
	char *second = export_to_string(s, sum.last_run_id, STORE_FORMAT_JSON, &rc);
	store_close(s);
	char *gv2 = guest_vulns_of(second);
	CHECK_STR(gv2, gv);

	/* Refused whole, naming the member: a view that is not a map of
	 * texts, an unknown status, an accelerator that boots no guest, and
	 * a status that contradicts what it holds (the schema's check). */
	static const char *const refusals[][3] = {
		{ "\"vulnerabilities\":{\"meltdown\"", "\"vulnerabilities\":{\"x\":1,\"meltdown\"",
		  "member 'vulnerabilities' holds something that is not a string" },
		{ "\"status\":\"known\"", "\"status\":\"safe\"", "member 'status' is not one of the values" },
		{ "\"accel\":\"tcg\",\"status\"", "\"accel\":\"native\",\"status\"", "member 'accel' is not one of" },
		{ "\"status\":\"unknown\"", "\"status\":\"known\"", "guest_vuln_known_has_them" },
	};
	char *third = kq_xasprintf("%s/third.db", t.dir), *at;
	for (size_t i = 0; i < KQ_ARRAY_SIZE(refusals); i++) {
		at = strstr(first, refusals[i][0]);
		CHECK(at != NULL);
		if (!at)
			continue;
		char *edited = kq_xasprintf("%.*s%s%s", (int)(at - first), first, refusals[i][1], at + strlen(refusals[i][0]));
		write_file(bundle, edited, strlen(edited));
		free(edited);
		err.msg[0] = '\0';
		CHECK_INT(store_import_bundle(third, bundle, NULL, &sum, &err), -1);
		if (!strstr(err.msg, refusals[i][2]) || !strstr(err.msg, "guest's view of the CPU's vulnerabilities "))
			test_fail(__FILE__, __LINE__, "refusal %zu: '%s' does not say '%s'", i, err.msg, refusals[i][2]);
		if (access(third, F_OK) == 0)
			CHECK_INT(sql_int(third, "SELECT count(*) FROM runs"), 0);
	}
	/* A host field that is not UTF-8 (found by fuzz_import): export would
	 * write it back as U+FFFD, another host with another key. */
	at = strstr(first, "\"arch\":\"aarch64\"");
	CHECK(at != NULL);
	if (at) {
		char *edited = kq_xasprintf("%.*s\"arch\":\"aarch6\xb4\"%s", (int)(at - first), first, at + 16);
		write_file(bundle, edited, strlen(edited));
		free(edited);
		CHECK_INT(store_import_bundle(third, bundle, NULL, &sum, &err), -1);
		if (!strstr(err.msg, "run 0: host: member 'arch' is not UTF-8 text"))
			test_fail(__FILE__, __LINE__, "%s", err.msg);
	}
	/* A bundle of a kvmqual from before the member imports (no rows). */
	at = strstr(first, ",\n\"guest_vulnerabilities\":[");
	CHECK(at != NULL);
	if (at) {
		char *old = kq_xasprintf("%.*s}],\n\"error\":null}\n", (int)(at - first), first);
		write_file(bundle, old, strlen(old));
		free(old);
		CHECK_INT(store_import_bundle(third, bundle, NULL, &sum, &err), 0);
		CHECK_INT(sql_int(third, "SELECT count(*) FROM guest_vulnerabilities"), 0);
	}
	free(third);
	free(gv);
	free(gv2);
	free(first);
	free(second);
	free(bundle);
	free(again);
	tmp_free(&t);
}

/* A store of schema version 1 (a tracked fixture, opened read-only and
 * never migrated by the export) exports an empty view per run. */
TEST(store_guest_vulnerabilities_of_an_old_store)
{
	struct kq_err err = { "" };
	struct store *s = store_open_readonly("tests/fixtures/results/x86-pvm-host.db", &err);
	CHECK(s != NULL);
	if (!s) {
		printf("    %s\n", err.msg);
		return;
	}
	int rc;
	char *text = export_to_string(s, 0, STORE_FORMAT_JSON, &rc);
	store_close(s);
	CHECK_INT(rc, 0);
	cJSON *doc = cJSON_Parse(text);
	cJSON *runs = cJSON_GetObjectItem(doc, "runs"), *run;
	CHECK(cJSON_GetArraySize(runs) > 0);
	cJSON_ArrayForEach(run, runs)
	{
		cJSON *gv = cJSON_GetObjectItem(run, "guest_vulnerabilities");
		CHECK(cJSON_IsArray(gv) && cJSON_GetArraySize(gv) == 0);
	}
	cJSON_Delete(doc);
	free(text);
}
