/* kvmqual tune: an A/B experiment for each setting this host can vary, and
 * the QEMU command line that came out best, with how sure that is.
 * --plan prints the settings and arms without running anything (with
 * --sysroot, for a snapshot of another host, such as a phone's). */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../runners/setup.h"
#include "context.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kvmqual tune [--settings LIST] [--profile quick|standard|full] [--budget S]\n"
		"                    [--accel kvm|tcg] [--guest-arch ARCH] [--image DIR] [--cpus N] [--db FILE]\n"
		"                    [--json] [--junit FILE] [--rounds N | --min-rounds N --max-rounds N]\n"
		"                    [--threshold PCT] [--reruns N] [--boot-every N] [--isolate] [--lock-wait S]\n"
		"       kvmqual tune --plan [--sysroot SNAPSHOT] [--json]\n"
		"\n"
		"Runs a same-session A/B experiment (kvmqual ab) for each setting this host can\n"
		"vary, then recommends the QEMU command line and says how sure it is:\n"
		"  pinning    vCPU threads pinned to each CPU cluster against free (big.LITTLE),\n"
		"             or each vCPU on a host CPU of its own against free\n"
		"  vcpus      the guest's vCPU count\n"
		"  aio        the disk's AIO: threads, native, io_uring (cache=none)\n"
		"  vhost      vhost-net on or off (tap networking; root, /dev/vhost-net)\n"
		"  hugepages  guest memory on huge pages (2M; 64K, 32M where offered), or not:\n"
		"             each size whose free pages hold the guest (reserve them first)\n"
		"A setting the host cannot vary is skipped with the reason.  --settings picks\n"
		"some (comma-separated).  --budget bounds the whole (seconds; quick 480,\n"
		"standard 1800, full 3600), shared among the settings.  --plan prints the\n"
		"settings and their arms and runs nothing; --sysroot takes the host from a\n"
		"probe snapshot (probe --capture) instead of this one.\n"
		"A result that cannot be stored (a full disk, another process's lock held past\n"
		"--lock-wait, 600 s) stops the session, stored as failed with the reason.\n"
		"Exit status: 0 every setting was tried or skipped with its reason, 1 a setting's\n"
		"reference configuration failed, 2 usage errors or a result not stored, 129/130/143\n"
		"interrupted.\n");
}

/* What tune needs to know of the host, from the probe (and the live
 * system's devices unless it is a snapshot). */
static void tune_host_from(struct tune_host *h, const struct probe *pr, const struct hostfs *fs, int live,
			   const char *guest_arch, const char *accel, int vcpus, int mem_mb, const char *scratch_dir)
{
	memset(h, 0, sizeof(*h));
	h->guest_arch = guest_arch;
	h->accel = accel;
	h->vcpus = vcpus;
	h->mem_mb = mem_mb;
	tune_host_hugepages(h, fs);
	h->online_cpus = (int)pr->host.cpus;
	if (h->online_cpus < 1)
		h->online_cpus = live ? (int)sysconf(_SC_NPROCESSORS_ONLN) : 1;
	h->cluster_count = pr->host.cluster_count;
	h->clusters = pr->host.clusters;
	h->pin_cluster = pr->host.pin_cluster;
	h->can_tap = live ? geteuid() == 0 && access("/dev/net/tun", R_OK | W_OK) == 0 : hostfs_exists(fs, "dev/net/tun");
	h->can_vhost = live ? access("/dev/vhost-net", R_OK | W_OK) == 0 : hostfs_exists(fs, "dev/vhost-net");
	if (!h->can_tap)
		snprintf(h->vhost_why, sizeof(h->vhost_why), "tap networking needs root and /dev/net/tun");
	else if (!h->can_vhost) {
		const struct check *c = probe_find(pr, "kconfig.VHOST_NET");
		snprintf(h->vhost_why, sizeof(h->vhost_why), "no /dev/vhost-net here%s%s%s",
			 c && c->value && !strcmp(c->value, "n") ? " (the kernel is built without CONFIG_VHOST_NET)" : "",
			 c && c->value && !strcmp(c->value, "m") ? " (modprobe vhost_net)" : "", "");
	}
	if (live && scratch_dir) {
		/* A scratch file where the experiments put theirs. */
		char path[4096];
		volatile sig_atomic_t never = 0;
		if (setup_scratch_file(path, sizeof(path), scratch_dir, 1, &never) == 0) {
			h->o_direct = setup_supports_direct(path);
			unlink(path);
		}
	} else {
		h->o_direct = 1;
	}
}

