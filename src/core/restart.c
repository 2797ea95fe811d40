// SPDX-License-Identifier: MIT
/*
 * The restart driver.
 *
 * 1. Read and validate the whole image; check this machine can take it
 *    (page size, XSAVE layout, terminal and signal constants) and the pids
 *    are free.
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
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "core/rst.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/util.h"
#include "ptrace/ptrace.h"

extern const unsigned char _binary_restorer_bin_start[];
extern const unsigned char _binary_restorer_bin_end[];

#define PID_WAIT_MS    5000
#define RESTORER_STACK (64u << 10)

/* --- child side ---------------------------------------------------------------- */

int rst_fail(struct rst_ctx *ctx, int err, const char *fmt, ...)
{
	struct restorer_report r = { .step = RST_STEP_PREPARE, .err = -err };
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
	int *slots[2] = { &ctx->report_fd, &ctx->src.fd };
	size_t nr = 0;
	int *fds = NULL, ret;

	for (int i = 0; i < 2; i++) {
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
		bool keep = fds[i] == ctx->report_fd || fds[i] == ctx->src.fd;

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
	size_t len = ALIGN_UP(code_room + b->len, (size_t)ctx->page_size) + RESTORER_STACK;
	struct restorer_report hello = { .step = RST_STEP_BLOCK };
	uint64_t start;
	void *block;
	int ret;

	b->args->image_fd = ctx->src.fd;
	b->args->report_fd = ctx->report_fd;
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

static __attribute__((noreturn)) void child_main(struct rst_ctx *ctx, struct rst_task *t)
{
	struct rst_block b = { 0 };
	uint64_t all = ~0ull;
	char go;
	int ret;

	/* raw: glibc's sigprocmask leaves its own signals 32 and 33 unblocked */
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, sizeof(all));
	ctx->pid = t->pid;
	close(ctx->parent_fds[0]);
	close(ctx->parent_fds[1]);
	/*
	 * Wait until the parent traces us (PTRACE_O_EXITKILL: we die with it
	 * from then on); if it dies before, the pipe reads end of file.
	 */
	if (read(ctx->go_fd, &go, 1) != 1)
		_exit(1);
	close(ctx->go_fd);
	ret = move_own_fds(ctx, ctx->fd_floor);
	if (ret) {
		rst_fail(ctx, ret, "pid %d: cannot set up its descriptors: %s", t->pid,
			 strerror(-ret));
		_exit(1);
	}
	ret = block_init(&b);
	if (!ret)
		ret = task_restore_root(ctx, t);
	if (!ret)
		ret = tty_restore_ctty(ctx, t);
	if (!ret)
		ret = files_restore(ctx, t);
	if (!ret)
		ret = mm_restore_prepare(ctx, t, &b);
	if (!ret)
		ret = signal_restore(ctx, t);
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

static int collect_tasks(struct rst_ctx *ctx)
{
	struct image *img = ctx->img;
	struct rst_task *t;

	for (size_t i = 0; i < img->nr_recs; i++)
		if (img->recs[i].type == REC_TASK)
			ctx->nr_tasks++;
	if (ctx->nr_tasks != 1) {
		log_error(ctx->nr_tasks ? "%s: holds %zu tasks; restarting process trees is not "
					  "supported yet"
					: "%s: holds no task: nothing to restart",
			  ctx->opts->image, ctx->nr_tasks);
		return ctx->nr_tasks ? -ENOTSUP : -EINVAL;
	}
	t = ctx->tasks = calloc(ctx->nr_tasks, sizeof(*ctx->tasks));
	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < img->nr_recs; i++) {
		const struct image_record *r = &img->recs[i];
		const void *p = r->payload;

		switch (r->type) {
		case REC_TASK:
			t->task = p;
			t->pid = t->task->pid;
			break;
		case REC_TASK_OBJS:
			t->objs = p;
			break;
		case REC_TASK_CORE:
			t->core = p;
			break;
		case REC_SIGACTIONS:
			t->sigactions = p;
			break;
		case REC_CREDS:
			t->creds = p;
			break;
		case REC_RLIMITS:
			t->rlimits = p;
			break;
		case REC_FS:
			t->fs = p;
			break;
		case REC_TASK_REGS:
			t->regs = p;
			break;
		case REC_TASK_XSTATE:
			t->xstate = p;
			break;
		case REC_SIGPENDING:
			t->pending[((const struct rec_sigpending *)p)->shared] = p;
			break;
		}
	}
	if (t->task->state != TASK_ALIVE) {
		log_error("%s: the root task (pid %d) is a zombie: nothing to restart",
			  ctx->opts->image, t->pid);
		return -EINVAL;
	}
	return 0;
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

/* A pid held by a zombie or an exiting task is waited for; a live one is an error. */
static int wait_pid_free(pid_t pid)
{
	for (int waited = 0;; waited += 10) {
		struct proc_stat st;

		if (kill(pid, 0) < 0 && errno == ESRCH)
			return 0;
		if (proc_read_stat(pid, 0, &st) == 0 && st.state != 'Z' && st.state != 'X') {
			log_error(
			    "pid %d is in use by a live task (%s); stop it, or restart in a new "
			    "pid namespace",
			    pid, st.comm);
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
};

/* Reads the child's reports; logs a failure, returns the block's place. */
static int read_reports(int fd, pid_t pid, uint64_t *ret_start, uint64_t *ret_len)
{
	struct restorer_report r;
	int failed = 0;

	while (read_full(fd, &r, sizeof(r)) == 0) {
		if (r.step == RST_STEP_BLOCK) {
			*ret_start = r.where;
			*ret_len = r.len;
		} else if (r.step == RST_STEP_PREPARE) {
			r.text[sizeof(r.text) - 1] = '\0';
			log_error("%s", r.text);
			failed = 1;
		} else {
			const char *what = r.step > 0 && (size_t)r.step < ARRAY_SIZE(step_names) &&
						   step_names[r.step]
					       ? step_names[r.step]
					       : "an unknown step";

			log_error("pid %d: restorer failed %s at %#llx: %s", pid, what,
				  (unsigned long long)r.where, strerror(r.err));
			failed = 1;
		}
	}
	return failed ? -EIO : 0;
}

static int set_xstate(pid_t pid, const struct rec_task_xstate *x)
{
	struct iovec iov = { (void *)(x + 1), x->size };

	return ptrace(PTRACE_SETREGSET, pid, (void *)ARCH_NT_XSTATE, &iov) < 0 ? -errno : 0;
}

/* The task stopped itself at the end of the restorer: finish it from outside. */
static int finish_task(struct rst_task *t, uint64_t block, uint64_t block_len)
{
	struct tracee tr = { .tid = t->pid, .seized = true };
	struct iovec iov = { &tr.regs, sizeof(tr.regs) };
	const long munmap_args[6] = { (long)block, (long)block_len };
	uint64_t mask = t->core->blocked;
	arch_regs_t regs;
	long r;
	int ret;

	if (ptrace(PTRACE_GETREGSET, t->pid, (void *)NT_PRSTATUS, &iov) < 0)
		return -errno;
	tr.syscall_ip = block + RESTORER_SYSCALL_OFFSET;
	tr.sigmask = ~0ull;
	ret = tracee_syscall(&tr, SYS_munmap, munmap_args, &r);
	if (!ret && r)
		ret = (int)r;
	if (ret) {
		log_error("pid %d: cannot remove the restorer: %s", t->pid, strerror(-ret));
		return ret;
	}
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

/* Waits for the child to stop itself (success) or die (failure). */
static int wait_restored(pid_t pid)
{
	for (;;) {
		int status;
		pid_t r = waitpid(pid, &status, __WALL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -ECHILD;
		if (WSTOPSIG(status) == SIGSTOP)
			return 0;
		if (status >> 16 == PTRACE_EVENT_STOP) { /* a group stop: go on */
			ptrace(PTRACE_CONT, pid, NULL, NULL);
			continue;
		}
		log_error("pid %d: the restorer got signal %d (%s); restart failed", pid,
			  WSTOPSIG(status), strsignal(WSTOPSIG(status)));
		return -EFAULT;
	}
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
			child_main(ctx, t);
		_exit(pid < 0 ? errno & 0xff : 0); /* the errno, as the exit status */
	}
	if (waitpid(launcher, &status, 0) < 0)
		return -errno;
	if (!WIFEXITED(status))
		return -ECHILD;
	return WEXITSTATUS(status) ? -WEXITSTATUS(status) : t->pid;
}

static int spawn(struct rst_ctx *ctx, struct rst_task *t, pid_t *ret_pid)
{
	pid_t pid;

	if (ctx->opts->detach) {
		pid = spawn_detached(ctx, t);
	} else {
		pid = clone_with_pid(t->pid);
		if (pid == 0)
			child_main(ctx, t);
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

static int run_task(struct rst_ctx *ctx, struct rst_task *t)
{
	int report[2], go[2], ret;
	uint64_t block = 0, block_len = 0;
	pid_t pid;

	if (pipe2(report, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0)
		return -errno;
	ctx->report_fd = report[1];
	ctx->go_fd = go[0];
	ctx->parent_fds[0] = report[0];
	ctx->parent_fds[1] = go[1];
	ret = spawn(ctx, t, &pid);
	close(report[1]);
	close(go[0]);
	if (ret)
		goto out;
	if (ptrace(PTRACE_SEIZE, pid, NULL,
		   (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL)) < 0) {
		ret = -errno;
		kill(pid, SIGKILL);
		log_error("pid %d: cannot trace the restored task: %s", pid, strerror(-ret));
		goto out;
	}
	if (write(go[1], "g", 1) != 1) {
		ret = -errno;
		goto out_kill;
	}
	ret = wait_restored(pid);
	if (ret) {
		/* dead, or stopped by a fault: it must be gone before its reports end */
		kill(pid, SIGKILL);
		if (!ctx->opts->detach || ret != -ECHILD)
			waitpid(pid, NULL, __WALL);
		if (!read_reports(report[0], pid, &block, &block_len) && ret == -ECHILD)
			log_error("pid %d: the restored task died before it was complete", pid);
		goto out;
	}
	ret = read_reports(report[0], pid, &block, &block_len);
	if (ret || !block) {
		ret = ret ? ret : -EIO;
		goto out_kill;
	}
	ret = finish_task(t, block, block_len);
	if (!ret)
		ret = tty_restore_finish(ctx);
	if (!ret && ctx->opts->pidfile)
		ret = write_pidfile(ctx->opts->pidfile, pid);
	if (ret)
		goto out_kill;
	/* a task stopped by job control goes back into its stop once untraced */
	if (t->core->stopped)
		kill(pid, SIGSTOP);
	if (ptrace(PTRACE_DETACH, pid, NULL, NULL) < 0) {
		ret = -errno;
		goto out_kill;
	}
	goto out;
out_kill:
	kill(pid, SIGKILL);
	if (!ctx->opts->detach)
		waitpid(pid, NULL, __WALL);
out:
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

	ret = image_source_open(&ctx->src, path);
	if (ret) {
		log_error("%s: cannot read image: %s", path, strerror(-ret));
		return ret;
	}
	ret = image_parse(ctx->src.buf, ctx->src.len, 0, &ctx->img, &err);
	if (ret) {
		image_error_format(&err, reason, sizeof(reason));
		log_error("%s: invalid image: %s", path, reason);
	}
	return ret;
}

/* Foreground: wait for the restored root and pass its status on. */
static int wait_root(pid_t pid, int *ret_status)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	*ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return 0;
}

int restart_run(const struct restart_opts *opts, int *ret_status)
{
	struct rst_ctx ctx = { .opts = opts, .page_size = sysconf(_SC_PAGESIZE), .report_fd = -1 };
	int ret;

	ctx.src.fd = -1;
	ret = load_image(&ctx);
	if (!ret)
		ret = collect_tasks(&ctx);
	if (!ret)
		ret = check_machine(&ctx);
	if (!ret)
		ret = wait_pid_free(ctx.tasks[0].pid);
	ctx.fd_floor = ctx.img ? max_image_fd(&ctx) + 1 : 3;
	ctx.objs = ret ? NULL : objhash_new();
	if (!ret && !ctx.objs)
		ret = -ENOMEM;
	/* terminals first: made by restart itself, so a pty that cannot be had harms nothing */
	if (!ret)
		ret = tty_restore_open(&ctx);
	if (!ret)
		ret = run_task(&ctx, &ctx.tasks[0]);
	tty_restore_close(&ctx);
	if (!ret) {
		log_info("pid %d: restarted from %s", ctx.tasks[0].pid, opts->image);
		*ret_status = 0;
		if (!opts->detach)
			ret = wait_root(ctx.tasks[0].pid, ret_status);
	}
	free(ctx.tasks);
	objhash_free(ctx.objs);
	image_free(ctx.img);
	image_source_close(&ctx.src);
	return ret;
}
