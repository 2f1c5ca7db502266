/* aarch64 classification: boot EL, KVM mode, GIC, SMMU and CPU clusters,
 * all read from files (kernel log, device tree, ACPI tables, sysfs), so it
 * runs on any host against an aarch64 snapshot. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

static const char *log_hint(const struct probe *p)
{
	return p->live ? "run the probe as root (or sysctl kernel.dmesg_restrict=0) so it can read the kernel log; "
			 "on a long-running host the boot messages may have left the ring buffer: "
			 "boot with log_buf_len=4M"
		       : "add the host's kernel log to the snapshot as dmesg.txt (probe --capture does this)";
}

static void arm64_boot_el(struct probe *p)
{
	char line[256];
	if (!p->log) {
		struct check *c = probe_add(p, "cpu.boot_el", CHECK_WARN, "unknown", p->log_error,
					    log_hint(p));
		(void)c;
		return;
	}
	enum boot_el el = dmesg_boot_el(p->log, p->log_len, line, sizeof(line));
	switch (el) {
	case BOOT_EL2:
		probe_add(p, "cpu.boot_el", CHECK_PASS, "EL2", line, NULL);
		break;
	case BOOT_EL1:
		probe_add(p, "cpu.boot_el", CHECK_FAIL, "EL1", line,
			  "the kernel was entered at EL1, so EL2 belongs to firmware or a vendor hypervisor "
			  "and KVM cannot run; the boot chain (TF-A/U-Boot/UEFI, or an unlocked phone "
			  "bootloader) must hand EL2 to Linux");
		break;
	case BOOT_EL_MIXED:
		probe_add(p, "cpu.boot_el", CHECK_FAIL, "mixed", line,
			  "some CPUs entered at EL1 and others at EL2, and the kernel disables KVM; fix the "
			  "firmware's secondary CPU bring-up (PSCI) so that every CPU starts at EL2");
		break;
	case BOOT_EL_UNKNOWN:
		probe_add(p, "cpu.boot_el", CHECK_WARN, "unknown",
			  "no 'CPU(s) started at EL' line in the kernel log", log_hint(p));
		break;
	}
}

static int mode_uses_vhe(enum kvm_arm_mode m)
{
	return m == KVM_ARM_VHE || m == KVM_ARM_HVHE || m == KVM_ARM_PROTECTED_HVHE;
}

/* Whether the CPU has VHE is a fact of the CPU; whether the kernel uses it
 * is the KVM mode it chose (kvm-arm.mode=nvhe or protected keeps a VHE
 * CPU in nVHE: every pKVM phone).  ID_AA64MMFR1_EL1.VH is hidden from user
 * space (the kernel's cpufeature table marks it FTR_HIDDEN), so the CPU's
 * side comes from the Armv8.1 features cpuinfo lists, or from the kernel
 * saying it detected VHE. */
