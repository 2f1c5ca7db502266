/* STREAM, the project's own (workloads/stream/): sustainable memory
 * bandwidth of four vector kernels, from its kvmqual.stream JSON. */
#include <stdio.h>
#include <string.h>

#include "../lib/util.h"
#include "common.h"

static const struct metric_desc stream_metrics[] = {
	{ "copy_mbps", "MB/s", 1 },
	{ "scale_mbps", "MB/s", 1 },
	{ "add_mbps", "MB/s", 1 },
	{ "triad_mbps", "MB/s", 1 },
};
static const char *const stream_kernels[] = { "copy", "scale", "add", "triad" };

static char **stream_argv(const struct workload_params *p, char *err, size_t err_size)
{
	/* STREAM sizes its arrays from the caches and memory it sees, which
	 * differ between guest and host: the runner must choose one size. */
	if (p->elements == 0) {
		wl_error(err, err_size, "stream needs elements: the same array size for the guest and native runs");
		return NULL;
	}
	if (wl_check_range("stream", "threads", p->threads, 1, 4096, err, err_size) ||
	    wl_check_range("stream", "passes", p->passes, 2, 200, err, err_size) ||
	    wl_check_range("stream", "elements", p->elements, 1, 1LL << 40, err, err_size))
		return NULL;
	struct wl_argv a = { 0 };
	wl_arg(&a, "stream");
	wl_arg(&a, "--json");
	wl_arg(&a, "--threads");
	wl_arg(&a, "%d", p->threads);
	wl_arg(&a, "--passes");
	wl_arg(&a, "%d", p->passes);
	wl_arg(&a, "--elements");
	wl_arg(&a, "%lld", p->elements);
	return wl_argv_done(&a);
}

static int stream_parse(const char *out, size_t len, struct metric_value *m, size_t max, char *err,
			size_t err_size)
{
	if (max < KQ_ARRAY_SIZE(stream_metrics))
		return wl_error(err, err_size, "no room for stream's %zu metrics", KQ_ARRAY_SIZE(stream_metrics));
	cJSON *root = wl_json_parse("stream", out, len, err, err_size);
	if (!root)
		return -1;
	int rc = -1;
	const cJSON *schema = cJSON_GetObjectItemCaseSensitive(root, "schema");
	const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "schema_version");
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
	const cJSON *validated = cJSON_GetObjectItemCaseSensitive(root, "validated");
	if (!cJSON_IsString(schema) || strcmp(schema->valuestring, "kvmqual.stream")) {
		wl_error(err, err_size, "stream JSON is not schema kvmqual.stream");
		goto out;
	}
	if (!cJSON_IsNumber(version) || version->valuedouble != 1) {
		wl_error(err, err_size, "stream JSON has schema_version %g, expected 1",
			 cJSON_IsNumber(version) ? version->valuedouble : 0.0);
		goto out;
	}
	if (cJSON_IsFalse(validated)) {
		wl_error(err, err_size, "stream results failed validation: %s",
			 cJSON_IsString(error) ? error->valuestring : "(no reason given)");
		goto out;
	}
	if (cJSON_IsString(error)) {
		wl_error(err, err_size, "stream: %s", error->valuestring);
		goto out;
	}
	if (!cJSON_IsTrue(validated)) {
		wl_error(err, err_size, "stream JSON does not say its results validated");
		goto out;
	}
	for (size_t i = 0; i < KQ_ARRAY_SIZE(stream_metrics); i++) {
		char path[64];
		snprintf(path, sizeof(path), "results.%s.best_mbps", stream_kernels[i]);
		const cJSON *best = wl_json_path(root, path);
		if (cJSON_IsNull(best)) {
			wl_error(err, err_size, "stream %s has no bandwidth: the timer saw no time pass (use more elements)",
				 stream_kernels[i]);
			goto out;
		}
		double v;
		/* 1e8 MB/s is 100 TB/s, beyond any memory system. */
		if (wl_json_number("stream", root, path, &v, err, err_size) ||
		    wl_metric(&stream_metrics[i], v, 1e8, &m[i], err, err_size))
			goto out;
	}
	rc = (int)KQ_ARRAY_SIZE(stream_metrics);
out:
	cJSON_Delete(root);
	return rc;
}

/* The bytes the kernels moved in GB (10^9): per pass, Copy and Scale move
 * two arrays, Add and Triad three, as STREAM counts; every pass, the
 * warm-up included, ran. */
static int stream_work(const char *out, size_t len, double *units, char *err, size_t err_size)
{
	cJSON *root = wl_json_parse("stream", out, len, err, err_size);
	if (!root)
		return -1;
	double array_bytes = 0, passes = 0;
	int rc = wl_json_number("stream", root, "array_bytes", &array_bytes, err, err_size) ||
		 wl_json_number("stream", root, "passes", &passes, err, err_size);
	cJSON_Delete(root);
	if (rc)
		return -1;
	return wl_work("stream", "array_bytes x passes", 10 * array_bytes * passes / 1e9, 1e9, units, err, err_size);
}

const struct workload workload_stream = {
	.name = "stream",
	.tool = "stream",
	.suite_tool = 1,
	.measures = "sustainable memory bandwidth: STREAM copy, scale, add and triad",
	.argv = stream_argv,
	.parse = stream_parse,
	.metrics = stream_metrics,
	.metric_count = KQ_ARRAY_SIZE(stream_metrics),
	.work_unit = "GB",
	.work = stream_work,
};
