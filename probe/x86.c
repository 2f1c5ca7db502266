/* x86_64 classification: VT-x / AMD-V, which KVM module is loaded (kvm_intel,
 * kvm_amd, or the PVM flavour that runs only PVM guest kernels), IOMMUs from
 * ACPI DMAR / IVRS, and cores and threads. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "probe.h"

static void x86_boot_el(struct probe *p)
{
	probe_add(p, "cpu.boot_el", CHECK_SKIP, "", "exception levels are an Arm concept", NULL);
}

static int has_module(const struct probe *p, const char *name)
{
	char path[96];
	snprintf(path, sizeof(path), "sys/module/%s", name);
	return hostfs_exists(p->fs, path);
}

/* Whether the firmware switched VT-x / AMD-V off and locked it (what
 * kvm-ok reads): IA32_FEATURE_CONTROL (0x3a) bit 0 lock, bit 2 VMX outside
 * SMX; AMD's VM_CR (0xc0010114) bit 4 SVMDIS.  Live through
 * /dev/cpu/0/msr; a snapshot keeps the value in x86-msr.txt.  Returns 1
 * when it is off; what gives it away goes to why. */
static int firmware_lock(struct probe *p, int vmx, char *why, size_t size)
{
	const char *key = vmx ? "feature_control" : "vm_cr";
	uint64_t v = 0;
	int rc = -ENOENT;
	if (p->live) {
		rc = host_read_msr(0, vmx ? 0x3a : 0xc0010114u, &v);
	} else {
		char *info = NULL, buf[32];
		size_t len;
		if (hostfs_read(p->fs, "x86-msr.txt", &info, &len, 4096) == 0 && host_info_get(info, key, buf, sizeof(buf)))
			rc = kq_parse_u64(buf, &v) ? -EINVAL : 0;
		free(info);
	}
	if (rc) {
		snprintf(why, size, "the firmware lock is not known (%s%s)",
			 p->live ? "/dev/cpu/0/msr: " : "no x86-msr.txt in the snapshot",
			 p->live ? strerror(-rc) : "");
		return 0;
	}
	if (vmx) {
		int locked = v & 1, enabled = (v >> 2) & 1;
		snprintf(why, size, "IA32_FEATURE_CONTROL = 0x%llx: %s, VMX outside SMX %s", (unsigned long long)v,
			 locked ? "locked" : "not locked", enabled ? "enabled" : "disabled");
		return locked && !enabled;
	}
	int svmdis = (v >> 4) & 1;
	snprintf(why, size, "VM_CR = 0x%llx: SVMDIS %s", (unsigned long long)v, svmdis ? "set" : "clear");
	return svmdis;
}

static void x86_virt_ext(struct probe *p)
{
	const char *flags = p->cpuinfo.count ? p->cpuinfo.cpus[0].features : "";
	int vmx = flag_list_has(flags, "vmx"), svm = flag_list_has(flags, "svm");
	int guest = flag_list_has(flags, "hypervisor");
	if (!p->cpuinfo.count) {
		probe_add(p, "cpu.virt_ext", CHECK_WARN, "unknown", "no /proc/cpuinfo",
			  "add proc/cpuinfo to the snapshot");
		return;
	}
	if (vmx || svm) {
		char lock[160];
		int off = firmware_lock(p, vmx, lock, sizeof(lock));
		if (off) {
			struct check *c = probe_addf(p, "cpu.virt_ext", CHECK_FAIL,
						     vmx ? "VT-x is switched off and locked by the firmware: enable "
							   "\"Intel Virtualization Technology\" (VT-x) in the firmware setup"
							 : "SVM is disabled by the firmware: enable \"SVM Mode\" (AMD-V) in "
							   "the firmware setup",
						     "%s (disabled by firmware)", vmx ? "vmx" : "svm");
			check_set_detail(c, "%s", lock);
			return;
		}
		struct check *c = probe_addf(p, "cpu.virt_ext", CHECK_PASS, NULL, "%s%s", vmx ? "vmx" : "svm",
					     guest ? " (nested: this host is itself a guest)" : "");
		check_set_detail(c, "%s in the CPU flags%s; %s", vmx ? "Intel VT-x" : "AMD-V",
				 guest ? "; 'hypervisor' flag set, so guests run nested and slower than on bare metal" : "",
				 lock);
		return;
	}
	if (has_module(p, "kvm_pvm")) {
		struct check *c = probe_add(p, "cpu.virt_ext", CHECK_WARN,
					    guest ? "none (guest; PVM instead)" : "none (PVM instead)", NULL,
					    "no vmx/svm: KVM here is PVM, which virtualizes without hardware support "
					    "(see kvm.mode)");
		check_set_detail(c, "no vmx or svm in the CPU flags%s; the kvm_pvm module provides /dev/kvm",
				 guest ? ", 'hypervisor' flag set (this host is a guest)" : "");
		return;
	}
	struct check *c = probe_add(p, "cpu.virt_ext", CHECK_FAIL, guest ? "none (guest)" : "none", NULL,
				    guest ? "this host is a VM without nested virtualization: enable it on the outer "
					    "host (kvm_intel nested=1 / kvm_amd nested=1, or the cloud's nested option)"
					  : "enable VT-x / AMD-V (SVM) in the firmware setup");
	check_set_detail(c, "no vmx or svm in the CPU flags%s", guest ? "; 'hypervisor' flag set" : "");
}

