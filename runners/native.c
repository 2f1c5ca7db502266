#define _GNU_SOURCE
#include "native.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define NATIVE_OUTPUT_CAP (16u << 20)

static void drain(int *fd, struct kq_buf *b, int *truncated)
{
	char chunk[65536];
	ssize_t n = read(*fd, chunk, sizeof(chunk));
	if (n > 0) {
		size_t room = b->len < NATIVE_OUTPUT_CAP ? NATIVE_OUTPUT_CAP - b->len : 0;
		if ((size_t)n > room)
			*truncated = 1;
		kq_buf_add(b, chunk, (size_t)n < room ? (size_t)n : room);
	} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
		close(*fd);
		*fd = -1;
	}
}

int native_exec(const char *const argv[], int timeout_ms, struct agent_result *r, struct kq_err *err)
{
	memset(r, 0, sizeof(*r));
	int out[2], errp[2], report[2];
	if (pipe2(out, O_CLOEXEC) || pipe2(errp, O_CLOEXEC) || pipe2(report, O_CLOEXEC))
		return kq_error(err, "pipe: %s", strerror(errno));
	pid_t parent = getpid();
	uint64_t start = kq_now_ns();
	pid_t pid = fork();
	if (pid < 0)
		return kq_error(err, "fork: %s", strerror(errno));
	if (pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		int null = open("/dev/null", O_RDONLY);
		dup2(null, 0);
		dup2(out[1], 1);
		dup2(errp[1], 2);
		execvp(argv[0], (char *const *)argv);
		int e = errno;
		ssize_t ignored = write(report[1], &e, sizeof(e));
		(void)ignored;
		_exit(127);
	}
	close(out[1]);
	close(errp[1]);
	close(report[1]);
	int exec_errno = 0;
	ssize_t rn;
	while ((rn = read(report[0], &exec_errno, sizeof(exec_errno))) < 0 && errno == EINTR)
		;
	close(report[0]);
	if (rn == (ssize_t)sizeof(exec_errno)) {
		close(out[0]);
		close(errp[0]);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return kq_error(err, "cannot run %s: %s", argv[0], strerror(exec_errno));
	}
	struct kq_buf o, e;
	kq_buf_init(&o);
	kq_buf_init(&e);
	int ofd = out[0], efd = errp[0];
	uint64_t deadline = start + (uint64_t)timeout_ms * 1000000ull;
	while (ofd >= 0 || efd >= 0) {
		uint64_t now = kq_now_ns();
		if (now >= deadline) {
			r->timed_out = 1;
			kill(-pid, SIGKILL);
			break;
		}
		struct pollfd pfd[2] = { { ofd, POLLIN, 0 }, { efd, POLLIN, 0 } };
		int wait_ms = (int)((deadline - now) / 1000000ull) + 1;
		if (poll(pfd, 2, wait_ms > 1000 ? 1000 : wait_ms) <= 0)
			continue;
		if (ofd >= 0 && pfd[0].revents)
			drain(&ofd, &o, &r->truncated);
		if (efd >= 0 && pfd[1].revents)
			drain(&efd, &e, &r->truncated);
	}
	if (ofd >= 0)
		close(ofd);
	if (efd >= 0)
		close(efd);
	int status = 0;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR))
			break;
		if (kq_now_ns() >= deadline && !r->timed_out) {
			r->timed_out = 1;
			kill(-pid, SIGKILL);
		}
		usleep(2000);
	}
	r->wall_ms = (double)(kq_now_ns() - start) / 1e6;
	r->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	r->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	if (!o.data)
		kq_buf_add(&o, "", 0);
	if (!e.data)
		kq_buf_add(&e, "", 0);
	r->out_len = o.len;
	r->out = (uint8_t *)kq_buf_steal(&o);
	r->err_len = e.len;
	r->err = (uint8_t *)kq_buf_steal(&e);
	return 0;
}
