/* SPDX-License-Identifier: MIT */
/*
 * CRC32C (Castagnoli, reflected polynomial 0x82f63b78), the checksum of the
 * image format. Uses the SSE4.2 crc32 instruction when the CPU has it (three
 * streams interleaved, so it runs well above memory-copy speed), a portable
 * slice-by-8 table otherwise; both give identical results.
 *
 * Chaining: crc32c(crc32c(0, a, n), b, m) == crc32c(0, a || b, n + m).
 * crc32c(0, "123456789", 9) == 0xe3069283.
 */
#ifndef CRYO_LIB_CRC32C_H
#define CRYO_LIB_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* The portable implementation, exported for tests and benchmarks. */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);

/* 1 when the hardware path is in use. */
int crc32c_hw_in_use(void);

#endif
