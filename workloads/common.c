#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/json.h"
#include "../lib/util.h"
#include "common.h"

int wl_error(char *err, size_t err_size, const char *fmt, ...)
{
	if (err && err_size) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, err_size, fmt, ap);
		va_end(ap);
	}
	return -1;
}

void wl_arg(struct wl_argv *a, const char *fmt, ...)
{
	if (a->count + 2 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		a->v = kq_xrealloc(a->v, a->cap * sizeof(a->v[0]));
	}
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	char *s = kq_xmalloc((size_t)n + 1);
	vsnprintf(s, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	a->v[a->count++] = s;
	a->v[a->count] = NULL;
}

char **wl_argv_done(struct wl_argv *a)
{
	char **v = a->v;
	a->v = NULL;
	a->count = a->cap = 0;
	return v;
}

int wl_check_range(const char *workload, const char *param, long long value, long long min,
		   long long max, char *err, size_t err_size)
{
	if (value < min || value > max)
		return wl_error(err, err_size, "%s: %s %lld is out of range (%lld to %lld)", workload, param,
				value, min, max);
	return 0;
}

int wl_check_string(const char *workload, const char *param, const char *value, const char *reject,
		    char *err, size_t err_size)
{
	if (!value || !*value)
		return wl_error(err, err_size, "%s needs a %s", workload, param);
	for (const char *c = value; *c; c++) {
		if (isspace((unsigned char)*c) || iscntrl((unsigned char)*c) || (reject && strchr(reject, *c)))
			return wl_error(err, err_size, "%s: %s '%s' may not contain '%c'", workload, param, value,
					isprint((unsigned char)*c) ? *c : '?');
	}
	return 0;
}

/* The first line of out, for error messages: printable, at most 60 bytes. */
static void first_line(const char *out, size_t len, char *line, size_t line_size)
{
	size_t n = 0;
	for (size_t i = 0; i < len && out[i] != '\n' && n + 1 < line_size && n < 60; i++)
		line[n++] = isprint((unsigned char)out[i]) ? out[i] : '?';
	line[n] = '\0';
}

cJSON *wl_json_parse(const char *tool, const char *out, size_t len, char *err, size_t err_size)
{
	size_t start = 0;
	while (start < len && isspace((unsigned char)out[start]))
		start++;
	if (start == len) {
		wl_error(err, err_size, "%s printed nothing", tool);
		return NULL;
	}
	/* Lines before the object are the tool's notes and warnings. */
	size_t pos = 0;
	while (pos < len && out[pos] != '{') {
		const char *nl = memchr(out + pos, '\n', len - pos);
		if (!nl) {
			pos = len;
			break;
		}
		pos = (size_t)(nl - out) + 1;
	}
	if (pos >= len) {
		char line[64];
		first_line(out + start, len - start, line, sizeof(line));
		wl_error(err, err_size, "%s printed no JSON (first line: '%s')", tool, line);
		return NULL;
	}
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(out + pos, len - pos, &end, 0);
	if (!root) {
		size_t at = end && end >= out + pos && end <= out + len ? (size_t)(end - out) : len;
		if (at >= len || kq_json_ends_open(out + pos, len - pos, 1))
			wl_error(err, err_size, "%s JSON is truncated (%zu bytes)", tool, len);
		else
			wl_error(err, err_size, "%s JSON is malformed at byte %zu", tool, at);
		return NULL;
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		wl_error(err, err_size, "%s JSON is not an object", tool);
		return NULL;
	}
	return root;
}

const cJSON *wl_json_path(const cJSON *root, const char *path)
{
	const cJSON *item = root;
	const char *p = path;
	while (item && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		char key[64];
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		if (cJSON_IsArray(item) && isdigit((unsigned char)key[0]))
			item = cJSON_GetArrayItem(item, atoi(key));
		else if (cJSON_IsObject(item))
			item = cJSON_GetObjectItemCaseSensitive(item, key);
		else
			item = NULL;
		p += n + (dot ? 1 : 0);
	}
	return item;
}

int wl_json_number(const char *tool, const cJSON *root, const char *path, double *out, char *err,
		   size_t err_size)
{
	const cJSON *item = wl_json_path(root, path);
	if (!cJSON_IsNumber(item))
		return wl_error(err, err_size, "%s JSON has no number at %s", tool, path);
	*out = item->valuedouble;
	return 0;
}

int wl_metric(const struct metric_desc *desc, double value, double max, struct metric_value *m,
	      char *err, size_t err_size)
{
	if (!isfinite(value))
		return wl_error(err, err_size, "%s is not a finite number", desc->metric);
	if (value < 0)
		return wl_error(err, err_size, "%s is negative (%g %s)", desc->metric, value, desc->unit);
	if (value == 0)
		return wl_error(err, err_size, "%s is 0 %s: nothing was measured", desc->metric, desc->unit);
	if (value > max)
		return wl_error(err, err_size, "%s is %g %s, more than %g: not a real measurement",
				desc->metric, value, desc->unit, max);
	*m = (struct metric_value){ desc->metric, desc->unit, value };
	return 0;
}

int wl_number_after(const char *out, size_t len, const char *key, double *v)
{
	const char *at = kq_memstr(out, len, key);
	if (!at)
		return -1;
	size_t i = (size_t)(at - out) + strlen(key);
	while (i < len && (out[i] == ' ' || out[i] == '\t'))
		i++;
	char num[40];
	size_t n = 0;
	int dots = 0;
	while (i < len && n + 1 < sizeof(num) && (isdigit((unsigned char)out[i]) || out[i] == '.')) {
		dots += out[i] == '.';
		num[n++] = out[i++];
	}
	num[n] = '\0';
	if (n && i == len)
		return -2;
	if (!n || dots > 1 || !isdigit((unsigned char)num[0]) || (i < len && !isspace((unsigned char)out[i])))
		return -1;
	*v = strtod(num, NULL);
	return 0;
}

int wl_work(const char *workload, const char *what, double value, double max, double *units, char *err,
	    size_t err_size)
{
	if (!isfinite(value) || value <= 0 || value > max)
		return wl_error(err, err_size, "%s: no work counted (%s is %g)", workload, what, value);
	*units = value;
	return 0;
}
