/* ACPI tables from /sys/firmware/acpi/tables: the MADT (GIC or APIC
 * entries) and the IORT (SMMUs on Arm).  Layouts from the ACPI 6.5
 * specification, section 5.2.12, and Arm DEN 0049 (IORT). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"

#define ACPI_HEADER_LEN 36

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

int acpi_table_check(const void *table, size_t len, const char sig[4], char *err, size_t err_size)
{
	const unsigned char *t = table;
	if (len < ACPI_HEADER_LEN) {
		snprintf(err, err_size, "%.4s table is truncated (%zu bytes)", sig, len);
		return -1;
	}
	if (memcmp(t, sig, 4)) {
		snprintf(err, err_size, "%.4s table has the wrong signature", sig);
		return -1;
	}
	uint32_t declared = le32(t + 4);
	if (declared < ACPI_HEADER_LEN || declared > len) {
		snprintf(err, err_size, "%.4s table declares %u bytes but %zu are there", sig,
			 declared, len);
		return -1;
	}
	unsigned char sum = 0;
	for (uint32_t i = 0; i < declared; i++)
		sum = (unsigned char)(sum + t[i]);
	if (sum) {
		snprintf(err, err_size, "%.4s table has a bad checksum", sig);
		return -1;
	}
	return 0;
}

enum {
	MADT_LAPIC = 0x0,
	MADT_X2APIC = 0x9,
	MADT_GICC = 0xb,
	MADT_GICD = 0xc,
	MADT_GIC_MSI = 0xd,
	MADT_GICR = 0xe,
	MADT_GIC_ITS = 0xf,
};

int madt_parse(const void *table, size_t len, struct madt_facts *out, char *err, size_t err_size)
{
	memset(out, 0, sizeof(*out));
	if (acpi_table_check(table, len, "APIC", err, err_size))
		return -1;
	const unsigned char *t = table;
	uint32_t total = le32(t + 4);
	/* Header, then the local interrupt controller address and flags. */
	size_t off = ACPI_HEADER_LEN + 8;
	while (off + 2 <= total) {
		unsigned type = t[off], elen = t[off + 1];
		if (elen < 2 || off + elen > total) {
			snprintf(err, err_size, "MADT entry at offset %zu has a bad length %u", off, elen);
			return -1;
		}
		switch (type) {
		case MADT_LAPIC:
		case MADT_X2APIC:
			out->x86_apics++;
			break;
		case MADT_GICC:
			out->gicc_count++;
			break;
		case MADT_GICD:
			if (elen >= 21)
				out->gicd_version = t[off + 20];
			break;
		case MADT_GICR:
			out->has_gicr = 1;
			break;
		case MADT_GIC_ITS:
			out->has_its = 1;
			break;
		default:
			break;
		}
		off += elen;
	}
	if (out->gicd_version >= 1 && out->gicd_version <= 4)
		out->gic = out->gicd_version == 1 ? GIC_V2 : (enum gic_version)out->gicd_version;
	else if (out->gicc_count || out->gicd_version)
		/* Version 0 means "not stated": redistributors imply v3. */
		out->gic = out->has_gicr || out->has_its ? GIC_V3 : GIC_V2;
	out->valid = 1;
	return 0;
}

enum {
	IORT_ITS_GROUP = 0,
	IORT_NAMED_COMPONENT = 1,
	IORT_ROOT_COMPLEX = 2,
	IORT_SMMU = 3,
	IORT_SMMU_V3 = 4,
};

int iort_parse(const void *table, size_t len, struct iort_facts *out, char *err, size_t err_size)
{
	memset(out, 0, sizeof(*out));
	if (acpi_table_check(table, len, "IORT", err, err_size))
		return -1;
	const unsigned char *t = table;
	uint32_t total = le32(t + 4);
	if (total < ACPI_HEADER_LEN + 12) {
		snprintf(err, err_size, "IORT table is too short for its node list");
		return -1;
	}
	uint32_t count = le32(t + 36), off = le32(t + 40);
	for (uint32_t i = 0; i < count; i++) {
		if (off < ACPI_HEADER_LEN + 12 || (uint64_t)off + 3 > total) {
			snprintf(err, err_size, "IORT node %u lies outside the table", i);
			return -1;
		}
		unsigned type = t[off];
		uint16_t nlen = le16(t + off + 1);
		if (nlen < 16 || (uint64_t)off + nlen > total) {
			snprintf(err, err_size, "IORT node %u has a bad length %u", i, nlen);
			return -1;
		}
		switch (type) {
		case IORT_ITS_GROUP: out->its_groups++; break;
		case IORT_NAMED_COMPONENT: out->named_components++; break;
		case IORT_ROOT_COMPLEX: out->root_complexes++; break;
		case IORT_SMMU: out->smmu_v1v2++; break;
		case IORT_SMMU_V3: out->smmu_v3++; break;
		default: break;
		}
		off += nlen;
	}
	out->valid = 1;
	return 0;
}
