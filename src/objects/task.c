// SPDX-License-Identifier: MIT
/*
 * Tasks: their place in the tree (REC_TASK), the objects they use
 * (REC_TASK_OBJS), and their own state: REC_TASK_CORE (personality, umask,
 * prctl settings, signal mask, tid address, robust futex list, rseq,
 * sigaltstack, interval timers, comm), REC_CREDS, REC_RLIMITS, REC_FS and
 * the registers (REC_TASK_REGS, REC_TASK_XSTATE).
 *
 * What /proc and ptrace show is read from outside; the rest (prctl values,
 * sigaltstack, itimers, the break) by syscalls injected into the stopped
 * task, whose results land in a scratch page mapped in the task for the
 * duration of the checkpoint.
 */
#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/ckpt.h"
#include "core/rst.h"
#include "lib/log.h"
#include "lib/util.h"

static int write_task(struct ckpt_ctx *ctx, struct ckpt_task *t, struct rec_task *r)
{
	struct obj_key key = { .hash = (uint64_t)t->pid, .word = { (uint64_t)t->pid } };
	bool is_new;
	int ret;

	memcpy(r->comm, t->stat.comm, sizeof(r->comm) - 1);
	ret = objhash_lookup_or_add(ctx->objs, OBJ_TASK, &key, &t->objref, &is_new);
	if (ret)
		return ret;
	r->objref = t->objref;
	return image_write_rec(&ctx->w, REC_TASK, r, sizeof(*r), NULL, 0);
}

/* The task, then its other threads: same process, so same parent, group and session. */
int task_dump_tree(struct ckpt_ctx *ctx, struct ckpt_task *t)
{
	struct rec_task r = {
		.pid = t->pid,
		.tgid = t->pid,
		.ppid = t == &ctx->tasks[0] ? 0 : t->stat.ppid,
		.pgid = t->stat.pgrp,
		.sid = t->stat.session,
		.state = t->zombie ? TASK_ZOMBIE : TASK_ALIVE,
		.exit_status = t->zombie ? t->stat.exit_code : 0, /* a wait status */
	};
	int ret = write_task(ctx, t, &r);

	for (size_t i = 0; i < t->nr_threads && !ret; i++) {
		struct rec_task th = r;

		th.pid = t->threads[i].pid;
		ret = write_task(ctx, &t->threads[i], &th);
	}
	return ret;
}

/*
 * What only the task itself can tell, in one batch: its parent-death
 * signal, tid address and alternate stack (kept per thread), and for a
 * process its subreaper, THP and dumpable settings and interval timers.
 * Each call writes its answer at its offset of the batch's output page.
 */
enum core_query {
	Q_PDEATH,
	Q_TID_ADDRESS,
	Q_ALTSTACK,
	Q_SUBREAPER, /* the per-process ones from here */
	Q_THP,
	Q_DUMPABLE,
	Q_ITIMER, /* three of them: ITIMER_REAL, _VIRTUAL, _PROF */
	NR_CORE_QUERIES = Q_ITIMER + 3,
};

struct core_answers {
	int pdeath, subreaper;
	uint64_t tid_address;
	stack_t altstack;
	struct itimerval itimers[3];
};

static struct tracee_call core_call(long nr, long a0, uint64_t a1)
{
	return (struct tracee_call){ .nr = nr, .args = { a0, (long)a1 } };
}

static void core_calls(struct tracee_call *calls, uint64_t out)
{
	calls[Q_PDEATH] =
	    core_call(SYS_prctl, PR_GET_PDEATHSIG, out + offsetof(struct core_answers, pdeath));
	calls[Q_TID_ADDRESS] = core_call(SYS_prctl, PR_GET_TID_ADDRESS,
					 out + offsetof(struct core_answers, tid_address));
	calls[Q_ALTSTACK] =
	    core_call(SYS_sigaltstack, 0, out + offsetof(struct core_answers, altstack));
	calls[Q_SUBREAPER] = core_call(SYS_prctl, PR_GET_CHILD_SUBREAPER,
				       out + offsetof(struct core_answers, subreaper));
	calls[Q_THP] = core_call(SYS_prctl, PR_GET_THP_DISABLE, 0);
	calls[Q_DUMPABLE] = core_call(SYS_prctl, PR_GET_DUMPABLE, 0);
	for (int which = 0; which < 3; which++)
		calls[Q_ITIMER + which] = core_call(SYS_getitimer, which,
						    out + offsetof(struct core_answers, itimers) +
							(uint64_t)which * sizeof(struct itimerval));
}