static void arm64_virt_ext(struct probe *p)
{
	const struct kvm_arm_log *k = &p->kvm_log;
	const struct check *el = probe_find(p, "cpu.boot_el");
	int at_el2 = el && el->status == CHECK_PASS;
	int at_el1 = el && el->status == CHECK_FAIL;
	char why[200];
	int cpu_vhe = cpuinfo_vhe(&p->cpuinfo, why, sizeof(why));
	if (k->vhe_feature) {
		cpu_vhe = 1;
		snprintf(why, sizeof(why), "kernel log: CPU features: detected: Virtualization Host Extensions");
	}
	char arg[64] = "";
	int told = cmdline_get(p->cmdline, "kvm-arm.mode", arg, sizeof(arg));
	/* The mode KVM initialised in decides what the kernel uses; the
	 * "detected" line only when no mode line is there. */
	if (mode_uses_vhe(k->mode) || (k->mode == KVM_ARM_UNKNOWN && k->vhe_feature)) {
		struct check *c = probe_addf(p, "cpu.virt_ext", CHECK_PASS, NULL, "EL2, VHE%s",
					     k->nv2 ? ", NV2" : "");
		check_set_detail(c, "%s", k->mode == KVM_ARM_UNKNOWN ? why : k->line);
	} else if (k->mode == KVM_ARM_NVHE || k->mode == KVM_ARM_PROTECTED_NVHE) {
		const char *value = cpu_vhe == 1 ? "EL2, VHE (not used)" : cpu_vhe == 0 ? "EL2, no VHE" : "EL2, nVHE";
		struct check *c = probe_add(p, "cpu.virt_ext", CHECK_PASS, value, NULL, NULL);
		if (cpu_vhe == 1)
			check_set_detail(c, "the CPU has VHE (%s), but KVM runs split between EL1 and EL2 (nVHE)%s%s%s; %s",
					 why, told ? ": kvm-arm.mode=" : "", told ? arg : "",
					 told ? " on the command line" : "", k->line);
		else if (cpu_vhe == 0)
			check_set_detail(c, "KVM runs split between EL1 and EL2 (nVHE): the CPU lacks ARMv8.1 VHE (%s); %s",
					 why, k->line);
		else
			check_set_detail(c, "KVM runs split between EL1 and EL2 (nVHE)%s%s; whether the CPU has VHE "
					    "cannot be known here (%s); %s",
					 told ? ", kvm-arm.mode=" : "", told ? arg : "", why, k->line);
	} else if (at_el1) {
		probe_add(p, "cpu.virt_ext", CHECK_FAIL, "EL2 not available",
			  "the kernel runs at EL1, so the virtualization extensions are out of its reach",
			  "see cpu.boot_el");
	} else {
		struct check *c = probe_add(p, "cpu.virt_ext", at_el2 ? CHECK_PASS : CHECK_WARN,
					    at_el2 ? "EL2" : "unknown", NULL, at_el2 ? NULL : log_hint(p));
		check_set_detail(c, "%s; the CPU %s (%s)",
				 at_el2 ? "booted at EL2; the kernel log does not say whether VHE is in use"
					: "neither the boot EL nor the KVM mode could be read",
				 cpu_vhe == 1 ? "has VHE" : cpu_vhe == 0 ? "has no VHE" : "may or may not have VHE", why);
	}
}

static void arm64_kvm_mode(struct probe *p)
{
	const struct kvm_arm_log *k = &p->kvm_log;
	char value[48];
	snprintf(value, sizeof(value), "%s%s", kvm_arm_mode_name(k->mode), k->nv2 ? "+nv2" : "");
	char arg[64];
	int cmdline_none = cmdline_get(p->cmdline, "kvm-arm.mode", arg, sizeof(arg)) && !strcmp(arg, "none");
	switch (k->mode) {
	case KVM_ARM_VHE:
	case KVM_ARM_NVHE:
	case KVM_ARM_HVHE:
		probe_add(p, "kvm.mode", CHECK_PASS, value, k->line, NULL);
		return;
	case KVM_ARM_PROTECTED_NVHE:
	case KVM_ARM_PROTECTED_HVHE: {
		struct check *c = probe_add(p, "kvm.mode", CHECK_PASS, value, NULL, NULL);
		check_set_detail(c, "%s (pKVM: the host kernel is deprivileged; ordinary VMs still run)", k->line);
		return;
	}
	case KVM_ARM_DISABLED:
		probe_add(p, "kvm.mode", CHECK_FAIL, "disabled", k->line,
			  "KVM was turned off with kvm-arm.mode=none on the kernel command line: remove it");
		return;
	case KVM_ARM_UNAVAILABLE:
		probe_add(p, "kvm.mode", CHECK_FAIL, "unavailable", k->line,
			  strstr(k->line, "not available")
				  ? "'HYP mode not available' means the kernel did not boot at EL2: KVM cannot "
				    "run until the boot chain enters Linux at EL2 (see cpu.boot_el)"
				  : "KVM failed to initialise: read the kvm lines of dmesg for the cause");
		return;
	case KVM_ARM_UNKNOWN:
		break;
	}
	if (cmdline_none) {
		probe_add(p, "kvm.mode", CHECK_FAIL, "disabled", "kvm-arm.mode=none on the kernel command line",
			  "remove kvm-arm.mode=none from the kernel command line");
		return;
	}
	char kvm = probe_kconfig(p, "KVM");
	if (kvm == 'n') {
		probe_add(p, "kvm.mode", CHECK_FAIL, "absent", "the kernel is built without CONFIG_KVM",
			  "rebuild the kernel with CONFIG_VIRTUALIZATION=y and CONFIG_KVM=y");
		return;
	}
	probe_add(p, "kvm.mode", CHECK_WARN, "unknown",
		  p->log ? "no 'kvm [1]: ... mode initialized' line in the kernel log" : p->log_error,
		  log_hint(p));
}

