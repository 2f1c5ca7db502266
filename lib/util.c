#define _GNU_SOURCE
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int kq_error(struct kq_err *err, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -1;
}

void *kq_xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p)
		abort();
	return p;
}

void *kq_xcalloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);
	if (!p)
		abort();
	return p;
}

void *kq_xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);
	if (!p)
		abort();
	return p;
}

char *kq_xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		abort();
	return p;
}

char *kq_xvasprintf(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	return s;
}

char *kq_xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = kq_xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

void kq_buf_init(struct kq_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void kq_buf_free(struct kq_buf *b)
{
	free(b->data);
	kq_buf_init(b);
}

static void buf_reserve(struct kq_buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra + 1)
		cap *= 2;
	b->data = kq_xrealloc(b->data, cap);
	b->cap = cap;
}

void kq_buf_add(struct kq_buf *b, const void *data, size_t len)
{
	buf_reserve(b, len);
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void kq_buf_printf(struct kq_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *kq_buf_steal(struct kq_buf *b)
{
	if (!b->data)
		kq_buf_add(b, "", 0);
	char *p = b->data;
	kq_buf_init(b);
	return p;
}

char *kq_strtrim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

int kq_startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

const char *kq_memstr(const char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	if (n == 0)
		return hay;
	for (size_t i = 0; i + n <= len; i++)
		if (hay[i] == needle[0] && memcmp(hay + i, needle, n) == 0)
			return hay + i;
	return NULL;
}

int kq_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	while (isspace((unsigned char)*s))
		s++;
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	while (isspace((unsigned char)*end))
		end++;
	if (*end)
		return -1;
	*out = v;
	return 0;
}

int kq_read_file(const char *path, size_t max, char **data, size_t *len, struct kq_err *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return kq_error(err, "%s: %s", path, strerror(errno));
	struct kq_buf b;
	kq_buf_init(&b);
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (b.len + n > max) {
			fclose(f);
			kq_buf_free(&b);
			return kq_error(err, "%s: larger than %zu bytes", path, max);
		}
		kq_buf_add(&b, chunk, n);
	}
	int failed = ferror(f);
	fclose(f);
	if (failed) {
		kq_buf_free(&b);
		return kq_error(err, "%s: read error", path);
	}
	if (len)
		*len = b.len;
	*data = kq_buf_steal(&b);
	return 0;
}

uint64_t kq_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
