// SPDX-License-Identifier: MIT
/*
 * Signals: the handlers of a thread group (REC_SIGACTIONS) and the signals
 * pending for a task or its group (REC_SIGPENDING), with their full
 * siginfo. The blocked mask travels in REC_TASK_CORE.
 *
 * Handlers are read with rt_sigaction injected into the stopped task.
 * Pending signals are read without dequeuing them (PTRACE_PEEKSIGINFO), so
 * a task that keeps running still has them. At restart the restored task
 * queues them to itself (rt_tgsigqueueinfo / rt_sigqueueinfo), the only
 * way the kernel accepts a kernel-made siginfo, while every signal is
 * blocked; its own mask is set last.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/ckpt.h"
#include "core/rst.h"
#include "lib/log.h"

/* Every handler, in one batch of rt_sigaction calls, each writing its slot of r.action. */
static int dump_sigactions(struct ckpt_ctx *ctx, struct ckpt_task *t)
{
	struct rec_sigactions r = { .task_objref = t->objref };
	struct tracee_call calls[CRYO_NSIG] = { { 0 } };
	uint64_t out;
	int err = ckpt_task_batch_out(ctx, t, &out);

	for (int sig = 1; sig <= CRYO_NSIG && !err; sig++)
		calls[sig - 1] = (struct tracee_call){
			.nr = SYS_rt_sigaction,
			.args = { sig, 0, (long)(out + (uint64_t)(sig - 1) * sizeof(r.action[0])),
				  8 },
		};
	if (!err)
		err = ckpt_task_batch(ctx, t, calls, CRYO_NSIG);
	if (!err)
		err = ckpt_mem_read(t->pid, out, r.action, sizeof(r.action));
	for (int sig = 1; sig <= CRYO_NSIG && !err; sig++)
		if (calls[sig - 1].result < 0 && sig != SIGKILL && sig != SIGSTOP)
			err = (int)calls[sig - 1].result;
	if (err) {
		log_error("pid %d: cannot read its signal handlers: %s", t->pid,
			  ckpt_strerror(err));
		return err;
	}
	/* the kernel gives nothing for these two: all zero, as they always are */
	memset(&r.action[SIGKILL - 1], 0, sizeof(r.action[0]));
	memset(&r.action[SIGSTOP - 1], 0, sizeof(r.action[0]));
	return image_write_rec(&ctx->w, REC_SIGACTIONS, &r, sizeof(r), NULL, 0);
}

#define PEEK_BATCH 32

static int dump_pending(struct ckpt_ctx *ctx, struct ckpt_task *t, bool shared)
{
	struct rec_sigpending r = { .task_objref = t->objref, .shared = shared };
	unsigned char *infos = NULL;
	int ret = 0;

	for (;;) {
		struct __ptrace_peeksiginfo_args args = {
			.off = r.nr,
			.flags = shared ? PTRACE_PEEKSIGINFO_SHARED : 0,
			.nr = PEEK_BATCH,
		};
		unsigned char *n = realloc(infos, (r.nr + PEEK_BATCH) * (size_t)CRYO_SIGINFO_SIZE);
		long got;

		if (!n) {
			ret = -ENOMEM;
			goto out;
		}
		infos = n;
		got = ptrace(PTRACE_PEEKSIGINFO, t->pid, &args,
			     infos + (size_t)r.nr * CRYO_SIGINFO_SIZE);
		if (got < 0) {
			ret = -errno;
			log_error("pid %d: cannot read its pending signals: %s", t->pid,
				  strerror(-ret));
			goto out;
		}
		r.nr += (uint32_t)got;
		if (got < PEEK_BATCH)
			break;
	}
	if (r.nr)
		ret = image_write_rec(&ctx->w, REC_SIGPENDING, &r, sizeof(r), infos,
				      (size_t)r.nr * CRYO_SIGINFO_SIZE);
out:
	free(infos);
	return ret;
}

