#define _GNU_SOURCE
#include "guest.h"

#include "../lib/stale.h"
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <sys/prctl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

struct argv_builder {
	char **v;
	size_t n, cap;
};

static void add(struct argv_builder *b, const char *s)
{
	if (b->n + 2 > b->cap) {
		b->cap = b->cap ? b->cap * 2 : 32;
		b->v = kq_xrealloc(b->v, b->cap * sizeof(char *));
	}
	b->v[b->n++] = kq_xstrdup(s);
	b->v[b->n] = NULL;
}

static void addf(struct argv_builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(struct argv_builder *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = kq_xvasprintf(fmt, ap);
	va_end(ap);
	add(b, s);
	free(s);
}

/* The image's initramfs: guest-image/build.sh picks the compression (lz4
 * by default, the fastest to unpack under TCG). */
static const char *const initramfs_names[] = {
	"initramfs.cpio.lz4", "initramfs.cpio.zst", "initramfs.cpio.gz", "initramfs.cpio.xz", "initramfs.cpio",
};

static char *find_initramfs(const char *image_dir)
{
	for (size_t i = 0; i < sizeof(initramfs_names) / sizeof(initramfs_names[0]); i++) {
		char *p = kq_xasprintf("%s/%s", image_dir, initramfs_names[i]);
		if (access(p, R_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

char **guest_qemu_argv(const struct guest_config *cfg, const char *socket_path, const char *console_path,
		       const char *qmp_path)
{
	struct argv_builder b = { 0 };
	int arm = !strcmp(cfg->arch, "aarch64");
	int kvm = !strcmp(cfg->accel, "kvm");
	if (cfg->qemu)
		add(&b, cfg->qemu);
	else
		addf(&b, "qemu-system-%s", cfg->arch);
	/* The transport: virtio-mmio on Arm's virt board (no PCI enumeration
	 * to wait for), PCI on x86. */
	const char *bus = arm ? "device" : "pci";
	int mem_mb = cfg->mem_mb > 0 ? cfg->mem_mb : 512;
	/* Huge pages: guest RAM from a hugetlb memfd, named as the machine's
	 * memory backend (QEMU's smaps then show its KernelPageSize). */
	char backend[32] = "";
	if (cfg->hugepage_kb > 0) {
		add(&b, "-object");
		addf(&b, "memory-backend-memfd,id=kqmem,size=%dM,hugetlb=on,hugetlbsize=%ldK", mem_mb, cfg->hugepage_kb);
		snprintf(backend, sizeof(backend), ",memory-backend=kqmem");
	}
	if (arm) {
		add(&b, "-M");
		if (cfg->gic)
			addf(&b, "virt,gic-version=%s%s", cfg->gic, backend);
		else
			addf(&b, "virt%s", backend);
	} else {
		/* No HPET to calibrate against under TCG: measurably faster. */
		add(&b, "-M");
		addf(&b, "pc,hpet=off%s", backend);
	}
	add(&b, "-accel");
	add(&b, cfg->accel);
	add(&b, "-cpu");
	add(&b, cfg->cpu ? cfg->cpu : kvm ? "host" : arm ? "cortex-a72" : "max");
	add(&b, "-m");
	addf(&b, "%d", mem_mb);
	add(&b, "-smp");
	addf(&b, "%d", cfg->cpus > 0 ? cfg->cpus : 1);
	add(&b, "-nodefaults");
	add(&b, "-no-user-config");
	/* Threads named for what they run ("CPU 0/TCG"): /proc shows which
	 * thread is which vCPU to anyone who looks, not only to QMP. */
	add(&b, "-name");
	add(&b, "kvmqual,debug-threads=on");
	add(&b, "-display");
	add(&b, "none");
	add(&b, "-no-reboot");
	add(&b, "-serial");
	addf(&b, "file:%s", console_path);
	/* x86_64 images carry the kernel's ELF too: QEMU boots it through PVH,
	 * skipping the BIOS and the kernel's own decompression (2 s under TCG). */
	add(&b, "-kernel");
	char *vmlinux = kq_xasprintf("%s/vmlinux", cfg->image_dir);
	if (!arm && access(vmlinux, R_OK) == 0)
		add(&b, vmlinux);
	else
		addf(&b, "%s/vmlinuz", cfg->image_dir);
	free(vmlinux);
	char *initrd = find_initramfs(cfg->image_dir);
	add(&b, "-initrd");
	add(&b, initrd ? initrd : "initramfs-not-found");
	free(initrd);
	add(&b, "-append");
	/* acpi=noirq on x86: with ACPI's PCI interrupt routing on the pc
	 * machine, loading virtio_pci takes 200 ms under TCG; without, 8 ms.
	 * no_timer_check: on a busy host, and in every cold boot (QEMU's own
	 * pages read back from disk), the x86 kernel's check of the IO-APIC
	 * timer under TCG failed and it panicked in setup_IO_APIC. */
	addf(&b, "console=%s panic=-1 quiet loglevel=4%s%s%s%s", arm ? "ttyAMA0" : "ttyS0",
	     arm ? "" : " acpi=noirq no_timer_check",
	     cfg->tap_netns ? " kq.ip=" NETNS_GUEST_CIDR " kq.gw=" NETNS_HOST_IP
	     : cfg->net_user ? " kq.ip=10.0.2.15/24 kq.gw=10.0.2.2" : "",
	     cfg->append ? " " : "", cfg->append ? cfg->append : "");
	add(&b, "-device");
	addf(&b, "virtio-serial-%s", bus);
	add(&b, "-chardev");
	addf(&b, "socket,id=kqagent,path=%s", socket_path);
	add(&b, "-device");
	add(&b, "virtserialport,chardev=kqagent,name=org.kvmqual.agent");
	if (qmp_path) {
		add(&b, "-chardev");
		addf(&b, "socket,id=kqqmp,path=%s", qmp_path);
		add(&b, "-mon");
		add(&b, "chardev=kqqmp,mode=control");
		/* Paused until guest_boot has found (and pinned) the vCPU threads. */
		add(&b, "-S");
	}
	if (cfg->balloon) {
		add(&b, "-device");
		addf(&b, "virtio-balloon-%s,id=kqballoon", bus);
	}
	if (cfg->tap_netns) {
		add(&b, "-netdev");
		addf(&b, "tap,id=net0,ifname=%s,script=no,downscript=no,vhost=%s", NETNS_TAP, cfg->vhost ? "on" : "off");
		add(&b, "-device");
		addf(&b, "virtio-net-%s,netdev=net0", bus);
	} else if (cfg->net_user) {
		add(&b, "-netdev");
		add(&b, "user,id=net0");
		add(&b, "-device");
		addf(&b, "virtio-net-%s,netdev=net0", bus);
	}
	/* The tools disk (read-only squashfs) and the scratch disk; the agent
	 * tells them apart by serial, since virtio-mmio numbers devices from
	 * the top. */
	char *tools = kq_xasprintf("%s/tools.squashfs", cfg->image_dir);
	if (access(tools, R_OK) == 0) {
		add(&b, "-drive");
		addf(&b, "if=none,id=tools,format=raw,readonly=on,file=%s", tools);
		add(&b, "-device");
		addf(&b, "virtio-blk-%s,drive=tools,serial=kqtools", bus);
	}
	free(tools);
	if (cfg->disk) {
		add(&b, "-drive");
		/* werror/rerror=report: a host disk that fills up gives the guest
		 * an I/O error (the workload fails and says so) instead of pausing
		 * the VM, QEMU's default. */
		addf(&b, "if=none,id=disk0,format=raw,file=%s,%s,werror=report,rerror=report", cfg->disk,
		     cfg->disk_opts ? cfg->disk_opts : "cache=unsafe");
		add(&b, "-device");
		addf(&b, "virtio-blk-%s,drive=disk0,serial=kqscratch", bus);
	}
	/* The caller's own options come last: where QEMU takes the last of an
	 * option given twice (-smp, -m), theirs wins. */
	for (size_t i = 0; cfg->extra_opts && cfg->extra_opts[i]; i++)
		add(&b, cfg->extra_opts[i]);
	return b.v;
}

void guest_free_argv(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

static void console_tail(const char *path, char *out, size_t size)
{
	out[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	off_t end = lseek(fd, 0, SEEK_END);
	off_t from = end > (off_t)size - 1 ? end - (off_t)size + 1 : 0;
	ssize_t n = pread(fd, out, size - 1, from);
	close(fd);
	if (n < 0)
		n = 0;
	out[n] = '\0';
	for (ssize_t i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 && out[i] != '\n')
			out[i] = ' ';
}

static void kill_qemu(struct guest *g)
{
	if (g->pid <= 0)
		return;
	kill(g->pid, SIGKILL);
	while (waitpid(g->pid, NULL, 0) < 0 && errno == EINTR)
		;
	g->pid = -1;
}

static void cleanup_files(struct guest *g)
{
	if (g->socket_path[0])
		unlink(g->socket_path);
	if (g->qmp_path[0])
		unlink(g->qmp_path);
	if (g->workdir[0]) {
		char path[300];
		snprintf(path, sizeof(path), "%s/console.log", g->workdir);
		if (!strcmp(path, g->console_path))
			unlink(path);
		rmdir(g->workdir);
		g->workdir[0] = '\0';
	}
}

/* Starts QEMU with stdin from /dev/null and its messages in err_path.  It
 * gets its own process group, so a Ctrl-C meant for us reaches it only
 * through guest_stop(), and SIGKILL as its parent-death signal, so that it
 * dies with us even when we are killed outright.  Returns 0 or the errno
 * of the exec. */
/* Parses a CPU list like "0-3,6" into a set; returns -1 on junk. */
int guest_parse_cpulist(const char *list, cpu_set_t *set)
{
	CPU_ZERO(set);
	const char *p = list;
	while (*p) {
		char *end;
		long a = strtol(p, &end, 10), b = a;
		if (end == p || a < 0 || a >= CPU_SETSIZE)
			return -1;
		p = end;
		if (*p == '-') {
			b = strtol(p + 1, &end, 10);
			if (end == p + 1 || b < a || b >= CPU_SETSIZE)
				return -1;
			p = end;
		}
		for (long c = a; c <= b; c++)
			CPU_SET((int)c, set);
		if (*p == ',')
			p++;
		else if (*p)
			return -1;
	}
	return CPU_COUNT(set) ? 0 : -1;
}

/* What the child reports through its pipe when it could not become QEMU. */
enum spawn_stage { SPAWN_EXEC = 1, SPAWN_CGROUP = 2 };

static int spawn_qemu(char **argv, const char *err_path, const char *pin_cpus, const char *netns, const char *cgroup,
		      pid_t *pid, int *stage)
{
	/* big.LITTLE hosts: every vCPU thread stays on one cluster, so that
	 * -cpu host sees one MIDR (the probe's cpu.topology says which). */
	cpu_set_t pin;
	if (pin_cpus && guest_parse_cpulist(pin_cpus, &pin))
		return EINVAL;
	int report[2];
	if (pipe2(report, O_CLOEXEC))
		return errno;
	pid_t parent = getpid();
	*pid = fork();
	if (*pid < 0) {
		int e = errno;
		close(report[0]);
		close(report[1]);
		return e;
	}
	if (*pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (pin_cpus)
			sched_setaffinity(0, sizeof(pin), &pin);
		if (netns && netns_enter(netns))
			_exit(126);
		if (getppid() != parent)
			_exit(127); /* the parent died before prctl */
		/* Joined before exec, so that everything QEMU starts is in it. */
		if (cgroup) {
			char *procs = kq_xasprintf("%s/cgroup.procs", cgroup);
			int fd = open(procs, O_WRONLY | O_CLOEXEC);
			char me[32];
			int len = snprintf(me, sizeof(me), "%ld\n", (long)getpid());
			if (fd < 0 || write(fd, me, (size_t)len) != len) {
				int rep[2] = { SPAWN_CGROUP, errno };
				ssize_t ignored = write(report[1], rep, sizeof(rep));
				(void)ignored;
				_exit(127);
			}
			close(fd);
			free(procs);
		}
		int in = open("/dev/null", O_RDONLY);
		int out = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (in >= 0)
			dup2(in, 0);
		if (out >= 0) {
			dup2(out, 1);
			dup2(out, 2);
		}
		execvp(argv[0], argv);
		int rep[2] = { SPAWN_EXEC, errno };
		ssize_t ignored = write(report[1], rep, sizeof(rep));
		(void)ignored;
		_exit(127);
	}
	close(report[1]);
	int rep[2] = { 0, 0 };
	ssize_t n;
	while ((n = read(report[0], rep, sizeof(rep))) < 0 && errno == EINTR)
		;
	close(report[0]);
	if (n == (ssize_t)sizeof(rep)) {
		while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
			;
		*pid = -1;
		*stage = rep[0];
		return rep[1] ? rep[1] : EIO;
	}
	return 0;
}

/* QEMU waits paused (-S) with its monitor connected: the vCPU threads
 * exist.  Finds them, pins them as asked, records where each may run (the
 * kernel's word, from /proc), and lets the guest run. */
static int start_vcpus(const struct guest_config *cfg, struct guest *g, const char *qemu_err, uint64_t deadline,
		       struct kq_err *err)
{
	int left = (int)((deadline - kq_now_ns()) / 1000000ull);
	struct pollfd pfd = { g->qmp_listen_fd, POLLIN, 0 };
	int qfd = left > 0 && poll(&pfd, 1, left) > 0 ? accept4(g->qmp_listen_fd, NULL, NULL, SOCK_CLOEXEC) : -1;
	if (qfd < 0) {
		char qmsg[300];
		console_tail(qemu_err, qmsg, sizeof(qmsg));
		return kq_error(err, "QEMU did not connect to the QMP socket %s%s%s", g->qmp_path,
				qmsg[0] ? ": " : "", kq_strtrim(qmsg));
	}
	qmp_init(&g->qmp, qfd);
	struct kq_err qerr;
	int rc = qmp_handshake(&g->qmp, 10000, &qerr) ||
		 vcpu_threads(&g->qmp, g->vcpu_tid, VCPU_MAX, &g->vcpu_count, &qerr) ||
		 vcpu_pin_threads(g->pid, g->vcpu_tid, g->vcpu_count, &cfg->vcpu_pin, &qerr);
	for (size_t i = 0; !rc && i < g->vcpu_count; i++)
		rc = vcpu_affinity("/proc", g->pid, g->vcpu_tid[i], g->vcpu_cpus[i], sizeof(g->vcpu_cpus[i]), &qerr);
	/* A monitor that answers has a machine set up behind it: the options
	 * were accepted (QEMU greets before it creates the devices). */
	if (!rc)
		rc = qmp_execute(&g->qmp, cfg->check_only ? "query-status" : "cont", NULL, 10000, NULL, &qerr);
	if (rc) {
		/* QEMU refusing an option closes the monitor and says why on stderr. */
		char qmsg[300];
		console_tail(qemu_err, qmsg, sizeof(qmsg));
		return kq_error(err, "%s%s%s", qerr.msg, qmsg[0] ? "; QEMU: " : "", kq_strtrim(qmsg));
	}
	return 0;
}

/* An image is a directory: say whether the path is missing or not a
 * directory, rather than what opening a file in it said. */
static int image_dir_check(const char *image_dir, struct kq_err *err)
{
	struct stat st;
	if (stat(image_dir, &st))
		return kq_error(err, "guest image %s: %s (make guest-image builds the images into build/guest/ARCH)",
				image_dir, errno == ENOENT ? "no such directory" : strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return kq_error(err, "guest image %s: %s, not a directory (an image is the directory make guest-image"
				     " writes: vmlinuz, initramfs, manifest.json)",
				image_dir, kq_file_kind(st.st_mode));
	return 0;
}

int guest_boot(const struct guest_config *cfg, struct guest *g, int boot_timeout_ms, struct kq_err *err)
{
	memset(g, 0, sizeof(*g));
	g->pid = -1;
	g->listen_fd = -1;
	g->qmp_listen_fd = -1;
	g->qmp.fd = -1;
	g->agent.fd = -1;
	g->mem_mb = cfg->mem_mb > 0 ? cfg->mem_mb : 512;
	/* Work directories of runs that were killed outright are removed by
	 * the next one; the pid in the name says whose each is. In $TMPDIR:
	 * a phone has no /tmp, and the field kit keeps everything in its
	 * state directory (kit/run sets TMPDIR there). */
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = "/tmp";
	/* The agent's socket path must fit a sockaddr_un (108 bytes). */
	if (strlen(tmp) + sizeof("/kvmqual-guest.4294967295.XXXXXX/agent.sock") > 108)
		return kq_error(err, "TMPDIR %s is too long for the agent's socket path (at most %zu characters)", tmp,
				108 - sizeof("/kvmqual-guest.4294967295.XXXXXX/agent.sock"));
	stale_cleanup(tmp, "kvmqual-guest");
	snprintf(g->workdir, sizeof(g->workdir), "%s/kvmqual-guest.%ld.XXXXXX", tmp, (long)getpid());
	if (!mkdtemp(g->workdir)) {
		g->workdir[0] = '\0';
		return kq_error(err, "cannot create a work directory in %s: %s", tmp, strerror(errno));
	}
	snprintf(g->socket_path, sizeof(g->socket_path), "%s/agent.sock", g->workdir);
	if (cfg->console_log)
		snprintf(g->console_path, sizeof(g->console_path), "%s", cfg->console_log);
	else
		snprintf(g->console_path, sizeof(g->console_path), "%s/console.log", g->workdir);

	if (image_dir_check(cfg->image_dir, err)) {
		cleanup_files(g);
		return -1;
	}
	char kernel[512];
	snprintf(kernel, sizeof(kernel), "%s/vmlinuz", cfg->image_dir);
	char *initrd = find_initramfs(cfg->image_dir);
	if (access(kernel, R_OK) || !initrd) {
		kq_error(err, "guest image %s: no %s (build it with 'make guest-image')", cfg->image_dir,
			 initrd ? "vmlinuz" : "initramfs.cpio.*");
		free(initrd);
		cleanup_files(g);
		return -1;
	}
	free(initrd);
	g->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", g->socket_path);
	if (g->listen_fd < 0 || bind(g->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(g->listen_fd, 1)) {
		kq_error(err, "agent socket %s: %s", g->socket_path, strerror(errno));
		guest_stop(g);
		return -1;
	}
	int qmp = cfg->qmp || cfg->vcpu_pin.mode != VCPU_PIN_NONE;
	if (qmp) {
		snprintf(g->qmp_path, sizeof(g->qmp_path), "%s/qmp.sock", g->workdir);
		g->qmp_listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_un qa = { .sun_family = AF_UNIX };
		snprintf(qa.sun_path, sizeof(qa.sun_path), "%s", g->qmp_path);
		if (g->qmp_listen_fd < 0 || bind(g->qmp_listen_fd, (struct sockaddr *)&qa, sizeof(qa)) ||
		    listen(g->qmp_listen_fd, 1)) {
			kq_error(err, "QMP socket %s: %s", g->qmp_path, strerror(errno));
			guest_stop(g);
			return -1;
		}
	}
	char **argv = guest_qemu_argv(cfg, g->socket_path, g->console_path, qmp ? g->qmp_path : NULL);
	char qemu_err[300];
	snprintf(qemu_err, sizeof(qemu_err), "%s/qemu.err", g->workdir);
	g->exec_ns = kq_now_ns();
	int stage = 0;
	int rc = spawn_qemu(argv, qemu_err, cfg->pin_cpus, cfg->tap_netns, cfg->cgroup, &g->pid, &stage);
	if (rc && stage == SPAWN_CGROUP) {
		kq_error(err, "cannot put QEMU into cgroup %s: %s", cfg->cgroup, strerror(rc));
		g->pid = -1;
		guest_free_argv(argv);
		guest_stop(g);
		return -1;
	}
	if (rc) {
		/* Name what was asked for: a --qemu (or an ab arm's qemu=) the
		 * user gave, or the suite's QEMU, and the package that has it. */
		if (cfg->qemu)
			kq_error(err, "cannot start QEMU %s: %s%s", argv[0], strerror(rc),
				 rc == ENOENT ? " (give a QEMU binary's path, or a name on PATH)" : "");
		else if (rc == ENOENT)
			kq_error(err, "%s is not installed (not on PATH): apt-get install %s", argv[0],
				 !strcmp(cfg->arch, "x86_64") ? "qemu-system-x86" : "qemu-system-arm");
		else
			kq_error(err, "cannot start %s: %s", argv[0], strerror(rc));
		g->pid = -1;
		guest_free_argv(argv);
		guest_stop(g);
		return -1;
	}
	char qemu_name[256];
	snprintf(qemu_name, sizeof(qemu_name), "%s", argv[0]);
	guest_free_argv(argv);

	/* QEMU connects while it starts up; if it dies first, say why. */
	uint64_t deadline = g->exec_ns + (uint64_t)boot_timeout_ms * 1000000ull;
	int conn = -1;
	while (conn < 0) {
		struct pollfd pfd = { g->listen_fd, POLLIN, 0 };
		int pr = poll(&pfd, 1, 50);
		if (pr > 0)
			conn = accept4(g->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		int status;
		if (conn < 0 && waitpid(g->pid, &status, WNOHANG) == g->pid) {
			g->pid = -1;
			char msg[400] = "";
			int fd = open(qemu_err, O_RDONLY);
			if (fd >= 0) {
				ssize_t n = read(fd, msg, sizeof(msg) - 1);
				msg[n > 0 ? n : 0] = '\0';
				close(fd);
			}
			/* QEMU says why on its standard error; a binary that is
			 * not QEMU (or dies of a signal) may say nothing: then its
			 * exit status is all there is. */
			char *said = kq_strtrim(msg);
			if (*said)
				kq_error(err, "QEMU exited before connecting to the agent socket: %s", said);
			else if (WIFSIGNALED(status))
				kq_error(err, "QEMU (%s) was killed by signal %d before connecting to the agent socket,"
					      " and printed nothing", qemu_name, WTERMSIG(status));
			else
				kq_error(err, "QEMU (%s) exited with status %d before connecting to the agent socket,"
					      " and printed nothing (is it a QEMU system emulator?)", qemu_name,
					 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
			unlink(qemu_err);
			guest_stop(g);
			return -1;
		}
		if (conn < 0 && kq_now_ns() > deadline) {
			kq_error(err, "QEMU did not connect to the agent socket within %d ms", boot_timeout_ms);
			unlink(qemu_err);
			guest_stop(g);
			return -1;
		}
	}
	agent_conn_init(&g->agent, conn);
	if (qmp && start_vcpus(cfg, g, qemu_err, deadline, err)) {
		unlink(qemu_err);
		guest_stop(g);
		return -1;
	}
	if (cfg->check_only) {
		unlink(qemu_err);
		return 0;
	}
	int remaining = (int)((deadline - kq_now_ns()) / 1000000ull);
	struct kq_err ready_err;
	if (remaining <= 0 || agent_wait_ready(&g->agent, remaining, &g->ready, &ready_err)) {
		/* QEMU's own words first (an abort under -cpu host, say), then the
		 * end of what the guest printed. */
		char tail[600], qmsg[300];
		console_tail(g->console_path, tail, sizeof(tail));
		console_tail(qemu_err, qmsg, sizeof(qmsg));
		kq_error(err, "the guest did not become ready within %d ms (%s)%s%s; console: ...%s", boot_timeout_ms,
			 remaining <= 0 ? "timed out" : ready_err.msg, qmsg[0] ? "; QEMU: " : "", kq_strtrim(qmsg),
			 tail[0] ? tail : " (empty)");
		unlink(qemu_err);
		guest_stop(g);
		return -1;
	}
	unlink(qemu_err);
	return 0;
}

int guest_check(const struct guest_config *cfg, int timeout_ms, struct kq_err *err)
{
	struct guest_config c = *cfg;
	c.qmp = 1;
	c.check_only = 1;
	struct guest g;
	if (guest_boot(&c, &g, timeout_ms, err))
		return -1;
	/* Paused: nothing to power off gracefully. */
	if (g.agent.fd >= 0)
		agent_conn_close(&g.agent);
	guest_stop(&g);
	return 0;
}

void guest_stop(struct guest *g)
{
	if (g->pid > 0 && g->agent.fd >= 0) {
		struct kq_err err;
		agent_shutdown(&g->agent, 2000, &err);
		/* Give the guest a moment to power off by itself. */
		for (int i = 0; i < 100 && g->pid > 0; i++) {
			if (waitpid(g->pid, NULL, WNOHANG) == g->pid)
				g->pid = -1;
			else
				usleep(20000);
		}
	}
	kill_qemu(g);
	if (g->agent.fd >= 0 || g->agent.dec.buf)
		agent_conn_close(&g->agent);
	if (g->qmp.fd >= 0)
		qmp_close(&g->qmp);
	if (g->qmp_listen_fd >= 0)
		close(g->qmp_listen_fd);
	g->qmp_listen_fd = -1;
	if (g->listen_fd >= 0)
		close(g->listen_fd);
	g->listen_fd = -1;
	cleanup_files(g);
}

int guest_image_info(const char *image_dir, char *arch, size_t arch_size, char *hash, size_t hash_size,
		     struct kq_err *err)
{
	if (image_dir_check(image_dir, err))
		return -1;
	char *path = kq_xasprintf("%s/manifest.json", image_dir);
	char *text;
	struct kq_err rerr;
	int rc = kq_read_file(path, 1u << 20, &text, NULL, &rerr);
	if (rc) {
		if (access(path, F_OK) && errno == ENOENT)
			kq_error(err, "guest image %s: no manifest.json: not a guest image (make guest-image builds one)",
				 image_dir);
		else
			kq_error(err, "guest image: %s (make guest-image builds one)", rerr.msg);
		free(path);
		return -1;
	}
	cJSON *m = cJSON_Parse(text);
	free(text);
	const cJSON *a = cJSON_GetObjectItem(m, "arch"), *h = cJSON_GetObjectItem(m, "image_hash");
	if (!cJSON_IsString(a) || !cJSON_IsString(h)) {
		kq_error(err, "guest image: %s is not a kvmqual image manifest (no arch or image_hash)", path);
		rc = -1;
	} else {
		if (arch)
			snprintf(arch, arch_size, "%s", a->valuestring);
		if (hash)
			snprintf(hash, hash_size, "%s", h->valuestring);
	}
	cJSON_Delete(m);
	free(path);
	return rc;
}
