/* Host conditions that spoil benchmark numbers, sampled around each sample:
 * CPU frequency and governor, temperature and throttling, load from other
 * processes.  A sample taken while the host throttled is flagged. */
#ifndef KQ_CONDITIONS_H
#define KQ_CONDITIONS_H

#include <cjson/cJSON.h>

struct host_conditions {
	double cpu_mhz_avg;        /* scaling_cur_freq over online CPUs; 0 = unknown */
	char governor[32];
	double temp_c_max;         /* hottest thermal zone; 0 = none */
	unsigned long long throttle_events; /* x86 thermal_throttle counters, summed */
	long pi_throttled;         /* Raspberry Pi firmware get_throttled; -1 = absent */
	double load1;
	int procs_running;
};

/* root is "/" on a live host (a test may point it at a fake tree). */
void conditions_sample(const char *root, struct host_conditions *c);
/* Whether the host throttled between two samples (or is throttled now). */
int conditions_throttled(const struct host_conditions *before, const struct host_conditions *after);
cJSON *conditions_json(const struct host_conditions *c);

#endif
