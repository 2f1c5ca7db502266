/* The hand-made A64 encodings (probe/a64.h) against the cross assembler
 * (binutils-aarch64-linux-gnu, which `make test` installs for the aarch64
 * build): every helper's word must be what `as` makes of the same line; and
 * the interrupt test's guest must disassemble into instructions only. */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../probe/a64.h"
#include "../../probe/irq_guest.h"
#include "test.h"

struct enc_case {
	const char *text;
	uint32_t word;
};

#define AS "aarch64-linux-gnu-as"
#define OBJCOPY "aarch64-linux-gnu-objcopy"
#define OBJDUMP "aarch64-linux-gnu-objdump"

static int have_tools(void)
{
	return system("command -v " AS " >/dev/null && command -v " OBJCOPY " >/dev/null && command -v " OBJDUMP
		      " >/dev/null") == 0;
}

/* Assembles lines into raw words; returns how many, or -1. */
static long assemble(const char *dir, const struct enc_case *cases, size_t n, uint32_t *words)
{
	char path[256], cmd[1024];
	snprintf(path, sizeof(path), "%s/a.S", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	for (size_t i = 0; i < n; i++)
		fprintf(f, "\t%s\n", cases[i].text);
	fclose(f);
	snprintf(cmd, sizeof(cmd), AS " -o %s/a.o %s/a.S && " OBJCOPY " -O binary -j .text %s/a.o %s/a.bin", dir,
		 dir, dir, dir);
	if (system(cmd) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/a.bin", dir);
	f = fopen(path, "rb");
	if (!f)
		return -1;
	long got = (long)fread(words, 4, n, f);
	fclose(f);
	return got;
}

TEST(a64_encodings_match_the_assembler)
{
	if (!have_tools()) {
		test_fail(__FILE__, __LINE__, "%s", "no " AS "/" OBJCOPY ": apt-get install binutils-aarch64-linux-gnu");
		return;
	}
	const struct enc_case cases[] = {
		{ "movz x0, #0x42", a64_movz(0, 0x42, 0) },
		{ "movz x1, #0x10, lsl #16", a64_movz(1, 0x10, 16) },
		{ "movk x0, #0x8400, lsl #16", a64_movk(0, 0x8400, 16) },
		{ "movk x5, #0xbeef, lsl #48", a64_movk(5, 0xbeef, 48) },
		{ "mov x3, x7", a64_mov(3, 7) },
		{ "str x0, [x20, #56]", a64_str(0, 20, 56) },
		{ "ldr x1, [x23, #16]", a64_ldr(1, 23, 16) },
		{ "str w9, [x22, #16]", a64_strw(9, 22, 16) },
		{ "ldr w9, [x22, #12]", a64_ldrw(9, 22, 12) },
		{ "str w1, [x21, #3840]", a64_strw(1, 21, 0xf00) },
		{ "add x19, x10, #1", a64_add_imm(19, 10, 1) },
		{ "sub x25, x25, #1", a64_sub_imm(25, 25, 1) },
		{ "add x24, x1, x2", a64_add(24, 1, 2) },
		{ "sub x3, x2, x1", a64_sub(3, 2, 1) },
		{ "cmp x10, #27", a64_cmp_imm(10, 27) },
		{ "ubfx x10, x9, #0, #10", a64_ubfx(10, 9, 0, 10) },
		{ "mrs x18, cntvct_el0", a64_mrs(18, A64_CNTVCT_EL0) },
		{ "mrs x1, cntfrq_el0", a64_mrs(1, A64_CNTFRQ_EL0) },
		{ "msr cntv_cval_el0, x24", a64_msr(A64_CNTV_CVAL_EL0, 24) },
		{ "msr cntv_ctl_el0, xzr", a64_msr(A64_CNTV_CTL_EL0, A64_XZR) },
		{ "msr vbar_el1, x0", a64_msr(A64_VBAR_EL1, 0) },
		{ "mrs x1, esr_el1", a64_mrs(1, A64_ESR_EL1) },
		{ "mrs x1, elr_el1", a64_mrs(1, A64_ELR_EL1) },
		{ "mrs x9, s3_0_c12_c12_0", a64_mrs(9, A64_ICC_IAR1_EL1) },       /* ICC_IAR1_EL1 */
		{ "msr s3_0_c12_c12_1, x9", a64_msr(A64_ICC_EOIR1_EL1, 9) },      /* ICC_EOIR1_EL1 */
		{ "msr s3_0_c4_c6_0, x1", a64_msr(A64_ICC_PMR_EL1, 1) },          /* ICC_PMR_EL1 */
		{ "msr s3_0_c12_c12_5, x1", a64_msr(A64_ICC_SRE_EL1, 1) },        /* ICC_SRE_EL1 */
		{ "msr s3_0_c12_c12_7, x1", a64_msr(A64_ICC_IGRPEN1_EL1, 1) },    /* ICC_IGRPEN1_EL1 */
		{ "msr s3_0_c12_c11_5, x1", a64_msr(A64_ICC_SGI1R_EL1, 1) },      /* ICC_SGI1R_EL1 */
		{ "msr daifset, #2", a64_daifset(2) },
		{ "msr daifclr, #2", a64_daifclr(2) },
		{ "isb", A64_ISB },
		{ "dsb sy", A64_DSB_SY },
		{ "wfi", A64_WFI },
		{ "eret", A64_ERET },
		{ "hvc #0", A64_HVC0 },
		{ "nop", A64_NOP },
	};
	size_t n = sizeof(cases) / sizeof(cases[0]);
	char dir[] = "/tmp/kvmqual-a64.XXXXXX";
	if (!mkdtemp(dir)) {
		test_fail(__FILE__, __LINE__, "mkdtemp failed");
		return;
	}
	uint32_t words[64];
	long got = assemble(dir, cases, n, words);
	CHECK_INT(got, (long)n);
	for (long i = 0; i < got && i < (long)n; i++)
		if (words[i] != cases[i].word)
			test_fail(__FILE__, __LINE__, "'%s': 0x%08x, the assembler says 0x%08x", cases[i].text,
				  cases[i].word, words[i]);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

TEST(a64_branches_and_labels)
{
	struct a64 a;
	a64_init(&a);
	a64_label(&a, 0);
	a64_emit(&a, A64_NOP);
	a64_cbnz(&a, 19, 1);     /* forward by 3 words */
	a64_bcond(&a, A64_NE, 0); /* back by 2 */
	a64_b(&a, 0);             /* back by 3 */
	a64_label(&a, 1);
	a64_mov64(&a, 2, 0x84000008u);
	CHECK_INT(a64_finish(&a), 0);
	CHECK_INT(a.w[1], 0xb5000073u);   /* cbnz x19, .+12 */
	CHECK_INT(a.w[2], 0x54ffffc1u);   /* b.ne .-8 */
	CHECK_INT(a.w[3], 0x17fffffdu);   /* b .-12 */
	CHECK_INT(a.n, 6);                /* movz + movk */
	/* An undefined label or a label placed twice is an error, not a jump
	 * into the void. */
	a64_init(&a);
	a64_b(&a, 7);
	CHECK_INT(a64_finish(&a), -1);
	a64_init(&a);
	a64_label(&a, 2);
	a64_label(&a, 2);
	CHECK_INT(a64_finish(&a), -1);
}

/* The guest for both GIC versions: it builds, fits below the shared data,
 * its IRQ vectors branch where they should, and objdump finds no word that
 * is not an instruction. */
TEST(irq_guest_builds_and_disassembles)
{
	for (int v = 2; v <= 3; v++) {
		static struct a64 a;
		uint64_t entry = 0;
		struct irq_guest_params params = { .gic_version = v, .timer_delta = 62500, .samples = 64 };
		CHECK_INT(irq_guest_build(&a, &params, &entry), 0);
		CHECK(a64_here(&a) <= IRQ_GUEST_DATA);
		CHECK(entry > 0x1000 && entry < IRQ_GUEST_DATA && entry % 4 == 0);   /* after the vectors */
		/* Vector slot 5 of the table is a branch; slot 0 sets x28. */
		CHECK_INT(a.w[(0x800 + 0x280) / 4] & 0xfc000000u, 0x14000000u);
		CHECK_INT(a.w[0x800 / 4], a64_movz(28, 0, 0));
		if (!have_tools())
			continue;   /* reported by the test above */
		char dir[] = "/tmp/kvmqual-a64g.XXXXXX";
		if (!mkdtemp(dir))
			continue;
		char path[300], cmd[1024];
		snprintf(path, sizeof(path), "%s/g.bin", dir);
		FILE *f = fopen(path, "wb");
		CHECK(f != NULL);
		if (!f)
			continue;
		fwrite(a.w, 4, a.n, f);
		fclose(f);
		snprintf(cmd, sizeof(cmd),
			 OBJDUMP " -D -b binary -m aarch64 %s > %s/g.txt && ! grep -E '\\.inst|undefined' %s/g.txt "
			 ">/dev/null",
			 path, dir, dir);
		if (system(cmd) != 0)
			test_fail(__FILE__, __LINE__, "vGICv%d guest: objdump finds words that are not instructions (%s/g.txt)",
				  v, dir);
		else {
			snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
			CHECK(system(cmd) == 0);
		}
	}
	struct irq_guest_params bad = { .gic_version = 4, .timer_delta = 1, .samples = 1 };
	static struct a64 b;
	uint64_t e;
	CHECK_INT(irq_guest_build(&b, &bad, &e), -1);
}
