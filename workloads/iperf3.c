/* iperf3 TCP throughput between the guest and the host.  The client runs
 * where the workload runs (in the guest, or natively for the baseline) and
 * the server on the host, so host-to-guest is the reverse mode (-R: the
 * server sends) and guest-to-host the normal one. */
#include <string.h>

#include "../lib/util.h"
#include "common.h"

static const struct metric_desc iperf3_metrics[] = { { "gbps", "Gbit/s", 1 } };

static char **iperf3_argv(const char *workload, int reverse, const struct workload_params *p,
			  char *err, size_t err_size)
{
	if (wl_check_string(workload, "server", p->server, NULL, err, err_size) ||
	    wl_check_range(workload, "port", p->port, 1, 65535, err, err_size) ||
	    wl_check_range(workload, "duration_s", p->duration_s, 1, 86400, err, err_size))
		return NULL;
	struct wl_argv a = { 0 };
	wl_arg(&a, "iperf3");
	wl_arg(&a, "-c");
	wl_arg(&a, "%s", p->server);
	wl_arg(&a, "-p");
	wl_arg(&a, "%d", p->port);
	wl_arg(&a, "-t");
	wl_arg(&a, "%d", p->duration_s);
	wl_arg(&a, "-J");
	if (reverse)
		wl_arg(&a, "-R");
	return wl_argv_done(&a);
}

static char **iperf3_h2g_argv(const struct workload_params *p, char *err, size_t err_size)
{
	return iperf3_argv("iperf3-h2g", 1, p, err, err_size);
}

static char **iperf3_g2h_argv(const struct workload_params *p, char *err, size_t err_size)
{
	return iperf3_argv("iperf3-g2h", 0, p, err, err_size);
}

/* iperf3 -J: end.sum_received.bits_per_second is what arrived, whichever
 * side sent.  On failure iperf3 still prints JSON, with an "error" member,
 * and 3.12 exits 0 then: the error member is what tells. */
static int iperf3_parse(const char *out, size_t len, struct metric_value *m, size_t max, char *err,
			size_t err_size)
{
	if (max < 1)
		return wl_error(err, err_size, "no room for iperf3's metric");
	cJSON *root = wl_json_parse("iperf3", out, len, err, err_size);
	if (!root)
		return -1;
	int rc = -1;
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
	if (cJSON_IsString(error)) {
		wl_error(err, err_size, "iperf3: %s", error->valuestring);
		goto out;
	}
	double bps;
	/* 1e5 Gbit/s is 100 Tbit/s, beyond any link. */
	if (wl_json_number("iperf3", root, "end.sum_received.bits_per_second", &bps, err, err_size) ||
	    wl_metric(&iperf3_metrics[0], bps / 1e9, 1e5, &m[0], err, err_size))
		goto out;
	rc = 1;
out:
	cJSON_Delete(root);
	return rc;
}

/* What arrived (end.sum_received.bytes), in GB (10^9). */
static int iperf3_work(const char *out, size_t len, double *units, char *err, size_t err_size)
{
	cJSON *root = wl_json_parse("iperf3", out, len, err, err_size);
	if (!root)
		return -1;
	double bytes = 0;
	int rc = wl_json_number("iperf3", root, "end.sum_received.bytes", &bytes, err, err_size);
	cJSON_Delete(root);
	if (rc)
		return -1;
	return wl_work("iperf3", "end.sum_received.bytes", bytes / 1e9, 1e9, units, err, err_size);
}

/* One test, then it exits (-1), so that a stale server never answers the
 * next run. */
static char **iperf3_server_argv(const struct workload_params *p, char *err, size_t err_size)
{
	const char *bind = p->server_bind ? p->server_bind : p->server;
	if (wl_check_string("iperf3 server", "server_bind", bind, NULL, err, err_size) ||
	    wl_check_range("iperf3 server", "port", p->port, 1, 65535, err, err_size))
		return NULL;
	struct wl_argv a = { 0 };
	wl_arg(&a, "iperf3");
	wl_arg(&a, "-s");
	wl_arg(&a, "-1");
	wl_arg(&a, "-B");
	wl_arg(&a, "%s", bind);
	wl_arg(&a, "-p");
	wl_arg(&a, "%d", p->port);
	return wl_argv_done(&a);
}

const struct workload workload_iperf3_h2g = {
	.name = "iperf3-h2g",
	.tool = "iperf3",
	.measures = "TCP throughput from the host to the guest (iperf3 -R, server on the host)",
	.argv = iperf3_h2g_argv,
	.parse = iperf3_parse,
	.metrics = iperf3_metrics,
	.metric_count = KQ_ARRAY_SIZE(iperf3_metrics),
	.work_unit = "GB",
	.work = iperf3_work,
	.server_argv = iperf3_server_argv,
};

const struct workload workload_iperf3_g2h = {
	.name = "iperf3-g2h",
	.tool = "iperf3",
	.measures = "TCP throughput from the guest to the host (iperf3, server on the host)",
	.argv = iperf3_g2h_argv,
	.parse = iperf3_parse,
	.metrics = iperf3_metrics,
	.metric_count = KQ_ARRAY_SIZE(iperf3_metrics),
	.work_unit = "GB",
	.work = iperf3_work,
	.server_argv = iperf3_server_argv,
};
