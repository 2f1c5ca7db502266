/* index.html: the report as one self-contained page.  The frame and the
 * style are templates (page.html, report.css, inlined); the plots are
 * gnuplot's SVG, inlined.  Nothing on the page is fetched from anywhere:
 * no scripts, no fonts, no images by URL.  Every text that came from the
 * database or the probe goes through report_html(). */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "report.h"

#define H(text) report_html(out, text)

static void host_title(FILE *out, const struct report *r)
{
	const char *name = r->model && *r->model ? r->model : r->soc && *r->soc ? r->soc : "unknown host";
	H(name);
	if (r->arch)
		fputs(" (", out), H(r->arch), fputc(')', out);
}

static void emulated_banner(FILE *out)
{
	fputs("<div class=\"emulated\" id=\"emulated\" role=\"alert\"><strong>Emulated host</strong>: the probe"
	      " reports that this host is emulated (QEMU): everything below measures the emulator on another"
	      " machine. These numbers are not hardware performance; they only show that the code paths"
	      " work.</div>\n",
	      out);
}

static void verdict(FILE *out, const struct report *r)
{
	const char *cls = report_status_class(r->status);
	fprintf(out, "<section id=\"verdict\" class=\"verdict %s\" data-status=\"%s\">\n", cls, cls);
	fprintf(out, "<p class=\"status\">%s</p>\n<p class=\"headline\">", report_status_title(r->status));
	H(r->headline);
	fputs("</p>\n<p class=\"why\"><span class=\"reason\">", out);
	H(r->status_reason);
	fputs("</span></p>\n", out);
	if (r->probe_verdict) {
		fputs("<p class=\"probe-verdict\">Probe verdict: <strong>", out);
		H(r->probe_verdict);
		fputs("</strong>", out);
		if (r->probe_summary)
			fputs(" &mdash; ", out), H(r->probe_summary);
		fputs("</p>\n", out);
	}
	fputs("</section>\n", out);
}

static const char *badge_class(const char *status)
{
	static const char *const known[] = { "pass", "warn", "fail", "skip" };
	for (size_t i = 0; i < KQ_ARRAY_SIZE(known); i++)
		if (status && !strcasecmp(status, known[i]))
			return known[i];
	return "other";
}

static void badge(FILE *out, const char *status)
{
	fprintf(out, "<span class=\"badge %s\">", badge_class(status));
	for (const char *p = status ? status : "?"; *p; p++) {
		char c[2] = { (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p), 0 };
		H(c);
	}
	fputs("</span>", out);
}

static void findings(FILE *out, const struct report *r)
{
	fputs("<section id=\"findings\">\n<h2>The probe's findings</h2>\n", out);
	if (!r->check_count) {
		fputs("<p>The run holds no probe checks.</p>\n</section>\n", out);
		return;
	}
	size_t shown = 0;
	fputs("<ul class=\"findings\">\n", out);
	for (size_t i = 0; i < r->check_count && r->checks[i].rank < 2; i++, shown++) {
		const struct report_check *c = &r->checks[i];
		fprintf(out, "<li class=\"%s\">", badge_class(c->status));
		badge(out, c->status);
		fputs(" <strong>", out);
		H(c->id);
		fputs("</strong>", out);
		if (c->value && *c->value)
			fputs(": ", out), H(c->value);
		if (c->detail && *c->detail)
			fputs("<div class=\"detail\">", out), H(c->detail), fputs("</div>", out);
		if (c->hint && *c->hint)
			fputs("<p class=\"hint\">", out), H(c->hint), fputs("</p>", out);
		fputs("</li>\n", out);
	}
	fputs("</ul>\n", out);
	if (!shown)
		fputs("<p>No failures and no warnings.</p>\n", out);
	if (shown < r->check_count) {
		fprintf(out, "<details><summary>%zu more checks (passed, skipped or informational)</summary>\n"
			     "<table class=\"checks\"><thead><tr><th>status</th><th>check</th><th>value</th>"
			     "<th>detail</th></tr></thead><tbody>\n",
			r->check_count - shown);
		for (size_t i = shown; i < r->check_count; i++) {
			const struct report_check *c = &r->checks[i];
			fputs("<tr><td>", out);
			badge(out, c->status);
			fputs("</td><td>", out);
			H(c->id);
			fputs("</td><td>", out);
			H(c->value);
			fputs("</td><td>", out);
			H(c->detail);
			fputs("</td></tr>\n", out);
		}
		fputs("</tbody></table></details>\n", out);
	}
	fputs("</section>\n", out);
}