static void print_plan(FILE *out, const struct ab_experiment *xs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct ab_experiment *x = &xs[i];
		fprintf(out, "%-10s %s\n", x->setting, x->title);
		if (x->status == AB_SKIPPED) {
			fprintf(out, "           skipped: %s\n", x->reason);
			continue;
		}
		for (size_t a = 0; a < x->narms; a++) {
			char what[600];
			ab_arm_describe(&x->arms[a], what, sizeof(what));
			fprintf(out, "           %-14s %s%s\n", x->arms[a].name, what, a == 0 ? "  (reference)" : "");
		}
		if (x->reason[0])
			fprintf(out, "           note: %s\n", x->reason);
	}
}

static cJSON *plan_json(const struct ab_experiment *xs, size_t n)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++) {
		const struct ab_experiment *x = &xs[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "setting", x->setting);
		cJSON_AddStringToObject(o, "title", x->title);
		cJSON_AddStringToObject(o, "status", x->status == AB_SKIPPED ? "skipped" : "planned");
		/* A planned setting's reason is a note (huge page sizes left out). */
		if (x->reason[0])
			cJSON_AddStringToObject(o, "reason", x->reason);
		else
			cJSON_AddNullToObject(o, "reason");
		cJSON *arms = cJSON_AddArrayToObject(o, "arms");
		for (size_t a = 0; a < x->narms; a++) {
			cJSON *arm = cJSON_CreateObject();
			char what[600];
			ab_arm_describe(&x->arms[a], what, sizeof(what));
			cJSON_AddStringToObject(arm, "name", x->arms[a].name);
			cJSON_AddStringToObject(arm, "changes", what);
			cJSON_AddStringToObject(arm, "affinity", x->arms[a].affinity ? x->arms[a].affinity : "");
			char pin[160];
			vcpu_pin_format(&x->arms[a].pin, pin, sizeof(pin));
			cJSON_AddStringToObject(arm, "pin", pin);
			cJSON_AddStringToObject(arm, "fragment", x->arms[a].fragment);
			cJSON_AddItemToArray(arms, arm);
		}
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

/* --plan: the settings and arms, nothing run, nothing written. */
static int plan_only(const struct ab_options *o, const char *sysroot, const char *only)
{
	struct kq_err err;
	struct hostfs *fs = sysroot ? hostfs_open_snapshot(sysroot, &err) : hostfs_open_live();
	if (!fs) {
		fprintf(stderr, "kvmqual tune: --sysroot %s: %s\n", sysroot, err.msg);
		return 2;
	}
	struct probe pr;
	struct probe_options popt = { .skip_smoke = sysroot != NULL };
	if (probe_run(&pr, fs, &popt, &err)) {
		fprintf(stderr, "kvmqual tune: probe: %s\n", err.msg);
		hostfs_close(fs);
		return 2;
	}
	const char *arch = o->guest_arch ? o->guest_arch : pr.host.arch;
	const char *accel = o->accel ? o->accel : pr.verdict != VERDICT_TCG_ONLY ? "kvm" : "tcg";
	int vcpus = o->cpus ? o->cpus : (int)pr.host.cpus;
	if (pr.host.cluster_count > 1 && !o->cpus && vcpus > (int)pr.host.clusters[pr.host.pin_cluster].count)
		vcpus = (int)pr.host.clusters[pr.host.pin_cluster].count;
	if (vcpus > 8)
		vcpus = 8;
	if (vcpus < 1)
		vcpus = 1;
	/* The profile's guest memory, which the huge pages must hold. */
	int mem_mb = 0;
	for (size_t i = 0; i < run_profile_count; i++)
		if (!strcmp(run_profiles[i].name, o->profile))
			mem_mb = run_profiles[i].guest_mem_mb;
	if (!mem_mb) {
		fprintf(stderr, "kvmqual tune: --profile takes quick, standard or full, not '%s'\n", o->profile);
		probe_free(&pr);
		hostfs_close(fs);
		return 2;
	}
	struct tune_host h;
	tune_host_from(&h, &pr, fs, !sysroot, arch, accel, vcpus, mem_mb, NULL);
	struct ab_experiment *xs;
	size_t n;
	int rc = 0;
	if (tune_settings(&h, only, &xs, &n, &err)) {
		fprintf(stderr, "kvmqual tune: --settings: %s\n", err.msg);
		rc = 2;
	} else if (o->json) {
		cJSON *doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "schema", "kvmqual.tune-plan");
		cJSON_AddNumberToObject(doc, "version", 1);
		cJSON_AddStringToObject(doc, "host", sysroot ? sysroot : "live");
		cJSON_AddStringToObject(doc, "guest_arch", arch);
		cJSON_AddStringToObject(doc, "accel", accel);
		cJSON_AddNumberToObject(doc, "vcpus", vcpus);
		cJSON_AddItemToObject(doc, "settings", plan_json(xs, n));
		ab_print_document(doc);
	} else {
		printf("kvmqual tune plan for %s (%s, %s guest, %d vCPU%s)\n", sysroot ? sysroot : "this host", accel, arch,
		       vcpus, vcpus == 1 ? "" : "s");
		print_plan(stdout, xs, n);
	}
	for (size_t i = 0; i < n; i++)
		ab_experiment_free(&xs[i]);
	free(xs);
	probe_free(&pr);
	hostfs_close(fs);
	return rc;
}

