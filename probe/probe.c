/* The probe's driver: loads what the host offers once, runs the checks in a
 * fixed order, and works out the verdict. */
#define _GNU_SOURCE
#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../lib/tar.h"
#include "host.h"

#define MAX_TEXT_FILE (16u << 20)

const char *check_status_name(enum check_status s)
{
	switch (s) {
	case CHECK_PASS: return "pass";
	case CHECK_WARN: return "warn";
	case CHECK_FAIL: return "fail";
	case CHECK_SKIP: return "skip";
	}
	return "?";
}

const char *verdict_name(enum verdict v)
{
	switch (v) {
	case VERDICT_KVM_READY: return "kvm-ready";
	case VERDICT_KVM_LIMITED: return "kvm-limited";
	case VERDICT_TCG_ONLY: return "tcg-only";
	}
	return "?";
}

struct check *probe_add(struct probe *p, const char *id, enum check_status status,
			const char *value, const char *detail, const char *hint)
{
	if (p->check_count == p->check_cap) {
		p->check_cap = p->check_cap ? p->check_cap * 2 : 32;
		p->checks = kq_xrealloc(p->checks, p->check_cap * sizeof(*p->checks));
	}
	struct check *c = &p->checks[p->check_count++];
	memset(c, 0, sizeof(*c));
	c->id = kq_xstrdup(id);
	c->status = status;
	c->value = kq_xstrdup(value ? value : "");
	c->detail = kq_xstrdup(detail ? detail : "");
	c->hint = hint ? kq_xstrdup(hint) : NULL;
	return c;
}

struct check *probe_addf(struct probe *p, const char *id, enum check_status status,
			 const char *hint, const char *value_fmt, ...)
{
	va_list ap;
	va_start(ap, value_fmt);
	char *value = kq_xvasprintf(value_fmt, ap);
	va_end(ap);
	struct check *c = probe_add(p, id, status, value, NULL, hint);
	free(value);
	return c;
}

void check_set_detail(struct check *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *d = kq_xvasprintf(fmt, ap);
	va_end(ap);
	free(c->detail);
	c->detail = d;
}

const struct check *probe_find(const struct probe *p, const char *id)
{
	for (size_t i = 0; i < p->check_count; i++)
		if (!strcmp(p->checks[i].id, id))
			return &p->checks[i];
	return NULL;
}

char probe_kconfig(const struct probe *p, const char *option)
{
	return kconfig_value(p->kconfig, p->kconfig_len, option);
}

/* ---- loading ---- */

static void load_log(struct probe *p)
{
	if (!p->live) {
		int rc = hostfs_read(p->fs, "dmesg.txt", &p->log, &p->log_len, MAX_TEXT_FILE);
		if (rc)
			snprintf(p->log_error, sizeof(p->log_error), "no dmesg.txt in the snapshot (%s)",
				 strerror(-rc));
		return;
	}
	/* syslog(2) first: one call, the whole ring buffer. */
	int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	if (size > 0) {
		char *buf = kq_xmalloc((size_t)size + 1);
		int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, size);
		if (n >= 0) {
			buf[n] = '\0';
			p->log = buf;
			p->log_len = (size_t)n;
			return;
		}
		free(buf);
	}
	int klog_errno = errno;
	/* /dev/kmsg hands out one record per read; stop at EAGAIN. */
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0) {
		struct kq_buf b;
		kq_buf_init(&b);
		char rec[8192];
		for (;;) {
			ssize_t n = read(fd, rec, sizeof(rec));
			if (n < 0 && errno == EPIPE)
				continue; /* records overwritten while reading */
			if (n <= 0)
				break;
			kq_buf_add(&b, rec, (size_t)n);
			if (b.len > MAX_TEXT_FILE)
				break;
		}
		close(fd);
		if (b.len) {
			p->log_len = b.len;
			p->log = kq_buf_steal(&b);
			return;
		}
		kq_buf_free(&b);
	}
	snprintf(p->log_error, sizeof(p->log_error), "kernel log not readable (%s)",
		 strerror(klog_errno));
}

