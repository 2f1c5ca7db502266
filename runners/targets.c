#include "targets.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../workloads/workload.h"
#include "../lib/number.h"
#include "run.h"

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

/* Whether WORKLOAD.METRIC is something kvmqual run measures: the boot time
 * (boot.total_ms), or a step of the plan (sampling.c, by its label: the tap
 * and one-thread variants have their own) and one of its workload's
 * metrics.  When not, why says what there is instead. */
static int metric_known(const char *workload, const char *metric, char *why, size_t size)
{
	if (!strcmp(workload, "boot")) {
		if (!strcmp(metric, "total_ms"))
			return 1;
		snprintf(why, size, "unknown metric '%s.%s': boot measures total_ms", workload, metric);
		return 0;
	}
	for (size_t i = 0; i < run_plan_count; i++) {
		if (strcmp(run_plan[i].label, workload))
			continue;
		const struct workload *w = workload_find(run_plan[i].workload);
		struct kq_buf list;
		kq_buf_init(&list);
		for (size_t k = 0; w && k < w->metric_count; k++) {
			if (!strcmp(w->metrics[k].metric, metric)) {
				kq_buf_free(&list);
				return 1;
			}
			kq_buf_printf(&list, "%s%s", k ? ", " : "", w->metrics[k].metric);
		}
		snprintf(why, size, "unknown metric '%s.%s': %s measures %s", workload, metric, workload,
			 list.len ? list.data : "nothing");
		kq_buf_free(&list);
		return 0;
	}
	struct kq_buf list;
	kq_buf_init(&list);
	kq_buf_printf(&list, "boot");
	for (size_t i = 0; i < run_plan_count; i++)
		kq_buf_printf(&list, ", %s", run_plan[i].label);
	snprintf(why, size, "unknown workload '%s' (kvmqual run measures %s)", workload, list.data);
	kq_buf_free(&list);
	return 0;
}

/* The first byte that has no business in a text file (NUL, control
 * characters other than tab and line ends), or NULL. */
static const char *bad_byte(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
			return text + i;
	}
	return NULL;
}

static int copy_word(char *dst, size_t size, const char *word)
{
	if (strlen(word) >= size)
		return -1;
	memcpy(dst, word, strlen(word) + 1);
	return 0;
}

int targets_parse(const char *text, size_t len, const char *origin, struct target **out, size_t *count,
		  struct kq_err *err)
{
	*out = NULL;
	*count = 0;
	/* A NUL byte would silently end the file here: every byte counts. */
	const char *bad = bad_byte(text, len);
	if (bad) {
		int line = 1;
		for (const char *p = text; p < bad; p++)
			line += *p == '\n';
		return kq_error(err, "%s:%d: byte 0x%02x (%s): the file is not text, or is damaged", origin, line,
				(unsigned char)*bad, *bad ? "a control character" : "a NUL");
	}
	size_t cap = 0;
	char *copy = kq_xasprintf("%.*s", (int)len, text);
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
		char known_why[400];
		char *dot = n >= 3 ? strchr(w[2], '.') : NULL;
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
			if (!why && kq_number_double(w[4], -1e300, 1e300, 0, &t.threshold))
				why = "THRESHOLD is not a number";
			if (!why && !metric_known(t.workload, t.metric, known_why, sizeof(known_why)))
				why = known_why;
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
	size_t len;
	struct kq_err rerr;
	if (kq_read_file(path, 1u << 20, &text, &len, &rerr))
		return kq_error(err, "targets file %s", rerr.msg);
	int rc = targets_parse(text, len, path, out, count, err);
	free(text);
	return rc;
}