static uint64_t timeval_ns(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000000ull + (uint64_t)tv->tv_usec * 1000ull;
}

static void take_process_answers(const struct ckpt_task *t, const struct tracee_call *calls,
				 const struct core_answers *a, struct rec_task_core *c)
{
	long dumpable = calls[Q_DUMPABLE].result;

	c->dumpable = (uint32_t)dumpable;
	if (dumpable == 2)
		log_warn("pid %d: is dumpable only by root (suid_dumpable 2); a restart makes it "
			 "not dumpable",
			 t->pid);
	c->child_subreaper = a->subreaper != 0;
	c->thp_disable = calls[Q_THP].result > 0;
	for (int which = 0; which < 3; which++) {
		c->itimers[which].interval_ns = timeval_ns(&a->itimers[which].it_interval);
		c->itimers[which].value_ns = timeval_ns(&a->itimers[which].it_value);
	}
}

static int read_task_answers(struct ckpt_ctx *ctx, struct ckpt_task *t, bool thread,
			     struct rec_task_core *c)
{
	struct tracee_call calls[NR_CORE_QUERIES] = { { 0 } };
	size_t n = thread ? Q_SUBREAPER : NR_CORE_QUERIES;
	struct core_answers a = { 0 };
	uint64_t out;
	int ret = ckpt_task_batch_out(ctx, t, &out);

	if (!ret) {
		core_calls(calls, out);
		ret = ckpt_task_batch(ctx, t, calls, n);
	}
	if (!ret)
		ret = ckpt_mem_read(t->pid, out, &a, sizeof(a));
	for (size_t i = 0; i < n && !ret; i++)
		ret = calls[i].result < 0 ? (int)calls[i].result : 0;
	if (ret)
		return ret;
	c->pdeath_signal = a.pdeath;
	c->tid_address = a.tid_address;
	c->altstack_sp = (uint64_t)a.altstack.ss_sp;
	c->altstack_size = a.altstack.ss_size;
	c->altstack_flags = (uint32_t)a.altstack.ss_flags & CRYO_ALTSTACK_FLAGS;
	if (!thread)
		take_process_answers(t, calls, &a, c);
	return 0;
}

/* Nice value, scheduling policy and timer slack: all readable from outside. */
static int read_sched(struct ckpt_task *t, struct rec_task_core *c)
{
	struct sched_param param;
	char text[32];
	size_t len;
	int policy, ret;

	errno = 0;
	c->nice = getpriority(PRIO_PROCESS, (id_t)t->pid);
	policy = sched_getscheduler(t->pid);
	if ((c->nice == -1 && errno) || policy < 0 || sched_getparam(t->pid, &param) < 0)
		return -errno;
	if ((policy & ~SCHED_RESET_ON_FORK) == 6 /* SCHED_DEADLINE */)
		return -ENOTSUP;
	c->sched_policy = (uint32_t)policy;
	c->sched_priority = (uint32_t)param.sched_priority;
	ret = proc_read_small(t->pid, "timerslack_ns", text, sizeof(text), &len);
	if (ret)
		return ret;
	c->timerslack_ns = strtoull(text, NULL, 10);
	return 0;
}

/* PTRACE_GET_RSEQ_CONFIGURATION's result (linux/ptrace.h clashes with sys/ptrace.h). */
struct rseq_configuration {
	uint64_t rseq_abi_pointer;
	uint32_t rseq_abi_size;
	uint32_t signature;
	uint32_t flags;
	uint32_t pad;
};

