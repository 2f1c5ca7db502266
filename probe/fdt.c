/* The flattened device tree (/sys/firmware/fdt), read with libfdt: the
 * board model and SoC, the interrupt controller (with its ITS and its
 * virtualization frames), IOMMUs (SMMUs and vendor IOMMUs) and CPU cores. */
#include <libfdt.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"

struct gic_compat {
	const char *compatible;
	enum gic_version version;
};

/* Bindings from Documentation/devicetree/bindings/interrupt-controller/
 * arm,gic.yaml and arm,gic-v3.yaml. */
static const struct gic_compat gic_compats[] = {
	{ "arm,gic-v3", GIC_V3 },
	{ "arm,gic-400", GIC_V2 },
	{ "arm,cortex-a15-gic", GIC_V2 },
	{ "arm,cortex-a7-gic", GIC_V2 },
	{ "arm,cortex-a9-gic", GIC_V2 },
	{ "arm,arm11mp-gic", GIC_V2 },
	{ "arm,eb11mp-gic", GIC_V2 },
	{ "arm,pl390", GIC_V2 },
	{ "qcom,msm-qgic2", GIC_V2 },
	{ "qcom,msm-8660-qgic", GIC_V2 },
	{ "nvidia,tegra210-agic", GIC_V2 },
};

/* IOMMUs by compatible: the kind, a name for people and the Kconfig option
 * of the kernel driver (from the kernel's bindings under
 * Documentation/devicetree/bindings/iommu/ and drivers/iommu/Kconfig).
 * A pattern ends in '*' (prefix) or starts with '*' (suffix).  A node with
 * "#iommu-cells" that matches nothing is still an IOMMU, of a kind we do
 * not know, and gets no driver advice. */
struct iommu_compat {
	const char *pattern;
	const char *kind, *name, *driver;
	int needs_iommu_cells;    /* the compatible also names non-IOMMU nodes */
};

static const struct iommu_compat iommu_compats[] = {
	{ "arm,smmu-v3", "smmu-v3", "SMMUv3", "ARM_SMMU_V3", 0 },
	{ "arm,mmu-500", "smmu-v2", "SMMUv2 (MMU-500)", "ARM_SMMU", 0 },
	{ "arm,smmu-v2", "smmu-v2", "SMMUv2", "ARM_SMMU", 0 },
	{ "arm,mmu-401", "smmu-v1", "SMMUv1 (MMU-401)", "ARM_SMMU", 0 },
	{ "arm,mmu-400", "smmu-v1", "SMMUv1 (MMU-400)", "ARM_SMMU", 0 },
	{ "arm,smmu-v1", "smmu-v1", "SMMUv1", "ARM_SMMU", 0 },
	{ "qcom,smmu-v2", "smmu-v2", "SMMUv2 (Qualcomm)", "ARM_SMMU", 0 },
	{ "qcom,adreno-smmu", "smmu-v2", "SMMUv2 (Adreno)", "ARM_SMMU", 0 },
	{ "nvidia,smmu-500", "smmu-v2", "SMMUv2 (MMU-500)", "ARM_SMMU", 0 },
	{ "*-smmu-500", "smmu-v2", "SMMUv2 (MMU-500)", "ARM_SMMU", 0 },
	{ "*,smmu-500", "smmu-v2", "SMMUv2 (MMU-500)", "ARM_SMMU", 0 },
	{ "qcom,msm-iommu-v1", "vendor", "Qualcomm IOMMU", "QCOM_IOMMU", 0 },
	{ "qcom,msm-iommu-v2", "vendor", "Qualcomm IOMMU", "QCOM_IOMMU", 0 },
	{ "qcom,msm8916-iommu", "vendor", "Qualcomm IOMMU", "QCOM_IOMMU", 0 },
	{ "qcom,apq8064-iommu", "vendor", "Qualcomm MSM IOMMU", "MSM_IOMMU", 0 },
	{ "rockchip,iommu", "vendor", "Rockchip IOMMU", "ROCKCHIP_IOMMU", 0 },
	{ "rockchip,rk3568-iommu", "vendor", "Rockchip IOMMU", "ROCKCHIP_IOMMU", 0 },
	{ "allwinner,sun50i-h6-iommu", "vendor", "Allwinner IOMMU", "SUN50I_IOMMU", 0 },
	{ "allwinner,sun50i-h616-iommu", "vendor", "Allwinner IOMMU", "SUN50I_IOMMU", 0 },
	{ "renesas,ipmmu-*", "vendor", "Renesas IPMMU", "IPMMU_VMSA", 0 },
	{ "nvidia,tegra*-mc", "vendor", "Tegra SMMU (memory controller)", "TEGRA_SMMU", 1 },
	{ "apple,*-dart", "vendor", "Apple DART", "APPLE_DART", 0 },
	{ "mediatek,mt*-m4u", "vendor", "MediaTek IOMMU", "MTK_IOMMU", 0 },
	{ "mediatek,mt*-iommu-*", "vendor", "MediaTek IOMMU", "MTK_IOMMU", 0 },
	{ "samsung,exynos-sysmmu", "vendor", "Exynos SysMMU", "EXYNOS_IOMMU", 0 },
	{ "sprd,iommu-v1", "vendor", "Unisoc IOMMU", "SPRD_IOMMU", 0 },
};

