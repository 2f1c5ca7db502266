/* kvmqual run: the suite's main job.  Probe the host, measure the
 * workloads natively (the baseline), then boot the guest under each
 * accelerator (TCG first: its boot time bounds how long KVM may take),
 * measure boot time and run the same workloads in it, judge the results
 * against runners/targets.conf, and store everything in SQLite.
 *
 * Failure is a result: an accelerator that cannot boot the guest is marked
 * failed with its reason and the run goes on with the others; the run ends
 * 'incomplete' with what failed.  Ctrl-C / SIGTERM stop the guest, mark the
 * run interrupted and exit. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/json.h"
#include "../lib/stale.h"
#include "../probe/probe.h"
#include "../workloads/workload.h"
#include "runners.h"
#include "conditions.h"
#include "guest.h"
#include "native.h"
#include "netns.h"
#include "../lib/stats.h"
#include "../store/store.h"
#include "targets.h"

#define SUITE_VERSION "0.1.0"

struct profile {
	const char *name;
	int boot_runs;          /* boot samples per accelerator */
	int iterations;         /* samples per workload */
	int duration_s;         /* sysbench, fio, iperf3 */
	long long fio_mib;      /* bytes fio touches on the scratch disk */
	long long stream_elements;
	int stream_passes;
	int guest_mem_mb;
};

static const struct profile profiles[] = {
	{ "quick", 3, 1, 2, 48, 2000000, 3, 512 },
	{ "standard", 5, 3, 10, 512, 8000000, 10, 1024 },
	{ "full", 10, 5, 30, 1024, 10000000, 20, 1536 },
};

/* The plan: each workload with the parameters that tell its variants apart
 * (all vCPUs or one); stored under `label`. */
struct step {
	const char *workload;
	const char *label;
	int one_thread;
	int tap;                /* over tap (+ vhost-net) in a namespace, guest only */
};

static const struct step plan[] = {
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

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	stop_requested = sig;
}

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
	int use_tap, vhost;         /* tap networking in a namespace, with vhost-net */
	const char *netns;          /* while a tap guest runs */
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
	/* --until-stable: more samples of a step until the 95 % confidence
	 * interval of each of its metrics' median is within stable_pct of the
	 * median, at most max_iterations, and within the wall-clock budget
	 * (shared fairly among the steps left). */
	int until_stable;
	double stable_pct;
	double stable_budget_s;
	uint64_t stable_deadline_ns;
	int max_iterations;
	struct stability {
		char accel[8], workload[40], metric[48];
		int samples, settled;
		double half_width_pct;  /* INFINITY: too few samples for an interval */
	} *stab;
	size_t nstab;
};

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

