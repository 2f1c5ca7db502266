#include "tar.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#define BLOCK 512

int kq_is_gzip(const void *data, size_t len)
{
	const unsigned char *p = data;
	return len >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

int kq_gunzip(const void *data, size_t len, size_t max_out, char **out, size_t *out_len,
	      struct kq_err *err)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	/* 16 + MAX_WBITS: gzip wrapper only. */
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return kq_error(err, "zlib: cannot initialise");
	struct kq_buf b;
	kq_buf_init(&b);
	unsigned char chunk[65536];
	zs.next_in = (unsigned char *)data;
	zs.avail_in = (uInt)(len > UINT32_MAX ? UINT32_MAX : len);
	int rc;
	do {
		zs.next_out = chunk;
		zs.avail_out = sizeof(chunk);
		rc = inflate(&zs, Z_NO_FLUSH);
		if (rc != Z_OK && rc != Z_STREAM_END) {
			inflateEnd(&zs);
			kq_buf_free(&b);
			return kq_error(err, "not valid gzip data (%s)",
					zs.msg ? zs.msg : (rc == Z_BUF_ERROR ? "truncated" : "corrupt"));
		}
		size_t produced = sizeof(chunk) - zs.avail_out;
		if (b.len + produced > max_out) {
			inflateEnd(&zs);
			kq_buf_free(&b);
			return kq_error(err, "gzip data inflates to more than %zu bytes", max_out);
		}
		kq_buf_add(&b, chunk, produced);
		if (rc == Z_OK && produced == 0 && zs.avail_in == 0) {
			inflateEnd(&zs);
			kq_buf_free(&b);
			return kq_error(err, "gzip data is truncated");
		}
	} while (rc != Z_STREAM_END);
	inflateEnd(&zs);
	*out_len = b.len;
	*out = kq_buf_steal(&b);
	return 0;
}

int tar_path_is_safe(const char *path)
{
	if (!*path || *path == '/')
		return -1;
	const char *p = path;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return -1;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
				return -1;
		p += n;
		if (*p == '/')
			p++;
	}
	return 0;
}

static int parse_octal(const char *field, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	while (i < n && field[i] == ' ')
		i++;
	int digits = 0;
	for (; i < n && field[i] >= '0' && field[i] <= '7'; i++) {
		if (v > (UINT64_MAX >> 3))
			return -1;
		v = v * 8 + (uint64_t)(field[i] - '0');
		digits++;
	}
	for (; i < n; i++)
		if (field[i] != ' ' && field[i] != '\0')
			return -1;
	if (!digits)
		return -1;
	*out = v;
	return 0;
}

static int header_checksum_ok(const unsigned char *h)
{
	uint64_t stored;
	if (parse_octal((const char *)h + 148, 8, &stored))
		return 0;
	unsigned sum = 0;
	for (int i = 0; i < BLOCK; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	return sum == stored;
}

static int is_zero_block(const unsigned char *h)
{
	for (int i = 0; i < BLOCK; i++)
		if (h[i])
			return 0;
	return 1;
}

/* Copies a fixed-width field that may not be NUL-terminated. */
static void field_copy(char *dst, const char *src, size_t n)
{
	size_t i = 0;
	while (i < n && src[i]) {
		dst[i] = src[i];
		i++;
	}
	dst[i] = '\0';
}

static char *normalise(const char *raw)
{
	while (raw[0] == '.' && raw[1] == '/')
		raw += 2;
	char *p = kq_xstrdup(raw);
	size_t n = strlen(p);
	while (n && p[n - 1] == '/')
		p[--n] = '\0';
	return p;
}

/* A pax extended header: records "LEN key=value\n"; only path matters. */
static char *pax_path(const char *data, size_t len)
{
	size_t off = 0;
	while (off < len) {
		size_t reclen = 0, i = off;
		while (i < len && data[i] >= '0' && data[i] <= '9' && reclen < 1000000)
			reclen = reclen * 10 + (size_t)(data[i++] - '0');
		if (i >= len || data[i] != ' ' || reclen == 0 || off + reclen > len)
			return NULL;
		const char *kv = data + i + 1;
		size_t kvlen = off + reclen - (i + 1);
		if (kvlen > 5 && memcmp(kv, "path=", 5) == 0 && kv[kvlen - 1] == '\n') {
			char *p = kq_xmalloc(kvlen - 5);
			memcpy(p, kv + 5, kvlen - 6);
			p[kvlen - 6] = '\0';
			return p;
		}
		off += reclen;
	}
	return NULL;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tar_entry *)a)->path, ((const struct tar_entry *)b)->path);
}

void tar_free(struct tar_archive *ar)
{
	for (size_t i = 0; i < ar->count; i++) {
		free(ar->entries[i].path);
		free(ar->entries[i].data);
	}
	free(ar->entries);
	ar->entries = NULL;
	ar->count = 0;
}

