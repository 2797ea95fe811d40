// SPDX-License-Identifier: MIT
/*
 * The checkpoint driver: find the tree, freeze it, write every object in
 * dependency order, then resume it exactly as it was (or, with --kill, end
 * it once the image is durable). Whatever fails, every task is resumed and
 * a partial image never appears under the final name.
 */
#include "core/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/ckpt.h"
#include "core/lock.h"
#include "lib/fault.h"
#include "lib/log.h"
#include "lib/util.h"

/* A step a test may make fail, or die at (lib/fault.h): said in one line, as a real failure is. */
static int fault_at(pid_t pid, const char *step)
{
	int ret = fault_point(step);

	if (ret)
		log_error("pid %d: %s: %s (injected fault)", pid, step, strerror(-ret));
	return ret;
}

/* Once per task: injections without a lifeline are not safe if cryo dies (ptrace.h). */
static void tell_unprotected(struct ckpt_task *t)
{
	if (!t->tracee.unprotected || t->told_unprotected)
		return;
	t->told_unprotected = true;
	log_warn("pid %d: its vdso has no room for cryo's lifeline; should cryo be killed during "
		 "this checkpoint, it may crash",
		 t->pid);
}

const char *ckpt_strerror(int err)
{
	if (err == -ETIME)
		return "it went on without cryo, which was kept from the CPU for over a second; "
		       "retry the checkpoint";
	return strerror(-err);
}

int ckpt_task_syscall(struct ckpt_task *t, long nr, long a0, long a1, long a2, long a3, long *ret)
{
	const long args[6] = { a0, a1, a2, a3, 0, 0 };
	int err = tracee_syscall(&t->tracee, nr, args, ret);

	tell_unprotected(t);
	return err;
}

/*
 * The scratch pages mapped in the task for the checkpoint's duration:
 * where single injected syscalls leave their results, where a batch's
 * calls write theirs, the batch's table, and the batch code (read-only,
 * executable).
 */
enum {
	SCRATCH_QUERY = 0,
	SCRATCH_BATCH_OUT = 1,
	SCRATCH_BATCH_TABLE = 2,
	SCRATCH_BATCH_CODE = 3,
	SCRATCH_PAGES = 4,
};

static uint64_t scratch_page(const struct ckpt_ctx *ctx, const struct ckpt_task *t, int page)
{
	return t->scratch + (uint64_t)page * (uint64_t)ctx->page_size;
}

/* The batch code, written into its page, which then becomes read-only and executable. */
static int put_batch_code(struct ckpt_ctx *ctx, struct ckpt_task *t)
{
	size_t len = arch_batch_code_len;
	uint64_t code = scratch_page(ctx, t, SCRATCH_BATCH_CODE);
	struct iovec local = { (void *)arch_batch_code, len }, remote = { (void *)code, len };
	long r;
	int ret;

	if (process_vm_writev(t->pid, &local, 1, &remote, 1, 0) != (ssize_t)len)
		return -EFAULT;
	ret = ckpt_task_syscall(t, SYS_mprotect, (long)code, ctx->page_size, PROT_READ | PROT_EXEC,
				0, &r);
	return ret ? ret : (int)r;
}

/*
 * A free range for the scratch pages, chosen by cryo so that the task's
 * lifeline knows it before the mmap runs: the highest hole with a page of
 * room on each side (so it merges with no neighbour), below the top of
 * user space.
 */
static int scratch_hole(struct ckpt_ctx *ctx, struct ckpt_task *t, uint64_t len, uint64_t *ret)
{
	uint64_t ps = (uint64_t)ctx->page_size, prev_end = ps, best = 0;
	struct proc_vma_list l = { 0 };
	int err = proc_read_maps(t->pid, &l);

	if (err)
		return err;
	for (size_t i = 0; i <= l.nr; i++) {
		uint64_t next = i < l.nr ? l.vmas[i].start : ARCH_TASK_SIZE;

		if (next > ARCH_TASK_SIZE)
			next = ARCH_TASK_SIZE;
		if (next >= prev_end + len + 2 * ps)
			best = next - ps - len;
		if (i < l.nr && l.vmas[i].end > prev_end)
			prev_end = l.vmas[i].end;
	}
	proc_vma_list_free(&l);
	*ret = best;
	return best ? 0 : -ENOMEM;
}

