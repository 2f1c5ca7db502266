/* kvmqual compare: did the candidate run get slower than its baseline, for
 * real?  Options, choice of runs, identity check and exit code; the rule
 * and the reports are in compare.c.  docs/compare.md. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../lib/json.h"
#include "../lib/number.h"
#include "compare.h"
#include "../store/read_compare.h"

/* Earlier runs the last-good chain looks at. */
#define COMPARE_CHAIN_WINDOW 60
#define COMPARE_MEDIAN_OF_MAX 100

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kvmqual compare [--db FILE] [--baseline RUN|last-good[:N]|median-of:N]\n"
		"                       [--candidate RUN|latest] [--threshold PCT] [--junit FILE] [--json]\n"
		"                       [--allow-different] [--no-baseline-ok]\n"
		"\n"
		"Compares the candidate run (default: the latest finished run) with a baseline\n"
		"(default last-good:5: the 5 newest earlier runs of the same machine that did\n"
		"not regress themselves, pooled; last-good is the newest one alone; median-of:N\n"
		"pools the N newest earlier runs, good or not), metric by metric: the change in\n"
		"percent with its 95 %% confidence interval, a Mann-Whitney test, and a decision.\n"
		"A change counts only when it is significant (p < 0.05) and larger than the\n"
		"threshold: --threshold PCT, or by default 3 x the metric's night-to-night\n"
		"noise on this machine (from up to 20 earlier runs, widened when they are few;\n"
		"at least 1 %%); until 3 earlier runs show that noise, at least 50 %%.\n"
		"Samples flagged throttled are left out and counted.  Runs whose guest image,\n"
		"QEMU, profile, suite version or host identity differ are refused unless\n"
		"--allow-different.  --junit FILE writes JUnit XML (a testcase per metric, a\n"
		"failure per regression); --json prints schema kvmqual.compare.\n"
		"--no-baseline-ok: when there is nothing to compare with (a first night), say\n"
		"so and exit 0.\n"
		"Exit status: 0 nothing regressed, 1 a regression, 2 usage or data errors.\n");
}

struct opts {
	const char *db, *baseline, *candidate, *junit;
	double threshold;
	int json, allow_different, no_baseline_ok;
	/* Where the table or JSON and the JUnit XML go while the store is read
	 * (memory: they reach stdout and the --junit file once it is known that
	 * no writer changed the store meanwhile). */
	FILE *out, *junit_out;
};

/* An error: text on stderr, and with --json a document whose error member
 * says it. */
static int fail(const struct opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(const struct opts *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = kq_xvasprintf(fmt, ap);
	va_end(ap);
	fprintf(stderr, "kvmqual compare: %s\n", msg);
	if (o->json) {
		cJSON *doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "schema", "kvmqual.compare");
		cJSON_AddNumberToObject(doc, "version", 1);
		kq_json_string_or_null(doc, "db", o->db);
		kq_json_string_or_null(doc, "error", msg);
		char *text = cJSON_Print(doc);
		fprintf(o->out, "%s\n", text);
		free(text);
		cJSON_Delete(doc);
	}
	free(msg);
	return 2;
}

static int parse_run_id(const char *s, int64_t *id)
{
	long long v;
	if (kq_number_int(s, 1, INT64_MAX, &v))
		return -1;
	*id = v;
	return 0;
}

/* The candidate: a run id, or the newest usable run of the database. */
static int pick_candidate(const struct opts *o, struct store *s, struct store_run_identity *cand)
{
	struct kq_err err;
	if (!strcmp(o->candidate, "latest")) {
		struct store_run_identity *runs;
		size_t n;
		if (store_list_runs(s, NULL, 0, 0, &runs, &n, &err))
			return fail(o, "%s", err.msg);
		size_t i = 0;
		while (i < n && !compare_run_usable(&runs[i]))
			i++;
		if (i == n) {
			store_run_identities_free(runs, n);
			store_no_run_to_take(s, "complete or incomplete", "each is running, failed or interrupted", &err);
			return fail(o, "%s", err.msg);
		}
		*cand = runs[i];
		memset(&runs[i], 0, sizeof(runs[i]));
		store_run_identities_free(runs, n);
		return 0;
	}
	int64_t id;
	if (parse_run_id(o->candidate, &id))
		return fail(o, "--candidate takes a run id or 'latest', not '%s'", o->candidate);
	int rc = store_run_identity(s, id, cand, &err);
	if (rc)
		return fail(o, "--candidate: %s", err.msg);
	if (!compare_run_usable(cand)) {
		int ret = fail(o, "--candidate: run %lld is %s%s%s: it holds nothing to compare", (long long)id,
			       cand->status, cand->reason[0] ? ": " : "", cand->reason);
		store_run_identity_free(cand);
		return ret;
	}
	return 0;
}

