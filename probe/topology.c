/* CPU clusters (by MIDR and capacity) and the kernel's view of IOMMUs: both
 * read from sysfs the same way on every architecture. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

struct cpu_id {
	int cpu;
	unsigned implementer, part;
	unsigned capacity;
	unsigned long max_freq_khz;
};

static void read_sysfs_cpu(struct probe *p, int cpu, struct cpu_id *id)
{
	char path[128];
	snprintf(path, sizeof(path), "sys/devices/system/cpu/cpu%d/regs/identification/midr_el1", cpu);
	char *midr = hostfs_read_line(p->fs, path);
	uint64_t v;
	if (midr && !kq_parse_u64(midr, &v)) {
		id->implementer = (unsigned)(v >> 24) & 0xff;
		id->part = (unsigned)(v >> 4) & 0xfff;
	}
	free(midr);
	snprintf(path, sizeof(path), "sys/devices/system/cpu/cpu%d/cpu_capacity", cpu);
	char *cap = hostfs_read_line(p->fs, path);
	if (cap && !kq_parse_u64(cap, &v) && v < 1u << 20)
		id->capacity = (unsigned)v;
	free(cap);
	snprintf(path, sizeof(path), "sys/devices/system/cpu/cpu%d/cpufreq/cpuinfo_max_freq", cpu);
	char *freq = hostfs_read_line(p->fs, path);
	if (freq && !kq_parse_u64(freq, &v) && v < 1ull << 32)
		id->max_freq_khz = (unsigned long)v;
	free(freq);
}

/* Appends cpu to a list like "0-3,6" kept in ascending order. */
static void cpulist_add(char *list, size_t size, int *last, int *run_start, int cpu)
{
	size_t n = strlen(list);
	if (*last >= 0 && cpu == *last + 1) {
		/* Extend the current run: rewrite its tail. */
		char *tail = strrchr(list, ',');
		tail = tail ? tail + 1 : list;
		snprintf(tail, size - (size_t)(tail - list), "%d-%d", *run_start, cpu);
	} else {
		snprintf(list + n, size - n, "%s%d", n ? "," : "", cpu);
		*run_start = cpu;
	}
	*last = cpu;
}

static int cluster_cmp(const void *a, const void *b)
{
	const struct cluster *x = a, *y = b;
	if (x->capacity != y->capacity)
		return x->capacity > y->capacity ? -1 : 1;
	if (x->max_freq_khz != y->max_freq_khz)
		return x->max_freq_khz > y->max_freq_khz ? -1 : 1;
	return 0;
}

void probe_topology_from_midr(struct probe *p)
{
	struct host_identity *h = &p->host;
	size_t ncpu = p->cpuinfo.count;
	if (!ncpu)
		return;
	struct cpu_id *ids = kq_xcalloc(ncpu, sizeof(*ids));
	int last[PROBE_MAX_CLUSTERS], start[PROBE_MAX_CLUSTERS];
	for (size_t i = 0; i < ncpu; i++) {
		const struct cpuinfo_cpu *c = &p->cpuinfo.cpus[i];
		ids[i].cpu = c->processor;
		ids[i].implementer = c->implementer;
		ids[i].part = c->part;
		read_sysfs_cpu(p, c->processor, &ids[i]);
	}
	h->cluster_count = 0;
	for (size_t i = 0; i < ncpu; i++) {
		size_t k;
		for (k = 0; k < h->cluster_count; k++)
			if (h->clusters[k].implementer == ids[i].implementer &&
			    h->clusters[k].part == ids[i].part && h->clusters[k].capacity == ids[i].capacity)
				break;
		if (k == h->cluster_count) {
			if (k == PROBE_MAX_CLUSTERS)
				continue;
			struct cluster *cl = &h->clusters[h->cluster_count++];
			memset(cl, 0, sizeof(*cl));
			cl->implementer = ids[i].implementer;
			cl->part = ids[i].part;
			cl->capacity = ids[i].capacity;
			const char *name = midr_core_name(ids[i].implementer, ids[i].part);
			if (name)
				snprintf(cl->name, sizeof(cl->name), "%s", name);
			else if (ids[i].implementer == ~0u)
				snprintf(cl->name, sizeof(cl->name), "unknown core");
			else
				snprintf(cl->name, sizeof(cl->name), "core 0x%02x:0x%03x", ids[i].implementer & 0xff,
					 ids[i].part & 0xfff);
			last[k] = -1;
			start[k] = -1;
		}
		struct cluster *cl = &h->clusters[k];
		cl->count++;
		if (ids[i].max_freq_khz > cl->max_freq_khz)
			cl->max_freq_khz = ids[i].max_freq_khz;
		cpulist_add(cl->cpus, sizeof(cl->cpus), &last[k], &start[k], ids[i].cpu);
	}
	qsort(h->clusters, h->cluster_count, sizeof(h->clusters[0]), cluster_cmp);
	/* A guest with several vCPUs is best served by the cluster with the most
	 * compute in total (5x A720 beats 1x X4), not by the single fastest core. */
	h->pin_cluster = 0;
	unsigned long long best = 0;
	for (size_t k = 0; k < h->cluster_count; k++) {
		const struct cluster *cl = &h->clusters[k];
		unsigned long long per_core = cl->capacity ? cl->capacity : cl->max_freq_khz ? cl->max_freq_khz : 1;
		if ((unsigned long long)cl->count * per_core > best) {
			best = (unsigned long long)cl->count * per_core;
			h->pin_cluster = k;
		}
	}
	free(ids);
}

void probe_iommu_sysfs(struct probe *p, char *names, size_t size, size_t *groups)
{
	names[0] = '\0';
	char **list = NULL;
	size_t n = hostfs_list(p->fs, "sys/class/iommu", &list);
	size_t used = 0;
	for (size_t i = 0; i < n && used + 1 < size; i++) {
		int w = snprintf(names + used, size - used, "%s%s", i ? ", " : "", list[i]);
		if (w < 0 || (size_t)w >= size - used)
			break;
		used += (size_t)w;
	}
	hostfs_free_list(list);
	list = NULL;
	*groups = hostfs_list(p->fs, "sys/kernel/iommu_groups", &list);
	hostfs_free_list(list);
}
