/* /proc/cpuinfo in both of its shapes (arm64 "CPU part", x86 "flags"), and
 * the names of Arm cores by MIDR. */
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

struct midr_name {
	unsigned implementer, part;
	const char *name;
};

/* From the Arm Technical Reference Manuals' MIDR_EL1 tables and the kernel's
 * arch/arm64/include/asm/cputype.h part numbers. */
static const struct midr_name midr_names[] = {
	{ 0x41, 0xd03, "Cortex-A53" },  { 0x41, 0xd04, "Cortex-A35" },
	{ 0x41, 0xd05, "Cortex-A55" },  { 0x41, 0xd07, "Cortex-A57" },
	{ 0x41, 0xd08, "Cortex-A72" },  { 0x41, 0xd09, "Cortex-A73" },
	{ 0x41, 0xd0a, "Cortex-A75" },  { 0x41, 0xd0b, "Cortex-A76" },
	{ 0x41, 0xd0c, "Neoverse-N1" }, { 0x41, 0xd0d, "Cortex-A77" },
	{ 0x41, 0xd0e, "Cortex-A76AE" },{ 0x41, 0xd40, "Neoverse-V1" },
	{ 0x41, 0xd41, "Cortex-A78" },  { 0x41, 0xd42, "Cortex-A78AE" },
	{ 0x41, 0xd44, "Cortex-X1" },   { 0x41, 0xd46, "Cortex-A510" },
	{ 0x41, 0xd47, "Cortex-A710" }, { 0x41, 0xd48, "Cortex-X2" },
	{ 0x41, 0xd49, "Neoverse-N2" }, { 0x41, 0xd4b, "Cortex-A78C" },
	{ 0x41, 0xd4c, "Cortex-X1C" },  { 0x41, 0xd4d, "Cortex-A715" },
	{ 0x41, 0xd4e, "Cortex-X3" },   { 0x41, 0xd4f, "Neoverse-V2" },
	{ 0x41, 0xd80, "Cortex-A520" }, { 0x41, 0xd81, "Cortex-A720" },
	{ 0x41, 0xd82, "Cortex-X4" },   { 0x41, 0xd84, "Neoverse-V3" },
	{ 0x41, 0xd85, "Cortex-X925" }, { 0x41, 0xd87, "Cortex-A725" },
	{ 0x41, 0xd8e, "Neoverse-N3" },
	{ 0x51, 0x800, "Kryo-2XX-Gold" }, { 0x51, 0x801, "Kryo-2XX-Silver" },
	{ 0x51, 0x802, "Kryo-3XX-Gold" }, { 0x51, 0x803, "Kryo-3XX-Silver" },
	{ 0x51, 0x804, "Kryo-4XX-Gold" }, { 0x51, 0x805, "Kryo-4XX-Silver" },
	{ 0x51, 0x001, "Oryon" },
	{ 0x61, 0x022, "Apple-M1-Icestorm" }, { 0x61, 0x023, "Apple-M1-Firestorm" },
	{ 0x46, 0x001, "A64FX" },
	/* Implementer 0 is reserved for software: QEMU's "max" CPU. */
	{ 0x00, 0x051, "QEMU-max" },
	{ 0x48, 0xd01, "TSV110" },
	{ 0xc0, 0xac3, "Ampere-1" },
};

const char *midr_core_name(unsigned implementer, unsigned part)
{
	for (size_t i = 0; i < KQ_ARRAY_SIZE(midr_names); i++)
		if (midr_names[i].implementer == implementer && midr_names[i].part == part)
			return midr_names[i].name;
	return NULL;
}