static void arm64_vgic_only(struct probe *p)
{
	const struct kvm_live *k = &p->kvm;
	if (!p->live) {
		probe_add(p, "kvm.vgic", CHECK_SKIP, "", "snapshot: needs KVM_CREATE_DEVICE on the live host", NULL);
		return;
	}
	if (!k->vgic_ran) {
		probe_add(p, "kvm.vgic", CHECK_SKIP, "", "no usable /dev/kvm", NULL);
		return;
	}
	char value[64];
	snprintf(value, sizeof(value), "%s%s%s", k->vgic_v3 ? (k->vgic_its ? "v3+its" : "v3") : "",
		 k->vgic_v3 && k->vgic_v2 ? ", " : "", k->vgic_v2 ? "v2" : "");
	if (k->vgic_v3) {
		struct check *c = probe_add(p, "kvm.vgic", CHECK_PASS, value, NULL, NULL);
		check_set_detail(c, "guests get a GICv3%s: every VMM works", k->vgic_its ? " with an ITS (MSIs)" : "");
	} else if (k->vgic_v2) {
		/* QEMU runs guests on a vGICv2, so this does not limit the suite's
		 * own verdict; it is a warning for other VMMs. */
		struct check *c = probe_add(p, "kvm.vgic", CHECK_WARN, value, NULL,
					    "only a GICv2 can be emulated: QEMU and crosvm work, VMMs that need "
					    "GICv3 (cloud-hypervisor) do not, and guests are limited to 8 vCPUs");
		check_set_detail(c, "KVM_CREATE_DEVICE(test) accepted VGIC_V2 only");
	} else {
		probe_add(p, "kvm.vgic", CHECK_FAIL, "none", "KVM_CREATE_DEVICE(test) refused every vGIC type",
			  "KVM cannot give guests an interrupt controller: check the GIC's virtualization "
			  "resources (GICV/GICH) in the device tree or MADT, and dmesg | grep -i vgic");
	}
}

/* The IPA size bounds guest RAM.  QEMU's virt board puts RAM at 1 GiB and,
 * with highmem, 512 GiB of PCIe MMIO plus the high ECAM and redistributors
 * (320 MiB) above it; below 40 bits that MMIO does not fit (QEMU 7.1 and
 * later leave it out, older ones fail unless told highmem=off, which keeps
 * RAM below 4 GiB). */
static void arm64_ipa(struct probe *p)
{
	unsigned bits = 0;
	const char *source = "";
	const struct check *api = probe_find(p, "kvm.api");
	const cJSON *ipa = api && api->data ? cJSON_GetObjectItem(api->data, "ipa_size") : NULL;
	if (cJSON_IsNumber(ipa) && ipa->valuedouble > 0) {
		bits = (unsigned)ipa->valuedouble;
		source = "KVM_CAP_ARM_VM_IPA_SIZE";
	} else if (p->kvm_log.ipa_bits) {
		bits = p->kvm_log.ipa_bits;
		source = "kernel log: IPA Size Limit";
	}
	if (bits < 32 || bits > 52) {
		probe_add(p, "kvm.ipa", CHECK_SKIP, "", bits ? "implausible IPA size" : "no IPA size (KVM capability or kvm line in the kernel log)", NULL);
		return;
	}
	double ram_gib = bits <= 32 ? 3 : (double)(1ull << (bits - 30)) - 1 - 0.3125 - (bits >= 40 ? 512 : 0);
	struct check *c;
	if (bits >= 40) {
		c = probe_addf(p, "kvm.ipa", CHECK_PASS, NULL, "%u bits: guests up to %.0f GiB", bits, ram_gib);
	} else if (bits > 32) {
		c = probe_addf(p, "kvm.ipa", CHECK_WARN,
			       "QEMU's virt board cannot place its 512 GiB of high PCIe MMIO: QEMU 7.1 and later leave "
			       "it out (no 64-bit PCI BARs), older ones fail unless run with -M virt,highmem=off, "
			       "which keeps guest RAM under 3 GiB",
			       "%u bits: guests up to %.0f GiB", bits, ram_gib);
	} else {
		c = probe_addf(p, "kvm.ipa", CHECK_WARN,
			       "run QEMU with -M virt,highmem=off: nothing above 4 GiB exists for guests",
			       "%u bits: guests up to 3 GiB", bits);
	}
	check_set_detail(c, "%s: %u bits of guest physical address space; RAM starts at 1 GiB on QEMU's virt board",
			 source, bits);
}

