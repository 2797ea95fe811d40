// SPDX-License-Identifier: MIT
#include "lib/crc32c.h"
#include "arch/crc32c_hw.h"
#include "tap.h"

#include <stdlib.h>

#define SMALL_MAX 1100
#define LARGE_MAX ((3u << 20) + 64)

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* xorshift64: fixed seed, so a failure reproduces. */
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void fill_random(unsigned char *p, size_t len)
{
	while (len--)
		*p++ = (unsigned char)rng();
}

/* Bit at a time, straight from the definition: shares no table with crc32c_sw(). */
static uint32_t crc32c_bitwise(uint32_t crc, const unsigned char *p, size_t len)
{
	uint32_t c = ~crc;
	int bit;

	while (len--) {
		c ^= *p++;
		for (bit = 0; bit < 8; bit++)
			c = (c >> 1) ^ (c & 1 ? 0x82f63b78u : 0);
	}
	return ~c;
}

static void test_vectors(void)
{
	unsigned char buf[32];
	int i;

	check_uint(crc32c(0, "123456789", 9), ==, 0xe3069283);
	check_uint(crc32c_sw(0, "123456789", 9), ==, 0xe3069283);
	check_uint(crc32c(0, NULL, 0), ==, 0);
	check_uint(crc32c(0x12345678, "", 0), ==, 0x12345678);

	memset(buf, 0, sizeof(buf));
	check_uint(crc32c(0, buf, sizeof(buf)), ==, 0x8a9136aa);
	check_uint(crc32c_sw(0, buf, sizeof(buf)), ==, 0x8a9136aa);
	memset(buf, 0xff, sizeof(buf));
	check_uint(crc32c(0, buf, sizeof(buf)), ==, 0x62a8ab43);
	check_uint(crc32c_sw(0, buf, sizeof(buf)), ==, 0x62a8ab43);
	for (i = 0; i < 32; i++)
		buf[i] = (unsigned char)i;
	check_uint(crc32c(0, buf, sizeof(buf)), ==, 0x46dd794e);
	check_uint(crc32c_sw(0, buf, sizeof(buf)), ==, 0x46dd794e);
}

static void test_dispatch(void)
{
	if (!arch_crc32c_hw_available()) {
		tap_diag("no SSE4.2 on this CPU: crc32c() runs the table path");
		return;
	}
	check_int(crc32c_hw_in_use(), ==, 1);
}

/* Every length up to SMALL_MAX at every alignment, against both references. */
static void test_small(unsigned char *buf)
{
	int bad_sw = 0, bad_hw = 0;
	size_t len, off;
	uint32_t seed, ref;

	fill_random(buf, SMALL_MAX + 8);
	for (len = 0; len <= SMALL_MAX; len++) {
		for (off = 0; off < 8; off++) {
			seed = (uint32_t)rng();
			ref = crc32c_bitwise(seed, buf + off, len);
			bad_sw += crc32c_sw(seed, buf + off, len) != ref;
			bad_hw += crc32c(seed, buf + off, len) != ref;
		}
	}
	check_int(bad_sw, ==, 0);
	check_int(bad_hw, ==, 0);
}

/* Lengths around multiples of the hardware path's rounds, at every alignment. */
static void test_boundaries(unsigned char *buf)
{
	static const size_t centres[] = { 3 * 1024, 4096, 6 * 1024, 3 * 16384,
					  3 * 16384 + 3 * 1024 };
	size_t i, len, off;
	uint32_t seed, want;
	int bad = 0;

	fill_random(buf, 3 * 16384 + 3 * 1024 + 64);
	for (i = 0; i < sizeof(centres) / sizeof(centres[0]); i++) {
		for (len = centres[i] - 24; len <= centres[i] + 24; len++) {
			for (off = 0; off < 8; off++) {
				seed = (uint32_t)rng();
				want = crc32c_sw(seed, buf + off, len);
				bad += crc32c(seed, buf + off, len) != want;
			}
		}
	}
	check_int(bad, ==, 0);
}

/* Long buffers through both block lengths of the hardware path, at odd alignments. */
static void test_large(unsigned char *buf)
{
	static const size_t lens[] = {
		65536 + 13,	   (1u << 20) - 1,     1u << 20, (1u << 20) + 1,  (1u << 20) + 3071,
		(1u << 20) + 3073, (1u << 20) + 49151, 3u << 20, (3u << 20) + 57,
	};
	static const size_t offs[] = { 0, 1, 3, 7 };
	size_t i, j;
	int bad = 0;

	fill_random(buf, LARGE_MAX);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (j = 0; j < sizeof(offs) / sizeof(offs[0]); j++) {
			uint32_t seed = (uint32_t)rng();
			uint32_t sw = crc32c_sw(seed, buf + offs[j], lens[i]);
			uint32_t hw = crc32c(seed, buf + offs[j], lens[i]);

			if (sw != hw && !bad++)
				printf("# mismatch at len %zu off %zu: sw %#x hw %#x\n", lens[i],
				       offs[j], sw, hw);
		}
	}
	check_int(bad, ==, 0);
}

static uint32_t crc_in_pieces(uint32_t (*fn)(uint32_t, const void *, size_t),
			      const unsigned char *p, size_t len)
{
	uint32_t c = 0;
	size_t n;

	while (len) {
		n = rng() % 4 ? rng() % (len + 1) : rng() % 64;
		n = n > len ? len : n;
		c = fn(c, p, n);
		p += n;
		len -= n;
	}
	return c;
}

static void test_chaining(unsigned char *buf)
{
	int bad_sw = 0, bad_hw = 0, round;
	size_t len, off;
	uint32_t whole;

	for (round = 0; round < 200; round++) {
		len = rng() % (round < 20 ? LARGE_MAX - 8 : 100000);
		off = rng() % 8;
		whole = crc32c_sw(0, buf + off, len);
		bad_sw += crc_in_pieces(crc32c_sw, buf + off, len) != whole;
		bad_hw += crc_in_pieces(crc32c, buf + off, len) != whole;
	}
	check_int(bad_sw, ==, 0);
	check_int(bad_hw, ==, 0);
}

int main(void)
{
	unsigned char *buf = malloc(LARGE_MAX);

	check(buf);
	if (!buf)
		return tap_done();
	test_vectors();
	test_dispatch();
	test_small(buf);
	test_boundaries(buf);
	test_large(buf);
	test_chaining(buf);
	free(buf);
	return tap_done();
}
