// SPDX-License-Identifier: MIT
/*
 * The restart driver.
 *
 * 1. Read and validate the whole image, from files the caller can trust
 *    (or --trust-image); check that a caller other than root restores only
 *    its own credentials, that this machine can take the image (page size,
 *    XSAVE layout, terminal and signal constants) and the pids are free.
 * 2. clone3 with set_tid gives the task its old pid. The child, still a
 *    copy of cryo, recreates what ordinary C can (files, directories,
 *    limits, signal handlers and pending signals, session), then builds the
 *    restorer's block in a hole of the saved address space and jumps into
 *    the blob, which rebuilds the memory and stops itself.
 * 3. The parent, tracing the child before it starts any restore work, unmaps the
 *    block through the blob, sets the saved registers, XSAVE state and
 *    signal mask, and lets it run. Until then the child dies with the
 *    parent (PTRACE_O_EXITKILL), so a failed restart leaves nothing behind.
 * 4. In the foreground, cryo waits and exits with the restored root's
 *    status; with --detach the root was created by a short-lived launcher,
 *    so it is not cryo's child.
 */
#include "core/restart.h"

#include <asm/termbits.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "core/rst.h"
#include "lib/fault.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/util.h"
#include "ptrace/ptrace.h"

extern const unsigned char _binary_restorer_bin_start[];
extern const unsigned char _binary_restorer_bin_end[];

#define PID_WAIT_MS	5000
#define FAULT_AROUND	(64u << 10) /* the kernel's fault_around_bytes */
#define BORN_TIMEOUT_MS 30000	    /* no task reported its birth for this long: one died */
#define RESTORER_STACK	(64u << 10)
#define THREAD_STACK	(16u << 10) /* each other thread's, in the restorer */

/* --- child side ---------------------------------------------------------------- */

/* A step a test may make fail, or die at (lib/fault.h): said in one line, as a real failure is. */
static int fault_at(const struct rst_ctx *ctx, const char *step)
{
	int ret = fault_point(step);

	if (ret)
		log_error("%s: %s: %s (injected fault)", ctx->opts->image, step, strerror(-ret));
	return ret;
}

int rst_fail(struct rst_ctx *ctx, int err, const char *fmt, ...)
{
	struct restorer_report r = { .step = RST_STEP_PREPARE, .err = -err, .pid = ctx->pid };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r.text, sizeof(r.text), fmt, ap);
	va_end(ap);
	if (write(ctx->report_fd, &r, sizeof(r)) < 0)
		return err; /* the parent is gone: nothing to tell */
	return err;
}

uint64_t rst_block_array(struct rst_block *b)
{
	b->len = ALIGN_UP(b->len, 16);
	return b->len;
}

uint64_t rst_block_append(struct rst_block *b, const void *data, size_t len)
{
	size_t off = b->len;

	if (off + len > b->cap) {
		size_t cap = b->cap * 2 > off + len ? b->cap * 2 : off + len + 4096;
		void *n = realloc(b->args, cap);

		if (!n)
			return 0;
		memset((char *)n + b->cap, 0, cap - b->cap);
		b->args = n;
		b->cap = cap;
	}
	if (data)
		memcpy((char *)b->args + off, data, len);
	b->len = off + len;
	return off;
}

static int block_init(struct rst_block *b)
{
	b->cap = 4096 + sizeof(struct restorer_args);
	b->args = calloc(1, b->cap);
	b->len = sizeof(struct restorer_args);
	return b->args ? 0 : -ENOMEM;
}

/*
 * Moves the descriptors restart itself needs (report pipe, image) above
 * every fd of the image and closes all others: from here on the fd table
 * holds only what the restored task will have, plus these.
 */
static int move_own_fds(struct rst_ctx *ctx, int base)
{
	int *slots[3 + IMAGE_CHAIN_MAX] = { &ctx->report_fd, &ctx->src.fd, &ctx->go_fd };
	size_t nr = 0, nr_slots = 3;
	int *fds = NULL, ret;

	for (size_t i = 1; i < ctx->chain.nr; i++)
		slots[nr_slots++] = &ctx->chain.links[i].src.fd;
	for (size_t i = 0; i < nr_slots; i++) {
		int fd = fcntl(*slots[i], F_DUPFD_CLOEXEC, base);

		if (fd < 0)
			return -errno;
		*slots[i] = fd;
		base = fd + 1;
	}
	ctx->high_fd = base;
	ret = proc_list_fds(getpid(), &fds, &nr);
	if (ret)
		return ret;
	for (size_t i = 0; i < nr; i++) {
		bool keep = false;

		for (size_t k = 0; k < nr_slots && !keep; k++)
			keep = fds[i] == *slots[k];
		for (size_t k = 0; k < ctx->nr_kept_fds && !keep; k++)
			keep = fds[i] == ctx->kept_fds[k];
		if (!keep)
			close(fds[i]);
	}
	free(fds);
	return 0;
}

static int max_image_fd(const struct rst_ctx *ctx)
{
	int max = 2;

	for (size_t i = 0; i < ctx->img->nr_recs; i++) {
		const struct image_record *r = &ctx->img->recs[i];

		if (r->type == REC_FD && ((const struct rec_fd *)r->payload)->fd > max)
			max = ((const struct rec_fd *)r->payload)->fd;
	}
	return max;
}

/* The restorer block: blob, args with their arrays, stack; placed and entered. */
static __attribute__((noreturn)) void enter_restorer(struct rst_ctx *ctx, struct rst_task *t,
						     struct rst_block *b)
{
	size_t code_len =
	    (size_t)((uintptr_t)_binary_restorer_bin_end - (uintptr_t)_binary_restorer_bin_start);
	size_t code_room = ALIGN_UP(code_len, 64);
	size_t stacks_at = ALIGN_UP(code_room + b->len, (size_t)ctx->page_size);
	size_t len = stacks_at + t->nr_threads * THREAD_STACK + RESTORER_STACK;
	struct restorer_report hello = { .step = RST_STEP_BLOCK, .pid = t->pid };
	uint64_t start;
	void *block;
	int ret;