/* A number cell: the rounded value, the exact one for machines. */
static void td_number(FILE *out, double v)
{
	char shown[32], exact[32];
	report_number(shown, v);
	report_exact(exact, v);
	if (isnan(v))
		fputs("<td class=\"num\">&ndash;</td>", out);
	else
		fprintf(out, "<td class=\"num\" data-value=\"%s\">%s</td>", exact, shown);
}

static void td_spread(FILE *out, const struct report_spread *s, int accel, int kvm_missing)
{
	char shown[32], exact[32], q1[32], q3[32];
	if (!s->n) {
		if (accel == REPORT_KVM && kvm_missing)
			fputs("<td class=\"num missing\" title=\"KVM did not run: see the reason above\">missing</td>", out);
		else
			fputs("<td class=\"num\">&ndash;</td>", out);
		return;
	}
	report_number(shown, s->median);
	report_exact(exact, s->median);
	fprintf(out, "<td class=\"num\" data-value=\"%s\" data-samples=\"%zu\">%s", exact, s->n, shown);
	report_number(q1, s->q1);
	report_number(q3, s->q3);
	if (s->n > 1)
		fprintf(out, "<span class=\"spread\">%s&ndash;%s (n=%zu)</span>", q1, q3, s->n);
	else
		fputs("<span class=\"spread\">n=1</span>", out);
	fputs("</td>", out);
}

static void td_target(FILE *out, const struct report *r, const struct report_target *t)
{
	if (!t) {
		fputs("<td></td>", out);
		return;
	}
	char threshold[32];
	report_number(threshold, t->threshold);
	fprintf(out, "<td class=\"%s\">", badge_class(t->status));
	H(t->name);
	fputs(" ", out);
	H(t->op);
	fprintf(out, " %s ", threshold);
	H(report_target_unit(t, r));
	fputs(": ", out);
	H(t->status);
	fputs("</td>", out);
}

