/* The arm64 interrupt test, live: a VM with the vGIC the host offers (v3,
 * else v2), two vCPUs on two threads, and the guest of irq_guest_arm64.c.
 * It proves what the smoke test cannot: that the timer's interrupt and an
 * IPI reach a guest (a Raspberry Pi 5 whose device tree lacked the vGIC
 * maintenance interrupt ran the smoke test, but every real guest hung).
 * It also yields the exit latencies (medians, in ns). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/kvm.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "irq_guest.h"
#include "kvm_arm64.h"
#include "probe.h"

#define IRQ_SAMPLES 64
/* At least 5 s (the guest runs two vCPUs, a timer and an IPI), more where
 * the host is emulated (struct kvm_live's limit_s). */
#define IRQ_DEADLINE_MIN_S 5
#define KICK_SIGNAL SIGUSR1

struct vcpu_thread {
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	int started;
	int finished;                 /* __atomic */
	unsigned stage;               /* last IRQ_R_STAGE value */
	int shutdown;                 /* PSCI SYSTEM_OFF reached (vCPU 0) */
	char error[160];              /* an unexpected exit or ioctl failure */
	struct irq_results *res;
};

struct irq_results {
	int stop;                     /* __atomic: the host wants the threads out */
	uint64_t value[IRQ_R_COUNT];
	int seen[IRQ_R_COUNT];
	uint64_t fault[3];
	int faulted;
	double hvc[IRQ_SAMPLES], mmio[IRQ_SAMPLES], vgic[IRQ_SAMPLES];
	size_t hvc_n, mmio_n, vgic_n;
};

static void on_kick(int sig)
{
	(void)sig; /* only makes KVM_RUN return EINTR */
}

static void add_sample(double *v, size_t *n, uint64_t ticks)
{
	if (*n < IRQ_SAMPLES)
		v[(*n)++] = (double)ticks;
}

/* One report from the guest; returns 1 when this vCPU is to stop. */
static int take_report(struct vcpu_thread *t, uint64_t addr, const uint8_t *data, unsigned len, int is_write)
{
	struct irq_results *r = t->res;
	if (addr < IRQ_GUEST_REPORT || addr >= IRQ_GUEST_REPORT + 8 * IRQ_R_COUNT || (addr & 7) || len != 8) {
		snprintf(t->error, sizeof(t->error), "unexpected MMIO %s at 0x%llx (len %u)",
			 is_write ? "write" : "read", (unsigned long long)addr, len);
		return 1;
	}
	unsigned code = (unsigned)((addr - IRQ_GUEST_REPORT) / 8);
	if (!is_write)
		return code != IRQ_R_BENCH;   /* the timed load; its data stays 0 */
	uint64_t v;
	memcpy(&v, data, sizeof(v));
	switch (code) {
	case IRQ_R_STAGE: t->stage = (unsigned)v; break;
	case IRQ_R_HVC: add_sample(r->hvc, &r->hvc_n, v); break;
	case IRQ_R_MMIO: add_sample(r->mmio, &r->mmio_n, v); break;
	case IRQ_R_VGIC: add_sample(r->vgic, &r->vgic_n, v); break;
	case IRQ_R_FAULT: r->fault[0] = v; break;
	case IRQ_R_FAULT_ESR: r->fault[1] = v; break;
	case IRQ_R_FAULT_ELR:
		r->fault[2] = v;
		r->faulted = 1;
		return 1;
	default:
		r->value[code] = v;
		r->seen[code] = 1;
	}
	return 0;
}