/* Each arm checked on its own: an arm QEMU refuses (aio=io_uring without
 * io_uring, say) leaves the setting with the others; a refused reference
 * skips the setting. */
static void check_arms(const struct ab_env *env, struct ab_experiment *x)
{
	struct kq_buf dropped;
	kq_buf_init(&dropped);
	for (size_t a = 0; a < x->narms && x->status != AB_SKIPPED;) {
		struct ab_experiment one = *x;
		one.arms = &x->arms[a];
		one.narms = 1;
		struct kq_err err;
		if (!ab_check_arms(env, &one, &err)) {
			a++;
			continue;
		}
		if (a == 0) {
			snprintf(x->reason, sizeof(x->reason), "the reference cannot run here: %s", err.msg);
			x->status = AB_SKIPPED;
			break;
		}
		kq_buf_printf(&dropped, "%s%s", dropped.len ? "; " : "", err.msg);
		ab_arm_free(&x->arms[a]);
		memmove(&x->arms[a], &x->arms[a + 1], (x->narms - a - 1) * sizeof(*x->arms));
		x->narms--;
	}
	if (x->status != AB_SKIPPED && x->narms < 2) {
		snprintf(x->reason, sizeof(x->reason), "only the reference can run here: %s", dropped.data ? dropped.data : "");
		x->status = AB_SKIPPED;
	} else if (x->status != AB_SKIPPED && dropped.len) {
		snprintf(x->title + strlen(x->title), sizeof(x->title) - strlen(x->title), " (left out: %s)", dropped.data);
	}
	kq_buf_free(&dropped);
}

