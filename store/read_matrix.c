/* What kvmqual matrix reads from the store (read_matrix.h): runs picked
 * with SQL per host, read whole through a visitor, in one read
 * transaction. */
#include <stdlib.h>

#include "internal.h"
#include "read_matrix.h"

/* The runs wanted per host, by id.  "KVM worked" (the matrix's qualifying
 * run) is: finished complete or incomplete, with at least one KVM boot. */
static const char pick_sql_latest[] =
	"SELECT coalesce("
	" (SELECT r.id FROM runs r WHERE r.host_id = h.id AND r.status != 'running'"
	"   ORDER BY r.started_at DESC, r.id DESC LIMIT 1),"
	" (SELECT r.id FROM runs r WHERE r.host_id = h.id ORDER BY r.started_at DESC, r.id DESC LIMIT 1)),"
	" NULL FROM hosts h ORDER BY h.id";
static const char pick_sql_latest_kvm[] =
	"SELECT coalesce("
	" (SELECT r.id FROM runs r WHERE r.host_id = h.id AND r.status != 'running'"
	"   ORDER BY r.started_at DESC, r.id DESC LIMIT 1),"
	" (SELECT r.id FROM runs r WHERE r.host_id = h.id ORDER BY r.started_at DESC, r.id DESC LIMIT 1)),"
	" (SELECT r.id FROM runs r WHERE r.host_id = h.id AND r.status IN ('complete', 'incomplete')"
	"   AND EXISTS (SELECT 1 FROM boot_samples b WHERE b.run_id = r.id AND b.accel = 'kvm')"
	"   ORDER BY r.started_at DESC, r.id DESC LIMIT 1)"
	" FROM hosts h ORDER BY h.id";
static const char pick_sql_run[] = "SELECT id, NULL FROM runs WHERE id = ?1";
static const char pick_sql_all[] = "SELECT id, NULL FROM runs ORDER BY id";

static int pick_runs(struct store *s, enum store_pick pick, int64_t run, int64_t **ids, size_t *count,
		     struct kq_err *err)
{
	const char *sql = pick == STORE_PICK_LATEST ? pick_sql_latest
			  : pick == STORE_PICK_LATEST_KVM ? pick_sql_latest_kvm
			  : pick == STORE_PICK_RUN ? pick_sql_run : pick_sql_all;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return store_db_error(s, err, "picking runs");
	if (pick == STORE_PICK_RUN)
		sqlite3_bind_int64(st, 1, run);
	size_t cap = 0;
	*ids = NULL;
	*count = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int col = 0; col < 2; col++) {
			if (sqlite3_column_type(st, col) == SQLITE_NULL)
				continue;
			int64_t id = sqlite3_column_int64(st, col);
			if (col == 1 && id == sqlite3_column_int64(st, 0))
				continue;
			if (*count == cap) {
				cap = cap ? cap * 2 : 64;
				*ids = kq_xrealloc(*ids, cap * sizeof(**ids));
			}
			(*ids)[(*count)++] = id;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(*ids);
		*ids = NULL;
		*count = 0;
		return store_db_error(s, err, "picking runs");
	}
	return 0;
}

enum { READ_RUN, READ_CHECKS, READ_BOOTS, READ_SAMPLES, READ_VERDICTS, READ_SPEEDUPS, READ_COUNT };
static const char *const read_sql[READ_COUNT] = {
	/* %s twice: the provenance (schema version 2), or NULLs for an older
	 * store read as it is */
	[READ_RUN] = "SELECT r.id, r.started_at, r.finished_at, r.status, r.reason, r.profile, r.suite_version,"
		     " r.qemu_version, r.guest_image_hash, r.command_line, r.pid, r.boot_id, r.probe_json,"
		     " h.host_key, h.arch, h.model, h.soc, h.kernel_release, h.page_size, %s"
		     " FROM runs r JOIN hosts h ON h.id = r.host_id %s WHERE r.id = ?1",
	[READ_CHECKS] = "SELECT check_id, status, value, detail, hint FROM checks WHERE run_id = ?1 ORDER BY id",
	[READ_BOOTS] = "SELECT accel, iteration, total_ms, before_kernel_ms, kernel_ms, userspace_ms, flags"
		       " FROM boot_samples WHERE run_id = ?1 ORDER BY id",
	[READ_SAMPLES] = "SELECT accel, workload, metric, unit, value, iteration, higher_is_better, flags,"
			 " conditions FROM samples WHERE run_id = ?1 ORDER BY id",
	[READ_VERDICTS] = "SELECT target, metric, value, threshold, op, status, detail FROM verdicts"
			  " WHERE run_id = ?1 ORDER BY id",
	[READ_SPEEDUPS] = "SELECT workload, metric, kvm_over_tcg, kvm_pct_of_native, tcg_pct_of_native"
			  " FROM speedups WHERE run_id = ?1 ORDER BY id",
};

/* Calls the visitor for one row of one of the read_sql statements.  Returns
 * the callback's answer (0 = go on). */
