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

/* ---- the newest tune (or A/B session) of a host ---- */

static char *dup_col(sqlite3_stmt *st, int col)
{
	const char *t = (const char *)sqlite3_column_text(st, col);
	return t ? kq_xstrdup(t) : NULL;
}

static int prepare_bound(struct store *s, const char *sql, int64_t id, sqlite3_stmt **st, struct kq_err *err)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
		return store_db_error(s, err, "reading the tuning experiments");
	sqlite3_bind_int64(*st, 1, id);
	return 0;
}

static int read_experiment(struct store *s, int64_t id, struct store_tuning_experiment *x, struct kq_err *err)
{
	sqlite3_stmt *st;
	if (prepare_bound(s, "SELECT name, fragment, status, reason, vcpus FROM ab_arms WHERE experiment_id = ?1"
			     " ORDER BY arm", id, &st, err))
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		x->arms = kq_xrealloc(x->arms, (x->arm_count + 1) * sizeof(*x->arms));
		x->arms[x->arm_count++] = (struct store_tuning_arm){ dup_col(st, 0), dup_col(st, 1), dup_col(st, 2),
								     dup_col(st, 3), dup_col(st, 4) };
	}
	sqlite3_finalize(st);
	if (prepare_bound(s, "SELECT arm, workload, metric, unit, decision, why, higher_is_better, rounds, passes,"
			     " change_pct, ci_low_pct, ci_high_pct, p FROM ab_results WHERE experiment_id = ?1"
			     " ORDER BY arm, id", id, &st, err))
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		x->results = kq_xrealloc(x->results, (x->result_count + 1) * sizeof(*x->results));
		struct store_tuning_result *r = &x->results[x->result_count++];
		r->arm = sqlite3_column_int(st, 0);
		r->workload = dup_col(st, 1);
		r->metric = dup_col(st, 2);
		r->unit = dup_col(st, 3);
		r->decision = dup_col(st, 4);
		r->why = dup_col(st, 5);
		r->higher_is_better = sqlite3_column_int(st, 6);
		r->rounds = sqlite3_column_int(st, 7);
		r->passes = sqlite3_column_int(st, 8);
		r->change_pct = store_column_double(st, 9);
		r->ci_low_pct = store_column_double(st, 10);
		r->ci_high_pct = store_column_double(st, 11);
		r->p = store_column_double(st, 12);
	}
	sqlite3_finalize(st);
	return 0;
}

int store_tuning_latest(struct store *s, const char *host_key, struct store_tuning *t, struct kq_err *err)
{
	memset(t, 0, sizeof(*t));
	/* A store from before the A/B tables (version 3), opened read-only and
	 * so not migrated, has no tuning to show: asked by the table, not by
	 * the version's number. */
	int64_t tables;
	if (store_query_int(s, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'ab_sessions'", &tables,
			    "looking for the A/B tables", err))
		return -1;
	if (!tables || !host_key)
		return 0;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT a.id, a.command, a.started_at, a.status, a.reason, a.accel, a.recommendation"
			       " FROM ab_sessions a JOIN hosts h ON h.id = a.host_id"
			       " WHERE h.host_key = ?1 AND a.status != 'running'"
			       " ORDER BY a.command = 'tune' DESC, a.started_at DESC, a.id DESC LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK)
		return store_db_error(s, err, "reading the tuning sessions");
	sqlite3_bind_text(st, 1, host_key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		t->session = sqlite3_column_int64(st, 0);
		t->command = dup_col(st, 1);
		t->started_at = dup_col(st, 2);
		t->status = dup_col(st, 3);
		t->reason = dup_col(st, 4);
		t->accel = dup_col(st, 5);
		t->recommendation = dup_col(st, 6);
	}
	sqlite3_finalize(st);
	if (!t->session)
		return 0;
	if (prepare_bound(s, "SELECT id, setting, title, status, reason, recommendation, confidence, because,"
			     " coalesce(recommended_arm, -1), coalesce(rounds, 0)"
			     " FROM ab_experiments WHERE session_id = ?1 ORDER BY id", t->session, &st, err))
		return -1;
	int rc = 0;
	while (!rc && sqlite3_step(st) == SQLITE_ROW) {
		t->experiments = kq_xrealloc(t->experiments, (t->count + 1) * sizeof(*t->experiments));
		struct store_tuning_experiment *x = &t->experiments[t->count++];
		memset(x, 0, sizeof(*x));
		x->setting = dup_col(st, 1);
		x->title = dup_col(st, 2);
		x->status = dup_col(st, 3);
		x->reason = dup_col(st, 4);
		x->recommendation = dup_col(st, 5);
		x->confidence = dup_col(st, 6);
		x->because = dup_col(st, 7);
		x->recommended_arm = sqlite3_column_int(st, 8);
		x->rounds = sqlite3_column_int(st, 9);
		rc = read_experiment(s, sqlite3_column_int64(st, 0), x, err);
	}
	sqlite3_finalize(st);
	if (rc)
		store_tuning_free(t);
	return rc;
}

void store_tuning_free(struct store_tuning *t)
{
	for (size_t i = 0; i < t->count; i++) {
		struct store_tuning_experiment *x = &t->experiments[i];
		free(x->setting);
		free(x->title);
		free(x->status);
		free(x->reason);
		free(x->recommendation);
		free(x->confidence);
		free(x->because);
		for (size_t a = 0; a < x->arm_count; a++) {
			free(x->arms[a].name);
			free(x->arms[a].fragment);
			free(x->arms[a].status);
			free(x->arms[a].reason);
			free(x->arms[a].vcpus);
		}
		free(x->arms);
		for (size_t k = 0; k < x->result_count; k++) {
			struct store_tuning_result *r = &x->results[k];
			free(r->workload);
			free(r->metric);
			free(r->unit);
			free(r->decision);
			free(r->why);
		}
		free(x->results);
	}
	free(t->experiments);
	free(t->command);
	free(t->started_at);
	free(t->status);
	free(t->reason);
	free(t->accel);
	free(t->recommendation);
	memset(t, 0, sizeof(*t));
}
