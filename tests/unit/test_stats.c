/* lib/stats.c against published results: each data set names where its
 * numbers were printed.  Then the edges compare meets in practice: ties,
 * samples with no spread, a single sample, empty input. */
#include <math.h>

#include <stdlib.h>

#include "../../lib/stats.h"
#include "../../lib/util.h"
#include "test.h"

#define CHECK_NEAR(a, b, tol)                                                               \
	do {                                                                                \
		double a_ = (a), b_ = (b);                                                  \
		if (!(fabs(a_ - b_) <= (tol)))                                              \
			test_fail(__FILE__, __LINE__, "%s == %.10g, expected %.10g (+-%g)", #a, a_, b_, \
				  (double)(tol));                                           \
	} while (0)

/* Hollander & Wolfe (1999), Nonparametric Statistical Methods, Table 4.1:
 * permeability of the human chorioamnion, at term (x) and at 12-26 weeks
 * (y).  Also the example of R's ?wilcox.test.  Published results: W = 35,
 * one-sided ("greater") exact p = 0.1272; R coin's wilcox_test(distribution
 * = "exact", conf.int = TRUE) prints the two-sided exact p = 0.2544 and, for
 * the difference y - x, the estimate -0.305 with 95 % interval -0.76 to
 * 0.15 (quoted in the r-help thread "Wilcoxon Mann-Whitney Rank Sum Test",
 * r.789695.n4.nabble.com/Wilcoxon-Mann-Whitney-Rank-Sum-Test-td790135.html). */
static const double hw_x[] = { 0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46 };
static const double hw_y[] = { 1.15, 0.88, 0.90, 0.74, 1.21 };

TEST(stats_mw_hollander_wolfe_exact)
{
	struct stats_mw r;
	CHECK_INT(stats_mann_whitney(hw_x, 10, hw_y, 5, STATS_GREATER, STATS_AUTO, &r), 0);
	CHECK_NEAR(r.u, 35, 0);
	CHECK(r.exact);
	CHECK_INT(r.ties, 0);
	CHECK_NEAR(r.p, 0.1272, 0.00005);
	CHECK_INT(stats_mann_whitney(hw_x, 10, hw_y, 5, STATS_TWO_SIDED, STATS_AUTO, &r), 0);
	CHECK_NEAR(r.p, 0.2544, 0.00005);
	/* The other way round: U of y is mn - 35 = 15, the same two-sided p. */
	CHECK_INT(stats_mann_whitney(hw_y, 5, hw_x, 10, STATS_TWO_SIDED, STATS_AUTO, &r), 0);
	CHECK_NEAR(r.u, 15, 0);
	CHECK_NEAR(r.p, 0.2544, 0.00005);
	CHECK_INT(stats_mann_whitney(hw_y, 5, hw_x, 10, STATS_LESS, STATS_AUTO, &r), 0);
	CHECK_NEAR(r.p, 0.1272, 0.00005);
}

TEST(stats_hodges_lehmann_hollander_wolfe)
{
	struct stats_shift s;
	CHECK_INT(stats_hodges_lehmann(hw_x, 10, hw_y, 5, 0.95, &s), 0);
	CHECK_NEAR(s.estimate, -0.305, 1e-9);
	CHECK_NEAR(s.lo, -0.76, 1e-9);
	CHECK_NEAR(s.hi, 0.15, 1e-9);
	CHECK(s.level >= 0.95 && s.level < 0.97);
}

/* NAG Library, g08amc (nag_mann_whitney) example program: two groups of 16
 * and 23 with many ties.  Published results (g08amce.r): U = 86, normal
 * statistic -2.8039 (tie-corrected), approximate tail probability 0.0025,
 * exact tail probability, ties accounted for, 0.0020 (lower tail). */
static const double nag_x[] = { 13, 6, 12, 7, 12, 7, 10, 7, 10, 7, 16, 7, 10, 8, 9, 8 };
static const double nag_y[] = { 17, 6, 10, 8, 15, 8, 15, 10, 15, 10, 14, 10, 14, 11, 14, 11,
				13, 12, 13, 12, 13, 12, 12 };

