/* The store's write side for kvmqual ab and kvmqual tune: store/ab.h. */
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "ab.h"
#include "internal.h"

/* Prepares sql, binds nothing, for the caller to bind and step. */
static sqlite3_stmt *prepare(struct store *s, const char *sql, const char *what, struct kq_err *err)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		store_db_error(s, err, what);
		return NULL;
	}
	return st;
}

/* Steps st once and finalizes it. */
static int finish(struct store *s, sqlite3_stmt *st, const char *what, struct kq_err *err)
{
	int rc = store_step_done(s, st, what, err);
	sqlite3_finalize(st);
	return rc;
}

int64_t store_ab_begin(struct store *s, const struct store_host *host, const struct store_ab_session_info *info,
		       struct kq_err *err)
{
	if (!host || !host->arch || !*host->arch)
		return kq_error(err, "%s: a session needs the host's architecture", s->path);
	if (store_batch_begin(s, err))
		return -1;
	int64_t hid = store_host_id(s, host, err);
	sqlite3_stmt *st = hid < 0 ? NULL
		: prepare(s, "INSERT INTO ab_sessions (host_id, command, accel, profile, suite_version, qemu_version,"
			     " guest_image_hash, command_line, pid, pid_start, boot_id, probe_json)"
			     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
			  "recording the session", err);
	if (!st) {
		store_batch_rollback(s);
		return -1;
	}
	unsigned long long start = 0;
	char state;
	sqlite3_bind_int64(st, 1, hid);
	store_bind_text(st, 2, info->command);
	store_bind_text(st, 3, info->accel);
	store_bind_text(st, 4, info->profile);
	store_bind_text(st, 5, info->suite_version);
	store_bind_text(st, 6, info->qemu_version);
	store_bind_text(st, 7, info->guest_image_hash);
	store_bind_text(st, 8, info->command_line);
	sqlite3_bind_int64(st, 9, getpid());
	if (store_proc_stat(getpid(), &start, &state) == 0)
		sqlite3_bind_int64(st, 10, (sqlite3_int64)start);
	store_bind_text(st, 11, s->boot_id);
	store_bind_text(st, 12, info->probe_json);
	if (finish(s, st, "recording the session", err)) {
		store_batch_rollback(s);
		return -1;
	}
	int64_t id = sqlite3_last_insert_rowid(s->db);
	return store_batch_commit(s, err) ? -1 : id;
}

int store_ab_finish(struct store *s, int64_t session, enum store_run_status status, const char *reason,
		    const char *recommendation, struct kq_err *err)
{
	if (status == STORE_RUN_RUNNING || !store_run_status_name(status))
		return kq_error(err, "%s: session %" PRId64 ": cannot finish with status %d", s->path, session,
				(int)status);
	sqlite3_stmt *st = prepare(s, "UPDATE ab_sessions SET status = ?2, reason = ?3, recommendation = ?4,"
				      " finished_at = " NOW_SQL " WHERE id = ?1",
				   "finishing the session", err);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, session);
	sqlite3_bind_text(st, 2, store_run_status_name(status), -1, SQLITE_STATIC);
	store_bind_text(st, 3, reason);
	store_bind_text(st, 4, recommendation);
	if (finish(s, st, "finishing the session", err))
		return -1;
	return sqlite3_changes(s->db) ? 0 : kq_error(err, "%s: no session %" PRId64, s->path, session);
}

int64_t store_ab_experiment_begin(struct store *s, int64_t session, const char *setting, const char *title,
				  const char *rule_json, struct kq_err *err)
{
	sqlite3_stmt *st = prepare(s, "INSERT INTO ab_experiments (session_id, setting, title, rule) VALUES (?1, ?2, ?3, ?4)",
				   "recording an experiment", err);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, session);
	store_bind_text(st, 2, setting);
	store_bind_text(st, 3, title);
	store_bind_text(st, 4, rule_json);
	if (finish(s, st, "recording an experiment", err))
		return -1;
	return sqlite3_last_insert_rowid(s->db);
}

