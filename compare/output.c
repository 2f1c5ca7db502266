/* What kvmqual compare prints: the table for people and the JSON document
 * (schema kvmqual.compare).  The JUnit file is junit.c. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/json.h"
#include "compare.h"

void compare_format_number(char *buf, size_t size, double v)
{
	if (isnan(v))
		snprintf(buf, size, "-");
	else if (fabs(v) >= 1000 && fabs(v) < 1e10)
		snprintf(buf, size, "%.0f", v);
	else
		snprintf(buf, size, "%.4g", v);
}

static void fmt_pct(char *buf, size_t size, double v)
{
	if (isnan(v))
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%+.1f%%", v);
}

void compare_print_table(FILE *out, const struct compare_context *ctx, const struct compare_report *rep)
{
	fprintf(out, "candidate run %lld against %s (%s)\n", (long long)ctx->cand_run, ctx->baseline_desc, ctx->db);
	if (ctx->differences && *ctx->differences)
		fprintf(out, "compared although they differ (--allow-different): %s\n", ctx->differences);
	fprintf(out, "\n%-12s %-5s %-40s %11s %11s %8s %-17s %7s %6s\n", "decision", "accel", "metric", "baseline",
		"candidate", "change", "CI", "p", "thr");
	size_t counts[5] = { 0 };
	for (size_t i = 0; i < rep->count; i++) {
		const struct compare_result *r = &rep->results[i];
		counts[r->decision]++;
		char name[160], b[32], c[32], ch[32], lo[32], hi[32], ci[80], p[32], thr[32];
		snprintf(name, sizeof(name), "%s.%s", r->workload, r->metric);
		compare_format_number(b, sizeof(b), r->base_median);
		compare_format_number(c, sizeof(c), r->cand_median);
		fmt_pct(ch, sizeof(ch), r->change_pct);
		if (isnan(r->ci_lo)) {
			snprintf(ci, sizeof(ci), "-");
		} else {
			snprintf(lo, sizeof(lo), "%+.1f", r->ci_lo);
			snprintf(hi, sizeof(hi), "%+.1f", r->ci_hi);
			snprintf(ci, sizeof(ci), "[%s, %s]", lo, hi);
		}
		if (isnan(r->p))
			snprintf(p, sizeof(p), "-");
		else
			snprintf(p, sizeof(p), "%.3g", r->p);
		if (isnan(r->threshold_pct))
			snprintf(thr, sizeof(thr), "-");
		else
			snprintf(thr, sizeof(thr), "%.1f%%", r->threshold_pct);
		const char *dec = r->decision == COMPARE_REGRESSION ? "REGRESSION" : compare_decision_name(r->decision);
		fprintf(out, "%-12s %-5s %-40s %11s %11s %8s %-17s %7s %6s", dec, r->accel, name, b, c, ch, ci, p, thr);
		if (r->excluded_base || r->excluded_cand)
			fprintf(out, "  (%zu+%zu throttled left out)", r->excluded_base, r->excluded_cand);
		if (r->why[0])
			fprintf(out, "  %s", r->why);
		fputc('\n', out);
	}
	fprintf(out, "\n%zu regression%s, %zu improvement%s, %zu unchanged, %zu inconclusive, %zu missing; "
		     "%zu throttled sample%s left out\n",
		counts[COMPARE_REGRESSION], counts[COMPARE_REGRESSION] == 1 ? "" : "s", counts[COMPARE_IMPROVEMENT],
		counts[COMPARE_IMPROVEMENT] == 1 ? "" : "s", counts[COMPARE_NO_CHANGE], counts[COMPARE_INCONCLUSIVE],
		counts[COMPARE_MISSING], rep->excluded, rep->excluded == 1 ? "" : "s");
	/* What a green night does not say: the metrics whose threshold is
	 * wider than a 5 % change (their nights drift more than that). */
	size_t wide = 0, judged = 0, young = 0;
	for (size_t i = 0; i < rep->count; i++) {
		const struct compare_result *r = &rep->results[i];
		if (r->decision == COMPARE_MISSING || r->decision == COMPARE_INCONCLUSIVE || isnan(r->threshold_pct))
			continue;
		judged++;
		wide += r->threshold_pct > 5;
		young += !r->threshold_given && isnan(r->history_noise_pct);
	}
	if (young)
		fprintf(out, "%zu of %zu metrics judged without this machine's night-to-night noise (fewer than %zu "
			     "earlier runs): only changes beyond %g %% count; --threshold PCT sets one\n",
			young, judged, ctx->rule->history_min, ctx->rule->no_history_pct);
	else if (wide && isnan(ctx->rule->threshold_pct))
		fprintf(out, "%zu of %zu metrics cannot show a 5 %% change: their threshold (thr) is wider, from "
			     "their own night-to-night noise; pooling more good runs (--baseline last-good:N) "
			     "narrows it\n",
			wide, judged);
	if (isnan(ctx->rule->threshold_pct))
		fprintf(out, "rule: a change counts when Mann-Whitney p < %g and it exceeds the threshold "
			     "(thr: max(%g %%, %g x run-to-run noise x sqrt(1 + 1/baseline runs), %g x within-run "
			     "noise); until %zu earlier runs: max(%g %%, %g x within-run noise))\n",
			ctx->rule->alpha, ctx->rule->floor_pct, ctx->rule->between_factor,
			ctx->rule->within_factor_history, ctx->rule->history_min, ctx->rule->no_history_pct,
			ctx->rule->within_factor);
	else
		fprintf(out, "rule: a change counts when Mann-Whitney p < %g and it exceeds %g %%\n", ctx->rule->alpha,
			ctx->rule->threshold_pct);
}


