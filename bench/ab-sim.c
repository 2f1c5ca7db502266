/* kvmqual ab's rule on real interleaved samples (issue 18, "Performance").
 * Reads A/A sessions of `kvmqual ab` (bench/data/ab-noise.csv: one line per
 * sample, session,boot_every,isolated,arm,round,workload,metric,
 * higher_is_better,value,flags,load1), then plays many experiments: a window
 * of consecutive rounds of one session (its pairs are real pairs, taken
 * seconds apart), the next window as the re-run, and a slowdown of 0, 5 or
 * 10 % injected into arm B (0 %: every change decided is a false alarm).
 * Each is judged by ab_decide (ab/rule.c, the code that ships) under the
 * rule given; "the bound" is the best threshold on the change chosen
 * afterwards, knowing every experiment, at 1 % false alarms.  The nightly
 * rule (compare_decide) on the same samples takes sessions as nights.
 * Prints Markdown.  Deterministic: fixed seed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ab/ab.h"
#include "../compare/compare.h"
#include "../lib/stats.h"
#include "csv.h"

#define MAX_ROUNDS 128
#define MAX_METRICS 32

struct metric {
	char name[96];
	int higher;
};
static struct metric metrics[MAX_METRICS];
static size_t nmetrics;

struct series {
	double a[MAX_ROUNDS], b[MAX_ROUNDS]; /* NaN where missing */
	int rounds;
};

struct session {
	long id;
	int boot_every, isolated;
	struct series m[MAX_METRICS];
};
static struct session *sessions;
static size_t nsessions;

static size_t metric_index(const char *name, int higher)
{
	for (size_t i = 0; i < nmetrics; i++)
		if (!strcmp(metrics[i].name, name))
			return i;
	if (nmetrics == MAX_METRICS) {
		fprintf(stderr, "ab-sim: more than %d metrics\n", MAX_METRICS);
		exit(2);
	}
	snprintf(metrics[nmetrics].name, sizeof(metrics[nmetrics].name), "%s", name);
	metrics[nmetrics].higher = higher;
	return nmetrics++;
}

static struct session *session_for(long id, int boot_every, int isolated)
{
	for (size_t i = 0; i < nsessions; i++)
		if (sessions[i].id == id)
			return &sessions[i];
	sessions = realloc(sessions, (nsessions + 1) * sizeof(*sessions));
	struct session *s = &sessions[nsessions++];
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->boot_every = boot_every;
	s->isolated = isolated;
	for (size_t m = 0; m < MAX_METRICS; m++)
		for (int r = 0; r < MAX_ROUNDS; r++)
			s->m[m].a[r] = s->m[m].b[r] = NAN;
	return s;
}

static void load(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		perror(path);
		exit(2);
	}
	char line[4096];
	int first = 1;
	while (fgets(line, sizeof(line), f)) {
		if (first) {
			first = 0;
			continue;
		}
		line[strcspn(line, "\r\n")] = '\0';
		char *fld[12];
		if (csv_split(line, fld, 12) < 9)
			continue;
		int round = atoi(fld[4]);
		if (round < 0 || round >= MAX_ROUNDS)
			continue;
		char name[96];
		snprintf(name, sizeof(name), "%s.%s", fld[5], fld[6]);
		if (strstr(fld[9] ? fld[9] : "", "throttled"))
			continue;
		struct session *s = session_for(atol(fld[0]), atoi(fld[1]), atoi(fld[2]));
		size_t m = metric_index(name, atoi(fld[7]));
		struct series *x = &s->m[m];
		double v = atof(fld[8]);
		(atoi(fld[3]) == 0 ? x->a : x->b)[round] = v;
		if (round + 1 > x->rounds)
			x->rounds = round + 1;
	}
	fclose(f);
}

/* ---- which sessions ---- */

struct filter {
	int isolated;   /* -1 any */
	int boot_every; /* -1 any */
};

static int matches(const struct session *s, const struct filter *f)
{
	return (f->isolated < 0 || s->isolated == f->isolated) && (f->boot_every < 0 || s->boot_every == f->boot_every);
}

/* ---- experiments ---- */