static void numbers(FILE *out, const struct report *r)
{
	int kvm_missing = !r->kvm_measured;
	fputs("<section id=\"numbers\">\n<h2>Numbers</h2>\n", out);
	if (kvm_missing) {
		fputs("<p class=\"missing\" id=\"kvm-missing\"><strong>KVM: missing.</strong> <span class=\"reason\">", out);
		H(r->kvm_reason);
		fputs("</span></p>\n", out);
	}
	fputs("<p>Medians of the samples; below each, the spread from the first to the third quartile and the"
	      " number of samples. Percentages of native are the runner's own (lower-is-better metrics"
	      " inverted, so more is better everywhere).</p>\n",
	      out);
	fputs("<table class=\"numbers\"><thead><tr><th>workload</th><th>metric</th><th>unit</th>"
	      "<th class=\"native\">native</th><th class=\"tcg\">TCG</th><th class=\"kvm\">KVM</th>"
	      "<th>KVM % of native</th><th>KVM/TCG</th><th>TCG % of native</th><th>target</th></tr></thead><tbody>\n",
	      out);
	if (r->boot.total[REPORT_TCG].n || r->boot.total[REPORT_KVM].n || r->boot.target) {
		fputs("<tr id=\"row-boot\"><td>boot</td><td>total_ms</td><td>ms</td><td class=\"num\">&ndash;</td>", out);
		td_spread(out, &r->boot.total[REPORT_TCG], REPORT_TCG, kvm_missing);
		td_spread(out, &r->boot.total[REPORT_KVM], REPORT_KVM, kvm_missing);
		fputs("<td class=\"num\">&ndash;</td>", out);
		/* Boot time: lower is better, the speed-up is TCG's over KVM's. */
		td_number(out, r->boot.total[REPORT_TCG].median / r->boot.total[REPORT_KVM].median);
		fputs("<td class=\"num\">&ndash;</td>", out);
		td_target(out, r, r->boot.target);
		fputs("</tr>\n", out);
	}
	/* The probe's exit and interrupt latencies, beside the boot time: KVM
	 * only, measured by the probe's own tiny guests. */
	const char *mid, *munit;
	double mvalue;
	for (int i = 0; report_probe_measurement(r, &i, &mid, &mvalue, &munit) == 0;) {
		fputs("<tr class=\"probe-measurement\"><td>probe</td><td>", out);
		H(mid);
		fputs("</td><td>", out);
		H(munit);
		fputs("</td><td class=\"num\">&ndash;</td><td class=\"num\">&ndash;</td>", out);
		td_number(out, mvalue);
		fputs("<td class=\"num\">&ndash;</td><td class=\"num\">&ndash;</td><td class=\"num\">&ndash;</td><td></td></tr>\n",
		      out);
	}
	for (size_t i = 0; i < r->metric_count; i++) {
		const struct report_metric *m = &r->metrics[i];
		fputs("<tr><td>", out);
		H(m->workload);
		fputs("</td><td>", out);
		H(m->metric);
		fputs("</td><td>", out);
		H(m->unit);
		fputs("</td>", out);
		for (int a = 0; a < REPORT_ACCELS; a++)
			td_spread(out, &m->spread[a], a, kvm_missing);
		if (kvm_missing) {
			fputs("<td class=\"num missing\">missing</td><td class=\"num missing\">missing</td>", out);
		} else {
			td_number(out, m->kvm_pct_of_native);
			td_number(out, m->kvm_over_tcg);
		}
		td_number(out, m->tcg_pct_of_native);
		td_target(out, r, m->target);
		fputs("</tr>\n", out);
	}
	fputs("</tbody></table>\n", out);

	int split = 0;
	for (int a = REPORT_TCG; a <= REPORT_KVM; a++)
		split |= !isnan(r->boot.kernel_ms[a]);
	if (split) {
		fputs("<h3>Boot time, split (medians, ms)</h3>\n<table class=\"boot-split\"><thead><tr><th>accelerator</th>"
		      "<th>before the kernel</th><th>kernel</th><th>userspace to ready</th><th>total</th></tr></thead><tbody>\n",
		      out);
		for (int a = REPORT_TCG; a <= REPORT_KVM; a++) {
			if (!r->boot.total[a].n)
				continue;
			fprintf(out, "<tr><td>%s</td>", report_accel_title(a));
			td_number(out, r->boot.before_kernel_ms[a]);
			td_number(out, r->boot.kernel_ms[a]);
			td_number(out, r->boot.userspace_ms[a]);
			td_number(out, r->boot.total[a].median);
			fputs("</tr>\n", out);
		}
		fputs("</tbody></table>\n", out);
	}

	fputs("<h3>Targets</h3>\n", out);
	if (!r->target_count) {
		fputs("<p>The run holds no verdicts.</p>\n", out);
	} else {
		fputs("<table class=\"targets\"><thead><tr><th>target</th><th>metric</th><th>measured</th><th>op</th>"
		      "<th>threshold</th><th>unit</th><th>verdict</th><th>detail</th></tr></thead><tbody>\n",
		      out);
		for (size_t i = 0; i < r->target_count; i++) {
			const struct report_target *t = &r->targets[i];
			fputs("<tr><td>", out);
			H(t->name);
			fputs("</td><td>", out);
			H(t->metric);
			fputs("</td>", out);
			td_number(out, t->value);
			fputs("<td>", out);
			H(t->op);
			fputs("</td>", out);
			td_number(out, t->threshold);
			fputs("<td>", out);
			H(report_target_unit(t, r));
			fprintf(out, "</td><td class=\"%s\">", badge_class(t->status));
			H(t->status);
			fputs("</td><td>", out);
			H(t->detail);
			fputs("</td></tr>\n", out);
		}
		fputs("</tbody></table>\n", out);
	}
	fputs("</section>\n", out);
}

