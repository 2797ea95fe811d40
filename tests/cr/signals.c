// SPDX-License-Identifier: MIT
/*
 * Signal state survives checkpoint/restart:
 *  - the disposition of every signal 1-64 (handler, flags, mask and the
 *    sa_restorer libc put there), read with raw rt_sigaction before and after,
 *    plus handlers installed with distinct flags (SA_RESTART, SA_SIGINFO,
 *    SA_ONSTACK, SA_NODEFER, SA_RESETHAND, SA_NOCLDSTOP), masks and SIG_IGN;
 *  - the blocked mask;
 *  - pending signals: SIGUSR1 raised (thread-directed), SIGWINCH sent with
 *    kill and SIGRTMIN+3 queued twice with values 11 and 22 (process-wide),
 *    all blocked: after restart they are still pending, each in the right
 *    queue, and once unblocked the handlers see them in order with the right
 *    siginfo;
 *  - the alternate signal stack, with SS_AUTODISARM.
 * Then the flags are exercised: SA_ONSTACK runs on the alternate stack,
 * SA_RESETHAND resets, SA_NODEFER and sa_mask shape the mask in the handler.
 */
#include <sys/syscall.h>

#include "cr/crtest.h"

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31) /* linux/signal.h; glibc does not have it */
#endif
#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000 /* set by libc, which hides the constant */
#endif

#define ALTSTACK_LEN (64 * 1024)
#define MAXLOG	     16

struct ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

struct spec {
	int sig;
	int flags;
	int handler; /* H_* */
	int mask[2]; /* signals in sa_mask, 0 for none */
};

enum {
	H_PLAIN,
	H_INFO,
	H_STACK,
	H_IGN
};

struct logged {
	int signo, code, value;
	pid_t pid;
};

static uint8_t altstack[ALTSTACK_LEN] __attribute__((aligned(16)));
static volatile int counts[65];
static volatile uint64_t mask_in_handler[65];
static volatile uintptr_t stack_in_handler;
static struct logged infolog[MAXLOG];
static volatile int ninfo;

static struct ksigaction before[65];
static uint64_t blocked_before;

static uint64_t bit(int sig)
{
	return 1ULL << (sig - 1);
}

/* Async-signal-safe: the raw syscall. */
static uint64_t blocked_now(void)
{
	uint64_t m = 0;

	syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &m, 8);
	return m;
}

static void on_plain(int sig)
{
	counts[sig]++;
	mask_in_handler[sig] = blocked_now();
}

static void on_info(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	counts[sig]++;
	mask_in_handler[sig] = blocked_now();
	if (ninfo < MAXLOG)
		infolog[ninfo++] =
		    (struct logged){ sig, si->si_code, si->si_value.sival_int, si->si_pid };
}

static void on_stack(int sig)
{
	volatile int here;

	counts[sig]++;
	/* only the address is kept: it tells which stack the handler ran on */
	// cppcheck-suppress danglingLifetime
	stack_in_handler = (uintptr_t)&here;
}

static void *handler_of(int h)
{
	switch (h) {
	case H_PLAIN:
		return (void *)on_plain;
	case H_INFO:
		return (void *)on_info;
	case H_STACK:
		return (void *)on_stack;
	default:
		return (void *)SIG_IGN;
	}
}

/* SIGRTMIN is not a constant: the table is built at run time. */
static int specs(struct spec *s)
{
	const struct spec t[] = {
		{ SIGHUP, SA_RESTART, H_PLAIN, { SIGINT } },
		{ SIGINT, SA_SIGINFO, H_INFO, { 0 } },
		{ SIGQUIT, SA_ONSTACK, H_STACK, { SIGHUP, SIGTERM } },
		{ SIGPIPE, SA_NODEFER, H_PLAIN, { 0 } },
		{ SIGTERM, SA_RESETHAND, H_PLAIN, { 0 } },
		{ SIGUSR1, SA_SIGINFO | SA_RESTART, H_INFO, { SIGRTMIN + 3 } },
		{ SIGRTMIN + 3, SA_SIGINFO, H_INFO, { 0 } },
		{ SIGURG,
		  SA_SIGINFO | SA_ONSTACK | SA_RESTART | SA_NODEFER,
		  H_INFO,
		  { SIGWINCH, SIGRTMIN + 5 } },
		{ SIGWINCH, SA_RESTART | SA_RESETHAND, H_PLAIN, { SIGRTMAX } },
		{ SIGCHLD, SA_NOCLDSTOP | SA_RESTART, H_PLAIN, { 0 } },
		{ SIGRTMAX, SA_SIGINFO | SA_ONSTACK, H_INFO, { SIGQUIT } },
		{ SIGTSTP, 0, H_IGN, { 0 } },
		{ SIGTTOU, SA_RESTART, H_IGN, { SIGUSR1 } },
	};

	memcpy(s, t, sizeof(t));
	return (int)(sizeof(t) / sizeof(t[0]));
}

