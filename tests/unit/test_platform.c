/* What real device trees and logs taught the probe (issue 15), table by
 * table: the GIC from the kernel log, /proc/interrupts, VHE from the CPU,
 * vendor IOMMUs, disabled ITSes, the SoC, the maintenance interrupt; and
 * the platform parsers (vulnerabilities, cgroups, Android properties). */
#include <libfdt.h>
#include <stdlib.h>

#include "../../lib/hostfs.h"
#include "../../probe/parse.h"
#include "../../probe/probe.h"
#include "test.h"

struct gic_log_case {
	const char *log;
	enum gic_version v;
	const char *line;   /* part of the line that decided */
};

/* Log excerpts in the shapes real machines print them (journalctl and
 * dmesg prefixes, caller ids, old unprefixed GICv3 kernels). */
static const struct gic_log_case gic_log_cases[] = {
	/* Raspberry Pi 4 / 5 (GIC-400): the GICv2 driver */
	{ "[    0.000000] Root IRQ handler: gic_handle_irq\n[    0.000000] GIC: Using split EOI/Deactivate mode\n",
	  GIC_V2, "split EOI" },
	/* RK3399 (GIC-500): GICv3 lines, split EOI with the prefix */
	{ "[    0.000000] GICv3: GIC: Using split EOI/Deactivate mode\n[    0.000000] GICv3: 256 SPIs implemented\n",
	  GIC_V3, "GICv3: GIC: Using split" },
	/* an old GICv3 kernel printed split EOI bare, then its redistributors */
	{ "GIC: Using split EOI/Deactivate mode\nCPU0: found redistributor 0 region 0:0x00000000fef00000\n",
	  GIC_V3, "found redistributor" },
	/* journalctl prefix, [T0] caller id */
	{ "Dec 01 10:00:00 host kernel: [T0] GICv3: 960 SPIs implemented\n", GIC_V3, "960 SPIs" },
	{ "Jan 02 host kernel: GIC: Adjusting CPU interface base to 0x00000000f902f000\n", GIC_V2, "Adjusting" },
	{ "[    0.5] kvm [1]: vgic-v2@2c020000\n", GIC_V2, "vgic-v2@" },
	{ "[    0.0] GICv3: GICv4 features: DirectLPI\n", GIC_V3, "GICv4" },
	/* GICv2m is an MSI frame, not the GIC's version */
	{ "[    0.0] GICv2m: range[mem 0x08020000-0x08020fff], SPI[80:143]\n", GIC_UNKNOWN, "" },
	{ "", GIC_UNKNOWN, "" },
};

TEST(gic_version_from_the_kernel_log)
{
	for (size_t i = 0; i < sizeof(gic_log_cases) / sizeof(gic_log_cases[0]); i++) {
		const struct gic_log_case *c = &gic_log_cases[i];
		char line[256];
		enum gic_version v = dmesg_gic_version(c->log, strlen(c->log), line, sizeof(line));
		if (v != c->v || !strstr(line, c->line))
			test_fail(__FILE__, __LINE__, "case %zu: v%d '%s', expected v%d with '%s'", i, (int)v, line,
				  (int)c->v, c->line);
	}
}

TEST(proc_interrupts_vgic_line)
{
	static const char with[] = "           CPU0       CPU1\n"
				   "  9:          0          0     GICv2  25 Level     vgic\n"
				   " 11:       1238        755     GICv2  30 Level     arch_timer\n"
				   " 12:          0          0     GICv2  27 Level     kvm guest vtimer\n";
	static const char without[] = "           CPU0\n 11:  1  GICv2  30 Level  arch_timer\n"
				      " 40:  0  GICv2  99 Level  vgic-foo, vgicx\n";
	char line[256];
	CHECK(proc_interrupts_find(with, sizeof(with) - 1, "vgic", line, sizeof(line)));
	CHECK(strstr(line, "GICv2  25") != NULL);
	CHECK(!proc_interrupts_find(without, sizeof(without) - 1, "vgic", line, sizeof(line)));
	CHECK(!proc_interrupts_find(NULL, 0, "vgic", line, sizeof(line)));
	CHECK(proc_interrupts_find("1: 0 x vgic", 11, "vgic", line, sizeof(line)));   /* no newline */
}

