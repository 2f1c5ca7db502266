/* compare/compare.c: the decision rule on made-up samples with known
 * answers, throttled samples, missing metrics, identity differences, XML
 * escaping, and last-good on a real SQLite store built through the store
 * API. */
#include <math.h>
#include <stdlib.h>

#include "../../compare/compare.h"
#include "../../lib/stats.h"
#include "test.h"

static const double base5[] = { 1000, 1004, 998, 1002, 996 };

static void scaled(double *out, const double *in, size_t n, double factor)
{
	for (size_t i = 0; i < n; i++)
		out[i] = in[i] * factor;
}

static struct compare_result decide(const double *b, size_t nb, const double *c, size_t nc, int higher,
				    double history_noise)
{
	struct compare_rule rule;
	compare_rule_default(&rule);
	struct compare_result r;
	struct compare_input in = { .base = b, .nb = nb, .cand = c, .nc = nc, .higher_is_better = higher,
				    .base_runs = 1, .history_noise_pct = history_noise,
				    .history_runs = isnan(history_noise) ? 0 : 10 };
	compare_decide(&in, &rule, &r);
	return r;
}

TEST(compare_obvious_regression_and_improvement)
{
	double c[5];
	/* A machine whose nights agree within 1 %. */
	scaled(c, base5, 5, 0.8);
	struct compare_result r = decide(base5, 5, c, 5, 1, 1.0);
	CHECK_INT(r.decision, COMPARE_REGRESSION);
	CHECK(fabs(r.change_pct + 20) < 1e-9);
	CHECK(r.ci_lo <= -20 && r.ci_hi >= -20);
	CHECK(fabs(r.p - 2.0 / 252) < 1e-12);
	CHECK(r.exact);
	/* Lower is better (a boot time): the same numbers are an improvement,
	 * and the other way round a regression. */
	r = decide(base5, 5, c, 5, 0, 1.0);
	CHECK_INT(r.decision, COMPARE_IMPROVEMENT);
	r = decide(c, 5, base5, 5, 0, 1.0);
	CHECK_INT(r.decision, COMPARE_REGRESSION);
	CHECK(fabs(r.change_pct - 25) < 1e-9);
}

TEST(compare_significant_but_small_is_no_change)
{
	/* Every candidate sample 0.5 % lower: significant, but under the 1 %
	 * floor. */
	const double b[] = { 1000, 1000.1, 1000.2, 1000.3, 1000.4 };
	double c[5];
	scaled(c, b, 5, 0.995);
	struct compare_result r = decide(b, 5, c, 5, 1, NAN);
	CHECK(r.p < 0.01);
	CHECK(r.threshold_pct >= 1);
	CHECK_INT(r.decision, COMPARE_NO_CHANGE);
}

TEST(compare_large_but_not_significant_is_no_change)
{
	/* Medians 10 % apart, but the samples interleave. */
	const double b[] = { 80, 100, 120, 90, 110 };
	const double c[] = { 70, 90, 110, 85, 100 };
	struct compare_result r = decide(b, 5, c, 5, 1, NAN);
	CHECK(r.p > 0.05);
	CHECK_INT(r.decision, COMPARE_NO_CHANGE);
}

