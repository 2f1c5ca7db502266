/* What kvmqual run measures around the workloads rather than with one
 * (issue 17): QEMU's memory (the VMM's overhead, the page size backing
 * guest RAM), the virtio-balloon, and the cold boot.  Each result goes to
 * a sink as samples (accel, workload label, metric, unit, direction,
 * value, flags), the way a workload's metrics are stored. */
#ifndef KQ_MEASURE_H
#define KQ_MEASURE_H

#include <stddef.h>

#include "guest.h"

struct measure_sink {
	void (*sample)(void *ctx, const char *accel, const char *workload, const char *metric, const char *unit,
		       int higher_is_better, double value, const char *flags);
	void *ctx;
};

/* QEMU's memory now, as workload `label` ("vmm-memory"): vmm_overhead_mib
 * (QEMU's RSS beyond the guest's resident RAM, Firecracker's definition),
 * qemu_rss_mib, guest_resident_mib (all MiB, lower is better).  With
 * want_page_kb > 0, the page size backing guest RAM must be that (huge
 * pages verified in smaps): -1 with why otherwise. */
int measure_vmm_memory(const struct measure_sink *s, const char *accel, const char *label, const struct guest *g,
		       long want_page_kb, char *why, size_t why_size);

/* The balloon, as workload "balloon": the guest first touches touch_mb
 * (dd from /dev/zero into one buffer, freed when dd exits: guest memory
 * the host has backed), then the balloon takes the guest down to
 * target_mb: inflate_ms, deflate_ms (lower is better) and rss_freed_mib
 * (how much QEMU's RSS fell, higher is better), flagged rss-did-not-fall
 * when it fell by less than half of what was touched.  g needs the balloon
 * and QMP.  0, or -1 with why. */
int measure_balloon(const struct measure_sink *s, const char *accel, struct guest *g, long touch_mb,
		    long target_mb, int timeout_ms, char *why, size_t why_size);

/* One cold boot of cfg (kvmqual run takes it after the warm boots): the
 * page cache dropped first (memory_drop_caches:
 * all of it as root, the image's files otherwise), then booted and
 * stopped, as workload "boot-cold", metric total_ms (QEMU's start to the
 * agent's ready, as the warm boots), flagged cache-dropped (as root, and
 * less than 5 % of the image's pages still cached afterwards, by mincore)
 * or cache-partial (not root, or pages that stayed: mapped by a running
 * process).  *ms gets the boot time.
 * 0, or -1 with why (the guest did not boot). */
int measure_cold_boot(const struct measure_sink *s, const struct guest_config *cfg, int timeout_ms, double *ms,
		      char *why, size_t why_size);

#endif
