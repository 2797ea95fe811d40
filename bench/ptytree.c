// SPDX-License-Identifier: MIT
/*
 * The small terminal tree of the benchmarks: the root holds the masters of
 * two ptys, with a few bytes queued each way, and two children, each the
 * leader of a session on one slave. "ready" once all is set; on SIGUSR2
 * the root checks the queued bytes are still there and exits 0.
 */
#define _GNU_SOURCE /* posix_openpt, TIOCGPTPEER */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static volatile sig_atomic_t verify;

static void on_usr2(int sig)
{
	(void)sig;
	verify = 1;
}

static int pair(int *ret_master)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY);

	if (m < 0 || grantpt(m) || unlockpt(m))
		return -1;
	*ret_master = m;
	return ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
}

int main(void)
{
	int m[2], s[2];

	signal(SIGUSR2, on_usr2);
	for (int i = 0; i < 2; i++) {
		s[i] = pair(&m[i]);
		if (s[i] < 0)
			return 2;
		if (fork() == 0) {
			setsid();
			ioctl(s[i], TIOCSCTTY, 0);
			for (;;)
				pause();
		}
		/* typed but not read, and written but not read: a queue each way */
		if (write(m[i], "ls\n", 3) != 3 || write(s[i], "out", 3) != 3)
			return 2;
	}
	printf("ready\n");
	fflush(stdout);
	while (!verify)
		pause();
	for (int i = 0; i < 2; i++) {
		char buf[8] = { 0 };

		if (read(m[i], buf, sizeof(buf)) < 3 || memcmp(buf, "out", 3))
			return 1;
	}
	return 0;
}
