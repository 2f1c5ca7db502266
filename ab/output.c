/* What kvmqual ab and tune print: a table per experiment, the JSON
 * document (schema kvmqual.ab), JUnit XML. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../compare/compare.h"
#include "../lib/json.h"
#include "ab.h"

static void fmt_pct(char *buf, size_t size, double v)
{
	if (isnan(v))
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%+.1f%%", v);
}

static const char *status_name(enum ab_status st)
{
	return st == AB_COMPLETE ? "complete" : st == AB_FAILED_ARM || st == AB_STORE_FAILED ? "failed"
		: st == AB_INTERRUPTED ? "interrupted" : "skipped";
}

void ab_print_table(FILE *out, const struct ab_env *env, const struct ab_experiment *x)
{
	fprintf(out, "%s\n", x->title);
	for (size_t a = 0; a < x->narms; a++) {
		char what[600];
		ab_arm_describe(&x->arms[a], what, sizeof(what));
		char pages[64] = "";
		if (x->arms[a].page_kb_seen > 0)
			snprintf(pages, sizeof(pages), "; guest RAM on %ld KiB pages", x->arms[a].page_kb_seen);
		fprintf(out, "  %-6s %s%s%s%s%s%s\n", x->arms[a].name, a == 0 ? "(reference) " : "", what,
			x->arms[a].vcpus[0] ? "; vCPUs on " : "", x->arms[a].vcpus, pages,
			x->arms[a].failed ? "  FAILED" : "");
	}
	if (x->status == AB_SKIPPED) {
		fprintf(out, "  skipped: %s\n\n", x->reason);
		return;
	}
	fprintf(out, "  %d round%s a side, %s, %.0f s\n\n", x->rounds, x->rounds == 1 ? "" : "s", env->accel, x->wall_s);
	int many = x->narms > 2;
	fprintf(out, "%-12s %s%-40s %11s %11s %8s %-17s %7s %s\n", "decision", many ? "arm        " : "", "metric",
		x->arms[0].name, many ? "arm" : x->narms > 1 ? x->arms[1].name : "-", "change", "95% CI", "p", "passes");
	for (size_t i = 0; i < x->nresults; i++) {
		const struct ab_result *r = &x->results[i];
		const struct ab_verdict *v = &r->final;
		char name[100], a[32], b[32], ch[32], ci[64], p[32];
		snprintf(name, sizeof(name), "%s.%s", r->workload, r->metric);
		compare_format_number(a, sizeof(a), v->ref_median);
		compare_format_number(b, sizeof(b), v->arm_median);
		fmt_pct(ch, sizeof(ch), v->change_pct);
		if (isnan(v->ci_lo))
			snprintf(ci, sizeof(ci), "-");
		else
			snprintf(ci, sizeof(ci), "[%+.1f, %+.1f]", v->ci_lo, v->ci_hi);
		if (isnan(v->p))
			snprintf(p, sizeof(p), "-");
		else
			snprintf(p, sizeof(p), "%.3g", v->p);
		const char *dec = v->decision == AB_WORSE ? "REGRESSION" : ab_decision_name(v->decision);
		fprintf(out, "%-12s ", dec);
		if (many)
			fprintf(out, "%-10.10s ", x->arms[r->arm].name);
		fprintf(out, "%-40s %11s %11s %8s %-17s %7s %d", name, a, b, ch, ci, p, r->passes);
		if (v->why[0])
			fprintf(out, "  %s", v->why);
		fputc('\n', out);
	}
	if (x->status != AB_COMPLETE)
		fprintf(out, "\n%s: %s\n", status_name(x->status), x->reason);
	fprintf(out, "\nrule: a change counts when %s gives p < %g and it exceeds %g %%; a change is measured again "
		     "(%d re-run%s) and counts only when found again\n",
		env->rule.paired ? "the Wilcoxon signed-rank test of the round pairs" : "the Mann-Whitney test",
		env->rule.alpha, env->rule.threshold_pct, env->rule.reruns, env->rule.reruns == 1 ? "" : "s");
}

cJSON *ab_document(const char *command, const char *db, const struct ab_env *env, const char *guest_arch)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "schema", "kvmqual.ab");
	cJSON_AddNumberToObject(doc, "version", 1);
	cJSON_AddStringToObject(doc, "command", command);
	cJSON_AddStringToObject(doc, "db", db);
	cJSON_AddNumberToObject(doc, "session", (double)env->session_id);
	cJSON_AddStringToObject(doc, "accel", env->accel);
	cJSON_AddStringToObject(doc, "guest_arch", guest_arch);
	return doc;
}

void ab_print_document(cJSON *doc)
{
	kq_json_clean(doc);
	char *text = cJSON_Print(doc);
	printf("%s\n", text);
	free(text);
	cJSON_Delete(doc);
}

cJSON *ab_experiment_json(const struct ab_env *env, const struct ab_experiment *x)
{
	cJSON *e = cJSON_CreateObject();
	cJSON_AddNumberToObject(e, "id", (double)x->id);
	cJSON_AddStringToObject(e, "setting", x->setting);
	cJSON_AddStringToObject(e, "title", x->title);
	cJSON_AddStringToObject(e, "status", status_name(x->status));
	if (x->reason[0])
		cJSON_AddStringToObject(e, "reason", x->reason);
	else
		cJSON_AddNullToObject(e, "reason");
	cJSON_AddNumberToObject(e, "rounds", x->rounds);
	cJSON_AddNumberToObject(e, "wall_s", x->wall_s);
	cJSON *rule = cJSON_AddObjectToObject(e, "rule");
	cJSON_AddNumberToObject(rule, "alpha", env->rule.alpha);
	cJSON_AddNumberToObject(rule, "confidence", env->rule.conf);
	cJSON_AddNumberToObject(rule, "threshold_pct", env->rule.threshold_pct);
	cJSON_AddStringToObject(rule, "test", env->rule.paired ? "wilcoxon-signed-rank" : "mann-whitney");
	cJSON_AddNumberToObject(rule, "reruns", env->rule.reruns);
	cJSON *arms = cJSON_AddArrayToObject(e, "arms");
	for (size_t a = 0; a < x->narms; a++) {
		const struct ab_arm *arm = &x->arms[a];
		cJSON *o = cJSON_CreateObject();
		char what[600];
		ab_arm_describe(arm, what, sizeof(what));
		cJSON_AddNumberToObject(o, "index", (double)a);
		cJSON_AddStringToObject(o, "name", arm->name);
		cJSON_AddStringToObject(o, "spec", arm->spec ? arm->spec : "");
		cJSON_AddStringToObject(o, "changes", what);
		cJSON_AddStringToObject(o, "fragment", arm->fragment);
		cJSON_AddBoolToObject(o, "failed", arm->failed);
		if (arm->failed)
			cJSON_AddStringToObject(o, "why", arm->why);
		else
			cJSON_AddNullToObject(o, "why");
		cJSON_AddStringToObject(o, "vcpus", arm->vcpus);
		/* hugepages=SIZE: the page size QEMU's smaps showed under guest RAM. */
		if (arm->page_kb_seen > 0)
			cJSON_AddNumberToObject(o, "guest_page_kb", (double)arm->page_kb_seen);
		else
			cJSON_AddNullToObject(o, "guest_page_kb");
		cJSON_AddItemToArray(arms, o);
	}
	cJSON *results = cJSON_AddArrayToObject(e, "results");
	for (size_t i = 0; i < x->nresults; i++) {
		const struct ab_result *r = &x->results[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "arm", (double)r->arm);
		cJSON_AddStringToObject(o, "workload", r->workload);
		cJSON_AddStringToObject(o, "metric", r->metric);
		cJSON_AddStringToObject(o, "unit", r->unit);
		cJSON_AddBoolToObject(o, "higher_is_better", r->higher_is_better);
		cJSON_AddStringToObject(o, "decision", ab_decision_name(r->final.decision));
		cJSON_AddNumberToObject(o, "rounds", (double)r->final.n);
		kq_json_number_or_null(o, "reference_median", r->final.ref_median);
		kq_json_number_or_null(o, "arm_median", r->final.arm_median);
		kq_json_number_or_null(o, "change_pct", r->final.change_pct);
		kq_json_number_or_null(o, "ci_low_pct", r->final.ci_lo);
		kq_json_number_or_null(o, "ci_high_pct", r->final.ci_hi);
		kq_json_number_or_null(o, "ci_level", r->final.ci_level);
		kq_json_number_or_null(o, "p", r->final.p);
		cJSON_AddNumberToObject(o, "passes", r->passes);
		cJSON *first = cJSON_AddObjectToObject(o, "first_pass");
		cJSON_AddStringToObject(first, "decision", ab_decision_name(r->first.decision));
		kq_json_number_or_null(first, "change_pct", r->first.change_pct);
		kq_json_number_or_null(first, "p", r->first.p);
		if (r->final.why[0])
			cJSON_AddStringToObject(o, "why", r->final.why);
		else
			cJSON_AddNullToObject(o, "why");
		cJSON_AddItemToArray(results, o);
	}
	if (x->recommended >= 0) {
		cJSON *rec = cJSON_AddObjectToObject(e, "recommendation");
		cJSON_AddNumberToObject(rec, "arm", x->recommended);
		cJSON_AddStringToObject(rec, "name", x->arms[x->recommended].name);
		cJSON_AddStringToObject(rec, "fragment", x->arms[x->recommended].fragment);
		cJSON_AddStringToObject(rec, "confidence", x->confidence);
		cJSON_AddStringToObject(rec, "because", x->because);
	}
	return e;
}