int store_ab_experiment_finish(struct store *s, int64_t experiment, const struct store_ab_experiment_end *e,
			       struct kq_err *err)
{
	sqlite3_stmt *st = prepare(s, "UPDATE ab_experiments SET status = ?2, reason = ?3, rounds = ?4,"
				      " recommended_arm = ?5, recommendation = ?6, confidence = ?7, because = ?8"
				      " WHERE id = ?1",
				   "finishing an experiment", err);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, experiment);
	store_bind_text(st, 2, e->status);
	store_bind_text(st, 3, e->reason);
	if (e->rounds >= 0)
		sqlite3_bind_int(st, 4, e->rounds);
	if (e->recommended_arm >= 0)
		sqlite3_bind_int(st, 5, e->recommended_arm);
	store_bind_text(st, 6, e->recommendation);
	store_bind_text(st, 7, e->confidence);
	store_bind_text(st, 8, e->because);
	return finish(s, st, "finishing an experiment", err);
}

int store_ab_put_arm(struct store *s, int64_t experiment, const struct store_ab_arm *a, struct kq_err *err)
{
	sqlite3_stmt *st = prepare(s, "INSERT INTO ab_arms (experiment_id, arm, name, spec, fragment, status, reason, vcpus)"
				      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (experiment_id, arm) DO UPDATE"
				      " SET name = excluded.name, spec = excluded.spec, fragment = excluded.fragment,"
				      " status = excluded.status, reason = excluded.reason, vcpus = excluded.vcpus",
				   "recording an arm", err);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, experiment);
	sqlite3_bind_int(st, 2, a->arm);
	sqlite3_bind_text(st, 3, a->name ? a->name : "", -1, SQLITE_STATIC);
	store_bind_text(st, 4, a->spec);
	store_bind_text(st, 5, a->fragment);
	sqlite3_bind_text(st, 6, a->status ? a->status : "ok", -1, SQLITE_STATIC);
	store_bind_text(st, 7, a->reason);
	store_bind_text(st, 8, a->vcpus);
	return finish(s, st, "recording an arm", err);
}

int store_ab_add_sample(struct store *s, int64_t experiment, const struct store_ab_sample *x, struct kq_err *err)
{
	sqlite3_stmt *st = prepare(s, "INSERT INTO ab_samples (experiment_id, arm, pass, round, workload, metric, unit,"
				      " value, higher_is_better, flags, conditions)"
				      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
				   "storing a sample", err);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, experiment);
	sqlite3_bind_int(st, 2, x->arm);
	sqlite3_bind_int(st, 3, x->pass);
	sqlite3_bind_int(st, 4, x->round);
	sqlite3_bind_text(st, 5, x->workload ? x->workload : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, x->metric ? x->metric : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, x->unit ? x->unit : "", -1, SQLITE_STATIC);
	store_bind_double(st, 8, x->value);
	sqlite3_bind_int(st, 9, x->higher_is_better ? 1 : 0);
	store_bind_text(st, 10, x->flags);
	store_bind_text(st, 11, x->conditions);
	return finish(s, st, "storing a sample", err);
}

int store_ab_add_result(struct store *s, int64_t experiment, const struct store_ab_result *r, struct kq_err *err)
{
	sqlite3_stmt *st = prepare(s, "INSERT INTO ab_results (experiment_id, arm, workload, metric, unit, higher_is_better,"
				      " rounds, ref_median, arm_median, change_pct, ci_low_pct, ci_high_pct, ci_level, p,"
				      " threshold_pct, decision, passes, first_change_pct, first_p, first_decision, why)"
				      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"
				      " ?18, ?19, ?20, ?21)",
				   "storing a result", err);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, experiment);
	sqlite3_bind_int(st, 2, r->arm);
	sqlite3_bind_text(st, 3, r->workload ? r->workload : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->metric ? r->metric : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, r->unit ? r->unit : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, r->higher_is_better ? 1 : 0);
	sqlite3_bind_int(st, 7, r->rounds);
	store_bind_double(st, 8, r->ref_median);
	store_bind_double(st, 9, r->arm_median);
	store_bind_double(st, 10, r->change_pct);
	store_bind_double(st, 11, r->ci_low_pct);
	store_bind_double(st, 12, r->ci_high_pct);
	store_bind_double(st, 13, r->ci_level);
	store_bind_double(st, 14, r->p);
	store_bind_double(st, 15, r->threshold_pct);
	store_bind_text(st, 16, r->decision);
	sqlite3_bind_int(st, 17, r->passes);
	store_bind_double(st, 18, r->first_change_pct);
	store_bind_double(st, 19, r->first_p);
	store_bind_text(st, 20, r->first_decision);
	store_bind_text(st, 21, r->why);
	return finish(s, st, "storing a result", err);
}
