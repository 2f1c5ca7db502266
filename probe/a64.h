/* A64 instructions by hand (Arm ARM, chapter C6), for the probe's tiny
 * arm64 guests: each helper returns one 32-bit encoding, and struct a64
 * strings them together with labels for the branches.  Pure code, compiled
 * and unit-tested on every host (tests/unit compares each encoding with
 * what the cross assembler makes of the same line). */
#ifndef KQ_PROBE_A64_H
#define KQ_PROBE_A64_H

#include <stddef.h>
#include <stdint.h>

/* System registers as op0:op1:CRn:CRm:op2, already in MRS/MSR position. */
#define A64_SYSREG(op0, op1, crn, crm, op2) \
	(((uint32_t)(op0) << 19) | ((uint32_t)(op1) << 16) | ((uint32_t)(crn) << 12) | \
	 ((uint32_t)(crm) << 8) | ((uint32_t)(op2) << 5))
#define A64_VBAR_EL1 A64_SYSREG(3, 0, 12, 0, 0)
#define A64_ESR_EL1 A64_SYSREG(3, 0, 5, 2, 0)
#define A64_ELR_EL1 A64_SYSREG(3, 0, 4, 0, 1)
#define A64_CNTFRQ_EL0 A64_SYSREG(3, 3, 14, 0, 0)
#define A64_CNTVCT_EL0 A64_SYSREG(3, 3, 14, 0, 2)
#define A64_CNTV_CTL_EL0 A64_SYSREG(3, 3, 14, 3, 1)
#define A64_CNTV_CVAL_EL0 A64_SYSREG(3, 3, 14, 3, 2)
/* GICv3 CPU interface (system register access). */
#define A64_ICC_PMR_EL1 A64_SYSREG(3, 0, 4, 6, 0)
#define A64_ICC_IAR1_EL1 A64_SYSREG(3, 0, 12, 12, 0)
#define A64_ICC_EOIR1_EL1 A64_SYSREG(3, 0, 12, 12, 1)
#define A64_ICC_SRE_EL1 A64_SYSREG(3, 0, 12, 12, 5)
#define A64_ICC_IGRPEN1_EL1 A64_SYSREG(3, 0, 12, 12, 7)
#define A64_ICC_SGI1R_EL1 A64_SYSREG(3, 0, 12, 11, 5)

#define A64_XZR 31

enum a64_cond { A64_EQ = 0, A64_NE = 1, A64_HS = 2, A64_LO = 3 };

static inline uint32_t a64_movz(unsigned rd, unsigned imm16, unsigned shift)
{
	return 0xd2800000u | ((shift / 16) << 21) | ((imm16 & 0xffffu) << 5) | rd;
}

static inline uint32_t a64_movk(unsigned rd, unsigned imm16, unsigned shift)
{
	return 0xf2800000u | ((shift / 16) << 21) | ((imm16 & 0xffffu) << 5) | rd;
}

/* mov xd, xm (orr xd, xzr, xm) */
static inline uint32_t a64_mov(unsigned rd, unsigned rm)
{
	return 0xaa0003e0u | (rm << 16) | rd;
}

/* str/ldr xt, [xn, #imm] (imm a multiple of 8, below 32 KiB) */
static inline uint32_t a64_str(unsigned rt, unsigned rn, unsigned imm)
{
	return 0xf9000000u | ((imm / 8) << 10) | (rn << 5) | rt;
}

static inline uint32_t a64_ldr(unsigned rt, unsigned rn, unsigned imm)
{
	return 0xf9400000u | ((imm / 8) << 10) | (rn << 5) | rt;
}

/* str/ldr wt, [xn, #imm]: 32-bit accesses, as GIC registers want them. */
static inline uint32_t a64_strw(unsigned rt, unsigned rn, unsigned imm)
{
	return 0xb9000000u | ((imm / 4) << 10) | (rn << 5) | rt;
}

