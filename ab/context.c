/* What kvmqual ab and kvmqual tune share around their experiments: the
 * options both take, the probe (host identity, GIC, big.LITTLE cluster,
 * whether KVM works), the defaults it implies, and the store's session. */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../lib/number.h"
#include "../lib/stale.h"
#include "../runners/guest.h"
#include "../runners/setup.h"
#include "context.h"

void ab_options_default(struct ab_options *o)
{
	memset(o, 0, sizeof(*o));
	o->db = STORE_DEFAULT_PATH;
	o->profile = "quick";
	ab_rule_default(&o->rule);
	o->min_rounds = 8;
	o->max_rounds = 30;
	o->budget_s = NAN;       /* the command's default */
	o->ci_target_pct = NAN;
	o->boot_every = -1;      /* the command's default */
	o->lock_wait_s = AB_LOCK_WAIT_S;
}

static int option_value(struct ab_options *o, int ch, const char *arg, const char *cmd);

int ab_option(struct ab_options *o, int ch, const char *arg, const char *cmd)
{
	int rc = option_value(o, ch, arg, cmd);
	if (rc)
		return rc;
	/* --rounds N is a fixed count; the adaptive options would be ignored
	 * in silence (the usage shows them as alternatives).  After the
	 * value: a bad number is said as such first. */
	int adaptive = ch == AB_OPT_MIN_ROUNDS || ch == AB_OPT_MAX_ROUNDS || ch == AB_OPT_STABLE_CI;
	if (adaptive && !o->adaptive_opt)
		o->adaptive_opt = ab_option_name(ch);
	if ((adaptive || ch == AB_OPT_ROUNDS) && o->adaptive_opt && o->rounds) {
		fprintf(stderr, "kvmqual %s: --rounds N (a fixed count) and --%s (adaptive rounds) exclude each other:"
				" give one\n", cmd, o->adaptive_opt);
		return 2;
	}
	return 0;
}

/* Numbers strictly (lib/number.h): " 3", "3x", "0x10", "1e1" rounds,
 * "nan" are usage errors naming the option, never read as something. */
static int option_value(struct ab_options *o, int ch, const char *arg, const char *cmd)
{
	long long n;
	double v;
	switch (ch) {
	case AB_OPT_DB: o->db = arg; return 0;
	case AB_OPT_ACCEL: o->accel = arg; return 0;
	case AB_OPT_ARCH: o->guest_arch = arg; return 0;
	case AB_OPT_IMAGE: o->image = arg; return 0;
	case AB_OPT_PROFILE: o->profile = arg; return 0;
	case AB_OPT_WORKLOADS: o->workloads = arg; return 0;
	case AB_OPT_JSON: o->json = 1; return 0;
	case AB_OPT_ISOLATE: o->isolate = 1; return 0;
	case AB_OPT_JUNIT: o->junit = arg; return 0;
	case AB_OPT_ROUNDS:
	case AB_OPT_MIN_ROUNDS:
	case AB_OPT_MAX_ROUNDS:
	case AB_OPT_RERUNS:
	case AB_OPT_CPUS:
	case AB_OPT_BOOT_EVERY:
	case AB_OPT_LOCK_WAIT: {
		int lo = ch == AB_OPT_RERUNS || ch == AB_OPT_BOOT_EVERY ? 0 : 1;
		int hi = ch == AB_OPT_CPUS ? VCPU_MAX : ch == AB_OPT_RERUNS ? 5 : ch == AB_OPT_LOCK_WAIT ? 86400 : 200;
		if (kq_number_int(arg, lo, hi, &n)) {
			fprintf(stderr, "kvmqual %s: --%s takes %d to %d, not '%s'\n", cmd, ab_option_name(ch), lo, hi, arg);
			return 2;
		}
		int *field = ch == AB_OPT_ROUNDS ? &o->rounds : ch == AB_OPT_MIN_ROUNDS ? &o->min_rounds
			     : ch == AB_OPT_MAX_ROUNDS ? &o->max_rounds : ch == AB_OPT_RERUNS ? &o->rule.reruns
			     : ch == AB_OPT_CPUS ? &o->cpus : ch == AB_OPT_LOCK_WAIT ? &o->lock_wait_s : &o->boot_every;
		*field = (int)n;
		return 0;
	}
	case AB_OPT_THRESHOLD:
	case AB_OPT_BUDGET:
	case AB_OPT_STABLE_CI:
		if (kq_number_double(arg, 0, ch == AB_OPT_BUDGET ? 86400 : 100, 1, &v)) {
			fprintf(stderr, "kvmqual %s: --%s takes %s, not '%s'\n", cmd, ab_option_name(ch),
				ch == AB_OPT_BUDGET ? "seconds above 0, at most 86400" : "a percentage above 0, at most 100",
				arg);
			return 2;
		}
		*(ch == AB_OPT_THRESHOLD ? &o->rule.threshold_pct : ch == AB_OPT_BUDGET ? &o->budget_s
											: &o->ci_target_pct) = v;
		return 0;
	}
	return -1;
}

