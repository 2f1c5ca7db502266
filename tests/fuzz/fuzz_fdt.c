/* Device tree blobs straight into the FDT parser. */
#include <stddef.h>
#include <stdint.h>

#include "../../probe/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fdt_facts f;
	char err[160];
	fdt_facts_parse(data, size, &f, err, sizeof(err));
	return 0;
}
