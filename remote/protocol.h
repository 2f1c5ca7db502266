/* What kvmqual remote reads from a device: the answer to its look around
 * (KEY=VALUE lines, ending with end=1) and the job's status line.  The
 * device, and the link to it, are outside input (docs/threat-model.md):
 * these parsers are pure, strict, unit-tested (tests/unit/test_remote.c)
 * and fuzzed (tests/fuzz/fuzz_remote.c). */
#ifndef KQ_REMOTE_PROTOCOL_H
#define KQ_REMOTE_PROTOCOL_H

#include <stddef.h>

#include "../lib/util.h"

/* The line `run follow` ends with: this, then the job's exit status. */
#define REMOTE_STATUS_MARK "@@kvmqual-job-status "
/* An answer of the device's shell that is longer is not one of ours. */
#define REMOTE_ANSWER_MAX (64u << 10)

struct remote_device {
	char *dir;         /* the state directory, absolute */
	char *arch, *host, *kit_hash, *job_owner, *job_status;
	char *error;       /* what the device said went wrong, or NULL */
	long long free_kb; /* -1: unknown (df said nothing usable) */
	int uid;           /* -1: unknown */
};

/* The device's answer to the look around.  Values are one line each, their
 * control characters replaced by '?'; numbers are whole decimals or
 * unknown.  Returns 0 (d->error may be set: the device's own complaint),
 * or -1 with err when the answer is cut short (no end=1), too long, or
 * lacks a sane directory (absolute) or architecture. */
int remote_device_parse(const char *text, size_t len, struct remote_device *d, struct kq_err *err);
void remote_device_free(struct remote_device *d);

/* One line of the job's log (without its line end): 0 when it is not the
 * status line, 1 when it is with *status the job's exit status (0 to 255),
 * -1 when it is one whose number is not an exit status. */
int remote_status_line(const char *line, size_t len, int *status);

#endif