static const struct option common_opts[] = {
	{ "db", required_argument, NULL, AB_OPT_DB },
	{ "accel", required_argument, NULL, AB_OPT_ACCEL },
	{ "guest-arch", required_argument, NULL, AB_OPT_ARCH },
	{ "image", required_argument, NULL, AB_OPT_IMAGE },
	{ "profile", required_argument, NULL, AB_OPT_PROFILE },
	{ "workloads", required_argument, NULL, AB_OPT_WORKLOADS },
	{ "json", no_argument, NULL, AB_OPT_JSON },
	{ "junit", required_argument, NULL, AB_OPT_JUNIT },
	{ "rounds", required_argument, NULL, AB_OPT_ROUNDS },
	{ "min-rounds", required_argument, NULL, AB_OPT_MIN_ROUNDS },
	{ "max-rounds", required_argument, NULL, AB_OPT_MAX_ROUNDS },
	{ "reruns", required_argument, NULL, AB_OPT_RERUNS },
	{ "cpus", required_argument, NULL, AB_OPT_CPUS },
	{ "boot-every", required_argument, NULL, AB_OPT_BOOT_EVERY },
	{ "threshold", required_argument, NULL, AB_OPT_THRESHOLD },
	{ "budget", required_argument, NULL, AB_OPT_BUDGET },
	{ "stable-ci", required_argument, NULL, AB_OPT_STABLE_CI },
	{ "isolate", no_argument, NULL, AB_OPT_ISOLATE },
	{ "lock-wait", required_argument, NULL, AB_OPT_LOCK_WAIT },
	{ NULL, 0, NULL, 0 },
};

int ab_option_or_usage(struct ab_options *o, int ch, const char *arg, const char *cmd, void (*usage)(FILE *out))
{
	if (ch == 'h') {
		usage(stdout);
		return -1;
	}
	int rc = ab_option(o, ch, arg, cmd);
	if (rc < 0) {
		usage(stderr);
		return 2;
	}
	return rc;
}

const char *ab_option_name(int ch)
{
	for (size_t i = 0; common_opts[i].name; i++)
		if (common_opts[i].val == ch)
			return common_opts[i].name;
	return "?";
}

struct option *ab_options_table(const struct option *own)
{
	size_t n = 0, m = 0;
	while (own[n].name)
		n++;
	while (common_opts[m].name)
		m++;
	struct option *all = kq_xcalloc(n + m + 1, sizeof(*all));
	memcpy(all, own, n * sizeof(*all));
	memcpy(all + n, common_opts, (m + 1) * sizeof(*all));
	return all;
}

