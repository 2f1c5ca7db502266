/* fio on a block device or file, with O_DIRECT so that the page cache is not
 * what is measured: sequential read and write in 1 MiB blocks (MB/s) and
 * random 4 KiB reads (IOPS). */
#include <stdio.h>
#include <string.h>

#include "../lib/util.h"
#include "common.h"

static const struct metric_desc fio_seqread_metrics[] = { { "seqread_mbps", "MB/s", 1 } };
static const struct metric_desc fio_seqwrite_metrics[] = { { "seqwrite_mbps", "MB/s", 1 } };
static const struct metric_desc fio_randread_metrics[] = { { "randread_iops", "IOPS", 1 } };

static char **fio_argv(const char *workload, const char *rw, const char *bs,
		       const struct workload_params *p, char *err, size_t err_size)
{
	/* fio reads ':' in --filename as a list separator. */
	if (wl_check_string(workload, "target", p->target, ":", err, err_size) ||
	    wl_check_string(workload, "ioengine", p->ioengine, NULL, err, err_size) ||
	    wl_check_range(workload, "size_mib", p->size_mib, 1, 1LL << 30, err, err_size) ||
	    wl_check_range(workload, "iodepth", p->iodepth, 1, 4096, err, err_size) ||
	    wl_check_range(workload, "duration_s", p->duration_s, 1, 86400, err, err_size))
		return NULL;
	if (strcmp(p->ioengine, "libaio") && strcmp(p->ioengine, "io_uring") && strcmp(p->ioengine, "psync")) {
		wl_error(err, err_size, "%s: ioengine '%s' is not libaio, io_uring or psync", workload, p->ioengine);
		return NULL;
	}
	struct wl_argv a = { 0 };
	wl_arg(&a, "fio");
	wl_arg(&a, "--name=%s", workload + strlen("fio-"));
	wl_arg(&a, "--filename=%s", p->target);
	wl_arg(&a, "--rw=%s", rw);
	wl_arg(&a, "--bs=%s", bs);
	wl_arg(&a, "--size=%lldM", p->size_mib);
	wl_arg(&a, "--direct=1");
	wl_arg(&a, "--ioengine=%s", p->ioengine);
	wl_arg(&a, "--iodepth=%d", p->iodepth);
	wl_arg(&a, "--runtime=%d", p->duration_s);
	wl_arg(&a, "--time_based");
	wl_arg(&a, "--output-format=json");
	return wl_argv_done(&a);
}

/* fio --output-format=json, possibly after "note: ..." or "fio: ..." lines:
 * the value at jobs[0].DIR.FIELD, divided by scale. */
static int fio_parse(const char *dir, const char *field, double scale, double max,
		     const struct metric_desc *desc, const char *out, size_t len,
		     struct metric_value *m, size_t max_metrics, char *err, size_t err_size)
{
	if (max_metrics < 1)
		return wl_error(err, err_size, "no room for fio's metric");
	cJSON *root = wl_json_parse("fio", out, len, err, err_size);
	if (!root)
		return -1;
	int rc = -1;
	const cJSON *jobs = cJSON_GetObjectItemCaseSensitive(root, "jobs");
	if (!cJSON_IsArray(jobs) || cJSON_GetArraySize(jobs) < 1) {
		wl_error(err, err_size, "fio JSON has no jobs");
		goto out;
	}
	const cJSON *job_error = wl_json_path(root, "jobs.0.error");
	if (cJSON_IsNumber(job_error) && job_error->valuedouble != 0) {
		wl_error(err, err_size, "fio job failed with error %d (%s)", job_error->valueint,
			 strerror(job_error->valueint));
		goto out;
	}
	char path[64];
	snprintf(path, sizeof(path), "jobs.0.%s.%s", dir, field);
	double v;
	if (wl_json_number("fio", root, path, &v, err, err_size) ||
	    wl_metric(desc, v / scale, max, &m[0], err, err_size))
		goto out;
	rc = 1;
out:
	cJSON_Delete(root);
	return rc;
}