TEST(compare_threshold_from_noise)
{
	/* Within-run noise of about 2 %, no history yet: the threshold is the
	 * larger of 50 % and 4 x the within-run noise, so a -5 % shift is no
	 * regression although every sample is lower... */
	const double b[] = { 1000, 1020, 980, 1040, 960 };
	double c[5];
	scaled(c, b, 5, 0.95);
	struct compare_result r = decide(b, 5, c, 5, 1, NAN);
	CHECK(r.within_noise_pct > 1.5 && r.within_noise_pct < 4);
	CHECK(fabs(r.threshold_pct - 50) < 1e-9);
	CHECK_INT(r.decision, COMPARE_NO_CHANGE);
	/* Once a quiet history (0.5 % from 10 runs) is known, the threshold is
	 * 3 x it x sqrt(2), widened by t(0.99, 9) / z(0.99) = 1.213 for the
	 * few runs, and the within-run noise no longer counts (it is in the
	 * run-to-run noise already): about 2.5 %.  But the samples interleave:
	 * not significant, no change. */
	r = decide(b, 5, c, 5, 1, 0.5);
	CHECK(fabs(r.threshold_pct - 100 * (1 - exp(-3 * (2.8214379 / 2.3263479) * 0.5 * sqrt(2) / 100))) < 1e-6);
	CHECK(r.p > 0.05);
	CHECK_INT(r.decision, COMPARE_NO_CHANGE);
	/* ...and with --threshold 3 it is one, if the test agrees. */
	struct compare_rule rule;
	compare_rule_default(&rule);
	rule.threshold_pct = 3;
	struct compare_input in = { .base = b, .nb = 5, .cand = c, .nc = 5, .higher_is_better = 1, .base_runs = 1,
				    .history_noise_pct = NAN };
	compare_decide(&in, &rule, &r);
	CHECK(r.threshold_given);
	CHECK(fabs(r.threshold_pct - 3) < 1e-12);
	CHECK_INT(r.decision, r.p < 0.05 ? COMPARE_REGRESSION : COMPARE_NO_CHANGE);
	/* Run-to-run noise from history raises the threshold too. */
	double c2[5];
	scaled(c2, base5, 5, 0.9);
	r = decide(base5, 5, c2, 5, 1, 5.0);
	CHECK(r.threshold_pct >= 15 - 1e-9);
	CHECK_INT(r.decision, COMPARE_NO_CHANGE);
	r = decide(base5, 5, c2, 5, 1, 1.0);
	CHECK_INT(r.decision, COMPARE_REGRESSION);
}

TEST(compare_no_history_needs_a_large_change)
{
	/* Before the machine has 3 earlier runs, the night-to-night noise is
	 * unknown: a change must pass 50 % (within-run noise of 0.3 % here). */
	double c[5];
	scaled(c, base5, 5, 0.6);
	struct compare_result r = decide(base5, 5, c, 5, 1, NAN);
	CHECK(fabs(r.threshold_pct - 50) < 1e-9);
	CHECK_INT(r.decision, COMPARE_NO_CHANGE);
	scaled(c, base5, 5, 0.45);
	r = decide(base5, 5, c, 5, 1, NAN);
	CHECK_INT(r.decision, COMPARE_REGRESSION);
	/* With a quiet history of the machine, -8 % is one. */
	scaled(c, base5, 5, 0.92);
	r = decide(base5, 5, c, 5, 1, 0.5);
	CHECK(r.threshold_pct < 3);
	CHECK_INT(r.decision, COMPARE_REGRESSION);
	/* The threshold reads like the change: a spread whose threshold is
	 * 0.4 in logarithms is a factor 1.49: -33 % for a throughput, +49 %
	 * for a time. */
	struct compare_rule rule;
	compare_rule_default(&rule);
	double widen = stats_t_quantile(0.99, 9) / stats_normal_quantile(0.99);
	double noise = 40 / rule.between_factor / widen / sqrt(2);
	r = decide(base5, 5, base5, 5, 1, noise);
	CHECK(fabs(r.threshold_pct - 100 * (1 - exp(-0.4))) < 1e-6);
	r = decide(base5, 5, base5, 5, 0, noise);
	CHECK(fabs(r.threshold_pct - 100 * (exp(0.4) - 1)) < 1e-6);
}

TEST(compare_history_noise_needs_enough_runs)
{
	struct compare_rule rule;
	compare_rule_default(&rule);
	const double medians[] = { 100, 102, 98, 101, 99, 100 };
	CHECK(isnan(compare_history_noise(medians, rule.history_min - 1, &rule)));
	double n = compare_history_noise(medians, 6, &rule);
	CHECK(n > 0 && n < 3);
	/* Nights that alternate between two levels are noisy, although most
	 * are at one level (a MAD would say 0 here). */
	const double two_levels[] = { 100, 100, 100, 100, 100, 100, 70, 70, 70, 70 };
	n = compare_history_noise(two_levels, 10, &rule);
	CHECK(n > 15);
	/* One odd night among many does not: the upper quartile of the 45
	 * differences is between ordinary nights. */
	const double one_odd[] = { 100, 101, 99, 100.5, 99.5, 100, 101, 99, 100, 50 };
	n = compare_history_noise(one_odd, 10, &rule);
	CHECK(n < 2);
	const double nonpositive[] = { 100, 0, 100, 100 };
	CHECK(isnan(compare_history_noise(nonpositive, 4, &rule)));
}

