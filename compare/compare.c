/* Comparing runs metric by metric: the sets of series, the rule, the choice
 * of baseline runs.  What is printed is output.c and junit.c; see compare.h
 * and docs/compare.md. */
#include "compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/stats.h"

void compare_rule_default(struct compare_rule *r)
{
	r->alpha = 0.05;
	r->conf = 0.95;
	r->threshold_pct = NAN;
	r->within_factor = 4;
	r->within_factor_history = 0;
	r->between_factor = 3;
	r->floor_pct = 1;
	r->history_min = 3;
	r->small_history = 1;
	r->no_history_pct = 50;
}

static const char *const decision_names[] = {
	[COMPARE_REGRESSION] = "regression",
	[COMPARE_IMPROVEMENT] = "improvement",
	[COMPARE_NO_CHANGE] = "no change",
	[COMPARE_INCONCLUSIVE] = "inconclusive",
	[COMPARE_MISSING] = "missing",
};

const char *compare_decision_name(enum compare_decision d)
{
	return (size_t)d < KQ_ARRAY_SIZE(decision_names) ? decision_names[d] : "?";
}

/* ---- sets of series ---- */

static int flag_set(const char *flags, const char *flag)
{
	if (!flags)
		return 0;
	size_t len = strlen(flag);
	for (const char *p = flags; *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		while (n && (*p == ' ')) {
			p++;
			n--;
		}
		if (n == len && !strncmp(p, flag, len))
			return 1;
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}

struct compare_series *compare_set_find(const struct compare_set *set, const char *accel, const char *workload,
					const char *metric)
{
	for (size_t i = 0; i < set->count; i++) {
		struct compare_series *s = &set->series[i];
		if (!strcmp(s->accel, accel) && !strcmp(s->workload, workload) && !strcmp(s->metric, metric))
			return s;
	}
	return NULL;
}

void compare_set_add_run(struct compare_set *set, const struct store_sample_group *groups, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const struct store_sample_group *g = &groups[i];
		struct compare_series *s = compare_set_find(set, g->accel, g->workload, g->metric);
		if (!s) {
			set->series = kq_xrealloc(set->series, (set->count + 1) * sizeof(*set->series));
			s = &set->series[set->count++];
			memset(s, 0, sizeof(*s));
			s->accel = kq_xstrdup(g->accel);
			s->workload = kq_xstrdup(g->workload);
			s->metric = kq_xstrdup(g->metric);
			s->unit = kq_xstrdup(g->unit);
			s->higher_is_better = g->higher_is_better;
		}
		size_t kept = 0;
		double *mine = kq_xmalloc((g->count ? g->count : 1) * sizeof(*mine));
		for (size_t k = 0; k < g->count; k++) {
			if (flag_set(g->flags ? g->flags[k] : NULL, "throttled")) {
				s->excluded++;
				continue;
			}
			if (isnan(g->values[k]))
				continue;
			mine[kept++] = g->values[k];
		}
		s->values = kq_xrealloc(s->values, (s->count + kept + 1) * sizeof(*s->values));
		memcpy(s->values + s->count, mine, kept * sizeof(*mine));
		s->count += kept;
		if (kept) {
			s->run_medians = kq_xrealloc(s->run_medians, (s->runs + 1) * sizeof(*s->run_medians));
			s->run_medians[s->runs++] = stats_median(mine, kept);
		}
		free(mine);
	}
}

void compare_set_free(struct compare_set *set)
{
	for (size_t i = 0; i < set->count; i++) {
		struct compare_series *s = &set->series[i];
		free(s->accel);
		free(s->workload);
		free(s->metric);
		free(s->unit);
		free(s->values);
		free(s->run_medians);
	}
	free(set->series);
	set->series = NULL;
	set->count = 0;
}

/* ---- the rule ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The upper quartile of |log m_i - log m_j| of a normal sample is
 * sqrt(2) * 1.1503 sigma (1.1503: the 75 % point of |Z|). */
#define PAIR_Q3_TO_SIGMA (1.4142135623730951 * 1.1503493803760079)

