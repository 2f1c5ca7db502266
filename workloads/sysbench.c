/* sysbench cpu: how fast the CPU finds primes below 10000 (integer
 * arithmetic, no memory traffic to speak of). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/util.h"
#include "common.h"

static const struct metric_desc sysbench_cpu_metrics[] = {
	{ "events_per_second", "events/s", 1 },
};

static char **sysbench_cpu_argv(const struct workload_params *p, char *err, size_t err_size)
{
	if (wl_check_range("sysbench-cpu", "threads", p->threads, 1, 4096, err, err_size) ||
	    wl_check_range("sysbench-cpu", "duration_s", p->duration_s, 1, 86400, err, err_size))
		return NULL;
	struct wl_argv a = { 0 };
	wl_arg(&a, "sysbench");
	wl_arg(&a, "cpu");
	wl_arg(&a, "--threads=%d", p->threads);
	wl_arg(&a, "--time=%d", p->duration_s);
	wl_arg(&a, "run");
	return wl_argv_done(&a);
}

/* sysbench 1.0's plain report holds "CPU speed:\n    events per second:  5124.16". */
static int sysbench_cpu_parse(const char *out, size_t len, struct metric_value *m, size_t max,
			      char *err, size_t err_size)
{
	static const char key[] = "events per second:";
	if (max < 1)
		return wl_error(err, err_size, "no room for sysbench's metric");
	const char *at = kq_memstr(out, len, key);
	if (!at) {
		if (!kq_memstr(out, len, "sysbench"))
			return wl_error(err, err_size, "not sysbench output (no 'events per second:' line)");
		return wl_error(err, err_size, "sysbench output has no 'events per second:' line (did the run end early?)");
	}
	size_t i = (size_t)(at - out) + sizeof(key) - 1;
	while (i < len && (out[i] == ' ' || out[i] == '\t'))
		i++;
	char num[32];
	size_t n = 0;
	while (i < len && n + 1 < sizeof(num) && (isdigit((unsigned char)out[i]) || out[i] == '.'))
		num[n++] = out[i++];
	num[n] = '\0';
	/* A number at the very end may have been cut: 5124.16 read as 512. */
	if (n && i == len)
		return wl_error(err, err_size, "sysbench output is truncated after 'events per second: %s'", num);
	if (i < len && !isspace((unsigned char)out[i]))
		n = 0;
	if (!n)
		return wl_error(err, err_size, "sysbench 'events per second:' is not followed by a number");
	char *end;
	double v = strtod(num, &end);
	if (*end)
		return wl_error(err, err_size, "sysbench 'events per second: %s' is not a number", num);
	if (wl_metric(&sysbench_cpu_metrics[0], v, 1e9, &m[0], err, err_size))
		return -1;
	return 1;
}

/* sysbench's "total number of events:", in thousands. */
static int sysbench_cpu_work(const char *out, size_t len, double *units, char *err, size_t err_size)
{
	double events;
	int rc = wl_number_after(out, len, "total number of events:", &events);
	if (rc)
		return wl_error(err, err_size, "sysbench output has no %s 'total number of events:'",
				rc == -2 ? "complete" : "number after");
	return wl_work("sysbench-cpu", "total number of events", events / 1e3, 1e12, units, err, err_size);
}

const struct workload workload_sysbench_cpu = {
	.name = "sysbench-cpu",
	.tool = "sysbench",
	.measures = "CPU speed: prime-search events per second (sysbench cpu)",
	.argv = sysbench_cpu_argv,
	.parse = sysbench_cpu_parse,
	.metrics = sysbench_cpu_metrics,
	.metric_count = KQ_ARRAY_SIZE(sysbench_cpu_metrics),
	.work_unit = "kevent",
	.work = sysbench_cpu_work,
};
