// SPDX-License-Identifier: MIT
/*
 * A process of eleven threads survives checkpoint/restart, each thread in a
 * state of its own at the checkpoint:
 *   futex     raw FUTEX_WAIT (shared) on a word: main's FUTEX_WAKE must wake
 *             exactly one waiter, and the wait may not end before it;
 *   cond      pthread_cond_wait;
 *   poll      poll() with no timeout on a pipe, until main writes a byte;
 *   nanosleep a loop of 20 ms sleeps that must each return 0 and last 20 ms
 *             or more, and keep counting after the verification;
 *   busy      a spinning loop whose register copy of the count must match
 *             the one in memory, and keep counting after the verification;
 *   sigwait   sigwaitinfo(SIGUSR1), the only thread that does not block
 *             SIGUSR1: main's kill(getpid(), SIGUSR1) must reach it, from
 *             main's pid with SI_USER, and run no handler anywhere;
 *   pending   a private SIGRTMIN+2 queued by main with pthread_sigqueue
 *             (4242), pending once, in its own queue only, while it waits in
 *             a FUTEX_WAIT with a 500 ms timeout (the restart_syscall path);
 *   altstack  its own sigaltstack, blocked in read() on a pipe; afterwards a
 *             SA_ONSTACK handler must run in it, on that stack;
 *   mutex     pthread_mutex_lock of an error-checking mutex main holds;
 *   pi-mutex  the same with a priority-inheritance mutex (FUTEX_LOCK_PI: the
 *             kernel writes the new owner's tid into the lock word).
 * Each thread, woken for the verification, checks who it is: gettid(), two
 * __thread variables and their address, pthread_self(), its signal mask (its
 * own real-time signal blocked on top of what it inherited), its name
 * ("crt-N", in /proc and prctl), its robust futex list, its clear-tid
 * address and its rseq registration, none of which it ever changes, and its
 * pending signals. Main checks that /proc/self/task lists exactly these
 * threads, that the blocked ones are still in their syscalls, wakes them all
 * up, joins them (a restored thread without its clear-tid address would
 * never be joined) and reports the first error a thread recorded.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/rseq.h>
#include <sys/syscall.h>

#include "cr/crtest.h"

#define NTHREADS     10
#define MAGIC	     0x7e1d5eedc0de0000ULL
#define STEP_NS	     (20 * 1000000LL) /* one sleep of the nanosleep thread */
#define QUEUED_VALUE 4242
#define ALTSTACK_LEN (64 * 1024)
#define SETUP_SECS   5 /* before ready: for the threads to reach their states */
#define VERIFY_SECS  3 /* after SIGUSR2: for each step of the verification */
#define ALARM_SECS   8 /* for all of it, within the 10 s run.sh allows */
#define SIG_PENDING  (SIGRTMIN + 2)
#define SIG_ONSTACK  (SIGRTMIN + 3)
#define SIG_OWN(i)   (SIGRTMIN + 4 + (i)) /* the signal thread i alone blocks */

enum {
	T_FUTEX,
	T_COND,
	T_POLL,
	T_SLEEP,
	T_BUSY,
	T_SIGWAIT,
	T_PENDING,
	T_ALTSTACK,
	T_MUTEX,
	T_PI,
};

enum {
	RUN,	/* before the verification */
	VERIFY, /* main is waking everybody up */
	DONE,	/* the counting threads may end */
};

struct thr {
	int idx;
	pthread_t handle; /* from pthread_create */
	/* recorded by the thread itself at start */
	pid_t tid;
	pthread_t self;
	void *tls_addr;
	uint64_t mask;
	char name[16];
	void *robust;
	size_t robust_len;
	unsigned long tid_addr;
	bool tid_addr_ok;
	unsigned int rseq_len;	/* 0: rseq not checked */
	_Atomic uint64_t count; /* the counting threads' progress */
	/* the first thing that went wrong in this thread */
	_Atomic int failed;
	char err[256];
};

struct kind {
	const char *what;
	/* the syscall it sleeps in (-1: none, it runs), or restart_syscall once interrupted */
	long nr, nr2;
	void (*wait)(struct thr *);  /* its state, until woken for verification */
	void (*after)(struct thr *); /* checks of that state, after the identity */
};

