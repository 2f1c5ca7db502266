/* Simulated nightly comparisons from real sample noise (issue 7, "Proving
 * it").  Reads the raw samples of many real runs (bench/data/, one
 * line per sample: run,accel,workload,metric,higher_is_better,iteration,
 * value,flags), then plays many nights: a baseline run and a candidate run
 * drawn from the real runs (so their run-to-run differences are real ones),
 * earlier nights drawn from the others, and a shift injected into the
 * candidate (0 %: every alarm is false; 5 %, 10 %: every alarm is a
 * detection).  Each night is judged by:
 *   - kvmqual compare's rule (compare_decide, the code that ships), against
 *     the previous night (last-good) and against the last 5 pooled (last-good:5);
 *   - "2 % from the previous result": the candidate's mean more than 2 %
 *     worse than the baseline's (the popular suite's rule);
 *   - p < 0.01 and more than 5 % (the hypervisor project's rule, its
 *     permutation test stood in for by the exact Mann-Whitney test, which is
 *     a permutation test on ranks).
 * Prints a Markdown table.  Deterministic: fixed seed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../compare/compare.h"
#include "../lib/stats.h"
#include "csv.h"

struct run_samples {
	long run;
	double *v;
	size_t n;
};

struct metric {
	char name[160];
	int higher;
	struct run_samples *runs;
	size_t nruns;
};

static struct metric *metrics;
static size_t nmetrics;

static struct metric *metric_for(const char *name, int higher)
{
	for (size_t i = 0; i < nmetrics; i++)
		if (!strcmp(metrics[i].name, name))
			return &metrics[i];
	metrics = realloc(metrics, (nmetrics + 1) * sizeof(*metrics));
	struct metric *m = &metrics[nmetrics++];
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->higher = higher;
	return m;
}

static void add_sample(struct metric *m, long run, double v)
{
	struct run_samples *r = m->nruns ? &m->runs[m->nruns - 1] : NULL;
	if (!r || r->run != run) {
		m->runs = realloc(m->runs, (m->nruns + 1) * sizeof(*m->runs));
		r = &m->runs[m->nruns++];
		memset(r, 0, sizeof(*r));
		r->run = run;
	}
	r->v = realloc(r->v, (r->n + 1) * sizeof(*r->v));
	r->v[r->n++] = v;
}

/* The host's load average per run, from its samples (conditions.load1). */
struct run_load {
	long run;
	double *v;
	size_t n;
};
static struct run_load *loads;
static size_t nloads;

static void add_load(long run, double v)
{
	struct run_load *l = nloads ? &loads[nloads - 1] : NULL;
	if (!l || l->run != run) {
		for (size_t i = 0; i < nloads && !l; i++)
			if (loads[i].run == run)
				l = &loads[i];
		if (!l || l->run != run) {
			loads = realloc(loads, (nloads + 1) * sizeof(*loads));
			l = &loads[nloads++];
			memset(l, 0, sizeof(*l));
			l->run = run;
		}
	}
	l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = v;
}

static double run_load(long run)
{
	for (size_t i = 0; i < nloads; i++)
		if (loads[i].run == run)
			return stats_median(loads[i].v, loads[i].n);
	return NAN;
}

static int load(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		perror(path);
		return -1;
	}
	char line[1024];
	int lineno = 0;
	while (fgets(line, sizeof(line), f)) {
		if (++lineno == 1)
			continue; /* header */
		char *field[9] = { 0 };
		int nf = csv_split(line, field, 9);
		if (nf < 7) {
			fprintf(stderr, "%s:%d: expected 8 fields\n", path, lineno);
			fclose(f);
			return -1;
		}
		/* Throttled samples are left out, as compare does. */
		if (nf >= 8 && field[7] && strstr(field[7], "throttled"))
			continue;
		char name[160];
		snprintf(name, sizeof(name), "%s %s.%s", field[1], field[2], field[3]);
		char *end;
		double v = strtod(field[6], &end);
		if (end == field[6])
			continue;
		add_sample(metric_for(name, atoi(field[4])), atol(field[0]), v);
		if (nf >= 9 && field[8][0])
			add_load(atol(field[0]), strtod(field[8], NULL));
	}
	fclose(f);
	return 0;
}

