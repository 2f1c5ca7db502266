/* One step of a plan run once: a workload (workloads/) in one of its
 * variants (all vCPUs or one, over user networking or tap), in a guest
 * through its agent or natively, its output parsed into metrics.  kvmqual
 * run (sampling.c) and kvmqual ab (ab/) take their samples through this, so
 * that a number means the same whichever command measured it. */
#ifndef KQ_RUNNERS_STEP_H
#define KQ_RUNNERS_STEP_H

#include <stddef.h>

#include "cost.h"
#include "guest.h"

enum step_kind {
	STEP_WORKLOAD,          /* the workload's tool, natively and in the guest */
	STEP_VMM_MEMORY,        /* QEMU's memory after boot (guest only, runners/measure.c) */
	STEP_BALLOON,           /* the virtio-balloon (guest only, when the run has it) */
};

/* A workload and the parameters that tell its variants apart; stored under
 * `label`.  Only STEP_WORKLOAD steps run through step_exec. */
struct step {
	const char *workload;
	const char *label;
	int one_thread;
	int tap;                /* over tap (+ vhost-net) in a namespace, guest only */
	enum step_kind kind;
	int on_hugepages;       /* run again in the guest on each huge page size */
	int extra;              /* a second view of what another step measures (stress-ng beside
				 * sysbench): only in profiles with extras, or named in --workloads */
};

/* kvmqual run's plan, in its order (sampling.c). */
extern const struct step run_plan[];
extern const size_t run_plan_count;

/* The plan's step with this label, or NULL. */
const struct step *step_find(const char *label);

/* What the parameters of a step come from. */
struct step_env {
	int cpus;                   /* threads of the all-vCPU variants */
	int duration_s;             /* sysbench, fio, iperf3 */
	long long fio_mib;
	long long stream_elements;
	int stream_passes;
	const char *native_target;  /* fio's file natively (the guest uses /dev/kqscratch) */
	const char *bin_dir;        /* the suite's own tools natively (STREAM next to kvmqual) */
	const char *netns;          /* tap steps: the namespace the host side lives in */
	int host_emulated;          /* the probe says QEMU emulates this host: guest steps get more time */
	int vhost;                  /* tap steps use vhost-net: its workers' CPU time is QEMU's cost */
	struct energy_meter *meter; /* the host's energy sensor (lib/energy.h) */
};

#define STEP_MAX_METRICS 16

/* One execution's metrics, what it cost the host (cost.h), with the host's
 * conditions around it. */
struct step_result {
	size_t count;
	struct step_metric {
		const char *metric, *unit; /* static: the workload's own names */
		int higher_is_better;
		double value;
	} m[STEP_MAX_METRICS];
	struct cost_result cost;
	int throttled;              /* the host throttled while it ran */
	char *conditions;           /* JSON object text (malloc'd) */
};

/* Runs step s once, in g (g != NULL) or natively, `where` naming the place
 * in messages ("tcg", "native", "B").  0 with r filled (free with
 * step_result_free), or -1 with why saying what failed. */
int step_exec(const struct step_env *env, struct guest *g, const char *where, const struct step *s,
	      struct step_result *r, char *why, size_t why_size);
void step_result_free(struct step_result *r);

#endif
