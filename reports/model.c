/* The report's model: one run of the store's JSON export (kvmqual.export)
 * turned into medians and spreads per workload metric and accelerator, the
 * probe's findings in the page's order, the targets, the host's conditions,
 * and the verdict with its reason.  The document comes from outside (a
 * bundle a host sent in) as much as from our own store: every member is
 * type-checked, and a wrong one is an error naming it. */
#define _GNU_SOURCE
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../store/store.h"
#include "../store/read_report.h"
#include "report.h"

static const char *const accel_names[REPORT_ACCELS] = { "native", "tcg", "kvm" };
static const char *const accel_titles[REPORT_ACCELS] = { "native", "TCG", "KVM" };

const char *report_accel_name(enum report_accel a)
{
	return a < REPORT_ACCELS ? accel_names[a] : "?";
}

const char *report_accel_title(enum report_accel a)
{
	return a < REPORT_ACCELS ? accel_titles[a] : "?";
}

const char *report_status_class(enum report_status s)
{
	switch (s) {
	case REPORT_QUALIFIED: return "qualified";
	case REPORT_QUALIFIED_WITH_LIMITS: return "qualified-with-limits";
	default: return "not-qualified";
	}
}

const char *report_status_title(enum report_status s)
{
	switch (s) {
	case REPORT_QUALIFIED: return "Qualified";
	case REPORT_QUALIFIED_WITH_LIMITS: return "Qualified with limits";
	default: return "Not qualified";
	}
}

static int accel_index(const char *name)
{
	for (int a = 0; a < REPORT_ACCELS; a++)
		if (name && !strcmp(name, accel_names[a]))
			return a;
	return -1;
}

/* ---- reading members, with the first type error kept ---- */

struct loader {
	struct kq_err *err;
	int failed;
};

static void bad(struct loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bad(struct loader *l, const char *fmt, ...)
{
	if (l->failed++)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *msg = kq_xvasprintf(fmt, ap);
	va_end(ap);
	kq_error(l->err, "the export document: %s", msg);
	free(msg);
}

/* A string member; NULL when absent or null. */
static const char *get_str(struct loader *l, const cJSON *o, const char *name, const char *where)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!v || cJSON_IsNull(v))
		return NULL;
	if (!cJSON_IsString(v)) {
		bad(l, "%s.%s is not a string", where, name);
		return NULL;
	}
	return v->valuestring;
}

/* A number member; NaN when absent or null. */
static double get_num(struct loader *l, const cJSON *o, const char *name, const char *where)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!v || cJSON_IsNull(v))
		return NAN;
	if (!cJSON_IsNumber(v)) {
		bad(l, "%s.%s is not a number", where, name);
		return NAN;
	}
	return v->valuedouble;
}

/* An array member of objects; NULL when absent or null. */
static const cJSON *get_rows(struct loader *l, const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!v || cJSON_IsNull(v))
		return NULL;
	if (!cJSON_IsArray(v)) {
		bad(l, "runs[0].%s is not an array", name);
		return NULL;
	}
	int i = 0;
	for (const cJSON *row = v->child; row; row = row->next, i++)
		if (!cJSON_IsObject(row)) {
			bad(l, "runs[0].%s[%d] is not an object", name, i);
			return NULL;
		}
	return v;
}

/* Lenient reads of the probe's own document, which is the probe's schema
 * and only decorates the report: wrong types count as absent. */
static const cJSON *probe_get(const cJSON *o, const char *path)
{
	char *copy = kq_xstrdup(path), *save = NULL;
	for (char *key = strtok_r(copy, ".", &save); key && o; key = strtok_r(NULL, ".", &save))
		o = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
	free(copy);
	return o;
}

static const char *probe_str(const cJSON *probe, const char *path)
{
	const cJSON *v = probe_get(probe, path);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Flags arrive as an array of strings; kept comma-separated. */
static char *flags_text(struct loader *l, const cJSON *row, const char *where)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, "flags");
	if (!v || cJSON_IsNull(v))
		return NULL;
	if (!cJSON_IsArray(v)) {
		bad(l, "%s.flags is not an array", where);
		return NULL;
	}
	struct kq_buf b;
	kq_buf_init(&b);
	for (const cJSON *f = v->child; f; f = f->next) {
		if (!cJSON_IsString(f)) {
			bad(l, "%s.flags holds something that is not a string", where);
			break;
		}
		if (!*f->valuestring)
			continue;
		kq_buf_printf(&b, "%s%s", b.len ? "," : "", f->valuestring);
	}
	if (!b.len) {
		kq_buf_free(&b);
		return NULL;
	}
	return kq_buf_steal(&b);
}

