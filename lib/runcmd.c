#define _GNU_SOURCE
#include "runcmd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static void drain(int *fd, struct kq_buf *b, size_t cap, int *truncated)
{
	char chunk[65536];
	ssize_t n = read(*fd, chunk, sizeof(chunk));
	if (n > 0) {
		size_t room = b->len < cap ? cap - b->len : 0;
		if ((size_t)n > room)
			*truncated = 1;
		kq_buf_add(b, chunk, (size_t)n < room ? (size_t)n : room);
	} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
		close(*fd);
		*fd = -1;
	}
}

static void kill_group(pid_t pid)
{
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
}

int runcmd(char *const argv[], int timeout_ms, size_t output_cap, void (*child_setup)(void),
	   struct runcmd_result *r)
{
	memset(r, 0, sizeof(*r));
	kq_buf_init(&r->out);
	kq_buf_init(&r->err);
	int out[2], err[2], report[2];
	if (pipe2(out, O_CLOEXEC))
		return errno;
	if (pipe2(err, O_CLOEXEC) || pipe2(report, O_CLOEXEC)) {
		int e = errno;
		close(out[0]);
		close(out[1]);
		return e;
	}
	uint64_t start = kq_now_ns();
	pid_t pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		if (child_setup)
			child_setup();
		int null = open("/dev/null", O_RDONLY);
		dup2(null, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		execvp(argv[0], argv);
		int e = errno;
		ssize_t ignored = write(report[1], &e, sizeof(e));
		(void)ignored;
		_exit(127);
	}
	int fork_errno = errno;
	close(out[1]);
	close(err[1]);
	close(report[1]);
	if (pid < 0) {
		close(out[0]);
		close(err[0]);
		close(report[0]);
		return fork_errno;
	}
	int exec_errno = 0;
	ssize_t rn;
	while ((rn = read(report[0], &exec_errno, sizeof(exec_errno))) < 0 && errno == EINTR)
		;
	close(report[0]);
	if (rn == (ssize_t)sizeof(exec_errno)) {
		close(out[0]);
		close(err[0]);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return exec_errno ? exec_errno : ENOEXEC;
	}
	int ofd = out[0], efd = err[0];
	uint64_t deadline = start + (uint64_t)timeout_ms * 1000000ull;
	while (ofd >= 0 || efd >= 0) {
		uint64_t now = kq_now_ns();
		if (now >= deadline) {
			r->timed_out = 1;
			kill_group(pid);
			break;
		}
		struct pollfd pfd[2] = { { ofd, POLLIN, 0 }, { efd, POLLIN, 0 } };
		int wait_ms = (int)((deadline - now) / 1000000ull) + 1;
		if (poll(pfd, 2, wait_ms > 1000 ? 1000 : wait_ms) <= 0)
			continue;
		if (ofd >= 0 && pfd[0].revents)
			drain(&ofd, &r->out, output_cap, &r->truncated);
		if (efd >= 0 && pfd[1].revents)
			drain(&efd, &r->err, output_cap, &r->truncated);
	}
	if (ofd >= 0)
		close(ofd);
	if (efd >= 0)
		close(efd);
	/* A process that closed its pipes may still run: the deadline holds. */
	int status = 0;
	struct rusage ru;
	memset(&ru, 0, sizeof(ru));
	for (;;) {
		pid_t w = wait4(pid, &status, WNOHANG, &ru);
		if (w == pid || (w < 0 && errno != EINTR))
			break;
		if (kq_now_ns() >= deadline && !r->timed_out) {
			r->timed_out = 1;
			kill_group(pid);
		}
		usleep(2000);
	}
	r->wall_ms = (double)(kq_now_ns() - start) / 1e6;
	r->cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		   (double)ru.ru_stime.tv_usec / 1e6;
	r->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	r->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	kq_buf_add(&r->out, "", 0); /* always NUL-terminated, even when empty */
	kq_buf_add(&r->err, "", 0);
	return 0;
}

void runcmd_result_free(struct runcmd_result *r)
{
	kq_buf_free(&r->out);
	kq_buf_free(&r->err);
}

void runcmd_exec_quiet(char *const argv[])
{
	int null = open("/dev/null", O_RDWR);
	dup2(null, 0);
	dup2(null, 1);
	dup2(null, 2);
	execvp(argv[0], argv);
	_exit(127);
}
