/* The report's "CPU vulnerabilities" section (issue 15): what the host's
 * kernel says of the CPU's speculation vulnerabilities (the run's probe
 * document, check cpu.vulnerabilities, whose data maps each file of
 * /sys/devices/system/cpu/vulnerabilities to its text) and what the
 * guest's kernel says under each accelerator (the run's
 * guest_vulnerabilities, read through the agent), side by side, one row
 * per vulnerability either lists.  A guest that is vulnerable where the
 * host is not, or the reverse, is marked.  Every text came from a kernel
 * on another machine or from a bundle: escaped by the writers, and cut to
 * REPORT_VULN_TEXT_MAX bytes here.  HTML and Markdown. */
#include <stdlib.h>
#include <string.h>

#include "../probe/parse.h"
#include "report.h"

#define H(text) report_html(out, text)
#define M(text) report_md(out, text)

/* text cut at a character boundary to at most max bytes, "…" after a cut. */
static char *cut(const char *text, size_t max)
{
	size_t n = 0;
	while (text[n]) {
		size_t len = kq_utf8_len((const unsigned char *)text + n);
		if (!len)
			len = 1;
		if (n + len > max)
			return kq_xasprintf("%.*s\xe2\x80\xa6", (int)n, text);
		n += len;
	}
	return kq_xstrdup(text);
}

static struct report_vuln *row_for(struct report *r, const char *name)
{
	for (size_t i = 0; i < r->vuln_count; i++)
		if (!strcmp(r->vulns[i].name, name))
			return &r->vulns[i];
	return NULL;
}

/* One side's entry: a new row for a new name while there is room. */
static void add_entry(struct report *r, int side, const char *name, const char *text)
{
	struct report_vuln *v = row_for(r, name);
	if (!v) {
		char *shown = cut(name, REPORT_VULN_NAME_MAX);
		v = row_for(r, shown);
		if (!v && r->vuln_count >= REPORT_VULN_MAX) {
			r->vulns_left_out++;
			free(shown);
			return;
		}
		if (!v) {
			r->vulns = kq_xrealloc(r->vulns, (r->vuln_count + 1) * sizeof(*r->vulns));
			v = &r->vulns[r->vuln_count++];
			memset(v, 0, sizeof(*v));
			v->name = shown;
		} else {
			free(shown);
		}
	}
	if (v->text[side])
		return; /* listed twice: the first text counts */
	v->text[side] = cut(text, REPORT_VULN_TEXT_MAX);
	v->state[side] = vuln_state_of(text);
	struct report_vuln_view *view = &r->vuln_view[side];
	switch (v->state[side]) {
	case VULN_VULNERABLE: view->vulnerable++; break;
	case VULN_MITIGATED: view->mitigated++; break;
	case VULN_NOT_AFFECTED: view->not_affected++; break;
	default: view->unknown++; break;
	}
}

/* The host's view, from the probe's own document: lenient, as everything
 * read from it (a wrong type counts as absent). */
static void load_host(struct report *r)
{
	const cJSON *checks = r->probe ? cJSON_GetObjectItemCaseSensitive(r->probe, "checks") : NULL;
	const cJSON *list = cJSON_IsArray(checks) ? checks : NULL, *c;
	cJSON_ArrayForEach(c, list)
	{
		const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "id"));
		if (!id || strcmp(id, "cpu.vulnerabilities"))
			continue;
		struct report_vuln_view *view = &r->vuln_view[REPORT_NATIVE];
		view->recorded = 1;
		const cJSON *data = cJSON_GetObjectItemCaseSensitive(c, "data");
		if (!cJSON_IsObject(data) || !data->child) {
			view->reason = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "detail"));
			return;
		}
		view->known = 1;
		const cJSON *e;
		cJSON_ArrayForEach(e, data)
		{
			if (cJSON_IsString(e) && e->string)
				add_entry(r, REPORT_NATIVE, e->string, e->valuestring);
		}
		return;
	}
}

static int cmp_rows(const void *a, const void *b)
{
	return strcmp(((const struct report_vuln *)a)->name, ((const struct report_vuln *)b)->name);
}

