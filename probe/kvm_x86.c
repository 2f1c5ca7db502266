/* The x86 smoke test: a real-mode guest that writes 0x42 to port 0x10 and
 * halts.  Two exits prove that KVM created a VM and a vCPU, mapped guest
 * memory, and ran guest instructions. */
#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>

#include "probe.h"

#define GUEST_MEM 0x10000
#define GUEST_ENTRY 0x1000
#define SMOKE_PORT 0x10
#define SMOKE_VALUE 0x42

static const unsigned char guest_code[] = {
	0xb0, SMOKE_VALUE,  /* mov al, 0x42 */
	0xe6, SMOKE_PORT,   /* out 0x10, al */
	0xf4,               /* hlt */
};

static void on_alarm(int sig)
{
	(void)sig; /* only interrupts KVM_RUN */
}

int kvm_host_smoke(int kvm_fd, struct kvm_live *out)
{
	uint64_t start = kq_now_ns();
	int vm = -1, vcpu = -1, rc = -1;
	void *mem = MAP_FAILED;
	struct kvm_run *run = MAP_FAILED;
	long run_size = 0;
	out->smoke_ran = 1;
	out->smoke_ok = 0;

	vm = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm < 0) {
		snprintf(out->smoke_detail, sizeof(out->smoke_detail), "KVM_CREATE_VM: %s", strerror(errno));
		goto done;
	}
	mem = mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		snprintf(out->smoke_detail, sizeof(out->smoke_detail), "mmap: %s", strerror(errno));
		goto done;
	}
	memcpy((char *)mem + GUEST_ENTRY, guest_code, sizeof(guest_code));
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = GUEST_MEM,
		.userspace_addr = (unsigned long)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		snprintf(out->smoke_detail, sizeof(out->smoke_detail), "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
		goto done;
	}
	/* Intel needs a TSS area for real mode on older CPUs; harmless elsewhere. */
	ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000ul);
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0) {
		snprintf(out->smoke_detail, sizeof(out->smoke_detail), "KVM_CREATE_VCPU: %s", strerror(errno));
		goto done;
	}
	run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (long)sizeof(*run)) {
		snprintf(out->smoke_detail, sizeof(out->smoke_detail), "KVM_GET_VCPU_MMAP_SIZE: %ld", run_size);
		goto done;
	}
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED) {
		snprintf(out->smoke_detail, sizeof(out->smoke_detail), "mmap(vcpu): %s", strerror(errno));
		goto done;
	}
	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) {
		snprintf(out->smoke_detail, sizeof(out->smoke_detail), "KVM_GET_SREGS: %s", strerror(errno));
		goto done;
	}
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) {
		snprintf(out->smoke_detail, sizeof(out->smoke_detail), "KVM_SET_SREGS: %s", strerror(errno));
		goto done;
	}
	struct kvm_regs regs;
	memset(&regs, 0, sizeof(regs));
	regs.rip = GUEST_ENTRY;
	regs.rflags = 0x2;
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) {
		snprintf(out->smoke_detail, sizeof(out->smoke_detail), "KVM_SET_REGS: %s", strerror(errno));
		goto done;
	}

	/* A guest that never exits must not hang the probe: SIGALRM without
	 * SA_RESTART makes KVM_RUN return EINTR. */
	struct sigaction sa, old_sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, &old_sa);
	struct itimerval timer = { .it_value = { .tv_sec = 2 } }, old_timer;
	setitimer(ITIMER_REAL, &timer, &old_timer);
	int saw_io = 0;
	for (int i = 0; i < 8; i++) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			snprintf(out->smoke_detail, sizeof(out->smoke_detail), "KVM_RUN: %s%s", strerror(errno),
				 errno == EINTR ? " (the guest did not exit within 2 s)" : "");
			break;
		}
		if (run->exit_reason == KVM_EXIT_IO) {
			unsigned char *data = (unsigned char *)run + run->io.data_offset;
			if (run->io.direction != KVM_EXIT_IO_OUT || run->io.port != SMOKE_PORT ||
			    run->io.size != 1 || run->io.data_offset >= (unsigned long)run_size ||
			    *data != SMOKE_VALUE) {
				snprintf(out->smoke_detail, sizeof(out->smoke_detail),
					 "unexpected I/O exit: port 0x%x size %u", run->io.port, run->io.size);
				break;
			}
			saw_io = 1;
			continue;
		}
		if (run->exit_reason == KVM_EXIT_HLT && saw_io) {
			rc = 0;
			break;
		}
		snprintf(out->smoke_detail, sizeof(out->smoke_detail), "unexpected exit reason %u%s",
			 run->exit_reason, saw_io ? " after the I/O exit" : " before the I/O exit");
		break;
	}
	struct itimerval off = { 0 };
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old_sa, NULL);
	(void)old_timer;
	if (rc == 0) {
		out->smoke_ok = 1;
		snprintf(out->smoke_detail, sizeof(out->smoke_detail),
			 "real-mode guest ran: out 0x%x <- 0x%x, then hlt (KVM_EXIT_IO, KVM_EXIT_HLT)",
			 SMOKE_PORT, SMOKE_VALUE);
	}
done:
	if (run != MAP_FAILED)
		munmap(run, (size_t)run_size);
	if (vcpu >= 0)
		close(vcpu);
	if (mem != MAP_FAILED)
		munmap(mem, GUEST_MEM);
	if (vm >= 0)
		close(vm);
	out->smoke_us = (double)(kq_now_ns() - start) / 1e3;
	return rc;
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