static struct thr thr[NTHREADS];
static _Atomic int phase = RUN;
static _Atomic int started;
static uint64_t main_mask;
static const char *volatile step = "setup"; /* what main is at, for the alarm */

static __thread uint64_t tls_magic;
static __thread struct thr *tls_self;

static uint32_t futex_word;   /* T_FUTEX waits while 0 */
static uint32_t release_word; /* T_PENDING waits while 0 */
static pthread_mutex_t cond_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static bool cond_go;
static int poll_pipe[2], read_pipe[2];
static pthread_mutex_t held, held_pi; /* main holds both until the verification */
static uint8_t altstack[ALTSTACK_LEN] __attribute__((aligned(16)));

/* what the handlers saw: there is no SIGUSR1 handler call unless it is lost */
static volatile pid_t usr1_handled_by;
static volatile int onstack_calls;
static volatile pid_t onstack_tid;
static volatile uintptr_t onstack_sp;

static __attribute__((format(printf, 2, 3))) void terr(struct thr *t, const char *fmt, ...)
{
	va_list ap;

	if (atomic_load(&t->failed))
		return; /* the first error is the one to report */
	va_start(ap, fmt);
	vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
	atomic_store(&t->failed, 1);
}

static long futex(uint32_t *word, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, word, op, val, ts, NULL, 0);
}

static uint64_t bit(int sig)
{
	return 1ULL << (sig - 1);
}

static void block(int sig, int how)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	if (pthread_sigmask(how, &set, NULL))
		cr_fail("pthread_sigmask: %m");
}

/* A hex mask line of a /proc status file, such as SigPnd; ~0 if missing. */
static uint64_t status_mask(const char *path, const char *key)
{
	char line[256];
	uint64_t v = ~0ULL;
	size_t len = strlen(key);
	FILE *f = fopen(path, "re");

	if (!f)
		return v;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ':')
			v = strtoull(line + len + 1, NULL, 16);
	fclose(f);
	return v;
}

static bool read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	bool ok = f && fgets(buf, (int)len, f);

	if (f)
		fclose(f);
	if (!ok)
		*buf = 0;
	buf[strcspn(buf, "\n")] = 0;
	return ok;
}

/*
 * glibc registers the thread's rseq area with a length that __rseq_size may
 * not tell (20 there, 32 registered): find the one the kernel answers EBUSY
 * to, "already registered with exactly these". 0 if neither: not checked.
 */
static int rseq_again(unsigned int len)
{
	void *area = (char *)__builtin_thread_pointer() + __rseq_offset;

	return syscall(SYS_rseq, area, len, 0, RSEQ_SIG) ? errno : 0;
}

static unsigned int rseq_registered_len(void)
{
	const unsigned int lens[] = { 32, __rseq_size };

	for (int i = 0; i < 2; i++)
		if (__rseq_size && rseq_again(lens[i]) == EBUSY)
			return lens[i];
	return 0;
}

/* --- each thread's identity --------------------------------------------------- */

static uint64_t own_blocked(int idx)
{
	uint64_t m = main_mask | bit(SIG_OWN(idx));

	if (idx == T_SIGWAIT)
		m &= ~bit(SIGUSR1);
	if (idx == T_PENDING)
		m |= bit(SIG_PENDING);
	return m;
}

static void setup_altstack(struct thr *t)
{
	stack_t ss = { .ss_sp = altstack, .ss_size = ALTSTACK_LEN };

	if (sigaltstack(&ss, NULL))
		terr(t, "sigaltstack: %m");
}