int report_load_vulns(struct report *r, const cJSON *rows, struct kq_err *err)
{
	load_host(r);
	int i = 0;
	const cJSON *row;
	cJSON_ArrayForEach(row, rows)
	{
		char at[64];
		snprintf(at, sizeof(at), "runs[0].guest_vulnerabilities[%d]", i++);
		if (!cJSON_IsObject(row))
			return kq_error(err, "the export document: %s is not an object", at);
		const cJSON *accel = cJSON_GetObjectItemCaseSensitive(row, "accel");
		const cJSON *status = cJSON_GetObjectItemCaseSensitive(row, "status");
		const cJSON *reason = cJSON_GetObjectItemCaseSensitive(row, "reason");
		const cJSON *vulns = cJSON_GetObjectItemCaseSensitive(row, "vulnerabilities");
		int side = cJSON_IsString(accel) && !strcmp(accel->valuestring, "tcg")   ? REPORT_TCG
			   : cJSON_IsString(accel) && !strcmp(accel->valuestring, "kvm") ? REPORT_KVM
										 : -1;
		if (side < 0)
			return kq_error(err, "the export document: %s.accel is not tcg or kvm", at);
		int known = cJSON_IsString(status) && !strcmp(status->valuestring, "known");
		if (!known && !(cJSON_IsString(status) && !strcmp(status->valuestring, "unknown")))
			return kq_error(err, "the export document: %s.status is not known or unknown", at);
		if (reason && !cJSON_IsNull(reason) && !cJSON_IsString(reason))
			return kq_error(err, "the export document: %s.reason is not a string", at);
		if (known ? !cJSON_IsObject(vulns) : vulns && !cJSON_IsNull(vulns))
			return kq_error(err, "the export document: %s.vulnerabilities is %s", at,
					known ? "not an object" : "set, but the status is unknown");
		const cJSON *entries = known ? vulns : NULL, *e;
		cJSON_ArrayForEach(e, entries)
		{
			if (!cJSON_IsString(e))
				return kq_error(err, "the export document: %s.vulnerabilities holds something that is not a string",
						at);
		}
		struct report_vuln_view *view = &r->vuln_view[side];
		if (view->recorded)
			continue; /* one view per accelerator, as the store keeps it: the first */
		view->recorded = 1;
		view->known = known;
		view->reason = cJSON_GetStringValue(reason);
		cJSON_ArrayForEach(e, entries)
			add_entry(r, side, e->string, e->valuestring);
	}
	if (r->vuln_count)
		qsort(r->vulns, r->vuln_count, sizeof(*r->vulns), cmp_rows);
	/* Different where one side says vulnerable and the other does not, each
	 * having said something the kernel's wording names. */
	for (size_t k = 0; k < r->vuln_count; k++) {
		struct report_vuln *v = &r->vulns[k];
		for (int a = REPORT_TCG; a <= REPORT_KVM; a++) {
			v->differs[a] = v->text[REPORT_NATIVE] && v->text[a] && v->state[REPORT_NATIVE] != VULN_UNKNOWN &&
					v->state[a] != VULN_UNKNOWN &&
					(v->state[REPORT_NATIVE] == VULN_VULNERABLE) != (v->state[a] == VULN_VULNERABLE);
			r->vuln_differences += v->differs[a];
		}
	}
	return 0;
}

void report_free_vulns(struct report *r)
{
	for (size_t i = 0; i < r->vuln_count; i++) {
		free(r->vulns[i].name);
		for (int a = 0; a < REPORT_ACCELS; a++)
			free(r->vulns[i].text[a]);
	}
	free(r->vulns);
	r->vulns = NULL;
	r->vuln_count = 0;
}

/* ---- the writers ---- */

static const char *side_title(int side)
{
	return side == REPORT_NATIVE ? "host" : side == REPORT_TCG ? "guest under TCG" : "guest under KVM";
}

/* "vulnerable: 2, mitigated: 1, not affected: 14", or why there is none. */
static void view_line(char *buf, size_t size, const struct report_vuln_view *v, int side)
{
	if (!v->recorded)
		snprintf(buf, size, "%s",
			 side == REPORT_NATIVE ? "not recorded (the run's probe predates the check)"
					       : "not recorded (the guest did not boot, or kvmqual predates the record)");
	else if (!v->known)
		snprintf(buf, size, "unknown");
	else
		snprintf(buf, size, "%zu vulnerable, %zu mitigated, %zu not affected%s", v->vulnerable, v->mitigated,
			 v->not_affected, v->unknown ? ", others unknown" : "");
}

/* The columns: the host, then each accelerator whose guest view the run
 * recorded. */
static int shown(const struct report *r, int side)
{
	return side == REPORT_NATIVE || r->vuln_view[side].recorded;
}

static const char *state_class(int state)
{
	switch (state) {
	case VULN_VULNERABLE: return "vulnerable";
	case VULN_MITIGATED: return "mitigated";
	case VULN_NOT_AFFECTED: return "not-affected";
	default: return "unknown";
	}
}

static const char intro[] =
	"What each kernel says in /sys/devices/system/cpu/vulnerabilities: the host's (the probe) and the"
	" guest's under each accelerator (read through the agent after its first boot). Under KVM the guest"
	" runs on the host's CPU and should see what the host mitigates; under TCG it sees QEMU's model of a"
	" CPU, so its view says nothing of the hardware.";