static int has_flag(const char *flags, const char *flag)
{
	size_t len = strlen(flag);
	for (const char *p = flags; p && *p;) {
		size_t n = strcspn(p, ",");
		if (n == len && !strncmp(p, flag, len))
			return 1;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

static void push_value(double **values, size_t *count, double v)
{
	/* Grows in powers of two: a run's samples per metric are few, but a
	 * bundle can hold anything. */
	if ((*count & (*count - 1)) == 0)
		*values = kq_xrealloc(*values, (*count ? *count * 2 : 1) * sizeof(**values));
	(*values)[(*count)++] = v;
}

/* ---- the parts of a run ---- */

static int check_rank(const char *status)
{
	if (status && !strcasecmp(status, "fail"))
		return 0;
	if (status && !strcasecmp(status, "warn"))
		return 1;
	return 2;
}

/* Failures, then warnings, then the rest; the probe's order within each. */
static void load_checks(struct loader *l, struct report *r, const cJSON *rows, const char *where)
{
	size_t n = (size_t)cJSON_GetArraySize(rows);
	struct report_check *all = kq_xcalloc(n ? n : 1, sizeof(*all));
	size_t count = 0;
	int i = 0;
	for (const cJSON *row = rows->child; row; row = row->next, i++) {
		if (!cJSON_IsObject(row)) {
			bad(l, "%s[%d] is not an object", where, i);
			break;
		}
		char at[64];
		snprintf(at, sizeof(at), "%s[%d]", where, i);
		struct report_check *c = &all[count++];
		c->id = get_str(l, row, "id", at);
		c->status = get_str(l, row, "status", at);
		c->value = get_str(l, row, "value", at);
		c->detail = get_str(l, row, "detail", at);
		c->hint = get_str(l, row, "hint", at);
		c->rank = check_rank(c->status);
	}
	r->checks = kq_xcalloc(count ? count : 1, sizeof(*r->checks));
	for (int rank = 0; rank <= 2; rank++)
		for (size_t k = 0; k < count; k++)
			if (all[k].rank == rank)
				r->checks[r->check_count++] = all[k];
	free(all);
}

static struct report_metric *metric_for(struct report *r, const char *workload, const char *metric)
{
	for (size_t i = 0; i < r->metric_count; i++)
		if (!strcmp(r->metrics[i].workload, workload) && !strcmp(r->metrics[i].metric, metric))
			return &r->metrics[i];
	r->metrics = kq_xrealloc(r->metrics, (r->metric_count + 1) * sizeof(*r->metrics));
	struct report_metric *m = &r->metrics[r->metric_count++];
	memset(m, 0, sizeof(*m));
	m->workload = workload;
	m->metric = metric;
	m->kvm_over_tcg = m->kvm_pct_of_native = m->tcg_pct_of_native = NAN;
	return m;
}

static void note_conditions(struct report_conditions *c, const cJSON *cond)
{
	if (!cJSON_IsObject(cond))
		return;
	const cJSON *v;
	c->samples++;
	if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(cond, "load1"))) {
		c->load_min = isnan(c->load_min) ? v->valuedouble : fmin(c->load_min, v->valuedouble);
		c->load_max = isnan(c->load_max) ? v->valuedouble : fmax(c->load_max, v->valuedouble);
	}
	if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(cond, "cpu_mhz"))) {
		c->mhz_min = isnan(c->mhz_min) ? v->valuedouble : fmin(c->mhz_min, v->valuedouble);
		c->mhz_max = isnan(c->mhz_max) ? v->valuedouble : fmax(c->mhz_max, v->valuedouble);
	}
	if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(cond, "temp_c")))
		c->temp_max = isnan(c->temp_max) ? v->valuedouble : fmax(c->temp_max, v->valuedouble);
	if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(cond, "governor")) && *v->valuestring &&
	    !strchr(v->valuestring, ',') && !has_flag(c->governors, v->valuestring)) {
		char *g = kq_xasprintf("%s%s%s", c->governors ? c->governors : "", c->governors ? "," : "",
				       v->valuestring);
		free(c->governors);
		c->governors = g;
	}
}

