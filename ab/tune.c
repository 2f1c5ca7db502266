/* kvmqual tune's settings: what this host lets it vary, each as an A/B
 * experiment whose arm 0 is what kvmqual run does today, and the advice
 * drawn from each experiment.  Pure functions of what the probe found, so
 * that a snapshot of a phone gives its cluster sets on any machine. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/hostfs.h"
#include "../runners/memory.h"
#include "ab.h"

const char *const tune_setting_names[] = { "pinning", "vcpus", "aio", "vhost", "hugepages", NULL };

/* An arm from a spec tune writes itself (never refused). */
static void arm(struct ab_experiment *x, const char *name, const char *spec, const char *fragment)
{
	x->arms = kq_xrealloc(x->arms, (x->narms + 1) * sizeof(*x->arms));
	struct ab_arm *a = &x->arms[x->narms++];
	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "%s", name);
	struct kq_err err;
	if (ab_arm_parse(a, spec, &err))
		abort(); /* tune's own specs are well-formed */
	snprintf(a->fragment, sizeof(a->fragment), "%s", fragment);
}

static struct ab_experiment *add(struct ab_experiment **xs, size_t *n, const char *setting, const char *title,
				 const char *plan, const char *primary)
{
	*xs = kq_xrealloc(*xs, (*n + 1) * sizeof(**xs));
	struct ab_experiment *x = &(*xs)[(*n)++];
	memset(x, 0, sizeof(*x));
	snprintf(x->setting, sizeof(x->setting), "%s", setting);
	snprintf(x->title, sizeof(x->title), "%s", title);
	snprintf(x->primary, sizeof(x->primary), "%s", primary);
	struct kq_err err;
	if (ab_plan_parse(&x->plan, plan, &err))
		abort(); /* tune's own plans name real steps */
	x->recommended = -1;
	return x;
}

