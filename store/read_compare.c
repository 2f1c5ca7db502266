/* What kvmqual compare reads from the store (read_compare.h): a run's
 * identity, the runs of one machine, and a run's samples grouped by
 * metric. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "read_compare.h"

static const char identity_columns[] =
	"r.id, r.started_at, " STORE_STATUS_SQL("r") ", " STORE_REASON_SQL("r") ", h.host_key, h.arch, h.model, h.soc, h.kernel_release,"
	" h.page_size, r.profile, r.suite_version, r.qemu_version, r.guest_image_hash"
	" FROM runs r JOIN hosts h ON h.id = r.host_id";

static void identity_from_row(sqlite3_stmt *st, struct store_run_identity *id)
{
	id->id = sqlite3_column_int64(st, 0);
	id->started_at = store_column_dup(st, 1);
	id->status = store_column_dup(st, 2);
	id->reason = store_column_dup(st, 3);
	id->host_key = store_column_dup(st, 4);
	id->arch = store_column_dup(st, 5);
	id->model = store_column_dup(st, 6);
	id->soc = store_column_dup(st, 7);
	id->kernel_release = store_column_dup(st, 8);
	id->page_size = (long)sqlite3_column_int64(st, 9);
	id->profile = store_column_dup(st, 10);
	id->suite_version = store_column_dup(st, 11);
	id->qemu_version = store_column_dup(st, 12);
	id->guest_image_hash = store_column_dup(st, 13);
}

void store_run_identity_free(struct store_run_identity *id)
{
	if (!id)
		return;
	char **fields[] = { &id->started_at, &id->status, &id->reason, &id->host_key, &id->arch, &id->model,
			    &id->soc, &id->kernel_release, &id->profile, &id->suite_version,
			    &id->qemu_version, &id->guest_image_hash };
	for (size_t i = 0; i < KQ_ARRAY_SIZE(fields); i++) {
		free(*fields[i]);
		*fields[i] = NULL;
	}
}

void store_run_identities_free(struct store_run_identity *runs, size_t count)
{
	for (size_t i = 0; i < count; i++)
		store_run_identity_free(&runs[i]);
	free(runs);
}

/* "SELECT <identity columns> <rest>", prepared. */
static int prepare_identities(struct store *s, const char *rest, sqlite3_stmt **st, const char *what,
			      struct kq_err *err)
{
	char *sql = kq_xasprintf("SELECT %s %s", identity_columns, rest);
	int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
	free(sql);
	if (rc != SQLITE_OK)
		return store_db_error(s, err, what);
	return 0;
}

int store_run_identity(struct store *s, int64_t run, struct store_run_identity *id, struct kq_err *err)
{
	memset(id, 0, sizeof(*id));
	sqlite3_stmt *st;
	if (prepare_identities(s, "WHERE r.id = ?1", &st, "reading a run", err))
		return -1;
	sqlite3_bind_int64(st, 1, run);
	int rc = sqlite3_step(st);
	int ret = 0;
	if (rc == SQLITE_ROW)
		identity_from_row(st, id);
	else if (rc == SQLITE_DONE) {
		sqlite3_finalize(st);
		store_no_such_run(s, run, err);
		return 1;
	} else
		ret = store_db_error(s, err, "reading a run");
	sqlite3_finalize(st);
	return ret;
}

int store_list_runs(struct store *s, const struct store_run_identity *machine, int64_t before, size_t limit,
		    struct store_run_identity **runs, size_t *count, struct kq_err *err)
{
	*runs = NULL;
	*count = 0;
	sqlite3_stmt *st;
	if (prepare_identities(s,
			       "WHERE (?1 = 0 OR r.id < ?1) AND (?2 IS NULL OR (h.arch = ?2 AND h.model = ?3 AND h.soc = ?4))"
			       " ORDER BY r.id DESC LIMIT ?5",
			       &st, "listing runs", err))
		return -1;
	sqlite3_bind_int64(st, 1, before);
	if (machine) {
		sqlite3_bind_text(st, 2, machine->arch ? machine->arch : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, machine->model ? machine->model : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, machine->soc ? machine->soc : "", -1, SQLITE_STATIC);
	}
	sqlite3_bind_int64(st, 5, limit ? (int64_t)limit : -1);
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*count == cap)
			*runs = kq_xrealloc(*runs, (cap = cap ? cap * 2 : 16) * sizeof(**runs));
		identity_from_row(st, &(*runs)[(*count)++]);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		store_run_identities_free(*runs, *count);
		*runs = NULL;
		*count = 0;
		return store_db_error(s, err, "listing runs");
	}
	return 0;
}