	b->args->image_fd = ctx->src.fd;
	b->args->report_fd = ctx->report_fd;
	b->args->lazy = mm_task_is_lazy(ctx, t);
	b->args->pid = t->pid;
	ret = mm_restore_layout(ctx, t, b, len, &start);
	if (ret)
		_exit(1);
	block = mmap((void *)start, len, PROT_READ | PROT_WRITE | PROT_EXEC,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (block != (void *)start) {
		rst_fail(ctx, -errno, "pid %d: cannot map the restorer at %#llx: %s", t->pid,
			 (unsigned long long)start, strerror(errno));
		_exit(1);
	}
	b->args->block_start = start;
	b->args->block_len = len;
	b->args->thread_stacks = start + stacks_at;
	b->args->thread_stack_size = THREAD_STACK;
	b->args->unfinished = t->nr_threads + 1;
	memcpy(block, _binary_restorer_bin_start, code_len);
	memcpy((char *)block + code_room, b->args, b->len);
	hello.where = start;
	hello.len = len;
	if (write(ctx->report_fd, &hello, sizeof(hello)) != sizeof(hello))
		_exit(1);
	arch_jump_to_restorer(start + RESTORER_ENTRY_OFFSET, start + len, start + code_room);
}

/* glibc registers an rseq area in cryo's TLS; it must go before cryo's memory does. */
static void unregister_rseq(void)
{
	extern const ptrdiff_t __rseq_offset __attribute__((weak));
	extern const unsigned int __rseq_size __attribute__((weak));
	char *area;

	if (!&__rseq_offset || !&__rseq_size || !__rseq_size)
		return;
	area = (char *)__builtin_thread_pointer() + __rseq_offset;
	if (syscall(SYS_rseq, area, __rseq_size, 1 /* RSEQ_FLAG_UNREGISTER */, ARCH_RSEQ_SIG) < 0)
		syscall(SYS_rseq, area, 32, 1, ARCH_RSEQ_SIG);
}

static pid_t clone_with_pid(pid_t pid)
{
	pid_t tid = pid;
	struct clone_args args = {
		.exit_signal = SIGCHLD,
		.set_tid = (uint64_t)(uintptr_t)&tid,
		.set_tid_size = 1,
	};

	return (pid_t)syscall(SYS_clone3, &args, sizeof(args));
}

/*
 * The task's session and process group. A task other than the root is a
 * fork of its parent, so it starts in the parent's; collect_tasks() made
 * sure the rest can be had: its own new session, or a group that exists.
 */
static int join_session_and_group(struct rst_ctx *ctx, struct rst_task *t)
{
	pid_t pgid = t->task->pgid;

	if (!t->parent)
		return task_restore_root(ctx, t);
	if (t->task->sid == t->pid && setsid() < 0)
		return rst_fail(ctx, -errno, "pid %d: cannot create its session: %s", t->pid,
				strerror(errno));
	if (getpgrp() != pgid && setpgid(0, pgid == t->pid ? 0 : pgid) < 0)
		return rst_fail(ctx, -errno, "pid %d: cannot join process group %d: %s", t->pid,
				pgid, strerror(errno));
	return 0;
}

/* A zombie is a task that exits at once with its saved wait status, and is not reaped. */
static __attribute__((noreturn)) void exit_as_zombie(struct rst_ctx *ctx, struct rst_task *t)
{
	int status = t->task->exit_status;

	if (join_session_and_group(ctx, t))
		_exit(127);
	if (WIFSIGNALED(status)) {
		uint64_t mask = ~(1ull << (WTERMSIG(status) - 1));
		struct rlimit no_core = { 0, 0 };

		setrlimit(RLIMIT_CORE, &no_core); /* the reader allows only fatal signals */
		signal(WTERMSIG(status), SIG_DFL);
		syscall(SYS_rt_sigprocmask, SIG_SETMASK, &mask, NULL, sizeof(mask));
		kill(getpid(), WTERMSIG(status));
	}
	_exit(WEXITSTATUS(status));
}

static __attribute__((noreturn)) void task_main(struct rst_ctx *ctx, struct rst_task *t);

/*
 * A process group whose leader exited: a short-lived task with the
 * leader's pid leads it while the tree is made, so that its members can
 * join it; it exits when restart lets the tree go, and its parent reaps it
 * (reap_group_helpers), so nothing of it remains.
 */
static int create_group_helper(struct rst_ctx *ctx, struct rst_task *t, pid_t pgid)
{
	pid_t pid = clone_with_pid(pgid);
	char go;

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (setpgid(0, 0) < 0 || read(ctx->go_fd, &go, 1) != 1)
			_exit(1);
		_exit(0);
	}
	if (pid < 0)
		return rst_fail(ctx, -errno, "pid %d: cannot make process group %d: %s", t->pid,
				pgid, strerror(errno));
	setpgid(pid, pid);
	return 0;
}

/* Whether T's children of C's session were made already (by the helper of the first). */
static bool session_helper_done(const struct rst_ctx *ctx, const struct rst_task *t,
				const struct rst_task *c)
{
	for (const struct rst_task *o = ctx->tasks; o < c; o++)
		if (o->parent == t && o->session_helper == c->session_helper)
			return true;
	return false;
}

/*
 * A session whose leader exited: a helper with the leader's pid calls
 * setsid() and creates T's children of that session, then exits; T, a
 * child subreaper meanwhile (its own setting comes back with its state),
 * inherits them and reaps the helper, so nothing of it remains.
 */
static int create_session_helper(struct rst_ctx *ctx, struct rst_task *t, pid_t sid)
{
	int status;
	pid_t pid;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return rst_fail(ctx, -errno, "pid %d: cannot become a subreaper: %s", t->pid,
				strerror(errno));
	pid = clone_with_pid(sid);
	if (pid == 0) {
		if (setsid() < 0)
			_exit(1);
		for (size_t i = 0; i < ctx->nr_tasks; i++) {
			struct rst_task *c = &ctx->tasks[i];
			pid_t kid;

			if (c->parent != t || c->session_helper != sid)
				continue;
			kid = clone_with_pid(c->pid);
			if (kid == 0)
				task_main(ctx, c);
			if (kid < 0)
				_exit(2);
			if (c->task->pgid != sid)
				setpgid(kid, c->task->pgid);
		}
		_exit(0);
	}
	if (pid < 0)
		return rst_fail(ctx, -errno, "pid %d: cannot make session %d: %s", t->pid, sid,
				strerror(errno));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		return rst_fail(ctx, -ECHILD, "pid %d: the helper of session %d failed", t->pid,
				sid);
	return 0;
}

static int reap_group_helpers(struct rst_ctx *ctx, struct rst_task *t)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		const struct rst_task *c = &ctx->tasks[i];
		int status;

		if (c->parent != t || !c->group_helper)
			continue;
		if (waitpid(c->group_helper, &status, 0) != c->group_helper || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			return rst_fail(ctx, -ECHILD, "pid %d: process group %d's helper failed",
					t->pid, c->group_helper);
	}
	return 0;
}

/*
 * Creates T's children, each with its pid, in image order; a zombie child
 * is waited for (without reaping it) so it is one before T goes on.
 */
static int create_children(struct rst_ctx *ctx, struct rst_task *t)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		struct rst_task *c = &ctx->tasks[i];
		siginfo_t info;
		pid_t pid;

		if (c->parent != t)
			continue;
		if (c->session_helper) {
			if (!session_helper_done(ctx, t, c) &&
			    create_session_helper(ctx, t, c->session_helper))
				return -EIO;
			continue;
		}
		if (c->group_helper && create_group_helper(ctx, t, c->group_helper))
			return -EIO;
		pid = clone_with_pid(c->pid);
		if (pid == 0)
			task_main(ctx, c);
		if (pid < 0)
			return rst_fail(ctx, -errno, "pid %d: cannot create its child %d: %s",
					t->pid, c->pid, strerror(errno));
		/*
		 * The group from this side too, as a shell does: the next child may
		 * join it before this one ran. Not for a session leader, whose
		 * setsid() would fail in a group it leads. Errors are the child's to
		 * report, when it does the same.
		 */
		if (c->task->sid != c->pid && c->task->pgid != t->task->pgid)
			setpgid(pid, c->task->pgid);
		if (c->zombie && waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) < 0)
			return rst_fail(ctx, -errno, "pid %d: its zombie child %d: %s", t->pid,
					c->pid, strerror(errno));
	}
	return 0;
}

static bool obj_is_shmem(const struct rst_ctx *ctx, uint32_t objref)
{
	return image_obj_record(ctx->img, objref, OBJ_FILE)->type == REC_SHMEM;
}

/*
 * Every file the tasks' fd tables name is opened here, in the root, before
 * any other task exists: the others inherit them, so a description shared
 * between tasks is one description again. A /dev/tty file is the
 * exception: only the task whose controlling terminal it names can open it.
 */
static int open_all_files(struct rst_ctx *ctx)
{
	for (size_t i = 0; i < ctx->img->nr_recs; i++) {
		const struct image_record *r = &ctx->img->recs[i];
		const struct rec_fd *fd = r->payload;
		const struct image_record *f;
		int ignored, ret;

		/* shared memory too: every task that maps it must map the same object */
		if (r->type == REC_VMA && ((const struct rec_vma *)r->payload)->file_objref &&
		    obj_is_shmem(ctx, ((const struct rec_vma *)r->payload)->file_objref)) {
			ret = files_open_objref(
			    ctx, ((const struct rec_vma *)r->payload)->file_objref, &ignored);
			if (ret)
				return ret;
			continue;
		}
		if (r->type != REC_FD)
			continue;
		f = image_obj_record(ctx->img, fd->file_objref, OBJ_FILE);
		if (f->type == REC_TTY_FILE &&
		    (((const struct rec_tty_file *)f->payload)->how & TTYF_DEVTTY))
			continue;
		ret = files_open_objref(ctx, fd->file_objref, &ignored);
		if (ret)
			return ret;
	}
	return 0;
}