/* KVM vs TCG per unit of work: energy where the host has a sensor (against
 * the origin document's claim of 40-60 % less), CPU time always. */
static void cost_section(FILE *out, const struct report *r)
{
	if (!r->cost_count && !r->energy_source)
		return;
	fputs("<section id=\"cost\">\n<h2>KVM vs TCG energy per unit of work</h2>\n", out);
	fputs("<p id=\"energy-source\">Energy: ", out);
	if (!r->energy_source)
		fputs("<span class=\"missing\">not recorded</span> (the run's probe did not look for a sensor)", out);
	else if (!strcmp(r->energy_source, "unavailable"))
		fputs("<strong class=\"missing\">unavailable</strong>: ", out), H(r->energy_detail);
	else
		fputs("<strong>", out), H(r->energy_source), fputs("</strong>, ", out), H(r->energy_detail);
	fprintf(out, ". The origin document claims KVM needs %.0f-%.0f %% less power than TCG for the same work;"
		     " CPU time, measured on every host (QEMU's threads and vhost workers, or the native tool, and"
		     " the servers they talk to), is shown beside it.</p>\n",
		REPORT_ENERGY_CLAIM_MIN_PCT, REPORT_ENERGY_CLAIM_MAX_PCT);
	if (!r->cost_count) {
		fputs("<p>The run holds no cost per unit of work.</p>\n</section>\n", out);
		return;
	}
	fputs("<table class=\"cost\"><thead><tr><th>measure</th><th>workload</th><th>per</th>"
	      "<th class=\"tcg\">TCG</th><th class=\"kvm\">KVM</th><th>KVM needs less by</th><th>against the claim</th>"
	      "</tr></thead><tbody>\n",
	      out);
	for (size_t i = 0; i < r->cost_count; i++) {
		const struct report_cost *c = &r->costs[i];
		fprintf(out, "<tr class=\"%s\"><td>%s</td><td>", c->energy ? "energy" : "cpu",
			c->energy ? "energy" : "CPU time");
		H(c->metric->workload);
		fputs("</td><td>", out);
		H(c->metric->unit);
		fputs("</td>", out);
		td_number(out, c->tcg);
		td_number(out, c->kvm);
		if (isnan(c->less_pct))
			fputs("<td class=\"num missing\">&ndash;</td>", out);
		else
			fprintf(out, "<td class=\"num\">%.1f %%</td>", c->less_pct);
		fputs("<td>", out);
		H(c->energy ? c->judgement : isnan(c->less_pct) ? c->judgement : "(CPU time, not power)");
		fputs("</td></tr>\n", out);
	}
	fputs("</tbody></table>\n</section>\n", out);
}

static void plots_section(FILE *out, const struct report *r, const struct report_plots *plots)
{
	fputs("<section id=\"plots\">\n<h2>Plots</h2>\n", out);
	if (plots->gnuplot_missing)
		fputs("<p class=\"no-plots\" id=\"no-plots\">No plots: gnuplot was not found (install gnuplot-nox and"
		      " run the report again). The data and the gnuplot scripts are in plots/.</p>\n",
		      out);
	for (size_t i = 0; i < plots->count; i++) {
		const struct report_plot *p = &plots->plot[i];
		if (p->made) {
			fprintf(out, "<figure class=\"plot\" id=\"plot-%s\">\n%s\n<figcaption>", p->name, p->svg);
			H(p->title);
			fprintf(out, " (<a href=\"plots/%s.svg\">SVG</a>, <a href=\"plots/%s.png\">PNG</a>,"
				     " <a href=\"plots/%s.dat\">data</a>, <a href=\"plots/%s.gp\">gnuplot script</a>)"
				     "</figcaption>\n</figure>\n",
				p->name, p->name, p->name, p->name);
		} else if (p->error) {
			fprintf(out, "<div class=\"plot-error\" id=\"plot-%s\"><strong>", p->name);
			H(p->title);
			fputs(":</strong> not drawn, gnuplot failed.<pre>", out);
			H(p->error);
			fputs("</pre></div>\n", out);
		}
	}
	int history = 0;
	for (size_t i = 0; i < plots->count; i++)
		history |= !strcmp(plots->plot[i].name, "history");
	if (!history)
		fputs("<p class=\"no-history\">No history plot: the database holds no earlier run of this host"
		      " with the same headline metrics.</p>\n",
		      out);
	else if (r->history_runs)
		fprintf(out, "<p class=\"history-note\">History: %zu runs of this host in the database, up to this one.</p>\n",
			r->history_runs);
	fputs("</section>\n", out);
}

