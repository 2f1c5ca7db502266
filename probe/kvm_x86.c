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
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
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
	unsigned limit_s = out->limit_s ? out->limit_s : KVM_TEST_LIMIT_S;
	struct itimerval timer = { .it_value = { .tv_sec = limit_s } }, old_timer;
	setitimer(ITIMER_REAL, &timer, &old_timer);
	int saw_io = 0;
	for (int i = 0; i < 8; i++) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				snprintf(out->smoke_detail, sizeof(out->smoke_detail),
					 "KVM_RUN: %s (the guest did not exit within %u s)", strerror(errno), limit_s);
			else
				snprintf(out->smoke_detail, sizeof(out->smoke_detail), "KVM_RUN: %s", strerror(errno));
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
	kvm_close_vm(vm, vcpu, mem, GUEST_MEM, run, run_size);
	out->smoke_us = (double)(kq_now_ns() - start) / 1e3;
	return rc;
}

int kvm_host_vgic(int kvm_fd, struct kvm_live *out)
{
	(void)kvm_fd;
	(void)out;
	return -ENOTSUP;
}

/* The x86 interrupt test: KVM's in-kernel irqchip (PIC, IOAPIC, LAPIC)
 * and a 32-bit flat guest (segment caches set through KVM_SET_SREGS, and a
 * GDT in memory for the interrupt gate's and IRET's selector loads)
 * that arms its LAPIC timer one-shot, halts with interrupts on and takes
 * the timer's vector through an IDT.  On the way it yields two exit
 * latencies: an OUT to a port nobody emulates (to user space and back) and
 * an IN from the in-kernel PIC's mask register (answered in the kernel).
 * Times are taken on the host between exits.  The LAPIC timer, not the
 * PIT: KVM_CREATE_PIT2 starts a kernel thread, which costs milliseconds. */
#define IRQ_ENTRY 0x1000
#define IRQ_FLAG 0x1800
#define IRQ_IDT 0x2000
#define IRQ_GDT 0x3000
#define IRQ_STACK 0x8000
#define IRQ_VECTOR 0x40
#define LAPIC 0xfee00000u
#define PORT_IRQ 0x11      /* the handler ran */
#define PORT_DONE 0x12
#define PORT_ARMED 0x13    /* the timer starts next; the guest halts after it */
#define PORT_USER 0x14     /* one exit to user space per OUT */
#define PORT_MARK 0x15     /* around the in-kernel reads */
#define USER_EXITS 32
#define KERNEL_READS 500
#define TIMER_COUNT 200000 /* KVM's APIC bus runs at 1 GHz: 200 us with divide-by-1 */
#define TIMER_NS 200000.0

static size_t put32(unsigned char *g, size_t n, uint32_t v)
{
	memcpy(g + n, &v, 4);
	return n + 4;
}

/* 32-bit code, hand-assembled (Intel SDM vol. 2). */
static size_t irq_guest(unsigned char *g, uint32_t base)
{
	size_t n = 0;
#define B(...)                                                                 \
	do {                                                                   \
		const unsigned char b_[] = { __VA_ARGS__ };                    \
		memcpy(g + n, b_, sizeof(b_));                                 \
		n += sizeof(b_);                                               \
	} while (0)
#define MOV_MEM32(addr, value) /* mov dword [addr], value */                  \
	do {                                                                   \
		B(0xc7, 0x05);                                                 \
		n = put32(g, n, (addr));                                       \
		n = put32(g, n, (value));                                      \
	} while (0)
	B(0xfa);                                           /* cli */
	MOV_MEM32(LAPIC + 0x0f0, 0x1ff);                   /* SVR: APIC on, spurious 0xff */
	B(0xb9);                                           /* mov ecx, USER_EXITS */
	n = put32(g, n, USER_EXITS);
	B(0xe6, PORT_USER, 0xe2, 0xfc);                    /* 1: out PORT_USER, al; loop 1b */
	B(0xe6, PORT_MARK);
	B(0xb9);                                           /* mov ecx, KERNEL_READS */
	n = put32(g, n, KERNEL_READS);
	B(0xe4, 0x21, 0xe2, 0xfc);                         /* 1: in al, 0x21; loop 1b */
	B(0xe6, PORT_MARK);
	MOV_MEM32(LAPIC + 0x3e0, 0xb);                     /* divide by 1 */
	MOV_MEM32(LAPIC + 0x320, IRQ_VECTOR);              /* LVT timer: one-shot, unmasked */
	B(0xe6, PORT_ARMED);
	MOV_MEM32(LAPIC + 0x380, TIMER_COUNT);             /* initial count: it runs */
	B(0xfb);                                           /* sti */
	B(0xf4);                                           /* 1: hlt */
	B(0x80, 0x3d);                                     /* cmp byte [flag], 1 */
	n = put32(g, n, IRQ_FLAG);
	B(0x01);
	B(0x75, 0xf6);                                     /* jne 1b */
	B(0xfa, 0xe6, PORT_DONE, 0xf4);                    /* cli; out PORT_DONE, al; hlt */
	uint32_t handler = base + (uint32_t)n;
	B(0x50, 0xe6, PORT_IRQ);                           /* push eax; out PORT_IRQ, al */
	B(0xc6, 0x05);                                     /* mov byte [flag], 1 */
	n = put32(g, n, IRQ_FLAG);
	B(0x01);
	MOV_MEM32(LAPIC + 0x0b0, 0);                       /* EOI */
	B(0x58, 0xcf);                                     /* pop eax; iret */
#undef MOV_MEM32
#undef B
	return handler;
}

