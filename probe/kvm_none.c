/* Hosts other than aarch64 and x86_64: no smoke test, no vGIC. */
#include <errno.h>

#include "probe.h"

int kvm_host_smoke(int kvm_fd, struct kvm_live *out)
{
	(void)kvm_fd;
	(void)out;
	return -ENOTSUP;
}

int kvm_host_vgic(int kvm_fd, struct kvm_live *out)
{
	(void)kvm_fd;
	(void)out;
	return -ENOTSUP;
}

int kvm_host_irq(int kvm_fd, struct kvm_live *out)
{
	(void)kvm_fd;
	(void)out;
	return -ENOTSUP;
}