TEST(compare_edges_single_zero_missing)
{
	/* One sample a side: the test can never be significant. */
	const double one[] = { 100 }, other[] = { 50 };
	struct compare_result r = decide(one, 1, other, 1, 1, NAN);
	CHECK_INT(r.decision, COMPARE_INCONCLUSIVE);
	CHECK(strstr(r.why, "1 and 1 samples") != NULL);
	CHECK(fabs(r.change_pct + 50) < 1e-9);
	/* Three a side: the smallest two-sided p is 0.1. */
	r = decide(base5, 3, base5, 3, 1, NAN);
	CHECK_INT(r.decision, COMPARE_INCONCLUSIVE);
	/* No spread at all. */
	const double same[] = { 7, 7, 7, 7, 7 }, lower[] = { 5, 5, 5, 5, 5 };
	r = decide(same, 5, same, 5, 1, NAN);
	CHECK_INT(r.decision, COMPARE_NO_CHANGE);
	CHECK(fabs(r.p - 1) < 1e-12);
	CHECK(fabs(r.within_noise_pct) < 1e-12);
	r = decide(same, 5, lower, 5, 1, 1.0);
	CHECK_INT(r.decision, COMPARE_REGRESSION);
	/* Missing on one side. */
	r = decide(base5, 5, NULL, 0, 1, NAN);
	CHECK_INT(r.decision, COMPARE_MISSING);
	CHECK_STR(r.why, "not in the candidate");
	r = decide(NULL, 0, base5, 5, 1, NAN);
	CHECK_INT(r.decision, COMPARE_MISSING);
	CHECK_STR(r.why, "not in the baseline");
	/* Zero baseline with negative values: no percentage. */
	const double zeros[] = { -1, 0, 1, 0, 0 }, pos[] = { 1, 2, 3, 4, 5 };
	r = decide(zeros, 5, pos, 5, 1, NAN);
	CHECK_INT(r.decision, COMPARE_INCONCLUSIVE);
}

/* Sample groups as the store returns them. */
static struct store_sample_group group(const char *accel, const char *workload, const char *metric, int higher,
				       const double *v, char **flags, size_t n)
{
	return (struct store_sample_group){ .accel = (char *)accel, .workload = (char *)workload,
					    .metric = (char *)metric, .unit = (char *)"u",
					    .higher_is_better = higher, .count = n, .values = (double *)v,
					    .flags = flags };
}

TEST(compare_sets_throttled_and_missing)
{
	char *flags_b[] = { NULL, (char *)"throttled", NULL, (char *)"fallback,throttled", NULL, NULL, NULL };
	char *flags_c[] = { NULL, NULL, NULL, NULL, NULL, (char *)"nothrottled", NULL };
	const double b[] = { 100, 1, 101, 1, 99, 100.5, 99.5 };
	const double c[] = { 80, 81, 79, 80.5, 79.5, 80.2, 80.1 };
	struct store_sample_group gb[] = {
		group("tcg", "sysbench-cpu", "events_per_second", 1, b, flags_b, 7),
		group("tcg", "stream", "copy_mbps", 1, b, flags_c, 7),
	};
	struct store_sample_group gc[] = {
		group("tcg", "sysbench-cpu", "events_per_second", 1, c, flags_c, 7),
		group("tcg", "fio-seqread", "seqread_mbps", 1, c, flags_c, 7),
	};
	struct compare_set base = { 0 }, cand = { 0 };
	compare_set_add_run(&base, gb, 2);
	compare_set_add_run(&cand, gc, 2);
	const struct compare_series *s = compare_set_find(&base, "tcg", "sysbench-cpu", "events_per_second");
	CHECK(s != NULL);
	CHECK_INT(s->count, 5);
	CHECK_INT(s->excluded, 2);
	s = compare_set_find(&cand, "tcg", "sysbench-cpu", "events_per_second");
	CHECK_INT(s->excluded, 0); /* "nothrottled" is another flag */
	struct compare_rule rule;
	compare_rule_default(&rule);
	rule.no_history_pct = 10; /* no history given: 10 % instead of 50 % */
	struct compare_report rep;
	compare_sets(&base, &cand, NULL, &rule, &rep);
	CHECK_INT(rep.count, 3);
	CHECK_INT(rep.regressions, 1);
	CHECK_INT(rep.excluded, 2);
	/* Regressions first, missing last. */
	CHECK_INT(rep.results[0].decision, COMPARE_REGRESSION);
	CHECK_STR(rep.results[0].workload, "sysbench-cpu");
	CHECK_INT(rep.results[0].excluded_base, 2);
	CHECK_INT(rep.results[1].decision, COMPARE_MISSING);
	CHECK_INT(rep.results[2].decision, COMPARE_MISSING);
	compare_report_free(&rep);
	compare_set_free(&base);
	compare_set_free(&cand);
}