static void add_flagged(struct report *r, const char *accel, const char *workload, const char *metric,
			const char *unit, double value, int iteration, char *flags)
{
	r->flagged = kq_xrealloc(r->flagged, (r->flagged_count + 1) * sizeof(*r->flagged));
	r->flagged[r->flagged_count++] = (struct report_flagged){
		.accel = accel, .workload = workload, .metric = metric, .unit = unit,
		.value = value, .iteration = iteration, .flags = flags,
	};
}

static void load_samples(struct loader *l, struct report *r, const cJSON *rows)
{
	int i = 0;
	for (const cJSON *row = rows ? rows->child : NULL; row && !l->failed; row = row->next, i++) {
		char at[48];
		snprintf(at, sizeof(at), "runs[0].samples[%d]", i);
		const char *accel = get_str(l, row, "accel", at);
		const char *workload = get_str(l, row, "workload", at);
		const char *metric = get_str(l, row, "metric", at);
		const char *unit = get_str(l, row, "unit", at);
		double value = get_num(l, row, "value", at);
		double iteration = get_num(l, row, "iteration", at);
		double higher = get_num(l, row, "higher_is_better", at);
		int a = accel_index(accel);
		if (l->failed)
			return;
		if (a < 0 || !workload || !*workload || !metric || !*metric) {
			bad(l, "%s: needs accel (native, tcg or kvm), workload and metric", at);
			return;
		}
		struct report_metric *m = metric_for(r, workload, metric);
		if (!m->unit)
			m->unit = unit ? unit : "";
		if (m->count[0] + m->count[1] + m->count[2] == 0)
			m->higher_is_better = isnan(higher) ? 1 : higher != 0;
		push_value(&m->values[a], &m->count[a], value);
		char *flags = flags_text(l, row, at);
		if (flags) {
			if (has_flag(flags, "throttled"))
				r->conditions.throttled++;
			add_flagged(r, accel, workload, metric, m->unit, value, isnan(iteration) ? 0 : (int)iteration,
				    flags);
		}
		note_conditions(&r->conditions, cJSON_GetObjectItemCaseSensitive(row, "conditions"));
	}
}

static void load_boot(struct loader *l, struct report *r, const cJSON *rows)
{
	double *split[3][REPORT_ACCELS] = { { 0 } };
	size_t nsplit[3][REPORT_ACCELS] = { { 0 } };
	int i = 0;
	for (const cJSON *row = rows ? rows->child : NULL; row && !l->failed; row = row->next, i++) {
		char at[48];
		snprintf(at, sizeof(at), "runs[0].boot_samples[%d]", i);
		const char *accel = get_str(l, row, "accel", at);
		double total = get_num(l, row, "total_ms", at);
		double parts[3] = { get_num(l, row, "before_kernel_ms", at), get_num(l, row, "kernel_ms", at),
				    get_num(l, row, "userspace_ms", at) };
		double iteration = get_num(l, row, "iteration", at);
		int a = accel_index(accel);
		if (l->failed)
			break;
		if (a != REPORT_TCG && a != REPORT_KVM) {
			bad(l, "%s.accel is not tcg or kvm", at);
			break;
		}
		push_value(&r->boot.total_ms[a], &r->boot.count[a], total);
		for (int p = 0; p < 3; p++)
			if (!isnan(parts[p]))
				push_value(&split[p][a], &nsplit[p][a], parts[p]);
		char *flags = flags_text(l, row, at);
		if (flags)
			add_flagged(r, accel, "boot", "total_ms", "ms", total, isnan(iteration) ? 0 : (int)iteration,
				    flags);
	}
	for (int a = 0; a < REPORT_ACCELS; a++) {
		report_spread_of(r->boot.total_ms[a], r->boot.count[a], &r->boot.total[a]);
		double *medians[3] = { &r->boot.before_kernel_ms[a], &r->boot.kernel_ms[a], &r->boot.userspace_ms[a] };
		for (int p = 0; p < 3; p++) {
			struct report_spread s;
			report_spread_of(split[p][a], nsplit[p][a], &s);
			*medians[p] = s.median;
			free(split[p][a]);
		}
	}
}

