/* kvmqual run: the plan and the sampling.  Each step of the plan is a
 * workload (workloads/) and its variant; it runs natively or in the guest
 * through the agent, its output is parsed by the workload's parser and
 * every metric is stored.  Boots are measured the same way, and
 * --until-stable takes more samples until each metric's median settles. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/stats.h"
#include "conditions.h"
#include "guestvuln.h"
#include "measure.h"
#include "netns.h"
#include "run.h"
#include "step.h"

/* quick: two warm boots and the cold one, as many boots as the three warm
 * ones it had before the cold boot came, and no extra steps: what the cost
 * measurements add to a quick run's wall time is kept small (issue 17's
 * 20 %, bench/measure.sh). */
const struct profile run_profiles[] = {
	{ "quick", 2, 1, 2, 48, 2000000, 3, 512, 0, 0, 0 },
	{ "standard", 5, 3, 10, 512, 8000000, 10, 1024, 1, 1, 1 },
	{ "full", 10, 5, 30, 1024, 10000000, 20, 1536, 1, 1, 1 },
};
const size_t run_profile_count = KQ_ARRAY_SIZE(run_profiles);

/* QEMU's memory is read first, right after boot (Firecracker's moment);
 * the balloon comes last in the workload guest, since it leaves the
 * guest's memory rearranged. */
const struct step run_plan[] = {
	{ "vmm-memory", "vmm-memory", 0, 0, STEP_VMM_MEMORY, 0, 0 },
	{ "sysbench-cpu", "sysbench-cpu", 0, 0, STEP_WORKLOAD, 1, 0 },
	{ "sysbench-cpu", "sysbench-cpu-1t", 1, 0, STEP_WORKLOAD, 0, 0 },
	{ "stress-ng-cpu", "stress-ng-cpu", 0, 0, STEP_WORKLOAD, 0, 1 },
	{ "stream", "stream", 0, 0, STEP_WORKLOAD, 1, 0 },
	{ "fio-seqread", "fio-seqread", 0, 0, STEP_WORKLOAD, 0, 0 },
	{ "fio-seqwrite", "fio-seqwrite", 0, 0, STEP_WORKLOAD, 0, 0 },
	{ "fio-randread", "fio-randread", 0, 0, STEP_WORKLOAD, 0, 0 },
	{ "iperf3-h2g", "iperf3-h2g", 0, 0, STEP_WORKLOAD, 0, 0 },
	{ "iperf3-g2h", "iperf3-g2h", 0, 0, STEP_WORKLOAD, 0, 0 },
	{ "sockperf-rr", "sockperf-rr", 0, 0, STEP_WORKLOAD, 0, 0 },
	{ "balloon", "balloon", 0, 0, STEP_BALLOON, 0, 0 },
	{ "iperf3-h2g", "iperf3-h2g-tap", 0, 1, STEP_WORKLOAD, 0, 0 },
	{ "iperf3-g2h", "iperf3-g2h-tap", 0, 1, STEP_WORKLOAD, 0, 0 },
	{ "sockperf-rr", "sockperf-rr-tap", 0, 1, STEP_WORKLOAD, 0, 0 },
};
const size_t run_plan_count = KQ_ARRAY_SIZE(run_plan);

static void collect(struct run_ctx *c, const char *accel, const char *workload, const char *metric,
		    const char *unit, int higher, double value)
{
	if (c->ncol == c->capcol)
		c->col = kq_xrealloc(c->col, (c->capcol = c->capcol ? c->capcol * 2 : 64) * sizeof(*c->col));
	struct collected *k = &c->col[c->ncol++];
	snprintf(k->accel, sizeof(k->accel), "%s", accel);
	snprintf(k->workload, sizeof(k->workload), "%s", workload);
	snprintf(k->metric, sizeof(k->metric), "%s", metric);
	snprintf(k->unit, sizeof(k->unit), "%s", unit);
	k->higher_is_better = higher;
	k->value = value;
}

/* ---- --until-stable ---- */

#define STABLE_CONF 0.95

/* The half-width of the 95 % interval of the median, in percent of the
 * median; INFINITY when the samples are too few for such an interval (6 at
 * least). */
static double ci_half_width_pct(const double *v, size_t n)
{
	double lo, hi, level;
	if (!n || stats_median_ci(v, n, STABLE_CONF, &lo, &hi, &level))
		return INFINITY;
	double med = stats_median(v, n);
	if (!(med != 0))
		return INFINITY;
	return (hi - lo) / 2 / fabs(med) * 100;
}

