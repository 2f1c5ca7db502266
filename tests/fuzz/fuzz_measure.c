/* The parsers of what a run costs, on hostile text: the first byte picks
 * QEMU's smaps (runners/memory.c), vcgencmd pmic_read_adc (lib/energy.c),
 * a QMP line (runners/qmp.c) or a /proc/PID/stat line (runners/cost.c). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../lib/energy.h"
#include "../../runners/cost.h"
#include "../../runners/memory.h"
#include "../../runners/qmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	switch (data[0] % 4) {
	case 0: {
		struct vmm_memory m;
		char why[200];
		if (vmm_memory_parse(text, len, 512, &m, why, sizeof(why)) == 0 &&
		    (!(m.guest_mib >= 0) || !(m.rss_mib >= m.guest_mib) || !m.guest_found))
			__builtin_trap();
		break;
	}
	case 1: {
		double w = -1;
		if (energy_parse_pmic(text, len, &w) == 0 && !(w >= 0 && isfinite(w)))
			__builtin_trap();
		break;
	}
	case 2: {
		cJSON *msg = NULL;
		struct kq_err err;
		if (qmp_parse_line(text, len, &msg, &err) == 0) {
			if (!cJSON_IsObject(msg))
				__builtin_trap();
			cJSON_Delete(msg);
		}
		break;
	}
	default: {
		double s = cost_parse_stat_cpu_s(text, len, 100);
		if (!(s == -1 || (s >= 0 && isfinite(s))))
			__builtin_trap();
	}
	}
	return 0;
}