TEST(vhe_from_the_cpu_features)
{
	struct cpuinfo ci;
	char why[200];
	static const char a76[] = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes crc32 atomics fphp asimdrdm\n";
	static const char a72[] = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid\n";
	static const char none[] = "processor\t: 0\nBogoMIPS\t: 108.00\n";
	cpuinfo_parse(a76, sizeof(a76) - 1, &ci);
	CHECK_INT(cpuinfo_vhe(&ci, why, sizeof(why)), 1);
	CHECK(strstr(why, "atomics") != NULL);
	cpuinfo_free(&ci);
	cpuinfo_parse(a72, sizeof(a72) - 1, &ci);
	CHECK_INT(cpuinfo_vhe(&ci, why, sizeof(why)), 0);
	cpuinfo_free(&ci);
	cpuinfo_parse(none, sizeof(none) - 1, &ci);
	CHECK_INT(cpuinfo_vhe(&ci, why, sizeof(why)), -1);
	cpuinfo_free(&ci);
}

TEST(midr_names_from_lscpu)
{
	CHECK_STR(midr_core_name(0x43, 0x0a2), "ThunderX-81XX");
	CHECK_STR(midr_core_name(0x61, 0x024), "Icestorm-M1-Pro");
	CHECK_STR(midr_core_name(0x41, 0xd0b), "Cortex-A76");
	CHECK_STR(midr_core_name(0x70, 0x662), "FTC662");
	CHECK_STR(midr_core_name(0xc0, 0xac4), "Ampere-1a");
	CHECK_STR(midr_core_name(0x51, 0x800), "Kryo-2XX-Gold");
	CHECK(midr_core_name(0x41, 0xfff) == NULL);
}

TEST(vulnerabilities_parsed_and_summarised)
{
	/* grep . /sys/devices/system/cpu/vulnerabilities/NAME... on an x86 VM */
	static const char text[] =
		"/sys/devices/system/cpu/vulnerabilities/meltdown:Not affected\n"
		"/sys/devices/system/cpu/vulnerabilities/retbleed:Vulnerable\n"
		"/sys/devices/system/cpu/vulnerabilities/spectre_v2:Mitigation: Enhanced / Automatic IBRS; IBPB: conditional\n"
		"/sys/devices/system/cpu/vulnerabilities/spec_store_bypass:Vulnerable\n"
		"mds: Unknown: Dependent on hypervisor status\n"
		"garbage without colon\n"
		":no name\n";
	struct vuln_report r;
	CHECK_INT(vuln_parse(text, sizeof(text) - 1, &r), 0);
	CHECK_INT(r.count, 5);
	CHECK_INT(r.vulnerable, 2);
	CHECK_INT(r.mitigated, 1);
	CHECK_INT(r.not_affected, 1);
	CHECK_INT(r.unknown, 1);
	CHECK_STR(r.e[2].name, "spectre_v2");
	CHECK(strstr(r.e[2].text, "IBRS") != NULL);
	char s[200];
	vuln_summary(&r, s, sizeof(s));
	CHECK_STR(s, "vulnerable: retbleed, spec_store_bypass; 1 mitigated, 1 not affected, 1 unknown");
	CHECK_INT(vuln_parse("meltdown:Not affected", 21, &r), 0);
	vuln_summary(&r, s, sizeof(s));
	CHECK_STR(s, "1 known: 0 mitigated, 1 not affected");
}

TEST(cgroup_controllers_vmms_use)
{
	char missing[64];
	CHECK_INT(cgroup_missing_controllers("cpuset cpu io memory hugetlb pids rdma misc", missing, sizeof(missing)), 0);
	CHECK_STR(missing, "");
	CHECK_INT(cgroup_missing_controllers("cpu memory pids", missing, sizeof(missing)), 2);
	CHECK_STR(missing, "cpuset io");
	CHECK_INT(cgroup_missing_controllers("", missing, sizeof(missing)), 5);
	CHECK_INT(cgroup_missing_controllers("cpuacct", missing, sizeof(missing)), 5);   /* not "cpu" */
}