static int task_scratch(struct ckpt_ctx *ctx, struct ckpt_task *t, uint64_t *ret_addr)
{
	uint64_t len = SCRATCH_PAGES * (uint64_t)ctx->page_size, at = 0;
	long addr = 0;
	int ret;

	if (!t->scratch) {
		/* the range is the lifeline's to unmap before the mmap runs: if cryo dies, it goes
		 */
		ret = scratch_hole(ctx, t, len, &at);
		if (!ret)
			ret = tracee_lifeline_scratch(&t->tracee, at, len);
		if (!ret)
			ret = ckpt_task_syscall(
			    t, SYS_mmap, (long)at, (long)len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, &addr);
		if (!ret && (uint64_t)addr != at)
			ret = addr < 0 && addr > -4096 ? (int)addr : -EEXIST;
		if (ret) {
			/* nothing was mapped there: the lifeline must not unmap it */
			if ((uint64_t)addr != at)
				tracee_lifeline_scratch(&t->tracee, 0, 0);
			return ret;
		}
		t->scratch = at;
		ret = put_batch_code(ctx, t);
		if (ret)
			return ret;
	}
	*ret_addr = scratch_page(ctx, t, SCRATCH_QUERY);
	return 0;
}

int ckpt_task_batch_out(struct ckpt_ctx *ctx, struct ckpt_task *t, uint64_t *ret_out)
{
	uint64_t page;
	int ret = task_scratch(ctx, t, &page);

	if (!ret)
		*ret_out = scratch_page(ctx, t, SCRATCH_BATCH_OUT);
	return ret;
}

int ckpt_task_batch(struct ckpt_ctx *ctx, struct ckpt_task *t, struct tracee_call *calls, size_t n)
{
	uint64_t page;
	int ret = task_scratch(ctx, t, &page);

	if (ret)
		return ret;
	if (n * sizeof(*calls) > (size_t)ctx->page_size)
		return -E2BIG;
	/* the batch's tail block: the query page, unused while a batch runs */
	ret = tracee_batch(&t->tracee, scratch_page(ctx, t, SCRATCH_BATCH_CODE),
			   scratch_page(ctx, t, SCRATCH_BATCH_TABLE),
			   scratch_page(ctx, t, SCRATCH_QUERY), calls, n);
	if (ret == -ETIME)
		t->scratch = 0; /* its lifeline removed them */
	tell_unprotected(t);
	return ret;
}

int ckpt_task_query(struct ckpt_ctx *ctx, struct ckpt_task *t, long nr, const long args[4],
		    int arg_index, void *out, size_t len)
{
	long a[4] = { args[0], args[1], args[2], args[3] }, r;
	uint64_t page;
	int ret = task_scratch(ctx, t, &page);

	if (ret)
		return ret;
	a[arg_index] = (long)page;
	ret = ckpt_task_syscall(t, nr, a[0], a[1], a[2], a[3], &r);
	if (ret)
		return ret;
	if (r < 0)
		return (int)r;
	return ckpt_mem_read(t->pid, page, out, len);
}

/* The scratch page goes: before mm_dump, the task's layout must be its own. */
static void drop_scratch(struct ckpt_ctx *ctx, struct ckpt_task *t)
{
	long r;

	if (t->scratch && !ckpt_task_syscall(t, SYS_munmap, (long)t->scratch,
					     SCRATCH_PAGES * ctx->page_size, 0, 0, &r)) {
		t->scratch = 0;
		tracee_lifeline_scratch(&t->tracee, 0, 0);
	}
}

int ckpt_for_each_fd(struct ckpt_ctx *ctx,
		     int (*fn)(void *arg, pid_t pid, int fd, const struct stat *st), void *arg)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		pid_t pid = ctx->tasks[i].pid;
		size_t nr = 0;
		int *fds = NULL, ret;

		if (ctx->tasks[i].zombie)
			continue;
		ret = proc_list_fds(pid, &fds, &nr);
		if (ret)
			log_error("pid %d: cannot list its fds: %s", pid, strerror(-ret));
		for (size_t k = 0; k < nr && !ret; k++) {
			char link[48];
			struct stat st;

			snprintf(link, sizeof(link), "/proc/%d/fd/%d", pid, fds[k]);
			if (stat(link, &st) == 0) /* files_dump reports what cannot be inspected */
				ret = fn(arg, pid, fds[k], &st);
		}
		free(fds);
		if (ret)
			return ret;
	}
	return 0;
}