static void install(const struct spec *s)
{
	struct sigaction sa = { .sa_flags = s->flags };

	sa.sa_handler = (void (*)(int))handler_of(s->handler);
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 2 && s->mask[i]; i++)
		sigaddset(&sa.sa_mask, s->mask[i]);
	if (sigaction(s->sig, &sa, NULL))
		cr_fail("sigaction(%d): %m", s->sig);
}

static void setup_altstack(void)
{
	stack_t ss = { .ss_sp = altstack, .ss_size = ALTSTACK_LEN, .ss_flags = SS_AUTODISARM };

	if (sigaltstack(&ss, NULL))
		cr_fail("sigaltstack: %m");
}

static void block_and_queue(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGRTMIN + 3);
	sigaddset(&set, SIGWINCH);
	sigaddset(&set, SIGRTMIN + 7);
	sigaddset(&set, SIGTTIN);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		cr_fail("sigprocmask: %m");
	if (raise(SIGUSR1) || kill(getpid(), SIGWINCH))
		cr_fail("raise: %m");
	if (sigqueue(getpid(), SIGRTMIN + 3, (union sigval){ .sival_int = 11 }) ||
	    sigqueue(getpid(), SIGRTMIN + 3, (union sigval){ .sival_int = 22 }))
		cr_fail("sigqueue: %m");
}

static void snapshot(struct ksigaction *k)
{
	for (int sig = 1; sig <= 64; sig++)
		if (syscall(SYS_rt_sigaction, sig, NULL, &k[sig], 8))
			cr_fail("rt_sigaction(%d): %m", sig);
}

static void check_dispositions(const struct spec *s, int n)
{
	struct ksigaction now[65];

	snapshot(now);
	for (int sig = 1; sig <= 64; sig++) {
		const struct ksigaction *a = &before[sig], *b = &now[sig];

		cr_check(a->handler == b->handler, "signal %d: handler %p, was %p", sig, b->handler,
			 a->handler);
		cr_check(a->flags == b->flags, "signal %d: flags %#lx, were %#lx", sig, b->flags,
			 a->flags);
		cr_check(a->restorer == b->restorer, "signal %d: sa_restorer %p, was %p", sig,
			 b->restorer, a->restorer);
		cr_check(a->mask == b->mask, "signal %d: sa_mask %#llx, was %#llx", sig,
			 (unsigned long long)b->mask, (unsigned long long)a->mask);
	}
	/* and through libc, against what was asked for */
	for (int i = 0; i < n; i++) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		if (sigaction(s[i].sig, NULL, &sa))
			cr_fail("sigaction(%d): %m", s[i].sig);
		cr_check((void *)sa.sa_handler == handler_of(s[i].handler),
			 "signal %d: wrong handler", s[i].sig);
		cr_check((sa.sa_flags & ~SA_RESTORER) == s[i].flags,
			 "signal %d: flags %#x, wanted %#x", s[i].sig, sa.sa_flags, s[i].flags);
		for (int j = 0; j < 2 && s[i].mask[j]; j++)
			cr_check(sigismember(&sa.sa_mask, s[i].mask[j]) == 1,
				 "signal %d: %d left its sa_mask", s[i].sig, s[i].mask[j]);
	}
}

static void check_altstack(void)
{
	stack_t ss;

	if (sigaltstack(NULL, &ss))
		cr_fail("sigaltstack: %m");
	cr_check(ss.ss_sp == altstack && ss.ss_size == ALTSTACK_LEN,
		 "sigaltstack is %p+%zu, was %p+%d", ss.ss_sp, ss.ss_size, (void *)altstack,
		 ALTSTACK_LEN);
	cr_check((unsigned int)ss.ss_flags == SS_AUTODISARM,
		 "sigaltstack flags %#x, wanted SS_AUTODISARM", ss.ss_flags);
}

/* A hex mask line of /proc/self/status, such as SigPnd or ShdPnd. */
static uint64_t status_mask(const char *key)
{
	char line[256];
	unsigned long long v = 0;
	size_t len = strlen(key);
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		cr_fail("open /proc/self/status: %m");
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ':')
			v = strtoull(line + len + 1, NULL, 16);
	fclose(f);
	return v;
}

