#define _GNU_SOURCE
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

const char *kq_file_kind(unsigned int mode)
{
	if (S_ISREG(mode))
		return "a regular file";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISLNK(mode))
		return "a symbolic link";
	return "not a file";
}

int kq_open_regular(const char *path, struct kq_err *err)
{
	/* O_NONBLOCK: opening a FIFO without a writer must not wait. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return kq_error(err, "%s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return kq_error(err, "%s: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return kq_error(err, "%s is %s, not a regular file: give a file", path, kq_file_kind(st.st_mode));
	}
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
		int e = errno;
		close(fd);
		return kq_error(err, "%s: %s", path, strerror(e));
	}
	return fd;
}

int kq_read_file(const char *path, size_t max, char **data, size_t *len, struct kq_err *err)
{
	int fd = kq_open_regular(path, err);
	if (fd < 0)
		return -1;
	struct kq_buf b;
	kq_buf_init(&b);
	char chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			kq_buf_free(&b);
			return kq_error(err, "%s: read error: %s", path, strerror(e));
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > max) {
			close(fd);
			kq_buf_free(&b);
			return kq_error(err, "%s: larger than %zu bytes", path, max);
		}
		kq_buf_add(&b, chunk, (size_t)n);
	}
	close(fd);
	if (len)
		*len = b.len;
	*data = kq_buf_steal(&b);
	return 0;
}

/* What is wrong with the directory an output goes in (errno e from
 * creating a file there): the temporary is ours, not the user's, so the
 * message names the directory. */
static int out_dir_error(const char *path, int e, struct kq_err *err)
{
	char *copy = kq_xstrdup(path);
	const char *dir = dirname(copy);
	if (e == ENOENT || e == ENOTDIR)
		kq_error(err, "%s: there is no directory %s to write it in (create it first)", path, dir);
	else
		kq_error(err, "%s: cannot write in its directory %s: %s", path, dir, strerror(e));
	free(copy);
	return -1;
}

/* An output is a file: a directory given for one is refused, by
 * kq_out_open and kq_out_check alike. */
static int out_refuse_dir(const char *path, struct kq_err *err)
{
	return kq_error(err, "%s is a directory: give a file name", path);
}

int kq_out_open(struct kq_out *o, const char *path, struct kq_err *err)
{
	memset(o, 0, sizeof(*o));
	struct stat st;
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode))
			return out_refuse_dir(path, err);
		/* Write into what is there (a device, a FIFO, a link's target),
		 * never replace it.  A FIFO without a reader is an error, not a
		 * wait without end. */
		int fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (S_ISLNK(st.st_mode) ? O_CREAT | O_TRUNC : 0),
			      0666);
		if (fd < 0)
			return kq_error(err, "%s (%s): %s", path, kq_file_kind(st.st_mode),
					errno == ENXIO ? "nobody reads from it" : strerror(errno));
		int flags = fcntl(fd, F_GETFL);
		if (flags >= 0)
			fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
		o->f = fdopen(fd, "w");
		if (!o->f) {
			close(fd);
			return kq_error(err, "%s: %s", path, strerror(errno));
		}
		o->path = kq_xstrdup(path);
		return 0;
	}
	char *copy = kq_xstrdup(path);
	char *base = kq_xstrdup(basename(copy));
	free(copy);
	copy = kq_xstrdup(path);
	o->tmp = kq_xasprintf("%s/.%s.tmp-XXXXXX", dirname(copy), base);
	free(copy);
	free(base);
	int fd = mkstemp(o->tmp);
	if (fd < 0) {
		/* The temporary is ours, not the user's: name the directory
		 * the output goes in, and what is wrong with it. */
		out_dir_error(path, errno, err);
		free(o->tmp);
		o->tmp = NULL;
		return -1;
	}
	/* mkstemp makes 0600; a new output gets what open(2) would give it. */
	mode_t mask = umask(0);
	umask(mask);
	fchmod(fd, 0666 & ~mask);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	o->f = fdopen(fd, "w");
	if (!o->f) {
		kq_error(err, "%s: %s", o->tmp, strerror(errno));
		close(fd);
		unlink(o->tmp);
		free(o->tmp);
		o->tmp = NULL;
		return -1;
	}
	o->path = kq_xstrdup(path);
	return 0;
}

