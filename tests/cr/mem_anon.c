// SPDX-License-Identifier: MIT
/*
 * Anonymous memory survives checkpoint/restart bit for bit:
 *  - a big private region (64 MiB, or argv[1] MiB) whose pages hold a pattern
 *    seeded by their address, with pages never touched (must read zero) and
 *    pages written then MADV_DONTNEED'd (must read zero too);
 *  - a read-only region, filled before mprotect(PROT_READ);
 *  - a PROT_NONE guard never touched (reads zero once readable), and a
 *    PROT_NONE region that hides data;
 *  - the brk heap grown with sbrk, its end and its "[heap]" label;
 *  - a MAP_SHARED|MAP_ANONYMOUS region, still shared with a child forked after,
 *    some of its pages unmapped from our page tables (MADV_DONTNEED) but kept;
 *  - arrays on the stack in deep frames that are live across the wait.
 */
#include <sys/mman.h>
#include <sys/wait.h>

#include "cr/crtest.h"

#define MIB	     (1UL << 20)
#define SKIP_EVERY   17 /* page i % 17 == SKIP_UNTOUCHED: never written */
#define SKIP_UNTOUCH 5
#define SKIP_DROPPED 11 /* written, then MADV_DONTNEED */
#define RO_LEN	     (1 * MIB + 3 * CR_PAGE)
#define GUARD_LEN    (16 * CR_PAGE)
#define HEAP_LEN     (2 * MIB + 5 * CR_PAGE)
#define SHARED_LEN   (4 * MIB)
#define STACK_DEPTH  48
#define FRAME_LEN    (16 * 1024)
#define BIG_FRAME    (1 * MIB)

static uint8_t *big;
static size_t big_len;
static uint8_t *ro, *guard, *hidden, *heap, *shared;
static void *heap_end;

/* The seed of a page is its address: a page restored elsewhere would not match. */
static uint64_t seed_of(const void *p)
{
	return cr_xorshift64((uint64_t)(uintptr_t)p);
}

static void fill_pages(uint8_t *p, size_t len)
{
	for (size_t off = 0; off < len; off += CR_PAGE)
		cr_fill(p + off, CR_PAGE, seed_of(p + off));
}

static void check_pages(const char *what, const uint8_t *p, size_t len)
{
	for (size_t off = 0; off < len; off += CR_PAGE) {
		long w = cr_mismatch(p + off, CR_PAGE, seed_of(p + off));

		cr_check(w < 0, "%s: page %zu at %p: word %ld is %#llx, wanted %#llx", what,
			 off / CR_PAGE, (void *)(p + off), w,
			 (unsigned long long)((const uint64_t *)(p + off))[w],
			 (unsigned long long)cr_pattern(seed_of(p + off), (uint64_t)w));
	}
}

