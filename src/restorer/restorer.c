// SPDX-License-Identifier: MIT
/*
 * The restorer: freestanding code (no libc, position independent) that
 * turns restart's child into the saved process. It runs from a block that
 * lies in a hole of the saved address space, so it can remove everything
 * else: it unmaps all of cryo, moves the vdso to its saved place, maps the
 * saved memory and reads its pages from the image, sets the mm fields with
 * PR_SET_MM_MAP, then the kernel state that only the task itself can set
 * (tid address, robust list, rseq, credentials, timers), and stops with
 * SIGSTOP for restart to finish the job with ptrace. See restorer.h.
 *
 * On failure it reports the step and errno on report_fd and exits.
 */
#include <asm/unistd.h>
#include <asm/fcntl.h>
#include <asm/ioctl.h>
#include <linux/capability.h>
#include <linux/mman.h>
#include <linux/prctl.h>
#include <linux/sched.h>
#include <linux/signal.h>
#include <linux/time.h>
#include <linux/userfaultfd.h>
#include <stdbool.h>
#include <stdint.h>

#include "arch/x86_64/syscall-raw.h"
#include "restorer/restorer.h"

#define PAGE_SIZE 4096ul

void restorer_main(struct restorer_args *args) __attribute__((noreturn, used));
/* src/arch/x86_64/restorer-head.S */
long restorer_clone_thread(struct clone_args *args, unsigned long size,
			   void (*fn)(struct restorer_args *, uint64_t), struct restorer_args *arg,
			   uint64_t index);

/* gcc may emit calls to these even in freestanding code */
void *memcpy(void *dst, const void *src, unsigned long n);
void *memset(void *dst, int c, unsigned long n);

