/* SPDX-License-Identifier: MIT */
/*
 * Tracees: tasks cryo has seized with ptrace. Seizing never signals the
 * task; PTRACE_INTERRUPT stops it wherever it is (inside a syscall, the
 * syscall is interrupted and will be restarted). Syscalls are injected
 * through a syscall instruction that already exists in the task (its vdso),
 * so the task's memory is never patched; from the first one on, every
 * signal is blocked, and the task's registers and mask are put back when
 * it is let go (not after each one: the ptrace round trips cost more than
 * most of the syscalls they would bracket).
 * No logging: 0 or -errno.
 */
#ifndef CRYO_PTRACE_PTRACE_H
#define CRYO_PTRACE_PTRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "arch/arch.h"

struct tracee {
	pid_t tid;
	bool seized;
	arch_regs_t regs;    /* as stopped */
	uint64_t sigmask;    /* as stopped */
	uint64_t syscall_ip; /* a syscall instruction in the task, 0 until found */
	bool group_stopped;  /* it was stopped by job control when seized */
	bool mask_blocked;   /* injections blocked all its signals; detach gives its mask back */
	bool regs_changed;   /* injections changed its registers; detach gives them back */
};

/* Seizes TID and waits until it is stopped. */
int tracee_seize(struct tracee *t, pid_t tid);

/* Resumes the task as it was and detaches. */
int tracee_detach(struct tracee *t);

/* Reads the XSAVE area into BUF (SIZE bytes); *ret_len gets the bytes filled. */
int tracee_get_xstate(struct tracee *t, void *buf, size_t size, size_t *ret_len);

/* Runs syscall NR with ARGS in the task; *ret_result gets its return value. */
int tracee_syscall(struct tracee *t, long nr, const long args[6], long *ret_result);

/* One syscall of a batch: its number and arguments, then its result (64 bytes). */
struct tracee_call {
	long nr;
	long args[6];
	long result;
};

/*
 * Runs N calls in the task in one go, for ptrace round trips cost more
 * than most syscalls: CALLS are copied to TABLE (task memory with room for
 * N), the batch code already copied at CODE (arch.h) runs them and traps,
 * and each result comes back into CALLS. 0 or -errno of the injection.
 */
int tracee_batch(struct tracee *t, uint64_t code, uint64_t table, struct tracee_call *calls,
		 size_t n);

/* Waits for TID to stop under ptrace; returns the waitpid status in *ret_status. */
int ptrace_wait_stop(pid_t tid, int *ret_status);

#endif