static int pattern_match(const char *pattern, const char *s)
{
	size_t pn = strlen(pattern), sn = strlen(s);
	const char *star = strchr(pattern, '*');
	if (!star)
		return !strcmp(pattern, s);
	size_t head = (size_t)(star - pattern), tail = pn - head - 1;
	if (sn < head + tail || strncmp(s, pattern, head))
		return 0;
	const char *rest = star + 1;
	const char *star2 = strchr(rest, '*');
	if (!star2)
		return !strcmp(s + sn - tail, rest);
	/* "a*b*": the middle part somewhere after the head */
	char mid[64];
	size_t mn = (size_t)(star2 - rest);
	if (mn >= sizeof(mid))
		return 0;
	memcpy(mid, rest, mn);
	mid[mn] = '\0';
	return strstr(s + head, mid) != NULL;
}

static void copy_str(char *dst, size_t size, const char *src, int len)
{
	/* fdt strings are NUL-terminated within len when the blob checked out;
	 * still never read past len. */
	size_t n = 0;
	while ((int)n < len && src[n] && n + 1 < size) {
		unsigned char c = (unsigned char)src[n];
		dst[n] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
		n++;
	}
	dst[n] = '\0';
}

static int node_enabled(const void *fdt, int node)
{
	int len;
	const char *status = fdt_getprop(fdt, node, "status", &len);
	if (!status || len <= 0)
		return 1;
	return strncmp(status, "okay", (size_t)len) == 0 || strncmp(status, "ok", (size_t)len) == 0;
}

static void note_cpu(struct fdt_facts *out, const char *compatible)
{
	out->cpu_count++;
	for (size_t i = 0; i < out->cpu_compatible_kinds; i++) {
		if (!strcmp(out->cpu_compatibles[i], compatible)) {
			out->cpu_compatible_counts[i]++;
			return;
		}
	}
	if (out->cpu_compatible_kinds < FDT_MAX_LIST) {
		size_t i = out->cpu_compatible_kinds++;
		snprintf(out->cpu_compatibles[i], sizeof(out->cpu_compatibles[i]), "%s", compatible);
		out->cpu_compatible_counts[i] = 1;
	}
}

/* How many (address, size) pairs the node's reg holds, by its parent's
 * #address-cells and #size-cells. */
static int reg_entries(const void *fdt, int node)
{
	int len, parent = fdt_parent_offset(fdt, node);
	const void *reg = fdt_getprop(fdt, node, "reg", &len);
	if (!reg || len <= 0 || parent < 0)
		return 0;
	int ac = fdt_address_cells(fdt, parent), sc = fdt_size_cells(fdt, parent);
	if (ac < 1 || sc < 0 || ac + sc > 8)
		return 0;
	return len / (4 * (ac + sc));
}

/* Whether the GIC node describes the virtualization frames KVM needs
 * (GICH and GICV after GICD and GICC; for v3 after GICD, the
 * redistributor regions and GICC). */
static int gic_has_virt(const void *fdt, int node, enum gic_version v)
{
	int regs = reg_entries(fdt, node);
	if (v == GIC_V2)
		return regs >= 4;
	int len;
	const fdt32_t *rr = fdt_getprop(fdt, node, "#redistributor-regions", &len);
	int redist = rr && len == 4 ? (int)fdt32_to_cpu(*rr) : 1;
	if (redist < 1 || redist > 4096)
		redist = 1;
	return regs >= 1 + redist + 3;
}

static void note_iommu(struct fdt_facts *out, const void *fdt, int node, const char *first,
		       const struct iommu_compat *ic)
{
	if (out->iommu_count >= FDT_MAX_LIST)
		return;
	struct iommu_unit *u = &out->iommus[out->iommu_count++];
	snprintf(u->compatible, sizeof(u->compatible), "%s", first);
	snprintf(u->kind, sizeof(u->kind), "%s", ic ? ic->kind : "vendor");
	snprintf(u->name, sizeof(u->name), "%s", ic ? ic->name : first);
	snprintf(u->driver, sizeof(u->driver), "%s", ic ? ic->driver : "");
	u->enabled = node_enabled(fdt, node);
}