/* SIGCHLD from zombie children made here is not the task's: it goes before its own signals. */
static void discard_sigchld(void)
{
	struct timespec zero = { 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	while (sigtimedwait(&set, NULL, &zero) > 0)
		;
}

static void report_born(struct rst_ctx *ctx, struct rst_task *t)
{
	struct restorer_report r = { .step = RST_STEP_BORN, .pid = t->pid };

	if (write(ctx->report_fd, &r, sizeof(r)) != sizeof(r))
		_exit(1);
}

/*
 * One task of the tree, from its birth to the restorer: its session and
 * group, its controlling terminal, its children; then, once restart traces
 * every task, its files, memory plan, signals and state. Until restart
 * traces it, a task dies with its parent (PR_SET_PDEATHSIG; the root reads
 * end of file on the go pipe if restart dies).
 */
static __attribute__((noreturn)) void task_main(struct rst_ctx *ctx, struct rst_task *t)
{
	struct rst_block b = { 0 };
	uint64_t all = ~0ull;
	char go;
	int ret = 0;

	/* raw: glibc's sigprocmask leaves its own signals 32 and 33 unblocked */
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, sizeof(all));
	ctx->pid = t->pid;
	if (t->zombie)
		exit_as_zombie(ctx, t);
	if (!t->parent) {
		close(ctx->parent_fds[0]);
		close(ctx->parent_fds[1]);
		ret = move_own_fds(ctx, ctx->fd_floor);
		if (ret)
			rst_fail(ctx, ret, "pid %d: cannot set up its descriptors: %s", t->pid,
				 strerror(-ret));
		else
			ret = open_all_files(ctx);
	} else if (!t->session_helper &&
		   (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != t->parent->pid)) {
		/* (a task made by a session helper outlives it: no death signal) */
		rst_fail(ctx, -ECHILD, "pid %d: its parent %d died while the tree was being made",
			 t->pid, t->parent->pid);
		_exit(1);
	}
	if (!ret)
		ret = block_init(&b);
	if (!ret)
		ret = join_session_and_group(ctx, t);
	if (!ret)
		ret = tty_restore_ctty(ctx, t);
	if (!ret)
		ret = create_children(ctx, t);
	if (ret) {
		if (ret == -ENOMEM)
			rst_fail(ctx, ret, "pid %d: out of memory", t->pid);
		_exit(1);
	}
	report_born(ctx, t);
	if (read(ctx->go_fd, &go, 1) != 1)
		_exit(1);
	close(ctx->go_fd);
	ret = reap_group_helpers(ctx, t);
	if (!ret)
		ret = files_restore(ctx, t);
	if (!ret)
		ret = mm_restore_prepare(ctx, t, &b);
	if (!ret) {
		discard_sigchld();
		ret = signal_restore(ctx, t, &b);
	}
	if (!ret)
		ret = task_restore_state(ctx, t, &b);
	if (ret) {
		if (ret == -ENOMEM)
			rst_fail(ctx, ret, "pid %d: out of memory", t->pid);
		_exit(1);
	}
	unregister_rseq();
	enter_restorer(ctx, t, &b);
}

/* --- parent side ---------------------------------------------------------------- */

static struct rst_task *task_by_pid(struct rst_ctx *ctx, pid_t pid)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].pid == pid)
			return &ctx->tasks[i];
	return NULL;
}

/* A process or a thread. */
static struct rst_task *task_or_thread_by_pid(struct rst_ctx *ctx, pid_t pid)
{
	for (size_t i = 0; i < ctx->nr_threads; i++)
		if (ctx->threads[i].pid == pid)
			return &ctx->threads[i];
	return task_by_pid(ctx, pid);
}

static struct rst_task *task_by_objref(struct rst_ctx *ctx, uint32_t objref)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].task->objref == objref)
			return &ctx->tasks[i];
	for (size_t i = 0; i < ctx->nr_threads; i++)
		if (ctx->threads[i].task->objref == objref)
			return &ctx->threads[i];
	return NULL;
}

/* Hands a per-task record (its first field is the task's objref) to its task. */
static void attach_record(struct rst_ctx *ctx, const struct image_record *r)
{
	struct rst_task *t;

	switch (r->type) {
	case REC_TASK_OBJS:
	case REC_TASK_CORE:
	case REC_SIGACTIONS:
	case REC_CREDS:
	case REC_RLIMITS:
	case REC_FS:
	case REC_TASK_REGS:
	case REC_TASK_XSTATE:
	case REC_SIGPENDING:
	case REC_TTY_CTTY:
		break;
	default:
		return;
	}
	t = task_by_objref(ctx, *(const uint32_t *)r->payload);
	if (!t)
		return; /* the reader made sure it names a task */
	switch (r->type) {
	case REC_TASK_OBJS:
		t->objs = r->payload;
		break;
	case REC_TASK_CORE:
		t->core = r->payload;
		break;
	case REC_SIGACTIONS:
		t->sigactions = r->payload;
		break;
	case REC_CREDS:
		t->creds = r->payload;
		break;
	case REC_RLIMITS:
		t->rlimits = r->payload;
		break;
	case REC_FS:
		t->fs = r->payload;
		break;
	case REC_TASK_REGS:
		t->regs = r->payload;
		break;
	case REC_TASK_XSTATE:
		t->xstate = r->payload;
		break;
	case REC_SIGPENDING:
		t->pending[((const struct rec_sigpending *)r->payload)->shared] = r->payload;
		break;
	case REC_TTY_CTTY:
		t->ctty = r->payload;
		break;
	}
}

/*
 * Each task is created by its parent, so its parent must be in the image,
 * alive, and come before it; it starts in its parent's session and group.
 * Sessions and groups whose leader exited need helper tasks, not made yet:
 * refused by name.
 */
/* Whether another parent than T's brings a session helper for SID: one helper, one parent. */
static bool session_made_elsewhere(const struct rst_ctx *ctx, pid_t sid, const struct rst_task *t)
{
	for (const struct rst_task *o = ctx->tasks; o < t; o++)
		if (o->session_helper == sid && o->parent != t->parent)
			return true;
	return false;
}

/*
 * Whether X surely exists when T is created: subtrees are made at the same
 * time, so only an ancestor of T, or a child an ancestor made before the
 * branch that leads to T, is sure to be there.
 */
static bool made_before(const struct rst_task *x, const struct rst_task *t)
{
	for (const struct rst_task *branch = t; branch->parent; branch = branch->parent) {
		const struct rst_task *a = branch->parent;

		if (x == a || (x->parent == a && x < branch))
			return true;
	}
	return false;
}

/*
 * Whether a task before T brings a helper for group PGID (of T's session);
 * -1 if it does, but not surely before T is made.
 */
static int group_has_helper(const struct rst_ctx *ctx, pid_t pgid, const struct rst_task *t)
{
	for (const struct rst_task *o = ctx->tasks; o < t; o++)
		if (o->group_helper == pgid && o->task->sid == t->task->sid)
			return made_before(o, t) ? 1 : -1;
	return 0;
}

static int check_tree(struct rst_ctx *ctx)
{
	const char *img = ctx->opts->image;

	for (size_t i = 1; i < ctx->nr_tasks; i++) {
		struct rst_task *t = &ctx->tasks[i], *leader;
		const struct rec_task *r = t->task;

		t->parent = task_by_pid(ctx, r->ppid);
		if (!t->parent || t->parent->zombie || t->parent > t) {
			log_error("%s: pid %d: its parent %d is not a live task before it in the "
				  "image",
				  img, t->pid, r->ppid);
			return -EINVAL;
		}
		if (r->sid != t->pid && r->sid != t->parent->task->sid) {
			if (t->zombie || task_by_pid(ctx, r->sid) ||
			    session_made_elsewhere(ctx, r->sid, t)) {
				log_error("%s: pid %d: belongs to session %d, which it cannot be "
					  "made in; not supported yet",
					  img, t->pid, r->sid);
				return -ENOTSUP;
			}
			t->session_helper = r->sid; /* its leader exited: a helper makes it */
			if (r->pgid == r->sid)
				continue; /* the helper leads the session's first group too */
		}
		if (r->pgid == t->pid || r->pgid == t->parent->task->pgid)
			continue;
		leader = task_by_pid(ctx, r->pgid);
		if (!leader && (t->session_helper || r->pgid == r->sid)) {
			log_error("%s: pid %d: its process group %d lost its leader in a session "
				  "whose leader exited too; not supported yet",
				  img, t->pid, r->pgid);
			return -ENOTSUP;
		}
		if (!leader && group_has_helper(ctx, r->pgid, t) < 0) {
			log_error("%s: pid %d: its process group %d is made in another branch of "
				  "the tree; not supported yet",
				  img, t->pid, r->pgid);
			return -ENOTSUP;
		}
		if (!leader && !group_has_helper(ctx, r->pgid, t)) {
			/* its leader exited: a helper makes the group, for this first member */
			t->group_helper = r->pgid;
			ctx->nr_helpers++;
			continue;
		}
		if (leader && (leader->task->sid != r->sid || !made_before(leader, t))) {
			log_error(
			    "%s: pid %d: its process group %d is led by a task made after it; "
			    "not supported yet",
			    img, t->pid, r->pgid);
			return -ENOTSUP;
		}
	}
	return 0;
}

