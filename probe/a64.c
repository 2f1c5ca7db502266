/* Stringing hand-made A64 instructions together (a64.h). */
#include "a64.h"

#include <string.h>

void a64_init(struct a64 *a)
{
	memset(a, 0, sizeof(*a));
	for (size_t i = 0; i < A64_MAX_LABELS; i++)
		a->label_at[i] = (size_t)-1;
}

void a64_emit(struct a64 *a, uint32_t word)
{
	if (a->n >= A64_MAX_WORDS) {
		a->error = 1;
		return;
	}
	a->w[a->n++] = word;
}

void a64_mov64(struct a64 *a, unsigned rd, uint64_t value)
{
	a64_emit(a, a64_movz(rd, (unsigned)(value & 0xffff), 0));
	for (unsigned shift = 16; shift < 64; shift += 16)
		if ((value >> shift) & 0xffff)
			a64_emit(a, a64_movk(rd, (unsigned)((value >> shift) & 0xffff), shift));
}

void a64_align(struct a64 *a, size_t align)
{
	while (!a->error && (a->n * 4) % align)
		a64_emit(a, A64_NOP);
}

void a64_label(struct a64 *a, unsigned label)
{
	if (label >= A64_MAX_LABELS || a->label_at[label] != (size_t)-1) {
		a->error = 1;
		return;
	}
	a->label_at[label] = a->n;
}

static void branch(struct a64 *a, uint32_t word, unsigned label)
{
	if (a->nfix >= A64_MAX_FIXUPS || label >= A64_MAX_LABELS) {
		a->error = 1;
		return;
	}
	a->fix[a->nfix].at = a->n;
	a->fix[a->nfix].label = label;
	a->nfix++;
	a64_emit(a, word);
}

void a64_b(struct a64 *a, unsigned label)
{
	branch(a, 0x14000000u, label);
}

void a64_bcond(struct a64 *a, enum a64_cond cond, unsigned label)
{
	branch(a, 0x54000000u | (unsigned)cond, label);
}

void a64_cbz(struct a64 *a, unsigned rt, unsigned label)
{
	branch(a, 0xb4000000u | rt, label);
}

void a64_cbnz(struct a64 *a, unsigned rt, unsigned label)
{
	branch(a, 0xb5000000u | rt, label);
}

int a64_finish(struct a64 *a)
{
	for (size_t i = 0; i < a->nfix && !a->error; i++) {
		size_t target = a->label_at[a->fix[i].label];
		if (target == (size_t)-1) {
			a->error = 1;
			break;
		}
		long off = (long)target - (long)a->fix[i].at; /* in words */
		uint32_t *w = &a->w[a->fix[i].at];
		if ((*w & 0xfc000000u) == 0x14000000u)
			*w |= (uint32_t)off & 0x3ffffffu;
		else /* b.cond, cbz, cbnz: imm19 at bit 5 */
			*w |= ((uint32_t)off & 0x7ffffu) << 5;
	}
	return a->error ? -1 : 0;
}
