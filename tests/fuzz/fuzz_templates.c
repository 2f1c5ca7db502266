/* The --templates allow-lists (reports/tplcheck.c) on any bytes: byte 0
 * picks report.css (even) or page.html (odd).  Whatever is let through
 * must hold nothing that loads or breaks out of <style>: checked here by a
 * separate, plain search for what a page would fetch with, after CSS
 * comments are taken out (they are inlined, but never load). */
#define _GNU_SOURCE
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../reports/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int has(const char *text, const char *needle)
{
	return strcasestr(text, needle) != NULL;
}

/* The CSS without its comments and strings (no escapes: a backslash is
 * refused anyway). */
static char *css_code(const char *css)
{
	char *out = malloc(strlen(css) + 1), *o = out;
	for (const char *p = css; *p;) {
		if (p[0] == '/' && p[1] == '*') {
			const char *e = strstr(p + 2, "*/");
			p = e ? e + 2 : p + strlen(p);
		} else if (*p == '"' || *p == '\'') {
			const char *e = strchr(p + 1, *p);
			p = e ? e + 1 : p + strlen(p);
			*o++ = ' ';
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return out;
}

/* The page without its comments (which never load). */
static char *page_code(const char *page)
{
	char *out = malloc(strlen(page) + 1), *o = out;
	for (const char *p = page; *p;) {
		if (!strncmp(p, "<!--", 4)) {
			const char *e = strstr(p + 4, "-->");
			p = e ? e + 3 : p + strlen(p);
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	struct kq_err err;
	err.msg[0] = '\0';
	int css = !(data[0] & 1);
	int rc = css ? report_css_allowed(text, "report.css", &err) : report_page_allowed(text, &err);
	if (rc && !err.msg[0])
		__builtin_trap(); /* a refusal always says why */
	if (rc == 0 && css) {
		static const char *const loads[] = { "url(", "image-set(", "image(", "@import", "@font-face",
						     "@namespace", "expression(", "src(", "cross-fade(", "element(" };
		if (strchr(text, '<') || strchr(text, '\\'))
			__builtin_trap();
		char *code = css_code(text);
		for (size_t i = 0; i < sizeof(loads) / sizeof(*loads); i++)
			if (has(code, loads[i]))
				__builtin_trap();
		free(code);
	} else if (rc == 0) {
		/* Elements that load or run, by name, wherever they appear. */
		static const char *const loads[] = { "<script", "<img", "<iframe", "<object", "<embed", "<base",
						     "<form", "<svg", "<video", "<audio", "<input", "<frame",
						     "<meta http-equiv", "<link rel=\"stylesheet" };
		char *code = page_code(text);
		for (size_t i = 0; i < sizeof(loads) / sizeof(*loads); i++)
			if (has(code, loads[i]))
				__builtin_trap();
		free(code);
	}
	free(text);
	return 0;
}
