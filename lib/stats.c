/* Statistics for comparing benchmark samples: see stats.h and
 * docs/compare.md. */
#include "stats.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int has_nan(const double *v, size_t n);

static double sorted_median(const double *v, size_t n)
{
	if (!n)
		return NAN;
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double stats_median(const double *v, size_t n)
{
	if (!n)
		return NAN;
	double *copy = kq_xmalloc(n * sizeof(*copy));
	memcpy(copy, v, n * sizeof(*copy));
	qsort(copy, n, sizeof(*copy), cmp_double);
	double m = sorted_median(copy, n);
	free(copy);
	return m;
}

int stats_median_ci(const double *v, size_t n, double conf, double *lo, double *hi, double *level)
{
	*lo = *hi = *level = NAN;
	if (!n || has_nan(v, n))
		return -1;
	double *sorted = kq_xmalloc(n * sizeof(*sorted));
	memcpy(sorted, v, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_double);
	/* cdf: P(B <= j) for B ~ Binomial(n, 1/2), accumulated as k grows. */
	double pmf = pow(0.5, (double)n), cdf = 0;
	size_t k = 0;
	for (size_t j = 0; j < (n + 1) / 2; j++) {
		cdf += pmf;                   /* P(B <= j) */
		if (2 * cdf > 1 - conf)
			break;
		k = j + 1;                    /* x(j+1) .. x(n-j) has level 1 - 2 cdf */
		pmf = pmf * (double)(n - j) / (double)(j + 1);
	}
	int ret = 0;
	if (!k) {
		k = 1;
		ret = -1;
	}
	*lo = sorted[k - 1];
	*hi = sorted[n - k];
	/* The level of [x(k), x(n+1-k)]: 1 - 2 P(B <= k - 1). */
	double tail = 0, p = pow(0.5, (double)n);
	for (size_t j = 0; j < k; j++) {
		tail += p;
		p = p * (double)(n - j) / (double)(j + 1);
	}
	*level = fmax(0, 1 - 2 * tail);
	free(sorted);
	return ret;
}

double stats_mad(const double *v, size_t n)
{
	if (!n)
		return NAN;
	double med = stats_median(v, n);
	double *dev = kq_xmalloc(n * sizeof(*dev));
	for (size_t i = 0; i < n; i++)
		dev[i] = fabs(v[i] - med);
	double mad = stats_median(dev, n);
	free(dev);
	return mad;
}

double stats_robust_cv_pct(const double *v, size_t n)
{
	if (n < 2)
		return NAN;
	double med = stats_median(v, n);
	if (med == 0 || isnan(med))
		return NAN;
	return 1.4826 * stats_mad(v, n) / fabs(med) * 100;
}

double stats_normal_cdf(double z)
{
	return 0.5 * erfc(-z / sqrt(2.0));
}

double stats_t_cdf(double t, long df)
{
	if (df < 1 || isnan(t))
		return NAN;
	if (isinf(t))
		return t > 0 ? 1 : 0;
	/* A(t | df) = P(|T| < |t|) from theta = atan(|t| / sqrt(df)): a sum
	 * of powers of cos(theta), odd and even df apart. */
	double theta = atan(fabs(t) / sqrt((double)df)), c = cos(theta), s = sin(theta), c2 = c * c;
	double a;
	if (df % 2) {
		double sum = 0, term = c;
		if (df > 1) {
			sum = term;
			for (long k = 3; k <= df - 2; k += 2) {
				term *= c2 * (double)(k - 1) / (double)k;
				sum += term;
			}
		}
		a = 2 / M_PI * (theta + s * sum);
	} else {
		double sum = 1, term = 1;
		for (long k = 2; k <= df - 2; k += 2) {
			term *= c2 * (double)(k - 1) / (double)k;
			sum += term;
		}
		a = s * sum;
	}
	return t >= 0 ? 0.5 + a / 2 : 0.5 - a / 2;
}

double stats_t_quantile(double p, long df)
{
	if (df < 1 || !(p > 0 && p < 1))
		return NAN;
	if (p == 0.5)
		return 0;
	double target = p > 0.5 ? p : 1 - p, lo = 0, hi = 1;
	while (stats_t_cdf(hi, df) < target && hi < 1e300)
		hi *= 2;
	for (int i = 0; i < 400 && hi - lo > 1e-12 * (1 + hi); i++) {
		double mid = (lo + hi) / 2;
		if (stats_t_cdf(mid, df) < target)
			lo = mid;
		else
			hi = mid;
	}
	double q = (lo + hi) / 2;
	return p > 0.5 ? q : -q;
}

double stats_normal_quantile(double p)
{
	if (!(p > 0 && p < 1))
		return NAN;
	/* Bisection on the distribution function: 200 halvings of [-40, 40]
	 * reach the double's resolution; this is not on a hot path. */
	double lo = -40, hi = 40;
	for (int i = 0; i < 200 && hi - lo > 1e-15; i++) {
		double mid = (lo + hi) / 2;
		if (stats_normal_cdf(mid) < p)
			lo = mid;
		else
			hi = mid;
	}
	return (lo + hi) / 2;
}

/* ---- ranks ---- */

struct ranked {
	double value;
	int from_x;
};

static int cmp_ranked(const void *a, const void *b)
{
	return cmp_double(&((const struct ranked *)a)->value, &((const struct ranked *)b)->value);
}

/* Sorts the pooled sample; for each group of equal values calls back with
 * its first rank (1-based), size and how many of it come from x. */
struct tie_group {
	size_t first_rank, size, from_x;
};

static struct tie_group *tie_groups(const double *x, size_t nx, const double *y, size_t ny, size_t *count)
{
	size_t n = nx + ny;
	struct ranked *all = kq_xmalloc(n * sizeof(*all));
	for (size_t i = 0; i < nx; i++)
		all[i] = (struct ranked){ x[i], 1 };
	for (size_t j = 0; j < ny; j++)
		all[nx + j] = (struct ranked){ y[j], 0 };
	qsort(all, n, sizeof(*all), cmp_ranked);
	struct tie_group *g = kq_xmalloc(n * sizeof(*g));
	size_t ng = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i, fx = 0;
		while (j < n && all[j].value == all[i].value)
			fx += (size_t)all[j++].from_x;
		g[ng++] = (struct tie_group){ i + 1, j - i, fx };
		i = j;
	}
	free(all);
	*count = ng;
	return g;
}

