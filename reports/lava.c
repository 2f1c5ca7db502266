/* The LAVA writer: one run's probe checks, boots, metrics, speed-ups,
 * targets (and a compare document's decisions) as LAVA test sets and test
 * cases.  The rules (docs/lava.md): a finding is pass, fail or skip; a
 * number is a measurement case; what KVM cannot give on a host the probe
 * calls tcg-only is skip with the probe's reason, never fail, because a lab
 * that runs the same job on every board must not see red on a board that
 * boots at EL1 (Qualcomm's LAVA triage asks for exactly that). */
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "lava.h"

/* ---- names ---- */

static int id_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
	       c == '-';
}

char *lava_id(const char *name)
{
	struct kq_buf b;
	kq_buf_init(&b);
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (id_char_ok(*p))
			kq_buf_add(&b, p, 1);
		else
			kq_buf_printf(&b, "_x%02X", *p);
	}
	if (!b.len)
		kq_buf_add(&b, "_", 1);
	if (b.len > LAVA_ID_MAX) {
		/* FNV-1a over the whole mapped name: the cut name keeps its
		 * start (readable) and the hash keeps it apart from others. */
		uint32_t h = 2166136261u;
		for (size_t i = 0; i < b.len; i++)
			h = (h ^ (unsigned char)b.data[i]) * 16777619u;
		b.len = LAVA_ID_MAX - 9;
		b.data[b.len] = 0;
		kq_buf_printf(&b, "-%08x", h);
	}
	return kq_buf_steal(&b);
}

/* Units go into the signal as one word: blanks, '=', '<' and '>' (which
 * would end or split the signal) and control characters become '_'. */
static void put_units(FILE *out, const char *units)
{
	for (const unsigned char *p = (const unsigned char *)units; *p; p++)
		fputc(*p <= ' ' || *p == '=' || *p == '<' || *p == '>' || *p == 0x7f ? '_' : *p, out);
}

/* Log text from the run (check details, reasons): on one line, and
 * without '<' or '>' so that no text a host stored can form a signal. */
static void put_text(FILE *out, const char *text)
{
	for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++) {
		unsigned char c = *p;
		if (c == '<')
			c = '[';
		else if (c == '>')
			c = ']';
		else if (c < ' ' || c == 0x7f)
			c = ' ';
		fputc(c, out);
	}
}

static void note(FILE *out, const char *id, const char *what, const char *text)
{
	fputs("kvmqual: ", out);
	put_text(out, id);
	fprintf(out, ": %s: ", what);
	put_text(out, text);
	fputc('\n', out);
}

/* A measurement LAVA's Decimal reads and its database keeps (30 digits,
 * 10 after the point): fixed notation, trailing zeros cut. */
static int format_measurement(char buf[64], double v)
{
	if (!isfinite(v) || fabs(v) >= 1e18)
		return 0;
	snprintf(buf, 64, "%.6f", v);
	char *end = buf + strlen(buf);
	while (end > buf && end[-1] == '0')
		*--end = 0;
	if (end > buf && end[-1] == '.')
		*--end = 0;
	if (!strcmp(buf, "-0"))
		strcpy(buf, "0");
	return 1;
}

struct writer {
	FILE *out;
	const char *set;   /* the open test set, NULL when none */
	size_t cases;
};

static void set_begin(struct writer *w, const char *name)
{
	char *id = lava_id(name);
	fprintf(w->out, "<LAVA_SIGNAL_TESTSET START %s>\n", id);
	free(id);
	w->set = name;
}

static void set_end(struct writer *w)
{
	if (w->set)
		fprintf(w->out, "<LAVA_SIGNAL_TESTSET STOP>\n");
	w->set = NULL;
}

/* One case, as lava-test-case prints it (RESULT, then UNITS, then
 * MEASUREMENT); units only with a measurement. */
static void test_case(struct writer *w, const char *name, const char *result, double measurement, const char *units)
{
	char *id = lava_id(name), num[64];
	fprintf(w->out, "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=%s RESULT=%s", id, result);
	if (format_measurement(num, measurement)) {
		if (units && *units) {
			fputs(" UNITS=", w->out);
			put_units(w->out, units);
		}
		fprintf(w->out, " MEASUREMENT=%s", num);
	}
	fputs(">\n", w->out);
	free(id);
	w->cases++;
}

