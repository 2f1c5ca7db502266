/* kvmqual ab: two configurations of the guest compared in one session.
 * Options, the arms from --a and --b, their check before anything runs,
 * the experiment, its output and the exit code (compare's: 0 nothing got
 * worse, 1 a regression of B or B failed, 2 usage errors or A failed). */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "context.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kvmqual ab --a SPEC --b SPEC [--workloads LIST] [--rounds N | [--min-rounds N]\n"
		"                  [--max-rounds N] [--budget S] [--stable-ci PCT]] [--threshold PCT] [--reruns N]\n"
		"                  [--boot-every N] [--accel kvm|tcg] [--guest-arch ARCH] [--image DIR] [--cpus N]\n"
		"                  [--profile quick|standard|full] [--isolate] [--db FILE] [--lock-wait S] [--json]\n"
		"                  [--junit FILE]\n"
		"\n"
		"Compares two configurations of the benchmark guest in one session: rounds of A\n"
		"and B interleaved (A B, B A, A B, ...), so that the host's drift hits both alike.\n"
		"A SPEC is KEY=VALUE items separated by ';' (--a and --b may be repeated):\n"
		"  qemu=BINARY  image=DIR  append=KERNEL-ARGS  opts='QEMU OPTIONS'  cpus=N  mem=MB\n"
		"  pin=none|LIST|all:LIST|each:LIST (vCPU threads)  affinity=LIST|none (QEMU)\n"
		"  cgroup=DIR  disk=DRIVE-OPTIONS  net=user|tap|vhost  name=LABEL\n"
		"  hugepages=SIZE|off (guest RAM on huge pages of SIZE: 2M, 64K, 32M; reserve them\n"
		"  first, e.g. echo 256 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages\n"
		"  for a 512 MiB guest; the page size is verified in QEMU's smaps at each boot);\n"
		"  'default' (or nothing) is the suite's guest.\n"
		"--workloads: boot and kvmqual run's workloads (default boot,sysbench-cpu-1t,\n"
		"sysbench-cpu,stream).  Rounds: --rounds N a side, or adaptive: at least\n"
		"--min-rounds (8), until the 95 %% interval of every change is within --stable-ci\n"
		"(half the threshold), at most --max-rounds (30), within --budget seconds (900).\n"
		"A change counts when the Wilcoxon signed-rank test of the round pairs gives\n"
		"p < 0.01 and it exceeds --threshold (2 %%); it is measured again (--reruns, 1;\n"
		"adaptive: at least the first pass's rounds, then the same rule) and counts only\n"
		"when found again.  A fresh guest boots every --boot-every rounds\n"
		"(1).  --isolate runs the arms' QEMU in a CPU cgroup of the highest weight, so that\n"
		"the machine's other load disturbs them less (it gets less CPU meanwhile; root).\n"
		"Results go into the database (default results/kvmqual.db); a write waits up to\n"
		"--lock-wait seconds (600) for another process's lock on it.  A result that cannot\n"
		"be stored (a full disk, the lock held longer) stops the session: it is stored as\n"
		"failed with the reason, what was stored before stays, exit 2.\n"
		"Exit status: 0 B is not worse, 1 B regressed (or failed), 2 usage errors, a SPEC\n"
		"that cannot run (checked before anything runs), A failed, or the store did not\n"
		"take a result; 129/130/143 interrupted (SIGHUP, SIGINT, SIGTERM).\n");
}

