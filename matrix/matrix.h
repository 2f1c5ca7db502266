/* kvmqual matrix: the compatibility matrix of many hosts, one row per device
 * (host identity: arch, model, SoC, kernel release, page size).
 *
 * Runs come from results stores (read-only, picked with SQL) and from
 * bundles (the store's JSON export, schema kvmqual.export) that hosts sent
 * in.  Both readers feed the same builder (matrix_begin_run ... end_run);
 * from there on one code path selects a run per device, decides its status,
 * marks what must not be merged silently, and computes every cell, so that
 * the writers (Markdown, HTML, JSON, CSV) only format.  docs/matrix.md is
 * the reader's guide and describes matrix.json. */
#ifndef KQ_MATRIX_H
#define KQ_MATRIX_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "../lib/util.h"
#include "../store/read_matrix.h"

#define MATRIX_SCHEMA "kvmqual.matrix"
#define MATRIX_VERSION 1
/* A bundle larger than this is refused rather than read into memory. */
#define MATRIX_BUNDLE_MAX ((size_t)512 << 20)

enum matrix_select {
	MATRIX_LATEST_QUALIFYING, /* newest run where KVM worked, else the newest */
	MATRIX_LATEST,            /* newest finished run */
	MATRIX_RUN,               /* the run with a given id (per source) */
};

enum matrix_status { MATRIX_QUALIFIED, MATRIX_LIMITED, MATRIX_NOT_QUALIFIED };
const char *matrix_status_key(enum matrix_status s);   /* "qualified", "qualified-with-limits", "not-qualified" */
const char *matrix_status_title(enum matrix_status s); /* "qualified", "qualified with limits", "not qualified" */

/* The table's columns, in order. */
enum matrix_col {
	MC_MODEL, MC_SOC, MC_ARCH, MC_KERNEL, MC_STATUS,
	/* the probe's key checks */
	MC_BOOT_EL, MC_KVM_MODE, MC_GIC, MC_SMMU, MC_DEV_KVM, MC_SMOKE, MC_VHOST_NET, MC_PAGE_SIZE,
	/* the headline numbers */
	MC_BOOT_KVM, MC_EXIT, MC_CPU, MC_MEMORY, MC_NETWORK, MC_DISK, MC_SPEEDUP,
	/* what virtualization costs (issue 17), under KVM */
	MC_LATENCY, MC_COLD_BOOT, MC_OVERHEAD, MC_CPU_COST, MC_ENERGY,
	MC_RUN, MC_NOTES,
	MC_COUNT
};
#define MC_FIRST_CHECK MC_BOOT_EL
#define MC_FIRST_NUMBER MC_BOOT_KVM
#define MC_LAST_NUMBER MC_ENERGY

enum matrix_col_kind { MATRIX_COL_DEVICE, MATRIX_COL_STATUS, MATRIX_COL_CHECK, MATRIX_COL_NUMBER,
		       MATRIX_COL_RUN, MATRIX_COL_NOTES };

struct matrix_column {
	const char *key;        /* data-key, JSON and CSV name */
	const char *title;
	const char *type;       /* "number" or "text" (how the HTML table sorts it) */
	enum matrix_col_kind kind;
	const char *unit;       /* numbers: "ms", "%", "x" */
	const char *check_id;   /* checks: the probe check shown */
	const char *fallback;   /* checks: shown when the first is absent or skipped */
	const char *about;      /* one line for the legend and docs */
};
extern const struct matrix_column matrix_columns[MC_COUNT];

/* The probe checks a run keeps (the columns' and their fallbacks). */
#define MATRIX_KEY_CHECKS 9

struct matrix_check {
	char *status, *value, *detail; /* status NULL: not in the run */
};

struct matrix_verdict {
	char *target, *metric, *op, *status, *detail;
	double value, threshold;
};

/* One run as the matrix needs it (samples are not kept: the runner's
 * medians and speed-ups are). */
