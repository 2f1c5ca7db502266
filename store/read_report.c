/* What kvmqual report reads from the store (read_report.h): the latest
 * run, and a host's history of per-run medians for the trend plots. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "read_report.h"

int64_t store_latest_run(struct store *s, struct kq_err *err)
{
	int64_t id;
	if (store_query_int(s, "SELECT coalesce(max(r.id), 0) FROM runs r WHERE " STORE_STATUS_SQL("r") " != 'running'", &id,
		      "looking for the latest run", err))
		return -1;
	return id;
}

/* The median of sorted values, as the runner judges them. */
static double sorted_median(const double *v, size_t n)
{
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int store_history(struct store *s, const char *host_key, const char *const *names, size_t count,
		  int64_t up_to_run, store_history_fn fn, void *ctx, struct kq_err *err)
{
	if (!count)
		return 0;
	/* ?1 host, ?2 last run, ?3... the names: one placeholder each. */
	struct kq_buf in;
	kq_buf_init(&in);
	for (size_t i = 0; i < count; i++)
		kq_buf_printf(&in, "%s?%zu", i ? ", " : "", i + 3);
	char *sql = kq_xasprintf(
		"SELECT run, started_at, accel, name, value FROM ("
		" SELECT r.id AS run, r.started_at, s.accel, s.workload || '.' || s.metric AS name, s.value"
		"  FROM hosts h JOIN runs r ON r.host_id = h.id JOIN samples s ON s.run_id = r.id"
		"  WHERE h.host_key = ?1 AND (?2 = 0 OR r.id <= ?2) AND s.value IS NOT NULL"
		"   AND s.workload || '.' || s.metric IN (%s)"
		" UNION ALL"
		" SELECT r.id, r.started_at, b.accel, 'boot.total_ms', b.total_ms"
		"  FROM hosts h JOIN runs r ON r.host_id = h.id JOIN boot_samples b ON b.run_id = r.id"
		"  WHERE h.host_key = ?1 AND (?2 = 0 OR r.id <= ?2) AND 'boot.total_ms' IN (%s))"
		" ORDER BY run, name, accel, value",
		in.data, in.data);
	kq_buf_free(&in);
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	free(sql);
	if (rc != SQLITE_OK)
		return store_db_error(s, err, "reading the host's history");
	sqlite3_bind_text(st, 1, host_key ? host_key : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, up_to_run);
	for (size_t i = 0; i < count; i++)
		sqlite3_bind_text(st, (int)i + 3, names[i] ? names[i] : "", -1, SQLITE_STATIC);

	/* Rows come grouped by (run, name, accel), values sorted: each group
	 * is one point. */
	double *values = NULL;
	size_t n = 0, cap = 0;
	char *started = NULL, *accel = NULL, *name = NULL;
	int64_t run = 0;
	int ret = 0, stopped = 0;
	for (;;) {
		rc = sqlite3_step(st);
		int row = rc == SQLITE_ROW;
		const char *r_accel = row ? (const char *)sqlite3_column_text(st, 2) : NULL;
		const char *r_name = row ? (const char *)sqlite3_column_text(st, 3) : NULL;
		int64_t r_run = row ? sqlite3_column_int64(st, 0) : 0;
		int same = row && n && r_run == run && r_accel && r_name && !strcmp(r_accel, accel) &&
			   !strcmp(r_name, name);
		if (n && !same) {
			struct store_history_point p = { .run = run, .started_at = started, .accel = accel,
							 .name = name, .median = sorted_median(values, n),
							 .samples = (int)n };
			n = 0;
			if (fn(&p, ctx)) {
				stopped = 1;
				break;
			}
		}
		if (!row)
			break;
		if (!n) {
			free(started);
			free(accel);
			free(name);
			const char *r_started = (const char *)sqlite3_column_text(st, 1);
			started = kq_xstrdup(r_started ? r_started : "");
			accel = kq_xstrdup(r_accel ? r_accel : "");
			name = kq_xstrdup(r_name ? r_name : "");
			run = r_run;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			values = kq_xrealloc(values, cap * sizeof(*values));
		}
		values[n++] = sqlite3_column_double(st, 4);
	}
	if (!stopped && rc != SQLITE_DONE)
		ret = store_db_error(s, err, "reading the host's history");
	sqlite3_finalize(st);
	free(values);
	free(started);
	free(accel);
	free(name);
	return ret;
}
