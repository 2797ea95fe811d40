// SPDX-License-Identifier: MIT
/*
 * CRC32C throughput, table path against the hardware path. Build and run:
 *
 *	mkdir -p build && gcc -O2 -Isrc -D_GNU_SOURCE bench/crc32c_bench.c src/lib/crc32c.c \
 *		src/arch/x86_64/crc32c_hw.c -o build/crc32c_bench && build/crc32c_bench
 */
#include "lib/crc32c.h"
#include "arch/crc32c_hw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RUNS 9

typedef uint32_t (*crc_fn)(uint32_t crc, const void *buf, size_t len);

/* Keeps the compiler from dropping the calls. */
static volatile uint32_t sink;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median over RUNS of the time for enough passes to fill about 64 MiB. */
static double gbps(crc_fn fn, const unsigned char *buf, size_t len)
{
	size_t passes = len >= (64u << 20) ? 1 : (64u << 20) / len, i;
	double t[RUNS], t0;
	int r;

	sink = fn(0, buf, len);
	for (r = 0; r < RUNS; r++) {
		t0 = now();
		for (i = 0; i < passes; i++)
			sink = fn(sink, buf, len);
		t[r] = now() - t0;
	}
	qsort(t, RUNS, sizeof(t[0]), cmp_double);
	return (double)len * (double)passes / t[RUNS / 2] * 1e-9;
}

int main(void)
{
	static const size_t sizes[] = { 1u << 20, 64u << 20 };
	unsigned char *buf = malloc(64u << 20);
	size_t i;

	if (!buf)
		return 1;
	for (i = 0; i < (64u << 20); i++)
		buf[i] = (unsigned char)(i * 2654435761u >> 13);
	printf("hardware path %s\n", crc32c_hw_in_use() ? "in use" : "unavailable");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		printf("%3zu MiB  sw %6.2f GB/s", sizes[i] >> 20, gbps(crc32c_sw, buf, sizes[i]));
		if (arch_crc32c_hw_available())
			printf("  hw %6.2f GB/s", gbps(arch_crc32c_hw, buf, sizes[i]));
		printf("\n");
	}
	free(buf);
	return 0;
}