static void *vcpu_main(void *arg)
{
	struct vcpu_thread *t = arg;
	while (!__atomic_load_n(&t->res->stop, __ATOMIC_SEQ_CST)) {
		if (ioctl(t->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(t->error, sizeof(t->error), "KVM_RUN: %s", strerror(errno));
			break;
		}
		struct kvm_run *run = t->run;
		if (run->exit_reason == KVM_EXIT_MMIO) {
			if (take_report(t, run->mmio.phys_addr, run->mmio.data, run->mmio.len, run->mmio.is_write))
				break;
			continue;
		}
		if (run->exit_reason == KVM_EXIT_SYSTEM_EVENT &&
		    run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN) {
			t->shutdown = 1;
			break;
		}
		snprintf(t->error, sizeof(t->error), "unexpected exit reason %u", run->exit_reason);
		break;
	}
	__atomic_store_n(&t->finished, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void deadline_in(struct timespec *ts, uint64_t ns)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += (time_t)(ns / 1000000000ull);
	ts->tv_nsec += (long)(ns % 1000000000ull);
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Gets a vCPU thread out of KVM_RUN and joins it: immediate_exit covers a
 * thread between two KVM_RUNs, the signal one inside KVM_RUN.  Bounded:
 * KVM_RUN returns on a signal, so this takes one round in practice. */
static void stop_thread(struct vcpu_thread *t)
{
	if (!t->started)
		return;
	t->run->immediate_exit = 1;
	for (int tries = 0; tries < 200; tries++) {
		if (!__atomic_load_n(&t->finished, __ATOMIC_SEQ_CST))
			pthread_kill(t->thread, KICK_SIGNAL);
		struct timespec ts;
		deadline_in(&ts, 10000000ull);
		if (pthread_timedjoin_np(t->thread, NULL, &ts) == 0) {
			t->started = 0;
			return;
		}
	}
	pthread_detach(t->thread);   /* never seen; the probe exits soon after */
	t->started = 0;
}

static int set_attr(int fd, uint32_t group, uint64_t attr, const void *addr)
{
	struct kvm_device_attr a = { .group = group, .attr = attr, .addr = (uint64_t)(uintptr_t)addr };
	return ioctl(fd, KVM_SET_DEVICE_ATTR, &a);
}

/* The vGIC: v3 where KVM offers it, else v2, at the guest's addresses. */
static int create_vgic(int vm, int *version, char *err, size_t err_size)
{
	struct kvm_create_device dev = { .type = KVM_DEV_TYPE_ARM_VGIC_V3 };
	int v3_errno = 0;
	if (ioctl(vm, KVM_CREATE_DEVICE, &dev) == 0) {
		uint64_t dist = IRQ_GICD, redist = IRQ_GICR;
		if (set_attr(dev.fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, &dist) ||
		    set_attr(dev.fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, &redist)) {
			snprintf(err, err_size, "vGICv3 addresses: %s", strerror(errno));
			close(dev.fd);
			return -1;
		}
		*version = 3;
		return dev.fd;
	}
	v3_errno = errno;
	dev.type = KVM_DEV_TYPE_ARM_VGIC_V2;
	if (ioctl(vm, KVM_CREATE_DEVICE, &dev) == 0) {
		uint64_t dist = IRQ_GICD, cpu = IRQ_GICC;
		if (set_attr(dev.fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V2_ADDR_TYPE_DIST, &dist) ||
		    set_attr(dev.fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V2_ADDR_TYPE_CPU, &cpu)) {
			snprintf(err, err_size, "vGICv2 addresses: %s", strerror(errno));
			close(dev.fd);
			return -1;
		}
		*version = 2;
		return dev.fd;
	}
	snprintf(err, err_size, "KVM_CREATE_DEVICE refused a vGICv3 (%s) and a vGICv2 (%s)",
		 strerror(v3_errno), strerror(errno));
	return -2;
}

static double ticks_to_us(double ticks, uint64_t freq)
{
	return ticks * 1e6 / (double)freq;
}

static void add_latency(struct kvm_live *out, const char *id, double *v, size_t n, uint64_t freq,
			const char *what)
{
	if (!n)
		return;
	double median = kvm_median(v, n);
	char detail[200];
	snprintf(detail, sizeof(detail), "%s: median of %zu, counter at %.1f MHz", what, n, (double)freq / 1e6);
	kvm_add_measurement(out, id, median * 1e9 / (double)freq, "ns", (unsigned)n, detail);
}

/* What the guest said, into out. */
static void judge(struct kvm_live *out, const struct irq_results *r, const struct vcpu_thread *t,
		  uint64_t freq, const char *cause)
{
	const char *where = irq_stage_name(t[0].stage);
	char fault[160] = "";
	if (r->faulted)
		snprintf(fault, sizeof(fault), "; the guest took exception slot %llu (ESR 0x%llx at 0x%llx)",
			 (unsigned long long)r->fault[0], (unsigned long long)r->fault[1],
			 (unsigned long long)r->fault[2]);
	if (r->seen[IRQ_R_TIMER] && r->value[IRQ_R_TIMER_ID] == IRQ_TIMER_PPI) {
		out->timer_ok = 1;
		out->timer_us = ticks_to_us((double)r->value[IRQ_R_TIMER], freq);
		snprintf(out->timer_detail, sizeof(out->timer_detail),
			 "%s: the EL1 virtual timer's PPI %d woke vCPU 0 from WFI, %.0f us after its deadline",
			 out->irq_chip, IRQ_TIMER_PPI, out->timer_us);
	} else {
		out->timer_ok = 0;
		if (r->seen[IRQ_R_TIMER])
			snprintf(out->timer_detail, sizeof(out->timer_detail),
				 "%s: vCPU 0 acknowledged INTID %llu instead of the timer's PPI %d%s",
				 out->irq_chip, (unsigned long long)r->value[IRQ_R_TIMER_ID], IRQ_TIMER_PPI, fault);
		else
			snprintf(out->timer_detail, sizeof(out->timer_detail), "%s: no timer interrupt; vCPU 0 stopped %s (%s)%s",
				 out->irq_chip, where, cause, fault);
	}
	if (r->seen[IRQ_R_IPI] && r->value[IRQ_R_IPI_ID] == IRQ_SGI) {
		out->ipi_ok = 1;
		out->ipi_us = ticks_to_us((double)r->value[IRQ_R_IPI], freq);
		snprintf(out->ipi_detail, sizeof(out->ipi_detail),
			 "%s: vCPU 1 (started by PSCI CPU_ON) acknowledged SGI %d from vCPU 0 %.0f us after it was sent",
			 out->irq_chip, IRQ_SGI, out->ipi_us);
	} else if (!out->timer_ok) {
		out->ipi_ok = -1;
		snprintf(out->ipi_detail, sizeof(out->ipi_detail), "not tried: the timer interrupt came first");
	} else {
		out->ipi_ok = 0;
		if (r->seen[IRQ_R_CPU_ON] && r->value[IRQ_R_CPU_ON])
			snprintf(out->ipi_detail, sizeof(out->ipi_detail), "PSCI CPU_ON for vCPU 1 returned %lld",
				 (long long)r->value[IRQ_R_CPU_ON]);
		else
			snprintf(out->ipi_detail, sizeof(out->ipi_detail),
				 "%s: vCPU 1 did not report SGI %d (vCPU 1 %s; vCPU 0 stopped %s; %s)%s", out->irq_chip,
				 IRQ_SGI, t[1].stage >= IRQ_S_V1_READY ? "was waiting for it"
					  : t[1].stage ? "came up but did not finish its set-up" : "never ran",
				 where, cause, fault);
	}
}

int kvm_host_irq(int kvm_fd, struct kvm_live *out)
{
	int vm = -1, gic = -1, version = 0;
	void *mem = MAP_FAILED;
	long run_size = 0;
	struct irq_results res;
	struct vcpu_thread t[2];
	struct sigaction sa, old_sa;
	int have_old_sa = 0;
	char err[200] = "";
	memset(&res, 0, sizeof(res));
	memset(t, 0, sizeof(t));
	t[0].fd = t[1].fd = -1;
	t[0].run = t[1].run = MAP_FAILED;
	t[0].res = t[1].res = &res;
	out->irq_ran = 1;
	out->timer_ok = out->ipi_ok = -1;
	snprintf(out->irq_chip, sizeof(out->irq_chip), "no vGIC");

	uint64_t freq;
	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(freq));
	if (!freq)
		freq = 1;

	vm = kvm_arm64_create_vm(kvm_fd);
	if (vm < 0) {
		snprintf(err, sizeof(err), "KVM_CREATE_VM: %s", strerror(errno));
		goto fail;
	}
	mem = mmap(NULL, IRQ_GUEST_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		snprintf(err, sizeof(err), "mmap: %s", strerror(errno));
		goto fail;
	}
	/* The deadline 1 ms ahead: long enough that vCPU 0 is in WFI when it
	 * passes, short enough not to matter. */
	struct a64 *prog = kq_xmalloc(sizeof(*prog));
	uint64_t vcpu1_entry = 0;
	struct irq_guest_params params = { .gic_version = 3, .timer_delta = freq / 1000, .samples = IRQ_SAMPLES };

	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = IRQ_GUEST_MEM,
		.userspace_addr = (unsigned long)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		snprintf(err, sizeof(err), "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
		free(prog);
		goto fail;
	}
	struct kvm_vcpu_init init;
	memset(&init, 0, sizeof(init));
	if (ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init) < 0) {
		snprintf(err, sizeof(err), "KVM_ARM_PREFERRED_TARGET: %s", strerror(errno));
		free(prog);
		goto fail;
	}
	run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	/* Both vCPUs exist before the vGIC is created and initialised, as
	 * QEMU does it; vCPU 1 starts powered off, for CPU_ON. */
	for (int i = 0; i < 2; i++) {
		t[i].fd = ioctl(vm, KVM_CREATE_VCPU, i);
		if (t[i].fd < 0) {
			snprintf(err, sizeof(err), "KVM_CREATE_VCPU %d: %s", i, strerror(errno));
			free(prog);
			goto fail;
		}
		struct kvm_vcpu_init vi = init;
		vi.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
		if (i)
			vi.features[0] |= 1u << KVM_ARM_VCPU_POWER_OFF;
		if (ioctl(t[i].fd, KVM_ARM_VCPU_INIT, &vi) < 0) {
			snprintf(err, sizeof(err), "KVM_ARM_VCPU_INIT %d: %s", i, strerror(errno));
			free(prog);
			goto fail;
		}
		if (run_size < (long)sizeof(struct kvm_run) ||
		    (t[i].run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, t[i].fd, 0)) ==
			    MAP_FAILED) {
			snprintf(err, sizeof(err), "mapping vCPU %d's kvm_run: %s", i, strerror(errno));
			free(prog);
			goto fail;
		}
	}
	gic = create_vgic(vm, &version, err, sizeof(err));
	if (gic < 0) {
		out->irq_no_chip = gic == -2;
		free(prog);
		goto fail;
	}
	snprintf(out->irq_chip, sizeof(out->irq_chip), "vGICv%d", version);
	if (set_attr(gic, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL)) {
		snprintf(err, sizeof(err), "vGICv%d KVM_DEV_ARM_VGIC_CTRL_INIT: %s", version, strerror(errno));
		free(prog);
		goto fail;
	}
	params.gic_version = version;
	if (irq_guest_build(prog, &params, &vcpu1_entry)) {
		snprintf(err, sizeof(err), "the guest program does not assemble (a bug)");
		free(prog);
		goto fail;
	}
	memcpy(mem, prog->w, prog->n * 4);
	__builtin___clear_cache((char *)mem, (char *)mem + prog->n * 4);
	free(prog);
	uint64_t pc = 0;
	struct kvm_one_reg reg = {
		.id = KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |
		      (offsetof(struct kvm_regs, regs.pc) / sizeof(uint32_t)),
		.addr = (unsigned long)&pc,
	};
	if (ioctl(t[0].fd, KVM_SET_ONE_REG, &reg) < 0) {
		snprintf(err, sizeof(err), "KVM_SET_ONE_REG(pc): %s", strerror(errno));
		goto fail;
	}

	/* The VM's first KVM_RUN maps the vGIC into the guest's address space,
	 * here on this thread before the vCPU threads start: immediate_exit
	 * returns at once, after that first-run set-up.  Two vCPUs entering
	 * their first KVM_RUN together race on some kernels (Debian's 6.1
	 * marks the distributor ready before its MMIO region is registered),
	 * and the loser's first GICD write then exits to user space as plain
	 * MMIO.  QEMU would ignore that write; the test would fail on it.
	 * A kernel without immediate_exit (before 4.11) would run the guest
	 * here instead, so it is left out there. */
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) > 0) {
		t[0].run->immediate_exit = 1;
		int first = ioctl(t[0].fd, KVM_RUN, 0);
		if (first == 0 || errno != EINTR) {
			snprintf(err, sizeof(err), "the first KVM_RUN (mapping the vGIC): %s",
				 first == 0 ? "returned 0, not immediate_exit's EINTR" : strerror(errno));
			goto fail;
		}
		t[0].run->immediate_exit = 0;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_kick;
	sigaction(KICK_SIGNAL, &sa, &old_sa);
	have_old_sa = 1;
	uint64_t start = kq_now_ns();
	for (int i = 0; i < 2; i++) {
		if (pthread_create(&t[i].thread, NULL, vcpu_main, &t[i])) {
			snprintf(err, sizeof(err), "pthread_create: %s", strerror(errno));
			break;
		}
		t[i].started = 1;
	}
	if (t[0].started && t[1].started) {
		struct timespec ts;
		unsigned limit_s = out->limit_s > IRQ_DEADLINE_MIN_S ? out->limit_s : IRQ_DEADLINE_MIN_S;
		deadline_in(&ts, limit_s * 1000000000ull);
		if (pthread_timedjoin_np(t[0].thread, NULL, &ts) == 0)
			t[0].started = 0;
	}
	double took_ms = (double)(kq_now_ns() - start) / 1e6;
	__atomic_store_n(&res.stop, 1, __ATOMIC_SEQ_CST);
	int timed_out = t[0].started;
	stop_thread(&t[0]);
	stop_thread(&t[1]);
	if (!err[0]) {
		if (timed_out)
			snprintf(err, sizeof(err), "the guest had not finished after %.1f s", took_ms / 1e3);
		else if (t[0].error[0])
			snprintf(err, sizeof(err), "vCPU 0: %s", t[0].error);
		else if (t[1].error[0])
			snprintf(err, sizeof(err), "vCPU 1: %s", t[1].error);
		else
			snprintf(err, sizeof(err), "in %.1f ms", took_ms);
	}
	judge(out, &res, t, freq, err);
	char hvc_what[120];
	uint64_t psci = res.value[IRQ_R_PSCI_VERSION];
	snprintf(hvc_what, sizeof(hvc_what),
		 "an HVC that KVM answers in the kernel (PSCI_VERSION: %llu.%llu), round trip seen by the guest",
		 (unsigned long long)(psci >> 16) & 0x7fff, (unsigned long long)psci & 0xffff);
	add_latency(out, "kvm.exit.hvc", res.hvc, res.hvc_n, freq, hvc_what);
	add_latency(out, "kvm.exit.mmio_user", res.mmio, res.mmio_n, freq,
		    "a load that exits to user space (KVM_EXIT_MMIO) and back");
	add_latency(out, "kvm.exit.mmio_vgic", res.vgic, res.vgic_n, freq,
		    "a load of a vGIC distributor register (GICD_IIDR), emulated in the kernel");
	if (out->timer_ok == 1) {
		double v = out->timer_us * 1e3;
		kvm_add_measurement(out, "kvm.irq.timer_latency", v, "ns", 1,
				    "virtual timer deadline to vCPU 0's IRQ handler");
	}
	if (out->ipi_ok == 1) {
		double v = out->ipi_us * 1e3;
		kvm_add_measurement(out, "kvm.irq.ipi_latency", v, "ns", 1, "SGI sent by vCPU 0 to vCPU 1's IRQ handler");
	}
	goto done;

fail:
	/* The guest never ran: the reason is the set-up step that failed. */
	out->timer_ok = 0;
	snprintf(out->timer_detail, sizeof(out->timer_detail), "%s", err);
	snprintf(out->ipi_detail, sizeof(out->ipi_detail), "not tried: the VM could not be set up");
done:
	if (have_old_sa)
		sigaction(KICK_SIGNAL, &old_sa, NULL);
	for (int i = 0; i < 2; i++) {
		if (t[i].run != MAP_FAILED)
			munmap(t[i].run, (size_t)run_size);
		if (t[i].fd >= 0)
			close(t[i].fd);
	}
	if (gic >= 0)
		close(gic);
	if (mem != MAP_FAILED)
		munmap(mem, IRQ_GUEST_MEM);
	if (vm >= 0)
		close(vm);
	return 0;
}
