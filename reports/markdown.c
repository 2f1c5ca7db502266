/* report.md: the report for wikis and issue trackers (GitHub-flavoured
 * Markdown tables), in the page's order, with the PNG plots from plots/.
 * Every text that came from the database or the probe goes through
 * report_md(). */
#include <math.h>
#include <string.h>
#include <strings.h>

#include "report.h"

#define M(text) report_md(out, text)

static void num(FILE *out, double v)
{
	char buf[32];
	report_number(buf, v);
	fputs(buf, out);
}

static void spread(FILE *out, const struct report_spread *s, int accel, int kvm_missing)
{
	if (!s->n) {
		fputs(accel == REPORT_KVM && kvm_missing ? "*missing*" : "\xe2\x80\x93", out);
		return;
	}
	num(out, s->median);
	if (s->n > 1) {
		fputs(" (", out);
		num(out, s->q1);
		fputs("\xe2\x80\x93", out);
		num(out, s->q3);
		fprintf(out, ", n=%zu)", s->n);
	}
}

static void target(FILE *out, const struct report *r, const struct report_target *t)
{
	if (!t)
		return;
	M(t->name);
	fputc(' ', out);
	M(t->op);
	fputc(' ', out);
	num(out, t->threshold);
	fputc(' ', out);
	M(report_target_unit(t, r));
	fputs(": **", out);
	M(t->status);
	fputs("**", out);
}

static void upper(FILE *out, const char *s)
{
	for (const char *p = s ? s : "?"; *p; p++) {
		char c[2] = { (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p), 0 };
		M(c);
	}
}

static void kv(FILE *out, const char *key, const char *value)
{
	fprintf(out, "| %s | ", key);
	if (value && *value)
		M(value);
	else
		fputs("*unknown*", out);
	fputs(" |\n", out);
}