static void load_speedups(struct loader *l, struct report *r, const cJSON *rows)
{
	int i = 0;
	for (const cJSON *row = rows ? rows->child : NULL; row && !l->failed; row = row->next, i++) {
		char at[48];
		snprintf(at, sizeof(at), "runs[0].speedups[%d]", i);
		const char *workload = get_str(l, row, "workload", at);
		const char *metric = get_str(l, row, "metric", at);
		double over = get_num(l, row, "kvm_over_tcg", at);
		double kvm_pct = get_num(l, row, "kvm_pct_of_native", at);
		double tcg_pct = get_num(l, row, "tcg_pct_of_native", at);
		if (l->failed || !workload || !metric)
			continue;
		for (size_t k = 0; k < r->metric_count; k++) {
			struct report_metric *m = &r->metrics[k];
			if (!strcmp(m->workload, workload) && !strcmp(m->metric, metric)) {
				m->kvm_over_tcg = over;
				m->kvm_pct_of_native = kvm_pct;
				m->tcg_pct_of_native = tcg_pct;
			}
		}
	}
}

static void load_targets(struct loader *l, struct report *r, const cJSON *rows)
{
	size_t n = rows ? (size_t)cJSON_GetArraySize(rows) : 0;
	r->targets = kq_xcalloc(n ? n : 1, sizeof(*r->targets));
	int i = 0;
	for (const cJSON *row = rows ? rows->child : NULL; row && !l->failed; row = row->next, i++) {
		char at[48];
		snprintf(at, sizeof(at), "runs[0].verdicts[%d]", i);
		struct report_target *t = &r->targets[r->target_count];
		t->name = get_str(l, row, "target", at);
		t->metric = get_str(l, row, "metric", at);
		t->op = get_str(l, row, "op", at);
		t->value = get_num(l, row, "value", at);
		t->threshold = get_num(l, row, "threshold", at);
		t->status = get_str(l, row, "status", at);
		t->detail = get_str(l, row, "detail", at);
		if (l->failed)
			break;
		if (!t->metric || !t->status) {
			bad(l, "%s needs a metric and a status", at);
			break;
		}
		if (!t->name)
			t->name = t->metric;
		t->key = kq_xasprintf("%.*s", (int)strcspn(t->metric, " "), t->metric);
		t->pct_of_native = strstr(t->metric, "% of native") != NULL;
		r->target_count++;
	}
	for (size_t k = 0; k < r->target_count; k++) {
		struct report_target *t = &r->targets[k];
		if (!strcmp(t->key, "boot.total_ms")) {
			if (!r->boot.target)
				r->boot.target = t;
			continue;
		}
		for (size_t j = 0; j < r->metric_count; j++) {
			struct report_metric *m = &r->metrics[j];
			size_t wl = strlen(m->workload);
			if (!m->target && !strncmp(t->key, m->workload, wl) && t->key[wl] == '.' &&
			    !strcmp(t->key + wl + 1, m->metric))
				m->target = t;
		}
	}
}

/* ---- the verdict ---- */

/* The part of the run's reason about KVM ("kvm: the guest did not boot:
 * ...", to the end: QEMU's message and the probe's hint follow it). */
static char *kvm_reason(const struct report *r)
{
	const char *reason = r->run_reason;
	for (const char *p = reason; p && (p = strstr(p, "kvm:")); p++)
		if (p == reason || (p >= reason + 2 && p[-1] == ' ' && p[-2] == ';'))
			return kq_xstrdup(p);
	if (r->probe_verdict && !strcmp(r->probe_verdict, "tcg-only"))
		return kq_xasprintf("the probe found KVM unusable: %s",
				    r->probe_summary ? r->probe_summary : "tcg-only");
	if (reason && *reason)
		return kq_xasprintf("KVM has no samples in this run; the run's reason: %s", reason);
	return kq_xstrdup("KVM was not measured in this run (no KVM boot or sample: was it run with --accel tcg?)");
}

const char *report_target_unit(const struct report_target *t, const struct report *r)
{
	if (t->pct_of_native)
		return "% of native";
	if (!strcmp(t->key, "boot.total_ms"))
		return "ms";
	for (size_t i = 0; i < r->metric_count; i++)
		if (r->metrics[i].target == t)
			return r->metrics[i].unit;
	/* A metric this run did not measure (e.g. iperf3-h2g-tap.gbps without
	 * root): the unit of the same metric of another workload. */
	const char *metric = strchr(t->key, '.');
	for (size_t i = 0; metric && i < r->metric_count; i++)
		if (!strcmp(r->metrics[i].metric, metric + 1))
			return r->metrics[i].unit;
	return "";
}

