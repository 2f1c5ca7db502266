/* What kvmqual report (reports/) reads from the store: the latest run, and
 * a host's history (read_report.c). */
#ifndef KQ_STORE_READ_REPORT_H
#define KQ_STORE_READ_REPORT_H

#include "store.h"

/* The id of the newest run (highest id) that has finished, whatever its
 * status, 0 when there is none, -1 on error. */
int64_t store_latest_run(struct store *s, struct kq_err *err);

/* One point of a host's history: the median of one metric under one
 * accelerator in one run.  Strings are valid during the callback only. */
struct store_history_point {
	int64_t run;
	const char *started_at;
	const char *accel;  /* native | tcg | kvm */
	const char *name;   /* "workload.metric" as asked, "boot.total_ms" for boots */
	double median;
	int samples;
};
typedef int (*store_history_fn)(const struct store_history_point *p, void *ctx);

/* Calls fn, oldest run first, for every run of the host (by host key) with
 * id <= up_to_run (0 = all) and every accelerator that measured one of
 * names ("workload.metric"; "boot.total_ms" is the boot time).  fn returns
 * non-zero to stop.  Returns 0, or -1 with err. */
int store_history(struct store *s, const char *host_key, const char *const *names, size_t count,
		  int64_t up_to_run, store_history_fn fn, void *ctx, struct kq_err *err);

/* The newest kvmqual tune of a host (or, when it had none, its newest
 * kvmqual ab), for the report's "Tuning" section.  Strings are malloc'd. */
struct store_tuning_arm {
	char *name, *fragment, *status, *reason, *vcpus;
};
struct store_tuning_result {
	int arm;
	char *workload, *metric, *unit, *decision, *why;
	int higher_is_better, rounds, passes;
	double change_pct, ci_low_pct, ci_high_pct, p;
};
struct store_tuning_experiment {
	char *setting, *title, *status, *reason, *recommendation, *confidence, *because;
	int recommended_arm;   /* -1: none */
	int rounds;
	struct store_tuning_arm *arms;
	size_t arm_count;
	struct store_tuning_result *results;
	size_t result_count;
};
struct store_tuning {
	int64_t session;       /* 0: the host has none (or the store predates them) */
	char *command, *started_at, *status, *reason, *accel, *recommendation;
	struct store_tuning_experiment *experiments;
	size_t count;
};
int store_tuning_latest(struct store *s, const char *host_key, struct store_tuning *t, struct kq_err *err);
void store_tuning_free(struct store_tuning *t);

#endif
