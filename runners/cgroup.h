/* A CPU cgroup of the runner's own with the highest weight the kernel
 * allows, for the QEMUs whose speed it compares (kvmqual ab --isolate):
 * the rest of the machine then takes less of their CPU time, so that two
 * arms measured a minute apart see less of its changing load.  Other
 * processes get less CPU meanwhile.  cgroup v2 (cpu.weight 10000) or v1's
 * cpu controller (cpu.shares 262144); needs root. */
#ifndef KQ_RUNNERS_CGROUP_H
#define KQ_RUNNERS_CGROUP_H

#include "../lib/util.h"

struct cpu_cgroup {
	char path[256];
	int created;
};

/* Creates kvmqual-PID[-N] (removing those of processes that are gone).
 * 0, or -1 with err saying what is missing. */
int cpu_cgroup_create(struct cpu_cgroup *cg, struct kq_err *err);
/* Removes it (its processes must have ended). */
void cpu_cgroup_destroy(struct cpu_cgroup *cg);

#endif
