/* What kvmqual compare (compare/) reads from the store: runs, their
 * identity and their samples by metric (read_compare.c). */
#ifndef KQ_STORE_READ_COMPARE_H
#define KQ_STORE_READ_COMPARE_H

#include "store.h"

/* What a run is and where it ran: the fields two runs must share to be
 * compared without --allow-different.  Strings are malloc'd ("" when NULL
 * in the store). */
struct store_run_identity {
	int64_t id;
	char *started_at, *status, *reason;
	char *host_key, *arch, *model, *soc, *kernel_release;
	long page_size;
	char *profile, *suite_version, *qemu_version, *guest_image_hash;
};

/* Reads run `run`.  Returns 0, 1 when there is no such run (err says so),
 * -1 on error. */
int store_run_identity(struct store *s, int64_t run, struct store_run_identity *id, struct kq_err *err);
void store_run_identity_free(struct store_run_identity *id);

/* Runs newest first (highest id first): all of them (machine NULL) or
 * those on the same machine as `machine` (same arch, model and SoC: a new
 * kernel is the same machine, another host key), with id < before (0 = no
 * limit), at most limit (0 = no limit).  *runs is malloc'd; free with
 * store_run_identities_free. */
int store_list_runs(struct store *s, const struct store_run_identity *machine, int64_t before, size_t limit,
		    struct store_run_identity **runs, size_t *count, struct kq_err *err);
void store_run_identities_free(struct store_run_identity *runs, size_t count);

/* The samples of one run, grouped by accel, workload and metric (in that
 * order), values in iteration order with each sample's flags.  Boots are
 * the group (accel, "boot", "total_ms"), unit ms, lower is better. */
struct store_sample_group {
	char *accel, *workload, *metric, *unit;
	int higher_is_better;
	size_t count;
	double *values;
	char **flags;   /* per value: comma-separated, NULL when none */
};
/* A value that is not a finite number (text or a blob in an edited store,
 * an infinity) is an error naming the run, the metric and the sample. */
int store_run_samples(struct store *s, int64_t run, struct store_sample_group **groups, size_t *count,
		      struct kq_err *err);
void store_sample_groups_free(struct store_sample_group *groups, size_t count);

#endif