int ckpt_fetch_fd(pid_t pid, int fd)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), cfd;

	if (pidfd < 0)
		return -errno;
	cfd = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	if (cfd < 0)
		cfd = -errno;
	close(pidfd);
	return cfd;
}

int ckpt_task_fd_syscall(struct ckpt_task *t, long nr, long a0, long a1, long a2, long a3)
{
	long fd, r;
	int ret = ckpt_task_syscall(t, nr, a0, a1, a2, a3, &fd), cfd;

	if (ret)
		return ret;
	if (fd < 0)
		return (int)fd;
	/* if cryo dies before the close, the task's lifeline closes it */
	ret = tracee_lifeline_fd(&t->tracee, fd);
	cfd = ret ? ret : ckpt_fetch_fd(t->pid, (int)fd);
	if (!ckpt_task_syscall(t, SYS_close, fd, 0, 0, 0, &r))
		tracee_lifeline_fd(&t->tracee, -1);
	if (ret && cfd >= 0)
		close(cfd);
	return ret ? ret : cfd;
}

int ckpt_task_open(struct ckpt_ctx *ctx, struct ckpt_task *t, const char *path, int flags)
{
	size_t len = strlen(path) + 1;
	uint64_t page;
	int ret;

	if (len > (size_t)ctx->page_size)
		return -ENAMETOOLONG;
	ret = task_scratch(ctx, t, &page);
	if (!ret) {
		struct iovec local = { (void *)path, len }, remote = { (void *)page, len };

		if (process_vm_writev(t->pid, &local, 1, &remote, 1, 0) != (ssize_t)len)
			ret = -errno;
	}
	if (!ret)
		ret = ckpt_task_fd_syscall(t, SYS_openat, AT_FDCWD, (long)page, flags, 0);
	drop_scratch(ctx, t);
	return ret;
}

int ckpt_mem_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)addr, len };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	if (n == (ssize_t)len)
		return 0;
	return n < 0 ? -errno : -EIO;
}

/*
 * A thread-group leader that exited while its other threads run shows as a
 * zombie, but is not a dead process: refused by name (doc/threads.md).
 */
static int check_zombie_leader(pid_t pid)
{
	pid_t *tids = NULL;
	size_t nr = 0;
	int ret = proc_list_threads(pid, &tids, &nr);

	free(tids);
	if (ret || nr <= 1)
		return 0;
	log_error("pid %d: its main thread has exited while %zu other threads run; a process "
		  "whose thread-group leader is gone is not supported yet",
		  pid, nr - 1);
	return -ENOTSUP;
}

static ssize_t task_index(const struct ckpt_ctx *ctx, pid_t pid)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].pid == pid)
			return (ssize_t)i;
	return -1;
}

