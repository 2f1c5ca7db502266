/* kvmqual import (import.h): bundles into the store (in a cmd_ file, like
 * cmd_export.c, so that the write side builds without cJSON).  A bundle comes from
 * another machine (a phone, a board, over a link that may have been cut):
 * every member is checked, with the file named in the message, before the
 * first row is written, and all runs go in one transaction. */
#include "import.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/json.h"
#include "cmd_options.h"
#include "internal.h"

#define BUNDLE_MAX (1u << 30)

/* ---- what a bundle holds ----
 *
 * Every member kvmqual export writes, with the column it came from and
 * goes back to: one table, read by the check and by the write, so that a
 * member export writes and import forgets is a missing line here (the
 * round trip on every stored fixture, tests/sections/kit.sh, finds it). */

enum kind {
	K_TEXT,   /* a string, or null */
	K_INT,    /* a whole number, or null */
	K_REAL,   /* a number, or null; null with NAME_nonfinite is that infinity */
	K_FLAGS,  /* an array of strings without commas; stored comma-separated */
	K_OBJECT, /* a JSON object (a document), or null; stored as its text */
	K_TEXT_MAP, /* a JSON object of strings (name -> text), or null; stored as its text */
};

struct member {
	const char *name;        /* in the bundle */
	const char *column;      /* in the store; NULL: not stored here (read elsewhere) */
	enum kind kind;
	int required;            /* present and not null: a NOT NULL column */
	const char *const *set;  /* K_TEXT: the values allowed; K_INT: 0 or 1 when set */
};

static const char *const run_statuses[] = { "complete", "incomplete", "failed", "interrupted", NULL };
static const char *const guest_accels[] = { "kvm", "tcg", NULL };
static const char *const sample_accels[] = { "kvm", "tcg", "native", NULL };
static const char *const verdict_ops[] = { "<", "<=", ">", ">=", NULL };
static const char *const verdict_statuses[] = { "pass", "fail", "skip", NULL };
static const char *const zero_one[] = { "0", "1", NULL };
static const char *const known_unknown[] = { "known", "unknown", NULL };