/* ---- what the run asked for and what it could not give ---- */

static int tcg_only(const struct report *r)
{
	return r->probe_verdict && !strcmp(r->probe_verdict, "tcg-only");
}

/* Whether the run was asked to measure accel: its command line's
 * --accel list when it has one, else the runner's default (TCG always,
 * KVM where the probe finds it usable, which a tcg-only host is not). */
static int asked_for(const struct report *r, enum report_accel a)
{
	if (a == REPORT_NATIVE)
		return 1;
	const char *cl = r->command_line ? r->command_line : "";
	for (const char *p = strstr(cl, "--accel"); p; p = strstr(p + 1, "--accel")) {
		const char *v = p + 7;
		if (*v != ' ' && *v != '=')
			continue;
		v++;
		size_t n = strcspn(v, " ");
		const char *name = report_accel_name(a);
		size_t len = strlen(name);
		for (const char *q = v; q < v + n;) {
			size_t m = strcspn(q, ",");
			if (m > n - (size_t)(q - v))
				m = n - (size_t)(q - v);
			if (m == len && !strncmp(q, name, len))
				return 1;
			q += m + 1;
		}
		return 0;
	}
	return a == REPORT_TCG || !tcg_only(r);
}

/* Whether accel has any number in the run. */
static int measured(const struct report *r, enum report_accel a)
{
	if (a != REPORT_NATIVE && r->boot.count[a])
		return 1;
	for (size_t i = 0; i < r->metric_count; i++)
		if (r->metrics[i].count[a])
			return 1;
	return 0;
}

struct absence {
	const char *result;  /* skip or fail */
	char *why;
};

/* The result of a case whose number is missing under accel, and why:
 * skip where nothing was to be had (KVM on a tcg-only host, an
 * accelerator the run was not asked for, native for a guest-only
 * workload), fail where the run should have measured it. */
static struct absence absent(const struct report *r, enum report_accel a, int elsewhere)
{
	const char *status = r->run_status ? r->run_status : "unknown";
	if (a == REPORT_KVM && tcg_only(r))
		return (struct absence){ "skip", kq_xasprintf("tcg-only host: %s", r->kvm_reason ? r->kvm_reason :
							      (r->probe_summary ? r->probe_summary : "the probe found KVM unusable")) };
	if (!asked_for(r, a))
		return (struct absence){ "skip", kq_xasprintf("the run was not asked to use %s (%s)",
							      report_accel_title(a), r->command_line) };
	if (strcmp(status, "complete")) {
		if (a == REPORT_KVM && r->kvm_reason && !measured(r, a))
			return (struct absence){ "fail", kq_xstrdup(r->kvm_reason) };
		return (struct absence){ "fail", kq_xasprintf("not measured: the run is %s%s%s", status,
							      r->run_reason ? ": " : "", r->run_reason ? r->run_reason : "") };
	}
	if (a == REPORT_NATIVE && elsewhere)
		return (struct absence){ "skip", kq_xstrdup("measured in the guest only") };
	return (struct absence){ "fail", kq_xasprintf("not measured under %s although the run is complete",
						      report_accel_title(a)) };
}

static void missing_case(struct writer *w, const struct report *r, const char *name, enum report_accel a,
			 int elsewhere)
{
	struct absence ab = absent(r, a, elsewhere);
	note(w->out, name, ab.result, ab.why);
	test_case(w, name, ab.result, NAN, NULL);
	free(ab.why);
}

/* ---- the sets ---- */

static const char *check_result(const char *status, int tcg_only_host)
{
	if (!status)
		return "unknown";
	if (!strcasecmp(status, "pass") || !strcasecmp(status, "warn"))
		return "pass";
	if (!strcasecmp(status, "skip"))
		return "skip";
	if (!strcasecmp(status, "fail"))
		return tcg_only_host ? "skip" : "fail";
	return "unknown";
}