void *memcpy(void *dst, const void *src, unsigned long n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

void *memset(void *dst, int c, unsigned long n)
{
	unsigned char *d = dst;

	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

static __attribute__((noreturn)) void fail(struct restorer_args *a, int step, long err,
					   uint64_t where)
{
	struct restorer_report r = {
		.step = step, .err = (int32_t)-err, .where = where, .pid = a->pid
	};

	raw_syscall3(__NR_write, a->report_fd, &r, sizeof(r));
	for (;;)
		raw_syscall1(__NR_exit_group, 1);
}

static const void *at(const struct restorer_args *a, uint64_t off)
{
	return (const char *)a + off;
}

/* Everything but this block and the current vdso goes: cryo is gone after this. */
static void unmap_cryo(struct restorer_args *a)
{
	uint64_t keep[2 + RESTORER_MAX_VDSO][2], from = 0;
	uint32_t n = 0;

	keep[n][0] = a->block_start;
	keep[n++][1] = a->block_start + a->block_len;
	for (uint32_t i = 0; i < a->nr_vdso; i++, n++) {
		/* where it is now: the first move's source when it goes in two steps */
		uint64_t now = a->vdso_tmp[i].len ? a->vdso_tmp[i].from : a->vdso[i].from;

		keep[n][0] = now;
		keep[n][1] = now + a->vdso[i].len;
	}
	for (uint32_t i = 0; i < a->nr_unmap_vdso; i++, n++) {
		keep[n][0] = a->unmap_vdso[i].from;
		keep[n][1] = a->unmap_vdso[i].from + a->unmap_vdso[i].len;
	}
	/* walk the kept ranges in address order, unmapping the gaps between them */
	for (;;) {
		uint64_t next = a->task_size, next_end = a->task_size;
		long ret;

		for (uint32_t i = 0; i < n; i++)
			if (keep[i][0] >= from && keep[i][0] < next) {
				next = keep[i][0];
				next_end = keep[i][1];
			}
		if (next > from) {
			ret = raw_syscall2(__NR_munmap, from, next - from);
			if (ret)
				fail(a, RST_STEP_UNMAP, ret, from);
		}
		if (next >= a->task_size)
			break;
		from = next_end;
	}
}

static void move_vdso(struct restorer_args *a)
{
	for (uint32_t i = 0; i < a->nr_unmap_vdso; i++)
		raw_syscall2(__NR_munmap, a->unmap_vdso[i].from, a->unmap_vdso[i].len);
	for (uint32_t pass = 0; pass < 2; pass++) {
		const struct restorer_vdso *v = pass ? a->vdso : a->vdso_tmp;

		for (uint32_t i = 0; i < a->nr_vdso; i++) {
			long ret;

			if (!v[i].len || v[i].from == v[i].to)
				continue;
			ret = raw_syscall5(__NR_mremap, v[i].from, v[i].len, v[i].len,
					   MREMAP_MAYMOVE | MREMAP_FIXED, v[i].to);
			if (ret < 0)
				fail(a, RST_STEP_VDSO, ret, v[i].to);
		}
	}
}

static void map_vmas(struct restorer_args *a)
{
	const struct restorer_vma *v = at(a, a->vmas_off);

	for (uint64_t i = 0; i < a->nr_vmas; i++) {
		uint32_t prot = v[i].prot | (v[i].has_data ? PROT_READ | PROT_WRITE : 0);
		long ret = raw_syscall6(__NR_mmap, (long)v[i].start, (long)(v[i].end - v[i].start),
					prot, v[i].flags | MAP_FIXED, v[i].fd, (long)v[i].pgoff);

		if (ret != (long)v[i].start)
			fail(a, RST_STEP_MMAP, ret < 0 ? ret : -14 /* EFAULT */, v[i].start);
	}
}

static bool holds(const struct restorer_run *r, uint64_t addr, uint64_t len)
{
	return addr && addr < r->vaddr + r->len && addr + len > r->vaddr;
}

/*
 * A lazy run is left to the page server, unless the kernel writes into it
 * for the restorer: registering an rseq area fills in its cpu fields, and
 * a page it writes before the data is there would keep only those.
 */
static bool read_now(const struct restorer_args *a, const struct restorer_run *r)
{
	const struct restorer_thread *t = at(a, a->threads_off);

	if (!r->lazy || holds(r, a->rseq, a->rseq_len))
		return true;
	for (uint64_t i = 0; i < a->nr_threads; i++)
		if (holds(r, t[i].rseq, t[i].rseq_len))
			return true;
	return false;
}

static void fill_pages(struct restorer_args *a)
{
	const struct restorer_run *r = at(a, a->runs_off);

	for (uint64_t i = 0; i < a->nr_runs; i++) {
		uint64_t done = 0;

		if (!read_now(a, &r[i]))
			continue;
		while (done < r[i].len) {
			long n = raw_syscall4(__NR_pread64, r[i].fd, r[i].vaddr + done,
					      r[i].len - done, r[i].file_offset + done);

			if (n <= 0)
				fail(a, RST_STEP_PAGES, n ? n : -5 /* EIO */, r[i].vaddr + done);
			done += (uint64_t)n;
		}
	}
}

/*
 * --lazy (doc/performance.md): the lazy vmas, private anonymous memory,
 * are registered with a userfaultfd whose first touch of a page cryo's
 * page server answers. Last of all, once every other thread has stopped:
 * a touch of the program's memory by the restorer or the kernel on its
 * behalf (rseq, robust lists, a thread's TLS) would wait for a server that
 * is not there yet. Before the credentials change: EVENT_FORK needs
 * privilege. The events tell the server what the program does to its
 * memory before every page is in: fork, mremap, MADV_DONTNEED, munmap.
 */
static void register_lazy(struct restorer_args *a)
{
	const struct restorer_vma *v = at(a, a->vmas_off);
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP |
					      UFFD_FEATURE_EVENT_REMOVE |
					      UFFD_FEATURE_EVENT_UNMAP };
	struct restorer_report r = { .step = RST_STEP_LAZY, .pid = a->pid };
	long uffd, ret;

	if (!a->lazy)
		return;
	while (__atomic_load_n(&a->unfinished, __ATOMIC_SEQ_CST) > 1)
		raw_syscall0(__NR_sched_yield);
	uffd = raw_syscall1(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0)
		fail(a, RST_STEP_LAZY_REGISTER, uffd, 0);
	ret = raw_syscall3(__NR_ioctl, uffd, UFFDIO_API, &api);
	for (uint64_t i = 0; i < a->nr_vmas && !ret; i++) {
		struct uffdio_register reg = { .range = { v[i].start, v[i].end - v[i].start },
					       .mode = UFFDIO_REGISTER_MODE_MISSING };

		if (v[i].lazy)
			ret = raw_syscall3(__NR_ioctl, uffd, UFFDIO_REGISTER, &reg);
		if (ret)
			fail(a, RST_STEP_LAZY_REGISTER, ret, v[i].start);
	}
	if (ret)
		fail(a, RST_STEP_LAZY_REGISTER, ret, 0);
	r.where = (uint64_t)uffd;
	raw_syscall3(__NR_write, a->report_fd, &r, sizeof(r));
}

static void protect_vmas(struct restorer_args *a)
{
	const struct restorer_vma *v = at(a, a->vmas_off);

	for (uint64_t i = 0; i < a->nr_vmas; i++) {
		long ret;

		if (!v[i].has_data || v[i].prot == (PROT_READ | PROT_WRITE))
			continue;
		ret = raw_syscall3(__NR_mprotect, v[i].start, v[i].end - v[i].start, v[i].prot);
		if (ret)
			fail(a, RST_STEP_MPROTECT, ret, v[i].start);
	}
}

static void set_mm(struct restorer_args *a)
{
	struct restorer_mm *m = &a->mm;
	long ret;

	m->auxv_ptr = (uint64_t)m->auxv;
	ret = raw_syscall5(__NR_prctl, PR_SET_MM, PR_SET_MM_MAP, m, RESTORER_MM_MAP_SIZE, 0);
	if (ret)
		fail(a, RST_STEP_MM_MAP, ret, 0);
}

static void close_fds(struct restorer_args *a)
{
	const int32_t *fds = at(a, a->close_off);

	for (uint64_t i = 0; i < a->nr_close; i++)
		raw_syscall1(__NR_close, fds[i]);
}

static void set_task(struct restorer_args *a)
{
	long ret;

	raw_syscall1(__NR_set_tid_address, a->tid_address);
	ret = raw_syscall2(__NR_set_robust_list, a->robust_list, a->robust_list_len);
	if (!ret && a->rseq)
		ret = raw_syscall4(__NR_rseq, a->rseq, a->rseq_len, 0, a->rseq_sig);
	if (ret)
		fail(a, RST_STEP_TASK, ret, 0);
}

struct cap_header {
	uint32_t version;
	int pid;
};

struct cap_data {
	uint32_t effective, permitted, inheritable;
};

#define SECBIT_NO_SETUID_FIXUP (1 << 2)
#define SECBIT_KEEP_CAPS       (1 << 4)

static long drop_bounding(const struct restorer_creds *c)
{
	for (int cap = 0; cap < 64; cap++) {
		long ret;

		if (c->cap_bnd & (1ull << cap))
			continue;
		ret = raw_syscall2(__NR_prctl, PR_CAPBSET_DROP, cap);
		if (ret && ret != -22 /* EINVAL: no such capability */)
			return ret;
	}
	return 0;
}

static long set_caps(const struct restorer_creds *c)
{
	struct cap_header h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct cap_data d[2] = {
		{ (uint32_t)c->cap_eff, (uint32_t)c->cap_prm, (uint32_t)c->cap_inh },
		{ (uint32_t)(c->cap_eff >> 32), (uint32_t)(c->cap_prm >> 32),
		  (uint32_t)(c->cap_inh >> 32) },
	};
	long ret = raw_syscall2(__NR_capset, &h, d);

	if (ret)
		return ret;
	raw_syscall5(__NR_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (int cap = 0; cap < 64; cap++) {
		if (!(c->cap_amb & (1ull << cap)))
			continue;
		ret = raw_syscall5(__NR_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Last of all: once the uids change, the task may lose the right to do the
 * rest. While all capabilities are kept through the uid change (KEEP_CAPS
 * keeps the permitted set, NO_SETUID_FIXUP the effective one), the bounding
 * set shrinks and the saved securebits come back, both needing CAP_SETPCAP;
 * capset then gives the saved capabilities, and the ambient ones follow.
 */
static void set_creds(struct restorer_args *a)
{
	const struct restorer_creds *c = &a->creds;
	long ret;

	ret =
	    raw_syscall2(__NR_prctl, PR_SET_SECUREBITS, SECBIT_KEEP_CAPS | SECBIT_NO_SETUID_FIXUP);
	if (!ret)
		ret = raw_syscall2(__NR_setgroups, c->nr_groups, at(a, c->groups_off));
	if (!ret)
		ret = raw_syscall3(__NR_setresgid, c->gid[0], c->gid[1], c->gid[2]);
	if (!ret) /* setfs[ug]id cannot fail in a way it reports */
		raw_syscall1(__NR_setfsgid, c->gid[3]);
	if (!ret)
		ret = raw_syscall3(__NR_setresuid, c->uid[0], c->uid[1], c->uid[2]);
	if (!ret)
		raw_syscall1(__NR_setfsuid, c->uid[3]);
	if (!ret)
		ret = drop_bounding(c);
	if (!ret)
		ret = raw_syscall2(__NR_prctl, PR_SET_SECUREBITS, c->securebits);
	if (!ret)
		ret = set_caps(c);
	if (ret)
		fail(a, RST_STEP_CREDS, ret, 0);
	/* both are reset by credential changes: set them after */
	/* prctl takes 0 or 1; 2 (suid_dumpable's "root only") comes back as the safer 0 */
	raw_syscall2(__NR_prctl, PR_SET_DUMPABLE, a->dumpable == 1);
	raw_syscall2(__NR_prctl, PR_SET_PDEATHSIG, a->pdeath_signal);
}

struct k_itimerval {
	long interval_sec, interval_usec, value_sec, value_usec;
};

static void set_itimers(struct restorer_args *a)
{
	for (int which = 0; which < 3; which++) {
		const struct restorer_itimer *t = &a->itimers[which];
		struct k_itimerval v = {
			(long)(t->interval_ns / 1000000000),
			(long)(t->interval_ns % 1000000000 / 1000),
			(long)(t->value_ns / 1000000000),
			(long)(t->value_ns % 1000000000 / 1000),
		};
		long ret;

		/* a timer about to fire must still fire: never round a live one to zero */
		if (t->value_ns && !v.value_sec && !v.value_usec)
			v.value_usec = 1;
		ret = raw_syscall3(__NR_setitimer, which, &v, 0);
		if (ret)
			fail(a, RST_STEP_TIMERS, ret, (uint64_t)which);
	}
}

/*
 * The end of the restorer, for the main thread and every other one: it says
 * so, the last of them closes the report descriptor (they share it: restart
 * reads the pipe to its end), and it stops, by a signal to itself alone.
 * Restart takes over from here, through ptrace; it knows this stop is ours.
 */
static __attribute__((noreturn)) void stop_for_restart(struct restorer_args *a, int32_t tid)
{
	struct restorer_report r = { .step = RST_STEP_DONE, .pid = tid };

	raw_syscall3(__NR_write, a->report_fd, &r, sizeof(r));
	if (__atomic_sub_fetch(&a->unfinished, 1, __ATOMIC_SEQ_CST) == 0)
		raw_syscall1(__NR_close, a->report_fd);
	raw_syscall3(__NR_tgkill, a->pid, tid, SIGSTOP);
	fail(a, RST_STEP_TASK, -4 /* EINTR: not stopped */, 0);
}

/* The kernel's stack_t and sched_param. */
struct k_stack {
	uint64_t sp;
	int32_t flags;
	int32_t pad;
	uint64_t size;
};

struct k_sched_param {
	int32_t priority;
};

/* What a thread keeps of its own, set by itself; its signals queued to itself. */
static long set_thread(struct restorer_args *a, const struct restorer_thread *t)
{
	const struct k_stack ss = { t->altstack_sp, (int32_t)t->altstack_flags, 0,
				    t->altstack_size };
	const struct k_sched_param param = { (int32_t)t->sched_priority };
	const unsigned char *info = at(a, t->pending_off);
	long ret;

	raw_syscall1(__NR_set_tid_address, t->tid_address);
	ret = raw_syscall2(__NR_set_robust_list, t->robust_list, t->robust_list_len);
	if (!ret && t->rseq)
		ret = raw_syscall4(__NR_rseq, t->rseq, t->rseq_len, 0, t->rseq_sig);
	if (!ret)
		ret = raw_syscall2(__NR_sigaltstack, &ss, 0);
	if (!ret)
		ret = raw_syscall2(__NR_prctl, PR_SET_NAME, t->comm);
	if (!ret)
		ret = raw_syscall2(__NR_prctl, PR_SET_TIMERSLACK, t->timerslack_ns);
	if (!ret)
		ret = raw_syscall3(__NR_setpriority, 0 /* PRIO_PROCESS */, 0, t->nice);
	if (!ret)
		ret = raw_syscall3(__NR_sched_setscheduler, 0, t->sched_policy, &param);
	for (uint64_t i = 0; i < t->nr_pending && !ret; i++, info += RESTORER_SIGINFO_SIZE) {
		int32_t signo = *(const int32_t *)info;

		if (signo != SIGKILL && signo != SIGSTOP)
			ret = raw_syscall4(__NR_rt_tgsigqueueinfo, a->pid, t->tid, signo, info);
	}
	return ret;
}

static __attribute__((noreturn)) void thread_main(struct restorer_args *a, uint64_t index)
{
	const struct restorer_thread *t =
	    (const struct restorer_thread *)at(a, a->threads_off) + index;
	long ret = set_thread(a, t);

	if (ret)
		fail(a, RST_STEP_THREAD, ret, (uint64_t)t->tid);
	set_creds(a); /* each thread has its own; a clone copies them, but before the change */
	raw_syscall2(__NR_prctl, PR_SET_PDEATHSIG, t->pdeath_signal);
	stop_for_restart(a, t->tid);
}

/* Every other thread, with its tid, each starting in thread_main on its own stack. */
static void create_threads(struct restorer_args *a)
{
	const struct restorer_thread *t = at(a, a->threads_off);

	for (uint64_t i = 0; i < a->nr_threads; i++) {
		int32_t tid = t[i].tid;
		struct clone_args ca = {
			.flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
				 CLONE_SYSVSEM,
			.stack = a->thread_stacks + i * a->thread_stack_size,
			.stack_size = a->thread_stack_size,
			.set_tid = (uint64_t)&tid,
			.set_tid_size = 1,
		};
		long ret = restorer_clone_thread(&ca, sizeof(ca), thread_main, a, i);

		if (ret < 0)
			fail(a, RST_STEP_THREAD, ret, (uint64_t)tid);
	}
}

/* The kernel's struct sigevent and struct itimerspec. */
struct k_sigevent {
	uint64_t value;
	int32_t signo, notify;
	int32_t tid;
	int32_t pad[11];
};

struct k_itimerspec {
	int64_t interval_sec, interval_nsec, value_sec, value_nsec;
};

#define SIGEV_THREAD_ID		    4
#define PR_TIMER_CREATE_RESTORE_IDS 77 /* Linux 6.17: timer_create takes the id to use */

static long create_timer(const struct restorer_timer *t)
{
	struct k_sigevent ev = {
		.value = t->sigev_value, .signo = t->signo, .notify = SIGEV_THREAD_ID, .tid = t->tid
	};
	struct k_itimerspec its = { (int64_t)(t->interval_ns / 1000000000),
				    (int64_t)(t->interval_ns % 1000000000),
				    (int64_t)(t->value_ns / 1000000000),
				    (int64_t)(t->value_ns % 1000000000) };
	int32_t id = t->id;
	long ret = raw_syscall3(__NR_timer_create, t->clock, &ev, &id);

	if (!ret && id != t->id)
		ret = -17; /* EEXIST: another id */
	return ret ? ret : raw_syscall4(__NR_timer_settime, id, 0, &its, 0);
}

/* The timers that signal a thread of this process other than the main one. */
static void create_thread_timers(struct restorer_args *a)
{
	const struct restorer_timer *t = at(a, a->timers_off);
	long ret;

	if (!a->nr_timers)
		return;
	ret = raw_syscall2(__NR_prctl, PR_TIMER_CREATE_RESTORE_IDS, 1);
	for (uint64_t i = 0; i < a->nr_timers && !ret; i++) {
		ret = create_timer(&t[i]);
		if (ret)
			fail(a, RST_STEP_TIMERS, ret, (uint64_t)t[i].id);
	}
	if (ret)
		fail(a, RST_STEP_TIMERS, ret, 0);
	raw_syscall2(__NR_prctl, PR_TIMER_CREATE_RESTORE_IDS, 0);
}

void restorer_main(struct restorer_args *a)
{
	unmap_cryo(a);
	move_vdso(a);
	map_vmas(a);
	fill_pages(a);
	protect_vmas(a);
	set_mm(a);
	close_fds(a);
	/* before the credentials change: set_tid needs the privilege restart runs with */
	create_threads(a);
	create_thread_timers(a);
	set_task(a);
	set_itimers(a);
	register_lazy(a);
	set_creds(a);
	stop_for_restart(a, a->pid);
}