static void setup(struct thr *t)
{
	t->tid = gettid();
	t->self = pthread_self();
	tls_magic = MAGIC + (uint64_t)t->idx;
	tls_self = t;
	t->tls_addr = &tls_magic;
	block(SIG_OWN(t->idx), SIG_BLOCK);
	if (t->idx == T_SIGWAIT)
		block(SIGUSR1, SIG_UNBLOCK);
	if (t->idx == T_PENDING)
		block(SIG_PENDING, SIG_BLOCK);
	t->mask = cr_blocked_now();
	if (t->mask != own_blocked(t->idx))
		terr(t, "blocked %#llx at start, wanted %#llx", (unsigned long long)t->mask,
		     (unsigned long long)own_blocked(t->idx));
	snprintf(t->name, sizeof(t->name), "crt-%d", t->idx);
	if (pthread_setname_np(pthread_self(), t->name))
		terr(t, "pthread_setname_np failed");
	if (syscall(SYS_get_robust_list, 0, &t->robust, &t->robust_len))
		terr(t, "get_robust_list: %m");
	t->tid_addr_ok = !prctl(PR_GET_TID_ADDRESS, &t->tid_addr); /* CONFIG_CHECKPOINT_RESTORE */
	t->rseq_len = rseq_registered_len();
	if (t->idx == T_ALTSTACK)
		setup_altstack(t);
}

static void check_altstack(struct thr *t)
{
	stack_t ss;

	if (sigaltstack(NULL, &ss)) {
		terr(t, "sigaltstack: %m");
		return;
	}
	if (t->idx != T_ALTSTACK) {
		if (ss.ss_flags != SS_DISABLE)
			terr(t, "has an alternate signal stack %p+%zu, flags %#x", ss.ss_sp,
			     ss.ss_size, ss.ss_flags);
		return;
	}
	if (ss.ss_sp != altstack || ss.ss_size != ALTSTACK_LEN || ss.ss_flags)
		terr(t, "sigaltstack %p+%zu flags %#x, was %p+%d flags 0", ss.ss_sp, ss.ss_size,
		     ss.ss_flags, (void *)altstack, ALTSTACK_LEN);
}

static void check_name(struct thr *t)
{
	char path[64], comm[64], pr[17] = { 0 };

	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", (int)t->tid);
	if (!read_line(path, comm, sizeof(comm)) || strcmp(comm, t->name))
		terr(t, "%s is '%s', wanted '%s'", path, comm, t->name);
	if (prctl(PR_GET_NAME, pr) || strcmp(pr, t->name))
		terr(t, "PR_GET_NAME says '%s', wanted '%s'", pr, t->name);
}

/* Only T_PENDING has a signal pending, in its own queue (SigPnd). */
static void check_pending(struct thr *t)
{
	uint64_t want = t->idx == T_PENDING ? bit(SIG_PENDING) : 0, got;
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)t->tid);
	got = status_mask(path, "SigPnd");
	if (got != want)
		terr(t, "thread-pending signals %#llx, wanted %#llx", (unsigned long long)got,
		     (unsigned long long)want);
}

static void check_identity(struct thr *t)
{
	unsigned long tid_addr = 0;
	void *robust = NULL;
	size_t robust_len = 0;

	if (gettid() != t->tid)
		terr(t, "gettid() is %d, was %d", (int)gettid(), (int)t->tid);
	if (tls_magic != MAGIC + (uint64_t)t->idx || tls_self != t || &tls_magic != t->tls_addr)
		terr(t, "TLS: magic %#llx at %p, self %p; were %#llx at %p, %p",
		     (unsigned long long)tls_magic, (void *)&tls_magic, (void *)tls_self,
		     (unsigned long long)(MAGIC + (uint64_t)t->idx), t->tls_addr, (void *)t);
	if (!pthread_equal(pthread_self(), t->self) || !pthread_equal(pthread_self(), t->handle))
		terr(t, "pthread_self() is %#lx, was %#lx", (unsigned long)pthread_self(),
		     (unsigned long)t->self);
	if (cr_blocked_now() != t->mask)
		terr(t, "blocked signals %#llx, were %#llx", (unsigned long long)cr_blocked_now(),
		     (unsigned long long)t->mask);
	check_name(t);
	if (syscall(SYS_get_robust_list, 0, &robust, &robust_len) || robust != t->robust ||
	    robust_len != t->robust_len)
		terr(t, "robust list %p+%zu, was %p+%zu", robust, robust_len, t->robust,
		     t->robust_len);
	if (t->tid_addr_ok && (prctl(PR_GET_TID_ADDRESS, &tid_addr) || tid_addr != t->tid_addr))
		terr(t, "clear-tid address %#lx, was %#lx", tid_addr, t->tid_addr);
	if (t->rseq_len && rseq_again(t->rseq_len) != EBUSY)
		terr(t, "rseq area no longer registered (rseq() again: %s)",
		     strerror(rseq_again(t->rseq_len)));
	check_altstack(t);
	check_pending(t);
}