static void arm64_vgic(struct probe *p)
{
	arm64_vgic_only(p);
	arm64_ipa(p);
}

static void arm64_gic(struct probe *p)
{
	enum gic_version v = GIC_UNKNOWN;
	char source[300] = "";
	char its_note[80] = "";
	if (p->fdt.gic_its_disabled)
		snprintf(its_note, sizeof(its_note), "; %d ITS node%s marked disabled", p->fdt.gic_its_disabled,
			 p->fdt.gic_its_disabled == 1 ? "" : "s");
	if (p->fdt.valid && p->fdt.gic) {
		v = p->fdt.gic;
		snprintf(source, sizeof(source), "device tree: %s%s%s", p->fdt.gic_compatible,
			 p->fdt.gic_its ? " with arm,gic-v3-its" : "", its_note);
	} else if (p->madt.valid && p->madt.gic) {
		v = p->madt.gic;
		snprintf(source, sizeof(source), "ACPI MADT: GIC distributor version %d, %zu GICC%s%s",
			 p->madt.gicd_version, p->madt.gicc_count, p->madt.has_gicr ? ", redistributors" : "",
			 p->madt.has_its ? ", ITS" : "");
	} else if (p->log) {
		/* No firmware tables in the snapshot: the drivers' own words. */
		char line[256];
		v = dmesg_gic_version(p->log, p->log_len, line, sizeof(line));
		if (v)
			snprintf(source, sizeof(source), "kernel log (%s): %s",
				 p->fdt_error[0] ? p->fdt_error : "no device tree or ACPI MADT to read", line);
	}
	int its = p->fdt.gic_its || p->madt.has_its;
	if (v == GIC_V3 || v == GIC_V4) {
		struct check *c = probe_addf(p, "gic.version", CHECK_PASS, NULL, "v%d%s", (int)v, its ? "+its" : "");
		check_set_detail(c, "%s", source);
	} else if (v == GIC_V2) {
		struct check *c = probe_add(p, "gic.version", CHECK_WARN, "v2", source,
					    "a GICv2 host (like the Raspberry Pi 5's GIC-400) can only give guests a "
					    "GICv2: at most 8 vCPUs, and VMMs that need GICv3 (cloud-hypervisor) cannot run");
		(void)c;
	} else {
		char why[200];
		snprintf(why, sizeof(why), "%s%s%s%s",
			 p->fdt_error[0] ? p->fdt_error : (p->fdt_present ? "no GIC node in the device tree"
									 : "no device tree"),
			 p->acpi_error[0] ? "; " : (p->acpi_present ? "" : "; no ACPI MADT"),
			 p->acpi_error, p->log ? "; no GIC line in the kernel log" : "");
		probe_add(p, "gic.version", CHECK_WARN, "unknown", why,
			  p->live ? "the firmware describes no GIC the probe can read (/sys/firmware/fdt or "
				    "/sys/firmware/acpi/tables/APIC; run as root)"
				  : "add sys/firmware/fdt or sys/firmware/acpi/tables/APIC to the snapshot");
	}
}

/* KVM's vGIC needs the GIC's maintenance interrupt: without it (a device
 * tree whose GIC node lacks its interrupts property) KVM runs without an
 * in-kernel vGIC and guests get no interrupts.  The kernel's own word is
 * /proc/interrupts' "vgic" line; the device tree says whether it can be. */
