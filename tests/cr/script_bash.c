// SPDX-License-Identifier: MIT
/*
 * script(1) running an interactive bash, on a pty this program holds:
 * the tree is this program, script (its own session, the pty as its
 * controlling terminal, a pty of its own for bash, a signalfd) and bash
 * (a third session). After the checkpoint a command typed on the outer
 * pty must be answered: script's poll() and bash's read go on as if
 * nothing happened.
 */
#include "cr/ptytest.h"

#include <sys/wait.h>

/* Reads the master until WANT appears, for at most SECONDS. */
static bool wait_for(int m, const char *want, int seconds)
{
	static char seen[65536];
	size_t n = 0;
	int64_t end = cr_now_ns(CLOCK_MONOTONIC) + (int64_t)seconds * 1000000000;

	seen[0] = '\0';
	while (cr_now_ns(CLOCK_MONOTONIC) < end) {
		struct pollfd p = { .fd = m, .events = POLLIN };
		ssize_t k;

		if (poll(&p, 1, 100) != 1)
			continue;
		k = read(m, seen + n, sizeof(seen) - 1 - n);
		if (k <= 0)
			return false;
		n += (size_t)k;
		seen[n] = '\0';
		if (strstr(seen, want))
			return true;
		if (n > sizeof(seen) / 2) { /* keep the tail */
			memmove(seen, seen + n / 2, n - n / 2 + 1);
			n -= n / 2;
		}
	}
	return false;
}

int main(void)
{
	int m, s, index, status;
	pid_t child;

	cr_init();
	m = pt_open("/dev/ptmx", &s, &index);
	child = fork();
	if (child == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setsid();
		ioctl(s, TIOCSCTTY, 0);
		dup2(s, 0);
		dup2(s, 1);
		dup2(s, 2);
		close(s);
		close(m);
		execlp("script", "script", "-qfc", "env PS1='cr> ' bash --norc --noprofile -i",
		       "/dev/null", (char *)NULL);
		_exit(127);
	}
	close(s);
	cr_check(wait_for(m, "cr> ", 10), "no bash prompt through script");
	usleep(200000); /* everyone idle: script in poll, bash in its read */

	cr_ready();
	cr_wait();

	pt_write(m, "echo $((6*7))\n", 14);
	cr_check(wait_for(m, "42", 5), "bash did not answer through script after the checkpoint");
	pt_write(m, "exit\n", 5);
	cr_check(waitpid(child, &status, 0) == child, "waitpid: %m");
	cr_pass();
}