void store_sample_groups_free(struct store_sample_group *groups, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		struct store_sample_group *g = &groups[i];
		free(g->accel);
		free(g->workload);
		free(g->metric);
		free(g->unit);
		for (size_t k = 0; k < g->count; k++)
			free(g->flags[k]);
		free(g->flags);
		free(g->values);
	}
	free(groups);
}

int store_run_samples(struct store *s, int64_t run, struct store_sample_group **groups, size_t *count,
		      struct kq_err *err)
{
	*groups = NULL;
	*count = 0;
	static const char sql[] =
		"SELECT accel, workload, metric, unit, higher_is_better, value, flags FROM ("
		" SELECT accel, workload, metric, coalesce(unit, '') AS unit, higher_is_better, value, flags,"
		"  iteration, id FROM samples WHERE run_id = ?1 AND value IS NOT NULL"
		" UNION ALL"
		" SELECT accel, 'boot', 'total_ms', 'ms', 0, total_ms, flags, iteration, id"
		"  FROM boot_samples WHERE run_id = ?1 AND total_ms IS NOT NULL)"
		" ORDER BY accel, workload, metric, iteration, id";
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return store_db_error(s, err, "reading a run's samples");
	sqlite3_bind_int64(st, 1, run);
	size_t cap = 0, vcap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *accel = (const char *)sqlite3_column_text(st, 0);
		const char *workload = (const char *)sqlite3_column_text(st, 1);
		const char *metric = (const char *)sqlite3_column_text(st, 2);
		accel = accel ? accel : "";
		workload = workload ? workload : "";
		metric = metric ? metric : "";
		struct store_sample_group *g = *count ? &(*groups)[*count - 1] : NULL;
		if (!g || strcmp(g->accel, accel) || strcmp(g->workload, workload) || strcmp(g->metric, metric)) {
			if (*count == cap)
				*groups = kq_xrealloc(*groups, (cap = cap ? cap * 2 : 16) * sizeof(**groups));
			g = &(*groups)[(*count)++];
			memset(g, 0, sizeof(*g));
			g->accel = kq_xstrdup(accel);
			g->workload = kq_xstrdup(workload);
			g->metric = kq_xstrdup(metric);
			g->unit = store_column_dup(st, 3);
			g->higher_is_better = sqlite3_column_int(st, 4) != 0;
			vcap = 0;
		}
		if (g->count == vcap) {
			vcap = vcap ? vcap * 2 : 8;
			g->values = kq_xrealloc(g->values, vcap * sizeof(*g->values));
			g->flags = kq_xrealloc(g->flags, vcap * sizeof(*g->flags));
		}
		/* A value that is not a finite number (text or a blob in a store
		 * that was edited, an infinity) would read as 0 or win every
		 * comparison: the run and the metric are named instead. */
		int type = sqlite3_column_type(st, 5);
		double value = sqlite3_column_double(st, 5);
		if (type != SQLITE_FLOAT && type != SQLITE_INTEGER) {
			const char *text = (const char *)sqlite3_column_text(st, 5);
			kq_error(err, "%s: run %lld: %s %s.%s: sample %zu is %s ('%.40s'), not a number: the store was"
				      " edited or damaged; delete the run or leave it out of the comparison",
				 s->path, (long long)run, accel, workload, metric, g->count + 1,
				 type == SQLITE_BLOB ? "a blob" : "text", type == SQLITE_BLOB ? "..." : text ? text : "");
			goto bad;
		}
		if (!isfinite(value)) {
			kq_error(err, "%s: run %lld: %s %s.%s: sample %zu is %s, not a measurement: the store was edited"
				      " or damaged; delete the run or leave it out of the comparison",
				 s->path, (long long)run, accel, workload, metric, g->count + 1,
				 isnan(value) ? "NaN" : value > 0 ? "+infinity" : "-infinity");
			goto bad;
		}
		const char *flags = (const char *)sqlite3_column_text(st, 6);
		g->values[g->count] = value;
		g->flags[g->count++] = flags && *flags ? kq_xstrdup(flags) : NULL;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		store_sample_groups_free(*groups, *count);
		*groups = NULL;
		*count = 0;
		return store_db_error(s, err, "reading a run's samples");
	}
	return 0;
bad:
	sqlite3_finalize(st);
	store_sample_groups_free(*groups, *count);
	*groups = NULL;
	*count = 0;
	return -1;
}