static void note_failure(struct run_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note_failure(struct run_ctx *c, const char *fmt, ...)
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
	usleep(200000); /* let it bind */
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
	struct host_conditions before, after;
	conditions_sample("/", &before);
	struct agent_result r;
	struct kq_err xerr;
	int timeout_ms = (c->prof->duration_s * 6 + 60) * 1000;
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

static int step_wanted(const struct run_ctx *c, const struct step *s)
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

/* Runs the plan's steps: natively (g == NULL), or in g, the tap steps
 * only in a tap guest (tap = 1) and the others only in the first. */
static int run_all_steps(struct run_ctx *c, struct guest *g, const char *accel, int tap)
{
	int failed = 0;
	for (size_t i = 0; i < KQ_ARRAY_SIZE(plan) && !stop_requested; i++) {
		if (!step_wanted(c, &plan[i]) || plan[i].tap != tap || (!g && plan[i].tap))
			continue;
		uint64_t deadline = step_deadline(c);
		double worst = INFINITY;
		int done = 0;
		size_t from = c->ncol;
		while (!stop_requested && !sampling_done(c, done, c->prof->iterations, deadline, worst)) {
			int it = ++done;
			if (it > c->prof->iterations)
				progress(c, "%s: %s, sample %d (until stable: widest interval %s%.1f %%)", accel,
					 plan[i].label, it, isinf(worst) ? "not yet " : "+-", isinf(worst) ? 0.0 : worst);
			else
				progress(c, "%s: %s, sample %d of %d", accel, plan[i].label, it, c->prof->iterations);
			char why[600];
			if (run_step(c, g, accel, &plan[i], it, why, sizeof(why))) {
				note_failure(c, "%s", why);
				failed++;
				break;
			}
			worst = 0;
			for_each_metric(c, from, accel, plan[i].label, worst_half_width, &worst);
		}
		if (c->until_stable && done) {
			struct stability_ctx sc = { c, accel, plan[i].label };
			for_each_metric(c, from, accel, plan[i].label, record_one, &sc);
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

static double median(double *v, int n)
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
	for (int i = 1; n < 64 && !stop_requested &&
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
	return median(totals, n);
}

static int accel_run(struct run_ctx *c, const char *accel, int boot_timeout_ms, double *boot_median)
{
	char why[1200];
	*boot_median = measure_boots(c, accel, boot_timeout_ms, why, sizeof(why));
	if (isnan(*boot_median)) {
		if (!stop_requested)
			note_failure(c, "%s: the guest did not boot: %s", accel, why);
		for (size_t i = 0; i < KQ_ARRAY_SIZE(plan); i++)
			c->steps_done += step_wanted(c, &plan[i]);
		return -1;
	}
	struct guest_config cfg;
	guest_config_for(c, accel, &cfg, 1);
	struct guest g;
	struct kq_err err;
	progress(c, "%s: booting the guest for the workloads", accel);
	if (guest_boot(&cfg, &g, boot_timeout_ms * 2, &err)) {
		note_failure(c, "%s: the guest with disk and network did not boot: %s", accel, err.msg);
		for (size_t i = 0; i < KQ_ARRAY_SIZE(plan); i++)
			c->steps_done += step_wanted(c, &plan[i]);
		return -1;
	}
	int failed = run_all_steps(c, &g, accel, 0);
	guest_stop(&g);
	if (c->use_tap && !stop_requested) {
		/* The network again, over a tap device (and vhost-net) in a network
		 * namespace of our own: never the host's interfaces. */
		struct netns ns;
		if (netns_create(&ns, &err)) {
			note_failure(c, "%s: tap networking: %s", accel, err.msg);
			return -1;
		}
		c->netns = ns.name;
		guest_config_for(c, accel, &cfg, 0);
		cfg.tap_netns = ns.name;
		cfg.vhost = c->vhost;
		progress(c, "%s: booting the guest on a tap device%s", accel, c->vhost ? " with vhost-net" : "");
		if (guest_boot(&cfg, &g, boot_timeout_ms * 2, &err)) {
			note_failure(c, "%s: the guest on tap did not boot: %s", accel, err.msg);
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

/* ---- judging ---- */

static double median_of(const struct run_ctx *c, const char *accel, const char *workload, const char *metric,
			int *higher)
{
	double v[256];
	int n = 0;
	for (size_t i = 0; i < c->ncol && n < 256; i++) {
		const struct collected *k = &c->col[i];
		if (!strcmp(k->accel, accel) && !strcmp(k->workload, workload) && !strcmp(k->metric, metric)) {
			v[n++] = k->value;
			if (higher)
				*higher = k->higher_is_better;
		}
	}
	return median(v, n);
}

/* value as a percentage of native, "better" meaning higher. */
static double pct_of(double value, double native, int higher)
{
	if (isnan(value) || isnan(native) || value <= 0 || native <= 0)
		return NAN;
	return higher ? 100.0 * value / native : 100.0 * native / value;
}

static int judge(struct run_ctx *c, const struct target *t, size_t nt, cJSON *summary)
{
	int failed = 0;
	cJSON *verdicts = cJSON_AddArrayToObject(summary, "verdicts");
	for (size_t i = 0; i < nt; i++) {
		double value;
		int higher = 1;
		char detail[256] = "";
		if (!strcmp(t[i].workload, "boot")) {
			value = c->boot_ms[!strcmp(t[i].accel, "kvm")];
		} else {
			value = median_of(c, t[i].accel, t[i].workload, t[i].metric, &higher);
			if (t[i].op == OP_PCT_NATIVE_GE) {
				double native = median_of(c, "native", t[i].workload, t[i].metric, NULL);
				snprintf(detail, sizeof(detail), "%s %.4g, native %.4g", t[i].accel, value, native);
				value = pct_of(value, native, higher);
			}
		}
		const char *status;
		if (isnan(value)) {
			status = "skip";
			snprintf(detail, sizeof(detail), "not measured: %s did not run it", t[i].accel);
		} else {
			status = target_met(&t[i], value) ? "pass" : "fail";
		}
		failed += !strcmp(status, "fail");
		char metric[100];
		snprintf(metric, sizeof(metric), "%s.%s", t[i].workload, t[i].metric);
		/* The store knows plain comparisons: a %native target is ">=" on
		 * the metric's percentage of native. */
		char stored_metric[120];
		snprintf(stored_metric, sizeof(stored_metric), t[i].op == OP_PCT_NATIVE_GE ? "%s (%% of native)" : "%s",
			 metric);
		struct store_verdict v = { .target = t[i].name, .metric = stored_metric, .value = value,
					   .threshold = t[i].threshold,
					   .op = t[i].op == OP_PCT_NATIVE_GE ? ">=" : target_op_name(t[i].op),
					   .status = status, .detail = detail };
		struct kq_err err;
		if (store_add_verdict(c->store, c->run_id, &v, &err))
			fprintf(stderr, "kvmqual run: %s\n", err.msg);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "target", t[i].name);
		cJSON_AddStringToObject(o, "accel", t[i].accel);
		cJSON_AddStringToObject(o, "metric", metric);
		cJSON_AddStringToObject(o, "op", target_op_name(t[i].op));
		cJSON_AddNumberToObject(o, "threshold", t[i].threshold);
		kq_json_number_or_null(o, "value", value);
		cJSON_AddStringToObject(o, "unit", t[i].unit);
		cJSON_AddStringToObject(o, "status", status);
		cJSON_AddStringToObject(o, "detail", detail);
		cJSON_AddItemToArray(verdicts, o);
	}
	return failed;
}

static void speedups(struct run_ctx *c, cJSON *summary)
{
	cJSON *rows = cJSON_AddArrayToObject(summary, "metrics");
	for (size_t i = 0; i < c->ncol; i++) {
		const struct collected *k = &c->col[i];
		int seen = 0;
		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(c->col[j].workload, k->workload) && !strcmp(c->col[j].metric, k->metric);
		if (seen)
			continue;
		int higher = k->higher_is_better;
		double native = median_of(c, "native", k->workload, k->metric, NULL);
		double tcg = median_of(c, "tcg", k->workload, k->metric, NULL);
		double kvm = median_of(c, "kvm", k->workload, k->metric, NULL);
		struct store_speedup sp = {
			.workload = k->workload, .metric = k->metric,
			.kvm_over_tcg = isnan(kvm) || isnan(tcg) ? NAN : pct_of(kvm, tcg, higher) / 100.0,
			.kvm_pct_of_native = pct_of(kvm, native, higher),
			.tcg_pct_of_native = pct_of(tcg, native, higher),
		};
		struct kq_err err;
		if (store_add_speedup(c->store, c->run_id, &sp, &err))
			fprintf(stderr, "kvmqual run: %s\n", err.msg);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "workload", k->workload);
		cJSON_AddStringToObject(o, "metric", k->metric);
		cJSON_AddStringToObject(o, "unit", k->unit);
		cJSON_AddBoolToObject(o, "higher_is_better", higher);
		const double vals[] = { native, tcg, kvm, sp.tcg_pct_of_native, sp.kvm_pct_of_native, sp.kvm_over_tcg };
		const char *names[] = { "native", "tcg", "kvm", "tcg_pct_of_native", "kvm_pct_of_native", "kvm_over_tcg" };
		for (size_t n = 0; n < 6; n++)
			kq_json_number_or_null(o, names[n], vals[n]);
		cJSON_AddItemToArray(rows, o);
	}
}

static void fmt(char *buf, size_t size, double v)
{
	if (isnan(v))
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%.4g", v);
}

static void print_summary(const cJSON *summary)
{
	printf("\n%-18s %-20s %12s %12s %12s %9s\n", "workload", "metric", "native", "tcg", "kvm", "tcg/nat%");
	const cJSON *row;
	cJSON_ArrayForEach(row, cJSON_GetObjectItem(summary, "metrics"))
	{
		char n[32], t[32], k[32], p[32];
		const cJSON *v;
		fmt(n, sizeof(n), cJSON_IsNumber(v = cJSON_GetObjectItem(row, "native")) ? v->valuedouble : NAN);
		fmt(t, sizeof(t), cJSON_IsNumber(v = cJSON_GetObjectItem(row, "tcg")) ? v->valuedouble : NAN);
		fmt(k, sizeof(k), cJSON_IsNumber(v = cJSON_GetObjectItem(row, "kvm")) ? v->valuedouble : NAN);
		fmt(p, sizeof(p), cJSON_IsNumber(v = cJSON_GetObjectItem(row, "tcg_pct_of_native")) ? v->valuedouble : NAN);
		printf("%-18s %-20s %12s %12s %12s %9s  %s\n", cJSON_GetObjectItem(row, "workload")->valuestring,
		       cJSON_GetObjectItem(row, "metric")->valuestring, n, t, k, p,
		       cJSON_GetObjectItem(row, "unit")->valuestring);
	}
	const cJSON *boot = cJSON_GetObjectItem(summary, "boot_ms");
	const cJSON *b;
	printf("\nboot (median, exec of QEMU to the agent's ready):");
	cJSON_ArrayForEach(b, boot)
	{
		if (cJSON_IsNumber(b))
			printf("  %s %.0f ms", b->string, b->valuedouble);
		else
			printf("  %s -", b->string);
	}
	printf("\n\nverdicts (runners/targets.conf):\n");
	cJSON_ArrayForEach(row, cJSON_GetObjectItem(summary, "verdicts"))
	{
		const cJSON *v = cJSON_GetObjectItem(row, "value");
		char val[32];
		fmt(val, sizeof(val), cJSON_IsNumber(v) ? v->valuedouble : NAN);
		const char *detail = cJSON_GetObjectItem(row, "detail")->valuestring;
		printf("  %-4s %-8s %s %s = %s (target %s %g %s)%s%s\n",
		       cJSON_GetObjectItem(row, "status")->valuestring, cJSON_GetObjectItem(row, "target")->valuestring,
		       cJSON_GetObjectItem(row, "accel")->valuestring, cJSON_GetObjectItem(row, "metric")->valuestring, val,
		       cJSON_GetObjectItem(row, "op")->valuestring, cJSON_GetObjectItem(row, "threshold")->valuedouble,
		       cJSON_GetObjectItem(row, "unit")->valuestring, detail[0] ? ": " : "", detail);
	}
	const cJSON *stab = cJSON_GetObjectItem(summary, "stability");
	if (stab) {
		const cJSON *metrics = cJSON_GetObjectItem(stab, "metrics");
		const cJSON *unsettled = cJSON_GetObjectItem(stab, "unsettled");
		printf("\nuntil stable (95 %% CI of the median within +-%g %%, budget %g s): %d of %d metrics settled\n",
		       cJSON_GetObjectItem(stab, "target_pct")->valuedouble,
		       cJSON_GetObjectItem(stab, "budget_s")->valuedouble,
		       cJSON_GetArraySize(metrics) - cJSON_GetArraySize(unsettled), cJSON_GetArraySize(metrics));
		cJSON_ArrayForEach(row, metrics)
		{
			if (cJSON_IsTrue(cJSON_GetObjectItem(row, "settled")))
				continue;
			const cJSON *hw = cJSON_GetObjectItem(row, "half_width_pct");
			char w[32];
			fmt(w, sizeof(w), cJSON_IsNumber(hw) ? hw->valuedouble : NAN);
			printf("  not settled: %s %s.%s: +-%s %% after %d samples: %s\n",
			       cJSON_GetObjectItem(row, "accel")->valuestring,
			       cJSON_GetObjectItem(row, "workload")->valuestring,
			       cJSON_GetObjectItem(row, "metric")->valuestring, w,
			       cJSON_GetObjectItem(row, "samples")->valueint,
			       cJSON_GetObjectItem(row, "detail")->valuestring);
		}
	}
	const cJSON *status = cJSON_GetObjectItem(summary, "status");
	const cJSON *reason = cJSON_GetObjectItem(summary, "reason");
	printf("\nrun %s%s%s\n", status->valuestring, cJSON_IsString(reason) ? ": " : "",
	       cJSON_IsString(reason) ? reason->valuestring : "");
}

/* --until-stable: each metric's interval, as verdicts of the run (target
 * "stable: ACCEL WORKLOAD.METRIC", value the half-width in percent of the
 * median, threshold the target) and in the summary. */
static void stability_report(struct run_ctx *c, cJSON *summary)
{
	cJSON *o = cJSON_AddObjectToObject(summary, "stability");
	cJSON_AddNumberToObject(o, "target_pct", c->stable_pct);
	cJSON_AddNumberToObject(o, "budget_s", c->stable_budget_s);
	cJSON_AddNumberToObject(o, "max_iterations", c->max_iterations);
	cJSON_AddBoolToObject(o, "budget_spent", kq_now_ns() >= c->stable_deadline_ns);
	cJSON *all = cJSON_AddArrayToObject(o, "metrics");
	cJSON *unsettled = cJSON_AddArrayToObject(o, "unsettled");
	for (size_t i = 0; i < c->nstab; i++) {
		const struct stability *st = &c->stab[i];
		char name[160], target[200], metric[200], detail[200];
		snprintf(name, sizeof(name), "%s %s.%s", st->accel, st->workload, st->metric);
		snprintf(target, sizeof(target), "stable: %s", name);
		snprintf(metric, sizeof(metric), "%s.%s (95 %% CI half-width, %% of median)", st->workload, st->metric);
		if (st->settled)
			snprintf(detail, sizeof(detail), "settled after %d samples", st->samples);
		else if (isinf(st->half_width_pct))
			snprintf(detail, sizeof(detail), "did not settle: %d samples are too few for a 95 %% interval",
				 st->samples);
		else
			snprintf(detail, sizeof(detail), "did not settle after %d samples (%s)", st->samples,
				 st->samples >= c->max_iterations ? "--max-iterations reached" : "budget spent");
		struct store_verdict v = { .target = target, .metric = metric, .value = st->half_width_pct,
					   .threshold = c->stable_pct, .op = "<=",
					   .status = st->settled ? "pass" : "fail", .detail = detail };
		struct kq_err err;
		if (store_add_verdict(c->store, c->run_id, &v, &err))
			fprintf(stderr, "kvmqual run: %s\n", err.msg);
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "accel", st->accel);
		cJSON_AddStringToObject(m, "workload", st->workload);
		cJSON_AddStringToObject(m, "metric", st->metric);
		cJSON_AddNumberToObject(m, "samples", st->samples);
		kq_json_number_or_null(m, "half_width_pct", st->half_width_pct);
		cJSON_AddBoolToObject(m, "settled", st->settled);
		cJSON_AddStringToObject(m, "detail", detail);
		cJSON_AddItemToArray(all, m);
		if (!st->settled)
			cJSON_AddItemToArray(unsettled, cJSON_CreateString(name));
	}
}

/* ---- set-up ---- */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kvmqual run [--profile quick|standard|full] [--accel kvm,tcg] [--guest-arch ARCH]\n"
		"                   [--db FILE] [--image DIR] [--targets FILE] [--cpus N] [--json]\n"
		"                   [--workloads LIST] [--net auto|user|tap] [--iterations N]\n"
		"                   [--until-stable [--stable-ci PCT] [--stable-budget S] [--max-iterations N]]\n"
		"\n"
		"Probes the host, runs the workloads natively, then boots the guest under each\n"
		"accelerator (default: kvm and tcg where the probe finds KVM usable, tcg\n"
		"otherwise), measures boot time and runs the same workloads in it, judges the\n"
		"results against the targets and stores everything in the database\n"
		"(default results/kvmqual.db).  --json prints a machine summary.\n"
		"--workloads runs only these (sysbench-cpu, sysbench-cpu-1t, stream, fio-seqread,\n"
		"fio-seqwrite, fio-randread, iperf3-h2g, iperf3-g2h, and with tap iperf3-h2g-tap,\n"
		"iperf3-g2h-tap).  --net: user-mode networking always; tap (+ vhost-net) in a\n"
		"network namespace of its own as well: auto = where root and /dev/vhost-net.\n"
		"--iterations N: N samples per workload and N boots per accelerator (1-64)\n"
		"instead of the profile's.\n"
		"--until-stable: after those, more samples of each workload (and boots) until the\n"
		"95 %% confidence interval of every metric's median is within --stable-ci PCT of\n"
		"it (default 2), at most --max-iterations N (default 30), all within\n"
		"--stable-budget SECONDS of wall clock (default 600, shared among the steps);\n"
		"the summary and the stored verdicts say which metrics did not settle.\n"
		"Exit status: 0 when the run completed, 1 when it is incomplete (an accelerator\n"
		"or a workload failed, with the reason), 2 on usage errors or when nothing ran,\n"
		"130 / 143 when interrupted.\n");
}

/* The directory of this binary (build/), to find build/guest/ARCH. */
static char *self_dir(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return kq_xstrdup(".");
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	return kq_xstrdup(exe);
}

/* The suite's own files, in the build tree (build/kvmqual next to
 * build/stream and build/guest/ARCH, runners/targets.conf one level up) or
 * as `make install` lays them out (PREFIX/bin/kvmqual, PREFIX/lib/kvmqual/
 * for stream and guest/ARCH, PREFIX/share/kvmqual/targets.conf): the build
 * tree's path when it exists, else the installed one when that exists,
 * else the build tree's (so that errors name where make puts it). */
static char *suite_path(const char *dir, const char *in_build, const char *installed)
{
	char *build = kq_xasprintf("%s/%s", dir, in_build);
	if (access(build, F_OK) == 0)
		return build;
	char *inst = kq_xasprintf("%s/../%s", dir, installed);
	if (access(inst, F_OK) == 0) {
		free(build);
		return inst;
	}
	free(inst);
	return build;
}

/* Whether the file system behind path takes O_DIRECT (QEMU's cache=none). */
static int supports_direct(const char *path)
{
	int fd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* A scratch file of mib MiB for fio, written through with data: the
 * sequential read runs before any write, and a file made by ftruncate (or
 * fallocate) is holes or unwritten extents, which the file system answers
 * with zeros without touching the disk (natively 145 GB/s "read" here).
 * The bytes are pseudo-random, so that no compressing or deduplicating
 * layer under the file shortens the reads either. */
static int make_file(char *path, size_t size, const char *dir, long long mib)
{
	snprintf(path, size, "%s/kvmqual-scratch.%ld.XXXXXX", dir, (long)getpid());
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	enum { CHUNK = 1 << 20 };
	unsigned long long *buf = kq_xmalloc(CHUNK);
	struct stats_rng g;
	stats_rng_seed(&g, (unsigned long long)getpid());
	int rc = 0;
	for (long long m = 0; m < mib && !rc && !stop_requested; m++) {
		for (size_t i = 0; i < CHUNK / sizeof(*buf); i++)
			buf[i] = stats_rng_next(&g);
		for (size_t done = 0; done < CHUNK;) {
			ssize_t n = write(fd, (char *)buf + done, CHUNK - done);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				if (n == 0)
					errno = ENOSPC;
				rc = -1;
				break;
			}
			done += (size_t)n;
		}
	}
	if (!rc && stop_requested) {
		errno = EINTR;
		rc = -1;
	}
	if (!rc && fsync(fd))
		rc = -1;
	int e = errno;
	free(buf);
	close(fd);
	if (rc)
		unlink(path);
	errno = e;
	return rc;
}

static char *qemu_version(const char *arch)
{
	char bin[64];
	snprintf(bin, sizeof(bin), "qemu-system-%s", arch);
	const char *argv[] = { bin, "--version", NULL };
	struct agent_result r;
	struct kq_err err;
	if (native_exec(argv, 10000, &r, &err))
		return NULL;
	char ver[64] = "";
	if (r.exit_code == 0)
		sscanf((char *)r.out, "QEMU emulator version %63s", ver);
	agent_result_free(&r);
	return ver[0] ? kq_xstrdup(ver) : NULL;
}

static void add_boot(cJSON *boot, const char *name, int wanted, double ms)
{
	if (!wanted)
		return;
	kq_json_number_or_null(boot, name, ms);
}

int cmd_run(int argc, char **argv)
{
	const char *db = STORE_DEFAULT_PATH, *accel_opt = NULL, *guest_arch = NULL, *image = NULL,
		   *targets_path = NULL, *profile_name = "quick";
	int json = 0, cpus = 0, iterations = 0, until_stable = 0, max_iterations = 30;
	double stable_pct = 2, stable_budget_s = 600;
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },        { "accel", required_argument, NULL, 'a' },
		{ "guest-arch", required_argument, NULL, 'g' }, { "image", required_argument, NULL, 'i' },
		{ "targets", required_argument, NULL, 't' },   { "profile", required_argument, NULL, 'p' },
		{ "cpus", required_argument, NULL, 'c' },      { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },            { "workloads", required_argument, NULL, 'w' },
		{ "net", required_argument, NULL, 'n' },       { "iterations", required_argument, NULL, 'I' },
		{ "until-stable", no_argument, NULL, 'U' },    { "stable-ci", required_argument, NULL, 'C' },
		{ "stable-budget", required_argument, NULL, 'B' }, { "max-iterations", required_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 },
	};
	const char *only = NULL, *net = "auto";
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'w': only = optarg; break;
		case 'n': net = optarg; break;
		case 'U': until_stable = 1; break;
		case 'C':
		case 'B': {
			/* Either implies --until-stable. */
			char *end;
			double v = strtod(optarg, &end);
			int bad = end == optarg || *end || !(ch == 'C' ? v > 0 && v <= 100 : v > 0 && v <= 86400);
			if (bad) {
				fprintf(stderr, "kvmqual run: --%s takes %s, not '%s'\n",
					ch == 'C' ? "stable-ci" : "stable-budget",
					ch == 'C' ? "a percentage above 0, at most 100" : "seconds, above 0, at most 86400",
					optarg);
				return 2;
			}
			*(ch == 'C' ? &stable_pct : &stable_budget_s) = v;
			until_stable = 1;
			break;
		}
		case 'M':
			max_iterations = atoi(optarg);
			if (max_iterations < 1 || max_iterations > 64) {
				fprintf(stderr, "kvmqual run: --max-iterations takes 1 to 64, not '%s'\n", optarg);
				return 2;
			}
			until_stable = 1;
			break;
		case 'I':
			iterations = atoi(optarg);
			if (iterations < 1 || iterations > 64) {
				fprintf(stderr, "kvmqual run: --iterations takes 1 to 64, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'd': db = optarg; break;
		case 'a': accel_opt = optarg; break;
		case 'g': guest_arch = optarg; break;
		case 'i': image = optarg; break;
		case 't': targets_path = optarg; break;
		case 'p': profile_name = optarg; break;
		case 'c': cpus = atoi(optarg); break;
		case 'j': json = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kvmqual run: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	const struct profile *prof = NULL;
	for (size_t i = 0; i < KQ_ARRAY_SIZE(profiles); i++)
		if (!strcmp(profiles[i].name, profile_name))
			prof = &profiles[i];
	if (!prof) {
		fprintf(stderr, "kvmqual run: --profile takes quick, standard or full, not '%s'\n", profile_name);
		return 2;
	}
	/* --iterations: the profile's sample counts (workloads and boots) overridden. */
	struct profile prof_local = *prof;
	if (iterations)
		prof_local.iterations = prof_local.boot_runs = iterations;
	prof = &prof_local;
	struct utsname u;
	uname(&u);
	if (!guest_arch)
		guest_arch = u.machine;
	if (strcmp(guest_arch, "aarch64") && strcmp(guest_arch, "x86_64")) {
		fprintf(stderr, "kvmqual run: --guest-arch takes aarch64 or x86_64, not '%s'\n", guest_arch);
		return 2;
	}
	int want_tcg = 1, want_kvm = -1; /* -1: as the probe says */
	if (accel_opt) {
		want_tcg = want_kvm = 0;
		char *copy = kq_xstrdup(accel_opt);
		for (char *a = strtok(copy, ","); a; a = strtok(NULL, ",")) {
			if (!strcmp(a, "tcg"))
				want_tcg = 1;
			else if (!strcmp(a, "kvm"))
				want_kvm = 1;
			else {
				fprintf(stderr, "kvmqual run: --accel takes kvm and/or tcg, not '%s'\n", a);
				free(copy);
				return 2;
			}
		}
		free(copy);
		if (want_kvm == 1 && strcmp(guest_arch, u.machine)) {
			fprintf(stderr, "kvmqual run: KVM runs guests of the host's own architecture (%s), not %s\n",
				u.machine, guest_arch);
			return 2;
		}
	}
	char *dir = self_dir();
	char *image_buf = NULL, *targets_buf = NULL;
	if (!image) {
		char *rel = kq_xasprintf("guest/%s", guest_arch), *inst = kq_xasprintf("lib/kvmqual/guest/%s", guest_arch);
		image = image_buf = suite_path(dir, rel, inst);
		free(rel);
		free(inst);
	}
	if (!targets_path)
		targets_path = targets_buf = suite_path(dir, "../runners/targets.conf", "share/kvmqual/targets.conf");
	struct kq_err err;
	struct target *targets = NULL;
	size_t ntargets = 0;
	char *hash = NULL;
	if (targets_load(targets_path, &targets, &ntargets, &err)) {
		fprintf(stderr, "kvmqual run: %s\n", err.msg);
		return 2;
	}
	char hash_buf[128], image_arch[32];
	if (guest_image_info(image, image_arch, sizeof(image_arch), hash_buf, sizeof(hash_buf), &err)) {
		fprintf(stderr, "kvmqual run: %s\n", err.msg);
		return 2;
	}
	if (strcmp(image_arch, guest_arch)) {
		fprintf(stderr, "kvmqual run: %s is an image for %s, not %s\n", image, image_arch, guest_arch);
		return 2;
	}
	hash = kq_xstrdup(hash_buf);

	struct run_ctx c;
	memset(&c, 0, sizeof(c));
	c.prof = prof;
	c.json = json;
	c.until_stable = until_stable;
	c.stable_pct = stable_pct;
	c.stable_budget_s = stable_budget_s;
	c.max_iterations = max_iterations < prof->iterations ? prof->iterations : max_iterations;
	c.tty = isatty(STDERR_FILENO);
	c.guest_arch = guest_arch;
	c.image_dir = image;
	/* STREAM: build/stream, or PREFIX/lib/kvmqual/stream when installed. */
	char *stream_path = suite_path(dir, "stream", "lib/kvmqual/stream");
	*strrchr(stream_path, '/') = '\0';
	c.bin_dir = stream_path;
	c.only = only;
	/* Tap networking needs root and /dev/net/tun; by default it is used
	 * where vhost-net is there too (what the network target is about). */
	int can_tap = geteuid() == 0 && access("/dev/net/tun", R_OK | W_OK) == 0;
	c.vhost = access("/dev/vhost-net", R_OK | W_OK) == 0;
	if (!strcmp(net, "user")) {
		c.use_tap = 0;
	} else if (!strcmp(net, "tap")) {
		if (!can_tap) {
			fprintf(stderr, "kvmqual run: --net tap needs root and /dev/net/tun\n");
			return 2;
		}
		c.use_tap = 1;
	} else if (!strcmp(net, "auto")) {
		c.use_tap = can_tap && c.vhost;
	} else {
		fprintf(stderr, "kvmqual run: --net takes auto, user or tap, not '%s'\n", net);
		return 2;
	}
	c.start_ns = kq_now_ns();
	c.stable_deadline_ns = c.start_ns + (uint64_t)(stable_budget_s * 1e9);
	int nsteps = 0;
	for (size_t i = 0; i < KQ_ARRAY_SIZE(plan); i++)
		nsteps += step_wanted(&c, &plan[i]);
	if (only && !nsteps) {
		fprintf(stderr, "kvmqual run: --workloads '%s' names none of:", only);
		for (size_t i = 0; i < KQ_ARRAY_SIZE(plan); i++)
			fprintf(stderr, " %s", plan[i].label);
		fprintf(stderr, "\n");
		return 2;
	}
	c.cpus = cpus > 0 ? cpus : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (c.cpus > 8)
		c.cpus = 8;
	c.boot_ms[0] = c.boot_ms[1] = NAN;
	kq_buf_init(&c.failures);
	snprintf(c.host_arch, sizeof(c.host_arch), "%s", u.machine);

	/* The probe first: it decides the accelerators and is stored with the run. */
	struct probe pr;
	struct probe_options popt = { 0 };
	struct hostfs *fs = hostfs_open_live();
	if (probe_run(&pr, fs, &popt, &err)) {
		fprintf(stderr, "kvmqual run: probe: %s\n", err.msg);
		return 2;
	}
	if (!json)
		fprintf(stderr, "probe: %s\n", pr.verdict_summary);
	cJSON *probe_doc = probe_to_json(&pr);
	char *probe_text = cJSON_PrintUnformatted(probe_doc);
	if (want_kvm < 0)
		want_kvm = pr.verdict != VERDICT_TCG_ONLY && !strcmp(guest_arch, u.machine);
	/* big.LITTLE: pin to the cluster the probe recommends (the most compute
	 * in total), and give the guest no more vCPUs than it has. */
	if (pr.host.cluster_count > 1) {
		const struct cluster *cl = &pr.host.clusters[pr.host.pin_cluster];
		c.pin_cpus = cl->cpus;
		if (c.cpus > (int)cl->count)
			c.cpus = (int)cl->count;
	}
	/* Under KVM an arm64 guest gets the GIC the host can virtualize. */
	const struct check *gicv = probe_find(&pr, "gic.version");
	if (gicv && !strcmp(u.machine, "aarch64"))
		c.gic = kq_startswith(gicv->value, "v3") || kq_startswith(gicv->value, "v4") ? "3"
			: !strcmp(gicv->value, "v2") ? "2" : NULL;
	const struct check *mode = probe_find(&pr, "kvm.mode");
	char kvm_hint[600] = "";
	if (mode && mode->status != CHECK_PASS && mode->hint)
		snprintf(kvm_hint, sizeof(kvm_hint), " (probe: kvm.mode %s: %s)", mode->value, mode->hint);

	int recovered = 0;
	c.store = store_open(db, &recovered, &err);
	if (!c.store) {
		fprintf(stderr, "kvmqual run: %s\n", err.msg);
		return 2;
	}
	if (recovered && !json)
		fprintf(stderr, "kvmqual run: %d earlier run%s in %s had been cut off (now marked interrupted)\n",
			recovered, recovered == 1 ? "" : "s", db);
	struct kq_buf cmdline;
	kq_buf_init(&cmdline);
	kq_buf_printf(&cmdline, "kvmqual");
	for (int i = 0; i < argc; i++)
		kq_buf_printf(&cmdline, " %s", argv[i]);
	char *qver = qemu_version(guest_arch);
	struct store_host host = { .arch = pr.host.arch, .model = pr.host.model, .soc = pr.host.soc,
				   .kernel_release = pr.host.kernel_release, .page_size = pr.host.page_size };
	struct store_run_info info = { .profile = prof->name, .suite_version = SUITE_VERSION,
				       .qemu_version = qver, .guest_image_hash = hash,
				       .command_line = cmdline.data, .probe_json = probe_text };
	c.run_id = store_begin_run(c.store, &host, &info, &err);
	if (c.run_id < 0) {
		fprintf(stderr, "kvmqual run: %s\n", err.msg);
		store_close(c.store);
		return 2;
	}
	struct store_check *checks = kq_xcalloc(pr.check_count, sizeof(*checks));
	for (size_t i = 0; i < pr.check_count; i++)
		checks[i] = (struct store_check){ pr.checks[i].id, check_status_name(pr.checks[i].status),
						  pr.checks[i].value, pr.checks[i].detail, pr.checks[i].hint };
	if (store_add_checks(c.store, c.run_id, checks, pr.check_count, &err))
		fprintf(stderr, "kvmqual run: %s\n", err.msg);
	free(checks);

	struct sigaction sa = { .sa_handler = on_stop };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	/* Scratch space: a file for fio natively and a raw disk for the guest,
	 * next to the database (results/ is on a real disk; /tmp may be tmpfs,
	 * which refuses O_DIRECT). */
	char *dbdir = kq_xstrdup(db);
	char *slash = strrchr(dbdir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(dbdir, strlen(dbdir) + 1, ".");
	/* Scratch files of runs killed outright (SIGKILL) are removed here. */
	stale_cleanup(dbdir, "kvmqual-scratch");
	int scratch_ok = make_file(c.native_target, sizeof(c.native_target), dbdir, prof->fio_mib + 16) == 0 &&
			 make_file(c.disk_path, sizeof(c.disk_path), dbdir, prof->fio_mib + 16) == 0;
	if (!scratch_ok) {
		note_failure(&c, "scratch files in %s: %s", dbdir, strerror(errno));
	} else if (supports_direct(c.disk_path)) {
		c.disk_opts = "cache=none,aio=native";
	} else {
		c.disk_opts = "cache=writeback,aio=threads";
		c.disk_fallback = 1;
	}
	c.steps_total = nsteps * (1 + want_tcg + want_kvm) + want_tcg + want_kvm;

	if (scratch_ok)
		run_all_steps(&c, NULL, "native", 0);
	/* TCG, then KVM with a boot timeout taken from TCG's boot: a guest that
	 * has not come up under KVM in three times what emulation needed never
	 * will (a PVM host runs stock kernels into a hang). */
	int tcg_ok = 0, kvm_ok = 0;
	/* On a host that is itself emulated (the ARM64 lab, docs/lab.md) TCG
	 * is emulation inside emulation: a boot takes 30 to 60 s there, and
	 * more than 120 s when the machine under it is busy. */
	int tcg_timeout_ms = pr.host.emulated ? 600000 : 120000;
	if (want_tcg && scratch_ok && !stop_requested)
		tcg_ok = accel_run(&c, "tcg", tcg_timeout_ms, &c.boot_ms[0]) == 0;
	if (want_kvm && scratch_ok && !stop_requested) {
		int timeout = isnan(c.boot_ms[0]) ? 60000 : (int)fmax(10000, 3 * c.boot_ms[0]);
		size_t before = c.failures.len;
		kvm_ok = accel_run(&c, "kvm", timeout, &c.boot_ms[1]) == 0;
		if (!kvm_ok && kvm_hint[0] && c.failures.len > before)
			kq_buf_printf(&c.failures, "%s", kvm_hint);
	}
	if (c.tty && !json)
		fprintf(stderr, "\r\033[K");
	if (c.native_target[0])
		unlink(c.native_target);
	if (c.disk_path[0])
		unlink(c.disk_path);

	cJSON *summary = cJSON_CreateObject();
	cJSON_AddStringToObject(summary, "schema", "kvmqual.run-summary");
	cJSON_AddNumberToObject(summary, "schema_version", 1);
	cJSON_AddNumberToObject(summary, "run", (double)c.run_id);
	cJSON_AddStringToObject(summary, "db", db);
	cJSON_AddStringToObject(summary, "profile", prof->name);
	cJSON_AddStringToObject(summary, "guest_image_hash", hash);
	cJSON_AddStringToObject(summary, "probe_verdict", verdict_name(pr.verdict));
	cJSON_AddNumberToObject(summary, "vcpus", c.cpus);
	if (c.pin_cpus)
		cJSON_AddStringToObject(summary, "pinned_to_cpus", c.pin_cpus);
	/* The harness's own cost: its CPU time against the run's wall time. */
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double self_cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
			  (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	double wall = (double)(kq_now_ns() - c.start_ns) / 1e9;
	cJSON_AddNumberToObject(summary, "wall_s", wall);
	cJSON_AddNumberToObject(summary, "runner_cpu_s", self_cpu);
	cJSON *boot = cJSON_AddObjectToObject(summary, "boot_ms");
	add_boot(boot, "tcg", want_tcg, c.boot_ms[0]);
	add_boot(boot, "kvm", want_kvm, c.boot_ms[1]);
	speedups(&c, summary);
	judge(&c, targets, ntargets, summary);
	if (c.until_stable)
		stability_report(&c, summary);

	enum store_run_status status = stop_requested ? STORE_RUN_INTERRUPTED
				       : c.failures.len ? STORE_RUN_INCOMPLETE : STORE_RUN_COMPLETE;
	if (stop_requested)
		kq_buf_printf(&c.failures, "%sinterrupted by signal %d", c.failures.len ? "; " : "", (int)stop_requested);
	else if (!tcg_ok && !kvm_ok)
		status = STORE_RUN_FAILED;
	if (store_finish_run(c.store, c.run_id, status, c.failures.len ? c.failures.data : NULL, &err))
		fprintf(stderr, "kvmqual run: %s\n", err.msg);
	cJSON_AddStringToObject(summary, "status", store_run_status_name(status));
	if (c.failures.len)
		cJSON_AddStringToObject(summary, "reason", c.failures.data);
	if (json) {
		char *text = cJSON_Print(summary);
		printf("%s\n", text);
		free(text);
	} else {
		print_summary(summary);
		printf("stored as run %lld in %s\n", (long long)c.run_id, db);
	}
	int rc = stop_requested ? 128 + (int)stop_requested
		 : status == STORE_RUN_COMPLETE ? 0 : status == STORE_RUN_INCOMPLETE ? 1 : 2;
	cJSON_Delete(summary);
	store_close(c.store);
	cJSON_Delete(probe_doc);
	free(probe_text);
	probe_free(&pr);
	hostfs_close(fs);
	free(c.col);
	free(c.stab);
	kq_buf_free(&c.failures);
	kq_buf_free(&cmdline);
	free(qver);
	free(hash);
	free(targets);
	free(image_buf);
	free(targets_buf);
	free(dbdir);
	free(stream_path);
	free(dir);
	return rc;
}