double compare_history_noise(const double *run_medians, size_t count, const struct compare_rule *rule)
{
	if (count < rule->history_min || count < 2)
		return NAN;
	for (size_t i = 0; i < count; i++)
		if (!(run_medians[i] > 0) || isinf(run_medians[i]))
			return NAN;
	size_t pairs = count * (count - 1) / 2, k = 0;
	double *d = kq_xmalloc(pairs * sizeof(*d));
	for (size_t i = 0; i < count; i++)
		for (size_t j = i + 1; j < count; j++)
			d[k++] = fabs(log(run_medians[i] / run_medians[j]));
	qsort(d, pairs, sizeof(*d), cmp_double);
	/* The order statistic at 75 % (nearest rank). */
	size_t at = (size_t)ceil(0.75 * (double)pairs);
	double q3 = d[at ? at - 1 : 0];
	free(d);
	return 100 * q3 / PAIR_Q3_TO_SIGMA;
}

/* Within-run noise: each side's samples as ratios to their own median,
 * pooled, as a robust CV in percent.  A shift between the runs does not
 * count, only the spread inside each. */
static double within_noise_pct(const double *base, size_t nb, const double *cand, size_t nc)
{
	double mb = stats_median(base, nb), mc = stats_median(cand, nc);
	if (nb + nc < 3 || !(mb != 0) || !(mc != 0) || isnan(mb) || isnan(mc))
		return NAN;
	double *ratios = kq_xmalloc((nb + nc) * sizeof(*ratios));
	for (size_t i = 0; i < nb; i++)
		ratios[i] = base[i] / mb;
	for (size_t j = 0; j < nc; j++)
		ratios[nb + j] = cand[j] / mc;
	double noise = 1.4826 * stats_mad(ratios, nb + nc) * 100;
	free(ratios);
	return noise;
}

void compare_decide(const struct compare_input *in, const struct compare_rule *rule, struct compare_result *r)
{
	const double *base = in->base, *cand = in->cand;
	size_t nb = in->nb, nc = in->nc;
	double history_noise_pct = in->history_noise_pct;
	r->higher_is_better = in->higher_is_better;
	r->n_base = nb;
	r->n_cand = nc;
	r->base_median = nb ? stats_median(base, nb) : NAN;
	r->cand_median = nc ? stats_median(cand, nc) : NAN;
	r->change_pct = r->ci_lo = r->ci_hi = r->ci_level = r->p = NAN;
	r->exact = 0;
	r->within_noise_pct = NAN;
	r->history_noise_pct = history_noise_pct;
	r->history_runs = in->history_runs;
	r->threshold_given = !isnan(rule->threshold_pct);
	r->threshold_pct = rule->threshold_pct;
	r->why[0] = '\0';
	if (!nb || !nc) {
		r->decision = COMPARE_MISSING;
		snprintf(r->why, sizeof(r->why), "%s", !nb && !nc ? "no usable samples in either run"
						       : !nb ? "not in the baseline" : "not in the candidate");
		return;
	}
	struct stats_shift change;
	if (stats_change_pct(base, nb, cand, nc, rule->conf, &change) == 0) {
		r->change_pct = change.estimate;
		r->ci_lo = change.lo;
		r->ci_hi = change.hi;
		r->ci_level = change.level;
	}
	r->within_noise_pct = within_noise_pct(base, nb, cand, nc);
	if (!r->threshold_given) {
		/* The noise is a spread of logarithms (in percent): the
		 * threshold is a factor, turned into a change in percent in the
		 * direction that is worse (a factor 2 is -50 % for a throughput
		 * and +100 % for a time), so that it reads like the change. */
		double t = 0, wf = isnan(history_noise_pct) ? rule->within_factor : rule->within_factor_history;
		if (!isnan(r->within_noise_pct))
			t = wf * r->within_noise_pct;
		/* Two runs' levels differ by sqrt(1 + 1/k) times one run's
		 * noise when the baseline pools k runs. */
		if (!isnan(history_noise_pct)) {
			double widen = 1;
			if (rule->small_history && in->history_runs >= 2)
				widen = stats_t_quantile(0.99, (long)in->history_runs - 1) / stats_normal_quantile(0.99);
			t = fmax(t, rule->between_factor * widen * history_noise_pct *
					    sqrt(1 + 1.0 / (double)(in->base_runs ? in->base_runs : 1)));
		}
		double as_change = in->higher_is_better ? -100 * expm1(-t / 100) : 100 * expm1(t / 100);
		/* Within-run noise says nothing of how far a whole night can
		 * drift: until the machine's history tells, only a large change
		 * counts. */
		double least = isnan(history_noise_pct) ? fmax(rule->floor_pct, rule->no_history_pct) : rule->floor_pct;
		r->threshold_pct = fmax(least, as_change);
	}
	struct stats_mw mw;
	if (stats_mann_whitney(base, nb, cand, nc, STATS_TWO_SIDED, STATS_AUTO, &mw) == 0) {
		r->p = mw.p;
		r->exact = mw.exact;
	}
	double min_p = stats_mw_min_p(nb, nc);
	if (min_p >= rule->alpha) {
		r->decision = COMPARE_INCONCLUSIVE;
		snprintf(r->why, sizeof(r->why),
			 "%zu and %zu samples: the test cannot reach p < %g (its smallest p is %.3g); run more "
			 "iterations",
			 nb, nc, rule->alpha, min_p);
		return;
	}
	if (isnan(r->change_pct)) {
		r->decision = COMPARE_INCONCLUSIVE;
		snprintf(r->why, sizeof(r->why), "no change in percent: the baseline's median is 0");
		return;
	}
	int significant = r->p < rule->alpha;
	int higher = in->higher_is_better;
	int worse = higher ? r->change_pct < -r->threshold_pct : r->change_pct > r->threshold_pct;
	int better = higher ? r->change_pct > r->threshold_pct : r->change_pct < -r->threshold_pct;
	r->decision = significant && worse ? COMPARE_REGRESSION
		      : significant && better ? COMPARE_IMPROVEMENT
					      : COMPARE_NO_CHANGE;
}

