// SPDX-License-Identifier: MIT
/*
 * A process sleeping in nanosleep(3 s) in a loop keeps sleeping correctly
 * across checkpoint/restart: a nanosleep that returns 0 must have slept at
 * least its request by CLOCK_MONOTONIC (the clock nanosleep measures, which
 * keeps running while the process is frozen or gone), and it may only fail
 * with EINTR once SIGUSR2 has arrived, leaving a sane remainder.
 */
#include "cr/crtest.h"

#define NSEC	 1000000000LL
#define SLEEP_NS (3 * NSEC)

int main(void)
{
	const struct timespec req = { SLEEP_NS / NSEC, SLEEP_NS % NSEC };
	int rounds = 0;

	cr_init();
	cr_unblock();
	cr_ready();
	while (!cr_flag) {
		struct timespec rem = { -1, -1 };
		int64_t t0 = cr_now_ns(CLOCK_MONOTONIC), slept;
		int ret = nanosleep(&req, &rem);

		slept = cr_now_ns(CLOCK_MONOTONIC) - t0;
		rounds++;
		if (ret == 0) {
			cr_check(slept >= SLEEP_NS, "nanosleep %d returned 0 after %lld ms of %lld",
				 rounds, (long long)slept / 1000000, SLEEP_NS / 1000000);
			continue;
		}
		cr_check(errno == EINTR, "nanosleep %d failed: %m", rounds);
		cr_check(cr_flag, "nanosleep %d: EINTR after %lld ms, before SIGUSR2", rounds,
			 (long long)slept / 1000000);
		cr_check(rem.tv_sec >= 0 && rem.tv_nsec >= 0 && rem.tv_nsec < NSEC &&
			     rem.tv_sec * NSEC + rem.tv_nsec <= SLEEP_NS,
			 "nanosleep %d: remainder %lld.%09ld s", rounds, (long long)rem.tv_sec,
			 rem.tv_nsec);
	}
	printf("nanosleep_wait: %d rounds\n", rounds);
	cr_pass();
}