TEST(stats_mw_nag_ties)
{
	struct stats_mw r;
	CHECK_INT(stats_mann_whitney(nag_x, 16, nag_y, 23, STATS_LESS, STATS_EXACT, &r), 0);
	CHECK_NEAR(r.u, 86, 0);
	CHECK(r.ties > 0);
	CHECK(r.exact);
	CHECK_NEAR(r.p, 0.0020, 0.00005);
	/* NAG's normal statistic: (U - mn/2 + 1/2) / sigma, continuity
	 * corrected, sigma tie-corrected. */
	CHECK_NEAR(r.z, -2.8039, 0.00005);
	CHECK_INT(stats_mann_whitney(nag_x, 16, nag_y, 23, STATS_LESS, STATS_ASYMPTOTIC, &r), 0);
	CHECK(!r.exact);
	CHECK_NEAR(r.p, 0.0025, 0.00006);
}

/* R's wilcox.test with the normal approximation (ties, continuity
 * correction), as printed on endmemo.com/r/wilcoxon.php:
 *   x = 1 5 9 24 56 21 3 7 21 4, y = 12 15 5 9 9 14 56 22 3 7 32 5:
 *     W = 51.5, p-value = 0.5966
 *   the same x against y = 1233 4356 987 39999 1111 200000:
 *     W = 0, p-value = 0.001364 */
TEST(stats_mw_r_normal_approximation)
{
	const double x[] = { 1, 5, 9, 24, 56, 21, 3, 7, 21, 4 };
	const double y[] = { 12, 15, 5, 9, 9, 14, 56, 22, 3, 7, 32, 5 };
	const double y2[] = { 1233, 4356, 987, 39999, 1111, 200000 };
	struct stats_mw r;
	CHECK_INT(stats_mann_whitney(x, 10, y, 12, STATS_TWO_SIDED, STATS_ASYMPTOTIC, &r), 0);
	CHECK_NEAR(r.u, 51.5, 0);
	CHECK_NEAR(r.p, 0.5966, 0.00005);
	CHECK_INT(stats_mann_whitney(x, 10, y2, 6, STATS_TWO_SIDED, STATS_ASYMPTOTIC, &r), 0);
	CHECK_NEAR(r.u, 0, 0);
	CHECK_NEAR(r.p, 0.001364, 0.0000005);
}

/* ClickHouse's mannWhitneyUTest documentation (normal approximation with
 * continuity correction): samples 10 11 12 and 1 2 3, alternative
 * 'greater', result (9, 0.04042779918503192). */
TEST(stats_mw_clickhouse_greater)
{
	const double x[] = { 10, 11, 12 }, y[] = { 1, 2, 3 };
	struct stats_mw r;
	CHECK_INT(stats_mann_whitney(x, 3, y, 3, STATS_GREATER, STATS_ASYMPTOTIC, &r), 0);
	CHECK_NEAR(r.u, 9, 0);
	CHECK_NEAR(r.p, 0.04042779918503192, 1e-12);
	/* Exactly: one arrangement in C(6,3) = 20. */
	CHECK_INT(stats_mann_whitney(x, 3, y, 3, STATS_GREATER, STATS_AUTO, &r), 0);
	CHECK_NEAR(r.p, 1.0 / 20, 1e-12);
}

/* The exact distribution against counts done by hand: for m = n = 2 the
 * six arrangements give U = 0, 1, 2, 2, 3, 4. */
TEST(stats_mw_cdf_small)
{
	CHECK_NEAR(stats_mw_cdf(2, 2, 0), 1.0 / 6, 1e-12);
	CHECK_NEAR(stats_mw_cdf(2, 2, 1), 2.0 / 6, 1e-12);
	CHECK_NEAR(stats_mw_cdf(2, 2, 2), 4.0 / 6, 1e-12);
	CHECK_NEAR(stats_mw_cdf(2, 2, 3), 5.0 / 6, 1e-12);
	CHECK_NEAR(stats_mw_cdf(2, 2, 4), 1, 1e-12);
	CHECK_NEAR(stats_mw_cdf(2, 2, -1), 0, 0);
	/* Symmetry at a larger size, and the total. */
	for (int u = 0; u < 400; u += 37)
		CHECK_NEAR(stats_mw_cdf(20, 20, u), 1 - stats_mw_cdf(20, 20, 399 - u), 1e-12);
	CHECK_NEAR(stats_mw_min_p(5, 5), 2.0 / 252, 1e-15);
	CHECK_NEAR(stats_mw_min_p(3, 3), 0.1, 1e-15);
	CHECK_NEAR(stats_mw_min_p(1, 1), 1, 0);
}

