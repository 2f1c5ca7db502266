/* Comparing runs, metric by metric: the rule kvmqual compare applies
 * (significant AND larger than a threshold drawn from the metric's noise),
 * the choice of baseline (a run, last-good, median-of:N) and the reports
 * (table, JSON, JUnit XML).  cmd_compare.c is the command around it; the
 * simulation in bench/nightly-sim.c calls compare_decide() itself, so the
 * rule it measures is the rule that ships.  docs/compare.md explains it. */
#ifndef KQ_COMPARE_H
#define KQ_COMPARE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../lib/util.h"
#include "../store/read_compare.h"

/* The rule.  Defaults (compare_rule_default) were chosen with the
 * simulation of bench/nightly-sim.sh on real samples; docs/compare.md. */
struct compare_rule {
	double alpha;           /* two-sided Mann-Whitney level */
	double conf;            /* confidence level of the change's interval */
	double threshold_pct;   /* fixed threshold; NAN: from the metric's noise */
	double within_factor;   /* until the run-to-run noise is known: threshold >=
				 * within_factor * within-run noise */
	double within_factor_history; /* once it is known: threshold >= this * within-run
				 * noise (0: the run-to-run noise alone; it holds the
				 * within-run noise of a night's median already) */
	double between_factor;  /* threshold >= between_factor * run-to-run noise (history)
				 * * sqrt(1 + 1 / baseline runs) */
	double floor_pct;       /* threshold never below this */
	size_t history_min;     /* earlier runs needed before run-to-run noise counts */
	int small_history;      /* 1: the run-to-run noise from h runs is widened by
				 * t(0.99, h - 1) / z(0.99), as a prediction interval
				 * from an estimated spread is (docs/compare.md) */
	double no_history_pct;  /* until then, the threshold is at least this (the
				 * night-to-night noise is not known yet) */
};
void compare_rule_default(struct compare_rule *r);

enum compare_decision {
	COMPARE_REGRESSION,
	COMPARE_IMPROVEMENT,
	COMPARE_NO_CHANGE,
	COMPARE_INCONCLUSIVE,   /* too few samples for the test to ever reach alpha */
	COMPARE_MISSING,        /* not measured (or only flagged samples) on one side */
};
const char *compare_decision_name(enum compare_decision d);

/* One metric's samples: one run's, or several runs' pooled. */
struct compare_series {
	char *accel, *workload, *metric, *unit;
	int higher_is_better;
	double *values;         /* unflagged samples */
	size_t count;
	size_t excluded;        /* flagged samples left out (throttled) */
	size_t runs;            /* runs pooled into it */
	double *run_medians;    /* per pooled run: that run's median */
};

struct compare_set {
	struct compare_series *series;
	size_t count;
};

/* Adds one run's samples to set (pooling by accel/workload/metric);
 * samples whose flags hold "throttled" are left out and counted. */
void compare_set_add_run(struct compare_set *set, const struct store_sample_group *groups, size_t count);
void compare_set_free(struct compare_set *set);
struct compare_series *compare_set_find(const struct compare_set *set, const char *accel, const char *workload,
					const char *metric);

/* The outcome for one metric. */
struct compare_result {
	const char *accel, *workload, *metric, *unit;  /* point into the sets */
	int higher_is_better;
	size_t n_base, n_cand, excluded_base, excluded_cand;
	double base_median, cand_median;
	double change_pct, ci_lo, ci_hi, ci_level;   /* candidate against baseline, percent */
	double p;                                    /* two-sided; NAN when not tested */
	int exact;
	double within_noise_pct, history_noise_pct;  /* NAN when unknown */
	size_t history_runs;
	double threshold_pct;
	int threshold_given;                         /* --threshold, not from the noise */
	enum compare_decision decision;
	char why[200];                               /* for inconclusive and missing */
};

/* One metric's comparison. */
struct compare_input {
	const double *base;        /* the baseline's unflagged samples, pooled over base_runs runs */
	size_t nb;
	const double *cand;        /* the candidate's */
	size_t nc;
	int higher_is_better;
	size_t base_runs;          /* 1 for a single baseline run, N for median-of:N */
	double history_noise_pct;  /* run-to-run noise (compare_history_noise); NAN when unknown */
	size_t history_runs;       /* how many runs it comes from */
};

/* The rule on one metric: fills r's numbers and decision (not its names). */
void compare_decide(const struct compare_input *in, const struct compare_rule *rule, struct compare_result *r);

