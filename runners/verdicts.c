/* kvmqual run: the verdicts.  The medians judged against the targets
 * (runners/targets.conf), the speed-ups (KVM/TCG, each as % of native),
 * and with --until-stable each metric's interval, into the store and the
 * run's summary document. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../lib/json.h"
#include "run.h"

static double median_of(const struct run_ctx *c, const char *accel, const char *workload, const char *metric,
			int *higher)
{
	double v[256];
	int n = 0;
	for (size_t i = 0; i < c->ncol && n < 256; i++) {
		const struct collected *k = &c->col[i];
		if (!strcmp(k->accel, accel) && !strcmp(k->workload, workload) && !strcmp(k->metric, metric)) {
			v[n++] = k->value;
			if (higher)
				*higher = k->higher_is_better;
		}
	}
	return run_median(v, n);
}

/* value as a percentage of native, "better" meaning higher. */
static double pct_of(double value, double native, int higher)
{
	if (isnan(value) || isnan(native) || value <= 0 || native <= 0)
		return NAN;
	return higher ? 100.0 * value / native : 100.0 * native / value;
}

int run_judge(struct run_ctx *c, const struct target *t, size_t nt, cJSON *summary)
{
	int failed = 0;
	cJSON *verdicts = cJSON_AddArrayToObject(summary, "verdicts");
	for (size_t i = 0; i < nt; i++) {
		double value;
		int higher = 1;
		char detail[256] = "";
		if (!strcmp(t[i].workload, "boot")) {
			value = c->boot_ms[!strcmp(t[i].accel, "kvm")];
		} else {
			value = median_of(c, t[i].accel, t[i].workload, t[i].metric, &higher);
			if (t[i].op == OP_PCT_NATIVE_GE) {
				double native = median_of(c, "native", t[i].workload, t[i].metric, NULL);
				snprintf(detail, sizeof(detail), "%s %.4g, native %.4g", t[i].accel, value, native);
				value = pct_of(value, native, higher);
			}
		}
		const char *status;
		if (isnan(value)) {
			status = "skip";
			snprintf(detail, sizeof(detail), "not measured: %s did not run it", t[i].accel);
		} else {
			status = target_met(&t[i], value) ? "pass" : "fail";
		}
		failed += !strcmp(status, "fail");
		char metric[100];
		snprintf(metric, sizeof(metric), "%s.%s", t[i].workload, t[i].metric);
		/* The store knows plain comparisons: a %native target is ">=" on
		 * the metric's percentage of native. */
		char stored_metric[120];
		snprintf(stored_metric, sizeof(stored_metric), t[i].op == OP_PCT_NATIVE_GE ? "%s (%% of native)" : "%s",
			 metric);
		struct store_verdict v = { .target = t[i].name, .metric = stored_metric, .value = value,
					   .threshold = t[i].threshold,
					   .op = t[i].op == OP_PCT_NATIVE_GE ? ">=" : target_op_name(t[i].op),
					   .status = status, .detail = detail };
		struct kq_err err;
		if (run_stop_requested != RUN_STOP_STORE && store_add_verdict(c->store, c->run_id, &v, &err))
			run_store_failed(c, &err);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "target", t[i].name);
		cJSON_AddStringToObject(o, "accel", t[i].accel);
		cJSON_AddStringToObject(o, "metric", metric);
		cJSON_AddStringToObject(o, "op", target_op_name(t[i].op));
		cJSON_AddNumberToObject(o, "threshold", t[i].threshold);
		kq_json_number_or_null(o, "value", value);
		cJSON_AddStringToObject(o, "unit", t[i].unit);
		cJSON_AddStringToObject(o, "status", status);
		cJSON_AddStringToObject(o, "detail", detail);
		cJSON_AddItemToArray(verdicts, o);
	}
	return failed;
}