/* The runs of a metric with at least `need` samples. */
static size_t usable_runs(const struct metric *m, size_t need, size_t *idx)
{
	size_t n = 0;
	for (size_t i = 0; i < m->nruns; i++)
		if (m->runs[i].n >= need)
			idx[n++] = i;
	return n;
}

/* k of the run's values, without replacement, the candidate's shifted. */
static void draw(struct stats_rng *g, const struct run_samples *r, size_t k, double factor, double *out)
{
	double *pool = malloc(r->n * sizeof(*pool));
	memcpy(pool, r->v, r->n * sizeof(*pool));
	for (size_t i = 0; i < k; i++) {
		size_t j = i + stats_rng_below(g, r->n - i);
		double t = pool[i];
		pool[i] = pool[j];
		pool[j] = t;
		out[i] = pool[i] * factor;
	}
	free(pool);
}

/* Drops the runs during which the host's load average (median over the
 * run's samples) was above max: nights when other work shared the host. */
static void keep_quiet_runs(double max)
{
	for (size_t m = 0; m < nmetrics; m++) {
		struct metric *mt = &metrics[m];
		size_t kept = 0;
		for (size_t r = 0; r < mt->nruns; r++) {
			if (run_load(mt->runs[r].run) <= max)
				mt->runs[kept++] = mt->runs[r];
			else
				free(mt->runs[r].v);
		}
		mt->nruns = kept;
	}
}

/* What if the host were quieter: each sample's distance from its metric's
 * overall median, in logarithms, multiplied by s (s < 1 shrinks the noise,
 * within runs and between them alike, keeping its shape: skew, two levels). */
static void scale_noise(double s)
{
	for (size_t m = 0; m < nmetrics; m++) {
		struct metric *mt = &metrics[m];
		size_t total = 0;
		for (size_t r = 0; r < mt->nruns; r++)
			total += mt->runs[r].n;
		double *all = malloc((total + 1) * sizeof(*all));
		size_t k = 0;
		for (size_t r = 0; r < mt->nruns; r++)
			for (size_t i = 0; i < mt->runs[r].n; i++)
				all[k++] = mt->runs[r].v[i];
		double med = stats_median(all, k);
		free(all);
		if (!(med > 0))
			continue;
		for (size_t r = 0; r < mt->nruns; r++)
			for (size_t i = 0; i < mt->runs[r].n; i++)
				if (mt->runs[r].v[i] > 0)
					mt->runs[r].v[i] = med * exp(s * log(mt->runs[r].v[i] / med));
	}
}

static double mean(const double *v, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += v[i];
	return s / (double)n;
}

enum { RULE_KVMQUAL, RULE_KVMQUAL_MEDIAN5, RULE_TWO_PCT, RULE_P01_5PCT, RULE_COUNT };
static const char *const rule_names[RULE_COUNT] = {
	"kvmqual compare, one baseline run (last-good)",
	"kvmqual compare, last-good:5 (five good runs pooled)",
	"2 % from the previous result",
	"p < 0.01 and > 5 %",
};

#define NSHIFTS 3
static const double shifts[NSHIFTS] = { 0, 5, 10 };

struct tally {
	long alarms[RULE_COUNT][NSHIFTS];
	long trials[RULE_COUNT][NSHIFTS];
};

/* The bound no rule of the form "the change is worse than a threshold" can
 * beat: per metric, the threshold set afterwards, knowing every night's
 * change, at the 99th percentile of the changes of the nights without a
 * shift (1 % false alarms), and the share of shifted nights beyond it. */
enum { ORACLE_ONE, ORACLE_MEDIAN5, ORACLE_COUNT };
struct oracle {
	double *worse[ORACLE_COUNT][NSHIFTS];  /* per night: the change in the worse direction, percent */
	size_t n[ORACLE_COUNT][NSHIFTS];
};

