/* An experiment from start to end: its arms checked against QEMU, then
 * interleaved rounds (A B, B A, A B, ...: with more arms the order runs
 * forward and back), each round a guest of that arm (booted afresh every
 * env->boot_every rounds) running the plan's steps once; the rounds stop at
 * a fixed count, or once every metric's interval is narrow enough, at the
 * cap, or at the budget.  Then each metric of each arm is decided against
 * arm 0 (rule.c); the metrics that changed are measured again in a pass of
 * their own, up to rule.reruns times, and a change counts only when every
 * re-run finds it again.  Every sample, arm and result goes into the store
 * as it comes. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../runners/guest.h"
#include "../runners/memory.h"
#include "../runners/netns.h"
#include "../runners/setup.h"
#include "ab.h"

/* ---- the plan ---- */

int ab_plan_parse(struct ab_plan *plan, const char *list, struct kq_err *err)
{
	memset(plan, 0, sizeof(*plan));
	char *copy = kq_xstrdup(list), *save = NULL;
	int rc = 0;
	for (char *w = strtok_r(copy, ",", &save); w && !rc; w = strtok_r(NULL, ",", &save)) {
		w = kq_strtrim(w);
		if (!strcmp(w, "boot")) {
			plan->boot = 1;
			continue;
		}
		/* Only the workloads: QEMU's memory and the balloon are measured
		 * once per guest by kvmqual run, not sampled in rounds. */
		const struct step *s = step_find(w);
		if (s && s->kind != STEP_WORKLOAD)
			s = NULL;
		if (!s) {
			struct kq_buf names;
			kq_buf_init(&names);
			for (size_t i = 0; i < run_plan_count; i++)
				if (run_plan[i].kind == STEP_WORKLOAD)
					kq_buf_printf(&names, " %s", run_plan[i].label);
			rc = kq_error(err, "'%s' is none of: boot%s", w, names.data);
			kq_buf_free(&names);
		} else if (plan->nsteps == KQ_ARRAY_SIZE(plan->steps)) {
			rc = kq_error(err, "at most %zu workloads", KQ_ARRAY_SIZE(plan->steps));
		} else {
			int seen = 0;
			for (size_t i = 0; i < plan->nsteps; i++)
				seen |= plan->steps[i] == s;
			if (!seen)
				plan->steps[plan->nsteps++] = s;
		}
	}
	free(copy);
	if (!rc && !plan->boot && !plan->nsteps)
		rc = kq_error(err, "no workloads");
	return rc;
}

/* ---- one arm's guest ---- */

struct arm_state {
	struct guest g;
	int up;
	int rounds_in_instance;
	struct netns ns;
	char disk[PATH_MAX];
	struct step_env env;
};

static const char *default_disk_opts(const struct ab_env *env, const char *disk)
{
	(void)env;
	return setup_supports_direct(disk) ? "cache=none,aio=native" : "cache=writeback,aio=threads";
}

static void config_for(const struct ab_env *env, const struct ab_arm *arm, struct arm_state *st,
		       struct guest_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->arch = env->guest_arch;
	cfg->accel = env->accel;
	cfg->image_dir = arm->image ? arm->image : env->image;
	cfg->qemu = arm->qemu;
	if (!strcmp(env->accel, "kvm"))
		cfg->gic = env->gic;
	cfg->mem_mb = arm->mem_mb ? arm->mem_mb : env->mem_mb;
	cfg->cpus = arm->cpus ? arm->cpus : env->cpus;
	cfg->append = arm->append;
	cfg->pin_cpus = !arm->affinity ? env->host_pin : arm->affinity[0] ? arm->affinity : NULL;
	cfg->vcpu_pin = arm->pin;
	cfg->cgroup = arm->cgroup ? arm->cgroup : env->isolate_cgroup;
	cfg->extra_opts = arm->opts;
	cfg->hugepage_kb = arm->hugepage_kb;
	/* Every arm through QMP, paused until its vCPU threads are found:
	 * the same start for all, pinned or not. */
	cfg->qmp = 1;
	if (env->need_disk && st->disk[0]) {
		cfg->disk = st->disk;
		cfg->disk_opts = arm->disk_opts ? arm->disk_opts : default_disk_opts(env, st->disk);
	}
	if (arm->net == AB_NET_USER) {
		cfg->net_user = 1;
	} else {
		cfg->tap_netns = st->ns.created ? st->ns.name : NULL;
		cfg->vhost = arm->net == AB_NET_VHOST;
	}
}