/* Ties in a small sample: the exact distribution given the ties, counted
 * by hand.  x = 1 2 2, y = 2 3 3: midranks 1 | 3 3 3 | 5.5 5.5, so W = 7 and
 * U = 1.  Choosing which 3 of the 6 values are x's: W = 7 in 3 ways, 9 in 1,
 * 9.5 in 6, 11.5 in 6, 12 in 1, 14 in 3 (20 in all): P(W <= 7) = 3/20. */
TEST(stats_mw_exact_with_ties)
{
	const double x[] = { 1, 2, 2 }, y[] = { 2, 3, 3 };
	struct stats_mw r;
	CHECK_INT(stats_mann_whitney(x, 3, y, 3, STATS_LESS, STATS_AUTO, &r), 0);
	CHECK_NEAR(r.u, 1, 0);
	CHECK_INT(r.ties, 5);
	CHECK(r.exact);
	CHECK_NEAR(r.p, 3.0 / 20, 1e-12);
	CHECK_INT(stats_mann_whitney(x, 3, y, 3, STATS_GREATER, STATS_AUTO, &r), 0);
	CHECK_NEAR(r.p, 1.0, 1e-12);
	CHECK_INT(stats_mann_whitney(x, 3, y, 3, STATS_TWO_SIDED, STATS_AUTO, &r), 0);
	CHECK_NEAR(r.p, 6.0 / 20, 1e-12);
}

TEST(stats_zero_variance)
{
	/* Both samples the same constant: no evidence of anything. */
	const double same[] = { 7, 7, 7, 7, 7 };
	struct stats_mw r;
	CHECK_INT(stats_mann_whitney(same, 5, same, 5, STATS_TWO_SIDED, STATS_AUTO, &r), 0);
	CHECK_NEAR(r.p, 1, 1e-12);
	CHECK_INT(stats_mann_whitney(same, 5, same, 5, STATS_TWO_SIDED, STATS_ASYMPTOTIC, &r), 0);
	CHECK_NEAR(r.p, 1, 0);
	CHECK_NEAR(r.z, 0, 0);
	/* Two different constants: completely separated, the smallest p. */
	const double other[] = { 8, 8, 8, 8, 8 };
	CHECK_INT(stats_mann_whitney(same, 5, other, 5, STATS_TWO_SIDED, STATS_AUTO, &r), 0);
	CHECK_NEAR(r.p, 2.0 / 252, 1e-12);
	struct stats_shift s;
	CHECK_INT(stats_change_pct(same, 5, other, 5, 0.95, &s), 0);
	CHECK_NEAR(s.estimate, 100.0 / 7, 1e-9);
	CHECK_NEAR(s.lo, 100.0 / 7, 1e-9);
	CHECK_NEAR(s.hi, 100.0 / 7, 1e-9);
	CHECK(isnan(stats_robust_cv_pct(same, 1)));
	CHECK_NEAR(stats_robust_cv_pct(same, 5), 0, 0);
}

