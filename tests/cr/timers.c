// SPDX-License-Identifier: MIT
/*
 * Interval and POSIX timers survive checkpoint/restart:
 *  - setitimer ITIMER_REAL (1000 s, interval 500 s), ITIMER_VIRTUAL (2000 s,
 *    interval 300 s) and ITIMER_PROF (3000 s, interval 250 s): still armed
 *    after restart, with the value a few seconds from what elapsed allows and
 *    the interval exact;
 *  - POSIX timers: a CLOCK_MONOTONIC one armed at 1000 s (interval 100 s,
 *    SIGRTMIN+1, sival 42), a CLOCK_REALTIME one armed with TIMER_ABSTIME, and
 *    an unarmed one (SIGRTMIN+2, sival 4242) that is armed for 2 s after
 *    restart and must fire then, not before, with its si_value;
 *    /proc/self/timers (ids, signals, values, clocks) must read the same.
 * None of the timers may fire while waiting.
 */
#include <sys/time.h>

#include "cr/crtest.h"

#define SLACK_NS  (5 * NSEC) /* how far a restored value may be from the ideal */
#define NSEC	  1000000000LL
#define TICK_NS	  (NSEC / 20) /* a few ticks: setitimer, and maybe the restore, add one */
#define FIRE_IN	  2	      /* seconds, the timer armed after restart */
#define ABS_AHEAD 1500	      /* seconds, the absolute CLOCK_REALTIME timer */

static timer_t mono, absolute, late;
static int64_t t0_mono, abs_deadline;
static volatile int fired[65];
static char timers_before[4096];

static void on_timer(int sig)
{
	fired[sig]++;
}

static void handle(int sig)
{
	struct sigaction sa = { .sa_handler = on_timer };

	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL))
		cr_fail("sigaction(%d): %m", sig);
}

static void set_itimer(int which, time_t value, time_t interval)
{
	struct itimerval it = { .it_value = { value, 0 }, .it_interval = { interval, 0 } };

	if (setitimer(which, &it, NULL))
		cr_fail("setitimer(%d): %m", which);
}

static timer_t new_timer(clockid_t clk, int sig, int value)
{
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = sig };
	timer_t t;

	ev.sigev_value.sival_int = value;
	if (timer_create(clk, &ev, &t))
		cr_fail("timer_create: %m");
	return t;
}

static void arm(timer_t t, int flags, int64_t value_ns, time_t interval)
{
	struct itimerspec its = { .it_value = { value_ns / NSEC, value_ns % NSEC },
				  .it_interval = { interval, 0 } };

	if (timer_settime(t, flags, &its, NULL))
		cr_fail("timer_settime: %m");
}

/* /proc/self/timers on one line, so that a FAIL message stays one line */
static void read_timers(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/timers", "re");
	size_t n;

	if (!f)
		cr_fail("open /proc/self/timers: %m");
	n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	fclose(f);
	for (char *p = buf; *p; p++)
		if (*p == '\n')
			*p = p[1] ? ' ' : 0;
}

static int64_t tv_ns(struct timeval tv)
{
	return tv.tv_sec * NSEC + tv.tv_usec * 1000LL;
}

static int64_t ts_ns(struct timespec ts)
{
	return ts.tv_sec * NSEC + ts.tv_nsec;
}

/* value within [lo - slack, hi], the interval exact */
static void check_range(const char *what, int64_t value, int64_t lo, int64_t hi, int64_t interval,
			int64_t want_interval)
{
	cr_check(value > 0, "%s is disarmed", what);
	cr_check(value >= lo - SLACK_NS && value <= hi, "%s has %lld ms left, wanted %lld..%lld ms",
		 what, (long long)value / 1000000, (long long)(lo - SLACK_NS) / 1000000,
		 (long long)hi / 1000000);
	cr_check(interval == want_interval, "%s interval is %lld ns, wanted %lld ns", what,
		 (long long)interval, (long long)want_interval);
}

static void check_itimers(int64_t elapsed)
{
	struct itimerval it;

	getitimer(ITIMER_REAL, &it);
	check_range("ITIMER_REAL", tv_ns(it.it_value), 1000 * NSEC - elapsed, 1000 * NSEC,
		    tv_ns(it.it_interval), 500 * NSEC);
	/* CPU time: the program hardly runs; setitimer adds a tick to these */
	getitimer(ITIMER_VIRTUAL, &it);
	check_range("ITIMER_VIRTUAL", tv_ns(it.it_value), 2000 * NSEC, 2000 * NSEC + TICK_NS,
		    tv_ns(it.it_interval), 300 * NSEC);
	getitimer(ITIMER_PROF, &it);
	check_range("ITIMER_PROF", tv_ns(it.it_value), 3000 * NSEC, 3000 * NSEC + TICK_NS,
		    tv_ns(it.it_interval), 250 * NSEC);
}

