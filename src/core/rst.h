/* SPDX-License-Identifier: MIT */
/*
 * The restart context, handed to every object kind's restore functions.
 * Restore functions run in restart's child, the task that becomes the
 * restored process; they report failures with rst_fail(), which sends one
 * error line to the parent (the child has no stderr of its own by then).
 */
#ifndef CRYO_CORE_RST_H
#define CRYO_CORE_RST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/restart.h"
#include "image/chain.h"
#include "image/reader.h"
#include "image/source.h"
#include "objhash/objhash.h"
#include "restorer/restorer.h"

/* One task of the image, with the records that describe it. */
struct rst_task {
	pid_t pid;
	const struct rec_task *task;
	const struct rec_task_objs *objs;
	const struct rec_task_core *core;
	const struct rec_sigactions *sigactions;
	const struct rec_creds *creds;
	const struct rec_rlimits *rlimits;
	const struct rec_fs *fs;
	const struct rec_task_regs *regs;
	const struct rec_task_xstate *xstate;
	const struct rec_sigpending *pending[2]; /* private, shared; NULL if none */
	const struct rec_tty_ctty *ctty;	 /* NULL if it has no controlling tty */
	struct rst_task *parent;		 /* NULL for the root */
	/* a process's other threads (in rst_ctx.threads), which only have their own
	 * task, core, regs, xstate and private pending records */
	struct rst_task *threads;
	size_t nr_threads;
	/*
	 * The root leads a new session of its own: its session's leader is not
	 * in the image, and its controlling terminal, an external one, comes
	 * back on a new pty (doc/pty.md 9.1): a job of the user's shell.
	 */
	bool new_session;
	bool zombie;
	/*
	 * The pid of a helper that makes the task's process group, whose leader
	 * exited: the parent creates it just before the task; it leads the
	 * group until the tree is complete, then exits and is reaped. 0: none.
	 */
	pid_t group_helper;
	/*
	 * The pid of a helper that makes the task's session, whose leader
	 * exited: the parent, a child subreaper for the while, creates it; the
	 * helper calls setsid(), creates the task (and its siblings of that
	 * session) and exits, and the task is the parent's again. 0: none.
	 */
	pid_t session_helper;
	/* restart's side, once the task is born */
	bool seized, stopped;
	bool done; /* its restorer reported RST_STEP_DONE: its next SIGSTOP is the end */
	uint64_t block, block_len; /* the restorer's block, from its report */
	int lazy_fd_in_task;	   /* --lazy: its userfaultfd's number in the task, -1 if none */
	int uffd;		   /* the same, restart's own descriptor; -1 if none */
};

/* The restorer's args block, built up in the child before it is copied in place. */
struct rst_block {
	struct restorer_args *args; /* heap copy, arrays appended after it */
	size_t len, cap;
};

struct rst_ctx {
	const struct restart_opts *opts;
	struct image_source src;
	struct image *img;
	struct image_chain chain; /* the image and its parents (links[0] is img) */
	/* page data checked so far (restart.c, check_some_pages()): link, record */
	size_t crc_link, crc_rec;
	struct objhash *objs;	/* objref -> fd, in the child */
	struct rst_task *tasks; /* processes: thread-group leaders and zombies */
	size_t nr_tasks;
	struct rst_task *threads; /* the other threads of every process, in image order */
	size_t nr_threads;
	size_t nr_helpers; /* group helpers (rst_task.group_helper) */
	int report_fd;	   /* child side */
	int go_fd;	   /* child side */
	int parent_fds[2]; /* the parent's ends of the pipes: the child closes its copies */
	int high_fd;	   /* next fd number for restart's own descriptors */
	int fd_floor;	   /* above every fd of the image */
	int *kept_fds;	   /* made by restart before the tasks, inherited by them */
	size_t nr_kept_fds;
	struct rst_ttys *ttys;	/* terminals being restored (tty_restore.c) */
	enum tty_mode tty_mode; /* where external terminals go: TTY_INHERIT, _NEW or _NONE */
	int relay_fd;	     /* --tty=inherit: the master restart relays to its terminal, or -1 */
	int external_master; /* the external terminal's new pty while it is made, or -1 */
	/*
	 * --tty=inherit, the root a job whose session leader stays out: a
	 * keeper leads the new session and is the root's parent (restart.c).
	 */
	bool keeper_wanted;
	pid_t keeper;
	pid_t pid; /* the task the child is becoming, for messages */
	long page_size;
};

