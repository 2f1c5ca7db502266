/* kvmqual guest: boot the benchmark guest once and run commands in it
 * through the agent.  A tool for people (what does the guest see?) and for
 * the integration tests; the runner uses the same library calls. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/json.h"
#include "../lib/number.h"
#include "runners.h"
#include "guest.h"
#include "memory.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kvmqual guest --image DIR [--arch ARCH] [--accel tcg|kvm] [--cpus N] [--mem MB]\n"
		"                     [--disk-mb N] [--net] [--timeout S] [--boot-timeout S] [--json]\n"
		"                     [--append KERNEL-ARGS] [--hugepages SIZE] [--balloon MB]\n"
		"                     [--qemu BINARY] [--pin-vcpus PIN] [--cgroup DIR]\n"
		"                     [--script FILE | -- COMMAND [ARG...]]\n"
		"\n"
		"Boots the guest image under QEMU, waits for its agent, runs each command\n"
		"(from --script, one per line, words split on spaces; or the one after --),\n"
		"prints its output and exit status, and powers the guest off.\n"
		"  --disk-mb N   attach a raw scratch disk of N MiB as /dev/vda\n"
		"  --net         user-mode network: the guest is 10.0.2.15, the host 10.0.2.2\n"
		"  --hugepages SIZE  guest memory on huge pages of SIZE (2M, 64K, 32M, 1G; reserved\n"
		"                beforehand), verified in QEMU's smaps\n"
		"  --balloon MB  after the commands, inflate a virtio-balloon until the guest has MB,\n"
		"                timed, with QEMU's RSS before and after; then deflate it\n"
		"  --pin-vcpus PIN  pin QEMU's vCPU threads (found over QMP): LIST or all:LIST (every\n"
		"                vCPU on any CPU of LIST), each:LIST (vCPU i on the i-th CPU of LIST),\n"
		"                none; where each may run is read back from /proc and printed\n"
		"  --cgroup DIR  QEMU joins this cgroup (its cgroup.procs) before it starts\n"
		"QEMU's memory after boot (RSS, the guest's part, the VMM's overhead, the page\n"
		"size backing guest RAM) is printed, and in --json under \"memory\".\n"
		"Exit status: 0 when every command exited 0, 1 when one did not, 2 on errors.\n");
}

static char **split_words(char *line)
{
	size_t n = 0, cap = 8;
	char **v = kq_xmalloc(cap * sizeof(char *));
	for (char *w = strtok(line, " \t"); w; w = strtok(NULL, " \t")) {
		if (n + 2 > cap)
			v = kq_xrealloc(v, (cap *= 2) * sizeof(char *));
		v[n++] = w;
	}
	v[n] = NULL;
	return v;
}

/* A file of size bytes in dir that has no name (O_TMPFILE; where the file
 * system has none, a name removed at once), open for reading and writing
 * and inherited by QEMU.  Returns the descriptor, or -1 with errno. */