static void kv_row(FILE *out, const char *key, const char *value)
{
	fprintf(out, "<tr><th>%s</th><td>", key);
	if (value && *value)
		H(value);
	else
		fputs("<span class=\"detail\">unknown</span>", out);
	fputs("</td></tr>\n", out);
}

static void provenance(FILE *out, const struct report *r)
{
	char buf[64], a[32], b[32];
	fputs("<section id=\"provenance\">\n<h2>Provenance</h2>\n<table class=\"kv\"><tbody>\n", out);
	kv_row(out, "host model", r->model);
	kv_row(out, "SoC / CPU", r->soc);
	kv_row(out, "architecture", r->arch);
	kv_row(out, "kernel", r->kernel_release);
	snprintf(buf, sizeof(buf), "%ld bytes", r->page_size);
	kv_row(out, "page size", r->page_size ? buf : NULL);
	snprintf(buf, sizeof(buf), "%ld", r->cpus);
	kv_row(out, "CPUs", r->cpus ? buf : NULL);
	kv_row(out, "emulated host", r->emulated ? "yes: the numbers are not hardware performance" : "no (as the probe reports it)");
	kv_row(out, "host key", r->host_key);
	kv_row(out, "QEMU", r->qemu_version);
	kv_row(out, "guest image hash", r->guest_image_hash);
	kv_row(out, "profile", r->profile);
	kv_row(out, "kvmqual", r->suite_version);
	snprintf(buf, sizeof(buf), "%lld", (long long)r->run_id);
	kv_row(out, "run", buf);
	kv_row(out, "run status", r->run_status);
	kv_row(out, "run's reason", r->run_reason ? r->run_reason : "none");
	kv_row(out, "started", r->started_at);
	kv_row(out, "finished", r->finished_at);
	kv_row(out, "command line", r->command_line);
	kv_row(out, "database", r->database);
	fputs("</tbody></table>\n<h3>Host conditions during the samples</h3>\n", out);
	const struct report_conditions *c = &r->conditions;
	if (!c->samples) {
		fputs("<p>No conditions were recorded with the samples.</p>\n", out);
	} else {
		fputs("<table class=\"kv\"><tbody>\n", out);
		snprintf(buf, sizeof(buf), "%zu", c->samples);
		kv_row(out, "samples with conditions", buf);
		report_number(a, c->load_min);
		report_number(b, c->load_max);
		snprintf(buf, sizeof(buf), "%s to %s", a, b);
		kv_row(out, "1-minute load", isnan(c->load_min) ? NULL : buf);
		report_number(a, c->mhz_min);
		report_number(b, c->mhz_max);
		snprintf(buf, sizeof(buf), "%s to %s MHz", a, b);
		kv_row(out, "CPU frequency", isnan(c->mhz_min) ? NULL : buf);
		kv_row(out, "governor", c->governors);
		report_number(a, c->temp_max);
		snprintf(buf, sizeof(buf), "%s °C", a);
		kv_row(out, "hottest", isnan(c->temp_max) ? NULL : buf);
		snprintf(buf, sizeof(buf), "%zu", c->throttled);
		kv_row(out, "throttled samples", buf);
		fputs("</tbody></table>\n", out);
	}
	fputs("<h3>Flagged samples</h3>\n", out);
	if (!r->flagged_count) {
		fputs("<p>None: no sample was throttled or measured with a fallback.</p>\n", out);
	} else {
		fputs("<table class=\"flagged\"><thead><tr><th>accelerator</th><th>workload</th><th>metric</th>"
		      "<th>iteration</th><th>value</th><th>unit</th><th>flags</th></tr></thead><tbody>\n",
		      out);
		for (size_t i = 0; i < r->flagged_count; i++) {
			const struct report_flagged *f = &r->flagged[i];
			fputs("<tr><td>", out);
			H(f->accel);
			fputs("</td><td>", out);
			H(f->workload);
			fputs("</td><td>", out);
			H(f->metric);
			fprintf(out, "</td><td>%d</td>", f->iteration);
			td_number(out, f->value);
			fputs("<td>", out);
			H(f->unit);
			fputs("</td><td>", out);
			H(f->flags);
			fputs("</td></tr>\n", out);
		}
		fputs("</tbody></table>\n", out);
	}
	fputs("</section>\n", out);
}

