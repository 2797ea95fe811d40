// SPDX-License-Identifier: MIT
/*
 * An idle interactive bash on a pty whose master this program holds, for
 * the benchmarks: "ready" once bash shows its prompt. On SIGUSR2 it asks
 * bash a sum and exits 0 when the answer comes back.
 */
#define _GNU_SOURCE /* posix_openpt, TIOCGPTPEER */
#include <fcntl.h>
#include <poll.h>
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

/* Reads the master until TEXT shows up (or SECS pass); 0 when it did. */
static int expect(int m, const char *text, int secs)
{
	char seen[8192] = { 0 };
	size_t len = 0;

	for (int waited = 0; waited < secs * 10;) {
		struct pollfd p = { .fd = m, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 100) <= 0) {
			waited++;
			continue;
		}
		n = read(m, seen + len, sizeof(seen) - 1 - len);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		seen[len] = '\0';
		if (strstr(seen, text))
			return 0;
		if (len > sizeof(seen) / 2) {
			memmove(seen, seen + len / 2, len - len / 2 + 1);
			len -= len / 2;
		}
	}
	return -1;
}

int main(void)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	struct sigaction sa = { .sa_handler = on_usr2 };

	if (m < 0 || grantpt(m) || unlockpt(m))
		return 2;
	if (fork() == 0) {
		int s = ioctl(m, TIOCGPTPEER, O_RDWR);

		setsid();
		ioctl(s, TIOCSCTTY, 0);
		dup2(s, 0);
		dup2(s, 1);
		dup2(s, 2);
		close(m);
		execlp("bash", "bash", "--norc", "--noprofile", "-i", (char *)NULL);
		_exit(127);
	}
	if (write(m, "PS1='b$ '\n", 10) != 10 || expect(m, "b$ ", 10))
		return 2;
	sigaction(SIGUSR2, &sa, NULL);
	printf("ready\n");
	fflush(stdout);
	while (!verify) {
		struct pollfd p = { .fd = m, .events = POLLIN };
		char buf[256];

		/* keep its output drained, as a terminal would */
		if (poll(&p, 1, -1) > 0 && read(m, buf, sizeof(buf)) <= 0)
			return 1;
	}
	if (write(m, "echo ok$((20+22))\n", 18) != 18)
		return 1;
	return expect(m, "ok42", 10) ? 1 : 0;
}
