// SPDX-License-Identifier: MIT
/*
 * The demo's program: counts, and keeps a running checksum of 32 MiB of
 * memory it rewrites as it goes, so a restart that lost anything shows.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define WORDS ((32u << 20) / 8)

int main(void)
{
	uint64_t *mem = calloc(WORDS, 8), sum = 0;

	if (!mem)
		return 1;
	for (unsigned long n = 1;; n++) {
		for (size_t i = n % 512; i < WORDS; i += 512) {
			mem[i] += n;
			sum += mem[i];
		}
		printf("pid %d: tick %lu, checksum %016llx\n", getpid(), n,
		       (unsigned long long)sum);
		fflush(stdout);
		usleep(300000);
	}
}
