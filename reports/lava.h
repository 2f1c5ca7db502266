/* kvmqual export --format lava: one run as LAVA test results, the lines
 * that LAVA's own lava-test-case and lava-test-set print on the console
 * (<LAVA_SIGNAL_TESTCASE ...>, <LAVA_SIGNAL_TESTSET START name> ... STOP),
 * which the dispatcher of a LAVA lab turns into test cases with
 * measurements.  docs/lava.md lists every case, its result rules and how
 * names LAVA refuses are mapped.
 *
 * The run comes in as the report's model (report_load of the store's
 * export), so the medians, targets and the reason KVM is missing are
 * those of kvmqual report. */
#ifndef KQ_LAVA_H
#define KQ_LAVA_H

#include <stddef.h>
#include <stdio.h>

#include "../lib/util.h"
#include "report.h"

/* Longest test case or test set name a LAVA server keeps whole. */
#define LAVA_ID_MAX 100

/* NAME as a valid LAVA id, malloc'd: letters, digits, '.', '_' and '-'
 * stay; every other byte becomes "_xHH" (its hex code); a result longer
 * than LAVA_ID_MAX is cut and ends in '-' and 8 hex digits of a hash of
 * the whole name, so that two long names stay apart.  "" becomes "_". */
char *lava_id(const char *name);

/* One metric's outcome in a kvmqual compare --json document. */
struct lava_compare_metric {
	const char *accel, *workload, *metric, *decision, *why;
	double change_pct, threshold_pct, base_median, cand_median;
};

/* A kvmqual compare --json document (schema kvmqual.compare v1). */
struct lava_compare {
	void *doc;               /* the parsed cJSON document: strings point into it */
	long long candidate;     /* the run it judged */
	const char *baseline;    /* its baseline's description */
	const char *error;       /* the document's own error member, NULL when none */
	struct lava_compare_metric *metrics;
	size_t count;
};

/* Parses text (named `name` in errors).  Refuses anything but a
 * kvmqual.compare version 1 document with err saying what is wrong. */
int lava_compare_load(struct lava_compare *c, const char *text, size_t len, const char *name,
		      struct kq_err *err);
void lava_compare_free(struct lava_compare *c);

/* Writes the test sets and cases of run r; cmp (NULL: none) adds the
 * compare set.  Outside text in the log lines is defanged: nothing the
 * run holds can print a signal of its own. */
void lava_write_run(FILE *out, const struct report *r, const struct lava_compare *cmp);

/* What is written for a database that holds no run (why says so): the
 * run set with run.status fail. */
void lava_write_no_run(FILE *out, const char *why);

/* The command: `kvmqual export --format lava` on database db, run
 * run_arg ("latest", an id, NULL for latest), compare document
 * compare_path (NULL: none), to out.  Returns the exit status: 0 when
 * the results were written, whatever the run says; 2 on a missing or
 * unreadable database, a bad --run or --compare (message on stderr). */
int lava_export(const char *db, const char *run_arg, const char *compare_path, FILE *out);

/* Whether the arguments of `kvmqual export` ask for --format lava: the
 * front end then calls cmd_export_lava instead of the store's cmd_export
 * (store/ comes before reports/ and cannot call it). */
int lava_export_wanted(int argc, char **argv);
/* kvmqual export --format lava [--db FILE] [--run ID|latest] [--compare FILE]. */
int cmd_export_lava(int argc, char **argv);

#endif