static void describe_target(struct kq_buf *b, const struct report_target *t, const struct report *r)
{
	char value[32], threshold[32];
	report_number(value, t->value);
	report_number(threshold, t->threshold);
	const char *unit = report_target_unit(t, r);
	const char *sp = *unit ? " " : "";
	if (!strcmp(t->status, "skip"))
		kq_buf_printf(b, "%s: not judged (%s)", t->name, t->detail ? t->detail : "not measured");
	else
		kq_buf_printf(b, "%s: %s%s%s, target %s %s%s%s (%s)", t->name, value, sp, unit, t->op ? t->op : "?",
			      threshold, sp, unit, t->status);
}

static void decide(struct report *r)
{
	const char *st = r->run_status ? r->run_status : "unknown";
	struct kq_buf why;
	kq_buf_init(&why);
	if (!strcmp(st, "failed") || !strcmp(st, "interrupted") || !strcmp(st, "running")) {
		r->status = REPORT_NOT_QUALIFIED;
		kq_buf_printf(&why, "the run %s%s%s", !strcmp(st, "running") ? "is still running" : st,
			      r->run_reason ? ": " : "", r->run_reason ? r->run_reason : "");
	} else if (!r->kvm_measured) {
		r->status = REPORT_NOT_QUALIFIED;
		kq_buf_printf(&why, "KVM has no numbers: %s", r->kvm_reason);
	} else {
		for (size_t i = 0; i < r->target_count; i++) {
			if (!strcmp(r->targets[i].status, "pass"))
				continue;
			if (why.len)
				kq_buf_printf(&why, "; ");
			describe_target(&why, &r->targets[i], r);
		}
		if (r->probe_verdict && !strcmp(r->probe_verdict, "kvm-limited"))
			kq_buf_printf(&why, "%sthe probe: %s", why.len ? "; " : "",
				      r->probe_summary ? r->probe_summary : "KVM with limits");
		if (strcmp(st, "complete"))
			kq_buf_printf(&why, "%sthe run is %s%s%s", why.len ? "; " : "", st, r->run_reason ? ": " : "",
				      r->run_reason ? r->run_reason : "");
		r->status = why.len ? REPORT_QUALIFIED_WITH_LIMITS : REPORT_QUALIFIED;
		if (!why.len)
			kq_buf_printf(&why, "KVM ran every workload and met every target");
	}
	r->status_reason = kq_buf_steal(&why);
}

/* Boot time, then each target's measure under the accelerator that
 * counts: "KVM works here: boots in 0.80 s, cpu at 97 % of native". */
static void make_headline(struct report *r)
{
	int a = r->kvm_measured ? REPORT_KVM : REPORT_TCG;
	struct kq_buf b;
	kq_buf_init(&b);
	char num[32];
	if (r->kvm_measured)
		kq_buf_printf(&b, "KVM works here");
	else
		kq_buf_printf(&b, "KVM did not run here; under TCG (software emulation) the guest");
	const char *sep = r->kvm_measured ? ": " : " ";
	if (r->boot.total[a].n) {
		report_number(num, r->boot.total[a].median / 1000);
		kq_buf_printf(&b, "%sboots in %s s", sep, num);
		sep = ", ";
	}
	for (size_t i = 0; i < r->target_count; i++) {
		const struct report_target *t = &r->targets[i];
		const struct report_metric *m = NULL;
		for (size_t j = 0; j < r->metric_count && !m; j++)
			if (r->metrics[j].target == t)
				m = &r->metrics[j];
		if (!m)
			continue;
		if (t->pct_of_native) {
			double pct = a == REPORT_KVM ? m->kvm_pct_of_native : m->tcg_pct_of_native;
			if (isnan(pct))
				continue;
			report_number(num, pct);
			kq_buf_printf(&b, "%s%s at %s %% of native", sep, t->name, num);
		} else {
			if (!m->spread[a].n)
				continue;
			report_number(num, m->spread[a].median);
			kq_buf_printf(&b, "%s%s %s %s", sep, t->name, num, m->unit);
		}
		sep = ", ";
	}
	if (!r->kvm_measured && !strcmp(sep, " "))
		kq_buf_printf(&b, " has no numbers either");
	kq_buf_printf(&b, ".");
	r->headline = kq_buf_steal(&b);
}

/* ---- load, free ---- */