/* --- the states -------------------------------------------------------------------- */

static bool verifying(void)
{
	return atomic_load(&phase) >= VERIFY;
}

static void wait_futex(struct thr *t)
{
	while (!__atomic_load_n(&futex_word, __ATOMIC_ACQUIRE)) {
		long r = futex(&futex_word, FUTEX_WAIT, 0, NULL);

		/* no signal handler runs here: neither EINTR nor a return without the wake */
		if (!__atomic_load_n(&futex_word, __ATOMIC_ACQUIRE)) {
			terr(t, "FUTEX_WAIT returned %s before the wake",
			     r ? strerror(errno) : "0");
			return;
		}
	}
}

static void wait_cond(struct thr *t)
{
	int e = 0;

	pthread_mutex_lock(&cond_lock);
	while (!cond_go && !e)
		e = pthread_cond_wait(&cond, &cond_lock);
	pthread_mutex_unlock(&cond_lock);
	if (e)
		terr(t, "pthread_cond_wait: %s", strerror(e));
}

static void wait_poll(struct thr *t)
{
	struct pollfd p = { .fd = poll_pipe[0], .events = POLLIN };
	int r = poll(&p, 1, -1);
	char c = 0;

	if (r != 1 || p.revents != POLLIN) {
		terr(t, "poll returned %d, revents %#x (%s)", r, (unsigned int)p.revents,
		     r < 0 ? strerror(errno) : "no error");
		return;
	}
	if (!verifying())
		terr(t, "poll returned before main wrote");
	if (read(poll_pipe[0], &c, 1) != 1)
		terr(t, "read after poll: %m");
	else if (c != 'p')
		terr(t, "read '%c' after poll, main wrote 'p'", c);
}

static void sleep_step(struct thr *t)
{
	struct timespec ts = { 0, STEP_NS };
	int64_t t0 = cr_now_ns(CLOCK_MONOTONIC), slept;

	if (nanosleep(&ts, NULL))
		terr(t, "nanosleep: %m");
	slept = cr_now_ns(CLOCK_MONOTONIC) - t0;
	if (slept < STEP_NS)
		terr(t, "nanosleep of %lld ns returned after %lld ns", STEP_NS, (long long)slept);
	atomic_fetch_add(&t->count, 1);
}

static void wait_sleep(struct thr *t)
{
	while (!verifying())
		sleep_step(t);
}

static void after_sleep(struct thr *t)
{
	while (atomic_load(&phase) < DONE)
		sleep_step(t);
}

/* The count is in a register and in memory: they must agree when it stops. */
static void spin(struct thr *t, int until)
{
	uint64_t n = atomic_load(&t->count);

	while (atomic_load_explicit(&phase, memory_order_relaxed) < until)
		atomic_store_explicit(&t->count, ++n, memory_order_relaxed);
	if (n != atomic_load(&t->count))
		terr(t, "count %llu in a register, %llu in memory", (unsigned long long)n,
		     (unsigned long long)atomic_load(&t->count));
}

static void wait_busy(struct thr *t)
{
	spin(t, VERIFY);
}

static void after_busy(struct thr *t)
{
	spin(t, DONE);
}

static void wait_sigwait(struct thr *t)
{
	siginfo_t si;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	memset(&si, 0, sizeof(si));
	sig = sigwaitinfo(&set, &si);
	if (sig != SIGUSR1) {
		terr(t, "sigwaitinfo returned %d (%m)", sig);
		return;
	}
	if (!verifying())
		terr(t, "SIGUSR1 arrived before main sent it");
	if (si.si_code != SI_USER || si.si_pid != getpid() || si.si_uid != getuid())
		terr(t, "SIGUSR1 with si_code %d, si_pid %d, si_uid %d; wanted SI_USER from %d",
		     si.si_code, (int)si.si_pid, (int)si.si_uid, (int)getpid());
}

