/* The guest's own view of the CPU's speculation vulnerabilities (issue 15
 * part 4): the guest kernel's /sys/devices/system/cpu/vulnerabilities, read
 * through the agent after the first boot under each accelerator and parsed
 * by the probe's own parser (probe/parse.h), so that the report can show it
 * beside the host's.  Under KVM the guest sees what the host's hypervisor
 * passes on (a mitigation the host has may be missing in the guest);
 * under TCG it sees QEMU's model of a CPU.
 *
 * What the guest says is outside input: vuln_parse keeps printable ASCII
 * of bounded length, and an agent error, a guest without the directory or
 * an answer in no known form make the view unknown with the reason, never
 * a failed run. */
#ifndef KQ_RUNNERS_GUESTVULN_H
#define KQ_RUNNERS_GUESTVULN_H

#include <stddef.h>

#include "../probe/parse.h"
#include "guest.h"

#define GUEST_VULN_DIR "/sys/devices/system/cpu/vulnerabilities"

struct guest_vulns {
	int known;              /* 1: report holds the guest's view; 0: why says why there is none */
	char why[256];
	struct vuln_report report;
};

/* What the agent runs in the guest: busybox grep, one "PATH:TEXT" line per
 * file (no shell, no glob: the guest image's PATH has grep). */
extern const char *const guest_vulns_argv[];

/* The view from the command's result: its exit status (-1 when a signal
 * ended it), whether the agent's time limit did, its standard output and
 * error (neither need be NUL-terminated). */
void guest_vulns_parse(int exit_code, int timed_out, const char *out, size_t out_len, const char *err, size_t err_len,
		       struct guest_vulns *v);

/* Runs guest_vulns_argv in g through its agent, within timeout_ms, and
 * parses the answer; an agent that does not answer gives an unknown view
 * with its error. */
void guest_vulns_read(struct guest *g, int timeout_ms, struct guest_vulns *v);

/* A known view as a JSON object, each file's name to its text (a name the
 * guest listed twice keeps its first text), malloc'd; NULL when unknown. */
char *guest_vulns_json(const struct guest_vulns *v);

/* One line for people: vuln_summary's ("vulnerable: retbleed; 3 mitigated,
 * 14 not affected"), or "unknown: WHY". */
void guest_vulns_summary(const struct guest_vulns *v, char *buf, size_t size);

#endif
