/* Small helpers shared by every kvmqual binary: growable strings, bounded
 * parsing, and error text carried as a value (library code never exits). */
#ifndef KQ_UTIL_H
#define KQ_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define KQ_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* An error message that travels back to main(), which alone decides what to
 * print and which exit code to use. */
struct kq_err {
	char msg[512];
};

/* Formats into err (if not NULL) and returns -1, so callers can write
 * `return kq_error(err, "...")`. */
int kq_error(struct kq_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

struct kq_buf {
	char *data;
	size_t len;
	size_t cap;
};

void kq_buf_init(struct kq_buf *b);
void kq_buf_free(struct kq_buf *b);
/* Both abort() only on allocation failure, which a probe cannot recover from. */
void kq_buf_add(struct kq_buf *b, const void *data, size_t len);
void kq_buf_printf(struct kq_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Takes ownership of the NUL-terminated contents, leaving b empty. */
char *kq_buf_steal(struct kq_buf *b);

void *kq_xmalloc(size_t size);
void *kq_xcalloc(size_t count, size_t size);
void *kq_xrealloc(void *ptr, size_t size);
char *kq_xstrdup(const char *s);
char *kq_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *kq_xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Strips leading and trailing white space in place; returns s. */
char *kq_strtrim(char *s);
int kq_startswith(const char *s, const char *prefix);
/* Finds needle in the first len bytes of hay (which may hold NUL bytes). */
const char *kq_memstr(const char *hay, size_t len, const char *needle);
/* Parses an unsigned integer in base 0 (0x for hex); rejects junk and
 * overflow.  Returns 0 on success, -1 otherwise. */
int kq_parse_u64(const char *s, uint64_t *out);

/* Reads a whole file of at most max bytes into a NUL-terminated buffer.
 * Returns 0, or -1 with err naming the file. */
int kq_read_file(const char *path, size_t max, char **data, size_t *len, struct kq_err *err);

/* Monotonic time in nanoseconds. */
uint64_t kq_now_ns(void);

#endif