static int tar_parse_plain(const unsigned char *p, size_t len, struct tar_archive *ar,
			   struct kq_err *err)
{
	size_t off = 0, cap = 0;
	char *long_name = NULL;
	int rc = -1;
	memset(ar, 0, sizeof(*ar));
	for (;;) {
		if (off + BLOCK > len) {
			/* Archives written without the closing zero blocks are common
			 * enough; only a partial header is an error. */
			if (off == len && !long_name)
				break;
			kq_error(err, "tar: truncated at byte %zu", off);
			goto out;
		}
		const unsigned char *h = p + off;
		if (is_zero_block(h))
			break;
		if (!header_checksum_ok(h)) {
			kq_error(err, "tar: bad header checksum at byte %zu (not a tar archive, or corrupt)", off);
			goto out;
		}
		char name[101], prefix[156], full[260];
		field_copy(name, (const char *)h, 100);
		field_copy(prefix, (const char *)h + 345, 155);
		if (memcmp(h + 257, "ustar", 5) == 0 && prefix[0])
			snprintf(full, sizeof(full), "%s/%s", prefix, name);
		else
			snprintf(full, sizeof(full), "%s", name);
		uint64_t size;
		if (parse_octal((const char *)h + 124, 12, &size)) {
			kq_error(err, "tar: entry '%s' has an invalid size field", full);
			goto out;
		}
		char type = (char)h[156];
		off += BLOCK;
		uint64_t padded = (size + BLOCK - 1) / BLOCK * BLOCK;
		if (size > len || padded > len - off) {
			kq_error(err, "tar: entry '%s' is truncated (%llu bytes declared, %zu left)",
				 full, (unsigned long long)size, len - off);
			goto out;
		}
		const char *body = (const char *)p + off;
		off += (size_t)padded;

		if (type == 'L' || type == 'x') {
			free(long_name);
			long_name = type == 'L' ? NULL : pax_path(body, (size_t)size);
			if (type == 'L') {
				long_name = kq_xmalloc((size_t)size + 1);
				memcpy(long_name, body, (size_t)size);
				long_name[size] = '\0';
			}
			continue;
		}
		if (type == 'g')
			continue;
		const char *raw = long_name ? long_name : full;
		if (type == '1' || type == '2') {
			kq_error(err, "tar: entry '%s' is a link; snapshots may hold only files and directories", raw);
			goto out;
		}
		if (type != '0' && type != '\0' && type != '5') {
			kq_error(err, "tar: entry '%s' has unsupported type '%c'", raw, type ? type : '0');
			goto out;
		}
		char *path = normalise(raw);
		free(long_name);
		long_name = NULL;
		if (!*path && type == '5') { /* "./" itself */
			free(path);
			continue;
		}
		if (tar_path_is_safe(path)) {
			kq_error(err, "tar: entry '%s' has an unsafe path (absolute, '..' or control characters)", path);
			free(path);
			goto out;
		}
		if (ar->count >= KQ_TAR_MAX_ENTRIES) {
			kq_error(err, "tar: more than %d entries", KQ_TAR_MAX_ENTRIES);
			free(path);
			goto out;
		}
		if (ar->count == cap) {
			cap = cap ? cap * 2 : 64;
			ar->entries = kq_xrealloc(ar->entries, cap * sizeof(*ar->entries));
		}
		struct tar_entry *e = &ar->entries[ar->count++];
		e->path = path;
		e->is_dir = type == '5';
		e->size = e->is_dir ? 0 : (size_t)size;
		e->data = NULL;
		if (!e->is_dir) {
			e->data = kq_xmalloc(e->size + 1);
			memcpy(e->data, body, e->size);
			e->data[e->size] = '\0';
		}
	}
	/* An empty archive has no entries array: qsort(NULL, 0) is undefined. */
	if (ar->count > 1)
		qsort(ar->entries, ar->count, sizeof(*ar->entries), entry_cmp);
	for (size_t i = 1; i < ar->count; i++) {
		if (strcmp(ar->entries[i - 1].path, ar->entries[i].path) == 0 &&
		    !(ar->entries[i - 1].is_dir && ar->entries[i].is_dir)) {
			kq_error(err, "tar: entry '%s' appears twice", ar->entries[i].path);
			goto out;
		}
	}
	rc = 0;
out:
	free(long_name);
	if (rc)
		tar_free(ar);
	return rc;
}

int tar_parse(const void *data, size_t len, struct tar_archive *out, struct kq_err *err)
{
	if (kq_is_gzip(data, len)) {
		char *plain;
		size_t plain_len;
		struct kq_err zerr;
		if (kq_gunzip(data, len, KQ_TAR_MAX_TOTAL, &plain, &plain_len, &zerr))
			return kq_error(err, "tar.gz: %s", zerr.msg);
		int rc = tar_parse_plain((const unsigned char *)plain, plain_len, out, err);
		free(plain);
		return rc;
	}
	return tar_parse_plain(data, len, out, err);
}