struct matrix_run {
	size_t source;                 /* index into matrix.sources */
	size_t origin;                 /* the store it came from, as far as can be told (build.c) */
	int64_t id;
	char host_key[17];
	char *arch, *model, *soc, *kernel_release;
	long page_size;
	char *started_at, *finished_at, *status, *reason, *boot_id;
	int64_t pid;
	char *profile, *suite_version, *qemu_version, *guest_image_hash;
	/* from the probe's document */
	char *probe_status, *probe_summary;
	char **probe_reasons;
	size_t probe_reason_count;
	int probe_kvm_usable;          /* 1, 0, or -1 when the probe did not say */
	int emulated;                  /* probe host.emulated: numbers are not hardware's */
	char *emulated_evidence;       /* probe host.emulated_evidence[0], or NULL */
	struct matrix_check checks[MATRIX_KEY_CHECKS];       /* the run's stored checks */
	struct matrix_check probe_checks[MATRIX_KEY_CHECKS]; /* the same in the probe document */
	size_t boots[2];               /* [0] tcg, [1] kvm */
	double boot_ms[2];             /* medians, NAN when none */
	double exit_ns;                /* the probe's exit to user space and back (median), NAN */
	const char *exit_id;           /* which measurement gave it */
	double pct[4];                 /* KVM % of native: cpu, memory, network, disk; NAN */
	const char *network_workload;  /* which workload gave pct[2] */
	double speedup;                /* geometric mean of KVM/TCG over metrics, NAN */
	size_t speedup_metrics;
	struct matrix_verdict *verdicts;
	size_t verdict_count;
	/* what virtualization costs, under KVM (medians; NAN when not measured) */
	double latency_us[2];          /* sockperf round trip p50, p99: over tap when measured */
	const char *latency_workload;  /* sockperf-rr-tap or sockperf-rr */
	double cold_boot_ms, overhead_mib;
	double less_pct[2];            /* % less [0] CPU time, [1] energy per unit of work than TCG */
	size_t less_metrics[2];
	char *energy_source, *energy_detail; /* the probe's host.energy check, or NULL */
	uint64_t data_hash;            /* of everything above that the matrix shows */
	/* provenance, beyond the identity (build.c: marked, never merged) */
	uint64_t probe_print;          /* hash of the probe document's host facts; 0: no document */
	char *probe_mismatch;          /* the probe document names another host than the run; NULL */
	char *provenance;              /* why this run's source is kept apart from the identity's others */
	int64_t origin_id;             /* its id in the store it was made in: an imported run's provenance, else id */
	char *origin_database;         /* that store, when an imported run's provenance names it; NULL */
	/* while reading */
	double *boot_values[2];
	size_t boot_cap[2];
	double speedup_log_sum;
	double pct_user_network;
	struct matrix_series {
		double *v;
		size_t n, cap;
	} kvm_series[6];               /* see matrix_add_sample */
	double less_log_sum[2];
};

struct matrix_cell {
	char *text;          /* what is shown; NULL when missing ("—") */
	double value;        /* numbers: the raw value; NAN when missing or text */
	char *missing;       /* why it is missing; NULL when present */
	const char *status;  /* checks: the probe's status (pass, warn, fail, skip) */
	char *detail;        /* longer text (tooltip, notes); may be NULL */
};

struct matrix_mark {
	const char *kind;    /* conflict, same-run-differs, provenance, guest-image, suite-version, emulated, newer-run */
	char *detail;
};

struct matrix_row {
	const struct matrix_run *run;
	enum matrix_status status;
	char **reasons;      /* not qualified: why; with limits: each limit */
	size_t reason_count;
	size_t *sources;     /* indexes into matrix.sources, first the run's own */
	size_t source_count;
	struct matrix_mark *marks;
	size_t mark_count;
	struct matrix_cell cells[MC_COUNT];
};

struct matrix_source {
	char *name;          /* as given (path, or URL/file for fetched bundles) */
	const char *kind;    /* "database" or "bundle" */
	size_t runs_read;
	char *database;      /* bundles: the store the export was made from (its "database"), or NULL */
};

