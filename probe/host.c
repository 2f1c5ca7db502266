/* Who the host is: model, SoC, kernel, page size; and whether QEMU is there
 * to use KVM. */
#define _GNU_SOURCE
#include "host.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

extern char **environ;

int host_info_get(const char *text, const char *key, char *value, size_t size)
{
	size_t klen = strlen(key);
	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		if (n > klen && !strncmp(line, key, klen) && line[klen] == '=') {
			size_t vlen = n - klen - 1;
			if (vlen >= size)
				vlen = size - 1;
			memcpy(value, line + klen + 1, vlen);
			value[vlen] = '\0';
			return 1;
		}
		line = nl ? nl + 1 : NULL;
	}
	return 0;
}

static void set(char *dst, size_t size, const char *src)
{
	if (src && *src && !*dst)
		snprintf(dst, size, "%s", src);
}

void host_identity_read(struct probe *p, const char *machine)
{
	struct host_identity *h = &p->host;
	snprintf(h->arch, sizeof(h->arch), "%s", machine[0] ? machine : "unknown");
	char *info = NULL;
	size_t info_len;
	if (!p->live && hostfs_read(p->fs, "snapshot-info.txt", &info, &info_len, 65536))
		info = NULL;

	if (p->live) {
		struct utsname u;
		if (uname(&u) == 0)
			set(h->kernel_release, sizeof(h->kernel_release), u.release);
		h->page_size = sysconf(_SC_PAGESIZE);
	} else if (info) {
		char buf[96];
		if (host_info_get(info, "release", buf, sizeof(buf)))
			set(h->kernel_release, sizeof(h->kernel_release), buf);
		if (host_info_get(info, "page_size", buf, sizeof(buf)))
			h->page_size = strtol(buf, NULL, 10);
		if (h->page_size < 0 || h->page_size > (1 << 20))
			h->page_size = 0;
	}
	if (!h->kernel_release[0]) {
		/* "Linux version 6.1.0-27-arm64 (debian-kernel@...) ..." */
		char *version = hostfs_read_line(p->fs, "proc/version");
		char release[96];
		if (version && sscanf(version, "Linux version %95s", release) == 1)
			set(h->kernel_release, sizeof(h->kernel_release), release);
		free(version);
	}
	free(info);

	char *dt_model = NULL;
	if (hostfs_exists(p->fs, "sys/firmware/fdt")) {
		/* The full parse happens later; the model is one property. */
		dt_model = hostfs_read_line(p->fs, "proc/device-tree/model");
	}
	char *vendor = hostfs_read_line(p->fs, "sys/class/dmi/id/sys_vendor");
	char *product = hostfs_read_line(p->fs, "sys/class/dmi/id/product_name");
	if (dt_model)
		set(h->model, sizeof(h->model), dt_model);
	if (product && *product) {
		char both[160];
		snprintf(both, sizeof(both), "%s%s%s", vendor && *vendor ? vendor : "",
			 vendor && *vendor ? " " : "", product);
		set(h->model, sizeof(h->model), both);
	}
	free(dt_model);
	free(product);
	h->is_guest = vendor && (!strcmp(vendor, "QEMU") || strstr(vendor, "KVM"));
	free(vendor);

	char *soc = hostfs_read_line(p->fs, "sys/devices/soc0/machine");
	char *soc_id = hostfs_read_line(p->fs, "sys/devices/soc0/soc_id");
	set(h->soc, sizeof(h->soc), soc);
	set(h->soc, sizeof(h->soc), soc_id);
	free(soc);
	free(soc_id);
	set(h->soc, sizeof(h->soc), p->cpuinfo.hardware);
	if (p->cpuinfo.count && p->cpuinfo.cpus[0].model_name[0] && !p->cpuinfo.looks_arm64)
		set(h->soc, sizeof(h->soc), p->cpuinfo.cpus[0].model_name);
	h->cpus = (unsigned)p->cpuinfo.count;
	if (p->cpuinfo.count && flag_list_has(p->cpuinfo.cpus[0].features, "hypervisor"))
		h->is_guest = 1;
}

