/* Parsers for what the probe reads from a host.  Each one takes bytes that
 * came from outside (a live system or a snapshot, possibly malformed) and
 * never trusts a length or a terminator it has not checked.  They are
 * pure functions: unit-tested with tables and fuzzed. */
#ifndef KQ_PROBE_PARSE_H
#define KQ_PROBE_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* ---- kernel log ---- */

enum boot_el { BOOT_EL_UNKNOWN, BOOT_EL1, BOOT_EL2, BOOT_EL_MIXED };

/* The "CPU: All CPU(s) started at ELx" / "CPU: CPUs started in inconsistent
 * modes" line.  line (optional) receives a copy of the line that decided. */
enum boot_el dmesg_boot_el(const char *log, size_t len, char *line, size_t line_size);

enum kvm_arm_mode {
	KVM_ARM_UNKNOWN,      /* no KVM line in the log */
	KVM_ARM_VHE,
	KVM_ARM_NVHE,
	KVM_ARM_HVHE,
	KVM_ARM_PROTECTED_NVHE,
	KVM_ARM_PROTECTED_HVHE,
	KVM_ARM_DISABLED,     /* kvm-arm.mode=none */
	KVM_ARM_UNAVAILABLE,  /* "HYP mode not available" and other init failures */
};

struct kvm_arm_log {
	enum kvm_arm_mode mode;
	int nv2;              /* "+NV2" */
	char line[256];       /* the line that decided */
	int vhe_feature;      /* "CPU features: detected: Virtualization Host Extensions" */
	unsigned ipa_bits;    /* "IPA Size Limit: 40 bits", 0 if absent */
};

void dmesg_kvm_arm(const char *log, size_t len, struct kvm_arm_log *out);
const char *kvm_arm_mode_name(enum kvm_arm_mode mode);

/* Finds the first line holding needle; copies it (trimmed of the
 * "[    0.000000] " time stamp) into line.  Returns 1 when found. */
int dmesg_find(const char *log, size_t len, const char *needle, char *line, size_t line_size);

/* ---- kernel config ---- */

/* 'y', 'm', 'n' (explicitly "is not set" or absent from a config that
 * exists), or '?' when text is NULL. */
char kconfig_value(const char *text, size_t len, const char *option);

/* ---- /proc/cmdline ---- */

/* Copies the value of key=value from a kernel command line; returns 1 if
 * the key is there (a bare key gives an empty value). */
int cmdline_get(const char *cmdline, const char *key, char *value, size_t value_size);

/* ---- /proc/cpuinfo ---- */

#define CPUINFO_MAX_CPUS 1024

struct cpuinfo_cpu {
	int processor;
	unsigned implementer, variant, part, revision; /* arm64; ~0u when absent */
	int physical_id, core_id;                       /* x86; -1 when absent */
	char model_name[96];
	char features[1024];                            /* "Features" or "flags" */
};

struct cpuinfo {
	size_t count;
	struct cpuinfo_cpu *cpus;
	char hardware[96];   /* arm32/vendor kernels: "Hardware" line */
	int looks_arm64;     /* has "CPU implementer" or "Features" */
	int looks_x86;       /* has "vendor_id" or "flags" */
};

int cpuinfo_parse(const char *text, size_t len, struct cpuinfo *out);
void cpuinfo_free(struct cpuinfo *ci);
/* Whether a space-separated flag list holds word. */
int flag_list_has(const char *list, const char *word);

/* ---- MIDR names ---- */

/* "Cortex-A76" for implementer 0x41 part 0xd0b; NULL when unknown. */
const char *midr_core_name(unsigned implementer, unsigned part);

/* ---- flattened device tree ---- */

#define FDT_MAX_LIST 16

enum gic_version { GIC_UNKNOWN = 0, GIC_V2 = 2, GIC_V3 = 3, GIC_V4 = 4 };

struct iommu_unit {
	char compatible[64];  /* the node's first (most specific) compatible */
	char kind[16];        /* "smmu-v3", "smmu-v2", "smmu-v1", "vendor" */
	char name[40];        /* "SMMUv3", "Rockchip IOMMU", or the compatible */
	char driver[32];      /* the Kconfig option of its driver; "" unknown */
	int enabled;          /* status okay (or absent) */
};

