/* SPDX-License-Identifier: MIT */
/*
 * The checkpoint context: one struct, handed to every object kind's dump
 * function. No globals.
 */
#ifndef CRYO_CORE_CKPT_H
#define CRYO_CORE_CKPT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "core/checkpoint.h"
#include "image/chain.h"
#include "image/writer.h"
#include "lib/proc.h"
#include "objhash/objhash.h"
#include "ptrace/ptrace.h"

struct ckpt_task {
	pid_t pid;
	struct tracee tracee;
	struct proc_stat stat;
	struct proc_status status;
	uint32_t objref;
	uint32_t mm_objref;
	uint32_t fdt_objref;
	uint64_t scratch;      /* a page mapped in the task for injected syscalls, 0 if none */
	bool zombie;	       /* exited, not reaped: only its REC_TASK is written */
	bool told_unprotected; /* the warning that it has no lifeline was given */
	/*
	 * A live process's other threads, each seized, as tasks of their own
	 * (pid is the tid; stat, status and tracee are the thread's). What a
	 * process shares (memory, files, the scratch page) goes through the
	 * process, never through a thread. Empty for a single thread.
	 */
	struct ckpt_task *threads;
	size_t nr_threads;
};

struct mm_span {
	uint64_t start, end;
};

/* Write tracking of one process's memory (src/objects/mm_track.c). */
struct mm_track {
	pid_t pid;
	int uffd;	 /* cryo's userfaultfd of the process's mm; -1: not tracked */
	int pagemap_fd;	 /* /proc/PID/pagemap, for PAGEMAP_SCAN */
	uint32_t source; /* where the kept pages are: PAGES_IN_PRECOPY, PAGES_IN_PARENT */
	/* pages saved before the freeze (pre-copy, or the parent), ascending */
	struct mm_span *kept;
	size_t nr_kept, cap_kept;
};

struct ckpt_ctx {
	const struct checkpoint_opts *opts;
	struct image_writer w;
	struct objhash *objs;
	struct ckpt_task *tasks;
	size_t nr_tasks;
	long page_size;
	int out_fd;		 /* stdout for "-o -", else owned by the writer */
	struct mm_track *tracks; /* write-tracked processes, ascending pids */
	size_t nr_tracks;
	uint64_t time_ns; /* the header's */
	/* --parent: the parent image, read and checked (image/chain.h) */
	struct image_source parent_src;
	struct image *parent_img;
	struct image_chain parent_chain;
};

/* The write tracking of process PID, NULL if it has none. */
struct mm_track *ckpt_track_of(struct ckpt_ctx *ctx, pid_t pid);
/* Is PID a live process of the tree? */
bool ckpt_task_alive(const struct ckpt_ctx *ctx, pid_t pid);

/*
 * Incremental checkpoints (src/core/incremental.c): begin, after the
 * header: takes the tree's tracker, reads --parent and writes REC_PARENT
 * with the tracks of the parent's pages; rearm, frozen, once saved: tracks
 * every process from now on; end, once the image is finished: hands the
 * tracking to a new tracker. Only with --parent or --track.
 */
int incr_begin(struct ckpt_ctx *ctx);
int incr_rearm(struct ckpt_ctx *ctx);
void incr_end(struct ckpt_ctx *ctx);
void incr_free(struct ckpt_ctx *ctx);

/* Runs a syscall in task T (seized); its result in *ret. 0 or -errno. */
int ckpt_task_syscall(struct ckpt_task *t, long nr, long a0, long a1, long a2, long a3, long *ret);

/*
 * strerror() for the errors of injections: -ETIME (a batch whose task went
 * home by itself, ptrace.h) is told as what happened.
 */
const char *ckpt_strerror(int err);

/*
 * Runs syscall NR in task T with ARGS, argument ARG_INDEX replaced by the
 * address of a scratch page mapped in the task (once, removed when the
 * checkpoint ends), and copies LEN bytes of what the syscall wrote there
 * into OUT. 0, the syscall's -errno, or -errno of the injection.
 */
int ckpt_task_query(struct ckpt_ctx *ctx, struct ckpt_task *t, long nr, const long args[4],
		    int arg_index, void *out, size_t len);

/*
 * Calls FN for every fd of every live task, with the stat of the file it
 * names; stops at the first error FN returns. Logs a task whose fds
 * cannot be listed.
 */
int ckpt_for_each_fd(struct ckpt_ctx *ctx,
		     int (*fn)(void *arg, pid_t pid, int fd, const struct stat *st), void *arg);

/* cryo's own descriptor of PID's FD: the same open file description (pidfd_getfd). */
int ckpt_fetch_fd(pid_t pid, int fd);

/*
 * Opens PATH in task T (an injected openat with FLAGS, resolved in the
 * task's root and cwd) and returns cryo's descriptor of that open file;
 * the task's own descriptor is closed again and no scratch page stays.
 * -errno on failure.
 */
int ckpt_task_open(struct ckpt_ctx *ctx, struct ckpt_task *t, const char *path, int flags);

/*
 * Batched injections (many syscalls, one ptrace round trip): the address
 * in the task of a page where the calls may write (their output pointers
 * point into it), then ckpt_task_batch() runs them; results in CALLS, and
 * ckpt_mem_read() for what they wrote. At most a page of calls (64).
 */
int ckpt_task_batch_out(struct ckpt_ctx *ctx, struct ckpt_task *t, uint64_t *ret_out);
int ckpt_task_batch(struct ckpt_ctx *ctx, struct ckpt_task *t, struct tracee_call *calls, size_t n);

