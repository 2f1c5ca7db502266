/* kvmqual export's side of the store: one run or all of them as JSON
 * (schema kvmqual.export, the bundle that kvmqual report and kvmqual
 * matrix read) or the samples as CSV. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"


/* The shortest of %.15g..%.17g that reads back as the same double. */
static void format_double(char buf[32], double v)
{
	for (int digits = 15; digits <= 17; digits++) {
		snprintf(buf, 32, "%.*g", digits, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

/* A JSON string; bytes that are not UTF-8 (RFC 8259 wants it) become
 * U+FFFD, whatever the database held. */
static void json_string(FILE *out, const char *str)
{
	if (!str) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
		size_t n = kq_utf8_len(p);
		if (n != 1) {
			if (n)
				fwrite(p, 1, n, out);
			else
				fputs("\\ufffd", out);
			p += n ? n - 1 : 0;
			continue;
		}
		switch (*p) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		default:
			if (*p < 0x20)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

/* Flags are stored comma-separated and exported as an array of strings. */
static void json_flags(FILE *out, const char *flags)
{
	fputc('[', out);
	int first = 1;
	while (flags && *flags) {
		size_t len = strcspn(flags, ",");
		if (len) {
			char *one = kq_xasprintf("%.*s", (int)len, flags);
			if (!first)
				fputc(',', out);
			json_string(out, kq_strtrim(one));
			free(one);
			first = 0;
		}
		flags += len;
		if (*flags == ',')
			flags++;
	}
	fputc(']', out);
}

static int nonfinite(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_FLOAT && !isfinite(sqlite3_column_double(st, col));
}

/* A numeric column as the shortest text that reads back the same; 0 when
 * the column holds no number (NULL or text), with nothing written. */
static int number_column(FILE *out, sqlite3_stmt *st, int col)
{
	char num[32];
	switch (sqlite3_column_type(st, col)) {
	case SQLITE_INTEGER:
		fprintf(out, "%lld", (long long)sqlite3_column_int64(st, col));
		return 1;
	case SQLITE_FLOAT:
		if (!isfinite(sqlite3_column_double(st, col)))
			return 0; /* JSON has no such number: json_members writes null and a flag */
		format_double(num, sqlite3_column_double(st, col));
		fputs(num, out);
		return 1;
	default:
		return 0;
	}
}

/* One column of the current row as a JSON value.  Columns named like the
 * JSON documents they hold are written as they are (the schema's CHECKs
 * and json() in the query make them valid, minified JSON). */
static void json_value(FILE *out, sqlite3_stmt *st, int col)
{
	const char *name = sqlite3_column_name(st, col);
	if (!strcmp(name, "flags")) {
		json_flags(out, (const char *)sqlite3_column_text(st, col));
		return;
	}
	if (sqlite3_column_type(st, col) == SQLITE_NULL || nonfinite(st, col))
		fputs("null", out);
	else if (number_column(out, st, col))
		;
	else if (!strcmp(name, "conditions") || !strcmp(name, "probe") || !strcmp(name, "vulnerabilities")) {
		/* Valid JSON by the schema's CHECK and json(); its strings may
		 * still hold bytes that are not UTF-8. */
		char *clean = kq_utf8_dup((const char *)sqlite3_column_text(st, col));
		fputs(clean, out);
		free(clean);
	} else
		json_string(out, (const char *)sqlite3_column_text(st, col));
}

static void json_members(FILE *out, sqlite3_stmt *st, int from, int to)
{
	for (int col = from; col < to; col++) {
		if (col > from)
			fputc(',', out);
		json_string(out, sqlite3_column_name(st, col));
		fputc(':', out);
		json_value(out, st, col);
		/* An infinite value (a division by a zero median, a crafted
		 * database) is null, flagged: "value":null,"value_nonfinite":"inf". */
		if (nonfinite(st, col)) {
			double v = sqlite3_column_double(st, col);
			fprintf(out, ",\"%s_nonfinite\":\"%s\"", sqlite3_column_name(st, col),
				isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
		}
	}
}

/* "name":[{...},...] for every row of a per-run query. */
static int json_rows(struct store *s, FILE *out, const char *name, sqlite3_stmt *st, int64_t run,
		     struct kq_err *err)
{
	fprintf(out, ",\n\"%s\":[", name);
	sqlite3_bind_int64(st, 1, run);
	int rc, rows = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		fputs(rows++ ? ",\n{" : "\n{", out);
		json_members(out, st, 0, sqlite3_column_count(st));
		fputc('}', out);
	}
	sqlite3_reset(st);
	fputc(']', out);
	if (rc != SQLITE_DONE)
		return store_db_error(s, err, "exporting");
	return 0;
}

enum { RUN_COLS = 12, HOST_COLS = 6, PROVENANCE_COLS = 5 };
/* %s: the provenance's columns, from run_sources (schema version 2) or
 * NULL for an older store read as it is. */
static const char run_query[] =
	"SELECT r.id, r.started_at, r.finished_at, " STORE_STATUS_SQL("r") " AS status, " STORE_REASON_SQL("r")
	" AS reason, r.profile, r.suite_version,"
	" r.qemu_version, r.guest_image_hash, r.command_line, r.pid, r.boot_id,"
	" h.host_key AS key, h.arch, h.model, h.soc, h.kernel_release, h.page_size,"
	" json(r.probe_json) AS probe, %s"
	" FROM runs r JOIN hosts h ON h.id = r.host_id %s WHERE ?1 = 0 OR r.id = ?1 ORDER BY r.id";
static const char provenance_cols[] =
	"p.bundle, p.database, p.source_run_id AS run_id, p.exported_at, p.imported_at";
static const char provenance_none[] =
	"NULL AS bundle, NULL AS database, NULL AS run_id, NULL AS exported_at, NULL AS imported_at";

/* Each run's rows, member by member, with the schema version that brought
 * their table: an older store (read as it is, never migrated by the
 * export) has none of those rows, and its runs get an empty array. */
static const struct child_query {
	const char *member, *sql;
	int since;
} child_queries[] = {
	{ "checks", "SELECT check_id AS id, status, value, detail, hint FROM checks WHERE run_id = ?1 ORDER BY id", 1 },
	{ "boot_samples", "SELECT accel, iteration, total_ms, before_kernel_ms, kernel_ms, userspace_ms, flags"
			  " FROM boot_samples WHERE run_id = ?1 ORDER BY id", 1 },
	{ "samples", "SELECT accel, workload, metric, unit, value, iteration, higher_is_better, flags,"
		     " json(conditions) AS conditions FROM samples WHERE run_id = ?1 ORDER BY id", 1 },
	{ "verdicts", "SELECT target, metric, value, threshold, op, status, detail FROM verdicts"
		      " WHERE run_id = ?1 ORDER BY id", 1 },
	{ "speedups", "SELECT workload, metric, kvm_over_tcg, kvm_pct_of_native, tcg_pct_of_native"
		      " FROM speedups WHERE run_id = ?1 ORDER BY id", 1 },
	{ "guest_vulnerabilities", "SELECT accel, status, reason, json(vulnerabilities) AS vulnerabilities"
				   " FROM guest_vulnerabilities WHERE run_id = ?1 ORDER BY id", 4 },
};
static const char child_none[] = "SELECT NULL WHERE ?1 IS NULL";

/* Whether the host's text columns are written exactly (json_string writes
 * bytes that are not UTF-8 as U+FFFD, and stops at a NUL). */
static int host_text_exact(sqlite3_stmt *st)
{
	for (int col = RUN_COLS + 1; col < RUN_COLS + HOST_COLS; col++) {
		if (sqlite3_column_type(st, col) != SQLITE_TEXT)
			continue;
		const unsigned char *t = sqlite3_column_text(st, col);
		int n = sqlite3_column_bytes(st, col);
		for (int i = 0; t && i < n;) {
			size_t len = kq_utf8_len(t + i);
			if (!len)
				return 0;
			i += (int)len;
		}
	}
	return 1;
}

static int export_json(struct store *s, int64_t run, FILE *out, struct kq_err *err)
{
	sqlite3_stmt *runs = NULL, *child[KQ_ARRAY_SIZE(child_queries)] = { 0 };
	int ret = -1;
	int64_t version = 0;
	if (store_query_int(s, "PRAGMA user_version", &version, "exporting", err))
		return -1;
	char *query = sqlite3_mprintf(run_query, version >= 2 ? provenance_cols : provenance_none,
				      version >= 2 ? "LEFT JOIN run_sources p ON p.run_id = r.id" : "");
	if (!query)
		abort();
	int prc = sqlite3_prepare_v2(s->db, query, -1, &runs, NULL);
	sqlite3_free(query);
	if (prc != SQLITE_OK)
		goto db_fail;
	for (size_t i = 0; i < KQ_ARRAY_SIZE(child_queries); i++)
		if (sqlite3_prepare_v2(s->db, version >= child_queries[i].since ? child_queries[i].sql : child_none, -1,
				       &child[i], NULL) != SQLITE_OK)
			goto db_fail;

	char when[32];
	time_t now = time(NULL);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	fprintf(out, "{\"schema\":\"%s\",\"version\":%d,\"generated_at\":\"%s\",\"database\":", STORE_EXPORT_SCHEMA,
		STORE_EXPORT_VERSION, when);
	json_string(out, s->path);
	fprintf(out, ",\"schema_version\":%d,\n\"runs\":[", store_schema_version());
	sqlite3_bind_int64(runs, 1, run);
	int rc, count = 0;
	while ((rc = sqlite3_step(runs)) == SQLITE_ROW) {
		fputs(count++ ? ",\n{" : "\n{", out);
		json_members(out, runs, 0, RUN_COLS);
		fputs(",\"host\":{", out);
		if (host_text_exact(runs)) {
			json_members(out, runs, RUN_COLS, RUN_COLS + HOST_COLS);
		} else {
			/* The stored key was made from bytes this document does not
			 * hold: it would not match the fields a reader sees, and
			 * kvmqual import refused what export wrote (fuzz_import found
			 * it).  The key of the fields as written, then. */
			char *f[4];
			for (int i = 0; i < 4; i++) {
				const char *t = (const char *)sqlite3_column_text(runs, RUN_COLS + 1 + i);
				f[i] = t ? kq_utf8_dup(t) : NULL;
			}
			struct store_host h = { .arch = f[0], .model = f[1], .soc = f[2], .kernel_release = f[3],
						.page_size = (long)sqlite3_column_int64(runs, RUN_COLS + 5) };
			char key[17];
			store_host_key(&h, key);
			fprintf(out, "\"key\":\"%s\",", key);
			json_members(out, runs, RUN_COLS + 1, RUN_COLS + HOST_COLS);
			for (int i = 0; i < 4; i++)
				free(f[i]);
		}
		fputs("},\n", out);
		json_members(out, runs, RUN_COLS + HOST_COLS, RUN_COLS + HOST_COLS + 1);
		/* Where an imported run came from (store/README.md); null for
		 * a run made in this store. */
		int p = RUN_COLS + HOST_COLS + 1;
		if (sqlite3_column_type(runs, p) == SQLITE_NULL) {
			fputs(",\"provenance\":null", out);
		} else {
			fputs(",\"provenance\":{", out);
			json_members(out, runs, p, p + PROVENANCE_COLS);
			fputc('}', out);
		}
		int64_t id = sqlite3_column_int64(runs, 0);
		for (size_t i = 0; i < KQ_ARRAY_SIZE(child_queries); i++)
			if (json_rows(s, out, child_queries[i].member, child[i], id, err))
				goto out;
		fputc('}', out);
	}
	if (rc != SQLITE_DONE)
		goto db_fail;
	fputs("],\n\"error\":null}\n", out);
	ret = 0;
	goto out;
db_fail:
	store_db_error(s, err, "exporting");
out:
	sqlite3_finalize(runs);
	for (size_t i = 0; i < KQ_ARRAY_SIZE(child_queries); i++)
		sqlite3_finalize(child[i]);
	return ret;
}

void store_csv_field(FILE *out, const char *field)
{
	if (!field)
		return;
	if (!strpbrk(field, ",\"\r\n")) {
		fputs(field, out);
		return;
	}
	fputc('"', out);
	for (const char *p = field; *p; p++) {
		if (*p == '"')
			fputc('"', out);
		fputc(*p, out);
	}
	fputc('"', out);
}

static int export_csv(struct store *s, int64_t run, FILE *out, struct kq_err *err)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT s.run_id, h.host_key, h.arch, r.started_at, s.accel, s.workload, s.metric, s.unit,"
			       " s.value, s.iteration, s.higher_is_better, s.flags, json(s.conditions) AS conditions"
			       " FROM samples s JOIN runs r ON r.id = s.run_id JOIN hosts h ON h.id = r.host_id"
			       " WHERE ?1 = 0 OR s.run_id = ?1 ORDER BY s.run_id, s.id",
			       -1, &st, NULL) != SQLITE_OK)
		return store_db_error(s, err, "exporting");
	int cols = sqlite3_column_count(st);
	for (int col = 0; col < cols; col++) {
		if (col)
			fputc(',', out);
		store_csv_field(out, sqlite3_column_name(st, col));
	}
	fputc('\n', out);
	sqlite3_bind_int64(st, 1, run);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int col = 0; col < cols; col++) {
			if (col)
				fputc(',', out);
			if (sqlite3_column_type(st, col) != SQLITE_NULL && !number_column(out, st, col))
				store_csv_field(out, (const char *)sqlite3_column_text(st, col));
		}
		fputc('\n', out);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return store_db_error(s, err, "exporting");
	return 0;
}

int store_export(struct store *s, int64_t run, enum store_format format, FILE *out, struct kq_err *err)
{
	/* One read transaction: a run being written meanwhile is seen whole or
	 * not at all, and writers are not blocked (WAL). */
	int own_txn = s->batch_depth == 0;
	if (own_txn && store_exec(s, "BEGIN", "starting the export", err))
		return -1;
	int ret = 0;
	if (run > 0) {
		int64_t exists;
		char *sql = sqlite3_mprintf("SELECT count(*) FROM runs WHERE id = %lld", (long long)run);
		if (!sql)
			abort();
		ret = store_query_int(s, sql, &exists, "exporting", err);
		sqlite3_free(sql);
		if (!ret && !exists)
			ret = store_no_such_run(s, run, err);
	}
	if (!ret)
		ret = format == STORE_FORMAT_CSV ? export_csv(s, run, out, err) : export_json(s, run, out, err);
	if (own_txn)
		sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (!ret && (fflush(out) != 0 || ferror(out)))
		ret = kq_error(err, "%s: writing the export: %s", s->path, strerror(errno));
	return ret;
}
