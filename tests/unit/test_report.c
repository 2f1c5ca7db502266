/* kvmqual report's pure parts: the spread of samples, escaping of outside
 * text for HTML, Markdown and gnuplot, numbers and times, SVG inlining, the
 * model built from real exports (tests/fixtures/report/) and from broken
 * ones, the documents, and the output directory's replacement. */
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../probe/parse.h"
#include "../../reports/report.h"
#include "test.h"

#define FIXTURES "tests/fixtures/report/"

/* Runs one writer into a string. */
#define CAPTURE(var, call)                                                      \
	do {                                                                    \
		size_t len_;                                                    \
		FILE *out = open_memstream(&(var), &len_);                      \
		call;                                                           \
		fclose(out);                                                    \
	} while (0)

static int near(double a, double b)
{
	return (isnan(a) && isnan(b)) || fabs(a - b) < 1e-9 * (fabs(b) > 1 ? fabs(b) : 1);
}

TEST(report_spread)
{
	static const struct {
		double v[8];
		size_t n;
		double median, q1, q3, min, max;
		size_t kept;
	} cases[] = {
		{ { 0 }, 0, NAN, NAN, NAN, NAN, NAN, 0 },
		{ { 5 }, 1, 5, 5, 5, 5, 5, 1 },
		{ { 3, 1, 2 }, 3, 2, 1.5, 2.5, 1, 3, 3 },
		{ { 4, 1, 3, 2 }, 4, 2.5, 1.75, 3.25, 1, 4, 4 },
		{ { 1, NAN, 3 }, 3, 2, 1.5, 2.5, 1, 3, 2 },
		{ { NAN, NAN }, 2, NAN, NAN, NAN, NAN, NAN, 0 },
		{ { -2, 10, 0, 7, 7 }, 5, 7, 0, 7, -2, 10, 5 },
		{ { 1473.5, 1564.1, 1489.0 }, 3, 1489.0, 1481.25, 1526.55, 1473.5, 1564.1, 3 },
	};
	for (size_t i = 0; i < KQ_ARRAY_SIZE(cases); i++) {
		struct report_spread s;
		report_spread_of(cases[i].v, cases[i].n, &s);
		CHECK_INT(s.n, cases[i].kept);
		CHECK(near(s.median, cases[i].median));
		CHECK(near(s.q1, cases[i].q1));
		CHECK(near(s.q3, cases[i].q3));
		CHECK(near(s.min, cases[i].min));
		CHECK(near(s.max, cases[i].max));
	}
}

static char *html_of(const char *text)
{
	char *s;
	CAPTURE(s, report_html(out, text));
	return s;
}

static char *md_of(const char *text)
{
	char *s;
	CAPTURE(s, report_md(out, text));
	return s;
}

static char *gp_of(const char *text)
{
	char *s;
	CAPTURE(s, report_gp_string(out, text));
	return s;
}