/* ---- the exact null distribution of the rank sum, ties included ----
 *
 * Under the null every choice of which m of the N pooled values are x's is
 * equally likely.  Ranks are in half units (a midrank of a tie group is
 * (first + last) / 2, so twice it is an integer).  The counts of each
 * doubled rank sum come from a subset-count DP over the tie groups: a group
 * of t values with doubled midrank r contributes j * r in C(t, j) ways when
 * j of its values are x's.  Additions only, so the counts stay exact far
 * beyond what double integers hold exactly in relative terms. */
struct rank_sum_dist {
	size_t m, max2;   /* x count; largest doubled rank sum */
	double total;     /* C(N, m) */
	double *count;    /* [max2 + 1]: arrangements with each doubled rank sum */
};

static double binom(size_t n, size_t k)
{
	if (k > n)
		return 0;
	double r = 1;
	for (size_t i = 1; i <= k; i++)
		r = r * (double)(n - k + i) / (double)i;
	return floor(r + 0.5);
}

static void rank_sum_dist(const struct tie_group *g, size_t ng, size_t m, size_t n_total, struct rank_sum_dist *d)
{
	/* Largest doubled sum: m times the doubled largest rank. */
	size_t max2 = m * 2 * n_total;
	size_t width = max2 + 1;
	double *cur = kq_xcalloc((m + 1) * width, sizeof(double));
	double *next = kq_xcalloc((m + 1) * width, sizeof(double));
	cur[0] = 1;
	size_t placed = 0;
	for (size_t gi = 0; gi < ng; gi++) {
		size_t t = g[gi].size;
		size_t r2 = 2 * g[gi].first_rank + t - 1; /* first + last */
		size_t jmax = t < m ? t : m;
		double *ways = kq_xmalloc((jmax + 1) * sizeof(*ways));
		for (size_t j = 0; j <= jmax; j++)
			ways[j] = binom(t, j);
		memset(next, 0, (m + 1) * width * sizeof(double));
		size_t kmax = placed < m ? placed : m;
		for (size_t k = 0; k <= kmax; k++) {
			const double *row = cur + k * width;
			for (size_t s = 0; s < width; s++) {
				if (row[s] == 0)
					continue;
				for (size_t j = 0; j <= jmax && k + j <= m; j++) {
					size_t s2 = s + j * r2;
					if (s2 < width)
						next[(k + j) * width + s2] += row[s] * ways[j];
				}
			}
		}
		free(ways);
		double *swap = cur;
		cur = next;
		next = swap;
		placed += t;
	}
	d->m = m;
	d->max2 = max2;
	d->total = binom(n_total, m);
	d->count = kq_xmalloc(width * sizeof(double));
	memcpy(d->count, cur + m * width, width * sizeof(double));
	free(cur);
	free(next);
}

