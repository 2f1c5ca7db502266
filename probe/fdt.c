/* The flattened device tree (/sys/firmware/fdt), read with libfdt: the
 * board model and SoC, the interrupt controller, SMMUs and CPU cores. */
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

struct smmu_compat {
	const char *compatible;
	const char *kind;
};

/* arm,smmu-v3.yaml and arm,smmu.yaml; vendor SMMU-500 variants are
 * matched by suffix below. */
static const struct smmu_compat smmu_compats[] = {
	{ "arm,smmu-v3", "smmu-v3" },
	{ "arm,mmu-500", "smmu-v2" },
	{ "arm,smmu-v2", "smmu-v2" },
	{ "arm,mmu-401", "smmu-v1" },
	{ "arm,mmu-400", "smmu-v1" },
	{ "arm,smmu-v1", "smmu-v1" },
	{ "qcom,smmu-v2", "smmu-v2" },
	{ "qcom,adreno-smmu", "smmu-v2" },
	{ "nvidia,smmu-500", "smmu-v2" },
	{ "apple,t8103-dart", "other" },
	{ "apple,t8110-dart", "other" },
	{ "rockchip,iommu", "other" },
	{ "mediatek,mt8195-iommu-infra", "other" },
};

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

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
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

static void scan_node(const void *fdt, int node, int depth, struct fdt_facts *out)
{
	int len;
	const char *compat = fdt_getprop(fdt, node, "compatible", &len);
	if (!compat || len <= 0)
		return;
	int count = fdt_stringlist_count(fdt, node, "compatible");
	const char *type = fdt_getprop(fdt, node, "device_type", NULL);
	if (type && !strcmp(type, "cpu") && depth == 2) {
		const char *first = fdt_stringlist_get(fdt, node, "compatible", 0, NULL);
		if (first)
			note_cpu(out, first);
		return;
	}
	for (int i = 0; i < count; i++) {
		const char *c = fdt_stringlist_get(fdt, node, "compatible", i, NULL);
		if (!c)
			break;
		if (!strcmp(c, "arm,gic-v3-its")) {
			out->gic_its = 1;
			return;
		}
		for (size_t g = 0; g < sizeof(gic_compats) / sizeof(gic_compats[0]); g++) {
			if (!strcmp(c, gic_compats[g].compatible) && node_enabled(fdt, node) &&
			    gic_compats[g].version > out->gic) {
				out->gic = gic_compats[g].version;
				snprintf(out->gic_compatible, sizeof(out->gic_compatible), "%s", c);
				return;
			}
		}
		const char *kind = NULL;
		for (size_t s = 0; s < sizeof(smmu_compats) / sizeof(smmu_compats[0]); s++)
			if (!strcmp(c, smmu_compats[s].compatible))
				kind = smmu_compats[s].kind;
		if (!kind && (has_suffix(c, "-smmu-500") || has_suffix(c, ",smmu-500")))
			kind = "smmu-v2";
		if (kind) {
			if (out->iommu_count < FDT_MAX_LIST) {
				struct iommu_unit *u = &out->iommus[out->iommu_count++];
				snprintf(u->compatible, sizeof(u->compatible), "%s", c);
				snprintf(u->kind, sizeof(u->kind), "%s", kind);
				u->enabled = node_enabled(fdt, node);
			}
			return;
		}
	}
}

int fdt_facts_parse(const void *blob, size_t len, struct fdt_facts *out, char *err, size_t err_size)
{
	memset(out, 0, sizeof(*out));
	if (len < sizeof(struct fdt_header)) {
		snprintf(err, err_size, "device tree blob is truncated (%zu bytes)", len);
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
	int ncompat = fdt_stringlist_count(blob, 0, "compatible");
	if (ncompat > 1) {
		const char *last = fdt_stringlist_get(blob, 0, "compatible", ncompat - 1, &plen);
		if (last)
			copy_str(out->soc, sizeof(out->soc), last, plen);
	}
	/* Root at depth 0, /cpus at 1, /cpus/cpu@N at 2. */
	int depth = -1;
	for (int node = fdt_next_node(blob, -1, &depth); node >= 0;
	     node = fdt_next_node(blob, node, &depth))
		scan_node(blob, node, depth, out);
	out->valid = 1;
	return 0;
}
