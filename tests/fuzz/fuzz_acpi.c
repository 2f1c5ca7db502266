/* ACPI tables: the first byte picks the MADT or IORT parser; the rest is
 * the table, whose signature is forced so the parsers get past it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../probe/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int iort = data[0] & 1;
	size--;
	unsigned char *t = malloc(size ? size : 1);
	memcpy(t, data + 1, size);
	if (size >= 4)
		memcpy(t, iort ? "IORT" : "APIC", 4);
	/* Fix the checksum half of the time so the entry walk is reached. */
	if (size >= 10 && (data[0] & 2)) {
		t[9] = 0;
		unsigned char sum = 0;
		size_t declared = size >= 8 ? (size_t)(t[4] | t[5] << 8 | t[6] << 16 | (size_t)t[7] << 24) : 0;
		for (size_t i = 0; i < declared && i < size; i++)
			sum = (unsigned char)(sum + t[i]);
		t[9] = (unsigned char)(0x100 - sum);
	}
	char err[160];
	if (iort) {
		struct iort_facts f;
		iort_parse(t, size, &f, err, sizeof(err));
	} else {
		struct madt_facts m;
		madt_parse(t, size, &m, err, sizeof(err));
	}
	free(t);
	return 0;
}
