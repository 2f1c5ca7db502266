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
#include <unistd.h>

#include "../lib/json.h"
#include "../lib/number.h"
#include "../lib/stale.h"
#include "../lib/stats.h"
#include "../probe/probe.h"
#include "memory.h"
#include "native.h"
#include "run.h"
#include "runners.h"
#include "setup.h"

volatile sig_atomic_t run_stop_requested;

/* How long a write of the run waits for another process's lock on the
 * store (a sqlite3 shell, a second run) before the run fails: a sample
 * that took minutes to measure is worth waiting for. */
#define RUN_LOCK_WAIT_S 600

static void on_stop(int sig)
{
	/* A store failure stays the reason the run stopped. */
	if (run_stop_requested != RUN_STOP_STORE)
		run_stop_requested = sig;
}

/* ---- set-up ---- */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kvmqual run [--profile quick|standard|full] [--accel kvm,tcg] [--guest-arch ARCH]\n"
		"                   [--db FILE] [--image DIR] [--targets FILE] [--cpus N] [--json]\n"
		"                   [--workloads LIST] [--net auto|user|tap] [--iterations N]\n"
		"                   [--until-stable [--stable-ci PCT] [--stable-budget S] [--max-iterations N]]\n"
		"                   [--hugepages auto|off|SIZE[,SIZE]] [--balloon auto|on|off] [--cold-boot on|off]\n"
		"                   [--lock-wait S]\n"
		"\n"
		"Probes the host, runs the workloads natively, then boots the guest under each\n"
		"accelerator (default: kvm and tcg where the probe finds KVM usable, tcg\n"
		"otherwise), measures boot time and runs the same workloads in it, judges the\n"
		"results against the targets and stores everything in the database\n"
		"(default results/kvmqual.db).  --json prints a machine summary.\n"
		"--workloads runs only these (vmm-memory, sysbench-cpu, sysbench-cpu-1t, stress-ng-cpu,\n"
		"stream, fio-seqread, fio-seqwrite, fio-randread, iperf3-h2g, iperf3-g2h, sockperf-rr,\n"
		"balloon, and with tap iperf3-h2g-tap, iperf3-g2h-tap, sockperf-rr-tap).  --net:\n"
		"user-mode networking always; tap (+ vhost-net) in a network namespace of its own\n"
		"as well: auto = where root and /dev/vhost-net.\n"
		"Every sample also records what it cost the host: CPU seconds (QEMU's threads and\n"
		"vhost workers, or the native tool, and its server), and energy where the probe\n"
		"found a sensor (host.energy), per unit of work.\n"
		"--hugepages: STREAM and sysbench again in a guest on huge pages of each SIZE (2M,\n"
		"64K, 32M, 1G), verified in QEMU's smaps; auto = the standard and full profiles, on\n"
		"each of 64K, 2M and 32M the host offers.  Sizes without enough reserved pages\n"
		"are skipped with the reason and how to reserve them.\n"
		"--balloon: inflate a virtio-balloon in the workload guest (QMP), timed, with\n"
		"QEMU's RSS before and after; auto = the standard and full profiles.\n"
		"--cold-boot: last under each accelerator, one boot after dropping the page cache (as\n"
		"root; otherwise only the image's files are evicted, and the sample says so).\n"
		"--iterations N: N samples per workload and N boots per accelerator (1-64)\n"
		"instead of the profile's.\n"
		"--until-stable: after those, more samples of each workload (and boots) until the\n"
		"95 %% confidence interval of every metric's median is within --stable-ci PCT of\n"
		"it (default 2), at most --max-iterations N (default 30), all within\n"
		"--stable-budget SECONDS of wall clock (default 600, shared among the steps);\n"
		"the summary and the stored verdicts say which metrics did not settle.\n"
		"--lock-wait S: how long a write waits for another process's lock on the\n"
		"database (default 600) before the run stops.\n"
		"A result that cannot be stored (a full disk, a lock held too long) stops the run:\n"
		"it ends failed with the reason, keeping what was stored before.\n"
		"Exit status: 0 when the run completed, 1 when it is incomplete (an accelerator\n"
		"or a workload failed, with the reason), 2 on usage errors, when nothing ran or\n"
		"when a result could not be stored, 129 / 130 / 143 when interrupted (SIGHUP,\n"
		"SIGINT, SIGTERM).\n");
}