int cmd_ab(int argc, char **argv)
{
	struct ab_options o;
	ab_options_default(&o);
	struct ab_arm arms[2];
	memset(arms, 0, sizeof(arms));
	snprintf(arms[0].name, sizeof(arms[0].name), "A");
	snprintf(arms[1].name, sizeof(arms[1].name), "B");
	static const struct option own[] = {
		{ "a", required_argument, NULL, 'a' },
		{ "b", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct option *table = ab_options_table(own);
	int given[2] = { 0, 0 }, ch, rc = 0;
	optind = 1;
	while (!rc && (ch = getopt_long(argc, argv, "h", table, NULL)) != -1) {
		if (ch == 'a' || ch == 'b') {
			struct kq_err err;
			given[ch == 'b'] = 1;
			if (ab_arm_parse(&arms[ch == 'b'], optarg, &err)) {
				fprintf(stderr, "kvmqual ab: --%c '%s': %s\n", ch, optarg, err.msg);
				rc = 2;
			}
		} else {
			rc = ab_option_or_usage(&o, ch, optarg, "ab", usage);
		}
	}
	free(table);
	if (!rc && (!given[0] || !given[1])) {
		fprintf(stderr, "kvmqual ab: both --a and --b are needed ('--a default' for the suite's guest)\n");
		rc = 2;
	}
	if (!rc && optind < argc) {
		fprintf(stderr, "kvmqual ab: unexpected argument '%s'\n", argv[optind]);
		rc = 2;
	}
	if (!rc && !strcmp(arms[0].name, arms[1].name)) {
		fprintf(stderr, "kvmqual ab: both arms are named '%s'\n", arms[0].name);
		rc = 2;
	}
	struct ab_experiment x;
	memset(&x, 0, sizeof(x));
	snprintf(x.setting, sizeof(x.setting), "ab");
	struct kq_err err;
	if (!rc && ab_plan_parse(&x.plan, o.workloads ? o.workloads : "boot,sysbench-cpu-1t,sysbench-cpu,stream", &err)) {
		fprintf(stderr, "kvmqual ab: --workloads: %s\n", err.msg);
		rc = 2;
	}
	if (rc) {
		ab_arm_free(&arms[0]);
		ab_arm_free(&arms[1]);
		return rc < 0 ? 0 : rc;
	}
	x.arms = kq_xcalloc(2, sizeof(*x.arms));
	x.arms[0] = arms[0];
	x.arms[1] = arms[1];
	x.narms = 2;
	for (size_t a = 0; a < 2; a++) {
		char what[300];
		ab_arm_describe(&x.arms[a], what, sizeof(what));
		snprintf(x.arms[a].fragment, sizeof(x.arms[a].fragment), "%s", what);
	}

	if (isnan(o.budget_s))
		o.budget_s = 900;
	if (o.boot_every < 0)
		o.boot_every = 1;
	struct ab_context c;
	struct ab_env env;
	rc = ab_context_init(&c, &o, "ab", &env);
	for (size_t i = 0; !rc && i < x.plan.nsteps; i++)
		env.need_disk |= !strncmp(x.plan.steps[i]->workload, "fio", 3);
	snprintf(x.title, sizeof(x.title), "kvmqual ab: %s against %s (%s, %s guest)", x.arms[1].name, x.arms[0].name,
		 env.accel ? env.accel : "-", c.guest_arch);
	if (!rc)
		rc = ab_context_isolate(&c, &o, &env);
	/* Everything an arm needs, QEMU's acceptance included, before a
	 * single round: a bad SPEC costs seconds, not half an experiment. */
	if (!rc && ab_check_arms(&env, &x, &err)) {
		fprintf(stderr, "kvmqual ab: %s\n", err.msg);
		rc = 2;
	}
	if (!rc)
		rc = ab_context_open(&c, &o, &env, argc, argv);
	if (rc) {
		ab_context_close(&c);
		ab_experiment_free(&x);
		return rc;
	}
	ab_context_catch_stops(&c);

	if (ab_run(&env, &x, &err)) {
		fprintf(stderr, "kvmqual ab: %s\n", err.msg);
		rc = 2;
	}
	size_t regressions = 0, inconclusive = 0;
	for (size_t i = 0; i < x.nresults; i++) {
		regressions += x.results[i].final.decision == AB_WORSE;
		inconclusive += x.results[i].final.decision == AB_INCONCLUSIVE;
	}
	/* The verdict, in one line. */
	char verdict[1400];
	if (x.status == AB_STORE_FAILED)
		snprintf(verdict, sizeof(verdict), "failed: %s", x.reason);
	else if (x.status == AB_INTERRUPTED)
		snprintf(verdict, sizeof(verdict), "interrupted: %s", x.reason);
	else if (x.arms[0].failed)
		snprintf(verdict, sizeof(verdict), "no decision: the reference %s failed: %s", x.arms[0].name,
			 x.arms[0].why);
	else if (x.arms[1].failed)
		snprintf(verdict, sizeof(verdict), "%s failed where %s ran: %s", x.arms[1].name, x.arms[0].name,
			 x.arms[1].why);
	else if (regressions)
		snprintf(verdict, sizeof(verdict), "%s is worse than %s: %zu regression%s", x.arms[1].name, x.arms[0].name,
			 regressions, regressions == 1 ? "" : "s");
	else if (inconclusive == x.nresults)
		snprintf(verdict, sizeof(verdict), "no decision: %d round%s a side are too few for p < %g (run more rounds)",
			 x.rounds, x.rounds == 1 ? "" : "s", env.rule.alpha);
	else
		snprintf(verdict, sizeof(verdict), "%s is not worse than %s (beyond %g %%, p < %g)", x.arms[1].name,
			 x.arms[0].name, env.rule.threshold_pct, env.rule.alpha);
	if (!rc) {
		enum store_run_status st = x.status == AB_INTERRUPTED ? STORE_RUN_INTERRUPTED
					   : x.status == AB_FAILED_ARM ? STORE_RUN_FAILED : STORE_RUN_COMPLETE;
		/* The end of the session is a result too: not stored, exit 2. */
		int stored = ab_finish_experiment(&env, &x, &err) == 0 &&
			     store_ab_finish(c.store, env.session_id, st, x.reason[0] ? x.reason : NULL, NULL, &err) == 0;
		if (!stored)
			fprintf(stderr, "kvmqual ab: %s; the session stays 'running' in %s until the next writer there marks"
					" it interrupted\n", err.msg, o.db);
		rc = !stored ? 2 : c.stop ? 128 + (int)c.stop : x.arms[0].failed ? 2 : x.arms[1].failed || regressions ? 1 : 0;
	} else if (x.status == AB_STORE_FAILED) {
		ab_context_store_failed(&c, &env, &x, x.reason, o.db);
	}
	if (o.json) {
		cJSON *doc = ab_document("ab", o.db, &env, c.guest_arch);
		cJSON *xs = cJSON_AddArrayToObject(doc, "experiments");
		cJSON_AddItemToArray(xs, ab_experiment_json(&env, &x));
		cJSON_AddStringToObject(doc, "verdict", verdict);
		cJSON_AddNumberToObject(doc, "exit_status", rc);
		if (x.status == AB_STORE_FAILED)
			cJSON_AddStringToObject(doc, "error", x.reason);
		else
			cJSON_AddNullToObject(doc, "error");
		ab_print_document(doc);
	} else {
		ab_print_table(stdout, &env, &x);
		printf("\nverdict: %s\nstored as A/B session %lld in %s\n", verdict, (long long)env.session_id, o.db);
	}
	if (o.junit) {
		const struct ab_experiment *xs[] = { &x };
		if (ab_write_junit(o.junit, xs, 1, &err)) {
			fprintf(stderr, "kvmqual ab: %s\n", err.msg);
			if (rc == 0)
				rc = 2;
		}
	}
	ab_context_close(&c);
	ab_experiment_free(&x);
	return rc;
}
