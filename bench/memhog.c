// SPDX-License-Identifier: MIT
/*
 * A process holding SIZE MiB of anonymous memory, for the benchmarks: fills
 * it (a different word in every byte of every populated page), prints
 * "ready", then sleeps. With STRIDE (memhog SIZE STRIDE), only one page in
 * STRIDE is populated: sparse memory. On SIGUSR2 it checks every populated
 * page and exits 0 if all are intact.
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
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64, len = mib << 20;
	size_t stride = argc > 2 ? strtoul(argv[2], NULL, 10) : 1, page = 4096 / 8;
	uint64_t *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (mem == MAP_FAILED)
		return 2;
	if (!stride)
		return 2;
	for (size_t i = 0; i < len / 8; i++)
		if (i / page % stride == 0)
			mem[i] = i * 0x9e3779b97f4a7c15ull;
	signal(SIGUSR2, on_usr2);
	printf("ready\n");
	fflush(stdout);
	while (!verify)
		pause();
	for (size_t i = 0; i < len / 8; i++)
		if (i / page % stride == 0 && mem[i] != i * 0x9e3779b97f4a7c15ull)
			return 1;
	return 0;
}