/* Calls fn for each metric (accel, workload) has samples of, with them,
 * looking at the samples collected since index `from` (where the step
 * began: a step's samples are collected one after the other). */
static void for_each_metric(const struct run_ctx *c, size_t from, const char *accel, const char *workload,
			    void (*fn)(const struct run_ctx *c, const char *metric, const double *v, size_t n, void *ctx),
			    void *ctx)
{
	double *v = kq_xmalloc((c->ncol + 1) * sizeof(*v));
	for (size_t i = from; i < c->ncol; i++) {
		const struct collected *k = &c->col[i];
		if (strcmp(k->accel, accel) || strcmp(k->workload, workload))
			continue;
		int seen = 0;
		for (size_t j = from; j < i && !seen; j++)
			seen = !strcmp(c->col[j].accel, accel) && !strcmp(c->col[j].workload, workload) &&
			       !strcmp(c->col[j].metric, k->metric);
		if (seen)
			continue;
		size_t n = 0;
		for (size_t j = i; j < c->ncol; j++)
			if (!strcmp(c->col[j].accel, accel) && !strcmp(c->col[j].workload, workload) &&
			    !strcmp(c->col[j].metric, k->metric))
				v[n++] = c->col[j].value;
		fn(c, k->metric, v, n, ctx);
	}
	free(v);
}

static void worst_half_width(const struct run_ctx *c, const char *metric, const double *v, size_t n, void *ctx)
{
	(void)c;
	(void)metric;
	double *worst = ctx;
	*worst = fmax(*worst, ci_half_width_pct(v, n));
}

/* The end of a step's sampling: until n samples (the profile's), then, with
 * --until-stable, until every metric settled, the cap, or the step's share
 * of the budget. */
static int sampling_done(struct run_ctx *c, int done, int minimum, uint64_t step_deadline, double worst_pct)
{
	if (done < minimum)
		return 0;
	if (!c->until_stable || done >= c->max_iterations)
		return 1;
	if (worst_pct <= c->stable_pct)
		return 1;
	/* Unsettled, and the step's share of the budget is gone: the budget,
	 * not the cap or the data, ended it (stability.budget_spent). */
	if (kq_now_ns() >= step_deadline) {
		c->stable_budget_hit = 1;
		return 1;
	}
	return 0;
}

/* A step's share of what is left of the budget. */
static uint64_t step_deadline(const struct run_ctx *c)
{
	uint64_t now = kq_now_ns();
	if (!c->until_stable || now >= c->stable_deadline_ns)
		return now;
	int left = c->steps_total - c->steps_done;
	return now + (c->stable_deadline_ns - now) / (uint64_t)(left > 1 ? left : 1);
}

static void record_stability(struct run_ctx *c, const char *accel, const char *workload, const char *metric,
			     const double *v, size_t n)
{
	c->stab = kq_xrealloc(c->stab, (c->nstab + 1) * sizeof(*c->stab));
	struct stability *st = &c->stab[c->nstab++];
	snprintf(st->accel, sizeof(st->accel), "%s", accel);
	snprintf(st->workload, sizeof(st->workload), "%s", workload);
	snprintf(st->metric, sizeof(st->metric), "%s", metric);
	st->samples = (int)n;
	st->half_width_pct = ci_half_width_pct(v, n);
	st->settled = st->half_width_pct <= c->stable_pct;
}

struct stability_ctx {
	struct run_ctx *c;
	const char *accel, *workload;
};

static void record_one(const struct run_ctx *c, const char *metric, const double *v, size_t n, void *ctx)
{
	(void)c;
	struct stability_ctx *sc = ctx;
	record_stability(sc->c, sc->accel, sc->workload, metric, v, n);
}

void run_progress(struct run_ctx *c, const char *fmt, ...)
{
	if (c->json)
		return;
	va_list ap;
	va_start(ap, fmt);
	char line[512];
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* Time left, from the pace so far (steps are of similar length). */
	char eta[32] = "";
	double elapsed = (double)(kq_now_ns() - c->start_ns) / 1e9;
	if (c->steps_done > 0 && c->steps_done < c->steps_total)
		snprintf(eta, sizeof(eta), ", ~%.0f s left",
			 elapsed / c->steps_done * (c->steps_total - c->steps_done));
	if (c->tty)
		fprintf(stderr, "\r\033[K[%d/%d%s] %s", c->steps_done, c->steps_total, eta, line);
	else
		fprintf(stderr, "[%d/%d%s] %s\n", c->steps_done, c->steps_total, eta, line);
}

