// SPDX-License-Identifier: MIT
/*
 * CRC32C with the SSE4.2 crc32 instruction. Only the functions that use it are
 * compiled for SSE4.2, so the binary still runs on CPUs without it.
 *
 * crc32q has a latency of 3 cycles but issues once per cycle: one dependency
 * chain leaves two thirds of the unit idle. Buffers are therefore cut into
 * rounds of three consecutive blocks of a fixed length, each block runs its
 * own chain, and the three results are merged at the end of the round.
 *
 * The merge. Read the CRC register (before the final inversion) as a
 * polynomial over GF(2) of degree < 32. Feeding it the message M of n bytes
 * gives F(R, M) = (R * x^(8n) + M * x^32) mod P, linear in R and in M, so
 *	F(R, A || B) = Z_|B|(F(R, A)) ^ F(0, B),	Z_n(v) = v * x^(8n) mod P.
 * With a = F(R, A), b = F(0, B), c = F(0, C) computed side by side over three
 * blocks of n bytes and Z = Z_n:
 *	F(R, A || B || C) = Z(Z(a) ^ b) ^ c.
 * Z is linear on 32-bit vectors, a 32x32 matrix over GF(2) whose column j is
 * Z(1 << j). Splitting v into its four bytes turns it into four lookups:
 *	Z(v) = T0[v & 0xff] ^ T1[(v >> 8) & 0xff] ^ T2[(v >> 16) & 0xff] ^ T3[v >> 24],
 * where Tk[b] is the xor of the columns 8k + i for the bits i set in b.
 *
 * The columns. CRC32C is bit-reflected: bit 31 holds the x^0 coefficient and
 * bit 0 the x^31 one, so 1 << (j - 1) is x * (1 << j). Z is a multiplication,
 * it commutes with x, hence Z(1 << (j - 1)) = x * Z(1 << j) mod P. Only
 * Z(1 << 31) = x^(8n) mod P needs real work: n / 8 crc32q on zero data, each
 * multiplying by x^64. The other 31 columns are one-bit steps.
 */
#include "arch/crc32c_hw.h"

#include <cpuid.h>
#include <nmmintrin.h>
#include <string.h>

#define CRC32C_POLY 0x82f63b78u

#define SSE42 __attribute__((target("sse4.2")))

/* The shift by one block length n, as the four tables above. */
struct shift_op {
	size_t block;
	uint32_t tab[4][256];
};

/*
 * Two block lengths, multiples of 64, longest first. Long blocks keep each
 * chain on its own pages long enough for the prefetchers to follow three
 * streams from DRAM (1 KiB blocks read a cold 64 MiB buffer at half the speed
 * of 16 KiB ones); short blocks give three chains to buffers from 3 KiB on,
 * and to the tails of long ones.
 */
static struct shift_op shift_ops[] = { { .block = 16384 }, { .block = 1024 } };
#define N_SHIFT_OPS (sizeof(shift_ops) / sizeof(shift_ops[0]))

static int shift_ready;

int arch_crc32c_hw_available(void)
{
	unsigned int eax, ebx, ecx, edx;

	if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx))
		return 0;
	return !!(ecx & bit_SSE4_2);
}

static inline uint64_t load64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Multiply by x modulo P, in the reflected bit order. */
static uint32_t mulx(uint32_t v)
{
	return (v >> 1) ^ (v & 1 ? CRC32C_POLY : 0);
}

SSE42 static void shift_op_init(struct shift_op *op)
{
	uint32_t col[32];
	uint64_t v = 1u << 31;
	unsigned int i, j, k;

	for (i = 0; i < op->block / 8; i++)
		v = _mm_crc32_u64(v, 0);
	col[31] = (uint32_t)v;
	for (j = 31; j > 0; j--)
		col[j - 1] = mulx(col[j]);
	for (k = 0; k < 4; k++) {
		op->tab[k][0] = 0;
		for (i = 1; i < 256; i++)
			op->tab[k][i] = op->tab[k][i & (i - 1)] ^ col[8 * k + __builtin_ctz(i)];
	}
}

SSE42 static void shift_ops_init(void)
{
	size_t i;

	for (i = 0; i < N_SHIFT_OPS; i++)
		shift_op_init(&shift_ops[i]);
	/* Racing initialisers write identical values; readers only need the flag last. */
	__atomic_store_n(&shift_ready, 1, __ATOMIC_RELEASE);
}

static inline uint32_t shift(const struct shift_op *op, uint32_t v)
{
	return op->tab[0][v & 0xff] ^ op->tab[1][(v >> 8) & 0xff] ^ op->tab[2][(v >> 16) & 0xff] ^
	       op->tab[3][v >> 24];
}

SSE42 static uint32_t crc_single(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t c = crc;

	for (; len >= 8; p += 8, len -= 8)
		c = _mm_crc32_u64(c, load64(p));
	crc = (uint32_t)c;
	for (; len; p++, len--)
		crc = _mm_crc32_u8(crc, *p);
	return crc;
}

/* One round: three blocks as three interleaved chains, then merged. */
SSE42 static uint32_t crc_round(uint32_t crc, const unsigned char *p, const struct shift_op *op)
{
	size_t n = op->block, i, j;
	uint64_t a = crc, b = 0, c = 0;

	/* 64 bytes per chain per pass: the unrolled body measured faster and steadier. */
	for (i = 0; i < n; i += 64) {
#pragma GCC unroll 8
		for (j = i; j < i + 64; j += 8) {
			a = _mm_crc32_u64(a, load64(p + j));
			b = _mm_crc32_u64(b, load64(p + n + j));
			c = _mm_crc32_u64(c, load64(p + 2 * n + j));
		}
	}
	return shift(op, shift(op, (uint32_t)a) ^ (uint32_t)b) ^ (uint32_t)c;
}

SSE42 uint32_t arch_crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint32_t c = ~crc;
	const struct shift_op *op;
	size_t head;

	if (len >= 3 * shift_ops[N_SHIFT_OPS - 1].block) {
		if (!__atomic_load_n(&shift_ready, __ATOMIC_ACQUIRE))
			shift_ops_init();
		/* From an 8-byte boundary no load of the three chains straddles cache lines. */
		head = -(uintptr_t)p & 7;
		c = crc_single(c, p, head);
		p += head;
		len -= head;
		for (op = shift_ops; op < shift_ops + N_SHIFT_OPS; op++)
			for (; len >= 3 * op->block; p += 3 * op->block, len -= 3 * op->block)
				c = crc_round(c, p, op);
	}
	return ~crc_single(c, p, len);
}
