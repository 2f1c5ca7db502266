/* A workload's server on the host (iperf3 -s -1, sockperf server), started
 * from the workload's server_argv, inside a network namespace when given.
 * It is ready when its port listens, which /proc/PID/net/tcp shows for
 * the namespace the process is in (native_wait_listening): a bounded wait
 * on that, not a sleep. */
#ifndef KQ_HOSTSERVER_H
#define KQ_HOSTSERVER_H

#include <stddef.h>
#include <sys/types.h>

#include "../lib/util.h"

/* A TCP port the kernel has free now (bound to 127.0.0.1 and released);
 * 0 when it gives none. */
int hostserver_free_port(void);
/* Starts argv (stdin and output to /dev/null, killed with the runner),
 * waits at most timeout_ms for port to listen.  0 with *pid, or -1 with
 * err (the server exited, e.g. the port was taken, or never listened). */
int hostserver_start(char *const argv[], const char *netns, int port, int timeout_ms, pid_t *pid,
		     struct kq_err *err);
/* Stops it (SIGKILL unless it has exited), reaps it, returns the CPU
 * seconds it used; 0 for pid <= 0. */
double hostserver_stop(pid_t pid);

#endif