void host_page_size_fallback(struct probe *p)
{
	struct host_identity *h = &p->host;
	/* Device-tree facts are parsed by now: fill what DMI did not give. */
	set(h->model, sizeof(h->model), p->fdt.model);
	set(h->soc, sizeof(h->soc), p->fdt.soc);
	/* No SoC named anywhere (QEMU's virt board, ACPI servers): the CPU
	 * core, as x86 hosts give their CPU model, so that hosts that differ
	 * only in their CPU are told apart (the lab's nVHE and VHE hosts). */
	if (!h->soc[0] && p->cpuinfo.count && p->cpuinfo.looks_arm64) {
		const struct cpuinfo_cpu *c = &p->cpuinfo.cpus[0];
		set(h->soc, sizeof(h->soc), midr_core_name(c->implementer, c->part));
	}
	if (!strcmp(p->fdt.compatible, "linux,dummy-virt"))
		h->is_guest = 1;
	if (h->page_size)
		return;
	if (!strcmp(h->arch, "x86_64")) {
		h->page_size = 4096;
	} else if (p->kconfig) {
		if (probe_kconfig(p, "ARM64_64K_PAGES") == 'y')
			h->page_size = 65536;
		else if (probe_kconfig(p, "ARM64_16K_PAGES") == 'y')
			h->page_size = 16384;
		else if (probe_kconfig(p, "ARM64_4K_PAGES") == 'y')
			h->page_size = 4096;
	}
}

static void emulation_evidence(struct host_identity *h, const char *text)
{
	if (h->emulated_evidence_count < KQ_ARRAY_SIZE(h->emulated_evidence))
		snprintf(h->emulated_evidence[h->emulated_evidence_count++], sizeof(h->emulated_evidence[0]), "%s",
			 text);
	h->emulated = 1;
}

/* QEMU's machines say who made them: the virt board's device tree, the
 * DMI vendor of the SMBIOS tables QEMU (or EDK2 on QEMU) writes, the OEM ID
 * of the ACPI tables QEMU generates, and on arm64 the MIDR of QEMU's own
 * "max" CPU model (implementer 0x00, "reserved for software use", part
 * 0x051), which only TCG offers.  The x86 "hypervisor" CPU flag is not
 * evidence: it means "a guest", of any hypervisor, usually with hardware
 * virtualization (is_guest says that). */
void host_emulation_detect(struct probe *p)
{
	struct host_identity *h = &p->host;
	if (!strcmp(p->fdt.compatible, "linux,dummy-virt"))
		emulation_evidence(h, "device tree: compatible \"linux,dummy-virt\" (QEMU's virt board)");
	char *vendor = hostfs_read_line(p->fs, "sys/class/dmi/id/sys_vendor");
	if (vendor && !strcmp(vendor, "QEMU"))
		emulation_evidence(h, "DMI: system vendor \"QEMU\"");
	free(vendor);
	static const char *const tables[] = { "sys/firmware/acpi/tables/APIC", "sys/firmware/acpi/tables/FACP" };
	for (size_t i = 0; i < KQ_ARRAY_SIZE(tables); i++) {
		char *t;
		size_t len;
		if (hostfs_read(p->fs, tables[i], &t, &len, 1 << 20))
			continue;
		/* The header: signature[4] length[4] revision checksum OEMID[6]. */
		int qemu = len >= 16 && !memcmp(t + 10, "BOCHS ", 6);
		free(t);
		if (qemu) {
			emulation_evidence(h, "ACPI: tables with OEM ID \"BOCHS\" (generated by QEMU)");
			break;
		}
	}
	for (size_t i = 0; i < p->cpuinfo.count; i++) {
		const struct cpuinfo_cpu *c = &p->cpuinfo.cpus[i];
		if (c->implementer == 0x00 && c->part == 0x051) {
			emulation_evidence(h, "CPU: MIDR implementer 0x00 part 0x051 (QEMU's \"max\" CPU model, TCG)");
			break;
		}
	}
}

/* Finds an executable in PATH; returns a malloc'd path or NULL. */
static char *which(const char *name)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		char *candidate = kq_xasprintf("%.*s/%s", (int)n, path, name);
		if (access(candidate, X_OK) == 0)
			return candidate;
		free(candidate);
		path += n;
		if (*path == ':')
			path++;
	}
	return NULL;
}

/* A child whose standard output we collect.  QEMU answers --version and
 * -accel help in tens of milliseconds, mostly spent loading its libraries:
 * both are started when the probe starts and collected at the end, so that
 * they overlap with the other checks. */
struct child {
	pid_t pid;
	int fd;
};

