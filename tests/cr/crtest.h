// SPDX-License-Identifier: MIT
/*
 * Shared helpers of the checkpoint/restart test programs (tests/cr/NAME.c).
 *
 * The protocol, driven by tests/cr/run.sh:
 *
 *	cr_init();		first thing: SIGUSR2 handler, SIGUSR2 blocked
 *	... set up state ...
 *	cr_ready();		prints "ready": the driver may checkpoint now
 *	cr_wait();		sleeps until SIGUSR2 ("verify now")
 *	... verify every bit of the state, cr_fail("why") on a difference ...
 *	cr_pass();
 *
 * stdout and stderr are a log file opened by the driver with >> (O_APPEND),
 * stdin is /dev/null. A program prints "ready" once; after a restart the
 * restored copy appends its verdict to the same log. Programs that must be
 * blocked in a given syscall (poll, nanosleep, pause) call cr_unblock() and
 * do their own waiting, checking cr_flag.
 *
 * Temporary files go to $CR_TMPDIR (default /tmp) and are removed at the end
 * unless $CR_KEEP_FILES is set: the driver sets it when it will restart an
 * image after the original has already finished.
 */
#ifndef CRYO_TESTS_CR_CRTEST_H
#define CRYO_TESTS_CR_CRTEST_H

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CR_PAGE 4096UL

/* Set by the SIGUSR2 handler: the driver wants the state verified now. */
static volatile sig_atomic_t cr_flag;

static inline void cr_usr2(int sig)
{
	(void)sig;
	cr_flag = 1;
}

static inline __attribute__((noreturn)) void cr_pass(void)
{
	printf("PASS\n");
	fflush(stdout);
	exit(0);
}

static inline __attribute__((noreturn, format(printf, 1, 2))) void cr_fail(const char *fmt, ...)
{
	int saved = errno; /* so that %m still names the caller's error */
	va_list ap;

	fflush(stdout);
	printf("FAIL: ");
	va_start(ap, fmt);
	errno = saved;
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(1);
}

/* cr_check(cond, "what went wrong", ...): fail with the reason unless cond. */
#define cr_check(cond, ...)                                                                        \
	do {                                                                                       \
		if (!(cond))                                                                       \
			cr_fail(__VA_ARGS__);                                                      \
	} while (0)

/*
 * SIGUSR2 stays blocked except inside the wait, so that a "verify now" that
 * arrives between checking cr_flag and going to sleep is not lost.
 */
static inline void cr_init(void)
{
	struct sigaction sa = { .sa_handler = cr_usr2 };
	sigset_t set;

	setvbuf(stdout, NULL, _IOLBF, 0);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR2, &sa, NULL))
		cr_fail("sigaction(SIGUSR2): %m");
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		cr_fail("sigprocmask: %m");
}

/* For programs that wait in their own syscall: let SIGUSR2 interrupt it. */
static inline void cr_unblock(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	if (sigprocmask(SIG_UNBLOCK, &set, NULL))
		cr_fail("sigprocmask: %m");
}

static inline void cr_ready(void)
{
	printf("ready\n");
	fflush(stdout);
}

/* A signal set as the kernel keeps a mask: bit N-1 for signal N. */
static inline uint64_t cr_sigset_bits(const sigset_t *set)
{
	uint64_t m = 0;

	for (int sig = 1; sig <= 64; sig++)
		if (sigismember(set, sig) == 1)
			m |= 1ULL << (sig - 1);
	return m;
}

/* The calling thread's blocked signals, as cr_sigset_bits(); all ones if unreadable. */
static inline uint64_t cr_blocked_now(void)
{
	sigset_t set;

	return sigprocmask(SIG_BLOCK, NULL, &set) ? ~0ULL : cr_sigset_bits(&set);
}

/* Sleeps until SIGUSR2, with the signal mask otherwise unchanged. */
static inline void cr_wait(void)
{
	sigset_t mask;

	if (sigprocmask(SIG_BLOCK, NULL, &mask))
		cr_fail("sigprocmask: %m");
	sigdelset(&mask, SIGUSR2);
	while (!cr_flag)
		sigsuspend(&mask);
}

static inline const char *cr_tmpdir(void)
{
	const char *d = getenv("CR_TMPDIR");

	return d && *d ? d : "/tmp";
}

static inline bool cr_keep_files(void)
{
	const char *k = getenv("CR_KEEP_FILES");

	return k && *k;
}

static inline uint64_t cr_xorshift64(uint64_t x)
{
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

/* A pattern word that depends on a seed (region, page) and the word's index. */
static inline uint64_t cr_pattern(uint64_t seed, uint64_t i)
{
	return cr_xorshift64((seed + 1) * 0x9e3779b97f4a7c15ULL + i) | 1;
}

static inline void cr_fill(void *p, size_t len, uint64_t seed)
{
	uint64_t *w = p;

	for (size_t i = 0; i < len / 8; i++)
		w[i] = cr_pattern(seed, i);
}

/* Index of the first word of p that is not the pattern, or -1. */
static inline long cr_mismatch(const void *p, size_t len, uint64_t seed)
{
	const uint64_t *w = p;

	for (size_t i = 0; i < len / 8; i++)
		if (w[i] != cr_pattern(seed, i))
			return (long)i;
	return -1;
}

static inline bool cr_is_zero(const void *p, size_t len)
{
	const uint64_t *w = p;

	for (size_t i = 0; i < len / 8; i++)
		if (w[i])
			return false;
	return true;
}

static inline int64_t cr_now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * The /proc/self/maps line of the mapping that holds addr: its start, end,
 * permissions ("rw-p") and path ("" if anonymous). Returns false if none.
 */
struct cr_map {
	unsigned long start, end, pgoff;
	char perms[5];
	char path[256];
};

static inline bool cr_find_map(const void *addr, struct cr_map *m)
{
	unsigned long a = (unsigned long)addr;
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		cr_fail("open /proc/self/maps: %m");
	while (!found && fgets(line, sizeof(line), f)) {
		int n = 0;

		memset(m, 0, sizeof(*m));
		if (sscanf(line, "%lx-%lx %4s %lx %*s %*s %n", &m->start, &m->end, m->perms,
			   &m->pgoff, &n) < 4)
			continue;
		if (a < m->start || a >= m->end)
			continue;
		found = true;
		if (n > 0)
			snprintf(m->path, sizeof(m->path), "%s", line + n);
		m->path[strcspn(m->path, "\n")] = 0;
	}
	fclose(f);
	return found;
}

#endif
