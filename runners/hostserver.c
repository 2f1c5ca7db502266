#define _GNU_SOURCE
#include "hostserver.h"

#include <errno.h>
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

#include "../lib/runcmd.h"
#include "native.h"
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
		runcmd_exec_quiet(argv);
	}
	struct kq_err lerr;
	if (native_wait_listening(p, port, timeout_ms, &lerr)) {
		hostserver_stop(p);
		return kq_error(err, "%s server: %s", argv[0], lerr.msg);
	}
	*pid = p;
	return 0;
}

double hostserver_stop(pid_t pid)
{
	if (pid <= 0)
		return 0;
	/* Already reaped (it exited while we waited for it to listen): the
	 * pid may be someone else's by now. */
	siginfo_t info;
	if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD)
		return 0;
	kill(pid, SIGKILL);
	struct rusage ru;
	memset(&ru, 0, sizeof(ru));
	while (wait4(pid, NULL, 0, &ru) < 0 && errno == EINTR)
		;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}
