// SPDX-License-Identifier: MIT
/*
 * CRC32C with the SSE4.2 crc32 instruction. Only the functions that use it are
 * compiled for SSE4.2, so the binary still runs on CPUs without it.
 *
 * crc32q has a latency of 3 cycles but issues once per cycle: one dependency
 * chain leaves two thirds of the unit idle. Large buffers are therefore cut
 * into rounds of three consecutive blocks of HW_BLOCK bytes, each block runs
 * its own chain, and the three results are merged at the end of the round.
 *
 * The merge. Read the CRC register (before the final inversion) as a
 * polynomial over GF(2) of degree < 32. Feeding it the message M of n bytes
 * gives F(R, M) = (R * x^(8n) + M * x^32) mod P, linear in R and in M, so
 *	F(R, A || B) = Z_|B|(F(R, A)) ^ F(0, B),	Z_n(v) = v * x^(8n) mod P.
 * With a = F(R, A), b = F(0, B), c = F(0, C) computed side by side over three
 * blocks of HW_BLOCK bytes and Z = Z_HW_BLOCK:
 *	F(R, A || B || C) = Z(Z(a) ^ b) ^ c.
 * Z is linear on 32-bit vectors, a 32x32 matrix over GF(2) whose column j is
 * Z(1 << j). Splitting v into its four bytes turns it into four lookups:
 *	Z(v) = T0[v & 0xff] ^ T1[(v >> 8) & 0xff] ^ T2[(v >> 16) & 0xff] ^ T3[v >> 24],
 * where Tk[b] is the xor of the columns 8k + i for the bits i set in b.
 *
 * The columns. CRC32C is bit-reflected: bit 31 holds the x^0 coefficient and
 * bit 0 the x^31 one, so 1 << (j - 1) is x * (1 << j). Z is a multiplication,
 * it commutes with x, hence Z(1 << (j - 1)) = x * Z(1 << j) mod P. Only
 * Z(1 << 31) = x^(8 * HW_BLOCK) mod P needs real work: HW_BLOCK / 8 crc32q on
 * zero data, each multiplying by x^64. The other 31 columns are one-bit steps.
 */
#include "arch/crc32c_hw.h"

#include <cpuid.h>
#include <nmmintrin.h>
#include <string.h>

#define CRC32C_POLY 0x82f63b78u

/*
 * Bytes per stream per round, a multiple of 8. The merge delays the first
 * chain of the next round by ~20 cycles, a few percent at this size; a smaller
 * block costs large buffers more, a larger one leaves 4 KiB pages single-chain.
 */
#define HW_BLOCK 1024

#define SSE42 __attribute__((target("sse4.2")))

static uint32_t shift_tab[4][256];
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

SSE42 static void shift_tab_init(void)
{
	uint32_t col[32];
	uint64_t v = 1u << 31;
	unsigned int i, j, k;

	for (i = 0; i < HW_BLOCK / 8; i++)
		v = _mm_crc32_u64(v, 0);
	col[31] = (uint32_t)v;
	for (j = 31; j > 0; j--)
		col[j - 1] = mulx(col[j]);
	for (k = 0; k < 4; k++) {
		shift_tab[k][0] = 0;
		for (i = 1; i < 256; i++)
			shift_tab[k][i] = shift_tab[k][i & (i - 1)] ^ col[8 * k + __builtin_ctz(i)];
	}
	/* Racing initialisers write identical values; readers only need the flag last. */
	__atomic_store_n(&shift_ready, 1, __ATOMIC_RELEASE);
}

static inline uint32_t shift_block(uint32_t v)
{
	return shift_tab[0][v & 0xff] ^ shift_tab[1][(v >> 8) & 0xff] ^
	       shift_tab[2][(v >> 16) & 0xff] ^ shift_tab[3][v >> 24];
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

/* One round: 3 * HW_BLOCK bytes as three interleaved chains, then merged. */
SSE42 static uint32_t crc_round(uint32_t crc, const unsigned char *p)
{
	uint64_t a = crc, b = 0, c = 0;
	size_t i;

	for (i = 0; i < HW_BLOCK; i += 8) {
		a = _mm_crc32_u64(a, load64(p + i));
		b = _mm_crc32_u64(b, load64(p + HW_BLOCK + i));
		c = _mm_crc32_u64(c, load64(p + 2 * HW_BLOCK + i));
	}
	return shift_block(shift_block((uint32_t)a) ^ (uint32_t)b) ^ (uint32_t)c;
}

SSE42 uint32_t arch_crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint32_t c = ~crc;
	size_t head;

	if (len >= 3 * HW_BLOCK) {
		if (!__atomic_load_n(&shift_ready, __ATOMIC_ACQUIRE))
			shift_tab_init();
		/* Aligned starts keep every load of the three chains within one cache line. */
		head = -(uintptr_t)p & 7;
		c = crc_single(c, p, head);
		p += head;
		len -= head;
		for (; len >= 3 * HW_BLOCK; p += 3 * HW_BLOCK, len -= 3 * HW_BLOCK)
			c = crc_round(c, p);
	}
	return ~crc_single(c, p, len);
}
