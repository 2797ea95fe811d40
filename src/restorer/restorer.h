/* SPDX-License-Identifier: MIT */
/*
 * The contract between restart (ordinary C) and the restorer blob
 * (freestanding, position independent).
 *
 * Restart's child copies the blob and a struct restorer_args, with every
 * array it points to, into one block of memory at a hole of the final
 * address space, then jumps to the blob's entry with the block's address.
 * The blob unmaps everything else (all of cryo), moves the vdso, maps the
 * saved memory, fills it from the image, sets PR_SET_MM_MAP and the
 * per-task kernel state, and stops itself with SIGSTOP. Restart, tracing
 * it, then unmaps the block through the blob's syscall instruction, puts
 * the saved registers in place and lets the task go.
 *
 * Everything in here is position independent: arrays are offsets from the
 * start of the args, never pointers into cryo.
 */
#ifndef CRYO_RESTORER_RESTORER_H
#define CRYO_RESTORER_RESTORER_H

#include <stdint.h>

/* Offsets of the blob's two entry points (see src/arch/x86_64/restorer-head.S). */
#define RESTORER_ENTRY_OFFSET	0
#define RESTORER_SYSCALL_OFFSET 16

struct restorer_vma {
	uint64_t start, end;
	uint64_t pgoff;
	uint32_t prot;	   /* the final protection */
	uint32_t flags;	   /* MAP_PRIVATE / MAP_SHARED, MAP_ANONYMOUS, MAP_GROWSDOWN */
	int32_t fd;	   /* the mapped file, -1 for anonymous */
	uint32_t has_data; /* pages come from the image: map writable first */
	uint32_t lazy;	   /* --lazy: registered with the userfaultfd, filled by cryo later */
	uint32_t pad;
};

/* Page data: LEN bytes for VADDR at FILE_OFFSET of the image FD (or of a parent image). */
struct restorer_run {
	uint64_t vaddr;
	uint64_t len;
	uint64_t file_offset;
	int32_t fd;
	uint32_t lazy; /* in a lazy vma: not read now */
};

/* One special mapping ([vvar], [vvar_vclock], [vdso]) to move. */
struct restorer_vdso {
	uint64_t from, to, len;
};

#define RESTORER_MAX_VDSO   3
#define RESTORER_MAX_GROUPS 65536

/* The steps, reported with an errno to restart when one fails. */
enum restorer_step {
	RST_STEP_PREPARE = 0, /* restart's child, before the blob: text says what failed */
	RST_STEP_BLOCK = 100, /* not a failure: where the block is (where, len) */
	RST_STEP_BORN = 101,  /* not a failure: the task and its children exist; it waits */
	RST_STEP_DONE = 102,  /* not a failure: the restorer is about to stop the task */
	RST_STEP_LAZY = 103,  /* not a failure: its userfaultfd is descriptor `where` */
	RST_STEP_UNMAP = 1,
	RST_STEP_VDSO,
	RST_STEP_MMAP,
	RST_STEP_PAGES,
	RST_STEP_MPROTECT,
	RST_STEP_MM_MAP,
	RST_STEP_CLOSE,
	RST_STEP_TASK,
	RST_STEP_CREDS,
	RST_STEP_TIMERS,
	RST_STEP_THREAD, /* where: the tid */
	RST_STEP_LAZY_REGISTER,
};

/* Messages on report_fd: fixed size, so each write is atomic on a pipe. */
struct restorer_report {
	int32_t step;	/* enum restorer_step */
	int32_t err;	/* errno */
	uint64_t where; /* an address, when it helps */
	uint64_t len;
	int32_t pid;	/* the task that reports */
	char text[228]; /* RST_STEP_PREPARE: the error line */
};
_Static_assert(sizeof(struct restorer_report) == 256, "restorer_report is 256 bytes");

/*
 * prctl(PR_SET_MM_MAP)'s struct prctl_mm_map, field for field, then the
 * auxv it points to: the restorer sets the pointer once the block is placed.
 */
