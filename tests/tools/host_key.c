/* host_key ARCH MODEL SOC KERNEL PAGE_SIZE: prints the host key a store
 * gives that identity (FNV-1a 64 over the fields, each ended by a NUL,
 * docs/store.md), written again here so that the tests can craft stores
 * and bundles whose identity the matrix accepts. */
#include <inttypes.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: host_key ARCH MODEL SOC KERNEL PAGE_SIZE\n");
		return 2;
	}
	uint64_t h = 0xcbf29ce484222325ULL;
	for (int i = 1; i < 6; i++) {
		for (const unsigned char *p = (const unsigned char *)argv[i];; p++) {
			h ^= *p;
			h *= 0x100000001b3ULL;
			if (!*p)
				break;
		}
	}
	printf("%016" PRIx64 "\n", h);
	return 0;
}
