/* The targets file (runners/targets.conf, or --targets FILE): any bytes,
 * not NUL-terminated, as read from disk.  Besides not crashing, what it
 * accepts must make sense: a known accelerator and operator, a finite
 * threshold, names that fit their fields. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../runners/targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct target *t = NULL;
	size_t n = 0;
	struct kq_err err;
	if (targets_parse((const char *)data, size, "fuzz.conf", &t, &n, &err) == 0) {
		for (size_t i = 0; i < n; i++) {
			if ((strcmp(t[i].accel, "kvm") && strcmp(t[i].accel, "tcg")) || !isfinite(t[i].threshold) ||
			    !strcmp(target_op_name(t[i].op), "?") || !t[i].workload[0] || !t[i].metric[0] ||
			    memchr(t[i].name, '\0', sizeof(t[i].name)) == NULL)
				abort();
		}
	} else if (!strstr(err.msg, "fuzz.conf:")) {
		abort(); /* every refusal names the line */
	}
	free(t);
	return 0;
}
