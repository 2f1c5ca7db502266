#define _GNU_SOURCE
#include "native.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
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
	r->out_len = rr.out.len;
	r->out = (uint8_t *)kq_buf_steal(&rr.out);
	r->err_len = rr.err.len;
	r->err = (uint8_t *)kq_buf_steal(&rr.err);
	return 0;
}