/* P(2W <= w2) and P(2W >= w2). */
static void rank_sum_tails(const struct rank_sum_dist *d, size_t w2, double *lower, double *upper)
{
	double lo = 0, hi = 0;
	for (size_t s = 0; s <= d->max2; s++) {
		if (s <= w2)
			lo += d->count[s];
		if (s >= w2)
			hi += d->count[s];
	}
	*lower = fmin(1, lo / d->total);
	*upper = fmin(1, hi / d->total);
}

/* The no-ties distribution for m and n, kept for the last few sizes
 * asked: compare and the simulation ask for the same sizes over and over.
 * Not thread-safe (nothing in kvmqual compares from two threads). */
#define NO_TIES_CACHE 8

static const struct rank_sum_dist *no_ties_dist(size_t m, size_t n)
{
	static struct rank_sum_dist cache[NO_TIES_CACHE];
	static size_t cache_n[NO_TIES_CACHE], next;
	for (size_t i = 0; i < NO_TIES_CACHE; i++)
		if (cache[i].count && cache[i].m == m && cache_n[i] == n)
			return &cache[i];
	struct rank_sum_dist *d = &cache[next];
	cache_n[next] = n;
	next = (next + 1) % NO_TIES_CACHE;
	free(d->count);
	size_t total = m + n;
	struct tie_group *g = kq_xmalloc((total ? total : 1) * sizeof(*g));
	for (size_t i = 0; i < total; i++)
		g[i] = (struct tie_group){ i + 1, 1, 0 };
	rank_sum_dist(g, total, m, total, d);
	free(g);
	return d;
}

double stats_mw_cdf(size_t m, size_t n, double u)
{
	if (!m || !n)
		return NAN;
	if (u < 0)
		return 0;
	if (u >= (double)(m * n))
		return 1;
	const struct rank_sum_dist *d = no_ties_dist(m, n);
	/* W = U + m(m+1)/2; doubled. */
	size_t w2 = (size_t)floor(u) * 2 + m * (m + 1);
	double lower, upper;
	rank_sum_tails(d, w2, &lower, &upper);
	return lower;
}

double stats_mw_min_p(size_t m, size_t n)
{
	if (!m || !n)
		return 1;
	return fmin(1, 2 / binom(m + n, m));
}

static int has_nan(const double *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (isnan(v[i]))
			return 1;
	return 0;
}

