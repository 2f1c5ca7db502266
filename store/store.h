/* The results store of `kvmqual run`: one SQLite file (default
 * results/kvmqual.db) holding hosts, runs, the probe's checks, boot samples,
 * workload samples, verdicts and KVM/TCG speed-ups.  docs/store.md describes
 * the schema, migrations, concurrency, recovery and the export formats.
 *
 * Every function returns 0 (or an id > 0) on success and -1 with err filled
 * on failure; nothing here exits.  Error texts name the database file. */
#ifndef KQ_STORE_H
#define KQ_STORE_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../lib/util.h"

#define STORE_DEFAULT_PATH "results/kvmqual.db"
/* How long a writer waits for another writer before giving up: long enough
 * that two runs at once never fail on each other's batches. */
#define STORE_BUSY_TIMEOUT_MS 60000
#define STORE_EXPORT_SCHEMA "kvmqual.export"
#define STORE_EXPORT_VERSION 1

/* A double argument that is unknown (stored as NULL): NAN. */
#define STORE_UNKNOWN NAN

struct store;

/* The host's identity, as the probe reports it (document "host" member).
 * The host key is a hash of these fields; the same identity is one row. */
struct store_host {
	const char *arch;           /* "aarch64", "x86_64" */
	const char *model;          /* board or CPU model; NULL = "" */
	const char *soc;            /* NULL = "" */
	const char *kernel_release; /* uname -r */
	long page_size;             /* bytes; 0 = unknown */
};

/* What a run is, besides its host.  Any member may be NULL. */
struct store_run_info {
	const char *profile;          /* quick | standard | full */
	const char *suite_version;
	const char *qemu_version;
	const char *guest_image_hash;
	const char *command_line;
	const char *probe_json;       /* the probe's whole document (must be JSON) */
};

enum store_run_status {
	STORE_RUN_RUNNING,
	STORE_RUN_COMPLETE,
	STORE_RUN_INCOMPLETE,
	STORE_RUN_FAILED,
	STORE_RUN_INTERRUPTED,
};

struct store_check {
	const char *id;     /* e.g. "kvm.device" */
	const char *status; /* the probe's: PASS, WARN, FAIL, SKIP ... */
	const char *value, *detail, *hint;
};

struct store_boot_sample {
	const char *accel;  /* kvm | tcg */
	int iteration;
	double total_ms;    /* exec of QEMU to the agent's ready message */
	double before_kernel_ms, kernel_ms, userspace_ms; /* STORE_UNKNOWN if not split */
	const char *flags;  /* comma-separated, e.g. "throttled"; NULL = none */
};

struct store_sample {
	const char *accel;    /* kvm | tcg | native */
	const char *workload; /* e.g. "sysbench-cpu" */
	const char *metric;   /* e.g. "events_per_s_all" */
	const char *unit;     /* e.g. "events/s", "MB/s" */
	double value;
	int iteration;
	int higher_is_better;
	const char *flags;      /* comma-separated: "throttled", "fallback" ...; NULL = none */
	const char *conditions; /* JSON object: cpu_freq_khz, governor, load, throttled; NULL = none */
};

struct store_verdict {
	const char *target;  /* e.g. "boot time under KVM" */
	const char *metric;  /* e.g. "boot.total_ms" */
	double value;        /* STORE_UNKNOWN when it could not be measured */
	double threshold;
	const char *op;      /* "<", "<=", ">", ">=" */
	const char *status;  /* pass | fail | skip */
	const char *detail;
};

struct store_speedup {
	const char *workload, *metric;
	double kvm_over_tcg;       /* STORE_UNKNOWN where an accelerator is missing */
	double kvm_pct_of_native;
	double tcg_pct_of_native;
};

enum store_format { STORE_FORMAT_JSON, STORE_FORMAT_CSV };