/* A FUTEX_WAIT with a timeout: interrupted, it goes on with restart_syscall. */
static void wait_pending(struct thr *t)
{
	const struct timespec ts = { 0, 500 * 1000000L };

	while (!__atomic_load_n(&release_word, __ATOMIC_ACQUIRE)) {
		long r = futex(&release_word, FUTEX_WAIT_PRIVATE, 0, &ts);

		if (r && errno != ETIMEDOUT && errno != EAGAIN) {
			terr(t, "FUTEX_WAIT with timeout: %m");
			return;
		}
	}
}

static void after_pending(struct thr *t)
{
	const struct timespec zero = { 0, 0 };
	siginfo_t si;
	sigset_t set;
	int sig;

	if (sigpending(&set) || sigismember(&set, SIG_PENDING) != 1)
		terr(t, "SIGRTMIN+2 is not pending");
	sigemptyset(&set);
	sigaddset(&set, SIG_PENDING);
	memset(&si, 0, sizeof(si));
	sig = sigtimedwait(&set, &si, &zero);
	if (sig != SIG_PENDING) {
		terr(t, "sigtimedwait returned %d (%m), wanted SIGRTMIN+2", sig);
		return;
	}
	if (si.si_code != SI_QUEUE || si.si_value.sival_int != QUEUED_VALUE ||
	    si.si_pid != getpid())
		terr(t,
		     "SIGRTMIN+2 with si_code %d, si_value %d, si_pid %d; wanted SI_QUEUE, %d, %d",
		     si.si_code, si.si_value.sival_int, (int)si.si_pid, QUEUED_VALUE,
		     (int)getpid());
	sig = sigtimedwait(&set, &si, &zero);
	if (sig != -1 || errno != EAGAIN)
		terr(t, "SIGRTMIN+2 was pending more than once");
}

static void wait_read(struct thr *t)
{
	char c = 0;
	ssize_t r = read(read_pipe[0], &c, 1);

	if (r != 1)
		terr(t, "read returned %zd (%s)", r, r < 0 ? strerror(errno) : "end of file");
	else if (!verifying())
		terr(t, "read returned before main wrote");
	else if (c != 'r')
		terr(t, "read '%c', main wrote 'r'", c);
}

static void on_onstack(int sig)
{
	volatile int here;

	(void)sig;
	onstack_calls++;
	onstack_tid = gettid();
	/* only the address is kept: it tells which stack the handler ran on */
	// cppcheck-suppress danglingLifetime
	onstack_sp = (uintptr_t)&here;
}

/* The SA_ONSTACK handler runs in this thread, on its alternate stack. */
static void after_altstack(struct thr *t)
{
	uintptr_t lo = (uintptr_t)altstack, hi = lo + ALTSTACK_LEN;

	raise(SIG_ONSTACK);
	if (onstack_calls != 1 || onstack_tid != t->tid)
		terr(t, "SIGRTMIN+3 handler ran %d times, in thread %d", onstack_calls,
		     (int)onstack_tid);
	else if (onstack_sp < lo || onstack_sp >= hi)
		terr(t, "SA_ONSTACK handler ran at %#lx, outside the alternate stack %#lx-%#lx",
		     (unsigned long)onstack_sp, (unsigned long)lo, (unsigned long)hi);
}

static void lock_held(struct thr *t, pthread_mutex_t *m)
{
	int e = pthread_mutex_lock(m);

	if (e) {
		terr(t, "pthread_mutex_lock: %s", strerror(e));
		return;
	}
	if (!verifying())
		terr(t, "got the mutex before main let it go");
	/* a PI mutex's word is its owner's tid, written by the kernel at the handover */
	if (m == &held_pi && (m->__data.__lock & FUTEX_TID_MASK) != (unsigned int)gettid())
		terr(t, "PI mutex word %#x, wanted owner %d", (unsigned int)m->__data.__lock,
		     (int)gettid());
	/* error-checking: only the owner, by the tid glibc keeps, may unlock */
	e = pthread_mutex_unlock(m);
	if (e)
		terr(t, "pthread_mutex_unlock: %s", strerror(e));
}

static void wait_mutex(struct thr *t)
{
	lock_held(t, &held);
}

static void wait_pi(struct thr *t)
{
	lock_held(t, &held_pi);
}