void run_store_failed(struct run_ctx *c, const struct kq_err *err)
{
	if (run_stop_requested == RUN_STOP_STORE)
		return; /* the first failure is the reason */
	run_stop_requested = RUN_STOP_STORE;
	run_note_failure(c, "results not stored: %s", err->msg);
}

void run_note_failure(struct run_ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char line[1024];
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	kq_buf_printf(&c->failures, "%s%s", c->failures.len ? "; " : "", line);
	if (!c->json)
		fprintf(stderr, "%s%s\n", c->tty ? "\r\033[K" : "", line);
}

void run_note_skip(struct run_ctx *c, const char *what, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char why[1024];
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	kq_buf_printf(&c->skipped, "%s%s: %s", c->skipped.len ? "; " : "", what, why);
	struct store_verdict v = { .target = what, .metric = what, .value = STORE_UNKNOWN, .threshold = 0,
				   .op = ">=", .status = "skip", .detail = why };
	struct kq_err err;
	if (run_stop_requested != RUN_STOP_STORE && store_add_verdict(c->store, c->run_id, &v, &err))
		run_store_failed(c, &err);
	if (!c->json)
		fprintf(stderr, "%sskipped: %s: %s\n", c->tty ? "\r\033[K" : "", what, why);
}

void run_store_sample(struct run_ctx *c, const char *accel, const char *workload, const char *metric,
		      const char *unit, int higher_is_better, double value, const char *flags, int iteration)
{
	struct store_sample sample = {
		.accel = accel, .workload = workload, .metric = metric, .unit = unit, .value = value,
		.iteration = iteration, .higher_is_better = higher_is_better, .flags = flags && *flags ? flags : NULL,
	};
	struct kq_err err;
	if (store_add_sample(c->store, c->run_id, &sample, &err)) {
		run_store_failed(c, &err);
		return;
	}
	collect(c, accel, workload, metric, unit, higher_is_better, value);
}

/* The measurements of runners/measure.c store through here. */
static void sink_sample(void *ctx, const char *accel, const char *workload, const char *metric, const char *unit,
			int higher_is_better, double value, const char *flags)
{
	run_store_sample(ctx, accel, workload, metric, unit, higher_is_better, value, flags, 1);
}

/* Runs one step once, in the guest (g) or natively (g == NULL), and stores
 * its metrics and what they cost.  Returns 0, or -1 when the step failed
 * (the reason is noted in the sample's absence and returned in why). */
