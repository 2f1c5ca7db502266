#define _GNU_SOURCE
#include "measure.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "memory.h"

int measure_vmm_memory(const struct measure_sink *s, const char *accel, const char *label, const struct guest *g,
		       long want_page_kb, char *why, size_t why_size)
{
	struct vmm_memory m;
	struct kq_err err;
	if (vmm_memory_read(g->pid, g->mem_mb, &m, &err)) {
		snprintf(why, why_size, "%s", err.msg);
		return -1;
	}
	if (want_page_kb > 0 && m.guest_page_kb != want_page_kb) {
		snprintf(why, why_size, "guest RAM is on %ld KiB pages in QEMU's smaps, not the %ld KiB huge pages asked for",
			 m.guest_page_kb, want_page_kb);
		return -1;
	}
	s->sample(s->ctx, accel, label, "vmm_overhead_mib", "MiB", 0, m.overhead_mib, NULL);
	s->sample(s->ctx, accel, label, "qemu_rss_mib", "MiB", 0, m.rss_mib, NULL);
	s->sample(s->ctx, accel, label, "guest_resident_mib", "MiB", 0, m.guest_mib, NULL);
	return 0;
}

int measure_balloon(const struct measure_sink *s, const char *accel, struct guest *g, long touch_mb,
		    long target_mb, int timeout_ms, char *why, size_t why_size)
{
	char bs[32];
	snprintf(bs, sizeof(bs), "bs=%ldM", touch_mb);
	const char *argv[] = { "dd", "if=/dev/zero", "of=/dev/null", bs, "count=1", NULL };
	struct agent_result r;
	struct kq_err err;
	if (agent_exec(&g->agent, argv, timeout_ms, &r, &err)) {
		snprintf(why, why_size, "touching %ld MiB in the guest: %s", touch_mb, err.msg);
		return -1;
	}
	int failed = r.exit_code != 0 || r.timed_out;
	if (failed)
		snprintf(why, why_size, "touching %ld MiB in the guest (dd %s): exit %d%s: %.200s", touch_mb, bs,
			 r.exit_code, r.timed_out ? ", timed out" : "", r.err_len ? (char *)r.err : "");
	agent_result_free(&r);
	if (failed)
		return -1;
	struct balloon_result b;
	if (balloon_measure(g, target_mb, timeout_ms, &b, &err)) {
		snprintf(why, why_size, "%s", err.msg);
		return -1;
	}
	char flags[64] = "";
	if (b.freed_mib < (double)touch_mb / 2)
		snprintf(flags, sizeof(flags), "rss-did-not-fall");
	if (b.partial)
		snprintf(flags + strlen(flags), sizeof(flags) - strlen(flags), "%sballoon-partial", flags[0] ? "," : "");
	s->sample(s->ctx, accel, "balloon", "inflate_ms", "ms", 0, b.inflate_ms, flags);
	s->sample(s->ctx, accel, "balloon", "deflate_ms", "ms", 0, b.deflate_ms, flags);
	s->sample(s->ctx, accel, "balloon", "rss_freed_mib", "MiB", 1, b.freed_mib > 0 ? b.freed_mib : 0, flags);
	return 0;
}

int measure_cold_boot(const struct measure_sink *s, const struct guest_config *cfg, int timeout_ms, double *ms,
		      char *why, size_t why_size)
{
	char how[160];
	double cached_pct = 0;
	if (memory_drop_caches(cfg->image_dir, how, sizeof(how), &cached_pct)) {
		snprintf(why, why_size, "dropping the page cache: %s", how);
		return -1;
	}
	struct guest g;
	struct kq_err err;
	if (guest_boot(cfg, &g, timeout_ms, &err)) {
		snprintf(why, why_size, "%s", err.msg);
		return -1;
	}
	*ms = (double)(g.ready.host_ns - g.exec_ns) / 1e6;
	guest_stop(&g);
	/* Cold only when it was: the whole cache dropped, and the image's files
	 * really gone from it (mincore), not merely asked to go. */
	const char *flags = !strcmp(how, "drop_caches") && cached_pct < 5 ? "cache-dropped" : "cache-partial";
	s->sample(s->ctx, cfg->accel, "boot-cold", "total_ms", "ms", 0, *ms, flags);
	return 0;
}
