#include "number.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int kq_number_int(const char *text, long long min, long long max, long long *out)
{
	/* strtoll would take leading space, "0x" nowhere (base 10) but "+",
	 * and stop at the first junk: the checks around it make it strict. */
	const char *p = text;
	if (!p || !*p)
		return -1;
	if (*p == '+' || *p == '-')
		p++;
	if (!isdigit((unsigned char)*p))
		return -1;
	char *end;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int kq_number_double(const char *text, double min, double max, int above_min, double *out)
{
	const char *p = text;
	if (!p || !*p)
		return -1;
	if (*p == '+' || *p == '-')
		p++;
	/* A digit or a point and a digit first: no "inf", "nan", "0x1p3",
	 * no leading space. */
	if (!isdigit((unsigned char)*p) && !(*p == '.' && isdigit((unsigned char)p[1])))
		return -1;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		return -1;
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	if (errno || *end || !isfinite(v) || v < min || (above_min && v == min) || v > max)
		return -1;
	*out = v;
	return 0;
}

int kq_number_size(const char *text, unsigned long long min, unsigned long long max, unsigned long long *out)
{
	if (!text || !isdigit((unsigned char)*text))
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	int shift = *end == 'K' || *end == 'k' ? 10 : *end == 'M' || *end == 'm' ? 20 : *end == 'G' || *end == 'g' ? 30 : 0;
	if (shift)
		end++;
	if (errno || *end || v > (~0ULL >> shift))
		return -1;
	v <<= shift;
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int kq_opt_int(const char *opt, const char *text, long long min, long long max, long long *out,
	       struct kq_err *err)
{
	if (kq_number_int(text, min, max, out))
		return kq_error(err, "%s takes a whole number from %lld to %lld, not '%s'", opt, min, max,
				text ? text : "");
	return 0;
}

int kq_opt_double(const char *opt, const char *text, double min, double max, int above_min, double *out,
		  struct kq_err *err)
{
	if (kq_number_double(text, min, max, above_min, out))
		return kq_error(err, above_min ? "%s takes a number above %g, at most %g, not '%s'"
					       : "%s takes a number from %g to %g, not '%s'",
				opt, min, max, text ? text : "");
	return 0;
}
