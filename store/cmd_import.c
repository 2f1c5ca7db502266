/* kvmqual import (import.h): bundles into the store (in a cmd_ file, like
 * cmd_export.c, so that the write side builds without cJSON).  A bundle comes from
 * another machine (a phone, a board, over a link that may have been cut):
 * every member is checked, with the file named in the message, before the
 * first row is written, and all runs go in one transaction. */
#include "import.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define BUNDLE_MAX (1u << 30)

/* ---- reading members ---- */

struct reader {
	const char *path;
	struct kq_err *err;
	int failed;
};

static void bad(struct reader *r, const char *fmt, const char *what, long idx)
{
	if (r->failed)
		return;
	r->failed = 1;
	char where[160];
	snprintf(where, sizeof(where), fmt, what, idx);
	kq_error(r->err, "%s: %s", r->path, where);
}

/* A string member, NULL when null or absent (allowed unless required). */
static const char *str(struct reader *r, const cJSON *o, const char *name, int required, const char *ctx, long idx)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (cJSON_IsString(v))
		return v->valuestring;
	if ((!v || cJSON_IsNull(v)) && !required)
		return NULL;
	char fmt[128];
	snprintf(fmt, sizeof(fmt), "%%s %%ld: member '%s' is %s", name, v ? "not a string" : "missing");
	bad(r, fmt, ctx, idx);
	return NULL;
}

/* A number member; NaN for null (unknown), an error when absent and required. */
static double num(struct reader *r, const cJSON *o, const char *name, int required, const char *ctx, long idx)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (cJSON_IsNumber(v) && isfinite(v->valuedouble))
		return v->valuedouble;
	if ((!v && !required) || cJSON_IsNull(v))
		return NAN;
	char fmt[128];
	snprintf(fmt, sizeof(fmt), "%%s %%ld: member '%s' is %s", name, v ? "not a number" : "missing");
	bad(r, fmt, ctx, idx);
	return NAN;
}

static int whole(double v)
{
	return isfinite(v) && v == floor(v) && fabs(v) < 1e15;
}

/* Flags come as an array of strings; the store keeps them comma-separated. */
static char *flags(struct reader *r, const cJSON *o, const char *ctx, long idx)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "flags");
	if (!v || cJSON_IsNull(v))
		return NULL;
	if (!cJSON_IsArray(v)) {
		bad(r, "%s %ld: member 'flags' is not an array", ctx, idx);
		return NULL;
	}
	struct kq_buf b;
	kq_buf_init(&b);
	const cJSON *f;
	cJSON_ArrayForEach(f, v)
	{
		if (!cJSON_IsString(f) || strchr(f->valuestring, ',')) {
			bad(r, "%s %ld: a flag is not a string without commas", ctx, idx);
			kq_buf_free(&b);
			return NULL;
		}
		kq_buf_printf(&b, "%s%s", b.len ? "," : "", f->valuestring);
	}
	if (!b.len) {
		kq_buf_free(&b);
		return NULL;
	}
	return kq_buf_steal(&b);
}

static const cJSON *array(struct reader *r, const cJSON *run, const char *name, long idx)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(run, name);
	if (!v || cJSON_IsNull(v))
		return NULL;
	if (!cJSON_IsArray(v)) {
		char fmt[96];
		snprintf(fmt, sizeof(fmt), "%%s %%ld: member '%s' is not an array", name);
		bad(r, fmt, "run", idx);
	}
	return v;
}

static int one_of(const char *s, const char *const *set)
{
	for (; s && *set; set++)
		if (!strcmp(s, *set))
			return 1;
	return 0;
}

/* Checks one run of the bundle completely (the same walk that writes it,
 * with s == NULL).  With s, writes it as run *id. */
