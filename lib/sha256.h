/* SHA-256 (FIPS 180-4), for checking that a file copied to a device
 * arrived whole (kvmqual remote compares it with the device's sha256sum). */
#ifndef KQ_SHA256_H
#define KQ_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct kq_sha256 {
	uint32_t h[8];
	uint64_t bytes;
	unsigned char block[64];
	size_t used;
};

void kq_sha256_init(struct kq_sha256 *s);
void kq_sha256_add(struct kq_sha256 *s, const void *data, size_t len);
/* Writes 64 lowercase hex digits and a NUL to hex. */
void kq_sha256_hex(struct kq_sha256 *s, char hex[65]);
/* The SHA-256 of a whole file, as hex; 0 or -1 with err naming the file. */
int kq_sha256_file(const char *path, char hex[65], struct kq_err *err);

#endif
