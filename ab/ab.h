/* Same-session A/B experiments: kvmqual ab (two configurations) and
 * kvmqual tune (each setting the host can vary).  The arms of an
 * experiment run in interleaved rounds (A B B A ..., or A B C C B A ... for
 * more arms) in one session, so that the host's drift hits every arm alike;
 * each metric is decided by the rule in rule.c (significant at p < 0.01 AND
 * beyond a threshold), the metrics that changed are measured again, and
 * everything goes into the store (store/ab.h).  docs/ab.md explains it.
 *
 *   spec.c     an arm from a SPEC (key=value items), and its check against
 *              QEMU before anything runs
 *   session.c  the experiment: guests, rounds, re-runs
 *   rule.c     the decision of one metric
 *   output.c   the table, the JSON document, JUnit XML
 *   tune.c     the settings kvmqual tune tries on this host
 *   cmd_ab.c, cmd_tune.c   the commands */
#ifndef KQ_AB_H
#define KQ_AB_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../lib/util.h"
#include "../probe/probe.h"
#include "../runners/step.h"
#include "../runners/vcpu.h"
#include "../store/ab.h"

/* ---- the rule (rule.c) ---- */

struct ab_rule {
	double alpha;          /* two-sided level of the test */
	double conf;           /* level of the change's interval */
	double threshold_pct;  /* a change counts only beyond this */
	int paired;            /* 1: Wilcoxon signed-rank on the round pairs; 0: Mann-Whitney */
	int reruns;            /* a changed metric is measured again up to this many times */
	int pool;              /* 1: a re-run's pairs join the earlier passes' and the rule decides on
				* them all; 0: each re-run must decide the same on its own */
};
void ab_rule_default(struct ab_rule *r);

enum ab_decision {
	AB_WORSE,              /* a regression: the arm is worse than the reference */
	AB_BETTER,
	AB_SAME,               /* no change that counts */
	AB_INCONCLUSIVE,       /* too few rounds for the test to reach alpha */
	AB_FAILED,             /* an arm failed: no numbers */
};
const char *ab_decision_name(enum ab_decision d);

/* One metric of one arm against the reference, in one pass. */
struct ab_verdict {
	size_t n;                    /* pairs (or samples a side when unpaired) */
	double ref_median, arm_median;
	double change_pct, ci_lo, ci_hi, ci_level;
	double p;
	enum ab_decision decision;
	char why[200];
};

/* The rule on one metric: ref[i] and arm[i] measured in the same cycle of
 * rounds (paired by index when the rule is paired). */
void ab_decide(const double *ref, const double *arm, size_t n, int higher_is_better, const struct ab_rule *rule,
	       struct ab_verdict *v);

/* ---- arms (spec.c) ---- */

enum ab_net { AB_NET_USER, AB_NET_TAP, AB_NET_VHOST };

struct ab_arm {
	char name[48];
	char *spec;              /* as given, or as tune wrote it */
	char *qemu;              /* NULL: qemu-system-ARCH on PATH */
	char *image;             /* NULL: the suite's image for the guest arch */
	char *append;            /* more kernel command line */
	char *cgroup;            /* QEMU runs in this cgroup */
	char *disk_opts;         /* the scratch disk's -drive options; NULL: cache=none,aio=native where
				  * O_DIRECT works, else cache=writeback,aio=threads */
	char **opts;             /* more QEMU options (NULL-terminated) */
	int cpus, mem_mb;        /* 0: the experiment's */
	enum ab_net net;
	struct vcpu_pin pin;
	char *affinity;          /* the CPUs QEMU's process may run on: NULL the experiment's default
				  * (big.LITTLE: the probe's cluster), "" any */
	long hugepage_kb;        /* guest RAM on huge pages of this size (KiB); 0: QEMU's default memory */
	char fragment[400];      /* the QEMU command line (or what around it) this arm stands for */
	/* Filled while it runs. */
	int failed;
	char why[900];
	char vcpus[300];         /* where each vCPU thread may run, read from /proc at its last boot */
	long page_kb_seen;       /* hugepages: the page size of guest RAM in QEMU's smaps at its last boot */
};

