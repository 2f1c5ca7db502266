/* The interrupt test's guest, two vCPUs at EL1 with the MMU off, in the way
 * kvm-unit-tests proves the GIC, the timer and IPIs (but small enough to
 * hand-encode):
 *   vCPU 0 sets up the vGIC, starts vCPU 1 with PSCI CPU_ON, arms the
 *   virtual timer and waits in WFI for its PPI; then sends SGI 1 to vCPU 1,
 *   which acknowledges it and reports through an MMIO write; then vCPU 0
 *   times three kinds of exit (an HVC KVM answers, PSCI_VERSION; a load
 *   that exits to user space; a load of a vGIC register) and powers off.
 * Every result leaves the guest as a store to the report window (an MMIO
 * exit), never through RAM: the host's cached view of RAM the guest writes
 * with its caches off could be stale.  Times are virtual counter ticks,
 * read between ISBs as kvm-unit-tests' micro-bench does.
 *
 * Registers: x20 report window, x21 distributor, x22 this vCPU's CPU
 * interface (v2) or redistributor (v3), x23 shared data; x18 and x19 are
 * the IRQ handler's answer (counter at entry, INTID + 1); x9/x10 belong to
 * the handler. */
#include "irq_guest.h"

enum label {
	L_VCPU0, L_VCPU1, L_IRQ, L_FAULT, L_OFF,
	L_WAIT_READY, L_WAIT_DONE, L_HVC, L_MMIO, L_VGIC, L_PARK,
	L_WAIT0, L_WAIT0_DONE, L_WAIT1, L_WAIT1_DONE, L_NOT_TIMER,
};

#define R_REPORT 20
#define R_GICD 21
#define R_GICC 22
#define R_DATA 23

static void report(struct a64 *a, unsigned code, unsigned reg)
{
	a64_emit(a, a64_str(reg, R_REPORT, code * 8));
}

static void stage(struct a64 *a, unsigned s)
{
	a64_emit(a, a64_movz(1, s, 0));
	report(a, IRQ_R_STAGE, 1);
}

static void isb_counter(struct a64 *a, unsigned rt)
{
	a64_emit(a, A64_ISB);
	a64_emit(a, a64_mrs(rt, A64_CNTVCT_EL0));
	a64_emit(a, A64_ISB);
}

/* The 16 vectors of VBAR_EL1: "current EL, SPx, IRQ" (slot 5) goes to the
 * handler, every other slot reports a fault with its number. */
static void vectors(struct a64 *a, unsigned irq_label)
{
	a64_align(a, 0x800);
	for (unsigned slot = 0; slot < 16; slot++) {
		if (slot == 5) {
			a64_b(a, irq_label);
		} else {
			a64_emit(a, a64_movz(28, slot, 0));
			a64_b(a, L_FAULT);
		}
		a64_align(a, 0x80);
	}
}

static void set_bases(struct a64 *a, const struct irq_guest_params *p, unsigned cpu)
{
	a64_mov64(a, R_REPORT, IRQ_GUEST_REPORT);
	a64_mov64(a, R_GICD, IRQ_GICD);
	a64_mov64(a, R_GICC, p->gic_version == 3 ? IRQ_GICR + cpu * IRQ_GICR_STRIDE : IRQ_GICC);
	a64_mov64(a, R_DATA, IRQ_GUEST_DATA);
	a64_emit(a, a64_movz(19, 0, 0));
}

/* The distributor: enabled, both groups (v3: affinity routing too). */
static void gic_dist_init(struct a64 *a, const struct irq_guest_params *p)
{
	a64_emit(a, a64_movz(1, p->gic_version == 3 ? 0x13 : 0x1, 0));
	a64_emit(a, a64_strw(1, R_GICD, 0x000));   /* GICD_CTLR */
}

/* This vCPU's interrupts enabled (banked SGI/PPI registers) and its CPU
 * interface open to every priority. */