void run_speedups(struct run_ctx *c, cJSON *summary)
{
	cJSON *rows = cJSON_AddArrayToObject(summary, "metrics");
	for (size_t i = 0; i < c->ncol; i++) {
		const struct collected *k = &c->col[i];
		int seen = 0;
		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(c->col[j].workload, k->workload) && !strcmp(c->col[j].metric, k->metric);
		if (seen)
			continue;
		int higher = k->higher_is_better;
		double native = median_of(c, "native", k->workload, k->metric, NULL);
		double tcg = median_of(c, "tcg", k->workload, k->metric, NULL);
		double kvm = median_of(c, "kvm", k->workload, k->metric, NULL);
		struct store_speedup sp = {
			.workload = k->workload, .metric = k->metric,
			.kvm_over_tcg = isnan(kvm) || isnan(tcg) ? NAN : pct_of(kvm, tcg, higher) / 100.0,
			.kvm_pct_of_native = pct_of(kvm, native, higher),
			.tcg_pct_of_native = pct_of(tcg, native, higher),
		};
		struct kq_err err;
		if (run_stop_requested != RUN_STOP_STORE && store_add_speedup(c->store, c->run_id, &sp, &err))
			run_store_failed(c, &err);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "workload", k->workload);
		cJSON_AddStringToObject(o, "metric", k->metric);
		cJSON_AddStringToObject(o, "unit", k->unit);
		cJSON_AddBoolToObject(o, "higher_is_better", higher);
		const double vals[] = { native, tcg, kvm, sp.tcg_pct_of_native, sp.kvm_pct_of_native, sp.kvm_over_tcg };
		const char *names[] = { "native", "tcg", "kvm", "tcg_pct_of_native", "kvm_pct_of_native", "kvm_over_tcg" };
		for (size_t n = 0; n < 6; n++)
			kq_json_number_or_null(o, names[n], vals[n]);
		cJSON_AddItemToArray(rows, o);
	}
}

/* --until-stable: each metric's interval, as verdicts of the run (target
 * "stable: ACCEL WORKLOAD.METRIC", value the half-width in percent of the
 * median, threshold the target) and in the summary. */
void run_stability_report(struct run_ctx *c, cJSON *summary)
{
	cJSON *o = cJSON_AddObjectToObject(summary, "stability");
	cJSON_AddNumberToObject(o, "target_pct", c->stable_pct);
	cJSON_AddNumberToObject(o, "budget_s", c->stable_budget_s);
	cJSON_AddNumberToObject(o, "max_iterations", c->max_iterations);
	/* A share of the budget that ran out counts: the run may end a little
	 * before the whole budget (steps after the last sampled one, such as
	 * the cold boot, take no share of it). */
	cJSON_AddBoolToObject(o, "budget_spent", c->stable_budget_hit || kq_now_ns() >= c->stable_deadline_ns);
	cJSON *all = cJSON_AddArrayToObject(o, "metrics");
	cJSON *unsettled = cJSON_AddArrayToObject(o, "unsettled");
	for (size_t i = 0; i < c->nstab; i++) {
		const struct stability *st = &c->stab[i];
		char name[160], target[200], metric[200], detail[200];
		snprintf(name, sizeof(name), "%s %s.%s", st->accel, st->workload, st->metric);
		snprintf(target, sizeof(target), "stable: %s", name);
		snprintf(metric, sizeof(metric), "%s.%s (95 %% CI half-width, %% of median)", st->workload, st->metric);
		if (st->settled)
			snprintf(detail, sizeof(detail), "settled after %d samples", st->samples);
		else if (isinf(st->half_width_pct))
			snprintf(detail, sizeof(detail), "did not settle: %d samples are too few for a 95 %% interval",
				 st->samples);
		else
			snprintf(detail, sizeof(detail), "did not settle after %d samples (%s)", st->samples,
				 st->samples >= c->max_iterations ? "--max-iterations reached" : "budget spent");
		struct store_verdict v = { .target = target, .metric = metric, .value = st->half_width_pct,
					   .threshold = c->stable_pct, .op = "<=",
					   .status = st->settled ? "pass" : "fail", .detail = detail };
		struct kq_err err;
		if (run_stop_requested != RUN_STOP_STORE && store_add_verdict(c->store, c->run_id, &v, &err))
			run_store_failed(c, &err);
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "accel", st->accel);
		cJSON_AddStringToObject(m, "workload", st->workload);
		cJSON_AddStringToObject(m, "metric", st->metric);
		cJSON_AddNumberToObject(m, "samples", st->samples);
		kq_json_number_or_null(m, "half_width_pct", st->half_width_pct);
		cJSON_AddBoolToObject(m, "settled", st->settled);
		cJSON_AddStringToObject(m, "detail", detail);
		cJSON_AddItemToArray(all, m);
		if (!st->settled)
			cJSON_AddItemToArray(unsettled, cJSON_CreateString(name));
	}
}