TEST(compare_identity_differences)
{
	struct store_run_identity a = {
		.host_key = "k1", .arch = "aarch64", .model = "Pi 5", .soc = "bcm2712", .kernel_release = "6.6.1",
		.page_size = 16384, .profile = "quick", .suite_version = "0.1.0", .qemu_version = "7.2.22",
		.guest_image_hash = "sha256:aaa",
	};
	struct store_run_identity b = a;
	struct kq_buf out;
	kq_buf_init(&out);
	kq_buf_add(&out, "", 0);
	CHECK_INT(compare_identity_diff(&a, &b, &out), 0);
	CHECK_STR(out.data, "");
	b.guest_image_hash = "sha256:bbb";
	b.kernel_release = "6.6.2";
	b.host_key = "k2";
	CHECK_INT(compare_identity_diff(&a, &b, &out), 2);
	CHECK_STR(out.data, "guest image: 'sha256:aaa' -> 'sha256:bbb'; kernel: '6.6.1' -> '6.6.2'");
	kq_buf_free(&out);
}

TEST(compare_xml_escape_text)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	compare_xml_escape(f, "a<b>&\"c'\x01\n");
	fclose(f);
	CHECK_STR(buf, "a&lt;b&gt;&amp;&quot;c&apos;\xef\xbf\xbd\n");
	free(buf);
}

/* ---- last-good on a real store ---- */

static const struct store_host host = {
	.arch = "aarch64", .model = "board", .soc = "soc", .kernel_release = "6.1", .page_size = 4096,
};

static int64_t add_run(struct store *s, double level, enum store_run_status status)
{
	struct store_run_info info = { .profile = "quick", .suite_version = "0.1.0", .qemu_version = "7.2",
				       .guest_image_hash = "sha256:x" };
	struct kq_err err;
	int64_t run = store_begin_run(s, &host, &info, &err);
	CHECK(run > 0);
	for (int i = 0; i < 5; i++) {
		struct store_sample sm = { .accel = "tcg", .workload = "sysbench-cpu", .metric = "events_per_second",
					   .unit = "events/s", .value = level * base5[i] / 1000, .iteration = i + 1,
					   .higher_is_better = 1 };
		CHECK_INT(store_add_sample(s, run, &sm, &err), 0);
	}
	CHECK_INT(store_finish_run(s, run, status, NULL, &err), 0);
	return run;
}