static double inject(double v, int higher, double shift)
{
	return higher ? v / (1 + shift) : v * (1 + shift);
}

/* A window's pairs, B slowed by shift; swapped arms when swap. */
static size_t window(const struct series *x, int start, int rounds, int higher, double shift, int swap, double *ref,
		     double *arm)
{
	size_t n = 0;
	for (int r = start; r < start + rounds && r < x->rounds; r++) {
		double a = swap ? x->b[r] : x->a[r], b = swap ? x->a[r] : x->b[r];
		if (isnan(a) || isnan(b))
			continue;
		ref[n] = a;
		arm[n] = inject(b, higher, shift);
		n++;
	}
	return n;
}

struct counts {
	long trials[3], changed[3], worse[3];
	double *change0, *change5, *change10; /* first window's change, for the bound */
	size_t nchange[3], cap;
};

static const double shifts[3] = { 0, 0.05, 0.10 };

struct sim {
	struct ab_rule rule;
	int rounds;
	struct filter filter;
	long experiments;
	unsigned long long seed;
	struct counts c[MAX_METRICS];
	long any_trials, any_false; /* experiments with any metric changed at 0 % */
};

static void keep_change(struct counts *c, int k, double v)
{
	if (c->nchange[k] == c->cap || !c->change0) {
		size_t cap = c->cap ? c->cap * 2 : 1024;
		c->change0 = realloc(c->change0, cap * sizeof(double));
		c->change5 = realloc(c->change5, cap * sizeof(double));
		c->change10 = realloc(c->change10, cap * sizeof(double));
		c->cap = cap;
	}
	(k == 0 ? c->change0 : k == 1 ? c->change5 : c->change10)[c->nchange[k]++] = v;
}

