/* The workload parsers on tool output (workloads/): the first byte picks the
 * workload, the rest is its report (stdout, or stderr for stress-ng), not
 * NUL-terminated; both the metrics and the work count are parsed. */
#include <stddef.h>
#include <stdint.h>

#include "../../workloads/workload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const struct workload *w = workloads[data[0] % workload_count];
	struct metric_value m[8];
	char err[256];
	int n = w->parse((const char *)data + 1, size - 1, m, 8, err, sizeof(err));
	if (n > (int)w->metric_count)
		__builtin_trap();
	for (int i = 0; i < n; i++) {
		/* What a parser returns is a real measurement. */
		if (!(m[i].value > 0) || m[i].metric != w->metrics[i].metric)
			__builtin_trap();
	}
	double units = -1;
	if (w->work((const char *)data + 1, size - 1, &units, err, sizeof(err)) == 0 && !(units > 0))
		__builtin_trap();
	return 0;
}
