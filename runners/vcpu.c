/* QEMU's vCPU threads: found over QMP, pinned, verified in /proc (vcpu.h). */
#define _GNU_SOURCE
#include "vcpu.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest.h"

int vcpu_pin_parse(const char *text, struct vcpu_pin *pin, struct kq_err *err)
{
	memset(pin, 0, sizeof(*pin));
	if (!text || !*text || !strcmp(text, "none") || !strcmp(text, "free"))
		return 0;
	const char *list = text;
	pin->mode = VCPU_PIN_ALL;
	if (kq_startswith(text, "each:")) {
		pin->mode = VCPU_PIN_EACH;
		list = text + 5;
	} else if (kq_startswith(text, "all:")) {
		list = text + 4;
	}
	cpu_set_t set;
	if (strlen(list) >= sizeof(pin->cpus) || guest_parse_cpulist(list, &set))
		return kq_error(err, "pinning '%s': expected none, LIST, all:LIST or each:LIST with LIST a CPU list"
				     " such as 0-3,6", text);
	snprintf(pin->cpus, sizeof(pin->cpus), "%s", list);
	return 0;
}

void vcpu_pin_format(const struct vcpu_pin *pin, char *out, size_t size)
{
	if (pin->mode == VCPU_PIN_NONE)
		snprintf(out, size, "none");
	else
		snprintf(out, size, "%s:%s", pin->mode == VCPU_PIN_EACH ? "each" : "all", pin->cpus);
}

/* The CPUs of a list in the order written ("3,1-2" is 3, 1, 2); count. */
static size_t ordered_cpus(const char *list, int *cpus, size_t max)
{
	size_t n = 0;
	const char *p = list;
	while (*p && n < max) {
		char *end;
		long a = strtol(p, &end, 10), b = a;
		if (end == p)
			return 0;
		p = end;
		if (*p == '-') {
			b = strtol(p + 1, &end, 10);
			p = end;
		}
		for (long c = a; c <= b && n < max; c++)
			cpus[n++] = (int)c;
		if (*p == ',')
			p++;
	}
	return n;
}

int vcpu_pin_set_for(const struct vcpu_pin *pin, size_t index, cpu_set_t *set)
{
	cpu_set_t all;
	if (pin->mode == VCPU_PIN_NONE || guest_parse_cpulist(pin->cpus, &all))
		return -1;
	if (pin->mode == VCPU_PIN_ALL) {
		*set = all;
		return 0;
	}
	/* vCPU i on the (i mod count)-th CPU as the list is written. */
	int cpus[CPU_SETSIZE];
	size_t n = ordered_cpus(pin->cpus, cpus, CPU_SETSIZE);
	if (!n)
		return -1;
	CPU_ZERO(set);
	CPU_SET(cpus[index % n], set);
	return 0;
}

void vcpu_cpulist_format(const cpu_set_t *set, char *out, size_t size)
{
	size_t len = 0;
	out[0] = '\0';
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, set))
			continue;
		int end = c;
		while (end + 1 < CPU_SETSIZE && CPU_ISSET(end + 1, set))
			end++;
		int n = end > c ? snprintf(out + len, size - len, "%s%d-%d", len ? "," : "", c, end)
				: snprintf(out + len, size - len, "%s%d", len ? "," : "", c);
		if (n < 0 || (size_t)n >= size - len)
			return;
		len += (size_t)n;
		c = end;
	}
}

int vcpu_threads_parse(const cJSON *ret, pid_t *tids, size_t max, size_t *count, struct kq_err *err)
{
	*count = 0;
	if (!cJSON_IsArray(ret))
		return kq_error(err, "QMP query-cpus-fast: not an array");
	for (size_t i = 0; i < max; i++)
		tids[i] = 0;
	const cJSON *cpu;
	cJSON_ArrayForEach(cpu, ret) {
		const cJSON *idx = cJSON_GetObjectItemCaseSensitive(cpu, "cpu-index");
		const cJSON *tid = cJSON_GetObjectItemCaseSensitive(cpu, "thread-id");
		if (!cJSON_IsNumber(idx) || !cJSON_IsNumber(tid) || !(idx->valuedouble >= 0) ||
		    !(idx->valuedouble < (double)max) || !(tid->valuedouble >= 1) || !(tid->valuedouble <= 4194304))
			return kq_error(err, "QMP query-cpus-fast: a CPU without a usable cpu-index and thread-id"
					     " (or more than %zu vCPUs)", max);
		size_t i = (size_t)idx->valuedouble;
		tids[i] = (pid_t)tid->valuedouble;
		if (i + 1 > *count)
			*count = i + 1;
	}
	for (size_t i = 0; i < *count; i++)
		if (tids[i] <= 0)
			return kq_error(err, "QMP query-cpus-fast: no thread for vCPU %zu", i);
	if (!*count)
		return kq_error(err, "QMP query-cpus-fast: no vCPUs");
	return 0;
}

int vcpu_threads(struct qmp *q, pid_t *tids, size_t max, size_t *count, struct kq_err *err)
{
	*count = 0;
	cJSON *ret;
	if (qmp_execute(q, "query-cpus-fast", NULL, 10000, &ret, err))
		return -1;
	int rc = vcpu_threads_parse(ret, tids, max, count, err);
	cJSON_Delete(ret);
	return rc;
}

int vcpu_affinity(const char *proc, pid_t pid, pid_t tid, char *list, size_t size, struct kq_err *err)
{
	char *path = kq_xasprintf("%s/%d/task/%d/status", proc, (int)pid, (int)tid);
	char *text;
	struct kq_err rerr;
	int rc = kq_read_file(path, 1u << 16, &text, NULL, &rerr);
	free(path);
	if (rc)
		return kq_error(err, "vCPU thread %d: %s", (int)tid, rerr.msg);
	const char *key = "\nCpus_allowed_list:";
	char *at = strstr(text, key);
	rc = -1;
	if (at) {
		at += strlen(key);
		char *eol = strchr(at, '\n');
		if (eol)
			*eol = '\0';
		snprintf(list, size, "%s", kq_strtrim(at));
		rc = 0;
	} else {
		kq_error(err, "vCPU thread %d: no Cpus_allowed_list in its status", (int)tid);
	}
	free(text);
	return rc;
}

int vcpu_pin_threads(pid_t pid, const pid_t *tids, size_t count, const struct vcpu_pin *pin, struct kq_err *err)
{
	if (pin->mode == VCPU_PIN_NONE)
		return 0;
	for (size_t i = 0; i < count; i++) {
		cpu_set_t set;
		if (vcpu_pin_set_for(pin, i, &set))
			return kq_error(err, "pinning vCPU %zu: bad CPU list '%s'", i, pin->cpus);
		if (sched_setaffinity(tids[i], sizeof(set), &set))
			return kq_error(err, "pinning vCPU %zu (thread %d) to CPUs %s: %s", i, (int)tids[i], pin->cpus,
					strerror(errno));
	}
	/* What the kernel now says, not what we asked for. */
	for (size_t i = 0; i < count; i++) {
		cpu_set_t want, got;
		char list[256], wanted[256];
		if (vcpu_affinity("/proc", pid, tids[i], list, sizeof(list), err))
			return -1;
		vcpu_pin_set_for(pin, i, &want);
		vcpu_cpulist_format(&want, wanted, sizeof(wanted));
		if (guest_parse_cpulist(list, &got) || !CPU_EQUAL(&got, &want))
			return kq_error(err, "vCPU %zu (thread %d) may run on CPUs %s, not %s as pinned", i, (int)tids[i],
					list, wanted);
	}
	return 0;
}