TEST(compare_last_good_chain)
{
	char dir[] = "/tmp/kvmqual-compare.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char *path = kq_xasprintf("%s/k.db", dir);
	struct kq_err err;
	struct store *s = store_open(path, NULL, &err);
	CHECK(s != NULL);
	if (!s)
		return;
	struct compare_rule rule;
	compare_rule_default(&rule);
	/* Three steady nights first: the machine's night-to-night noise. */
	int64_t h1 = add_run(s, 1000, STORE_RUN_COMPLETE);
	add_run(s, 1002, STORE_RUN_COMPLETE);
	int64_t h3 = add_run(s, 998, STORE_RUN_COMPLETE);
	int64_t r1 = add_run(s, 1000, STORE_RUN_COMPLETE);
	add_run(s, 800, STORE_RUN_COMPLETE);               /* regressed against r1 */
	int64_t r3 = add_run(s, 1001, STORE_RUN_COMPLETE); /* back: good against r1 */
	add_run(s, 500, STORE_RUN_FAILED);                 /* never usable */
	int64_t r5 = add_run(s, 999, STORE_RUN_COMPLETE);
	struct store_run_identity cand;
	CHECK_INT(store_run_identity(s, r5, &cand, &err), 0);
	CHECK_INT(compare_last_good(s, &cand, &rule, 60, &err), r3);
	/* last-good:3: the good runs, newest first, r2 (regressed) and r4
	 * (failed) left out; last-good:10 finds only five. */
	int64_t ids[10] = { 0 };
	size_t found = 99;
	CHECK_INT(compare_last_good_runs(s, &cand, &rule, 60, 3, ids, &found, &err), 0);
	CHECK_INT(found, 3);
	CHECK_INT(ids[0], r3);
	CHECK_INT(ids[1], r1);
	CHECK_INT(ids[2], h3);
	CHECK_INT(compare_last_good_runs(s, &cand, &rule, 60, 10, ids, &found, &err), 0);
	CHECK_INT(found, 5);
	CHECK_INT(ids[4], h1);
	store_run_identity_free(&cand);
	/* The first usable run has none. */
	CHECK_INT(store_run_identity(s, h1, &cand, &err), 0);
	CHECK_INT(compare_last_good(s, &cand, &rule, 60, &err), 0);
	store_run_identity_free(&cand);
	/* r3 itself: r2 regressed, so r1. */
	CHECK_INT(store_run_identity(s, r3, &cand, &err), 0);
	CHECK_INT(compare_last_good(s, &cand, &rule, 60, &err), r1);
	store_run_identity_free(&cand);
	/* A slowdown that stays, on a machine with a steady history: the
	 * next nights regress against r5, which stays last-good (the noise is
	 * taken from the runs up to the baseline, never from the slow nights
	 * since)... */
	store_close(s);
	free(path);
	path = kq_xasprintf("%s/steady.db", dir);
	s = store_open(path, NULL, &err);
	CHECK(s != NULL);
	if (!s)
		return;
	const double steady[] = { 1000, 1002, 998, 1001, 999 };
	int64_t last_steady = 0;
	for (int i = 0; i < 5; i++)
		last_steady = add_run(s, steady[i], STORE_RUN_COMPLETE);
	add_run(s, 800, STORE_RUN_COMPLETE);
	add_run(s, 801, STORE_RUN_INCOMPLETE);
	int64_t r8 = add_run(s, 799, STORE_RUN_COMPLETE);
	CHECK_INT(store_run_identity(s, r8, &cand, &err), 0);
	CHECK_INT(compare_last_good(s, &cand, &rule, 60, &err), last_steady);
	CHECK_INT(compare_last_good_runs(s, &cand, &rule, 60, 3, ids, &found, &err), 0);
	CHECK_INT(found, 3);
	CHECK_INT(ids[0], last_steady);
	CHECK_INT(ids[2], last_steady - 2);
	store_run_identity_free(&cand);
	/* ...for COMPARE_ACCEPT_AFTER (3) nights: then the slower level, the
	 * same three nights in a row, is the new normal. */
	int64_t r9 = add_run(s, 800.5, STORE_RUN_COMPLETE);
	CHECK_INT(store_run_identity(s, r9, &cand, &err), 0);
	CHECK_INT(compare_last_good(s, &cand, &rule, 60, &err), r8);
	/* last-good:5 after the change was accepted: the three nights of the
	 * new level only, never the old level's runs with them. */
	int64_t five[5] = { 0 };
	CHECK_INT(compare_last_good_runs(s, &cand, &rule, 60, 5, five, &found, &err), 0);
	CHECK_INT(found, 3);
	CHECK_INT(five[0], r8);
	CHECK_INT(five[2], r8 - 2);
	store_run_identity_free(&cand);
	/* No such run. */
	CHECK_INT(store_run_identity(s, 999, &cand, &err), 1);
	CHECK(strstr(err.msg, "no run 999") != NULL);
	/* Samples come back grouped, in iteration order. */
	struct store_sample_group *groups;
	size_t n;
	CHECK_INT(store_run_samples(s, last_steady - 4, &groups, &n, &err), 0); /* level 1000 */
	CHECK_INT(n, 1);
	CHECK_INT(groups[0].count, 5);
	CHECK(fabs(groups[0].values[1] - 1004) < 1e-9);
	store_sample_groups_free(groups, n);
	store_close(s);
	char *cmd = kq_xasprintf("rm -rf '%s'", dir);
	CHECK_INT(system(cmd), 0);
	free(cmd);
	free(path);
}
