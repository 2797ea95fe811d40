// SPDX-License-Identifier: MIT
/*
 * A process blocked in pause() stays blocked across checkpoint/restart: pause
 * may only return when SIGUSR2 arrives (-1, EINTR, cr_flag set).
 */
#include "cr/crtest.h"

int main(void)
{
	int ret;

	cr_init();
	cr_unblock();
	cr_ready();
	ret = pause();
	cr_check(cr_flag, "pause returned %d (%m) before SIGUSR2", ret);
	cr_check(ret == -1 && errno == EINTR, "pause returned %d (%m), wanted -1/EINTR", ret);
	cr_pass();
}
