/* The statistics and the decision of kvmqual compare on arbitrary
 * numbers: the samples come from a database anyone can write (NaN,
 * infinities, zeros, negatives, huge and tiny values, ties, empty sides).
 * Input: text, line 1 the baseline's values, line 2 the candidate's, line 3
 * the earlier runs' medians, the first byte of line 4 the direction; the
 * whole input is also XML-escaped. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../compare/compare.h"
#include "../../lib/stats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* At most this many values a side: compare's own inputs are a few hundred
 * samples; the pairwise differences grow as the product. */
#define MAX_VALUES 600

static size_t parse_line(const char **p, const char *end, double *out)
{
	size_t n = 0;
	const char *s = *p;
	while (s < end && *s != '\n') {
		char buf[64];
		size_t len = 0;
		while (s < end && *s != '\n' && *s != ' ' && len < sizeof(buf) - 1)
			buf[len++] = *s++;
		buf[len] = '\0';
		while (s < end && *s == ' ')
			s++;
		if (len && n < MAX_VALUES) {
			char *e;
			double v = strtod(buf, &e);
			if (e != buf)
				out[n++] = v;
		}
		if (!len && s < end && *s != '\n')
			s++;
	}
	*p = s < end ? s + 1 : s;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	static double base[MAX_VALUES], cand[MAX_VALUES], hist[MAX_VALUES];
	size_t nb = parse_line(&p, end, base);
	size_t nc = parse_line(&p, end, cand);
	size_t nh = parse_line(&p, end, hist);
	int higher = p < end ? (*p & 1) : 1;

	struct compare_rule rule;
	compare_rule_default(&rule);
	struct compare_input in = { .base = base, .nb = nb, .cand = cand, .nc = nc, .higher_is_better = higher,
				    .base_runs = 1, .history_noise_pct = compare_history_noise(hist, nh, &rule),
				    .history_runs = nh };
	struct compare_result r;
	compare_decide(&in, &rule, &r);
	if (r.decision > COMPARE_MISSING)
		abort();
	rule.threshold_pct = 2;
	compare_decide(&in, &rule, &r);

	struct stats_mw mw;
	stats_mann_whitney(base, nb, cand, nc, STATS_TWO_SIDED, STATS_ASYMPTOTIC, &mw);
	if (nb < 30 && nc < 30 && stats_mann_whitney(base, nb, cand, nc, STATS_LESS, STATS_EXACT, &mw) == 0 &&
	    !(mw.p >= 0 && mw.p <= 1))
		abort();
	/* The shift's order statistics are selected without forming the
	 * differences (lib/stats.c): they must be what sorting them gives. */
	struct stats_shift sh;
	if (nb * nc <= 2500 && stats_hodges_lehmann(base, nb, cand, nc, 0.95, &sh) == 0) {
		size_t mn = nb * nc;
		double *d = malloc(mn * sizeof(*d));
		for (size_t i = 0; i < nb; i++)
			for (size_t j = 0; j < nc; j++)
				d[i * nc + j] = cand[j] - base[i];
		qsort(d, mn, sizeof(*d), cmp_double);
		double median = mn % 2 ? d[mn / 2] : (d[mn / 2 - 1] + d[mn / 2]) / 2;
		int lo_found = 0, hi_found = 0;
		for (size_t k = 0; k < mn; k++) {
			lo_found |= d[k] == sh.lo;
			hi_found |= d[k] == sh.hi;
		}
		/* NaN == NaN is false: a median of infinities of both signs. */
		if (!(sh.estimate == median || (isnan(sh.estimate) && isnan(median))) || !lo_found || !hi_found ||
		    sh.lo > sh.hi)
			abort();
		free(d);
	}
	double lo, hi, level;
	stats_median_ci(base, nb, 0.95, &lo, &hi, &level);
	stats_robust_cv_pct(cand, nc);

	FILE *devnull = fopen("/dev/null", "w");
	if (devnull) {
		char *text = malloc(size + 1);
		memcpy(text, data, size);
		text[size] = '\0';
		compare_xml_escape(devnull, text);
		free(text);
		fclose(devnull);
	}
	return 0;
}
