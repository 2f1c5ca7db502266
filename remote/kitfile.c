/* The field kit's archive as kvmqual remote sees it: its MANIFEST (the
 * archive's first file, kit/build.sh packs it so) and the facts in it. */
#include "kitfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "../lib/number.h"
#include "../lib/sha256.h"

#define MANIFEST_NAME "kvmqual-kit/MANIFEST"
#define MANIFEST_MAX (8u << 20)

static unsigned long long octal(const char *p, size_t n)
{
	unsigned long long v = 0;
	for (size_t i = 0; i < n && p[i]; i++) {
		if (p[i] == ' ')
			continue;
		if (p[i] < '0' || p[i] > '7')
			return ~0ULL;
		v = v * 8 + (unsigned long long)(p[i] - '0');
	}
	return v;
}

/* The value of "KEY value" lines of the manifest. */
static char *manifest_value(const char *text, const char *key)
{
	size_t klen = strlen(key);
	for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (!strncmp(line, key, klen) && line[klen] == ' ') {
			const char *v = line + klen + 1, *end = strchr(v, '\n');
			size_t n = end ? (size_t)(end - v) : strlen(v);
			char *out = kq_xmalloc(n + 1);
			memcpy(out, v, n);
			out[n] = '\0';
			return out;
		}
	}
	return NULL;
}

int kitfile_open(const char *path, struct kitfile *k, struct kq_err *err)
{
	memset(k, 0, sizeof(*k));
	struct stat st;
	if (stat(path, &st))
		return kq_error(err, "kit %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return kq_error(err, "kit %s: not a regular file", path);
	gzFile gz = gzopen(path, "rb");
	if (!gz)
		return kq_error(err, "kit %s: %s", path, strerror(errno));
	char *text = NULL;
	/* The directory entry, then the manifest: look at the first few. */
	for (int entry = 0; entry < 4 && !text; entry++) {
		char h[512];
		if (gzread(gz, h, sizeof(h)) != (int)sizeof(h))
			break;
		if (!h[0])
			break;
		char name[256];
		snprintf(name, sizeof(name), "%.155s%s%.100s", h + 345, h[345] ? "/" : "", h);
		unsigned long long size = octal(h + 124, 12);
		if (size == ~0ULL)
			break;
		unsigned long long padded = (size + 511) / 512 * 512;
		if (!strcmp(name, MANIFEST_NAME) && (h[156] == '0' || h[156] == '\0')) {
			if (size > MANIFEST_MAX)
				break;
			text = kq_xmalloc(padded + 1);
			if (gzread(gz, text, (unsigned)padded) != (int)padded) {
				free(text);
				text = NULL;
				break;
			}
			text[size] = '\0';
			break;
		}
		if (padded && gzseek(gz, (z_off_t)padded, SEEK_CUR) < 0)
			break;
	}
	gzclose(gz);
	if (!text)
		return kq_error(err, "kit %s: not a kvmqual kit (no %s at its start: make kit builds one)", path,
				MANIFEST_NAME);
	char *format = manifest_value(text, "format");
	k->arch = manifest_value(text, "arch");
	k->version = manifest_value(text, "version");
	k->kit_hash = manifest_value(text, "kit-hash");
	char *bytes = manifest_value(text, "bytes");
	free(text);
	long long b = 0;
	/* The kit hash goes into the device's shell command that checks the
	 * copy: 64 hex digits and nothing else (a crafted MANIFEST's
	 * "$(...)" would have run there). */
	int ok = format && !strcmp(format, "1") && k->arch && k->version && k->kit_hash &&
		 strlen(k->kit_hash) == 64 && strspn(k->kit_hash, "0123456789abcdef") == 64 && bytes &&
		 !kq_number_int(bytes, 0, 1LL << 50, &b);
	free(format);
	free(bytes);
	if (!ok) {
		kitfile_free(k);
		return kq_error(err, "kit %s: its MANIFEST is not one this kvmqual reads (format 1 with arch, version, bytes,"
				     " kit-hash of 64 hex digits)", path);
	}
	k->unpacked_bytes = (unsigned long long)b;
	k->archive_bytes = (unsigned long long)st.st_size;
	k->path = kq_xstrdup(path);
	char hex[65];
	if (kq_sha256_file(path, hex, err)) {
		kitfile_free(k);
		return -1;
	}
	k->sha256 = kq_xstrdup(hex);
	return 0;
}

void kitfile_free(struct kitfile *k)
{
	free(k->path);
	free(k->arch);
	free(k->version);
	free(k->kit_hash);
	free(k->sha256);
	memset(k, 0, sizeof(*k));
}