int stats_mann_whitney(const double *x, size_t nx, const double *y, size_t ny,
		       enum stats_alternative alt, enum stats_method method, struct stats_mw *r)
{
	memset(r, 0, sizeof(*r));
	if (!nx || !ny || has_nan(x, nx) || has_nan(y, ny))
		return -1;
	size_t ng, n = nx + ny;
	struct tie_group *g = tie_groups(x, nx, y, ny, &ng);
	/* Doubled rank sum of x, and the tie correction sum(t^3 - t). */
	size_t w2 = 0;
	double tie_sum = 0;
	int ties = 0;
	for (size_t i = 0; i < ng; i++) {
		w2 += g[i].from_x * (2 * g[i].first_rank + g[i].size - 1);
		double t = (double)g[i].size;
		tie_sum += t * t * t - t;
		if (g[i].size > 1)
			ties += (int)g[i].size;
	}
	double mn = (double)nx * (double)ny;
	r->u = (double)w2 / 2 - (double)nx * (double)(nx + 1) / 2;
	r->ties = ties;
	double sigma = sqrt(mn / 12 * ((double)(n + 1) - tie_sum / ((double)n * (double)(n - 1))));
	/* The normal statistic with the continuity correction toward the
	 * null, as NAG and R print it; reported with the exact p too. */
	double delta = r->u - mn / 2;
	double corr = alt == STATS_GREATER ? 0.5 : alt == STATS_LESS ? -0.5 : delta > 0 ? 0.5 : delta < 0 ? -0.5 : 0;
	double z = sigma > 0 ? (delta - corr) / sigma : 0;
	r->z = z;
	int exact = method == STATS_EXACT || (method == STATS_AUTO && nx < STATS_EXACT_MAX && ny < STATS_EXACT_MAX);
	if (exact) {
		/* Without ties the distribution depends on the sizes only: the
		 * cached one serves (compare asks for the same sizes again and
		 * again). */
		double lower, upper;
		if (!ties) {
			rank_sum_tails(no_ties_dist(nx, ny), w2, &lower, &upper);
		} else {
			struct rank_sum_dist d;
			rank_sum_dist(g, ng, nx, n, &d);
			rank_sum_tails(&d, w2, &lower, &upper);
			free(d.count);
		}
		r->exact = 1;
		r->p = alt == STATS_GREATER ? upper : alt == STATS_LESS ? lower : fmin(1, 2 * fmin(lower, upper));
	} else if (sigma <= 0) {
		/* Every value the same: no evidence either way. */
		r->p = 1;
	} else {
		r->p = alt == STATS_GREATER ? 1 - stats_normal_cdf(z)
		       : alt == STATS_LESS ? stats_normal_cdf(z)
					   : fmin(1, 2 * fmin(stats_normal_cdf(z), 1 - stats_normal_cdf(z)));
	}
	free(g);
	return 0;
}

/* ---- Hodges-Lehmann ---- */

/* The differences y[j] - x[i] of two sorted samples, one row per x[i]:
 * each row ascends with j, and for a fixed j the difference descends as i
 * grows (floating-point subtraction is monotone too).  So the count of
 * differences below a value is found in one pass over both samples, and
 * the k-th smallest difference in O((nx + ny) log(nx ny)) expected time
 * without the nx * ny differences ever being formed (the idea of Monahan's
 * algorithm for the Hodges-Lehmann estimator, 1984): a random pivot among
 * the differences still in play, the rows cut down to the side that holds
 * the k-th, again.  compare runs it on 100,000 samples a side. */
struct diff_rows {
	const double *x, *y;
	size_t nx, ny;
	size_t *lo, *hi;   /* per row: the columns [lo, hi) still in play */
	size_t *lt, *le;   /* per row, for a pivot: first column >= it, > it */
};

/* Columns of each row whose difference is < pivot (lt) and <= pivot (le),
 * within what is in play; returns their totals. */
static void diff_rank(struct diff_rows *d, double pivot, uint64_t *nlt, uint64_t *nle)
{
	size_t plt = 0, ple = 0;
	*nlt = *nle = 0;
	for (size_t i = 0; i < d->nx; i++) {
		/* Both only move right as x[i] grows. */
		while (plt < d->ny && d->y[plt] - d->x[i] < pivot)
			plt++;
		while (ple < d->ny && d->y[ple] - d->x[i] <= pivot)
			ple++;
		d->lt[i] = plt < d->lo[i] ? d->lo[i] : plt > d->hi[i] ? d->hi[i] : plt;
		d->le[i] = ple < d->lo[i] ? d->lo[i] : ple > d->hi[i] ? d->hi[i] : ple;
		*nlt += d->lt[i] - d->lo[i];
		*nle += d->le[i] - d->lo[i];
	}
}

/* The k-th smallest difference (1-based, k <= nx * ny). */
static double diff_select(const double *x, size_t nx, const double *y, size_t ny, uint64_t k)
{
	struct diff_rows d = { x, y, nx, ny, kq_xcalloc(nx, sizeof(size_t)), kq_xcalloc(nx, sizeof(size_t)),
			       kq_xcalloc(nx, sizeof(size_t)), kq_xcalloc(nx, sizeof(size_t)) };
	for (size_t i = 0; i < nx; i++)
		d.hi[i] = ny;
	uint64_t active = (uint64_t)nx * ny;
	struct stats_rng g;
	stats_rng_seed(&g, 0x6b76716873ULL);
	double result = NAN;
	for (;;) {
		/* A pivot drawn uniformly from the differences in play: every
		 * round keeps the side holding the k-th, and the pivot is in
		 * play, so each round removes at least one. */
		uint64_t r = stats_rng_next(&g) % active;
		size_t row = 0;
		while (r >= d.hi[row] - d.lo[row]) {
			r -= d.hi[row] - d.lo[row];
			row++;
		}
		double pivot = y[d.lo[row] + r] - x[row];
		uint64_t nlt, nle;
		diff_rank(&d, pivot, &nlt, &nle);
		if (k <= nlt) {
			memcpy(d.hi, d.lt, nx * sizeof(size_t));
			active = nlt;
		} else if (k <= nle) {
			result = pivot;
			break;
		} else {
			memcpy(d.lo, d.le, nx * sizeof(size_t));
			k -= nle;
			active -= nle;
		}
	}
	free(d.lo);
	free(d.hi);
	free(d.lt);
	free(d.le);
	return result;
}

