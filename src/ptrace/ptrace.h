/* SPDX-License-Identifier: MIT */
/*
 * Tracees: tasks cryo has seized with ptrace. Seizing never signals the
 * task; PTRACE_INTERRUPT stops it wherever it is (inside a syscall, the
 * syscall is interrupted and will be restarted).
 *
 * Syscalls are injected through the task's lifeline (arch.h): a block of
 * code and data that cryo copies into the unused end of the task's vdso
 * before the first one. From then on, every signal is blocked, and the
 * task, stopped, always has its instruction pointer in the lifeline: after
 * a syscall, at the lifeline's way home; during a batch, in the batch code,
 * which ends there. So if cryo dies at any instant (SIGKILL), the kernel
 * lets the task go and the lifeline puts it back as it was: registers,
 * signal mask, no scratch pages, no descriptor of cryo's
 * (doc/reliability.md). Normally tracee_restore() or the detach puts them
 * back and wipes the block. A task whose vdso has no room for a lifeline is
 * injected through a syscall instruction of its vdso, unprotected.
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
	int lifeline_slot;   /* which block of the vdso's slack it uses (one per thread at once) */
	uint64_t lifeline;   /* its lifeline block in the task, 0 if none (yet) */
	bool lifeline_armed; /* the block is in the task and holds this task's state */
	bool unprotected;    /* no room for a lifeline: injections are not SIGKILL-safe */
	bool at_entry;	     /* left at a syscall-entry stop (an injection gave up halfway) */
	struct arch_lifeline_data life; /* the block's data, as last written */
};

/* How many lifeline slots a process has: one for its main thread, one for another thread. */
#define TRACEE_LIFELINE_SLOTS 2

/* Seizes TID and waits until it is stopped. */
int tracee_seize(struct tracee *t, pid_t tid);

/* Resumes the task as it was and detaches. */
int tracee_detach(struct tracee *t);

/* Reads the XSAVE area into BUF (SIZE bytes); *ret_len gets the bytes filled. */
int tracee_get_xstate(struct tracee *t, void *buf, size_t size, size_t *ret_len);

/*
 * Puts the task's registers and signal mask back now and wipes its
 * lifeline, so another thread of the process may use the slot.
 */
int tracee_restore(struct tracee *t);

/* Copies the lifeline into the task now, before any injection (found once). */
int tracee_arm(struct tracee *t);

/*
 * Sends the task's instruction pointer to its lifeline's way home, out of
 * any batch code: from there, if cryo dies, it needs nothing but the
 * lifeline (not the scratch pages the batch code lives in).
 */
int tracee_park(struct tracee *t);

/*
 * Tells the lifeline what to undo if cryo dies: a descriptor the task
 * holds for cryo (FD, -1 for none) and cryo's scratch pages (SCRATCH, LEN;
 * 0 for none). Only the task's lifeline must know them, and it must be
 * armed (an injection has run).
 */
int tracee_lifeline_fd(struct tracee *t, long fd);
int tracee_lifeline_scratch(struct tracee *t, uint64_t scratch, uint64_t len);

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
 * N), the batch code already copied at CODE (arch.h) runs them, and each
 * result comes back into CALLS. With a lifeline, the code then marks TAIL
 * (task memory for struct arch_batch_tail) and waits, bounded, for cryo to
 * interrupt it; without one, it traps. 0 or -errno of the injection;
 * -ETIME if cryo came too late and the task went home by itself: it is its
 * own again, and the scratch pages are gone.
 */
int tracee_batch(struct tracee *t, uint64_t code, uint64_t table, uint64_t tail,
		 struct tracee_call *calls, size_t n);

/* Waits for TID to stop under ptrace; returns the waitpid status in *ret_status. */
int ptrace_wait_stop(pid_t tid, int *ret_status);

#endif
