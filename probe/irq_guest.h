/* The arm64 interrupt test's guest (irq_guest_arm64.c builds it, pure and
 * tested on every host; kvm_arm64_irq.c runs it under KVM): where things
 * are in its address space and what its MMIO reports mean. */
#ifndef KQ_PROBE_IRQ_GUEST_H
#define KQ_PROBE_IRQ_GUEST_H

#include <stddef.h>
#include <stdint.h>

#include "a64.h"

/* Guest physical layout.  RAM is one 64 KiB block at 0 (one page even on
 * 64K hosts): code and vector tables first, then the words the two vCPUs
 * share.  Everything else exits: the report window to user space, the
 * vGIC's frames to KVM's in-kernel emulation. */
#define IRQ_GUEST_MEM 0x10000ul
#define IRQ_GUEST_DATA 0x8000ul       /* shared words, below */
#define IRQ_DATA_V1_READY 0x00        /* vCPU 1 set up its GIC interface */
#define IRQ_DATA_T_SEND 0x08          /* counter when vCPU 0 sent the SGI */
#define IRQ_DATA_V1_DONE 0x10         /* vCPU 1 reported the SGI */
#define IRQ_GUEST_REPORT 0x100000ul   /* 8 bytes per report code */
#define IRQ_GICD 0x08000000ul         /* distributor (v2 and v3) */
#define IRQ_GICC 0x08010000ul         /* v2 CPU interface (64K-aligned) */
#define IRQ_GICR 0x080a0000ul         /* v3 redistributors, 128 KiB each */
#define IRQ_GICR_STRIDE 0x20000ul

#define IRQ_TIMER_PPI 27               /* the EL1 virtual timer, KVM's default */
#define IRQ_SGI 1

/* A store of VALUE to IRQ_GUEST_REPORT + 8 * code. */
enum irq_report {
	IRQ_R_STAGE = 0,      /* progress: enum irq_stage */
	IRQ_R_FAULT,          /* an exception other than IRQ: vector slot */
	IRQ_R_FAULT_ESR,
	IRQ_R_FAULT_ELR,      /* last of a fault's three reports */
	IRQ_R_CPU_ON,         /* PSCI CPU_ON's return value (0 = success) */
	IRQ_R_TIMER,          /* counter ticks from the deadline to the handler */
	IRQ_R_TIMER_ID,       /* the INTID the handler acknowledged */
	IRQ_R_IPI,            /* ticks from sending the SGI to vCPU 1's handler */
	IRQ_R_IPI_ID,
	IRQ_R_HVC,            /* one PSCI_VERSION round trip, in ticks */
	IRQ_R_PSCI_VERSION,
	IRQ_R_MMIO,           /* one load that exits to user space, in ticks */
	IRQ_R_BENCH,          /* (the address that load reads) */
	IRQ_R_VGIC,           /* one GICD_IIDR load (KVM's vGIC), in ticks */
	IRQ_R_COUNT
};

enum irq_stage {
	IRQ_S_GIC_READY = 1,  /* vCPU 0 programmed the distributor and its interface */
	IRQ_S_CPU_ON,         /* vCPU 0 asked PSCI to start vCPU 1 */
	IRQ_S_V1_SEEN,        /* vCPU 0 saw vCPU 1 ready */
	IRQ_S_TIMER_ARMING,   /* vCPU 0 arms the virtual timer and waits */
	IRQ_S_TIMER_DONE,
	IRQ_S_SGI_SENDING,    /* vCPU 0 sends the SGI and waits for vCPU 1 */
	IRQ_S_SGI_DONE,
	IRQ_S_BENCH_DONE,     /* latencies measured; SYSTEM_OFF next */
	IRQ_S_V1_ENTERED = 21,/* vCPU 1 runs (CPU_ON worked) */
	IRQ_S_V1_READY,       /* vCPU 1 waits for its SGI */
};

struct irq_guest_params {
	int gic_version;           /* 2 or 3 */
	uint64_t timer_delta;      /* counter ticks from arming to the deadline */
	unsigned samples;          /* per latency, 1..4095 */
};

/* Builds the guest; a->w is loaded at guest address 0.  *vcpu1_entry gets
 * the address CPU_ON starts vCPU 1 at.  Returns 0, or -1 (a bug). */
int irq_guest_build(struct a64 *a, const struct irq_guest_params *params, uint64_t *vcpu1_entry);

/* What a stage means, for the detail of a test that stopped there. */
const char *irq_stage_name(unsigned stage);

#endif
