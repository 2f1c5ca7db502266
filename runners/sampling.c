/* kvmqual run: the plan and the sampling.  Each step of the plan is a
 * workload (workloads/) and its variant; it runs natively or in the guest
 * through the agent, its output is parsed by the workload's parser and
 * every metric is stored.  Boots are measured the same way, and
 * --until-stable takes more samples until each metric's median settles. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/stats.h"
#include "../workloads/workload.h"
#include "conditions.h"
#include "native.h"
#include "netns.h"
#include "run.h"

const struct profile run_profiles[] = {
	{ "quick", 3, 1, 2, 48, 2000000, 3, 512 },
	{ "standard", 5, 3, 10, 512, 8000000, 10, 1024 },
	{ "full", 10, 5, 30, 1024, 10000000, 20, 1536 },
};
const size_t run_profile_count = KQ_ARRAY_SIZE(run_profiles);

const struct step run_plan[] = {
	{ "sysbench-cpu", "sysbench-cpu", 0, 0 },
	{ "sysbench-cpu", "sysbench-cpu-1t", 1, 0 },
	{ "stream", "stream", 0, 0 },
	{ "fio-seqread", "fio-seqread", 0, 0 },
	{ "fio-seqwrite", "fio-seqwrite", 0, 0 },
	{ "fio-randread", "fio-randread", 0, 0 },
	{ "iperf3-h2g", "iperf3-h2g", 0, 0 },
	{ "iperf3-g2h", "iperf3-g2h", 0, 0 },
	{ "iperf3-h2g", "iperf3-h2g-tap", 0, 1 },
	{ "iperf3-g2h", "iperf3-g2h-tap", 0, 1 },
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
static int sampling_done(const struct run_ctx *c, int done, int minimum, uint64_t step_deadline, double worst_pct)
{
	if (done < minimum)
		return 0;
	if (!c->until_stable || done >= c->max_iterations)
		return 1;
	return worst_pct <= c->stable_pct || kq_now_ns() >= step_deadline;
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

static void progress(struct run_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(struct run_ctx *c, const char *fmt, ...)
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

/* ---- parameters per place ---- */

static void params_for(const struct run_ctx *c, const struct step *s, int in_guest, int port,
		       struct workload_params *p)
{
	workload_params_default(p);
	p->threads = s->one_thread ? 1 : c->cpus;
	p->duration_s = c->prof->duration_s;
	p->size_mib = c->prof->fio_mib;
	p->target = in_guest ? "/dev/kqscratch" : c->native_target;
	p->ioengine = "psync";
	p->iodepth = 1;
	p->server = s->tap ? NETNS_HOST_IP : in_guest ? "10.0.2.2" : "127.0.0.1";
	p->port = port;
	p->elements = c->prof->stream_elements;
	p->passes = c->prof->stream_passes;
}

/* A one-shot iperf3 server on the host's loopback (the guest reaches it as
 * 10.0.2.2 through QEMU's user-mode network). */