static void x86_kvm_mode(struct probe *p)
{
	if (has_module(p, "kvm_pvm")) {
		struct check *c = probe_add(
			p, "kvm.mode", CHECK_WARN, "pvm", NULL,
			"only PVM-enabled guest kernels boot (CONFIG_PVM_GUEST); a stock kernel under "
			"-accel kvm hangs after 'Booting from ROM' and -cpu host aborts: use TCG for stock "
			"guests, or build the guest kernel with PVM support");
		c->limits = 1;
		check_set_detail(c, "the kvm_pvm module provides KVM (paravirtualized: no VT-x/AMD-V needed)");
		return;
	}
	if (has_module(p, "kvm_intel")) {
		probe_add(p, "kvm.mode", CHECK_PASS, "vmx", "kvm_intel is loaded", NULL);
		return;
	}
	if (has_module(p, "kvm_amd")) {
		probe_add(p, "kvm.mode", CHECK_PASS, "svm", "kvm_amd is loaded", NULL);
		return;
	}
	const char *flags = p->cpuinfo.count ? p->cpuinfo.cpus[0].features : "";
	int vmx = flag_list_has(flags, "vmx"), svm = flag_list_has(flags, "svm");
	if ((vmx || svm) && probe_kconfig(p, "KVM") != 'n') {
		probe_add(p, "kvm.mode", CHECK_FAIL, "unavailable",
			  vmx ? "the CPU has VT-x but kvm_intel is not loaded" : "the CPU has AMD-V but kvm_amd is not loaded",
			  vmx ? "sudo modprobe kvm_intel (if it fails, VT-x is off in the firmware: see dmesg)"
			      : "sudo modprobe kvm_amd (if it fails, SVM is off in the firmware: see dmesg)");
		return;
	}
	probe_add(p, "kvm.mode", CHECK_FAIL, "unavailable",
		  has_module(p, "kvm") ? "kvm is loaded but no vendor module (kvm_intel, kvm_amd, kvm_pvm)"
				       : "no KVM module is loaded",
		  "KVM needs VT-x or AMD-V (see cpu.virt_ext) and the kvm_intel or kvm_amd module");
}

static void x86_vgic(struct probe *p)
{
	probe_add(p, "kvm.vgic", CHECK_SKIP, "", "the vGIC is an Arm interrupt controller", NULL);
	probe_add(p, "kvm.ipa", CHECK_SKIP, "", "the IPA size is an Arm KVM limit", NULL);
}

static void x86_gic(struct probe *p)
{
	probe_add(p, "gic.version", CHECK_SKIP, "", "x86 hosts have an APIC, not a GIC", NULL);
}

static void x86_gic_maint(struct probe *p)
{
	probe_add(p, "gic.maint_irq", CHECK_SKIP, "", "x86 hosts have an APIC, not a GIC", NULL);
}

static void x86_iommu(struct probe *p)
{
	int dmar = hostfs_exists(p->fs, "sys/firmware/acpi/tables/DMAR");
	int ivrs = hostfs_exists(p->fs, "sys/firmware/acpi/tables/IVRS");
	char kernel[256];
	size_t groups = 0;
	probe_iommu_sysfs(p, kernel, sizeof(kernel), &groups);
	const char *found = dmar ? "Intel VT-d" : ivrs ? "AMD-Vi" : NULL;
	if (!found && !kernel[0]) {
		struct check *c = probe_add(p, "iommu.present", CHECK_WARN, "none", NULL,
					    "no IOMMU: guests work with emulated and virtio devices, but device "
					    "passthrough (VFIO) is not possible; enable VT-d / AMD-Vi in the firmware");
		check_set_detail(c, "no ACPI DMAR or IVRS table and /sys/class/iommu is empty");
		return;
	}
	if (kernel[0]) {
		struct check *c = probe_addf(p, "iommu.present", CHECK_PASS, NULL, "%s enabled",
					     found ? found : "IOMMU");
		check_set_detail(c, "kernel: %s; %zu IOMMU groups", kernel, groups);
	} else {
		struct check *c = probe_addf(p, "iommu.present", CHECK_WARN,
					     dmar ? "boot with intel_iommu=on (and iommu=pt for speed)"
						  : "check that CONFIG_AMD_IOMMU is enabled and dmesg | grep -i AMD-Vi",
					     "%s not enabled", found);
		check_set_detail(c, "ACPI %s table present; /sys/class/iommu is empty", dmar ? "DMAR" : "IVRS");
	}
}