static int has_non_finite(const double *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(v[i]))
			return 1;
	return 0;
}

int stats_hodges_lehmann(const double *x, size_t nx, const double *y, size_t ny, double conf,
			 struct stats_shift *r)
{
	r->estimate = r->lo = r->hi = r->level = NAN;
	if (!nx || !ny || has_non_finite(x, nx) || has_non_finite(y, ny) || !(conf > 0 && conf < 1))
		return -1;
	double *xs = kq_xmalloc(nx * sizeof(*xs)), *ys = kq_xmalloc(ny * sizeof(*ys));
	memcpy(xs, x, nx * sizeof(*xs));
	memcpy(ys, y, ny * sizeof(*ys));
	qsort(xs, nx, sizeof(*xs), cmp_double);
	qsort(ys, ny, sizeof(*ys), cmp_double);
	uint64_t mn = (uint64_t)nx * ny;
	/* The median of the differences: the middle one, or the mean of the
	 * middle two. */
	r->estimate = mn % 2 ? diff_select(xs, nx, ys, ny, mn / 2 + 1)
			     : (diff_select(xs, nx, ys, ny, mn / 2) + diff_select(xs, nx, ys, ny, mn / 2 + 1)) / 2;
	double alpha = 1 - conf;
	/* qu: the smallest u with P(U <= u) >= alpha/2 (at least 1); the
	 * interval is [d(qu), d(mn + 1 - qu)], 1-based. */
	uint64_t qu;
	if (nx < STATS_EXACT_MAX && ny < STATS_EXACT_MAX) {
		qu = 0;
		while (qu < mn && stats_mw_cdf(nx, ny, (double)qu) < alpha / 2)
			qu++;
		if (qu == 0)
			qu = 1;
		r->level = 1 - 2 * stats_mw_cdf(nx, ny, (double)qu - 1);
	} else {
		double sd = sqrt((double)mn * (double)(nx + ny + 1) / 12);
		double c = (double)mn / 2 - stats_normal_quantile(1 - alpha / 2) * sd;
		qu = c < 1 ? 1 : (uint64_t)floor(c + 0.5);
		r->level = conf;
	}
	if (qu > (mn + 1) / 2)
		qu = (mn + 1) / 2;
	r->lo = diff_select(xs, nx, ys, ny, qu);
	r->hi = diff_select(xs, nx, ys, ny, mn + 1 - qu);
	free(xs);
	free(ys);
	return 0;
}

static int all_positive(const double *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!(v[i] > 0) || isinf(v[i]))
			return 0;
	return 1;
}

/* The shift of y against x in percent of x, paired (nx == ny, x[i] with
 * y[i]) or not: one rule for both, on logarithms when every value is
 * positive (a ratio), else relative to x's median. */
static int change_pct(const double *x, size_t nx, const double *y, size_t ny, int paired, double conf,
		      struct stats_shift *r)
{
	r->estimate = r->lo = r->hi = r->level = NAN;
	if (!nx || !ny)
		return -1;
	int logs = all_positive(x, nx) && all_positive(y, ny);
	double *lx = NULL, *ly = NULL;
	if (logs) {
		lx = kq_xmalloc(nx * sizeof(*lx));
		ly = kq_xmalloc(ny * sizeof(*ly));
		for (size_t i = 0; i < nx; i++)
			lx[i] = log(x[i]);
		for (size_t j = 0; j < ny; j++)
			ly[j] = log(y[j]);
	}
	const double *sx = logs ? lx : x, *sy = logs ? ly : y;
	struct stats_shift s;
	int rc = paired ? stats_paired_hodges_lehmann(sx, sy, nx, conf, &s)
			: stats_hodges_lehmann(sx, nx, sy, ny, conf, &s);
	free(lx);
	free(ly);
	if (rc)
		return -1;
	if (logs) {
		r->estimate = 100 * expm1(s.estimate);
		r->lo = 100 * expm1(s.lo);
		r->hi = 100 * expm1(s.hi);
	} else {
		double base = stats_median(x, nx);
		if (base == 0 || isnan(base))
			return -1;
		r->estimate = 100 * s.estimate / fabs(base);
		r->lo = 100 * s.lo / fabs(base);
		r->hi = 100 * s.hi / fabs(base);
	}
	r->level = s.level;
	return 0;
}