/* Sends one error line to the parent; returns ERR (a -errno) for chaining. */
int rst_fail(struct rst_ctx *ctx, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Appends LEN bytes to the block, right after what is there; returns their
 * offset from the args, or 0 on ENOMEM. rst_block_array() aligns the end
 * for the start of a new array and returns its offset.
 */
uint64_t rst_block_append(struct rst_block *b, const void *data, size_t len);
uint64_t rst_block_array(struct rst_block *b);

/* Object kinds: restart side (src/objects/). */
int files_restore(struct rst_ctx *ctx, struct rst_task *t);
int files_open_objref(struct rst_ctx *ctx, uint32_t objref, int *ret_fd);
/* Moves FD (closed) to a number >= high_fd for file OBJREF; reports failure. */
int files_move_high(struct rst_ctx *ctx, int fd, uint32_t objref, int *ret_fd);
int mm_restore_prepare(struct rst_ctx *ctx, struct rst_task *t, struct rst_block *b);
/*
 * Finds a hole of LEN bytes free both now and in the saved address space
 * for the restorer's block, and plans the vdso moves into B.
 */
int mm_restore_layout(struct rst_ctx *ctx, struct rst_task *t, struct rst_block *b, size_t len,
		      uint64_t *ret_start);
int task_restore_state(struct rst_ctx *ctx, struct rst_task *t, struct rst_block *b);
int task_restore_root(struct rst_ctx *ctx, struct rst_task *t);
/* Handlers, pending signals, timers; B gets the timers of the threads the restorer makes. */
int signal_restore(struct rst_ctx *ctx, struct rst_task *t, struct rst_block *b);

/*
 * Terminals (tty_restore.c). In restart itself, before the tasks:
 * tty_restore_open() makes every pty with its state and registers its
 * files; tty_restore_finish() once the tasks hold their files;
 * tty_restore_close() on failure. Both log their errors. In the task:
 * tty_restore_ctty() after its session exists, tty_open_file() for a file
 * only the task can open (/dev/tty); both report through rst_fail().
 */
int tty_restore_open(struct rst_ctx *ctx);
int tty_restore_finish(struct rst_ctx *ctx);
void tty_restore_close(struct rst_ctx *ctx);
int tty_restore_ctty(struct rst_ctx *ctx, struct rst_task *t);
int tty_open_file(struct rst_ctx *ctx, const struct rec_tty_file *f, int *ret_fd);

/*
 * --tty=inherit (src/core/relay.c): restart's terminal speaks for the
 * restored one until ROOT ends; its modes come back then. ROOT's wait
 * status in *ret_status. Logs its errors.
 */
int relay_run(int master, pid_t root, int *ret_status);

/*
 * A file of a pipe or FIFO (pipe.c): the pipe is made on first use, and its
 * own two descriptors are in the objhash as OBJ_PIPE (high 32 bits: read).
 */
int pipe_open_file(struct rst_ctx *ctx, const struct rec_pipe_file *f, int *ret_fd);

/* --lazy: is this vma's memory served on first touch (private anonymous)? */
bool mm_vma_is_lazy(const struct rec_vma *v);
/* --lazy: is this process's memory served on first touch (mm.c says why not always)? */
bool mm_task_is_lazy(const struct rst_ctx *ctx, const struct rst_task *t);
/* The page server (src/core/lazy.c): started once every task is finished, before they run. */
int lazy_serve(struct rst_ctx *ctx);

#endif