static void write_probe(struct writer *w, const struct report *r)
{
	set_begin(w, "probe");
	int tcg = tcg_only(r);
	for (size_t i = 0; i < r->check_count; i++) {
		const struct report_check *c = &r->checks[i];
		if (!c->id || !*c->id)
			continue;
		const char *result = check_result(c->status, tcg);
		if (strcmp(result, "pass") || (c->status && !strcasecmp(c->status, "warn"))) {
			char *text = kq_xasprintf("%s%s%s%s%s%s%s%s%s", c->status ? c->status : "no status",
						  c->value ? ": " : "", c->value ? c->value : "", c->detail ? " (" : "",
						  c->detail ? c->detail : "", c->detail ? ")" : "", c->hint ? "; hint: " : "",
						  c->hint ? c->hint : "",
						  tcg && !strcmp(result, "skip") && c->status && !strcasecmp(c->status, "fail") ?
							  "; skip: the probe calls this host tcg-only" : "");
			note(w->out, c->id, result, text);
			free(text);
		}
		test_case(w, c->id, result, NAN, NULL);
	}
	const char *verdict = r->probe_verdict;
	if (!verdict) {
		note(w->out, "probe.verdict", "fail", "the run holds no probe verdict");
		test_case(w, "probe.verdict", "fail", NAN, NULL);
	} else {
		const char *result = !strcmp(verdict, "kvm-ready") || !strcmp(verdict, "kvm-limited") ? "pass" :
				     !strcmp(verdict, "tcg-only") ? "skip" : "unknown";
		char *text = kq_xasprintf("%s: %s", verdict, r->probe_summary ? r->probe_summary : "");
		note(w->out, "probe.verdict", result, text);
		free(text);
		test_case(w, "probe.verdict", result, NAN, NULL);
	}
	set_end(w);
}

static size_t sample_count(const struct report *r)
{
	size_t n = r->boot.count[REPORT_TCG] + r->boot.count[REPORT_KVM];
	for (size_t i = 0; i < r->metric_count; i++)
		for (int a = 0; a < REPORT_ACCELS; a++)
			n += r->metrics[i].count[a];
	return n;
}

static void write_run(struct writer *w, const struct report *r)
{
	set_begin(w, "run");
	const char *status = r->run_status ? r->run_status : "unknown";
	char *text = kq_xasprintf("run %lld on %s (%s): %s%s%s", (long long)r->run_id, r->model ? r->model : "?",
				  r->arch ? r->arch : "?", status, r->run_reason ? ": " : "",
				  r->run_reason ? r->run_reason : "");
	const char *result = !strcmp(status, "complete") ? "pass" : "fail";
	note(w->out, "run.status", result, text);
	free(text);
	test_case(w, "run.status", result, NAN, NULL);
	size_t n = sample_count(r);
	if (!n)
		note(w->out, "run.samples", "fail", "the run holds no sample");
	test_case(w, "run.samples", n ? "pass" : "fail", (double)n, "samples");
	if (r->emulated)
		note(w->out, "run", "note", "the probe marks this host emulated by QEMU: its numbers are not hardware performance");
	set_end(w);
}

static void write_boot(struct writer *w, const struct report *r)
{
	set_begin(w, "boot");
	for (enum report_accel a = REPORT_TCG; a <= REPORT_KVM; a++) {
		char *name = kq_xasprintf("boot.%s", report_accel_name(a));
		if (r->boot.total[a].n)
			test_case(w, name, "pass", r->boot.total[a].median, "ms");
		else
			missing_case(w, r, name, a, 0);
		free(name);
	}
	set_end(w);
}

static void write_accel(struct writer *w, const struct report *r, enum report_accel a)
{
	if (!r->metric_count)
		return;
	set_begin(w, report_accel_name(a));
	for (size_t i = 0; i < r->metric_count; i++) {
		const struct report_metric *m = &r->metrics[i];
		char *name = kq_xasprintf("%s.%s.%s", report_accel_name(a), m->workload, m->metric);
		if (m->spread[a].n)
			test_case(w, name, "pass", m->spread[a].median, m->unit);
		else
			missing_case(w, r, name, a, m->count[REPORT_TCG] + m->count[REPORT_KVM] > 0);
		free(name);
	}
	set_end(w);
}

