/* A field kit archive (docs/kit.md) as kvmqual remote needs it. */
#ifndef KQ_KITFILE_H
#define KQ_KITFILE_H

#include "../lib/util.h"

struct kitfile {
	char *path;
	char *arch;                        /* aarch64, x86_64 */
	char *version;
	char *kit_hash;                    /* what is in it (MANIFEST kit-hash) */
	char *sha256;                      /* of the archive file */
	unsigned long long unpacked_bytes; /* MANIFEST bytes */
	unsigned long long archive_bytes;
};

/* Reads the kit's MANIFEST (the archive's first file) and the archive's
 * SHA-256. Returns 0, or -1 with err naming the file and what is wrong. */
int kitfile_open(const char *path, struct kitfile *k, struct kq_err *err);
void kitfile_free(struct kitfile *k);

#endif