static void junit_attr(FILE *out, const char *name, const char *value)
{
	fprintf(out, " %s=\"", name);
	compare_xml_escape(out, value);
	fputc('"', out);
}

/* Through kq_out, as compare --junit (issue 13 finding 2): a regular file
 * is written beside itself and renamed, complete or not at all; a FIFO a
 * CI job reads, a device such as /dev/null or a symbolic link is written
 * into, never replaced (a fixed PATH.tmp renamed over PATH made /dev/null
 * a regular file, and followed a link someone put at PATH.tmp). */
int ab_write_junit(const char *path, const struct ab_experiment *const *xs, size_t count, struct kq_err *err)
{
	struct kq_out o;
	struct kq_err oerr;
	if (kq_out_open(&o, path, &oerr))
		return kq_error(err, "--junit: %s", oerr.msg);
	FILE *out = o.f;
	size_t tests = 0, failures = 0;
	for (size_t k = 0; k < count; k++) {
		tests += xs[k]->nresults;
		for (size_t i = 0; i < xs[k]->nresults; i++)
			failures += xs[k]->results[i].final.decision == AB_WORSE;
		for (size_t a = 0; a < xs[k]->narms; a++) {
			tests += xs[k]->arms[a].failed;
			failures += xs[k]->arms[a].failed;
		}
	}
	char stamp[32];
	time_t now = time(NULL);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", gmtime(&now));
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(out, "<testsuites name=\"kvmqual ab\" tests=\"%zu\" failures=\"%zu\" errors=\"0\">\n", tests, failures);
	for (size_t k = 0; k < count; k++) {
		const struct ab_experiment *x = xs[k];
		size_t xf = 0, xt = x->nresults;
		for (size_t i = 0; i < x->nresults; i++)
			xf += x->results[i].final.decision == AB_WORSE;
		for (size_t a = 0; a < x->narms; a++) {
			xt += x->arms[a].failed;
			xf += x->arms[a].failed;
		}
		char *suite = kq_xasprintf("kvmqual.ab.%s", x->setting);
		fprintf(out, "  <testsuite");
		junit_attr(out, "name", suite);
		fprintf(out, " tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%d\" time=\"%.1f\" timestamp=\"%s\">\n",
			xt, xf, x->status == AB_SKIPPED, x->wall_s, stamp);
		for (size_t a = 0; a < x->narms; a++) {
			if (!x->arms[a].failed)
				continue;
			char *name = kq_xasprintf("arm %s", x->arms[a].name);
			fprintf(out, "    <testcase");
			junit_attr(out, "classname", suite);
			junit_attr(out, "name", name);
			fprintf(out, " time=\"0\">\n      <failure type=\"failed\"");
			junit_attr(out, "message", x->arms[a].why);
			fprintf(out, "/>\n    </testcase>\n");
			free(name);
		}
		for (size_t i = 0; i < x->nresults; i++) {
			const struct ab_result *r = &x->results[i];
			const struct ab_verdict *v = &r->final;
			char *classname = kq_xasprintf("%s.%s", suite, x->arms[r->arm].name);
			char *name = kq_xasprintf("%s.%s", r->workload, r->metric);
			char *numbers = kq_xasprintf(
				"%s against %s: change %+.2f %% (%.0f %% CI %+.2f to %+.2f), p = %.4g, %zu rounds, %d pass%s; "
				"medians %.6g and %.6g %s; %s is better%s%s",
				x->arms[r->arm].name, x->arms[0].name, v->change_pct, 100 * (isnan(v->ci_level) ? 0.95 : v->ci_level),
				v->ci_lo, v->ci_hi, v->p, v->n, r->passes, r->passes == 1 ? "" : "es", v->ref_median,
				v->arm_median, r->unit, r->higher_is_better ? "higher" : "lower", v->why[0] ? "; " : "", v->why);
			fprintf(out, "    <testcase");
			junit_attr(out, "classname", classname);
			junit_attr(out, "name", name);
			fprintf(out, " time=\"0\">\n");
			if (v->decision == AB_WORSE) {
				char *msg = kq_xasprintf("regression: %+.1f %% (p = %.3g)", v->change_pct, v->p);
				fprintf(out, "      <failure type=\"regression\"");
				junit_attr(out, "message", msg);
				fprintf(out, ">");
				compare_xml_escape(out, numbers);
				fprintf(out, "</failure>\n");
				free(msg);
			} else if (v->decision == AB_INCONCLUSIVE || v->decision == AB_FAILED) {
				char *msg = kq_xasprintf("%s: %s", ab_decision_name(v->decision), v->why);
				fprintf(out, "      <skipped");
				junit_attr(out, "message", msg);
				fprintf(out, "/>\n");
				free(msg);
			} else {
				fprintf(out, "      <system-out>%s: ", ab_decision_name(v->decision));
				compare_xml_escape(out, numbers);
				fprintf(out, "</system-out>\n");
			}
			fprintf(out, "    </testcase>\n");
			free(classname);
			free(name);
			free(numbers);
		}
		fprintf(out, "  </testsuite>\n");
		free(suite);
	}
	fprintf(out, "</testsuites>\n");
	if (kq_out_commit(&o, &oerr))
		return kq_error(err, "--junit: %s", oerr.msg);
	return 0;
}
