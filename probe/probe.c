/* The probe's driver: loads what the host offers once, runs the checks in a
 * fixed order, and works out the verdict. */
#define _GNU_SOURCE
#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../lib/tar.h"
#include "host.h"

#define MAX_TEXT_FILE (16u << 20)

const char *verdict_name(enum verdict v)
{
	switch (v) {
	case VERDICT_KVM_READY: return "kvm-ready";
	case VERDICT_KVM_LIMITED: return "kvm-limited";
	case VERDICT_TCG_ONLY: return "tcg-only";
	}
	return "?";
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

/* Without a known architecture the per-arch checks still appear, so every
 * document has the same ids. */
static const char *const arch_checks_early[] = { "cpu.boot_el", "cpu.virt_ext", "kvm.mode" };
static const char *const arch_checks_late[] = { "kvm.vgic", "kvm.ipa", "gic.version", "gic.maint_irq",
						 "iommu.present" };
static const char *const arch_checks_topology[] = { "cpu.topology" };

static void skip_arch_checks(struct probe *p, const char *const *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		probe_add(p, ids[i], CHECK_SKIP, "", "the host's architecture is unknown (see cpu.arch)", NULL);
}

/* ---- verdict ---- */

static const char *const kvm_blockers[] = {
	"cpu.arch", "cpu.boot_el", "kconfig.KVM", "kvm.mode", "kvm.device", "kvm.api", "kvm.smoke",
	"kvm.irq.timer", "kvm.irq.ipi",
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
	const struct check *irq = probe_find(p, "kvm.irq.timer");
	int proven = smoke && smoke->status == CHECK_PASS;
	int irq_proven = proven && irq && irq->status == CHECK_PASS;
	if (why.len) {
		p->verdict = VERDICT_KVM_LIMITED;
		p->verdict_summary = kq_xasprintf("KVM with limits%s: %s",
						  proven ? "" : " (not proven by a smoke test)", why.data);
	} else {
		p->verdict = VERDICT_KVM_READY;
		p->verdict_summary = kq_xasprintf("KVM ready%s", irq_proven ? " (smoke and interrupt tests passed)"
								 : proven ? " (smoke test passed)"
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

	probe_check_arch(p, machine);
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
		p->arch->gic_maint(p);
		p->arch->iommu(p);
	} else {
		skip_arch_checks(p, arch_checks_late, KQ_ARRAY_SIZE(arch_checks_late));
	}
	probe_check_kconfig(p);
	probe_check_devices(p);
	probe_check_memory(p);
	probe_check_energy(p);
	probe_check_platform(p);
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