static int read_rseq_robust(struct ckpt_task *t, struct rec_task_core *c)
{
	struct rseq_configuration conf = { 0 };
	size_t robust_len = 0;
	void *robust = NULL;

	if (syscall(SYS_get_robust_list, t->pid, &robust, &robust_len) < 0)
		return -errno;
	c->robust_list = (uint64_t)robust;
	c->robust_list_len = robust_len;
	if (ptrace(PTRACE_GET_RSEQ_CONFIGURATION, t->pid, sizeof(conf), &conf) < 0)
		return -errno;
	c->rseq = conf.rseq_abi_pointer;
	c->rseq_len = conf.rseq_abi_size;
	c->rseq_sig = conf.signature;
	return 0;
}

static int read_personality(struct ckpt_task *t, uint32_t *ret_pers)
{
	char text[32];
	size_t len;
	int ret = proc_read_small(t->pid, "personality", text, sizeof(text), &len);

	if (ret)
		return ret;
	*ret_pers = (uint32_t)strtoul(text, NULL, 16);
	return 0;
}

/*
 * REC_TASK_CORE. For a thread (THREAD true) only what the kernel keeps per
 * thread is read; the per-process fields (umask, personality, subreaper,
 * THP, dumpable, interval timers, the job-control stop) stay zero.
 */
static int dump_core(struct ckpt_ctx *ctx, struct ckpt_task *t, bool thread)
{
	struct rec_task_core c = {
		.task_objref = t->objref,
		.no_new_privs = (uint32_t)t->status.no_new_privs,
		.blocked = t->tracee.sigmask,
	};
	int ret;

	memcpy(c.comm, t->stat.comm, sizeof(c.comm) - 1);
	ret = read_task_answers(ctx, t, thread, &c);
	if (!ret)
		ret = read_rseq_robust(t, &c);
	if (!ret)
		ret = read_sched(t, &c);
	if (!ret && !thread) {
		c.umask = t->status.umask;
		c.stopped = t->tracee.group_stopped;
		ret = read_personality(t, &c.personality);
	}
	if (ret == -ENOTSUP)
		log_error("pid %d: runs under SCHED_DEADLINE; not supported yet", t->pid);
	else if (ret)
		log_error("pid %d: cannot read its task state: %s", t->pid, ckpt_strerror(ret));
	if (ret)
		return ret;
	return image_write_rec(&ctx->w, REC_TASK_CORE, &c, sizeof(c), NULL, 0);
}

static int dump_creds(struct ckpt_ctx *ctx, struct ckpt_task *t)
{
	const struct proc_status *s = &t->status;
	struct rec_creds c = {
		.task_objref = t->objref,
		.nr_groups = (uint32_t)s->nr_groups,
		.cap_inh = s->cap_inh,
		.cap_prm = s->cap_prm,
		.cap_eff = s->cap_eff,
		.cap_bnd = s->cap_bnd,
		.cap_amb = s->cap_amb,
	};
	long bits;
	int ret;

	memcpy(c.uid, s->uid, sizeof(c.uid));
	memcpy(c.gid, s->gid, sizeof(c.gid));
	ret = ckpt_task_syscall(t, SYS_prctl, PR_GET_SECUREBITS, 0, 0, 0, &bits);
	if (ret || bits < 0) {
		log_error("pid %d: cannot read its securebits: %s", t->pid,
			  strerror(ret ? -ret : (int)-bits));
		return ret ? ret : (int)bits;
	}
	c.securebits = (uint32_t)bits;
	return image_write_rec(&ctx->w, REC_CREDS, &c, sizeof(c), s->groups,
			       s->nr_groups * sizeof(uint32_t));
}

/*
 * Asked of the task itself, in one batch (prlimit on another uid's task
 * needs CAP_SYS_RESOURCE, which this machine's bounding set lacks).
 */
