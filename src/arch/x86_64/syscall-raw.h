/* SPDX-License-Identifier: MIT */
/*
 * Raw syscalls for freestanding code (the restorer blob): no libc, no errno;
 * they return the kernel's value, -errno on failure.
 */
#ifndef CRYO_ARCH_X86_64_SYSCALL_RAW_H
#define CRYO_ARCH_X86_64_SYSCALL_RAW_H

#include <asm/unistd.h>

static inline long raw_syscall6(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	long ret;
	register long r10 __asm__("r10") = a3;
	register long r8 __asm__("r8") = a4;
	register long r9 __asm__("r9") = a5;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

#define raw_syscall0(nr)	  raw_syscall6(nr, 0, 0, 0, 0, 0, 0)
#define raw_syscall1(nr, a)	  raw_syscall6(nr, (long)(a), 0, 0, 0, 0, 0)
#define raw_syscall2(nr, a, b)	  raw_syscall6(nr, (long)(a), (long)(b), 0, 0, 0, 0)
#define raw_syscall3(nr, a, b, c) raw_syscall6(nr, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define raw_syscall4(nr, a, b, c, d)                                                               \
	raw_syscall6(nr, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define raw_syscall5(nr, a, b, c, d, e)                                                            \
	raw_syscall6(nr, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

#endif
