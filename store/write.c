/* The store's write side, what kvmqual run uses: a run begun and
 * finished, and its checks, boots, samples, verdicts, speed-ups and the
 * guest's view of the CPU's vulnerabilities, in
 * batches (store.c) with statements prepared once. */
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static const char *const stmt_sql[STMT_COUNT] = {
	[STMT_SAMPLE] = "INSERT INTO samples (run_id, accel, workload, metric, unit, value, iteration,"
			" higher_is_better, flags, conditions) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[STMT_BOOT] = "INSERT INTO boot_samples (run_id, accel, iteration, total_ms, before_kernel_ms,"
		      " kernel_ms, userspace_ms, flags) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[STMT_CHECK] = "INSERT INTO checks (run_id, check_id, status, value, detail, hint)"
		       " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[STMT_VERDICT] = "INSERT INTO verdicts (run_id, target, metric, value, threshold, op, status, detail)"
			 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[STMT_SPEEDUP] = "INSERT INTO speedups (run_id, workload, metric, kvm_over_tcg, kvm_pct_of_native,"
			 " tcg_pct_of_native) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
			 " ON CONFLICT (run_id, workload, metric) DO UPDATE SET kvm_over_tcg = excluded.kvm_over_tcg,"
			 " kvm_pct_of_native = excluded.kvm_pct_of_native, tcg_pct_of_native = excluded.tcg_pct_of_native",
};


int store_prepare_writes(struct store *s, struct kq_err *err)
{
	for (int i = 0; i < STMT_COUNT; i++) {
		if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i], NULL) !=
		    SQLITE_OK)
			return store_db_error(s, err, "preparing statements (is the schema damaged?)");
	}
	return 0;
}

/* Steps a statement that returns no rows and leaves it ready for reuse. */
int store_step_done(struct store *s, sqlite3_stmt *st, const char *what, struct kq_err *err)
{
	int rc = sqlite3_step(st);
	int ret = 0;
	if (rc != SQLITE_DONE)
		ret = store_db_error(s, err, what);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

/* ---- hosts and runs ---- */

int64_t store_host_id(struct store *s, const struct store_host *host, struct kq_err *err)
{
	char key[17];
	store_host_key(host, key);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO hosts (host_key, arch, model, soc, kernel_release, page_size)"
			       " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (host_key) DO NOTHING",
			       -1, &st, NULL) != SQLITE_OK)
		return store_db_error(s, err, "recording the host");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, host->arch ? host->arch : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, host->model ? host->model : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, host->soc ? host->soc : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, host->kernel_release ? host->kernel_release : "", -1, SQLITE_STATIC);
	if (host->page_size > 0)
		sqlite3_bind_int64(st, 6, host->page_size);
	int rc = store_step_done(s, st, "recording the host", err);
	sqlite3_finalize(st);
	if (rc)
		return -1;
	if (sqlite3_prepare_v2(s->db, "SELECT id FROM hosts WHERE host_key = ?1", -1, &st, NULL) != SQLITE_OK)
		return store_db_error(s, err, "recording the host");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int64_t id = -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	else
		store_db_error(s, err, "recording the host");
	sqlite3_finalize(st);
	return id;
}

int64_t store_begin_run(struct store *s, const struct store_host *host, const struct store_run_info *info,
			struct kq_err *err)
{
	static const struct store_run_info none;
	if (!info)
		info = &none;
	if (!host || !host->arch || !*host->arch)
		return kq_error(err, "%s: a run needs the host's architecture", s->path);
	if (store_batch_begin(s, err))
		return -1;
	int64_t hid = store_host_id(s, host, err);
	if (hid < 0)
		goto fail;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO runs (host_id, profile, suite_version, qemu_version, guest_image_hash,"
			       " command_line, pid, pid_start, boot_id, probe_json)"
			       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
			       -1, &st, NULL) != SQLITE_OK) {
		store_db_error(s, err, "recording the run");
		goto fail;
	}
	unsigned long long start = 0;
	char state;
	sqlite3_bind_int64(st, 1, hid);
	store_bind_text(st, 2, info->profile);
	store_bind_text(st, 3, info->suite_version);
	store_bind_text(st, 4, info->qemu_version);
	store_bind_text(st, 5, info->guest_image_hash);
	store_bind_text(st, 6, info->command_line);
	sqlite3_bind_int64(st, 7, getpid());
	if (store_proc_stat(getpid(), &start, &state) == 0)
		sqlite3_bind_int64(st, 8, (sqlite3_int64)start);
	store_bind_text(st, 9, s->boot_id);
	store_bind_text(st, 10, info->probe_json);
	int rc = store_step_done(s, st, "recording the run", err);
	sqlite3_finalize(st);
	if (rc)
		goto fail;
	int64_t run = sqlite3_last_insert_rowid(s->db);
	if (store_batch_commit(s, err))
		return -1;
	return run;
fail:
	store_batch_rollback(s);
	return -1;
}