/* Where each vCPU thread may run, "0:1 1:0". */
static void vcpus_text(const struct guest *g, char *out, size_t size)
{
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; i < g->vcpu_count && len < size; i++) {
		int n = snprintf(out + len, size - len, "%s%zu:%s", i ? " " : "", i, g->vcpu_cpus[i]);
		if (n < 0)
			break;
		len += (size_t)n;
	}
}

static void arm_down(struct arm_state *st)
{
	if (st->up)
		guest_stop(&st->g);
	st->up = 0;
	st->rounds_in_instance = 0;
}

/* What an arm needs around its guest: a scratch disk of its own (two QEMUs
 * cannot share one), a network namespace for tap. */
static int arm_prepare(const struct ab_env *env, const struct ab_arm *arm, struct arm_state *st, struct kq_err *err)
{
	st->env = env->step;
	/* sysbench's all-vCPU variant runs a thread per vCPU of this arm. */
	if (arm->cpus)
		st->env.cpus = arm->cpus;
	if (env->need_disk &&
	    setup_scratch_file(st->disk, sizeof(st->disk), env->scratch_dir, env->step.fio_mib + 16, env->stop)) {
		int e = errno;
		st->disk[0] = '\0';
		return kq_error(err, "scratch disk in %s: %s", env->scratch_dir, strerror(e));
	}
	if (arm->net != AB_NET_USER) {
		if (netns_create(&st->ns, err))
			return -1;
		st->env.netns = st->ns.name;
	}
	return 0;
}

static void arm_release(struct arm_state *st)
{
	arm_down(st);
	if (st->ns.created)
		netns_destroy(&st->ns);
	if (st->disk[0])
		unlink(st->disk);
	st->disk[0] = '\0';
}

/* ---- checks before anything runs ---- */

static int on_path(const char *name)
{
	if (strchr(name, '/'))
		return access(name, X_OK) == 0;
	const char *path = getenv("PATH");
	char *copy = kq_xstrdup(path ? path : "/usr/bin:/bin"), *save = NULL;
	int found = 0;
	for (char *dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		char *p = kq_xasprintf("%s/%s", dir, name);
		found = access(p, X_OK) == 0;
		free(p);
	}
	free(copy);
	return found;
}

static int check_arm(const struct ab_env *env, const struct ab_arm *arm, struct kq_err *err)
{
	char qemu_name[64];
	snprintf(qemu_name, sizeof(qemu_name), "qemu-system-%s", env->guest_arch);
	const char *qemu = arm->qemu ? arm->qemu : qemu_name;
	if (!on_path(qemu))
		return kq_error(err, "qemu=%s: %s", qemu,
				strchr(qemu, '/') ? "no such executable file" : "not found on PATH");
	const char *image = arm->image ? arm->image : env->image;
	char arch[32];
	struct kq_err ierr;
	if (guest_image_info(image, arch, sizeof(arch), NULL, 0, &ierr))
		return kq_error(err, "image=%s: %s", image, ierr.msg);
	if (strcmp(arch, env->guest_arch))
		return kq_error(err, "image=%s is an image for %s, not %s", image, arch, env->guest_arch);
	if (arm->cgroup) {
		char *procs = kq_xasprintf("%s/cgroup.procs", arm->cgroup);
		int ok = access(procs, W_OK) == 0;
		free(procs);
		if (!ok)
			return kq_error(err, "cgroup=%s: no writable cgroup.procs there (is it a cgroup directory?)",
					arm->cgroup);
	}
	if (arm->net != AB_NET_USER && (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK)))
		return kq_error(err, "net=%s needs root and /dev/net/tun", arm->net == AB_NET_TAP ? "tap" : "vhost");
	if (arm->net == AB_NET_VHOST && access("/dev/vhost-net", R_OK | W_OK))
		return kq_error(err, "net=vhost: no /dev/vhost-net here (modprobe vhost_net)");
	return 0;
}

static long arm_mem_kb(const struct ab_env *env, const struct ab_arm *arm)
{
	return (long)(arm->mem_mb ? arm->mem_mb : env->mem_mb) * 1024;
}

/* Huge pages: guest RAM a whole number of pages, and that many free
 * besides those of the arms before it on the same size (the arms' guests
 * are up at the same time).  QEMU alone would only say it cannot allocate. */