static bool is_thread(const struct rec_task *r)
{
	return r->tgid != r->pid;
}

/*
 * Processes into ctx->tasks, threads into ctx->threads; the reader made
 * sure a thread comes right after its process (or a thread of it).
 */
static int collect_tasks(struct rst_ctx *ctx)
{
	struct image *img = ctx->img;
	size_t n = 0, nt = 0;

	for (size_t i = 0; i < img->nr_recs; i++)
		if (img->recs[i].type == REC_TASK)
			*(is_thread(img->recs[i].payload) ? &ctx->nr_threads : &ctx->nr_tasks) += 1;
	if (!ctx->nr_tasks) {
		log_error("%s: holds no task: nothing to restart", ctx->opts->image);
		return -EINVAL;
	}
	ctx->tasks = calloc(ctx->nr_tasks, sizeof(*ctx->tasks));
	ctx->threads = calloc(ctx->nr_threads + 1, sizeof(*ctx->threads));
	if (!ctx->tasks || !ctx->threads)
		return -ENOMEM;
	for (size_t i = 0; i < img->nr_recs; i++) {
		const struct rec_task *r = img->recs[i].payload;
		struct rst_task *t;

		if (img->recs[i].type != REC_TASK)
			continue;
		if (is_thread(r)) {
			t = &ctx->threads[nt++];
			if (!ctx->tasks[n - 1].threads)
				ctx->tasks[n - 1].threads = t;
			ctx->tasks[n - 1].nr_threads++;
		} else {
			t = &ctx->tasks[n++];
		}
		t->task = r;
		t->pid = r->pid;
		t->zombie = r->state != TASK_ALIVE;
		t->lazy_fd_in_task = -1;
		t->uffd = -1;
	}
	for (size_t i = 0; i < img->nr_recs; i++)
		attach_record(ctx, &img->recs[i]);
	if (ctx->tasks[0].zombie) {
		log_error("%s: the root task (pid %d) is a zombie: nothing to restart",
			  ctx->opts->image, ctx->tasks[0].pid);
		return -EINVAL;
	}
	return check_tree(ctx);
}

/* The kernel constants the image depends on must be this machine's. */
static int check_machine(struct rst_ctx *ctx)
{
	const struct rec_header *h = &ctx->img->header;
	const char *img = ctx->opts->image;

	if (h->page_size != (uint32_t)ctx->page_size) {
		log_error("%s: taken with %u-byte pages, this machine has %ld", img, h->page_size,
			  ctx->page_size);
		return -EINVAL;
	}
	if (h->nccs != NCCS || h->termios2_size != sizeof(struct termios2) || h->nsig != 64) {
		log_error("%s: taken on a kernel with other terminal or signal constants (NCCS %u, "
			  "termios2 %u bytes, %u signals); restart on a kernel of the same kind",
			  img, h->nccs, h->termios2_size, h->nsig);
		return -EINVAL;
	}
	if (h->xstate_size != arch_xstate_size() || h->xfeatures != arch_xfeatures()) {
		log_error("%s: taken on a CPU with XSAVE features %#llx (%u bytes), this one has "
			  "%#llx (%zu bytes); restart on a CPU of the same kind",
			  img, (unsigned long long)h->xfeatures, h->xstate_size,
			  (unsigned long long)arch_xfeatures(), arch_xstate_size());
		return -EINVAL;
	}
	return 0;
}

/* --- whose credentials ---------------------------------------------------------- */

/* The first of WANT's ids (real, effective, saved, fs) that is none of HAVE's; -1 if none. */
static int foreign_id(const uint32_t want[4], const uint32_t have[4])
{
	for (int i = 0; i < 4; i++)
		if (want[i] != have[0] && want[i] != have[1] && want[i] != have[2] &&
		    want[i] != have[3])
			return i;
	return -1;
}

static bool has_group(const uint32_t *groups, size_t nr, uint32_t g)
{
	for (size_t i = 0; i < nr; i++)
		if (groups[i] == g)
			return true;
	return false;
}

/*
 * The same set as the caller's, not a subset: leaving a group can open what
 * an ACL entry of that group denies, which is why setgroups() is privileged.
 */
static bool same_groups(const struct rec_creds *c, const struct proc_status *me)
{
	const uint32_t *groups = (const uint32_t *)(c + 1);

	for (uint32_t i = 0; i < c->nr_groups; i++)
		if (!has_group(me->groups, me->nr_groups, groups[i]))
			return false;
	for (size_t i = 0; i < me->nr_groups; i++)
		if (!has_group(groups, c->nr_groups, me->groups[i]))
			return false;
	return true;
}

/* Every capability set of C within what the caller may give (its permitted and bounding sets). */
static bool caps_within(const struct rec_creds *c, const struct proc_status *me)
{
	uint64_t prm = me->cap_prm;

	return !(c->cap_prm & ~prm) && !(c->cap_eff & ~prm) && !(c->cap_amb & ~prm) &&
	       !(c->cap_inh & ~(prm | me->cap_inh)) && !(c->cap_bnd & ~me->cap_bnd);
}

/* Why the caller ME may not give a task the credentials C, in WHY; false if it may. */
static bool foreign_creds(const struct rec_creds *c, const struct proc_status *me, char *why,
			  size_t why_len)
{
	int i;

	if ((i = foreign_id(c->uid, me->uid)) >= 0)
		snprintf(why, why_len, "ran as uid %u", c->uid[i]);
	else if ((i = foreign_id(c->gid, me->gid)) >= 0)
		snprintf(why, why_len, "ran as gid %u", c->gid[i]);
	else if (!same_groups(c, me))
		snprintf(why, why_len, "ran with other supplementary groups than yours");
	else if (!caps_within(c, me))
		snprintf(why, why_len, "ran with capabilities you do not have (permitted %#llx)",
			 (unsigned long long)c->cap_prm);
	else
		return false;
	return true;
}

/* The pid of the task OBJREF (the reader made sure it is one). */
static pid_t pid_of_task(const struct image *img, uint32_t objref)
{
	for (size_t i = 0; i < img->nr_recs; i++) {
		const struct rec_task *t = img->recs[i].payload;

		if (img->recs[i].type == REC_TASK && t->objref == objref)
			return t->pid;
	}
	return 0;
}

/*
 * A restart by another user than root gives every task the caller's own
 * credentials or none: an image is a file anyone could have made, and
 * cryo must not become the way to get another user's uid or capabilities
 * (were it ever given CAP_SETUID, or run by a user holding some). Checked
 * on the image before anything starts, so the restart is refused whole,
 * never half-way in a restorer. Root restores whatever the image holds.
 */
static int check_creds(struct rst_ctx *ctx)
{
	const struct image *img = ctx->img;
	struct proc_status me;
	char why[128];
	int ret;

	if (geteuid() == 0)
		return 0;
	ret = proc_read_status(getpid(), 0, &me);
	if (ret) {
		log_error("cannot read restart's own credentials in /proc: %s", strerror(-ret));
		return ret;
	}
	for (size_t i = 0; i < img->nr_recs && !ret; i++) {
		const struct rec_creds *c = img->recs[i].payload;

		if (img->recs[i].type != REC_CREDS || !foreign_creds(c, &me, why, sizeof(why)))
			continue;
		log_error("%s: pid %d %s; a restart by uid %u can only restore its own credentials",
			  ctx->opts->image, (int)pid_of_task(img, c->task_objref), why, me.uid[1]);
		ret = -EPERM;
	}
	proc_status_free(&me);
	return ret;
}

