/* The probe: "can this host run KVM, and with what?"  probe_run() reads a
 * host (live or a snapshot) through a hostfs, runs every check, and leaves
 * the results and the verdict in a struct probe; output.c renders them. */
#ifndef KQ_PROBE_H
#define KQ_PROBE_H

#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "../lib/hostfs.h"
#include "parse.h"

#define PROBE_VERSION "0.1.0"
#define PROBE_SCHEMA "kvmqual.probe"
#define PROBE_SCHEMA_VERSION 1

enum check_status { CHECK_PASS, CHECK_WARN, CHECK_FAIL, CHECK_SKIP };

struct check {
	char *id;
	enum check_status status;
	char *value;
	char *detail;
	char *hint;       /* required unless pass */
	int limits;       /* a warning that limits what KVM can do here */
	cJSON *data;      /* optional structured details (capabilities, lists) */
};

enum verdict { VERDICT_KVM_READY, VERDICT_KVM_LIMITED, VERDICT_TCG_ONLY };

struct cluster {
	unsigned implementer, part;
	char name[48];
	unsigned count;
	unsigned capacity;         /* 0 when the host does not say */
	unsigned long max_freq_khz;
	char cpus[128];            /* "4-7" */
};

#define PROBE_MAX_CLUSTERS 8

struct host_identity {
	char arch[16];
	char model[128];
	char soc[96];
	char kernel_release[96];
	long page_size;           /* 0 when unknown */
	unsigned cpus;
	size_t cluster_count;
	struct cluster clusters[PROBE_MAX_CLUSTERS];  /* fastest core first */
	size_t pin_cluster;       /* where to pin vCPUs: most total capacity */
	int is_guest;             /* the host itself runs under a hypervisor */
	/* A machine QEMU emulates (its virt board, its firmware, its CPU
	 * model): numbers measured here are not those of hardware.  Each
	 * evidence line says what gave it away. */
	int emulated;
	size_t emulated_evidence_count;
	char emulated_evidence[4][128];
};

struct probe_options {
	int skip_smoke;           /* --no-smoke */
	int no_cache;             /* --no-cache: ask QEMU even if its answers are cached */
};

/* A number the probe measured (an exit latency, an interrupt's latency):
 * the JSON document's "measurements", shown by the report and the matrix. */
struct measurement {
	char id[40];
	double value;
	char unit[8];
	unsigned samples;         /* how many went into the median */
	char detail[200];
};

#define KVM_MAX_MEASUREMENTS 8

/* What the live KVM checks found; filled by kvm.c and kvm_<hostarch>.c. */
/* How long the smoke and interrupt tests' guests may take before they
 * count as hung: their few instructions take microseconds under a working
 * KVM, and a broken one (a PVM host's stock kernels) must be told fast.
 * On a host the probe finds emulated KVM is nested inside TCG, and a busy
 * machine under it stalls the host for seconds: the lab's Android-like
 * host at a load of 20 failed the 2 s smoke test with a KVM that worked. */
#define KVM_TEST_LIMIT_S 2
#define KVM_TEST_LIMIT_EMULATED_S 60

struct kvm_live {
	unsigned limit_s;         /* KVM_TEST_LIMIT_S, or _EMULATED_S (kvm_test_limit_s) */
	int dev_errno;            /* 0 when /dev/kvm opened read-write */
	int api_version;
	int smoke_ran, smoke_ok;
	double smoke_us;
	char smoke_detail[256];
	int vgic_ran;
	int vgic_v2, vgic_v3, vgic_its;
	/* The interrupt test (kvm_host_irq): an in-kernel interrupt
	 * controller, a timer interrupt, an IPI where the host arch has one. */
	int irq_ran;
	int irq_no_chip;          /* KVM refused to create the interrupt controller */
	char irq_chip[32];        /* "vGICv3", "vGICv2", "PIC+PIT" */
	int timer_ok, ipi_ok;     /* 1 delivered, 0 not, -1 not tried */
	double timer_us, ipi_us;  /* latency: deadline (or send) to the handler */
	char timer_detail[320], ipi_detail[320];
	size_t measurement_count;
	struct measurement measurements[KVM_MAX_MEASUREMENTS];
};

struct probe {
	struct hostfs *fs;
	int live;
	const struct probe_arch *arch;
	struct probe_options opt;

	/* What the host gave us, read once. */
	char *log;
	size_t log_len;
	char log_error[128];      /* empty when the log was read */
	char *cmdline;
	char *kconfig;
	size_t kconfig_len;
	char kconfig_source[128];
	struct cpuinfo cpuinfo;
	int fdt_present;
	struct fdt_facts fdt;
	char fdt_error[160];
	int acpi_present;
	struct madt_facts madt;
	struct iort_facts iort;
	char acpi_error[160];
	struct kvm_arm_log kvm_log;
	struct kvm_live kvm;

	struct host_identity host;
	struct check *checks;
	size_t check_count, check_cap;
	enum verdict verdict;
	char *verdict_summary;
	cJSON *verdict_reasons;   /* array of strings */
	double elapsed_ms;
};

