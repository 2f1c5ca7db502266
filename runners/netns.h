/* A network namespace the runner creates for tap networking, so that the
 * guest's tap device (and vhost-net) are measured without touching the
 * host's own interfaces.  Inside: lo, and a tap device with the host side
 * at 10.99.0.1/24; the guest is 10.99.0.2.  Needs root and /dev/net/tun. */
#ifndef KQ_NETNS_H
#define KQ_NETNS_H

#include "../lib/util.h"

#define NETNS_TAP "kqtap0"
#define NETNS_HOST_IP "10.99.0.1"
#define NETNS_GUEST_CIDR "10.99.0.2/24"

struct netns {
	char name[32];
	int created;
};

int netns_create(struct netns *n, struct kq_err *err);
void netns_destroy(struct netns *n);
/* In a child before exec: join the namespace.  0 or -1. */
int netns_enter(const char *name);

#endif
