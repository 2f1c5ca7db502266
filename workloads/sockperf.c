/* sockperf ping-pong: request/response latency over TCP between where the
 * workload runs (the guest, or natively for the baseline) and a server on
 * the host.  One message in flight at a time, so each sample is a round
 * trip through the whole network path (QEMU's user network or tap +
 * vhost-net); p50 and p99 of the round trip, in microseconds. */
#include <stdio.h>
#include <string.h>

#include "../lib/util.h"
#include "common.h"

static const struct metric_desc sockperf_metrics[] = {
	{ "rtt_p50_us", "us", 0 },
	{ "rtt_p99_us", "us", 0 },
};

/* 64-byte messages: a small request, as an RPC would send. */
#define SOCKPERF_MESSAGE_BYTES 64

static char **sockperf_argv(const struct workload_params *p, char *err, size_t err_size)
{
	if (wl_check_string("sockperf-rr", "server", p->server, NULL, err, err_size) ||
	    wl_check_range("sockperf-rr", "port", p->port, 1, 65535, err, err_size) ||
	    wl_check_range("sockperf-rr", "duration_s", p->duration_s, 1, 86400, err, err_size))
		return NULL;
	struct wl_argv a = { 0 };
	wl_arg(&a, "sockperf");
	wl_arg(&a, "ping-pong");
	wl_arg(&a, "-i");
	wl_arg(&a, "%s", p->server);
	wl_arg(&a, "-p");
	wl_arg(&a, "%d", p->port);
	wl_arg(&a, "--tcp");
	wl_arg(&a, "-m");
	wl_arg(&a, "%d", SOCKPERF_MESSAGE_BYTES);
	wl_arg(&a, "-t");
	wl_arg(&a, "%d", p->duration_s);
	/* Round trips, not sockperf's default "latency" (half of one). */
	wl_arg(&a, "--full-rtt");
	return wl_argv_done(&a);
}

static char **sockperf_server_argv(const struct workload_params *p, char *err, size_t err_size)
{
	const char *bind = p->server_bind ? p->server_bind : p->server;
	if (wl_check_string("sockperf server", "server_bind", bind, NULL, err, err_size) ||
	    wl_check_range("sockperf server", "port", p->port, 1, 65535, err, err_size))
		return NULL;
	struct wl_argv a = { 0 };
	wl_arg(&a, "sockperf");
	wl_arg(&a, "server");
	wl_arg(&a, "-i");
	wl_arg(&a, "%s", bind);
	wl_arg(&a, "-p");
	wl_arg(&a, "%d", p->port);
	wl_arg(&a, "--tcp");
	return wl_argv_done(&a);
}

/* sockperf 3.7 reports on stdout, each line prefixed "sockperf: ", some
 * with colour escapes, and exits 0 even when it could not connect (then
 * "sockperf: ERROR: Can`t connect socket (errno=111 ...)").  With
 * --full-rtt the summary says "Round trip is"; the percentiles follow as
 * "---> percentile 50.000 =    6.426". */
static int sockperf_parse(const char *out, size_t len, struct metric_value *m, size_t max, char *err,
			  size_t err_size)
{
	if (max < KQ_ARRAY_SIZE(sockperf_metrics))
		return wl_error(err, err_size, "no room for sockperf's %zu metrics", KQ_ARRAY_SIZE(sockperf_metrics));
	const char *error = kq_memstr(out, len, "ERROR:");
	if (error) {
		char line[160];
		size_t n = 0;
		for (const char *c = error + 6; c < out + len && *c != '\n' && n + 1 < sizeof(line); c++)
			if (*c >= 0x20 && *c < 0x7f && (n || *c != ' '))
				line[n++] = *c;
		line[n] = '\0';
		return wl_error(err, err_size, "sockperf: %s", line);
	}
	if (!kq_memstr(out, len, "Summary: Round trip is")) {
		if (kq_memstr(out, len, "Summary: Latency is"))
			return wl_error(err, err_size, "sockperf reported one-way latency, not round trips (no --full-rtt)");
		if (!kq_memstr(out, len, "sockperf"))
			return wl_error(err, err_size, "not sockperf output (no 'sockperf' in it)");
		return wl_error(err, err_size, "sockperf output has no 'Summary: Round trip is' line (did the run end early?)");
	}
	static const char *const keys[] = { "percentile 50.000 =", "percentile 99.000 =" };
	for (size_t i = 0; i < KQ_ARRAY_SIZE(keys); i++) {
		double v;
		int rc = wl_number_after(out, len, keys[i], &v);
		if (rc == -2)
			return wl_error(err, err_size, "sockperf output is truncated after '%s'", keys[i]);
		if (rc)
			return wl_error(err, err_size, "sockperf output has no number after '%s'", keys[i]);
		/* 1e8 us is 100 s for one round trip: no network is that slow. */
		if (wl_metric(&sockperf_metrics[i], v, 1e8, &m[i], err, err_size))
			return -1;
	}
	if (m[0].value > m[1].value)
		return wl_error(err, err_size, "sockperf's p50 %g us is above its p99 %g us", m[0].value, m[1].value);
	return (int)KQ_ARRAY_SIZE(sockperf_metrics);
}

/* Every round trip of the run, warm-up included (the CPU time spent on
 * them is all counted), from "[Total Run] ... ReceivedMessages=N". */
static int sockperf_work(const char *out, size_t len, double *units, char *err, size_t err_size)
{
	const char *total = kq_memstr(out, len, "[Total Run]");
	double received;
	if (!total || wl_number_after(total, len - (size_t)(total - out), "ReceivedMessages=", &received))
		return wl_error(err, err_size, "sockperf output has no '[Total Run] ... ReceivedMessages=N'");
	return wl_work("sockperf-rr", "ReceivedMessages", received / 1e3, 1e12, units, err, err_size);
}

const struct workload workload_sockperf_rr = {
	.name = "sockperf-rr",
	.tool = "sockperf",
	.measures = "request/response latency: TCP round trips of 64-byte messages to a server on the host (sockperf ping-pong)",
	.argv = sockperf_argv,
	.parse = sockperf_parse,
	.metrics = sockperf_metrics,
	.metric_count = KQ_ARRAY_SIZE(sockperf_metrics),
	.work_unit = "krtt",
	.work = sockperf_work,
	.server_argv = sockperf_server_argv,
};
