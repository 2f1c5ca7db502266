#define _GNU_SOURCE
#include "memory.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct mapping {
	unsigned long long size_kb, rss_kb, hugetlb_kb, thp_kb;
	long page_kb;
};

static int is_header(const char *line)
{
	/* "7f12a000-7f32a000 rw-s 00000000 00:01 1234   /memfd:kqmem (deleted)" */
	const char *p = line;
	while (isxdigit((unsigned char)*p))
		p++;
	return p > line && *p == '-' && isxdigit((unsigned char)p[1]);
}

/* More than any machine has (1 EiB): not what the kernel writes. */
#define SMAPS_MAX_KB (1ULL << 40)

/* "Key:   123 kB": 1 with the key and the number (ULLONG_MAX when it does
 * not fit), 0 for any other line.  sscanf's %llu took "-5" and wrapped a
 * number too long, which summed into a resident size below the guest's
 * (fuzz_measure). */
static int smaps_value(const char *line, char *key, size_t key_size, unsigned long long *v)
{
	const char *colon = strchr(line, ':');
	if (!colon || colon == line || (size_t)(colon - line) >= key_size)
		return 0;
	const char *p = colon + 1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!isdigit((unsigned char)*p))
		return 0;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(p, &end, 10);
	if (strcmp(end, " kB"))
		return 0;
	memcpy(key, line, (size_t)(colon - line));
	key[colon - line] = '\0';
	*v = errno ? ~0ULL : n;
	return 1;
}

int vmm_memory_parse(const char *smaps, size_t len, long guest_mb, struct vmm_memory *m, char *why,
		     size_t why_size)
{
	memset(m, 0, sizeof(*m));
	unsigned long long total_kb = 0;
	struct mapping cur = { 0 }, best = { 0 };
	int have = 0, found = 0, headers = 0;
	unsigned long long want_kb = (unsigned long long)guest_mb * 1024;
	size_t pos = 0;
	for (;;) {
		char line[512] = "";
		int end = !kq_next_line(smaps, len, &pos, line, sizeof(line), NULL);
		if (end || is_header(line)) {
			if (have) {
				unsigned long long resident = cur.rss_kb + cur.hugetlb_kb;
				total_kb += resident;
				if (cur.size_kb == want_kb &&
				    (!found || resident > best.rss_kb + best.hugetlb_kb)) {
					best = cur;
					found = 1;
				}
			}
			if (end)
				break;
			memset(&cur, 0, sizeof(cur));
			have = 1;
			headers++;
			continue;
		}
		char key[64];
		unsigned long long v;
		if (!smaps_value(line, key, sizeof(key), &v))
			continue;
		if (v > SMAPS_MAX_KB) {
			snprintf(why, why_size, "a %s of %llu kB: more than any machine has (not smaps as the kernel writes it)",
				 key, v);
			return -1;
		}
		if (!strcmp(key, "Size"))
			cur.size_kb = v;
		else if (!strcmp(key, "Rss"))
			cur.rss_kb = v;
		else if (!strcmp(key, "Shared_Hugetlb") || !strcmp(key, "Private_Hugetlb"))
			cur.hugetlb_kb += v;
		else if (!strcmp(key, "AnonHugePages"))
			cur.thp_kb = v;
		else if (!strcmp(key, "KernelPageSize"))
			cur.page_kb = (long)v;
	}
	if (!headers) {
		snprintf(why, why_size, "not /proc/PID/smaps text (no mapping header)");
		return -1;
	}
	m->rss_mib = (double)total_kb / 1024;
	if (!found) {
		snprintf(why, why_size, "no mapping of %ld MiB (the guest's RAM) among QEMU's %d", guest_mb, headers);
		return -1;
	}
	m->guest_found = 1;
	m->guest_mib = (double)(best.rss_kb + best.hugetlb_kb) / 1024;
	m->overhead_mib = m->rss_mib - m->guest_mib;
	m->guest_page_kb = best.page_kb;
	m->guest_thp_mib = (double)best.thp_kb / 1024;
	return 0;
}

int vmm_memory_read(pid_t pid, long guest_mb, struct vmm_memory *m, struct kq_err *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/smaps", (long)pid);
	char *text;
	size_t len;
	struct kq_err rerr;
	if (kq_read_file(path, 64u << 20, &text, &len, &rerr))
		return kq_error(err, "QEMU's memory: %s", rerr.msg);
	char why[200];
	int rc = vmm_memory_parse(text, len, guest_mb, m, why, sizeof(why));
	free(text);
	if (rc)
		return kq_error(err, "QEMU's memory (%s): %s", path, why);
	return 0;
}