const struct tar_entry *tar_find(const struct tar_archive *ar, const char *path)
{
	size_t lo = 0, hi = ar->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(ar->entries[mid].path, path);
		if (c == 0)
			return &ar->entries[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- writing ---- */

struct tar_writer {
	gzFile gz;
	char *path;
	int failed;
	time_t mtime;
};

static struct tar_writer *writer_new(gzFile gz, const char *path)
{
	struct tar_writer *w = kq_xcalloc(1, sizeof(*w));
	w->gz = gz;
	w->path = kq_xstrdup(path);
	w->mtime = time(NULL);
	return w;
}

struct tar_writer *tar_writer_open_fd(int fd, const char *path, struct kq_err *err)
{
	gzFile gz = gzdopen(fd, "wb9");
	if (!gz) {
		kq_error(err, "%s: cannot write: %s", path, strerror(errno ? errno : EIO));
		return NULL;
	}
	return writer_new(gz, path);
}

struct tar_writer *tar_writer_open(const char *path, struct kq_err *err)
{
	gzFile gz = gzopen(path, "wb9");
	if (!gz) {
		kq_error(err, "%s: cannot create: %s", path, strerror(errno ? errno : EIO));
		return NULL;
	}
	struct tar_writer *w = kq_xcalloc(1, sizeof(*w));
	w->gz = gz;
	w->path = kq_xstrdup(path);
	w->mtime = time(NULL);
	return w;
}

static void put_octal(unsigned char *field, size_t n, uint64_t v)
{
	/* n-1 digits and a NUL, zero padded, as GNU tar writes them. */
	field[n - 1] = '\0';
	for (size_t i = n - 1; i-- > 0;) {
		field[i] = (unsigned char)('0' + (v & 7));
		v >>= 3;
	}
}

static int write_header(struct tar_writer *w, const char *path, size_t size, char type)
{
	unsigned char h[BLOCK];
	memset(h, 0, sizeof(h));
	size_t n = strlen(path);
	if (n <= 100) {
		memcpy(h, path, n);
	} else {
		/* ustar splits long names at a '/' into prefix (155) and name (100). */
		const char *split = NULL;
		for (const char *s = path; *s; s++)
			if (*s == '/' && (size_t)(s - path) <= 155 && strlen(s + 1) <= 100 && s != path)
				split = s;
		if (!split)
			return -1;
		memcpy(h, split + 1, strlen(split + 1));
		memcpy(h + 345, path, (size_t)(split - path));
	}
	put_octal(h + 100, 8, type == '5' ? 0755 : 0644);
	put_octal(h + 108, 8, 0);
	put_octal(h + 116, 8, 0);
	put_octal(h + 124, 12, size);
	put_octal(h + 136, 12, (uint64_t)w->mtime);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < BLOCK; i++)
		sum += h[i];
	put_octal(h + 148, 7, sum);
	h[155] = ' ';
	return gzwrite(w->gz, h, BLOCK) == BLOCK ? 0 : -1;
}

int tar_writer_add_dir(struct tar_writer *w, const char *path)
{
	if (w->failed || tar_path_is_safe(path))
		return w->failed = -1;
	char *withslash = kq_xasprintf("%s/", path);
	int rc = write_header(w, withslash, 0, '5');
	free(withslash);
	if (rc)
		w->failed = -1;
	return rc;
}

int tar_writer_add_file(struct tar_writer *w, const char *path, const void *data, size_t len)
{
	if (w->failed || tar_path_is_safe(path))
		return w->failed = -1;
	if (write_header(w, path, len, '0'))
		return w->failed = -1;
	if (len && gzwrite(w->gz, data, (unsigned)len) != (int)len)
		return w->failed = -1;
	static const unsigned char zeros[BLOCK];
	size_t pad = (BLOCK - len % BLOCK) % BLOCK;
	if (pad && gzwrite(w->gz, zeros, (unsigned)pad) != (int)pad)
		return w->failed = -1;
	return 0;
}

int tar_writer_close(struct tar_writer *w, struct kq_err *err)
{
	static const unsigned char zeros[2 * BLOCK];
	int rc = w->failed;
	if (!rc && gzwrite(w->gz, zeros, sizeof(zeros)) != (int)sizeof(zeros))
		rc = -1;
	if (gzclose(w->gz) != Z_OK)
		rc = -1;
	if (rc)
		kq_error(err, "%s: writing the snapshot failed (disk full, or a path too long for ustar)", w->path);
	free(w->path);
	free(w);
	return rc;
}