int run_step(struct run_ctx *c, struct guest *g, const char *accel, const struct step *s, int iteration,
	     char *why, size_t why_size)
{
	struct step_env env = {
		.cpus = c->cpus, .duration_s = c->prof->duration_s, .fio_mib = c->prof->fio_mib,
		.stream_elements = c->prof->stream_elements, .stream_passes = c->prof->stream_passes,
		.native_target = c->native_target, .bin_dir = c->bin_dir, .netns = c->netns,
		.host_emulated = c->host_emulated, .vhost = c->vhost, .meter = &c->meter,
	};
	struct step_result r;
	if (step_exec(&env, g, accel, s, &r, why, why_size))
		return -1;
	char flags[64] = "";
	if (r.throttled)
		snprintf(flags, sizeof(flags), "throttled");
	if (!strncmp(s->workload, "fio", 3) && (g ? c->disk_fallback : 0))
		snprintf(flags + strlen(flags), sizeof(flags) - strlen(flags), "%sfallback", flags[0] ? "," : "");
	if (s->tap && !c->vhost)
		snprintf(flags + strlen(flags), sizeof(flags) - strlen(flags), "%sno-vhost", flags[0] ? "," : "");
	/* One step's samples are stored together or not at all; a step that
	 * could not be stored stops the run (run_store_failed). */
	struct kq_err serr;
	int stored = store_batch_begin(c->store, &serr) == 0;
	for (size_t i = 0; i < r.count && stored; i++) {
		const struct step_metric *m = &r.m[i];
		struct store_sample sample = {
			.accel = accel, .workload = s->label, .metric = m->metric, .unit = m->unit,
			.value = m->value, .iteration = iteration, .higher_is_better = m->higher_is_better,
			.flags = flags[0] ? flags : NULL, .conditions = r.conditions,
		};
		stored = store_add_sample(c->store, c->run_id, &sample, &serr) == 0;
	}
	/* The cost, beside the metrics: the sample's flags, and the energy
	 * sensor's on the energy metrics. */
	const struct cost_result *cost = &r.cost;
	for (size_t i = 0; i < cost->count && stored; i++) {
		char cflags[160];
		int energy_metric = !strncmp(cost->m[i].metric, "energy_", 7);
		snprintf(cflags, sizeof(cflags), "%s%s%s", flags, flags[0] && energy_metric && cost->flags[0] ? "," : "",
			 energy_metric ? cost->flags : "");
		struct store_sample sample = {
			.accel = accel, .workload = s->label, .metric = cost->m[i].metric, .unit = cost->m[i].unit,
			.value = cost->m[i].value, .iteration = iteration, .higher_is_better = 0,
			.flags = cflags[0] ? cflags : NULL, .conditions = r.conditions,
		};
		stored = store_add_sample(c->store, c->run_id, &sample, &serr) == 0;
	}
	if (stored)
		stored = store_batch_commit(c->store, &serr) == 0;
	else
		store_batch_rollback(c->store);
	if (!stored) {
		step_result_free(&r);
		run_store_failed(c, &serr);
		snprintf(why, why_size, "%s (%s): not stored", s->label, accel);
		return -1;
	}
	for (size_t i = 0; i < r.count; i++)
		collect(c, accel, s->label, r.m[i].metric, r.m[i].unit, r.m[i].higher_is_better, r.m[i].value);
	for (size_t i = 0; i < cost->count; i++)
		collect(c, accel, s->label, cost->m[i].metric, cost->m[i].unit, 0, cost->m[i].value);
	step_result_free(&r);
	return 0;
}

int run_step_wanted(const struct run_ctx *c, const struct step *s)
{
	if (s->tap && !c->use_tap)
		return 0;
	if (s->kind == STEP_BALLOON && !c->balloon)
		return 0;
	if (!c->only)
		return !s->extra || c->prof->extras;
	char *copy = kq_xstrdup(c->only);
	int found = 0;
	for (char *w = strtok(copy, ","); w && !found; w = strtok(NULL, ","))
		found = !strcmp(w, s->label) || !strcmp(w, s->workload);
	free(copy);
	return found;
}

/* QEMU's memory and the balloon: measured once in a guest, not sampled. */
static int run_measure_step(struct run_ctx *c, struct guest *g, const char *accel, const struct step *s)
{
	struct measure_sink sink = { sink_sample, c };
	char why[600];
	int rc;
	run_progress(c, "%s: %s", accel, s->label);
	if (s->kind == STEP_VMM_MEMORY) {
		rc = measure_vmm_memory(&sink, accel, s->label, g, 0, why, sizeof(why));
	} else {
		/* The guest touches an eighth of its memory, then gives half of
		 * it back (more can be more than it has free). */
		long mem = g->mem_mb;
		rc = measure_balloon(&sink, accel, g, mem / 8, mem / 2, (c->prof->duration_s * 6 + 120) * 1000, why,
				     sizeof(why));
	}
	if (rc)
		run_note_failure(c, "%s (%s): %s", s->label, accel, why);
	return rc;
}

int run_sample_step(struct run_ctx *c, struct guest *g, const char *accel, const struct step *s)
{
	if (s->kind != STEP_WORKLOAD)
		return run_measure_step(c, g, accel, s);
	uint64_t deadline = step_deadline(c);
	double worst = INFINITY;
	int done = 0, failed = 0;
	size_t from = c->ncol;
	while (!run_stop_requested && !sampling_done(c, done, c->prof->iterations, deadline, worst)) {
		int it = ++done;
		if (it > c->prof->iterations)
			run_progress(c, "%s: %s, sample %d (until stable: widest interval %s%.1f %%)", accel, s->label, it,
				     isinf(worst) ? "not yet " : "+-", isinf(worst) ? 0.0 : worst);
		else
			run_progress(c, "%s: %s, sample %d of %d", accel, s->label, it, c->prof->iterations);
		char why[600];
		if (run_step(c, g, accel, s, it, why, sizeof(why))) {
			if (run_stop_requested != RUN_STOP_STORE) /* that one is noted already */
				run_note_failure(c, "%s", why);
			failed = 1;
			break;
		}
		worst = 0;
		for_each_metric(c, from, accel, s->label, worst_half_width, &worst);
	}
	if (c->until_stable && done) {
		struct stability_ctx sc = { c, accel, s->label };
		for_each_metric(c, from, accel, s->label, record_one, &sc);
	}
	return failed ? -1 : 0;
}

