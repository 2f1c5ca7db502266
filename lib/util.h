/* Small helpers shared by every kvmqual binary: growable strings, bounded
 * parsing, and error text carried as a value (library code never exits). */
#ifndef KQ_UTIL_H
#define KQ_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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

/* Opens an input file for reading without ever blocking on it: a FIFO, a
 * device, a socket or a directory is refused (a FIFO would wait forever for
 * a writer, a device could be read without end).  Returns the descriptor
 * (blocking again, close-on-exec), or -1 with err naming the file, what it
 * is and what to give instead. */
int kq_open_regular(const char *path, struct kq_err *err);
/* "a FIFO", "a character device", ...: what a non-regular mode is. */
const char *kq_file_kind(unsigned int mode);
/* Reads a whole regular file of at most max bytes into a NUL-terminated
 * buffer (through kq_open_regular).  Returns 0, or -1 with err naming the
 * file. */
int kq_read_file(const char *path, size_t max, char **data, size_t *len, struct kq_err *err);

/* An output file that is either complete or not there: a regular file (or
 * a name not yet taken) is written to a temporary beside it and renamed
 * over it by kq_out_commit, so a full disk or a crash never leaves half a
 * file or destroys the previous one.  Anything else that already exists
 * (a device such as /dev/null, a FIFO with a reader, a symbolic link) is
 * written into, never replaced; a directory is refused. */
struct kq_out {
	FILE *f;
	char *path;   /* as given */
	char *tmp;    /* the temporary, NULL when writing into path itself */
};
int kq_out_open(struct kq_out *o, const char *path, struct kq_err *err);
/* Flushes, checks every write, fsyncs and closes; then renames the
 * temporary into place.  Returns 0, or -1 with err (the temporary is
 * removed, an existing file left as it was). */
int kq_out_commit(struct kq_out *o, struct kq_err *err);
/* Closes and removes the temporary (after an error elsewhere). */
void kq_out_abort(struct kq_out *o);
/* Whether kq_out_open could take path, for a command that writes it only
 * at the end of a long session: a directory, or a directory to write in
 * that is missing or not writable, is an error at once (err as
 * kq_out_open would say it), not after the work.  Returns 0 or -1. */
int kq_out_check(const char *path, struct kq_err *err);

/* ---- text from outside ---- */

/* The length of the valid UTF-8 sequence at p (1 to 4), 0 when there is
 * none: overlong forms, surrogates, code points past U+10FFFF and a NUL
 * inside a sequence are not valid. */
size_t kq_utf8_len(const unsigned char *p);
/* A copy of s that is valid UTF-8: every byte that starts no valid
 * sequence becomes U+FFFD.  NULL stays NULL. */
char *kq_utf8_dup(const char *s);
/* Markdown text on one line (a table cell, a list item): every character
 * that Markdown or HTML would interpret is backslash-escaped, line breaks
 * and tabs become spaces, control characters and invalid UTF-8 U+FFFD. */
void kq_md_text(FILE *out, const char *text);
/* The next line of text[0..len) from *pos (which it advances), copied
 * NUL-terminated into line (cut at size - 1 bytes) without its newline.
 * Returns 1 while there is a line, 0 at the end; *complete (if not NULL)
 * says whether the line ended in a newline (the last one may be cut). */
int kq_next_line(const char *text, size_t len, size_t *pos, char *line, size_t size, int *complete);

/* Monotonic time in nanoseconds. */
uint64_t kq_now_ns(void);

#endif