int ab_context_init(struct ab_context *c, const struct ab_options *o, const char *cmd, struct ab_env *env)
{
	memset(c, 0, sizeof(*c));
	memset(env, 0, sizeof(*env));
	c->cmd = cmd;
	struct utsname u;
	uname(&u);
	snprintf(c->host_arch, sizeof(c->host_arch), "%s", u.machine);
	const char *arch = o->guest_arch ? o->guest_arch : u.machine;
	if (strcmp(arch, "aarch64") && strcmp(arch, "x86_64")) {
		fprintf(stderr, "kvmqual %s: --guest-arch takes aarch64 or x86_64, not '%s'\n", cmd, arch);
		return 2;
	}
	snprintf(c->guest_arch, sizeof(c->guest_arch), "%s", arch);
	/* kvmqual run's durations and sizes: an A/B sample is the same
	 * measurement as a run's. */
	const struct profile *prof = NULL;
	for (size_t i = 0; i < run_profile_count; i++)
		if (!strcmp(run_profiles[i].name, o->profile))
			prof = &run_profiles[i];
	if (!prof) {
		fprintf(stderr, "kvmqual %s: --profile takes quick, standard or full, not '%s'\n", cmd, o->profile);
		return 2;
	}
	if (o->accel && strcmp(o->accel, "tcg") && strcmp(o->accel, "kvm")) {
		fprintf(stderr, "kvmqual %s: --accel takes kvm or tcg, not '%s'\n", cmd, o->accel);
		return 2;
	}
	if (o->accel && !strcmp(o->accel, "kvm") && strcmp(arch, u.machine)) {
		fprintf(stderr, "kvmqual %s: KVM runs guests of the host's own architecture (%s), not %s\n", cmd,
			u.machine, arch);
		return 2;
	}
	if (o->min_rounds > o->max_rounds) {
		fprintf(stderr, "kvmqual %s: --min-rounds %d is above --max-rounds %d\n", cmd, o->min_rounds, o->max_rounds);
		return 2;
	}
	/* The JUnit file is written at the end of the session: a path that
	 * cannot be written is said now, not after it. */
	struct kq_err jerr;
	if (o->junit && kq_out_check(o->junit, &jerr)) {
		fprintf(stderr, "kvmqual %s: --junit %s\n", cmd, jerr.msg);
		return 2;
	}
	/* The suite's image and files, as kvmqual run finds them. */
	c->dir = setup_self_dir();
	if (!o->image) {
		char *rel = kq_xasprintf("guest/%s", arch), *inst = kq_xasprintf("lib/kvmqual/guest/%s", arch);
		c->image = setup_suite_path(c->dir, rel, inst);
		free(rel);
		free(inst);
	} else {
		c->image = kq_xstrdup(o->image);
	}
	struct kq_err err;
	char image_arch[32];
	if (guest_image_info(c->image, image_arch, sizeof(image_arch), c->image_hash, sizeof(c->image_hash), &err)) {
		fprintf(stderr, "kvmqual %s: %s\n", cmd, err.msg);
		return 2;
	}
	/* The probe: whether KVM works, the GIC, big.LITTLE, the host's name. */
	c->fs = hostfs_open_live();
	struct probe_options popt = { 0 };
	if (probe_run(&c->pr, c->fs, &popt, &err)) {
		fprintf(stderr, "kvmqual %s: probe: %s\n", cmd, err.msg);
		return 2;
	}
	c->have_probe = 1;
	cJSON *doc = probe_to_json(&c->pr);
	c->probe_text = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	/* KVM where the probe finds it usable for the suite's guest: a PVM
	 * host's KVM boots only PVM-enabled kernels, so TCG there. */
	const struct check *mode = probe_find(&c->pr, "kvm.mode");
	int pvm = mode && mode->value && !strcmp(mode->value, "pvm");
	const char *accel = o->accel ? o->accel
			    : c->pr.verdict != VERDICT_TCG_ONLY && !pvm && !strcmp(arch, u.machine) ? "kvm" : "tcg";
	if (!o->accel && pvm && !o->json)
		fprintf(stderr, "kvmqual %s: KVM here is PVM, which boots only PVM-enabled guest kernels: TCG "
				"(--accel kvm to try KVM anyway)\n", cmd);
	snprintf(c->accel, sizeof(c->accel), "%s", accel);
	const struct check *gicv = probe_find(&c->pr, "gic.version");
	if (gicv && !strcmp(u.machine, "aarch64"))
		env->gic = kq_startswith(gicv->value, "v3") || kq_startswith(gicv->value, "v4") ? "3"
			   : !strcmp(gicv->value, "v2") ? "2" : NULL;
	int cpus = o->cpus ? o->cpus : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus > 8)
		cpus = 8;
	/* big.LITTLE: QEMU on the cluster the probe recommends (arms that
	 * pin their vCPUs elsewhere do so themselves). */
	if (c->pr.host.cluster_count > 1) {
		const struct cluster *cl = &c->pr.host.clusters[c->pr.host.pin_cluster];
		env->host_pin = cl->cpus;
		if (!o->cpus && cpus > (int)cl->count)
			cpus = (int)cl->count;
	}
	/* Scratch disks next to the database, as kvmqual run puts them. */
	c->dbdir = kq_xstrdup(o->db);
	char *slash = strrchr(c->dbdir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(c->dbdir, strlen(c->dbdir) + 1, ".");
	env->guest_arch = c->guest_arch;
	env->accel = c->accel;
	env->image = c->image;
	env->cpus = cpus;
	env->mem_mb = prof->guest_mem_mb;
	env->step.cpus = cpus;
	env->step.duration_s = prof->duration_s;
	env->step.fio_mib = prof->fio_mib;
	env->step.stream_elements = prof->stream_elements;
	env->step.stream_passes = prof->stream_passes;
	env->step.host_emulated = c->pr.host.emulated;
	env->scratch_dir = c->dbdir;
	env->rule = o->rule;
	env->rounds = o->rounds;
	env->min_rounds = o->rounds ? o->rounds : o->min_rounds;
	env->max_rounds = o->rounds ? o->rounds : o->max_rounds;
	env->ci_target_pct = isnan(o->ci_target_pct) ? o->rule.threshold_pct / 2 : o->ci_target_pct;
	env->budget_s = o->budget_s;
	env->boot_every = o->boot_every;
	if (o->rounds && isnan(env->budget_s))
		env->budget_s = 86400;
	/* TCG inside an emulated host (the lab) boots in tens of seconds. */
	env->boot_timeout_ms = c->pr.host.emulated ? 600000 : !strcmp(accel, "kvm") ? 60000 : 120000;
	env->tty = isatty(STDERR_FILENO);
	env->quiet = o->json && !env->tty;
	env->stop = &c->stop;
	c->profile = prof->name;
	/* QEMU's version for the record: the reference arm's binary or the default. */
	char qbin[64];
	snprintf(qbin, sizeof(qbin), "qemu-system-%s", arch);
	c->qemu_version = setup_qemu_version(qbin);
	return 0;
}