/* One entry of /proc/PID/timers, parsed. */
static int parse_timer(const char *text, struct rec_posix_timer *t, const char **ret_next)
{
	char notify[16], target[4];
	int n = 0;

	if (sscanf(text,
		   "ID: %d\nsignal: %d/%" SCNx64 "\nnotify: %15[a-z]/%3[a-z].%d\nClockID: %d\n%n",
		   &t->id, &t->signo, &t->sigev_value, notify, target, &t->notify_tid, &t->clock,
		   &n) != 7 ||
	    !n)
		return -EINVAL;
	/* "signal" or "none", then "pid" or, for SIGEV_THREAD_ID, "tid" */
	if (!strcmp(notify, "signal") && !strcmp(target, "tid"))
		t->notify = TIMER_NOTIFY_THREAD_ID;
	else if (!strcmp(notify, "signal") && !strcmp(target, "pid"))
		t->notify = TIMER_NOTIFY_SIGNAL;
	else if (!strcmp(notify, "none"))
		t->notify = TIMER_NOTIFY_NONE;
	else
		return -EINVAL;
	*ret_next = text + n;
	return 0;
}

/* Reads a timer's value and overrun from inside the task. */
static int read_timer_value(struct ckpt_ctx *ctx, struct ckpt_task *t, struct rec_posix_timer *r)
{
	struct itimerspec its = { 0 };
	long ret;
	int err;

	err = ckpt_task_query(ctx, t, SYS_timer_gettime, (const long[4]){ r->id, 0, 0, 0 }, 1, &its,
			      sizeof(its));
	if (!err)
		err = ckpt_task_syscall(t, SYS_timer_getoverrun, r->id, 0, 0, 0, &ret);
	if (err)
		return err;
	r->overrun = ret > 0 ? (int32_t)ret : 0;
	r->value.interval_ns =
	    (uint64_t)its.it_interval.tv_sec * 1000000000ull + (uint64_t)its.it_interval.tv_nsec;
	r->value.value_ns =
	    (uint64_t)its.it_value.tv_sec * 1000000000ull + (uint64_t)its.it_value.tv_nsec;
	return 0;
}