static int check_hugepages(const struct ab_env *env, const struct ab_experiment *x, size_t a, struct kq_err *err)
{
	const struct ab_arm *arm = &x->arms[a];
	long kb = arm->hugepage_kb;
	if (!kb)
		return 0;
	char size[16], why[600];
	memory_size_text(kb, size, sizeof(size));
	/* First whether the kernel has the size at all (zero pages needed). */
	if (!memory_hugepages_free("/", kb, 0, why, sizeof(why)))
		return kq_error(err, "hugepages=%s: %s", size, why);
	if (arm_mem_kb(env, arm) % kb)
		return kq_error(err, "hugepages=%s: the guest's %ld MiB are not a whole number of %s pages", size,
				arm_mem_kb(env, arm) / 1024, size);
	long need = 0;
	int others = 0;
	for (size_t k = 0; k <= a; k++)
		if (x->arms[k].hugepage_kb == kb) {
			need += arm_mem_kb(env, &x->arms[k]) / kb;
			others += k < a;
		}
	if (!memory_hugepages_free("/", kb, need, why, sizeof(why)))
		return kq_error(err, "hugepages=%s: %s%s", size, why,
				others ? " (for every arm on these pages: their guests are up at the same time)" : "");
	return 0;
}

int ab_check_arms(const struct ab_env *env, struct ab_experiment *x, struct kq_err *err)
{
	for (size_t a = 0; a < x->narms; a++) {
		struct ab_arm *arm = &x->arms[a];
		struct kq_err aerr;
		int rc = check_arm(env, arm, &aerr);
		if (!rc)
			rc = check_hugepages(env, x, a, &aerr);
		if (!rc) {
			/* QEMU itself: the arm's whole command line, started paused. */
			struct arm_state st;
			memset(&st, 0, sizeof(st));
			rc = arm_prepare(env, arm, &st, &aerr);
			if (!rc) {
				struct guest_config cfg;
				config_for(env, arm, &st, &cfg);
				rc = guest_check(&cfg, env->boot_timeout_ms, &aerr);
			}
			arm_release(&st);
		}
		if (rc)
			return kq_error(err, "arm %s (spec '%s'): %s", arm->name, arm->spec ? arm->spec : "default",
					aerr.msg);
	}
	return 0;
}

/* ---- samples ---- */

struct metric_id {
	char workload[40], metric[48], unit[16];
	int higher_is_better;
};

struct sample {
	int arm, pass, round;
	size_t metric;
	double value;
};

struct session {
	const struct ab_env *env;
	struct ab_experiment *x;
	struct arm_state *st;
	struct metric_id *metrics;
	size_t nmetrics;
	struct sample *samples;
	size_t nsamples, cap;
	uint64_t start_ns;
	int store_bad;           /* the store refused a write: the experiment stops */
};

/* A result the store does not take stops the experiment, as it stops kvmqual
 * run (issue 13 finding 3): the error was printed and the rounds went on,
 * so the session ended 'complete' with samples missing, exit 0.  The first
 * failure is the reason. */
static void store_failed(struct session *s, const struct kq_err *e)
{
	if (s->store_bad)
		return;
	s->store_bad = 1;
	s->x->status = AB_STORE_FAILED;
	snprintf(s->x->reason, sizeof(s->x->reason), "results not stored: %s", e->msg);
}

/* Whether the rounds must end: a signal, or the store. */
static int halted(const struct session *s)
{
	return *s->env->stop || s->store_bad;
}

static size_t metric_index(struct session *s, const char *workload, const char *metric, const char *unit, int higher)
{
	for (size_t i = 0; i < s->nmetrics; i++)
		if (!strcmp(s->metrics[i].workload, workload) && !strcmp(s->metrics[i].metric, metric))
			return i;
	s->metrics = kq_xrealloc(s->metrics, (s->nmetrics + 1) * sizeof(*s->metrics));
	struct metric_id *m = &s->metrics[s->nmetrics];
	snprintf(m->workload, sizeof(m->workload), "%s", workload);
	snprintf(m->metric, sizeof(m->metric), "%s", metric);
	snprintf(m->unit, sizeof(m->unit), "%s", unit);
	m->higher_is_better = higher;
	return s->nmetrics++;
}

