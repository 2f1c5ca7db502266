/* ab/'s own header for what kvmqual ab and kvmqual tune share
 * (context.c): their common options, the probe and the defaults it gives,
 * the store's session. */
#ifndef KQ_AB_CONTEXT_H
#define KQ_AB_CONTEXT_H

#include <getopt.h>
#include <signal.h>

#include "../lib/hostfs.h"
#include "../probe/probe.h"
#include "../runners/cgroup.h"
#include "ab.h"

/* getopt values of the options both commands take (their own use
 * printable characters). */
enum {
	AB_OPT_DB = 1000, AB_OPT_ACCEL, AB_OPT_ARCH, AB_OPT_IMAGE, AB_OPT_PROFILE, AB_OPT_WORKLOADS, AB_OPT_JSON,
	AB_OPT_JUNIT, AB_OPT_ROUNDS, AB_OPT_MIN_ROUNDS, AB_OPT_MAX_ROUNDS, AB_OPT_RERUNS, AB_OPT_CPUS,
	AB_OPT_BOOT_EVERY, AB_OPT_THRESHOLD, AB_OPT_BUDGET, AB_OPT_STABLE_CI, AB_OPT_ISOLATE, AB_OPT_LOCK_WAIT,
};

/* How long a write waits for another process's lock on the store before
 * the experiment fails (as kvmqual run's --lock-wait). */
#define AB_LOCK_WAIT_S 600

struct ab_options {
	const char *db, *accel, *guest_arch, *image, *profile, *workloads, *junit;
	int json, isolate;
	int rounds, min_rounds, max_rounds, cpus, boot_every, lock_wait_s;
	double budget_s, ci_target_pct;
	struct ab_rule rule;
	/* The first of --min-rounds, --max-rounds, --stable-ci given: they
	 * shape adaptive rounds, which --rounds N turns off. */
	const char *adaptive_opt;
};

void ab_options_default(struct ab_options *o);
/* Takes one common option: 0, 2 (a bad value, said on stderr), or -1 when
 * ch is not a common option. */
int ab_option(struct ab_options *o, int ch, const char *arg, const char *cmd);
/* What both commands do with an option that is not their own: --help
 * prints usage on stdout (-1: exit 0), a common option is taken as
 * ab_option takes it (0 or 2), anything else prints usage on stderr (2). */
int ab_option_or_usage(struct ab_options *o, int ch, const char *arg, const char *cmd, void (*usage)(FILE *out));
const char *ab_option_name(int ch);
/* own (terminated by a NULL name) followed by the common options; free it. */
struct option *ab_options_table(const struct option *own);

struct ab_context {
	const char *cmd;              /* "ab" or "tune" */
	char host_arch[32], guest_arch[32], accel[8];
	const char *profile;
	char *dir, *image, *dbdir, *qemu_version, *probe_text;
	char image_hash[128];
	struct hostfs *fs;
	struct probe pr;
	int have_probe;
	struct store *store;
	int lock_wait_s;              /* --lock-wait */
	struct cpu_cgroup isolate;    /* --isolate */
	volatile sig_atomic_t stop;   /* set by SIGINT and SIGTERM */
};

/* Checks the common options, probes the host and fills env's defaults
 * (nothing written anywhere).  0, or 2 after saying what is wrong. */
int ab_context_init(struct ab_context *c, const struct ab_options *o, const char *cmd, struct ab_env *env);
/* --isolate: the CPU cgroup of the highest weight the arms run in
 * (env->isolate_cgroup); nothing without it.  0, or 2 after saying why. */
int ab_context_isolate(struct ab_context *c, const struct ab_options *o, struct ab_env *env);
/* Opens the store and begins the session (env->store, env->session_id).
 * 0, or 2 after saying why not. */
int ab_context_open(struct ab_context *c, const struct ab_options *o, struct ab_env *env, int argc, char **argv);
/* After a result the store did not take: the end of the session gets at
 * least a minute for another writer's lock to go, then x (if it has begun
 * in the store) and the session are stored as failed, for reason.  0, or
 * -1 after saying that the session stays 'running' until recovered. */
int ab_context_store_failed(struct ab_context *c, const struct ab_env *env, const struct ab_experiment *x,
			    const char *reason, const char *db);
void ab_context_close(struct ab_context *c);

/* SIGINT, SIGTERM and SIGHUP (a closed terminal) set c->stop: the session
 * ends at its next step, stored as interrupted, exit 128 + the signal
 * (issue 13 finding 25, as kvmqual run). */
void ab_context_catch_stops(struct ab_context *c);

#endif