void report_write_markdown(const struct report *r, const struct report_plots *plots, FILE *out)
{
	int kvm_missing = !r->kvm_measured;
	fputs("# kvmqual report: ", out);
	M(r->model && *r->model ? r->model : r->soc && *r->soc ? r->soc : "unknown host");
	if (r->arch)
		fputs(" (", out), M(r->arch), fputc(')', out);
	fprintf(out, ", run %lld\n\n", (long long)r->run_id);
	if (r->emulated)
		fputs("> **EMULATED HOST: these numbers are not hardware performance.** The probe reports that this"
		      " host is emulated (QEMU): everything below measures the emulator on another machine and only"
		      " shows that the code paths work.\n\n",
		      out);

	fprintf(out, "**Verdict: %s** (`%s`)\n\n", report_status_title(r->status), report_status_class(r->status));
	M(r->headline);
	fputs("\n\nWhy: ", out);
	M(r->status_reason);
	fputs("\n\n", out);
	if (r->probe_verdict) {
		fputs("Probe verdict: **", out);
		M(r->probe_verdict);
		fputs("**", out);
		if (r->probe_summary)
			fputs(" \xe2\x80\x94 ", out), M(r->probe_summary);
		fputs("\n\n", out);
	}

	fputs("## The probe's findings\n\n", out);
	size_t shown = 0;
	for (size_t i = 0; i < r->check_count && r->checks[i].rank < 2; i++, shown++) {
		const struct report_check *c = &r->checks[i];
		fputs("- **", out);
		upper(out, c->status);
		fputs("** ", out);
		M(c->id);
		if (c->value && *c->value)
			fputs(": ", out), M(c->value);
		if (c->detail && *c->detail)
			fputs(" \xe2\x80\x94 ", out), M(c->detail);
		if (c->hint && *c->hint)
			fputs("  \n  hint: ", out), M(c->hint);
		fputc('\n', out);
	}
	if (!r->check_count)
		fputs("The run holds no probe checks.\n", out);
	else if (!shown)
		fputs("No failures and no warnings.\n", out);
	if (shown < r->check_count)
		fprintf(out, "\n%zu more checks passed, were skipped or are informational (see index.html).\n",
			r->check_count - shown);

	fputc('\n', out);
	report_vulns_markdown(out, r);
	fputs("## Numbers\n\n", out);
	if (kvm_missing) {
		fputs("**KVM: missing.** ", out);
		M(r->kvm_reason);
		fputs("\n\n", out);
	}
	fputs("Medians (first to third quartile, number of samples).\n\n"
	      "| workload | metric | unit | native | TCG | KVM | KVM % of native | KVM/TCG | TCG % of native | target |\n"
	      "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n",
	      out);
	if (r->boot.total[REPORT_TCG].n || r->boot.total[REPORT_KVM].n || r->boot.target) {
		fputs("| boot | total\\_ms | ms | \xe2\x80\x93 | ", out);
		spread(out, &r->boot.total[REPORT_TCG], REPORT_TCG, kvm_missing);
		fputs(" | ", out);
		spread(out, &r->boot.total[REPORT_KVM], REPORT_KVM, kvm_missing);
		fputs(" | \xe2\x80\x93 | ", out);
		num(out, r->boot.total[REPORT_TCG].median / r->boot.total[REPORT_KVM].median);
		fputs(" | \xe2\x80\x93 | ", out);
		target(out, r, r->boot.target);
		fputs(" |\n", out);
	}
	/* The probe's exit and interrupt latencies, beside the boot time. */
	const char *mid, *munit;
	double mvalue;
	for (int i = 0; report_probe_measurement(r, &i, &mid, &mvalue, &munit) == 0;) {
		fputs("| probe | ", out);
		M(mid);
		fputs(" | ", out);
		M(munit);
		fputs(" | \xe2\x80\x93 | \xe2\x80\x93 | ", out);
		num(out, mvalue);
		fputs(" | \xe2\x80\x93 | \xe2\x80\x93 | \xe2\x80\x93 |  |\n", out);
	}
	for (size_t i = 0; i < r->metric_count; i++) {
		const struct report_metric *m = &r->metrics[i];
		fputs("| ", out);
		M(m->workload);
		fputs(" | ", out);
		M(m->metric);
		fputs(" | ", out);
		M(m->unit);
		for (int a = 0; a < REPORT_ACCELS; a++) {
			fputs(" | ", out);
			spread(out, &m->spread[a], a, kvm_missing);
		}
		fputs(" | ", out);
		if (kvm_missing) {
			fputs("*missing* | *missing*", out);
		} else {
			num(out, m->kvm_pct_of_native);
			fputs(" | ", out);
			num(out, m->kvm_over_tcg);
		}
		fputs(" | ", out);
		num(out, m->tcg_pct_of_native);
		fputs(" | ", out);
		target(out, r, m->target);
		fputs(" |\n", out);
	}

	if (r->target_count) {
		fputs("\n### Targets\n\n| target | metric | measured | threshold | verdict | detail |\n"
		      "| --- | --- | ---: | --- | --- | --- |\n",
		      out);
		for (size_t i = 0; i < r->target_count; i++) {
			const struct report_target *t = &r->targets[i];
			fputs("| ", out);
			M(t->name);
			fputs(" | ", out);
			M(t->metric);
			fputs(" | ", out);
			num(out, t->value);
			fputs(" | ", out);
			M(t->op);
			fputc(' ', out);
			num(out, t->threshold);
			fputc(' ', out);
			M(report_target_unit(t, r));
			fputs(" | **", out);
			M(t->status);
			fputs("** | ", out);
			M(t->detail);
			fputs(" |\n", out);
		}
	}

	if (r->cost_count || r->energy_source) {
		fputs("\n## KVM vs TCG energy per unit of work\n\nEnergy: ", out);
		if (!r->energy_source)
			fputs("*not recorded* (the run's probe did not look for a sensor)", out);
		else if (!strcmp(r->energy_source, "unavailable"))
			fputs("**unavailable**: ", out), M(r->energy_detail);
		else
			fputs("**", out), M(r->energy_source), fputs("**, ", out), M(r->energy_detail);
		fprintf(out, ". The origin document claims KVM needs %.0f-%.0f %% less power than TCG for the same work;"
			     " CPU time is measured on every host and shown beside it.\n\n",
			REPORT_ENERGY_CLAIM_MIN_PCT, REPORT_ENERGY_CLAIM_MAX_PCT);
		if (r->cost_count)
			fputs("| measure | workload | per | TCG | KVM | KVM needs less by | against the claim |\n"
			      "| --- | --- | --- | ---: | ---: | ---: | --- |\n",
			      out);
		for (size_t i = 0; i < r->cost_count; i++) {
			const struct report_cost *c = &r->costs[i];
			fprintf(out, "| %s | ", c->energy ? "energy" : "CPU time");
			M(c->metric->workload);
			fputs(" | ", out);
			M(c->metric->unit);
			fputs(" | ", out);
			num(out, c->tcg);
			fputs(" | ", out);
			num(out, c->kvm);
			if (isnan(c->less_pct))
				fputs(" | \xe2\x80\x93 | ", out);
			else
				fprintf(out, " | %.1f %% | ", c->less_pct);
			M(c->energy ? c->judgement : isnan(c->less_pct) ? c->judgement : "(CPU time, not power)");
			fputs(" |\n", out);
		}
	}
	fputs("\n## Plots\n\n", out);
	if (plots->gnuplot_missing)
		fputs("No plots: gnuplot was not found (install gnuplot-nox and run the report again). The data and"
		      " the gnuplot scripts are in plots/.\n\n",
		      out);
	for (size_t i = 0; i < plots->count; i++) {
		const struct report_plot *p = &plots->plot[i];
		if (p->made) {
			fputs("![", out);
			M(p->title);
			fprintf(out, "](plots/%s.png)\n\n", p->name);
		} else if (p->error) {
			fputs("**", out);
			M(p->title);
			fputs(":** not drawn, gnuplot failed: ", out);
			M(p->error);
			fputs("\n\n", out);
		}
	}

	report_tuning_markdown(out, r);
	fputs("## Provenance\n\n| | |\n| --- | --- |\n", out);
	char buf[64];
	kv(out, "host model", r->model);
	kv(out, "SoC / CPU", r->soc);
	kv(out, "architecture", r->arch);
	kv(out, "kernel", r->kernel_release);
	snprintf(buf, sizeof(buf), "%ld bytes", r->page_size);
	kv(out, "page size", r->page_size ? buf : NULL);
	kv(out, "emulated host", r->emulated ? "yes: the numbers are not hardware performance" : "no");
	kv(out, "host key", r->host_key);
	kv(out, "QEMU", r->qemu_version);
	kv(out, "guest image hash", r->guest_image_hash);
	kv(out, "profile", r->profile);
	kv(out, "kvmqual", r->suite_version);
	kv(out, "run status", r->run_status);
	kv(out, "run's reason", r->run_reason ? r->run_reason : "none");
	kv(out, "started", r->started_at);
	kv(out, "finished", r->finished_at);
	kv(out, "command line", r->command_line);
	const struct report_conditions *c = &r->conditions;
	if (c->samples) {
		char a[32], b[32];
		report_number(a, c->load_min);
		report_number(b, c->load_max);
		snprintf(buf, sizeof(buf), "%s to %s", a, b);
		kv(out, "1-minute load", isnan(c->load_min) ? NULL : buf);
		report_number(a, c->mhz_min);
		report_number(b, c->mhz_max);
		snprintf(buf, sizeof(buf), "%s to %s MHz", a, b);
		kv(out, "CPU frequency", isnan(c->mhz_min) ? NULL : buf);
		kv(out, "governor", c->governors);
		snprintf(buf, sizeof(buf), "%zu of %zu", c->throttled, c->samples);
		kv(out, "throttled samples", buf);
	}
	if (r->flagged_count) {
		fputs("\n### Flagged samples\n\n| accelerator | workload | metric | iteration | value | flags |\n"
		      "| --- | --- | --- | ---: | ---: | --- |\n",
		      out);
		for (size_t i = 0; i < r->flagged_count; i++) {
			const struct report_flagged *f = &r->flagged[i];
			fputs("| ", out);
			M(f->accel);
			fputs(" | ", out);
			M(f->workload);
			fputs(" | ", out);
			M(f->metric);
			fprintf(out, " | %d | ", f->iteration);
			num(out, f->value);
			fputc(' ', out);
			M(f->unit);
			fputs(" | ", out);
			M(f->flags);
			fputs(" |\n", out);
		}
	} else {
		fputs("\nNo flagged samples (none throttled or measured with a fallback).\n", out);
	}
	fputs("\nWritten by kvmqual report; the run as data: export.json; the plots' data and scripts: plots/.\n", out);
}
