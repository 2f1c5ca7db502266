/* The results store: one SQLite file (default results/kvmqual.db) holding
 * hosts, runs, the probe's checks, boot samples, workload samples, verdicts
 * and KVM/TCG speed-ups.  This header is the store's handle, its types, the
 * write side that kvmqual run uses and the export; each reader has its own
 * header: read_report.h (reports/), read_compare.h (compare/),
 * read_matrix.h (matrix/).  The schema and its migrations are schema.sql;
 * store/README.md describes them, concurrency, recovery and the formats.
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

/* What the guest's kernel says of the CPU's vulnerabilities under one
 * accelerator (/sys/devices/system/cpu/vulnerabilities, read through the
 * agent; schema version 4). */
struct store_guest_vulnerabilities {
	const char *accel;           /* kvm | tcg */
	const char *vulnerabilities; /* JSON object, each file's name -> its text; NULL: unknown */
	const char *reason;          /* why unknown; NULL when known */
};

enum store_format { STORE_FORMAT_JSON, STORE_FORMAT_CSV };

/* Opens (creating it and its directory if needed) and migrates the store:
 * for the writer, kvmqual run.  Refuses a file that is not SQLite, is
 * corrupt, is another application's database or has a schema newer than
 * this code knows, and changes nothing in it then.  Runs left 'running' by a
 * process that is gone are marked 'interrupted'; *recovered (if not NULL)
 * says how many.  Readers use store_open_readonly. */
struct store *store_open(const char *path, int *recovered, struct kq_err *err);
/* Finalizes everything; rolls back an open batch.  NULL is fine. */
void store_close(struct store *s);
const char *store_path(const struct store *s);
/* How long a write waits for another process's write lock before it fails
 * (STORE_BUSY_TIMEOUT_MS unless set). */
void store_set_busy_timeout(struct store *s, int ms);
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
/* One per run and accelerator (storing again is refused by the schema). */
int store_add_guest_vulnerabilities(struct store *s, int64_t run, const struct store_guest_vulnerabilities *g,
				    struct kq_err *err);

/* Writes one run (run > 0) or every run (run == 0): JSON (schema
 * kvmqual.export) with hosts, checks, boot samples, samples, verdicts,
 * speed-ups and the guest's view of the CPU's vulnerabilities; or CSV of
 * the samples with a header row. */
int store_export(struct store *s, int64_t run, enum store_format format, FILE *out,
		 struct kq_err *err);

/* Escapes one CSV field (RFC 4180 quoting when it holds , " CR or LF). */
void store_csv_field(FILE *out, const char *field);

/* Opens an existing store for reading only: no migration, no recovery,
 * nothing written to the file or created beside it when no write-ahead log
 * is there (a read-only file or directory works).  Refuses a missing file,
 * a directory, an empty file, a file that is not a kvmqual store and a
 * schema newer than this code knows.  Writing functions fail on it.  Runs
 * whose process is gone read as interrupted (as the next writer stores
 * them), though nothing is written. */
struct store *store_open_readonly(const char *path, struct kq_err *err);

/* Whether PATH-wal exists.  store_open_readonly reads a store without one
 * as immutable: a caller that sees one appear after reading (a writer
 * opened the file meanwhile) reads again. */
int store_has_wal(const char *path);
/* For a handle of store_open_readonly: whether a writer may have changed
 * what it read (the file was read as immutable, and a write-ahead log
 * appeared or the file itself changed since it was opened).  Read again
 * through a new handle then.  0 for other handles. */
int store_changed_since_open(const struct store *s);

/* Why a reader found no run to take by default, in err: the store holds no
 * runs yet (and how to make one), or no what run (such as "finished"):
 * how many it holds, their ids, and the caller's why (such as "all still
 * running; give one with --run ID").  Returns -1. */
int store_no_run_to_take(struct store *s, const char *what, const char *why, struct kq_err *err);

/* kvmqual export (cmd_export.c): runs as JSON or CSV on standard output. */
int cmd_export(int argc, char **argv);

#endif
