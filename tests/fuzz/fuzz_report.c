/* The report on outside input: the first byte picks the part, the rest is
 * its input.  0: an export document (a bundle a host sent in) through the
 * model into both documents; 1: an SVG through the inliner. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../reports/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A <script> element (not <scripted-thing>), in any case. */
static int has_script(const char *text)
{
	for (const char *p = strcasestr(text, "<script"); p; p = strcasestr(p + 1, "<script")) {
		char c = p[7];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_' || c == '.' || c == ':'))
			return 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct kq_err err;
	if (data[0] & 1) {
		char *svg = malloc(size);
		memcpy(svg, data + 1, size - 1);
		svg[size - 1] = '\0';
		char *out = report_svg_inline(svg, "p", &err);
		/* What comes out holds no script and passes the inliner again
		 * (so no tag in it reaches outside the page). */
		if (out) {
			if (has_script(out))
				__builtin_trap();
			char *again = report_svg_inline(out, "q", &err);
			if (!again)
				__builtin_trap();
			free(again);
		}
		free(out);
		free(svg);
		return 0;
	}
	struct report r;
	if (report_load(&r, (const char *)data + 1, size - 1, &err)) {
		if (!err.msg[0])
			__builtin_trap(); /* a refusal always says why */
		return 0;
	}
	struct report_plots plots = { 0 };
	plots.gnuplot_missing = 1;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	if (report_write_html(&r, &plots, NULL, out, &err))
		__builtin_trap();
	fclose(out);
	/* Outside text is escaped: it never opens an element on the page. */
	if (has_script(text))
		__builtin_trap();
	free(text);
	out = open_memstream(&text, &len);
	report_write_markdown(&r, &plots, out);
	fclose(out);
	free(text);
	report_free(&r);
	return 0;
}