void compare_print_json(FILE *out, const struct compare_context *ctx, const struct compare_report *rep)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "schema", "kvmqual.compare");
	cJSON_AddNumberToObject(doc, "version", 1);
	/* Strings from the store or the command line through kq_json_string:
	 * valid UTF-8 whatever a crafted store holds (RFC 8259). */
	kq_json_string_or_null(doc, "db", ctx->db);
	cJSON *base = cJSON_AddObjectToObject(doc, "baseline");
	kq_json_string_or_null(base, "description", ctx->baseline_desc);
	cJSON *runs = cJSON_AddArrayToObject(base, "runs");
	for (size_t i = 0; i < ctx->base_count; i++)
		cJSON_AddItemToArray(runs, cJSON_CreateNumber((double)ctx->base_runs[i]));
	cJSON_AddNumberToObject(doc, "candidate", (double)ctx->cand_run);
	kq_json_string_or_null(doc, "differences", ctx->differences ? ctx->differences : "");
	cJSON *rule = cJSON_AddObjectToObject(doc, "rule");
	kq_json_number_or_null(rule, "alpha", ctx->rule->alpha);
	kq_json_number_or_null(rule, "confidence", ctx->rule->conf);
	kq_json_number_or_null(rule, "threshold_pct", ctx->rule->threshold_pct);
	kq_json_number_or_null(rule, "floor_pct", ctx->rule->floor_pct);
	kq_json_number_or_null(rule, "within_factor", ctx->rule->within_factor);
	kq_json_number_or_null(rule, "within_factor_history", ctx->rule->within_factor_history);
	kq_json_number_or_null(rule, "between_factor", ctx->rule->between_factor);
	size_t counts[5] = { 0 };
	cJSON *metrics = cJSON_AddArrayToObject(doc, "metrics");
	for (size_t i = 0; i < rep->count; i++) {
		const struct compare_result *r = &rep->results[i];
		counts[r->decision]++;
		cJSON *m = cJSON_CreateObject();
		kq_json_string_or_null(m, "accel", r->accel);
		kq_json_string_or_null(m, "workload", r->workload);
		kq_json_string_or_null(m, "metric", r->metric);
		kq_json_string_or_null(m, "unit", r->unit);
		cJSON_AddBoolToObject(m, "higher_is_better", r->higher_is_better);
		cJSON_AddStringToObject(m, "decision", compare_decision_name(r->decision));
		cJSON *b = cJSON_AddObjectToObject(m, "baseline");
		kq_json_number_or_null(b, "median", r->base_median);
		cJSON_AddNumberToObject(b, "samples", (double)r->n_base);
		cJSON_AddNumberToObject(b, "excluded", (double)r->excluded_base);
		cJSON *c = cJSON_AddObjectToObject(m, "candidate");
		kq_json_number_or_null(c, "median", r->cand_median);
		cJSON_AddNumberToObject(c, "samples", (double)r->n_cand);
		cJSON_AddNumberToObject(c, "excluded", (double)r->excluded_cand);
		kq_json_number_or_null(m, "change_pct", r->change_pct);
		kq_json_number_or_null(m, "ci_low_pct", r->ci_lo);
		kq_json_number_or_null(m, "ci_high_pct", r->ci_hi);
		kq_json_number_or_null(m, "ci_level", r->ci_level);
		kq_json_number_or_null(m, "p", r->p);
		cJSON_AddBoolToObject(m, "exact", r->exact);
		kq_json_number_or_null(m, "threshold_pct", r->threshold_pct);
		cJSON_AddStringToObject(m, "threshold_from", r->threshold_given ? "option" : "noise");
		kq_json_number_or_null(m, "within_noise_pct", r->within_noise_pct);
		kq_json_number_or_null(m, "history_noise_pct", r->history_noise_pct);
		cJSON_AddNumberToObject(m, "history_runs", (double)r->history_runs);
		if (r->why[0])
			kq_json_string_or_null(m, "why", r->why);
		else
			cJSON_AddNullToObject(m, "why");
		cJSON_AddItemToArray(metrics, m);
	}
	cJSON *sum = cJSON_AddObjectToObject(doc, "summary");
	static const char *const keys[] = {
		[COMPARE_REGRESSION] = "regressions", [COMPARE_IMPROVEMENT] = "improvements",
		[COMPARE_NO_CHANGE] = "unchanged", [COMPARE_INCONCLUSIVE] = "inconclusive",
		[COMPARE_MISSING] = "missing",
	};
	for (size_t d = 0; d < KQ_ARRAY_SIZE(keys); d++)
		cJSON_AddNumberToObject(sum, keys[d], (double)counts[d]);
	cJSON_AddNumberToObject(sum, "throttled_excluded", (double)rep->excluded);
	cJSON_AddNullToObject(doc, "error");
	char *text = cJSON_Print(doc);
	fprintf(out, "%s\n", text);
	free(text);
	cJSON_Delete(doc);
}