double memory_rss_mib(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char line[256];
	double kb = -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %lf kB", &kb) == 1)
			break;
	fclose(f);
	return kb < 0 ? -1 : kb / 1024;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return x < y ? -1 : x > y;
}

long memory_hugepage_dir_kb(const char *name)
{
	long v;
	char rest[8];
	if (sscanf(name, "hugepages-%ldk%7s", &v, rest) == 2 && !strcmp(rest, "B") && v > 0)
		return v;
	return -1;
}

size_t memory_hugepage_sizes(const char *root, long *kb, size_t max)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/sys/kernel/mm/hugepages", strcmp(root, "/") ? root : "");
	DIR *d = opendir(path);
	size_t n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)) && n < max) {
		long v = memory_hugepage_dir_kb(de->d_name);
		if (v > 0)
			kb[n++] = v;
	}
	if (d)
		closedir(d);
	qsort(kb, n, sizeof(*kb), cmp_long);
	return n;
}

void memory_size_text(long kb, char *buf, size_t size)
{
	if (kb >= 1048576 && kb % 1048576 == 0)
		snprintf(buf, size, "%ldG", kb / 1048576);
	else if (kb >= 1024 && kb % 1024 == 0)
		snprintf(buf, size, "%ldM", kb / 1024);
	else
		snprintf(buf, size, "%ldK", kb);
}

long memory_parse_size_kb(const char *text)
{
	char *end;
	if (!(*text >= '0' && *text <= '9'))
		return -1; /* strtol would take " 2M" and "+2M" */
	long v = strtol(text, &end, 10);
	if (end == text || v <= 0 || v > (1L << 30))
		return -1;
	long mult = !strcmp(end, "K") || !strcmp(end, "k") ? 1 : !strcmp(end, "M") || !strcmp(end, "m") ? 1024
		  : !strcmp(end, "G") || !strcmp(end, "g") ? 1048576 : -1;
	if (mult < 0 || v > (1L << 40) / mult)
		return -1;
	return v * mult;
}

int memory_hugepages_free(const char *root, long kb, long need_pages, char *why, size_t why_size)
{
	const char *r = strcmp(root, "/") ? root : "";
	char path[512], size[16];
	memory_size_text(kb, size, sizeof(size));
	snprintf(path, sizeof(path), "%s/sys/kernel/mm/hugepages/hugepages-%ldkB/free_hugepages", r, kb);
	FILE *f = fopen(path, "r");
	if (!f) {
		long sizes[8];
		size_t n = memory_hugepage_sizes(root, sizes, 8);
		char list[96] = "";
		for (size_t i = 0; i < n; i++) {
			char s[16];
			memory_size_text(sizes[i], s, sizeof(s));
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "", s);
		}
		snprintf(why, why_size, "this kernel offers no %s huge pages (it has: %s)", size, n ? list : "none");
		return 0;
	}
	long free_pages = -1;
	if (fscanf(f, "%ld", &free_pages) != 1)
		free_pages = -1;
	fclose(f);
	return memory_hugepages_enough(kb, free_pages, need_pages, why, why_size);
}

int memory_hugepages_enough(long kb, long free_pages, long need_pages, char *why, size_t why_size)
{
	if (free_pages >= need_pages)
		return 1;
	char size[16];
	memory_size_text(kb, size, sizeof(size));
	snprintf(why, why_size,
		 "%ld huge pages of %s are free, the guest needs %ld: reserve them as root with "
		 "'echo %ld > /sys/kernel/mm/hugepages/hugepages-%ldkB/nr_hugepages' (or hugepagesz=%s hugepages=%ld "
		 "on the kernel command line)",
		 free_pages < 0 ? 0 : free_pages, size, need_pages, need_pages, kb, size, need_pages);
	return 0;
}

/* query-balloon's "actual": the guest's memory in bytes now. */
static int balloon_actual(struct guest *g, double *bytes, struct kq_err *err)
{
	cJSON *ret;
	if (qmp_execute(&g->qmp, "query-balloon", NULL, 5000, &ret, err))
		return -1;
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(ret, "actual");
	int ok = cJSON_IsNumber(a);
	if (ok)
		*bytes = a->valuedouble;
	cJSON_Delete(ret);
	return ok ? 0 : kq_error(err, "QMP query-balloon: no 'actual' in QEMU's reply");
}