/* Adds the items of one SPEC to an arm: KEY=VALUE items separated by ';'
 * (name, qemu, image, append, opts, cpus, mem, pin, affinity, cgroup, disk,
 * net, hugepages);
 * "default" or "" adds nothing.  0, or -1 with err naming the item. */
int ab_arm_parse(struct ab_arm *arm, const char *spec, struct kq_err *err);
void ab_arm_free(struct ab_arm *arm);
/* One line describing what the arm changes ("defaults" when nothing). */
void ab_arm_describe(const struct ab_arm *arm, char *out, size_t size);

/* ---- an experiment (session.c) ---- */

/* What an experiment measures: steps of kvmqual run's plan, and the boot. */
struct ab_plan {
	const struct step *steps[16];
	size_t nsteps;
	int boot;                 /* the boot time of each round's guest is a metric */
};
/* Parses "boot,sysbench-cpu-1t,...": 0, or -1 with err naming the label. */
int ab_plan_parse(struct ab_plan *plan, const char *list, struct kq_err *err);

struct ab_env {
	const char *guest_arch;
	const char *accel;
	const char *image;        /* the default image */
	const char *gic;          /* arm64 under KVM */
	const char *host_pin;     /* big.LITTLE: every arm's QEMU stays on this cluster unless it pins */
	const char *isolate_cgroup; /* --isolate: arms without a cgroup of their own run in this one */
	int cpus, mem_mb;         /* the default guest */
	struct step_env step;     /* durations and sizes (native_target unused) */
	const char *scratch_dir;  /* where each arm's scratch disk goes */
	int need_disk;
	struct ab_rule rule;
	int rounds;               /* a fixed count of rounds per arm, or 0: adaptive */
	int min_rounds, max_rounds;
	double ci_target_pct;     /* adaptive: until every interval is this narrow (half-width) */
	double budget_s;          /* adaptive: wall-clock budget of the whole experiment */
	int boot_every;           /* rounds per guest boot (1: a fresh guest every round) */
	int boot_timeout_ms;
	struct store *store;
	int64_t session_id;
	int quiet, tty;
	volatile sig_atomic_t *stop;
};

/* One metric's outcome for one arm against the reference. */
struct ab_result {
	size_t arm;               /* >= 1 */
	char workload[40], metric[48], unit[16];
	int higher_is_better;
	struct ab_verdict first;  /* the first pass */
	struct ab_verdict final;  /* after the re-runs: what is reported */
	int passes;               /* 1 + re-runs made */
};

/* AB_STORE_FAILED: a result the store did not take stopped the experiment
 * (x->reason says what the store said); nothing of it is reported. */
enum ab_status { AB_COMPLETE, AB_FAILED_ARM, AB_INTERRUPTED, AB_SKIPPED, AB_STORE_FAILED };

struct ab_experiment {
	char setting[32];         /* "ab", or tune's setting name */
	char title[160];
	struct ab_arm *arms;      /* arm 0 is the reference */
	size_t narms;
	struct ab_plan plan;
	char primary[96];         /* tune: "workload.metric" the recommendation is decided on */
	/* Filled by ab_run. */
	int64_t id;
	enum ab_status status;
	char reason[1200];
	int rounds;               /* per arm in the first pass */
	double wall_s;
	struct ab_result *results;
	size_t nresults;
	/* tune: the arm recommended, how sure, and why */
	int recommended;
	char confidence[32];
	char because[600];
};

/* Checks every arm before anything runs: the binary, the image, the cgroup
 * and the pinning exist, and QEMU accepts the whole command line (started
 * paused, then stopped).  0, or -1 with err naming the arm and its spec. */
int ab_check_arms(const struct ab_env *env, struct ab_experiment *x, struct kq_err *err);