/*
 * Runs syscall NR in task T, one that returns a descriptor, and gives
 * cryo's own descriptor of it; the task's is closed again. -errno on failure.
 */
int ckpt_task_fd_syscall(struct ckpt_task *t, long nr, long a0, long a1, long a2, long a3);

/* Reads LEN bytes of task memory at ADDR. 0 or -errno. */
int ckpt_mem_read(pid_t pid, uint64_t addr, void *buf, size_t len);

/* Object kinds: checkpoint side (src/objects/). Each logs its own errors. */
int files_dump(struct ckpt_ctx *ctx, struct ckpt_task *t);
int mm_dump(struct ckpt_ctx *ctx, struct ckpt_task *t);
int task_dump_tree(struct ckpt_ctx *ctx, struct ckpt_task *t);
int task_dump_state(struct ckpt_ctx *ctx, struct ckpt_task *t);
int signal_dump(struct ckpt_ctx *ctx, struct ckpt_task *t);
/* A thread's own state (REC_TASK_CORE, registers, its private pending signals). */
int task_dump_thread(struct ckpt_ctx *ctx, struct ckpt_task *t, struct ckpt_task *th);
int signal_dump_thread(struct ckpt_ctx *ctx, struct ckpt_task *th);
/*
 * The fd's open file description: its objref, and whether it is met for
 * the first time (then the caller writes its record). Logs its errors.
 */
int files_lookup_fd(struct ckpt_ctx *ctx, pid_t pid, int fd, const struct stat *st,
		    uint32_t *ret_objref, bool *ret_new);
/*
 * The objref of a file an earlier pass saved (SAVED_WITH, e.g. "the pipes",
 * names that pass for the message); -EAGAIN if the fd is new. Logs.
 */
int files_lookup_saved(struct ckpt_ctx *ctx, pid_t pid, int fd, const struct stat *st,
		       const char *path, const char *saved_with, uint32_t *ret_objref);

/* Terminals (src/objects/tty.c, doc/pty.md section 5). */
enum tty_end {
	TTY_END_NONE,	/* not a terminal */
	TTY_END_MASTER, /* a pty master: ptmx, 5:2 */
	TTY_END_SLAVE,	/* a pty slave: 136..143:N */
	TTY_END_DEVTTY, /* /dev/tty, 5:0 */
	TTY_END_OTHER,	/* a terminal of another kind: console, serial, BSD pty, ... */
};
enum tty_end tty_end_of(dev_t rdev);
/* Every terminal of the tree, its state and queues, and the controlling terminals. */
int tty_dump(struct ckpt_ctx *ctx);
/* The objref tty_dump gave the file of PID's FD (at PATH, for messages). */
int tty_file_objref(struct ckpt_ctx *ctx, pid_t pid, int fd, const struct stat *st,
		    const char *path, uint32_t *ret_objref);

/*
 * Write tracking (src/objects/mm_track.c, doc/performance.md). start:
 * T seized; makes the userfaultfd and arms it. arm: registers and
 * write-protects every eligible mapping. claim: registers V again, 0 when the
 * tracking of V is ours (module comment). scan: PAGEMAP_SCAN of PAGEMAP_FD
 * (the process's /proc/PID/pagemap) over [START, END) for pages with any
 * category of ANYOF, FN called per region (a non-zero return stops it).
 * keep / kept_until: the kept spans (ascending); kept_until says whether
 * ADDR is kept and where that answer changes, at most END.
 */
struct page_region;
int mm_track_start(struct ckpt_task *t, struct mm_track *tr);
int mm_track_arm(struct mm_track *tr);
bool mm_track_eligible(const struct proc_vma *v);
int mm_track_claim(const struct mm_track *tr, const struct proc_vma *v);
int mm_track_scan(int pagemap_fd, uint64_t start, uint64_t end, uint64_t anyof, uint64_t flags,
		  int (*fn)(void *arg, const struct page_region *r), void *arg);
/*
 * The pages of [START, END) that PAGEMAP_SCAN calls swapped and really are
 * (not the markers of empty protected pages): FN per run of them. The
 * pagemap is read through WIN, up to 4096 entries at once but not past
 * VMA_END; a zeroed window is empty.
 */
struct pagemap_window {
	uint64_t start, nr;
	uint64_t pm[4096];
};
int mm_track_swapped(int pagemap_fd, struct pagemap_window *win, uint64_t start, uint64_t end,
		     uint64_t vma_end, int (*fn)(void *arg, uint64_t start, uint64_t end),
		     void *arg);
int mm_track_keep(struct mm_track *tr, uint64_t start, uint64_t end);
uint64_t mm_track_kept_until(const struct mm_track *tr, uint64_t addr, uint64_t end,
			     bool *ret_kept);
void mm_track_free(struct mm_track *tr);
/* Pre-copy: the tracked memory of TR's process, copied while it runs (REC_PRECOPY). */
int mm_precopy(struct ckpt_ctx *ctx, struct mm_track *tr);

/* Pipes and FIFOs (src/objects/pipe.c): every pipe of the tree, its files and data. */
int pipe_dump(struct ckpt_ctx *ctx);

/* Files by path (exe, mappings): their objref, written on first use. */
int files_dump_path(struct ckpt_ctx *ctx, struct ckpt_task *t, const char *path, int flags,
		    uint32_t *ret_objref);

#endif