/* The baseline runs.  Returns 0 with *count >= 1, 0 with *count == 0 when
 * there is none (a first night), or 2 on errors (reported). */
static int pick_baseline(const struct opts *o, struct store *s, const struct store_run_identity *cand,
			 const struct compare_rule *rule, struct store_run_identity **base, size_t *count,
			 char *desc, size_t desc_size)
{
	struct kq_err err;
	*base = NULL;
	*count = 0;
	if (!strcmp(o->baseline, "last-good") || !strncmp(o->baseline, "last-good:", 10)) {
		int64_t n = 1;
		if (o->baseline[9] == ':' &&
		    (parse_run_id(o->baseline + 10, &n) || n > COMPARE_MEDIAN_OF_MAX))
			return fail(o, "--baseline last-good:N takes N from 1 to %d, not '%s'", COMPARE_MEDIAN_OF_MAX,
				    o->baseline + 10);
		int64_t *ids = kq_xcalloc((size_t)n, sizeof(*ids));
		size_t found;
		if (compare_last_good_runs(s, cand, rule, COMPARE_CHAIN_WINDOW, (size_t)n, ids, &found, &err)) {
			free(ids);
			return fail(o, "%s", err.msg);
		}
		if (!found) {
			free(ids);
			snprintf(desc, desc_size, "%s (none: no earlier complete or incomplete run on this machine)",
				 o->baseline);
			return 0;
		}
		*base = kq_xcalloc(found, sizeof(**base));
		for (size_t i = 0; i < found; i++) {
			if (store_run_identity(s, ids[i], &(*base)[i], &err)) {
				store_run_identities_free(*base, i);
				*base = NULL;
				free(ids);
				return fail(o, "%s", err.msg);
			}
		}
		*count = found;
		if (n == 1)
			snprintf(desc, desc_size, "last-good (run %lld)", (long long)ids[0]);
		else
			snprintf(desc, desc_size, "last-good:%lld, %zu good run%s pooled (newest %lld, oldest %lld%s)",
				 (long long)n, found, found == 1 ? "" : "s", (long long)ids[0],
				 (long long)ids[found - 1],
				 found < (size_t)n ? ", fewer than asked: no more at this level on this machine" : "");
		free(ids);
		return 0;
	}
	if (!strncmp(o->baseline, "median-of:", 10)) {
		int64_t n;
		if (parse_run_id(o->baseline + 10, &n) || n > COMPARE_MEDIAN_OF_MAX)
			return fail(o, "--baseline median-of:N takes N from 1 to %d, not '%s'", COMPARE_MEDIAN_OF_MAX,
				    o->baseline + 10);
		struct store_run_identity *runs;
		size_t total;
		if (store_list_runs(s, cand, cand->id, 0, &runs, &total, &err))
			return fail(o, "%s", err.msg);
		*base = kq_xcalloc((size_t)n, sizeof(**base));
		for (size_t i = 0; i < total && *count < (size_t)n; i++) {
			if (!compare_run_usable(&runs[i]))
				continue;
			(*base)[(*count)++] = runs[i];
			memset(&runs[i], 0, sizeof(runs[i]));
		}
		store_run_identities_free(runs, total);
		if (!*count) {
			free(*base);
			*base = NULL;
			snprintf(desc, desc_size, "median-of:%lld (none: no earlier run on this machine)", (long long)n);
			return 0;
		}
		snprintf(desc, desc_size, "the median of %zu earlier run%s (runs %lld to %lld%s)", *count,
			 *count == 1 ? "" : "s", (long long)(*base)[*count - 1].id, (long long)(*base)[0].id,
			 *count < (size_t)n ? ", fewer than asked: no more on this machine" : "");
		return 0;
	}
	int64_t id;
	if (parse_run_id(o->baseline, &id))
		return fail(o, "--baseline takes a run id, 'last-good', 'last-good:N' or 'median-of:N', not '%s'",
			    o->baseline);
	if (id == cand->id)
		return fail(o, "--baseline and --candidate are the same run (%lld)", (long long)id);
	*base = kq_xcalloc(1, sizeof(**base));
	if (store_run_identity(s, id, *base, &err)) {
		free(*base);
		*base = NULL;
		return fail(o, "--baseline: %s", err.msg);
	}
	*count = 1;
	if (!compare_run_usable(*base)) {
		int ret = fail(o, "--baseline: run %lld is %s%s%s: it holds nothing to compare", (long long)id,
			       (*base)->status, (*base)->reason[0] ? ": " : "", (*base)->reason);
		store_run_identities_free(*base, 1);
		*base = NULL;
		*count = 0;
		return ret;
	}
	snprintf(desc, desc_size, "run %lld", (long long)id);
	return 0;
}