/* Energy and CPU time per unit of work, KVM against TCG. */
static void load_costs(struct report *r)
{
	for (size_t i = 0; i < r->check_count; i++) {
		if (r->checks[i].id && !strcmp(r->checks[i].id, "host.energy")) {
			r->energy_source = r->checks[i].value;
			r->energy_detail = r->checks[i].detail;
		}
	}
	for (int energy = 1; energy >= 0; energy--) {
		const char *prefix = energy ? "energy_j_per_" : "host_cpu_s_per_";
		for (size_t i = 0; i < r->metric_count; i++) {
			const struct report_metric *m = &r->metrics[i];
			if (!kq_startswith(m->metric, prefix))
				continue;
			r->costs = kq_xrealloc(r->costs, (r->cost_count + 1) * sizeof(*r->costs));
			struct report_cost *c = &r->costs[r->cost_count++];
			c->metric = m;
			c->energy = energy;
			c->tcg = m->spread[REPORT_TCG].median;
			c->kvm = m->spread[REPORT_KVM].median;
			c->less_pct = c->tcg > 0 && c->kvm >= 0 ? (1 - c->kvm / c->tcg) * 100 : NAN;
			c->judgement = isnan(c->less_pct) ? "not measured under both"
				       : c->less_pct < REPORT_ENERGY_CLAIM_MIN_PCT ? "less saved than claimed"
				       : c->less_pct > REPORT_ENERGY_CLAIM_MAX_PCT ? "more saved than claimed"
				       : "within the claim";
		}
	}
}

int report_load(struct report *r, const char *json, size_t len, struct kq_err *err)
{
	memset(r, 0, sizeof(*r));
	struct loader l = { .err = err };
	r->doc = cJSON_ParseWithLength(json, len);
	if (!r->doc)
		return kq_error(err, "the export document is not JSON (near byte %td)",
				cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() - json : (ptrdiff_t)0);
	if (!cJSON_IsObject(r->doc)) {
		bad(&l, "not a JSON object");
		goto fail;
	}
	const char *schema = get_str(&l, r->doc, "schema", "document");
	double version = get_num(&l, r->doc, "version", "document");
	if (l.failed)
		goto fail;
	if (!schema || strcmp(schema, STORE_EXPORT_SCHEMA)) {
		bad(&l, "schema is %s%s%s, not %s", schema ? "'" : "", schema ? schema : "missing", schema ? "'" : "",
		    STORE_EXPORT_SCHEMA);
		goto fail;
	}
	if (version != STORE_EXPORT_VERSION) {
		bad(&l, "version %g of %s is not the one this kvmqual reads (%d)", version, STORE_EXPORT_SCHEMA,
		    STORE_EXPORT_VERSION);
		goto fail;
	}
	r->database = get_str(&l, r->doc, "database", "document");
	const cJSON *runs = cJSON_GetObjectItemCaseSensitive(r->doc, "runs");
	if (!cJSON_IsArray(runs)) {
		bad(&l, "runs is not an array");
		goto fail;
	}
	if (cJSON_GetArraySize(runs) != 1 || !cJSON_IsObject(runs->child)) {
		bad(&l, "holds %d runs; a report is about exactly one", cJSON_GetArraySize(runs));
		goto fail;
	}
	const cJSON *run = r->run = runs->child;
	double id = get_num(&l, run, "id", "runs[0]");
	if (!l.failed && !(id >= 1 && id <= 9e15 && id == floor(id)))
		bad(&l, "runs[0].id is not a run id");
	r->run_id = (int64_t)(isnan(id) ? 0 : id);
	r->started_at = get_str(&l, run, "started_at", "runs[0]");
	r->finished_at = get_str(&l, run, "finished_at", "runs[0]");
	r->run_status = get_str(&l, run, "status", "runs[0]");
	r->run_reason = get_str(&l, run, "reason", "runs[0]");
	r->profile = get_str(&l, run, "profile", "runs[0]");
	r->suite_version = get_str(&l, run, "suite_version", "runs[0]");
	r->qemu_version = get_str(&l, run, "qemu_version", "runs[0]");
	r->guest_image_hash = get_str(&l, run, "guest_image_hash", "runs[0]");
	r->command_line = get_str(&l, run, "command_line", "runs[0]");
	const cJSON *host = cJSON_GetObjectItemCaseSensitive(run, "host");
	if (!cJSON_IsObject(host)) {
		bad(&l, "runs[0].host is not an object");
		goto fail;
	}
	r->host_key = get_str(&l, host, "key", "runs[0].host");
	r->arch = get_str(&l, host, "arch", "runs[0].host");
	r->model = get_str(&l, host, "model", "runs[0].host");
	r->soc = get_str(&l, host, "soc", "runs[0].host");
	r->kernel_release = get_str(&l, host, "kernel_release", "runs[0].host");
	double page = get_num(&l, host, "page_size", "runs[0].host");
	r->page_size = isnan(page) || page < 0 || page > 1e12 ? 0 : (long)page;
	if (l.failed)
		goto fail;

	const cJSON *probe = cJSON_GetObjectItemCaseSensitive(run, "probe");
	r->probe = cJSON_IsObject(probe) ? probe : NULL;
	r->emulated = cJSON_IsTrue(probe_get(r->probe, "host.emulated"));
	const cJSON *cpus = probe_get(r->probe, "host.cpus");
	r->cpus = cJSON_IsNumber(cpus) && cpus->valuedouble > 0 && cpus->valuedouble < 1e9 ? (long)cpus->valuedouble : 0;
	r->probe_verdict = probe_str(r->probe, "verdict.status");
	r->probe_summary = probe_str(r->probe, "verdict.summary");

	r->conditions.load_min = r->conditions.load_max = NAN;
	r->conditions.mhz_min = r->conditions.mhz_max = r->conditions.temp_max = NAN;

	const cJSON *checks = get_rows(&l, run, "checks");
	const cJSON *probe_checks = probe_get(r->probe, "checks");
	if (!l.failed) {
		if (checks && checks->child)
			load_checks(&l, r, checks, "runs[0].checks");
		else if (cJSON_IsArray(probe_checks)) {
			/* The probe's own document: what reads well is shown, the
			 * rest is left out rather than refusing the run. */
			struct kq_err ignored;
			struct loader lenient = { .err = &ignored };
			load_checks(&lenient, r, probe_checks, "runs[0].probe.checks");
		}
	}
	const cJSON *samples = get_rows(&l, run, "samples");
	const cJSON *boots = get_rows(&l, run, "boot_samples");
	const cJSON *verdicts = get_rows(&l, run, "verdicts");
	const cJSON *speedups = get_rows(&l, run, "speedups");
	const cJSON *guest_vulns = get_rows(&l, run, "guest_vulnerabilities");
	if (l.failed)
		goto fail;
	if (report_load_vulns(r, guest_vulns, err))
		goto fail;
	load_samples(&l, r, samples);
	load_boot(&l, r, boots);
	load_speedups(&l, r, speedups);
	load_targets(&l, r, verdicts);
	if (l.failed)
		goto fail;

	for (size_t i = 0; i < r->metric_count; i++) {
		struct report_metric *m = &r->metrics[i];
		for (int a = 0; a < REPORT_ACCELS; a++)
			report_spread_of(m->values[a], m->count[a], &m->spread[a]);
		if (m->spread[REPORT_KVM].n)
			r->kvm_measured = 1;
	}
	if (r->boot.total[REPORT_KVM].n)
		r->kvm_measured = 1;
	if (!r->kvm_measured)
		r->kvm_reason = kvm_reason(r);
	load_costs(r);
	decide(r);
	make_headline(r);
	return 0;
fail:
	report_free(r);
	return -1;
}

