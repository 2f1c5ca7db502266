#include "targets.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *text;
	enum target_op op;
} ops[] = {
	{ "<", OP_LT }, { "<=", OP_LE }, { ">", OP_GT }, { ">=", OP_GE }, { "%native>=", OP_PCT_NATIVE_GE },
};

const char *target_op_name(enum target_op op)
{
	for (size_t i = 0; i < KQ_ARRAY_SIZE(ops); i++)
		if (ops[i].op == op)
			return ops[i].text;
	return "?";
}

int target_met(const struct target *t, double v)
{
	switch (t->op) {
	case OP_LT: return v < t->threshold;
	case OP_LE: return v <= t->threshold;
	case OP_GT: return v > t->threshold;
	case OP_GE:
	case OP_PCT_NATIVE_GE: return v >= t->threshold;
	}
	return 0;
}

static int copy_word(char *dst, size_t size, const char *word)
{
	if (strlen(word) >= size)
		return -1;
	memcpy(dst, word, strlen(word) + 1);
	return 0;
}

int targets_parse(const char *text, const char *origin, struct target **out, size_t *count, struct kq_err *err)
{
	*out = NULL;
	*count = 0;
	size_t cap = 0;
	char *copy = kq_xstrdup(text);
	char *save = NULL;
	int lineno = 0;
	for (char *line = copy; line; line = save) {
		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *w[8];
		int n = 0;
		for (char *tok = strtok(line, " \t\r"); tok && n < 8; tok = strtok(NULL, " \t\r"))
			w[n++] = tok;
		if (n == 0)
			continue;
		struct target t;
		memset(&t, 0, sizeof(t));
		const char *why = NULL;
		char *dot = n >= 3 ? strchr(w[2], '.') : NULL;
		char *end = NULL;
		if (n != 6)
			why = "expected NAME ACCEL WORKLOAD.METRIC OP THRESHOLD UNIT";
		else if (copy_word(t.name, sizeof(t.name), w[0]) || copy_word(t.accel, sizeof(t.accel), w[1]) ||
			 copy_word(t.unit, sizeof(t.unit), w[5]))
			why = "a word is too long";
		else if (strcmp(t.accel, "kvm") && strcmp(t.accel, "tcg"))
			why = "ACCEL must be kvm or tcg";
		else if (!dot || dot == w[2] || !dot[1])
			why = "WORKLOAD.METRIC needs both parts";
		else {
			*dot = '\0';
			if (copy_word(t.workload, sizeof(t.workload), w[2]) || copy_word(t.metric, sizeof(t.metric), dot + 1))
				why = "WORKLOAD.METRIC is too long";
			size_t k;
			for (k = 0; k < KQ_ARRAY_SIZE(ops) && strcmp(ops[k].text, w[3]); k++)
				;
			if (!why && k == KQ_ARRAY_SIZE(ops))
				why = "OP must be <, <=, >, >= or %native>=";
			else if (!why)
				t.op = ops[k].op;
			errno = 0;
			t.threshold = strtod(w[4], &end);
			if (!why && (errno || end == w[4] || *end || !isfinite(t.threshold)))
				why = "THRESHOLD is not a number";
		}
		if (why) {
			kq_error(err, "%s:%d: %s", origin, lineno, why);
			free(copy);
			free(*out);
			*out = NULL;
			*count = 0;
			return -1;
		}
		if (*count == cap)
			*out = kq_xrealloc(*out, (cap = cap ? cap * 2 : 8) * sizeof(**out));
		(*out)[(*count)++] = t;
	}
	free(copy);
	return 0;
}

int targets_load(const char *path, struct target **out, size_t *count, struct kq_err *err)
{
	char *text;
	struct kq_err rerr;
	if (kq_read_file(path, 1u << 20, &text, NULL, &rerr))
		return kq_error(err, "targets file %s", rerr.msg);
	int rc = targets_parse(text, path, out, count, err);
	free(text);
	return rc;
}