static void load_kconfig(struct probe *p)
{
	char *gz;
	size_t gz_len;
	int rc = hostfs_read(p->fs, "proc/config.gz", &gz, &gz_len, MAX_TEXT_FILE);
	if (rc == 0) {
		struct kq_err err;
		if (kq_gunzip(gz, gz_len, MAX_TEXT_FILE, &p->kconfig, &p->kconfig_len, &err) == 0) {
			snprintf(p->kconfig_source, sizeof(p->kconfig_source), "/proc/config.gz");
			free(gz);
			return;
		}
		snprintf(p->kconfig_source, sizeof(p->kconfig_source), "/proc/config.gz: %s", err.msg);
		free(gz);
	}
	if (p->host.kernel_release[0]) {
		char path[160];
		snprintf(path, sizeof(path), "boot/config-%s", p->host.kernel_release);
		if (hostfs_read(p->fs, path, &p->kconfig, &p->kconfig_len, MAX_TEXT_FILE) == 0) {
			snprintf(p->kconfig_source, sizeof(p->kconfig_source), "/%s", path);
			return;
		}
	}
	if (!p->kconfig_source[0])
		snprintf(p->kconfig_source, sizeof(p->kconfig_source),
			 "neither /proc/config.gz nor /boot/config-%s", p->host.kernel_release);
}

static void load_firmware(struct probe *p)
{
	char *blob;
	size_t len;
	if (hostfs_read(p->fs, "sys/firmware/fdt", &blob, &len, MAX_TEXT_FILE) == 0) {
		p->fdt_present = 1;
		if (fdt_facts_parse(blob, len, &p->fdt, p->fdt_error, sizeof(p->fdt_error)))
			p->fdt.valid = 0;
		free(blob);
	}
	if (hostfs_read(p->fs, "sys/firmware/acpi/tables/APIC", &blob, &len, MAX_TEXT_FILE) == 0) {
		p->acpi_present = 1;
		madt_parse(blob, len, &p->madt, p->acpi_error, sizeof(p->acpi_error));
		free(blob);
	}
	if (hostfs_read(p->fs, "sys/firmware/acpi/tables/IORT", &blob, &len, MAX_TEXT_FILE) == 0) {
		p->acpi_present = 1;
		iort_parse(blob, len, &p->iort, p->acpi_error, sizeof(p->acpi_error));
		free(blob);
	}
	if (hostfs_exists(p->fs, "sys/firmware/acpi/tables"))
		p->acpi_present = 1;
}

/* Which architecture's classification applies: uname on a live host, the
 * snapshot's own record, or the shape of /proc/cpuinfo. */
static const struct probe_arch *pick_arch(struct probe *p, char *machine, size_t size)
{
	machine[0] = '\0';
	if (p->live) {
		struct utsname u;
		if (uname(&u) == 0)
			snprintf(machine, size, "%s", u.machine);
	} else {
		char *data;
		size_t len;
		if (hostfs_read(p->fs, "snapshot-info.txt", &data, &len, 65536) == 0) {
			host_info_get(data, "machine", machine, size);
			free(data);
		}
		if (!machine[0]) {
			if (p->cpuinfo.looks_arm64)
				snprintf(machine, size, "aarch64");
			else if (p->cpuinfo.looks_x86)
				snprintf(machine, size, "x86_64");
		}
	}
	if (!strcmp(machine, "aarch64") || !strcmp(machine, "arm64"))
		return &probe_arch_arm64;
	if (!strcmp(machine, "x86_64") || !strcmp(machine, "amd64"))
		return &probe_arch_x86;
	return NULL;
}

/* ---- checks shared by every architecture ---- */

static void check_arch(struct probe *p, const char *machine)
{
	if (p->arch) {
		probe_addf(p, "cpu.arch", CHECK_PASS, NULL, "%s", p->arch->name);
		return;
	}
	struct check *c = probe_addf(p, "cpu.arch", CHECK_FAIL,
				     "kvmqual qualifies aarch64 and x86_64 hosts only",
				     "%s", machine[0] ? machine : "unknown");
	check_set_detail(c, machine[0] ? "unsupported architecture"
				       : "cannot tell the architecture (no uname, snapshot-info.txt or cpuinfo)");
}

static const char *const kconfig_options[] = {
	"KVM", "VHOST_NET", "VHOST_VSOCK", "VIRTIO", "VIRTIO_PCI", "VIRTIO_BALLOON",
	"VIRTIO_BLK", "VIRTIO_NET", "VIRTIO_CONSOLE", "SCSI_VIRTIO", "CRYPTO_DEV_VIRTIO",
};