static int load_run(const struct opts *o, struct store *s, int64_t run, struct compare_set *set)
{
	struct store_sample_group *groups;
	size_t n;
	struct kq_err err;
	if (store_run_samples(s, run, &groups, &n, &err))
		return fail(o, "%s", err.msg);
	compare_set_add_run(set, groups, n);
	store_sample_groups_free(groups, n);
	return 0;
}

/* A first night with --no-baseline-ok: say so, and leave CI a JUnit file
 * that says so too. */
static int no_baseline(const struct opts *o, const struct store_run_identity *cand, const char *desc,
		       const struct compare_rule *rule)
{
	char *msg = kq_xasprintf("nothing to compare run %lld with: %s", (long long)cand->id, desc);
	if (!o->no_baseline_ok) {
		int ret = fail(o, "%s (--no-baseline-ok makes this exit 0)", msg);
		free(msg);
		return ret;
	}
	struct compare_report empty = { 0 };
	struct compare_context ctx = { .db = o->db, .baseline_desc = desc, .cand_run = cand->id,
				       .differences = "", .rule = rule };
	if (o->junit) {
		struct compare_result r = { .accel = "compare", .workload = "baseline", .metric = "available",
					    .unit = "", .decision = COMPARE_MISSING };
		snprintf(r.why, sizeof(r.why), "%s", msg);
		struct compare_report one = { .results = &r, .count = 1 };
		compare_print_junit(o->junit_out, &ctx, &one);
	}
	if (o->json)
		compare_print_json(o->out, &ctx, &empty);
	else
		fprintf(o->out, "%s: nothing to do (first run on this machine?)\n", msg);
	free(msg);
	return 0;
}

static int compare_main(const struct opts *o, struct store *s)
{
	struct compare_rule rule;
	compare_rule_default(&rule);
	rule.threshold_pct = o->threshold;

	struct store_run_identity cand;
	int rc = pick_candidate(o, s, &cand);
	if (rc)
		return rc;
	struct store_run_identity *base;
	size_t nbase;
	char desc[256];
	rc = pick_baseline(o, s, &cand, &rule, &base, &nbase, desc, sizeof(desc));
	if (rc) {
		store_run_identity_free(&cand);
		return rc;
	}
	if (!nbase) {
		rc = no_baseline(o, &cand, desc, &rule);
		store_run_identity_free(&cand);
		return rc;
	}

	/* What differs between the runs, once per difference. */
	struct kq_buf diffs;
	kq_buf_init(&diffs);
	kq_buf_add(&diffs, "", 0);
	for (size_t i = 0; i < nbase; i++) {
		struct kq_buf one;
		kq_buf_init(&one);
		if (compare_identity_diff(&base[i], &cand, &one) && !strstr(diffs.data, one.data)) {
			if (nbase > 1)
				kq_buf_printf(&diffs, "%srun %lld: %s", diffs.len ? "; " : "", (long long)base[i].id,
					      one.data);
			else
				kq_buf_printf(&diffs, "%s", one.data);
		}
		kq_buf_free(&one);
	}
	if (diffs.len && !o->allow_different) {
		rc = fail(o, "run %lld and its baseline, %s, differ (baseline -> candidate): %s; they are not "
			     "compared unless --allow-different",
			  (long long)cand.id, desc, diffs.data);
		goto out;
	}

	struct compare_set base_set = { 0 }, cand_set = { 0 }, history = { 0 };
	int64_t *base_ids = kq_xcalloc(nbase, sizeof(*base_ids));
	rc = 0;
	for (size_t i = 0; i < nbase && !rc; i++) {
		base_ids[i] = base[i].id;
		rc = load_run(o, s, base[i].id, &base_set);
	}
	if (!rc)
		rc = load_run(o, s, cand.id, &cand_set);
	/* Run-to-run noise: the machine's usable runs up to the newest
	 * baseline run (compare.h). */
	int64_t newest_base = 0;
	for (size_t i = 0; i < nbase; i++)
		if (base[i].id > newest_base)
			newest_base = base[i].id;
	struct store_run_identity *earlier = NULL;
	size_t nearlier = 0;
	struct kq_err err;
	if (!rc && store_list_runs(s, &cand, newest_base + 1, 0, &earlier, &nearlier, &err))
		rc = fail(o, "%s", err.msg);
	for (size_t i = 0, used = 0; !rc && i < nearlier && used < COMPARE_HISTORY_RUNS; i++) {
		if (!compare_run_usable(&earlier[i]))
			continue;
		used++;
		rc = load_run(o, s, earlier[i].id, &history);
	}
	store_run_identities_free(earlier, nearlier);
	/* Nothing measured on one side is not "nothing regressed". */
	if (!rc && !cand_set.count)
		rc = fail(o, "run %lld holds no samples to compare%s%s%s: run it again, or compare another run with"
			     " --candidate ID", (long long)cand.id, cand.reason[0] ? " (" : "", cand.reason,
			  cand.reason[0] ? ")" : "");
	if (!rc && !base_set.count)
		rc = fail(o, "the baseline, %s, holds no samples to compare with: give another with --baseline", desc);
	if (!rc) {
		struct compare_report rep;
		compare_sets(&base_set, &cand_set, &history, &rule, &rep);
		struct compare_context ctx = { .db = o->db, .baseline_desc = desc, .base_runs = base_ids,
					       .base_count = nbase, .cand_run = cand.id, .differences = diffs.data,
					       .rule = &rule };
		if (o->junit)
			compare_print_junit(o->junit_out, &ctx, &rep);
		if (o->json)
			compare_print_json(o->out, &ctx, &rep);
		else
			compare_print_table(o->out, &ctx, &rep);
		rc = rep.regressions ? 1 : 0;
		compare_report_free(&rep);
	}
	compare_set_free(&base_set);
	compare_set_free(&cand_set);
	compare_set_free(&history);
	free(base_ids);
out:
	kq_buf_free(&diffs);
	store_run_identities_free(base, nbase);
	store_run_identity_free(&cand);
	return rc;
}

