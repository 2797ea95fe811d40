// SPDX-License-Identifier: MIT
/*
 * A process with COUNT small mappings (default 10,000), for the benchmarks:
 * one page each, every other one read-only so the kernel cannot merge them,
 * each touched; prints "ready", then sleeps until SIGUSR2 and checks them.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static volatile sig_atomic_t verify;

static void on_usr2(int sig)
{
	(void)sig;
	verify = 1;
}

int main(int argc, char **argv)
{
	size_t count = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
	uint64_t **maps = calloc(count, sizeof(*maps));

	if (!maps)
		return 2;
	for (size_t i = 0; i < count; i++) {
		maps[i] =
		    mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (maps[i] == MAP_FAILED)
			return 2;
		maps[i][0] = i;
		if (i % 2 && mprotect(maps[i], 4096, PROT_READ))
			return 2;
	}
	signal(SIGUSR2, on_usr2);
	printf("ready\n");
	fflush(stdout);
	while (!verify)
		pause();
	for (size_t i = 0; i < count; i++)
		if (maps[i][0] != i)
			return 1;
	return 0;
}
