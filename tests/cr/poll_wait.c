// SPDX-License-Identifier: MIT
/*
 * A process blocked in poll(NULL, 0, -1) stays blocked across
 * checkpoint/restart: poll may only return when SIGUSR2 arrives, with -1 and
 * EINTR. Returning earlier (a checkpoint that interrupted the syscall for
 * good, a restart that resumed it wrongly) is a failure.
 */
#include <poll.h>

#include "cr/crtest.h"

int main(void)
{
	int ret;

	cr_init();
	cr_unblock();
	cr_ready();
	ret = poll(NULL, 0, -1);
	cr_check(cr_flag, "poll returned %d (%m) before SIGUSR2", ret);
	cr_check(ret == -1 && errno == EINTR, "poll returned %d (%m), wanted -1/EINTR", ret);
	cr_pass();
}