static inline uint32_t a64_ldrw(unsigned rt, unsigned rn, unsigned imm)
{
	return 0xb9400000u | ((imm / 4) << 10) | (rn << 5) | rt;
}

static inline uint32_t a64_add_imm(unsigned rd, unsigned rn, unsigned imm12)
{
	return 0x91000000u | ((imm12 & 0xfffu) << 10) | (rn << 5) | rd;
}

static inline uint32_t a64_sub_imm(unsigned rd, unsigned rn, unsigned imm12)
{
	return 0xd1000000u | ((imm12 & 0xfffu) << 10) | (rn << 5) | rd;
}

static inline uint32_t a64_add(unsigned rd, unsigned rn, unsigned rm)
{
	return 0x8b000000u | (rm << 16) | (rn << 5) | rd;
}

static inline uint32_t a64_sub(unsigned rd, unsigned rn, unsigned rm)
{
	return 0xcb000000u | (rm << 16) | (rn << 5) | rd;
}

/* cmp xn, #imm12 (subs xzr, xn, #imm) */
static inline uint32_t a64_cmp_imm(unsigned rn, unsigned imm12)
{
	return 0xf100001fu | ((imm12 & 0xfffu) << 10) | (rn << 5);
}

/* ubfx xd, xn, #lsb, #width */
static inline uint32_t a64_ubfx(unsigned rd, unsigned rn, unsigned lsb, unsigned width)
{
	return 0xd3400000u | (lsb << 16) | ((lsb + width - 1) << 10) | (rn << 5) | rd;
}

static inline uint32_t a64_mrs(unsigned rt, uint32_t sysreg)
{
	return 0xd5200000u | sysreg | rt;
}

static inline uint32_t a64_msr(uint32_t sysreg, unsigned rt)
{
	return 0xd5000000u | sysreg | rt;
}

/* msr daifset/daifclr, #imm (2 = IRQ) */
static inline uint32_t a64_daifset(unsigned imm4)
{
	return 0xd50340dfu | (imm4 << 8);
}

static inline uint32_t a64_daifclr(unsigned imm4)
{
	return 0xd50340ffu | (imm4 << 8);
}

#define A64_ISB 0xd5033fdfu
#define A64_DSB_SY 0xd5033f9fu
#define A64_WFI 0xd503207fu
#define A64_ERET 0xd69f03e0u
#define A64_HVC0 0xd4000002u
#define A64_NOP 0xd503201fu

/* A program under construction: branches name labels, resolved by
 * a64_finish().  Fixed sizes: the probe's guests are a few hundred words. */
#define A64_MAX_WORDS 2048
#define A64_MAX_LABELS 64
#define A64_MAX_FIXUPS 128

struct a64 {
	uint32_t w[A64_MAX_WORDS];
	size_t n;
	size_t label_at[A64_MAX_LABELS];   /* word index; ~0 = not placed */
	struct { size_t at; unsigned label; } fix[A64_MAX_FIXUPS];
	size_t nfix;
	int error;                         /* overflow or a bad label */
};

void a64_init(struct a64 *a);
void a64_emit(struct a64 *a, uint32_t word);
/* mov xd, #value with movz and as many movk as needed. */
void a64_mov64(struct a64 *a, unsigned rd, uint64_t value);
/* Pads with NOPs up to a byte offset that is a multiple of align. */
void a64_align(struct a64 *a, size_t align);
/* Places label here / branches to it (b, b.cond, cbz, cbnz). */
void a64_label(struct a64 *a, unsigned label);
void a64_b(struct a64 *a, unsigned label);
void a64_bcond(struct a64 *a, enum a64_cond cond, unsigned label);
void a64_cbz(struct a64 *a, unsigned rt, unsigned label);
void a64_cbnz(struct a64 *a, unsigned rt, unsigned label);
/* Resolves the branches; returns 0, or -1 when the program is broken. */
int a64_finish(struct a64 *a);
/* Byte offset of the next instruction. */
static inline size_t a64_here(const struct a64 *a)
{
	return a->n * 4;
}

#endif
