/* Text for the report's documents: escaping of whatever came from outside
 * (the probe's strings, the database's text) for HTML, Markdown and gnuplot,
 * numbers for people and for machines, times, and the spread of samples. */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report.h"

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/* Walks text: ASCII bytes go to ascii(), valid multi-byte sequences are
 * copied, anything else becomes U+FFFD.  (A NUL ends every sequence test
 * early because it fails the continuation-byte checks.) */
static void walk(FILE *out, const char *text, void (*ascii)(FILE *, unsigned char))
{
	const unsigned char *p = (const unsigned char *)(text ? text : "");
	while (*p) {
		size_t len = kq_utf8_len(p);
		if (len == 1)
			ascii(out, *p);
		else if (len)
			fwrite(p, 1, len, out);
		else
			fputs(REPLACEMENT, out);
		p += len ? len : 1;
	}
}

static void html_char(FILE *out, unsigned char c)
{
	switch (c) {
	case '&': fputs("&amp;", out); break;
	case '<': fputs("&lt;", out); break;
	case '>': fputs("&gt;", out); break;
	case '"': fputs("&quot;", out); break;
	case '\'': fputs("&#39;", out); break;
	case '\t':
	case '\n': fputc(c, out); break;
	case '\r': break;
	default:
		if (c < 0x20 || c == 0x7f)
			fputs(REPLACEMENT, out);
		else
			fputc(c, out);
	}
}

void report_html(FILE *out, const char *text)
{
	walk(out, text, html_char);
}

void report_md(FILE *out, const char *text)
{
	kq_md_text(out, text);
}

void report_gp_string(FILE *out, const char *text)
{
	fputc('\'', out);
	for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++) {
		if (*p == '\'')
			fputs("''", out);
		else if (*p >= 0x20 && *p != 0x7f)
			fputc(*p, out);
		else if (*p == '\t' || *p == '\n')
			fputc(' ', out);
	}
	fputc('\'', out);
}

void report_number(char buf[32], double v)
{
	double a = fabs(v);
	if (!isfinite(v))
		snprintf(buf, 32, "\xe2\x80\x93"); /* en dash */
	else if (a >= 1e15)
		snprintf(buf, 32, "%.4g", v);
	else if (a >= 100 || v == floor(v))
		snprintf(buf, 32, "%.0f", v);
	else if (a >= 10)
		snprintf(buf, 32, "%.1f", v);
	else if (a >= 1)
		snprintf(buf, 32, "%.2f", v);
	else
		snprintf(buf, 32, "%.3g", v);
	if (!strcmp(buf, "-0"))
		snprintf(buf, 32, "0");
}

void report_exact(char buf[32], double v)
{
	if (!isfinite(v)) {
		snprintf(buf, 32, "NaN");
		return;
	}
	for (int digits = 15; digits <= 17; digits++) {
		snprintf(buf, 32, "%.*g", digits, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

double report_parse_time(const char *iso)
{
	int y, mo, d, h, mi, used = 0;
	double s;
	if (!iso || sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%lf%n", &y, &mo, &d, &h, &mi, &s, &used) != 6 ||
	    !(iso[used] == '\0' || (iso[used] == 'Z' && iso[used + 1] == '\0')) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || !(s >= 0 && s < 61) || y < 1970 || y > 9999)
		return NAN;
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi };
	double whole = floor(s);
	tm.tm_sec = (int)whole;
	return (double)timegm(&tm) + (s - whole);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The p-quantile of n sorted values (R's type 7). */
static double quantile(const double *v, size_t n, double p)
{
	double h = (double)(n - 1) * p;
	size_t lo = (size_t)floor(h);
	if (lo + 1 >= n)
		return v[n - 1];
	return v[lo] + (h - (double)lo) * (v[lo + 1] - v[lo]);
}

void report_spread_of(const double *values, size_t count, struct report_spread *out)
{
	double *v = kq_xmalloc((count ? count : 1) * sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < count; i++)
		if (!isnan(values[i]))
			v[n++] = values[i];
	out->n = n;
	if (!n) {
		out->median = out->q1 = out->q3 = out->min = out->max = NAN;
		free(v);
		return;
	}
	qsort(v, n, sizeof(*v), cmp_double);
	out->min = v[0];
	out->max = v[n - 1];
	out->median = quantile(v, n, 0.5);
	out->q1 = quantile(v, n, 0.25);
	out->q3 = quantile(v, n, 0.75);
	free(v);
}
