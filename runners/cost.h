/* What a workload cost the host: CPU time from /proc (QEMU's threads, its
 * vhost-net workers, the native tool and the servers it talks to) and,
 * where the host has a sensor (lib/energy.h), energy.  The runner brackets
 * each sample with cost_begin / cost_end and stores the cost per unit of
 * the work the workload did. */
#ifndef KQ_COST_H
#define KQ_COST_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "../lib/energy.h"
#include "../lib/hostfs.h"
#include "../workloads/workload.h"

/* CPU seconds (user + system) process pid has used so far, all its
 * threads, the ones that ended included, read from root's proc/PID/stat
 * (root "/" live; a test may point it elsewhere).  With vhost set, the
 * vhost-net workers serving pid are added: on kernels before 6.4 they are
 * kernel threads named "vhost-PID" outside its thread group.  -1 when
 * the process is gone or the file is not understood. */
double cost_process_cpu_s(const char *root, pid_t pid, int vhost);

/* Parses the utime and stime of a proc/PID/stat line (the command name
 * may hold spaces and parentheses): seconds at ticks_per_s, or -1. */
double cost_parse_stat_cpu_s(const char *stat, size_t len, long ticks_per_s);

/* Samples the energy sensor from another thread while a workload runs. */
struct energy_meter {
	struct hostfs *fs;
	struct energy_sensor sensor;
	int available;            /* a sensor exists; else sensor.unavailable says why */
	int period_ms;
	pthread_t thread;
	int running;
	int wake[2];              /* a pipe: written to stop the sampler */
	pthread_mutex_t lock;
	struct energy_acc acc;
	uint64_t start_ns;
};

/* fs stays the caller's.  period_ms: how often power is sampled and
 * counters are read (a counter must not wrap twice in between). */
void energy_meter_init(struct energy_meter *m, struct hostfs *fs, int period_ms);
void energy_meter_free(struct energy_meter *m);

struct energy_sample {
	int valid;                /* joules is a measurement */
	double joules, seconds;
	char flags[96];           /* energy-wrapped,... ("" when none) */
	double max_gap_s;         /* the longest time between two readings */
	char why[384];            /* when not valid: the sensor's absence, or what went wrong */
};

/* Starts a measurement (a no-op without a sensor). */
void energy_meter_start(struct energy_meter *m);
void energy_meter_stop(struct energy_meter *m, struct energy_sample *out);

/* What one sample cost, as metrics stored beside the workload's own (all
 * lower is better):
 *   host_cpu_s                  CPU seconds the host spent (CPU-s)
 *   host_cpu_s_per_UNIT         the same per unit of work (CPU-s/UNIT)
 *   energy_j, energy_j_per_UNIT where the energy sample is valid (J, J/UNIT)
 * UNIT is the workload's work_unit; the work comes from its report. */
struct cost_metric {
	char metric[48];
	char unit[24];
	double value;
};

struct cost_result {
	struct cost_metric m[4];
	size_t count;
	char flags[96];            /* the energy sample's */
	char note[256];            /* what could not be had, and why ("" when all) */
};

void cost_result_make(const struct workload *w, const char *report, size_t len, double cpu_s,
		      const struct energy_sample *e, struct cost_result *out);

#endif