static const struct member run_members[] = {
	{ "id", NULL, K_INT, 0, NULL }, /* the run's id where it was exported: its provenance */
	{ "started_at", "started_at", K_TEXT, 1, NULL },
	{ "finished_at", "finished_at", K_TEXT, 0, NULL },
	{ "status", "status", K_TEXT, 1, run_statuses },
	{ "reason", "reason", K_TEXT, 0, NULL },
	{ "profile", "profile", K_TEXT, 0, NULL },
	{ "suite_version", "suite_version", K_TEXT, 0, NULL },
	{ "qemu_version", "qemu_version", K_TEXT, 0, NULL },
	{ "guest_image_hash", "guest_image_hash", K_TEXT, 0, NULL },
	{ "command_line", "command_line", K_TEXT, 0, NULL },
	{ "pid", "pid", K_INT, 1, NULL },
	{ "boot_id", "boot_id", K_TEXT, 0, NULL },
	{ "probe", "probe_json", K_OBJECT, 0, NULL },
	{ "host", NULL, K_OBJECT, 1, NULL },
	{ "provenance", NULL, K_OBJECT, 0, NULL },
};
static const struct member host_members[] = {
	{ "key", NULL, K_TEXT, 0, NULL },
	{ "arch", NULL, K_TEXT, 1, NULL },
	{ "model", NULL, K_TEXT, 0, NULL },
	{ "soc", NULL, K_TEXT, 0, NULL },
	{ "kernel_release", NULL, K_TEXT, 0, NULL },
	{ "page_size", NULL, K_INT, 0, NULL },
};
static const struct member provenance_members[] = {
	{ "bundle", "bundle", K_TEXT, 1, NULL },
	{ "database", "database", K_TEXT, 0, NULL },
	{ "run_id", "source_run_id", K_INT, 0, NULL },
	{ "exported_at", "exported_at", K_TEXT, 0, NULL },
	{ "imported_at", "imported_at", K_TEXT, 1, NULL },
};
static const struct member check_members[] = {
	{ "id", "check_id", K_TEXT, 1, NULL },	     { "status", "status", K_TEXT, 1, NULL },
	{ "value", "value", K_TEXT, 0, NULL },	     { "detail", "detail", K_TEXT, 0, NULL },
	{ "hint", "hint", K_TEXT, 0, NULL },
};
static const struct member boot_members[] = {
	{ "accel", "accel", K_TEXT, 1, guest_accels },
	{ "iteration", "iteration", K_INT, 1, NULL },
	{ "total_ms", "total_ms", K_REAL, 1, NULL },
	{ "before_kernel_ms", "before_kernel_ms", K_REAL, 0, NULL },
	{ "kernel_ms", "kernel_ms", K_REAL, 0, NULL },
	{ "userspace_ms", "userspace_ms", K_REAL, 0, NULL },
	{ "flags", "flags", K_FLAGS, 0, NULL },
};
static const struct member sample_members[] = {
	{ "accel", "accel", K_TEXT, 1, sample_accels },
	{ "workload", "workload", K_TEXT, 1, NULL },
	{ "metric", "metric", K_TEXT, 1, NULL },
	{ "unit", "unit", K_TEXT, 1, NULL },
	{ "value", "value", K_REAL, 0, NULL }, /* null: unknown (the schema allows it) */
	{ "iteration", "iteration", K_INT, 1, NULL },
	{ "higher_is_better", "higher_is_better", K_INT, 1, zero_one },
	{ "flags", "flags", K_FLAGS, 0, NULL },
	{ "conditions", "conditions", K_OBJECT, 0, NULL },
};
static const struct member verdict_members[] = {
	{ "target", "target", K_TEXT, 1, NULL },    { "metric", "metric", K_TEXT, 1, NULL },
	{ "value", "value", K_REAL, 0, NULL },	    { "threshold", "threshold", K_REAL, 0, NULL },
	{ "op", "op", K_TEXT, 0, verdict_ops },	    { "status", "status", K_TEXT, 1, verdict_statuses },
	{ "detail", "detail", K_TEXT, 0, NULL },
};
static const struct member speedup_members[] = {
	{ "workload", "workload", K_TEXT, 1, NULL },
	{ "metric", "metric", K_TEXT, 1, NULL },
	{ "kvm_over_tcg", "kvm_over_tcg", K_REAL, 0, NULL },
	{ "kvm_pct_of_native", "kvm_pct_of_native", K_REAL, 0, NULL },
	{ "tcg_pct_of_native", "tcg_pct_of_native", K_REAL, 0, NULL },
};

/* The guest's view of the CPU's vulnerabilities (schema version 4; a
 * bundle of an older kvmqual has none). */
static const struct member guest_vulnerability_members[] = {
	{ "accel", "accel", K_TEXT, 1, guest_accels },
	{ "status", "status", K_TEXT, 1, known_unknown },
	{ "reason", "reason", K_TEXT, 0, NULL },
	{ "vulnerabilities", "vulnerabilities", K_TEXT_MAP, 0, NULL },
};

/* The per-run arrays, each into its table. */
struct rows {
	const char *member, *table, *what;
	const struct member *m;
	size_t n;
};
#define ROWS(member, table, what, m) { member, table, what, m, KQ_ARRAY_SIZE(m) }
static const struct rows run_rows[] = {
	ROWS("checks", "checks", "check", check_members),
	ROWS("boot_samples", "boot_samples", "boot sample", boot_members),
	ROWS("samples", "samples", "sample", sample_members),
	ROWS("verdicts", "verdicts", "verdict", verdict_members),
	ROWS("speedups", "speedups", "speed-up", speedup_members),
	ROWS("guest_vulnerabilities", "guest_vulnerabilities", "guest's view of the CPU's vulnerabilities",
	     guest_vulnerability_members),
};

/* ---- reading members ---- */

struct reader {
	const char *path;
	struct kq_err *err;
	int failed;
};