TEST(android_hypervisor_properties)
{
	static const char pixel[] = "[ro.boot.hardware]: [oriole]\n"
				    "[ro.boot.hypervisor.protected_vm.supported]: [1]\n"
				    "[ro.boot.hypervisor.version]: [kvm.arm-protected]\n"
				    "[ro.boot.hypervisor.vm.supported]: [1]\n";
	struct android_hyp a;
	android_props_parse(pixel, sizeof(pixel) - 1, &a);
	CHECK_INT(a.props, 3);
	CHECK_INT(a.vm_supported, 1);
	CHECK_INT(a.protected_vm_supported, 1);
	CHECK_STR(a.version, "kvm.arm-protected");
	static const char broken[] = "[ro.boot.hypervisor.vm.supported]: [maybe]\n[ro.boot.hypervisor.version\n]]: [[\n";
	android_props_parse(broken, sizeof(broken) - 1, &a);
	CHECK_INT(a.props, 1);
	CHECK_INT(a.vm_supported, -1);
	android_props_parse(NULL, 0, &a);
	CHECK_INT(a.props, 0);
}

/* A tree from a few nodes: each node a compatible list (NUL-separated),
 * an optional status, whether it has #iommu-cells / interrupts, and how
 * many reg entries (2+2 cells each). */
struct node {
	const char *name, *compat;
	size_t compat_len;
	const char *status;
	int iommu_cells, interrupts, regs;
	int child_its;          /* an arm,gic-v3-its child, with this status: 1 okay, 2 disabled */
};

static void *build(const char *root_compat, size_t root_len, const struct node *nodes, size_t n, size_t *len)
{
	size_t size = 16384;
	void *fdt = calloc(1, size);
	fdt_create(fdt, (int)size);
	fdt_finish_reservemap(fdt);
	fdt_begin_node(fdt, "");
	fdt_property(fdt, "compatible", root_compat, (int)root_len);
	fdt_property_u32(fdt, "#address-cells", 2);
	fdt_property_u32(fdt, "#size-cells", 2);
	for (size_t i = 0; i < n; i++) {
		const struct node *nd = &nodes[i];
		fdt_begin_node(fdt, nd->name);
		fdt_property(fdt, "compatible", nd->compat, (int)nd->compat_len);
		if (nd->status)
			fdt_property_string(fdt, "status", nd->status);
		if (nd->iommu_cells)
			fdt_property_u32(fdt, "#iommu-cells", 1);
		if (nd->interrupts)
			fdt_property_u32(fdt, "interrupts", 9);
		if (nd->regs) {
			uint32_t reg[16 * 4];
			memset(reg, 0, sizeof(reg));
			fdt_property(fdt, "reg", reg, nd->regs * 16);
		}
		if (nd->child_its) {
			fdt_begin_node(fdt, "msi-controller@20000");
			fdt_property_string(fdt, "compatible", "arm,gic-v3-its");
			if (nd->child_its == 2)
				fdt_property_string(fdt, "status", "disabled");
			fdt_end_node(fdt);
		}
		fdt_end_node(fdt);
	}
	fdt_end_node(fdt);
	fdt_finish(fdt);
	*len = fdt_totalsize(fdt);
	return fdt;
}

#define S(lit) lit, sizeof(lit)