/* A live task holds PID (ST its stat): names it, or a thread's process (what one stops). */
static void tell_pid_in_use(pid_t pid, struct proc_stat *st)
{
	struct proc_status s;
	pid_t tgid = pid;

	if (!proc_read_status(pid, 0, &s)) {
		tgid = s.tgid;
		proc_status_free(&s);
	}
	if (tgid != pid && tgid > 0 && !proc_read_stat(tgid, 0, st))
		log_error("pid %d is in use by a thread of pid %d (%s); stop it, or restart in a "
			  "new pid namespace",
			  pid, tgid, st->comm);
	else
		log_error("pid %d is in use by a live task (%s); stop it, or restart in a new pid "
			  "namespace",
			  pid, st->comm);
}

/* A pid held by a zombie or an exiting task is waited for; a live one is an error. */
static int wait_pid_free(pid_t pid)
{
	for (int waited = 0;; waited += 10) {
		struct proc_stat st;

		if (kill(pid, 0) < 0 && errno == ESRCH)
			return 0;
		if (proc_read_stat(pid, 0, &st) == 0 && st.state != 'Z' && st.state != 'X') {
			tell_pid_in_use(pid, &st);
			return -EBUSY;
		}
		if (waited >= PID_WAIT_MS) {
			log_error(
			    "pid %d is still held by an exiting task after %d ms; reap it and "
			    "retry",
			    pid, PID_WAIT_MS);
			return -EBUSY;
		}
		usleep(10000);
	}
}

static const char *const step_names[] = {
	[RST_STEP_UNMAP] = "unmapping restart's memory",
	[RST_STEP_VDSO] = "moving the vdso",
	[RST_STEP_MMAP] = "mapping memory",
	[RST_STEP_PAGES] = "reading page data",
	[RST_STEP_MPROTECT] = "protecting memory",
	[RST_STEP_MM_MAP] = "setting the mm fields (PR_SET_MM_MAP)",
	[RST_STEP_CLOSE] = "closing descriptors",
	[RST_STEP_TASK] = "setting tid address, robust list or rseq",
	[RST_STEP_CREDS] = "setting credentials",
	[RST_STEP_TIMERS] = "setting interval timers",
	[RST_STEP_LAZY_REGISTER] = "registering memory with its userfaultfd (--lazy)",
};

/*
 * One report from a task: a failure is logged (and returns -EIO), the
 * place of a restorer block is noted; RST_STEP_BORN is the caller's.
 */
static int take_report(struct rst_ctx *ctx, const struct restorer_report *r)
{
	struct rst_task *t = task_or_thread_by_pid(ctx, r->pid);
	const char *what;

	switch (r->step) {
	case RST_STEP_BLOCK:
		if (t) {
			t->block = r->where;
			t->block_len = r->len;
		}
		return 0;
	case RST_STEP_BORN:
		return 0;
	case RST_STEP_DONE:
		if (t)
			t->done = true;
		return 0;
	case RST_STEP_LAZY:
		if (t)
			t->lazy_fd_in_task = (int)r->where;
		return 0;
	case RST_STEP_PREPARE:
		log_error("%.*s", (int)sizeof(r->text), r->text);
		return -EIO;
	case RST_STEP_THREAD:
		log_error("pid %d: restorer failed making its thread %llu or setting its state: %s",
			  r->pid, (unsigned long long)r->where, strerror(r->err));
		return -EIO;
	default:
		what =
		    r->step > 0 && (size_t)r->step < ARRAY_SIZE(step_names) && step_names[r->step]
			? step_names[r->step]
			: "an unknown step";
		log_error("pid %d: restorer failed %s at %#llx: %s", r->pid, what,
			  (unsigned long long)r->where, strerror(r->err));
		return -EIO;
	}
}

/* Reads every report still in the pipe (non-blocking); -EIO if one was a failure. */
static int drain_reports(struct rst_ctx *ctx, int fd)
{
	struct restorer_report r;
	int ret = 0;

	while (read(fd, &r, sizeof(r)) == sizeof(r))
		ret = take_report(ctx, &r) ? -EIO : ret;
	return ret;
}

static int set_xstate(pid_t pid, const struct rec_task_xstate *x)
{
	struct iovec iov = { (void *)(x + 1), x->size };

	return ptrace(PTRACE_SETREGSET, pid, (void *)ARCH_NT_XSTATE, &iov) < 0 ? -errno : 0;
}

/* A thread stopped at the end of the restorer gets its saved registers and mask. */
static int set_saved_regs(struct rst_task *t)
{
	struct iovec iov;
	uint64_t mask = t->core->blocked;
	arch_regs_t regs;
	int ret;

	arch_regs_from_image(t->regs, &regs);
	arch_regs_restart_syscall(&regs, RESTART_REISSUE);
	iov = (struct iovec){ &regs, sizeof(regs) };
	if (ptrace(PTRACE_SETREGSET, t->pid, (void *)NT_PRSTATUS, &iov) < 0 ||
	    (t->xstate && set_xstate(t->pid, t->xstate)) ||
	    ptrace(PTRACE_SETSIGMASK, t->pid, (void *)sizeof(mask), &mask) < 0) {
		ret = -errno;
		log_error("pid %d: cannot set its registers: %s", t->pid, strerror(-ret));
		return ret;
	}
	return 0;
}

/*
 * The task and its threads stopped themselves at the end of the restorer:
 * the block goes (through the main thread), then every thread gets its
 * registers, from outside.
 */
/*
 * --lazy: restart takes the task's userfaultfd for the page server and
 * closes the task's own, which the program never had.
 */
static int take_lazy_fd(struct rst_task *t, struct tracee *tr)
{
	const long close_args[6] = { t->lazy_fd_in_task };
	long r;
	int pidfd, ret;

	if (t->lazy_fd_in_task < 0)
		return 0;
	pidfd = (int)syscall(SYS_pidfd_open, t->pid, 0);
	t->uffd = pidfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pidfd, t->lazy_fd_in_task, 0);
	ret = t->uffd < 0 ? -errno : 0;
	if (pidfd >= 0)
		close(pidfd);
	if (!ret)
		ret = tracee_syscall(tr, SYS_close, close_args, &r);
	if (ret)
		log_error("pid %d: cannot take its userfaultfd: %s", t->pid, strerror(-ret));
	return ret;
}

static int finish_task(struct rst_task *t, uint64_t block, uint64_t block_len)
{
	struct tracee tr = { .tid = t->pid, .seized = true };
	struct iovec iov = { &tr.regs, sizeof(tr.regs) };
	const long munmap_args[6] = { (long)block, (long)block_len };
	long r;
	int ret;

	if (ptrace(PTRACE_GETREGSET, t->pid, (void *)NT_PRSTATUS, &iov) < 0)
		return -errno;
	tr.syscall_ip = block + RESTORER_SYSCALL_OFFSET;
	tr.sigmask = ~0ull;
	/* while the block, with the syscall instruction, is still there */
	ret = take_lazy_fd(t, &tr);
	if (ret)
		return ret;
	ret = tracee_syscall(&tr, SYS_munmap, munmap_args, &r);
	if (!ret && r)
		ret = (int)r;
	if (ret) {
		log_error("pid %d: cannot remove the restorer: %s", t->pid, strerror(-ret));
		return ret;
	}
	ret = set_saved_regs(t);
	for (size_t i = 0; i < t->nr_threads && !ret; i++)
		ret = set_saved_regs(&t->threads[i]);
	return ret;
}

static int write_pidfile(const char *path, pid_t pid)
{
	char tmp[4096], text[32];
	int fd, len = snprintf(text, sizeof(text), "%d\n", pid), ret = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write_full(fd, text, (size_t)len) || fsync(fd) || rename(tmp, path))
		ret = -errno ? -errno : -EIO;
	if (fd >= 0)
		close(fd);
	if (ret) {
		unlink(tmp);
		log_error("%s: cannot write the pidfile: %s", path, strerror(-ret));
	}
	return ret;
}

/* clone3 from a short-lived launcher, so the restored root is not our child. */
static pid_t spawn_detached(struct rst_ctx *ctx, struct rst_task *t)
{
	int status;
	pid_t launcher = fork(), pid;

	if (launcher < 0)
		return -errno;
	if (launcher == 0) {
		pid = clone_with_pid(t->pid);
		if (pid == 0)
			task_main(ctx, t);
		_exit(pid < 0 ? errno & 0xff : 0); /* the errno, as the exit status */
	}
	if (waitpid(launcher, &status, 0) < 0)
		return -errno;
	if (!WIFEXITED(status))
		return -ECHILD;
	return WEXITSTATUS(status) ? -WEXITSTATUS(status) : t->pid;
}

