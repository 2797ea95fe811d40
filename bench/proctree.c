// SPDX-License-Identifier: MIT
/*
 * A tree of COUNT processes (default 100), for the benchmarks: the root
 * forks COUNT-1 children that sleep; prints "ready" once all exist. On
 * SIGUSR2 the root ends them and exits 0 when every one was still there.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t verify;

static void on_usr2(int sig)
{
	(void)sig;
	verify = 1;
}

int main(int argc, char **argv)
{
	int count = argc > 1 ? atoi(argv[1]) : 100, alive = 0;
	pid_t *kids = calloc((size_t)count, sizeof(*kids));

	if (!kids || count < 1)
		return 2;
	signal(SIGUSR2, on_usr2);
	for (int i = 0; i < count - 1; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			for (;;)
				pause();
		}
		if (kids[i] < 0)
			return 2;
	}
	printf("ready\n");
	fflush(stdout);
	while (!verify)
		pause();
	for (int i = 0; i < count - 1; i++)
		alive += kill(kids[i], SIGKILL) == 0;
	while (wait(NULL) > 0)
		;
	return alive == count - 1 ? 0 : 1;
}