static const struct kind kinds[NTHREADS] = {
	[T_FUTEX] = { "futex", SYS_futex, -1, wait_futex, NULL },
	[T_COND] = { "cond", SYS_futex, -1, wait_cond, NULL },
	[T_POLL] = { "poll", SYS_poll, SYS_restart_syscall, wait_poll, NULL },
	[T_SLEEP] = { "nanosleep", -1, -1, wait_sleep, after_sleep },
	[T_BUSY] = { "busy", -1, -1, wait_busy, after_busy },
	[T_SIGWAIT] = { "sigwait", SYS_rt_sigtimedwait, -1, wait_sigwait, NULL },
	[T_PENDING] = { "pending", SYS_futex, SYS_restart_syscall, wait_pending, after_pending },
	[T_ALTSTACK] = { "altstack", SYS_read, -1, wait_read, after_altstack },
	[T_MUTEX] = { "mutex", SYS_futex, -1, wait_mutex, NULL },
	[T_PI] = { "pi-mutex", SYS_futex, -1, wait_pi, NULL },
};

static void *thread_main(void *arg)
{
	struct thr *t = arg;
	const struct kind *k = &kinds[t->idx];

	setup(t);
	atomic_fetch_add(&started, 1);
	k->wait(t);
	check_identity(t);
	if (k->after)
		k->after(t);
	return t;
}

/* --- main ------------------------------------------------------------------------- */

static void on_usr1(int sig)
{
	(void)sig;
	usr1_handled_by = gettid();
}

/* Async-signal-safe: the step, in pieces. */
static void on_alarm(int sig)
{
	const char *what = step;

	(void)sig;
	if (write(STDOUT_FILENO, "FAIL: timed out: ", 17) < 0 ||
	    write(STDOUT_FILENO, what, strlen(what)) < 0 || write(STDOUT_FILENO, "\n", 1) < 0)
		_exit(2);
	_exit(1);
}

static void handle(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa = { .sa_handler = fn, .sa_flags = flags };

	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL))
		cr_fail("sigaction(%d): %m", sig);
}

static void init_mutexes(void)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	if (pthread_mutex_init(&held, &a))
		cr_fail("pthread_mutex_init");
	if (pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT) ||
	    pthread_mutex_init(&held_pi, &a))
		cr_fail("pthread_mutex_init(PTHREAD_PRIO_INHERIT)");
	pthread_mutexattr_destroy(&a);
	if (pthread_mutex_lock(&held) || pthread_mutex_lock(&held_pi))
		cr_fail("pthread_mutex_lock");
}

/* field 3 of /proc/self/task/TID/stat, and the number /proc/.../syscall starts with */
static char task_state(pid_t tid)
{
	char path[64], line[512];
	const char *p;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	if (!read_line(path, line, sizeof(line)) || !(p = strrchr(line, ')')))
		return '?';
	return p[1] == ' ' ? p[2] : '?';
}

static void task_syscall(pid_t tid, char *buf, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	if (!read_line(path, buf, len))
		snprintf(buf, len, "unreadable");
}

/* Asleep in the syscall of its state. */
static bool blocked(const struct thr *t)
{
	const struct kind *k = &kinds[t->idx];
	char sc[256];
	long nr;

	if (task_state(t->tid) != 'S')
		return false;
	task_syscall(t->tid, sc, sizeof(sc));
	if (sc[0] < '0' || sc[0] > '9')
		return false;
	nr = strtol(sc, NULL, 10);
	return nr == k->nr || nr == k->nr2;
}

static void fail_not_blocked(const struct thr *t, const char *when)
{
	char sc[256];

	task_syscall(t->tid, sc, sizeof(sc));
	cr_fail("%s: thread %d (%s, tid %d) is not asleep in syscall %ld: state %c, syscall %.40s",
		when, t->idx, kinds[t->idx].what, (int)t->tid, kinds[t->idx].nr, task_state(t->tid),
		sc);
}

static void check_thread_errors(void)
{
	for (int i = 0; i < NTHREADS; i++)
		if (atomic_load(&thr[i].failed))
			cr_fail("thread %d (%s, tid %d): %s", i, kinds[i].what, (int)thr[i].tid,
				thr[i].err);
	cr_check(!usr1_handled_by, "a SIGUSR1 handler ran in thread %d, not sigwaitinfo",
		 (int)usr1_handled_by);
}

