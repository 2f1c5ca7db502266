#include <stdint.h>
#include <stdlib.h>

#include "../../probe/parse.h"
#include "test.h"

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void finish(unsigned char *t, size_t len)
{
	put32(t + 4, (uint32_t)len);
	t[9] = 0;
	unsigned char sum = 0;
	for (size_t i = 0; i < len; i++)
		sum = (unsigned char)(sum + t[i]);
	t[9] = (unsigned char)(0x100 - sum);
}

/* MADT with two GICC entries (80 bytes each), a GICD (24 bytes) stating
 * version, and optionally a GICR (16) and ITS (20). */
static size_t build_madt(unsigned char *t, int version, int gicr)
{
	memset(t, 0, 512);
	memcpy(t, "APIC", 4);
	size_t off = 44;
	for (int i = 0; i < 2; i++) {
		t[off] = 0xb;
		t[off + 1] = 80;
		off += 80;
	}
	t[off] = 0xc;
	t[off + 1] = 24;
	t[off + 20] = (unsigned char)version;
	off += 24;
	if (gicr) {
		t[off] = 0xe;
		t[off + 1] = 16;
		off += 16;
		t[off] = 0xf;
		t[off + 1] = 20;
		off += 20;
	}
	finish(t, off);
	return off;
}

TEST(madt_versions)
{
	unsigned char t[512];
	struct madt_facts m;
	char err[128];
	size_t len = build_madt(t, 3, 1);
	CHECK_INT(madt_parse(t, len, &m, err, sizeof(err)), 0);
	CHECK_INT(m.gic, GIC_V3);
	CHECK_INT(m.gicc_count, 2);
	CHECK_INT(m.has_its, 1);
	len = build_madt(t, 2, 0);
	CHECK_INT(madt_parse(t, len, &m, err, sizeof(err)), 0);
	CHECK_INT(m.gic, GIC_V2);
	/* version 0 ("not stated"): redistributors decide */
	len = build_madt(t, 0, 1);
	CHECK_INT(madt_parse(t, len, &m, err, sizeof(err)), 0);
	CHECK_INT(m.gic, GIC_V3);
	len = build_madt(t, 0, 0);
	CHECK_INT(madt_parse(t, len, &m, err, sizeof(err)), 0);
	CHECK_INT(m.gic, GIC_V2);
}

TEST(madt_malformed)
{
	unsigned char t[512];
	struct madt_facts m;
	char err[128];
	size_t len = build_madt(t, 3, 1);
	for (size_t cut = 0; cut < len; cut += 5)
		CHECK_INT(madt_parse(t, cut, &m, err, sizeof(err)), -1);
	t[20] ^= 1; /* checksum */
	CHECK_INT(madt_parse(t, len, &m, err, sizeof(err)), -1);
	CHECK(strstr(err, "checksum") != NULL);
	len = build_madt(t, 3, 1);
	t[45] = 0; /* an entry of length 0 would loop forever */
	finish(t, len);
	CHECK_INT(madt_parse(t, len, &m, err, sizeof(err)), -1);
	CHECK(strstr(err, "bad length") != NULL);
	len = build_madt(t, 3, 1);
	memcpy(t, "IORT", 4);
	finish(t, len);
	CHECK_INT(madt_parse(t, len, &m, err, sizeof(err)), -1);
}

static size_t build_iort(unsigned char *t, uint32_t node_count, uint32_t node_off)
{
	memset(t, 0, 512);
	memcpy(t, "IORT", 4);
	put32(t + 36, node_count);
	put32(t + 40, node_off);
	size_t off = 48;
	/* ITS group, SMMUv3, root complex; lengths as the spec's minimums */
	unsigned char types[] = { 0, 4, 2 };
	unsigned lens[] = { 24, 68, 36 };
	for (int i = 0; i < 3; i++) {
		t[off] = types[i];
		t[off + 1] = (unsigned char)lens[i];
		off += lens[i];
	}
	finish(t, off);
	return off;
}

TEST(iort_nodes)
{
	unsigned char t[512];
	struct iort_facts f;
	char err[128];
	size_t len = build_iort(t, 3, 48);
	CHECK_INT(iort_parse(t, len, &f, err, sizeof(err)), 0);
	CHECK_INT(f.smmu_v3, 1);
	CHECK_INT(f.its_groups, 1);
	CHECK_INT(f.root_complexes, 1);
	CHECK_INT(f.smmu_v1v2, 0);
	/* a node count past the end, an offset outside, truncation */
	len = build_iort(t, 4, 48);
	CHECK_INT(iort_parse(t, len, &f, err, sizeof(err)), -1);
	len = build_iort(t, 1, 0xfffffff0u);
	CHECK_INT(iort_parse(t, len, &f, err, sizeof(err)), -1);
	len = build_iort(t, 3, 48);
	for (size_t cut = 0; cut < len; cut += 9)
		CHECK_INT(iort_parse(t, cut, &f, err, sizeof(err)), -1);
}