static int cmp_results(const void *a, const void *b)
{
	const struct compare_result *x = a, *y = b;
	if (x->decision != y->decision)
		return (int)x->decision - (int)y->decision;
	int c = strcmp(x->accel, y->accel);
	if (!c)
		c = strcmp(x->workload, y->workload);
	if (!c)
		c = strcmp(x->metric, y->metric);
	return c;
}

static void compare_one(const struct compare_series *b, const struct compare_series *c,
			const struct compare_set *history, const struct compare_rule *rule, struct compare_result *r)
{
	const struct compare_series *any = b ? b : c;
	const struct compare_series *h = history ? compare_set_find(history, any->accel, any->workload, any->metric)
						 : NULL;
	double noise = h ? compare_history_noise(h->run_medians, h->runs, rule) : NAN;
	struct compare_input in = { .base = b ? b->values : NULL, .nb = b ? b->count : 0,
				    .cand = c ? c->values : NULL, .nc = c ? c->count : 0,
				    .higher_is_better = any->higher_is_better, .base_runs = b ? b->runs : 1,
				    .history_noise_pct = noise, .history_runs = h ? h->runs : 0 };
	compare_decide(&in, rule, r);
	r->accel = any->accel;
	r->workload = any->workload;
	r->metric = any->metric;
	r->unit = any->unit;
	r->excluded_base = b ? b->excluded : 0;
	r->excluded_cand = c ? c->excluded : 0;
	if (r->decision == COMPARE_MISSING && (r->excluded_base || r->excluded_cand))
		snprintf(r->why + strlen(r->why), sizeof(r->why) - strlen(r->why),
			 " (%zu baseline and %zu candidate samples were throttled)", r->excluded_base,
			 r->excluded_cand);
}

void compare_sets(const struct compare_set *base, const struct compare_set *cand, const struct compare_set *history,
		  const struct compare_rule *rule, struct compare_report *report)
{
	memset(report, 0, sizeof(*report));
	report->results = kq_xcalloc(base->count + cand->count + 1, sizeof(*report->results));
	for (size_t i = 0; i < base->count; i++) {
		const struct compare_series *b = &base->series[i];
		const struct compare_series *c = compare_set_find(cand, b->accel, b->workload, b->metric);
		compare_one(b, c, history, rule, &report->results[report->count++]);
	}
	for (size_t i = 0; i < cand->count; i++) {
		const struct compare_series *c = &cand->series[i];
		if (!compare_set_find(base, c->accel, c->workload, c->metric))
			compare_one(NULL, c, history, rule, &report->results[report->count++]);
	}
	for (size_t i = 0; i < report->count; i++) {
		const struct compare_result *r = &report->results[i];
		report->regressions += r->decision == COMPARE_REGRESSION;
		report->improvements += r->decision == COMPARE_IMPROVEMENT;
		report->excluded += r->excluded_base + r->excluded_cand;
	}
	qsort(report->results, report->count, sizeof(*report->results), cmp_results);
}

