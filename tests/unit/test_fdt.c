#include <libfdt.h>
#include <stdlib.h>

#include "../../probe/parse.h"
#include "test.h"

/* Builds a small device tree like a Raspberry Pi 5's (or, with v3, a
 * server's) with libfdt's sequential-write API. */
static void *build_tree(int gic_v3, int smmu, size_t *len)
{
	size_t size = 8192;
	void *fdt = calloc(1, size);
	fdt_create(fdt, (int)size);
	fdt_finish_reservemap(fdt);
	fdt_begin_node(fdt, "");
	fdt_property_string(fdt, "model", "Raspberry Pi 5 Model B Rev 1.0");
	static const char compat[] = "raspberrypi,5-model-b\0brcm,bcm2712";
	fdt_property(fdt, "compatible", compat, sizeof(compat));
	fdt_begin_node(fdt, "cpus");
	for (int i = 0; i < 4; i++) {
		char name[16];
		snprintf(name, sizeof(name), "cpu@%d", i);
		fdt_begin_node(fdt, name);
		fdt_property_string(fdt, "device_type", "cpu");
		fdt_property_string(fdt, "compatible", "arm,cortex-a76");
		fdt_end_node(fdt);
	}
	fdt_end_node(fdt);
	fdt_begin_node(fdt, "interrupt-controller@107fff9000");
	fdt_property_string(fdt, "compatible", gic_v3 ? "arm,gic-v3" : "arm,gic-400");
	if (gic_v3) {
		fdt_begin_node(fdt, "msi-controller@20000");
		fdt_property_string(fdt, "compatible", "arm,gic-v3-its");
		fdt_end_node(fdt);
	}
	fdt_end_node(fdt);
	if (smmu) {
		fdt_begin_node(fdt, "iommu@9050000");
		fdt_property_string(fdt, "compatible", "arm,smmu-v3");
		fdt_end_node(fdt);
		fdt_begin_node(fdt, "iommu@10000000");
		static const char q[] = "qcom,sm8550-smmu-500\0arm,mmu-500";
		fdt_property(fdt, "compatible", q, sizeof(q));
		fdt_property_string(fdt, "status", "disabled");
		fdt_end_node(fdt);
	}
	fdt_end_node(fdt);
	fdt_finish(fdt);
	*len = fdt_totalsize(fdt);
	return fdt;
}

TEST(fdt_pi5_like)
{
	size_t len;
	void *fdt = build_tree(0, 0, &len);
	struct fdt_facts f;
	char err[128];
	CHECK_INT(fdt_facts_parse(fdt, len, &f, err, sizeof(err)), 0);
	CHECK_STR(f.model, "Raspberry Pi 5 Model B Rev 1.0");
	CHECK_STR(f.compatible, "raspberrypi,5-model-b");
	CHECK_STR(f.soc, "brcm,bcm2712");
	CHECK_INT(f.gic, GIC_V2);
	CHECK_STR(f.gic_compatible, "arm,gic-400");
	CHECK_INT(f.iommu_count, 0);
	CHECK_INT(f.cpu_count, 4);
	CHECK_INT(f.cpu_compatible_kinds, 1);
	CHECK_STR(f.cpu_compatibles[0], "arm,cortex-a76");
	free(fdt);
}

TEST(fdt_gicv3_smmu)
{
	size_t len;
	void *fdt = build_tree(1, 1, &len);
	struct fdt_facts f;
	char err[128];
	CHECK_INT(fdt_facts_parse(fdt, len, &f, err, sizeof(err)), 0);
	CHECK_INT(f.gic, GIC_V3);
	CHECK_INT(f.gic_its, 1);
	CHECK_INT(f.iommu_count, 2);
	CHECK_STR(f.iommus[0].kind, "smmu-v3");
	CHECK_INT(f.iommus[0].enabled, 1);
	CHECK_STR(f.iommus[1].kind, "smmu-v2");
	CHECK_INT(f.iommus[1].enabled, 0);
	free(fdt);
}

TEST(fdt_malformed)
{
	size_t len;
	unsigned char *fdt = build_tree(1, 1, &len);
	struct fdt_facts f;
	char err[128];
	/* every truncation is an error, never a crash */
	for (size_t cut = 0; cut < len; cut += 7)
		CHECK_INT(fdt_facts_parse(fdt, cut, &f, err, sizeof(err)), -1);
	/* a corrupt structure block */
	unsigned char *bad = malloc(len);
	memcpy(bad, fdt, len);
	uint32_t off = fdt_off_dt_struct(bad);
	memset(bad + off + 8, 0xff, 16);
	CHECK_INT(fdt_facts_parse(bad, len, &f, err, sizeof(err)), -1);
	CHECK(strstr(err, "device tree") != NULL);
	/* an old version (9): libfdt 1.6.1's fdt_check_full() crashed on such
	 * a blob (fuzz_fdt); refused with the version named */
	memcpy(bad, fdt, len);
	fdt_set_version(bad, 9);
	fdt_set_last_comp_version(bad, 0);
	CHECK_INT(fdt_facts_parse(bad, len, &f, err, sizeof(err)), -1);
	CHECK(strstr(err, "version 9") != NULL);
	/* garbage */
	memset(bad, 0x5a, len);
	CHECK_INT(fdt_facts_parse(bad, len, &f, err, sizeof(err)), -1);
	free(bad);
	free(fdt);
}
