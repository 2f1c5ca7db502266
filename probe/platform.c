/* Parsers of platform facts the anchors check (libvirt's cgroup controllers,
 * Firecracker's CPU vulnerabilities, Android's hypervisor properties).
 * Pure functions over text from outside: bounded, never trusting a line. */
#include <stdio.h>
#include <string.h>

#include "../lib/util.h"
#include "parse.h"

/* Copies at most n bytes of s into dst as printable ASCII, trimmed. */
static void copy_clean(char *dst, size_t size, const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	if (n >= size)
		n = size - 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
	}
	dst[n] = '\0';
}

enum vuln_state vuln_state_of(const char *text)
{
	/* The kernel's wording (Documentation/ABI/testing/sysfs-devices-
	 * system-cpu): "Not affected", "Vulnerable[: ...]", "Mitigation: ...";
	 * "Unknown: ..." where it cannot tell. */
	if (!strncmp(text, "Not affected", 12))
		return VULN_NOT_AFFECTED;
	if (!strncmp(text, "Vulnerable", 10))
		return VULN_VULNERABLE;
	if (!strncmp(text, "Mitigation", 10))
		return VULN_MITIGATED;
	return VULN_UNKNOWN;
}

const char *vuln_state_name(enum vuln_state state)
{
	switch (state) {
	case VULN_NOT_AFFECTED: return "not affected";
	case VULN_MITIGATED: return "mitigated";
	case VULN_VULNERABLE: return "vulnerable";
	default: return "unknown";
	}
}

int vuln_parse(const char *text, size_t len, struct vuln_report *out)
{
	memset(out, 0, sizeof(*out));
	size_t off = 0;
	while (text && off < len && out->count < VULN_MAX) {
		const char *line = text + off;
		const char *nl = memchr(line, '\n', len - off);
		size_t n = nl ? (size_t)(nl - line) : len - off;
		off += n + 1;
		const char *colon = memchr(line, ':', n);
		if (!colon || colon == line)
			continue;
		/* The name is what follows the last '/' before the colon. */
		const char *name = line;
		for (const char *q = line; q < colon; q++)
			if (*q == '/')
				name = q + 1;
		if (name == colon)
			continue;
		struct vuln_entry *e = &out->e[out->count];
		copy_clean(e->name, sizeof(e->name), name, (size_t)(colon - name));
		copy_clean(e->text, sizeof(e->text), colon + 1, n - (size_t)(colon + 1 - line));
		if (!e->name[0] || strchr(e->name, ' '))
			continue;
		e->state = vuln_state_of(e->text);
		switch (e->state) {
		case VULN_NOT_AFFECTED: out->not_affected++; break;
		case VULN_MITIGATED: out->mitigated++; break;
		case VULN_VULNERABLE: out->vulnerable++; break;
		case VULN_UNKNOWN: out->unknown++; break;
		}
		out->count++;
	}
	return 0;
}

void vuln_summary(const struct vuln_report *r, char *buf, size_t size)
{
	struct kq_buf b;
	kq_buf_init(&b);
	if (r->vulnerable) {
		kq_buf_printf(&b, "vulnerable: ");
		size_t shown = 0;
		for (size_t i = 0; i < r->count; i++)
			if (r->e[i].state == VULN_VULNERABLE)
				kq_buf_printf(&b, "%s%s", shown++ ? ", " : "", r->e[i].name);
		kq_buf_printf(&b, "; ");
	} else {
		kq_buf_printf(&b, "%zu known: ", r->count);
	}
	kq_buf_printf(&b, "%zu mitigated, %zu not affected", r->mitigated, r->not_affected);
	if (r->unknown)
		kq_buf_printf(&b, ", %zu unknown", r->unknown);
	snprintf(buf, size, "%s", b.data ? b.data : "");
	kq_buf_free(&b);
}

int cgroup_missing_controllers(const char *controllers, char *missing, size_t missing_size)
{
	static const char *const wanted[] = { "cpu", "cpuset", "memory", "io", "pids" };
	size_t used = 0;
	int count = 0;
	if (missing_size)
		missing[0] = '\0';
	for (size_t i = 0; i < KQ_ARRAY_SIZE(wanted); i++) {
		if (controllers && flag_list_has(controllers, wanted[i]))
			continue;
		count++;
		if (used < missing_size) {
			int w = snprintf(missing + used, missing_size - used, "%s%s", used ? " " : "", wanted[i]);
			if (w > 0)
				used += (size_t)w;
		}
	}
	return count;
}

/* "[key]: [value]": the key and the value between their brackets. */
static int prop_line(const char *line, size_t n, char *key, size_t ksize, char *value, size_t vsize)
{
	if (n < 6 || line[0] != '[')
		return 0;
	const char *kend = memchr(line, ']', n);
	if (!kend || (size_t)(kend - line) + 3 >= n || kend[1] != ':')
		return 0;
	const char *v = memchr(kend + 1, '[', n - (size_t)(kend + 1 - line));
	if (!v)
		return 0;
	const char *vend = memchr(v, ']', n - (size_t)(v - line));
	if (!vend)
		return 0;
	copy_clean(key, ksize, line + 1, (size_t)(kend - line - 1));
	copy_clean(value, vsize, v + 1, (size_t)(vend - v - 1));
	return 1;
}

static int prop_bool(const char *v)
{
	if (!strcmp(v, "1") || !strcmp(v, "true"))
		return 1;
	if (!strcmp(v, "0") || !strcmp(v, "false"))
		return 0;
	return -1;
}

int android_props_parse(const char *text, size_t len, struct android_hyp *out)
{
	memset(out, 0, sizeof(*out));
	out->vm_supported = out->protected_vm_supported = -1;
	size_t off = 0;
	while (text && off < len) {
		const char *line = text + off;
		const char *nl = memchr(line, '\n', len - off);
		size_t n = nl ? (size_t)(nl - line) : len - off;
		off += n + 1;
		char key[96], value[96];
		if (!prop_line(line, n, key, sizeof(key), value, sizeof(value)) ||
		    strncmp(key, "ro.boot.hypervisor.", 19))
			continue;
		out->props++;
		const char *k = key + 19;
		if (!strcmp(k, "vm.supported"))
			out->vm_supported = prop_bool(value);
		else if (!strcmp(k, "protected_vm.supported"))
			out->protected_vm_supported = prop_bool(value);
		else if (!strcmp(k, "version"))
			snprintf(out->version, sizeof(out->version), "%s", value);
	}
	return 0;
}