static void gic_cpu_init(struct a64 *a, const struct irq_guest_params *p, uint32_t enable_bits)
{
	if (p->gic_version == 3) {
		/* The SGI/PPI frame is the redistributor's second 64 KiB. */
		a64_mov64(a, 26, 0x10000);
		a64_emit(a, a64_add(26, R_GICC, 26));
		a64_mov64(a, 1, 0xffffffffu);
		a64_emit(a, a64_strw(1, 26, 0x080));     /* GICR_IGROUPR0: group 1 */
		a64_mov64(a, 1, enable_bits);
		a64_emit(a, a64_strw(1, 26, 0x100));     /* GICR_ISENABLER0 */
		a64_emit(a, a64_movz(1, 1, 0));
		a64_emit(a, a64_msr(A64_ICC_SRE_EL1, 1));
		a64_emit(a, A64_ISB);
		a64_emit(a, a64_movz(1, 0xff, 0));
		a64_emit(a, a64_msr(A64_ICC_PMR_EL1, 1));
		a64_emit(a, a64_movz(1, 1, 0));
		a64_emit(a, a64_msr(A64_ICC_IGRPEN1_EL1, 1));
		a64_emit(a, A64_ISB);
	} else {
		a64_mov64(a, 1, enable_bits);
		a64_emit(a, a64_strw(1, R_GICD, 0x100));   /* GICD_ISENABLER0, banked */
		a64_emit(a, a64_movz(1, 0xff, 0));
		a64_emit(a, a64_strw(1, R_GICC, 0x004));   /* GICC_PMR */
		a64_emit(a, a64_movz(1, 1, 0));
		a64_emit(a, a64_strw(1, R_GICC, 0x000));   /* GICC_CTLR */
	}
}

static void gic_ack(struct a64 *a, const struct irq_guest_params *p, unsigned rt)
{
	if (p->gic_version == 3)
		a64_emit(a, a64_mrs(rt, A64_ICC_IAR1_EL1));
	else
		a64_emit(a, a64_ldrw(rt, R_GICC, 0x00c));  /* GICC_IAR */
}

static void gic_eoi(struct a64 *a, const struct irq_guest_params *p, unsigned rt)
{
	if (p->gic_version == 3)
		a64_emit(a, a64_msr(A64_ICC_EOIR1_EL1, rt));
	else
		a64_emit(a, a64_strw(rt, R_GICC, 0x010));  /* GICC_EOIR */
}

/* SGI IRQ_SGI to the vCPU whose MPIDR Aff0 (v3) / CPU number (v2) is 1. */
static void gic_send_sgi(struct a64 *a, const struct irq_guest_params *p)
{
	if (p->gic_version == 3) {
		a64_mov64(a, 1, ((uint64_t)IRQ_SGI << 24) | (1u << 1));
		a64_emit(a, a64_msr(A64_ICC_SGI1R_EL1, 1));
	} else {
		a64_mov64(a, 1, (1u << (16 + 1)) | IRQ_SGI);
		a64_emit(a, a64_strw(1, R_GICD, 0xf00));   /* GICD_SGIR */
	}
	a64_emit(a, A64_ISB);
}

/* Waits until the handler set x19, with IRQs masked except for a moment
 * after each wake-up: WFI wakes on a pending interrupt even while it is
 * masked, so an interrupt that comes before the WFI is not lost. */
static void wait_irq(struct a64 *a, unsigned loop, unsigned done)
{
	a64_label(a, loop);
	a64_cbnz(a, 19, done);
	a64_emit(a, A64_WFI);
	a64_emit(a, a64_daifclr(2));
	a64_emit(a, A64_ISB);
	a64_emit(a, a64_daifset(2));
	a64_b(a, loop);
	a64_label(a, done);
}

