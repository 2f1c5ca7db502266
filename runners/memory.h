/* Memory as the host sees a guest: QEMU's resident memory split into the
 * guest's RAM and the VMM's own (its overhead, as Firecracker defines it:
 * RSS beyond what the guest touched), the page size that really backs
 * guest RAM (huge pages verified, not assumed), the huge pages a host has
 * reserved, the virtio-balloon driven over QMP, and the page cache dropped
 * before a cold boot. */
#ifndef KQ_MEMORY_H
#define KQ_MEMORY_H

#include <stddef.h>
#include <sys/types.h>

#include "guest.h"

struct vmm_memory {
	double rss_mib;           /* all of QEMU's resident memory (huge pages included) */
	double guest_mib;         /* the resident part of guest RAM */
	double overhead_mib;      /* rss - guest: the VMM's own */
	long guest_page_kb;       /* KernelPageSize of guest RAM; 0 when not found */
	double guest_thp_mib;     /* transparent huge pages within guest RAM */
	int guest_found;
};

/* Parses /proc/PID/smaps text: guest RAM is the mapping of exactly
 * guest_mb MiB (QEMU maps each RAM block whole); resident means Rss plus
 * Shared/Private_Hugetlb (hugetlb pages are not in Rss).  0, or -1 with
 * why (no mapping of that size, text not understood). */
int vmm_memory_parse(const char *smaps, size_t len, long guest_mb, struct vmm_memory *m, char *why,
		     size_t why_size);
int vmm_memory_read(pid_t pid, long guest_mb, struct vmm_memory *m, struct kq_err *err);

/* QEMU's VmRSS in MiB from proc/PID/status, or -1. */
double memory_rss_mib(pid_t pid);

/* The huge page sizes this kernel offers (sys/kernel/mm/hugepages under
 * root), in KiB, ascending; returns the count (at most max). */
size_t memory_hugepage_sizes(const char *root, long *kb, size_t max);
/* Whether need_pages huge pages of kb KiB are free: 1, or 0 with why
 * saying what is missing and how to reserve them. */
int memory_hugepages_free(const char *root, long kb, long need_pages, char *why, size_t why_size);
/* The same from a count already read (a snapshot's, through hostfs):
 * free_pages < 0 when unknown. */
int memory_hugepages_enough(long kb, long free_pages, long need_pages, char *why, size_t why_size);
/* "hugepages-2048kB" (a directory of sys/kernel/mm/hugepages) -> 2048;
 * -1 for other names. */
long memory_hugepage_dir_kb(const char *name);
/* "2M", "64K", "1G" -> KiB; -1 when not a size. */
long memory_parse_size_kb(const char *text);
/* KiB -> "2M", "64K", "1G" (the largest unit that divides it). */
void memory_size_text(long kb, char *buf, size_t size);

struct balloon_result {
	double target_mib;        /* the guest's memory with the balloon inflated */
	double inflate_ms;        /* from the balloon command to query-balloon's actual at the target */
	double deflate_ms;
	double rss_before_mib, rss_after_mib;
	double freed_mib;         /* rss_before - rss_after */
	int rss_fell;             /* by at least a quarter of what the balloon took */
	int partial;              /* the guest gave less than asked (its free memory ran
				   * out); target_mib is what it reached */
};

/* Inflates the balloon of g (booted with balloon and qmp) until the guest
 * has target_mb, times it, reads QEMU's RSS before and after, then deflates
 * it again.  0, or -1 with err (no balloon, QMP error, the guest did not
 * give the memory within timeout_ms). */
int balloon_measure(struct guest *g, long target_mb, int timeout_ms, struct balloon_result *r,
		    struct kq_err *err);

/* Before a cold boot: as root the whole page cache is dropped (sync, then
 * vm.drop_caches = 1); otherwise only the files of the guest image are
 * evicted (posix_fadvise DONTNEED), not QEMU's binary and libraries.  how
 * says which ("drop_caches" or "image files only: not root").  Then
 * *cached_pct is how much of the image's files the page cache still holds
 * (mincore): pages mapped by running processes cannot be dropped. */
int memory_drop_caches(const char *image_dir, char *how, size_t how_size, double *cached_pct);

#endif