/*
 * The keeper (doc/pty.md 9.1): leads the root's new session on the new
 * pty, makes the root, and stays its parent, so that the root's group is
 * not orphaned and a stop key stops the job. When the root stops, the
 * keeper stops too, which restart, relaying, passes on to the caller's
 * shell; when restart continues it, the keeper gives the terminal back to
 * the root's group and continues it. It ends with the root's exit code.
 */
static __attribute__((noreturn)) void keeper_main(struct rst_ctx *ctx, struct rst_task *t)
{
	int slave, status;
	pid_t pid;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGTTOU, SIG_IGN);
	slave = ioctl(ctx->external_master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (setsid() < 0 || slave < 0 || ioctl(slave, TIOCSCTTY, 0) < 0) {
		rst_fail(ctx, -errno, "pid %d: cannot make its session on the new terminal: %s",
			 t->pid, strerror(errno));
		_exit(1);
	}
	pid = clone_with_pid(t->pid);
	if (pid == 0)
		task_main(ctx, t);
	if (pid < 0) {
		rst_fail(ctx, -errno, "pid %d: cannot create it (clone3 with set_tid): %s", t->pid,
			 strerror(errno));
		_exit(1);
	}
	/* nothing of restart's stays open here: it reads its pipes to their end */
	dup2(slave, 0);
	syscall(SYS_close_range, 1, ~0u, 0);
	for (;;) {
		pid_t w = waitpid(pid, &status, WUNTRACED);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			_exit(1);
		if (!WIFSTOPPED(status))
			_exit(exit_code_of(status));
		raise(SIGSTOP);
		tcsetpgrp(0, getpgid(pid));
		kill(-getpgid(pid), SIGCONT);
	}
}

static int spawn(struct rst_ctx *ctx, struct rst_task *t, pid_t *ret_pid)
{
	pid_t pid;

	if (ctx->keeper_wanted) {
		ctx->keeper = fork();
		if (ctx->keeper == 0)
			keeper_main(ctx, t);
		pid = ctx->keeper < 0 ? -errno : t->pid;
	} else if (ctx->opts->detach) {
		pid = spawn_detached(ctx, t);
	} else {
		pid = clone_with_pid(t->pid);
		if (pid == 0)
			task_main(ctx, t);
		if (pid < 0)
			pid = -errno;
	}
	if (pid < 0) {
		log_error("pid %d: cannot create it (clone3 with set_tid): %s%s", t->pid,
			  strerror(-pid),
			  pid == -EEXIST  ? "; the pid was taken meanwhile"
			  : pid == -EPERM ? "; run as root"
					  : "");
		return pid;
	}
	*ret_pid = pid;
	return 0;
}

static size_t nr_live(const struct rst_ctx *ctx)
{
	size_t n = 0;

	for (size_t i = 0; i < ctx->nr_tasks; i++)
		n += !ctx->tasks[i].zombie;
	return n;
}

/* Every thread of every live process, the main ones included. */
static size_t nr_live_threads(const struct rst_ctx *ctx)
{
	return nr_live(ctx) + ctx->nr_threads;
}

/*
 * Every live task reports its birth once its children exist, and waits;
 * restart traces each (PTRACE_O_EXITKILL: from then on it dies with
 * restart), then lets them all go.
 */
static int await_born(struct rst_ctx *ctx, int fd)
{
	struct restorer_report r;
	size_t born = 0;

	while (born < nr_live(ctx)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct rst_task *t;
		int err;

		/* a task that dies silently leaves the others waiting: give up in time */
		if (poll(&p, 1, BORN_TIMEOUT_MS) != 1) {
			log_error(
			    "%s: the tree was not made within %d s (%zu of %zu tasks); a task "
			    "died before it was complete",
			    ctx->opts->image, BORN_TIMEOUT_MS / 1000, born, nr_live(ctx));
			return -ETIMEDOUT;
		}
		if (read_full(fd, &r, sizeof(r))) {
			log_error("%s: a task died while the tree was being made",
				  ctx->opts->image);
			return -ECHILD;
		}
		if (take_report(ctx, &r))
			return -EIO;
		t = r.step == RST_STEP_BORN ? task_by_pid(ctx, r.pid) : NULL;
		if (!t || t->seized)
			continue;
		/* born, not traced yet: it must die with restart all the same */
		if ((err = fault_at(ctx, "a task was born")))
			return err;
		/* the threads its restorer makes are traced from birth (TRACECLONE) */
		if (ptrace(PTRACE_SEIZE, t->pid, NULL,
			   (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL |
					  PTRACE_O_TRACECLONE)) < 0) {
			err = errno;
			log_error("pid %d: cannot trace the restored task: %s", t->pid,
				  strerror(err));
			return -err;
		}
		t->seized = true;
		born++;
	}
	return 0;
}

/* What waitpid said of a tracee: 1 stopped at the end of its restorer, 0 go on, <0 failed. */
static int tracee_event(struct rst_task *t, int status)
{
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		t->seized = false;
		log_error("pid %d: the restored task died before it was complete", t->pid);
		return -ECHILD;
	}
	if (WSTOPSIG(status) == SIGSTOP && t->done)
		return 1;
	if (WSTOPSIG(status) ==
	    SIGSTOP) { /* someone else's: not delivered, it is restored anyway */
		ptrace(PTRACE_CONT, t->pid, NULL, NULL);
		return 0;
	}
	/* a group stop, or a new thread's first stop; the restorer making a thread */
	if (status >> 16 == PTRACE_EVENT_STOP || status >> 16 == PTRACE_EVENT_CLONE) {
		ptrace(PTRACE_CONT, t->pid, NULL, NULL);
		return 0;
	}
	if (WSTOPSIG(status) == SIGCHLD) { /* a child's doing, not the task's: not delivered */
		ptrace(PTRACE_CONT, t->pid, NULL, NULL);
		return 0;
	}
	log_error("pid %d: the restorer got signal %d (%s); restart failed", t->pid,
		  WSTOPSIG(status), strsignal(WSTOPSIG(status)));
	return -EFAULT;
}

/*
 * Lets go of every page of the images restart has mapped: the reader's
 * walk and the checksums touch them all (and fault-around brings their
 * neighbours along), and page data is read again by the restorers anyway.
 * So restart's memory does not grow with the image.
 */
static void release_image_pages(struct rst_ctx *ctx)
{
	for (size_t i = 0; i < ctx->chain.nr; i++) {
		const struct image_source *s = i ? &ctx->chain.links[i].src : &ctx->src;

		if (s->len)
			madvise((void *)s->buf, s->len, MADV_DONTNEED);
	}
}

/*
 * Page data is checked while the tree is restored, not before: restart
 * reads and checksums one page record at a time (of the image, then of its
 * parents) whenever it would otherwise wait for the restorers, which read
 * the same bytes meanwhile. All of it is checked before any task runs
 * (check_all_pages()); a bad page kills the tree like any other failure.
 * Everything else in the image was validated before the first task was
 * made. The disk is read once: the restorers find the data checked here
 * in the page cache, or the other way round. Each record's pages are let
 * go of once checked, so restart's memory does not grow with the image.
 * (Reading with O_DIRECT was measured slower: two readers then read the
 * disk twice.) Returns 1 while records remain, 0 when all are good, or
 * -EINVAL with the error logged.
 */
/* Checks record REC of links[LINK]: 0, or -EINVAL with the error logged. */
static int check_record(struct rst_ctx *ctx, size_t link, size_t rec)
{
	const struct image_link *l = &ctx->chain.links[link];
	const struct image *img = link ? l->img : ctx->img;
	const struct image_record *r = &img->recs[rec];
	uintptr_t base = (uintptr_t)img->buf, page = (uintptr_t)ctx->page_size, start, end;
	struct image_error err;
	char reason[320];

	if (image_pages_check(img, r, &err)) {
		image_error_format(&err, reason, sizeof(reason));
		log_error("%s: invalid %simage: %s", link ? l->path : ctx->opts->image,
			  link ? "parent " : "", reason);
		return -EINVAL;
	}
	/* with the neighbours that fault-around mapped along (64 KiB each side) */
	start = (base + r->data_offset) & ~(page - 1);
	start = start - base > FAULT_AROUND ? start - FAULT_AROUND : base;
	end = base + r->data_offset + r->data_len + FAULT_AROUND;
	end = (end < base + img->len ? end : base + img->len) & ~(page - 1);
	if (end > start)
		madvise((void *)start, end - start, MADV_DONTNEED);
	return 0;
}

