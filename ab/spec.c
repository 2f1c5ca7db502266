/* An arm of an experiment from a SPEC: KEY=VALUE items separated by ';'
 * ("qemu=/opt/qemu-9/bin/qemu-system-aarch64; append=mitigations=off").
 * The values are checked for form here; whether the binary, the image and
 * QEMU agree with them is ab_check_arms's job (session.c). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/number.h"
#include "../runners/guest.h"
#include "../runners/memory.h"
#include "ab.h"

/* Appends the words of QEMU options to *vec (NULL-terminated), split at
 * white space; '...' and "..." keep white space inside a word.  -1 with err
 * on an unclosed quote (*vec stays valid). */
static int split_opts(const char *text, char ***vec, struct kq_err *err)
{
	size_t n = 0;
	while (*vec && (*vec)[n])
		n++;
	const char *p = text;
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			return 0;
		struct kq_buf w;
		kq_buf_init(&w);
		char quote = 0;
		for (; *p && (quote || !isspace((unsigned char)*p)); p++) {
			if (quote && *p == quote)
				quote = 0;
			else if (!quote && (*p == '\'' || *p == '"'))
				quote = *p;
			else
				kq_buf_add(&w, p, 1);
		}
		if (quote) {
			kq_buf_free(&w);
			return kq_error(err, "opts: a quote (%c) is not closed", quote);
		}
		kq_buf_add(&w, "", 0);
		*vec = kq_xrealloc(*vec, (n + 2) * sizeof(**vec));
		(*vec)[n++] = kq_buf_steal(&w);
		(*vec)[n] = NULL;
	}
}

static int parse_int(const char *key, const char *value, int lo, int hi, int *out, struct kq_err *err)
{
	long long v;
	if (kq_number_int(value, lo, hi, &v))
		return kq_error(err, "%s takes a number from %d to %d, not '%s'", key, lo, hi, value);
	*out = (int)v;
	return 0;
}

static void set_str(char **field, const char *value)
{
	free(*field);
	*field = kq_xstrdup(value);
}

/* One KEY=VALUE item. */
static int parse_item(struct ab_arm *arm, char *item, struct kq_err *err)
{
	char *eq = strchr(item, '=');
	if (!eq)
		return kq_error(err, "'%s' is not KEY=VALUE (keys: name, qemu, image, append, opts, cpus, mem, pin, affinity,"
				     " cgroup, disk, net, hugepages)", item);
	*eq = '\0';
	char *key = kq_strtrim(item), *value = kq_strtrim(eq + 1);
	if (!strcmp(key, "name")) {
		if (!*value || strlen(value) >= sizeof(arm->name))
			return kq_error(err, "name takes 1 to %zu characters", sizeof(arm->name) - 1);
		snprintf(arm->name, sizeof(arm->name), "%s", value);
	} else if (!strcmp(key, "qemu") || !strcmp(key, "image") || !strcmp(key, "cgroup")) {
		if (!*value)
			return kq_error(err, "%s needs a path", key);
		set_str(!strcmp(key, "qemu") ? &arm->qemu : !strcmp(key, "image") ? &arm->image : &arm->cgroup, value);
	} else if (!strcmp(key, "append")) {
		set_str(&arm->append, value);
	} else if (!strcmp(key, "disk")) {
		if (!*value || strpbrk(value, " \t"))
			return kq_error(err, "disk takes QEMU -drive options such as cache=none,aio=io_uring, not '%s'",
					value);
		set_str(&arm->disk_opts, value);
	} else if (!strcmp(key, "opts")) {
		return split_opts(value, &arm->opts, err);
	} else if (!strcmp(key, "cpus")) {
		return parse_int(key, value, 1, VCPU_MAX, &arm->cpus, err);
	} else if (!strcmp(key, "mem")) {
		return parse_int(key, value, 64, 1 << 20, &arm->mem_mb, err);
	} else if (!strcmp(key, "pin")) {
		return vcpu_pin_parse(value, &arm->pin, err);
	} else if (!strcmp(key, "affinity")) {
		cpu_set_t set;
		if (strcmp(value, "none") && (strlen(value) > 120 || guest_parse_cpulist(value, &set)))
			return kq_error(err, "affinity takes a CPU list such as 2-6 or none, not '%s'", value);
		set_str(&arm->affinity, strcmp(value, "none") ? value : "");
	} else if (!strcmp(key, "net")) {
		if (!strcmp(value, "user"))
			arm->net = AB_NET_USER;
		else if (!strcmp(value, "tap"))
			arm->net = AB_NET_TAP;
		else if (!strcmp(value, "vhost"))
			arm->net = AB_NET_VHOST;
		else
			return kq_error(err, "net takes user, tap or vhost, not '%s'", value);
	} else if (!strcmp(key, "hugepages")) {
		/* Whether pages of that size are reserved is the check's
		 * question (session.c): the host may change until then. */
		long kb = !strcmp(value, "off") ? 0 : memory_parse_size_kb(value);
		if (kb < 0)
			return kq_error(err, "hugepages takes a page size such as 2M, 64K or 32M, or off, not '%s'",
					value);
		arm->hugepage_kb = kb;
	} else {
		return kq_error(err, "unknown key '%s' (keys: name, qemu, image, append, opts, cpus, mem, pin, affinity,"
				     " cgroup, disk, net, hugepages)", key);
	}
	return 0;
}