static int spawn_capture(char *const argv[], struct child *c)
{
	int pipefd[2];
	c->pid = -1;
	c->fd = -1;
	if (pipe2(pipefd, O_CLOEXEC))
		return -1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	int rc = posix_spawn(&c->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (rc) {
		close(pipefd[0]);
		c->pid = -1;
		return -1;
	}
	c->fd = pipefd[0];
	return 0;
}

/* Reads the child's output (at most 64 KiB) until it exits or the deadline
 * passes; returns it only when the child exited with status 0. */
static char *collect(struct child *c, uint64_t deadline)
{
	if (c->pid < 0)
		return NULL;
	struct kq_buf b;
	kq_buf_init(&b);
	for (;;) {
		uint64_t now = kq_now_ns();
		if (now >= deadline) {
			kill(c->pid, SIGKILL);
			break;
		}
		struct pollfd pfd = { c->fd, POLLIN, 0 };
		int pr = poll(&pfd, 1, (int)((deadline - now) / 1000000ull) + 1);
		if (pr <= 0)
			continue;
		char chunk[4096];
		ssize_t n = read(c->fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (b.len < 65536)
			kq_buf_add(&b, chunk, (size_t)n);
	}
	close(c->fd);
	int status = 0;
	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
	c->pid = -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		kq_buf_free(&b);
		return NULL;
	}
	return kq_buf_steal(&b);
}

struct qemu_query {
	char *path;
	struct child version, accels;
	char identity[160];       /* the binary's, for the cache; "" unknown */
	char *cache_file;         /* NULL: no cache (--no-cache, no home) */
	char *cached_version, *cached_accels;
};

/* QEMU's answers depend on the binary alone, so they are kept in a cache
 * keyed by its identity (device, inode, size, modification and change
 * times): a new QEMU, or the same path replaced, misses it.  The cache is
 * read as untrusted text: a line that does not parse is a miss. */
static char *cache_path(const char *arch_name)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	if (xdg && *xdg == '/')
		return kq_xasprintf("%s/kvmqual/qemu-%s.txt", xdg, arch_name);
	if (home && *home == '/')
		return kq_xasprintf("%s/.cache/kvmqual/qemu-%s.txt", home, arch_name);
	return NULL;
}

