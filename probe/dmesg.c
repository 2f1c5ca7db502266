/* Kernel log parsing: the lines the arm64 kernel prints about the exception
 * level it booted at and the mode KVM initialised in. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/util.h"
#include "parse.h"

/* Calls fn for each line of the log; stops when fn returns non-zero. */
static int for_each_line(const char *log, size_t len,
			 int (*fn)(const char *line, size_t n, void *arg), void *arg)
{
	size_t off = 0;
	while (log && off < len) {
		const char *start = log + off;
		const char *nl = memchr(start, '\n', len - off);
		size_t n = nl ? (size_t)(nl - start) : len - off;
		int rc = fn(start, n, arg);
		if (rc)
			return rc;
		off += n + 1;
	}
	return 0;
}

/* Drops "<6>", "[    0.123456] " or the /dev/kmsg "6,12,345,-;" prefix. */
static void strip_prefix(const char **line, size_t *n)
{
	const char *p = *line, *end = *line + *n;
	if (p < end && *p == '<') {
		const char *q = memchr(p, '>', (size_t)(end - p));
		if (q && q - p <= 4)
			p = q + 1;
	}
	if (p < end && *p == '[') {
		const char *q = memchr(p, ']', (size_t)(end - p));
		if (q && q - p <= 20)
			p = q + 1;
	} else if (p < end && isdigit((unsigned char)*p)) {
		const char *q = memchr(p, ';', (size_t)(end - p));
		if (q && q - p <= 40)
			p = q + 1;
	}
	while (p < end && *p == ' ')
		p++;
	*n = (size_t)(end - p);
	*line = p;
}

static void copy_line(char *dst, size_t dst_size, const char *line, size_t n)
{
	if (!dst || !dst_size)
		return;
	strip_prefix(&line, &n);
	if (n >= dst_size)
		n = dst_size - 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)line[i];
		dst[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	dst[n] = '\0';
	char *t = kq_strtrim(dst);
	memmove(dst, t, strlen(t) + 1);
}

struct find_arg {
	const char *needle;
	char *line;
	size_t line_size;
};

static int find_cb(const char *line, size_t n, void *arg)
{
	struct find_arg *a = arg;
	if (!kq_memstr(line, n, a->needle))
		return 0;
	copy_line(a->line, a->line_size, line, n);
	return 1;
}

int dmesg_find(const char *log, size_t len, const char *needle, char *line, size_t line_size)
{
	struct find_arg a = { needle, line, line_size };
	return for_each_line(log, len, find_cb, &a);
}

enum boot_el dmesg_boot_el(const char *log, size_t len, char *line, size_t line_size)
{
	if (dmesg_find(log, len, "CPUs started in inconsistent modes", line, line_size))
		return BOOT_EL_MIXED;
	if (dmesg_find(log, len, "CPU(s) started at EL2", line, line_size))
		return BOOT_EL2;
	if (dmesg_find(log, len, "CPU(s) started at EL1", line, line_size))
		return BOOT_EL1;
	if (line && line_size)
		line[0] = '\0';
	return BOOT_EL_UNKNOWN;
}

const char *kvm_arm_mode_name(enum kvm_arm_mode mode)
{
	switch (mode) {
	case KVM_ARM_VHE: return "vhe";
	case KVM_ARM_NVHE: return "nvhe";
	case KVM_ARM_HVHE: return "hvhe";
	case KVM_ARM_PROTECTED_NVHE: return "protected-nvhe";
	case KVM_ARM_PROTECTED_HVHE: return "protected-hvhe";
	case KVM_ARM_DISABLED: return "disabled";
	case KVM_ARM_UNAVAILABLE: return "unavailable";
	case KVM_ARM_UNKNOWN: break;
	}
	return "unknown";
}

/* Parses the words before " mode initialized successfully" in lines such as
 * "kvm [1]: VHE mode ...", "Hyp mode ..." (old nVHE), "Hyp nVHE mode ...",
 * "Protected hVHE mode ...", "VHE+NV2 mode ...". */
static enum kvm_arm_mode parse_init_line(const char *line, int *nv2)
{
	const char *colon = strstr(line, "]: ");
	const char *words = colon ? colon + 3 : line;
	const char *end = strstr(words, " mode initialized successfully");
	if (!end)
		return KVM_ARM_UNKNOWN;
	char buf[64];
	size_t n = (size_t)(end - words);
	if (n >= sizeof(buf))
		return KVM_ARM_UNKNOWN;
	memcpy(buf, words, n);
	buf[n] = '\0';
	*nv2 = strstr(buf, "+NV2") != NULL;
	int protected = strstr(buf, "Protected") != NULL;
	if (strstr(buf, "hVHE"))
		return protected ? KVM_ARM_PROTECTED_HVHE : KVM_ARM_HVHE;
	if (strstr(buf, "nVHE"))
		return protected ? KVM_ARM_PROTECTED_NVHE : KVM_ARM_NVHE;
	if (protected)
		return KVM_ARM_PROTECTED_NVHE;
	if (strstr(buf, "VHE"))
		return KVM_ARM_VHE;
	if (strstr(buf, "Hyp"))
		return KVM_ARM_NVHE;
	return KVM_ARM_UNKNOWN;
}

