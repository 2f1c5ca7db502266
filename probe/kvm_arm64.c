/* The arm64 smoke test: a guest at EL1 with the MMU off stores 0x42 to an
 * address outside its memory (an MMIO exit), then asks PSCI to power off
 * through HVC (a system-event exit).  Also which vGIC KVM can create. */
#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>

#include "kvm_arm64.h"
#include "probe.h"

#define GUEST_MEM 0x10000        /* one 64 KiB page even on 64K hosts */
#define SMOKE_MMIO 0x100000ul
#define SMOKE_VALUE 0x42

/* A64 encodings, by hand (ARM ARM C6.2). */
static const uint32_t guest_code[] = {
	0xd2800840, /* movz x0, #0x42 */
	0xd2a00201, /* movz x1, #0x10, lsl #16  -> 0x100000 */
	0xf9000020, /* str  x0, [x1] */
	0xd2800100, /* movz x0, #0x8 */
	0xf2b08000, /* movk x0, #0x8400, lsl #16 -> PSCI SYSTEM_OFF 0x84000008 */
	0xd4000002, /* hvc  #0 */
	0x14000000, /* b    . */
};

static void on_alarm(int sig)
{
	(void)sig;
}

int kvm_arm64_create_vm(int kvm_fd)
{
	/* Hosts whose IPA space is below the 40-bit default need it asked for. */
	long ipa = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_VM_IPA_SIZE);
	unsigned long type = ipa > 0 && ipa < 40 ? KVM_VM_TYPE_ARM_IPA_SIZE(ipa) : 0;
	return ioctl(kvm_fd, KVM_CREATE_VM, type);
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

	vm = kvm_arm64_create_vm(kvm_fd);
	if (vm < 0) {
		snprintf(out->smoke_detail, sizeof(out->smoke_detail), "KVM_CREATE_VM: %s", strerror(errno));
		goto done;
	}
	mem = mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		snprintf(out->smoke_detail, sizeof(out->smoke_detail), "mmap: %s", strerror(errno));
		goto done;
	}
	memcpy(mem, guest_code, sizeof(guest_code));
	__builtin___clear_cache((char *)mem, (char *)mem + sizeof(guest_code));
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = GUEST_MEM,
		.userspace_addr = (unsigned long)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		snprintf(out->smoke_detail, sizeof(out->smoke_detail), "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
		goto done;
	}
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0) {
		snprintf(out->smoke_detail, sizeof(out->smoke_detail), "KVM_CREATE_VCPU: %s", strerror(errno));
		goto done;
	}
	struct kvm_vcpu_init init;
	memset(&init, 0, sizeof(init));
	if (ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init) < 0) {
		snprintf(out->smoke_detail, sizeof(out->smoke_detail), "KVM_ARM_PREFERRED_TARGET: %s", strerror(errno));
		goto done;
	}
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	if (ioctl(vcpu, KVM_ARM_VCPU_INIT, &init) < 0) {
		snprintf(out->smoke_detail, sizeof(out->smoke_detail), "KVM_ARM_VCPU_INIT (target %u): %s",
			 init.target, strerror(errno));
		goto done;
	}
	uint64_t pc = 0;
	struct kvm_one_reg reg = {
		.id = KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |
		      (offsetof(struct kvm_regs, regs.pc) / sizeof(uint32_t)),
		.addr = (unsigned long)&pc,
	};
	if (ioctl(vcpu, KVM_SET_ONE_REG, &reg) < 0) {
		snprintf(out->smoke_detail, sizeof(out->smoke_detail), "KVM_SET_ONE_REG(pc): %s", strerror(errno));
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

	struct sigaction sa, old_sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, &old_sa);
	unsigned limit_s = out->limit_s ? out->limit_s : KVM_TEST_LIMIT_S;
	struct itimerval timer = { .it_value = { .tv_sec = limit_s } };
	setitimer(ITIMER_REAL, &timer, NULL);
	int saw_mmio = 0;
	for (int i = 0; i < 8; i++) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				snprintf(out->smoke_detail, sizeof(out->smoke_detail),
					 "KVM_RUN: %s (the guest did not exit within %u s)", strerror(errno), limit_s);
			else
				snprintf(out->smoke_detail, sizeof(out->smoke_detail), "KVM_RUN: %s", strerror(errno));
			break;
		}
		if (run->exit_reason == KVM_EXIT_MMIO) {
			uint64_t value = 0;
			memcpy(&value, run->mmio.data, sizeof(value));
			if (!run->mmio.is_write || run->mmio.phys_addr != SMOKE_MMIO || run->mmio.len != 8 ||
			    value != SMOKE_VALUE) {
				snprintf(out->smoke_detail, sizeof(out->smoke_detail),
					 "unexpected MMIO exit at 0x%llx (len %u, value 0x%llx)",
					 (unsigned long long)run->mmio.phys_addr, run->mmio.len,
					 (unsigned long long)value);
				break;
			}
			saw_mmio = 1;
			continue;
		}
		if (run->exit_reason == KVM_EXIT_SYSTEM_EVENT && saw_mmio &&
		    run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN) {
			rc = 0;
			break;
		}
		snprintf(out->smoke_detail, sizeof(out->smoke_detail), "unexpected exit reason %u%s",
			 run->exit_reason, saw_mmio ? " after the MMIO exit" : " before the MMIO exit");
		break;
	}
	struct itimerval off = { 0 };
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old_sa, NULL);
	if (rc == 0) {
		out->smoke_ok = 1;
		snprintf(out->smoke_detail, sizeof(out->smoke_detail),
			 "EL1 guest (target %u) ran: str 0x%x to 0x%lx (KVM_EXIT_MMIO), then PSCI SYSTEM_OFF "
			 "via hvc (KVM_EXIT_SYSTEM_EVENT)", init.target, SMOKE_VALUE, SMOKE_MMIO);
	}
done:
	kvm_close_vm(vm, vcpu, mem, GUEST_MEM, run, run_size);
	out->smoke_us = (double)(kq_now_ns() - start) / 1e3;
	return rc;
}

static int can_create(int vm, unsigned type)
{
	struct kvm_create_device dev = { .type = type, .flags = KVM_CREATE_DEVICE_TEST };
	return ioctl(vm, KVM_CREATE_DEVICE, &dev) == 0;
}

int kvm_host_vgic(int kvm_fd, struct kvm_live *out)
{
	int vm = kvm_arm64_create_vm(kvm_fd);
	if (vm < 0)
		return -errno;
	out->vgic_v3 = can_create(vm, KVM_DEV_TYPE_ARM_VGIC_V3);
	out->vgic_its = out->vgic_v3 && can_create(vm, KVM_DEV_TYPE_ARM_VGIC_ITS);
	out->vgic_v2 = can_create(vm, KVM_DEV_TYPE_ARM_VGIC_V2);
	close(vm);
	return 0;
}
