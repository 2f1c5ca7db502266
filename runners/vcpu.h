/* QEMU's vCPU threads: which thread runs which vCPU (QMP query-cpus-fast),
 * pinning each to host CPUs (sched_setaffinity on the thread id), and what
 * the kernel says each may run on (/proc/PID/task/TID/status,
 * Cpus_allowed_list), which is how a pinning is verified.  On big.LITTLE
 * hosts the vCPUs of a `-cpu host` guest must stay on one cluster; on
 * others a vCPU per host CPU is one of the settings kvmqual tune tries. */
#ifndef KQ_VCPU_H
#define KQ_VCPU_H

#include <sched.h>
#include <stddef.h>
#include <sys/types.h>

#include "../lib/util.h"
#include "qmp.h"

#define VCPU_MAX 64

enum vcpu_pin_mode {
	VCPU_PIN_NONE,   /* left where the scheduler puts them */
	VCPU_PIN_ALL,    /* every vCPU thread may run on any CPU of the list (a cluster) */
	VCPU_PIN_EACH,   /* vCPU i on the i-th CPU of the list as written, only (cycling when fewer) */
};

struct vcpu_pin {
	enum vcpu_pin_mode mode;
	char cpus[128];  /* a CPU list, "2-6" or "0,1" */
};

/* Parses "none", "all:LIST" or "each:LIST" (a bare LIST means all:LIST).
 * 0, or -1 with err naming what is wrong. */
int vcpu_pin_parse(const char *text, struct vcpu_pin *pin, struct kq_err *err);
/* The text vcpu_pin_parse reads back. */
void vcpu_pin_format(const struct vcpu_pin *pin, char *out, size_t size);
/* The set vCPU `index` should be allowed (mode not NONE); 0, or -1 when
 * the list is empty or junk. */
int vcpu_pin_set_for(const struct vcpu_pin *pin, size_t index, cpu_set_t *set);

/* The vCPU thread ids, by cpu-index, from QMP query-cpus-fast. */
int vcpu_threads(struct qmp *q, pid_t *tids, size_t max, size_t *count, struct kq_err *err);
/* The same from the command's "return" member (exposed for tests and
 * fuzzing): every entry needs a cpu-index below max and a thread-id, and
 * every index below the highest one a thread.  0, or -1 with err. */
int vcpu_threads_parse(const cJSON *ret, pid_t *tids, size_t max, size_t *count, struct kq_err *err);

/* Pins each thread as pin says, then reads every thread's affinity back
 * from /proc/PID/task/TID/status and checks it is what was asked: -1 with
 * err naming the vCPU whose affinity differs. */
int vcpu_pin_threads(pid_t pid, const pid_t *tids, size_t count, const struct vcpu_pin *pin, struct kq_err *err);

/* A thread's Cpus_allowed_list from /proc/PID/task/TID/status (proc is
 * "/proc" live; tests point it at a copy).  0, or -1 with err. */
int vcpu_affinity(const char *proc, pid_t pid, pid_t tid, char *list, size_t size, struct kq_err *err);

/* The CPU list text of a set ("0-3,6"). */
void vcpu_cpulist_format(const cpu_set_t *set, char *out, size_t size);

#endif