static int walk_run(struct reader *r, struct store *s, const cJSON *run, long idx, int64_t *id)
{
	static const char *const statuses[] = { "complete", "incomplete", "failed", "interrupted", NULL };
	static const char *const guest_accels[] = { "kvm", "tcg", NULL };
	static const char *const sample_accels[] = { "kvm", "tcg", "native", NULL };
	static const char *const ops[] = { "<", "<=", ">", ">=", NULL };
	static const char *const verdict_status[] = { "pass", "fail", "skip", NULL };
	if (!cJSON_IsObject(run)) {
		bad(r, "%s %ld is not an object", "run", idx);
		return -1;
	}
	const char *started = str(r, run, "started_at", 1, "run", idx);
	const char *status = str(r, run, "status", 1, "run", idx);
	if (!r->failed && !one_of(status, statuses))
		bad(r, "%s %ld: status is not complete, incomplete, failed or interrupted (a run still going is not imported)",
		    "run", idx);
	const cJSON *host = cJSON_GetObjectItemCaseSensitive(run, "host");
	if (!r->failed && !cJSON_IsObject(host))
		bad(r, "%s %ld: no host object", "run", idx);
	if (r->failed)
		return -1;
	struct store_host h = {
		.arch = str(r, host, "arch", 1, "run", idx),
		.model = str(r, host, "model", 0, "run", idx),
		.soc = str(r, host, "soc", 0, "run", idx),
		.kernel_release = str(r, host, "kernel_release", 0, "run", idx),
	};
	double page = num(r, host, "page_size", 0, "run", idx);
	h.page_size = whole(page) && page > 0 ? (long)page : 0;
	const char *key = str(r, host, "key", 0, "run", idx);
	char computed[17];
	store_host_key(&h, computed);
	if (!r->failed && key && strcmp(key, computed))
		bad(r, "%s %ld: the host key does not match the host's own fields (edited?)", "run", idx);
	const cJSON *probe = cJSON_GetObjectItemCaseSensitive(run, "probe");
	if (!r->failed && probe && !cJSON_IsNull(probe) && !cJSON_IsObject(probe))
		bad(r, "%s %ld: member 'probe' is not an object", "run", idx);
	double pid = num(r, run, "pid", 0, "run", idx);
	if (!r->failed && !isnan(pid) && !whole(pid))
		bad(r, "%s %ld: member 'pid' is not a whole number", "run", idx);
	const char *boot_id = str(r, run, "boot_id", 0, "run", idx);
	const char *finished = str(r, run, "finished_at", 0, "run", idx);
	const char *reason = str(r, run, "reason", 0, "run", idx);
	const char *profile = str(r, run, "profile", 0, "run", idx);
	const char *suite = str(r, run, "suite_version", 0, "run", idx);
	const char *qemu = str(r, run, "qemu_version", 0, "run", idx);
	const char *image = str(r, run, "guest_image_hash", 0, "run", idx);
	const char *cmdline = str(r, run, "command_line", 0, "run", idx);
	const cJSON *checks = array(r, run, "checks", idx), *boots = array(r, run, "boot_samples", idx),
		    *samples = array(r, run, "samples", idx), *verdicts = array(r, run, "verdicts", idx),
		    *speedups = array(r, run, "speedups", idx);
	if (r->failed)
		return -1;

	if (s) {
		/* Already here: the same host, start time, boot and process. */
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(s->db,
				       "SELECT r.id FROM runs r JOIN hosts h ON h.id = r.host_id WHERE h.host_key = ?1"
				       " AND r.started_at = ?2 AND r.boot_id IS ?3 AND r.pid IS ?4",
				       -1, &st, NULL) != SQLITE_OK)
			return store_db_error(s, r->err, "looking for the run");
		sqlite3_bind_text(st, 1, computed, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, started, -1, SQLITE_STATIC);
		store_bind_text(st, 3, boot_id);
		if (!isnan(pid))
			sqlite3_bind_int64(st, 4, (sqlite3_int64)pid);
		int rc = sqlite3_step(st);
		*id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
		sqlite3_finalize(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return store_db_error(s, r->err, "looking for the run");
		if (*id)
			return 1;
		int64_t hid = store_host_id(s, &h, r->err);
		if (hid < 0)
			return -1;
		char *probe_text = probe && cJSON_IsObject(probe) ? cJSON_PrintUnformatted(probe) : NULL;
		if (sqlite3_prepare_v2(s->db,
				       "INSERT INTO runs (host_id, started_at, finished_at, status, reason, profile,"
				       " suite_version, qemu_version, guest_image_hash, command_line, pid, boot_id, probe_json)"
				       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
				       -1, &st, NULL) != SQLITE_OK) {
			free(probe_text);
			return store_db_error(s, r->err, "importing a run");
		}
		sqlite3_bind_int64(st, 1, hid);
		sqlite3_bind_text(st, 2, started, -1, SQLITE_STATIC);
		store_bind_text(st, 3, finished);
		sqlite3_bind_text(st, 4, status, -1, SQLITE_STATIC);
		store_bind_text(st, 5, reason);
		store_bind_text(st, 6, profile);
		store_bind_text(st, 7, suite);
		store_bind_text(st, 8, qemu);
		store_bind_text(st, 9, image);
		store_bind_text(st, 10, cmdline);
		if (!isnan(pid))
			sqlite3_bind_int64(st, 11, (sqlite3_int64)pid);
		store_bind_text(st, 12, boot_id);
		store_bind_text(st, 13, probe_text);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		free(probe_text);
		if (rc != SQLITE_DONE)
			return store_db_error(s, r->err, "importing a run");
		*id = sqlite3_last_insert_rowid(s->db);
	}

	const cJSON *e;
	long i = 0;
	cJSON_ArrayForEach(e, checks)
	{
		struct store_check c = { .id = str(r, e, "id", 1, "check", i), .status = str(r, e, "status", 1, "check", i),
					 .value = str(r, e, "value", 0, "check", i),
					 .detail = str(r, e, "detail", 0, "check", i),
					 .hint = str(r, e, "hint", 0, "check", i) };
		if (r->failed || (s && store_add_checks(s, *id, &c, 1, r->err)))
			return -1;
		i++;
	}
	i = 0;
	cJSON_ArrayForEach(e, boots)
	{
		struct store_boot_sample b = { .accel = str(r, e, "accel", 1, "boot sample", i),
					       .total_ms = num(r, e, "total_ms", 1, "boot sample", i),
					       .before_kernel_ms = num(r, e, "before_kernel_ms", 0, "boot sample", i),
					       .kernel_ms = num(r, e, "kernel_ms", 0, "boot sample", i),
					       .userspace_ms = num(r, e, "userspace_ms", 0, "boot sample", i) };
		double it = num(r, e, "iteration", 1, "boot sample", i);
		char *fl = flags(r, e, "boot sample", i);
		if (!r->failed && (!one_of(b.accel, guest_accels) || !whole(it) || isnan(b.total_ms)))
			bad(r, "%s %ld: accel is not kvm or tcg, or iteration or total_ms is not a number", "boot sample", i);
		b.iteration = r->failed ? 0 : (int)it;
		b.flags = fl;
		int rc = r->failed || (s && store_add_boot_sample(s, *id, &b, r->err));
		free(fl);
		if (rc)
			return -1;
		i++;
	}
	i = 0;
	cJSON_ArrayForEach(e, samples)
	{
		struct store_sample sm = { .accel = str(r, e, "accel", 1, "sample", i),
					   .workload = str(r, e, "workload", 1, "sample", i),
					   .metric = str(r, e, "metric", 1, "sample", i),
					   .unit = str(r, e, "unit", 0, "sample", i),
					   .value = num(r, e, "value", 1, "sample", i) };
		double it = num(r, e, "iteration", 1, "sample", i), hib = num(r, e, "higher_is_better", 1, "sample", i);
		const cJSON *cond = cJSON_GetObjectItemCaseSensitive(e, "conditions");
		if (!r->failed && (!one_of(sm.accel, sample_accels) || !whole(it) || (hib != 0 && hib != 1) ||
				   isnan(sm.value) || (cond && !cJSON_IsNull(cond) && !cJSON_IsObject(cond))))
			bad(r, "%s %ld: accel, iteration, value, higher_is_better or conditions is not what an export writes",
			    "sample", i);
		char *fl = flags(r, e, "sample", i);
		if (r->failed) {
			free(fl);
			return -1;
		}
		sm.iteration = (int)it;
		sm.higher_is_better = (int)hib;
		sm.flags = fl;
		char *ctext = s && cJSON_IsObject(cond) ? cJSON_PrintUnformatted(cond) : NULL;
		sm.conditions = ctext;
		int rc = s && store_add_sample(s, *id, &sm, r->err);
		free(fl);
		free(ctext);
		if (rc)
			return -1;
		i++;
	}
	i = 0;
	cJSON_ArrayForEach(e, verdicts)
	{
		struct store_verdict v = { .target = str(r, e, "target", 1, "verdict", i),
					   .metric = str(r, e, "metric", 1, "verdict", i),
					   .value = num(r, e, "value", 0, "verdict", i),
					   .threshold = num(r, e, "threshold", 1, "verdict", i),
					   .op = str(r, e, "op", 1, "verdict", i),
					   .status = str(r, e, "status", 1, "verdict", i),
					   .detail = str(r, e, "detail", 0, "verdict", i) };
		if (!r->failed && (!one_of(v.op, ops) || !one_of(v.status, verdict_status)))
			bad(r, "%s %ld: op or status is not one a verdict has", "verdict", i);
		if (r->failed || (s && store_add_verdict(s, *id, &v, r->err)))
			return -1;
		i++;
	}
	i = 0;
	cJSON_ArrayForEach(e, speedups)
	{
		struct store_speedup sp = { .workload = str(r, e, "workload", 1, "speed-up", i),
					    .metric = str(r, e, "metric", 1, "speed-up", i),
					    .kvm_over_tcg = num(r, e, "kvm_over_tcg", 0, "speed-up", i),
					    .kvm_pct_of_native = num(r, e, "kvm_pct_of_native", 0, "speed-up", i),
					    .tcg_pct_of_native = num(r, e, "tcg_pct_of_native", 0, "speed-up", i) };
		if (r->failed || (s && store_add_speedup(s, *id, &sp, r->err)))
			return -1;
		i++;
	}
	return 0;
}