int irq_guest_build(struct a64 *a, const struct irq_guest_params *p, uint64_t *vcpu1_entry)
{
	a64_init(a);
	if ((p->gic_version != 2 && p->gic_version != 3) || !p->samples || p->samples > 4095)
		return -1;
	a64_b(a, L_VCPU0);
	/* One vector table and one handler serve both vCPUs. */
	vectors(a, L_IRQ);
	size_t vector_table = a64_here(a) - 0x800;

	/* ---- vCPU 0 ---- */
	a64_label(a, L_VCPU0);
	set_bases(a, p, 0);
	a64_mov64(a, 0, vector_table);
	a64_emit(a, a64_msr(A64_VBAR_EL1, 0));
	a64_emit(a, A64_ISB);
	gic_dist_init(a, p);
	gic_cpu_init(a, p, 1u << IRQ_TIMER_PPI);
	stage(a, IRQ_S_GIC_READY);

	stage(a, IRQ_S_CPU_ON);
	a64_mov64(a, 0, 0xc4000003u);          /* PSCI CPU_ON (SMC64) */
	a64_emit(a, a64_movz(1, 1, 0));        /* target MPIDR: Aff0 = 1 */
	size_t entry_fixup = a->n;             /* x2 = vCPU 1's entry, patched below */
	a64_emit(a, a64_movz(2, 0, 0));
	a64_emit(a, a64_movz(3, 0, 0));
	a64_emit(a, A64_HVC0);
	report(a, IRQ_R_CPU_ON, 0);
	a64_cbnz(a, 0, L_OFF);
	a64_label(a, L_WAIT_READY);
	a64_emit(a, a64_ldr(1, R_DATA, IRQ_DATA_V1_READY));
	a64_cbz(a, 1, L_WAIT_READY);
	stage(a, IRQ_S_V1_SEEN);

	/* The virtual timer: deadline = now + delta, then wait for PPI 27. */
	stage(a, IRQ_S_TIMER_ARMING);
	isb_counter(a, 1);
	a64_mov64(a, 2, p->timer_delta);
	a64_emit(a, a64_add(24, 1, 2));
	a64_emit(a, a64_msr(A64_CNTV_CVAL_EL0, 24));
	a64_emit(a, a64_movz(2, 1, 0));
	a64_emit(a, a64_msr(A64_CNTV_CTL_EL0, 2));   /* enabled, not masked */
	a64_emit(a, A64_ISB);
	wait_irq(a, L_WAIT0, L_WAIT0_DONE);
	a64_emit(a, a64_sub(1, 18, 24));
	report(a, IRQ_R_TIMER, 1);
	a64_emit(a, a64_sub_imm(1, 19, 1));
	report(a, IRQ_R_TIMER_ID, 1);
	stage(a, IRQ_S_TIMER_DONE);

	/* SGI to vCPU 1: the send time goes through RAM, which both vCPUs
	 * see the same way (both have their caches off). */
	stage(a, IRQ_S_SGI_SENDING);
	isb_counter(a, 1);
	a64_emit(a, a64_str(1, R_DATA, IRQ_DATA_T_SEND));
	a64_emit(a, A64_DSB_SY);
	gic_send_sgi(a, p);
	a64_label(a, L_WAIT_DONE);
	a64_emit(a, a64_ldr(1, R_DATA, IRQ_DATA_V1_DONE));
	a64_cbz(a, 1, L_WAIT_DONE);
	stage(a, IRQ_S_SGI_DONE);

	/* Exit latencies.  An HVC returns x0-x3 (SMCCC), so the start time of
	 * that one is kept in x27. */
	a64_emit(a, a64_movz(25, p->samples, 0));
	a64_label(a, L_HVC);
	a64_mov64(a, 0, 0x84000000u);        /* PSCI_VERSION */
	isb_counter(a, 27);                  /* KVM returns x1-x3 zeroed: x27 survives */
	a64_emit(a, A64_HVC0);
	isb_counter(a, 2);
	a64_emit(a, a64_sub(3, 2, 27));
	report(a, IRQ_R_HVC, 3);
	a64_emit(a, a64_sub_imm(25, 25, 1));
	a64_cbnz(a, 25, L_HVC);
	report(a, IRQ_R_PSCI_VERSION, 0);

	a64_emit(a, a64_movz(25, p->samples, 0));
	a64_label(a, L_MMIO);
	isb_counter(a, 1);
	a64_emit(a, a64_ldr(4, R_REPORT, IRQ_R_BENCH * 8));
	isb_counter(a, 2);
	a64_emit(a, a64_sub(3, 2, 1));
	report(a, IRQ_R_MMIO, 3);
	a64_emit(a, a64_sub_imm(25, 25, 1));
	a64_cbnz(a, 25, L_MMIO);

	a64_emit(a, a64_movz(25, p->samples, 0));
	a64_label(a, L_VGIC);
	isb_counter(a, 1);
	a64_emit(a, a64_ldrw(4, R_GICD, 0x008));     /* GICD_IIDR */
	isb_counter(a, 2);
	a64_emit(a, a64_sub(3, 2, 1));
	report(a, IRQ_R_VGIC, 3);
	a64_emit(a, a64_sub_imm(25, 25, 1));
	a64_cbnz(a, 25, L_VGIC);
	stage(a, IRQ_S_BENCH_DONE);

	a64_label(a, L_OFF);
	a64_mov64(a, 0, 0x84000008u);          /* PSCI SYSTEM_OFF */
	a64_emit(a, A64_HVC0);
	a64_b(a, L_OFF);

	/* The handler: the counter first, then acknowledge; the timer's level
	 * must drop before the EOI, or it fires again at once. */
	a64_label(a, L_IRQ);
	a64_emit(a, a64_mrs(18, A64_CNTVCT_EL0));
	gic_ack(a, p, 9);
	a64_emit(a, a64_ubfx(10, 9, 0, 10));
	a64_emit(a, a64_cmp_imm(10, IRQ_TIMER_PPI));
	a64_bcond(a, A64_NE, L_NOT_TIMER);
	a64_emit(a, a64_msr(A64_CNTV_CTL_EL0, A64_XZR));
	a64_emit(a, A64_ISB);
	a64_label(a, L_NOT_TIMER);
	gic_eoi(a, p, 9);
	a64_emit(a, a64_add_imm(19, 10, 1));
	a64_emit(a, A64_ERET);

	/* ---- vCPU 1, started by CPU_ON ---- */
	a64_label(a, L_VCPU1);
	size_t vcpu1 = a64_here(a);
	set_bases(a, p, 1);
	stage(a, IRQ_S_V1_ENTERED);
	a64_mov64(a, 0, vector_table);
	a64_emit(a, a64_msr(A64_VBAR_EL1, 0));
	a64_emit(a, A64_ISB);
	gic_cpu_init(a, p, 1u << IRQ_SGI);
	a64_emit(a, a64_movz(1, 1, 0));
	a64_emit(a, a64_str(1, R_DATA, IRQ_DATA_V1_READY));
	a64_emit(a, A64_DSB_SY);
	stage(a, IRQ_S_V1_READY);
	wait_irq(a, L_WAIT1, L_WAIT1_DONE);
	a64_emit(a, a64_ldr(1, R_DATA, IRQ_DATA_T_SEND));
	a64_emit(a, a64_sub(2, 18, 1));
	report(a, IRQ_R_IPI, 2);
	a64_emit(a, a64_sub_imm(3, 19, 1));
	report(a, IRQ_R_IPI_ID, 3);
	a64_emit(a, a64_movz(1, 1, 0));
	a64_emit(a, a64_str(1, R_DATA, IRQ_DATA_V1_DONE));
	a64_emit(a, A64_DSB_SY);
	a64_label(a, L_PARK);
	a64_emit(a, A64_WFI);
	a64_b(a, L_PARK);


	/* Any other exception: which slot, ESR and ELR, then park. */
	a64_label(a, L_FAULT);
	a64_mov64(a, R_REPORT, IRQ_GUEST_REPORT);
	report(a, IRQ_R_FAULT, 28);
	a64_emit(a, a64_mrs(1, A64_ESR_EL1));
	report(a, IRQ_R_FAULT_ESR, 1);
	a64_emit(a, a64_mrs(1, A64_ELR_EL1));
	report(a, IRQ_R_FAULT_ELR, 1);
	a64_b(a, L_PARK);

	if (vcpu1 > 0xffff || a64_here(a) > IRQ_GUEST_DATA)
		return -1;
	a->w[entry_fixup] = a64_movz(2, (unsigned)vcpu1, 0);
	*vcpu1_entry = vcpu1;
	return a64_finish(a);
}

const char *irq_stage_name(unsigned stage)
{
	switch (stage) {
	case 0: return "before vCPU 0 reached its first report (setting up the vGIC)";
	case IRQ_S_GIC_READY: return "after vCPU 0 set up the vGIC";
	case IRQ_S_CPU_ON: return "at PSCI CPU_ON for vCPU 1";
	case IRQ_S_V1_SEEN: return "after vCPU 1 came up";
	case IRQ_S_TIMER_ARMING: return "waiting for the virtual timer's interrupt (PPI 27)";
	case IRQ_S_TIMER_DONE: return "after the timer interrupt";
	case IRQ_S_SGI_SENDING: return "waiting for vCPU 1 to receive the SGI";
	case IRQ_S_SGI_DONE: return "measuring exit latencies";
	case IRQ_S_BENCH_DONE: return "at PSCI SYSTEM_OFF";
	}
	return "at an unknown stage";
}