/* Every thread in its state: the blocked ones asleep in their syscalls, the others counting. */
static void await_states(const char *when, int secs)
{
	int64_t deadline = cr_now_ns(CLOCK_MONOTONIC) + secs * 1000000000LL;

	for (int i = 0; i < NTHREADS; i++) {
		const struct thr *t = &thr[i];

		while (kinds[i].nr >= 0 ? !blocked(t) : !atomic_load(&t->count)) {
			check_thread_errors();
			if (cr_now_ns(CLOCK_MONOTONIC) > deadline) {
				if (kinds[i].nr >= 0)
					fail_not_blocked(t, when);
				cr_fail("%s: thread %d (%s) does not count", when, i,
					kinds[i].what);
			}
			usleep(1000);
		}
	}
}

static void start_threads(void)
{
	int64_t deadline = cr_now_ns(CLOCK_MONOTONIC) + SETUP_SECS * 1000000000LL;

	for (int i = 0; i < NTHREADS; i++) {
		thr[i].idx = i;
		errno = pthread_create(&thr[i].handle, NULL, thread_main, &thr[i]);
		if (errno)
			cr_fail("pthread_create: %m");
	}
	while (atomic_load(&started) < NTHREADS) {
		cr_check(cr_now_ns(CLOCK_MONOTONIC) < deadline, "only %d of %d threads started",
			 atomic_load(&started), NTHREADS);
		usleep(1000);
	}
	errno = pthread_sigqueue(thr[T_PENDING].handle, SIG_PENDING,
				 (union sigval){ .sival_int = QUEUED_VALUE });
	if (errno)
		cr_fail("pthread_sigqueue: %m");
	await_states("before ready", SETUP_SECS);
}

/* /proc/self/task lists main and our threads, nothing else. */
static void check_tasks(int want)
{
	int n = 0;
	struct dirent *d;
	DIR *dir = opendir("/proc/self/task");

	if (!dir)
		cr_fail("opendir /proc/self/task: %m");
	while ((d = readdir(dir))) {
		pid_t tid = (pid_t)atoi(d->d_name);
		bool ours = tid == getpid();

		if (tid <= 0)
			continue;
		n++;
		for (int i = 0; i < NTHREADS && want > 1; i++)
			ours |= thr[i].tid == tid;
		cr_check(ours, "/proc/self/task has %d, not one of our threads", (int)tid);
	}
	closedir(dir);
	cr_check(n == want, "/proc/self/task has %d tasks, wanted %d", n, want);
}

static void check_signals(void)
{
	cr_check(cr_blocked_now() == main_mask, "main blocks %#llx, blocked %#llx",
		 (unsigned long long)cr_blocked_now(), (unsigned long long)main_mask);
	cr_check(!status_mask("/proc/self/status", "ShdPnd"), "process-pending signals %#llx",
		 (unsigned long long)status_mask("/proc/self/status", "ShdPnd"));
	cr_check(!status_mask("/proc/thread-self/status", "SigPnd"), "main has signals pending");
	for (int i = 0; i < NTHREADS; i++) {
		char path[64];
		uint64_t want = i == T_PENDING ? bit(SIG_PENDING) : 0, got;

		snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)thr[i].tid);
		got = status_mask(path, "SigPnd");
		cr_check(got == want, "thread %d (%s) has signals %#llx pending, wanted %#llx", i,
			 kinds[i].what, (unsigned long long)got, (unsigned long long)want);
	}
}

static void wake_all(void)
{
	long woken;

	atomic_store(&phase, VERIFY);
	__atomic_store_n(&futex_word, 1, __ATOMIC_RELEASE);
	woken = futex(&futex_word, FUTEX_WAKE, INT_MAX, NULL);
	cr_check(woken == 1, "FUTEX_WAKE woke %ld waiters, wanted the futex thread", woken);
	pthread_mutex_lock(&cond_lock);
	cond_go = true;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&cond_lock);
	cr_check(write(poll_pipe[1], "p", 1) == 1, "write: %m");
	cr_check(!kill(getpid(), SIGUSR1), "kill: %m");
	__atomic_store_n(&release_word, 1, __ATOMIC_RELEASE);
	futex(&release_word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
	cr_check(write(read_pipe[1], "r", 1) == 1, "write: %m");
	errno = pthread_mutex_unlock(&held);
	cr_check(!errno, "pthread_mutex_unlock: %m");
	errno = pthread_mutex_unlock(&held_pi);
	cr_check(!errno, "pthread_mutex_unlock(PI): %m");
}