int store_import_bundle(const char *db_path, const char *path, struct import_summary *sum, struct kq_err *err)
{
	memset(sum, 0, sizeof(*sum));
	char *text = NULL;
	size_t len = 0;
	if (kq_read_file(path, BUNDLE_MAX, &text, &len, err))
		return -1;
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	free(text);
	if (!root)
		return kq_error(err, "%s: not a complete JSON document (cut short? a bundle is what kvmqual export writes)",
				path);
	struct reader r = { .path = path, .err = err };
	const cJSON *schema = cJSON_GetObjectItemCaseSensitive(root, "schema");
	const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "version");
	const cJSON *runs = cJSON_GetObjectItemCaseSensitive(root, "runs");
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
	int rc = -1;
	if (!cJSON_IsString(schema) || strcmp(schema->valuestring, STORE_EXPORT_SCHEMA) || !cJSON_IsNumber(version)) {
		kq_error(err, "%s: not a kvmqual bundle (schema is not \"%s\")", path, STORE_EXPORT_SCHEMA);
		goto out;
	}
	if (version->valuedouble != STORE_EXPORT_VERSION) {
		kq_error(err, "%s: bundle version %g is not one this kvmqual imports (%d): a newer kvmqual wrote it?", path,
			 version->valuedouble, STORE_EXPORT_VERSION);
		goto out;
	}
	if (error && !cJSON_IsNull(error)) {
		kq_error(err, "%s: the export that wrote it failed (its error member is set)", path);
		goto out;
	}
	if (!cJSON_IsArray(runs) || cJSON_GetArraySize(runs) == 0) {
		kq_error(err, "%s: a bundle without runs", path);
		goto out;
	}
	/* Everything checked first: a bad member anywhere writes nothing. */
	const cJSON *run;
	long idx = 0;
	int64_t id;
	cJSON_ArrayForEach(run, runs)
	{
		if (walk_run(&r, NULL, run, idx++, &id))
			goto out;
	}
	int recovered = 0;
	struct store *s = store_open(db_path, &recovered, err);
	if (!s)
		goto out;
	if (store_batch_begin(s, err)) {
		store_close(s);
		goto out;
	}
	idx = 0;
	cJSON_ArrayForEach(run, runs)
	{
		int w = walk_run(&r, s, run, idx++, &id);
		if (w < 0) {
			store_batch_rollback(s);
			store_close(s);
			goto out;
		}
		if (w == 1)
			sum->duplicates++;
		else
			sum->imported++;
		sum->last_run_id = id;
	}
	if (store_batch_commit(s, err)) {
		store_batch_rollback(s);
		store_close(s);
		goto out;
	}
	store_close(s);
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

