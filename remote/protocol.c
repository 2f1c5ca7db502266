/* kvmqual remote's parsers of what a device says (protocol.h). */
#include "protocol.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/number.h"

/* The value of "KEY=..." in text (the first such line), control characters
 * replaced, or NULL. */
static char *value_of(const char *text, size_t len, const char *key)
{
	size_t klen = strlen(key);
	for (size_t at = 0; at < len;) {
		const char *line = text + at;
		const char *nl = memchr(line, '\n', len - at);
		size_t n = nl ? (size_t)(nl - line) : len - at;
		at += n + 1;
		if (n > 0 && line[n - 1] == '\r') /* adb shell's line ends */
			n--;
		if (n <= klen || memcmp(line, key, klen) || line[klen] != '=')
			continue;
		size_t vlen = n - klen - 1;
		char *v = kq_xmalloc(vlen + 1);
		for (size_t i = 0; i < vlen; i++) {
			unsigned char c = (unsigned char)line[klen + 1 + i];
			v[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
		}
		v[vlen] = '\0';
		return v;
	}
	return NULL;
}

/* A whole decimal number within [0, max], else -1: df's or id's output
 * that is not one is unknown, never read as its first digits. */
static long long number_or_unknown(const char *text, size_t len, const char *key, long long max)
{
	char *v = value_of(text, len, key);
	long long n;
	if (!v || kq_number_int(v, 0, max, &n) || v[0] == '+')
		n = -1;
	free(v);
	return n;
}

int remote_device_parse(const char *text, size_t len, struct remote_device *d, struct kq_err *err)
{
	memset(d, 0, sizeof(*d));
	d->free_kb = d->uid = -1;
	if (len > REMOTE_ANSWER_MAX)
		return kq_error(err, "its answer is more than %u bytes long: not what the kit's commands print",
				REMOTE_ANSWER_MAX);
	char *end = value_of(text, len, "end");
	int complete = end && !strcmp(end, "1");
	free(end);
	if (!complete)
		return kq_error(err, "its answer ends before its last line (end=1): the connection was cut, or the"
				     " shell there is not a POSIX one");
	d->error = value_of(text, len, "error");
	d->dir = value_of(text, len, "dir");
	d->arch = value_of(text, len, "arch");
	d->host = value_of(text, len, "host");
	d->kit_hash = value_of(text, len, "kit_hash");
	d->job_owner = value_of(text, len, "job_owner");
	d->job_status = value_of(text, len, "job_status");
	d->free_kb = number_or_unknown(text, len, "free_kb", 1LL << 53);
	d->uid = (int)number_or_unknown(text, len, "uid", INT_MAX);
	if (d->error)
		return 0;
	if (!d->dir || d->dir[0] != '/') {
		remote_device_free(d);
		return kq_error(err, "it answered without its directory as an absolute path");
	}
	int arch_ok = d->arch && *d->arch && strlen(d->arch) < 32;
	for (const char *p = d->arch; arch_ok && *p; p++)
		arch_ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
	if (!arch_ok) {
		remote_device_free(d);
		return kq_error(err, "it answered without an architecture uname -m would print");
	}
	if (!strcmp(d->arch, "arm64")) {
		free(d->arch);
		d->arch = kq_xstrdup("aarch64");
	}
	return 0;
}

void remote_device_free(struct remote_device *d)
{
	free(d->dir);
	free(d->arch);
	free(d->host);
	free(d->kit_hash);
	free(d->job_owner);
	free(d->job_status);
	free(d->error);
	memset(d, 0, sizeof(*d));
	d->free_kb = d->uid = -1;
}

int remote_status_line(const char *line, size_t len, int *status)
{
	size_t mlen = strlen(REMOTE_STATUS_MARK);
	if (len < mlen || memcmp(line, REMOTE_STATUS_MARK, mlen))
		return 0;
	size_t n = len - mlen;
	if (n > 0 && line[mlen + n - 1] == '\r')
		n--;
	char digits[8];
	if (n == 0 || n >= sizeof(digits))
		return -1;
	memcpy(digits, line + mlen, n);
	digits[n] = '\0';
	long long v;
	for (size_t i = 0; i < n; i++)
		if (digits[i] < '0' || digits[i] > '9')
			return -1;
	if (kq_number_int(digits, 0, 255, &v))
		return -1;
	*status = (int)v;
	return 1;
}