int ab_arm_parse(struct ab_arm *arm, const char *spec, struct kq_err *err)
{
	/* The spec as given, items of several --a joined. */
	if (spec && *spec) {
		char *joined = arm->spec ? kq_xasprintf("%s; %s", arm->spec, spec) : kq_xstrdup(spec);
		free(arm->spec);
		arm->spec = joined;
	}
	if (!spec || !*spec || !strcmp(spec, "default"))
		return 0;
	char *copy = kq_xstrdup(spec), *save = NULL;
	int rc = 0;
	for (char *item = strtok_r(copy, ";", &save); item && !rc; item = strtok_r(NULL, ";", &save)) {
		if (!*kq_strtrim(item))
			continue;
		rc = parse_item(arm, item, err);
	}
	free(copy);
	return rc;
}

void ab_arm_free(struct ab_arm *arm)
{
	free(arm->spec);
	free(arm->qemu);
	free(arm->image);
	free(arm->append);
	free(arm->cgroup);
	free(arm->disk_opts);
	free(arm->affinity);
	for (size_t i = 0; arm->opts && arm->opts[i]; i++)
		free(arm->opts[i]);
	free(arm->opts);
	memset(arm, 0, sizeof(*arm));
}

void ab_arm_describe(const struct ab_arm *arm, char *out, size_t size)
{
	struct kq_buf b;
	kq_buf_init(&b);
	if (arm->qemu)
		kq_buf_printf(&b, "%sqemu=%s", b.len ? "; " : "", arm->qemu);
	if (arm->image)
		kq_buf_printf(&b, "%simage=%s", b.len ? "; " : "", arm->image);
	if (arm->append)
		kq_buf_printf(&b, "%sappend=%s", b.len ? "; " : "", arm->append);
	if (arm->opts && arm->opts[0]) {
		kq_buf_printf(&b, "%sopts=", b.len ? "; " : "");
		for (size_t i = 0; arm->opts[i]; i++)
			kq_buf_printf(&b, "%s%s", i ? " " : "", arm->opts[i]);
	}
	if (arm->cpus)
		kq_buf_printf(&b, "%scpus=%d", b.len ? "; " : "", arm->cpus);
	if (arm->mem_mb)
		kq_buf_printf(&b, "%smem=%d", b.len ? "; " : "", arm->mem_mb);
	if (arm->pin.mode != VCPU_PIN_NONE) {
		char pin[160];
		vcpu_pin_format(&arm->pin, pin, sizeof(pin));
		kq_buf_printf(&b, "%spin=%s", b.len ? "; " : "", pin);
	}
	if (arm->affinity)
		kq_buf_printf(&b, "%saffinity=%s", b.len ? "; " : "", arm->affinity[0] ? arm->affinity : "none");
	if (arm->cgroup)
		kq_buf_printf(&b, "%scgroup=%s", b.len ? "; " : "", arm->cgroup);
	if (arm->disk_opts)
		kq_buf_printf(&b, "%sdisk=%s", b.len ? "; " : "", arm->disk_opts);
	if (arm->net != AB_NET_USER)
		kq_buf_printf(&b, "%snet=%s", b.len ? "; " : "", arm->net == AB_NET_TAP ? "tap" : "vhost");
	if (arm->hugepage_kb) {
		char text[16];
		memory_size_text(arm->hugepage_kb, text, sizeof(text));
		kq_buf_printf(&b, "%shugepages=%s", b.len ? "; " : "", text);
	}
	snprintf(out, size, "%s", b.len ? b.data : "defaults");
	kq_buf_free(&b);
}