static int dump_rlimits(struct ckpt_ctx *ctx, struct ckpt_task *t)
{
	struct rec_rlimits r = { .task_objref = t->objref, .nr = CRYO_RLIM_NLIMITS };
	struct tracee_call calls[CRYO_RLIM_NLIMITS] = { { 0 } };
	struct rlimit lim[CRYO_RLIM_NLIMITS];
	uint64_t out;
	int ret = ckpt_task_batch_out(ctx, t, &out);

	for (int i = 0; i < CRYO_RLIM_NLIMITS && !ret; i++)
		calls[i] = (struct tracee_call){
			.nr = SYS_prlimit64,
			.args = { 0, i, 0, (long)(out + (uint64_t)i * sizeof(lim[0])) },
		};
	if (!ret)
		ret = ckpt_task_batch(ctx, t, calls, CRYO_RLIM_NLIMITS);
	if (!ret)
		ret = ckpt_mem_read(t->pid, out, lim, sizeof(lim));
	for (int i = 0; i < CRYO_RLIM_NLIMITS && !ret; i++)
		ret = calls[i].result < 0 ? (int)calls[i].result : 0;
	if (ret) {
		log_error("pid %d: cannot read its resource limits: %s", t->pid,
			  ckpt_strerror(ret));
		return ret;
	}
	for (int i = 0; i < CRYO_RLIM_NLIMITS; i++) {
		r.lim[i].cur =
		    lim[i].rlim_cur == RLIM_INFINITY ? CRYO_RLIM_INFINITY : lim[i].rlim_cur;
		r.lim[i].max =
		    lim[i].rlim_max == RLIM_INFINITY ? CRYO_RLIM_INFINITY : lim[i].rlim_max;
	}
	return image_write_rec(&ctx->w, REC_RLIMITS, &r, sizeof(r), NULL, 0);
}

/* A directory restart can enter by its path: absolute, not deleted, still there. */
static bool reachable_dir(const char *path)
{
	struct stat st;

	return path[0] == '/' && !strstr(path, " (deleted)") && stat(path, &st) == 0 &&
	       S_ISDIR(st.st_mode);
}

static int dump_fs(struct ckpt_ctx *ctx, struct ckpt_task *t)
{
	char paths[2 * CRYO_PATH_MAX];
	struct rec_fs f = { .task_objref = t->objref };
	int ret;

	ret = proc_readlink(t->pid, "cwd", paths, CRYO_PATH_MAX);
	if (!ret) {
		f.cwd_len = (uint32_t)strlen(paths) + 1;
		ret = proc_readlink(t->pid, "root", paths + f.cwd_len, CRYO_PATH_MAX);
	}
	if (ret || !reachable_dir(paths) || !reachable_dir(paths + f.cwd_len)) {
		log_error("pid %d: cannot save its working or root directory: %s", t->pid,
			  ret ? strerror(-ret) : "deleted or unreachable, not supported yet");
		return ret ? ret : -ENOTSUP;
	}
	f.root_len = (uint32_t)strlen(paths + f.cwd_len) + 1;
	return image_write_rec(&ctx->w, REC_FS, &f, sizeof(f), paths, f.cwd_len + f.root_len);
}

static int dump_regs(struct ckpt_ctx *ctx, struct ckpt_task *t)
{
	struct rec_task_regs regs = { .task_objref = t->objref };
	struct rec_task_xstate xs = { .task_objref = t->objref };
	size_t size = arch_xstate_size(), len = 0;
	void *buf;
	int ret;

	arch_regs_to_image(&t->tracee.regs, &regs);
	ret = image_write_rec(&ctx->w, REC_TASK_REGS, &regs, sizeof(regs), NULL, 0);
	if (ret || !size)
		return ret;
	/* room for more than the CPU says: a kernel that gives more must not be cut short */
	buf = calloc(1, CRYO_XSTATE_MAX);
	if (!buf)
		return -ENOMEM;
	ret = tracee_get_xstate(&t->tracee, buf, CRYO_XSTATE_MAX, &len);
	if (ret || len != size) {
		log_error("pid %d: cannot read its FPU/AVX state: %s", t->pid,
			  ret ? strerror(-ret) : "the kernel's XSAVE size differs from the CPU's");
		free(buf);
		return ret ? ret : -EIO;
	}
	xs.size = (uint32_t)size;
	ret = image_write_rec(&ctx->w, REC_TASK_XSTATE, &xs, sizeof(xs), buf, size);
	free(buf);
	return ret;
}

