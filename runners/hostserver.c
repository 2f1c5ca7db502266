#define _GNU_SOURCE
#include "hostserver.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netns.h"

int hostserver_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int port = 0;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* "  0: 0100007F:1451 00000000:0000 0A ...": local address:port in hex,
 * state 0A is LISTEN. */
int hostserver_listening(const char *text, size_t len, int port)
{
	size_t pos = 0;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		char line[256];
		size_t n = end - pos < sizeof(line) - 1 ? end - pos : sizeof(line) - 1;
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos = end + 1;
		char local[64];
		unsigned p, state;
		if (sscanf(line, " %*u: %63[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", local, &p, &state) == 3 &&
		    (int)p == port && state == 0x0A)
			return 1;
	}
	return 0;
}

static int listens(pid_t pid, int port)
{
	static const char *const files[] = { "tcp", "tcp6" };
	for (size_t i = 0; i < 2; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%ld/net/%s", (long)pid, files[i]);
		char *text;
		size_t len;
		struct kq_err err;
		if (kq_read_file(path, 16u << 20, &text, &len, &err))
			continue;
		int yes = hostserver_listening(text, len, port);
		free(text);
		if (yes)
			return 1;
	}
	return 0;
}

int hostserver_start(char *const argv[], const char *netns, int port, int timeout_ms, pid_t *pid,
		     struct kq_err *err)
{
	pid_t parent = getpid();
	pid_t p = fork();
	if (p < 0)
		return kq_error(err, "cannot start %s: %s", argv[0], strerror(errno));
	if (p == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (netns && netns_enter(netns))
			_exit(126);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	uint64_t deadline = kq_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	for (;;) {
		int status;
		if (waitpid(p, &status, WNOHANG) == p)
			return kq_error(err, "the %s server exited before it listened on port %d (%s %d)", argv[0], port,
					WIFEXITED(status) ? "exit" : "signal",
					WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		if (listens(p, port)) {
			*pid = p;
			return 0;
		}
		if (kq_now_ns() >= deadline) {
			hostserver_stop(p);
			return kq_error(err, "the %s server did not listen on port %d within %d ms", argv[0], port,
					timeout_ms);
		}
		usleep(2000);
	}
}

double hostserver_stop(pid_t pid)
{
	if (pid <= 0)
		return 0;
	kill(pid, SIGKILL);
	struct rusage ru;
	memset(&ru, 0, sizeof(ru));
	while (wait4(pid, NULL, 0, &ru) < 0 && errno == EINTR)
		;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}