/* Runs the experiment (rounds, decisions, re-runs) and stores it.  0 when it
 * ran to its end (arms may have failed: x->status says), -1 with err when
 * it could not start, or when the store did not take a result (a full
 * disk, a lock held past --lock-wait): then the experiment stopped there,
 * x->status is AB_STORE_FAILED, and what was stored before stays. */
int ab_run(const struct ab_env *env, struct ab_experiment *x, struct kq_err *err);
void ab_experiment_free(struct ab_experiment *x);
/* Stores how the experiment ended, with tune's advice when it has some. */
int ab_finish_experiment(const struct ab_env *env, const struct ab_experiment *x, struct kq_err *err);
/* A setting the host cannot vary: stored as skipped with x->reason. */
int ab_record_skipped(const struct ab_env *env, struct ab_experiment *x, struct kq_err *err);

/* ---- output (output.c) ---- */

void ab_print_table(FILE *out, const struct ab_env *env, const struct ab_experiment *x);
/* The experiment as a JSON object (schema kvmqual.ab's "experiments" item). */
struct cJSON;
struct cJSON *ab_experiment_json(const struct ab_env *env, const struct ab_experiment *x);
/* The head of a kvmqual.ab document, as ab and tune write it: schema,
 * version, command, db, session, accel, guest_arch. */
struct cJSON *ab_document(const char *command, const char *db, const struct ab_env *env, const char *guest_arch);
/* Prints doc on standard output (its strings made UTF-8 first) and frees it. */
void ab_print_document(struct cJSON *doc);
/* JUnit XML: a testcase per arm and metric, a failure per regression (and
 * per failed arm). */
int ab_write_junit(const char *path, const struct ab_experiment *const *xs, size_t count, struct kq_err *err);

/* ---- tune (tune.c) ---- */

/* What kvmqual tune knows of the host to choose its settings. */
struct tune_host {
	const char *guest_arch, *accel;
	int vcpus;                       /* the default guest's */
	int online_cpus;
	size_t cluster_count;            /* > 1: big.LITTLE */
	const struct cluster *clusters;  /* the probe's, fastest core first */
	size_t pin_cluster;
	int can_tap;                     /* root and /dev/net/tun */
	int can_vhost;                   /* /dev/vhost-net too */
	char vhost_why[200];             /* why not, when not */
	int o_direct;                    /* the scratch disks' file system takes O_DIRECT */
	int mem_mb;                      /* the default guest's memory */
	/* Huge page sizes (KiB) with enough free pages for the guest's memory,
	 * and, for the sizes without, what is missing and how to reserve them
	 * (tune_host_hugepages). */
	long hugepage_kb[4];
	size_t hugepage_count;
	char hugepage_why[1000];
	char hugepage_missing[48];       /* those sizes: "32M" */
};

struct hostfs;
/* Fills h's huge page sizes from the host's sys/kernel/mm/hugepages (live
 * or a snapshot): 2 MB, and 64 KB and 32 MB where the kernel offers them
 * (arm64's contiguous sizes), each when its free pages hold h->mem_mb. */
void tune_host_hugepages(struct tune_host *h, const struct hostfs *fs);

/* The settings kvmqual tune tries on this host, in the order it tries them,
 * each an experiment whose arm 0 is QEMU's default (no pinning, aio=threads,
 * vhost=off) or, for the vCPU count, what kvmqual run gives the guest; a setting
 * the host cannot vary has status AB_SKIPPED and the reason.  only: a
 * comma-separated list of setting names, or NULL for all. */
int tune_settings(const struct tune_host *h, const char *only, struct ab_experiment **xs, size_t *count,
		  struct kq_err *err);
/* The names of the settings, for messages. */
extern const char *const tune_setting_names[];
/* After an experiment: which arm to use, how sure, and why (x->recommended,
 * x->confidence, x->because). */
void tune_recommend(struct ab_experiment *x, const struct ab_rule *rule);

int cmd_ab(int argc, char **argv);
int cmd_tune(int argc, char **argv);

#endif