static void check_posix(int64_t elapsed)
{
	struct itimerspec its;
	int64_t left;
	char now[sizeof(timers_before)];

	read_timers(now, sizeof(now));
	cr_check(!strcmp(now, timers_before), "/proc/self/timers changed: \"%s\", was \"%s\"", now,
		 timers_before);
	if (timer_gettime(mono, &its))
		cr_fail("timer_gettime(monotonic timer): %m");
	check_range("CLOCK_MONOTONIC timer", ts_ns(its.it_value), 1000 * NSEC - elapsed,
		    1000 * NSEC, ts_ns(its.it_interval), 100 * NSEC);
	if (timer_gettime(absolute, &its))
		cr_fail("timer_gettime(absolute timer): %m");
	left = abs_deadline - cr_now_ns(CLOCK_REALTIME);
	check_range("absolute CLOCK_REALTIME timer", ts_ns(its.it_value), left, left + SLACK_NS,
		    ts_ns(its.it_interval), 0);
	if (timer_gettime(late, &its))
		cr_fail("timer_gettime(unarmed timer): %m");
	cr_check(!its.it_value.tv_sec && !its.it_value.tv_nsec, "the unarmed timer is armed");
	cr_check(timer_getoverrun(mono) == 0, "overrun on the monotonic timer");
}

/* The timer armed now fires after FIRE_IN seconds, never earlier, with its value. */
static void check_fires(void)
{
	struct timespec limit = { FIRE_IN + 3, 0 };
	siginfo_t si;
	sigset_t set;
	int64_t t0 = cr_now_ns(CLOCK_MONOTONIC), took;
	int sig;

	arm(late, 0, FIRE_IN * NSEC, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 2);
	sig = sigtimedwait(&set, &si, &limit);
	took = cr_now_ns(CLOCK_MONOTONIC) - t0;
	cr_check(sig == SIGRTMIN + 2, "the %d s timer did not fire in %d s (%m)", FIRE_IN,
		 FIRE_IN + 3);
	cr_check(took >= FIRE_IN * NSEC, "the %d s timer fired after %lld ms", FIRE_IN,
		 (long long)took / 1000000);
	cr_check(si.si_code == SI_TIMER, "timer signal si_code %d, wanted SI_TIMER", si.si_code);
	cr_check(si.si_value.sival_int == 4242, "timer signal si_value %d, wanted 4242",
		 si.si_value.sival_int);
}

static void setup(void)
{
	sigset_t set;

	handle(SIGALRM);
	handle(SIGVTALRM);
	handle(SIGPROF);
	handle(SIGRTMIN + 1);
	handle(SIGRTMIN + 4);
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 2);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		cr_fail("sigprocmask: %m");
	t0_mono = cr_now_ns(CLOCK_MONOTONIC);
	set_itimer(ITIMER_REAL, 1000, 500);
	set_itimer(ITIMER_VIRTUAL, 2000, 300);
	set_itimer(ITIMER_PROF, 3000, 250);
	mono = new_timer(CLOCK_MONOTONIC, SIGRTMIN + 1, 42);
	arm(mono, 0, 1000 * NSEC, 100);
	absolute = new_timer(CLOCK_REALTIME, SIGRTMIN + 4, 7);
	abs_deadline = cr_now_ns(CLOCK_REALTIME) + ABS_AHEAD * NSEC;
	arm(absolute, TIMER_ABSTIME, abs_deadline, 0);
	late = new_timer(CLOCK_MONOTONIC, SIGRTMIN + 2, 4242);
	read_timers(timers_before, sizeof(timers_before));
}

int main(void)
{
	int64_t elapsed;

	cr_init();
	setup();
	cr_ready();
	cr_wait();
	elapsed = cr_now_ns(CLOCK_MONOTONIC) - t0_mono;
	check_itimers(elapsed);
	check_posix(elapsed);
	for (int sig = 1; sig <= 64; sig++)
		cr_check(!fired[sig], "timer signal %d fired while waiting", sig);
	check_fires();
	cr_pass();
}