int kvm_host_irq(int kvm_fd, struct kvm_live *out)
{
	int vm = -1, vcpu = -1;
	void *mem = MAP_FAILED;
	struct kvm_run *run = MAP_FAILED;
	long run_size = 0;
	char err[200] = "";
	out->irq_ran = 1;
	out->timer_ok = 0;
	out->ipi_ok = -1;
	snprintf(out->irq_chip, sizeof(out->irq_chip), "in-kernel LAPIC");
	snprintf(out->ipi_detail, sizeof(out->ipi_detail),
		 "not tried: the x86 test runs one vCPU (its LAPIC timer)");

	vm = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm < 0) {
		snprintf(err, sizeof(err), "KVM_CREATE_VM: %s", strerror(errno));
		goto done;
	}
	ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000ul);
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0) {
		out->irq_no_chip = 1;
		snprintf(err, sizeof(err), "KVM_CREATE_IRQCHIP: %s", strerror(errno));
		goto done;
	}
	mem = mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		snprintf(err, sizeof(err), "mmap: %s", strerror(errno));
		goto done;
	}
	uint32_t handler = (uint32_t)irq_guest((unsigned char *)mem + IRQ_ENTRY, IRQ_ENTRY);
	/* Null, flat code (0x08), flat data (0x10). */
	static const uint64_t gdt[] = { 0, 0x00cf9a000000ffffull, 0x00cf92000000ffffull };
	memcpy((char *)mem + IRQ_GDT, gdt, sizeof(gdt));
	/* A 32-bit interrupt gate for the timer's vector. */
	unsigned char *gate = (unsigned char *)mem + IRQ_IDT + IRQ_VECTOR * 8;
	uint16_t lo = (uint16_t)handler, sel = 0x08, hi = (uint16_t)(handler >> 16);
	memcpy(gate, &lo, 2);
	memcpy(gate + 2, &sel, 2);
	gate[4] = 0;
	gate[5] = 0x8e;
	memcpy(gate + 6, &hi, 2);
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = GUEST_MEM,
		.userspace_addr = (unsigned long)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		snprintf(err, sizeof(err), "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
		goto done;
	}
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vcpu < 0 || run_size < (long)sizeof(*run) ||
	    (run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0)) == MAP_FAILED) {
		snprintf(err, sizeof(err), "creating the vCPU: %s", strerror(errno));
		goto done;
	}
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) {
		snprintf(err, sizeof(err), "KVM_GET_SREGS: %s", strerror(errno));
		goto done;
	}
	/* Flat 32-bit protected mode straight from the segment caches. */
	struct kvm_segment code = { .base = 0, .limit = 0xffffffff, .selector = 0x08, .type = 0xb,
				    .present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1 };
	struct kvm_segment data = code;
	data.selector = 0x10;
	data.type = 0x3;
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.cr0 |= 1;
	sregs.gdt.base = IRQ_GDT;
	sregs.gdt.limit = 3 * 8 - 1;
	sregs.idt.base = IRQ_IDT;
	sregs.idt.limit = 256 * 8 - 1;
	memset(&regs, 0, sizeof(regs));
	regs.rip = IRQ_ENTRY;
	regs.rsp = IRQ_STACK;
	regs.rflags = 0x2;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu, KVM_SET_REGS, &regs) < 0) {
		snprintf(err, sizeof(err), "setting registers: %s", strerror(errno));
		goto done;
	}

	/* Runs beside the smoke test, which owns SIGALRM and the process's
	 * interval timer: this thread's deadline is a timer of its own that
	 * signals this thread alone. */
	struct sigaction sa, old_sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGUSR2, &sa, &old_sa);
	struct sigevent sev;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGUSR2;
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	timer_t deadline;
	int have_deadline = timer_create(CLOCK_MONOTONIC, &sev, &deadline) == 0;
	if (!have_deadline) {
		snprintf(err, sizeof(err), "timer_create: %s", strerror(errno));
		sigaction(SIGUSR2, &old_sa, NULL);
		goto done;
	}
	unsigned limit_s = out->limit_s ? out->limit_s : KVM_TEST_LIMIT_S;
	struct itimerspec limit = { .it_value = { .tv_sec = limit_s } };
	timer_settime(deadline, 0, &limit, NULL);
	double user[USER_EXITS];
	size_t users = 0, marks = 0;
	uint64_t last_user = 0, mark0 = 0, kernel_ns = 0, armed = 0, start = kq_now_ns();
	int done = 0;
	for (int i = 0; i < USER_EXITS + 16 && !done; i++) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR && armed)
				snprintf(err, sizeof(err), "KVM_RUN: %s (no timer interrupt within %u s)", strerror(errno),
					 limit_s);
			else
				snprintf(err, sizeof(err), "KVM_RUN: %s%s", strerror(errno),
					 errno == EINTR ? " (the guest stalled)" : "");
			break;
		}
		uint64_t now = kq_now_ns();
		if (run->exit_reason != KVM_EXIT_IO || run->io.direction != KVM_EXIT_IO_OUT) {
			snprintf(err, sizeof(err), "unexpected exit reason %u%s", run->exit_reason,
				 run->exit_reason == KVM_EXIT_HLT ? " (KVM_EXIT_HLT: the halt was not handled in the kernel)" : "");
			break;
		}
		switch (run->io.port) {
		case PORT_USER:
			if (last_user && users < USER_EXITS)
				user[users++] = (double)(now - last_user);
			last_user = now;
			break;
		case PORT_MARK:
			if (marks++ == 0)
				mark0 = now;
			else
				kernel_ns = now - mark0;
			break;
		case PORT_ARMED:
			armed = now;
			break;
		case PORT_IRQ:
			out->timer_ok = 1;
			out->timer_us = armed ? ((double)(now - armed) - TIMER_NS) / 1e3 : 0;
			break;
		case PORT_DONE:
			done = 1;
			break;
		default:
			snprintf(err, sizeof(err), "unexpected OUT to port 0x%x", run->io.port);
			i = USER_EXITS + 16;
		}
	}
	timer_delete(deadline);
	sigaction(SIGUSR2, &old_sa, NULL);
	if (users)
		kvm_add_measurement(out, "kvm.exit.pio_user", kvm_median(user, users), "ns", (unsigned)users,
				    "an OUT to a port only user space handles (KVM_EXIT_IO) and back, timed on the host");
	if (kernel_ns)
		kvm_add_measurement(out, "kvm.exit.pio_kernel", (double)kernel_ns / KERNEL_READS, "ns", KERNEL_READS,
				    "an IN from the in-kernel PIC's mask register, answered in the kernel (mean of the run)");
	if (out->timer_ok && out->timer_us > 0)
		kvm_add_measurement(out, "kvm.irq.timer_latency", out->timer_us * 1e3, "ns", 1,
				    "the LAPIC timer's 200 us count to the guest's handler, timed on the host");
	if (out->timer_ok)
		snprintf(out->timer_detail, sizeof(out->timer_detail),
			 "in-kernel LAPIC: its one-shot timer (vector 0x%x) woke the halted 32-bit guest %.0f us after "
			 "its 200 us count (%.1f ms in all)",
			 IRQ_VECTOR, out->timer_us > 0 ? out->timer_us : 0, (double)(kq_now_ns() - start) / 1e6);
done:
	if (!out->timer_ok)
		snprintf(out->timer_detail, sizeof(out->timer_detail), "%s: %s", out->irq_chip,
			 err[0] ? err : "the guest ended without its timer interrupt");
	kvm_close_vm(vm, vcpu, mem, GUEST_MEM, run, run_size);
	return 0;
}