TEST(stats_single_and_empty_samples)
{
	const double a[] = { 10 }, b[] = { 12 };
	struct stats_mw r;
	CHECK_INT(stats_mann_whitney(a, 1, b, 1, STATS_TWO_SIDED, STATS_AUTO, &r), 0);
	CHECK_NEAR(r.p, 1, 1e-12);
	struct stats_shift s;
	CHECK_INT(stats_change_pct(a, 1, b, 1, 0.95, &s), 0);
	CHECK_NEAR(s.estimate, 20, 1e-9);
	/* One difference: the interval is that point, covering what it can. */
	CHECK_NEAR(s.lo, 20, 1e-9);
	CHECK_NEAR(s.hi, 20, 1e-9);
	CHECK(s.level < 0.95);
	CHECK_INT(stats_mann_whitney(a, 0, b, 1, STATS_TWO_SIDED, STATS_AUTO, &r), -1);
	CHECK_INT(stats_mann_whitney(a, 1, b, 0, STATS_TWO_SIDED, STATS_AUTO, &r), -1);
	CHECK_INT(stats_hodges_lehmann(a, 0, b, 1, 0.95, &s), -1);
	CHECK(isnan(s.estimate));
	CHECK_INT(stats_change_pct(a, 1, b, 0, 0.95, &s), -1);
	const double bad[] = { 1, NAN };
	CHECK_INT(stats_mann_whitney(bad, 2, b, 1, STATS_TWO_SIDED, STATS_AUTO, &r), -1);
	CHECK(isnan(stats_median(a, 0)));
	CHECK(isnan(stats_mad(a, 0)));
}

TEST(stats_change_pct_ratio)
{
	/* y is exactly x * 0.9: a -10 % change, whatever the spread. */
	const double x[] = { 100, 104, 98, 101, 97 };
	double y[5];
	for (int i = 0; i < 5; i++)
		y[i] = x[i] * 0.9;
	struct stats_shift s;
	CHECK_INT(stats_change_pct(x, 5, y, 5, 0.95, &s), 0);
	CHECK_NEAR(s.estimate, -10, 1e-9);
	CHECK(s.lo <= -10 && s.hi >= -10);
	/* Values at or below zero: relative to x's median instead. */
	const double z[] = { -1, 0, 1 }, w[] = { 1, 2, 3 };
	CHECK_INT(stats_change_pct(w, 3, z, 3, 0.95, &s), 0);
	CHECK_NEAR(s.estimate, -100, 1e-9);
	CHECK_INT(stats_change_pct(z, 3, w, 3, 0.95, &s), -1); /* median 0 */
}

