// SPDX-License-Identifier: MIT
/*
 * Threads come and go across checkpoint/restart: a driver thread creates a
 * worker, joins it and checks its result, over and over, from before "ready"
 * until well after SIGUSR2, so the checkpoint may find a worker being
 * created, running, exiting or just joined. Each worker checks that it is a
 * fresh thread: its __thread variable starts at its initial value 7, its tid
 * is its own, its signal mask and name are the driver's (inherited); then it
 * sums a pattern over its index and returns the sum, which the driver
 * computes too. After SIGUSR2, main waits for 200 more rounds, all right,
 * stops the driver and joins it; then it must be alone in /proc/self/task.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "cr/crtest.h"

#define ROUNDS	    200 /* after SIGUSR2 */
#define WORDS	    512 /* summed by each worker */
#define VERIFY_SECS 3

static __thread int fresh = 7;

static pthread_t driver;
static pid_t driver_tid;
static uint64_t driver_mask;
static const char driver_name[] = "crt-driver";
static _Atomic unsigned long rounds;
static _Atomic int stop;
static _Atomic int claimed, failed; /* err is being written, has been written */
static char err[256];

static __attribute__((format(printf, 1, 2))) void record(const char *fmt, ...)
{
	int no = 0;
	va_list ap;

	if (!atomic_compare_exchange_strong(&claimed, &no, 1))
		return; /* the first error is the one to report */
	va_start(ap, fmt);
	vsnprintf(err, sizeof(err), fmt, ap);
	va_end(ap);
	atomic_store(&failed, 1);
}

static uint64_t sum(unsigned long k)
{
	uint64_t s = 0;

	for (uint64_t i = 0; i < WORDS; i++)
		s += cr_pattern(k, i);
	return s;
}

static void *worker(void *arg)
{
	unsigned long k = (unsigned long)(uintptr_t)arg;
	char name[17] = { 0 };
	pid_t tid = gettid();

	if (fresh != 7)
		record("worker %lu: __thread variable is %d, not its initial 7", k, fresh);
	fresh = -1; /* the next worker starts with 7 again, even on this very stack */
	if (tid == driver_tid || tid == getpid())
		record("worker %lu: tid %d is the driver's or main's", k, (int)tid);
	if (cr_blocked_now() != driver_mask)
		record("worker %lu: blocked signals %#llx, the driver's are %#llx", k,
		       (unsigned long long)cr_blocked_now(), (unsigned long long)driver_mask);
	if (prctl(PR_GET_NAME, name) || strcmp(name, driver_name))
		record("worker %lu: named '%s', not the driver's '%s'", k, name, driver_name);
	return (void *)(uintptr_t)sum(k);
}

static void *drive(void *arg)
{
	(void)arg;
	driver_tid = gettid();
	driver_mask = cr_blocked_now();
	if (pthread_setname_np(pthread_self(), driver_name))
		record("pthread_setname_np failed");
	for (unsigned long k = 1; !atomic_load(&stop) && !atomic_load(&failed); k++) {
		pthread_t w;
		void *ret = NULL;
		int e = pthread_create(&w, NULL, worker, (void *)(uintptr_t)k);

		if (e) {
			record("round %lu: pthread_create: %s", k, strerror(e));
			break;
		}
		e = pthread_join(w, &ret);
		if (e) {
			record("round %lu: pthread_join: %s", k, strerror(e));
			break;
		}
		if ((uint64_t)(uintptr_t)ret != sum(k))
			record("round %lu: the worker returned %#llx, wanted %#llx", k,
			       (unsigned long long)(uintptr_t)ret, (unsigned long long)sum(k));
		if (gettid() != driver_tid)
			record("round %lu: the driver's tid is %d, was %d", k, (int)gettid(),
			       (int)driver_tid);
		atomic_fetch_add(&rounds, 1);
	}
	return NULL;
}

static void check_failed(void)
{
	cr_check(!atomic_load(&failed), "%s", err);
}

/* At least n rounds done, all right, within VERIFY_SECS. */
static void await_rounds(unsigned long n)
{
	int64_t deadline = cr_now_ns(CLOCK_MONOTONIC) + VERIFY_SECS * 1000000000LL;

	while (atomic_load(&rounds) < n) {
		check_failed();
		cr_check(cr_now_ns(CLOCK_MONOTONIC) < deadline,
			 "%lu rounds within %d s, wanted %lu", atomic_load(&rounds), VERIFY_SECS,
			 n);
		usleep(1000);
	}
	check_failed();
}

/* The Threads: line of /proc/self/status. */
static int threads_now(void)
{
	char line[256];
	int n = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		cr_fail("open /proc/self/status: %m");
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Threads:", 8))
			n = atoi(line + 8);
	fclose(f);
	return n;
}

/* The joined threads leave (they may take a moment). */
static void await_alone(void)
{
	int64_t deadline = cr_now_ns(CLOCK_MONOTONIC) + VERIFY_SECS * 1000000000LL;

	while (threads_now() != 1) {
		cr_check(cr_now_ns(CLOCK_MONOTONIC) < deadline, "still %d threads after the join",
			 threads_now());
		usleep(1000);
	}
}

int main(void)
{
	struct timespec deadline;
	unsigned long n0;

	cr_init();
	errno = pthread_create(&driver, NULL, drive, NULL);
	if (errno)
		cr_fail("pthread_create: %m");
	await_rounds(10);
	cr_ready();
	cr_wait();

	n0 = atomic_load(&rounds);
	await_rounds(n0 + ROUNDS);
	atomic_store(&stop, 1);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += VERIFY_SECS;
	errno = pthread_timedjoin_np(driver, NULL, &deadline);
	cr_check(!errno, "the driver did not end within %d s: %m", VERIFY_SECS);
	check_failed();
	cr_check(gettid() == getpid(), "main's tid %d is not the pid %d", (int)gettid(),
		 (int)getpid());
	await_alone();
	cr_pass();
}
