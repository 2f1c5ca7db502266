/* stress-ng's CPU stressor: every one of its CPU methods in turn (integer,
 * floating point, bit twiddling, hashing, ...), one worker per vCPU; a
 * broader view of CPU speed than sysbench's prime search. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/util.h"
#include "common.h"

static const struct metric_desc stress_ng_cpu_metrics[] = {
	{ "bogo_ops_per_s", "bogo ops/s", 1 },
};

static char **stress_ng_cpu_argv(const struct workload_params *p, char *err, size_t err_size)
{
	if (wl_check_range("stress-ng-cpu", "threads", p->threads, 1, 4096, err, err_size) ||
	    wl_check_range("stress-ng-cpu", "duration_s", p->duration_s, 1, 86400, err, err_size))
		return NULL;
	struct wl_argv a = { 0 };
	wl_arg(&a, "stress-ng");
	wl_arg(&a, "--cpu");
	wl_arg(&a, "%d", p->threads);
	wl_arg(&a, "--cpu-method");
	wl_arg(&a, "all");
	wl_arg(&a, "--timeout");
	wl_arg(&a, "%d", p->duration_s);
	wl_arg(&a, "--metrics-brief");
	/* The same random numbers every run, natively and in the guest. */
	wl_arg(&a, "--no-rand-seed");
	return wl_argv_done(&a);
}

/* The numbers of the "cpu" row of --metrics-brief (stress-ng 0.15 writes it
 * on stderr, tagged "metrc:"; older ones "info:"):
 *   stress-ng: metrc: [28929] cpu  3877  3.00  2.37  0.00  1290.49  1636.52
 * bogo ops, real time, user time, system time, bogo ops/s over real time
 * and over user+system time.  Returns 0, or -1 with the reason. */
static int cpu_row(const char *out, size_t len, double v[6], char *err, size_t err_size)
{
	if (kq_memstr(out, len, "unsuccessful run completed"))
		return wl_error(err, err_size, "stress-ng: unsuccessful run (a stressor failed)");
	size_t pos = 0;
	char line[256];
	int complete;
	while (kq_next_line(out, len, &pos, line, sizeof(line), &complete)) {
		const char *bracket = strchr(line, ']');
		if (!strstr(line, "stress-ng:") || !bracket || !complete)
			continue;
		const char *p = bracket + 1;
		while (*p == ' ')
			p++;
		if (strncmp(p, "cpu ", 4))
			continue;
		p += 4;
		for (int i = 0; i < 6; i++) {
			while (*p == ' ')
				p++;
			if (!isdigit((unsigned char)*p))
				return wl_error(err, err_size, "stress-ng's cpu row has %d numbers, expected 6", i);
			char *e;
			v[i] = strtod(p, &e);
			if (*e && *e != ' ')
				return wl_error(err, err_size, "stress-ng's cpu row has '%.*s' where a number should be",
						(int)strcspn(p, " "), p);
			p = e;
		}
		return 0;
	}
	if (!kq_memstr(out, len, "stress-ng"))
		return wl_error(err, err_size, "not stress-ng output (no 'stress-ng:' lines)");
	return wl_error(err, err_size, "stress-ng printed no metrics row for the cpu stressor (did the run end early?)");
}

static int stress_ng_cpu_parse(const char *out, size_t len, struct metric_value *m, size_t max, char *err,
			       size_t err_size)
{
	if (max < 1)
		return wl_error(err, err_size, "no room for stress-ng's metric");
	double v[6];
	if (cpu_row(out, len, v, err, err_size))
		return -1;
	/* 1e12 bogo ops a second: no CPU does that many. */
	if (wl_metric(&stress_ng_cpu_metrics[0], v[4], 1e12, &m[0], err, err_size))
		return -1;
	return 1;
}

static int stress_ng_cpu_work(const char *out, size_t len, double *units, char *err, size_t err_size)
{
	double v[6];
	if (cpu_row(out, len, v, err, err_size))
		return -1;
	return wl_work("stress-ng-cpu", "bogo ops", v[0] / 1e3, 1e15, units, err, err_size);
}

const struct workload workload_stress_ng_cpu = {
	.name = "stress-ng-cpu",
	.tool = "stress-ng",
	.measures = "CPU speed over all of stress-ng's CPU methods: bogo operations per second (stress-ng --cpu)",
	.argv = stress_ng_cpu_argv,
	.parse = stress_ng_cpu_parse,
	.metrics = stress_ng_cpu_metrics,
	.metric_count = KQ_ARRAY_SIZE(stress_ng_cpu_metrics),
	.report_on_stderr = 1,
	.work_unit = "kbogo",
	.work = stress_ng_cpu_work,
};
