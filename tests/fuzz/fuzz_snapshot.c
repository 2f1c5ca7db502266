/* The whole probe on a snapshot tarball: tar and gzip parsing, then every
 * parser and classification the snapshot reaches. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../probe/probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kq_err err;
	struct hostfs *fs = hostfs_open_tar_memory(data, size, &err);
	if (!fs)
		return 0;
	struct probe p;
	struct probe_options opt = { .skip_smoke = 1 };
	if (probe_run(&p, fs, &opt, &err) == 0) {
		cJSON *doc = probe_to_json(&p);
		char *text = cJSON_PrintUnformatted(doc);
		free(text);
		cJSON_Delete(doc);
	}
	probe_free(&p);
	hostfs_close(fs);
	return 0;
}
