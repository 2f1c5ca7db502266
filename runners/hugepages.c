/* kvmqual run: the steps marked on_hugepages (STREAM, sysbench) again in a
 * guest whose memory is backed by huge pages, one guest per page size.
 * The pages must be reserved beforehand: where they are not, the size is
 * skipped with the reason and how to reserve them, and the run goes on.
 * That the pages really back guest RAM is checked in QEMU's smaps. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "measure.h"
#include "memory.h"
#include "run.h"

size_t run_hugepage_steps(const struct run_ctx *c)
{
	size_t n = 0;
	for (size_t i = 0; i < run_plan_count; i++)
		n += run_plan[i].on_hugepages && run_step_wanted(c, &run_plan[i]);
	return n;
}

static void size_name(long kb, char *buf, size_t size)
{
	if (kb % 1048576 == 0)
		snprintf(buf, size, "%ldG", kb / 1048576);
	else if (kb % 1024 == 0)
		snprintf(buf, size, "%ldM", kb / 1024);
	else
		snprintf(buf, size, "%ldK", kb);
}

static void store_sample(void *ctx, const char *accel, const char *workload, const char *metric, const char *unit,
			 int higher_is_better, double value, const char *flags)
{
	run_store_sample(ctx, accel, workload, metric, unit, higher_is_better, value, flags, 1);
}

int run_hugepages(struct run_ctx *c, const char *accel, int boot_timeout_ms)
{
	size_t steps = run_hugepage_steps(c);
	if (!steps)
		return 0;
	int failed = 0;
	for (size_t k = 0; k < c->hugepage_count && !run_stop_requested; k++) {
		long kb = c->hugepage_kb[k];
		char size[16], what[64], why[600];
		size_name(kb, size, sizeof(size));
		snprintf(what, sizeof(what), "%s: huge pages %s", accel, size);
		long mem_kb = (long)c->prof->guest_mem_mb * 1024;
		if (mem_kb % kb) {
			run_note_skip(c, what, "the guest's %d MiB are not a whole number of %s pages", c->prof->guest_mem_mb,
				      size);
			c->steps_done += (int)steps;
			continue;
		}
		if (!memory_hugepages_free("/", kb, mem_kb / kb, why, sizeof(why))) {
			run_note_skip(c, what, "%s", why);
			c->steps_done += (int)steps;
			continue;
		}
		struct guest_config cfg;
		run_guest_config(c, accel, &cfg, 0);
		cfg.hugepage_kb = kb;
		struct guest g;
		struct kq_err err;
		run_progress(c, "%s: booting the guest on %s huge pages", accel, size);
		if (guest_boot(&cfg, &g, boot_timeout_ms, &err)) {
			run_note_failure(c, "%s: the guest did not boot: %s", what, err.msg);
			c->steps_done += (int)steps;
			failed++;
			continue;
		}
		/* Verified, not assumed: the page size QEMU's guest RAM is on. */
		char label[64];
		snprintf(label, sizeof(label), "vmm-memory-huge%s", size);
		struct measure_sink sink = { store_sample, c };
		if (measure_vmm_memory(&sink, accel, label, &g, kb, why, sizeof(why))) {
			run_note_failure(c, "%s: %s", what, why);
			guest_stop(&g);
			c->steps_done += (int)steps;
			failed++;
			continue;
		}
		for (size_t i = 0; i < run_plan_count && !run_stop_requested; i++) {
			if (!run_plan[i].on_hugepages || !run_step_wanted(c, &run_plan[i]))
				continue;
			struct step s = run_plan[i];
			snprintf(label, sizeof(label), "%s-huge%s", run_plan[i].label, size);
			s.label = label;
			failed += run_sample_step(c, &g, accel, &s) != 0;
			c->steps_done++;
		}
		guest_stop(&g);
	}
	return failed;
}
