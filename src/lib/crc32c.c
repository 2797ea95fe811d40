// SPDX-License-Identifier: MIT
#include "lib/crc32c.h"

#include "arch/crc32c_hw.h"

#define CRC32C_POLY 0x82f63b78u

/*
 * Slice-by-8: sw_tab[k][b] is the register after byte b followed by k zero
 * bytes, so eight bytes fold into eight independent lookups.
 */
static uint32_t sw_tab[8][256];
static int sw_ready;

/* -1 until the first call decides. */
static int hw_mode = -1;

static void sw_tab_init(void)
{
	uint32_t c;
	unsigned int b, k, bit;

	for (b = 0; b < 256; b++) {
		c = b;
		for (bit = 0; bit < 8; bit++)
			c = (c >> 1) ^ (c & 1 ? CRC32C_POLY : 0);
		sw_tab[0][b] = c;
	}
	for (k = 1; k < 8; k++)
		for (b = 0; b < 256; b++)
			sw_tab[k][b] = (sw_tab[k - 1][b] >> 8) ^ sw_tab[0][sw_tab[k - 1][b] & 0xff];
	/* Racing initialisers write identical values; readers only need the flag last. */
	__atomic_store_n(&sw_ready, 1, __ATOMIC_RELEASE);
}

/* Byte-wise, so the result does not depend on the host's endianness. */
static inline uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t sw_slice8(uint32_t c, const unsigned char *p)
{
	uint32_t lo = le32(p) ^ c, hi = le32(p + 4);

	lo = sw_tab[7][lo & 0xff] ^ sw_tab[6][(lo >> 8) & 0xff] ^ sw_tab[5][(lo >> 16) & 0xff] ^
	     sw_tab[4][lo >> 24];
	hi = sw_tab[3][hi & 0xff] ^ sw_tab[2][(hi >> 8) & 0xff] ^ sw_tab[1][(hi >> 16) & 0xff] ^
	     sw_tab[0][hi >> 24];
	return lo ^ hi;
}

uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint32_t c = ~crc;

	if (!__atomic_load_n(&sw_ready, __ATOMIC_ACQUIRE))
		sw_tab_init();
	for (; len >= 8; p += 8, len -= 8)
		c = sw_slice8(c, p);
	for (; len; p++, len--)
		c = (c >> 8) ^ sw_tab[0][(c ^ *p) & 0xff];
	return ~c;
}

int crc32c_hw_in_use(void)
{
	int mode = __atomic_load_n(&hw_mode, __ATOMIC_RELAXED);

	if (mode < 0) {
		mode = arch_crc32c_hw_available();
		__atomic_store_n(&hw_mode, mode, __ATOMIC_RELAXED);
	}
	return mode;
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	if (crc32c_hw_in_use())
		return arch_crc32c_hw(crc, buf, len);
	return crc32c_sw(crc, buf, len);
}