int stats_change_pct(const double *x, size_t nx, const double *y, size_t ny, double conf,
		     struct stats_shift *r)
{
	return change_pct(x, nx, y, ny, 0, conf, r);
}

/* ---- paired samples: the signed-rank test ---- */

double stats_sr_min_p(size_t n)
{
	return n >= 1 ? fmin(1, 2 / ldexp(1, (int)(n > 1000 ? 1000 : n))) : 1;
}

struct abs_diff {
	double abs;
	int positive;
};

static int cmp_abs_diff(const void *a, const void *b)
{
	return cmp_double(&((const struct abs_diff *)a)->abs, &((const struct abs_diff *)b)->abs);
}

/* P(2W+ <= s) for s = 0 .. max2 under the null, given the doubled ranks:
 * each rank is in W+ or not with probability 1/2.  Additions only. */
static double *signed_rank_counts(const size_t *rank2, size_t n, size_t *max2)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += rank2[i];
	double *count = kq_xcalloc(total + 1, sizeof(double));
	count[0] = 1;
	size_t reach = 0;
	for (size_t i = 0; i < n; i++) {
		for (size_t s = reach + 1; s-- > 0;)
			if (count[s] != 0)
				count[s + rank2[i]] += count[s];
		reach += rank2[i];
	}
	*max2 = total;
	return count;
}

int stats_signed_rank(const double *x, const double *y, size_t n, enum stats_alternative alt,
		      enum stats_method method, struct stats_sr *r)
{
	memset(r, 0, sizeof(*r));
	r->p = NAN;
	if (!n || has_nan(x, n) || has_nan(y, n))
		return -1;
	struct abs_diff *d = kq_xmalloc(n * sizeof(*d));
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		double diff = y[i] - x[i];
		if (diff != 0)
			d[m++] = (struct abs_diff){ fabs(diff), diff > 0 };
	}
	r->n = m;
	if (!m) {
		/* Every pair equal: no evidence either way. */
		free(d);
		r->p = 1;
		r->exact = 1;
		return 0;
	}
	qsort(d, m, sizeof(*d), cmp_abs_diff);
	/* Doubled midranks, W+ doubled, and the tie correction. */
	size_t *rank2 = kq_xmalloc(m * sizeof(*rank2));
	size_t w2 = 0;
	double tie_sum = 0;
	for (size_t i = 0; i < m;) {
		size_t j = i;
		while (j < m && d[j].abs == d[i].abs)
			j++;
		size_t r2 = (i + 1) + j; /* first + last rank, 1-based */
		for (size_t k = i; k < j; k++) {
			rank2[k] = r2;
			if (d[k].positive)
				w2 += r2;
		}
		double t = (double)(j - i);
		tie_sum += t * t * t - t;
		i = j;
	}
	r->w = (double)w2 / 2;
	double mm = (double)m;
	int exact = method == STATS_EXACT || (method == STATS_AUTO && m < STATS_EXACT_MAX);
	if (exact) {
		size_t max2;
		double *count = signed_rank_counts(rank2, m, &max2);
		double lo = 0, hi = 0, total = ldexp(1, (int)m);
		for (size_t s = 0; s <= max2; s++) {
			if (s <= w2)
				lo += count[s];
			if (s >= w2)
				hi += count[s];
		}
		free(count);
		double lower = fmin(1, lo / total), upper = fmin(1, hi / total);
		r->exact = 1;
		r->p = alt == STATS_GREATER ? upper : alt == STATS_LESS ? lower : fmin(1, 2 * fmin(lower, upper));
	} else {
		double mean = mm * (mm + 1) / 4;
		double sigma = sqrt(mm * (mm + 1) * (2 * mm + 1) / 24 - tie_sum / 48);
		double delta = r->w - mean;
		double corr = alt == STATS_GREATER ? 0.5 : alt == STATS_LESS ? -0.5 : delta > 0 ? 0.5 : delta < 0 ? -0.5 : 0;
		double z = sigma > 0 ? (delta - corr) / sigma : 0;
		r->p = sigma <= 0 ? 1
		       : alt == STATS_GREATER ? 1 - stats_normal_cdf(z)
		       : alt == STATS_LESS ? stats_normal_cdf(z)
					   : fmin(1, 2 * fmin(stats_normal_cdf(z), 1 - stats_normal_cdf(z)));
	}
	free(rank2);
	free(d);
	return 0;
}

