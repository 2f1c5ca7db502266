/* One step of a plan run once, in a guest or natively: see step.h. */
#define _GNU_SOURCE
#include "step.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../workloads/workload.h"
#include "conditions.h"
#include "hostserver.h"
#include "native.h"
#include "netns.h"

const struct step *step_find(const char *label)
{
	for (size_t i = 0; i < run_plan_count; i++)
		if (!strcmp(run_plan[i].label, label))
			return &run_plan[i];
	return NULL;
}

static void params_for(const struct step_env *env, const struct step *s, int in_guest, int port,
		       struct workload_params *p)
{
	workload_params_default(p);
	p->threads = s->one_thread ? 1 : env->cpus;
	p->duration_s = env->duration_s;
	p->size_mib = env->fio_mib;
	p->target = in_guest ? "/dev/kqscratch" : env->native_target;
	p->ioengine = "psync";
	p->iodepth = 1;
	p->server = s->tap ? NETNS_HOST_IP : in_guest ? "10.0.2.2" : "127.0.0.1";
	/* Behind QEMU's user network 10.0.2.2 is the host's loopback. */
	p->server_bind = s->tap ? NETNS_HOST_IP : "127.0.0.1";
	p->port = port;
	p->elements = env->stream_elements;
	p->passes = env->stream_passes;
}

void step_result_free(struct step_result *r)
{
	free(r->conditions);
	r->conditions = NULL;
	r->count = 0;
}

int step_exec(const struct step_env *env, struct guest *g, const char *where, const struct step *s,
	      struct step_result *res, char *why, size_t why_size)
{
	memset(res, 0, sizeof(*res));
	const struct workload *w = workload_find(s->workload);
	if (!w) {
		snprintf(why, why_size, "%s: no such workload", s->workload);
		return -1;
	}
	/* A port the kernel has free (in a namespace of our own any is). */
	int port = w->server_argv ? hostserver_free_port() : 0;
	struct workload_params p;
	params_for(env, s, g != NULL, port, &p);
	char err[256];
	char **argv = w->argv(&p, err, sizeof(err));
	if (!argv) {
		snprintf(why, why_size, "%s: %s", s->label, err);
		return -1;
	}
	/* Natively, the project's own tools (STREAM) are the ones make built
	 * next to this binary, the same code the guest runs: a `stream` on
	 * PATH may be another program altogether (ImageMagick ships one). */
	if (!g && env->bin_dir) {
		char *local = kq_xasprintf("%s/%s", env->bin_dir, argv[0]);
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
	/* The client starts once the server listens: a busy host may take
	 * longer than any fixed pause to get it there. */
	pid_t server = -1;
	if (w->server_argv) {
		char **sargv = w->server_argv(&p, err, sizeof(err));
		struct kq_err lerr;
		int src = sargv ? hostserver_start(sargv, s->tap ? env->netns : NULL, port, 30000, &server, &lerr) : -1;
		workload_argv_free(sargv);
		if (src) {
			workload_argv_free(argv);
			snprintf(why, why_size, "%s (%s): %s", s->label, where, sargv ? lerr.msg : err);
			return -1;
		}
	}
	/* What the sample costs the host: QEMU's CPU time (its vhost-net
	 * workers with it) or the native tool's, the server's, and energy. */
	int vhost = s->tap && env->vhost;
	double qemu_cpu0 = g ? cost_process_cpu_s("/", g->pid, vhost) : 0;
	struct host_conditions before, after;
	conditions_sample("/", &before);
	if (env->meter)
		energy_meter_start(env->meter);
	struct agent_result r;
	struct kq_err xerr;
	int timeout_ms = (env->duration_s * 6 + 60) * 1000;
	/* A guest on a host that QEMU itself emulates (the ARM64 lab) is
	 * emulation inside emulation: its tools start and stop as slowly as it
	 * boots, so its steps get the same five-fold time as its boot
	 * (cmd_run.c); on a busy machine the plain limit cut off sysbench. */
	if (g && env->host_emulated)
		timeout_ms *= 5;
	int rc = g ? agent_exec(&g->agent, (const char *const *)argv, timeout_ms, &r, &xerr)
		   : native_exec((const char *const *)argv, timeout_ms, &r, &xerr);
	struct energy_sample energy;
	memset(&energy, 0, sizeof(energy));
	if (env->meter)
		energy_meter_stop(env->meter, &energy);
	else
		snprintf(energy.why, sizeof(energy.why), "no energy meter in this command");
	double cpu_s = g ? cost_process_cpu_s("/", g->pid, vhost) - qemu_cpu0 : rc ? 0 : r.cpu_s;
	conditions_sample("/", &after);
	cpu_s += hostserver_stop(server);
	if (g && qemu_cpu0 < 0)
		cpu_s = -1;
	workload_argv_free(argv);
	if (rc) {
		snprintf(why, why_size, "%s (%s): %s", s->label, where, xerr.msg);
		return -1;
	}
	if (r.timed_out || r.exit_code != 0) {
		snprintf(why, why_size, "%s (%s): %s%d; %.200s", s->label, where,
			 r.timed_out ? "timed out, exit " : "exit ", r.exit_code, r.err_len ? (char *)r.err : "");
		agent_result_free(&r);
		return -1;
	}
	struct metric_value m[STEP_MAX_METRICS];
	/* stress-ng reports on stderr. */
	const char *report = (const char *)(w->report_on_stderr ? r.err : r.out);
	size_t report_len = w->report_on_stderr ? r.err_len : r.out_len;
	int n = w->parse(report, report_len, m, STEP_MAX_METRICS, err, sizeof(err));
	cost_result_make(w, report, report_len, cpu_s, &energy, &res->cost);
	agent_result_free(&r);
	if (n < 0) {
		snprintf(why, why_size, "%s (%s): output not understood: %s", s->label, where, err);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		struct step_metric *k = &res->m[res->count++];
		k->metric = m[i].metric;
		k->unit = m[i].unit;
		k->value = m[i].value;
		k->higher_is_better = 1;
		for (size_t j = 0; j < w->metric_count; j++)
			if (!strcmp(w->metrics[j].metric, m[i].metric))
				k->higher_is_better = w->metrics[j].higher_is_better;
	}
	res->throttled = conditions_throttled(&before, &after);
	cJSON *cond = conditions_json(&after);
	res->conditions = cJSON_PrintUnformatted(cond);
	cJSON_Delete(cond);
	return 0;
}