static void *map(size_t len, int prot, int flags)
{
	void *p = mmap(NULL, len, prot, flags | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		cr_fail("mmap %zu bytes: %m", len);
	return p;
}

static void setup_big(void)
{
	big = map(big_len, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	for (size_t i = 0; i < big_len / CR_PAGE; i++)
		if (i % SKIP_EVERY != SKIP_UNTOUCH)
			fill_pages(big + i * CR_PAGE, CR_PAGE);
	for (size_t i = SKIP_DROPPED; i < big_len / CR_PAGE; i += SKIP_EVERY)
		if (madvise(big + i * CR_PAGE, CR_PAGE, MADV_DONTNEED))
			cr_fail("madvise(MADV_DONTNEED): %m");
}

static void check_big(void)
{
	for (size_t i = 0; i < big_len / CR_PAGE; i++) {
		uint8_t *p = big + i * CR_PAGE;

		if (i % SKIP_EVERY == SKIP_UNTOUCH)
			cr_check(cr_is_zero(p, CR_PAGE), "big: untouched page %zu is not zero", i);
		else if (i % SKIP_EVERY == SKIP_DROPPED)
			cr_check(cr_is_zero(p, CR_PAGE), "big: MADV_DONTNEED page %zu is not zero",
				 i);
		else
			check_pages("big", p, CR_PAGE);
	}
}

static void check_perms(const char *what, const void *p, size_t len, const char *perms)
{
	struct cr_map m;

	cr_check(cr_find_map(p, &m), "%s: %p is not mapped any more", what, p);
	cr_check(!strcmp(m.perms, perms), "%s: mapping at %p is %s, wanted %s", what, p, m.perms,
		 perms);
	cr_check(m.start <= (unsigned long)p && m.end >= (unsigned long)p + len,
		 "%s: mapping %lx-%lx no longer covers %p+%zu", what, m.start, m.end, p, len);
}

static void setup_protected(void)
{
	ro = map(RO_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	fill_pages(ro, RO_LEN);
	if (mprotect(ro, RO_LEN, PROT_READ))
		cr_fail("mprotect(PROT_READ): %m");
	guard = map(GUARD_LEN, PROT_NONE, MAP_PRIVATE);
	hidden = map(GUARD_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	fill_pages(hidden, GUARD_LEN);
	if (mprotect(hidden, GUARD_LEN, PROT_NONE))
		cr_fail("mprotect(PROT_NONE): %m");
}

static void check_protected(void)
{
	check_perms("read-only region", ro, RO_LEN, "r--p");
	check_pages("read-only region", ro, RO_LEN);
	check_perms("guard", guard, GUARD_LEN, "---p");
	check_perms("hidden", hidden, GUARD_LEN, "---p");
	/* now look inside: the guard was never written, the other one was */
	if (mprotect(guard, GUARD_LEN, PROT_READ) || mprotect(hidden, GUARD_LEN, PROT_READ))
		cr_fail("mprotect(PROT_READ): %m");
	cr_check(cr_is_zero(guard, GUARD_LEN), "the PROT_NONE guard does not read zero");
	check_pages("data under PROT_NONE", hidden, GUARD_LEN);
}

static void setup_heap(void)
{
	heap = sbrk(HEAP_LEN);
	if (heap == (void *)-1)
		cr_fail("sbrk: %m");
	fill_pages(heap, HEAP_LEN & ~(CR_PAGE - 1));
}

static void check_heap(void)
{
	struct cr_map m;

	check_pages("sbrk heap", heap, HEAP_LEN & ~(CR_PAGE - 1));
	cr_check(cr_find_map(heap, &m), "heap %p is not mapped", (void *)heap);
	cr_check(!strcmp(m.path, "[heap]"), "heap mapping is named \"%s\", not [heap]", m.path);
}

static void setup_shared(void)
{
	shared = map(SHARED_LEN, PROT_READ | PROT_WRITE, MAP_SHARED);
	fill_pages(shared, SHARED_LEN);
	/*
	 * Drop the first pages from our page tables: shared memory keeps their
	 * data in its object, where a checkpoint must look for it too.
	 */
	if (madvise(shared, 16 * CR_PAGE, MADV_DONTNEED))
		cr_fail("madvise: %m");
}

/* Still shared: a child's write must show in the parent, not in a private copy. */
static void check_shared(void)
{
	volatile uint64_t *last = (uint64_t *)(shared + SHARED_LEN - 8);
	uint64_t old = *last;
	int status;
	pid_t pid;

	check_perms("shared", shared, SHARED_LEN, "rw-s");
	check_pages("shared", shared, SHARED_LEN);
	pid = fork();
	if (pid < 0)
		cr_fail("fork: %m");
	if (!pid) {
		*last = ~old;
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		cr_fail("child writing the shared region failed (status %#x)", status);
	cr_check(*last == ~old, "shared region: the child's write did not reach the parent");
	*last = old;
}

/* The deepest frame: a 1 MiB array live while the program waits. */
static __attribute__((noinline)) void wait_deep(void)
{
	uint8_t buf[BIG_FRAME] __attribute__((aligned(CR_PAGE)));
	void *brk_before;

	fill_pages(buf, sizeof(buf));
	cr_ready();
	brk_before = sbrk(0);
	cr_wait();
	/* first thing: nothing may have called malloc in between */
	cr_check(sbrk(0) == brk_before, "brk moved from %p to %p", brk_before, sbrk(0));
	cr_check(brk_before == heap_end, "brk is %p, the heap ended at %p", brk_before, heap_end);
	check_pages("big stack frame", buf, sizeof(buf));
}

static __attribute__((noinline)) void recurse(int depth)
{
	uint8_t buf[FRAME_LEN] __attribute__((aligned(CR_PAGE)));

	fill_pages(buf, sizeof(buf));
	if (depth < STACK_DEPTH)
		recurse(depth + 1);
	else
		wait_deep();
	for (size_t off = 0; off < sizeof(buf); off += CR_PAGE)
		cr_check(cr_mismatch(buf + off, CR_PAGE, seed_of(buf + off)) < 0,
			 "stack frame %d: page %zu changed", depth, off / CR_PAGE);
}

int main(int argc, char **argv)
{
	unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 64;

	cr_init();
	big_len = (mib ? mib : 64) * MIB;
	setup_big();
	setup_protected();
	/* stdio's buffer is malloc'ed, maybe by brk: have it before taking the heap */
	printf("mem_anon: %lu MiB\n", mib);
	setup_heap();
	heap_end = sbrk(0);
	setup_shared();
	recurse(0);
	check_big();
	check_protected();
	check_heap();
	check_shared();
	cr_pass();
}