static void arm64_gic_maint(struct probe *p)
{
	char line[256] = "";
	char *irqs = NULL;
	size_t irqs_len = 0;
	int have_irqs = hostfs_read(p->fs, "proc/interrupts", &irqs, &irqs_len, 1 << 22) == 0;
	int vgic_line = have_irqs && proc_interrupts_find(irqs, irqs_len, "vgic", line, sizeof(line));
	free(irqs);
	int kvm_up = p->kvm_log.mode != KVM_ARM_UNKNOWN && p->kvm_log.mode != KVM_ARM_DISABLED &&
		     p->kvm_log.mode != KVM_ARM_UNAVAILABLE;
	if (vgic_line) {
		struct check *c = probe_add(p, "gic.maint_irq", CHECK_PASS, "in use", NULL, NULL);
		check_set_detail(c, "/proc/interrupts: %s", line);
		return;
	}
	if (p->fdt.valid && p->fdt.gic && p->fdt.gic_virt && !p->fdt.gic_maint_irq) {
		struct check *c = probe_add(p, "gic.maint_irq", CHECK_WARN, "missing", NULL,
					    p->arch->irq_fail_hint);
		c->limits = 1;
		check_set_detail(c, "the device tree's GIC node (%s) has virtualization frames but no interrupts "
				    "property%s", p->fdt.gic_compatible,
				 have_irqs ? ", and /proc/interrupts has no vgic line" : "");
		return;
	}
	if (have_irqs && kvm_up && (p->fdt.gic || p->madt.gic)) {
		struct check *c = probe_add(p, "gic.maint_irq", CHECK_WARN, "not in use", NULL, p->arch->irq_fail_hint);
		check_set_detail(c, "KVM initialised (%s) but /proc/interrupts has no vgic line", p->kvm_log.line);
		return;
	}
	if (p->fdt.valid && p->fdt.gic_maint_irq) {
		struct check *c = probe_add(p, "gic.maint_irq", CHECK_PASS, "described", NULL, NULL);
		check_set_detail(c, "the device tree's GIC node (%s) lists its maintenance interrupt%s",
				 p->fdt.gic_compatible, have_irqs ? "" : " (no /proc/interrupts to confirm it is in use)");
		return;
	}
	struct check *c = probe_add(p, "gic.maint_irq", CHECK_SKIP, "", NULL, NULL);
	check_set_detail(c, "%s", have_irqs ? "no GIC with virtualization frames to judge"
					    : "no /proc/interrupts and no GIC node to read it from");
}

/* Adds name to a ", "-separated list unless it is there already. */
static void list_add_once(char *list, size_t size, const char *name)
{
	if (!name[0])
		return;
	for (const char *s = strstr(list, name); s; s = strstr(s + 1, name)) {
		size_t n = strlen(name);
		if ((s == list || s[-1] == ' ') && (s[n] == '\0' || s[n] == ','))
			return;
	}
	size_t used = strlen(list);
	snprintf(list + used, size - used, "%s%s", used ? ", " : "", name);
}