/* The runner's own speed-ups: KVM and TCG as % of native, KVM/TCG. */
static void write_ratios(struct writer *w, const struct report *r)
{
	if (!r->metric_count)
		return;
	set_begin(w, "ratio");
	for (size_t i = 0; i < r->metric_count; i++) {
		const struct report_metric *m = &r->metrics[i];
		const struct {
			const char *suffix, *units;
			double value;
			enum report_accel needs;
		} ratios[] = {
			{ "kvm-pct-of-native", "%", m->kvm_pct_of_native, REPORT_KVM },
			{ "tcg-pct-of-native", "%", m->tcg_pct_of_native, REPORT_TCG },
			{ "kvm-over-tcg", "x", m->kvm_over_tcg, REPORT_KVM },
		};
		for (size_t k = 0; k < KQ_ARRAY_SIZE(ratios); k++) {
			char *name = kq_xasprintf("%s.%s.%s", m->workload, m->metric, ratios[k].suffix);
			if (isfinite(ratios[k].value))
				test_case(w, name, "pass", ratios[k].value, ratios[k].units);
			else if (!m->spread[ratios[k].needs].n)
				missing_case(w, r, name, ratios[k].needs, 0);
			else if (!m->spread[REPORT_NATIVE].n && ratios[k].units[0] == '%')
				missing_case(w, r, name, REPORT_NATIVE, 1);
			else if (!m->spread[REPORT_TCG].n)
				missing_case(w, r, name, REPORT_TCG, 0);
			else {
				/* Both sides measured, no ratio stored (a run cut off
				 * before its speed-ups were written). */
				note(w->out, name, "fail", "both sides were measured, but the run stored no ratio");
				test_case(w, name, "fail", NAN, NULL);
			}
			free(name);
		}
	}
	set_end(w);
}

static void write_targets(struct writer *w, const struct report *r)
{
	if (!r->target_count)
		return;
	set_begin(w, "targets");
	for (size_t i = 0; i < r->target_count; i++) {
		const struct report_target *t = &r->targets[i];
		char *name = kq_xasprintf("target.%s", t->name);
		const char *result = !strcmp(t->status, "pass") ? "pass" : !strcmp(t->status, "skip") ? "skip" :
				     !strcmp(t->status, "fail") ? "fail" : "unknown";
		/* Every target judges KVM: on a tcg-only host none can be met. */
		if (tcg_only(r) && strcmp(result, "pass"))
			result = "skip";
		char value[32], threshold[32];
		report_number(value, t->value);
		report_number(threshold, t->threshold);
		const char *unit = report_target_unit(t, r);
		char *text = kq_xasprintf("%s %s %s, target %s %s %s%s%s%s", t->metric, value, unit, t->op ? t->op : "?",
					  threshold, unit, t->detail && *t->detail ? " (" : "",
					  t->detail && *t->detail ? t->detail : "", t->detail && *t->detail ? ")" : "");
		note(w->out, name, result, text);
		if (tcg_only(r) && !strcmp(result, "skip"))
			note(w->out, name, "skip", r->kvm_reason ? r->kvm_reason : "tcg-only host");
		free(text);
		test_case(w, name, result, t->value, t->pct_of_native ? "%" : unit);
		free(name);
	}
	set_end(w);
}

static void write_compare(struct writer *w, const struct report *r, const struct lava_compare *c)
{
	set_begin(w, "compare");
	if (c->candidate != r->run_id) {
		char *text = kq_xasprintf("the compare document judged run %lld, not run %lld", c->candidate,
					  (long long)r->run_id);
		note(w->out, "compare.run", "fail", text);
		free(text);
		test_case(w, "compare.run", "fail", NAN, NULL);
		set_end(w);
		return;
	}
	note(w->out, "compare", "baseline", c->baseline ? c->baseline : "?");
	if (!c->count)
		note(w->out, "compare", "note", "nothing was compared (a first run on this machine?)");
	for (size_t i = 0; i < c->count; i++) {
		const struct lava_compare_metric *m = &c->metrics[i];
		char *name = kq_xasprintf("compare.%s.%s.%s", m->accel, m->workload, m->metric);
		const char *d = m->decision;
		const char *result = !strcmp(d, "regression") ? "fail" :
				     !strcmp(d, "improvement") || !strcmp(d, "no change") ? "pass" : "skip";
		if (strcmp(result, "pass")) {
			char base[32], cand[32], change[32], thr[32];
			report_number(base, m->base_median);
			report_number(cand, m->cand_median);
			report_number(change, m->change_pct);
			report_number(thr, m->threshold_pct);
			char *text = kq_xasprintf("%s: median %s -> %s, change %s %%, threshold %s %%%s%s", d, base, cand,
						  change, thr, m->why ? "; " : "", m->why ? m->why : "");
			note(w->out, name, result, text);
			free(text);
		}
		test_case(w, name, result, m->change_pct, "%");
		free(name);
	}
	set_end(w);
}

