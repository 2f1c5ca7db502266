/* What kvmqual matrix (matrix/) reads from the store: whole runs, picked
 * per host (read_matrix.c). */
#ifndef KQ_STORE_READ_MATRIX_H
#define KQ_STORE_READ_MATRIX_H

#include "store.h"

/* A whole run as stored.  Strings are valid during the callback only. */
struct store_run_record {
	int64_t id;
	/* An imported run's provenance (run_sources): its id in the store it
	 * was made in (0: made here, or not known) and that store's path. */
	int64_t source_run_id;
	const char *source_database;
	const char *started_at, *finished_at, *status, *reason, *boot_id;
	int64_t pid;
	char host_key[17];
	struct store_host host;
	struct store_run_info info; /* info.probe_json: the probe's document */
};

/* Called for each run picked (run first, then its rows, table by table).
 * A NULL member skips that table (samples are many: leave sample NULL
 * unless they are needed).  A callback returns non-zero to stop; the read
 * then fails with -1 and err as the callback left it. */
struct store_run_visitor {
	int (*run)(const struct store_run_record *r, void *ctx);
	int (*check)(const struct store_check *c, void *ctx);
	int (*boot_sample)(const struct store_boot_sample *b, void *ctx);
	int (*sample)(const struct store_sample *sm, void *ctx);
	int (*verdict)(const struct store_verdict *v, void *ctx);
	int (*speedup)(const struct store_speedup *sp, void *ctx);
};

enum store_pick {
	/* per host, its newest finished run (its newest run when none has finished) */
	STORE_PICK_LATEST,
	/* per host, the same plus its newest run where KVM worked (finished
	 * complete or incomplete, with at least one KVM boot), when another */
	STORE_PICK_LATEST_KVM,
	STORE_PICK_RUN, /* the run with the given id */
	STORE_PICK_ALL, /* every run, by id */
};

/* Picks runs with SQL (indexed: runs by host and start time) and reads
 * only those, in one read transaction.  Returns 0, or -1 with err. */
int store_read_runs(struct store *s, enum store_pick pick, int64_t run, const struct store_run_visitor *v,
		    void *ctx, struct kq_err *err);

#endif
