/* SPDX-License-Identifier: MIT */
/*
 * Architecture hook for CRC32C: the hardware instruction, when the CPU has
 * one. src/lib/crc32c.c decides once, at first use, which path to take.
 */
#ifndef CRYO_ARCH_CRC32C_HW_H
#define CRYO_ARCH_CRC32C_HW_H

#include <stddef.h>
#include <stdint.h>

/* 1 when arch_crc32c_hw() may be called on this CPU. */
int arch_crc32c_hw_available(void);

/* Same convention as crc32c(): takes and returns the finished (inverted) value. */
uint32_t arch_crc32c_hw(uint32_t crc, const void *buf, size_t len);

#endif