TEST(report_escape_html)
{
	static const char *const cases[][2] = {
		{ "plain text", "plain text" },
		{ "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;" },
		{ "a & b \"c\" 'd'", "a &amp; b &quot;c&quot; &#39;d&#39;" },
		{ "&amp;", "&amp;amp;" },
		{ "line1\nline2\ttab\r", "line1\nline2\ttab" },
		{ "bell\x07", "bell\xef\xbf\xbd" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
		{ "\xff", "\xef\xbf\xbd" },
		{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },                          /* overlong '/' */
		{ "\xe2\x82", "\xef\xbf\xbd\xef\xbf\xbd" },                          /* cut off */
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },          /* surrogate */
		{ "\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* > U+10FFFF */
		{ "", "" },
	};
	for (size_t i = 0; i < KQ_ARRAY_SIZE(cases); i++) {
		char *s = html_of(cases[i][0]);
		CHECK_STR(s, cases[i][1]);
		free(s);
	}
	char *s = html_of(NULL);
	CHECK_STR(s, "");
	free(s);
}

TEST(report_escape_markdown)
{
	static const char *const cases[][2] = {
		{ "events_per_second", "events\\_per\\_second" },
		{ "a|b", "a\\|b" },
		{ "*bold* `code` [link](x) ![img](y)", "\\*bold\\* \\`code\\` \\[link\\](x) \\!\\[img\\](y)" },
		{ "<b>html</b> &amp;", "\\<b\\>html\\</b\\> \\&amp;" },
		{ "back\\slash ~strike~ #tag {x}", "back\\\\slash \\~strike\\~ \\#tag \\{x\\}" },
		{ "two\nlines\r\n", "two lines  " },
		{ "\x01\xfe", "\xef\xbf\xbd\xef\xbf\xbd" },
		{ "7.2.22 (kvm, tcg) >= 85 %", "7.2.22 (kvm, tcg) \\>= 85 %" },
	};
	for (size_t i = 0; i < KQ_ARRAY_SIZE(cases); i++) {
		char *s = md_of(cases[i][0]);
		CHECK_STR(s, cases[i][1]);
		free(s);
	}
}

TEST(report_escape_gnuplot)
{
	static const char *const cases[][2] = {
		{ "stream: triad_mbps", "'stream: triad_mbps'" },
		{ "it's", "'it''s'" },
		{ "''", "''''''" },
		{ "a\nb\tc\x01", "'a b c'" },
		{ "\\n \"q\" $1 @x", "'\\n \"q\" $1 @x'" },
		{ "", "''" },
	};
	for (size_t i = 0; i < KQ_ARRAY_SIZE(cases); i++) {
		char *s = gp_of(cases[i][0]);
		CHECK_STR(s, cases[i][1]);
		free(s);
	}
}

TEST(report_numbers)
{
	static const struct {
		double v;
		const char *shown;
	} cases[] = {
		{ 107938.178, "107938" }, { 1043.28, "1043" }, { 19.153, "19.2" }, { 1.4999, "1.50" },
		{ 0.97077, "0.971" },     { 0, "0" },          { -0.0, "0" },      { 85, "85" },
		{ 2000, "2000" },         { 1, "1" },          { -12.34, "-12.3" }, { 0.000123456, "0.000123" },
		{ 1e20, "1e+20" },        { NAN, "\xe2\x80\x93" }, { INFINITY, "\xe2\x80\x93" },
	};
	char buf[32];
	for (size_t i = 0; i < KQ_ARRAY_SIZE(cases); i++) {
		report_number(buf, cases[i].v);
		CHECK_STR(buf, cases[i].shown);
	}
	/* The exact form reads back as the same double, as the export writes it. */
	static const double exact[] = { 1043.28, 0.1, 1.0 / 3, 107938.178, 1e-300, 5495.43 };
	for (size_t i = 0; i < KQ_ARRAY_SIZE(exact); i++) {
		report_exact(buf, exact[i]);
		CHECK(strtod(buf, NULL) == exact[i]);
	}
	report_exact(buf, 1043.28);
	CHECK_STR(buf, "1043.28");
	report_exact(buf, NAN);
	CHECK_STR(buf, "NaN");
}

TEST(report_times)
{
	CHECK(near(report_parse_time("1970-01-01T00:00:00.000Z"), 0));
	CHECK(near(report_parse_time("2026-11-24T08:05:24.900Z"), 1795507524.9));
	CHECK(near(report_parse_time("2026-11-24T08:05:24Z"), 1795507524));
	static const char *const bad[] = { NULL, "", "yesterday", "2026-13-01T00:00:00Z", "2026-11-24 08:05:24Z",
					   "2026-11-24T25:00:00Z", "2026-11-24T08:05:24.9Zjunk", "1969-12-31T23:59:59Z" };
	for (size_t i = 0; i < KQ_ARRAY_SIZE(bad); i++)
		CHECK(isnan(report_parse_time(bad[i])));
}

TEST(report_svg_inline)
{
	const char *svg =
		"<?xml version=\"1.0\" encoding=\"utf-8\"  standalone=\"no\"?>\n"
		"<svg \n viewBox=\"0 0 600 400\"\n xmlns=\"http://www.w3.org/2000/svg\"\n"
		" xmlns:xlink=\"http://www.w3.org/1999/xlink\"\n>\n<!-- a comment -->\n"
		"<title>Gnuplot</title>\n<g id=\"gnuplot_canvas\">\n<defs>\n"
		"\t<circle id='gpDot' r='0.5'/>\n\t<use xlink:href='#gpDot' id='gpPt6' fill='currentColor'/>\n"
		"\t<clipPath id='gpclip1'><rect x='0' y='0' width='10' height='10'/></clipPath>\n</defs>\n"
		"<g clip-path=\"url(#gpclip1)\"><text>a &lt; b, id='x'</text></g>\n</g>\n</svg>\n";
	struct kq_err err;
	char *s = report_svg_inline(svg, "bars", &err);
	CHECK(s != NULL);
	if (s) {
		CHECK(!strstr(s, "<?xml"));
		CHECK(!strstr(s, "xmlns"));
		CHECK(!strstr(s, "http"));
		CHECK(!strstr(s, "a comment"));
		CHECK(!strncmp(s, "<svg", 4));
		CHECK(strstr(s, "viewBox=\"0 0 600 400\"") != NULL);
		CHECK(strstr(s, "id=\"bars-gnuplot_canvas\"") != NULL);
		CHECK(strstr(s, "id='bars-gpDot'") != NULL);
		CHECK(strstr(s, "xlink:href='#bars-gpDot'") != NULL);
		CHECK(strstr(s, "clip-path=\"url(#bars-gpclip1)\"") != NULL);
		CHECK(strstr(s, "<text>a &lt; b, id='x'</text>") != NULL); /* text is left alone */
		CHECK(strstr(s, "</svg>") != NULL);
		free(s);
	}
	static const char *const refused[] = {
		"<svg><script>alert(1)</script></svg>",
		"<svg><SCRIPT xlink:href='gnuplot_svg.js'/></svg>",
		"<svg onload='x()'><g/></svg>",
		"<svg><use xlink:href='http://example.com/a.svg#x'/></svg>",
		"<svg><image href='plot.png'/></svg>",
		"<svg><g style=\"fill:url(http://example.com/p)\"/></svg>",
		"<svg><style>@import 'x.css';</style></svg>",
		"<svg><foreignObject><p>x</p></foreignObject></svg>",
		"<html><body>no svg</body></html>",
		"<svg><g id='unterminated",
		"<svg><!-- never closed",
		"<svg><use\"/<script></svg>",           /* found by the fuzzer */
		"<svg><g a=unquoted/></svg>",
		"<svg><g checked/></svg>",
		"<svg><g x='1'y='2'/></svg>",
		"<svg><g title='a<b'/></svg>",
		"<svg></g x></svg>",
		"<svg><![CDATA[ <script> ]]></svg>",
		"",
	};
	for (size_t i = 0; i < KQ_ARRAY_SIZE(refused); i++) {
		s = report_svg_inline(refused[i], "p", &err);
		if (s)
			test_fail(__FILE__, __LINE__, "accepted: %s -> %s", refused[i], s);
		free(s);
	}
}

static int load_fixture(struct report *r, const char *name, const char *patch_from, const char *patch_to)
{
	char *path = kq_xasprintf(FIXTURES "%s", name), *text;
	size_t len;
	struct kq_err err;
	int rc = kq_read_file(path, 1 << 22, &text, &len, &err);
	free(path);
	if (rc) {
		test_fail(__FILE__, __LINE__, "%s", err.msg);
		return -1;
	}
	if (patch_from) {
		/* The last occurrence: the run's own rows come after the probe's
		 * document, which repeats the checks. */
		char *at = NULL;
		for (char *p = strstr(text, patch_from); p; p = strstr(p + 1, patch_from))
			at = p;
		if (!at) {
			test_fail(__FILE__, __LINE__, "fixture %s has no %s", name, patch_from);
			free(text);
			return -1;
		}
		char *patched = kq_xasprintf("%.*s%s%s", (int)(at - text), text, patch_to, at + strlen(patch_from));
		free(text);
		text = patched;
		len = strlen(text);
	}
	rc = report_load(r, text, len, &err);
	if (rc)
		test_fail(__FILE__, __LINE__, "%s: %s", name, err.msg);
	free(text);
	return rc;
}

static const struct report_metric *find_metric(const struct report *r, const char *workload, const char *metric)
{
	for (size_t i = 0; i < r->metric_count; i++)
		if (!strcmp(r->metrics[i].workload, workload) && !strcmp(r->metrics[i].metric, metric))
			return &r->metrics[i];
	return NULL;
}

/* The development machine's run: KVM (PVM) failed, TCG and native ran. */
TEST(report_model_pvm_host)
{
	struct report r;
	if (load_fixture(&r, "x86-pvm-run.json", NULL, NULL))
		return;
	CHECK_INT(r.run_id, 2);
	CHECK_STR(r.run_status, "incomplete");
	CHECK_STR(r.arch, "x86_64");
	CHECK_STR(r.probe_verdict, "kvm-limited");
	CHECK(!r.emulated);
	CHECK(!r.kvm_measured);
	CHECK_INT(r.status, REPORT_NOT_QUALIFIED);
	CHECK(r.kvm_reason && !strncmp(r.kvm_reason, "kvm: the guest did not boot", 27));
	CHECK(r.kvm_reason && strstr(r.kvm_reason, "failed to set MSR 0x10a"));
	CHECK(strstr(r.status_reason, "KVM has no numbers") != NULL);
	CHECK(strstr(r.headline, "KVM did not run here") != NULL);
	CHECK(strstr(r.headline, "boots in 1.49 s") != NULL);
	CHECK_INT(r.metric_count, 11);
	const struct report_metric *cpu = find_metric(&r, "sysbench-cpu", "events_per_second");
	CHECK(cpu != NULL);
	if (cpu) {
		CHECK_STR(cpu->unit, "events/s");
		CHECK_INT(cpu->spread[REPORT_NATIVE].n, 1);
		CHECK(near(cpu->spread[REPORT_NATIVE].median, 10843.62));
		CHECK(near(cpu->spread[REPORT_TCG].median, 2080.24));
		CHECK_INT(cpu->spread[REPORT_KVM].n, 0);
		CHECK(isnan(cpu->kvm_pct_of_native));
		CHECK(near(cpu->tcg_pct_of_native, 19.18399943930163));
		CHECK(cpu->target && !strcmp(cpu->target->name, "cpu") && cpu->target->pct_of_native);
	}
	CHECK_INT(r.boot.total[REPORT_TCG].n, 3);
	CHECK(near(r.boot.total[REPORT_TCG].median, 1488.970326));
	CHECK_INT(r.boot.total[REPORT_KVM].n, 0);
	CHECK(r.boot.target && !strcmp(r.boot.target->status, "skip"));
	CHECK_INT(r.target_count, 5);
	/* Warnings first (no failures here), then the rest, each in the probe's order. */
	CHECK(r.check_count > 10);
	CHECK_STR(r.checks[0].id, "cpu.virt_ext");
	CHECK_INT(r.checks[0].rank, 1);
	for (size_t i = 1; i < r.check_count; i++)
		CHECK(r.checks[i - 1].rank <= r.checks[i].rank);
	CHECK_STR(r.checks[r.check_count - 1].id, "qemu.accel");
	CHECK_INT(r.conditions.samples, 22);
	CHECK(near(r.conditions.load_max, 1));
	CHECK_INT(r.flagged_count, 0);
	/* The network target's metric was not measured: its unit comes from
	 * the same metric of another workload. */
	CHECK_STR(report_target_unit(&r.targets[3], &r), "Gbit/s");
	report_free(&r);
}

TEST(report_model_kvm_measured)
{
	/* The same run as if KVM had booted once, slowly: KVM has numbers, the
	 * boot target fails, so the host is qualified with limits. */
	struct report r;
	if (load_fixture(&r, "x86-pvm-run.json", "\"boot_samples\":[",
			 "\"boot_samples\":[{\"accel\":\"kvm\",\"iteration\":1,\"total_ms\":2500,\"flags\":[\"throttled\"]},"))
		return;
	CHECK(r.kvm_measured);
	CHECK(r.kvm_reason == NULL);
	CHECK_INT(r.boot.total[REPORT_KVM].n, 1);
	CHECK_INT(r.status, REPORT_QUALIFIED_WITH_LIMITS);
	CHECK(strstr(r.headline, "KVM works here: boots in 2.50 s") != NULL);
	CHECK(strstr(r.status_reason, "the run is incomplete") != NULL);
	CHECK_INT(r.flagged_count, 1);
	CHECK_STR(r.flagged[0].flags, "throttled");
	report_free(&r);
}

TEST(report_model_malformed)
{
	static const struct {
		const char *json, *message;
	} cases[] = {
		{ "", "not JSON" },
		{ "{\"schema\":", "not JSON" },
		{ "[1,2]", "not a JSON object" },
		{ "{\"schema\":\"kvmqual.matrix\",\"version\":1,\"runs\":[]}", "schema is 'kvmqual.matrix'" },
		{ "{\"version\":1,\"runs\":[]}", "schema is missing" },
		{ "{\"schema\":\"kvmqual.export\",\"version\":2,\"runs\":[]}", "version 2" },
		{ "{\"schema\":\"kvmqual.export\",\"version\":\"1\",\"runs\":[]}", "version is not a number" },
		{ "{\"schema\":\"kvmqual.export\",\"version\":1,\"runs\":{}}", "runs is not an array" },
		{ "{\"schema\":\"kvmqual.export\",\"version\":1,\"runs\":[]}", "holds 0 runs" },
		{ "{\"schema\":\"kvmqual.export\",\"version\":1,\"runs\":[{\"id\":1,\"host\":{}},{\"id\":2,\"host\":{}}]}",
		  "holds 2 runs" },
		{ "{\"schema\":\"kvmqual.export\",\"version\":1,\"runs\":[{\"id\":-3,\"host\":{}}]}", "not a run id" },
		{ "{\"schema\":\"kvmqual.export\",\"version\":1,\"runs\":[{\"id\":1}]}", "host is not an object" },
		{ "{\"schema\":\"kvmqual.export\",\"version\":1,\"runs\":[{\"id\":1,\"host\":{\"arch\":7}}]}",
		  "host.arch is not a string" },
		{ "{\"schema\":\"kvmqual.export\",\"version\":1,\"runs\":[{\"id\":1,\"host\":{},\"samples\":{}}]}",
		  "samples is not an array" },
		{ "{\"schema\":\"kvmqual.export\",\"version\":1,\"runs\":[{\"id\":1,\"host\":{},\"samples\":[3]}]}",
		  "samples[0] is not an object" },
		{ "{\"schema\":\"kvmqual.export\",\"version\":1,\"runs\":[{\"id\":1,\"host\":{},\"samples\":[{\"accel\":\"gpu\","
		  "\"workload\":\"w\",\"metric\":\"m\",\"value\":1}]}]}",
		  "samples[0]: needs accel" },
		{ "{\"schema\":\"kvmqual.export\",\"version\":1,\"runs\":[{\"id\":1,\"host\":{},\"samples\":[{\"accel\":\"tcg\","
		  "\"workload\":\"w\",\"metric\":\"m\",\"value\":\"fast\"}]}]}",
		  "samples[0].value is not a number" },
		{ "{\"schema\":\"kvmqual.export\",\"version\":1,\"runs\":[{\"id\":1,\"host\":{},\"boot_samples\":[{\"accel\":"
		  "\"native\",\"total_ms\":1}]}]}",
		  "boot_samples[0].accel is not tcg or kvm" },
		{ "{\"schema\":\"kvmqual.export\",\"version\":1,\"runs\":[{\"id\":1,\"host\":{},\"verdicts\":[{\"target\":\"x\"}]}]}",
		  "verdicts[0] needs a metric and a status" },
		{ "{\"schema\":\"kvmqual.export\",\"version\":1,\"runs\":[{\"id\":1,\"host\":{},\"checks\":[{\"id\":[]}]}]}",
		  "checks[0].id is not a string" },
		{ "{\"schema\":\"kvmqual.export\",\"version\":1,\"runs\":[{\"id\":1,\"host\":{},\"samples\":[{\"accel\":\"tcg\","
		  "\"workload\":\"w\",\"metric\":\"m\",\"value\":1,\"flags\":[1]}]}]}",
		  "flags holds something that is not a string" },
		{ "{\"schema\":\"kvmqual.export\",\"version\":1,\"runs\":[{\"id\":1,\"host\":{},\"guest_vulnerabilities\":{}}]}",
		  "guest_vulnerabilities is not an array" },
		{ "{\"schema\":\"kvmqual.export\",\"version\":1,\"runs\":[{\"id\":1,\"host\":{},\"guest_vulnerabilities\":"
		  "[{\"accel\":\"native\",\"status\":\"unknown\"}]}]}",
		  "guest_vulnerabilities[0].accel is not tcg or kvm" },
		{ "{\"schema\":\"kvmqual.export\",\"version\":1,\"runs\":[{\"id\":1,\"host\":{},\"guest_vulnerabilities\":"
		  "[{\"accel\":\"tcg\",\"status\":\"safe\"}]}]}",
		  "guest_vulnerabilities[0].status is not known or unknown" },
		{ "{\"schema\":\"kvmqual.export\",\"version\":1,\"runs\":[{\"id\":1,\"host\":{},\"guest_vulnerabilities\":"
		  "[{\"accel\":\"tcg\",\"status\":\"known\",\"vulnerabilities\":[\"meltdown\"]}]}]}",
		  "guest_vulnerabilities[0].vulnerabilities is not an object" },
		{ "{\"schema\":\"kvmqual.export\",\"version\":1,\"runs\":[{\"id\":1,\"host\":{},\"guest_vulnerabilities\":"
		  "[{\"accel\":\"kvm\",\"status\":\"known\",\"vulnerabilities\":{\"meltdown\":true}}]}]}",
		  "guest_vulnerabilities[0].vulnerabilities holds something that is not a string" },
		{ "{\"schema\":\"kvmqual.export\",\"version\":1,\"runs\":[{\"id\":1,\"host\":{},\"guest_vulnerabilities\":"
		  "[{\"accel\":\"kvm\",\"status\":\"unknown\",\"reason\":7}]}]}",
		  "guest_vulnerabilities[0].reason is not a string" },
	};
	for (size_t i = 0; i < KQ_ARRAY_SIZE(cases); i++) {
		struct report r;
		struct kq_err err = { "" };
		int rc = report_load(&r, cases[i].json, strlen(cases[i].json), &err);
		CHECK_INT(rc, -1);
		if (!strstr(err.msg, cases[i].message))
			test_fail(__FILE__, __LINE__, "case %zu: '%s' does not say '%s'", i, err.msg, cases[i].message);
		CHECK(r.doc == NULL && r.metrics == NULL);
		report_free(&r);
	}
	/* The smallest valid document: a run with nothing measured. */
	const char *empty = "{\"schema\":\"kvmqual.export\",\"version\":1,\"runs\":[{\"id\":4,\"status\":\"failed\","
			    "\"reason\":\"no QEMU\",\"host\":{\"arch\":\"aarch64\"},\"probe\":null}]}";
	struct report r;
	struct kq_err err;
	CHECK_INT(report_load(&r, empty, strlen(empty), &err), 0);
	CHECK_INT(r.status, REPORT_NOT_QUALIFIED);
	CHECK(strstr(r.status_reason, "the run failed: no QEMU") != NULL);
	CHECK(strstr(r.headline, "has no numbers either") != NULL);
	char *html, *md;
	struct report_plots plots = { 0 };
	plots.gnuplot_missing = 1;
	int rc;
	CAPTURE(html, rc = report_write_html(&r, &plots, NULL, out, &err));
	CHECK_INT(rc, 0);
	CHECK(strstr(html, "<main id=\"report\">") != NULL);
	CAPTURE(md, report_write_markdown(&r, &plots, out));
	CHECK(strstr(md, "**Verdict: Not qualified**") != NULL);
	free(html);
	free(md);
	report_free(&r);
}

/* The page of an emulated host, with hostile text in the probe's hint. */
TEST(report_html_document)
{
	struct report r;
	if (load_fixture(&r, "x86-pvm-run.json", "\"is_guest\":true", "\"is_guest\":true,\"emulated\":true"))
		return;
	report_free(&r);
	if (load_fixture(&r, "x86-pvm-run.json", "\"hint\":\"missing: sudo modprobe vfio",
			 "\"hint\":\"<script>alert('x')</script> | *x* missing: sudo modprobe vfio"))
		return;
	struct report_plots plots = { 0 };
	plots.gnuplot_missing = 1;
	char *html, *md;
	struct kq_err err;
	int rc;
	CAPTURE(html, rc = report_write_html(&r, &plots, NULL, out, &err));
	CHECK_INT(rc, 0);
	CHECK(!strncmp(html, "<!DOCTYPE html>", 15));
	CHECK(strstr(html, "<main id=\"report\">") != NULL);
	CHECK(strstr(html, "id=\"verdict\" class=\"verdict not-qualified\"") != NULL);
	CHECK(strstr(html, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") != NULL);
	CHECK(!strstr(html, "<script"));
	CHECK(!strstr(html, "src="));
	CHECK(!strstr(html, "http://") && !strstr(html, "https://"));
	CHECK(strstr(html, "No plots: gnuplot was not found") != NULL);
	CHECK(strstr(html, "<td class=\"num missing\"") != NULL);
	CHECK(strstr(html, "data-value=\"2080.24\"") != NULL);
	/* Failures and warnings (with hints) before the numbers. */
	char *hint = strstr(html, "hint\">only PVM-enabled guest kernels boot");
	char *numbers = strstr(html, "<section id=\"numbers\">");
	CHECK(hint && numbers && hint < numbers);
	CAPTURE(md, report_write_markdown(&r, &plots, out));
	CHECK(strstr(md, "**Verdict: Not qualified**") != NULL);
	CHECK(strstr(md, "\\<script\\>alert('x')\\</script\\> \\| \\*x\\*") != NULL);
	CHECK(strstr(md, "*missing*") != NULL);
	free(html);
	free(md);
	report_free(&r);

	if (load_fixture(&r, "x86-pvm-run.json", "\"is_guest\":true", "\"is_guest\":true,\"emulated\":true"))
		return;
	CHECK(r.emulated);
	CAPTURE(html, rc = report_write_html(&r, &plots, NULL, out, &err));
	char *banner = strstr(html, "class=\"emulated\"");
	char *verdict = strstr(html, "id=\"verdict\"");
	CHECK(banner && verdict && banner < verdict);
	CHECK(strstr(html, "These numbers are not hardware performance") != NULL);
	CAPTURE(md, report_write_markdown(&r, &plots, out));
	CHECK(strstr(md, "**EMULATED HOST: these numbers are not hardware performance.**") != NULL);
	free(html);
	free(md);
	report_free(&r);
}

TEST(report_history_order)
{
	struct report r;
	if (load_fixture(&r, "aarch64-tcg-run.json", NULL, NULL))
		return;
	const char *keys[16];
	size_t n = report_headline_keys(&r, keys, 16);
	CHECK_INT(n, 5);
	CHECK_STR(keys[0], "boot.total_ms");
	CHECK_STR(keys[1], "sysbench-cpu.events_per_second");
	/* As the store gives them: by run, then metric name. */
	report_history_add(&r, "boot.total_ms", 1, "2026-11-24T08:00:00.000Z", "tcg", 1100);
	report_history_add(&r, "stream.triad_mbps", 1, "2026-11-24T08:00:00.000Z", "native", 130000);
	report_history_add(&r, "stream.triad_mbps", 1, "2026-11-24T08:00:00.000Z", "tcg", 6800);
	report_history_add(&r, "sysbench-cpu.events_per_second", 1, "2026-11-24T08:00:00.000Z", "tcg", 2000);
	report_history_add(&r, "boot.total_ms", 2, "2026-11-24T09:00:00.000Z", "tcg", 1000);
	report_history_add(&r, "stream.triad_mbps", 2, "2026-11-24T09:00:00.000Z", "tcg", 6900);
	report_history_add(&r, "stream.triad_mbps", 2, "2026-11-24T09:00:00.000Z", "gpu", 1);
	report_history_finish(&r);
	CHECK_INT(r.history_count, 2); /* the cpu series has one run only */
	CHECK_INT(r.history_runs, 2);
	CHECK_STR(r.history[0].key, "boot.total_ms");
	CHECK_STR(r.history[1].key, "stream.triad_mbps");
	CHECK_STR(r.history[1].title, "memory: stream triad_mbps");
	CHECK_STR(r.history[1].unit, "MB/s");
	CHECK_INT(r.history[1].count, 2);
	CHECK(near(r.history[1].points[0].median[REPORT_NATIVE], 130000));
	CHECK(isnan(r.history[1].points[1].median[REPORT_NATIVE]));
	CHECK(near(r.history[1].points[1].time - r.history[1].points[0].time, 3600));
	report_free(&r);
}

TEST(report_outdir)
{
	char base[] = "/tmp/kvmqual-report.XXXXXX";
	if (!mkdtemp(base))
		abort();
	char *dir = kq_xasprintf("%s/sub/report", base);
	struct kq_err err;
	/* New: parents made, the marker written, renamed into place. */
	char *tmp = report_outdir_begin(dir, &err);
	CHECK(tmp != NULL);
	if (tmp) {
		char *file = kq_xasprintf("%s/index.html", tmp);
		FILE *f = fopen(file, "w");
		fputs("one", f);
		fclose(f);
		free(file);
		CHECK_INT(report_outdir_commit(tmp, dir, &err), 0);
		free(tmp);
	}
	char *index = kq_xasprintf("%s/index.html", dir), *marker = kq_xasprintf("%s/.kvmqual-report", dir);
	CHECK(access(index, F_OK) == 0 && access(marker, F_OK) == 0);
	/* An earlier report is replaced whole: its files do not survive. */
	tmp = report_outdir_begin(dir, &err);
	CHECK(tmp != NULL);
	if (tmp) {
		CHECK_INT(report_outdir_commit(tmp, dir, &err), 0);
		free(tmp);
	}
	CHECK(access(index, F_OK) != 0 && access(marker, F_OK) == 0);
	/* Nothing is left beside it. */
	char *cmd = kq_xasprintf("test $(ls -A '%s/sub' | wc -l) -eq 1", base);
	CHECK(system(cmd) == 0);
	free(cmd);
	/* A directory that is not a report is refused and left alone. */
	char *other = kq_xasprintf("%s/other", base), *keep = kq_xasprintf("%s/other/keep.txt", base);
	mkdir(other, 0777);
	FILE *f = fopen(keep, "w");
	fclose(f);
	CHECK(report_outdir_begin(other, &err) == NULL);
	CHECK(strstr(err.msg, "is not a kvmqual report") != NULL);
	CHECK(access(keep, F_OK) == 0);
	/* A file is refused too. */
	CHECK(report_outdir_begin(keep, &err) == NULL);
	CHECK(strstr(err.msg, "not a directory") != NULL);
	report_remove_tree(base);
	struct stat sb;
	CHECK(stat(base, &sb) != 0);
	free(dir);
	free(index);
	free(marker);
	free(other);
	free(keep);
}

TEST(report_templates)
{
	struct kq_err err;
	char *css = report_template(NULL, "report.css", &err);
	CHECK(css && strstr(css, "#verdict.not-qualified"));
	free(css);
	char *common = report_template(NULL, "common.gp", &err);
	CHECK(common && strstr(common, "set terminal svg"));
	free(common);
	CHECK(report_template(NULL, "nope.gp", &err) == NULL);
	/* A directory without the file falls back to the built-in one. */
	char *page = report_template("/nonexistent-dir", "page.html", &err);
	CHECK(page && strstr(page, "@BODY@"));
	free(page);
}

/* KVM vs TCG per unit of work: the run's energy and CPU-time samples
 * (patched into the PVM host's run, with a RAPL sensor named by the probe
 * check), against the origin document's 40-60 % claim; by hand: energy
 * 10 J vs 4 J per kevent is 60 % less (within), CPU time 2 vs 0.5 CPU-s
 * is 75 % less; a metric only TCG measured is "not measured under both". */
TEST(report_cost_per_unit)
{
	struct report r;
	if (load_fixture(&r, "x86-pvm-run.json", "\"samples\":[",
			 "\"samples\":["
			 "{\"accel\":\"tcg\",\"workload\":\"sysbench-cpu\",\"metric\":\"host_cpu_s_per_kevent\",\"unit\":\"CPU-s/kevent\",\"value\":2,\"iteration\":1,\"higher_is_better\":0,\"flags\":[]},"
			 "{\"accel\":\"kvm\",\"workload\":\"sysbench-cpu\",\"metric\":\"host_cpu_s_per_kevent\",\"unit\":\"CPU-s/kevent\",\"value\":0.5,\"iteration\":1,\"higher_is_better\":0,\"flags\":[]},"
			 "{\"accel\":\"tcg\",\"workload\":\"sysbench-cpu\",\"metric\":\"energy_j_per_kevent\",\"unit\":\"J/kevent\",\"value\":10,\"iteration\":1,\"higher_is_better\":0,\"flags\":[]},"
			 "{\"accel\":\"kvm\",\"workload\":\"sysbench-cpu\",\"metric\":\"energy_j_per_kevent\",\"unit\":\"J/kevent\",\"value\":4,\"iteration\":1,\"higher_is_better\":0,\"flags\":[\"energy-wrapped\"]},"
			 "{\"accel\":\"tcg\",\"workload\":\"stream\",\"metric\":\"energy_j_per_GB\",\"unit\":\"J/GB\",\"value\":3,\"iteration\":1,\"higher_is_better\":0,\"flags\":[]},"))
		return;
	CHECK_INT(r.cost_count, 3);
	CHECK(r.cost_count == 3 && r.costs[0].energy && r.costs[1].energy && !r.costs[2].energy);
	if (r.cost_count == 3) {
		CHECK(near(r.costs[0].less_pct, 60));
		CHECK_STR(r.costs[0].judgement, "within the claim");
		CHECK_STR(r.costs[1].judgement, "not measured under both");
		CHECK(near(r.costs[2].less_pct, 75));
		CHECK_STR(r.costs[2].judgement, "more saved than claimed");
	}
	/* The fixture's probe predates the energy check. */
	CHECK(r.energy_source == NULL);
	char *html = NULL, *md = NULL;
	size_t hlen = 0, mlen = 0;
	FILE *f = open_memstream(&html, &hlen);
	struct report_plots plots = { .gnuplot_missing = 1 };
	struct kq_err err;
	CHECK_INT(report_write_html(&r, &plots, NULL, f, &err), 0);
	fclose(f);
	f = open_memstream(&md, &mlen);
	report_write_markdown(&r, &plots, f);
	fclose(f);
	CHECK(strstr(html, "<section id=\"cost\">") != NULL);
	CHECK(strstr(html, "<td class=\"num\">60.0 %</td><td>within the claim</td>") != NULL);
	CHECK(strstr(html, "(CPU time, not power)") != NULL);
	CHECK(strstr(md, "## KVM vs TCG energy per unit of work") != NULL);
	CHECK(strstr(md, "| energy | sysbench-cpu | J/kevent | 10 | 4 | 60.0 % | within the claim |") != NULL);
	free(html);
	free(md);
	report_free(&r);

	/* A probe that found no sensor: "unavailable" with its reason. */
	if (load_fixture(&r, "x86-pvm-run.json", "\"checks\":[",
			 "\"checks\":[{\"id\":\"host.energy\",\"status\":\"WARN\",\"value\":\"unavailable\",\"detail\":"
			 "\"no energy sensor: no RAPL zone in /sys/class/powercap\",\"hint\":\"h\"},"))
		return;
	CHECK_STR(r.energy_source, "unavailable");
	f = open_memstream(&md, &mlen);
	report_write_markdown(&r, &plots, f);
	fclose(f);
	CHECK(strstr(md, "Energy: **unavailable**: no energy sensor: no RAPL zone in /sys/class/powercap") != NULL);
	free(md);
	report_free(&r);
}

/* A run's export with a host view (the probe document's check) and guest
 * views as the store exports them, hostile where a kernel or a bundle
 * could be: markup in names and texts, newlines, a pipe, a very long text. */
static char *vulns_export(void)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "schema", "kvmqual.export");
	cJSON_AddNumberToObject(doc, "version", 1);
	cJSON *run = cJSON_CreateObject();
	cJSON_AddItemToArray(cJSON_AddArrayToObject(doc, "runs"), run);
	cJSON_AddNumberToObject(run, "id", 3);
	cJSON_AddStringToObject(run, "status", "complete");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(run, "host"), "arch", "x86_64");
	cJSON *check = cJSON_CreateObject();
	cJSON_AddItemToArray(cJSON_AddArrayToObject(cJSON_AddObjectToObject(run, "probe"), "checks"), check);
	cJSON_AddStringToObject(check, "id", "cpu.vulnerabilities");
	cJSON_AddStringToObject(check, "status", "WARN");
	cJSON *host = cJSON_AddObjectToObject(check, "data");
	cJSON_AddStringToObject(host, "spectre_v2", "Mitigation: Retpolines; STIBP: disabled");
	cJSON_AddStringToObject(host, "spec_store_bypass", "Vulnerable");
	cJSON_AddStringToObject(host, "meltdown", "Not affected");
	cJSON_AddStringToObject(host, "retbleed", "Vulnerable");
	cJSON_AddStringToObject(host, "<script>", "<b>bold</b>");
	cJSON_AddNumberToObject(host, "bogus", 1); /* the probe's document is read leniently */
	cJSON *views = cJSON_AddArrayToObject(run, "guest_vulnerabilities");
	cJSON *tcg = cJSON_CreateObject();
	cJSON_AddItemToArray(views, tcg);
	cJSON_AddStringToObject(tcg, "accel", "tcg");
	cJSON_AddStringToObject(tcg, "status", "known");
	cJSON_AddNullToObject(tcg, "reason");
	cJSON *g = cJSON_AddObjectToObject(tcg, "vulnerabilities");
	cJSON_AddStringToObject(g, "spectre_v2", "Vulnerable");
	cJSON_AddStringToObject(g, "spec_store_bypass", "Vulnerable");
	cJSON_AddStringToObject(g, "meltdown", "Not affected");
	cJSON_AddStringToObject(g, "retbleed", "Not affected");
	cJSON_AddStringToObject(g, "mds", "Mitigation: Clear CPU buffers\nsecond line | a pipe");
	cJSON_AddStringToObject(g, "<img src=x onerror=alert(1)>", "Vulnerable <script>alert(1)</script>");
	char *long_text = kq_xmalloc(5001);
	memcpy(long_text, "Vulnerable: ", 12);
	memset(long_text + 12, 'x', 4988);
	memcpy(long_text + 200, "\xe2\x82\xac", 3); /* a character across the cut */
	long_text[5000] = '\0';
	cJSON_AddStringToObject(g, "long", long_text);
	free(long_text);
	cJSON *kvm = cJSON_CreateObject();
	cJSON_AddItemToArray(views, kvm);
	cJSON_AddStringToObject(kvm, "accel", "kvm");
	cJSON_AddStringToObject(kvm, "status", "unknown");
	cJSON_AddStringToObject(kvm, "reason", "grep in the guest: exit 2: <i>no</i>\nsuch | directory");
	cJSON_AddNullToObject(kvm, "vulnerabilities");
	char *text = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	return text;
}

