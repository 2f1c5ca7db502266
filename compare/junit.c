/* kvmqual compare --junit FILE: a testcase per metric, a failure per
 * regression, for Jenkins, GitLab and the like; the file written through
 * kq_out (lib/util.h): renamed into place when it is a file, written into
 * when it is a device, a FIFO or a link, never replaced by something else. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compare.h"

void compare_xml_escape(FILE *out, const char *text)
{
	const unsigned char *p = (const unsigned char *)(text ? text : "");
	for (; *p; p++) {
		/* The file says UTF-8: a crafted store's other bytes are U+FFFD. */
		size_t n = kq_utf8_len(p);
		if (n != 1) {
			if (n)
				fwrite(p, 1, n, out);
			else
				fputs("\xef\xbf\xbd", out);
			p += n ? n - 1 : 0;
			continue;
		}
		switch (*p) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&apos;", out); break;
		default:
			/* XML 1.0 has no way to carry other control characters. */
			if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
				fputs("\xef\xbf\xbd", out);
			else
				fputc(*p, out);
		}
	}
}

static void junit_attr(FILE *out, const char *name, const char *value)
{
	fprintf(out, " %s=\"", name);
	compare_xml_escape(out, value);
	fputc('"', out);
}

void compare_print_junit(FILE *out, const struct compare_context *ctx, const struct compare_report *rep)
{
	size_t skipped = 0;
	for (size_t i = 0; i < rep->count; i++)
		skipped += rep->results[i].decision == COMPARE_MISSING ||
			   rep->results[i].decision == COMPARE_INCONCLUSIVE;
	char stamp[32];
	time_t now = time(NULL);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", gmtime(&now));
	char cand[32];
	snprintf(cand, sizeof(cand), "run %lld", (long long)ctx->cand_run);
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(out, "<testsuites name=\"kvmqual compare\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\">\n",
		rep->count, rep->regressions, skipped);
	fprintf(out, "  <testsuite name=\"kvmqual.compare\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
		     "skipped=\"%zu\" time=\"0\" timestamp=\"%s\">\n",
		rep->count, rep->regressions, skipped, stamp);
	fprintf(out, "    <properties>\n");
	const char *props[][2] = { { "database", ctx->db }, { "baseline", ctx->baseline_desc },
				   { "candidate", cand }, { "differences", ctx->differences ? ctx->differences : "" } };
	for (size_t i = 0; i < KQ_ARRAY_SIZE(props); i++) {
		fprintf(out, "      <property");
		junit_attr(out, "name", props[i][0]);
		junit_attr(out, "value", props[i][1]);
		fprintf(out, "/>\n");
	}
	fprintf(out, "    </properties>\n");
	for (size_t i = 0; i < rep->count; i++) {
		const struct compare_result *r = &rep->results[i];
		char *classname = kq_xasprintf("kvmqual.%s.%s", r->accel, r->workload);
		fprintf(out, "    <testcase");
		junit_attr(out, "classname", classname);
		junit_attr(out, "name", r->metric);
		fprintf(out, " time=\"0\"");
		free(classname);
		char b[32], c[32];
		compare_format_number(b, sizeof(b), r->base_median);
		compare_format_number(c, sizeof(c), r->cand_median);
		char *numbers = kq_xasprintf(
			"baseline median %s %s (%zu samples, %zu throttled left out); candidate median %s %s (%zu "
			"samples, %zu throttled left out); change %+.2f %% (%.0f %% CI %+.2f to %+.2f); Mann-Whitney "
			"p = %.4g (%s); threshold %.2f %% (%s); %s is better",
			b, r->unit, r->n_base, r->excluded_base, c, r->unit, r->n_cand, r->excluded_cand, r->change_pct,
			100 * (isnan(r->ci_level) ? ctx->rule->conf : r->ci_level), r->ci_lo, r->ci_hi, r->p,
			r->exact ? "exact" : "normal approximation", r->threshold_pct,
			r->threshold_given ? "--threshold" : "from the metric's noise",
			r->higher_is_better ? "higher" : "lower");
		if (r->decision == COMPARE_REGRESSION) {
			char *msg = kq_xasprintf("regression: %+.1f %% (threshold %.1f %%, p = %.3g)", r->change_pct,
						 r->threshold_pct, r->p);
			fprintf(out, ">\n      <failure type=\"regression\"");
			junit_attr(out, "message", msg);
			fprintf(out, ">");
			compare_xml_escape(out, numbers);
			fprintf(out, "</failure>\n    </testcase>\n");
			free(msg);
		} else if (r->decision == COMPARE_MISSING || r->decision == COMPARE_INCONCLUSIVE) {
			char *msg = kq_xasprintf("%s: %s", compare_decision_name(r->decision), r->why);
			fprintf(out, ">\n      <skipped");
			junit_attr(out, "message", msg);
			fprintf(out, "/>\n    </testcase>\n");
			free(msg);
		} else {
			fprintf(out, ">\n      <system-out>%s: ", compare_decision_name(r->decision));
			compare_xml_escape(out, numbers);
			fprintf(out, "</system-out>\n    </testcase>\n");
		}
		free(numbers);
	}
	fprintf(out, "  </testsuite>\n</testsuites>\n");
}

int compare_write_junit(const char *path, const char *text, size_t len, struct kq_err *err)
{
	/* kq_out: a regular file (or a new name) written beside itself and
	 * renamed over it; a FIFO, a device or a link written into, never
	 * replaced; a FIFO nobody reads refused at once. */
	struct kq_out o;
	struct kq_err oerr;
	if (kq_out_open(&o, path, &oerr))
		return kq_error(err, "--junit %s", oerr.msg);
	fwrite(text, 1, len, o.f);
	if (kq_out_commit(&o, &oerr))
		return kq_error(err, "--junit %s", oerr.msg);
	return 0;
}