static void body(FILE *out, const struct report *r, const struct report_plots *plots)
{
	fputs("<main id=\"report\">\n<header>\n<h1>kvmqual report: ", out);
	host_title(out, r);
	fputs("</h1>\n<p class=\"subtitle\">", out);
	fprintf(out, "run %lld", (long long)r->run_id);
	if (r->started_at)
		fputs(", started ", out), H(r->started_at);
	if (r->profile)
		fputs(", profile ", out), H(r->profile);
	if (r->kernel_release)
		fputs(", kernel ", out), H(r->kernel_release);
	fputs("</p>\n</header>\n", out);
	if (r->emulated)
		emulated_banner(out);
	verdict(out, r);
	findings(out, r);
	report_vulns_html(out, r);
	numbers(out, r);
	cost_section(out, r);
	plots_section(out, r, plots);
	report_tuning_html(out, r);
	provenance(out, r);
	char when[32];
	time_t now = time(NULL);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	fprintf(out, "<footer>Written by kvmqual report at %s. The run as data: <a href=\"export.json\">export.json</a>"
		     " (schema kvmqual.export); the plots' data and gnuplot scripts: plots/. The same in Markdown:"
		     " <a href=\"report.md\">report.md</a>.</footer>\n</main>",
		when);
}

int report_write_html(const struct report *r, const struct report_plots *plots, const char *templates, FILE *out,
		      struct kq_err *err)
{
	char *page = report_template(templates, "page.html", err);
	char *css = page ? report_template(templates, "report.css", err) : NULL;
	char *body_text = NULL;
	size_t body_len = 0;
	int ret = -1;
	/* The page must stand alone: edited templates hold only what the
	 * allow-lists of reports/tplcheck.c let through. */
	if (!page || !css || report_page_allowed(page, err) || report_css_allowed(css, "report.css", err))
		goto out;
	FILE *b = open_memstream(&body_text, &body_len);
	if (!b)
		abort();
	body(b, r, plots);
	fclose(b);
	/* Fill the frame: @TITLE@, @STYLE@, @BODY@, each where it first
	 * appears after the previous one. */
	static const char *const marks[] = { "@TITLE@", "@STYLE@", "@BODY@" };
	const char *p = page;
	for (size_t i = 0; i < KQ_ARRAY_SIZE(marks); i++) {
		const char *at = strstr(p, marks[i]);
		if (!at) {
			kq_error(err, "template page.html has no %s (after the %s)", marks[i], i ? marks[i - 1] : "start");
			goto out;
		}
		fwrite(p, 1, (size_t)(at - p), out);
		if (i == 0) {
			fputs("kvmqual report: ", out);
			host_title(out, r);
			fprintf(out, ", run %lld", (long long)r->run_id);
		} else if (i == 1) {
			fputs(css, out);
		} else {
			fwrite(body_text, 1, body_len, out);
		}
		p = at + strlen(marks[i]);
	}
	fputs(p, out);
	ret = 0;
out:
	free(page);
	free(css);
	free(body_text);
	return ret;
}
