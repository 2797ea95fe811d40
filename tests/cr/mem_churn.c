// SPDX-License-Identifier: MIT
/*
 * Memory keeps changing while it is checkpointed: the case pre-copy must
 * get right (doc/performance.md). 64 MiB of anonymous memory, above the
 * pre-copy threshold, is written all the time from before "ready" until
 * SIGUSR2, so cryo copies it while it changes and freezes it in the middle
 * of the writes. The state must come back as it was at the freeze:
 *  - each write puts its number k in the first and last word of a page
 *    chosen by k, and a running sum of every page's number is kept beside:
 *    a page saved stale (copied before a write and never again) breaks the
 *    sum, a page saved torn breaks the pair;
 *  - every 512 writes a page is dropped (MADV_DONTNEED: it must read zero);
 *  - every 4096 writes a small mapping is made again at the same address
 *    (munmap, mmap) with new contents, and another one is moved back and
 *    forth (mremap): mappings newer than the copy, at addresses it covered.
 */
#include <sys/mman.h>

#include "cr/crtest.h"

#define PAGES	   16384 /* 64 MiB */
#define WORDS	   (CR_PAGE / 8)
#define SIDE_PAGES 16

static uint64_t *mem;
static uint64_t sum; /* of every page's number */
static uint8_t *side, *moving, *spot[2];
static uint64_t side_gen, moves;

static uint64_t *page(uint64_t i)
{
	return mem + i * WORDS;
}

static void remake_side(void)
{
	side = mmap(side, SIDE_PAGES * CR_PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	cr_check(side != MAP_FAILED, "mmap side: %m");
	side_gen++;
	for (size_t i = 0; i < SIDE_PAGES; i++)
		cr_fill(side + i * CR_PAGE, CR_PAGE, side_gen * 1000 + i);
}

static void move_moving(void)
{
	uint8_t *to = spot[++moves & 1];

	moving = mremap(moving, SIDE_PAGES * CR_PAGE, SIDE_PAGES * CR_PAGE,
			MREMAP_MAYMOVE | MREMAP_FIXED, to);
	cr_check(moving == to, "mremap: %m");
}

static void write_one(uint64_t k)
{
	uint64_t *p = page(cr_xorshift64(k) % PAGES);

	if (k % 512 == 0) {
		sum -= p[0];
		madvise(p, CR_PAGE, MADV_DONTNEED);
		return;
	}
	sum += k - p[0];
	p[0] = k;
	p[WORDS - 1] = k;
	if (k % 4096 == 0) {
		remake_side();
		move_moving();
	}
}

static void check(void)
{
	uint64_t total = 0;

	for (uint64_t i = 0; i < PAGES; i++) {
		const uint64_t *p = page(i);

		cr_check(p[0] == p[WORDS - 1], "page %llu is torn: %llu and %llu",
			 (unsigned long long)i, (unsigned long long)p[0],
			 (unsigned long long)p[WORDS - 1]);
		total += p[0];
	}
	cr_check(total == sum, "the pages add up to %llu, the running sum is %llu: a page is stale",
		 (unsigned long long)total, (unsigned long long)sum);
	for (size_t i = 0; i < SIDE_PAGES; i++)
		cr_check(cr_mismatch(side + i * CR_PAGE, CR_PAGE, side_gen * 1000 + i) < 0,
			 "page %zu of the remade mapping is not from generation %llu", i,
			 (unsigned long long)side_gen);
	for (size_t i = 0; i < SIDE_PAGES; i++)
		cr_check(cr_mismatch(moving + i * CR_PAGE, CR_PAGE, 7 + i) < 0,
			 "page %zu of the moved mapping lost its contents", i);
}

int main(void)
{
	uint64_t k = 1;

	cr_init();
	mem =
	    mmap(NULL, PAGES * CR_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	side = mmap(NULL, SIDE_PAGES * CR_PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	spot[0] = mmap(NULL, 2 * SIDE_PAGES * CR_PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_check(mem != MAP_FAILED && side != MAP_FAILED && spot[0] != MAP_FAILED, "mmap: %m");
	spot[1] = spot[0] + SIDE_PAGES * CR_PAGE;
	munmap(spot[1], SIDE_PAGES * CR_PAGE);
	moving = spot[0];
	for (size_t i = 0; i < SIDE_PAGES; i++)
		cr_fill(moving + i * CR_PAGE, CR_PAGE, 7 + i);
	remake_side();
	for (; k <= PAGES; k++) /* every page populated once */
		write_one(k);
	cr_unblock();
	cr_ready();
	while (!cr_flag)
		write_one(k++);
	check();
	cr_pass();
}