int task_dump_state(struct ckpt_ctx *ctx, struct ckpt_task *t)
{
	struct rec_task_objs o = {
		.task_objref = t->objref,
		.mm_objref = t->mm_objref,
		.fdt_objref = t->fdt_objref,
	};
	int ret = image_write_rec(&ctx->w, REC_TASK_OBJS, &o, sizeof(o), NULL, 0);

	if (!ret)
		ret = dump_core(ctx, t, false);
	if (!ret)
		ret = dump_creds(ctx, t);
	if (!ret)
		ret = dump_rlimits(ctx, t);
	if (!ret)
		ret = dump_fs(ctx, t);
	if (!ret)
		ret = dump_regs(ctx, t);
	return ret;
}

/*
 * A thread has its own core state and registers; what its process shares
 * (memory, files, handlers, limits, credentials) was written with the
 * process. Its injected queries use the process's scratch page.
 */
int task_dump_thread(struct ckpt_ctx *ctx, struct ckpt_task *t, struct ckpt_task *th)
{
	uint64_t out, len = 0;
	int ret;

	/*
	 * The scratch pages are the process's, made by its main thread. If
	 * cryo dies, exactly one lifeline must remove them, and not while a
	 * thread still runs batch code in them: while the thread is injected
	 * into, they are its lifeline's to remove, after the batch. The
	 * thread's lifeline is the process's second slot, free again once it
	 * is restored.
	 */
	ret = ckpt_task_batch_out(ctx, t, &out);
	th->scratch = t->scratch;
	th->tracee.lifeline_slot = 1;
	if (!ret && t->tracee.lifeline_armed) {
		len = t->tracee.life.scratch_len;
		ret = tracee_arm(&th->tracee);
		if (!ret)
			ret = tracee_lifeline_scratch(&th->tracee, t->scratch, len);
		if (!ret)
			ret = tracee_lifeline_scratch(&t->tracee, 0, 0);
	}
	if (!ret)
		ret = dump_core(ctx, th, true);
	if (ret == -ETIME) { /* the thread's lifeline removed the scratch pages (ptrace.h) */
		t->scratch = 0;
		len = 0;
	}
	th->scratch = 0;
	/* back to the main thread's lifeline, the thread out of the batch code first */
	if (len) {
		int err = tracee_park(&th->tracee);

		if (!err)
			err = tracee_lifeline_scratch(&t->tracee, t->scratch, len);
		if (!err)
			err = tracee_lifeline_scratch(&th->tracee, 0, 0);
		ret = ret ? ret : err;
	}
	if (!ret)
		ret = tracee_restore(&th->tracee);
	if (!ret)
		ret = dump_regs(ctx, th);
	return ret ? ret : signal_dump_thread(ctx, th);
}

/* --- restart ----------------------------------------------------------------------- */

/*
 * A lone task restarted by cryo gets its own session or group back when it
 * led one; otherwise it stays in cryo's (process trees rebuild sessions).
 */
int task_restore_root(struct rst_ctx *ctx, struct rst_task *t)
{
	if ((t->task->sid == t->pid || t->new_session) && setsid() < 0)
		return rst_fail(ctx, -errno, "pid %d: cannot create its session: %s", t->pid,
				strerror(errno));
	if (t->task->sid != t->pid && !t->new_session && t->task->pgid == t->pid &&
	    setpgid(0, 0) < 0)
		return rst_fail(ctx, -errno, "pid %d: cannot create its process group: %s", t->pid,
				strerror(errno));
	return 0;
}

static int restore_rlimits(struct rst_ctx *ctx, struct rst_task *t)
{
	for (uint32_t i = 0; i < t->rlimits->nr; i++) {
		struct rlimit lim = {
			.rlim_cur = t->rlimits->lim[i].cur == CRYO_RLIM_INFINITY
					? RLIM_INFINITY
					: t->rlimits->lim[i].cur,
			.rlim_max = t->rlimits->lim[i].max == CRYO_RLIM_INFINITY
					? RLIM_INFINITY
					: t->rlimits->lim[i].max,
		};

		if (setrlimit((__rlimit_resource_t)i, &lim) < 0)
			return rst_fail(ctx, -errno, "pid %d: cannot set resource limit %u: %s",
					t->pid, i, strerror(errno));
	}
	return 0;
}