int ab_context_isolate(struct ab_context *c, const struct ab_options *o, struct ab_env *env)
{
	if (!o->isolate)
		return 0;
	struct kq_err err;
	if (cpu_cgroup_create(&c->isolate, &err)) {
		fprintf(stderr, "kvmqual %s: --isolate: %s\n", c->cmd, err.msg);
		return 2;
	}
	env->isolate_cgroup = c->isolate.path;
	return 0;
}

int ab_context_open(struct ab_context *c, const struct ab_options *o, struct ab_env *env, int argc, char **argv)
{
	struct kq_err err;
	c->store = store_open(o->db, NULL, &err);
	if (!c->store) {
		fprintf(stderr, "kvmqual %s: %s\n", c->cmd, err.msg);
		return 2;
	}
	c->lock_wait_s = o->lock_wait_s;
	store_set_busy_timeout(c->store, o->lock_wait_s * 1000);
	stale_cleanup(c->dbdir, "kvmqual-scratch");
	struct kq_buf cmdline;
	kq_buf_init(&cmdline);
	kq_buf_printf(&cmdline, "kvmqual");
	for (int i = 0; i < argc; i++)
		kq_buf_printf(&cmdline, " %s", argv[i]);
	struct store_host host = { .arch = c->pr.host.arch, .model = c->pr.host.model, .soc = c->pr.host.soc,
				   .kernel_release = c->pr.host.kernel_release, .page_size = c->pr.host.page_size };
	struct store_ab_session_info info = { .command = c->cmd, .accel = c->accel, .profile = c->profile,
					      .suite_version = SUITE_VERSION, .qemu_version = c->qemu_version,
					      .guest_image_hash = c->image_hash, .command_line = cmdline.data,
					      .probe_json = c->probe_text };
	env->session_id = store_ab_begin(c->store, &host, &info, &err);
	kq_buf_free(&cmdline);
	if (env->session_id < 0) {
		fprintf(stderr, "kvmqual %s: %s\n", c->cmd, err.msg);
		return 2;
	}
	env->store = c->store;
	return 0;
}

int ab_context_store_failed(struct ab_context *c, const struct ab_env *env, const struct ab_experiment *x,
			    const char *reason, const char *db)
{
	struct kq_err err;
	store_set_busy_timeout(c->store, c->lock_wait_s * 1000 > 60000 ? c->lock_wait_s * 1000 : 60000);
	if ((x && x->id > 0 && ab_finish_experiment(env, x, &err)) ||
	    store_ab_finish(c->store, env->session_id, STORE_RUN_FAILED, reason, NULL, &err)) {
		fprintf(stderr, "kvmqual %s: %s; the session stays 'running' in %s until the next writer there marks it"
				" interrupted\n", c->cmd, err.msg, db);
		return -1;
	}
	return 0;
}

void ab_context_close(struct ab_context *c)
{
	store_close(c->store);
	cpu_cgroup_destroy(&c->isolate);
	if (c->have_probe)
		probe_free(&c->pr);
	hostfs_close(c->fs);
	free(c->probe_text);
	free(c->image);
	free(c->dir);
	free(c->dbdir);
	free(c->qemu_version);
	memset(c, 0, sizeof(*c));
}

static volatile sig_atomic_t *stop_flag;

static void on_stop(int sig)
{
	if (stop_flag)
		*stop_flag = sig;
}

void ab_context_catch_stops(struct ab_context *c)
{
	stop_flag = &c->stop;
	struct sigaction sa = { .sa_handler = on_stop };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}
