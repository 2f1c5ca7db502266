/* kvmqual report: one host's run as a self-contained page (index.html), the
 * same in Markdown (report.md) and gnuplot plots (SVG and PNG, with their
 * data and scripts) under one output directory.
 *
 * The run comes in as the store's JSON export (schema kvmqual.export), the
 * same document a host can send in as a bundle: report_load() turns it into
 * a struct report (medians, spreads, targets, findings, the verdict), and
 * the writers only format that.  docs/report.md is the reader's guide. */
#ifndef KQ_REPORT_H
#define KQ_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "../lib/util.h"

struct store_tuning;

/* Columns of every table and plot, in this order. */
enum report_accel { REPORT_NATIVE, REPORT_TCG, REPORT_KVM, REPORT_ACCELS };
const char *report_accel_name(enum report_accel a);   /* "native", "tcg", "kvm" */
const char *report_accel_title(enum report_accel a);  /* "native", "TCG", "KVM" */

/* The spread of a metric's samples: median and quartiles (linear
 * interpolation between order statistics, as R's type 7), min, max.  NaN
 * values are left out; with none, n is 0 and the rest NaN. */
struct report_spread {
	size_t n;
	double median, q1, q3, min, max;
};
void report_spread_of(const double *values, size_t count, struct report_spread *out);

/* A target the run was judged against (the store's verdicts).  Strings
 * point into the export document. */
struct report_target {
	const char *name;     /* e.g. "cpu" */
	const char *metric;   /* as stored: "sysbench-cpu.events_per_second (% of native)" */
	char *key;            /* "workload.metric" (the stored metric up to the first space) */
	int pct_of_native;    /* the threshold is a percentage of native */
	const char *op;       /* "<", "<=", ">", ">=" */
	double value, threshold;
	const char *status;   /* pass | fail | skip */
	const char *detail;
};

/* One workload metric of the run, with its samples per accelerator. */
struct report_metric {
	const char *workload, *metric, *unit;
	int higher_is_better;
	double *values[REPORT_ACCELS];
	size_t count[REPORT_ACCELS];
	struct report_spread spread[REPORT_ACCELS];
	/* The runner's own (stored speed-ups); NaN where it had none. */
	double kvm_over_tcg, kvm_pct_of_native, tcg_pct_of_native;
	const struct report_target *target; /* NULL when none judges this metric */
};

/* Boot time per accelerator (TCG, KVM; native has no boot). */
struct report_boot {
	double *total_ms[REPORT_ACCELS];
	size_t count[REPORT_ACCELS];
	struct report_spread total[REPORT_ACCELS];
	/* Medians of the split, NaN when the agent's uptime did not allow it. */
	double before_kernel_ms[REPORT_ACCELS], kernel_ms[REPORT_ACCELS], userspace_ms[REPORT_ACCELS];
	const struct report_target *target;
};

/* One finding of the probe (a check).  Strings point into the document. */
struct report_check {
	const char *id, *status, *value, *detail, *hint;
	int rank; /* 0 fail, 1 warn, 2 anything else: the page's order */
};

/* A sample the runner flagged (throttled, fallback, no-vhost, ...). */
struct report_flagged {
	const char *accel, *workload, *metric, *unit;
	double value;
	int iteration;
	char *flags; /* comma-separated */
};

/* What the host was doing while the samples were taken. */
struct report_conditions {
	size_t samples;            /* samples with conditions recorded */
	double load_min, load_max; /* 1-minute load average */
	double mhz_min, mhz_max;   /* average CPU frequency; NaN if never recorded */
	double temp_max;           /* hottest thermal zone, °C; NaN if never recorded */
	char *governors;           /* distinct governors, comma-separated; NULL if none */
	size_t throttled;          /* samples flagged throttled */
};

/* What virtualization costs per unit of work (issue 17): for each metric
 * energy_j_per_UNIT and host_cpu_s_per_UNIT of the run, TCG's and KVM's
 * medians and KVM's change against TCG, judged against the origin
 * document's claim for power: KVM uses 40-60 % less than TCG. */
#define REPORT_ENERGY_CLAIM_MIN_PCT 40.0
#define REPORT_ENERGY_CLAIM_MAX_PCT 60.0

struct report_cost {
	const struct report_metric *metric;
	int energy;             /* 1: joules; 0: CPU seconds */
	double tcg, kvm;        /* medians; NaN when not measured */
	double less_pct;        /* (1 - kvm / tcg) x 100: how much less KVM needs; NaN */
	const char *judgement;  /* "within the claim", "more saved than claimed", "less saved than claimed",
				 * "not measured under both" */
};

/* The CPU's speculation vulnerabilities, the host's and each guest's side
 * by side (reports/vulns.c).  Index REPORT_NATIVE of each array is the
 * host's (the probe document's check cpu.vulnerabilities), REPORT_TCG and
 * REPORT_KVM the guest's under that accelerator (runs[0].
 * guest_vulnerabilities).  Texts are copies cut to REPORT_VULN_TEXT_MAX
 * bytes (the export has them whole); at most REPORT_VULN_MAX rows. */