/* The bytes the job moved (jobs[0].DIR.io_bytes), in GB (10^9). */
static int fio_work(const char *dir, const char *out, size_t len, double *units, char *err, size_t err_size)
{
	cJSON *root = wl_json_parse("fio", out, len, err, err_size);
	if (!root)
		return -1;
	char path[64];
	snprintf(path, sizeof(path), "jobs.0.%s.io_bytes", dir);
	double bytes = 0;
	int rc = wl_json_number("fio", root, path, &bytes, err, err_size);
	cJSON_Delete(root);
	if (rc)
		return -1;
	return wl_work("fio", path, bytes / 1e9, 1e9, units, err, err_size);
}

static int fio_read_work(const char *out, size_t len, double *units, char *err, size_t err_size)
{
	return fio_work("read", out, len, units, err, err_size);
}

static int fio_write_work(const char *out, size_t len, double *units, char *err, size_t err_size)
{
	return fio_work("write", out, len, units, err, err_size);
}

static char **fio_seqread_argv(const struct workload_params *p, char *err, size_t err_size)
{
	return fio_argv("fio-seqread", "read", "1M", p, err, err_size);
}

static char **fio_seqwrite_argv(const struct workload_params *p, char *err, size_t err_size)
{
	return fio_argv("fio-seqwrite", "write", "1M", p, err, err_size);
}

static char **fio_randread_argv(const struct workload_params *p, char *err, size_t err_size)
{
	return fio_argv("fio-randread", "randread", "4k", p, err, err_size);
}

/* MB/s is 10^6 bytes per second, as STREAM counts; 1e7 MB/s (10 TB/s) and
 * 1e9 IOPS are beyond any storage. */
static int fio_seqread_parse(const char *out, size_t len, struct metric_value *m, size_t max,
			     char *err, size_t err_size)
{
	return fio_parse("read", "bw_bytes", 1e6, 1e7, fio_seqread_metrics, out, len, m, max, err, err_size);
}

static int fio_seqwrite_parse(const char *out, size_t len, struct metric_value *m, size_t max,
			      char *err, size_t err_size)
{
	return fio_parse("write", "bw_bytes", 1e6, 1e7, fio_seqwrite_metrics, out, len, m, max, err, err_size);
}

static int fio_randread_parse(const char *out, size_t len, struct metric_value *m, size_t max,
			      char *err, size_t err_size)
{
	return fio_parse("read", "iops", 1, 1e9, fio_randread_metrics, out, len, m, max, err, err_size);
}

const struct workload workload_fio_seqread = {
	.name = "fio-seqread",
	.tool = "fio",
	.measures = "sequential read throughput, 1 MiB blocks, O_DIRECT",
	.argv = fio_seqread_argv,
	.parse = fio_seqread_parse,
	.metrics = fio_seqread_metrics,
	.metric_count = KQ_ARRAY_SIZE(fio_seqread_metrics),
	.work_unit = "GB",
	.work = fio_read_work,
};

const struct workload workload_fio_seqwrite = {
	.name = "fio-seqwrite",
	.tool = "fio",
	.measures = "sequential write throughput, 1 MiB blocks, O_DIRECT",
	.argv = fio_seqwrite_argv,
	.parse = fio_seqwrite_parse,
	.metrics = fio_seqwrite_metrics,
	.metric_count = KQ_ARRAY_SIZE(fio_seqwrite_metrics),
	.work_unit = "GB",
	.work = fio_write_work,
};

const struct workload workload_fio_randread = {
	.name = "fio-randread",
	.tool = "fio",
	.measures = "random read operations per second, 4 KiB blocks, O_DIRECT",
	.argv = fio_randread_argv,
	.parse = fio_randread_parse,
	.metrics = fio_randread_metrics,
	.metric_count = KQ_ARRAY_SIZE(fio_randread_metrics),
	.work_unit = "GB",
	.work = fio_read_work,
};