static void skip(struct ab_experiment *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void skip(struct ab_experiment *x, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(x->reason, sizeof(x->reason), fmt, ap);
	va_end(ap);
	x->status = AB_SKIPPED;
}

static int wanted(const char *only, const char *name)
{
	if (!only)
		return 1;
	char *copy = kq_xstrdup(only), *save = NULL;
	int found = 0;
	for (char *w = strtok_r(copy, ",", &save); w && !found; w = strtok_r(NULL, ",", &save))
		found = !strcmp(kq_strtrim(w), name);
	free(copy);
	return found;
}

/* vCPU threads: each cluster against none on big.LITTLE (a `-cpu host`
 * vCPU that migrates between clusters sees another MIDR), else a host CPU
 * per vCPU against the scheduler's choice. */
static void pinning(const struct tune_host *h, struct ab_experiment *x)
{
	char spec[300], frag[400], name[48];
	if (h->cluster_count > 1) {
		arm(x, "free", "affinity=none", "no pinning: QEMU and its vCPU threads on any CPU");
		for (size_t k = 0; k < h->cluster_count && x->narms < 6; k++) {
			const struct cluster *cl = &h->clusters[k];
			snprintf(name, sizeof(name), "%s", cl->name);
			for (char *p = name; *p; p++)
				if (*p == ' ')
					*p = '-';
			snprintf(spec, sizeof(spec), "affinity=%s; pin=all:%s", cl->cpus, cl->cpus);
			snprintf(frag, sizeof(frag), "taskset -c %s qemu-system-%s ... (the %u %s CPU%s %s; every vCPU thread "
				 "there)", cl->cpus, h->guest_arch, cl->count, cl->name, cl->count == 1 ? "" : "s", cl->cpus);
			arm(x, name, spec, frag);
		}
		return;
	}
	arm(x, "free", "", "no pinning: the scheduler places the vCPU threads");
	int n = h->vcpus < h->online_cpus ? h->vcpus : h->online_cpus;
	struct kq_buf list;
	kq_buf_init(&list);
	for (int i = 0; i < n; i++)
		kq_buf_printf(&list, "%s%d", i ? "," : "", i);
	snprintf(spec, sizeof(spec), "pin=each:%s", list.data);
	snprintf(frag, sizeof(frag), "vCPU i on host CPU i (%s): each vCPU thread pinned (QMP query-cpus-fast thread "
		 "ids, sched_setaffinity; libvirt: <vcpupin>)", list.data);
	arm(x, "per-vcpu", spec, frag);
	kq_buf_free(&list);
}

/* Guest vCPU counts: 1, half the host, all of it (or of the cluster). */
static void vcpus(const struct tune_host *h, struct ab_experiment *x)
{
	int most = h->vcpus;
	int counts[3] = { most, 1, most / 2 }, n = 0;
	for (int i = 0; i < 3; i++) {
		int dup = counts[i] < 1;
		for (int j = 0; j < i; j++)
			dup |= counts[j] == counts[i];
		if (dup)
			continue;
		char spec[32], frag[64], name[16];
		snprintf(spec, sizeof(spec), "cpus=%d", counts[i]);
		snprintf(frag, sizeof(frag), "-smp %d", counts[i]);
		snprintf(name, sizeof(name), "%d-vcpu%s", counts[i], counts[i] == 1 ? "" : "s");
		arm(x, name, spec, frag);
		n++;
	}
	if (n < 2)
		skip(x, "the guest can have one vCPU only here (%d host CPU%s)", most, most == 1 ? "" : "s");
}

/* The scratch disk's AIO: QEMU's default (threads) against Linux native
 * AIO and io_uring, all with cache=none. */
static void aio(const struct tune_host *h, struct ab_experiment *x)
{
	if (!h->o_direct) {
		skip(x, "the scratch disks' file system does not take O_DIRECT, which cache=none (and aio=native) need");
		return;
	}
	arm(x, "threads", "disk=cache=none,aio=threads", "-drive ...,cache=none,aio=threads");
	arm(x, "native", "disk=cache=none,aio=native", "-drive ...,cache=none,aio=native");
	arm(x, "io_uring", "disk=cache=none,aio=io_uring", "-drive ...,cache=none,aio=io_uring");
}

static void vhost(const struct tune_host *h, struct ab_experiment *x)
{
	if (!h->can_tap || !h->can_vhost) {
		skip(x, "%s", h->vhost_why);
		return;
	}
	arm(x, "vhost-off", "net=tap", "-netdev tap,...,vhost=off");
	arm(x, "vhost-on", "net=vhost", "-netdev tap,...,vhost=on");
}

void tune_host_hugepages(struct tune_host *h, const struct hostfs *fs)
{
	h->hugepage_count = 0;
	h->hugepage_why[0] = h->hugepage_missing[0] = '\0';
	struct kq_buf why, missing;
	kq_buf_init(&why);
	kq_buf_init(&missing);
	/* kvmqual run's sizes, smallest first: arm64's contiguous 64 KB, 2 MB,
	 * arm64's 32 MB; 1 GB pages rarely fit a test guest. */
	char **names = NULL;
	size_t n = hostfs_list(fs, "sys/kernel/mm/hugepages", &names);
	int offered[3] = { 0, 0, 0 };
	static const long tried[3] = { 64, 2048, 32768 };
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < 3; k++)
			offered[k] |= memory_hugepage_dir_kb(names[i]) == tried[k];
	hostfs_free_list(names);
	long mem_kb = (long)h->mem_mb * 1024;
	for (size_t k = 0; k < 3; k++) {
		if (!offered[k])
			continue;
		long kb = tried[k];
		char size[16], one[600];
		memory_size_text(kb, size, sizeof(size));
		char *path = kq_xasprintf("sys/kernel/mm/hugepages/hugepages-%ldkB/free_hugepages", kb);
		char *line = hostfs_read_line(fs, path);
		free(path);
		char *end = NULL;
		long free_pages = line ? strtol(line, &end, 10) : -1;
		if (!line || end == line || *end || free_pages < 0) {
			free_pages = -1;
			snprintf(one, sizeof(one), "%s pages: no readable free_hugepages (a snapshot may not record it)", size);
		}
		free(line);
		if (mem_kb > 0 && mem_kb % kb == 0 && free_pages >= 0 &&
		    memory_hugepages_enough(kb, free_pages, mem_kb / kb, one, sizeof(one))) {
			if (h->hugepage_count < KQ_ARRAY_SIZE(h->hugepage_kb))
				h->hugepage_kb[h->hugepage_count++] = kb;
			continue;
		}
		if (mem_kb <= 0 || mem_kb % kb)
			snprintf(one, sizeof(one), "%s pages: the guest's %d MiB are not a whole number of them", size,
				 h->mem_mb);
		kq_buf_printf(&why, "%s%s", why.len ? "; " : "", one);
		kq_buf_printf(&missing, "%s%s", missing.len ? ", " : "", size);
	}
	if (!n)
		kq_buf_printf(&why, "this kernel offers no huge pages (no sys/kernel/mm/hugepages: CONFIG_HUGETLBFS)");
	else if (!why.len && !h->hugepage_count)
		kq_buf_printf(&why, "this kernel offers none of the sizes tune tries (2M, and 64K or 32M on arm64)");
	snprintf(h->hugepage_why, sizeof(h->hugepage_why), "%s", why.len ? why.data : "");
	snprintf(h->hugepage_missing, sizeof(h->hugepage_missing), "%s", missing.len ? missing.data : "");
	kq_buf_free(&why);
	kq_buf_free(&missing);
}