static void add_sample(struct session *s, int arm, int pass, int round, const char *workload, const char *metric,
		       const char *unit, int higher, double value, const char *flags, const char *conditions)
{
	if (s->store_bad)
		return;
	struct store_ab_sample row = { .arm = arm, .pass = pass, .round = round, .workload = workload,
				       .metric = metric, .unit = unit, .higher_is_better = higher, .value = value,
				       .flags = flags, .conditions = conditions };
	struct kq_err err;
	if (store_ab_add_sample(s->env->store, s->x->id, &row, &err)) {
		store_failed(s, &err);
		return;
	}
	if (s->nsamples == s->cap)
		s->samples = kq_xrealloc(s->samples, (s->cap = s->cap ? s->cap * 2 : 256) * sizeof(*s->samples));
	s->samples[s->nsamples++] = (struct sample){ arm, pass, round, metric_index(s, workload, metric, unit, higher),
						     value };
}

/* The pairs (arm 0's value, arm's value) of a metric in passes from..to,
 * by pass and round. */
static size_t pairs_of(const struct session *s, size_t metric, int from, int to, int arm, double **ref, double **val)
{
	int max_round = -1;
	for (size_t i = 0; i < s->nsamples; i++)
		if (s->samples[i].pass >= from && s->samples[i].pass <= to && s->samples[i].metric == metric &&
		    s->samples[i].round > max_round)
			max_round = s->samples[i].round;
	size_t n = 0, slots = (size_t)(max_round + 1) * (size_t)(to - from + 1);
	*ref = kq_xcalloc(slots + 1, sizeof(double));
	*val = kq_xcalloc(slots + 1, sizeof(double));
	for (int pass = from; pass <= to; pass++)
		for (int r = 0; r <= max_round; r++) {
			double a = NAN, b = NAN;
			for (size_t i = 0; i < s->nsamples; i++) {
				const struct sample *x = &s->samples[i];
				if (x->pass != pass || x->metric != metric || x->round != r)
					continue;
				if (x->arm == 0)
					a = x->value;
				else if (x->arm == arm)
					b = x->value;
			}
			if (!isnan(a) && !isnan(b)) {
				(*ref)[n] = a;
				(*val)[n] = b;
				n++;
			}
		}
	return n;
}

static void decide(const struct session *s, size_t metric, int from, int to, int arm, struct ab_verdict *v)
{
	double *ref, *val;
	size_t n = pairs_of(s, metric, from, to, arm, &ref, &val);
	ab_decide(ref, val, n, s->metrics[metric].higher_is_better, &s->env->rule, v);
	free(ref);
	free(val);
}

/* ---- rounds ---- */

