/* The table of workloads and what every runner needs around it. */
#include <stdlib.h>
#include <string.h>

#include "common.h"

const struct workload *const workloads[] = {
	&workload_sysbench_cpu,
	&workload_stream,
	&workload_fio_seqread,
	&workload_fio_seqwrite,
	&workload_fio_randread,
	&workload_iperf3_h2g,
	&workload_iperf3_g2h,
	&workload_sockperf_rr,
	&workload_stress_ng_cpu,
};
const size_t workload_count = sizeof(workloads) / sizeof(workloads[0]);

const struct workload *workload_find(const char *name)
{
	for (size_t i = 0; name && i < workload_count; i++) {
		if (!strcmp(workloads[i]->name, name))
			return workloads[i];
	}
	return NULL;
}

void workload_params_default(struct workload_params *p)
{
	*p = (struct workload_params){
		.threads = 1,
		.duration_s = 10,
		.size_mib = 256,
		.ioengine = "libaio",
		.iodepth = 1,
		.port = 5201,
		.passes = 10,
	};
}

void workload_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
}