int cmd_tune(int argc, char **argv)
{
	struct ab_options o;
	ab_options_default(&o);
	const char *only = NULL, *sysroot = NULL;
	int plan = 0;
	static const struct option own[] = {
		{ "settings", required_argument, NULL, 's' },
		{ "plan", no_argument, NULL, 'P' },
		{ "sysroot", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct option *table = ab_options_table(own);
	int ch, rc = 0;
	optind = 1;
	while (!rc && (ch = getopt_long(argc, argv, "h", table, NULL)) != -1) {
		if (ch == 's')
			only = optarg;
		else if (ch == 'P')
			plan = 1;
		else if (ch == 'S')
			sysroot = optarg;
		else
			rc = ab_option_or_usage(&o, ch, optarg, "tune", usage);
	}
	free(table);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (optind < argc) {
		fprintf(stderr, "kvmqual tune: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (sysroot && !plan) {
		fprintf(stderr, "kvmqual tune: --sysroot only goes with --plan (a snapshot cannot run guests)\n");
		return 2;
	}
	if (plan)
		return plan_only(&o, sysroot, only);
	if (o.workloads) {
		fprintf(stderr, "kvmqual tune: each setting has its own workloads; --workloads is kvmqual ab's\n");
		return 2;
	}
	if (isnan(o.budget_s))
		o.budget_s = !strcmp(o.profile, "quick") ? 480 : !strcmp(o.profile, "standard") ? 1800 : 3600;
	/* One guest per arm and pass: a boot per round would take most of a
	 * quick budget under TCG (docs/ab.md). */
	if (o.boot_every < 0)
		o.boot_every = 0;

	struct ab_context c;
	struct ab_env env;
	rc = ab_context_init(&c, &o, "tune", &env);
	struct tune_host h;
	struct ab_experiment *xs = NULL;
	size_t n = 0;
	struct kq_err err;
	if (!rc) {
		tune_host_from(&h, &c.pr, c.fs, 1, c.guest_arch, c.accel, env.cpus, env.mem_mb, c.dbdir);
		if (tune_settings(&h, only, &xs, &n, &err)) {
			fprintf(stderr, "kvmqual tune: --settings: %s\n", err.msg);
			rc = 2;
		}
	}
	if (!rc)
		rc = ab_context_isolate(&c, &o, &env);
	if (!rc)
		rc = ab_context_open(&c, &o, &env, argc, argv);
	if (rc) {
		for (size_t i = 0; i < n; i++)
			ab_experiment_free(&xs[i]);
		free(xs);
		ab_context_close(&c);
		return rc;
	}
	ab_context_catch_stops(&c);

	uint64_t start = kq_now_ns();
	size_t left = 0;
	for (size_t i = 0; i < n; i++)
		left += xs[i].status != AB_SKIPPED;
	int failed = 0;
	/* A result the store did not take ends the session (issue 13
	 * finding 3): the first such reason, and the experiment it hit. */
	char store_reason[1300] = "";
	struct ab_experiment *store_x = NULL;
	struct kq_buf recommendation;
	kq_buf_init(&recommendation);
	for (size_t i = 0; i < n; i++) {
		struct ab_experiment *x = &xs[i];
		struct ab_env e = env;
		e.need_disk = 0;
		for (size_t k = 0; k < x->plan.nsteps; k++)
			e.need_disk |= !strncmp(x->plan.steps[k]->workload, "fio", 3);
		if (x->status != AB_SKIPPED && !c.stop) {
			/* What is left of the budget, shared by the settings left. */
			double spent = (double)(kq_now_ns() - start) / 1e9;
			e.budget_s = fmax(30, (o.budget_s - spent) / (double)(left ? left : 1));
			left--;
			if (!o.json || env.tty)
				fprintf(stderr, "tune: %s (%zu arms, about %.0f s)%s%s\n", x->setting, x->narms, e.budget_s,
					x->reason[0] ? "; note: " : "", x->reason);
			check_arms(&e, x);
		}
		if (x->status == AB_SKIPPED || c.stop) {
			if (c.stop && x->status != AB_SKIPPED) {
				x->status = AB_SKIPPED;
				snprintf(x->reason, sizeof(x->reason), "not tried: interrupted");
			}
			if (ab_record_skipped(&e, x, &err)) {
				snprintf(store_reason, sizeof(store_reason), "results not stored: %s", err.msg);
				store_x = x;
			}
		} else {
			if (ab_run(&e, x, &err)) {
				fprintf(stderr, "kvmqual tune: %s\n", err.msg);
				rc = 2;
				if (x->status == AB_STORE_FAILED) {
					snprintf(store_reason, sizeof(store_reason), "%s", x->reason);
					store_x = x;
				}
				break;
			}
			tune_recommend(x, &e.rule);
			failed |= x->arms[0].failed;
			if (ab_finish_experiment(&e, x, &err)) {
				snprintf(store_reason, sizeof(store_reason), "results not stored: %s", err.msg);
				store_x = x;
			}
			if (x->recommended > 0)
				kq_buf_printf(&recommendation, "%s%s", recommendation.len ? "\n" : "",
					      x->arms[x->recommended].fragment);
		}
		if (!o.json) {
			ab_print_table(stdout, &e, x);
			if (x->recommended >= 0)
				printf("recommended for %s: %s (%s: %s)\n", x->setting, x->arms[x->recommended].fragment,
				       x->confidence, x->because);
			printf("\n");
			fflush(stdout);
		}
		if (store_reason[0])
			break;
	}
	if (store_reason[0]) {
		if (store_x->status != AB_STORE_FAILED) /* ab_run said its own */
			fprintf(stderr, "kvmqual tune: %s\n", store_reason);
		ab_context_store_failed(&c, &env, store_x, store_reason, o.db);
		rc = 2;
	} else {
		enum store_run_status st = c.stop ? STORE_RUN_INTERRUPTED : failed ? STORE_RUN_INCOMPLETE : STORE_RUN_COMPLETE;
		if (store_ab_finish(c.store, env.session_id, st, c.stop ? "interrupted" : NULL,
				    recommendation.len ? recommendation.data : NULL, &err)) {
			fprintf(stderr, "kvmqual tune: %s; the session stays 'running' in %s until the next writer there"
					" marks it interrupted\n", err.msg, o.db);
			rc = 2;
		}
	}
	if (!rc)
		rc = c.stop ? 128 + (int)c.stop : failed ? 1 : 0;
	double wall = (double)(kq_now_ns() - start) / 1e9;
	if (o.json) {
		cJSON *doc = ab_document("tune", o.db, &env, c.guest_arch);
		cJSON_AddNumberToObject(doc, "wall_s", wall);
		cJSON *arr = cJSON_AddArrayToObject(doc, "experiments");
		for (size_t i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, ab_experiment_json(&env, &xs[i]));
		cJSON_AddStringToObject(doc, "recommendation", recommendation.len ? recommendation.data : "");
		cJSON_AddNumberToObject(doc, "exit_status", rc);
		if (store_reason[0])
			cJSON_AddStringToObject(doc, "error", store_reason);
		else
			cJSON_AddNullToObject(doc, "error");
		ab_print_document(doc);
	} else {
		printf("kvmqual tune: %.0f s; recommended QEMU command line for this host:\n", wall);
		int any = 0;
		for (size_t i = 0; i < n; i++) {
			const struct ab_experiment *x = &xs[i];
			if (x->status == AB_SKIPPED)
				printf("  %-10s skipped: %s\n", x->setting, x->reason);
			else if (x->recommended >= 0)
				printf("  %-10s %s  [%s]\n", x->setting, x->arms[x->recommended].fragment, x->confidence);
			else
				printf("  %-10s no advice: %s\n", x->setting, x->because[0] ? x->because : x->reason);
			any |= x->recommended > 0;
		}
		if (!any)
			printf("  (nothing measured better than QEMU's defaults here)\n");
		printf("stored as A/B session %lld in %s\n", (long long)env.session_id, o.db);
	}
	if (o.junit) {
		const struct ab_experiment **ptrs = kq_xcalloc(n + 1, sizeof(*ptrs));
		for (size_t i = 0; i < n; i++)
			ptrs[i] = &xs[i];
		if (ab_write_junit(o.junit, ptrs, n, &err)) {
			fprintf(stderr, "kvmqual tune: %s\n", err.msg);
			if (!rc)
				rc = 2;
		}
		free(ptrs);
	}
	kq_buf_free(&recommendation);
	for (size_t i = 0; i < n; i++)
		ab_experiment_free(&xs[i]);
	free(xs);
	ab_context_close(&c);
	return rc;
}