/* Per-architecture classification, compiled and tested on every host: it
 * reads files, never registers.  See arm64.c and x86.c. */
struct probe_arch {
	const char *name;          /* uname -m */
	const char *qemu_binary;
	void (*boot_el)(struct probe *p);
	void (*virt_ext)(struct probe *p);
	void (*kvm_mode)(struct probe *p);
	void (*vgic)(struct probe *p);
	void (*gic)(struct probe *p);
	void (*gic_maint)(struct probe *p);
	void (*iommu)(struct probe *p);
	void (*topology)(struct probe *p);
	/* Advice when the interrupt test fails (NULL: a generic one). */
	const char *irq_fail_hint;
	/* Advice when /dev/kvm does not exist. */
	const char *no_kvm_device_hint;
	/* KVM_CHECK_EXTENSION capabilities worth reporting. */
	const struct kvm_cap_desc *caps;
	size_t cap_count;
};

struct kvm_cap_desc {
	long cap;
	const char *name;
};

extern const struct probe_arch probe_arch_arm64;
extern const struct probe_arch probe_arch_x86;

/* ---- The driver (probe.c): called by main.c and kvmqual, never by a
 * check.  Runs every check.  Returns 0, or -1 with err set when the host
 * cannot be read at all (the result is then not meaningful). */
int probe_run(struct probe *p, struct hostfs *fs, const struct probe_options *opt,
	      struct kq_err *err);
void probe_free(struct probe *p);
const char *verdict_name(enum verdict v);

/* ---- The check list (check.c): what every check calls. ---- */

/* Adds a check; value/detail/hint are printf formats (hint may be NULL). */
struct check *probe_add(struct probe *p, const char *id, enum check_status status,
			const char *value, const char *detail, const char *hint);
struct check *probe_addf(struct probe *p, const char *id, enum check_status status,
			 const char *hint, const char *value_fmt, ...)
	__attribute__((format(printf, 5, 6)));
void check_set_detail(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const struct check *probe_find(const struct probe *p, const char *id);
const char *check_status_name(enum check_status s);
char probe_kconfig(const struct probe *p, const char *option);

/* ---- The checks, called by the driver in a fixed order. ---- */

/* Shared by every architecture (common.c). */
void probe_check_arch(struct probe *p, const char *machine);
void probe_check_kconfig(struct probe *p);
void probe_check_devices(struct probe *p);
void probe_check_memory(struct probe *p);
void probe_check_energy(struct probe *p);
/* Vendor hypervisor, Android's VM support, CPU vulnerabilities, cgroups. */
void probe_check_platform(struct probe *p);

/* What a Gunyah device (/dev/gunyah, no /dev/kvm) means. */
#define GUNYAH_DIAGNOSIS                                                                            \
	"the vendor hypervisor (Qualcomm Gunyah) owns EL2; KVM is not available; Linux runs at EL1 " \
	"under it, and VMs run only through Gunyah itself (/dev/gunyah: Android's Virtualization "  \
	"Framework, or crosvm built with Gunyah support), not QEMU with KVM"

/* Helpers for the per-arch code (topology.c). */
void probe_topology_from_midr(struct probe *p);
/* Names in /sys/class/iommu (comma-separated) and the IOMMU group count. */
void probe_iommu_sysfs(struct probe *p, char *names, size_t size, size_t *groups);

/* Live-only KVM checks (kvm.c), and the per-host-arch smoke test and vGIC
 * test (kvm_arm64.c, kvm_x86.c or kvm_none.c, chosen by the Makefile). */
void probe_kvm_checks(struct probe *p);
int kvm_host_smoke(int kvm_fd, struct kvm_live *out);
int kvm_host_vgic(int kvm_fd, struct kvm_live *out);
/* Returns 0 when the test ran (its results in out), -ENOTSUP without one. */
int kvm_host_irq(int kvm_fd, struct kvm_live *out);
/* The test guests' limit for this host (struct kvm_live's limit_s). */
unsigned kvm_test_limit_s(const struct host_identity *h);
/* Unmaps and closes what a test set up; MAP_FAILED and -1 are skipped. */
void kvm_close_vm(int vm, int vcpu, void *mem, size_t mem_size, void *run, long run_size);
/* Median of n values (reorders them); NAN when n is 0.  kvm.c. */
double kvm_median(double *v, size_t n);
/* Adds a measurement to out (ignored past KVM_MAX_MEASUREMENTS). */
void kvm_add_measurement(struct kvm_live *out, const char *id, double value, const char *unit,
			 unsigned samples, const char *detail);

/* Rendering (output.c). */
cJSON *probe_to_json(const struct probe *p);
void probe_print_text(const struct probe *p, FILE *out, int colour);

/* Snapshot capture (capture.c).  The live probe's JSON, when given, is kept
 * in the snapshot as probe-live.json. */
int probe_capture(const char *path, const char *live_json, struct kq_err *err);

#endif
