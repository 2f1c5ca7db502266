/* A workload is defined once, here: the command that runs it (in the guest
 * and natively), the parser of its output, and what its metrics mean (unit,
 * which direction is better).  The runner walks workloads[] and knows
 * nothing workload-specific, the way fio's core knows engines only through
 * struct ioengine_ops.  How to add one: workloads/README.md. */
#ifndef KQ_WORKLOAD_H
#define KQ_WORKLOAD_H

#include <stddef.h>

/* What a run may be asked for.  Each workload reads the members it needs
 * and its argv builder rejects missing or out-of-range ones; guest and
 * native runs differ only in target and server. */
struct workload_params {
	int threads;           /* sysbench, stream: worker threads, >= 1 */
	int duration_s;        /* sysbench, fio, iperf3: seconds of measurement, >= 1 */
	long long size_mib;    /* fio: MiB of the target to use (fio's M is 1024-based) */
	const char *target;    /* fio: block device or file, e.g. /dev/kqscratch */
	const char *ioengine;  /* fio: libaio, io_uring or psync */
	int iodepth;           /* fio: requests in flight, >= 1 (capped at 1 by psync) */
	const char *server;    /* iperf3, sockperf: address of the server, e.g. 10.0.2.2 in the guest */
	const char *server_bind; /* the address the host's server listens on: 127.0.0.1 behind
				  * QEMU's user network (10.0.2.2 is the host's loopback), the
				  * namespace's address over tap; NULL = server */
	int port;              /* iperf3, sockperf: 1-65535 */
	long long elements;    /* stream: doubles per array; the same for guest and native */
	int passes;            /* stream: 2-200 */
};

/* Defaults a runner can start from: 1 thread, 10 s, 256 MiB, libaio at
 * depth 1, port 5201, 10 passes.  target, server and elements stay unset:
 * they depend on where the workload runs. */
void workload_params_default(struct workload_params *p);

struct metric_desc {
	const char *metric;    /* "seqread_mbps" */
	const char *unit;      /* "MB/s" */
	int higher_is_better;
};

struct metric_value {
	const char *metric;    /* points into the workload's metric_desc */
	const char *unit;
	double value;
};

struct workload {
	const char *name;      /* "fio-seqread" */
	const char *tool;      /* the binary: "fio" */
	int suite_tool;        /* built by this suite (STREAM): natively only the
				* copy next to kvmqual runs, never one found on PATH */
	const char *measures;  /* one line for reports: what the numbers mean */
	/* A NULL-terminated argv of malloc'd strings (free with
	 * workload_argv_free), or NULL with the reason in err when p lacks
	 * something this workload needs. */
	char **(*argv)(const struct workload_params *p, char *err, size_t err_size);
	/* Parses the tool's stdout: len bytes, not NUL-terminated, possibly
	 * truncated or garbage.  Fills m[] in the order of metrics[] and
	 * returns the count, or -1 with the reason in err. */
	int (*parse)(const char *out, size_t len, struct metric_value *m, size_t max,
		     char *err, size_t err_size);
	const struct metric_desc *metrics;
	size_t metric_count;
	/* The tool writes its report on stderr, not stdout (stress-ng 0.15 has
	 * no option to change that): parse and work read that stream. */
	int report_on_stderr;
	/* The work one run did, in work_unit ("kevent": 1000 events, "GB",
	 * "krtt": 1000 round trips, "kbogo": 1000 bogo ops), from the same
	 * output as parse, so that host CPU time and energy become a cost per
	 * unit of work.  0 with *units > 0, or -1 with the reason. */
	const char *work_unit;
	int (*work)(const char *out, size_t len, double *units, char *err, size_t err_size);
	/* The server the client needs on the host (iperf3 -s, sockperf
	 * server), listening on server_bind (or server) and port; NULL when
	 * the workload needs none. */
	char **(*server_argv)(const struct workload_params *p, char *err, size_t err_size);
};

extern const struct workload *const workloads[];
extern const size_t workload_count;

/* NULL when no workload has that name. */
const struct workload *workload_find(const char *name);
void workload_argv_free(char **argv);

#endif