/* Guest RAM on huge pages of each size with enough free pages, against
 * QEMU's default memory (anonymous, transparent huge pages where the host
 * gives them). */
static void hugepages(const struct tune_host *h, struct ab_experiment *x)
{
	if (!h->hugepage_count) {
		skip(x, "%s", h->hugepage_why[0] ? h->hugepage_why : "no huge page sizes known (tune_host_hugepages)");
		return;
	}
	arm(x, "default", "", "guest RAM as QEMU allocates it (anonymous memory; transparent huge pages where the host "
		"gives them)");
	for (size_t i = 0; i < h->hugepage_count; i++) {
		char size[16], name[24], spec[40], frag[400];
		memory_size_text(h->hugepage_kb[i], size, sizeof(size));
		snprintf(name, sizeof(name), "huge-%s", size);
		snprintf(spec, sizeof(spec), "hugepages=%s", size);
		snprintf(frag, sizeof(frag), "-object memory-backend-memfd,id=mem,size=%dM,hugetlb=on,hugetlbsize=%s "
			 "-machine memory-backend=mem (with %ld pages of %s reserved: sys/kernel/mm/hugepages/"
			 "hugepages-%ldkB/nr_hugepages)", h->mem_mb, size, (long)h->mem_mb * 1024 / h->hugepage_kb[i], size,
			 h->hugepage_kb[i]);
		arm(x, name, spec, frag);
	}
	/* The sizes without enough pages: named in the title, why in the
	 * reason (a note until the experiment runs). */
	if (h->hugepage_missing[0]) {
		snprintf(x->title + strlen(x->title), sizeof(x->title) - strlen(x->title), " (left out: %s)",
			 h->hugepage_missing);
		snprintf(x->reason, sizeof(x->reason), "%s", h->hugepage_why);
	}
}

int tune_settings(const struct tune_host *h, const char *only, struct ab_experiment **xs, size_t *count,
		  struct kq_err *err)
{
	*xs = NULL;
	*count = 0;
	if (only) {
		char *copy = kq_xstrdup(only), *save = NULL;
		int bad = 0;
		for (char *w = strtok_r(copy, ",", &save); w && !bad; w = strtok_r(NULL, ",", &save)) {
			w = kq_strtrim(w);
			int known = 0;
			for (size_t i = 0; tune_setting_names[i]; i++)
				known |= !strcmp(w, tune_setting_names[i]);
			if (!known)
				bad = kq_error(err, "'%s' is none of: pinning, vcpus, aio, vhost, hugepages", w);
		}
		free(copy);
		if (bad)
			return -1;
	}
	struct ab_experiment *x;
	if (wanted(only, "pinning")) {
		x = add(xs, count, "pinning",
			h->cluster_count > 1 ? "vCPU threads on each CPU cluster, or free"
					     : "each vCPU thread on a host CPU of its own, or free",
			"sysbench-cpu,sysbench-cpu-1t", "sysbench-cpu.events_per_second");
		pinning(h, x);
	}
	if (wanted(only, "vcpus")) {
		x = add(xs, count, "vcpus", "the guest's vCPU count", "sysbench-cpu", "sysbench-cpu.events_per_second");
		vcpus(h, x);
	}
	if (wanted(only, "aio")) {
		x = add(xs, count, "aio", "the disk's AIO: threads, native, io_uring (cache=none)", "fio-randread,fio-seqread",
			"fio-randread.randread_iops");
		aio(h, x);
	}
	if (wanted(only, "vhost")) {
		x = add(xs, count, "vhost", "vhost-net on or off (tap networking)", "iperf3-g2h-tap,iperf3-h2g-tap",
			"iperf3-g2h-tap.gbps");
		vhost(h, x);
	}
	if (wanted(only, "hugepages")) {
		x = add(xs, count, "hugepages", "guest memory on huge pages, or not", "stream,sysbench-cpu-1t",
			"stream.triad_mbps");
		hugepages(h, x);
	}
	return 0;
}