/* Appends PID, a child met in the tree, live or a zombie. */
static int add_task(struct ckpt_ctx *ctx, pid_t pid)
{
	struct ckpt_task *n;
	struct proc_stat st;

	if (proc_read_stat(pid, 0, &st))
		return 0; /* gone already: nothing of it to save */
	n = realloc(ctx->tasks, (ctx->nr_tasks + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	ctx->tasks = n;
	n = &ctx->tasks[ctx->nr_tasks++];
	*n = (struct ckpt_task){ .pid = pid, .zombie = st.state == 'Z' || st.state == 'X' };
	return 0;
}

/*
 * Adds every child of the live tasks that is not in the list yet; *ret_new
 * says whether any was. Children are listed after their parent, in
 * /proc's order, so the list is the tree in breadth-first order.
 */
static int add_children(struct ckpt_ctx *ctx, bool *ret_new)
{
	*ret_new = false;
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		pid_t *kids = NULL, pid = ctx->tasks[i].pid;
		size_t nr = 0;
		int ret;

		if (ctx->tasks[i].zombie)
			continue;
		ret = proc_list_children(pid, &kids, &nr);
		if (ret == -ENOENT) /* it died meanwhile: the rescan after the seize sees it */
			continue;
		for (size_t k = 0; k < nr && !ret; k++)
			if (task_index(ctx, kids[k]) < 0) {
				ret = add_task(ctx, kids[k]);
				*ret_new = true;
			}
		free(kids);
		if (ret) {
			log_error("pid %d: cannot list its children: %s", pid, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static int find_tree(struct ckpt_ctx *ctx)
{
	pid_t root = ctx->opts->pid;
	struct proc_stat st;
	bool more;
	int ret = proc_read_stat(root, 0, &st);

	if (ret) {
		log_error("pid %d: %s", root, ret == -ENOENT ? "no such process" : strerror(-ret));
		return ret;
	}
	if ((st.state == 'Z' || st.state == 'X') && (ret = check_zombie_leader(root)))
		return ret;
	if (st.state == 'Z' || st.state == 'X') {
		log_error("pid %d: is a zombie (it has exited); there is nothing to checkpoint",
			  root);
		return -ESRCH;
	}
	ret = add_task(ctx, root);
	do
		ret = ret ? ret : add_children(ctx, &more);
	while (!ret && more);
	return ret;
}

static const char *seize_hint(int err)
{
	switch (err) {
	case -EPERM:
		return "; run as root, and make sure no debugger is attached";
	case -ESRCH:
		return "; it exited";
	default:
		return "";
	}
}

#define FREEZE_ROUNDS 100

static bool same_creds(const struct proc_status *a, const struct proc_status *b)
{
	return !memcmp(a->uid, b->uid, sizeof(a->uid)) && !memcmp(a->gid, b->gid, sizeof(a->gid)) &&
	       a->cap_inh == b->cap_inh && a->cap_prm == b->cap_prm && a->cap_eff == b->cap_eff &&
	       a->cap_bnd == b->cap_bnd && a->cap_amb == b->cap_amb &&
	       a->nr_groups == b->nr_groups &&
	       (!a->nr_groups ||
		!memcmp(a->groups, b->groups, a->nr_groups * sizeof(*a->groups))) &&
	       a->no_new_privs == b->no_new_privs && a->seccomp == b->seccomp;
}

static bool has_thread(const struct ckpt_task *t, pid_t tid)
{
	for (size_t i = 0; i < t->nr_threads; i++)
		if (t->threads[i].pid == tid)
			return true;
	return false;
}

/*
 * Seizes thread TID of T and reads its /proc state. A thread that ended
 * since it was listed, or is ending, is not part of the process any more:
 * 0, not added.
 * The kernel keeps credentials per thread; cryo restores them per process,
 * so a thread whose differ is refused by name.
 */
static int add_thread(struct ckpt_task *t, pid_t tid)
{
	struct ckpt_task *n = realloc(t->threads, (t->nr_threads + 1) * sizeof(*n));
	int ret;

	if (!n)
		return -ENOMEM;
	t->threads = n;
	n = &t->threads[t->nr_threads];
	*n = (struct ckpt_task){ .pid = tid };
	ret = tracee_seize(&n->tracee, tid);
	if (ret &&
	    (proc_read_stat(t->pid, tid, &n->stat) || n->stat.state == 'Z' || n->stat.state == 'X'))
		return 0; /* gone, or on its way out */
	if (ret) {
		if (!ckpt_tell_tracer(t->pid, tid))
			log_error("pid %d: cannot stop its thread %d with ptrace: %s", t->pid, tid,
				  strerror(-ret));
		return ret;
	}
	t->nr_threads++;
	ret = proc_read_stat(t->pid, tid, &n->stat);
	if (!ret)
		ret = proc_read_status(t->pid, tid, &n->status);
	if (ret) {
		log_error("pid %d: cannot read the /proc status of its thread %d: %s", t->pid, tid,
			  strerror(-ret));
		return ret;
	}
	if (!same_creds(&n->status, &t->status)) {
		log_error("pid %d: its thread %d runs with other credentials, capabilities, "
			  "no_new_privs or seccomp than its main thread; not supported yet",
			  t->pid, tid);
		return -ENOTSUP;
	}
	return 0;
}

/*
 * Seizes every other thread of the live process T. A seized thread cannot
 * create another, so the listings end once every thread is seized.
 */
static int seize_threads(struct ckpt_task *t)
{
	for (int round = 0; round < FREEZE_ROUNDS; round++) {
		pid_t *tids = NULL;
		size_t nr = 0;
		bool more = false;
		int ret = proc_list_threads(t->pid, &tids, &nr);

		for (size_t i = 0; i < nr && !ret; i++)
			if (tids[i] != t->pid && !has_thread(t, tids[i])) {
				ret = add_thread(t, tids[i]);
				more = true;
			}
		free(tids);
		if (ret || !more)
			return ret;
	}
	log_error("pid %d: keeps creating threads faster than cryo stops them; retry", t->pid);
	return -EAGAIN;
}

/* Lets the threads of T go, or after a kill, waits until the kernel let go of each. */
static void release_threads(struct ckpt_task *t, bool killed)
{
	for (size_t i = 0; i < t->nr_threads; i++) {
		struct ckpt_task *th = &t->threads[i];
		int ret;

		if (killed) {
			while (waitpid(th->pid, NULL, __WALL) < 0 && errno == EINTR)
				;
			th->tracee.seized = false;
		}
		ret = tracee_detach(&th->tracee);
		if (ret)
			log_error("pid %d: cannot resume its thread %d: %s", t->pid, th->pid,
				  strerror(-ret));
		proc_status_free(&th->status);
	}
	free(t->threads);
	t->threads = NULL;
	t->nr_threads = 0;
}

/*
 * Seizes the task at I. A task that died since it was listed is kept as
 * the zombie it now is (a zombie cannot be seized), or dropped if it is
 * gone; either way its parent is seized, so nothing changes any more.
 */
static int seize_task(struct ckpt_ctx *ctx, size_t i) /* 1: gone, drop it */
{
	struct ckpt_task *t = &ctx->tasks[i];
	int ret = 0;

	if (t->tracee.seized)
		return 0;
	if (!t->zombie) {
		ret = tracee_seize(&t->tracee, t->pid);
		if (ret && i && proc_read_stat(t->pid, 0, &t->stat) == -ENOENT)
			return 1; /* exited and reaped since it was listed: not in the tree */
		if (ret && proc_read_stat(t->pid, 0, &t->stat) == 0 &&
		    (t->stat.state == 'Z' || t->stat.state == 'X'))
			t->zombie = true;
		else if (ret) {
			/* held by another tracer: a debugger, or another cryo */
			if (!ckpt_tell_tracer(t->pid, t->pid))
				log_error("pid %d: cannot stop it with ptrace: %s%s", t->pid,
					  strerror(-ret), seize_hint(ret));
			return ret;
		}
	}
	ret = proc_read_stat(t->pid, 0, &t->stat);
	if (ret == -ENOENT && t->zombie && i)
		return 1; /* a zombie reaped meanwhile */
	if (!ret && !t->zombie)
		ret = proc_read_status(t->pid, 0, &t->status);
	if (ret) {
		log_error("pid %d: cannot read its /proc status: %s", t->pid, strerror(-ret));
		return ret;
	}
	if (t->zombie)
		return check_zombie_leader(t->pid);
	if (t->status.seccomp) {
		log_error("pid %d: runs under seccomp (mode %d); not supported yet", t->pid,
			  t->status.seccomp);
		return -ENOTSUP;
	}
	return seize_threads(t);
}

/* What two tasks of a tree may share only as threads do (the kcmp types). */
static const struct {
	int type;
	const char *what;
} shared_kinds[] = {
	{ KCMP_VM, "its memory (CLONE_VM, as a vfork child does)" },
	{ KCMP_FILES, "its fd table (CLONE_FILES)" },
	{ KCMP_FS, "its working directory, root and umask (CLONE_FS)" },
};

static int check_sharing(struct ckpt_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		for (size_t j = i + 1; j < ctx->nr_tasks; j++) {
			pid_t a = ctx->tasks[i].pid, b = ctx->tasks[j].pid;

			if (ctx->tasks[i].zombie || ctx->tasks[j].zombie)
				continue;
			for (size_t k = 0; k < ARRAY_SIZE(shared_kinds); k++)
				if (syscall(SYS_kcmp, a, b, shared_kinds[k].type, 0, 0) == 0) {
					log_error(
					    "pid %d: shares %s with pid %d; not supported yet", b,
					    shared_kinds[k].what, a);
					return -ENOTSUP;
				}
		}
	return 0;
}

static void drop_task(struct ckpt_ctx *ctx, size_t i)
{
	release_threads(&ctx->tasks[i], false);
	tracee_detach(&ctx->tasks[i].tracee);
	proc_status_free(&ctx->tasks[i].status);
	memmove(&ctx->tasks[i], &ctx->tasks[i + 1], (ctx->nr_tasks - i - 1) * sizeof(*ctx->tasks));
	ctx->nr_tasks--;
}

/*
 * A task whose parent died before it was seized was reparented outside the
 * tree (to init or a subreaper above the root): it is no longer part of it.
 */
static void drop_orphans(struct ckpt_ctx *ctx)
{
	for (bool dropped = true; dropped;) {
		dropped = false;
		for (size_t i = 1; i < ctx->nr_tasks; i++)
			if (task_index(ctx, ctx->tasks[i].stat.ppid) < 0) {
				drop_task(ctx, i);
				dropped = true;
				break;
			}
	}
}

/*
 * Seizes the whole tree: every task listed, then the children born
 * meanwhile, until a round finds none. A seized task cannot fork, so the
 * rounds end once every parent is seized.
 */
static int freeze(struct ckpt_ctx *ctx)
{
	bool more = true;
	int ret = 0;

	for (int round = 0; more && !ret; round++) {
		if (round == FREEZE_ROUNDS) {
			log_error(
			    "pid %d: its tree keeps changing (tasks are born faster than cryo "
			    "stops them); retry",
			    ctx->opts->pid);
			return -EAGAIN;
		}
		for (size_t i = 0; i < ctx->nr_tasks && !ret;) {
			ret = fault_at(ctx->tasks[i].pid, "stopping it");
			if (!ret)
				ret = seize_task(ctx, i);
			if (ret == 1) {
				drop_task(ctx, i);
				ret = 0;
			} else {
				i++;
			}
		}
		if (!ret)
			ret = add_children(ctx, &more);
	}
	if (!ret)
		drop_orphans(ctx);
	return ret ? ret : check_sharing(ctx);
}

/*
 * --kill, once the image is durable: should cryo die while it kills, the
 * kernel kills the rest (PTRACE_O_EXITKILL), or half the tree would run on.
 */
static void doom_all(struct ckpt_ctx *ctx)
{
	const long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL;

	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		struct ckpt_task *t = &ctx->tasks[i];

		if (t->zombie)
			continue;
		ptrace(PTRACE_SETOPTIONS, t->pid, NULL, (void *)opts);
		for (size_t k = 0; k < t->nr_threads; k++)
			ptrace(PTRACE_SETOPTIONS, t->threads[k].pid, NULL, (void *)opts);
	}
}

/*
 * Undoes what freeze() and the dumpers did to the tasks (scratch pages,
 * ptrace), or, when KILL, ends them: SIGKILL takes even a stopped tracee.
 */
static void thaw(struct ckpt_ctx *ctx, bool kill_them)
{
	/* undoing has no failure to report: a test may only kill cryo here */
	fault_undoing(true);
	if (kill_them)
		doom_all(ctx);
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		struct ckpt_task *t = &ctx->tasks[i];
		int ret;

		if (t->zombie)
			continue;
		fault_point_kill("letting a task go");
		if (kill_them) {
			kill(t->pid, SIGKILL);
			/*
			 * As their tracer we hear of each thread's death; the leader's
			 * comes last, and then the pid is a zombie's.
			 */
			release_threads(t, true);
			while (waitpid(t->pid, NULL, __WALL) < 0 && errno == EINTR)
				;
			t->tracee.seized = false;
		} else {
			drop_scratch(ctx, t);
			t->scratch = 0;
			release_threads(t, false);
		}
		ret = tracee_detach(&t->tracee);
		if (ret)
			log_error("pid %d: cannot resume it: %s", t->pid, strerror(-ret));
		proc_status_free(&t->status);
	}
	fault_undoing(false);
}

static int write_header(struct ckpt_ctx *ctx)
{
	struct rec_header hdr;
	struct timespec now;
	int ret;

	image_header_init(&hdr);
	clock_gettime(CLOCK_REALTIME, &now);
	hdr.time_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
	ctx->time_ns = hdr.time_ns;
	hdr.root_pid = (uint32_t)ctx->opts->pid;
	hdr.xstate_size = (uint32_t)arch_xstate_size();
	hdr.xfeatures = arch_xfeatures();
	ret = image_write_header(&ctx->w, &hdr);
	if (!ret && ctx->opts->session) {
		struct rec_session s = { 0 };

		snprintf(s.name, sizeof(s.name), "%s", ctx->opts->session);
		ret = image_write_rec(&ctx->w, REC_SESSION, &s, sizeof(s), NULL, 0);
	}
	return ret;
}

/* The image after its header, in the order doc/image-format.md requires: tasks, objects, users,
 * state. */
static int dump(struct ckpt_ctx *ctx)
{
	pid_t root = ctx->opts->pid;
	int ret = 0;

	for (size_t i = 0; i < ctx->nr_tasks && !ret; i++)
		ret = task_dump_tree(ctx, &ctx->tasks[i]);
	/* terminals before the files: a tty file's record comes with its pty (doc/pty.md 3) */
	if (!ret && !(ret = fault_at(root, "saving terminals")))
		ret = tty_dump(ctx);
	if (!ret && !(ret = fault_at(root, "saving pipes")))
		ret = pipe_dump(ctx);
	for (size_t i = 0; i < ctx->nr_tasks && !ret; i++) {
		struct ckpt_task *t = &ctx->tasks[i];

		if (t->zombie)
			continue; /* a zombie has nothing but its REC_TASK */
		if (!(ret = fault_at(t->pid, "saving files")))
			ret = files_dump(ctx, t);
		if (!ret && !(ret = fault_at(t->pid, "saving memory")))
			ret = mm_dump(ctx, t);
		if (!ret && !(ret = fault_at(t->pid, "saving its state")))
			ret = task_dump_state(ctx, t);
		if (!ret && !(ret = fault_at(t->pid, "saving signals")))
			ret = signal_dump(ctx, t);
		for (size_t k = 0; k < t->nr_threads && !ret; k++)
			if (!(ret = fault_at(t->threads[k].pid, "saving a thread")))
				ret = task_dump_thread(ctx, t, &t->threads[k]);
	}
	return ret;
}

static int open_output(struct ckpt_ctx *ctx)
{
	const char *out = ctx->opts->output;
	int ret;

	if (!strcmp(out, "-"))
		ret = image_writer_open_fd(&ctx->w, STDOUT_FILENO);
	else
		ret = image_writer_open_path(&ctx->w, out);
	if (ret)
		log_error("%s: cannot create the image: %s", out, strerror(-ret));
	return ret;
}

static int64_t monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct mm_track *ckpt_track_of(struct ckpt_ctx *ctx, pid_t pid)
{
	size_t lo = 0, hi = ctx->nr_tracks;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ctx->tracks[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ctx->nr_tracks && ctx->tracks[lo].pid == pid ? &ctx->tracks[lo] : NULL;
}

bool ckpt_task_alive(const struct ckpt_ctx *ctx, pid_t pid)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].pid == pid)
			return !ctx->tasks[i].zombie;
	return false;
}

static void free_tracks(struct ckpt_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_tracks; i++)
		mm_track_free(&ctx->tracks[i]);
	free(ctx->tracks);
	ctx->tracks = NULL;
	ctx->nr_tracks = 0;
}