static int scratch_disk(const char *dir, off_t size)
{
	int fd = open(dir, O_TMPFILE | O_RDWR, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		char path[64];
		snprintf(path, sizeof(path), "%s/kvmqual-disk.XXXXXX", dir);
		fd = mkstemp(path);
		if (fd >= 0)
			unlink(path);
	}
	if (fd < 0)
		return -1;
	if (ftruncate(fd, size) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

int cmd_guest(int argc, char **argv)
{
	struct guest_config cfg = { .arch = NULL, .accel = "tcg", .mem_mb = 512, .cpus = 2 };
	const char *script = NULL;
	int json = 0, timeout_s = 600, boot_timeout_s = 120, disk_mb = 0;
	long balloon_mb = 0;
	static const struct option opts[] = {
		{ "image", required_argument, NULL, 'i' }, { "arch", required_argument, NULL, 'a' },
		{ "accel", required_argument, NULL, 'A' }, { "cpus", required_argument, NULL, 'c' },
		{ "mem", required_argument, NULL, 'm' },   { "disk-mb", required_argument, NULL, 'd' },
		{ "net", no_argument, NULL, 'n' },         { "timeout", required_argument, NULL, 't' },
		{ "boot-timeout", required_argument, NULL, 'b' }, { "json", no_argument, NULL, 'j' },
		{ "script", required_argument, NULL, 's' }, { "help", no_argument, NULL, 'h' },
		{ "append", required_argument, NULL, 'p' }, { "hugepages", required_argument, NULL, 'H' },
		{ "balloon", required_argument, NULL, 'B' },
		{ "append", required_argument, NULL, 'p' }, { "qemu", required_argument, NULL, 'Q' },
		{ "pin-vcpus", required_argument, NULL, 'P' }, { "cgroup", required_argument, NULL, 'G' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (ch) {
		case 'i': cfg.image_dir = optarg; break;
		case 'a': cfg.arch = optarg; break;
		case 'A': cfg.accel = optarg; break;
		case 'c':
		case 'm':
		case 'd':
		case 't':
		case 'b': {
			/* Strictly (lib/number.h): "2abc" is an error, not 2. */
			static const struct {
				int ch;
				const char *name;
				long long min, max;
			} nums[] = { { 'c', "--cpus", 1, 512 },	       { 'm', "--mem", 64, 1 << 20 },
				     { 'd', "--disk-mb", 1, 1 << 20 }, { 't', "--timeout", 1, 86400 },
				     { 'b', "--boot-timeout", 1, 86400 } };
			size_t k = 0;
			while (nums[k].ch != ch)
				k++;
			long long v;
			struct kq_err nerr;
			if (kq_opt_int(nums[k].name, optarg, nums[k].min, nums[k].max, &v, &nerr)) {
				fprintf(stderr, "kvmqual guest: %s\n", nerr.msg);
				return 2;
			}
			*(ch == 'c' ? &cfg.cpus : ch == 'm' ? &cfg.mem_mb : ch == 'd' ? &disk_mb
				: ch == 't' ? &timeout_s : &boot_timeout_s) = (int)v;
			break;
		}
		case 'n': cfg.net_user = 1; break;
		case 'j': json = 1; break;
		case 's': script = optarg; break;
		case 'p': cfg.append = optarg; break;
		case 'H':
			cfg.hugepage_kb = memory_parse_size_kb(optarg);
			if (cfg.hugepage_kb <= 0) {
				fprintf(stderr, "kvmqual guest: --hugepages takes a page size such as 2M, 64K or 1G, not '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'B': {
			long long mb;
			if (kq_number_int(optarg, 16, 1 << 24, &mb)) {
				fprintf(stderr, "kvmqual guest: --balloon takes the guest's memory in MiB with the balloon "
						"inflated (16 to 16777216), not '%s'\n", optarg);
				return 2;
			}
			balloon_mb = (long)mb;
			cfg.balloon = cfg.qmp = 1;
			break;
		}
		case 'Q': cfg.qemu = optarg; break;
		case 'G': cfg.cgroup = optarg; break;
		case 'P': {
			struct kq_err perr;
			if (vcpu_pin_parse(optarg, &cfg.vcpu_pin, &perr)) {
				fprintf(stderr, "kvmqual guest: --pin-vcpus: %s\n", perr.msg);
				return 2;
			}
			/* "none" still shows where the vCPU threads may run. */
			cfg.qmp = 1;
			break;
		}
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	/* One message per mistake, naming it (the numbers were checked as
	 * they were read). */
	const char *wrong = !cfg.image_dir ? "--image DIR is required (make guest-image builds one into build/guest/ARCH)"
			    : script && optind < argc ? "--script FILE and a command after -- exclude each other: give one"
			    : !script && optind >= argc ? "nothing to run: give --script FILE or a command after --"
							: NULL;
	if (wrong) {
		fprintf(stderr, "kvmqual guest: %s\n", wrong);
		usage(stderr);
		return 2;
	}
	if (cfg.arch && strcmp(cfg.arch, "aarch64") && strcmp(cfg.arch, "x86_64")) {
		fprintf(stderr, "kvmqual guest: --arch takes aarch64 or x86_64, not '%s'\n", cfg.arch);
		return 2;
	}
	if (balloon_mb && balloon_mb >= cfg.mem_mb) {
		fprintf(stderr, "kvmqual guest: --balloon %ld must be below --mem %d\n", balloon_mb, cfg.mem_mb);
		return 2;
	}
	if (cfg.hugepage_kb > 0) {
		/* Without reserved pages QEMU could only fail: say how to reserve them. */
		char why[400];
		long need = ((long)cfg.mem_mb * 1024 + cfg.hugepage_kb - 1) / cfg.hugepage_kb;
		if ((long)cfg.mem_mb * 1024 % cfg.hugepage_kb) {
			fprintf(stderr, "kvmqual guest: --mem %d MiB is not a multiple of the %ld KiB huge page\n",
				cfg.mem_mb, cfg.hugepage_kb);
			return 2;
		}
		if (!memory_hugepages_free("/", cfg.hugepage_kb, need, why, sizeof(why))) {
			fprintf(stderr, "kvmqual guest: --hugepages: %s\n", why);
			return 2;
		}
	}
	if (strcmp(cfg.accel, "tcg") && strcmp(cfg.accel, "kvm")) {
		fprintf(stderr, "kvmqual guest: --accel takes tcg or kvm, not '%s'\n", cfg.accel);
		return 2;
	}
	char arch_buf[32];
	if (!cfg.arch) {
		/* The image's manifest says what it is for. */
		struct kq_err merr;
		if (guest_image_info(cfg.image_dir, arch_buf, sizeof(arch_buf), NULL, 0, &merr)) {
			fprintf(stderr, "kvmqual guest: %s\n", merr.msg);
			return 2;
		}
		cfg.arch = arch_buf;
	}

	/* Commands first, so a bad script fails before a slow boot. */
	size_t ncmd = 0;
	char ***cmds = kq_xcalloc(4096, sizeof(char **));
	char *script_text = NULL;
	if (script) {
		struct kq_err serr;
		if (kq_read_file(script, 1u << 20, &script_text, NULL, &serr)) {
			fprintf(stderr, "kvmqual guest: --script %s\n", serr.msg);
			free(cmds);
			return 2;
		}
		char *save = NULL;
		for (char *line = strtok_r(script_text, "\n", &save); line && ncmd < 4096;
		     line = strtok_r(NULL, "\n", &save)) {
			line = kq_strtrim(line);
			if (*line && *line != '#')
				cmds[ncmd++] = split_words(line);
		}
	} else {
		cmds[ncmd] = kq_xcalloc((size_t)(argc - optind) + 1, sizeof(char *));
		for (int i = optind; i < argc; i++)
			cmds[ncmd][i - optind] = argv[i];
		ncmd++;
	}

	/* The scratch disk is a file without a name: nothing is left in /tmp
	 * on any path out, SIGKILL included.  QEMU inherits the descriptor and
	 * opens it as /dev/fd/N. */
	char disk_path[64] = "";
	int disk_fd = -1;
	if (disk_mb) {
		disk_fd = scratch_disk("/tmp", (off_t)disk_mb << 20);
		if (disk_fd < 0) {
			fprintf(stderr, "kvmqual guest: --disk-mb %d: a scratch disk in /tmp: %s\n", disk_mb,
				strerror(errno));
			for (size_t i = 0; i < ncmd; i++)
				free(cmds[i]);
			free(cmds);
			free(script_text);
			return 2;
		}
		snprintf(disk_path, sizeof(disk_path), "/dev/fd/%d", disk_fd);
		cfg.disk = disk_path;
	}

	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL); /* a closed terminal: power the guest off too */
	struct guest g;
	struct kq_err err;
	int rc = 0;
	if (guest_boot(&cfg, &g, boot_timeout_s * 1000, &err)) {
		fprintf(stderr, "kvmqual guest: %s\n", err.msg);
		rc = 2;
		goto out;
	}
	double boot_ms = (double)(g.ready.host_ns - g.exec_ns) / 1e6;
	cJSON *doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "schema", "kvmqual.guest-run");
	cJSON_AddNumberToObject(doc, "schema_version", 1);
	cJSON *boot = cJSON_AddObjectToObject(doc, "boot");
	cJSON_AddNumberToObject(boot, "ready_ms", boot_ms);
	cJSON_AddNumberToObject(boot, "guest_agent_start_s", g.ready.agent_start_s);
	cJSON_AddNumberToObject(boot, "guest_modules_s", g.ready.modules_s);
	cJSON_AddNumberToObject(boot, "guest_ready_s", g.ready.ready_s);
	cJSON_AddStringToObject(boot, "channel", g.ready.channel);
	cJSON_AddStringToObject(boot, "kernel", g.ready.kernel);
	cJSON_AddNumberToObject(boot, "cpus", g.ready.cpus);
	if (g.ready.frame)
		cJSON_AddItemToObject(boot, "ready_frame", cJSON_Duplicate(g.ready.frame, 1));
	if (g.vcpu_count) {
		cJSON *vcpus = cJSON_AddArrayToObject(doc, "vcpus");
		char pinned[160];
		vcpu_pin_format(&cfg.vcpu_pin, pinned, sizeof(pinned));
		for (size_t i = 0; i < g.vcpu_count; i++) {
			cJSON *v = cJSON_CreateObject();
			cJSON_AddNumberToObject(v, "index", (double)i);
			cJSON_AddNumberToObject(v, "thread_id", (double)g.vcpu_tid[i]);
			cJSON_AddStringToObject(v, "cpus_allowed", g.vcpu_cpus[i]);
			cJSON_AddItemToArray(vcpus, v);
			if (!json)
				printf("vCPU %zu: thread %d, may run on CPUs %s (pinning %s)\n", i, (int)g.vcpu_tid[i],
				       g.vcpu_cpus[i], pinned);
		}
		cJSON_AddNumberToObject(doc, "qemu_pid", (double)g.pid);
	}
	cJSON *results = cJSON_AddArrayToObject(doc, "commands");
	if (!json)
		printf("guest ready in %.0f ms (kernel %s, %u CPUs, %s; userspace started at %.3f s guest time)\n",
		       boot_ms, g.ready.kernel, g.ready.cpus, g.ready.channel, g.ready.agent_start_s);
	struct vmm_memory vm;
	if (vmm_memory_read(g.pid, g.mem_mb, &vm, &err) == 0) {
		cJSON *mo = cJSON_AddObjectToObject(doc, "memory");
		cJSON_AddNumberToObject(mo, "qemu_rss_mib", vm.rss_mib);
		cJSON_AddNumberToObject(mo, "guest_resident_mib", vm.guest_mib);
		cJSON_AddNumberToObject(mo, "vmm_overhead_mib", vm.overhead_mib);
		cJSON_AddNumberToObject(mo, "guest_page_kb", (double)vm.guest_page_kb);
		cJSON_AddNumberToObject(mo, "guest_thp_mib", vm.guest_thp_mib);
		if (!json)
			printf("QEMU after boot: RSS %.1f MiB, of which guest RAM %.1f MiB (pages of %ld KiB, %.0f MiB "
			       "transparent huge pages) and the VMM's own %.1f MiB\n",
			       vm.rss_mib, vm.guest_mib, vm.guest_page_kb, vm.guest_thp_mib, vm.overhead_mib);
		if (cfg.hugepage_kb > 0 && vm.guest_page_kb != cfg.hugepage_kb) {
			fprintf(stderr, "kvmqual guest: guest RAM is on %ld KiB pages, not the %ld KiB huge pages asked for\n",
				vm.guest_page_kb, cfg.hugepage_kb);
			rc = 2;
		}
	} else {
		fprintf(stderr, "kvmqual guest: %s\n", err.msg);
		if (cfg.hugepage_kb > 0)
			rc = 2;
	}
	for (size_t i = 0; i < ncmd && !interrupted; i++) {
		struct agent_result r;
		cJSON *o = cJSON_CreateObject();
		cJSON *a = cJSON_AddArrayToObject(o, "argv");
		for (char **w = cmds[i]; *w; w++)
			cJSON_AddItemToArray(a, cJSON_CreateString(*w));
		if (agent_exec(&g.agent, (const char *const *)cmds[i], timeout_s * 1000, &r, &err)) {
			cJSON_AddStringToObject(o, "error", err.msg);
			if (!json)
				fprintf(stderr, "kvmqual guest: %s: %s\n", cmds[i][0], err.msg);
			rc = 2;
		} else {
			cJSON_AddNumberToObject(o, "exit_code", r.exit_code);
			cJSON_AddNumberToObject(o, "signal", r.signal);
			cJSON_AddBoolToObject(o, "timed_out", r.timed_out);
			cJSON_AddNumberToObject(o, "wall_ms", r.wall_ms);
			cJSON_AddStringToObject(o, "stdout", (const char *)r.out);
			cJSON_AddStringToObject(o, "stderr", (const char *)r.err);
			if (!json) {
				printf("$ ");
				for (char **w = cmds[i]; *w; w++)
					printf("%s%s", *w, w[1] ? " " : "");
				printf("   [exit %d%s, %.0f ms]\n", r.exit_code, r.timed_out ? ", timed out" : "", r.wall_ms);
				fwrite(r.out, 1, r.out_len, stdout);
				fwrite(r.err, 1, r.err_len, stderr);
			}
			if ((r.exit_code || r.timed_out) && rc == 0)
				rc = 1;
			agent_result_free(&r);
		}
		cJSON_AddItemToArray(results, o);
	}
	if (balloon_mb && !interrupted) {
		struct balloon_result br;
		if (balloon_measure(&g, balloon_mb, 60000, &br, &err)) {
			fprintf(stderr, "kvmqual guest: balloon: %s\n", err.msg);
			rc = 2;
		} else {
			cJSON *bo = cJSON_AddObjectToObject(doc, "balloon");
			cJSON_AddNumberToObject(bo, "target_mib", br.target_mib);
			cJSON_AddNumberToObject(bo, "inflate_ms", br.inflate_ms);
			cJSON_AddNumberToObject(bo, "deflate_ms", br.deflate_ms);
			cJSON_AddNumberToObject(bo, "rss_before_mib", br.rss_before_mib);
			cJSON_AddNumberToObject(bo, "rss_after_mib", br.rss_after_mib);
			cJSON_AddNumberToObject(bo, "freed_mib", br.freed_mib);
			cJSON_AddBoolToObject(bo, "rss_fell", br.rss_fell);
			if (!json)
				printf("balloon to %.0f MiB: inflated in %.0f ms, QEMU's RSS %.1f -> %.1f MiB (%s); deflated in "
				       "%.0f ms\n", br.target_mib, br.inflate_ms, br.rss_before_mib, br.rss_after_mib,
				       br.rss_fell ? "fell" : "did not fall", br.deflate_ms);
		}
	}
	if (interrupted) {
		fprintf(stderr, "kvmqual guest: interrupted; stopping the guest\n");
		rc = 2;
	}
	guest_stop(&g);
	if (json) {
		kq_json_clean(doc);
		char *text = cJSON_Print(doc);
		printf("%s\n", text);
		free(text);
	}
	cJSON_Delete(doc);
out:
	if (disk_fd >= 0)
		close(disk_fd);
	for (size_t i = 0; i < ncmd; i++)
		free(cmds[i]);
	free(cmds);
	free(script_text);
	return rc;
}