TEST(fdt_vendor_iommus_by_name_and_driver)
{
	/* Compatible strings as the kernel's own trees have them
	 * (rk3399.dtsi, rk356x.dtsi, msm8916.dtsi, sun50i-h6.dtsi,
	 * r8a77951.dtsi, tegra210.dtsi, t8103.dtsi, mt8183.dtsi). */
	static const struct node nodes[] = {
		{ "iommu@ff650800", S("rockchip,iommu"), NULL, 1, 0, 1, 0 },
		{ "iommu@fdd90000", S("rockchip,rk3568-iommu"), NULL, 1, 0, 1, 0 },
		{ "iommu@1ef0000", S("qcom,msm8916-iommu\0qcom,msm-iommu-v1"), NULL, 1, 0, 1, 0 },
		{ "iommu@30f0000", S("allwinner,sun50i-h6-iommu"), NULL, 1, 0, 1, 0 },
		{ "iommu@febd0000", S("renesas,ipmmu-r8a77951"), "disabled", 1, 0, 1, 0 },
		{ "memory-controller@70019000", S("nvidia,tegra210-mc"), NULL, 1, 0, 1, 0 },
		{ "memory-controller@2c00000", S("nvidia,tegra186-mc"), NULL, 0, 0, 1, 0 },  /* no #iommu-cells */
		{ "iommu@382f00000", S("apple,t8103-dart"), NULL, 1, 0, 1, 0 },
		{ "iommu@10205000", S("mediatek,mt8183-m4u"), NULL, 1, 0, 1, 0 },
		{ "iommu@1000", S("acme,widget-iommu"), NULL, 1, 0, 1, 0 },
	};
	size_t len;
	void *fdt = build(S("pine64,rockpro64\0rockchip,rk3399"), nodes, sizeof(nodes) / sizeof(nodes[0]), &len);
	struct fdt_facts f;
	char err[128];
	CHECK_INT(fdt_facts_parse(fdt, len, &f, err, sizeof(err)), 0);
	static const struct { const char *name, *driver; int enabled; } want[] = {
		{ "Rockchip IOMMU", "ROCKCHIP_IOMMU", 1 }, { "Rockchip IOMMU", "ROCKCHIP_IOMMU", 1 },
		{ "Qualcomm IOMMU", "QCOM_IOMMU", 1 },     { "Allwinner IOMMU", "SUN50I_IOMMU", 1 },
		{ "Renesas IPMMU", "IPMMU_VMSA", 0 },      { "Tegra SMMU (memory controller)", "TEGRA_SMMU", 1 },
		{ "Apple DART", "APPLE_DART", 1 },         { "MediaTek IOMMU", "MTK_IOMMU", 1 },
		{ "acme,widget-iommu", "", 1 },
	};
	CHECK_INT(f.iommu_count, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < f.iommu_count && i < sizeof(want) / sizeof(want[0]); i++) {
		if (strcmp(f.iommus[i].name, want[i].name) || strcmp(f.iommus[i].driver, want[i].driver) ||
		    f.iommus[i].enabled != want[i].enabled)
			test_fail(__FILE__, __LINE__, "unit %zu (%s): '%s' '%s' enabled %d", i, f.iommus[i].compatible,
				  f.iommus[i].name, f.iommus[i].driver, f.iommus[i].enabled);
		if (strcmp(f.iommus[i].kind, "vendor"))
			test_fail(__FILE__, __LINE__, "unit %zu: kind %s", i, f.iommus[i].kind);
	}
	CHECK_STR(f.iommus[2].compatible, "qcom,msm8916-iommu");
	CHECK_STR(f.soc, "rockchip,rk3399");
	free(fdt);
}