static int restore_fs(struct rst_ctx *ctx, struct rst_task *t)
{
	const char *cwd = (const char *)(t->fs + 1), *root = cwd + t->fs->cwd_len;

	if (chdir(cwd) < 0)
		return rst_fail(ctx, -errno, "pid %d: cannot enter its working directory %s: %s",
				t->pid, cwd, strerror(errno));
	if (strcmp(root, "/") && chroot(root) < 0)
		return rst_fail(ctx, -errno, "pid %d: cannot enter its root directory %s: %s",
				t->pid, root, strerror(errno));
	return 0;
}

static int restore_core(struct rst_ctx *ctx, struct rst_task *t)
{
	const struct rec_task_core *c = t->core;

	struct sched_param param = { .sched_priority = (int)c->sched_priority };

	umask(c->umask);
	if (personality(c->personality) < 0 || prctl(PR_SET_NAME, c->comm) < 0 ||
	    (c->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) ||
	    prctl(PR_SET_CHILD_SUBREAPER, c->child_subreaper) < 0 ||
	    prctl(PR_SET_THP_DISABLE, c->thp_disable, 0, 0, 0) < 0 ||
	    prctl(PR_SET_TIMERSLACK, c->timerslack_ns) < 0)
		return rst_fail(ctx, -errno,
				"pid %d: cannot set personality, name or prctl "
				"settings: %s",
				t->pid, strerror(errno));
	if (setpriority(PRIO_PROCESS, 0, c->nice) < 0 ||
	    sched_setscheduler(0, (int)c->sched_policy, &param) < 0)
		return rst_fail(ctx, -errno,
				"pid %d: cannot set its nice value %d or scheduling "
				"policy %u: %s",
				t->pid, c->nice, c->sched_policy, strerror(errno));
	return 0;
}

static void fill_args(struct rst_task *t, struct restorer_args *a)
{
	const struct rec_task_core *c = t->core;
	const struct rec_creds *cr = t->creds;

	a->tid_address = c->tid_address;
	a->robust_list = c->robust_list;
	a->robust_list_len = c->robust_list_len;
	a->rseq = c->rseq;
	a->rseq_len = c->rseq_len;
	a->rseq_sig = c->rseq_sig;
	for (int i = 0; i < 3; i++)
		a->itimers[i] =
		    (struct restorer_itimer){ c->itimers[i].interval_ns, c->itimers[i].value_ns };
	a->pdeath_signal = c->pdeath_signal;
	a->dumpable = c->dumpable;
	memcpy(a->creds.uid, cr->uid, sizeof(cr->uid));
	memcpy(a->creds.gid, cr->gid, sizeof(cr->gid));
	a->creds.securebits = cr->securebits;
	a->creds.nr_groups = cr->nr_groups;
	a->creds.cap_inh = cr->cap_inh;
	a->creds.cap_prm = cr->cap_prm;
	a->creds.cap_eff = cr->cap_eff;
	a->creds.cap_bnd = cr->cap_bnd;
	a->creds.cap_amb = cr->cap_amb;
}