static pid_t start_iperf3_server(int port, const char *netns)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (netns && netns_enter(netns))
			_exit(126);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		char portbuf[16];
		snprintf(portbuf, sizeof(portbuf), "%d", port);
		execlp("iperf3", "iperf3", "-s", "-1", "-B", netns ? NETNS_HOST_IP : "127.0.0.1", "-p", portbuf,
		       (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void stop_child(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Runs one step once, in the guest (g) or natively (g == NULL), and stores
 * its metrics.  Returns 0, or -1 when the step failed (the reason is noted
 * in the sample's absence and returned in why). */
static int run_step(struct run_ctx *c, struct guest *g, const char *accel, const struct step *s,
		    int iteration, char *why, size_t why_size)
{
	const struct workload *w = workload_find(s->workload);
	if (!w) {
		snprintf(why, why_size, "%s: no such workload", s->workload);
		return -1;
	}
	int port = 20000 + (int)(getpid() % 20000);
	struct workload_params p;
	params_for(c, s, g != NULL, port, &p);
	char err[256];
	char **argv = w->argv(&p, err, sizeof(err));
	if (!argv) {
		snprintf(why, why_size, "%s: %s", s->label, err);
		return -1;
	}
	/* Natively, the project's own tools (STREAM) are the ones make built
	 * next to this binary, the same code the guest runs: a `stream` on
	 * PATH may be another program altogether (ImageMagick ships one). */
	if (!g && c->bin_dir) {
		char *local = kq_xasprintf("%s/%s", c->bin_dir, argv[0]);
		if (access(local, X_OK) == 0) {
			free(argv[0]);
			argv[0] = local;
		} else if (w->suite_tool) {
			snprintf(why, why_size, "%s: no %s next to kvmqual (%s): build it with 'make %s'", s->label,
				 w->tool, local, w->tool);
			free(local);
			workload_argv_free(argv);
			return -1;
		} else {
			free(local);
		}
	}
	pid_t server = !strcmp(w->tool, "iperf3") ? start_iperf3_server(port, s->tap ? c->netns : NULL) : -1;
	/* The client starts once the server listens: a busy host may take
	 * longer than any fixed pause to get it there. */
	struct kq_err lerr;
	if (server > 0 && native_wait_listening(server, port, 30000, &lerr)) {
		stop_child(server);
		workload_argv_free(argv);
		snprintf(why, why_size, "%s (%s): iperf3 -s: %s", s->label, accel, lerr.msg);
		return -1;
	}
	struct host_conditions before, after;
	conditions_sample("/", &before);
	struct agent_result r;
	struct kq_err xerr;
	int timeout_ms = (c->prof->duration_s * 6 + 60) * 1000;
	/* A guest on a host that QEMU itself emulates (the ARM64 lab) is
	 * emulation inside emulation: its tools start and stop as slowly as it
	 * boots, so its steps get the same five-fold time as its boot
	 * (cmd_run.c); on a busy machine the plain limit cut off sysbench. */
	if (g && c->host_emulated)
		timeout_ms *= 5;
	int rc = g ? agent_exec(&g->agent, (const char *const *)argv, timeout_ms, &r, &xerr)
		   : native_exec((const char *const *)argv, timeout_ms, &r, &xerr);
	conditions_sample("/", &after);
	stop_child(server);
	workload_argv_free(argv);
	if (rc) {
		snprintf(why, why_size, "%s (%s): %s", s->label, accel, xerr.msg);
		return -1;
	}
	if (r.timed_out || r.exit_code != 0) {
		snprintf(why, why_size, "%s (%s): %s%d; %.200s", s->label, accel,
			 r.timed_out ? "timed out, exit " : "exit ", r.exit_code, r.err_len ? (char *)r.err : "");
		agent_result_free(&r);
		return -1;
	}
	struct metric_value m[16];
	int n = w->parse((const char *)r.out, r.out_len, m, 16, err, sizeof(err));
	agent_result_free(&r);
	if (n < 0) {
		snprintf(why, why_size, "%s (%s): output not understood: %s", s->label, accel, err);
		return -1;
	}
	int throttled = conditions_throttled(&before, &after);
	cJSON *cond = conditions_json(&after);
	char *cond_text = cJSON_PrintUnformatted(cond);
	cJSON_Delete(cond);
	char flags[64] = "";
	if (throttled)
		snprintf(flags, sizeof(flags), "throttled");
	if (!strncmp(s->workload, "fio", 3) && (g ? c->disk_fallback : 0))
		snprintf(flags + strlen(flags), sizeof(flags) - strlen(flags), "%sfallback", flags[0] ? "," : "");
	if (s->tap && !c->vhost)
		snprintf(flags + strlen(flags), sizeof(flags) - strlen(flags), "%sno-vhost", flags[0] ? "," : "");
	struct kq_err serr;
	store_batch_begin(c->store, &serr);
	for (int i = 0; i < n; i++) {
		int higher = 1;
		for (size_t k = 0; k < w->metric_count; k++)
			if (!strcmp(w->metrics[k].metric, m[i].metric))
				higher = w->metrics[k].higher_is_better;
		struct store_sample sample = {
			.accel = accel, .workload = s->label, .metric = m[i].metric, .unit = m[i].unit,
			.value = m[i].value, .iteration = iteration, .higher_is_better = higher,
			.flags = flags[0] ? flags : NULL, .conditions = cond_text,
		};
		if (store_add_sample(c->store, c->run_id, &sample, &serr))
			fprintf(stderr, "kvmqual run: %s\n", serr.msg);
		collect(c, accel, s->label, m[i].metric, m[i].unit, higher, m[i].value);
	}
	if (store_batch_commit(c->store, &serr))
		fprintf(stderr, "kvmqual run: %s\n", serr.msg);
	free(cond_text);
	return 0;
}

int run_step_wanted(const struct run_ctx *c, const struct step *s)
{
	if (s->tap && !c->use_tap)
		return 0;
	if (!c->only)
		return 1;
	char *copy = kq_xstrdup(c->only);
	int found = 0;
	for (char *w = strtok(copy, ","); w && !found; w = strtok(NULL, ","))
		found = !strcmp(w, s->label) || !strcmp(w, s->workload);
	free(copy);
	return found;
}

int run_all_steps(struct run_ctx *c, struct guest *g, const char *accel, int tap)
{
	int failed = 0;
	for (size_t i = 0; i < run_plan_count && !run_stop_requested; i++) {
		if (!run_step_wanted(c, &run_plan[i]) || run_plan[i].tap != tap || (!g && run_plan[i].tap))
			continue;
		uint64_t deadline = step_deadline(c);
		double worst = INFINITY;
		int done = 0;
		size_t from = c->ncol;
		while (!run_stop_requested && !sampling_done(c, done, c->prof->iterations, deadline, worst)) {
			int it = ++done;
			if (it > c->prof->iterations)
				progress(c, "%s: %s, sample %d (until stable: widest interval %s%.1f %%)", accel,
					 run_plan[i].label, it, isinf(worst) ? "not yet " : "+-", isinf(worst) ? 0.0 : worst);
			else
				progress(c, "%s: %s, sample %d of %d", accel, run_plan[i].label, it, c->prof->iterations);
			char why[600];
			if (run_step(c, g, accel, &run_plan[i], it, why, sizeof(why))) {
				run_note_failure(c, "%s", why);
				failed++;
				break;
			}
			worst = 0;
			for_each_metric(c, from, accel, run_plan[i].label, worst_half_width, &worst);
		}
		if (c->until_stable && done) {
			struct stability_ctx sc = { c, accel, run_plan[i].label };
			for_each_metric(c, from, accel, run_plan[i].label, record_one, &sc);
		}
		c->steps_done++;
	}
	return failed;
}

/* ---- the guest under one accelerator ---- */

static void guest_config_for(const struct run_ctx *c, const char *accel, struct guest_config *cfg, int with_devices)
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
		progress(c, "%s: boot %d of %d%s", accel, i, i > c->prof->boot_runs ? i : c->prof->boot_runs,
			 i > c->prof->boot_runs ? " (until stable)" : "");
		struct guest_config cfg;
		guest_config_for(c, accel, &cfg, 0);
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
		struct store_boot_sample b = {
			.accel = accel, .iteration = i, .total_ms = total,
			.kernel_ms = g.ready.agent_start_s * 1e3,
			.userspace_ms = (g.ready.ready_s - g.ready.agent_start_s) * 1e3,
			.before_kernel_ms = total - g.ready.ready_s * 1e3,
			.flags = conditions_throttled(&before, &after) ? "throttled" : NULL,
		};
		if (store_add_boot_sample(c->store, c->run_id, &b, &err))
			fprintf(stderr, "kvmqual run: %s\n", err.msg);
		totals[n++] = total;
		guest_stop(&g);
	}
	if (c->until_stable && n)
		record_stability(c, accel, "boot", "total_ms", totals, (size_t)n);
	c->steps_done++;
	return run_median(totals, n);
}

int run_accel(struct run_ctx *c, const char *accel, int boot_timeout_ms, double *boot_median)
{
	char why[1200];
	*boot_median = measure_boots(c, accel, boot_timeout_ms, why, sizeof(why));
	if (isnan(*boot_median)) {
		if (!run_stop_requested)
			run_note_failure(c, "%s: the guest did not boot: %s", accel, why);
		for (size_t i = 0; i < run_plan_count; i++)
			c->steps_done += run_step_wanted(c, &run_plan[i]);
		return -1;
	}
	struct guest_config cfg;
	guest_config_for(c, accel, &cfg, 1);
	struct guest g;
	struct kq_err err;
	progress(c, "%s: booting the guest for the workloads", accel);
	if (guest_boot(&cfg, &g, boot_timeout_ms * 2, &err)) {
		run_note_failure(c, "%s: the guest with disk and network did not boot: %s", accel, err.msg);
		for (size_t i = 0; i < run_plan_count; i++)
			c->steps_done += run_step_wanted(c, &run_plan[i]);
		return -1;
	}
	int failed = run_all_steps(c, &g, accel, 0);
	guest_stop(&g);
	if (c->use_tap && !run_stop_requested) {
		/* The network again, over a tap device (and vhost-net) in a network
		 * namespace of our own: never the host's interfaces. */
		struct netns ns;
		if (netns_create(&ns, &err)) {
			run_note_failure(c, "%s: tap networking: %s", accel, err.msg);
			return -1;
		}
		c->netns = ns.name;
		guest_config_for(c, accel, &cfg, 0);
		cfg.tap_netns = ns.name;
		cfg.vhost = c->vhost;
		progress(c, "%s: booting the guest on a tap device%s", accel, c->vhost ? " with vhost-net" : "");
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
	return failed ? -1 : 0;
}