struct matrix {
	enum matrix_select select;
	int64_t select_run;
	int merge_sources;   /* one row per identity across sources (when told so) */
	struct matrix_source *sources;
	size_t source_count;
	struct matrix_run **runs;
	size_t run_count, run_cap;
	struct matrix_row *rows;
	size_t row_count;
	size_t devices;      /* distinct identities among the rows */
	size_t counts[3];    /* rows per enum matrix_status */
	size_t conflicts;    /* rows marked conflict */
	size_t without_run;  /* MATRIX_RUN: identities that have no such run */
	struct matrix_ref_image {   /* the most common guest image, per architecture */
		char *arch, *hash;
	} *ref_images;
	size_t ref_image_count;
	char *ref_suite;            /* the most common suite version */
	char **notes;        /* inputs left out, and why (printed, and in matrix.json) */
	size_t note_count;
};

void matrix_init(struct matrix *m);
void matrix_free(struct matrix *m);
size_t matrix_add_source(struct matrix *m, const char *name, const char *kind);
void matrix_add_note(struct matrix *m, const char *note);

/* The builder, fed by both readers.  where names the run in messages
 * ("a.db: run 7", "b.json: runs[2]").  probe may be NULL. */
struct matrix_run *matrix_begin_run(struct matrix *m, size_t source, const struct store_run_record *rec,
				    const cJSON *probe, const char *where, struct kq_err *err);
void matrix_add_check(struct matrix_run *r, const struct store_check *c);
void matrix_add_boot(struct matrix_run *r, const struct store_boot_sample *b);
void matrix_add_speedup(struct matrix_run *r, const struct store_speedup *sp);
/* KVM samples of the cost columns (latency, cold boot, VMM memory); the
 * rest is ignored. */
void matrix_add_sample(struct matrix_run *r, const struct store_sample *s);
void matrix_add_verdict(struct matrix_run *r, const struct store_verdict *v);
void matrix_end_run(struct matrix_run *r);
/* Drops the runs added after the first count (a store read again). */
void matrix_truncate_runs(struct matrix *m, size_t count);

/* Whether KVM worked in a run: finished complete or incomplete with at
 * least one KVM boot.  The same rule as STORE_PICK_LATEST_KVM's SQL. */
int matrix_run_kvm_worked(const struct matrix_run *r);

/* Readers.  Each returns 0, or -1 with err naming the input and what was
 * wrong with it. */
int matrix_read_store(struct matrix *m, const char *path, struct kq_err *err);
int matrix_read_bundle(struct matrix *m, const char *path, const char *name, struct kq_err *err);
/* The same on a document in memory (name for messages and the source).
 * Returns 1 (and a note in err) for a matrix document, which is no input.
 * A bundle with an error anywhere adds no run. */
int matrix_parse_bundle(struct matrix *m, const char *data, size_t len, const char *name,
			struct kq_err *err);
/* Every *.json file of a directory, by name; returns how many were read
 * as bundles (a matrix among them is left out with a note), or -1.
 * name_prefix (may be NULL) replaces the directory in source names. */
int matrix_read_bundle_dir(struct matrix *m, const char *dir, const char *name_prefix, struct kq_err *err);

/* Selects a run per device and source, merges identical runs, marks
 * conflicts and differences, computes statuses and cells.  Fails when
 * MATRIX_RUN found no such run anywhere. */
int matrix_build(struct matrix *m, struct kq_err *err);

/* Writers; each returns 0 or -1 with err (a write error). */
int matrix_write_json(const struct matrix *m, FILE *out, struct kq_err *err);
int matrix_write_csv(const struct matrix *m, FILE *out, struct kq_err *err);
int matrix_write_markdown(const struct matrix *m, FILE *out, struct kq_err *err);
int matrix_write_html(const struct matrix *m, FILE *out, struct kq_err *err);

/* Helpers shared by the writers. */
const char *matrix_select_name(enum matrix_select s);
/* A reason shortened for a table cell (first clause, at most max bytes, on
 * a UTF-8 boundary, "..." appended when cut); caller frees. */
char *matrix_short_text(const char *text, size_t max);
/* Shortest text that reads back as the same double. */
void matrix_format_double(char buf[32], double v);

/* kvmqual matrix (cmd_matrix.c). */
int cmd_matrix(int argc, char **argv);

#endif