static void check_kconfig(struct probe *p)
{
	for (size_t i = 0; i < KQ_ARRAY_SIZE(kconfig_options); i++) {
		const char *opt = kconfig_options[i];
		char id[64], v = probe_kconfig(p, opt);
		snprintf(id, sizeof(id), "kconfig.%s", opt);
		char value[2] = { v == '?' ? 0 : v, 0 };
		struct check *c;
		if (v == 'y' || v == 'm') {
			c = probe_add(p, id, CHECK_PASS, value, NULL, NULL);
			check_set_detail(c, "CONFIG_%s=%c (%s)", opt, v, p->kconfig_source);
		} else if (v == '?') {
			c = probe_add(p, id, CHECK_WARN, "unknown", NULL,
				      "the kernel configuration is not readable: build with CONFIG_IKCONFIG_PROC=y, "
				      "or install the kernel's config as /boot/config-$(uname -r)");
			check_set_detail(c, "%s", p->kconfig_source);
		} else {
			int is_kvm = !strcmp(opt, "KVM");
			int is_vhost_net = !strcmp(opt, "VHOST_NET");
			char *hint = kq_xasprintf(
				is_kvm ? "rebuild the kernel with CONFIG_VIRTUALIZATION=y and CONFIG_KVM=y"
				: is_vhost_net ? "rebuild with CONFIG_VHOST_NET=m: without it guest networking "
						 "runs through QEMU's user-space path and will not reach 1 Gbit/s"
					       : "rebuild with CONFIG_%s=m if guests or nested setups need it", opt);
			c = probe_add(p, id, is_kvm ? CHECK_FAIL : CHECK_WARN, "n", NULL, hint);
			free(hint);
			c->limits = is_vhost_net;
			check_set_detail(c, "CONFIG_%s is not set (%s)", opt, p->kconfig_source);
		}
	}
}

struct dev_desc {
	const char *id, *path, *module, *kconfig, *purpose;
	int limits;
};

static const struct dev_desc devices[] = {
	{ "dev.vhost_net", "dev/vhost-net", "vhost_net", "VHOST_NET",
	  "in-kernel virtio-net backend, needed for >= 1 Gbit/s guest networking", 1 },
	{ "dev.vhost_vsock", "dev/vhost-vsock", "vhost_vsock", "VHOST_VSOCK", "host<->guest sockets (vsock)", 0 },
	{ "dev.tun", "dev/net/tun", "tun", "TUN", "tap network devices for guests", 0 },
	{ "dev.vfio", "dev/vfio/vfio", "vfio", "VFIO", "device passthrough (VFIO)", 0 },
};

static void check_devices(struct probe *p)
{
	for (size_t i = 0; i < KQ_ARRAY_SIZE(devices); i++) {
		const struct dev_desc *d = &devices[i];
		int present = hostfs_exists(p->fs, d->path);
		if (present && !p->live) {
			struct check *c = probe_addf(p, d->id, CHECK_PASS, NULL, "present");
			check_set_detail(c, "/%s exists (snapshot: not opened)", d->path);
			continue;
		}
		int err = ENOENT;
		if (present) {
			char *abs = kq_xasprintf("/%s", d->path);
			int fd = open(abs, O_RDWR | O_CLOEXEC);
			err = fd >= 0 ? 0 : errno;
			if (fd >= 0)
				close(fd);
			free(abs);
		}
		if (!err) {
			struct check *c = probe_addf(p, d->id, CHECK_PASS, NULL, "ok");
			check_set_detail(c, "/%s opens read-write: %s", d->path, d->purpose);
			continue;
		}
		char hint[320];
		if (err == ENOENT)
			snprintf(hint, sizeof(hint), "%s: sudo modprobe %s (or build the kernel with it)",
				 probe_kconfig(p, d->kconfig) == 'm'
					 ? "the module is built but not loaded" : "missing",
				 d->module);
		else if (err == EACCES || err == EPERM)
			snprintf(hint, sizeof(hint), "no permission on /%s: run as root, or give your user "
				 "access (a udev rule or group, as for /dev/kvm)", d->path);
		else
			snprintf(hint, sizeof(hint), "/%s does not open (%s): check dmesg", d->path, strerror(err));
		struct check *c = probe_addf(p, d->id, CHECK_WARN, hint, "%s",
					     err == ENOENT ? "absent" : strerror(err));
		c->limits = d->limits;
		check_set_detail(c, "/%s: %s; used for %s", d->path, strerror(err), d->purpose);
	}
}