void lava_write_run(FILE *out, const struct report *r, const struct lava_compare *cmp)
{
	struct writer w = { .out = out };
	char *head = kq_xasprintf("run %lld (%s), %s", (long long)r->run_id, r->run_status ? r->run_status : "unknown",
				  report_status_title(r->status));
	fputs("kvmqual: LAVA results of ", out);
	put_text(out, head);
	fputc('\n', out);
	free(head);
	write_probe(&w, r);
	write_run(&w, r);
	write_boot(&w, r);
	for (enum report_accel a = REPORT_NATIVE; a < REPORT_ACCELS; a++)
		write_accel(&w, r, a);
	write_ratios(&w, r);
	write_targets(&w, r);
	if (cmp)
		write_compare(&w, r, cmp);
}

void lava_write_no_run(FILE *out, const char *why)
{
	struct writer w = { .out = out };
	set_begin(&w, "run");
	note(out, "run.status", "fail", why);
	test_case(&w, "run.status", "fail", NAN, NULL);
	set_end(&w);
}

/* ---- the compare document ---- */

static const char *str_member(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num_member(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

int lava_compare_load(struct lava_compare *c, const char *text, size_t len, const char *name, struct kq_err *err)
{
	memset(c, 0, sizeof(*c));
	cJSON *doc = cJSON_ParseWithLength(text, len);
	if (!doc)
		return kq_error(err, "%s: not JSON (a kvmqual compare --json document is expected)", name);
	c->doc = doc;
	const char *schema = str_member(doc, "schema");
	double version = num_member(doc, "version");
	if (!cJSON_IsObject(doc) || !schema || strcmp(schema, "kvmqual.compare")) {
		kq_error(err, "%s: not a kvmqual.compare document (schema %s)", name, schema ? schema : "missing");
		goto fail;
	}
	if (version != 1) {
		kq_error(err, "%s: kvmqual.compare version %g, this kvmqual reads version 1", name, version);
		goto fail;
	}
	c->error = str_member(doc, "error");
	if (c->error) {
		kq_error(err, "%s: the comparison itself failed: %.300s", name, c->error);
		goto fail;
	}
	double cand = num_member(doc, "candidate");
	if (!(cand >= 1 && cand <= 9e15 && cand == floor(cand))) {
		kq_error(err, "%s: candidate is not a run id", name);
		goto fail;
	}
	c->candidate = (long long)cand;
	c->baseline = str_member(cJSON_GetObjectItemCaseSensitive(doc, "baseline"), "description");
	const cJSON *metrics = cJSON_GetObjectItemCaseSensitive(doc, "metrics");
	if (!cJSON_IsArray(metrics)) {
		kq_error(err, "%s: metrics is not an array", name);
		goto fail;
	}
	size_t n = (size_t)cJSON_GetArraySize(metrics), i = 0;
	c->metrics = kq_xcalloc(n ? n : 1, sizeof(*c->metrics));
	for (const cJSON *m = metrics->child; m; m = m->next, i++) {
		struct lava_compare_metric *cm = &c->metrics[c->count];
		cm->accel = str_member(m, "accel");
		cm->workload = str_member(m, "workload");
		cm->metric = str_member(m, "metric");
		cm->decision = str_member(m, "decision");
		if (!cJSON_IsObject(m) || !cm->accel || !cm->workload || !cm->metric || !cm->decision) {
			kq_error(err, "%s: metrics[%zu] needs accel, workload, metric and decision strings", name, i);
			goto fail;
		}
		cm->why = str_member(m, "why");
		cm->change_pct = num_member(m, "change_pct");
		cm->threshold_pct = num_member(m, "threshold_pct");
		cm->base_median = num_member(cJSON_GetObjectItemCaseSensitive(m, "baseline"), "median");
		cm->cand_median = num_member(cJSON_GetObjectItemCaseSensitive(m, "candidate"), "median");
		c->count++;
	}
	return 0;
fail:
	lava_compare_free(c);
	return -1;
}

void lava_compare_free(struct lava_compare *c)
{
	free(c->metrics);
	cJSON_Delete(c->doc);
	memset(c, 0, sizeof(*c));
}