struct kvm_scan {
	struct kvm_arm_log *out;
};

static int kvm_cb(const char *line, size_t n, void *arg)
{
	struct kvm_arm_log *out = ((struct kvm_scan *)arg)->out;
	char buf[256];
	if (kq_memstr(line, n, "Virtualization Host Extensions") &&
	    kq_memstr(line, n, "CPU features"))
		out->vhe_feature = 1;
	if (!kq_memstr(line, n, "kvm ["))
		return 0;
	copy_line(buf, sizeof(buf), line, n);
	const char *ipa = strstr(buf, "IPA Size Limit: ");
	if (ipa) {
		unsigned bits = (unsigned)strtoul(ipa + 16, NULL, 10);
		if (bits <= 64)
			out->ipa_bits = bits;
	}
	/* The first decisive line wins: init messages are printed once. */
	if (out->mode != KVM_ARM_UNKNOWN)
		return 0;
	int nv2 = 0;
	enum kvm_arm_mode m = parse_init_line(buf, &nv2);
	if (m == KVM_ARM_UNKNOWN) {
		if (strstr(buf, "HYP mode not available") || strstr(buf, "Hyp mode not available") ||
		    strstr(buf, "error initializing Hyp mode") ||
		    strstr(buf, "error initializing KVM") ||
		    strstr(buf, "error initializing KVM"))
			m = KVM_ARM_UNAVAILABLE;
		else if (strstr(buf, "KVM disabled from command line"))
			m = KVM_ARM_DISABLED;
	}
	if (m != KVM_ARM_UNKNOWN) {
		out->mode = m;
		out->nv2 = nv2;
		snprintf(out->line, sizeof(out->line), "%s", buf);
	}
	return 0;
}

void dmesg_kvm_arm(const char *log, size_t len, struct kvm_arm_log *out)
{
	memset(out, 0, sizeof(*out));
	struct kvm_scan s = { out };
	for_each_line(log, len, kvm_cb, &s);
}

/* The GIC as the kernel's drivers name it.  The GICv3 driver's lines
 * carry "GICv3: " (its pr_fmt) or speak of redistributors and ITSes; the
 * GICv2 driver's do not, and it alone prints "GIC: Adjusting CPU interface
 * base".  "GIC: Using split EOI/Deactivate mode" comes from both (old GICv3
 * kernels print it without the prefix), so it means v2 only when no v3
 * line is there; so does KVM's "vgic-v2@" line. */
struct gic_scan {
	char v3[256], v2[256];
};

static int gic_cb(const char *line, size_t n, void *arg)
{
	struct gic_scan *g = arg;
	if (!g->v3[0] && (kq_memstr(line, n, "GICv3: ") || kq_memstr(line, n, "GICv4") ||
			  kq_memstr(line, n, "found redistributor") || kq_memstr(line, n, "ITS [mem")))
		copy_line(g->v3, sizeof(g->v3), line, n);
	if (!g->v2[0] && (kq_memstr(line, n, "GIC: Using split EOI/Deactivate mode") ||
			  kq_memstr(line, n, "GIC: Adjusting CPU interface base") ||
			  kq_memstr(line, n, "vgic-v2@")))
		copy_line(g->v2, sizeof(g->v2), line, n);
	return 0;
}

enum gic_version dmesg_gic_version(const char *log, size_t len, char *line, size_t line_size)
{
	struct gic_scan g;
	memset(&g, 0, sizeof(g));
	for_each_line(log, len, gic_cb, &g);
	enum gic_version v = g.v3[0] ? GIC_V3 : g.v2[0] ? GIC_V2 : GIC_UNKNOWN;
	if (line && line_size)
		snprintf(line, line_size, "%s", g.v3[0] ? g.v3 : g.v2);
	return v;
}

int proc_interrupts_find(const char *text, size_t len, const char *name, char *line, size_t line_size)
{
	/* The action names end each line ("  9:  ...  GICv2  25 Level  vgic");
	 * a whole-word match keeps "vgic" from matching "vgic-foo". */
	size_t off = 0, nlen = strlen(name);
	while (text && off < len && nlen) {
		const char *l = text + off;
		const char *nl = memchr(l, '\n', len - off);
		size_t n = nl ? (size_t)(nl - l) : len - off;
		off += n + 1;
		for (size_t i = 0; i + nlen <= n; i++) {
			if (memcmp(l + i, name, nlen))
				continue;
			int before = i == 0 || l[i - 1] == ' ' || l[i - 1] == '\t' || l[i - 1] == ',';
			int after = i + nlen == n || l[i + nlen] == ' ' || l[i + nlen] == '\t' ||
				    l[i + nlen] == ',' || l[i + nlen] == '\r';
			if (before && after) {
				copy_line(line, line_size, l, n);
				return 1;
			}
		}
	}
	return 0;
}