/* The no-ties null distribution of T+ for n differences, as cumulative
 * probabilities cdf[t] = P(T+ <= t), t = 0 .. n(n+1)/2. */
static double *signed_rank_cdf(size_t n)
{
	size_t *rank2 = kq_xmalloc((n ? n : 1) * sizeof(*rank2));
	for (size_t i = 0; i < n; i++)
		rank2[i] = 2 * (i + 1);
	size_t max2;
	double *count = signed_rank_counts(rank2, n, &max2);
	size_t top = n * (n + 1) / 2;
	double *cdf = kq_xmalloc((top + 1) * sizeof(*cdf)), acc = 0, total = ldexp(1, (int)n);
	for (size_t t = 0; t <= top; t++) {
		acc += count[2 * t];
		cdf[t] = fmin(1, acc / total);
	}
	free(count);
	free(rank2);
	return cdf;
}

int stats_paired_hodges_lehmann(const double *x, const double *y, size_t n, double conf, struct stats_shift *r)
{
	r->estimate = r->lo = r->hi = r->level = NAN;
	if (!n || has_nan(x, n) || has_nan(y, n) || !(conf > 0 && conf < 1))
		return -1;
	size_t walsh = n * (n + 1) / 2, k = 0;
	double *w = kq_xmalloc(walsh * sizeof(*w));
	for (size_t i = 0; i < n; i++)
		for (size_t j = i; j < n; j++)
			w[k++] = ((y[i] - x[i]) + (y[j] - x[j])) / 2;
	qsort(w, walsh, sizeof(*w), cmp_double);
	r->estimate = sorted_median(w, walsh);
	double alpha = 1 - conf;
	/* qu: the smallest t with P(T+ <= t) >= alpha / 2 (at least 1); the
	 * interval is [w(qu), w(M + 1 - qu)], 1-based, as for the two-sample
	 * estimate with the signed-rank statistic in place of U. */
	size_t qu;
	if (n < STATS_EXACT_MAX) {
		double *cdf = signed_rank_cdf(n);
		qu = 0;
		while (qu < walsh && cdf[qu] < alpha / 2)
			qu++;
		if (qu == 0)
			qu = 1;
		r->level = 1 - 2 * cdf[qu - 1];
		free(cdf);
	} else {
		double nn = (double)n;
		double sd = sqrt(nn * (nn + 1) * (2 * nn + 1) / 24);
		double c = nn * (nn + 1) / 4 - stats_normal_quantile(1 - alpha / 2) * sd;
		qu = c < 1 ? 1 : (size_t)floor(c + 0.5);
		r->level = conf;
	}
	if (qu > (walsh + 1) / 2)
		qu = (walsh + 1) / 2;
	r->lo = w[qu - 1];
	r->hi = w[walsh - qu];
	free(w);
	return 0;
}

int stats_paired_change_pct(const double *x, const double *y, size_t n, double conf, struct stats_shift *r)
{
	return change_pct(x, n, y, n, 1, conf, r);
}

/* ---- a fixed-seed generator ---- */

void stats_rng_seed(struct stats_rng *g, unsigned long long seed)
{
	g->state = seed;
}

unsigned long long stats_rng_next(struct stats_rng *g)
{
	unsigned long long z = (g->state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

size_t stats_rng_below(struct stats_rng *g, size_t n)
{
	if (n <= 1)
		return 0;
	/* Rejection keeps it uniform (no modulo bias). */
	unsigned long long limit = ~0ULL - (~0ULL % n);
	unsigned long long v;
	do
		v = stats_rng_next(g);
	while (v >= limit);
	return (size_t)(v % n);
}