static const struct report_vuln *vuln_row(const struct report *r, const char *name)
{
	for (size_t i = 0; i < r->vuln_count; i++)
		if (!strcmp(r->vulns[i].name, name))
			return &r->vulns[i];
	return NULL;
}

TEST(report_cpu_vulnerabilities)
{
	char *json = vulns_export();
	struct report r;
	struct kq_err err;
	CHECK_INT(report_load(&r, json, strlen(json), &err), 0);
	free(json);
	/* Every name either side lists, once, by name. */
	CHECK_INT(r.vuln_count, 8);
	static const char *const order[] = { "<img src=x onerror=alert(1)>", "<script>", "long", "mds", "meltdown",
					     "retbleed", "spec_store_bypass", "spectre_v2" };
	for (size_t i = 0; i < KQ_ARRAY_SIZE(order) && i < r.vuln_count; i++)
		CHECK_STR(r.vulns[i].name, order[i]);
	const struct report_vuln *v2 = vuln_row(&r, "spectre_v2"), *ssb = vuln_row(&r, "spec_store_bypass"),
				 *rb = vuln_row(&r, "retbleed"), *lg = vuln_row(&r, "long"), *mds = vuln_row(&r, "mds");
	CHECK(v2 && ssb && rb && lg && mds);
	if (!v2 || !ssb || !rb || !lg || !mds)
		return;
	/* The guest vulnerable where the host mitigates, and the reverse. */
	CHECK_INT(v2->state[REPORT_NATIVE], VULN_MITIGATED);
	CHECK_INT(v2->state[REPORT_TCG], VULN_VULNERABLE);
	CHECK(v2->differs[REPORT_TCG] && !v2->differs[REPORT_KVM]);
	CHECK(rb->differs[REPORT_TCG]);
	CHECK(!ssb->differs[REPORT_TCG]);
	CHECK(mds->text[REPORT_NATIVE] == NULL && !mds->differs[REPORT_TCG]);
	CHECK_INT(r.vuln_differences, 2); /* spectre_v2 and retbleed: a name one side lacks is no difference */
	/* A very long text is cut at a character, marked, never split. */
	CHECK(lg->text[REPORT_TCG] && strlen(lg->text[REPORT_TCG]) <= REPORT_VULN_TEXT_MAX + 3);
	CHECK(lg->text[REPORT_TCG] && !strcmp(lg->text[REPORT_TCG] + strlen(lg->text[REPORT_TCG]) - 3, "\xe2\x80\xa6"));
	CHECK(lg->text[REPORT_TCG] && !strstr(lg->text[REPORT_TCG], "\xe2\x82"));
	CHECK(r.vuln_view[REPORT_NATIVE].known && r.vuln_view[REPORT_TCG].known);
	CHECK(r.vuln_view[REPORT_KVM].recorded && !r.vuln_view[REPORT_KVM].known);
	CHECK_INT(r.vuln_view[REPORT_TCG].vulnerable, 4);
	CHECK_INT(r.vuln_view[REPORT_NATIVE].vulnerable, 2);

	struct report_plots plots = { 0 };
	plots.gnuplot_missing = 1;
	char *html, *md;
	int rc;
	CAPTURE(html, rc = report_write_html(&r, &plots, NULL, out, &err));
	CHECK_INT(rc, 0);
	char *sec = strstr(html, "<section id=\"vulnerabilities\">");
	CHECK(sec != NULL);
	char *end = sec ? strstr(sec, "</section>") : NULL;
	CHECK(end != NULL);
	if (sec && end) {
		*end = '\0';
		CHECK(!strstr(sec, "<script") && !strstr(sec, "<img") && !strstr(sec, "<i>") && !strstr(sec, "<b>"));
		CHECK(strstr(sec, "<td>&lt;img src=x onerror=alert(1)&gt;</td>") != NULL);
		CHECK(strstr(sec, "Vulnerable &lt;script&gt;alert(1)&lt;/script&gt;") != NULL);
		CHECK(strstr(sec, "<th class=\"native\">host</th><th class=\"tcg\">guest under TCG</th>"
				  "<th class=\"kvm\">guest under KVM</th>") != NULL);
		CHECK(strstr(sec, "<tr><td>spectre_v2</td><td class=\"vuln mitigated\" data-state=\"mitigated\">Mitigation:"
				  " Retpolines; STIBP: disabled</td><td class=\"vuln vulnerable differs\" data-state=\"vulnerable\">"
				  "Vulnerable<span class=\"differs\">the host: mitigated</span></td><td class=\"vuln absent\">"
				  "&ndash;</td></tr>") != NULL);
		CHECK(strstr(sec, "<tr><td>mds</td><td class=\"vuln absent\">not listed</td>") != NULL);
		CHECK(strstr(sec, "id=\"vuln-view-kvm\">guest under KVM: <strong>unknown</strong>: <span class=\"reason\">"
				  "grep in the guest: exit 2: &lt;i&gt;no&lt;/i&gt;\nsuch | directory</span>") != NULL);
		CHECK(strstr(sec, "id=\"vuln-differences\"><strong>2 differ</strong>") != NULL);
		/* One cell per column in every row. */
		for (char *row = strstr(sec, "<tr><td>"); row; row = strstr(row + 1, "<tr><td>")) {
			char *row_end = strstr(row, "</tr>");
			int cells = 0;
			for (char *c = strstr(row, "<td"); c && c < row_end; c = strstr(c + 1, "<td"))
				cells++;
			CHECK_INT(cells, 4);
		}
		*end = '<';
	}
	/* Before the numbers, after the probe's findings. */
	char *findings = strstr(html, "<section id=\"findings\">"), *numbers = strstr(html, "<section id=\"numbers\">");
	CHECK(findings && sec && numbers && findings < sec && sec < numbers);

	CAPTURE(md, report_write_markdown(&r, &plots, out));
	char *msec = strstr(md, "## CPU vulnerabilities\n");
	CHECK(msec != NULL);
	if (msec) {
		CHECK(strstr(msec, "\n| vulnerability | host | guest under TCG | guest under KVM |\n| --- | --- | --- | --- |\n") !=
		      NULL);
		CHECK(strstr(msec, "\n| spectre\\_v2 | Mitigation: Retpolines; STIBP: disabled | **Vulnerable** (the host:"
				   " mitigated) | \xe2\x80\x93 |\n") != NULL);
		CHECK(strstr(msec, "\n| \\<img src=x onerror=alert(1)\\> | *not listed* | Vulnerable \\<script\\>alert(1)"
				   "\\</script\\> | \xe2\x80\x93 |\n") != NULL);
		CHECK(strstr(msec, "| mds | *not listed* | Mitigation: Clear CPU buffers second line \\| a pipe | \xe2\x80\x93 |\n") !=
		      NULL);
		CHECK(strstr(msec, "- guest under KVM: **unknown**: grep in the guest: exit 2: \\<i\\>no\\</i\\> such \\|"
				   " directory\n") != NULL);
		/* Every line of the table is one row with five unescaped pipes. */
		char *table = strstr(msec, "\n| vulnerability");
		char *table_end = table ? strstr(table + 1, "\n\n") : NULL;
		int rows = 0;
		for (char *line = table ? table + 1 : NULL; line && line < table_end; line = strchr(line, '\n') + 1) {
			int pipes = 0;
			for (char *p = line; *p && *p != '\n'; p++)
				pipes += *p == '|' && (p == line || p[-1] != '\\');
			CHECK_INT(pipes, 5);
			rows++;
		}
		CHECK_INT(rows, 2 + 8);
	}
	free(html);
	free(md);
	report_free(&r);

	/* A run from before the record: the section says so, with the table's
	 * host column only when the probe had the check. */
	if (load_fixture(&r, "x86-pvm-run.json", NULL, NULL))
		return;
	CHECK(!r.vuln_view[REPORT_NATIVE].recorded && !r.vuln_view[REPORT_TCG].recorded);
	CAPTURE(html, rc = report_write_html(&r, &plots, NULL, out, &err));
	CHECK(strstr(html, "host: <strong>not recorded (the run's probe predates the check)</strong>") != NULL);
	CHECK(strstr(html, "No vulnerability is listed on either side.") != NULL);
	CHECK(!strstr(html, "guest under TCG:"));
	free(html);
	report_free(&r);
}
