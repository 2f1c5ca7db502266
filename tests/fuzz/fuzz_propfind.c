/* A PROPFIND answer from a WebDAV server (matrix/http_dav.c): the
 * multistatus parser, then what kvmqual does with each member's path. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../matrix/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_member *m;
	size_t n;
	struct kq_err err;
	if (http_parse_multistatus((const char *)data, size, &m, &n, &err) == 0) {
		for (size_t i = 0; i < n; i++) {
			/* Parsed paths are absolute and NUL-free. */
			if (m[i].path[0] != '/')
				abort();
			const char *base = strrchr(m[i].path, '/') + 1;
			if (http_safe_name(base) && (strchr(base, '/') || !strcmp(base, "..")))
				abort();
			char *enc = http_encode_segment(base);
			char *dec = http_percent_decode(enc, strlen(enc));
			if (base[0] && (!dec || strcmp(dec, base)))
				abort();
			free(dec);
			free(enc);
		}
		http_members_free(m, n);
	}
	return 0;
}