void compare_report_free(struct compare_report *report)
{
	free(report->results);
	memset(report, 0, sizeof(*report));
}

/* ---- choosing the runs ---- */

int compare_run_usable(const struct store_run_identity *run)
{
	return !strcmp(run->status, "complete") || !strcmp(run->status, "incomplete");
}

static void diff_field(struct kq_buf *out, int *n, const char *name, const char *a, const char *b)
{
	if (!strcmp(a ? a : "", b ? b : ""))
		return;
	kq_buf_printf(out, "%s%s: '%s' -> '%s'", *n ? "; " : "", name, a && *a ? a : "(none)",
		      b && *b ? b : "(none)");
	(*n)++;
}

int compare_identity_diff(const struct store_run_identity *base, const struct store_run_identity *cand,
			  struct kq_buf *out)
{
	int n = 0;
	diff_field(out, &n, "guest image", base->guest_image_hash, cand->guest_image_hash);
	diff_field(out, &n, "QEMU version", base->qemu_version, cand->qemu_version);
	diff_field(out, &n, "profile", base->profile, cand->profile);
	diff_field(out, &n, "suite version", base->suite_version, cand->suite_version);
	if (strcmp(base->host_key, cand->host_key)) {
		/* Say which part of the host's identity moved. */
		int before = n;
		diff_field(out, &n, "host arch", base->arch, cand->arch);
		diff_field(out, &n, "host model", base->model, cand->model);
		diff_field(out, &n, "host SoC", base->soc, cand->soc);
		diff_field(out, &n, "kernel", base->kernel_release, cand->kernel_release);
		if (base->page_size != cand->page_size) {
			kq_buf_printf(out, "%spage size: %ld -> %ld", n ? "; " : "", base->page_size, cand->page_size);
			n++;
		}
		if (n == before)
			diff_field(out, &n, "host key", base->host_key, cand->host_key);
	}
	return n;
}

/* One run of src's metric added to set: the given values, unflagged
 * (src's samples were filtered when src was built). */
static void add_series_run(struct compare_set *set, const struct compare_series *src, double *values, size_t count)
{
	struct store_sample_group g = { .accel = src->accel, .workload = src->workload, .metric = src->metric,
					.unit = src->unit, .higher_is_better = src->higher_is_better,
					.count = count, .values = values, .flags = NULL };
	compare_set_add_run(set, &g, 1);
}

/* The medians of sets[from..to] as a history set: one "run" per set. */
static void history_of(const struct compare_set *sets, size_t from, size_t to, struct compare_set *history)
{
	for (size_t k = from; k <= to; k++)
		for (size_t m = 0; m < sets[k].count; m++)
			if (sets[k].series[m].runs)
				add_series_run(history, &sets[k].series[m], sets[k].series[m].run_medians, 1);
}

/* Pools the runs sets[idx[0..n-1]] into one set (their samples and one
 * median per run). */
static void pool_of(const struct compare_set *sets, const size_t *idx, size_t n, struct compare_set *pool)
{
	for (size_t k = 0; k < n; k++)
		for (size_t m = 0; m < sets[idx[k]].count; m++)
			add_series_run(pool, &sets[idx[k]].series[m], sets[idx[k]].series[m].values,
				       sets[idx[k]].series[m].count);
}

/* Whether sets[cand_index] changed against the runs sets[base[0..nbase-1]]
 * pooled (any regression, or with `improvements` any improvement too), with
 * the noise known at the newest of them, base[nbase - 1]. */
