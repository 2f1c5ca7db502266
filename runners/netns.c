#define _GNU_SOURCE
#include "netns.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../lib/runcmd.h"
#include "../lib/stale.h"

static int ip(struct kq_err *err, char *const argv[])
{
	struct runcmd_result r;
	int e = runcmd(argv, 10000, 65536, NULL, &r);
	if (e)
		return kq_error(err, "cannot run ip (iproute2): %s", strerror(e));
	int rc = r.exit_code == 0 ? 0 : -1;
	if (rc) {
		struct kq_buf cmd;
		kq_buf_init(&cmd);
		for (char *const *a = argv; *a; a++)
			kq_buf_printf(&cmd, "%s%s", cmd.len ? " " : "", *a);
		kq_error(err, "%s: %s", cmd.data, kq_strtrim(r.err.data));
		kq_buf_free(&cmd);
	}
	runcmd_result_free(&r);
	return rc;
}

/* Namespaces of runs killed outright (SIGKILL) are deleted by the next. */
static void remove_stale(void)
{
	DIR *d = opendir("/run/netns");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		/* kvmqual-PID, or kvmqual-PID-N for a process's further ones. */
		if (!stale_run_name(de->d_name))
			continue;
		struct kq_err err;
		char *del[] = { "ip", "netns", "del", de->d_name, NULL };
		ip(&err, del);
	}
	if (d)
		closedir(d);
}

int netns_create(struct netns *n, struct kq_err *err)
{
	memset(n, 0, sizeof(*n));
	remove_stale();
	/* kvmqual ab keeps one namespace per arm: a sequence number after the
	 * first. */
	static int made;
	if (made++)
		snprintf(n->name, sizeof(n->name), "kvmqual-%ld-%d", (long)getpid(), made);
	else
		snprintf(n->name, sizeof(n->name), "kvmqual-%ld", (long)getpid());
	char *add[] = { "ip", "netns", "add", n->name, NULL };
	if (ip(err, add))
		return -1;
	n->created = 1;
	char *lo[] = { "ip", "-n", n->name, "link", "set", "lo", "up", NULL };
	char *tap[] = { "ip", "-n", n->name, "tuntap", "add", "dev", NETNS_TAP, "mode", "tap", NULL };
	char *addr[] = { "ip", "-n", n->name, "addr", "add", NETNS_HOST_IP "/24", "dev", NETNS_TAP, NULL };
	char *up[] = { "ip", "-n", n->name, "link", "set", NETNS_TAP, "up", NULL };
	if (ip(err, lo) || ip(err, tap) || ip(err, addr) || ip(err, up)) {
		netns_destroy(n);
		return -1;
	}
	return 0;
}

void netns_destroy(struct netns *n)
{
	if (!n->created)
		return;
	struct kq_err err;
	char *del[] = { "ip", "netns", "del", n->name, NULL };
	ip(&err, del);
	n->created = 0;
}

int netns_enter(const char *name)
{
	char path[128];
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = setns(fd, CLONE_NEWNET);
	close(fd);
	return rc;
}