static int visit_row(int which, sqlite3_stmt *st, const struct store_run_visitor *v, void *ctx)
{
	switch (which) {
	case READ_RUN: {
		struct store_run_record r = {
			.id = sqlite3_column_int64(st, 0),
			.started_at = store_column_text(st, 1),
			.finished_at = store_column_text(st, 2),
			.status = store_column_text(st, 3),
			.reason = store_column_text(st, 4),
			.pid = sqlite3_column_int64(st, 10),
			.boot_id = store_column_text(st, 11),
			.info = { .profile = store_column_text(st, 5), .suite_version = store_column_text(st, 6),
				  .qemu_version = store_column_text(st, 7), .guest_image_hash = store_column_text(st, 8),
				  .command_line = store_column_text(st, 9), .probe_json = store_column_text(st, 12) },
			.host = { .arch = store_column_text(st, 14), .model = store_column_text(st, 15), .soc = store_column_text(st, 16),
				  .kernel_release = store_column_text(st, 17), .page_size = (long)sqlite3_column_int64(st, 18) },
			.source_run_id = sqlite3_column_int64(st, 19),
			.source_database = store_column_text(st, 20),
		};
		snprintf(r.host_key, sizeof(r.host_key), "%s", store_column_text(st, 13) ? store_column_text(st, 13) : "");
		return v->run ? v->run(&r, ctx) : 0;
	}
	case READ_CHECKS: {
		struct store_check c = { store_column_text(st, 0), store_column_text(st, 1), store_column_text(st, 2),
					 store_column_text(st, 3), store_column_text(st, 4) };
		return v->check(&c, ctx);
	}
	case READ_BOOTS: {
		struct store_boot_sample b = { .accel = store_column_text(st, 0), .iteration = sqlite3_column_int(st, 1),
					       .total_ms = store_column_double(st, 2), .before_kernel_ms = store_column_double(st, 3),
					       .kernel_ms = store_column_double(st, 4), .userspace_ms = store_column_double(st, 5),
					       .flags = store_column_text(st, 6) };
		return v->boot_sample(&b, ctx);
	}
	case READ_SAMPLES: {
		struct store_sample sm = { .accel = store_column_text(st, 0), .workload = store_column_text(st, 1),
					   .metric = store_column_text(st, 2), .unit = store_column_text(st, 3),
					   .value = store_column_double(st, 4), .iteration = sqlite3_column_int(st, 5),
					   .higher_is_better = sqlite3_column_int(st, 6), .flags = store_column_text(st, 7),
					   .conditions = store_column_text(st, 8) };
		return v->sample(&sm, ctx);
	}
	case READ_VERDICTS: {
		struct store_verdict vd = { .target = store_column_text(st, 0), .metric = store_column_text(st, 1),
					    .value = store_column_double(st, 2), .threshold = store_column_double(st, 3),
					    .op = store_column_text(st, 4), .status = store_column_text(st, 5),
					    .detail = store_column_text(st, 6) };
		return v->verdict(&vd, ctx);
	}
	default: {
		struct store_speedup sp = { .workload = store_column_text(st, 0), .metric = store_column_text(st, 1),
					    .kvm_over_tcg = store_column_double(st, 2),
					    .kvm_pct_of_native = store_column_double(st, 3),
					    .tcg_pct_of_native = store_column_double(st, 4) };
		return v->speedup(&sp, ctx);
	}
	}
}

static int read_one_run(struct store *s, sqlite3_stmt **st, int64_t run, const struct store_run_visitor *v,
			void *ctx, struct kq_err *err)
{
	for (int which = 0; which < READ_COUNT; which++) {
		if (!st[which])
			continue;
		sqlite3_bind_int64(st[which], 1, run);
		int rc, stop = 0;
		while (!stop && (rc = sqlite3_step(st[which])) == SQLITE_ROW)
			stop = visit_row(which, st[which], v, ctx);
		sqlite3_reset(st[which]);
		if (stop)
			return -1;
		if (rc != SQLITE_DONE)
			return store_db_error(s, err, "reading a run");
	}
	return 0;
}

int store_read_runs(struct store *s, enum store_pick pick, int64_t run, const struct store_run_visitor *v,
		    void *ctx, struct kq_err *err)
{
	/* One read transaction: the runs picked are the runs read, whatever a
	 * writer does meanwhile. */
	int own_txn = s->batch_depth == 0;
	if (own_txn && store_exec(s, "BEGIN", "starting to read", err))
		return -1;
	sqlite3_stmt *st[READ_COUNT] = { 0 };
	int64_t *ids = NULL;
	size_t count = 0;
	int ret = pick_runs(s, pick, run, &ids, &count, err);
	const int wanted[READ_COUNT] = {
		[READ_RUN] = 1, [READ_CHECKS] = !!v->check, [READ_BOOTS] = !!v->boot_sample,
		[READ_SAMPLES] = !!v->sample, [READ_VERDICTS] = !!v->verdict, [READ_SPEEDUPS] = !!v->speedup,
	};
	int64_t version = 0;
	if (!ret)
		ret = store_query_int(s, "PRAGMA user_version", &version, "reading runs", err);
	for (int which = 0; !ret && which < READ_COUNT; which++) {
		if (!wanted[which])
			continue; /* nobody wants these rows: do not even read them */
		char *sql = which != READ_RUN ? sqlite3_mprintf("%s", read_sql[which])
			    : version >= 2 ? sqlite3_mprintf(read_sql[which], "p.source_run_id, p.database",
							     "LEFT JOIN run_sources p ON p.run_id = r.id")
					   : sqlite3_mprintf(read_sql[which], "NULL, NULL", "");
		if (!sql)
			abort();
		if (sqlite3_prepare_v2(s->db, sql, -1, &st[which], NULL) != SQLITE_OK)
			ret = store_db_error(s, err, "reading runs (is the schema damaged?)");
		sqlite3_free(sql);
	}
	for (size_t i = 0; !ret && i < count; i++)
		ret = read_one_run(s, st, ids[i], v, ctx, err);
	for (int which = 0; which < READ_COUNT; which++)
		sqlite3_finalize(st[which]);
	free(ids);
	if (own_txn)
		sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	return ret;
}