static void progress(const struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(const struct session *s, const char *fmt, ...)
{
	if (s->env->quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	char line[400];
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	double t = (double)(kq_now_ns() - s->start_ns) / 1e9;
	fprintf(stderr, "%s[%s %4.0f s] %s%s", s->env->tty ? "\r\033[K" : "", s->x->setting, t, line,
		s->env->tty ? "" : "\n");
}

static void arm_failed(struct session *s, int a, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void arm_failed(struct session *s, int a, const char *fmt, ...)
{
	struct ab_arm *arm = &s->x->arms[a];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(arm->why, sizeof(arm->why), fmt, ap);
	va_end(ap);
	arm->failed = 1;
	if (s->x->status != AB_STORE_FAILED)
		s->x->status = AB_FAILED_ARM;
	snprintf(s->x->reason + strlen(s->x->reason), sizeof(s->x->reason) - strlen(s->x->reason), "%s%s failed: %s",
		 s->x->reason[0] ? "; " : "", arm->name, arm->why);
	struct store_ab_arm row = { .arm = a, .name = arm->name, .spec = arm->spec, .fragment = arm->fragment,
				    .status = "failed", .reason = arm->why, .vcpus = arm->vcpus[0] ? arm->vcpus : NULL };
	struct kq_err err;
	if (!s->store_bad && store_ab_put_arm(s->env->store, s->x->id, &row, &err))
		store_failed(s, &err);
	if (!s->env->quiet)
		fprintf(stderr, "%s%s failed: %s\n", s->env->tty ? "\r\033[K" : "", arm->name, arm->why);
}

/* Huge pages verified, not assumed: QEMU's smaps must show guest RAM on
 * pages of the arm's size.  0, or -1 with why. */
static int check_pages(struct ab_arm *arm, const struct guest *g, char *why, size_t size)
{
	struct vmm_memory m;
	struct kq_err err;
	if (vmm_memory_read(g->pid, g->mem_mb, &m, &err)) {
		snprintf(why, size, "%s", err.msg);
		return -1;
	}
	arm->page_kb_seen = m.guest_page_kb;
	if (m.guest_page_kb != arm->hugepage_kb) {
		snprintf(why, size, "guest RAM is on %ld KiB pages in QEMU's smaps, not the %ld KiB huge pages asked for",
			 m.guest_page_kb, arm->hugepage_kb);
		return -1;
	}
	return 0;
}

/* One round of arm a: its guest (booted afresh when due), each step once. */
static int one_round(struct session *s, int a, int pass, int round, const struct ab_plan *plan)
{
	const struct ab_env *env = s->env;
	struct ab_arm *arm = &s->x->arms[a];
	struct arm_state *st = &s->st[a];
	if (!st->up || (env->boot_every > 0 && st->rounds_in_instance >= env->boot_every)) {
		arm_down(st);
		progress(s, "pass %d, round %d: %s boots", pass + 1, round + 1, arm->name);
		struct guest_config cfg;
		config_for(env, arm, st, &cfg);
		struct kq_err err;
		if (guest_boot(&cfg, &st->g, env->boot_timeout_ms, &err)) {
			arm_failed(s, a, "the guest did not boot (pass %d, round %d): %s", pass + 1, round + 1, err.msg);
			return -1;
		}
		st->up = 1;
		vcpus_text(&st->g, arm->vcpus, sizeof(arm->vcpus));
		char why[400];
		if (arm->hugepage_kb && check_pages(arm, &st->g, why, sizeof(why))) {
			arm_failed(s, a, "pass %d, round %d: %s", pass + 1, round + 1, why);
			return -1;
		}
		if (plan->boot)
			add_sample(s, a, pass, round, "boot", "total_ms", "ms", 0,
				   (double)(st->g.ready.host_ns - st->g.exec_ns) / 1e6, NULL, NULL);
	}
	for (size_t i = 0; i < plan->nsteps && !halted(s); i++) {
		const struct step *step = plan->steps[i];
		progress(s, "pass %d, round %d: %s %s", pass + 1, round + 1, arm->name, step->label);
		struct step_result r;
		char why[700];
		if (step_exec(&st->env, &st->g, arm->name, step, &r, why, sizeof(why))) {
			arm_failed(s, a, "pass %d, round %d: %s", pass + 1, round + 1, why);
			return -1;
		}
		/* A step's samples are stored together or not at all. */
		struct kq_err err;
		size_t before = s->nsamples;
		if (store_batch_begin(env->store, &err))
			store_failed(s, &err);
		for (size_t k = 0; k < r.count; k++)
			add_sample(s, a, pass, round, step->label, r.m[k].metric, r.m[k].unit, r.m[k].higher_is_better,
				   r.m[k].value, r.throttled ? "throttled" : NULL, r.conditions);
		if (s->store_bad)
			store_batch_rollback(env->store);
		else if (store_batch_commit(env->store, &err)) {
			store_batch_rollback(env->store);
			store_failed(s, &err);
		}
		if (s->store_bad)
			s->nsamples = before;
		step_result_free(&r);
	}
	st->rounds_in_instance++;
	return s->store_bad ? -1 : 0;
}

/* Whether every metric of interest of every arm of the pass has an
 * interval of the change at most target wide (half-width). */
static int precise_enough(const struct session *s, int pass, const int *arms, size_t narms, const char *interest)
{
	for (size_t m = 0; m < s->nmetrics; m++) {
		if (interest && !interest[m])
			continue;
		for (size_t k = 0; k < narms; k++) {
			if (arms[k] == 0)
				continue;
			struct ab_verdict v;
			decide(s, m, pass, pass, arms[k], &v);
			if (isnan(v.ci_lo) || (v.ci_hi - v.ci_lo) / 2 > s->env->ci_target_pct)
				return 0;
		}
	}
	return 1;
}

/* A pass: cycles of rounds over arms[] (forward, then back) until its end.
 * fixed > 0: that many rounds; else adaptive, at least min_rounds, until
 * deadline.  Returns the rounds each arm got, or -1 when an arm failed. */
static int run_pass(struct session *s, int pass, const int *arms, size_t narms, const struct ab_plan *plan, int fixed,
		    int min_rounds, uint64_t deadline, const char *interest)
{
	const struct ab_env *env = s->env;
	int round = 0;
	for (;;) {
		for (size_t k = 0; k < narms && !halted(s); k++) {
			int a = arms[round % 2 ? narms - 1 - k : k];
			if (one_round(s, a, pass, round, plan))
				return -1;
		}
		if (halted(s))
			return round;
		round++;
		if (fixed > 0) {
			if (round >= fixed)
				break;
			continue;
		}
		/* Adaptive: whole A B B A blocks, at least min_rounds. */
		if (round < min_rounds || round % 2)
			continue;
		if (round >= env->max_rounds || kq_now_ns() >= deadline ||
		    precise_enough(s, pass, arms, narms, interest))
			break;
	}
	return round;
}

/* ---- the experiment ---- */

static char *rule_json(const struct ab_env *env)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddNumberToObject(r, "alpha", env->rule.alpha);
	cJSON_AddNumberToObject(r, "confidence", env->rule.conf);
	cJSON_AddNumberToObject(r, "threshold_pct", env->rule.threshold_pct);
	cJSON_AddStringToObject(r, "test", env->rule.paired ? "wilcoxon-signed-rank" : "mann-whitney");
	cJSON_AddNumberToObject(r, "reruns", env->rule.reruns);
	cJSON_AddBoolToObject(r, "pooled", env->rule.pool);
	cJSON_AddNumberToObject(r, "boot_every", env->boot_every);
	cJSON_AddBoolToObject(r, "isolated", env->isolate_cgroup != NULL);
	char *text = cJSON_PrintUnformatted(r);
	cJSON_Delete(r);
	return text;
}

static void store_arm(struct session *s, int a)
{
	const struct ab_arm *arm = &s->x->arms[a];
	struct store_ab_arm row = { .arm = a, .name = arm->name, .spec = arm->spec, .fragment = arm->fragment,
				    .status = arm->failed ? "failed" : "ok", .reason = arm->failed ? arm->why : NULL,
				    .vcpus = arm->vcpus[0] ? arm->vcpus : NULL };
	struct kq_err err;
	if (!s->store_bad && store_ab_put_arm(s->env->store, s->x->id, &row, &err))
		store_failed(s, &err);
}

static void describe_verdict(const struct ab_verdict *v, char *out, size_t size)
{
	snprintf(out, size, "%s, %+.1f %% [%+.1f, %+.1f], p = %.2g", ab_decision_name(v->decision), v->change_pct,
		 v->ci_lo, v->ci_hi, v->p);
}

int ab_run(const struct ab_env *env, struct ab_experiment *x, struct kq_err *err)
{
	struct session s = { .env = env, .x = x, .start_ns = kq_now_ns() };
	char *rj = rule_json(env);
	x->id = store_ab_experiment_begin(env->store, env->session_id, x->setting, x->title, rj, err);
	free(rj);
	if (x->id < 0) {
		x->status = AB_STORE_FAILED;
		snprintf(x->reason, sizeof(x->reason), "results not stored: %s", err->msg);
		return -1;
	}
	x->status = AB_COMPLETE;
	x->reason[0] = '\0';
	x->recommended = -1;
	s.st = kq_xcalloc(x->narms, sizeof(*s.st));
	for (size_t a = 0; a < x->narms; a++) {
		store_arm(&s, (int)a);
		struct kq_err perr;
		if (arm_prepare(env, &x->arms[a], &s.st[a], &perr))
			arm_failed(&s, (int)a, "%s", perr.msg);
	}
	int *arms = kq_xcalloc(x->narms, sizeof(*arms));
	for (size_t a = 0; a < x->narms; a++)
		arms[a] = (int)a;
	/* The first pass takes what the budget leaves the re-runs. */
	uint64_t budget_ns = (uint64_t)(env->budget_s * 1e9);
	uint64_t first_deadline = s.start_ns + (env->rule.reruns ? budget_ns / 10 * 6 : budget_ns);
	int rounds = x->status == AB_COMPLETE
		     ? run_pass(&s, 0, arms, x->narms, &x->plan, env->rounds, env->min_rounds, first_deadline, NULL)
		     : -1;
	x->rounds = rounds < 0 ? 0 : rounds;
	for (size_t a = 0; a < x->narms; a++)
		arm_down(&s.st[a]);

	/* The first pass decided. */
	for (size_t a = 1; a < x->narms && x->status == AB_COMPLETE && !*env->stop; a++)
		for (size_t m = 0; m < s.nmetrics; m++) {
			x->results = kq_xrealloc(x->results, (x->nresults + 1) * sizeof(*x->results));
			struct ab_result *r = &x->results[x->nresults++];
			memset(r, 0, sizeof(*r));
			r->arm = a;
			snprintf(r->workload, sizeof(r->workload), "%s", s.metrics[m].workload);
			snprintf(r->metric, sizeof(r->metric), "%s", s.metrics[m].metric);
			snprintf(r->unit, sizeof(r->unit), "%s", s.metrics[m].unit);
			r->higher_is_better = s.metrics[m].higher_is_better;
			decide(&s, m, 0, 0, (int)a, &r->first);
			r->final = r->first;
			r->passes = 1;
		}

	/* The re-runs: only the metrics that changed, only their arms and the
	 * reference, only the steps that measure them.  A fixed count: as many
	 * rounds as the first pass had.  Adaptive: at least as many, then the
	 * first pass's rule (precise enough, --max-rounds, the budget's end),
	 * so that a re-run on a host that got noisier has the first pass's
	 * power, not less (a fixed re-run of the first pass's 16 rounds, at a
	 * load of 5 to 8, called a -7.7 % change "no change", p above 0.01,
	 * where the first pass had found the injected slowdown). */
	int rerun_min = x->rounds + x->rounds % 2;
	for (int pass = 1; pass <= env->rule.reruns && x->status == AB_COMPLETE && !*env->stop; pass++) {
		char *interest = kq_xcalloc(s.nmetrics + 1, 1);
		int *in_pass = kq_xcalloc(x->narms, sizeof(*in_pass));
		size_t n_in = 0, pending = 0;
		struct ab_plan plan = { .nsteps = 0, .boot = 0 };
		in_pass[n_in++] = 0;
		for (size_t i = 0; i < x->nresults; i++) {
			struct ab_result *r = &x->results[i];
			if (r->passes != pass || (r->final.decision != AB_WORSE && r->final.decision != AB_BETTER))
				continue;
			pending++;
			size_t m = metric_index(&s, r->workload, r->metric, r->unit, r->higher_is_better);
			interest[m] = 1;
			int seen = 0;
			for (size_t k = 0; k < n_in; k++)
				seen |= in_pass[k] == (int)r->arm;
			if (!seen)
				in_pass[n_in++] = (int)r->arm;
			if (!strcmp(r->workload, "boot")) {
				plan.boot = 1;
			} else {
				for (size_t k = 0; k < x->plan.nsteps; k++)
					if (!strcmp(x->plan.steps[k]->label, r->workload)) {
						int have = 0;
						for (size_t j = 0; j < plan.nsteps; j++)
							have |= plan.steps[j] == x->plan.steps[k];
						if (!have)
							plan.steps[plan.nsteps++] = x->plan.steps[k];
					}
			}
		}
		if (pending) {
			progress(&s, "re-run %d: %zu metric%s that changed", pass, pending, pending == 1 ? "" : "s");
			int got = env->rounds > 0
					  ? run_pass(&s, pass, in_pass, n_in, &plan, x->rounds, 0, 0, interest)
					  : run_pass(&s, pass, in_pass, n_in, &plan, 0, rerun_min, s.start_ns + budget_ns,
						     interest);
			for (size_t a = 0; a < x->narms; a++)
				arm_down(&s.st[a]);
			for (size_t i = 0; got >= 0 && i < x->nresults; i++) {
				struct ab_result *r = &x->results[i];
				if (r->passes != pass || (r->final.decision != AB_WORSE && r->final.decision != AB_BETTER))
					continue;
				size_t m = metric_index(&s, r->workload, r->metric, r->unit, r->higher_is_better);
				/* Pooled: on every pass's pairs so far; else on the
				 * re-run's alone, which must agree. */
				struct ab_verdict v;
				decide(&s, m, env->rule.pool ? 0 : pass, pass, (int)r->arm, &v);
				r->passes = pass + 1;
				char first[160], again[160];
				describe_verdict(&r->first, first, sizeof(first));
				describe_verdict(&v, again, sizeof(again));
				if (v.decision == r->first.decision) {
					r->final = v;
					snprintf(r->final.why, sizeof(r->final.why), "%s re-run %d (first pass: %s)",
						 env->rule.pool ? "still so with" : "found again in", pass, first);
				} else {
					r->final = v;
					r->final.decision = AB_SAME;
					snprintf(r->final.why, sizeof(r->final.why), "not confirmed: first pass %s; %s %d %s",
						 first, env->rule.pool ? "with re-run" : "re-run", pass, again);
				}
			}
		}
		free(interest);
		free(in_pass);
		if (!pending)
			break;
	}
	if (*env->stop && x->status == AB_COMPLETE) {
		x->status = AB_INTERRUPTED;
		snprintf(x->reason, sizeof(x->reason), "interrupted by signal %d", (int)*env->stop);
	}
	/* A failed arm: its results say so, the reference's failure voids all. */
	if (x->status == AB_FAILED_ARM) {
		for (size_t i = 0; i < x->nresults; i++) {
			struct ab_result *r = &x->results[i];
			if (x->arms[0].failed || x->arms[r->arm].failed) {
				r->final.decision = AB_FAILED;
				snprintf(r->final.why, sizeof(r->final.why), "%s failed",
					 x->arms[0].failed ? x->arms[0].name : x->arms[r->arm].name);
			}
		}
	}
	for (size_t a = 0; a < x->narms; a++) {
		store_arm(&s, (int)a);
		arm_release(&s.st[a]);
	}
	struct kq_err serr;
	if (!s.store_bad && store_batch_begin(env->store, &serr))
		store_failed(&s, &serr);
	for (size_t i = 0; i < x->nresults && !s.store_bad; i++) {
		const struct ab_result *r = &x->results[i];
		struct store_ab_result row = {
			.arm = (int)r->arm, .workload = r->workload, .metric = r->metric, .unit = r->unit,
			.higher_is_better = r->higher_is_better, .rounds = (int)r->final.n,
			.ref_median = r->final.ref_median, .arm_median = r->final.arm_median,
			.change_pct = r->final.change_pct, .ci_low_pct = r->final.ci_lo, .ci_high_pct = r->final.ci_hi,
			.ci_level = r->final.ci_level, .p = r->final.p, .threshold_pct = env->rule.threshold_pct,
			.decision = ab_decision_name(r->final.decision), .passes = r->passes,
			.first_change_pct = r->first.change_pct, .first_p = r->first.p,
			.first_decision = ab_decision_name(r->first.decision), .why = r->final.why[0] ? r->final.why : NULL,
		};
		if (store_ab_add_result(env->store, x->id, &row, &serr))
			store_failed(&s, &serr);
	}
	if (s.store_bad)
		store_batch_rollback(env->store);
	else if (store_batch_commit(env->store, &serr))
		store_failed(&s, &serr);
	x->wall_s = (double)(kq_now_ns() - s.start_ns) / 1e9;
	if (env->tty && !env->quiet)
		fprintf(stderr, "\r\033[K");
	free(arms);
	free(s.st);
	free(s.metrics);
	free(s.samples);
	if (s.store_bad) {
		/* What the store does not hold is not reported either. */
		x->nresults = 0;
		x->recommended = -1;
		return kq_error(err, "%s", x->reason);
	}
	return 0;
}

int ab_finish_experiment(const struct ab_env *env, const struct ab_experiment *x, struct kq_err *err)
{
	static const char *const names[] = { [AB_COMPLETE] = "complete", [AB_FAILED_ARM] = "failed",
					     [AB_INTERRUPTED] = "interrupted", [AB_SKIPPED] = "skipped",
					     [AB_STORE_FAILED] = "failed" };
	struct store_ab_experiment_end e = {
		.status = names[x->status], .reason = x->reason[0] ? x->reason : NULL, .rounds = x->rounds,
		.recommended_arm = x->recommended,
		.recommendation = x->recommended >= 0 ? x->arms[x->recommended].fragment : NULL,
		.confidence = x->confidence[0] ? x->confidence : NULL, .because = x->because[0] ? x->because : NULL,
	};
	return store_ab_experiment_finish(env->store, x->id, &e, err);
}

int ab_record_skipped(const struct ab_env *env, struct ab_experiment *x, struct kq_err *err)
{
	x->id = store_ab_experiment_begin(env->store, env->session_id, x->setting, x->title, NULL, err);
	if (x->id < 0)
		return -1;
	x->status = AB_SKIPPED;
	x->recommended = -1;
	return ab_finish_experiment(env, x, err);
}

void ab_experiment_free(struct ab_experiment *x)
{
	for (size_t a = 0; a < x->narms; a++)
		ab_arm_free(&x->arms[a]);
	free(x->arms);
	free(x->results);
	memset(x, 0, sizeof(*x));
}