/* Run-to-run noise of a metric from the medians of earlier runs: a
 * standard deviation in percent (log scale), estimated from the upper
 * quartile of the differences between every two runs' medians, so that a
 * metric whose nights alternate between two levels counts as noisy (a MAD
 * would take the less frequent level for outliers).  NAN when fewer than
 * rule->history_min medians. */
double compare_history_noise(const double *run_medians, size_t count, const struct compare_rule *rule);

/* Compares every metric of base and cand (union of both), history giving
 * the run-to-run noise (may be NULL): one run_medians entry per run.  Results are sorted: regressions,
 * improvements, no change, inconclusive, missing; then by name. */
struct compare_report {
	struct compare_result *results;
	size_t count;
	size_t regressions, improvements, excluded;
};
void compare_sets(const struct compare_set *base, const struct compare_set *cand, const struct compare_set *history,
		  const struct compare_rule *rule, struct compare_report *report);
void compare_report_free(struct compare_report *report);

/* ---- choosing the runs ---- */

/* The run-to-run noise is taken from at most this many usable runs of the
 * machine, the newest baseline run and those before it: the runs between
 * the baseline and the candidate (nights since last-good, which may be
 * slow ones) never widen the threshold that judges them. */
#define COMPARE_HISTORY_RUNS 20

/* A run that can be compared: finished complete or incomplete (it holds
 * samples).  Failed, interrupted and running runs never are. */
int compare_run_usable(const struct store_run_identity *run);

/* The differences that make two runs not comparable without
 * --allow-different, as "field: A -> B; ..." into out (empty when none).
 * Returns how many fields differ. */
int compare_identity_diff(const struct store_run_identity *base, const struct store_run_identity *cand,
			  struct kq_buf *out);

/* Last-good for the candidate: the newest earlier usable run of the same
 * machine that did not regress against its own last-good (the machine's
 * oldest usable run in the window is good by definition), worked out
 * oldest first over at most `window` earlier runs.  A slowdown that stays
 * is reported COMPARE_ACCEPT_AFTER nights and then becomes the new normal:
 * when that many runs in a row regressed against last-good and agree with
 * each other (the newest neither regressed nor improved against the first
 * of them), the newest is last-good.  Returns the run id, 0 when there is
 * none (a first night), -1 on error. */
#define COMPARE_ACCEPT_AFTER 3
int64_t compare_last_good(struct store *s, const struct store_run_identity *cand, const struct compare_rule *rule,
			  size_t window, struct kq_err *err);

/* last-good:N: the newest `want` good runs of the current level (the good
 * runs since the last accepted level change: the runs that level was
 * accepted with, and each later run that did not regress), newest first
 * into ids (room for want), their count into *count (0: a first night).
 * Each run of the chain is judged, as the candidate is, against the
 * newest `want` good runs before it, pooled: the runs pooled into a
 * baseline are exactly those a nightly with the same `want` let pass.
 * want 1 is last-good.  Returns 0, or -1 on error. */
int compare_last_good_runs(struct store *s, const struct store_run_identity *cand, const struct compare_rule *rule,
			   size_t window, size_t want, int64_t *ids, size_t *count, struct kq_err *err);

/* ---- reports ---- */

struct compare_context {
	const char *db;
	const char *baseline_desc;   /* "run 12", "last-good (run 12)", "median of runs 8-12" */
	const int64_t *base_runs;
	size_t base_count;
	int64_t cand_run;
	const char *differences;     /* identity differences accepted (--allow-different), or "" */
	const struct compare_rule *rule;
};

/* A number as the table and JUnit messages show it ("-" when unknown). */
void compare_format_number(char *buf, size_t size, double v);
void compare_print_table(FILE *out, const struct compare_context *ctx, const struct compare_report *rep);
/* Schema kvmqual.compare version 1. */
void compare_print_json(FILE *out, const struct compare_context *ctx, const struct compare_report *rep);
/* JUnit XML: one testsuite, one testcase per metric, a <failure> per
 * regression with the numbers, <skipped> for missing and inconclusive. */
void compare_print_junit(FILE *out, const struct compare_context *ctx, const struct compare_report *rep);
/* Puts text at path without ever replacing what is not a file there
 * (kq_out): a regular file (or a new name) is written beside it and renamed
 * over it; a device, a FIFO or a symbolic link is written into; a
 * directory is refused. */
int compare_write_junit(const char *path, const char *text, size_t len, struct kq_err *err);
/* XML text escaping (& < > " ' and control characters, which XML 1.0
 * cannot carry, and bytes that are not UTF-8, as U+FFFD). */
void compare_xml_escape(FILE *out, const char *text);

/* kvmqual compare (cmd_compare.c). */
int cmd_compare(int argc, char **argv);

#endif
