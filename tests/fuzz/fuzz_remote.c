/* What kvmqual remote reads from a device and from a kit: the first byte
 * picks the parser, the rest is its input.  0: the device's answer to the
 * look around (remote_device_parse), 1: a line of the job's log (the
 * status line), 2: a kit archive (kitfile_open, through a memfd). */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../remote/kitfile.h"
#include "../../remote/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A value the device gave must be one printable line. */
static void check_text(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	struct kq_err err;
	switch (data[0] % 3) {
	case 0: {
		struct remote_device d;
		if (remote_device_parse(text, len, &d, &err) == 0) {
			if (len > REMOTE_ANSWER_MAX)
				__builtin_trap();
			check_text(d.dir);
			check_text(d.arch);
			check_text(d.host);
			check_text(d.kit_hash);
			check_text(d.job_owner);
			check_text(d.job_status);
			check_text(d.error);
			if (!d.error && (!d.dir || d.dir[0] != '/' || !d.arch || !*d.arch ||
					 strspn(d.arch, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(d.arch)))
				__builtin_trap();
			if (d.free_kb < -1 || d.uid < -1)
				__builtin_trap();
		}
		remote_device_free(&d);
		break;
	}
	case 1: {
		int st = -1;
		int kind = remote_status_line(text, len, &st);
		if (kind < -1 || kind > 1 || (kind == 1 && (st < 0 || st > 255)))
			__builtin_trap();
		break;
	}
	default: {
		int fd = memfd_create("kit", 0);
		if (fd < 0)
			return 0;
		if (write(fd, text, len) == (ssize_t)len) {
			char path[64];
			snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
			struct kitfile k;
			if (kitfile_open(path, &k, &err) == 0) {
				/* What goes into the device's shell command. */
				if (!k.kit_hash || strlen(k.kit_hash) != 64 ||
				    strspn(k.kit_hash, "0123456789abcdef") != 64 || !k.arch || !k.sha256)
					__builtin_trap();
				kitfile_free(&k);
			}
		}
		close(fd);
	}
	}
	return 0;
}