/* Private memory of the tree's processes, from /proc/PID/statm (resident - shared). */
static uint64_t tree_private_bytes(const struct ckpt_ctx *ctx)
{
	uint64_t total = 0;

	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		unsigned long long size, resident, shared;
		char path[64];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/statm", ctx->tasks[i].pid);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fscanf(f, "%llu %llu %llu", &size, &resident, &shared) == 3 &&
		    resident > shared)
			total += (resident - shared) * (uint64_t)ctx->page_size;
		fclose(f);
	}
	return total;
}

static bool want_precopy(const struct ckpt_ctx *ctx)
{
	switch (ctx->opts->precopy) {
	case PRECOPY_ALWAYS:
		return true;
	case PRECOPY_NEVER:
		return false;
	default:
		return tree_private_bytes(ctx) >= PRECOPY_AUTO_BYTES;
	}
}

static int cmp_track(const void *a, const void *b)
{
	const struct mm_track *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/*
 * Pre-copy (doc/performance.md): a short freeze arms write tracking in
 * every process; the tree runs again while its memory is copied into the
 * image (REC_PRECOPY); then the tree is found again for the real freeze,
 * which saves only the pages written since. A process that cannot be
 * tracked is simply saved at the freeze.
 */
static int precopy(struct ckpt_ctx *ctx)
{
	int ret = freeze(ctx);

	if (!ret)
		ctx->tracks = calloc(ctx->nr_tasks, sizeof(*ctx->tracks));
	if (!ret && !ctx->tracks)
		ret = -ENOMEM;
	for (size_t i = 0; i < ctx->nr_tasks && !ret; i++) {
		struct ckpt_task *t = &ctx->tasks[i];

		if (!t->zombie && !(ret = fault_at(t->pid, "arming write tracking")) &&
		    !mm_track_start(t, &ctx->tracks[ctx->nr_tracks]))
			ctx->nr_tracks++;
	}
	thaw(ctx, false);
	free(ctx->tasks);
	ctx->tasks = NULL;
	ctx->nr_tasks = 0;
	if (ret)
		return ret;
	if (ctx->nr_tracks)
		qsort(ctx->tracks, ctx->nr_tracks, sizeof(*ctx->tracks), cmp_track);
	for (size_t i = 0; i < ctx->nr_tracks && !ret; i++) {
		ret = fault_point("pre-copying memory");
		if (!ret)
			ret = mm_precopy(ctx, &ctx->tracks[i]);
	}
	if (ret && !ctx->w.error) /* a write error is told once, at the end */
		log_error("pid %d: cannot pre-copy its memory: %s", ctx->opts->pid, strerror(-ret));
	return ret ? ret : find_tree(ctx);
}

int checkpoint_run(const struct checkpoint_opts *opts)
{
	int64_t frozen_at, frozen_us = 0;
	struct ckpt_ctx ctx = { .opts = opts, .page_size = sysconf(_SC_PAGESIZE) };
	struct ckpt_lock lock = { .fd = -1 };
	bool thawed = false;
	int ret;

	ctx.parent_src.fd = -1;

	ctx.objs = objhash_new();
	if (!ctx.objs)
		return -ENOMEM;
	/* one checkpoint of a tree at a time (core/lock.h), taken before anything is touched */
	ret = ckpt_lock_take(&lock, opts->pid);
	if (!ret)
		ret = find_tree(&ctx);
	if (!ret)
		ret = ckpt_lock_check_overlap(&lock, &ctx);
	if (!ret)
		ret = open_output(&ctx);
	if (ret)
		goto out_free;
	ret = fault_at(opts->pid, "writing the header");
	if (!ret)
		ret = write_header(&ctx);
	if (!ret)
		ret = incr_begin(&ctx);
	/* an incremental image saves what changed since its parent: no pre-copy */
	if (!ret && !ctx.nr_tracks && want_precopy(&ctx))
		ret = precopy(&ctx);
	frozen_at = monotonic_us();
	if (!ret)
		ret = freeze(&ctx);
	if (!ret)
		ret = dump(&ctx);
	if (!ret && !(ret = fault_at(opts->pid, "re-arming write tracking")))
		ret = incr_rearm(&ctx);
	/* left running, the tree need not wait for the image to be durable */
	if (!opts->kill || ret) {
		thaw(&ctx, false);
		frozen_us = monotonic_us() - frozen_at;
		thawed = true;
	}
	if (!ret) {
		ret = fault_point("making the image durable");
		if (!ret)
			ret = image_writer_finish(&ctx.w);
		if (ret)
			log_error("%s: cannot write the image: %s", opts->output, strerror(-ret));
	} else if (ctx.w.error) {
		log_error("%s: cannot write the image: %s", opts->output, strerror(-ctx.w.error));
	}
	/* the image is durable (or abandoned): only now may the tree end */
	if (!thawed) {
		thaw(&ctx, !ret);
		frozen_us = monotonic_us() - frozen_at;
	}
	if (!ret)
		incr_end(&ctx);
	image_writer_close(&ctx.w);
	if (!ret)
		log_info("pid %d: checkpointed into %s; the tree was frozen %lld us", opts->pid,
			 opts->output, (long long)frozen_us);
out_free:
	ckpt_lock_release(&lock);
	free_tracks(&ctx);
	incr_free(&ctx);
	free(ctx.tasks);
	objhash_free(ctx.objs);
	return ret;
}