int cmd_compare(int argc, char **argv)
{
	struct opts o = { .db = STORE_DEFAULT_PATH, .baseline = "last-good:5", .candidate = "latest",
			  .threshold = NAN, .out = stdout };
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "baseline", required_argument, NULL, 'b' },
		{ "candidate", required_argument, NULL, 'c' },
		{ "threshold", required_argument, NULL, 't' },
		{ "junit", required_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		{ "allow-different", no_argument, NULL, 'a' },
		{ "no-baseline-ok", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': o.db = optarg; break;
		case 'b': o.baseline = optarg; break;
		case 'c': o.candidate = optarg; break;
		case 'u': o.junit = optarg; break;
		case 'j': o.json = 1; break;
		case 'a': o.allow_different = 1; break;
		case 'n': o.no_baseline_ok = 1; break;
		case 't':
			if (kq_number_double(optarg, 0, 1000, 0, &o.threshold)) {
				fprintf(stderr, "kvmqual compare: --threshold takes a percentage from 0 to 1000, not '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kvmqual compare: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	/* Only read: nothing in the store changes, nothing is created (a
	 * typo in --db is an error), a read-only store in a read-only
	 * directory reads.  A writer that changed it while it was read (a
	 * checkpoint into the file): read again, at most twice. */
	for (int attempt = 0;; attempt++) {
		char *text = NULL, *xml = NULL;
		size_t text_len = 0, xml_len = 0;
		o.out = open_memstream(&text, &text_len);
		o.junit_out = o.junit ? open_memstream(&xml, &xml_len) : NULL;
		if (!o.out || (o.junit && !o.junit_out))
			abort();
		struct kq_err err;
		struct store *s = store_open_readonly(o.db, &err);
		int rc = s ? compare_main(&o, s) : fail(&o, "%s", err.msg);
		int again = s && rc != 2 && store_changed_since_open(s) && attempt < 2;
		store_close(s);
		fclose(o.out);
		if (o.junit_out)
			fclose(o.junit_out);
		o.out = stdout;
		if (!again && rc != 2 && o.junit && compare_write_junit(o.junit, xml, xml_len, &err)) {
			text_len = 0;
			rc = fail(&o, "%s", err.msg);
		}
		if (!again)
			fwrite(text, 1, text_len, stdout);
		free(text);
		free(xml);
		if (!again)
			return rc;
	}
}