struct restorer_mm {
	uint64_t start_code, end_code, start_data, end_data, start_brk, brk, start_stack;
	uint64_t arg_start, arg_end, env_start, env_end;
	uint64_t auxv_ptr;
	uint32_t auxv_size; /* bytes */
	int32_t exe_fd;
	uint64_t auxv[128];
};
#define RESTORER_MM_MAP_SIZE 104 /* sizeof(struct prctl_mm_map): up to exe_fd */

struct restorer_creds {
	uint32_t uid[4], gid[4];
	uint32_t securebits;
	uint32_t nr_groups;
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	uint64_t groups_off; /* uint32_t groups[nr_groups] */
};

/*
 * A thread of the process besides the main one. The restorer makes it with
 * its tid (clone3 with set_tid) on a stack of its own in the block; the
 * thread sets what only it can set, queues its own pending signals, and
 * stops like the main thread. Restart then gives it its registers.
 */
struct restorer_thread {
	int32_t tid;
	int32_t pdeath_signal;
	uint64_t tid_address;
	uint64_t robust_list, robust_list_len;
	uint64_t rseq;
	uint32_t rseq_len, rseq_sig;
	uint64_t altstack_sp, altstack_size;
	uint32_t altstack_flags;
	int32_t nice;
	uint32_t sched_policy, sched_priority;
	uint64_t timerslack_ns;
	char comm[16];
	uint64_t nr_pending, pending_off; /* siginfos of RESTORER_SIGINFO_SIZE bytes */
};

#define RESTORER_SIGINFO_SIZE 128

/*
 * A POSIX timer that signals one of those threads (SIGEV_THREAD_ID): made
 * once the thread exists, with the id the program knows.
 */
struct restorer_timer {
	int32_t id, clock;
	int32_t signo, tid;
	uint64_t sigev_value;
	uint64_t interval_ns, value_ns;
};

struct restorer_itimer {
	uint64_t interval_ns, value_ns;
};

struct restorer_args {
	uint64_t block_start, block_len; /* this block: blob, args, stack; kept */
	uint64_t task_size;		 /* unmap up to here */
	int32_t image_fd;
	int32_t report_fd; /* write a struct restorer_report here on failure */
	uint32_t lazy;	   /* --lazy: register the lazy vmas with a userfaultfd */
	uint32_t pad0;

	uint32_t nr_vdso;
	int32_t pid;					  /* the task, for its reports */
	struct restorer_vdso vdso_tmp[RESTORER_MAX_VDSO]; /* first moves, when they overlap */
	struct restorer_vdso vdso[RESTORER_MAX_VDSO];
	uint32_t nr_unmap_vdso; /* ours to drop, when the image had none */
	uint32_t pad1;
	struct restorer_vdso unmap_vdso[RESTORER_MAX_VDSO];

	uint64_t nr_vmas, vmas_off;	  /* struct restorer_vma[] */
	uint64_t nr_runs, runs_off;	  /* struct restorer_run[] */
	uint64_t nr_close, close_off;	  /* int32_t[]: fds to close once mapped */
	uint64_t nr_threads, threads_off; /* struct restorer_thread[] */
	uint64_t nr_timers, timers_off;	  /* struct restorer_timer[] */
	uint64_t thread_stacks;		  /* address of the first thread's stack */
	uint64_t thread_stack_size;	  /* bytes per thread */
	/* tasks (threads and main) yet to report they are done; the last closes report_fd */
	uint64_t unfinished;

	struct restorer_mm mm;

	uint64_t tid_address;
	uint64_t robust_list, robust_list_len;
	uint64_t rseq;
	uint32_t rseq_len, rseq_sig;
	struct restorer_itimer itimers[3];
	int32_t pdeath_signal;
	uint32_t dumpable;
	struct restorer_creds creds;
};

#endif
