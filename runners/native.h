/* Running a workload's command natively on the host (the baseline), with a
 * time limit, capturing its output: the host-side twin of the agent's
 * exec, with the same result structure. */
#ifndef KQ_NATIVE_H
#define KQ_NATIVE_H

#include <sys/types.h>

#include "agent_client.h"

/* Returns 0 when the command ran (whatever its exit status; see r), or -1
 * with err when it could not be started.  A command past timeout_ms is
 * killed with its process group and r->timed_out is set. */
int native_exec(const char *const argv[], int timeout_ms, struct agent_result *r, struct kq_err *err);

/* Waits, polling, until process pid listens on TCP port in its own network
 * namespace (/proc/PID/net/tcp and tcp6): a server started in the
 * background is ready for its client.  Returns 0, or -1 with err when the
 * process exited or timeout_ms passed first. */
int native_wait_listening(pid_t pid, int port, int timeout_ms, struct kq_err *err);

#endif