int run_all_steps(struct run_ctx *c, struct guest *g, const char *accel, int tap)
{
	int failed = 0;
	for (size_t i = 0; i < run_plan_count && !run_stop_requested; i++) {
		const struct step *s = &run_plan[i];
		if (!run_step_wanted(c, s) || s->tap != tap || (!g && (s->tap || s->kind != STEP_WORKLOAD)))
			continue;
		failed += run_sample_step(c, g, accel, s) != 0;
		c->steps_done++;
	}
	return failed;
}

/* ---- the guest under one accelerator ---- */

void run_guest_config(const struct run_ctx *c, const char *accel, struct guest_config *cfg, int with_devices)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->arch = c->guest_arch;
	cfg->accel = accel;
	cfg->image_dir = c->image_dir;
	cfg->mem_mb = c->prof->guest_mem_mb;
	cfg->cpus = c->cpus;
	cfg->pin_cpus = c->pin_cpus;
	if (!strcmp(accel, "kvm"))
		cfg->gic = c->gic;
	if (with_devices) {
		cfg->disk = c->disk_path;
		cfg->disk_opts = c->disk_opts;
		cfg->net_user = 1;
		cfg->balloon = cfg->qmp = c->balloon;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double run_median(double *v, int n)
{
	if (n <= 0)
		return NAN;
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The guest's view of the CPU's vulnerabilities, once per accelerator, from
 * the first guest that booted.  Whatever the guest answers, the run goes
 * on: a view that cannot be read is stored as unknown with the reason. */
static void record_guest_vulns(struct run_ctx *c, const char *accel, struct guest *g)
{
	/* A busybox grep over twenty small files; on an emulated host (the
	 * ARM64 lab) everything in the guest is five times slower (step.c). */
	int timeout_ms = c->host_emulated ? 150000 : 30000;
	run_progress(c, "%s: the guest's view of the CPU's vulnerabilities", accel);
	struct guest_vulns *v = kq_xmalloc(sizeof(*v));
	guest_vulns_read(g, timeout_ms, v);
	guest_vulns_summary(v, c->guest_vulns[!strcmp(accel, "kvm")], sizeof(c->guest_vulns[0]));
	char *json = guest_vulns_json(v);
	struct store_guest_vulnerabilities row = { .accel = accel, .vulnerabilities = json,
						   .reason = v->known ? NULL : v->why };
	struct kq_err err;
	if (store_add_guest_vulnerabilities(c->store, c->run_id, &row, &err))
		run_store_failed(c, &err);
	free(json);
	free(v);
}

/* Boots the guest boot_runs times and stores each boot; returns the median
 * boot time in ms, or NAN when the guest did not get ready (why says it). */
static double measure_boots(struct run_ctx *c, const char *accel, int timeout_ms, char *why, size_t why_size)
{
	double totals[64];
	int n = 0;
	uint64_t deadline = step_deadline(c);
	for (int i = 1; n < 64 && !run_stop_requested &&
			!sampling_done(c, n, c->prof->boot_runs, deadline, ci_half_width_pct(totals, (size_t)n));
	     i++) {
		run_progress(c, "%s: boot %d of %d%s", accel, i, i > c->prof->boot_runs ? i : c->prof->boot_runs,
			 i > c->prof->boot_runs ? " (until stable)" : "");
		struct guest_config cfg;
		run_guest_config(c, accel, &cfg, 0);
		struct guest g;
		struct kq_err err;
		struct host_conditions before, after;
		conditions_sample("/", &before);
		if (guest_boot(&cfg, &g, timeout_ms, &err)) {
			snprintf(why, why_size, "%s", err.msg);
			return NAN;
		}
		conditions_sample("/", &after);
		double total = (double)(g.ready.host_ns - g.exec_ns) / 1e6;
		/* After the boot is timed: what the guest's kernel says of the
		 * CPU, from the first guest up under this accelerator. */
		if (n == 0)
			record_guest_vulns(c, accel, &g);
		struct store_boot_sample b = {
			.accel = accel, .iteration = i, .total_ms = total,
			.kernel_ms = g.ready.agent_start_s * 1e3,
			.userspace_ms = (g.ready.ready_s - g.ready.agent_start_s) * 1e3,
			.before_kernel_ms = total - g.ready.ready_s * 1e3,
			.flags = conditions_throttled(&before, &after) ? "throttled" : NULL,
		};
		guest_stop(&g);
		if (store_add_boot_sample(c->store, c->run_id, &b, &err)) {
			run_store_failed(c, &err);
			snprintf(why, why_size, "boot %d not stored", i);
			break;
		}
		totals[n++] = total;
	}
	if (c->until_stable && n)
		record_stability(c, accel, "boot", "total_ms", totals, (size_t)n);
	c->steps_done++;
	return run_median(totals, n);
}

/* Cold: the first boot after the page cache is dropped.  It comes last,
 * after the warm boots (a guest that cannot boot at all is found by their
 * short timeout: KVM on a PVM host) and after the workloads, which a cold
 * page cache would slow down: everything is read from the disk again (in
 * the lab, from an emulated disk, for minutes). */
static void cold_boot(struct run_ctx *c, const char *accel, int timeout_ms)
{
	if (!c->cold_boot || run_stop_requested)
		return;
	run_progress(c, "%s: cold boot (page cache dropped)", accel);
	struct guest_config cfg;
	run_guest_config(c, accel, &cfg, 0);
	struct measure_sink sink = { sink_sample, c };
	double ms;
	char why[1200];
	int cold_timeout = timeout_ms * 2 > 120000 ? timeout_ms * 2 : 120000;
	if (measure_cold_boot(&sink, &cfg, cold_timeout, &ms, why, sizeof(why)))
		run_note_failure(c, "%s: the cold boot failed: %s", accel, why);
	c->steps_done++;
}

int run_accel(struct run_ctx *c, const char *accel, int boot_timeout_ms, double *boot_median)
{
	char why[1200];
	*boot_median = measure_boots(c, accel, boot_timeout_ms, why, sizeof(why));
	if (run_stop_requested == RUN_STOP_STORE)
		return -1;
	if (isnan(*boot_median)) {
		if (!run_stop_requested)
			run_note_failure(c, "%s: the guest did not boot: %s", accel, why);
		for (size_t i = 0; i < run_plan_count; i++)
			c->steps_done += run_step_wanted(c, &run_plan[i]);
		return -1;
	}
	struct guest_config cfg;
	run_guest_config(c, accel, &cfg, 1);
	struct guest g;
	struct kq_err err;
	run_progress(c, "%s: booting the guest for the workloads", accel);
	if (guest_boot(&cfg, &g, boot_timeout_ms * 2, &err)) {
		run_note_failure(c, "%s: the guest with disk and network did not boot: %s", accel, err.msg);
		for (size_t i = 0; i < run_plan_count; i++)
			c->steps_done += run_step_wanted(c, &run_plan[i]);
		return -1;
	}
	int failed = run_all_steps(c, &g, accel, 0);
	guest_stop(&g);
	if (c->hugepage_count && !run_stop_requested)
		failed += run_hugepages(c, accel, boot_timeout_ms * 2);
	int tap_steps = 0;
	for (size_t i = 0; i < run_plan_count; i++)
		tap_steps += run_plan[i].tap && run_step_wanted(c, &run_plan[i]);
	if (tap_steps && !run_stop_requested) {
		/* The network again, over a tap device (and vhost-net) in a network
		 * namespace of our own: never the host's interfaces. */
		struct netns ns;
		if (netns_create(&ns, &err)) {
			run_note_failure(c, "%s: tap networking: %s", accel, err.msg);
			return -1;
		}
		c->netns = ns.name;
		run_guest_config(c, accel, &cfg, 0);
		cfg.tap_netns = ns.name;
		cfg.vhost = c->vhost;
		run_progress(c, "%s: booting the guest on a tap device%s", accel, c->vhost ? " with vhost-net" : "");
		if (guest_boot(&cfg, &g, boot_timeout_ms * 2, &err)) {
			run_note_failure(c, "%s: the guest on tap did not boot: %s", accel, err.msg);
			failed++;
		} else {
			failed += run_all_steps(c, &g, accel, 1);
			guest_stop(&g);
		}
		c->netns = NULL;
		netns_destroy(&ns);
	}
	cold_boot(c, accel, boot_timeout_ms);
	return failed ? -1 : 0;
}
