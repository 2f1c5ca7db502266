#define _GNU_SOURCE
#include "native.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/runcmd.h"

#define NATIVE_OUTPUT_CAP (16u << 20)

static pid_t runner_pid;

/* The workload dies with the runner, even when the runner is SIGKILLed. */
static void child_setup(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != runner_pid)
		_exit(127);
}

int native_exec(const char *const argv[], int timeout_ms, struct agent_result *r, struct kq_err *err)
{
	memset(r, 0, sizeof(*r));
	runner_pid = getpid();
	struct runcmd_result rr;
	int e = runcmd((char *const *)argv, timeout_ms, NATIVE_OUTPUT_CAP, child_setup, &rr);
	if (e)
		return kq_error(err, "cannot run %s: %s", argv[0], strerror(e));
	r->exit_code = rr.exit_code;
	r->signal = rr.signal;
	r->timed_out = rr.timed_out;
	r->truncated = rr.truncated;
	r->wall_ms = rr.wall_ms;
	r->cpu_s = rr.cpu_s;
	r->out_len = rr.out.len;
	r->out = (uint8_t *)kq_buf_steal(&rr.out);
	r->err_len = rr.err.len;
	r->err = (uint8_t *)kq_buf_steal(&rr.err);
	return 0;
}

/* Whether /proc/PID/net/FILE lists a socket listening on port.  Lines:
 * "sl local_address rem_address st ...", local "ADDR:PORT" in hex, st 0A
 * for LISTEN. */
static int listed_listening(pid_t pid, const char *file, int port)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)pid, file);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	int found = 0;
	while (!found && fgets(line, sizeof(line), f)) {
		char local[80];
		unsigned state;
		if (sscanf(line, " %*[0-9]: %79s %*s %x", local, &state) != 2)
			continue;
		const char *colon = strrchr(local, ':');
		found = colon && state == 0x0a && strtol(colon + 1, NULL, 16) == port;
	}
	fclose(f);
	return found;
}

int native_wait_listening(pid_t pid, int port, int timeout_ms, struct kq_err *err)
{
	uint64_t deadline = kq_now_ns() + (uint64_t)timeout_ms * 1000000u;
	for (;;) {
		if (listed_listening(pid, "tcp", port) || listed_listening(pid, "tcp6", port))
			return 0;
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid)
			return kq_error(err, "the server on port %d exited before it listened (%s %d)", port,
					WIFEXITED(status) ? "exit" : "signal",
					WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		if (kq_now_ns() >= deadline)
			return kq_error(err, "the server on port %d did not listen within %d ms", port, timeout_ms);
		struct timespec ts = { 0, 10 * 1000000L };
		nanosleep(&ts, NULL);
	}
}