static int changed(const struct compare_set *sets, const size_t *base, size_t nbase, size_t cand_index,
		   const struct compare_rule *rule, int improvements)
{
	size_t newest = base[nbase - 1];
	struct compare_set history = { 0 }, pooled = { 0 };
	size_t from = newest + 1 > COMPARE_HISTORY_RUNS ? newest + 1 - COMPARE_HISTORY_RUNS : 0;
	history_of(sets, from, newest, &history);
	pool_of(sets, base, nbase, &pooled);
	struct compare_report rep;
	compare_sets(&pooled, &sets[cand_index], &history, rule, &rep);
	int ret = rep.regressions || (improvements && rep.improvements);
	compare_report_free(&rep);
	compare_set_free(&history);
	compare_set_free(&pooled);
	return ret;
}

int compare_last_good_runs(struct store *s, const struct store_run_identity *cand, const struct compare_rule *rule,
			   size_t window, size_t want, int64_t *ids, size_t *count, struct kq_err *err)
{
	*count = 0;
	if (!want)
		want = 1;
	struct store_run_identity *runs;
	size_t nruns;
	if (store_list_runs(s, cand, cand->id, 0, &runs, &nruns, err))
		return -1;
	/* Usable runs, oldest first, at most window of them. */
	size_t n = 0;
	struct store_run_identity **chain = kq_xcalloc(nruns + 1, sizeof(*chain));
	for (size_t i = 0; i < nruns && n < window; i++)
		if (compare_run_usable(&runs[i]))
			chain[n++] = &runs[i];
	for (size_t i = 0; i < n / 2; i++) {
		struct store_run_identity *t = chain[i];
		chain[i] = chain[n - 1 - i];
		chain[n - 1 - i] = t;
	}
	struct compare_set *sets = kq_xcalloc(n + 1, sizeof(*sets));
	/* The good runs at the current level, oldest first (indexes into
	 * chain); each night is judged against the newest `want` of them,
	 * pooled, as compare judges the candidate. */
	size_t *good = kq_xcalloc(n + 1, sizeof(*good)), ngood = 0;
	size_t first_bad = 0; /* the first run that regressed against them (0: none since) */
	int failed = 0;
	for (size_t i = 0; i < n; i++) {
		struct store_sample_group *groups;
		size_t ng;
		if (store_run_samples(s, chain[i]->id, &groups, &ng, err)) {
			failed = 1;
			break;
		}
		compare_set_add_run(&sets[i], groups, ng);
		store_sample_groups_free(groups, ng);
		if (i == 0) {
			good[ngood++] = 0;
			continue;
		}
		size_t use = ngood < want ? ngood : want;
		if (!changed(sets, good + ngood - use, use, i, rule, 0)) {
			good[ngood++] = i;
			first_bad = 0;
			continue;
		}
		/* A level that stays: the last COMPARE_ACCEPT_AFTER runs all
		 * regressed against last-good and agree with each other (the
		 * newest neither regressed nor improved against the first of
		 * them): the new normal.  Those runs are the good ones from now
		 * on; the runs of the old level are never pooled with them. */
		if (!first_bad)
			first_bad = i;
		size_t first = i + 1 - COMPARE_ACCEPT_AFTER;
		if (i - first_bad + 1 >= COMPARE_ACCEPT_AFTER && !changed(sets, &first, 1, i, rule, 1)) {
			ngood = 0;
			for (size_t k = first; k <= i; k++)
				good[ngood++] = k;
			first_bad = 0;
		}
	}
	if (!failed && n) {
		size_t use = ngood < want ? ngood : want;
		/* Newest first. */
		for (size_t k = 0; k < use; k++)
			ids[k] = chain[good[ngood - 1 - k]]->id;
		*count = use;
	}
	for (size_t i = 0; i < n; i++)
		compare_set_free(&sets[i]);
	free(sets);
	free(good);
	free(chain);
	store_run_identities_free(runs, nruns);
	return failed ? -1 : 0;
}

int64_t compare_last_good(struct store *s, const struct store_run_identity *cand, const struct compare_rule *rule,
			  size_t window, struct kq_err *err)
{
	int64_t id;
	size_t count;
	if (compare_last_good_runs(s, cand, rule, window, 1, &id, &count, err))
		return -1;
	return count ? id : 0;
}