/* The counting threads go on: a few more sleeps, many more turns of the loop. */
static void check_progress(void)
{
	uint64_t s0 = atomic_load(&thr[T_SLEEP].count), b0 = atomic_load(&thr[T_BUSY].count);
	int64_t deadline = cr_now_ns(CLOCK_MONOTONIC) + VERIFY_SECS * 1000000000LL;

	while (atomic_load(&thr[T_SLEEP].count) < s0 + 3 ||
	       atomic_load(&thr[T_BUSY].count) < b0 + 1000) {
		check_thread_errors();
		cr_check(
		    cr_now_ns(CLOCK_MONOTONIC) < deadline,
		    "counting stopped: nanosleep %llu -> %llu, busy %llu -> %llu",
		    (unsigned long long)s0, (unsigned long long)atomic_load(&thr[T_SLEEP].count),
		    (unsigned long long)b0, (unsigned long long)atomic_load(&thr[T_BUSY].count));
		usleep(5000);
	}
}

static void join_all(void)
{
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += VERIFY_SECS;
	for (int i = 0; i < NTHREADS; i++) {
		void *ret = NULL;
		int e = pthread_timedjoin_np(thr[i].handle, &ret, &deadline);

		if (e == ETIMEDOUT) {
			char sc[256];

			check_thread_errors();
			/* gone, but its tid was never cleared: no clear-tid address */
			cr_check(
			    task_state(thr[i].tid) != '?',
			    "thread %d (%s, tid %d) ended, but pthread_join still waits for it", i,
			    kinds[i].what, (int)thr[i].tid);
			task_syscall(thr[i].tid, sc, sizeof(sc));
			cr_fail("thread %d (%s, tid %d) did not end: state %c, syscall %.40s", i,
				kinds[i].what, (int)thr[i].tid, task_state(thr[i].tid), sc);
		}
		cr_check(!e && ret == &thr[i], "pthread_timedjoin_np(%d): %s", i, strerror(e));
	}
}

/* Once joined, the threads leave /proc/self/task (they may take a moment). */
static void await_alone(void)
{
	int64_t deadline = cr_now_ns(CLOCK_MONOTONIC) + VERIFY_SECS * 1000000000LL;
	char path[64];

	for (int i = 0; i < NTHREADS; i++) {
		snprintf(path, sizeof(path), "/proc/self/task/%d", (int)thr[i].tid);
		while (!access(path, F_OK) && cr_now_ns(CLOCK_MONOTONIC) < deadline)
			usleep(1000);
	}
	check_tasks(1);
}

int main(void)
{
	cr_init();
	block(SIGUSR1, SIG_BLOCK); /* and so in every thread but the sigwait one */
	main_mask = cr_blocked_now();
	handle(SIGUSR1, on_usr1, 0);
	handle(SIG_ONSTACK, on_onstack, SA_ONSTACK);
	handle(SIGALRM, on_alarm, 0);
	if (pipe2(poll_pipe, O_CLOEXEC) || pipe2(read_pipe, O_CLOEXEC))
		cr_fail("pipe2: %m");
	init_mutexes();
	start_threads();
	cr_ready();
	cr_wait();

	alarm(ALARM_SECS); /* whatever hangs below: fail, naming the step */
	step = "checking the threads";
	check_thread_errors();
	check_tasks(NTHREADS + 1);
	check_signals();
	cr_check(gettid() == getpid(), "main's tid %d is not the pid %d", (int)gettid(),
		 (int)getpid());
	await_states("after SIGUSR2", VERIFY_SECS);
	step = "waking the threads";
	wake_all();
	check_progress();
	atomic_store(&phase, DONE);
	step = "joining the threads";
	join_all();
	check_thread_errors();
	await_alone();
	cr_pass();
}