TEST(fdt_its_status_soc_and_maintenance_interrupt)
{
	/* sm8550-like: the GIC-600 with its ITS disabled; a v3 GIC node with
	 * GICD, GICR, GICC, GICH, GICV and the maintenance interrupt. */
	static const struct node qcom[] = {
		{ "interrupt-controller@17100000", S("arm,gic-v3"), NULL, 0, 1, 5, 2 },
	};
	size_t len;
	void *fdt = build(S("qcom,sm8550-mtp\0qcom,sm8550"), qcom, 1, &len);
	struct fdt_facts f;
	char err[128];
	CHECK_INT(fdt_facts_parse(fdt, len, &f, err, sizeof(err)), 0);
	CHECK_INT(f.gic, GIC_V3);
	CHECK_INT(f.gic_its, 0);
	CHECK_INT(f.gic_its_disabled, 1);
	CHECK_INT(f.gic_virt, 1);
	CHECK_INT(f.gic_maint_irq, 1);
	CHECK_STR(f.soc, "qcom,sm8550");
	free(fdt);
	/* A Pi 5-like GIC-400 with GICH/GICV but no interrupts property: the
	 * tree that left every KVM guest hanging. */
	static const struct node pi5[] = {
		{ "interrupt-controller@107fff9000", S("arm,gic-400"), NULL, 0, 0, 4, 0 },
	};
	fdt = build(S("raspberrypi,5-model-b\0brcm,bcm2712"), pi5, 1, &len);
	CHECK_INT(fdt_facts_parse(fdt, len, &f, err, sizeof(err)), 0);
	CHECK_INT(f.gic, GIC_V2);
	CHECK_INT(f.gic_virt, 1);
	CHECK_INT(f.gic_maint_irq, 0);
	CHECK_STR(f.soc, "brcm,bcm2712");
	free(fdt);
	/* QEMU's virt board without virtualization=on: no GICH/GICV. */
	static const struct node virt[] = {
		{ "intc@8000000", S("arm,cortex-a15-gic"), NULL, 0, 0, 2, 0 },
	};
	fdt = build(S("linux,dummy-virt"), virt, 1, &len);
	CHECK_INT(fdt_facts_parse(fdt, len, &f, err, sizeof(err)), 0);
	CHECK_INT(f.gic_virt, 0);
	CHECK_STR(f.soc, "");
	free(fdt);
	/* Amlogic trees end in the family: the chip comes before it. */
	fdt = build(S("libretech,aml-s905x-cc\0amlogic,s905x\0amlogic,meson-gxl"), virt, 1, &len);
	CHECK_INT(fdt_facts_parse(fdt, len, &f, err, sizeof(err)), 0);
	CHECK_STR(f.soc, "amlogic,s905x");
	free(fdt);
	fdt = build(S("qcom,msm8916-mtp/1\0qcom,msm8916-mtp\0qcom,msm8916"), virt, 1, &len);
	CHECK_INT(fdt_facts_parse(fdt, len, &f, err, sizeof(err)), 0);
	CHECK_STR(f.soc, "qcom,msm8916");
	free(fdt);
	fdt = build(S("hardkernel,odroid-c4\0amlogic,sm1"), virt, 1, &len);
	CHECK_INT(fdt_facts_parse(fdt, len, &f, err, sizeof(err)), 0);
	CHECK_STR(f.soc, "amlogic,sm1");
	free(fdt);
	fdt = build(S("apple,j274\0apple,t8103\0apple,arm-platform"), virt, 1, &len);
	CHECK_INT(fdt_facts_parse(fdt, len, &f, err, sizeof(err)), 0);
	CHECK_STR(f.soc, "apple,t8103");
	free(fdt);
}

/* The smoke and interrupt tests' limit: 2 s on hardware (a hung KVM is told
 * fast), 60 s where the probe finds the host emulated (nested KVM inside
 * TCG: the lab's Android-like host failed a 2 s smoke test at a load of
 * 20 with a KVM that worked). Set by the probe from its own detection. */
TEST(kvm_test_limit_follows_emulation)
{
	static const struct {
		const char *snapshot;
		unsigned limit_s;
	} cases[] = {
		{ "tests/fixtures/snapshots/lab-el2-vhe-gicv3-smmuv3.tar.gz", KVM_TEST_LIMIT_EMULATED_S },
		{ "tests/fixtures/snapshots/lab-el1.tar.gz", KVM_TEST_LIMIT_EMULATED_S },
		{ "tests/fixtures/snapshots/pi5-like", KVM_TEST_LIMIT_S },
		{ "tests/fixtures/snapshots/x86-pvm-host.tar.gz", KVM_TEST_LIMIT_S },
	};
	CHECK(KVM_TEST_LIMIT_EMULATED_S >= 30 && KVM_TEST_LIMIT_S <= 5);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kq_err err;
		struct hostfs *fs = hostfs_open_snapshot(cases[i].snapshot, &err);
		CHECK(fs != NULL);
		if (!fs)
			continue;
		struct probe pr;
		struct probe_options opt = { .skip_smoke = 1 };
		CHECK_INT(probe_run(&pr, fs, &opt, &err), 0);
		CHECK_INT((int)pr.kvm.limit_s, (int)cases[i].limit_s);
		CHECK_INT((int)kvm_test_limit_s(&pr.host), (int)cases[i].limit_s);
		probe_free(&pr);
		hostfs_close(fs);
	}
}
