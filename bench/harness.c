/* The runner's boot measurement against bare QEMU booting the same image
 * with the same command line: how much the harness itself adds.  "Bare"
 * means: exec QEMU, accept its agent socket, wait for the first bytes of
 * the ready frame, kill QEMU; the harness is guest_boot() (frame decoding,
 * JSON, the whole ready handshake) and guest_stop().  Runs alternate so
 * that machine noise hits both alike.
 * Usage: bench-harness IMAGE_DIR ARCH RUNS */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/runcmd.h"
#include "../runners/guest.h"

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double bare_boot(const struct guest_config *cfg)
{
	char dir[] = "/tmp/kq-bare.XXXXXX";
	if (!mkdtemp(dir))
		return -1;
	char sock[128], console[128];
	snprintf(sock, sizeof(sock), "%s/agent.sock", dir);
	snprintf(console, sizeof(console), "%s/console.log", dir);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1))
		return -1;
	char **argv = guest_qemu_argv(cfg, sock, console, NULL);
	uint64_t t0 = kq_now_ns();
	pid_t pid = fork();
	if (pid == 0) {
		runcmd_exec_quiet(argv);
	}
	double ms = -1;
	int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	char buf[4];
	size_t got = 0;
	while (conn >= 0 && got < 4) {
		struct pollfd p = { conn, POLLIN, 0 };
		if (poll(&p, 1, 60000) <= 0)
			break;
		ssize_t n = read(conn, buf + got, 4 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got == 4 && !memcmp(buf, "KQF1", 4))
		ms = (double)(kq_now_ns() - t0) / 1e6;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (conn >= 0)
		close(conn);
	close(lfd);
	unlink(sock);
	unlink(console);
	rmdir(dir);
	guest_free_argv(argv);
	return ms;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: bench-harness IMAGE_DIR ARCH RUNS\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	int runs = atoi(argv[3]);
	struct guest_config cfg = { .arch = argv[2], .accel = "tcg", .image_dir = argv[1], .mem_mb = 512, .cpus = 2 };
	double bare[64], harness[64];
	int nb = 0, nh = 0;
	for (int i = 0; i < runs && i < 64; i++) {
		double b = bare_boot(&cfg);
		if (b > 0)
			bare[nb++] = b;
		struct guest g;
		struct kq_err err;
		if (guest_boot(&cfg, &g, 60000, &err) == 0) {
			harness[nh++] = (double)(g.ready.host_ns - g.exec_ns) / 1e6;
			guest_stop(&g);
		} else {
			fprintf(stderr, "bench-harness: %s\n", err.msg);
		}
	}
	if (!nb || !nh)
		return 1;
	double mb = median(bare, nb), mh = median(harness, nh);
	printf("%s %d %.0f %.0f %.1f\n", argv[2], nh, mb, mh, 100.0 * (mh - mb) / mb);
	return 0;
}
