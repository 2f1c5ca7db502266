/* The check list that every check writes into (probe_add and friends) and
 * the fact look-ups checks share.  The driver (probe.c) calls the checks;
 * the checks call only this file, never back into the driver. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

const char *check_status_name(enum check_status s)
{
	switch (s) {
	case CHECK_PASS: return "pass";
	case CHECK_WARN: return "warn";
	case CHECK_FAIL: return "fail";
	case CHECK_SKIP: return "skip";
	}
	return "?";
}

struct check *probe_add(struct probe *p, const char *id, enum check_status status,
			const char *value, const char *detail, const char *hint)
{
	if (p->check_count == p->check_cap) {
		p->check_cap = p->check_cap ? p->check_cap * 2 : 32;
		p->checks = kq_xrealloc(p->checks, p->check_cap * sizeof(*p->checks));
	}
	struct check *c = &p->checks[p->check_count++];
	memset(c, 0, sizeof(*c));
	c->id = kq_xstrdup(id);
	c->status = status;
	c->value = kq_xstrdup(value ? value : "");
	c->detail = kq_xstrdup(detail ? detail : "");
	c->hint = hint ? kq_xstrdup(hint) : NULL;
	return c;
}

struct check *probe_addf(struct probe *p, const char *id, enum check_status status,
			 const char *hint, const char *value_fmt, ...)
{
	va_list ap;
	va_start(ap, value_fmt);
	char *value = kq_xvasprintf(value_fmt, ap);
	va_end(ap);
	struct check *c = probe_add(p, id, status, value, NULL, hint);
	free(value);
	return c;
}

void check_set_detail(struct check *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *d = kq_xvasprintf(fmt, ap);
	va_end(ap);
	free(c->detail);
	c->detail = d;
}

const struct check *probe_find(const struct probe *p, const char *id)
{
	for (size_t i = 0; i < p->check_count; i++)
		if (!strcmp(p->checks[i].id, id))
			return &p->checks[i];
	return NULL;
}

char probe_kconfig(const struct probe *p, const char *option)
{
	return kconfig_value(p->kconfig, p->kconfig_len, option);
}