/* The result of arm a on "workload.metric", or NULL. */
static const struct ab_result *result_of(const struct ab_experiment *x, size_t a, const char *name)
{
	for (size_t i = 0; i < x->nresults; i++) {
		const struct ab_result *r = &x->results[i];
		char full[100];
		snprintf(full, sizeof(full), "%s.%s", r->workload, r->metric);
		if (r->arm == a && !strcmp(full, name))
			return r;
	}
	return NULL;
}

/* The change as "better is positive": a time that fell is a gain. */
static double gain(const struct ab_result *r)
{
	return r->higher_is_better ? r->final.change_pct : -r->final.change_pct;
}

void tune_recommend(struct ab_experiment *x, const struct ab_rule *rule)
{
	x->recommended = -1;
	x->confidence[0] = x->because[0] = '\0';
	if (x->status == AB_SKIPPED || x->status == AB_INTERRUPTED || x->status == AB_STORE_FAILED)
		return;
	if (x->arms[0].failed) {
		snprintf(x->confidence, sizeof(x->confidence), "none");
		snprintf(x->because, sizeof(x->because), "the reference (%s) failed: %.400s", x->arms[0].name,
			 x->arms[0].why);
		return;
	}
	/* The best arm that is better on the setting's metric, found again
	 * when re-runs are on, and worse on nothing. */
	const struct ab_result *best = NULL;
	size_t best_arm = 0;
	struct kq_buf worse, unclear;
	kq_buf_init(&worse);
	kq_buf_init(&unclear);
	for (size_t a = 1; a < x->narms; a++) {
		if (x->arms[a].failed) {
			kq_buf_printf(&worse, "%s%s failed", worse.len ? "; " : "", x->arms[a].name);
			continue;
		}
		const struct ab_result *r = result_of(x, a, x->primary);
		if (!r)
			continue;
		int any_worse = 0;
		for (size_t i = 0; i < x->nresults; i++)
			any_worse |= x->results[i].arm == a && x->results[i].final.decision == AB_WORSE;
		if (r->final.decision == AB_WORSE || any_worse)
			kq_buf_printf(&worse, "%s%s %+.1f %%", worse.len ? "; " : "", x->arms[a].name, r->final.change_pct);
		else if (r->final.decision != AB_BETTER &&
			 !(r->final.ci_lo >= -rule->threshold_pct && r->final.ci_hi <= rule->threshold_pct))
			kq_buf_printf(&unclear, "%s%s %+.1f %% [%+.1f, %+.1f]", unclear.len ? "; " : "", x->arms[a].name,
				      r->final.change_pct, r->final.ci_lo, r->final.ci_hi);
		if (r->final.decision == AB_BETTER && !any_worse && (!best || gain(r) > gain(best))) {
			best = r;
			best_arm = a;
		}
	}
	if (best) {
		x->recommended = (int)best_arm;
		snprintf(x->confidence, sizeof(x->confidence), "%s", best->passes > 1 ? "confirmed" : "significant");
		snprintf(x->because, sizeof(x->because), "%s %+.1f %% [%+.1f, %+.1f] against %s, p = %.2g%s%s", x->primary,
			 best->final.change_pct, best->final.ci_lo, best->final.ci_hi, x->arms[0].name, best->final.p,
			 best->passes > 1 ? ", found again in a re-run" : "", worse.len ? "; worse: " : "");
		if (worse.len)
			snprintf(x->because + strlen(x->because), sizeof(x->because) - strlen(x->because), "%s", worse.data);
	} else {
		x->recommended = 0;
		if (unclear.len) {
			snprintf(x->confidence, sizeof(x->confidence), "unclear");
			snprintf(x->because, sizeof(x->because), "keep %s: the others' intervals are too wide to tell (%s)%s%s",
				 x->arms[0].name, unclear.data, worse.len ? "; worse: " : "", worse.len ? worse.data : "");
		} else if (worse.len) {
			snprintf(x->confidence, sizeof(x->confidence), "others worse");
			snprintf(x->because, sizeof(x->because), "keep %s: %s", x->arms[0].name, worse.data);
		} else {
			snprintf(x->confidence, sizeof(x->confidence), "no difference");
			snprintf(x->because, sizeof(x->because), "keep %s: every other choice within +-%g %% of it on %s",
				 x->arms[0].name, rule->threshold_pct, x->primary);
		}
	}
	kq_buf_free(&worse);
	kq_buf_free(&unclear);
}