static int check_some_pages(struct rst_ctx *ctx)
{
	while (ctx->crc_link < ctx->chain.nr) {
		const struct image_link *l = &ctx->chain.links[ctx->crc_link];
		const struct image *img = ctx->crc_link ? l->img : ctx->img;
		uint32_t type;

		if (ctx->crc_rec == img->nr_recs) {
			ctx->crc_link++;
			ctx->crc_rec = 0;
			continue;
		}
		type = img->recs[ctx->crc_rec++].type;
		if (type == REC_PAGES || type == REC_PRECOPY) {
			int ret = check_record(ctx, ctx->crc_link, ctx->crc_rec - 1);

			return ret ? ret : 1;
		}
	}
	return 0;
}

/* Does extent E lie inside a vma of T that the page server fills? */
static bool served_lazily(const struct rst_ctx *ctx, const struct rst_task *t,
			  const struct page_extent *e)
{
	if (!mm_task_is_lazy(ctx, t))
		return false;
	for (size_t i = 0; i < ctx->img->nr_recs; i++) {
		const struct image_record *r = &ctx->img->recs[i];
		const struct rec_vma *v = r->payload;

		if (r->type == REC_VMA && v->mm_objref == t->objs->mm_objref &&
		    v->start <= e->vaddr && e->vaddr + e->len <= v->end)
			return mm_vma_is_lazy(v);
	}
	return false;
}

/*
 * --lazy: the page data the restorers read now is checked before the tree
 * runs, as without --lazy; what the page server fills, it checks itself
 * before its first copy from each record (core/lazy.c).
 */
static int check_eager_pages(struct rst_ctx *ctx)
{
	bool *need[IMAGE_CHAIN_MAX + 1] = { 0 };
	int ret = 0;

	for (size_t l = 0; l < ctx->chain.nr && !ret; l++) {
		need[l] = calloc((l ? ctx->chain.links[l].img : ctx->img)->nr_recs + 1, 1);
		if (!need[l])
			ret = -ENOMEM;
	}
	for (size_t i = 0; i < ctx->nr_tasks && !ret; i++) {
		struct page_extent *ext = NULL;
		size_t nr = 0;
		char err[320];

		if (ctx->tasks[i].zombie)
			continue;
		ret = image_chain_pages(&ctx->chain, 0, ctx->tasks[i].pid, &ext, &nr, err,
					sizeof(err));
		if (ret)
			log_error("%s", err);
		for (size_t k = 0; k < nr && !ret; k++)
			if (!served_lazily(ctx, &ctx->tasks[i], &ext[k]))
				need[ext[k].link][ext[k].rec] = true;
		free(ext);
	}
	for (size_t l = 0; l < ctx->chain.nr && !ret; l++)
		for (size_t r = 0; r < (l ? ctx->chain.links[l].img : ctx->img)->nr_recs && !ret;
		     r++)
			if (need[l][r])
				ret = check_record(ctx, l, r);
	for (size_t l = 0; l < ctx->chain.nr; l++)
		free(need[l]);
	release_image_pages(ctx);
	return ret;
}

static int check_all_pages(struct rst_ctx *ctx)
{
	int ret;

	while ((ret = check_some_pages(ctx)) == 1)
		;
	release_image_pages(ctx);
	return ret;
}

/*
 * Waits until every thread of every live task stopped itself at the end of
 * its restorer, reading reports.
 */
static int await_restored(struct rst_ctx *ctx, int fd)
{
	size_t stopped = 0;
	sigset_t chld, old;
	int ret = 0, sfd;

	/*
	 * Woken by a report or by a tracee's stop (SIGCHLD, read through a
	 * signalfd): a restorer making threads stops at each one until we let
	 * it go on, so a slow wake-up here would add up.
	 */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);
	sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while (stopped < nr_live_threads(ctx) && !ret) {
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
				       { .fd = sfd, .events = POLLIN } };
		struct signalfd_siginfo si;
		struct rst_task *t;
		int status;
		pid_t pid;

		ret = drain_reports(ctx, fd);
		pid = ret ? 0 : waitpid(-1, &status, __WALL | WNOHANG);
		if (pid < 0 && errno != EINTR)
			ret = -errno;
		if (pid <= 0) {
			/* nothing to do but wait: check page data meanwhile */
			int more = ret || ctx->opts->lazy ? 0 : check_some_pages(ctx);

			if (more < 0) {
				ret = more;
				break;
			}
			poll(p, sfd < 0 ? 1 : 2, more ? 0 : sfd < 0 ? 10 : 100);
			while (sfd >= 0 && read(sfd, &si, sizeof(si)) == sizeof(si))
				;
			continue;
		}
		t = task_or_thread_by_pid(ctx, pid);
		if (!t)
			continue;
		t->seized = true;	      /* a thread: traced since its birth */
		ret = drain_reports(ctx, fd); /* its DONE report, written just before its stop */
		if (!ret)
			ret = tracee_event(t, status);
		if (ret == 1) {
			t->stopped = true;
			stopped++;
			ret = 0;
		}
	}
	if (sfd >= 0)
		close(sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	/* every restorer closed its report descriptor: the rest of the pipe, to its end */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	if (!ret) {
		struct restorer_report r;

		while (!read_full(fd, &r, sizeof(r)))
			ret = take_report(ctx, &r) ? -EIO : ret;
	}
	return ret;
}

/* After a failure: every task made so far goes, and restart waits for them. */
static void kill_tree(struct rst_ctx *ctx)
{
	/*
	 * Only the tasks known to exist: the traced ones (a tracee's pid cannot
	 * be reused) and the root. The others die with their parents
	 * (PR_SET_PDEATHSIG), and a pid of the image not made yet may be
	 * someone else's by now.
	 */
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (!ctx->tasks[i].zombie && (ctx->tasks[i].seized || i == 0))
			kill(ctx->tasks[i].pid, SIGKILL);
	if (ctx->keeper > 0) {
		kill(ctx->keeper, SIGKILL);
		while (waitpid(ctx->keeper, NULL, 0) < 0 && errno == EINTR)
			;
	}
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		struct rst_task *t = &ctx->tasks[i];

		if (t->zombie || !(t->seized || (i == 0 && !ctx->opts->detach)))
			continue;
		/* a traced leader is heard of only after its traced threads are reaped */
		for (size_t k = 0; k < t->nr_threads && t->seized; k++)
			while (waitpid(t->threads[k].pid, NULL, __WALL) < 0 && errno == EINTR)
				;
		while (waitpid(t->pid, NULL, __WALL) < 0 && errno == EINTR)
			;
	}
}

/*
 * The commit point: every task is whole, so from here on a restart that
 * dies (SIGKILL) must leave the tree running, not half of it. Each tracee
 * stops dying with restart: if it goes now, the kernel lets them all go.
 */
static int commit_tree(struct rst_ctx *ctx)
{
	const long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE;

	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		struct rst_task *t = &ctx->tasks[i];

		if (t->zombie)
			continue;
		for (size_t k = 0; k <= t->nr_threads; k++) {
			pid_t tid = k < t->nr_threads ? t->threads[k].pid : t->pid;

			if (ptrace(PTRACE_SETOPTIONS, tid, NULL, (void *)opts) < 0) {
				int err = errno;

				log_error("pid %d: cannot let its thread %d outlive restart: %s",
					  t->pid, tid, strerror(err));
				return -err;
			}
		}
	}
	return 0;
}