static void check_memory(struct probe *p)
{
	long ps = p->host.page_size;
	if (!ps) {
		struct check *c = probe_add(p, "mem.page_size", CHECK_WARN, "unknown", NULL,
					    "capture the snapshot with 'probe --capture' so that it records the page size");
		check_set_detail(c, "the snapshot does not record the page size and the kernel config does not say");
	} else if (ps == 4096) {
		struct check *c = probe_addf(p, "mem.page_size", CHECK_PASS, NULL, "4K");
		check_set_detail(c, "4 KiB pages, what guests and VMMs expect");
	} else {
		struct check *c = probe_addf(
			p, "mem.page_size", CHECK_WARN,
			"KVM works, but VMMs and guest images that assume 4K pages can fail (memory sizes "
			"and alignments must be multiples of the host page); if one does, boot a 4K-page "
			"kernel (Raspberry Pi OS: kernel=kernel8.img in config.txt)",
			"%ldK", ps / 1024);
		c->limits = 1;
		check_set_detail(c, "%ld KiB pages", ps / 1024);
	}

	char **names = NULL;
	size_t n = hostfs_list(p->fs, "sys/kernel/mm/hugepages", &names);
	struct kq_buf sizes;
	kq_buf_init(&sizes);
	for (size_t i = 0; i < n; i++) {
		if (!kq_startswith(names[i], "hugepages-"))
			continue;
		kq_buf_printf(&sizes, "%s%s", sizes.len ? "," : "", names[i] + 10);
	}
	hostfs_free_list(names);
	char *thp = hostfs_read_line(p->fs, "sys/kernel/mm/transparent_hugepage/enabled");
	char thp_mode[32] = "absent";
	if (thp) {
		char *open = strchr(thp, '['), *close = open ? strchr(open, ']') : NULL;
		if (open && close && close - open < (long)sizeof(thp_mode)) {
			memcpy(thp_mode, open + 1, (size_t)(close - open - 1));
			thp_mode[close - open - 1] = '\0';
		} else {
			snprintf(thp_mode, sizeof(thp_mode), "unknown");
		}
	}
	free(thp);
	int thp_ok = !strcmp(thp_mode, "always") || !strcmp(thp_mode, "madvise");
	struct check *c;
	if (thp_ok || sizes.len)
		c = probe_addf(p, "mem.hugepages", CHECK_PASS, NULL, "THP %s; hugetlb %s", thp_mode,
			       sizes.len ? sizes.data : "none");
	else
		c = probe_addf(p, "mem.hugepages", CHECK_WARN,
			       "guest memory will use base pages only (more TLB misses); enable "
			       "CONFIG_TRANSPARENT_HUGEPAGE, or echo madvise > /sys/kernel/mm/transparent_hugepage/enabled",
			       "THP %s; hugetlb %s", thp_mode, sizes.len ? sizes.data : "none");
	check_set_detail(c, "transparent huge pages: %s; hugetlbfs page sizes: %s", thp_mode,
			 sizes.len ? sizes.data : "none");
	kq_buf_free(&sizes);
}

/* Without a known architecture the per-arch checks still appear, so every
 * document has the same ids. */
static const char *const arch_checks_early[] = { "cpu.boot_el", "cpu.virt_ext", "kvm.mode" };
static const char *const arch_checks_late[] = { "kvm.vgic", "gic.version", "iommu.present" };
static const char *const arch_checks_topology[] = { "cpu.topology" };

static void skip_arch_checks(struct probe *p, const char *const *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		probe_add(p, ids[i], CHECK_SKIP, "", "the host's architecture is unknown (see cpu.arch)", NULL);
}

/* ---- verdict ---- */

static const char *const kvm_blockers[] = {
	"cpu.arch", "cpu.boot_el", "kconfig.KVM", "kvm.mode", "kvm.device", "kvm.api", "kvm.smoke",
};