static void x86_topology(struct probe *p)
{
	size_t n = p->cpuinfo.count;
	if (!n) {
		probe_add(p, "cpu.topology", CHECK_WARN, "unknown", "no /proc/cpuinfo",
			  "add proc/cpuinfo to the snapshot");
		return;
	}
	/* Cores are distinct (physical id, core id) pairs. */
	size_t cores = 0, sockets = 0;
	for (size_t i = 0; i < n; i++) {
		const struct cpuinfo_cpu *c = &p->cpuinfo.cpus[i];
		int seen_core = 0, seen_socket = 0;
		for (size_t j = 0; j < i; j++) {
			const struct cpuinfo_cpu *d = &p->cpuinfo.cpus[j];
			if (d->physical_id == c->physical_id) {
				seen_socket = 1;
				if (d->core_id == c->core_id)
					seen_core = 1;
			}
		}
		cores += !seen_core;
		sockets += !seen_socket;
	}
	struct host_identity *h = &p->host;
	h->cluster_count = 1;
	struct cluster *cl = &h->clusters[0];
	memset(cl, 0, sizeof(*cl));
	snprintf(cl->name, sizeof(cl->name), "%.47s", p->cpuinfo.cpus[0].model_name[0] ? p->cpuinfo.cpus[0].model_name : "x86_64");
	cl->count = (unsigned)n;
	snprintf(cl->cpus, sizeof(cl->cpus), n > 1 ? "0-%zu" : "0", n - 1);
	struct check *c = probe_addf(p, "cpu.topology", CHECK_PASS, NULL, "%zu socket%s, %zu core%s, %zu thread%s",
				     sockets, sockets == 1 ? "" : "s", cores, cores == 1 ? "" : "s", n,
				     n == 1 ? "" : "s");
	check_set_detail(c, "%s", p->cpuinfo.cpus[0].model_name);
}

static const struct kvm_cap_desc x86_caps[] = {
	{ 66, "max_vcpus" },            /* KVM_CAP_MAX_VCPUS */
	{ 9, "nr_vcpus" },              /* KVM_CAP_NR_VCPUS */
	{ 0, "irqchip" },               /* KVM_CAP_IRQCHIP */
	{ 3, "user_memory" },           /* KVM_CAP_USER_MEMORY */
	{ 4, "set_tss_addr" },          /* KVM_CAP_SET_TSS_ADDR */
	{ 7, "ext_cpuid" },             /* KVM_CAP_EXT_CPUID */
	{ 36, "ioeventfd" },            /* KVM_CAP_IOEVENTFD */
	{ 32, "irqfd" },                /* KVM_CAP_IRQFD */
	{ 72, "tsc_deadline_timer" },   /* KVM_CAP_TSC_DEADLINE_TIMER */
	{ 121, "split_irqchip" },       /* KVM_CAP_SPLIT_IRQCHIP */
	{ 117, "x86_smm" },             /* KVM_CAP_X86_SMM */
	{ 70, "one_reg" },              /* KVM_CAP_ONE_REG */
};

const struct probe_arch probe_arch_x86 = {
	.name = "x86_64",
	.qemu_binary = "qemu-system-x86_64",
	.boot_el = x86_boot_el,
	.virt_ext = x86_virt_ext,
	.kvm_mode = x86_kvm_mode,
	.vgic = x86_vgic,
	.gic = x86_gic,
	.gic_maint = x86_gic_maint,
	.iommu = x86_iommu,
	.topology = x86_topology,
	.no_kvm_device_hint = "no /dev/kvm: load kvm_intel or kvm_amd (sudo modprobe kvm_intel), enable "
			      "VT-x / AMD-V in the firmware, or build the kernel with CONFIG_KVM",
	.caps = x86_caps,
	.cap_count = sizeof(x86_caps) / sizeof(x86_caps[0]),
};