int kq_out_check(const char *path, struct kq_err *err)
{
	struct stat st;
	if (lstat(path, &st) == 0)
		return S_ISDIR(st.st_mode) ? out_refuse_dir(path, err) : 0;
	char *copy = kq_xstrdup(path);
	const char *dir = dirname(copy);
	int e = stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) ? ENOENT : access(dir, W_OK | X_OK) != 0 ? errno : 0;
	free(copy);
	return e ? out_dir_error(path, e, err) : 0;
}

static void out_clear(struct kq_out *o)
{
	free(o->path);
	free(o->tmp);
	memset(o, 0, sizeof(*o));
}

int kq_out_commit(struct kq_out *o, struct kq_err *err)
{
	int e = 0;
	if (fflush(o->f) != 0 || ferror(o->f))
		e = errno ? errno : EIO;
	if (!e && o->tmp && fsync(fileno(o->f)) != 0)
		e = errno;
	if (fclose(o->f) != 0 && !e)
		e = errno ? errno : EIO;
	o->f = NULL;
	if (!e && o->tmp && rename(o->tmp, o->path) != 0)
		e = errno;
	if (e) {
		kq_error(err, "%s: writing failed: %s%s", o->path, strerror(e),
			 o->tmp ? " (an existing file of that name is left as it was)" : "");
		if (o->tmp)
			unlink(o->tmp);
		out_clear(o);
		return -1;
	}
	out_clear(o);
	return 0;
}

void kq_out_abort(struct kq_out *o)
{
	if (o->f)
		fclose(o->f);
	if (o->tmp)
		unlink(o->tmp);
	out_clear(o);
}

/* ---- text from outside ---- */

size_t kq_utf8_len(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	unsigned lo = 0x80, hi = 0xbf;
	if (p[0] >= 0xe0 && p[0] <= 0xef) {
		if (p[0] == 0xe0)
			lo = 0xa0;
		if (p[0] == 0xed)
			hi = 0x9f;
		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		if (p[0] == 0xf0)
			lo = 0x90;
		if (p[0] == 0xf4)
			hi = 0x8f;
		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

#define KQ_REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

char *kq_utf8_dup(const char *s)
{
	if (!s)
		return NULL;
	struct kq_buf b;
	kq_buf_init(&b);
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		size_t n = kq_utf8_len(p);
		if (n)
			kq_buf_add(&b, p, n);
		else
			kq_buf_add(&b, KQ_REPLACEMENT, 3);
		p += n ? n : 1;
	}
	return kq_buf_steal(&b);
}

/* Whether p starts "www." in any case (GitHub links it without a scheme). */
static int www_dot(const unsigned char *start, const unsigned char *p)
{
	return p - start >= 3 && *p == '.' && (p[-3] | 0x20) == 'w' && (p[-2] | 0x20) == 'w' && (p[-1] | 0x20) == 'w';
}

void kq_md_text(FILE *out, const char *text)
{
	const unsigned char *start = (const unsigned char *)(text ? text : ""), *p = start;
	while (*p) {
		size_t n = kq_utf8_len(p);
		if (n > 1) {
			fwrite(p, 1, n, out);
		} else if (*p == '\n' || *p == '\t' || *p == '\r') {
			fputc(' ', out);
		} else if (!n || *p < 0x20 || *p == 0x7f) {
			fputs(KQ_REPLACEMENT, out);
		} else if (*p == '@') {
			/* GitHub links name@host.tld as mail even when escaped; a
			 * zero-width space after the '@' breaks the address. */
			fputs("@&#8203;", out);
		} else {
			/* Emphasis, code, links, images, raw HTML, entities, table
			 * cells, strike-through and headings are ASCII punctuation,
			 * so a backslash makes each literal (CommonMark and GitHub's
			 * tables agree); so are the ':' of "http://" and the '.' of
			 * "www.", which GitHub would otherwise make links of. */
			if (strchr("\\`*_[]<>|~#!&{}", *p) || (*p == ':' && p[1] == '/') || www_dot(start, p))
				fputc('\\', out);
			fputc(*p, out);
		}
		p += n ? n : 1;
	}
}

uint64_t kq_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int kq_next_line(const char *text, size_t len, size_t *pos, char *line, size_t size, int *complete)
{
	if (*pos >= len)
		return 0;
	const char *nl = memchr(text + *pos, '\n', len - *pos);
	size_t end = nl ? (size_t)(nl - text) : len;
	size_t n = end - *pos < size - 1 ? end - *pos : size - 1;
	memcpy(line, text + *pos, n);
	line[n] = '\0';
	*pos = end + 1;
	if (complete)
		*complete = nl != NULL;
	return 1;
}
