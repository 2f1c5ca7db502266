/* The targets file (runners/targets.conf): what a host is judged against. */
#ifndef KQ_TARGETS_H
#define KQ_TARGETS_H

#include <stddef.h>

#include "../lib/util.h"

enum target_op { OP_LT, OP_LE, OP_GT, OP_GE, OP_PCT_NATIVE_GE };

struct target {
	char name[32];
	char accel[16];
	char workload[48];
	char metric[48];
	enum target_op op;
	double threshold;
	char unit[16];
};

/* Parses the file; errors name the file, the line and what was wrong: a
 * malformed line, a metric kvmqual run does not measure (a typo would
 * otherwise be "not measured" forever), a NUL or control byte. */
int targets_load(const char *path, struct target **out, size_t *count, struct kq_err *err);
/* The same on len bytes of text (not NUL-terminated; origin names it). */
int targets_parse(const char *text, size_t len, const char *origin, struct target **out, size_t *count,
		  struct kq_err *err);
const char *target_op_name(enum target_op op);
/* Whether value meets the target (value is a percentage for %native>=). */
int target_met(const struct target *t, double value);

#endif