static void arm64_iommu(struct probe *p)
{
	size_t count = 0, disabled = 0;
	char found[160] = "", drivers[160] = "", unknown_driver[160] = "";
	for (size_t i = 0; i < p->fdt.iommu_count; i++) {
		const struct iommu_unit *u = &p->fdt.iommus[i];
		if (!u->enabled) {
			disabled++;
			continue;
		}
		count++;
		/* SMMUv1 and v2 share a driver and, in the value, a name. */
		list_add_once(found, sizeof(found), !strcmp(u->kind, "smmu-v3") ? "SMMUv3"
						  : !strncmp(u->kind, "smmu-v", 6) ? "SMMUv1/v2" : u->name);
		if (u->driver[0]) {
			char opt[48];
			snprintf(opt, sizeof(opt), "CONFIG_%s", u->driver);
			list_add_once(drivers, sizeof(drivers), opt);
		} else {
			list_add_once(unknown_driver, sizeof(unknown_driver), u->compatible);
		}
	}
	if (p->iort.smmu_v3) {
		count += p->iort.smmu_v3;
		list_add_once(found, sizeof(found), "SMMUv3");
		list_add_once(drivers, sizeof(drivers), "CONFIG_ARM_SMMU_V3");
	}
	if (p->iort.smmu_v1v2) {
		count += p->iort.smmu_v1v2;
		list_add_once(found, sizeof(found), "SMMUv1/v2");
		list_add_once(drivers, sizeof(drivers), "CONFIG_ARM_SMMU");
	}
	/* Every unit the device tree lists, for tools and the matrix. */
	cJSON *units = cJSON_CreateArray();
	for (size_t i = 0; i < p->fdt.iommu_count; i++) {
		const struct iommu_unit *u = &p->fdt.iommus[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "compatible", u->compatible);
		cJSON_AddStringToObject(o, "name", u->name);
		cJSON_AddStringToObject(o, "kind", u->kind);
		cJSON_AddStringToObject(o, "driver", u->driver);
		cJSON_AddBoolToObject(o, "enabled", u->enabled);
		cJSON_AddItemToArray(units, o);
	}
	char kernel[256];
	size_t groups = 0;
	probe_iommu_sysfs(p, kernel, sizeof(kernel), &groups);
	/* A snapshot without sys/class/iommu cannot say what the kernel did. */
	int kernel_known = p->live || hostfs_exists(p->fs, "sys/class/iommu");
	const char *source = p->iort.valid ? "ACPI IORT" : "device tree";
	if (!count) {
		struct check *c = probe_add(p, "iommu.present", CHECK_WARN, "none", NULL,
					    "no IOMMU: guests work with emulated and virtio devices, but device "
					    "passthrough (VFIO) is not possible");
		check_set_detail(c, "no IOMMU in the %s%s", p->fdt_present || !p->acpi_present ? "device tree" : "ACPI IORT",
				 disabled ? " (some are disabled: status not okay)" : "");
		if (kernel[0])
			check_set_detail(c, "firmware lists no IOMMU, but the kernel has IOMMUs: %s", kernel);
		c->data = units;
		return;
	}
	if (kernel[0]) {
		struct check *c = probe_addf(p, "iommu.present", CHECK_PASS, NULL, "%s enabled", found);
		check_set_detail(c, "%s; kernel: %s; %zu IOMMU groups", source, kernel, groups);
		c->data = units;
	} else if (!kernel_known) {
		struct check *c = probe_addf(p, "iommu.present", CHECK_WARN,
					     "capture the snapshot with 'probe --capture', which records sys/class/iommu",
					     "%s, kernel unknown", found);
		check_set_detail(c, "%s lists it; the snapshot has no sys/class/iommu, so whether the kernel "
				    "registered it cannot be known", source);
		c->data = units;
	} else {
		char hint[400];
		if (drivers[0])
			snprintf(hint, sizeof(hint), "the firmware describes an IOMMU but the kernel did not register it: "
						     "enable %s%s%s%s and check dmesg | grep -i iommu",
				 drivers, unknown_driver[0] ? " (and the driver for " : "",
				 unknown_driver[0] ? unknown_driver : "", unknown_driver[0] ? ")" : "");
		else
			snprintf(hint, sizeof(hint), "the firmware describes an IOMMU (%s) but the kernel did not register "
						     "it: enable its driver and check dmesg | grep -i iommu", unknown_driver);
		struct check *c = probe_addf(p, "iommu.present", CHECK_WARN, hint, "%s not enabled", found);
		check_set_detail(c, "%s lists it; /sys/class/iommu is empty", source);
		c->data = units;
	}
}