/* The tasks stopped at the end of their restorers: finish them from outside, then let go. */
static int finish_tree(struct rst_ctx *ctx)
{
	int ret = 0;

	for (size_t i = 0; i < ctx->nr_tasks && !ret; i++) {
		struct rst_task *t = &ctx->tasks[i];

		if (t->zombie)
			continue;
		if (!t->block) {
			log_error("pid %d: its restorer block was never reported", t->pid);
			return -EIO;
		}
		ret = fault_at(ctx, "finishing a task");
		if (!ret)
			ret = finish_task(t, t->block, t->block_len);
	}
	if (!ret)
		ret = tty_restore_finish(ctx);
	if (!ret && ctx->opts->lazy)
		ret = lazy_serve(ctx);
	if (!ret && ctx->opts->pidfile)
		ret = write_pidfile(ctx->opts->pidfile, ctx->tasks[0].pid);
	if (!ret)
		ret = fault_at(ctx, "committing");
	if (!ret)
		ret = commit_tree(ctx);
	if (ret)
		return ret;
	/* children first: by the time a parent runs, its children are whole */
	for (size_t i = ctx->nr_tasks; i-- > 0;) {
		struct rst_task *t = &ctx->tasks[i];

		if (t->zombie)
			continue;
		fault_point_kill("after the commit: letting a task go");
		/* a task stopped by job control goes back into its stop once untraced */
		if (t->core->stopped)
			kill(t->pid, SIGSTOP);
		for (size_t k = 0; k < t->nr_threads; k++) {
			if (ptrace(PTRACE_DETACH, t->threads[k].pid, NULL, NULL) < 0) {
				int err = errno;

				log_error("pid %d: cannot let its thread %d run: %s", t->pid,
					  t->threads[k].pid, strerror(err));
				return -err;
			}
			t->threads[k].seized = false;
		}
		if (ptrace(PTRACE_DETACH, t->pid, NULL, NULL) < 0) {
			int err = errno;

			log_error("pid %d: cannot let it run: %s", t->pid, strerror(err));
			return -err;
		}
		t->seized = false;
	}
	return 0;
}

static int run_tree(struct rst_ctx *ctx)
{
	int report[2], go[2], ret;
	size_t n = nr_live(ctx);
	pid_t pid = 0;

	if (pipe2(report, O_CLOEXEC) < 0) {
		ret = -errno;
		log_error("cannot make restart's pipes: %s", strerror(-ret));
		return ret;
	}
	if (pipe2(go, O_CLOEXEC) < 0) {
		ret = -errno;
		log_error("cannot make restart's pipes: %s", strerror(-ret));
		close(report[0]);
		close(report[1]);
		return ret;
	}
	ctx->report_fd = report[1];
	ctx->go_fd = go[0];
	ctx->parent_fds[0] = report[0];
	ctx->parent_fds[1] = go[1];
	ret = fault_at(ctx, "making the tree");
	if (!ret)
		ret = spawn(ctx, &ctx->tasks[0], &pid);
	close(report[1]);
	close(go[0]);
	if (!ret)
		ret = await_born(ctx, report[0]);
	if (!ret)
		ret = fault_at(ctx, "letting the tree go");
	/* one byte for each task and each group helper */
	for (size_t i = 0; i < n + ctx->nr_helpers && !ret; i++)
		if (write(go[1], "g", 1) != 1) {
			ret = -errno;
			log_error("cannot let the tree go on: %s", strerror(-ret));
		}
	if (!ret)
		ret = await_restored(ctx, report[0]);
	if (!ret)
		ret = fault_at(ctx, "checking page data");
	if (!ret)
		ret = ctx->opts->lazy ? check_eager_pages(ctx) : check_all_pages(ctx);
	if (!ret)
		ret = finish_tree(ctx);
	if (ret && pid > 0)
		kill_tree(ctx);
	close(report[0]);
	close(go[1]);
	return ret;
}

/* Step 1 of restart: the whole image, read and validated before anything else. */
static int load_image(struct rst_ctx *ctx)
{
	const char *path = ctx->opts->image;
	struct image_error err;
	char reason[320];
	int ret;

	ret = image_source_open_flags(&ctx->src, path,
				      ctx->opts->trust_image ? 0 : IMAGE_SOURCE_CHECK_TRUST, reason,
				      sizeof(reason));
	if (ret && reason[0])
		log_error("%s: %s", path, reason);
	else if (ret)
		log_error("%s: cannot read image: %s", path, strerror(-ret));
	if (ret)
		return ret;
	ret = image_parse(ctx->src.buf, ctx->src.len,
			  IMAGE_PARSE_DEFER_PAGE_CRC | IMAGE_PARSE_RELEASE_BEHIND, &ctx->img, &err);
	if (ret) {
		image_error_format(&err, reason, sizeof(reason));
		log_error("%s: invalid image: %s", path, reason);
		return ret;
	}
	ret = image_chain_open(&ctx->chain, path, ctx->img, &ctx->src, reason, sizeof(reason));
	if (ret) {
		log_error("%s", reason);
		return ret;
	}
	release_image_pages(ctx);
	return 0;
}

int restart_wait_root(pid_t pid, int *ret_status)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	*ret_status = exit_code_of(status);
	return 0;
}

/* --tty=inherit: the restored session on restart's terminal until the root ends. */
static int relay_root(int master, pid_t root, int *ret_status)
{
	int status = 0, ret = relay_run(master, root, &status);

	if (!ret)
		*ret_status = exit_code_of(status);
	return ret;
}

int restart_run(const struct restart_opts *opts, int *ret_status)
{
	struct rst_ctx ctx = { .opts = opts,
			       .page_size = sysconf(_SC_PAGESIZE),
			       .report_fd = -1,
			       .relay_fd = -1,
			       .external_master = -1 };
	int ret;

	ctx.src.fd = -1;
	ret = load_image(&ctx);
	if (!ret && !(ret = fault_at(&ctx, "checking credentials")))
		ret = check_creds(&ctx); /* before a session's holder or any task exists */
	if (!ret && ctx.img->session && !opts->in_session && opts->on_session) {
		char name[sizeof(ctx.img->session->name)];

		memcpy(name, ctx.img->session->name, sizeof(name));
		image_chain_close(&ctx.chain);
		image_free(ctx.img);
		image_source_close(&ctx.src);
		return opts->on_session(opts, name, ret_status);
	}
	if (!ret)
		ret = collect_tasks(&ctx);
	if (!ret)
		ret = check_machine(&ctx);
	for (size_t i = 0; i < ctx.nr_tasks && !ret; i++) {
		ret = wait_pid_free(ctx.tasks[i].pid);
		if (!ret && ctx.tasks[i].group_helper)
			ret = wait_pid_free(ctx.tasks[i].group_helper);
		if (!ret && ctx.tasks[i].session_helper)
			ret = wait_pid_free(ctx.tasks[i].session_helper);
	}
	for (size_t i = 0; i < ctx.nr_threads && !ret; i++)
		ret = wait_pid_free(ctx.threads[i].pid);
	ctx.fd_floor = ctx.img ? max_image_fd(&ctx) + 1 : 3;
	ctx.objs = ret ? NULL : objhash_new();
	if (!ret && !ctx.objs)
		ret = -ENOMEM;
	/* terminals first: made by restart itself, so a pty that cannot be had harms nothing */
	if (!ret && !(ret = fault_at(&ctx, "opening terminals")))
		ret = tty_restore_open(&ctx);
	if (!ret)
		ret = run_tree(&ctx);
	tty_restore_close(&ctx);
	if (!ret) {
		log_info("pid %d: restarted from %s", ctx.tasks[0].pid, opts->image);
		*ret_status = 0;
		if (opts->on_running)
			ret = opts->on_running(opts->on_running_arg, ctx.relay_fd, ctx.tasks[0].pid,
					       ret_status);
		else if (ctx.relay_fd >= 0)
			ret = relay_root(ctx.relay_fd, ctx.keeper ? ctx.keeper : ctx.tasks[0].pid,
					 ret_status);
		else if (!opts->detach)
			ret = restart_wait_root(ctx.tasks[0].pid, ret_status);
	}
	for (size_t i = 0; i < ctx.nr_tasks; i++)
		if (ctx.tasks[i].uffd >= 0)
			close(ctx.tasks[i].uffd); /* a failure before the page server took them */
	free(ctx.tasks);
	free(ctx.threads);
	objhash_free(ctx.objs);
	image_chain_close(&ctx.chain);
	image_free(ctx.img);
	image_source_close(&ctx.src);
	return ret;
}