void report_free(struct report *r)
{
	free(r->costs);
	report_free_vulns(r);
	for (size_t i = 0; i < r->metric_count; i++)
		for (int a = 0; a < REPORT_ACCELS; a++)
			free(r->metrics[i].values[a]);
	free(r->metrics);
	for (int a = 0; a < REPORT_ACCELS; a++)
		free(r->boot.total_ms[a]);
	for (size_t i = 0; i < r->target_count; i++)
		free(r->targets[i].key);
	free(r->targets);
	free(r->checks);
	for (size_t i = 0; i < r->flagged_count; i++)
		free(r->flagged[i].flags);
	free(r->flagged);
	free(r->conditions.governors);
	free(r->kvm_reason);
	free(r->status_reason);
	free(r->headline);
	for (size_t i = 0; i < r->history_count; i++) {
		free(r->history[i].key);
		free(r->history[i].title);
		free(r->history[i].unit);
		free(r->history[i].points);
	}
	free(r->history);
	if (r->tuning)
		store_tuning_free(r->tuning);
	free(r->tuning);
	cJSON_Delete(r->doc);
	memset(r, 0, sizeof(*r));
}

/* ---- history ---- */

size_t report_headline_keys(const struct report *r, const char **keys, size_t max)
{
	size_t n = 0;
	if (max && (r->boot.target || r->boot.count[REPORT_TCG] || r->boot.count[REPORT_KVM]))
		keys[n++] = "boot.total_ms";
	for (size_t i = 0; i < r->target_count && n < max; i++) {
		int seen = 0;
		for (size_t j = 0; j < n; j++)
			seen |= !strcmp(keys[j], r->targets[i].key);
		if (!seen)
			keys[n++] = r->targets[i].key;
	}
	return n;
}