static void arm64_topology(struct probe *p)
{
	probe_topology_from_midr(p);
	const struct host_identity *h = &p->host;
	if (!h->cluster_count) {
		probe_add(p, "cpu.topology", CHECK_WARN, "unknown", "no CPU identification in cpuinfo or sysfs",
			  "add proc/cpuinfo and sys/devices/system/cpu to the snapshot");
		return;
	}
	struct kq_buf v;
	kq_buf_init(&v);
	for (size_t i = 0; i < h->cluster_count; i++)
		kq_buf_printf(&v, "%s%ux %s", i ? " + " : "", h->clusters[i].count, h->clusters[i].name);
	struct check *c;
	if (h->cluster_count == 1) {
		c = probe_add(p, "cpu.topology", CHECK_PASS, v.data, NULL, NULL);
		check_set_detail(c, "one kind of core (CPUs %s): -cpu host is safe on any of them", h->clusters[0].cpus);
	} else {
		char hint[320];
		snprintf(hint, sizeof(hint),
			 "the CPUs differ (big.LITTLE): a vCPU that migrates between clusters under -cpu host "
			 "sees its MIDR change; pin QEMU to one cluster, e.g. taskset -c %s qemu-system-aarch64 "
			 "-cpu host -smp %u (the %s cluster: the most compute in total)",
			 h->clusters[h->pin_cluster].cpus, h->clusters[h->pin_cluster].count,
			 h->clusters[h->pin_cluster].name);
		c = probe_add(p, "cpu.topology", CHECK_WARN, v.data, NULL, hint);
		c->limits = 1;
		check_set_detail(c, "%zu clusters; pin vCPUs to CPUs %s (%s)", h->cluster_count,
				 h->clusters[h->pin_cluster].cpus, h->clusters[h->pin_cluster].name);
	}
	kq_buf_free(&v);
}

static const struct kvm_cap_desc arm64_caps[] = {
	{ 66, "max_vcpus" },            /* KVM_CAP_MAX_VCPUS */
	{ 9, "nr_vcpus" },              /* KVM_CAP_NR_VCPUS */
	{ 165, "ipa_size" },            /* KVM_CAP_ARM_VM_IPA_SIZE */
	{ 126, "pmu_v3" },              /* KVM_CAP_ARM_PMU_V3 */
	{ 170, "sve" },                 /* KVM_CAP_ARM_SVE */
	{ 171, "ptrauth_address" },     /* KVM_CAP_ARM_PTRAUTH_ADDRESS */
	{ 172, "ptrauth_generic" },     /* KVM_CAP_ARM_PTRAUTH_GENERIC */
	{ 205, "mte" },                 /* KVM_CAP_ARM_MTE */
	{ 0xffbadab1L, "protected_vm" },/* KVM_CAP_ARM_PROTECTED_VM: Android common kernels only */
	{ 0, "irqchip" },               /* KVM_CAP_IRQCHIP */
	{ 70, "one_reg" },              /* KVM_CAP_ONE_REG */
	{ 102, "psci_0_2" },            /* KVM_CAP_ARM_PSCI_0_2 */
	{ 93, "el1_32bit" },            /* KVM_CAP_ARM_EL1_32BIT */
	{ 36, "ioeventfd" },            /* KVM_CAP_IOEVENTFD */
	{ 32, "irqfd" },                /* KVM_CAP_IRQFD */
};

const struct probe_arch probe_arch_arm64 = {
	.name = "aarch64",
	.qemu_binary = "qemu-system-aarch64",
	.boot_el = arm64_boot_el,
	.virt_ext = arm64_virt_ext,
	.kvm_mode = arm64_kvm_mode,
	.vgic = arm64_vgic,
	.gic = arm64_gic,
	.gic_maint = arm64_gic_maint,
	.iommu = arm64_iommu,
	.topology = arm64_topology,
	.irq_fail_hint = "KVM runs guest code but cannot deliver interrupts, so real guests hang after their "
			 "firmware; the usual cause is the vGIC maintenance interrupt missing from the host's "
			 "device tree (then grep -i vgic /proc/interrupts shows no line, and dmesg says 'No vgic "
			 "maintenance irq' or nothing at all): the GIC node needs its interrupts property (GIC_PPI 9 on most boards, "
			 "see the kernel's arm,gic-v3 / arm,gic bindings); fix the device tree or use the "
			 "vendor's kernel and DTB that have it",
	.no_kvm_device_hint = "no /dev/kvm: the kernel lacks CONFIG_KVM, or it booted at EL1 so KVM could "
			      "not initialise (see cpu.boot_el and kvm.mode)",
	.caps = arm64_caps,
	.cap_count = sizeof(arm64_caps) / sizeof(arm64_caps[0]),
};