#define REPORT_VULN_MAX 128
#define REPORT_VULN_NAME_MAX 64
#define REPORT_VULN_TEXT_MAX 200

struct report_vuln {
	char *name;
	char *text[REPORT_ACCELS];  /* NULL: that side does not list it */
	int state[REPORT_ACCELS];   /* enum vuln_state (probe/parse.h) of each text */
	int differs[REPORT_ACCELS]; /* a guest says vulnerable where the host does not, or the reverse */
};

struct report_vuln_view {
	int recorded;               /* the run holds this side's view */
	int known;                  /* ... and it lists the files (else reason says why not) */
	const char *reason;         /* points into the document; may be NULL */
	size_t vulnerable, mitigated, not_affected, unknown;
};

enum report_status { REPORT_QUALIFIED, REPORT_QUALIFIED_WITH_LIMITS, REPORT_NOT_QUALIFIED };
/* "qualified", "qualified-with-limits", "not-qualified": the page's class. */
const char *report_status_class(enum report_status s);
const char *report_status_title(enum report_status s); /* "Qualified", ... */

/* A headline metric over this host's runs (from the store's history). */
struct report_history_point {
	int64_t run;
	double time;                    /* unix seconds of the run's start */
	double median[REPORT_ACCELS];   /* NaN where not measured */
};
struct report_history {
	char *key;    /* "workload.metric" or "boot.total_ms" */
	char *title;  /* e.g. "cpu: sysbench-cpu events_per_second" */
	char *unit;
	struct report_history_point *points;
	size_t count;
};

struct report {
	cJSON *doc;               /* the export document: every const char * points into it */
	const cJSON *run, *probe; /* runs[0] and its probe document (may be NULL) */
	const char *database;
	int64_t run_id;
	const char *started_at, *finished_at, *run_status, *run_reason;
	const char *profile, *suite_version, *qemu_version, *guest_image_hash, *command_line;
	const char *host_key, *arch, *model, *soc, *kernel_release;
	long page_size, cpus;
	int emulated;                  /* the probe's host.emulated: numbers are not hardware performance */
	const char *probe_verdict;     /* kvm-ready | kvm-limited | tcg-only (NULL if unknown) */
	const char *probe_summary;

	struct report_check *checks;   /* failures, then warnings, then the rest */
	size_t check_count;
	struct report_target *targets;
	size_t target_count;
	struct report_metric *metrics; /* in the order the run measured them */
	size_t metric_count;
	struct report_boot boot;
	struct report_flagged *flagged;
	size_t flagged_count;
	struct report_conditions conditions;

	int kvm_measured;     /* any KVM boot or sample */
	char *kvm_reason;     /* why KVM has no numbers (NULL when it has) */
	enum report_status status;
	char *status_reason;  /* one line: why this status */
	char *headline;       /* one sentence: "KVM works here, boots in ..." */

	/* The energy sensor the probe named (check host.energy): its value
	 * ("rapl", "unavailable", ...) and detail; NULL when the probe of the
	 * run predates the check. */
	const char *energy_source, *energy_detail;
	struct report_cost *costs;   /* energy first, then CPU time, in metric order */
	size_t cost_count;

	struct report_history *history; /* one per headline metric with points */
	size_t history_count;
	size_t history_runs;            /* distinct runs in the history */

	struct store_tuning *tuning;    /* the host's newest kvmqual tune (store/read_report.h); NULL: none read */

	struct report_vuln_view vuln_view[REPORT_ACCELS];
	struct report_vuln *vulns;      /* by name */
	size_t vuln_count;
	size_t vulns_left_out;          /* entries past REPORT_VULN_MAX rows */
	size_t vuln_differences;        /* cells marked differs */
};

/* Parses an export document holding exactly one run (store_export with a
 * run id) into r.  Refuses anything else with err saying what was wrong:
 * not JSON, another schema or version, no run, members of the wrong type.
 * On failure r is left empty (report_free is still fine). */
int report_load(struct report *r, const char *json, size_t len, struct kq_err *err);
void report_free(struct report *r);
/* The unit of a target's value and threshold: "% of native", "ms", or
 * the judged metric's unit. */
const char *report_target_unit(const struct report_target *t, const struct report *r);

/* The headline metrics ("workload.metric" keys of the targets, boot first),
 * for the history.  Returns how many; names point into r. */
size_t report_headline_keys(const struct report *r, const char **keys, size_t max);
/* Adds one history point (as store_history gives them); started_at is the
 * run's start (UTC, ISO 8601). */
void report_history_add(struct report *r, const char *key, int64_t run, const char *started_at,
			const char *accel, double median);
/* Drops series with fewer than two runs and counts the runs. */
void report_history_finish(struct report *r);

/* ---- text (reports/text.c) ---- */

/* HTML text or attribute value: & < > " ' escaped; invalid UTF-8 and
 * control characters (but tab and newline) become U+FFFD, carriage
 * returns are dropped. */