static int cmp_timer(const void *a, const void *b)
{
	const struct rec_posix_timer *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

#define MAX_TIMERS 4096

/* /proc/PID/timers lists them in no particular order: the image wants them by id. */
static int dump_posix_timers(struct ckpt_ctx *ctx, struct ckpt_task *t)
{
	static char text[256 << 10];
	static struct rec_posix_timer timers[MAX_TIMERS];
	const char *p = text;
	size_t len, nr = 0;
	int ret = proc_read_small(t->pid, "timers", text, sizeof(text), &len);

	if (ret == -ENOENT)
		return 0; /* a kernel without /proc/PID/timers */
	if (ret) {
		log_error("pid %d: cannot read its POSIX timers: %s", t->pid, strerror(-ret));
		return ret;
	}
	for (; *p; nr++) {
		struct rec_posix_timer *r = &timers[nr];

		if (nr == MAX_TIMERS) {
			log_error("pid %d: has more than %d POSIX timers; not supported yet",
				  t->pid, MAX_TIMERS);
			return -ENOTSUP;
		}
		if (parse_timer(p, r, &p)) {
			log_error("pid %d: a POSIX timer of a kind not supported yet (see "
				  "/proc/%d/timers)",
				  t->pid, t->pid);
			return -ENOTSUP;
		}
		r->task_objref = t->objref;
		ret = read_timer_value(ctx, t, r);
		if (ret) {
			log_error("pid %d: cannot read POSIX timer %d: %s", t->pid, r->id,
				  strerror(-ret));
			return ret;
		}
		if (r->notify == TIMER_NOTIFY_NONE)
			r->signo = 0;
		if (r->clock < 0) {
			log_error(
			    "pid %d: POSIX timer %d counts the CPU time of a process or thread "
			    "(clock %d); not supported yet",
			    t->pid, r->id, r->clock);
			return -ENOTSUP;
		}
	}
	qsort(timers, nr, sizeof(timers[0]), cmp_timer);
	for (size_t i = 0; i < nr && !ret; i++)
		ret = image_write_rec(&ctx->w, REC_POSIX_TIMER, &timers[i], sizeof(timers[i]), NULL,
				      0);
	return ret;
}

int signal_dump(struct ckpt_ctx *ctx, struct ckpt_task *t)
{
	int ret = dump_sigactions(ctx, t);

	if (!ret)
		ret = dump_pending(ctx, t, false);
	if (!ret)
		ret = dump_pending(ctx, t, true);
	if (!ret)
		ret = dump_posix_timers(ctx, t);
	return ret;
}

int signal_dump_thread(struct ckpt_ctx *ctx, struct ckpt_task *th)
{
	return dump_pending(ctx, th, false);
}

/* --- restart ----------------------------------------------------------------------- */

/* The kernel's struct sigaction: glibc's wrapper would replace sa_restorer. */
struct kernel_sigaction {
	uint64_t handler, flags, restorer, mask;
};

static int restore_sigactions(struct rst_ctx *ctx, struct rst_task *t)
{
	for (int sig = 1; sig <= CRYO_NSIG; sig++) {
		const struct rec_sigaction *a = &t->sigactions->action[sig - 1];
		struct kernel_sigaction k = { a->handler, a->flags, a->restorer, a->mask };

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (syscall(SYS_rt_sigaction, sig, &k, NULL, 8) < 0)
			return rst_fail(ctx, -errno,
					"pid %d: cannot set the handler of signal %d: %s", t->pid,
					sig, strerror(errno));
	}
	return 0;
}

static int restore_altstack(struct rst_ctx *ctx, struct rst_task *t)
{
	const struct rec_task_core *c = t->core;
	stack_t ss = {
		.ss_sp = (void *)c->altstack_sp,
		.ss_size = c->altstack_size,
		.ss_flags = (int)c->altstack_flags,
	};

	if (sigaltstack(&ss, NULL) < 0)
		return rst_fail(ctx, -errno, "pid %d: cannot set its signal stack: %s", t->pid,
				strerror(errno));
	return 0;
}

/* A timer that signals a thread of T other than the main one: made by the restorer. */
static bool aims_at_other_thread(const struct rec_posix_timer *pt, const struct rst_task *t)
{
	return pt->notify == TIMER_NOTIFY_THREAD_ID && pt->notify_tid != t->pid;
}

/* Queued to ourselves while all is blocked: the kernel keeps each siginfo as it was. */
static int restore_pending(struct rst_ctx *ctx, struct rst_task *t, const struct rec_sigpending *p)
{
	const unsigned char *infos;

	if (!p)
		return 0;
	infos = (const unsigned char *)(p + 1);
	for (uint32_t i = 0; i < p->nr; i++) {
		siginfo_t info;
		long r;

		memcpy(&info, infos + (size_t)i * CRYO_SIGINFO_SIZE, sizeof(info));
		if (info.si_signo == SIGKILL || info.si_signo == SIGSTOP)
			continue;
		if (p->shared)
			r = syscall(SYS_rt_sigqueueinfo, getpid(), info.si_signo, &info);
		else
			r = syscall(SYS_rt_tgsigqueueinfo, getpid(), (pid_t)syscall(SYS_gettid),
				    info.si_signo, &info);
		if (r < 0)
			return rst_fail(ctx, -errno, "pid %d: cannot queue pending signal %d: %s",
					t->pid, info.si_signo, strerror(errno));
	}
	return 0;
}

#define PR_TIMER_CREATE_RESTORE_IDS 77 /* Linux 6.17: timer_create takes the id to use */

static int create_timer(struct rst_ctx *ctx, struct rst_task *t, const struct rec_posix_timer *r)
{
	struct sigevent sev = { .sigev_notify = r->notify, .sigev_signo = r->signo };
	struct itimerspec its = {
		.it_interval = { (time_t)(r->value.interval_ns / 1000000000),
				 (long)(r->value.interval_ns % 1000000000) },
		.it_value = { (time_t)(r->value.value_ns / 1000000000),
			      (long)(r->value.value_ns % 1000000000) },
	};
	int id = r->id;

	sev.sigev_value.sival_ptr = (void *)r->sigev_value;
	if (r->notify == TIMER_NOTIFY_THREAD_ID)
		sev._sigev_un._tid = r->notify_tid;
	if (syscall(SYS_timer_create, r->clock, &sev, &id) < 0 || id != r->id)
		return rst_fail(ctx, -errno, "pid %d: cannot recreate POSIX timer %d: %s", t->pid,
				r->id, id != r->id ? "got another id" : strerror(errno));
	if (syscall(SYS_timer_settime, id, 0, &its, NULL) < 0)
		return rst_fail(ctx, -errno, "pid %d: cannot arm POSIX timer %d: %s", t->pid, id,
				strerror(errno));
	return 0;
}

/* Timers get the ids the program knows; the kernel lets us choose them (6.17+). */
static int restore_posix_timers(struct rst_ctx *ctx, struct rst_task *t)
{
	bool on = false;
	int ret = 0;

	for (size_t i = 0; i < ctx->img->nr_recs && !ret; i++) {
		const struct image_record *r = &ctx->img->recs[i];
		const struct rec_posix_timer *pt = r->payload;

		if (r->type != REC_POSIX_TIMER || pt->task_objref != t->task->objref)
			continue;
		if (aims_at_other_thread(pt, t))
			continue; /* its thread is made by the restorer, and the timer after it */
		if (!on && prctl(PR_TIMER_CREATE_RESTORE_IDS, 1, 0, 0, 0) < 0)
			return rst_fail(ctx, -errno,
					"pid %d: this kernel cannot recreate POSIX timers "
					"with their ids (needs Linux 6.17 or later): %s",
					t->pid, strerror(errno));
		on = true;
		ret = create_timer(ctx, t, pt);
	}
	if (on)
		prctl(PR_TIMER_CREATE_RESTORE_IDS, 0, 0, 0, 0);
	return ret;
}

/* A timer that signals another thread than the main one: it must name a thread of T. */
static int add_thread_timer(struct rst_ctx *ctx, struct rst_task *t, struct rst_block *b,
			    const struct rec_posix_timer *pt)
{
	struct restorer_timer rt = {
		.id = pt->id,
		.clock = pt->clock,
		.signo = pt->signo,
		.tid = pt->notify_tid,
		.sigev_value = pt->sigev_value,
		.interval_ns = pt->value.interval_ns,
		.value_ns = pt->value.value_ns,
	};
	bool found = false;

	for (size_t i = 0; i < t->nr_threads; i++)
		found |= t->threads[i].pid == pt->notify_tid;
	if (!found)
		return rst_fail(ctx, -EINVAL,
				"pid %d: POSIX timer %d signals thread %d, which is not one of its "
				"threads in the image",
				t->pid, pt->id, pt->notify_tid);
	if (!b->args->nr_timers)
		b->args->timers_off = rst_block_array(b);
	if (!rst_block_append(b, &rt, sizeof(rt)))
		return -ENOMEM;
	b->args->nr_timers++;
	return 0;
}

/* The timers of threads the restorer makes: appended to the block, one array. */
static int add_thread_timers(struct rst_ctx *ctx, struct rst_task *t, struct rst_block *b)
{
	int ret = 0;

	for (size_t i = 0; i < ctx->img->nr_recs && !ret; i++) {
		const struct image_record *r = &ctx->img->recs[i];
		const struct rec_posix_timer *pt = r->payload;

		if (r->type == REC_POSIX_TIMER && pt->task_objref == t->task->objref &&
		    aims_at_other_thread(pt, t))
			ret = add_thread_timer(ctx, t, b, pt);
	}
	return ret;
}

int signal_restore(struct rst_ctx *ctx, struct rst_task *t, struct rst_block *b)
{
	int ret = restore_sigactions(ctx, t);

	if (!ret)
		ret = restore_altstack(ctx, t);
	if (!ret)
		ret = restore_pending(ctx, t, t->pending[1]);
	if (!ret)
		ret = restore_pending(ctx, t, t->pending[0]);
	if (!ret)
		ret = restore_posix_timers(ctx, t);
	if (!ret)
		ret = add_thread_timers(ctx, t, b);
	return ret;
}