void report_vulns_html(FILE *out, const struct report *r)
{
	fputs("<section id=\"vulnerabilities\">\n<h2>CPU vulnerabilities</h2>\n<p>", out);
	H(intro);
	fputs("</p>\n<ul class=\"vuln-views\">\n", out);
	char line[160];
	for (int side = 0; side < REPORT_ACCELS; side++) {
		const struct report_vuln_view *v = &r->vuln_view[side];
		if (!shown(r, side))
			continue;
		view_line(line, sizeof(line), v, side);
		fprintf(out, "<li id=\"vuln-view-%s\">%s: <strong>%s</strong>",
			side == REPORT_NATIVE ? "host" : report_accel_name(side), side_title(side), line);
		if (v->recorded && !v->known && v->reason)
			fputs(": <span class=\"reason\">", out), H(v->reason), fputs("</span>", out);
		fputs("</li>\n", out);
	}
	fputs("</ul>\n", out);
	if (r->vuln_differences)
		fprintf(out, "<p class=\"vuln-differences\" id=\"vuln-differences\"><strong>%zu differ%s</strong> between the"
			     " host and a guest (marked): one says vulnerable where the other does not.</p>\n",
			r->vuln_differences, r->vuln_differences == 1 ? "s" : "");
	if (!r->vuln_count) {
		fputs("<p>No vulnerability is listed on either side.</p>\n</section>\n", out);
		return;
	}
	fputs("<table class=\"vulns\"><thead><tr><th>vulnerability</th>", out);
	for (int side = 0; side < REPORT_ACCELS; side++)
		if (shown(r, side))
			fprintf(out, "<th class=\"%s\">%s</th>", report_accel_name(side), side_title(side));
	fputs("</tr></thead><tbody>\n", out);
	for (size_t i = 0; i < r->vuln_count; i++) {
		const struct report_vuln *v = &r->vulns[i];
		fputs("<tr><td>", out);
		H(v->name);
		fputs("</td>", out);
		for (int side = 0; side < REPORT_ACCELS; side++) {
			if (!shown(r, side))
				continue;
			if (!v->text[side]) {
				fputs(r->vuln_view[side].known ? "<td class=\"vuln absent\">not listed</td>"
							       : "<td class=\"vuln absent\">&ndash;</td>",
				      out);
				continue;
			}
			fprintf(out, "<td class=\"vuln %s%s\" data-state=\"%s\">", state_class(v->state[side]),
				v->differs[side] ? " differs" : "", state_class(v->state[side]));
			H(v->text[side]);
			if (v->differs[side])
				fprintf(out, "<span class=\"differs\">the host: %s</span>",
					vuln_state_name(v->state[REPORT_NATIVE]));
			fputs("</td>", out);
		}
		fputs("</tr>\n", out);
	}
	fputs("</tbody></table>\n", out);
	if (r->vulns_left_out)
		fprintf(out, "<p class=\"detail\">%zu more entries are left out of the table (they are in"
			     " export.json).</p>\n",
			r->vulns_left_out);
	fputs("</section>\n", out);
}

void report_vulns_markdown(FILE *out, const struct report *r)
{
	fputs("## CPU vulnerabilities\n\n", out);
	M(intro);
	fputs("\n\n", out);
	char line[160];
	for (int side = 0; side < REPORT_ACCELS; side++) {
		const struct report_vuln_view *v = &r->vuln_view[side];
		if (!shown(r, side))
			continue;
		view_line(line, sizeof(line), v, side);
		fprintf(out, "- %s: **%s**", side_title(side), line);
		if (v->recorded && !v->known && v->reason)
			fputs(": ", out), M(v->reason);
		fputc('\n', out);
	}
	if (r->vuln_differences)
		fprintf(out, "\n**%zu differ%s** between the host and a guest (marked): one says vulnerable where the other"
			     " does not.\n",
			r->vuln_differences, r->vuln_differences == 1 ? "s" : "");
	if (!r->vuln_count) {
		fputs("\nNo vulnerability is listed on either side.\n\n", out);
		return;
	}
	fputs("\n| vulnerability |", out);
	for (int side = 0; side < REPORT_ACCELS; side++)
		if (shown(r, side))
			fprintf(out, " %s |", side_title(side));
	fputs("\n| --- |", out);
	for (int side = 0; side < REPORT_ACCELS; side++)
		if (shown(r, side))
			fputs(" --- |", out);
	fputc('\n', out);
	for (size_t i = 0; i < r->vuln_count; i++) {
		const struct report_vuln *v = &r->vulns[i];
		fputs("| ", out);
		M(v->name);
		fputs(" |", out);
		for (int side = 0; side < REPORT_ACCELS; side++) {
			if (!shown(r, side))
				continue;
			fputc(' ', out);
			if (!v->text[side]) {
				fputs(r->vuln_view[side].known ? "*not listed*" : "\xe2\x80\x93", out);
			} else if (v->differs[side]) {
				fputs("**", out);
				M(v->text[side]);
				fprintf(out, "** (the host: %s)", vuln_state_name(v->state[REPORT_NATIVE]));
			} else {
				M(v->text[side]);
			}
			fputs(" |", out);
		}
		fputc('\n', out);
	}
	if (r->vulns_left_out)
		fprintf(out, "\n%zu more entries are left out of the table (they are in export.json).\n", r->vulns_left_out);
	fputc('\n', out);
}
