/* Numbers from outside (command-line options, configuration files), parsed
 * strictly in one place: the whole text is one number in range, or it is an
 * error that names the option and says what it takes.  "2abc", "", " 3",
 * "0x10", "1e3" for a whole number, "nan" and "inf" are all refused. */
#ifndef KQ_NUMBER_H
#define KQ_NUMBER_H

#include "util.h"

/* A whole number in decimal, optionally signed, within [min, max].
 * Returns 0, or -1 (out untouched). */
int kq_number_int(const char *text, long long min, long long max, long long *out);
/* A finite decimal number (strtod's forms without hex, inf and nan) within
 * [min, max], or (min, max] when above_min.  Returns 0, or -1. */
int kq_number_double(const char *text, double min, double max, int above_min, double *out);

/* A size in bytes: a whole decimal number with an optional K, M or G
 * (powers of 1024; "256M", "2G", "65536") within [min, max].  0, or -1. */
int kq_number_size(const char *text, unsigned long long min, unsigned long long max, unsigned long long *out);

/* The same for an option: on failure err says "OPT takes a whole number from
 * MIN to MAX, not 'TEXT'" (or "a number above MIN, at most MAX"). */
int kq_opt_int(const char *opt, const char *text, long long min, long long max, long long *out,
	       struct kq_err *err);
int kq_opt_double(const char *opt, const char *text, double min, double max, int above_min, double *out,
		  struct kq_err *err);

#endif