static void oracle_add(struct oracle *o, int which, int shift, long nights, double worse)
{
	if (!o->worse[which][shift])
		o->worse[which][shift] = calloc((size_t)nights + 1, sizeof(double));
	o->worse[which][shift][o->n[which][shift]++] = worse;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Detection rate at the given shift with the 1 %-false-alarm threshold,
 * as a fraction; the threshold into *thr.  NAN when nothing was recorded. */
static double oracle_rate(struct oracle *o, int which, int shift, double *thr)
{
	size_t n0 = o->n[which][0], ns = o->n[which][shift];
	if (!n0 || !ns)
		return NAN;
	qsort(o->worse[which][0], n0, sizeof(double), cmp_d);
	size_t at = (size_t)ceil(0.99 * (double)n0);
	double t = o->worse[which][0][at ? at - 1 : 0];
	if (thr)
		*thr = t;
	size_t hit = 0;
	for (size_t i = 0; i < ns; i++)
		hit += o->worse[which][shift][i] > t;
	return (double)hit / (double)ns;
}

int main(int argc, char **argv)
{
	const char *path = "bench/data/nightly-noise.csv";
	long nights = 2000;
	size_t samples = 5, history = 20;
	unsigned long long seed = 20261124;
	long history_min = -1;
	int small_history = 1;
	double within_factor = NAN, within_factor_history = NAN, between_factor = NAN, floor_pct = NAN, alpha = NAN, no_history_pct = NAN;
	const char *brief = NULL;   /* one table row for kvmqual's rule, labelled */
	int brief_all = 0;          /* ...or one for each rule */
	double noise_scale = 1;     /* what-if: every sample's distance from its metric's median scaled */
	double max_load = NAN;      /* only runs whose median host load average is at most this */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--data") && i + 1 < argc)
			path = argv[++i];
		else if (!strcmp(argv[i], "--nights") && i + 1 < argc)
			nights = atol(argv[++i]);
		else if (!strcmp(argv[i], "--samples") && i + 1 < argc)
			samples = (size_t)atol(argv[++i]);
		else if (!strcmp(argv[i], "--history") && i + 1 < argc)
			history = (size_t)atol(argv[++i]);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--within-factor") && i + 1 < argc)
			within_factor = atof(argv[++i]);
		else if (!strcmp(argv[i], "--history-min") && i + 1 < argc)
			history_min = atol(argv[++i]);
		else if (!strcmp(argv[i], "--no-small-history"))
			small_history = 0;
		else if (!strcmp(argv[i], "--within-factor-history") && i + 1 < argc)
			within_factor_history = atof(argv[++i]);
		else if (!strcmp(argv[i], "--between-factor") && i + 1 < argc)
			between_factor = atof(argv[++i]);
		else if (!strcmp(argv[i], "--floor") && i + 1 < argc)
			floor_pct = atof(argv[++i]);
		else if (!strcmp(argv[i], "--no-history-pct") && i + 1 < argc)
			no_history_pct = atof(argv[++i]);
		else if (!strcmp(argv[i], "--alpha") && i + 1 < argc)
			alpha = atof(argv[++i]);
		else if (!strcmp(argv[i], "--brief") && i + 1 < argc)
			brief = argv[++i];
		else if (!strcmp(argv[i], "--brief-all") && i + 1 < argc) {
			brief = argv[++i];
			brief_all = 1;
		}
		else if (!strcmp(argv[i], "--noise-scale") && i + 1 < argc)
			noise_scale = atof(argv[++i]);
		else if (!strcmp(argv[i], "--max-load") && i + 1 < argc)
			max_load = atof(argv[++i]);
		else {
			fprintf(stderr, "usage: nightly-sim [--data CSV] [--nights N] [--samples N] [--history N] [--seed S]\n"
					"                   [--within-factor F] [--within-factor-history F] [--between-factor F]\n"
					"                   [--floor PCT] [--alpha A] [--history-min N] [--no-small-history]\n"
					"                   [--no-history-pct PCT]\n"
					"                   [--noise-scale S] [--max-load L] [--brief LABEL | --brief-all LABEL]\n");
			return 2;
		}
	}
	if (load(path))
		return 2;
	if (!isnan(max_load))
		keep_quiet_runs(max_load);
	if (noise_scale != 1)
		scale_noise(noise_scale);
	struct compare_rule rule;
	compare_rule_default(&rule);
	/* Other rules than the default, to see what the default's constants
	 * buy (docs/compare.md). */
	if (!isnan(within_factor))
		rule.within_factor = within_factor;
	if (history_min >= 0)
		rule.history_min = (size_t)history_min;
	rule.small_history = small_history;
	if (!isnan(within_factor_history))
		rule.within_factor_history = within_factor_history;
	if (!isnan(between_factor))
		rule.between_factor = between_factor;
	if (!isnan(floor_pct))
		rule.floor_pct = floor_pct;
	if (!isnan(alpha))
		rule.alpha = alpha;
	if (!isnan(no_history_pct))
		rule.no_history_pct = no_history_pct;
	struct stats_rng g;
	stats_rng_seed(&g, seed);

	struct tally *per_metric = calloc(nmetrics, sizeof(*per_metric));
	struct oracle *oracles = calloc(nmetrics, sizeof(*oracles));
	struct tally total = { 0 };
	long night_alarm[RULE_COUNT] = { 0 }, nights_done = 0;
	double *noise_sum = calloc(nmetrics, sizeof(*noise_sum));
	long *noise_n = calloc(nmetrics, sizeof(*noise_n));
	size_t max_runs = 0;
	for (size_t m = 0; m < nmetrics; m++)
		if (metrics[m].nruns > max_runs)
			max_runs = metrics[m].nruns;
	size_t *idx = malloc((max_runs + 1) * sizeof(*idx));
	double *base = malloc((samples * 6 + 1) * sizeof(double)), *cand = malloc((samples + 1) * sizeof(double));
	double *medians = malloc((max_runs + 1) * sizeof(double));
	size_t *order = malloc((max_runs + 1) * sizeof(*order));

	for (long night = 0; night < nights; night++) {
		int any[RULE_COUNT] = { 0 };
		for (size_t m = 0; m < nmetrics; m++) {
			const struct metric *mt = &metrics[m];
			size_t nr = usable_runs(mt, samples, idx);
			if (nr < 3)
				continue;
			/* A random order of this metric's runs: [0] the baseline,
			 * [1] the candidate, then earlier nights. */
			for (size_t i = 0; i < nr; i++)
				order[i] = idx[i];
			for (size_t i = 0; i < nr; i++) {
				size_t j = i + stats_rng_below(&g, nr - i);
				size_t t = order[i];
				order[i] = order[j];
				order[j] = t;
			}
			const struct run_samples *A = &mt->runs[order[0]], *B = &mt->runs[order[1]];
			/* History: up to `history` earlier nights; the baseline is
			 * one of them, as it is for compare. */
			size_t nh = 0;
			medians[nh++] = stats_median(A->v, A->n);
			for (size_t i = 2; i < nr && nh < history; i++)
				medians[nh++] = stats_median(mt->runs[order[i]].v, mt->runs[order[i]].n);
			double hnoise = compare_history_noise(medians, nh, &rule);
			/* last-good:5: the baseline and four more earlier nights,
			 * pooled; fewer when the machine has fewer (--history). */
			size_t pooled = 0, pool_runs = history < 5 ? history : 5;
			for (size_t i = 0, used = 0; i < nr && used < pool_runs; i++) {
				if (i == 1)
					continue;
				draw(&g, &mt->runs[order[i]], samples, 1.0, base + pooled);
				pooled += samples;
				used++;
			}
			for (int s = 0; s < NSHIFTS; s++) {
				double factor = mt->higher ? 1 - shifts[s] / 100 : 1 + shifts[s] / 100;
				double b[64];
				size_t nb = samples < 64 ? samples : 64;
				draw(&g, A, nb, 1.0, b);
				draw(&g, B, nb, factor, cand);
				struct compare_result r;
				int alarm[RULE_COUNT];
				struct compare_input in = { .base = b, .nb = nb, .cand = cand, .nc = nb,
							    .higher_is_better = mt->higher, .base_runs = 1,
							    .history_noise_pct = hnoise, .history_runs = nh };
				compare_decide(&in, &rule, &r);
				alarm[RULE_KVMQUAL] = r.decision == COMPARE_REGRESSION;
				/* The pooled baseline's first block is the baseline run. */
				memcpy(base, b, nb * sizeof(double));
				in.base = base;
				in.nb = pooled;
				in.base_runs = pooled / samples;
				compare_decide(&in, &rule, &r);
				alarm[RULE_KVMQUAL_MEDIAN5] = r.decision == COMPARE_REGRESSION;
				if (s == 0 && !isnan(r.threshold_pct)) {
					noise_sum[m] += r.threshold_pct;
					noise_n[m]++;
				}
				double ma = mean(b, nb), mb = mean(cand, nb);
				double change = 100 * (mb - ma) / ma;
				alarm[RULE_TWO_PCT] = mt->higher ? change < -2 : change > 2;
				struct stats_mw mw;
				stats_mann_whitney(b, nb, cand, nb, STATS_TWO_SIDED, STATS_AUTO, &mw);
				struct stats_shift sh;
				stats_change_pct(b, nb, cand, nb, 0.95, &sh);
				alarm[RULE_P01_5PCT] = mw.p < 0.01 && (mt->higher ? sh.estimate < -5 : sh.estimate > 5);
				if (!isnan(sh.estimate))
					oracle_add(&oracles[m], ORACLE_ONE, s, nights,
						   mt->higher ? -sh.estimate : sh.estimate);
				stats_change_pct(base, pooled, cand, nb, 0.95, &sh);
				if (!isnan(sh.estimate))
					oracle_add(&oracles[m], ORACLE_MEDIAN5, s, nights,
						   mt->higher ? -sh.estimate : sh.estimate);
				for (int k = 0; k < RULE_COUNT; k++) {
					per_metric[m].alarms[k][s] += alarm[k];
					per_metric[m].trials[k][s]++;
					total.alarms[k][s] += alarm[k];
					total.trials[k][s]++;
					if (s == 0)
						any[k] |= alarm[k];
				}
			}
		}
		for (int k = 0; k < RULE_COUNT; k++)
			night_alarm[k] += any[k];
		nights_done++;
	}

	/* The bound, averaged over the metrics (each metric's own threshold). */
	double bound[ORACLE_COUNT][NSHIFTS] = { { 0 } };
	size_t bound_n[ORACLE_COUNT] = { 0 };
	for (size_t m = 0; m < nmetrics; m++)
		for (int w = 0; w < ORACLE_COUNT; w++) {
			double r5 = oracle_rate(&oracles[m], w, 1, NULL), r10 = oracle_rate(&oracles[m], w, 2, NULL);
			if (isnan(r5) || isnan(r10))
				continue;
			bound[w][1] += r5;
			bound[w][2] += r10;
			bound_n[w]++;
		}

	if (brief) {
		/* --brief: kvmqual's rule with one baseline run and with
		 * median-of:5; --brief-all: every rule and the bounds. */
		for (int k = 0; k < (brief_all ? RULE_COUNT : 2); k++)
			printf("| %s%s%s | %.2f %% | %.1f %% | %.1f %% | %.1f %% |\n", brief, k ? ": " : "",
			       k ? rule_names[k] : "", 100.0 * (double)total.alarms[k][0] / (double)total.trials[k][0],
			       100.0 * (double)night_alarm[k] / (double)nights_done,
			       100.0 * (double)total.alarms[k][1] / (double)total.trials[k][1],
			       100.0 * (double)total.alarms[k][2] / (double)total.trials[k][2]);
		for (int w = 0; brief_all && w < ORACLE_COUNT; w++)
			if (bound_n[w])
				printf("| %s: the bound, %s | 1 %% | - | %.1f %% | %.1f %% |\n", brief,
				       w ? "five runs pooled" : "one baseline run", 100 * bound[w][1] / (double)bound_n[w],
				       100 * bound[w][2] / (double)bound_n[w]);
		return 0;
	}
	printf("| rule | false alarms, 0 %% shift (per metric) | nights with any false alarm | detected, 5 %% "
	       "slower | detected, 10 %% slower |\n");
	printf("| --- | --- | --- | --- | --- |\n");
	for (int k = 0; k < RULE_COUNT; k++) {
		printf("| %s |", rule_names[k]);
		printf(" %.2f %% |", 100.0 * (double)total.alarms[k][0] / (double)total.trials[k][0]);
		printf(" %.1f %% |", 100.0 * (double)night_alarm[k] / (double)nights_done);
		for (int s = 1; s < NSHIFTS; s++)
			printf(" %.1f %% |", 100.0 * (double)total.alarms[k][s] / (double)total.trials[k][s]);
		printf("\n");
	}
	static const char *const oracle_names[ORACLE_COUNT] = { "one baseline run", "five runs pooled" };
	for (int w = 0; w < ORACLE_COUNT; w++)
		if (bound_n[w])
			printf("| the bound for any threshold on the change, %s (1 %% false alarms by construction) "
			       "| 1 %% | - | %.1f %% | %.1f %% |\n",
			       oracle_names[w], 100 * bound[w][1] / (double)bound_n[w],
			       100 * bound[w][2] / (double)bound_n[w]);
	printf("\nPer metric (kvmqual compare with its default last-good:5 / the 2 %% rule), with the threshold "
	       "compare derived "
	       "(mean over the nights) and the bound (the threshold that would have given 1 %% false alarms "
	       "on these very nights, five runs pooled, and what it detects):\n\n");
	printf("| metric | runs | run-to-run noise | threshold | false alarms | 5 %% detected | 10 %% detected "
	       "| bound: threshold, 5 %%, 10 %% |\n");
	printf("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
	for (size_t m = 0; m < nmetrics; m++) {
		const struct tally *t = &per_metric[m];
		if (!t->trials[0][0])
			continue;
		size_t nr = usable_runs(&metrics[m], samples, idx);
		for (size_t i = 0; i < nr; i++)
			medians[i] = stats_median(metrics[m].runs[idx[i]].v, metrics[m].runs[idx[i]].n);
		printf("| %s | %zu | %.1f %% | %.1f %% |", metrics[m].name, nr, stats_robust_cv_pct(medians, nr),
		       noise_n[m] ? noise_sum[m] / (double)noise_n[m] : NAN);
		for (int s = 0; s < NSHIFTS; s++)
			printf(" %.1f / %.1f %% |",
			       100.0 * (double)t->alarms[RULE_KVMQUAL_MEDIAN5][s] /
				       (double)t->trials[RULE_KVMQUAL_MEDIAN5][s],
			       100.0 * (double)t->alarms[RULE_TWO_PCT][s] / (double)t->trials[RULE_TWO_PCT][s]);
		double thr = NAN, r5 = oracle_rate(&oracles[m], ORACLE_MEDIAN5, 1, &thr),
		       r10 = oracle_rate(&oracles[m], ORACLE_MEDIAN5, 2, NULL);
		printf(" %.1f %%, %.1f %%, %.1f %% |\n", thr, 100 * r5, 100 * r10);
	}
	printf("\n%ld nights, %zu metrics, %zu samples a side, up to %zu earlier nights of history, seed %llu.\n",
	       nights_done, nmetrics, samples, history, seed);
	return 0;
}