int store_finish_run(struct store *s, int64_t run, enum store_run_status status, const char *reason,
		     struct kq_err *err)
{
	if (status == STORE_RUN_RUNNING || !store_run_status_name(status))
		return kq_error(err, "%s: run %" PRId64 ": cannot finish with status %d", s->path, run, (int)status);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
			       "UPDATE runs SET status = ?2, reason = ?3, finished_at = " NOW_SQL " WHERE id = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return store_db_error(s, err, "finishing the run");
	sqlite3_bind_int64(st, 1, run);
	sqlite3_bind_text(st, 2, store_run_status_name(status), -1, SQLITE_STATIC);
	store_bind_text(st, 3, reason);
	int rc = store_step_done(s, st, "finishing the run", err);
	int changed = sqlite3_changes(s->db);
	sqlite3_finalize(st);
	if (rc)
		return -1;
	if (!changed)
		return kq_error(err, "%s: cannot finish run %" PRId64 ": it is no longer in the store (deleted by"
				     " somebody else?)", s->path, run);
	return 0;
}

/* ---- results ---- */

int store_add_checks(struct store *s, int64_t run, const struct store_check *checks, size_t count,
		     struct kq_err *err)
{
	if (store_batch_begin(s, err))
		return -1;
	sqlite3_stmt *st = s->stmt[STMT_CHECK];
	for (size_t i = 0; i < count; i++) {
		const struct store_check *c = &checks[i];
		sqlite3_bind_int64(st, 1, run);
		sqlite3_bind_text(st, 2, c->id ? c->id : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, c->status ? c->status : "", -1, SQLITE_STATIC);
		store_bind_text(st, 4, c->value);
		store_bind_text(st, 5, c->detail);
		store_bind_text(st, 6, c->hint);
		if (store_step_done(s, st, "storing a check", err)) {
			store_batch_rollback(s);
			return -1;
		}
	}
	return store_batch_commit(s, err);
}

int store_add_boot_sample(struct store *s, int64_t run, const struct store_boot_sample *b, struct kq_err *err)
{
	sqlite3_stmt *st = s->stmt[STMT_BOOT];
	sqlite3_bind_int64(st, 1, run);
	store_bind_text(st, 2, b->accel);
	sqlite3_bind_int(st, 3, b->iteration);
	store_bind_double(st, 4, b->total_ms);
	store_bind_double(st, 5, b->before_kernel_ms);
	store_bind_double(st, 6, b->kernel_ms);
	store_bind_double(st, 7, b->userspace_ms);
	store_bind_text(st, 8, b->flags);
	return store_step_done(s, st, "storing a boot sample", err);
}

int store_add_sample(struct store *s, int64_t run, const struct store_sample *sample, struct kq_err *err)
{
	sqlite3_stmt *st = s->stmt[STMT_SAMPLE];
	sqlite3_bind_int64(st, 1, run);
	store_bind_text(st, 2, sample->accel);
	store_bind_text(st, 3, sample->workload);
	store_bind_text(st, 4, sample->metric);
	sqlite3_bind_text(st, 5, sample->unit ? sample->unit : "", -1, SQLITE_STATIC);
	store_bind_double(st, 6, sample->value);
	sqlite3_bind_int(st, 7, sample->iteration);
	sqlite3_bind_int(st, 8, sample->higher_is_better ? 1 : 0);
	store_bind_text(st, 9, sample->flags);
	store_bind_text(st, 10, sample->conditions);
	return store_step_done(s, st, "storing a sample", err);
}

int store_add_verdict(struct store *s, int64_t run, const struct store_verdict *v, struct kq_err *err)
{
	sqlite3_stmt *st = s->stmt[STMT_VERDICT];
	sqlite3_bind_int64(st, 1, run);
	store_bind_text(st, 2, v->target);
	store_bind_text(st, 3, v->metric);
	store_bind_double(st, 4, v->value);
	store_bind_double(st, 5, v->threshold);
	store_bind_text(st, 6, v->op);
	store_bind_text(st, 7, v->status);
	store_bind_text(st, 8, v->detail);
	return store_step_done(s, st, "storing a verdict", err);
}

int store_add_speedup(struct store *s, int64_t run, const struct store_speedup *sp, struct kq_err *err)
{
	sqlite3_stmt *st = s->stmt[STMT_SPEEDUP];
	sqlite3_bind_int64(st, 1, run);
	store_bind_text(st, 2, sp->workload);
	store_bind_text(st, 3, sp->metric);
	store_bind_double(st, 4, sp->kvm_over_tcg);
	store_bind_double(st, 5, sp->kvm_pct_of_native);
	store_bind_double(st, 6, sp->tcg_pct_of_native);
	return store_step_done(s, st, "storing a speed-up", err);
}

int store_add_guest_vulnerabilities(struct store *s, int64_t run, const struct store_guest_vulnerabilities *g,
				    struct kq_err *err)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO guest_vulnerabilities (run_id, accel, status, reason, vulnerabilities)"
			       " VALUES (?1, ?2, ?3, ?4, ?5)",
			       -1, &st, NULL) != SQLITE_OK)
		return store_db_error(s, err, "storing the guest's view of the CPU's vulnerabilities");
	sqlite3_bind_int64(st, 1, run);
	store_bind_text(st, 2, g->accel);
	sqlite3_bind_text(st, 3, g->vulnerabilities && *g->vulnerabilities ? "known" : "unknown", -1, SQLITE_STATIC);
	store_bind_text(st, 4, g->reason);
	store_bind_text(st, 5, g->vulnerabilities);
	int rc = store_step_done(s, st, "storing the guest's view of the CPU's vulnerabilities", err);
	sqlite3_finalize(st);
	return rc;
}