TEST(stats_large_samples_use_the_normal_approximation)
{
	double x[60], y[60];
	for (int i = 0; i < 60; i++) {
		x[i] = i;
		y[i] = i + 30.5;
	}
	struct stats_mw r;
	CHECK_INT(stats_mann_whitney(x, 60, y, 60, STATS_TWO_SIDED, STATS_AUTO, &r), 0);
	CHECK(!r.exact);
	/* U of x: pairs x > y; y_j = j + 30.5, so x_i > y_j when j < i - 30. */
	CHECK_NEAR(r.u, 435, 0);
	CHECK(r.p < 1e-6);
	struct stats_shift s;
	CHECK_INT(stats_hodges_lehmann(x, 60, y, 60, 0.95, &s), 0);
	CHECK_NEAR(s.estimate, 30.5, 1e-9);
	CHECK(s.lo < 30.5 && s.hi > 30.5);
	CHECK_NEAR(s.level, 0.95, 0);
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The estimate and the interval's ends are order statistics of every
 * y_j - x_i: selected without forming them (lib/stats.c), they must be the
 * very values that sorting all of them gives, ties and sizes of all kinds
 * included. */
TEST(stats_hodges_lehmann_selects_what_sorting_gives)
{
	struct stats_rng g;
	stats_rng_seed(&g, 13);
	static const size_t sizes[][2] = { { 1, 1 }, { 1, 7 }, { 7, 1 }, { 2, 2 }, { 5, 9 }, { 49, 49 }, { 50, 3 },
					   { 60, 61 }, { 120, 80 }, { 3, 200 } };
	for (size_t t = 0; t < KQ_ARRAY_SIZE(sizes); t++)
		for (int ties = 0; ties < 2; ties++) {
			size_t nx = sizes[t][0], ny = sizes[t][1], mn = nx * ny;
			double *x = kq_xmalloc(nx * sizeof(*x)), *y = kq_xmalloc(ny * sizeof(*y));
			double *d = kq_xmalloc(mn * sizeof(*d));
			/* With ties: values on a coarse grid, so that many
			 * differences are equal. */
			for (size_t i = 0; i < nx; i++)
				x[i] = ties ? (double)stats_rng_below(&g, 5) : (double)stats_rng_next(&g) / 1e18;
			for (size_t j = 0; j < ny; j++)
				y[j] = ties ? (double)stats_rng_below(&g, 7) : (double)stats_rng_next(&g) / 1.7e18 + 0.3;
			for (size_t i = 0; i < nx; i++)
				for (size_t j = 0; j < ny; j++)
					d[i * ny + j] = y[j] - x[i];
			qsort(d, mn, sizeof(*d), cmp_dbl);
			struct stats_shift s;
			CHECK_INT(stats_hodges_lehmann(x, nx, y, ny, 0.95, &s), 0);
			double median = mn % 2 ? d[mn / 2] : (d[mn / 2 - 1] + d[mn / 2]) / 2;
			if (s.estimate != median)
				test_fail(__FILE__, __LINE__, "%zu x %zu (ties %d): estimate %.17g, sorting gives %.17g", nx,
					  ny, ties, s.estimate, median);
			/* The interval's ends are differences, symmetric in rank. */
			size_t lo = 0;
			while (lo < mn && d[lo] != s.lo)
				lo++;
			size_t hi = mn;
			while (hi > 0 && d[hi - 1] != s.hi)
				hi--;
			CHECK(lo < mn && hi > 0);
			/* Some copy of each end sits at ranks qu and mn + 1 - qu. */
			int symmetric = 0;
			for (size_t a = lo; a < mn && d[a] == s.lo && !symmetric; a++)
				symmetric = d[mn - 1 - a] == s.hi;
			if (!symmetric)
				test_fail(__FILE__, __LINE__, "%zu x %zu (ties %d): interval [%.17g, %.17g] not symmetric in rank",
					  nx, ny, ties, s.lo, s.hi);
			free(x);
			free(y);
			free(d);
		}
	/* Values that are not finite are refused, not sorted into NaNs. */
	const double a[] = { 1, INFINITY }, b[] = { 2, 3 };
	struct stats_shift s;
	CHECK_INT(stats_hodges_lehmann(a, 2, b, 2, 0.95, &s), -1);
}

TEST(stats_normal_functions)
{
	/* Standard tables: Phi(1.96) = 0.9750, Phi(-2.5758) = 0.005. */
	CHECK_NEAR(stats_normal_cdf(1.959963985), 0.975, 1e-9);
	CHECK_NEAR(stats_normal_quantile(0.975), 1.959963985, 1e-8);
	CHECK_NEAR(stats_normal_quantile(0.005), -2.575829304, 1e-8);
	CHECK(isnan(stats_normal_quantile(0)));
	CHECK(isnan(stats_normal_quantile(1)));
}

TEST(stats_student_t)
{
	/* Quantiles from the standard tables (Abramowitz & Stegun table
	 * 26.10; R's qt() gives the same digits): t(0.99) for 1, 2, 3, 4, 9
	 * and 30 degrees of freedom, t(0.975, 5), t(0.95, 1). */
	CHECK_NEAR(stats_t_quantile(0.99, 1), 31.82052, 1e-4);
	CHECK_NEAR(stats_t_quantile(0.99, 2), 6.964557, 1e-5);
	CHECK_NEAR(stats_t_quantile(0.99, 3), 4.540703, 1e-5);
	CHECK_NEAR(stats_t_quantile(0.99, 4), 3.746947, 1e-5);
	CHECK_NEAR(stats_t_quantile(0.99, 9), 2.821438, 1e-5);
	CHECK_NEAR(stats_t_quantile(0.99, 30), 2.457262, 1e-5);
	CHECK_NEAR(stats_t_quantile(0.975, 5), 2.570582, 1e-5);
	CHECK_NEAR(stats_t_quantile(0.95, 1), 6.313752, 1e-5);
	/* Symmetric, and the distribution function: P(T <= 2 | 3) = 0.930337
	 * (pt(2, 3)); the Cauchy case P(T <= 1 | 1) = 3/4. */
	CHECK_NEAR(stats_t_quantile(0.01, 4), -3.746947, 1e-5);
	CHECK_NEAR(stats_t_quantile(0.5, 7), 0, 0);
	CHECK_NEAR(stats_t_cdf(2, 3), 0.9303370, 1e-6);
	CHECK_NEAR(stats_t_cdf(1, 1), 0.75, 1e-12);
	CHECK_NEAR(stats_t_cdf(-1, 1), 0.25, 1e-12);
	/* Many degrees of freedom: the normal. */
	CHECK_NEAR(stats_t_quantile(0.99, 100000), stats_normal_quantile(0.99), 1e-3);
	CHECK(isnan(stats_t_quantile(0.99, 0)));
	CHECK(isnan(stats_t_quantile(1, 5)));
	CHECK(isnan(stats_t_cdf(1, 0)));
}

TEST(stats_robust_summaries)
{
	const double v[] = { 1, 2, 3, 4, 100 };
	CHECK_NEAR(stats_median(v, 5), 3, 0);
	CHECK_NEAR(stats_mad(v, 5), 1, 0);
	CHECK_NEAR(stats_robust_cv_pct(v, 5), 1.4826 * 100 / 3, 1e-9);
	const double even[] = { 4, 1, 3, 2 };
	CHECK_NEAR(stats_median(even, 4), 2.5, 0);
}

TEST(stats_rng_is_fixed)
{
	struct stats_rng a, b;
	stats_rng_seed(&a, 42);
	stats_rng_seed(&b, 42);
	for (int i = 0; i < 100; i++)
		CHECK(stats_rng_next(&a) == stats_rng_next(&b));
	/* The first value of splitmix64 seeded with 0 (its reference output). */
	stats_rng_seed(&a, 0);
	CHECK(stats_rng_next(&a) == 0xe220a8397b1dcdafULL);
	int seen[7] = { 0 };
	for (int i = 0; i < 7000; i++)
		seen[stats_rng_below(&a, 7)]++;
	for (int i = 0; i < 7; i++)
		CHECK(seen[i] > 800 && seen[i] < 1200);
}

/* The median's interval from binomial tables (e.g. Conover, Practical
 * Nonparametric Statistics, the sign-test interval): P(Bin(10, 1/2) <= 1) =
 * 11/1024 = 0.0107, P(<= 2) = 0.0547, so the 95 % interval of n = 10 is
 * [x(2), x(9)] with level 1 - 2 * 0.0107 = 0.9785; n = 6 gives [x(1), x(6)]
 * at 1 - 2/64 = 0.96875; n = 5 cannot reach 95 % (at most 1 - 2/32). */
TEST(stats_median_ci_binomial)
{
	const double v[] = { 10, 3, 7, 1, 9, 5, 2, 8, 4, 6 };
	double lo, hi, level;
	CHECK_INT(stats_median_ci(v, 10, 0.95, &lo, &hi, &level), 0);
	CHECK_NEAR(lo, 2, 0);
	CHECK_NEAR(hi, 9, 0);
	CHECK_NEAR(level, 1 - 22.0 / 1024, 1e-12);
	CHECK_INT(stats_median_ci(v, 6, 0.95, &lo, &hi, &level), 0);
	CHECK_NEAR(lo, 1, 0);
	CHECK_NEAR(hi, 10, 0);
	CHECK_NEAR(level, 1 - 2.0 / 64, 1e-12);
	CHECK_INT(stats_median_ci(v, 5, 0.95, &lo, &hi, &level), -1);
	CHECK_NEAR(level, 1 - 2.0 / 32, 1e-12);
	CHECK_INT(stats_median_ci(v, 1, 0.95, &lo, &hi, &level), -1);
	CHECK_NEAR(lo, 10, 0);
	CHECK_INT(stats_median_ci(v, 0, 0.95, &lo, &hi, &level), -1);
}

/* Hollander & Wolfe (1999), Table 3.1: Hamilton depression scale before (x)
 * and after (y) a tranquilizer, nine patients; also the example of R's
 * ?wilcox.test.  Published: wilcox.test(x, y, paired = TRUE, alternative =
 * "greater") gives V = 40, p-value = 0.01953 (V: the ranks of x - y > 0). */
static const double hd_x[] = { 1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30 };
static const double hd_y[] = { 0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29 };

TEST(stats_signed_rank_hollander_wolfe)
{
	struct stats_sr r;
	/* Our differences are second minus first: y - x here is R's x - y. */
	CHECK_INT(stats_signed_rank(hd_y, hd_x, 9, STATS_GREATER, STATS_AUTO, &r), 0);
	CHECK_NEAR(r.w, 40, 0);
	CHECK(r.exact);
	CHECK_INT(r.n, 9);
	CHECK_NEAR(r.p, 0.01953, 0.000005);
	CHECK_INT(stats_signed_rank(hd_x, hd_y, 9, STATS_LESS, STATS_AUTO, &r), 0);
	CHECK_NEAR(r.w, 5, 0);
	CHECK_NEAR(r.p, 0.01953, 0.000005);
	CHECK_INT(stats_signed_rank(hd_x, hd_y, 9, STATS_TWO_SIDED, STATS_AUTO, &r), 0);
	CHECK_NEAR(r.p, 0.03906, 0.000005);
	/* The smallest p nine pairs can give: every difference of one sign. */
	CHECK_NEAR(stats_sr_min_p(9), 2.0 / 512, 1e-12);
	CHECK_NEAR(stats_sr_min_p(7), 2.0 / 128, 1e-12);
}

TEST(stats_signed_rank_ties_zeros_and_approximation)
{
	/* Zero differences are dropped; tied |d| share a midrank. */
	const double x[] = { 1, 2, 3, 4, 5, 6 }, y[] = { 1, 3, 4, 5, 6, 8 };
	struct stats_sr r;
	CHECK_INT(stats_signed_rank(x, y, 6, STATS_GREATER, STATS_AUTO, &r), 0);
	CHECK_INT(r.n, 5);
	/* |d| = 1,1,1,1,2: ranks 2.5 x 4 and 5, all positive. */
	CHECK_NEAR(r.w, 15, 0);
	/* Only the all-positive arrangement reaches 15: 1 / 2^5. */
	CHECK_NEAR(r.p, 1.0 / 32, 1e-12);
	CHECK_INT(stats_signed_rank(x, x, 6, STATS_TWO_SIDED, STATS_AUTO, &r), 0);
	CHECK_NEAR(r.p, 1, 0);
	CHECK_INT(stats_signed_rank(x, y, 0, STATS_TWO_SIDED, STATS_AUTO, &r), -1);
	/* The normal approximation agrees with the exact tail for n = 9. */
	CHECK_INT(stats_signed_rank(hd_y, hd_x, 9, STATS_GREATER, STATS_ASYMPTOTIC, &r), 0);
	CHECK(!r.exact);
	CHECK_NEAR(r.p, 0.01953, 0.004);
}

TEST(stats_paired_hodges_lehmann_order_statistics)
{
	/* n = 9: the 95 % interval is the 6th smallest and 6th largest of the
	 * 45 Walsh averages (P(T+ <= 5) = 10/512), level 1 - 20/512. */
	struct stats_shift s;
	CHECK_INT(stats_paired_hodges_lehmann(hd_x, hd_y, 9, 0.95, &s), 0);
	double w[45];
	size_t k = 0;
	for (size_t i = 0; i < 9; i++)
		for (size_t j = i; j < 9; j++)
			w[k++] = ((hd_y[i] - hd_x[i]) + (hd_y[j] - hd_x[j])) / 2;
	for (size_t i = 0; i < 45; i++)
		for (size_t j = i + 1; j < 45; j++)
			if (w[j] < w[i]) {
				double t = w[i];
				w[i] = w[j];
				w[j] = t;
			}
	CHECK_NEAR(s.estimate, w[22], 1e-12);
	CHECK_NEAR(s.lo, w[5], 1e-12);
	CHECK_NEAR(s.hi, w[39], 1e-12);
	CHECK_NEAR(s.level, 1 - 20.0 / 512, 1e-12);
	/* A constant 10 % slowdown is -10 % exactly, the interval a point. */
	double a[8], b[8];
	for (int i = 0; i < 8; i++) {
		a[i] = 100 + 7 * i;
		b[i] = a[i] * 0.9;
	}
	CHECK_INT(stats_paired_change_pct(a, b, 8, 0.95, &s), 0);
	CHECK_NEAR(s.estimate, -10, 1e-9);
	CHECK_NEAR(s.lo, -10, 1e-9);
	CHECK_NEAR(s.hi, -10, 1e-9);
}
