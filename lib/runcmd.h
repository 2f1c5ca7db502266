/* Running a command with a deadline and capturing its output: shared by
 * the guest agent (commands the host sends) and the runner (the same
 * workloads natively), so that both measure and fail the same way. */
#ifndef KQ_RUNCMD_H
#define KQ_RUNCMD_H

#include <stddef.h>

#include "util.h"

struct runcmd_result {
	int exit_code;        /* -1 when killed by a signal */
	int signal;
	int timed_out;        /* the deadline passed: the process group was killed */
	int truncated;        /* output beyond the cap was dropped */
	double wall_ms;
	double cpu_s;         /* user + system time of the command and the children it waited for */
	struct kq_buf out, err;
};

/* Runs argv (searched in PATH) with stdin from /dev/null, in a process
 * group of its own.  child_setup (may be NULL) runs in the child before
 * exec, for what differs between callers (session, parent-death signal,
 * directory, environment).  Returns 0 when the command ran (whatever its
 * exit status), or the errno of fork or exec (the command was not run). */
int runcmd(char *const argv[], int timeout_ms, size_t output_cap, void (*child_setup)(void),
	   struct runcmd_result *r);
void runcmd_result_free(struct runcmd_result *r);

/* For a forked child whose output nobody reads (a server, a guest's QEMU):
 * stdin, stdout and stderr on /dev/null, then argv (searched in PATH).
 * Never returns: exit status 127 when argv cannot be run. */
void runcmd_exec_quiet(char *const argv[]) __attribute__((noreturn));

#endif