static void add_boot(cJSON *boot, const char *name, int wanted, double ms)
{
	if (!wanted)
		return;
	kq_json_number_or_null(boot, name, ms);
}

/* --hugepages, --balloon, --cold-boot: the knobs kvmqual ab and tune turn
 * (issue 18).  0, or -1 with the message printed. */
static int parse_measure_options(struct run_ctx *c, const struct profile *prof, const char *hugepages,
				 const char *balloon, const char *cold_boot)
{
	if (!strcmp(cold_boot, "on") || !strcmp(cold_boot, "off")) {
		c->cold_boot = !strcmp(cold_boot, "on");
	} else {
		fprintf(stderr, "kvmqual run: --cold-boot takes on or off, not '%s'\n", cold_boot);
		return -1;
	}
	if (!strcmp(balloon, "auto") || !strcmp(balloon, "on") || !strcmp(balloon, "off")) {
		c->balloon = !strcmp(balloon, "on") || (!strcmp(balloon, "auto") && prof->balloon);
	} else {
		fprintf(stderr, "kvmqual run: --balloon takes auto, on or off, not '%s'\n", balloon);
		return -1;
	}
	if (!strcmp(hugepages, "off"))
		return 0;
	if (!strcmp(hugepages, "auto")) {
		/* 2 MB, and where the page size allows the contiguous ones: 64 KB
		 * and 32 MB (arm64 with 4K pages); what this kernel offers. */
		if (!prof->hugepages)
			return 0;
		long sizes[16];
		size_t n = memory_hugepage_sizes("/", sizes, 16);
		for (size_t i = 0; i < n && c->hugepage_count < KQ_ARRAY_SIZE(c->hugepage_kb); i++)
			if (sizes[i] == 64 || sizes[i] == 2048 || sizes[i] == 32768)
				c->hugepage_kb[c->hugepage_count++] = sizes[i];
		return 0;
	}
	char *copy = kq_xstrdup(hugepages);
	int rc = 0;
	for (char *t = strtok(copy, ","); t && !rc; t = strtok(NULL, ",")) {
		long kb = memory_parse_size_kb(t);
		if (kb <= 0 || c->hugepage_count >= KQ_ARRAY_SIZE(c->hugepage_kb)) {
			fprintf(stderr, "kvmqual run: --hugepages takes auto, off or up to 4 page sizes such as 2M,64K, not '%s'\n",
				hugepages);
			rc = -1;
		} else {
			c->hugepage_kb[c->hugepage_count++] = kb;
		}
	}
	free(copy);
	return rc;
}