struct fdt_facts {
	int valid;
	char model[128];
	char compatible[128];     /* root compatible, first entry */
	char soc[64];             /* the most specific root compatible naming the chip */
	enum gic_version gic;
	char gic_compatible[64];
	int gic_its;              /* an ITS node that is enabled */
	int gic_its_disabled;     /* ITS nodes with status "disabled" */
	int gic_virt;             /* the GIC node lists its virtualization frames (GICH, GICV) */
	int gic_maint_irq;        /* the GIC node has an interrupts property: the maintenance IRQ */
	size_t iommu_count;
	struct iommu_unit iommus[FDT_MAX_LIST];
	size_t cpu_count;
	char cpu_compatibles[FDT_MAX_LIST][48]; /* distinct, in order of appearance */
	unsigned cpu_compatible_counts[FDT_MAX_LIST];
	size_t cpu_compatible_kinds;
};

/* Returns 0, or -1 with a reason in err (a truncated or corrupt blob). */
int fdt_facts_parse(const void *blob, size_t len, struct fdt_facts *out, char *err, size_t err_size);

/* ---- the GIC and its maintenance interrupt, without firmware tables ---- */

/* The GIC version the kernel log states (GICv3 driver lines, else the
 * GICv2 driver's); line gets the line that decided. */
enum gic_version dmesg_gic_version(const char *log, size_t len, char *line, size_t line_size);

/* Finds the /proc/interrupts line whose action names hold name as a word
 * ("vgic": KVM's maintenance interrupt handler).  Returns 1 when found. */
int proc_interrupts_find(const char *text, size_t len, const char *name, char *line, size_t line_size);

/* ---- what the CPU has ---- */

/* Whether the CPUs implement VHE (FEAT_VHE, mandatory from Armv8.1): 1 when
 * cpuinfo's Features list Armv8.1 features ("atomics", "asimdrdm"), 0 when
 * they list features but none of those (an Armv8.0 core), -1 when cpuinfo
 * has no Features.  why gets the evidence. */
int cpuinfo_vhe(const struct cpuinfo *ci, char *why, size_t why_size);

/* ---- platform facts (platform.c) ---- */

/* /sys/devices/system/cpu/vulnerabilities: one entry per file, from text
 * in the form "grep . /sys/devices/system/cpu/vulnerabilities/NAME..."
 * prints ("PATH:TEXT" per line; "NAME: TEXT" works too), so that the runner can
 * hand the guest's own view, read through the agent, to the same parser. */
#define VULN_MAX 48

enum vuln_state { VULN_UNKNOWN, VULN_NOT_AFFECTED, VULN_MITIGATED, VULN_VULNERABLE };

struct vuln_entry {
	char name[40];
	char text[160];
	enum vuln_state state;
};

struct vuln_report {
	size_t count;
	struct vuln_entry e[VULN_MAX];
	size_t vulnerable, mitigated, not_affected, unknown;
};

int vuln_parse(const char *text, size_t len, struct vuln_report *out);
/* One file's text as the kernel words it ("Not affected", "Vulnerable...",
 * "Mitigation: ...", anything else unknown), and the state's name
 * ("not affected", "mitigated", "vulnerable", "unknown"): the report
 * judges the guest's texts and the host's alike. */
enum vuln_state vuln_state_of(const char *text);
const char *vuln_state_name(enum vuln_state state);
/* "17 known: 3 mitigated, 14 not affected" or "vulnerable: spectre_v2,
 * mds; 2 mitigated, 14 not affected". */
void vuln_summary(const struct vuln_report *r, char *buf, size_t size);

/* The cgroup v2 controllers VMMs use (libvirt and the runner put QEMU in a
 * cgroup): cpu, cpuset, memory, io, pids.  Writes the missing ones,
 * space-separated, and returns how many are missing. */
int cgroup_missing_controllers(const char *controllers, char *missing, size_t missing_size);

/* Android's ro.boot.hypervisor.* properties, from `getprop` output
 * ("[key]: [value]" lines). */
struct android_hyp {
	int props;                    /* how many ro.boot.hypervisor.* lines */
	int vm_supported;             /* 1, 0, or -1 when absent */
	int protected_vm_supported;
	char version[64];
};

int android_props_parse(const char *text, size_t len, struct android_hyp *out);

/* ---- ACPI tables ---- */

struct madt_facts {
	int valid;
	size_t gicc_count;
	int gicd_version;     /* from the distributor entry; 0 = not stated */
	int has_gicr, has_its;
	enum gic_version gic;
	int x86_apics;        /* Local APIC / x2APIC entries */
};

struct iort_facts {
	int valid;
	size_t smmu_v1v2, smmu_v3, its_groups, root_complexes, named_components;
};

int acpi_table_check(const void *table, size_t len, const char sig[4], char *err, size_t err_size);
int madt_parse(const void *table, size_t len, struct madt_facts *out, char *err, size_t err_size);
int iort_parse(const void *table, size_t len, struct iort_facts *out, char *err, size_t err_size);

#endif