/* The first error only: "FILE: run 3: sample 17: member 'value' ...". */
static void bad(struct reader *r, const char *where, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void bad(struct reader *r, const char *where, const char *fmt, ...)
{
	if (r->failed)
		return;
	r->failed = 1;
	char what[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	kq_error(r->err, "%s: %s: %s", r->path, where, what);
}

/* One member's value, checked, as it goes into its column. */
struct value {
	int null;
	const char *text; /* K_TEXT */
	int64_t integer;  /* K_INT */
	double real;      /* K_REAL, maybe infinite */
	char *owned;      /* K_FLAGS, K_OBJECT: malloc'd text (NULL for none) */
	const cJSON *json;
};

static int whole(double v)
{
	return isfinite(v) && v == floor(v) && fabs(v) < 9007199254740992.0; /* 2^53: exact in a double */
}

static int utf8_valid(const char *s)
{
	for (size_t n; *s; s += n)
		if (!(n = kq_utf8_len((const unsigned char *)s)))
			return 0;
	return 1;
}

static int one_of(const char *s, const char *const *set)
{
	for (; s && *set; set++)
		if (!strcmp(s, *set))
			return 1;
	return 0;
}

/* Checks member m of o (where says whose, for the message); with text,
 * makes the text of flags and documents. Returns 0 or -1 (r->failed). */
static int member_value(struct reader *r, const cJSON *o, const struct member *m, const char *where, int text,
			struct value *v)
{
	memset(v, 0, sizeof(*v));
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, m->name);
	v->json = j;
	v->null = !j || cJSON_IsNull(j);
	if (m->kind == K_REAL) {
		/* export writes an infinity as null with "NAME_nonfinite":"inf" */
		char flag_name[64];
		snprintf(flag_name, sizeof(flag_name), "%s_nonfinite", m->name);
		const cJSON *flag = cJSON_GetObjectItemCaseSensitive(o, flag_name);
		if (flag && !cJSON_IsNull(flag)) {
			const char *f = cJSON_IsString(flag) ? flag->valuestring : "";
			if (!cJSON_IsNull(j))
				bad(r, where, "member '%s' is flagged non-finite but is not null", m->name);
			else if (!strcmp(f, "inf") || !strcmp(f, "-inf")) {
				v->null = 0;
				v->real = f[0] == '-' ? -INFINITY : INFINITY;
				return 0;
			} else if (strcmp(f, "nan"))
				bad(r, where, "member '%s' is not \"inf\", \"-inf\" or \"nan\"", flag_name);
			if (r->failed)
				return -1;
		}
	}
	if (v->null) {
		if (m->required)
			bad(r, where, "member '%s' is %s", m->name, j ? "null" : "missing");
		return r->failed ? -1 : 0;
	}
	switch (m->kind) {
	case K_TEXT:
		if (!cJSON_IsString(j))
			bad(r, where, "member '%s' is not a string", m->name);
		else if (m->set && !one_of(j->valuestring, m->set))
			bad(r, where, "member '%s' is not one of the values kvmqual writes there", m->name);
		else
			v->text = j->valuestring;
		break;
	case K_INT:
		if (!cJSON_IsNumber(j) || !whole(j->valuedouble))
			bad(r, where, "member '%s' is not a whole number", m->name);
		else if (m->set && j->valuedouble != 0 && j->valuedouble != 1)
			bad(r, where, "member '%s' is not 0 or 1", m->name);
		else
			v->integer = (int64_t)j->valuedouble;
		break;
	case K_REAL:
		if (!cJSON_IsNumber(j) || !isfinite(j->valuedouble))
			bad(r, where, "member '%s' is not a number", m->name);
		else
			v->real = j->valuedouble;
		break;
	case K_FLAGS: {
		if (!cJSON_IsArray(j)) {
			bad(r, where, "member '%s' is not an array", m->name);
			break;
		}
		struct kq_buf b;
		kq_buf_init(&b);
		const cJSON *f;
		cJSON_ArrayForEach(f, j)
		{
			if (!cJSON_IsString(f) || !*f->valuestring || strchr(f->valuestring, ',')) {
				bad(r, where, "a member of '%s' is not a non-empty string without commas", m->name);
				break;
			}
			kq_buf_printf(&b, "%s%s", b.len ? "," : "", f->valuestring);
		}
		v->null = b.len == 0; /* [] is no flags, as export writes NULL */
		if (text && !r->failed && b.len)
			v->owned = kq_buf_steal(&b);
		else
			kq_buf_free(&b);
		break;
	}
	case K_OBJECT:
	case K_TEXT_MAP:
		if (!cJSON_IsObject(j)) {
			bad(r, where, "member '%s' is not an object", m->name);
			break;
		}
		if (m->kind == K_TEXT_MAP) {
			const cJSON *e;
			cJSON_ArrayForEach(e, j)
			{
				if (!cJSON_IsString(e)) {
					bad(r, where, "member '%s' holds something that is not a string", m->name);
					break;
				}
			}
		}
		if (text && m->column && !r->failed)
			v->owned = cJSON_PrintUnformatted(j);
		break;
	}
	return r->failed ? -1 : 0;
}

static void bind_value(sqlite3_stmt *st, int col, const struct member *m, const struct value *v)
{
	if (v->null) {
		sqlite3_bind_null(st, col);
		return;
	}
	switch (m->kind) {
	case K_TEXT: sqlite3_bind_text(st, col, v->text, -1, SQLITE_STATIC); break;
	case K_INT: sqlite3_bind_int64(st, col, v->integer); break;
	case K_REAL: sqlite3_bind_double(st, col, v->real); break;
	case K_FLAGS:
	case K_OBJECT:
	case K_TEXT_MAP:
		if (v->owned)
			sqlite3_bind_text(st, col, v->owned, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(st, col);
		break;
	}
}

/* "INSERT INTO table (first, columns...) VALUES (?1, ...)" for the stored members. */
static char *insert_sql(const char *table, const char *first, const struct member *m, size_t n)
{
	struct kq_buf cols, params;
	kq_buf_init(&cols);
	kq_buf_init(&params);
	int k = 0;
	if (first) {
		kq_buf_printf(&cols, "%s", first);
		kq_buf_printf(&params, "?%d", ++k);
	}
	for (size_t i = 0; i < n; i++) {
		if (!m[i].column)
			continue;
		kq_buf_printf(&cols, "%s%s", k ? ", " : "", m[i].column);
		kq_buf_printf(&params, "%s?%d", k ? ", " : "", k + 1);
		k++;
	}
	char *sql = kq_xasprintf("INSERT INTO %s (%s) VALUES (%s)", table, cols.data, params.data);
	kq_buf_free(&cols);
	kq_buf_free(&params);
	return sql;
}

/* Checks (st NULL) or writes one object's members; binding starts at
 * parameter first_param. */
static int object_members(struct reader *r, const cJSON *o, const struct member *m, size_t n, const char *where,
			  sqlite3_stmt *st, int first_param)
{
	if (!cJSON_IsObject(o)) {
		bad(r, where, "not an object");
		return -1;
	}
	int col = first_param;
	for (size_t i = 0; i < n; i++) {
		struct value v;
		if (member_value(r, o, &m[i], where, st != NULL, &v))
			return -1;
		if (st && m[i].column)
			bind_value(st, col, &m[i], &v);
		if (m[i].column)
			col++;
		free(v.owned);
	}
	return 0;
}

/* The statements of one import, prepared once (10,000 samples in well
 * under a second, bench/import.sh). */
struct writer {
	struct store *s;
	sqlite3_stmt *find, *run, *source, *rows[KQ_ARRAY_SIZE(run_rows)];
};

static void writer_close(struct writer *w)
{
	sqlite3_finalize(w->find);
	sqlite3_finalize(w->run);
	sqlite3_finalize(w->source);
	for (size_t i = 0; i < KQ_ARRAY_SIZE(run_rows); i++)
		sqlite3_finalize(w->rows[i]);
}

static int writer_open(struct writer *w, struct store *s, struct kq_err *err)
{
	memset(w, 0, sizeof(*w));
	w->s = s;
	char *sql[2 + KQ_ARRAY_SIZE(run_rows)];
	sql[0] = insert_sql("runs", "host_id", run_members, KQ_ARRAY_SIZE(run_members));
	sql[1] = insert_sql("run_sources", "run_id", provenance_members, KQ_ARRAY_SIZE(provenance_members));
	for (size_t i = 0; i < KQ_ARRAY_SIZE(run_rows); i++)
		sql[2 + i] = insert_sql(run_rows[i].table, "run_id", run_rows[i].m, run_rows[i].n);
	int ok = sqlite3_prepare_v2(s->db,
				    "SELECT r.id FROM runs r JOIN hosts h ON h.id = r.host_id WHERE h.host_key = ?1"
				    " AND r.started_at = ?2 AND r.boot_id IS ?3 AND r.pid IS ?4",
				    -1, &w->find, NULL) == SQLITE_OK &&
		 sqlite3_prepare_v2(s->db, sql[0], -1, &w->run, NULL) == SQLITE_OK &&
		 sqlite3_prepare_v2(s->db, sql[1], -1, &w->source, NULL) == SQLITE_OK;
	for (size_t i = 0; ok && i < KQ_ARRAY_SIZE(run_rows); i++)
		ok = sqlite3_prepare_v2(s->db, sql[2 + i], -1, &w->rows[i], NULL) == SQLITE_OK;
	for (size_t i = 0; i < KQ_ARRAY_SIZE(sql); i++)
		free(sql[i]);
	if (!ok) {
		store_db_error(s, err, "preparing the import");
		writer_close(w);
		return -1;
	}
	return 0;
}

static int step(struct writer *w, sqlite3_stmt *st, struct reader *r, const char *where)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (!r->failed) {
		char what[200];
		snprintf(what, sizeof(what), "%s: storing it", where);
		struct kq_err e;
		store_db_error(w->s, &e, what);
		bad(r, where, "%s", e.msg);
	}
	return -1;
}

/* Where the bundle's runs came from, to be stored with each. */
struct origin {
	const char *bundle;      /* the file or URL read */
	const char *database;    /* the bundle's "database" */
	const char *exported_at; /* its "generated_at" */
	char imported_at[32];    /* now, as the store writes times */
};

/* Checks one run of the bundle completely (w NULL), or writes it as run
 * *id (the same walk).  Returns 0, 1 when the store already has the run,
 * or -1. */
static int walk_run(struct reader *r, struct writer *w, const struct origin *from, const cJSON *run, long idx,
		    int64_t *id)
{
	char where[64];
	snprintf(where, sizeof(where), "run %ld", idx);
	if (!cJSON_IsObject(run)) {
		bad(r, where, "not an object");
		return -1;
	}
	struct value v[KQ_ARRAY_SIZE(run_members)];
	size_t got = 0;
	int rc = 0;
	for (; got < KQ_ARRAY_SIZE(run_members) && !rc; got++)
		rc = member_value(r, run, &run_members[got], where, 0, &v[got]);
	if (rc)
		return -1;
	const cJSON *host = v[13].json, *provenance = v[14].json;
	int64_t source_run_id = v[0].null ? 0 : v[0].integer, pid = v[10].integer;
	const char *started = v[1].text, *boot_id = v[11].text;
	char hwhere[80];
	snprintf(hwhere, sizeof(hwhere), "%s: host", where);
	struct value hv[KQ_ARRAY_SIZE(host_members)];
	for (size_t i = 0; i < KQ_ARRAY_SIZE(host_members); i++)
		if (member_value(r, host, &host_members[i], hwhere, 0, &hv[i]))
			return -1;
	/* The host's key is a hash of its fields, and export writes text as
	 * UTF-8 (anything else as U+FFFD): a field that is not UTF-8 would
	 * come back from the next export as another host. */
	for (size_t i = 1; i <= 4; i++)
		if (hv[i].text && !utf8_valid(hv[i].text)) {
			bad(r, hwhere, "member '%s' is not UTF-8 text", host_members[i].name);
			return -1;
		}
	struct store_host h = { .arch = hv[1].text, .model = hv[2].text, .soc = hv[3].text,
				.kernel_release = hv[4].text };
	h.page_size = !hv[5].null && hv[5].integer > 0 && hv[5].integer < LONG_MAX ? (long)hv[5].integer : 0;
	char computed[17];
	store_host_key(&h, computed);
	if (hv[0].text && strcmp(hv[0].text, computed)) {
		bad(r, hwhere, "the key does not match the host's own fields (edited?)");
		return -1;
	}
	char pwhere[80];
	snprintf(pwhere, sizeof(pwhere), "%s: provenance", where);
	if (provenance && !cJSON_IsNull(provenance) &&
	    object_members(r, provenance, provenance_members, KQ_ARRAY_SIZE(provenance_members), pwhere, NULL, 0))
		return -1;
	const cJSON *arrays[KQ_ARRAY_SIZE(run_rows)];
	for (size_t t = 0; t < KQ_ARRAY_SIZE(run_rows); t++) {
		arrays[t] = cJSON_GetObjectItemCaseSensitive(run, run_rows[t].member);
		if (arrays[t] && !cJSON_IsNull(arrays[t]) && !cJSON_IsArray(arrays[t])) {
			bad(r, where, "member '%s' is not an array", run_rows[t].member);
			return -1;
		}
	}

	if (w) {
		/* Already here: the same host, start time, boot and process. */
		sqlite3_bind_text(w->find, 1, computed, -1, SQLITE_STATIC);
		sqlite3_bind_text(w->find, 2, started, -1, SQLITE_STATIC);
		if (boot_id)
			sqlite3_bind_text(w->find, 3, boot_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(w->find, 4, pid);
		int frc = sqlite3_step(w->find);
		*id = frc == SQLITE_ROW ? sqlite3_column_int64(w->find, 0) : 0;
		sqlite3_reset(w->find);
		sqlite3_clear_bindings(w->find);
		if (frc != SQLITE_ROW && frc != SQLITE_DONE) {
			store_db_error(w->s, r->err, "looking for the run");
			r->failed = 1;
			return -1;
		}
		if (*id)
			return 1;
		int64_t hid = store_host_id(w->s, &h, r->err);
		if (hid < 0) {
			r->failed = 1;
			return -1;
		}
		sqlite3_bind_int64(w->run, 1, hid);
		if (object_members(r, run, run_members, KQ_ARRAY_SIZE(run_members), where, w->run, 2) ||
		    step(w, w->run, r, where))
			return -1;
		*id = sqlite3_last_insert_rowid(w->s->db);
		/* A run that carries its provenance (an imported run exported
		 * again) keeps it: where it was made, not the last hop. */
		sqlite3_bind_int64(w->source, 1, *id);
		if (provenance && !cJSON_IsNull(provenance)) {
			if (object_members(r, provenance, provenance_members, KQ_ARRAY_SIZE(provenance_members), pwhere,
					   w->source, 2))
				return -1;
		} else {
			sqlite3_bind_text(w->source, 2, from->bundle, -1, SQLITE_STATIC);
			if (from->database)
				sqlite3_bind_text(w->source, 3, from->database, -1, SQLITE_STATIC);
			if (source_run_id)
				sqlite3_bind_int64(w->source, 4, source_run_id);
			if (from->exported_at)
				sqlite3_bind_text(w->source, 5, from->exported_at, -1, SQLITE_STATIC);
			sqlite3_bind_text(w->source, 6, from->imported_at, -1, SQLITE_STATIC);
		}
		if (step(w, w->source, r, pwhere))
			return -1;
	}

	for (size_t t = 0; t < KQ_ARRAY_SIZE(run_rows); t++) {
		const struct rows *rw = &run_rows[t];
		const cJSON *e;
		long i = 0;
		cJSON_ArrayForEach(e, arrays[t])
		{
			char ewhere[96];
			snprintf(ewhere, sizeof(ewhere), "%s: %s %ld", where, rw->what, i++);
			if (w)
				sqlite3_bind_int64(w->rows[t], 1, *id);
			if (object_members(r, e, rw->m, rw->n, ewhere, w ? w->rows[t] : NULL, 2) ||
			    (w && step(w, w->rows[t], r, ewhere)))
				return -1;
		}
	}
	return 0;
}

int store_import_bundle(const char *db_path, const char *path, const char *source, struct import_summary *sum,
			struct kq_err *err)
{
	memset(sum, 0, sizeof(*sum));
	char *text = NULL;
	size_t len = 0;
	if (kq_read_file(path, BUNDLE_MAX, &text, &len, err))
		return -1;
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!root) {
		/* Say which: a store given for its bundle, bytes that are not
		 * JSON at all, or a bundle cut short on its way. */
		int is_store;
		const char *kind = kq_json_not_json_kind(text, len, &is_store);
		size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : len;
		if (is_store)
			kq_error(err, "%s: %s, not a bundle: export its runs first (kvmqual export --db %s > bundle.json)",
				 path, kind, path);
		else if (kind)
			kq_error(err, "%s: %s, not a bundle (a bundle is the JSON kvmqual export writes)", path, kind);
		else if (!len)
			kq_error(err, "%s: an empty file, not a bundle (a bundle is the JSON kvmqual export writes)", path);
		else if (text[strspn(text, " \t\r\n")] == '{' && !memchr(text, '\0', len) &&
			 kq_json_ends_open(text, len, 0))
			kq_error(err, "%s: a JSON document cut short after %zu bytes (copy the bundle again)", path, len);
		else
			kq_error(err, "%s: not JSON (at byte %zu), not a bundle (a bundle is the JSON kvmqual export writes)",
				 path, at);
		free(text);
		return -1;
	}
	free(text);
	struct reader r = { .path = path, .err = err };
	const cJSON *schema = cJSON_GetObjectItemCaseSensitive(root, "schema");
	const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "version");
	const cJSON *runs = cJSON_GetObjectItemCaseSensitive(root, "runs");
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
	const cJSON *database = cJSON_GetObjectItemCaseSensitive(root, "database");
	const cJSON *generated = cJSON_GetObjectItemCaseSensitive(root, "generated_at");
	char *absolute = NULL;
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
	if ((database && !cJSON_IsNull(database) && !cJSON_IsString(database)) ||
	    (generated && !cJSON_IsNull(generated) && !cJSON_IsString(generated))) {
		kq_error(err, "%s: its 'database' or 'generated_at' is not a string", path);
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
		if (walk_run(&r, NULL, NULL, run, idx++, &id) < 0)
			goto out;
	}
	if (!source) {
		absolute = realpath(path, NULL);
		source = absolute ? absolute : path;
	}
	struct origin from = { source, cJSON_IsString(database) ? database->valuestring : NULL,
			       cJSON_IsString(generated) ? generated->valuestring : NULL, "" };
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct tm tm;
	gmtime_r(&now.tv_sec, &tm);
	size_t at = strftime(from.imported_at, sizeof(from.imported_at), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(from.imported_at + at, sizeof(from.imported_at) - at, ".%03ldZ", now.tv_nsec / 1000000);
	int recovered = 0;
	struct store *s = store_open(db_path, &recovered, err);
	if (!s)
		goto out;
	struct writer w;
	if (store_batch_begin(s, err)) {
		store_close(s);
		goto out;
	}
	if (writer_open(&w, s, err)) {
		store_batch_rollback(s);
		store_close(s);
		goto out;
	}
	idx = 0;
	cJSON_ArrayForEach(run, runs)
	{
		int wr = walk_run(&r, &w, &from, run, idx++, &id);
		if (wr < 0) {
			writer_close(&w);
			store_batch_rollback(s);
			store_close(s);
			goto out;
		}
		if (wr == 1)
			sum->duplicates++;
		else
			sum->imported++;
		sum->last_run_id = id;
	}
	writer_close(&w);
	if (store_batch_commit(s, err)) {
		store_batch_rollback(s);
		store_close(s);
		goto out;
	}
	store_close(s);
	rc = 0;
out:
	free(absolute);
	cJSON_Delete(root);
	return rc;
}

int cmd_import(int argc, char **argv)
{
	const char *db = STORE_DEFAULT_PATH;
	const struct store_cmd_option opts[] = { { "db", &db }, { NULL, NULL } };
	int done = store_cmd_options(argc, argv, opts,
				     "usage: kvmqual import [--db FILE] BUNDLE...\n"
				     "Adds the runs of each bundle (kvmqual export --format json, or what kvmqual remote\n"
				     "brought back) to the store (default %s): every sample, boot, verdict, check and\n"
				     "the run's provenance. A run the store already has is not added twice; a bundle\n"
				     "that is cut short or of an unknown version is refused whole.\n"
				     "Exit status: 0 all imported, 2 a bundle was refused (those before it are in).\n");
	if (done >= 0)
		return done;
	if (optind >= argc) {
		fprintf(stderr, "kvmqual import: no bundle given (kvmqual import --db FILE BUNDLE...)\n");
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		struct import_summary sum;
		struct kq_err err;
		if (store_import_bundle(db, argv[i], NULL, &sum, &err)) {
			fprintf(stderr, "kvmqual import: %s; nothing of it was imported\n", err.msg);
			return 2;
		}
		printf("%s: %d run%s imported, %d already in %s (last: run %lld)\n", argv[i], sum.imported,
		       sum.imported == 1 ? "" : "s", sum.duplicates, db, (long long)sum.last_run_id);
	}
	return 0;
}