static void simulate(struct sim *sm)
{
	struct stats_rng g;
	stats_rng_seed(&g, sm->seed);
	size_t *ok = calloc(nsessions + 1, sizeof(*ok)), nok = 0;
	int need = sm->rounds * (1 + sm->rule.reruns);
	for (size_t i = 0; i < nsessions; i++)
		if (matches(&sessions[i], &sm->filter))
			ok[nok++] = i;
	if (!nok) {
		free(ok);
		return;
	}
	double ref[MAX_ROUNDS], arm[MAX_ROUNDS];
	for (long e = 0; e < sm->experiments; e++) {
		const struct session *s = &sessions[ok[stats_rng_below(&g, nok)]];
		int swap = (int)stats_rng_below(&g, 2);
		int any = 0, judged = 0;
		unsigned long long start_pick = stats_rng_next(&g);
		for (size_t m = 0; m < nmetrics; m++) {
			const struct series *x = &s->m[m];
			if (x->rounds < need)
				continue;
			int start = (int)(start_pick % (unsigned long long)(x->rounds - need + 1));
			for (int k = 0; k < 3; k++) {
				size_t n = window(x, start, sm->rounds, metrics[m].higher, shifts[k], swap, ref, arm);
				if (n < (size_t)sm->rounds * 3 / 4)
					continue;
				struct ab_verdict v;
				ab_decide(ref, arm, n, metrics[m].higher, &sm->rule, &v);
				keep_change(&sm->c[m], k, v.change_pct);
				for (int rr = 1; rr <= sm->rule.reruns && (v.decision == AB_WORSE || v.decision == AB_BETTER); rr++) {
					/* The re-run: the next window alone, or every window so
					 * far pooled (ref and arm still hold the earlier ones). */
					size_t at = sm->rule.pool ? n : 0;
					size_t n2 = window(x, start + rr * sm->rounds, sm->rounds, metrics[m].higher, shifts[k], swap,
							   ref + at, arm + at);
					if (sm->rule.pool)
						n += n2;
					struct ab_verdict again;
					ab_decide(ref, arm, sm->rule.pool ? n : n2, metrics[m].higher, &sm->rule, &again);
					if (again.decision != v.decision)
						v.decision = AB_SAME;
				}
				sm->c[m].trials[k]++;
				int changed = v.decision == AB_WORSE || v.decision == AB_BETTER;
				sm->c[m].changed[k] += changed;
				sm->c[m].worse[k] += v.decision == AB_WORSE;
				if (k == 0) {
					any |= changed;
					judged = 1;
				}
			}
		}
		if (judged) {
			sm->any_trials++;
			sm->any_false += any;
		}
	}
	free(ok);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The bound: the smallest threshold on |change| with at most 1 % of the
 * 0 % experiments beyond it, and the share of slowed experiments whose
 * change is worse than it. */
static void bound(const struct counts *c, int higher, double *thr, double *det5, double *det10)
{
	*thr = *det5 = *det10 = NAN;
	size_t n = c->nchange[0];
	if (n < 100)
		return;
	double *absv = malloc(n * sizeof(double));
	for (size_t i = 0; i < n; i++)
		absv[i] = fabs(c->change0[i]);
	qsort(absv, n, sizeof(double), cmp_double);
	*thr = absv[(size_t)ceil(0.99 * (double)n) - 1];
	free(absv);
	size_t hit5 = 0, hit10 = 0;
	for (size_t i = 0; i < c->nchange[1]; i++)
		hit5 += higher ? c->change5[i] < -*thr : c->change5[i] > *thr;
	for (size_t i = 0; i < c->nchange[2]; i++)
		hit10 += higher ? c->change10[i] < -*thr : c->change10[i] > *thr;
	*det5 = c->nchange[1] ? 100.0 * (double)hit5 / (double)c->nchange[1] : NAN;
	*det10 = c->nchange[2] ? 100.0 * (double)hit10 / (double)c->nchange[2] : NAN;
}

static double pct(long a, long b)
{
	return b ? 100.0 * (double)a / (double)b : NAN;
}

static void free_sim(struct sim *sm)
{
	for (size_t m = 0; m < MAX_METRICS; m++) {
		free(sm->c[m].change0);
		free(sm->c[m].change5);
		free(sm->c[m].change10);
	}
}

/* One row: the rule's false alarms and detections over the metrics of
 * `only` (a substring of the name; NULL all). */
static void brief(const char *label, struct sim *sm, const char *only)
{
	long t[3] = { 0 }, ch0 = 0, w[3] = { 0 };
	double b5 = 0, b10 = 0;
	int nb = 0;
	for (size_t m = 0; m < nmetrics; m++) {
		if (only && !strstr(metrics[m].name, only))
			continue;
		for (int k = 0; k < 3; k++) {
			t[k] += sm->c[m].trials[k];
			w[k] += sm->c[m].worse[k];
		}
		ch0 += sm->c[m].changed[0];
		double thr, d5, d10;
		bound(&sm->c[m], metrics[m].higher, &thr, &d5, &d10);
		if (!isnan(d5)) {
			b5 += d5;
			b10 += d10;
			nb++;
		}
	}
	char bnd[64] = "-";
	if (nb)
		snprintf(bnd, sizeof(bnd), "%.1f %% / %.1f %%", b5 / nb, b10 / nb);
	printf("| %s | %.2f %% | %.1f %% | %.1f %% | %.1f %% | %s |\n", label, pct(ch0, t[0]),
	       pct(sm->any_false, sm->any_trials), pct(w[1], t[1]), pct(w[2], t[2]), bnd);
}

static void per_metric(struct sim *sm)
{
	printf("| metric | experiments | false alarms | 5 %% detected | 10 %% detected | bound: threshold, 5 %%, 10 %% |\n");
	printf("| --- | --- | --- | --- | --- | --- |\n");
	for (size_t m = 0; m < nmetrics; m++) {
		const struct counts *c = &sm->c[m];
		if (!c->trials[0])
			continue;
		double thr, d5, d10;
		bound(c, metrics[m].higher, &thr, &d5, &d10);
		printf("| %s | %ld | %.2f %% | %.1f %% | %.1f %% | %.1f %%, %.1f %%, %.1f %% |\n", metrics[m].name, c->trials[0],
		       pct(c->changed[0], c->trials[0]), pct(c->worse[1], c->trials[1]), pct(c->worse[2], c->trials[2]), thr,
		       d5, d10);
	}
}

/* ---- the host's noise within a session ---- */

static double robust_sd_pct(const double *v, size_t n)
{
	return n < 3 ? NAN : 1.4826 * stats_mad(v, n) * 100;
}

static void noise_table(const struct filter *f)
{
	printf("| metric | sessions | one sample (robust CV) | a pair's difference (robust SD) | drift in a session "
	       "(first 10 rounds against last 10, median / largest) | correlation within a pair |\n");
	printf("| --- | --- | --- | --- | --- | --- |\n");
	for (size_t m = 0; m < nmetrics; m++) {
		double cv[256], sd[256], drift[256], corr[256];
		size_t n = 0;
		for (size_t i = 0; i < nsessions && n < 256; i++) {
			const struct session *s = &sessions[i];
			if (!matches(s, f) || s->m[m].rounds < 20)
				continue;
			const struct series *x = &s->m[m];
			double la[MAX_ROUNDS], d[MAX_ROUNDS], lb[MAX_ROUNDS];
			size_t k = 0;
			for (int r = 0; r < x->rounds; r++)
				if (!isnan(x->a[r]) && !isnan(x->b[r]) && x->a[r] > 0 && x->b[r] > 0) {
					la[k] = log(x->a[r]);
					lb[k] = log(x->b[r]);
					d[k] = lb[k] - la[k];
					k++;
				}
			if (k < 20)
				continue;
			cv[n] = robust_sd_pct(la, k);
			sd[n] = robust_sd_pct(d, k);
			double first = stats_median(la, 10), last = stats_median(la + k - 10, 10);
			drift[n] = 100 * fabs(expm1(last - first));
			double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
			for (size_t j = 0; j < k; j++) {
				ma += la[j];
				mb += lb[j];
			}
			ma /= (double)k;
			mb /= (double)k;
			for (size_t j = 0; j < k; j++) {
				sab += (la[j] - ma) * (lb[j] - mb);
				saa += (la[j] - ma) * (la[j] - ma);
				sbb += (lb[j] - mb) * (lb[j] - mb);
			}
			corr[n] = saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : NAN;
			n++;
		}
		if (!n)
			continue;
		double top = 0;
		for (size_t i = 0; i < n; i++)
			top = fmax(top, drift[i]);
		printf("| %s | %zu | %.1f %% | %.1f %% | %.1f %% / %.1f %% | %.2f |\n", metrics[m].name, n,
		       stats_median(cv, n), stats_median(sd, n), stats_median(drift, n), top, stats_median(corr, n));
	}
}

/* ---- the nightly rule on the same samples: sessions as nights ---- */

static void nightly(const struct filter *f, long nights_wanted, unsigned long long seed, const char *label)
{
	struct compare_rule rule;
	compare_rule_default(&rule);
	struct stats_rng g;
	stats_rng_seed(&g, seed);
	long t[3] = { 0 }, w[3] = { 0 }, ch0 = 0;
	size_t *ok = calloc(nsessions + 1, sizeof(*ok)), nok = 0;
	for (size_t i = 0; i < nsessions; i++)
		if (matches(&sessions[i], f))
			ok[nok++] = i;
	for (long e = 0; e < nights_wanted && nok >= 3; e++) {
		size_t bi = ok[stats_rng_below(&g, nok)], ci;
		do
			ci = ok[stats_rng_below(&g, nok)];
		while (ci == bi);
		for (size_t m = 0; m < nmetrics; m++) {
			/* A night: 5 samples of arm A, as make nightly takes them. */
			double base[5], cand[5], hist[256];
			size_t nb = 0, nc = 0, nh = 0;
			const struct series *xb = &sessions[bi].m[m], *xc = &sessions[ci].m[m];
			for (int r = 0; r < xb->rounds && nb < 5; r++)
				if (!isnan(xb->a[r]))
					base[nb++] = xb->a[r];
			for (int r = 0; r < xc->rounds && nc < 5; r++)
				if (!isnan(xc->a[r]))
					cand[nc++] = xc->a[r];
			if (nb < 5 || nc < 5)
				continue;
			/* The other nights (all but the candidate) are the history. */
			for (size_t k = 0; k < nok && nh < 20; k++) {
				if (ok[k] == ci)
					continue;
				const struct series *xh = &sessions[ok[k]].m[m];
				double v[5];
				size_t nv = 0;
				for (int r = 0; r < xh->rounds && nv < 5; r++)
					if (!isnan(xh->a[r]))
						v[nv++] = xh->a[r];
				if (nv == 5)
					hist[nh++] = stats_median(v, 5);
			}
			for (int k = 0; k < 3; k++) {
				double shifted[5];
				for (int i = 0; i < 5; i++)
					shifted[i] = inject(cand[i], metrics[m].higher, shifts[k]);
				struct compare_input in = { .base = base, .nb = 5, .cand = shifted, .nc = 5,
							    .higher_is_better = metrics[m].higher, .base_runs = 1,
							    .history_noise_pct = compare_history_noise(hist, nh, &rule),
							    .history_runs = nh };
				struct compare_result r;
				compare_decide(&in, &rule, &r);
				t[k]++;
				w[k] += r.decision == COMPARE_REGRESSION;
				if (k == 0)
					ch0 += r.decision == COMPARE_REGRESSION || r.decision == COMPARE_IMPROVEMENT;
			}
		}
	}
	free(ok);
	printf("| %s | %.2f %% | - | %.1f %% | %.1f %% | - |\n", label, pct(ch0, t[0]), pct(w[1], t[1]), pct(w[2], t[2]));
}

static void usage(void)
{
	fprintf(stderr,
		"usage: ab-sim --data FILE [--experiments N] [--rounds R] [--threshold PCT] [--reruns N]\n"
		"              [--unpaired] [--pool|--confirm] [--alpha A] [--isolated 0|1] [--boot-every N] [--seed S]\n"
		"              [--only SUBSTRING] (--brief LABEL | --metrics | --noise | --nightly LABEL)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *data = NULL, *brief_label = NULL, *nightly_label = NULL, *only = NULL;
	int per = 0, noise = 0;
	struct sim *sm = calloc(1, sizeof(*sm));
	ab_rule_default(&sm->rule);
	sm->rounds = 10;
	sm->experiments = 4000;
	sm->seed = 20261206;
	sm->filter = (struct filter){ 1, -1 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--data") && v)
			data = argv[++i];
		else if (!strcmp(a, "--experiments") && v)
			sm->experiments = atol(argv[++i]);
		else if (!strcmp(a, "--rounds") && v)
			sm->rounds = atoi(argv[++i]);
		else if (!strcmp(a, "--threshold") && v)
			sm->rule.threshold_pct = atof(argv[++i]);
		else if (!strcmp(a, "--reruns") && v)
			sm->rule.reruns = atoi(argv[++i]);
		else if (!strcmp(a, "--alpha") && v)
			sm->rule.alpha = atof(argv[++i]);
		else if (!strcmp(a, "--unpaired"))
			sm->rule.paired = 0;
		else if (!strcmp(a, "--pool"))
			sm->rule.pool = 1;
		else if (!strcmp(a, "--confirm"))
			sm->rule.pool = 0;
		else if (!strcmp(a, "--isolated") && v)
			sm->filter.isolated = atoi(argv[++i]);
		else if (!strcmp(a, "--boot-every") && v)
			sm->filter.boot_every = atoi(argv[++i]);
		else if (!strcmp(a, "--seed") && v)
			sm->seed = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(a, "--only") && v)
			only = argv[++i];
		else if (!strcmp(a, "--brief") && v)
			brief_label = argv[++i];
		else if (!strcmp(a, "--nightly") && v)
			nightly_label = argv[++i];
		else if (!strcmp(a, "--metrics"))
			per = 1;
		else if (!strcmp(a, "--noise"))
			noise = 1;
		else
			usage();
	}
	if (!data || sm->rounds < 2 || sm->rounds > MAX_ROUNDS / 2)
		usage();
	load(data);
	if (noise) {
		noise_table(&sm->filter);
	} else if (nightly_label) {
		nightly(&sm->filter, sm->experiments, sm->seed, nightly_label);
	} else {
		simulate(sm);
		if (per)
			per_metric(sm);
		if (brief_label)
			brief(brief_label, sm, only);
	}
	free_sim(sm);
	free(sm);
	return 0;
}
