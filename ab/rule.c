/* The decision of one metric in an A/B experiment: significant (p < alpha)
 * AND beyond a threshold, as Firecracker's A/B tests decide (a permutation
 * test plus a minimum change); here the test is the Wilcoxon signed-rank
 * test of the round pairs (a permutation test of the signs of the paired
 * differences, exact) and the change is the paired Hodges-Lehmann shift of
 * the logarithms, with its interval.  The defaults were chosen with
 * bench/ab-sim.sh on real interleaved samples of this host (docs/ab.md). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../lib/stats.h"
#include "ab.h"

void ab_rule_default(struct ab_rule *r)
{
	r->alpha = 0.01;
	r->conf = 0.95;
	r->threshold_pct = 2;
	r->paired = 1;
	r->reruns = 1;
	r->pool = 0;
}

static const char *const decision_names[] = {
	[AB_WORSE] = "regression", [AB_BETTER] = "improvement", [AB_SAME] = "no change",
	[AB_INCONCLUSIVE] = "inconclusive", [AB_FAILED] = "failed",
};

const char *ab_decision_name(enum ab_decision d)
{
	return (size_t)d < KQ_ARRAY_SIZE(decision_names) ? decision_names[d] : "?";
}

void ab_decide(const double *ref, const double *arm, size_t n, int higher_is_better, const struct ab_rule *rule,
	       struct ab_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->n = n;
	v->ref_median = n ? stats_median(ref, n) : NAN;
	v->arm_median = n ? stats_median(arm, n) : NAN;
	v->change_pct = v->ci_lo = v->ci_hi = v->ci_level = v->p = NAN;
	if (!n) {
		v->decision = AB_INCONCLUSIVE;
		snprintf(v->why, sizeof(v->why), "no rounds");
		return;
	}
	struct stats_shift change;
	int crc = rule->paired ? stats_paired_change_pct(ref, arm, n, rule->conf, &change)
			       : stats_change_pct(ref, n, arm, n, rule->conf, &change);
	if (crc == 0) {
		v->change_pct = change.estimate;
		v->ci_lo = change.lo;
		v->ci_hi = change.hi;
		v->ci_level = change.level;
	}
	double min_p;
	if (rule->paired) {
		struct stats_sr sr;
		if (stats_signed_rank(ref, arm, n, STATS_TWO_SIDED, STATS_AUTO, &sr) == 0)
			v->p = sr.p;
		min_p = stats_sr_min_p(n);
	} else {
		struct stats_mw mw;
		if (stats_mann_whitney(ref, n, arm, n, STATS_TWO_SIDED, STATS_AUTO, &mw) == 0)
			v->p = mw.p;
		min_p = stats_mw_min_p(n, n);
	}
	if (min_p >= rule->alpha) {
		v->decision = AB_INCONCLUSIVE;
		snprintf(v->why, sizeof(v->why),
			 "%zu rounds a side: the test cannot reach p < %g (its smallest p is %.3g); run more rounds", n,
			 rule->alpha, min_p);
		return;
	}
	if (isnan(v->change_pct) || isnan(v->p)) {
		v->decision = AB_INCONCLUSIVE;
		snprintf(v->why, sizeof(v->why), "no change in percent: the reference's values are 0 or missing");
		return;
	}
	int significant = v->p < rule->alpha;
	int up = v->change_pct > rule->threshold_pct, down = v->change_pct < -rule->threshold_pct;
	int worse = higher_is_better ? down : up, better = higher_is_better ? up : down;
	v->decision = significant && worse ? AB_WORSE : significant && better ? AB_BETTER : AB_SAME;
}