static struct report_history *series_for(struct report *r, const char *key)
{
	for (size_t i = 0; i < r->history_count; i++)
		if (!strcmp(r->history[i].key, key))
			return &r->history[i];
	r->history = kq_xrealloc(r->history, (r->history_count + 1) * sizeof(*r->history));
	struct report_history *h = &r->history[r->history_count++];
	memset(h, 0, sizeof(*h));
	h->key = kq_xstrdup(key);
	const char *name = NULL, *unit = NULL;
	if (!strcmp(key, "boot.total_ms")) {
		name = "boot";
		unit = "ms";
	}
	for (size_t i = 0; i < r->target_count && !name; i++)
		if (!strcmp(r->targets[i].key, key))
			name = r->targets[i].name;
	size_t dot = strcspn(key, ".");
	for (size_t i = 0; i < r->metric_count && !unit; i++)
		if (strlen(r->metrics[i].workload) == dot && !strncmp(r->metrics[i].workload, key, dot) &&
		    key[dot] == '.' && !strcmp(r->metrics[i].metric, key + dot + 1))
			unit = r->metrics[i].unit;
	if (!key[dot])
		h->title = kq_xstrdup(key);
	else if (!name || (strlen(name) == dot && !strncmp(name, key, dot)))
		h->title = kq_xasprintf("%.*s %s", (int)dot, key, key + dot + 1);
	else
		h->title = kq_xasprintf("%s: %.*s %s", name, (int)dot, key, key + dot + 1);
	h->unit = kq_xstrdup(unit ? unit : "");
	return h;
}

void report_history_add(struct report *r, const char *key, int64_t run, const char *started_at, const char *accel,
			double median)
{
	int a = accel_index(accel);
	if (a < 0)
		return;
	struct report_history *h = series_for(r, key);
	struct report_history_point *p = NULL;
	for (size_t i = h->count; i-- > 0 && !p;)
		if (h->points[i].run == run)
			p = &h->points[i];
	if (!p) {
		h->points = kq_xrealloc(h->points, (h->count + 1) * sizeof(*h->points));
		p = &h->points[h->count++];
		p->run = run;
		p->time = report_parse_time(started_at);
		for (int k = 0; k < REPORT_ACCELS; k++)
			p->median[k] = NAN;
	}
	p->median[a] = median;
}

void report_history_finish(struct report *r)
{
	/* The history arrives ordered by metric name; the page's order is
	 * the headline's (boot, then the targets in their order). */
	const char *keys[64];
	size_t nkeys = report_headline_keys(r, keys, KQ_ARRAY_SIZE(keys)), placed = 0;
	for (size_t k = 0; k < nkeys; k++)
		for (size_t i = placed; i < r->history_count; i++)
			if (!strcmp(r->history[i].key, keys[k])) {
				struct report_history h = r->history[i];
				memmove(&r->history[placed + 1], &r->history[placed], (i - placed) * sizeof(h));
				r->history[placed++] = h;
				break;
			}
	size_t kept = 0;
	r->history_runs = 0;
	for (size_t i = 0; i < r->history_count; i++) {
		struct report_history *h = &r->history[i];
		if (h->count < 2) {
			free(h->key);
			free(h->title);
			free(h->unit);
			free(h->points);
			continue;
		}
		if (h->count > r->history_runs)
			r->history_runs = h->count;
		r->history[kept++] = *h;
	}
	r->history_count = kept;
}

int report_probe_measurement(const struct report *r, int *i, const char **id, double *value, const char **unit)
{
	const cJSON *ms = r->probe ? cJSON_GetObjectItemCaseSensitive(r->probe, "measurements") : NULL;
	int n = cJSON_IsArray(ms) ? cJSON_GetArraySize(ms) : 0;
	for (; *i < n; (*i)++) {
		const cJSON *m = cJSON_GetArrayItem(ms, *i);
		const cJSON *mid = cJSON_GetObjectItemCaseSensitive(m, "id");
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, "value");
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(m, "unit");
		if (cJSON_IsString(mid) && cJSON_IsNumber(v) && cJSON_IsString(u) && isfinite(v->valuedouble)) {
			*id = mid->valuestring;
			*value = v->valuedouble;
			*unit = u->valuestring;
			(*i)++;
			return 0;
		}
	}
	return -1;
}