static void check_pending(void)
{
	uint64_t want = bit(SIGUSR1) | bit(SIGWINCH) | bit(SIGRTMIN + 3), got;
	uint64_t thread = status_mask("SigPnd"), shared = status_mask("ShdPnd");
	sigset_t set;

	if (sigpending(&set))
		cr_fail("sigpending: %m");
	got = cr_sigset_bits(&set);
	cr_check(got == want, "pending signals %#llx, wanted %#llx", (unsigned long long)got,
		 (unsigned long long)want);
	cr_check(thread == bit(SIGUSR1), "thread-pending %#llx, wanted SIGUSR1 only",
		 (unsigned long long)thread);
	cr_check(shared == (bit(SIGWINCH) | bit(SIGRTMIN + 3)),
		 "process-pending %#llx, wanted SIGWINCH and SIGRTMIN+3",
		 (unsigned long long)shared);
}

static void check_logged(int i, int signo, int code, int value)
{
	const struct logged *l = &infolog[i];

	cr_check(ninfo > i, "only %d siginfo handler calls, wanted signal %d next", ninfo, signo);
	cr_check(l->signo == signo, "handler call %d got signal %d, wanted %d", i, l->signo, signo);
	cr_check(l->code == code, "signal %d: si_code %d, wanted %d", signo, l->code, code);
	cr_check(l->pid == getpid(), "signal %d: si_pid %d, wanted %d", signo, (int)l->pid,
		 (int)getpid());
	cr_check(code != SI_QUEUE || l->value == value, "signal %d: si_value %d, wanted %d", signo,
		 l->value, value);
}

static void unblock_pending(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGRTMIN + 3);
	sigaddset(&set, SIGWINCH);
	if (sigprocmask(SIG_UNBLOCK, &set, NULL))
		cr_fail("sigprocmask: %m");
	/* each handler returned before sigprocmask did: all ran, lowest number first */
	check_logged(0, SIGUSR1, SI_TKILL, 0);
	check_logged(1, SIGRTMIN + 3, SI_QUEUE, 11);
	check_logged(2, SIGRTMIN + 3, SI_QUEUE, 22);
	cr_check(ninfo == 3, "%d siginfo handler calls, wanted 3", ninfo);
	cr_check(counts[SIGWINCH] == 1, "SIGWINCH handled %d times, wanted once", counts[SIGWINCH]);
	cr_check(mask_in_handler[SIGUSR1] & bit(SIGRTMIN + 3),
		 "SIGRTMIN+3 was not blocked in the SIGUSR1 handler (its sa_mask)");
	cr_check(blocked_now() ==
		     (blocked_before & ~(bit(SIGUSR1) | bit(SIGWINCH) | bit(SIGRTMIN + 3))),
		 "blocked mask is %#llx after unblocking", (unsigned long long)blocked_now());
}

static void exercise_flags(void)
{
	struct sigaction sa;
	uintptr_t lo = (uintptr_t)altstack, hi = lo + ALTSTACK_LEN;

	raise(SIGQUIT);
	cr_check(counts[SIGQUIT] == 1, "SIGQUIT handler did not run");
	cr_check(stack_in_handler >= lo && stack_in_handler < hi,
		 "SA_ONSTACK handler ran at %#lx, outside the alternate stack %#lx-%#lx",
		 (unsigned long)stack_in_handler, (unsigned long)lo, (unsigned long)hi);
	raise(SIGTERM);
	cr_check(counts[SIGTERM] == 1, "SIGTERM handler did not run");
	sigaction(SIGTERM, NULL, &sa);
	cr_check(sa.sa_handler == SIG_DFL, "SA_RESETHAND did not reset SIGTERM");
	raise(SIGHUP);
	cr_check(mask_in_handler[SIGHUP] & bit(SIGHUP), "SIGHUP not blocked in its own handler");
	cr_check(mask_in_handler[SIGHUP] & bit(SIGINT), "sa_mask of SIGHUP lost SIGINT");
	raise(SIGPIPE);
	cr_check(!(mask_in_handler[SIGPIPE] & bit(SIGPIPE)), "SA_NODEFER of SIGPIPE is lost");
	raise(SIGINT);
	check_logged(3, SIGINT, SI_TKILL, 0);
}

int main(void)
{
	struct spec s[32];
	int n = specs(s);

	cr_init();
	for (int i = 0; i < n; i++)
		install(&s[i]);
	setup_altstack();
	block_and_queue();
	snapshot(before);
	blocked_before = blocked_now();
	cr_ready();
	cr_wait();
	check_dispositions(s, n);
	cr_check(blocked_now() == blocked_before, "blocked mask is %#llx, was %#llx",
		 (unsigned long long)blocked_now(), (unsigned long long)blocked_before);
	check_altstack();
	check_pending();
	unblock_pending();
	exercise_flags();
	cr_pass();
}