/* Opens (creating it and its directory if needed) and migrates the store.
 * Refuses a file that is not SQLite, is corrupt, or has a schema newer than
 * this code knows.  Runs left 'running' by a process that is gone are marked
 * 'interrupted'; *recovered (if not NULL) says how many. */
struct store *store_open(const char *path, int *recovered, struct kq_err *err);
/* Finalizes everything; rolls back an open batch.  NULL is fine. */
void store_close(struct store *s);
const char *store_path(const struct store *s);
/* The schema version this code creates and understands. */
int store_schema_version(void);

/* Computes the stable host key (16 hex digits) into key[17]. */
void store_host_key(const struct store_host *host, char key[17]);

/* Records the host (once) and a new run in state 'running', owned by this
 * process (pid, boot id).  Returns the run id (> 0), or -1. */
int64_t store_begin_run(struct store *s, const struct store_host *host,
			const struct store_run_info *info, struct kq_err *err);
/* status is one of complete, incomplete, failed, interrupted; reason says
 * what failed and why (NULL = none). */
int store_finish_run(struct store *s, int64_t run, enum store_run_status status,
		     const char *reason, struct kq_err *err);
const char *store_run_status_name(enum store_run_status status);

/* A batch is one transaction (taken as a writer at once, waiting for other
 * writers up to the busy timeout).  Batches nest; the outermost commits.
 * Keep them short: a batch blocks every other writer of the file. */
int store_batch_begin(struct store *s, struct kq_err *err);
int store_batch_commit(struct store *s, struct kq_err *err);
/* Abandons the outermost batch (all of it, whatever the nesting). */
void store_batch_rollback(struct store *s);

int store_add_checks(struct store *s, int64_t run, const struct store_check *checks,
		     size_t count, struct kq_err *err);
int store_add_boot_sample(struct store *s, int64_t run, const struct store_boot_sample *b,
			  struct kq_err *err);
/* One prepared statement, reused: call inside a batch for speed. */
int store_add_sample(struct store *s, int64_t run, const struct store_sample *sample,
		     struct kq_err *err);
int store_add_verdict(struct store *s, int64_t run, const struct store_verdict *v,
		      struct kq_err *err);
int store_add_speedup(struct store *s, int64_t run, const struct store_speedup *sp,
		      struct kq_err *err);

/* Writes one run (run > 0) or every run (run == 0): JSON (schema
 * kvmqual.export) with hosts, checks, boot samples, samples, verdicts and
 * speed-ups; or CSV of the samples with a header row. */
int store_export(struct store *s, int64_t run, enum store_format format, FILE *out,
		 struct kq_err *err);

/* Escapes one CSV field (RFC 4180 quoting when it holds , " CR or LF). */
void store_csv_field(FILE *out, const char *field);

/* ---- for kvmqual report (reports/): the latest run, a host's history ---- */

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


/* ---- for kvmqual compare (runners/cmd_compare.c): runs and their samples ---- */

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
int store_run_samples(struct store *s, int64_t run, struct store_sample_group **groups, size_t *count,
		      struct kq_err *err);
void store_sample_groups_free(struct store_sample_group *groups, size_t count);

/* ---- for kvmqual matrix (matrix/): reading another host's store ---- */

/* Opens an existing store for reading only: no migration, no recovery,
 * nothing written to the file or created beside it when no write-ahead log
 * is there (a read-only file or directory works).  Refuses a missing file,
 * a directory, an empty file, a file that is not a kvmqual store and a
 * schema newer than this code knows.  Writing functions fail on it. */
struct store *store_open_readonly(const char *path, struct kq_err *err);

/* Whether PATH-wal exists.  store_open_readonly reads a store without one
 * as immutable: a caller that sees one appear after reading (a writer
 * opened the file meanwhile) reads again. */
int store_has_wal(const char *path);

/* A whole run as stored.  Strings are valid during the callback only. */
struct store_run_record {
	int64_t id;
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

/* kvmqual export (cmd_export.c): runs as JSON or CSV on standard output. */
int cmd_export(int argc, char **argv);

#endif
