/* Statistics for comparing two sets of benchmark samples (kvmqual compare,
 * kvmqual run --until-stable, bench/nightly-sim): the Mann-Whitney U test
 * (exact null distribution for small samples, ties included; normal
 * approximation with tie and continuity correction otherwise), the
 * Hodges-Lehmann shift with its distribution-free confidence interval, and
 * robust summaries.  Benchmark samples are few (3 to 10 per run), skewed
 * and sometimes bimodal: nothing here assumes normal data.
 *
 * Pure functions of their arguments, no I/O.  docs/compare.md explains the
 * choices; tests/unit/test_stats.c checks them against published results. */
#ifndef KQ_STATS_H
#define KQ_STATS_H

#include <stddef.h>

/* Below this size (both samples) the exact null distribution is used. */
#define STATS_EXACT_MAX 50

enum stats_alternative {
	STATS_TWO_SIDED,
	STATS_GREATER,   /* x tends to be larger than y */
	STATS_LESS,      /* x tends to be smaller than y */
};

enum stats_method {
	STATS_AUTO,       /* exact when both samples have fewer than STATS_EXACT_MAX values */
	STATS_EXACT,      /* the permutation distribution of U given the ties (any size; slow when large) */
	STATS_ASYMPTOTIC, /* normal approximation, tie-corrected, with continuity correction */
};

struct stats_mw {
	double u;   /* U of x: pairs (x_i, y_j) with x_i > y_j, ties counting 1/2 (R's W) */
	double p;   /* for the alternative asked */
	double z;   /* the normal approximation's statistic (0 when every value is tied) */
	int exact;  /* p comes from the exact distribution */
	int ties;   /* values of the pooled sample that share their value with another */
};

/* The Mann-Whitney U test of x against y.  Returns 0, or -1 when a sample
 * is empty or holds a NaN. */
int stats_mann_whitney(const double *x, size_t nx, const double *y, size_t ny,
		       enum stats_alternative alt, enum stats_method method, struct stats_mw *r);

/* The smallest two-sided p the exact test can give with m and n values (one
 * sample entirely above the other): 2 / C(m+n, m), capped at 1.  A change
 * cannot be significant at level alpha with fewer samples than make this
 * <= alpha. */
double stats_mw_min_p(size_t m, size_t n);

/* P(U <= u) for samples of m and n values without ties, under the null. */
double stats_mw_cdf(size_t m, size_t n, double u);

/* The Hodges-Lehmann estimate of the shift from x to y (the median of every
 * y_j - x_i) and a confidence interval of level >= conf (achieved level in
 * level): order statistics of those differences picked with the exact
 * no-ties distribution of U for small samples, the normal approximation
 * otherwise.  When the samples are too small for the level, the interval is
 * the whole range of differences (level says what it covers).  The order
 * statistics are selected without forming the nx * ny differences:
 * O((nx + ny) log(nx ny)) expected time, O(nx + ny) memory.  Returns -1
 * when a sample is empty or holds a value that is not finite. */
struct stats_shift {
	double estimate, lo, hi, level;
};
int stats_hodges_lehmann(const double *x, size_t nx, const double *y, size_t ny, double conf,
			 struct stats_shift *r);

/* The same shift as a change in percent of x: computed on logarithms when
 * every value is positive (a ratio: 100 * (exp(shift) - 1)), else relative
 * to x's median.  NaN members when it cannot be expressed. */
int stats_change_pct(const double *x, size_t nx, const double *y, size_t ny, double conf,
		     struct stats_shift *r);

/* ---- paired samples: x_i and y_i measured together (an A/B round pair) ----
 *
 * The Wilcoxon signed-rank test of the differences d_i = y_i - x_i: zero
 * differences are dropped (Wilcoxon's convention), tied |d| get midranks,
 * and the null distribution (each rank's sign + or - with probability 1/2)
 * is exact for fewer than STATS_EXACT_MAX non-zero differences, ties
 * included; normal otherwise.  Interleaved rounds (A B B A ...) pair each
 * A sample with the B sample next to it in time, so that a drift of the
 * host hits both members of a pair alike. */
struct stats_sr {
	double w;    /* W+: the sum of the ranks of the positive differences */
	double p;    /* for the alternative asked (GREATER: y tends to exceed x) */
	int exact;
	size_t n;    /* non-zero differences used */
};
int stats_signed_rank(const double *x, const double *y, size_t n, enum stats_alternative alt,
		      enum stats_method method, struct stats_sr *r);

/* The smallest two-sided p the signed-rank test can give with n non-zero
 * differences: 2 / 2^n (every difference of one sign), capped at 1. */
double stats_sr_min_p(size_t n);

/* The Hodges-Lehmann estimate of the paired shift (the median of the Walsh
 * averages (d_i + d_j) / 2, i <= j) with its distribution-free interval of
 * level >= conf from the signed-rank distribution (normal for large n). */
int stats_paired_hodges_lehmann(const double *x, const double *y, size_t n, double conf, struct stats_shift *r);

/* The paired shift as a change in percent of x, on logarithms (every value
 * positive: the ratio y/x), else relative to x's median. */
int stats_paired_change_pct(const double *x, const double *y, size_t n, double conf, struct stats_shift *r);

/* A distribution-free confidence interval for the median of one sample:
 * the order statistics x(k) and x(n+1-k), k the largest with
 * 2 * P(Binomial(n, 1/2) < k) <= 1 - conf.  level is the achieved level.
 * Returns 0, or -1 when n is too small for conf (then lo and hi are the
 * sample's extremes and level what they cover) or holds a NaN. */
int stats_median_ci(const double *v, size_t n, double conf, double *lo, double *hi, double *level);

/* Median (NaN when n == 0); the inputs are not modified. */
double stats_median(const double *v, size_t n);
/* Median absolute deviation from the median, unscaled (NaN when n == 0). */
double stats_mad(const double *v, size_t n);
/* Robust coefficient of variation in percent: 1.4826 * MAD / |median| * 100
 * (the MAD scaled to estimate a normal sigma); NaN when n < 2 or the median
 * is 0. */
double stats_robust_cv_pct(const double *v, size_t n);

/* Standard normal distribution function and its inverse (0 < p < 1). */
double stats_normal_cdf(double z);
double stats_normal_quantile(double p);

/* Student's t distribution with df degrees of freedom (an integer >= 1):
 * P(T <= t), and its inverse (0 < p < 1).  Exact (the finite series of
 * the integer-df case, Abramowitz & Stegun 26.7.3 and 26.7.4), the inverse
 * by bisection to 1e-12.  NAN for df < 1. */
double stats_t_cdf(double t, long df);
double stats_t_quantile(double p, long df);

/* A small deterministic generator (splitmix64) for resampling with a fixed
 * seed: the same seed gives the same sequence on every machine. */
struct stats_rng {
	unsigned long long state;
};
void stats_rng_seed(struct stats_rng *g, unsigned long long seed);
unsigned long long stats_rng_next(struct stats_rng *g);
/* Uniform in [0, n). */
size_t stats_rng_below(struct stats_rng *g, size_t n);

#endif