static void binary_identity(const char *path, char *out, size_t size)
{
	struct stat st;
	out[0] = '\0';
	if (stat(path, &st) == 0)
		snprintf(out, size, "%s:%llu:%llu:%lld:%lld.%09ld:%lld.%09ld", path, (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino, (long long)st.st_size, (long long)st.st_mtim.tv_sec,
			 st.st_mtim.tv_nsec, (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
}

/* "\n" in the answers is stored as "\x01" so each stays one line. */
static void cache_load(struct qemu_query *q)
{
	char *text;
	size_t len;
	struct kq_err err;
	if (kq_read_file(q->cache_file, 1 << 16, &text, &len, &err))
		return;
	char key[sizeof(q->identity)], version[512], accels[512];
	if (host_info_get(text, "binary", key, sizeof(key)) && !strcmp(key, q->identity) &&
	    host_info_get(text, "version", version, sizeof(version)) &&
	    host_info_get(text, "accels", accels, sizeof(accels))) {
		for (char *c = version; *c; c++)
			if (*c == '\x01')
				*c = '\n';
		for (char *c = accels; *c; c++)
			if (*c == '\x01')
				*c = '\n';
		q->cached_version = kq_xstrdup(version);
		q->cached_accels = kq_xstrdup(accels);
	}
	free(text);
}

static void cache_store(const struct qemu_query *q, const char *version, const char *accels)
{
	if (!q->cache_file || !q->identity[0] || !version || !accels || strlen(version) > 400 || strlen(accels) > 400)
		return;
	char *dir = kq_xstrdup(q->cache_file);
	char *slash = strrchr(dir, '/');
	*slash = '\0';
	char *parent = kq_xstrdup(dir);
	char *pslash = strrchr(parent, '/');
	if (pslash && pslash != parent) {
		*pslash = '\0';
		mkdir(parent, 0700);    /* ~/.cache */
	}
	mkdir(dir, 0700);
	free(parent);
	char *v = kq_xstrdup(version), *a = kq_xstrdup(accels);
	for (char *c = v; *c; c++)
		if (*c == '\n')
			*c = '\x01';
	for (char *c = a; *c; c++)
		if (*c == '\n')
			*c = '\x01';
	char *text = kq_xasprintf("binary=%s\nversion=%s\naccels=%s\n", q->identity, v, a);
	char *tmp = kq_xasprintf("%s.%ld.tmp", q->cache_file, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		size_t n = strlen(text);
		int ok = write(fd, text, n) == (ssize_t)n;
		ok &= close(fd) == 0;
		if (!ok || rename(tmp, q->cache_file))
			unlink(tmp);
	}
	free(tmp);
	free(text);
	free(v);
	free(a);
	free(dir);
}

struct qemu_query *host_qemu_start(const struct probe *p)
{
	if (!p->live || !p->arch)
		return NULL;
	struct qemu_query *q = kq_xcalloc(1, sizeof(*q));
	q->version.pid = q->accels.pid = -1;
	q->path = which(p->arch->qemu_binary);
	if (!q->path)
		return q;
	if (!p->opt.no_cache && (q->cache_file = cache_path(p->arch->name))) {
		binary_identity(q->path, q->identity, sizeof(q->identity));
		if (q->identity[0])
			cache_load(q);
		if (q->cached_version)
			return q;
	}
	char *version_argv[] = { q->path, "--version", NULL };
	char *accel_argv[] = { q->path, "-accel", "help", NULL };
	spawn_capture(version_argv, &q->version);
	spawn_capture(accel_argv, &q->accels);
	return q;
}

void host_check_qemu(struct probe *p, struct qemu_query *q)
{
	if (!p->arch) {
		probe_add(p, "qemu.accel", CHECK_SKIP, "", "unsupported architecture", NULL);
		return;
	}
	const char *bin = p->arch->qemu_binary;
	if (!p->live || !q) {
		struct check *c = probe_add(p, "qemu.accel", CHECK_SKIP, "", NULL, NULL);
		check_set_detail(c, "snapshot: %s is looked up on the live host only", bin);
		return;
	}
	if (!q->path) {
		char hint[200];
		snprintf(hint, sizeof(hint), "install QEMU: sudo apt-get install %s",
			 !strcmp(p->arch->name, "aarch64") ? "qemu-system-arm" : "qemu-system-x86");
		struct check *c = probe_add(p, "qemu.accel", CHECK_WARN, "not found", NULL, hint);
		check_set_detail(c, "%s is not in PATH", bin);
		free(q->cache_file);
		free(q);
		return;
	}
	/* QEMU answers in milliseconds; on an emulated host (the lab's boards,
	 * where the field kit's QEMU loads 80 libraries through its loader
	 * under TCG) a busy machine makes that seconds: the smoke test's
	 * limit there (kvm_test_limit_s), never less than 5 s. */
	unsigned limit_s = kvm_test_limit_s(&p->host) > 5 ? kvm_test_limit_s(&p->host) : 5;
	uint64_t deadline = kq_now_ns() + limit_s * 1000000000ull;
	int cached = q->cached_version != NULL;
	char *version = cached ? q->cached_version : collect(&q->version, deadline);
	char *accels = cached ? q->cached_accels : collect(&q->accels, deadline);
	int timed_out = !cached && (!version || !accels) && kq_now_ns() >= deadline;
	if (!cached)
		cache_store(q, version, accels);
	char ver[64] = "unknown";
	if (version)
		sscanf(version, "QEMU emulator version %63s", ver);
	int has_kvm = 0, has_tcg = 0;
	for (char *line = accels ? strtok(accels, "\n") : NULL; line; line = strtok(NULL, "\n")) {
		char *t = kq_strtrim(line);
		has_kvm |= !strcmp(t, "kvm");
		has_tcg |= !strcmp(t, "tcg");
	}
	struct check *c;
	if (has_kvm)
		c = probe_addf(p, "qemu.accel", CHECK_PASS, NULL, "%s (kvm%s)", ver, has_tcg ? ", tcg" : "");
	else if (timed_out)
		c = probe_addf(p, "qemu.accel", CHECK_WARN,
			       "QEMU did not answer in time: run the probe again when the host is less busy",
			       "no answer within %u s", limit_s);
	else
		c = probe_addf(p, "qemu.accel", CHECK_WARN,
			       "this QEMU was built without KVM support: install Debian's qemu-system package",
			       "%s (%s)", ver, accels ? "no kvm accelerator" : "'-accel help' failed");
	check_set_detail(c, "%s, version %s%s", q->path, ver,
			 cached ? " (remembered for this binary; --no-cache asks it again)" : "");
	free(version);
	free(accels);
	free(q->cache_file);
	free(q->path);
	free(q);
}

char *host_getprop(size_t *len)
{
	char *path = which("getprop");
	if (!path && access("/system/bin/getprop", X_OK) == 0)
		path = kq_xstrdup("/system/bin/getprop");
	if (!path)
		return NULL;
	char *argv[] = { path, NULL };
	struct child c;
	char *out = NULL;
	if (spawn_capture(argv, &c) == 0)
		out = collect(&c, kq_now_ns() + 2000000000ull);
	free(path);
	if (!out)
		return NULL;
	/* Only the hypervisor's properties: the rest (serial numbers,
	 * accounts) has no business in a probe result or a snapshot. */
	struct kq_buf b;
	kq_buf_init(&b);
	kq_buf_add(&b, "", 0);
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
		if (!strncmp(line, "[ro.boot.hypervisor.", 20))
			kq_buf_printf(&b, "%s\n", line);
	free(out);
	*len = b.len;
	return kq_buf_steal(&b);
}

int host_read_msr(unsigned cpu, uint32_t msr, uint64_t *value)
{
	char path[48];
	snprintf(path, sizeof(path), "/dev/cpu/%u/msr", cpu);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = pread(fd, value, sizeof(*value), msr);
	int err = n == (ssize_t)sizeof(*value) ? 0 : n < 0 ? -errno : -EIO;
	close(fd);
	return err;
}
