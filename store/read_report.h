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

#endif