/* Asks for value bytes and waits until the guest is within 1 MiB of it,
 * or until the guest stops giving (3 s without a change after some
 * progress: its free memory is all in the balloon; *partial is set). */
static int balloon_to(struct guest *g, double value, int timeout_ms, double *ms, int *partial, struct kq_err *err)
{
	*partial = 0;
	cJSON *args = cJSON_CreateObject();
	cJSON_AddNumberToObject(args, "value", value);
	uint64_t start = kq_now_ns();
	int rc = qmp_execute(&g->qmp, "balloon", args, 5000, NULL, err);
	cJSON_Delete(args);
	if (rc)
		return -1;
	uint64_t deadline = start + (uint64_t)timeout_ms * 1000000ull;
	double actual = 0, first = -1, last = -1;
	uint64_t changed = start;
	for (;;) {
		if (balloon_actual(g, &actual, err))
			return -1;
		uint64_t now = kq_now_ns();
		if (fabs(actual - value) <= 1048576)
			break;
		if (first < 0)
			first = actual;
		if (actual != last) {
			last = actual;
			changed = now;
		}
		if (actual != first && now - changed > 3000000000ull) {
			*partial = 1;
			*ms = (double)(changed - start) / 1e6;
			return 0;
		}
		if (now >= deadline)
			return kq_error(err, "the balloon did not reach %.0f MiB within %d ms (the guest has %.0f MiB)",
					value / 1048576, timeout_ms, actual / 1048576);
		usleep(5000);
	}
	*ms = (double)(kq_now_ns() - start) / 1e6;
	return 0;
}

int balloon_measure(struct guest *g, long target_mb, int timeout_ms, struct balloon_result *r,
		    struct kq_err *err)
{
	memset(r, 0, sizeof(*r));
	if (g->qmp.fd < 0)
		return kq_error(err, "the balloon needs the guest booted with a QMP monitor");
	if (target_mb <= 0 || target_mb >= g->mem_mb)
		return kq_error(err, "balloon target %ld MiB is not below the guest's %d MiB", target_mb, g->mem_mb);
	r->target_mib = (double)target_mb;
	r->rss_before_mib = memory_rss_mib(g->pid);
	if (balloon_to(g, (double)target_mb * 1048576, timeout_ms, &r->inflate_ms, &r->partial, err))
		return -1;
	double actual;
	if (r->partial && balloon_actual(g, &actual, err) == 0)
		r->target_mib = actual / 1048576;
	r->rss_after_mib = memory_rss_mib(g->pid);
	r->freed_mib = r->rss_before_mib - r->rss_after_mib;
	r->rss_fell = r->freed_mib >= (double)(g->mem_mb - target_mb) / 4;
	int full;
	return balloon_to(g, (double)g->mem_mb * 1048576, timeout_ms, &r->deflate_ms, &full, err);
}

/* Pages of a file in the page cache, and its pages (mincore). */
static void residency(const char *path, size_t *cached, size_t *pages)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) || st.st_size == 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	long page = sysconf(_SC_PAGESIZE);
	size_t n = ((size_t)st.st_size + (size_t)page - 1) / (size_t)page;
	void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return;
	unsigned char *vec = kq_xmalloc(n);
	if (mincore(map, (size_t)st.st_size, vec) == 0) {
		for (size_t i = 0; i < n; i++)
			*cached += vec[i] & 1;
		*pages += n;
	}
	free(vec);
	munmap(map, (size_t)st.st_size);
}

int memory_drop_caches(const char *image_dir, char *how, size_t how_size, double *cached_pct)
{
	DIR *d = opendir(image_dir);
	if (!d) {
		snprintf(how, how_size, "cannot open %s: %s", image_dir, strerror(errno));
		return -1;
	}
	int root = geteuid() == 0;
	if (root) {
		sync();
		int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
		root = fd >= 0 && write(fd, "1\n", 2) == 2;
		if (fd >= 0)
			close(fd);
	}
	size_t cached = 0, pages = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *path = kq_xasprintf("%s/%s", image_dir, de->d_name);
		if (!root) {
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
				close(fd);
			}
		}
		residency(path, &cached, &pages);
		free(path);
	}
	closedir(d);
	snprintf(how, how_size, "%s", root ? "drop_caches" : "image files only: not root, QEMU's own files may be cached");
	*cached_pct = pages ? 100.0 * (double)cached / (double)pages : 0;
	return 0;
}
