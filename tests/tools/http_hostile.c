/* A misbehaving HTTP server on loopback for the hostile tests (never a
 * fixed port):
 *   http_hostile PORTFILE LOGFILE SECONDS MODE [ARG...]
 * listens on a free 127.0.0.1 port, writes it to PORTFILE once listening,
 * serves each connection in a child process (one request, then close) for
 * at most SECONDS, and appends to LOGFILE one line per request
 * ("request N: METHOD PATH") and one when a connection ends ("sent N
 * BYTES").  Modes:
 *   drip RATE         answers every request with a 207 whose bytes come at
 *                     RATE bytes a second, without end (RATE 2: a server
 *                     that would hold a client whose stall timer resets on
 *                     every byte; RATE 20000: fast enough for any minimum
 *                     rate, and still never done)
 *   redirect URL      answers 302 with Location: URL
 *   flood N SIZE      a WebDAV collection: PROPFIND lists m0.json ...
 *                     m{N-1}.json; a GET answers SIZE bytes (declared in
 *                     Content-Length) as fast as the client takes them, or,
 *                     with SIZE 0, bytes without end and without a length
 * Exits on SIGTERM or after SECONDS, and takes its children with it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static const char *log_path;
static unsigned long long sent;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void log_line(const char *fmt, ...)
{
	char line[600];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		/* One write per line: lines of several children never mix. */
		if (write(fd, line, n < (int)sizeof(line) ? (size_t)n : sizeof(line) - 1) < 0)
			perror(log_path);
		close(fd);
	}
}

static int send_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		sent += (unsigned long long)n;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads the request head (and a body of Content-Length, unless the client
 * waits for 100-continue); method and path into the buffers. */
static int read_request(int fd, char *method, size_t mcap, char *path, size_t pcap)
{
	char head[65536];
	size_t len = 0;
	char *end = NULL;
	while (!end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (len + 1 >= sizeof(head) || poll(&p, 1, 5000) != 1)
			return -1;
		ssize_t n = recv(fd, head + len, sizeof(head) - 1 - len, 0);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		head[len] = '\0';
		end = strstr(head, "\r\n\r\n");
	}
	if (sscanf(head, "%15s %1023s", method, path) != 2)
		return -1;
	(void)mcap;
	(void)pcap;
	const char *cl = strcasestr(head, "\r\nContent-Length:");
	long long body = cl ? atoll(cl + 17) : 0;
	if (strcasestr(head, "\r\nExpect: 100-continue"))
		return 0;
	body -= (long long)(len - (size_t)(end + 4 - head));
	char sink[65536];
	while (body > 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 5000) != 1)
			return -1;
		ssize_t n = recv(fd, sink, sizeof(sink), 0);
		if (n <= 0)
			return -1;
		body -= n;
	}
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void drip(int fd, long rate)
{
	static const char head[] = "HTTP/1.1 207 Multi-Status\r\nContent-Type: application/xml\r\n"
				   "Connection: close\r\n\r\n<?xml version=\"1.0\"?><D:multistatus xmlns:D=\"DAV:\">";
	/* Ten sends a second (or one every 1/rate s when slower). */
	long per = rate >= 10 ? rate / 10 : 1;
	long gap_ms = rate >= 10 ? 100 : 1000 / rate;
	size_t off = 0;
	char chunk[65536];
	for (;;) {
		size_t n = 0;
		while (n < (size_t)per && n < sizeof(chunk))
			chunk[n++] = off < sizeof(head) - 1 ? head[off++] : ' ';
		if (send_all(fd, chunk, n))
			return;
		sleep_ms(gap_ms);
	}
}

static void flood(int fd, const char *method, const char *path, long members, long long size)
{
	char buf[65536];
	if (strcmp(method, "GET")) {
		struct {
			char *data;
			size_t len;
		} body = { NULL, 0 };
		FILE *f = open_memstream(&body.data, &body.len);
		fprintf(f, "<?xml version=\"1.0\"?><D:multistatus xmlns:D=\"DAV:\"><D:response><D:href>%s</D:href>"
			   "<D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype></D:prop></D:propstat>"
			   "</D:response>", path);
		for (long i = 0; i < members; i++)
			fprintf(f, "<D:response><D:href>%sm%ld.json</D:href></D:response>", path, i);
		fputs("</D:multistatus>", f);
		fclose(f);
		int n = snprintf(buf, sizeof(buf), "HTTP/1.1 207 Multi-Status\r\nContent-Type: application/xml\r\n"
						   "Content-Length: %zu\r\nConnection: close\r\n\r\n", body.len);
		if (send_all(fd, buf, (size_t)n) == 0)
			send_all(fd, body.data, body.len);
		free(body.data);
		return;
	}
	int n = size > 0 ? snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nContent-Length: %lld\r\nConnection: close\r\n\r\n",
				    size)
			 : snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
	if (send_all(fd, buf, (size_t)n))
		return;
	memset(buf, '{', sizeof(buf));
	for (long long left = size; size == 0 || left > 0;) {
		size_t chunk = size == 0 || left > (long long)sizeof(buf) ? sizeof(buf) : (size_t)left;
		if (send_all(fd, buf, chunk))
			return;
		left -= (long long)chunk;
	}
}

static void serve(int fd, unsigned long n, char **mode)
{
	char method[16], path[1024];
	if (read_request(fd, method, sizeof(method), path, sizeof(path)) == 0) {
		log_line("request %lu: %s %s\n", n, method, path);
		if (!strcmp(mode[0], "drip")) {
			drip(fd, atol(mode[1]));
		} else if (!strcmp(mode[0], "redirect")) {
			char buf[2048];
			int len = snprintf(buf, sizeof(buf), "HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n"
							     "Connection: close\r\n\r\n", mode[1]);
			send_all(fd, buf, (size_t)len);
		} else {
			flood(fd, method, path, atol(mode[1]), atoll(mode[2]));
		}
	}
	log_line("sent %lu %llu\n", n, sent);
	close(fd);
}

int main(int argc, char **argv)
{
	int ok = argc >= 6 && ((!strcmp(argv[4], "drip") && argc == 6 && atol(argv[5]) > 0) ||
			       (!strcmp(argv[4], "redirect") && argc == 6) ||
			       (!strcmp(argv[4], "flood") && argc == 7));
	double seconds = ok ? strtod(argv[3], NULL) : 0;
	if (!ok || seconds <= 0 || seconds > 3600) {
		fprintf(stderr, "usage: http_hostile PORTFILE LOGFILE SECONDS drip RATE | redirect URL | flood N SIZE\n");
		return 2;
	}
	log_path = argv[2];
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t alen = sizeof(a);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 16) ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen)) {
		perror("http_hostile: listen");
		return 1;
	}
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
	FILE *pf = fopen(tmp, "w");
	if (!pf || fprintf(pf, "%d\n", ntohs(a.sin_port)) < 0 || fclose(pf) || rename(tmp, argv[1])) {
		perror(argv[1]);
		return 1;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	signal(SIGCHLD, SIG_DFL);
	time_t end = time(NULL) + (time_t)seconds + 1;
	unsigned long n = 0;
	while (!stop && time(NULL) < end) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (poll(&p, 1, 200) != 1)
			continue;
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		n++;
		pid_t pid = fork();
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			signal(SIGTERM, SIG_DFL);
			alarm((unsigned)seconds + 1);
			close(lfd);
			serve(c, n, argv + 4);
			_exit(0);
		}
		close(c);
	}
	close(lfd);
	/* The children die with the parent (PR_SET_PDEATHSIG). */
	return 0;
}
