/* kvmqual run's own header: what its files share.  cmd_run.c takes the
 * options, sets the run up (probe, store, scratch files) and ends it;
 * sampling.c holds the plan and takes the samples, natively and in the
 * guest under each accelerator, until-stable included; verdicts.c judges
 * the medians against the targets and works out the speed-ups; summary.c
 * prints the table.  Only runners/ includes it. */
#ifndef KQ_RUNNERS_RUN_H
#define KQ_RUNNERS_RUN_H

#include <limits.h>
#include <signal.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "../lib/util.h"
#include "../store/store.h"
#include "cost.h"
#include "guest.h"
#include "setup.h"
#include "step.h"
#include "targets.h"

/* Why the run stops early: the number of the signal (SIGINT, SIGTERM,
 * SIGHUP; cmd_run.c), or RUN_STOP_STORE when the store refused a result
 * (run_store_failed).  Every loop stops at its next step. */
extern volatile sig_atomic_t run_stop_requested;
#define RUN_STOP_STORE (-1)

struct run_ctx {
	const struct profile *prof;
	struct store *store;
	int64_t run_id;
	int json;
	int tty;
	const char *guest_arch;
	const char *image_dir;
	int cpus;
	const char *bin_dir;
	const char *only;           /* --workloads: comma-separated labels */
	const char *pin_cpus;       /* big.LITTLE: the cluster QEMU is pinned to */
	const char *gic;            /* arm64 under KVM: the host's GIC version */
	int host_emulated;          /* the probe says QEMU emulates this host */
	int use_tap, vhost;         /* tap networking in a namespace, with vhost-net */
	const char *netns;          /* while a tap guest runs */
	/* What the workloads cost the host (runners/cost.h): the sensor, when
	 * there is one, is sampled during each sample. */
	struct energy_meter meter;
	int cold_boot;              /* a cold boot (page cache dropped) before the warm ones */
	int balloon;                /* the balloon step, in the workload guest (QMP) */
	long hugepage_kb[4];        /* huge page sizes to run the on_hugepages steps on */
	size_t hugepage_count;
	struct kq_buf skipped;      /* "what: why; ..." (run_note_skip) */
	uint64_t start_ns;
	char host_arch[32];
	char native_target[PATH_MAX];
	char disk_path[PATH_MAX];
	const char *disk_opts;
	int disk_fallback;
	struct kq_buf failures;     /* "kvm: reason; ..." */
	int steps_done, steps_total;
	/* Every sample, also kept here for the verdicts and the summary. */
	struct collected {
		char accel[8], workload[40], metric[48], unit[16];
		int higher_is_better;
		double value;
	} *col;
	size_t ncol, capcol;
	double boot_ms[2];          /* median boot time: [0] tcg, [1] kvm; NAN = none */
	/* The guest's view of the CPU's vulnerabilities after the first boot
	 * ([0] tcg, [1] kvm; "" = none booted): guest_vulns_summary's line. */
	char guest_vulns[2][320];
	/* --until-stable: more samples of a step until the 95 % confidence
	 * interval of each of its metrics' median is within stable_pct of the
	 * median, at most max_iterations, and within the wall-clock budget
	 * (shared fairly among the steps left). */
	int until_stable;
	double stable_pct;
	double stable_budget_s;
	uint64_t stable_deadline_ns;
	int stable_budget_hit;      /* some step or boot stopped unsettled when its share ran out */
	int max_iterations;
	struct stability {
		char accel[8], workload[40], metric[48];
		int samples, settled;
		double half_width_pct;  /* INFINITY: too few samples for an interval */
	} *stab;
	size_t nstab;
};

/* sampling.c */
int run_step_wanted(const struct run_ctx *c, const struct step *s);
/* Runs the plan's steps: natively (g == NULL), or in g, the tap steps
 * only in a tap guest (tap = 1) and the others only in the first.  Returns
 * how many failed. */
int run_all_steps(struct run_ctx *c, struct guest *g, const char *accel, int tap);
/* Boots, then the workloads, under one accelerator; 0, or -1 when
 * something failed (noted in c->failures). */
int run_accel(struct run_ctx *c, const char *accel, int boot_timeout_ms, double *boot_median);
void run_note_failure(struct run_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A measurement left out with the reason (huge pages not reserved, say):
 * the run goes on and stays complete; stored as a skipped verdict. */
void run_note_skip(struct run_ctx *c, const char *what, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Stores one sample and keeps it for the verdicts (sampling.c). */
void run_store_sample(struct run_ctx *c, const char *accel, const char *workload, const char *metric,
		      const char *unit, int higher_is_better, double value, const char *flags, int iteration);
/* Runs one step once, in g or natively (g NULL): 0, or -1 with why. */
int run_step(struct run_ctx *c, struct guest *g, const char *accel, const struct step *s, int iteration,
	     char *why, size_t why_size);
void run_progress(struct run_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The guest as a run boots it: with disk and network for the workloads
 * (with_devices), the balloon and QMP when the run measures the balloon. */
void run_guest_config(const struct run_ctx *c, const char *accel, struct guest_config *cfg, int with_devices);
/* The profile's samples of one step (more with --until-stable), stored
 * under s->label; 0, or -1 when it failed (noted). */
int run_sample_step(struct run_ctx *c, struct guest *g, const char *accel, const struct step *s);

/* hugepages.c: the on_hugepages steps in a guest on each size of
 * c->hugepage_kb, the pages checked before and their use verified after
 * boot; sizes the host has not reserved are skipped with the reason. */
int run_hugepages(struct run_ctx *c, const char *accel, int boot_timeout_ms);
size_t run_hugepage_steps(const struct run_ctx *c);
/* A result the store did not take (full disk, a lock held too long, ...):
 * the run stops, ends failed with err's text as the reason, and keeps what
 * was stored before.  A sample that is not stored is never reported. */
void run_store_failed(struct run_ctx *c, const struct kq_err *err);
/* The median of v (sorted in place); NAN when n is 0. */
double run_median(double *v, int n);

/* verdicts.c: into the store and the summary document. */
void run_speedups(struct run_ctx *c, cJSON *summary);
int run_judge(struct run_ctx *c, const struct target *t, size_t nt, cJSON *summary);
void run_stability_report(struct run_ctx *c, cJSON *summary);

/* summary.c */
void run_print_summary(const cJSON *summary);

#endif