int cmd_run(int argc, char **argv)
{
	const char *db = STORE_DEFAULT_PATH, *accel_opt = NULL, *guest_arch = NULL, *image = NULL,
		   *targets_path = NULL, *profile_name = "quick";
	int json = 0, cpus = 0, iterations = 0, until_stable = 0, max_iterations = 30, lock_wait_s = RUN_LOCK_WAIT_S;
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
		{ "hugepages", required_argument, NULL, 'H' },   { "balloon", required_argument, NULL, 'L' },
		{ "cold-boot", required_argument, NULL, 'K' },
		{ "lock-wait", required_argument, NULL, 'W' },
		{ NULL, 0, NULL, 0 },
	};
	const char *only = NULL, *net = "auto", *hugepages = "auto", *balloon = "auto", *cold_boot = "on";
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'w': only = optarg; break;
		case 'H': hugepages = optarg; break;
		case 'L': balloon = optarg; break;
		case 'K': cold_boot = optarg; break;
		case 'n': net = optarg; break;
		case 'U': until_stable = 1; break;
		case 'C':
		case 'B':
		case 'M':
		case 'I':
		case 'W':
		case 'c': {
			/* Every number strictly (lib/number.h): "2abc" is an error,
			 * not 2.  --stable-ci, --stable-budget and --max-iterations
			 * imply --until-stable. */
			struct kq_err nerr;
			long long n = 0;
			int bad = ch == 'C'   ? kq_opt_double("--stable-ci", optarg, 0, 100, 1, &stable_pct, &nerr)
				  : ch == 'B' ? kq_opt_double("--stable-budget", optarg, 0, 86400, 1, &stable_budget_s, &nerr)
				  : ch == 'M' ? kq_opt_int("--max-iterations", optarg, 1, 64, &n, &nerr)
				  : ch == 'I' ? kq_opt_int("--iterations", optarg, 1, 64, &n, &nerr)
				  : ch == 'W' ? kq_opt_int("--lock-wait", optarg, 1, 86400, &n, &nerr)
					      : kq_opt_int("--cpus", optarg, 1, 512, &n, &nerr);
			if (bad) {
				fprintf(stderr, "kvmqual run: %s\n", nerr.msg);
				return 2;
			}
			if (ch == 'M')
				max_iterations = (int)n;
			else if (ch == 'I')
				iterations = (int)n;
			else if (ch == 'c')
				cpus = (int)n;
			else if (ch == 'W')
				lock_wait_s = (int)n;
			if (ch != 'I' && ch != 'c' && ch != 'W')
				until_stable = 1;
			break;
		}
		case 'd': db = optarg; break;
		case 'a': accel_opt = optarg; break;
		case 'g': guest_arch = optarg; break;
		case 'i': image = optarg; break;
		case 't': targets_path = optarg; break;
		case 'p': profile_name = optarg; break;
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
	for (size_t i = 0; i < run_profile_count; i++)
		if (!strcmp(run_profiles[i].name, profile_name))
			prof = &run_profiles[i];
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
		/* Every comma-separated name must be one: "," or "tcg," names
		 * nothing, and a run of nothing is a usage error, not a failed
		 * run stored without a reason. */
		want_tcg = want_kvm = 0;
		char *copy = kq_xstrdup(accel_opt), *rest = copy;
		int bad = !*copy;
		for (char *a; !bad && (a = strsep(&rest, ","));) {
			if (!strcmp(a, "tcg"))
				want_tcg = 1;
			else if (!strcmp(a, "kvm"))
				want_kvm = 1;
			else
				bad = 1;
		}
		free(copy);
		if (bad) {
			fprintf(stderr, "kvmqual run: --accel takes kvm, tcg or kvm,tcg, not '%s'\n", accel_opt);
			return 2;
		}
		if (want_kvm == 1 && strcmp(guest_arch, u.machine)) {
			fprintf(stderr, "kvmqual run: KVM runs guests of the host's own architecture (%s), not %s\n",
				u.machine, guest_arch);
			return 2;
		}
	}
	/* Everything below is freed at out:, on every way out (LeakSanitizer
	 * checks the error paths too). */
	int rc = 2;
	char *dir = setup_self_dir();
	char *image_buf = NULL, *targets_buf = NULL, *hash = NULL, *stream_path = NULL, *probe_text = NULL;
	char *qver = NULL, *dbdir = NULL;
	struct target *targets = NULL;
	size_t ntargets = 0;
	struct run_ctx c;
	memset(&c, 0, sizeof(c));
	kq_buf_init(&c.failures);
	struct probe pr;
	memset(&pr, 0, sizeof(pr));
	struct hostfs *fs = NULL;
	cJSON *probe_doc = NULL, *summary = NULL;
	struct kq_buf cmdline;
	kq_buf_init(&cmdline);
	struct kq_err err;
	if (!image) {
		char *rel = kq_xasprintf("guest/%s", guest_arch), *inst = kq_xasprintf("lib/kvmqual/guest/%s", guest_arch);
		image = image_buf = setup_suite_path(dir, rel, inst);
		free(rel);
		free(inst);
	}
	if (!targets_path)
		targets_path = targets_buf = setup_suite_path(dir, "../runners/targets.conf", "share/kvmqual/targets.conf");
	if (targets_load(targets_path, &targets, &ntargets, &err)) {
		fprintf(stderr, "kvmqual run: %s\n", err.msg);
		goto out;
	}
	char hash_buf[128], image_arch[32];
	if (guest_image_info(image, image_arch, sizeof(image_arch), hash_buf, sizeof(hash_buf), &err)) {
		fprintf(stderr, "kvmqual run: %s\n", err.msg);
		goto out;
	}
	if (strcmp(image_arch, guest_arch)) {
		fprintf(stderr, "kvmqual run: %s is an image for %s, not %s\n", image, image_arch, guest_arch);
		goto out;
	}
	hash = kq_xstrdup(hash_buf);

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
	stream_path = setup_suite_path(dir, "stream", "lib/kvmqual/stream");
	*strrchr(stream_path, '/') = '\0';
	c.bin_dir = stream_path;
	c.only = only;
	/* Tap networking needs root, /dev/net/tun and a writable /run (ip
	 * netns keeps its namespaces in /run/netns: Android has no /run); by
	 * default it is used where vhost-net is there too (what the network
	 * target is about). */
	int can_tap = geteuid() == 0 && access("/dev/net/tun", R_OK | W_OK) == 0 && access("/run", W_OK) == 0;
	c.vhost = access("/dev/vhost-net", R_OK | W_OK) == 0;
	if (!strcmp(net, "user")) {
		c.use_tap = 0;
	} else if (!strcmp(net, "tap")) {
		if (!can_tap) {
			fprintf(stderr, "kvmqual run: --net tap needs root, /dev/net/tun and a writable /run (for ip netns)\n");
			goto out;
		}
		c.use_tap = 1;
	} else if (!strcmp(net, "auto")) {
		c.use_tap = can_tap && c.vhost;
	} else {
		fprintf(stderr, "kvmqual run: --net takes auto, user or tap, not '%s'\n", net);
		goto out;
	}
	if (parse_measure_options(&c, prof, hugepages, balloon, cold_boot))
		goto out;
	c.start_ns = kq_now_ns();
	c.stable_deadline_ns = c.start_ns + (uint64_t)(stable_budget_s * 1e9);
	int nsteps = 0, native_steps = 0;
	for (size_t i = 0; i < run_plan_count; i++) {
		int wanted = run_step_wanted(&c, &run_plan[i]);
		nsteps += wanted;
		native_steps += wanted && !run_plan[i].tap && run_plan[i].kind == STEP_WORKLOAD;
	}
	if (only && !nsteps) {
		fprintf(stderr, "kvmqual run: --workloads '%s' names none of:", only);
		for (size_t i = 0; i < run_plan_count; i++)
			fprintf(stderr, " %s", run_plan[i].label);
		fprintf(stderr, "\n");
		goto out;
	}
	c.cpus = cpus > 0 ? cpus : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (c.cpus > 8)
		c.cpus = 8;
	c.boot_ms[0] = c.boot_ms[1] = NAN;
	snprintf(c.host_arch, sizeof(c.host_arch), "%s", u.machine);

	/* The probe first: it decides the accelerators and is stored with the run. */
	struct probe_options popt = { 0 };
	fs = hostfs_open_live();
	if (probe_run(&pr, fs, &popt, &err)) {
		fprintf(stderr, "kvmqual run: probe: %s\n", err.msg);
		goto out;
	}
	if (!json)
		fprintf(stderr, "probe: %s\n", pr.verdict_summary);
	probe_doc = probe_to_json(&pr);
	probe_text = cJSON_PrintUnformatted(probe_doc);
	if (want_kvm < 0)
		want_kvm = pr.verdict != VERDICT_TCG_ONLY && !strcmp(guest_arch, u.machine);
	c.host_emulated = pr.host.emulated;
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
		goto out;
	}
	store_set_busy_timeout(c.store, lock_wait_s * 1000);
	if (recovered && !json)
		fprintf(stderr, "kvmqual run: %d earlier run%s in %s had been cut off (now marked interrupted)\n",
			recovered, recovered == 1 ? "" : "s", db);
	kq_buf_printf(&cmdline, "kvmqual");
	for (int i = 0; i < argc; i++)
		kq_buf_printf(&cmdline, " %s", argv[i]);
	char qbin[64];
	snprintf(qbin, sizeof(qbin), "qemu-system-%s", guest_arch);
	qver = setup_qemu_version(qbin);
	struct store_host host = { .arch = pr.host.arch, .model = pr.host.model, .soc = pr.host.soc,
				   .kernel_release = pr.host.kernel_release, .page_size = pr.host.page_size };
	struct store_run_info info = { .profile = prof->name, .suite_version = SUITE_VERSION,
				       .qemu_version = qver, .guest_image_hash = hash,
				       .command_line = cmdline.data, .probe_json = probe_text };
	c.run_id = store_begin_run(c.store, &host, &info, &err);
	if (c.run_id < 0) {
		fprintf(stderr, "kvmqual run: %s\n", err.msg);
		goto out;
	}
	struct store_check *checks = kq_xcalloc(pr.check_count, sizeof(*checks));
	for (size_t i = 0; i < pr.check_count; i++)
		checks[i] = (struct store_check){ pr.checks[i].id, check_status_name(pr.checks[i].status),
						  pr.checks[i].value, pr.checks[i].detail, pr.checks[i].hint };
	/* A closed terminal (SIGHUP) stops the run like Ctrl-C or SIGTERM:
	 * stored as interrupted, never left 'running'. */
	struct sigaction sa = { .sa_handler = on_stop };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (store_add_checks(c.store, c.run_id, checks, pr.check_count, &err))
		run_store_failed(&c, &err);
	free(checks);

	/* Scratch space: a file for fio natively and a raw disk for the guest,
	 * next to the database (results/ is on a real disk; /tmp may be tmpfs,
	 * which refuses O_DIRECT). */
	dbdir = kq_xstrdup(db);
	char *slash = strrchr(dbdir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(dbdir, strlen(dbdir) + 1, ".");
	/* Scratch files of runs killed outright (SIGKILL) are removed here. */
	stale_cleanup(dbdir, "kvmqual-scratch");
	int scratch_ok = setup_scratch_file(c.native_target, sizeof(c.native_target), dbdir, prof->fio_mib + 16, &run_stop_requested) == 0 &&
			 setup_scratch_file(c.disk_path, sizeof(c.disk_path), dbdir, prof->fio_mib + 16, &run_stop_requested) == 0;
	if (!scratch_ok) {
		run_note_failure(&c, "scratch files in %s: %s", dbdir, strerror(errno));
	} else if (setup_supports_direct(c.disk_path)) {
		c.disk_opts = "cache=none,aio=native";
	} else {
		c.disk_opts = "cache=writeback,aio=threads";
		c.disk_fallback = 1;
	}
	/* Natively the workloads; per accelerator the steps, the boots (and
	 * a cold one after them), the steps again on each huge page size. */
	c.steps_total = native_steps + (want_tcg + want_kvm) * (nsteps + 1 + c.cold_boot +
								(int)(c.hugepage_count * run_hugepage_steps(&c)));
	/* What each sample costs in energy, where the probe found a sensor. */
	energy_meter_init(&c.meter, fs, 100);
	kq_buf_init(&c.skipped);

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
	if (want_tcg && scratch_ok && !run_stop_requested)
		tcg_ok = run_accel(&c, "tcg", tcg_timeout_ms, &c.boot_ms[0]) == 0;
	if (want_kvm && scratch_ok && !run_stop_requested) {
		/* Without a TCG boot to go by, 60 s; on an emulated host KVM is
		 * nested, and a boot there took 315 s on the busy 2-core machine
		 * (the Pi 5-like lab host, 16K pages, docs/kit.md): TCG's bound. */
		int timeout = !isnan(c.boot_ms[0]) ? (int)fmax(10000, 3 * c.boot_ms[0])
			      : pr.host.emulated ? tcg_timeout_ms : 60000;
		size_t before = c.failures.len;
		kvm_ok = run_accel(&c, "kvm", timeout, &c.boot_ms[1]) == 0;
		if (!kvm_ok && kvm_hint[0] && c.failures.len > before)
			kq_buf_printf(&c.failures, "%s", kvm_hint);
	}
	if (c.tty && !json)
		fprintf(stderr, "\r\033[K");
	if (c.native_target[0])
		unlink(c.native_target);
	if (c.disk_path[0])
		unlink(c.disk_path);

	summary = cJSON_CreateObject();
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
	cJSON *energy = cJSON_AddObjectToObject(summary, "energy");
	cJSON_AddStringToObject(energy, "source", c.meter.available ? c.meter.sensor.source : "unavailable");
	cJSON_AddStringToObject(energy, "detail", c.meter.available ? c.meter.sensor.description : c.meter.sensor.unavailable);
	if (c.skipped.len)
		cJSON_AddStringToObject(summary, "skipped", c.skipped.data);
	/* The CPU's vulnerabilities as the host's kernel and each guest's see
	 * them (the report puts them side by side). */
	cJSON *vulns = cJSON_AddObjectToObject(summary, "cpu_vulnerabilities");
	const struct check *host_vulns = probe_find(&pr, "cpu.vulnerabilities");
	char host_line[320];
	snprintf(host_line, sizeof(host_line), "%s%s", host_vulns && host_vulns->status != CHECK_SKIP ? "" : "unknown: ",
		 !host_vulns ? "the probe has no such check"
		 : host_vulns->status == CHECK_SKIP ? (host_vulns->detail ? host_vulns->detail : "")
		 : host_vulns->value);
	cJSON_AddStringToObject(vulns, "host", host_line);
	for (int a = 0; a < 2; a++)
		if (c.guest_vulns[a][0])
			cJSON_AddStringToObject(vulns, a ? "kvm" : "tcg", c.guest_vulns[a]);
	run_speedups(&c, summary);
	run_judge(&c, targets, ntargets, summary);
	if (c.until_stable)
		run_stability_report(&c, summary);

	int store_failed = run_stop_requested == RUN_STOP_STORE;
	int signalled = run_stop_requested > 0;
	enum store_run_status status = store_failed ? STORE_RUN_FAILED
				       : signalled ? STORE_RUN_INTERRUPTED
				       : c.failures.len ? STORE_RUN_INCOMPLETE : STORE_RUN_COMPLETE;
	if (signalled)
		kq_buf_printf(&c.failures, "%sinterrupted by signal %d (%s)", c.failures.len ? "; " : "",
			      (int)run_stop_requested, strsignal((int)run_stop_requested));
	else if (!store_failed && !tcg_ok && !kvm_ok)
		status = STORE_RUN_FAILED;
	/* A failed run always says why. */
	if (status == STORE_RUN_FAILED && !c.failures.len)
		kq_buf_printf(&c.failures, "no accelerator ran the guest");
	/* After a store failure the end of the run gets a minute for another
	 * writer's lock to go (the scratch files beside the store are gone
	 * by now, which frees a full disk of theirs). */
	if (store_failed)
		store_set_busy_timeout(c.store, lock_wait_s * 1000 > 60000 ? lock_wait_s * 1000 : 60000);
	int finished = store_finish_run(c.store, c.run_id, status, c.failures.len ? c.failures.data : NULL, &err) == 0;
	if (!finished)
		fprintf(stderr, "kvmqual run: %s; the run stays 'running' in %s until the next kvmqual run there marks"
				" it interrupted\n", err.msg, db);
	cJSON_AddStringToObject(summary, "status", store_run_status_name(status));
	if (c.failures.len)
		cJSON_AddStringToObject(summary, "reason", c.failures.data);
	if (json) {
		kq_json_clean(summary);
		char *text = cJSON_Print(summary);
		printf("%s\n", text);
		free(text);
	} else {
		run_print_summary(summary);
		printf("stored as run %lld in %s\n", (long long)c.run_id, db);
	}
	rc = store_failed || !finished ? 2
		 : signalled		   ? 128 + (int)run_stop_requested
		 : status == STORE_RUN_COMPLETE ? 0
		 : status == STORE_RUN_INCOMPLETE ? 1 : 2;
out:
	cJSON_Delete(summary);
	store_close(c.store);
	cJSON_Delete(probe_doc);
	free(probe_text);
	probe_free(&pr);
	hostfs_close(fs);
	free(c.col);
	free(c.stab);
	energy_meter_free(&c.meter);
	kq_buf_free(&c.skipped);
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
