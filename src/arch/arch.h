/* SPDX-License-Identifier: MIT */
/*
 * The architecture interface: registers, syscalls, the restorer's entry.
 * Generic code uses only what is declared here; src/arch/x86_64/ is the one
 * implementation. Each hook says its contract in one line.
 */
#ifndef CRYO_ARCH_ARCH_H
#define CRYO_ARCH_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "arch/x86_64/regs.h"

/* The general registers as PTRACE_GETREGSET NT_PRSTATUS gives them. */
typedef struct arch_regs arch_regs_t;

/* Bytes of the XSAVE area this CPU uses (XSTATE for ptrace), and its features (XCR0). */
size_t arch_xstate_size(void);
uint64_t arch_xfeatures(void);

/* The instruction pointer, stack pointer, and the syscall the task was in (-1 if none). */
uint64_t arch_regs_ip(const arch_regs_t *regs);
uint64_t arch_regs_sp(const arch_regs_t *regs);
long arch_regs_syscall_nr(const arch_regs_t *regs);

/* Sets REGS up to run syscall NR with ARGS from a syscall instruction at IP. */
void arch_regs_prepare_syscall(arch_regs_t *regs, uint64_t ip, long nr, const long args[6]);

/* At a syscall-entry stop: makes the kernel skip the syscall (it returns -ENOSYS). */
void arch_regs_skip_syscall(arch_regs_t *regs);

/* The return value of a syscall that has just completed. */
long arch_regs_syscall_result(const arch_regs_t *regs);

enum syscall_restart {
	RESTART_IN_PLACE, /* the same task resumes: restart_syscall() is valid */
	RESTART_REISSUE,  /* a restored task: re-issue the original syscall */
};

/*
 * A task stopped inside an interrupted syscall (-ERESTART* in the result)
 * is resumed by ptrace without passing through signal delivery, so the
 * kernel will not restart the syscall itself: rewrite REGS so it does.
 * Returns true if REGS changed.
 */
bool arch_regs_restart_syscall(arch_regs_t *regs, enum syscall_restart how);

/*
 * A few waits end with EINTR on any stop of the task, ptrace's included,
 * where most others say "restart me": rt_sigtimedwait with no timeout.
 * For a task cryo stopped inside one, REGS get the restartable result
 * instead, so it waits on unless a handler runs (then EINTR, as before).
 * With a timeout, the EINTR stays: re-issuing would lengthen the wait.
 * Returns true if REGS changed.
 */
bool arch_regs_resume_wait(arch_regs_t *regs);

/*
 * Position-independent code that runs a table of syscalls in a stopped
 * task, then traps (int3): a table of struct { long nr, args[6], result; }
 * at the address in ARCH_BATCH_TABLE_REG, as many as ARCH_BATCH_COUNT_REG
 * says. It uses only registers, never the task's stack. Copied into a page
 * of the task for ptrace's batched injections (ptrace.c).
 */
extern const unsigned char arch_batch_code[];
extern const size_t arch_batch_code_len;

/*
 * Sets REGS up to run the batch code at IP over N entries of the table at
 * TABLE. With a lifeline (HOME, its way home), the code then sets the
 * first word of TAIL (struct arch_batch_tail, in the task) and waits there
 * for cryo; if the wait ends, it jumps HOME. Without (HOME 0), it traps.
 */
void arch_regs_prepare_batch(arch_regs_t *regs, uint64_t ip, uint64_t table, uint64_t n,
			     uint64_t home, uint64_t tail);

/* The end of a batch: done once the calls are made, then at most WAIT for cryo. */
struct arch_batch_tail {
	uint64_t done;
	int64_t wait_sec, wait_nsec;
};

/*
 * The lifeline: a block of code and data cryo copies into the slack at the
 * end of a task's vdso before it injects anything (ptrace.h). Injected
 * syscalls run from its first instruction; if the task runs on without
 * cryo (cryo was killed), the rest closes ARCH_LIFELINE.fd, unmaps
 * .scratch, and puts back the signal mask and the registers saved in the
 * data, so the task goes on exactly where it was. The data sit at
 * arch_lifeline_data_off in the block.
 */
struct arch_lifeline_data {
	int64_t fd;	  /* a descriptor cryo had the task open, -1 if none */
	uint64_t scratch; /* cryo's scratch pages in the task, 0 if none */
	uint64_t scratch_len;
	uint64_t sigmask; /* the task's own */
	uint64_t gpr[15]; /* the task's own registers, as the block pops them */
	uint64_t rflags, rsp, rip;
};
extern const unsigned char arch_lifeline_code[];
extern const size_t arch_lifeline_len, arch_lifeline_data_off;

/* Where the way home starts: after the syscall instruction at the block's head. */
#define ARCH_LIFELINE_HOME ARCH_SYSCALL_INSN_LEN

/* Fills the register part of D from REGS (the task's own, restart already applied). */
void arch_lifeline_set_regs(struct arch_lifeline_data *d, const arch_regs_t *regs);

/* The length of the syscall instruction and its bytes, to find one in a task. */
#define ARCH_SYSCALL_INSN_LEN 2
extern const unsigned char arch_syscall_insn[ARCH_SYSCALL_INSN_LEN];

/* Converts REGS to and from the image's fixed register layout (REC_TASK_REGS). */
struct rec_task_regs;
void arch_regs_to_image(const arch_regs_t *regs, struct rec_task_regs *rec);
void arch_regs_from_image(const struct rec_task_regs *rec, arch_regs_t *regs);

/* Leaves the C world: switches to STACK_TOP and calls ENTRY(ARG); never returns. */
__attribute__((noreturn)) void arch_jump_to_restorer(uint64_t entry, uint64_t stack_top,
						     uint64_t arg);

#endif
