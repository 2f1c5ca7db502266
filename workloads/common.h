/* Shared by the workload definitions, not by their users: argv building,
 * error text, finding and reading the JSON a tool printed, and the sanity
 * check every metric goes through. */
#ifndef KQ_WORKLOADS_COMMON_H
#define KQ_WORKLOADS_COMMON_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "workload.h"

extern const struct workload workload_sysbench_cpu;
extern const struct workload workload_stream;
extern const struct workload workload_fio_seqread;
extern const struct workload workload_fio_seqwrite;
extern const struct workload workload_fio_randread;
extern const struct workload workload_iperf3_h2g;
extern const struct workload workload_iperf3_g2h;
extern const struct workload workload_sockperf_rr;
extern const struct workload workload_stress_ng_cpu;

/* Formats into err (if any) and returns -1. */
int wl_error(char *err, size_t err_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A growing argv; wl_arg aborts only when memory runs out. */
struct wl_argv {
	char **v;
	size_t count, cap;
};
void wl_arg(struct wl_argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char **wl_argv_done(struct wl_argv *a);

/* Checks an integer parameter against [min, max]; -1 with a message naming
 * the workload and the parameter otherwise. */
int wl_check_range(const char *workload, const char *param, long long value, long long min,
		   long long max, char *err, size_t err_size);
/* A string parameter must be set, non-empty, and free of white space (the
 * agent's script form splits on spaces) and of the characters in reject. */
int wl_check_string(const char *workload, const char *param, const char *value, const char *reject,
		    char *err, size_t err_size);

/* Parses the first JSON object in out that starts a line, skipping text a
 * tool prints before it (fio's "note: ..." and "fio: ..." lines).  Text after
 * the object is ignored.  NULL with the reason (empty, no JSON, truncated,
 * malformed at byte N) in err. */
cJSON *wl_json_parse(const char *tool, const char *out, size_t len, char *err, size_t err_size);

/* The item at a dotted path ("jobs.0.read.bw_bytes"; numbers index arrays),
 * or NULL. */
const cJSON *wl_json_path(const cJSON *root, const char *path);
/* The number at path; -1 with "TOOL JSON has no number at PATH" otherwise. */
int wl_json_number(const char *tool, const cJSON *root, const char *path, double *out, char *err,
		   size_t err_size);

/* The number after the first occurrence of key in out (blanks skipped):
 * 0 with *v; -1 when key is absent or not followed by a number (digits,
 * '.', at most one; a sign is not a number here); -2 when the number runs
 * to the end of out (it may have been cut: 5124.16 read as 512). */
int wl_number_after(const char *out, size_t len, const char *key, double *v);

/* A work count (wl_number_after's result, or a JSON number) checked like a
 * metric: finite, > 0, at most max; -1 with "WORKLOAD: no work counted ..." */
int wl_work(const char *workload, const char *what, double value, double max, double *units, char *err,
	    size_t err_size);

/* Stores a metric after checking it is finite, greater than 0 (no
 * benchmark here measures a true zero: it means nothing ran) and at most
 * max, a bound no real device reaches. */
int wl_metric(const struct metric_desc *desc, double value, double max, struct metric_value *m,
	      char *err, size_t err_size);

#endif