void report_html(FILE *out, const char *text);
/* Markdown text on one line (table cells, list items): kq_md_text, the
 * matrix's rule too: characters that Markdown or HTML would interpret are
 * escaped, | too, links GitHub would make by itself (http://, www., mail
 * addresses) are broken, line breaks become spaces; invalid UTF-8 and
 * control characters become U+FFFD. */
void report_md(FILE *out, const char *text);
/* A gnuplot single-quoted string literal (quotes doubled, control
 * characters dropped), quotes included. */
void report_gp_string(FILE *out, const char *text);
/* A number for people: 4 significant digits without exponent for the
 * usual range ("107938", "1043", "19.2", "0.971"); "–" for NaN. */
void report_number(char buf[32], double v);
/* The probe's measurements (exit and interrupt latencies) of the run's
 * probe document, one at a time: returns 0 and fills id, value, unit while
 * i is in range and the entry is well-formed, -1 past the end; malformed
 * entries are skipped. */
int report_probe_measurement(const struct report *r, int *i, const char **id, double *value, const char **unit);
/* The shortest text that reads back as the same double (as the export). */
void report_exact(char buf[32], double v);
/* "2026-11-24T08:05:24.900Z" -> unix seconds; NaN when not that form. */
double report_parse_time(const char *iso);

/* ---- plots (reports/plots.c) ---- */

struct report_plot {
	const char *name;      /* file base name: bars, boot, pct, history */
	const char *title;     /* the figure's caption */
	int made;              /* SVG and PNG written */
	char *error;           /* why not (gnuplot's own message), NULL if made or not tried */
	char *svg;             /* the SVG as it goes into the page (NULL unless made) */
};

struct report_plots {
	int gnuplot_missing;   /* no gnuplot: the report says so */
	char *gnuplot;         /* the gnuplot used */
	struct report_plot plot[4];
	size_t count;
};

struct report_plot_options {
	const char *templates;  /* --templates DIR, or NULL for the built-in ones */
	int timeout_ms;         /* per gnuplot run */
};

/* Writes DIR/plots/NAME.dat and NAME.gp for every plot the run has data
 * for, and runs gnuplot on each (SVG, then PNG).  A missing gnuplot or a
 * failing one is recorded in plots (the rest is still made); -1 only when
 * the files cannot be written. */
int report_make_plots(const struct report *r, const char *dir, const struct report_plot_options *opt,
		      struct report_plots *plots, struct kq_err *err);
void report_plots_free(struct report_plots *plots);
/* gnuplot's SVG made fit for inlining into a page: no XML prolog, no
 * namespace URLs (HTML knows SVG), ids prefixed so that several plots
 * cannot clash.  NULL with err when the SVG refers to anything outside
 * itself (a script, an external link) or is not an <svg> document. */
char *report_svg_inline(const char *svg, const char *prefix, struct kq_err *err);

/* ---- the documents (reports/html.c, reports/markdown.c) ---- */

int report_write_html(const struct report *r, const struct report_plots *plots, const char *templates,
		      FILE *out, struct kq_err *err);
void report_write_markdown(const struct report *r, const struct report_plots *plots, FILE *out);

/* The "CPU vulnerabilities" section (reports/vulns.c): report_load reads
 * it (0, or -1 with err naming a malformed guest view); the writers. */
int report_load_vulns(struct report *r, const cJSON *rows, struct kq_err *err);
void report_free_vulns(struct report *r);
void report_vulns_html(FILE *out, const struct report *r);
void report_vulns_markdown(FILE *out, const struct report *r);

/* The "Tuning" section (reports/tuning.c). */
void report_tuning_html(FILE *out, const struct report *r);
void report_tuning_markdown(FILE *out, const struct report *r);

/* ---- templates (reports/templates.c, reports/tplcheck.c) ---- */

/* Whether an edited report.css (name for messages) holds only what the
 * allow-list of reports/tplcheck.c lets a page's CSS hold: nothing that
 * loads.  0, or -1 with err naming the line and what is not allowed. */
int report_css_allowed(const char *css, const char *name, struct kq_err *err);
/* The same for page.html: allowed elements and attributes only, its
 * <style> checked as CSS. */
int report_page_allowed(const char *page, struct kq_err *err);

/* The template NAME (e.g. "bars.gp"), malloc'd: from dir when it holds
 * that file, else the built-in one. */
char *report_template(const char *dir, const char *name, struct kq_err *err);

/* ---- the output directory (reports/outdir.c) ---- */

/* Makes an empty DIR.tmp.XXXXXX beside dir (same file system); refuses a
 * dir that exists and is neither empty nor an earlier report. */
char *report_outdir_begin(const char *dir, struct kq_err *err);
/* Puts tmp in dir's place in one rename (exchanging with an earlier
 * report, which is then removed). */
int report_outdir_commit(const char *tmp, const char *dir, struct kq_err *err);
/* rm -rf; errors are ignored (the caller is already failing). */
void report_remove_tree(const char *path);

/* kvmqual report (cmd_report.c). */
int cmd_report(int argc, char **argv);

#endif