int cmd_import(int argc, char **argv)
{
	const char *db = STORE_DEFAULT_PATH;
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': db = optarg; break;
		case 'h':
		default:
			fprintf(ch == 'h' ? stdout : stderr,
				"usage: kvmqual import [--db FILE] BUNDLE...\n"
				"Adds the runs of each bundle (kvmqual export --format json, or what kvmqual remote\n"
				"brought back) to the store (default %s): every sample, boot, verdict, check and\n"
				"the run's provenance. A run the store already has is not added twice; a bundle\n"
				"that is cut short or of an unknown version is refused whole.\n"
				"Exit status: 0 all imported, 2 a bundle was refused (those before it are in).\n",
				STORE_DEFAULT_PATH);
			return ch == 'h' ? 0 : 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "kvmqual import: no bundle given (kvmqual import --db FILE BUNDLE...)\n");
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		struct import_summary sum;
		struct kq_err err;
		if (store_import_bundle(db, argv[i], &sum, &err)) {
			fprintf(stderr, "kvmqual import: %s; nothing of it was imported\n", err.msg);
			return 2;
		}
		printf("%s: %d run%s imported, %d already in %s (last: run %lld)\n", argv[i], sum.imported,
		       sum.imported == 1 ? "" : "s", sum.duplicates, db, (long long)sum.last_run_id);
	}
	return 0;
}
