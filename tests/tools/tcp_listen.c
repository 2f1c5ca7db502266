/* Loopback TCP helpers for the shell tests, which must never use a fixed
 * port:
 *   tcp_listen free-port
 *       prints a port that was free on 127.0.0.1 a moment ago (the caller
 *       retries if someone takes it first)
 *   tcp_listen count PORTFILE LOGFILE SECONDS [hold]
 *       listens on a free 127.0.0.1 port, writes the port to PORTFILE once
 *       listening, and for at most SECONDS appends one line per accepted
 *       connection to LOGFILE ("connection N: FIRST-BYTES-SEEN"), then closes
 *       it; with "hold" connections are kept open without an answer (a
 *       server that hangs).  A test counts the lines: a browser that must
 *       not use the network points its proxy here and the count stays 0.
 *       Exits on SIGTERM or when SECONDS have passed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HELD 64

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int listen_loopback(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(a);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 16) ||
	    getsockname(fd, (struct sockaddr *)&a, &len)) {
		close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int write_port(const char *path, int port)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "%d\n", port);
	if (fclose(f))
		return -1;
	return rename(tmp, path);
}

/* The first bytes the client sent, printable only, for the log line. */
static void first_bytes(int fd, char *out, size_t cap)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t o = 0;
	if (poll(&p, 1, 500) == 1) {
		char buf[200];
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		for (ssize_t i = 0; i < n && o + 1 < cap; i++)
			out[o++] = buf[i] >= 0x20 && buf[i] < 0x7f ? buf[i] : '.';
	}
	out[o] = '\0';
}

static int count(const char *port_file, const char *log_file, double seconds, int hold)
{
	int port;
	int fd = listen_loopback(&port);
	if (fd < 0) {
		perror("tcp_listen: listen");
		return 1;
	}
	FILE *log = fopen(log_file, "a");
	if (!log || write_port(port_file, port)) {
		perror(log ? port_file : log_file);
		return 1;
	}
	setvbuf(log, NULL, _IOLBF, 0);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	int held[MAX_HELD], nheld = 0;
	unsigned long n = 0;
	double end = now_s() + seconds;
	while (!stop) {
		double left = end - now_s();
		if (left <= 0)
			break;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, left > 0.2 ? 200 : (int)(left * 1000) + 1);
		if (r < 0 && errno != EINTR)
			break;
		if (r != 1)
			continue;
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		char first[201];
		if (hold) {
			first[0] = '\0';
		} else {
			first_bytes(c, first, sizeof(first));
		}
		fprintf(log, "connection %lu: %s\n", ++n, first);
		if (hold && nheld < MAX_HELD)
			held[nheld++] = c;
		else
			close(c);
	}
	for (int i = 0; i < nheld; i++)
		close(held[i]);
	close(fd);
	fclose(log);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "free-port")) {
		int port;
		int fd = listen_loopback(&port);
		if (fd < 0) {
			perror("tcp_listen: listen");
			return 1;
		}
		close(fd);
		printf("%d\n", port);
		return 0;
	}
	if ((argc == 5 || (argc == 6 && !strcmp(argv[5], "hold"))) && !strcmp(argv[1], "count")) {
		double seconds = strtod(argv[4], NULL);
		if (seconds <= 0 || seconds > 3600) {
			fprintf(stderr, "tcp_listen: SECONDS must be in (0, 3600]\n");
			return 2;
		}
		return count(argv[2], argv[3], seconds, argc == 6);
	}
	fprintf(stderr, "usage: tcp_listen free-port | count PORTFILE LOGFILE SECONDS [hold]\n");
	return 2;
}