static void decide(struct probe *p)
{
	p->verdict_reasons = cJSON_CreateArray();
	struct kq_buf why;
	kq_buf_init(&why);
	for (size_t i = 0; i < KQ_ARRAY_SIZE(kvm_blockers); i++) {
		const struct check *c = probe_find(p, kvm_blockers[i]);
		if (!c || c->status != CHECK_FAIL)
			continue;
		char *r = kq_xasprintf("%s: %s%s%s", c->id, c->value, c->detail[0] ? " - " : "", c->detail);
		cJSON_AddItemToArray(p->verdict_reasons, cJSON_CreateString(r));
		if (!why.len)
			kq_buf_printf(&why, "%s", r);
		free(r);
	}
	if (why.len) {
		p->verdict = VERDICT_TCG_ONLY;
		p->verdict_summary = kq_xasprintf("TCG only: KVM cannot run here (%s)", why.data);
		kq_buf_free(&why);
		return;
	}
	for (size_t i = 0; i < p->check_count; i++) {
		const struct check *c = &p->checks[i];
		if (c->status != CHECK_WARN || !c->limits)
			continue;
		char *r = kq_xasprintf("%s: %s", c->id, c->value);
		cJSON_AddItemToArray(p->verdict_reasons, cJSON_CreateString(r));
		kq_buf_printf(&why, "%s%s", why.len ? "; " : "", r);
		free(r);
	}
	const struct check *smoke = probe_find(p, "kvm.smoke");
	int proven = smoke && smoke->status == CHECK_PASS;
	if (why.len) {
		p->verdict = VERDICT_KVM_LIMITED;
		p->verdict_summary = kq_xasprintf("KVM with limits%s: %s",
						  proven ? "" : " (not proven by a smoke test)", why.data);
	} else {
		p->verdict = VERDICT_KVM_READY;
		p->verdict_summary = kq_xasprintf("KVM ready%s", proven ? " (smoke test passed)"
								 : " (not proven by a smoke test)");
	}
	kq_buf_free(&why);
}

int probe_run(struct probe *p, struct hostfs *fs, const struct probe_options *opt,
	      struct kq_err *err)
{
	uint64_t start = kq_now_ns();
	memset(p, 0, sizeof(*p));
	p->fs = fs;
	p->live = hostfs_kind(fs) == HOSTFS_LIVE;
	if (opt)
		p->opt = *opt;

	char *cpuinfo;
	size_t cpuinfo_len;
	if (hostfs_read(fs, "proc/cpuinfo", &cpuinfo, &cpuinfo_len, MAX_TEXT_FILE) == 0) {
		cpuinfo_parse(cpuinfo, cpuinfo_len, &p->cpuinfo);
		free(cpuinfo);
	}
	char machine[32];
	p->arch = pick_arch(p, machine, sizeof(machine));
	if (!p->live && !p->arch && !hostfs_exists(fs, "proc") && !hostfs_exists(fs, "sys") &&
	    !hostfs_exists(fs, "dmesg.txt")) {
		return kq_error(err, "snapshot '%s' holds none of proc/, sys/ or dmesg.txt: not a host snapshot",
				hostfs_origin(fs));
	}
	host_identity_read(p, machine);
	struct qemu_query *qemu = host_qemu_start(p);
	p->cmdline = hostfs_read_line(fs, "proc/cmdline");
	load_log(p);
	load_kconfig(p);
	load_firmware(p);
	if (p->log)
		dmesg_kvm_arm(p->log, p->log_len, &p->kvm_log);
	host_page_size_fallback(p);
	host_emulation_detect(p);

	check_arch(p, machine);
	if (p->arch) {
		p->arch->boot_el(p);
		p->arch->virt_ext(p);
		p->arch->kvm_mode(p);
	} else {
		skip_arch_checks(p, arch_checks_early, KQ_ARRAY_SIZE(arch_checks_early));
	}
	probe_kvm_checks(p);
	if (p->arch) {
		p->arch->vgic(p);
		p->arch->gic(p);
		p->arch->iommu(p);
	} else {
		skip_arch_checks(p, arch_checks_late, KQ_ARRAY_SIZE(arch_checks_late));
	}
	check_kconfig(p);
	check_devices(p);
	check_memory(p);
	if (p->arch)
		p->arch->topology(p);
	else
		skip_arch_checks(p, arch_checks_topology, 1);
	host_check_qemu(p, qemu);
	decide(p);
	p->elapsed_ms = (double)(kq_now_ns() - start) / 1e6;
	return 0;
}

void probe_free(struct probe *p)
{
	for (size_t i = 0; i < p->check_count; i++) {
		free(p->checks[i].id);
		free(p->checks[i].value);
		free(p->checks[i].detail);
		free(p->checks[i].hint);
		cJSON_Delete(p->checks[i].data);
	}
	free(p->checks);
	free(p->log);
	free(p->cmdline);
	free(p->kconfig);
	cpuinfo_free(&p->cpuinfo);
	free(p->verdict_summary);
	cJSON_Delete(p->verdict_reasons);
	memset(p, 0, sizeof(*p));
}
