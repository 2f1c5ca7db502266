/* dtb_check TREE.dtb PROBE.json: does the probe's reading of a device tree
 * (gic.version, iommu.present) agree with what the tree itself says, by
 * the plainest rules of the bindings?
 *   - the GIC: the enabled node with the highest version among the GIC
 *     compatibles (arm,gic-v3 is v3; the GICv2 family is v2);
 *   - an ITS: an enabled node compatible with "arm,gic-v3-its";
 *   - IOMMUs: the enabled nodes that carry "#iommu-cells" (the property
 *     every IOMMU provider has under the generic binding).
 * Prints one line per disagreement and exits 1 if there is any; used by
 * tests/sections/dtbs.sh on every DTB of Debian's arm64 kernel. */
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static int problems;

static void problem(const char *tree, const char *fmt, const char *a, const char *b)
{
	printf("%s: ", tree);
	printf(fmt, a, b);
	printf("\n");
	problems++;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n;
	char *buf = malloc(cap + 1);
	*len = 0;
	while ((n = fread(buf + *len, 1, cap - *len, f)) > 0)
		if ((*len += n) == cap)
			buf = realloc(buf, (cap *= 2) + 1);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static int enabled(const void *fdt, int node)
{
	int len;
	const char *s = fdt_getprop(fdt, node, "status", &len);
	return !s || !strcmp(s, "okay") || !strcmp(s, "ok");
}

static const cJSON *check(const cJSON *doc, const char *id)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "checks"))
		if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(c, "id")) ?: "", id))
			return c;
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: dtb_check TREE.dtb PROBE.json\n");
		return 2;
	}
	size_t dlen, jlen;
	char *fdt = slurp(argv[1], &dlen), *json = slurp(argv[2], &jlen);
	cJSON *doc = json ? cJSON_Parse(json) : NULL;
	if (!fdt || fdt_check_full(fdt, dlen) || !doc) {
		printf("%s: unreadable tree or probe document\n", argv[1]);
		return 1;
	}
	static const char *const v2[] = { "arm,gic-400", "arm,cortex-a15-gic", "arm,cortex-a9-gic",
					  "arm,cortex-a7-gic", "arm,pl390", "qcom,msm-qgic2", "nvidia,tegra210-agic",
					  "arm,arm11mp-gic", "arm,eb11mp-gic", "qcom,msm-8660-qgic" };
	int gic = 0, its = 0, iommus = 0;
	int depth = 0;
	for (int node = fdt_next_node(fdt, -1, &depth); node >= 0; node = fdt_next_node(fdt, node, &depth)) {
		if (!enabled(fdt, node))
			continue;
		if (fdt_getprop(fdt, node, "#iommu-cells", NULL))
			iommus++;
		if (!fdt_node_check_compatible(fdt, node, "arm,gic-v3-its"))
			its = 1;
		if (!fdt_node_check_compatible(fdt, node, "arm,gic-v3") && gic < 3)
			gic = 3;
		for (size_t i = 0; i < sizeof(v2) / sizeof(v2[0]); i++)
			if (!fdt_node_check_compatible(fdt, node, v2[i]) && gic < 2)
				gic = 2;
	}
	char want[32];
	snprintf(want, sizeof(want), gic ? "v%d%s" : "unknown", gic, its ? "+its" : "");
	const cJSON *g = check(doc, "gic.version");
	const char *got = g ? cJSON_GetStringValue(cJSON_GetObjectItem(g, "value")) : NULL;
	if (!got || strcmp(got, want))
		problem(argv[1], "gic.version '%s', the tree says '%s'", got ? got : "(none)", want);

	/* The probe's enabled units, and the driver it names for each. */
	const cJSON *io = check(doc, "iommu.present");
	const cJSON *units = io ? cJSON_GetObjectItem(io, "data") : NULL, *u;
	int probe_units = 0;
	cJSON_ArrayForEach(u, units) {
		if (!cJSON_IsTrue(cJSON_GetObjectItem(u, "enabled")))
			continue;
		probe_units++;
		const char *compat = cJSON_GetStringValue(cJSON_GetObjectItem(u, "compatible")) ?: "";
		const char *driver = cJSON_GetStringValue(cJSON_GetObjectItem(u, "driver")) ?: "";
		/* SMMUv3's driver only for an SMMUv3; Rockchip's for Rockchip's. */
		if (!strcmp(driver, "ARM_SMMU_V3") != !strcmp(compat, "arm,smmu-v3"))
			problem(argv[1], "IOMMU %s gets driver '%s'", compat, driver);
		if (!strncmp(compat, "rockchip,", 9) && strcmp(driver, "ROCKCHIP_IOMMU"))
			problem(argv[1], "IOMMU %s gets driver '%s', not ROCKCHIP_IOMMU", compat, driver);
	}
	char n1[16], n2[16];
	snprintf(n1, sizeof(n1), "%d", probe_units);
	snprintf(n2, sizeof(n2), "%d", iommus);
	if (probe_units != iommus)
		problem(argv[1], "the probe finds %s enabled IOMMUs, the tree %s with #iommu-cells", n1, n2);
	/* A snapshot of a tree alone cannot say what the kernel registered. */
	const char *value = io ? cJSON_GetStringValue(cJSON_GetObjectItem(io, "value")) : NULL;
	if (iommus && (!value || !strstr(value, "kernel unknown")))
		problem(argv[1], "iommu.present '%s' should say the kernel side is unknown%s", value ? value : "(none)", "");
	if (!iommus && (!value || strcmp(value, "none")))
		problem(argv[1], "iommu.present '%s', the tree has none%s", value ? value : "(none)", "");
	cJSON_Delete(doc);
	free(json);
	free(fdt);
	return problems ? 1 : 0;
}
