/* The report's "Tuning" section: the newest kvmqual tune of this host (or
 * its newest kvmqual ab when it had no tune), read from the store's A/B
 * tables (store/read_report.h): per setting the recommended QEMU fragment,
 * how sure, why, and the numbers behind it; skipped settings with their
 * reason.  HTML and Markdown. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../store/read_report.h"
#include "report.h"

#define H(text) report_html(out, text)
#define M(text) report_md(out, text)

static const char *text_or(const char *s, const char *dflt)
{
	return s && *s ? s : dflt;
}

static void pct(char *buf, size_t size, double v)
{
	if (isnan(v))
		snprintf(buf, size, "–");
	else
		snprintf(buf, size, "%+.1f %%", v);
}

static const char *arm_name(const struct store_tuning_experiment *x, int arm)
{
	return arm >= 0 && (size_t)arm < x->arm_count && x->arms[arm].name ? x->arms[arm].name : "?";
}

void report_tuning_html(FILE *out, const struct report *r)
{
	const struct store_tuning *t = r->tuning;
	fputs("<section id=\"tuning\">\n<h2>Tuning</h2>\n", out);
	if (!t || !t->session) {
		fputs("<p>No <code>kvmqual tune</code> of this host in the database. It tries each setting the host can"
		      " vary (vCPU pinning, the vCPU count, the disk's AIO, vhost-net, huge pages) in same-session A/B"
		      " experiments and recommends a QEMU command line.</p>\n</section>\n",
		      out);
		return;
	}
	fprintf(out, "<p>kvmqual %s, session %lld", !strcmp(text_or(t->command, ""), "tune") ? "tune" : "ab",
		(long long)t->session);
	fputs(", started ", out), H(text_or(t->started_at, "?"));
	fputs(", ", out), H(text_or(t->accel, "?"));
	fputs(", ", out), H(text_or(t->status, "?"));
	if (t->reason)
		fputs(": ", out), H(t->reason);
	fputs(".</p>\n", out);
	if (t->recommendation) {
		fputs("<p>Recommended for this host:</p>\n<pre class=\"recommendation\">", out);
		H(t->recommendation);
		fputs("</pre>\n", out);
	}
	fputs("<table class=\"tuning\"><thead><tr><th>setting</th><th>use</th><th>how sure</th><th>why</th></tr>"
	      "</thead><tbody>\n", out);
	for (size_t i = 0; i < t->count; i++) {
		const struct store_tuning_experiment *x = &t->experiments[i];
		fputs("<tr><td>", out);
		H(text_or(x->setting, "?"));
		fputs("</td>", out);
		if (x->status && !strcmp(x->status, "skipped")) {
			fputs("<td colspan=\"3\">skipped: ", out);
			H(text_or(x->reason, "no reason given"));
			fputs("</td></tr>\n", out);
			continue;
		}
		fputs("<td>", out);
		if (x->recommended_arm >= 0) {
			fputs("<code>", out);
			H(text_or(x->recommendation, arm_name(x, x->recommended_arm)));
			fputs("</code>", out);
		} else {
			fputs("no advice", out);
		}
		fputs("</td><td>", out);
		H(text_or(x->confidence, "–"));
		fputs("</td><td>", out);
		H(text_or(x->because, text_or(x->reason, "")));
		fputs("</td></tr>\n", out);
	}
	fputs("</tbody></table>\n", out);
	for (size_t i = 0; i < t->count; i++) {
		const struct store_tuning_experiment *x = &t->experiments[i];
		if (!x->result_count && !x->arm_count)
			continue;
		fputs("<details><summary>", out);
		H(text_or(x->setting, "?"));
		fputs(": ", out);
		H(text_or(x->title, ""));
		fprintf(out, " (%d rounds a side)</summary>\n<ul>\n", x->rounds);
		for (size_t a = 0; a < x->arm_count; a++) {
			fputs("<li><strong>", out);
			H(text_or(x->arms[a].name, "?"));
			fputs("</strong>", out);
			fputs(a == 0 ? " (reference): " : ": ", out);
			H(text_or(x->arms[a].fragment, ""));
			if (x->arms[a].vcpus)
				fputs("; vCPU threads on ", out), H(x->arms[a].vcpus);
			if (x->arms[a].status && !strcmp(x->arms[a].status, "failed"))
				fputs(" <strong>failed</strong>: ", out), H(text_or(x->arms[a].reason, ""));
			fputs("</li>\n", out);
		}
		fputs("</ul>\n<table class=\"tuning-results\"><thead><tr><th>arm</th><th>metric</th><th>change</th>"
		      "<th>95 % interval</th><th>p</th><th>decision</th></tr></thead><tbody>\n", out);
		for (size_t k = 0; k < x->result_count; k++) {
			const struct store_tuning_result *res = &x->results[k];
			char ch[32], lo[32], hi[32], p[32];
			pct(ch, sizeof(ch), res->change_pct);
			pct(lo, sizeof(lo), res->ci_low_pct);
			pct(hi, sizeof(hi), res->ci_high_pct);
			if (isnan(res->p))
				snprintf(p, sizeof(p), "–");
			else
				snprintf(p, sizeof(p), "%.2g", res->p);
			fputs("<tr><td>", out);
			H(arm_name(x, res->arm));
			fputs("</td><td>", out);
			H(text_or(res->workload, "?"));
			fputc('.', out);
			H(text_or(res->metric, "?"));
			fprintf(out, "</td><td class=\"num\">%s</td><td class=\"num\">%s to %s</td><td class=\"num\">%s</td><td>",
				ch, lo, hi, p);
			H(text_or(res->decision, "?"));
			if (res->why)
				fputs(" <span class=\"why\">(", out), H(res->why), fputs(")</span>", out);
			fputs("</td></tr>\n", out);
		}
		fputs("</tbody></table>\n</details>\n", out);
	}
	fputs("</section>\n", out);
}

void report_tuning_markdown(FILE *out, const struct report *r)
{
	const struct store_tuning *t = r->tuning;
	fputs("## Tuning\n\n", out);
	if (!t || !t->session) {
		fputs("No `kvmqual tune` of this host in the database. It tries each setting the host can vary (vCPU"
		      " pinning, the vCPU count, the disk's AIO, vhost-net, huge pages) in same-session A/B experiments"
		      " and recommends a QEMU command line.\n\n",
		      out);
		return;
	}
	fprintf(out, "kvmqual %s, session %lld, started ", !strcmp(text_or(t->command, ""), "tune") ? "tune" : "ab",
		(long long)t->session);
	M(text_or(t->started_at, "?"));
	fputs(", ", out), M(text_or(t->accel, "?"));
	fputs(", ", out), M(text_or(t->status, "?"));
	if (t->reason)
		fputs(": ", out), M(t->reason);
	fputs(".\n\n", out);
	if (t->recommendation) {
		fputs("Recommended for this host:\n\n", out);
		/* One fragment a line, each a code span. */
		const char *p = t->recommendation;
		while (*p) {
			const char *nl = strchr(p, '\n');
			size_t n = nl ? (size_t)(nl - p) : strlen(p);
			char line[512];
			snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) - 1 ? n : sizeof(line) - 1), p);
			fputs("- `", out);
			for (char *c = line; *c; c++)
				fputc(*c == '`' ? '\'' : *c, out);
			fputs("`\n", out);
			p += n + (nl != NULL);
		}
		fputc('\n', out);
	}
	fputs("| setting | use | how sure | why |\n| --- | --- | --- | --- |\n", out);
	for (size_t i = 0; i < t->count; i++) {
		const struct store_tuning_experiment *x = &t->experiments[i];
		fputs("| ", out);
		M(text_or(x->setting, "?"));
		if (x->status && !strcmp(x->status, "skipped")) {
			fputs(" | skipped | | ", out);
			M(text_or(x->reason, "no reason given"));
			fputs(" |\n", out);
			continue;
		}
		fputs(" | ", out);
		M(x->recommended_arm >= 0 ? text_or(x->recommendation, arm_name(x, x->recommended_arm)) : "no advice");
		fputs(" | ", out);
		M(text_or(x->confidence, "–"));
		fputs(" | ", out);
		M(text_or(x->because, text_or(x->reason, "")));
		fputs(" |\n", out);
	}
	fputc('\n', out);
}
