/* /proc/cpuinfo in both of its shapes (arm64 "CPU part", x86 "flags"). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/util.h"
#include "parse.h"

static void new_cpu(struct cpuinfo *ci, size_t *cap, int processor)
{
	if (ci->count == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		ci->cpus = kq_xrealloc(ci->cpus, *cap * sizeof(*ci->cpus));
	}
	struct cpuinfo_cpu *c = &ci->cpus[ci->count++];
	memset(c, 0, sizeof(*c));
	c->processor = processor;
	c->implementer = c->variant = c->part = c->revision = ~0u;
	c->physical_id = c->core_id = -1;
}

static unsigned parse_num(const char *v)
{
	uint64_t x;
	return kq_parse_u64(v, &x) || x > 0xffffffffu ? ~0u : (unsigned)x;
}

int cpuinfo_parse(const char *text, size_t len, struct cpuinfo *out)
{
	memset(out, 0, sizeof(*out));
	size_t cap = 0, off = 0;
	while (text && off < len) {
		const char *line = text + off;
		const char *nl = memchr(line, '\n', len - off);
		size_t n = nl ? (size_t)(nl - line) : len - off;
		off += n + 1;
		char buf[2048];
		if (n >= sizeof(buf))
			n = sizeof(buf) - 1;
		memcpy(buf, line, n);
		buf[n] = '\0';
		char *colon = strchr(buf, ':');
		if (!colon)
			continue;
		*colon = '\0';
		char *key = kq_strtrim(buf), *val = kq_strtrim(colon + 1);
		if (!strcmp(key, "processor")) {
			if (out->count >= CPUINFO_MAX_CPUS)
				break;
			uint64_t p;
			new_cpu(out, &cap, kq_parse_u64(val, &p) || p > 1u << 20 ? (int)out->count : (int)p);
			continue;
		}
		if (!strcmp(key, "Hardware")) {
			snprintf(out->hardware, sizeof(out->hardware), "%s", val);
			continue;
		}
		if (!strcmp(key, "CPU implementer") || !strcmp(key, "Features"))
			out->looks_arm64 = 1;
		if (!strcmp(key, "vendor_id") || !strcmp(key, "flags"))
			out->looks_x86 = 1;
		/* Some kernels print the Features of all CPUs before any
		 * "processor" line; keep them on a first, implicit CPU. */
		if (!out->count) {
			if (strcmp(key, "CPU implementer") && strcmp(key, "Features") &&
			    strcmp(key, "flags") && strcmp(key, "model name"))
				continue;
			new_cpu(out, &cap, 0);
		}
		struct cpuinfo_cpu *c = &out->cpus[out->count - 1];
		if (!strcmp(key, "CPU implementer"))
			c->implementer = parse_num(val);
		else if (!strcmp(key, "CPU variant"))
			c->variant = parse_num(val);
		else if (!strcmp(key, "CPU part"))
			c->part = parse_num(val);
		else if (!strcmp(key, "CPU revision"))
			c->revision = parse_num(val);
		else if (!strcmp(key, "physical id"))
			c->physical_id = (int)parse_num(val);
		else if (!strcmp(key, "core id"))
			c->core_id = (int)parse_num(val);
		else if (!strcmp(key, "model name"))
			snprintf(c->model_name, sizeof(c->model_name), "%s", val);
		else if (!strcmp(key, "Features") || !strcmp(key, "flags"))
			snprintf(c->features, sizeof(c->features), "%s", val);
	}
	return 0;
}

void cpuinfo_free(struct cpuinfo *ci)
{
	free(ci->cpus);
	memset(ci, 0, sizeof(*ci));
}

int flag_list_has(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p = list;
	while (p && *p) {
		while (*p == ' ' || *p == '\t')
			p++;
		size_t len = strcspn(p, " \t");
		if (len == n && strncmp(p, word, n) == 0)
			return 1;
		p += len;
	}
	return 0;
}

int cpuinfo_vhe(const struct cpuinfo *ci, char *why, size_t why_size)
{
	const char *features = NULL;
	for (size_t i = 0; i < ci->count && !features; i++)
		if (ci->cpus[i].features[0])
			features = ci->cpus[i].features;
	if (!features) {
		snprintf(why, why_size, "cpuinfo has no Features line");
		return -1;
	}
	static const char *const v81[] = { "atomics", "asimdrdm" };
	for (size_t i = 0; i < KQ_ARRAY_SIZE(v81); i++) {
		if (flag_list_has(features, v81[i])) {
			snprintf(why, why_size, "cpuinfo Features list '%s', an Armv8.1 feature: VHE is mandatory from Armv8.1",
				 v81[i]);
			return 1;
		}
	}
	snprintf(why, why_size, "cpuinfo Features list neither atomics nor asimdrdm: an Armv8.0 core, which has no VHE");
	return 0;
}