static void scan_node(const void *fdt, int node, int depth, struct fdt_facts *out)
{
	int len;
	const char *compat = fdt_getprop(fdt, node, "compatible", &len);
	if (!compat || len <= 0)
		return;
	int count = fdt_stringlist_count(fdt, node, "compatible");
	const char *type = fdt_getprop(fdt, node, "device_type", NULL);
	const char *first = fdt_stringlist_get(fdt, node, "compatible", 0, NULL);
	if (type && !strcmp(type, "cpu") && depth == 2) {
		if (first)
			note_cpu(out, first);
		return;
	}
	int iommu_cells = fdt_getprop(fdt, node, "#iommu-cells", NULL) != NULL;
	for (int i = 0; i < count; i++) {
		const char *c = fdt_stringlist_get(fdt, node, "compatible", i, NULL);
		if (!c)
			break;
		if (!strcmp(c, "arm,gic-v3-its")) {
			/* Qualcomm trees carry an ITS marked disabled. */
			if (node_enabled(fdt, node))
				out->gic_its = 1;
			else
				out->gic_its_disabled++;
			return;
		}
		for (size_t g = 0; g < sizeof(gic_compats) / sizeof(gic_compats[0]); g++) {
			if (!strcmp(c, gic_compats[g].compatible) && node_enabled(fdt, node) &&
			    gic_compats[g].version > out->gic) {
				out->gic = gic_compats[g].version;
				snprintf(out->gic_compatible, sizeof(out->gic_compatible), "%s", c);
				out->gic_virt = gic_has_virt(fdt, node, out->gic);
				out->gic_maint_irq = fdt_getprop(fdt, node, "interrupts", NULL) != NULL;
				return;
			}
		}
		for (size_t k = 0; k < sizeof(iommu_compats) / sizeof(iommu_compats[0]); k++) {
			const struct iommu_compat *ic = &iommu_compats[k];
			if (pattern_match(ic->pattern, c) && (!ic->needs_iommu_cells || iommu_cells)) {
				note_iommu(out, fdt, node, first ? first : c, ic);
				return;
			}
		}
	}
	if (iommu_cells && first)
		note_iommu(out, fdt, node, first, NULL);
}

/* The SoC: root compatible lists go from the board to the chip, so the
 * last entry names it; except where a vendor's trees end in a family
 * ("amlogic,s905x", "amlogic,meson-gxl"; "apple,t8103",
 * "apple,arm-platform"): there the entry before, when it is not the
 * board's own and has the same vendor, is the chip.  (Qualcomm's boards
 * share the chip's vendor: "qcom,msm8916-mtp", "qcom,msm8916".) */
static void pick_soc(const void *blob, struct fdt_facts *out)
{
	static const char *const family_last[] = { "amlogic,", "apple,", "arm,vexpress" };
	int n = fdt_stringlist_count(blob, 0, "compatible"), len;
	if (n < 2)
		return;
	const char *pick = fdt_stringlist_get(blob, 0, "compatible", n - 1, &len);
	if (!pick)
		return;
	int family = 0;
	for (size_t i = 0; i < sizeof(family_last) / sizeof(family_last[0]); i++)
		family |= !strncmp(pick, family_last[i], strlen(family_last[i]));
	const char *comma = strchr(pick, ',');
	if (family && comma && n >= 3) {
		int l;
		const char *before = fdt_stringlist_get(blob, 0, "compatible", n - 2, &l);
		if (before && !strncmp(before, pick, (size_t)(comma - pick) + 1)) {
			pick = before;
			len = l;
		}
	}
	copy_str(out->soc, sizeof(out->soc), pick, len);
}

int fdt_facts_parse(const void *blob, size_t len, struct fdt_facts *out, char *err, size_t err_size)
{
	memset(out, 0, sizeof(*out));
	if (len < sizeof(struct fdt_header)) {
		snprintf(err, err_size, "device tree blob is truncated (%zu bytes)", len);
		return -1;
	}
	/* libfdt 1.6.1's fdt_check_full() reads through a NULL pointer on
	 * blobs of the old versions (found by fuzz_fdt: version 9); Linux
	 * writes version 17 and reads 16 and later, so older ones are refused
	 * before libfdt sees them. */
	uint32_t version = fdt_version(blob), last_comp = fdt_last_comp_version(blob);
	if (fdt_magic(blob) == FDT_MAGIC && (version < 16 || last_comp > 17)) {
		snprintf(err, err_size, "device tree blob version %u (compatible with %u) is not supported: "
					"Linux writes version 17", version, last_comp);
		return -1;
	}
	int rc = fdt_check_full(blob, len);
	if (rc) {
		snprintf(err, err_size, "device tree blob is invalid: %s", fdt_strerror(rc));
		return -1;
	}
	int plen;
	const char *model = fdt_getprop(blob, 0, "model", &plen);
	if (model && plen > 0)
		copy_str(out->model, sizeof(out->model), model, plen);
	const char *c0 = fdt_stringlist_get(blob, 0, "compatible", 0, &plen);
	if (c0)
		copy_str(out->compatible, sizeof(out->compatible), c0, plen);
	pick_soc(blob, out);
	/* Root at depth 0, /cpus at 1, /cpus/cpu@N at 2. */
	int depth = -1;
	for (int node = fdt_next_node(blob, -1, &depth); node >= 0;
	     node = fdt_next_node(blob, node, &depth))
		scan_node(blob, node, depth, out);
	out->valid = 1;
	return 0;
}
