/* SPDX-License-Identifier: MIT */
/* x86_64 general registers: the kernel's struct user_regs_struct. */
#ifndef CRYO_ARCH_X86_64_REGS_H
#define CRYO_ARCH_X86_64_REGS_H

#include <elf.h>
#include <sys/user.h>

/* The ptrace regset of the XSAVE area. */
#define ARCH_NT_XSTATE NT_X86_XSTATE

/* The signature glibc registers its rseq area with (RSEQ_SIG). */
#define ARCH_RSEQ_SIG 0x53053053u

/* The top of user space for a task that did not ask for 5-level paging. */
#define ARCH_TASK_SIZE 0x7ffffffff000ull

struct arch_regs {
	struct user_regs_struct r;
};

#endif