/* Every descriptor restart opened for itself goes once the memory is mapped. */
static int add_close_list(struct rst_ctx *ctx, struct rst_block *b)
{
	uint64_t off = rst_block_array(b), nr = 0;

	for (uint32_t ref = 1; ref < ctx->img->nr_objs; ref++) {
		uint64_t fd;
		int32_t v;

		if (objhash_get(ctx->objs, ref, OBJ_PIPE, &fd) == 0) {
			/* a pipe's own two descriptors, in one value (pipe.c) */
			int32_t ends[2] = { (int32_t)(fd >> 32), (int32_t)(uint32_t)fd };

			for (int k = 0; k < (ends[0] == ends[1] ? 1 : 2); k++) {
				if (!rst_block_append(b, &ends[k], sizeof(ends[k])))
					return -ENOMEM;
				nr++;
			}
			continue;
		}
		if (objhash_get(ctx->objs, ref, OBJ_FILE, &fd))
			continue;
		v = (int32_t)fd;
		if (!rst_block_append(b, &v, sizeof(v)))
			return -ENOMEM;
		nr++;
	}
	/* restart's own pty descriptors; some are files too: a second close is harmless */
	for (size_t i = 0; i < ctx->nr_kept_fds; i++) {
		int32_t v = ctx->kept_fds[i];

		if (v < 0)
			continue;
		if (!rst_block_append(b, &v, sizeof(v)))
			return -ENOMEM;
		nr++;
	}
	/* the image and its parents */
	for (size_t i = 0; i < ctx->chain.nr; i++) {
		int32_t image = i ? ctx->chain.links[i].src.fd : ctx->src.fd;

		if (!rst_block_append(b, &image, sizeof(image)))
			return -ENOMEM;
		nr++;
	}
	b->args->close_off = off;
	b->args->nr_close = nr;
	return 0;
}

static void fill_thread(const struct rst_task *th, struct restorer_thread *r)
{
	const struct rec_task_core *c = th->core;

	*r = (struct restorer_thread){
		.tid = th->pid,
		.pdeath_signal = c->pdeath_signal,
		.tid_address = c->tid_address,
		.robust_list = c->robust_list,
		.robust_list_len = c->robust_list_len,
		.rseq = c->rseq,
		.rseq_len = c->rseq_len,
		.rseq_sig = c->rseq_sig,
		.altstack_sp = c->altstack_sp,
		.altstack_size = c->altstack_size,
		.altstack_flags = c->altstack_flags,
		.nice = c->nice,
		.sched_policy = c->sched_policy,
		.sched_priority = c->sched_priority,
		.timerslack_ns = c->timerslack_ns,
	};
	memcpy(r->comm, c->comm, sizeof(r->comm));
}

/*
 * The other threads, for the restorer to make (doc/threads.md): the
 * private signals each queues to itself, then the table of their states.
 */
static int add_threads(struct rst_task *t, struct rst_block *b)
{
	struct restorer_thread *table;
	uint64_t off;

	_Static_assert(RESTORER_SIGINFO_SIZE == CRYO_SIGINFO_SIZE, "siginfo sizes");
	if (!t->nr_threads)
		return 0;
	table = calloc(t->nr_threads, sizeof(*table));
	if (!table)
		return -ENOMEM;
	for (size_t i = 0; i < t->nr_threads; i++) {
		const struct rec_sigpending *p = t->threads[i].pending[0];

		fill_thread(&t->threads[i], &table[i]);
		if (!p || !p->nr)
			continue;
		rst_block_array(b);
		table[i].nr_pending = p->nr;
		table[i].pending_off =
		    rst_block_append(b, p + 1, (size_t)p->nr * CRYO_SIGINFO_SIZE);
		if (!table[i].pending_off) {
			free(table);
			return -ENOMEM;
		}
	}
	rst_block_array(b);
	off = rst_block_append(b, table, t->nr_threads * sizeof(*table));
	free(table);
	if (!off)
		return -ENOMEM;
	b->args->threads_off = off;
	b->args->nr_threads = t->nr_threads;
	return 0;
}

int task_restore_state(struct rst_ctx *ctx, struct rst_task *t, struct rst_block *b)
{
	uint64_t groups_off = 0;
	int ret;

	if (t->creds->nr_groups) {
		rst_block_array(b);
		groups_off =
		    rst_block_append(b, t->creds + 1, t->creds->nr_groups * sizeof(uint32_t));
		if (!groups_off)
			return -ENOMEM;
	}
	ret = add_close_list(ctx, b);
	if (!ret)
		ret = add_threads(t, b);
	if (ret)
		return ret;
	fill_args(t, b->args);
	b->args->creds.groups_off = groups_off;
	ret = restore_core(ctx, t);
	if (!ret)
		ret = restore_fs(ctx, t);
	/* last: lower limits could stop what comes before */
	if (!ret)
		ret = restore_rlimits(ctx, t);
	return ret;
}
