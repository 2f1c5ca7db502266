/* The store's write side for kvmqual ab and kvmqual tune (ab/): a session
 * (owned like a run, recovered the same way when its process dies), its
 * experiments, their arms, every sample and each metric's result.  The
 * tables are schema version 3 (schema.sql; version 2 is run_sources); the
 * report reads them through read_report.h. */
#ifndef KQ_STORE_AB_H
#define KQ_STORE_AB_H

#include "store.h"

struct store_ab_session_info {
	const char *command;          /* "ab" or "tune" */
	const char *accel, *profile, *suite_version, *qemu_version, *guest_image_hash, *command_line;
	const char *probe_json;       /* the probe's document (JSON) or NULL */
};

/* Records the host (once) and a session in state 'running'.  The id, or -1. */
int64_t store_ab_begin(struct store *s, const struct store_host *host, const struct store_ab_session_info *info,
		       struct kq_err *err);
/* status: complete, incomplete, failed or interrupted; recommendation: tune's
 * QEMU fragment (NULL = none). */
int store_ab_finish(struct store *s, int64_t session, enum store_run_status status, const char *reason,
		    const char *recommendation, struct kq_err *err);

int64_t store_ab_experiment_begin(struct store *s, int64_t session, const char *setting, const char *title,
				  const char *rule_json, struct kq_err *err);
struct store_ab_experiment_end {
	const char *status;           /* complete, failed, skipped, interrupted */
	const char *reason;
	int rounds;                   /* per arm in the first pass; < 0 unknown */
	int recommended_arm;          /* < 0: none */
	const char *recommendation, *confidence, *because;
};
int store_ab_experiment_finish(struct store *s, int64_t experiment, const struct store_ab_experiment_end *e,
			       struct kq_err *err);

struct store_ab_arm {
	int arm;
	const char *name, *spec, *fragment;
	const char *status;           /* ok | failed */
	const char *reason, *vcpus;
};
/* Inserts or replaces the arm's row. */
int store_ab_put_arm(struct store *s, int64_t experiment, const struct store_ab_arm *a, struct kq_err *err);

struct store_ab_sample {
	int arm, pass, round;
	const char *workload, *metric, *unit;
	int higher_is_better;
	double value;
	const char *flags, *conditions;
};
int store_ab_add_sample(struct store *s, int64_t experiment, const struct store_ab_sample *x, struct kq_err *err);

struct store_ab_result {
	int arm;
	const char *workload, *metric, *unit;
	int higher_is_better;
	int rounds;
	double ref_median, arm_median, change_pct, ci_low_pct, ci_high_pct, ci_level, p, threshold_pct;
	const char *decision;         /* regression, improvement, no change, inconclusive, failed */
	int passes;
	double first_change_pct, first_p;
	const char *first_decision, *why;
};
int store_ab_add_result(struct store *s, int64_t experiment, const struct store_ab_result *r, struct kq_err *err);

#endif
