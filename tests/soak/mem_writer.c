// SPDX-License-Identifier: MIT
/*
 * The memory workload of the soak (tests/soak/soak.sh, doc/reliability.md):
 * two threads rewrite and check 64 MiB, forever.
 *
 * The memory is 8 anonymous private mappings (guard pages between them
 * keep them apart); thread t owns the mappings r with r % 2 == t and
 * sweeps them page by page. Each page has a generation g, kept in an
 * array beside: page i of generation g holds cr_pattern((i << 32) | g, w)
 * in its every word w, and generation 0 means "dropped", all zeros. On
 * every visit the thread first checks the whole page against its
 * generation, then writes the next generation over all of it, or, every
 * 509th write, drops it (MADV_DONTNEED). A page that lost a write, kept a
 * stale one, got torn or was not zero after the drop: "FAIL: why", exit 1.
 *
 *	mem_writer [MIB [PAUSE_US]]
 *
 * MIB: the total size (default 64); PAUSE_US: microseconds to sleep after
 * each MiB written (default 0: as fast as it goes).
 *
 * Twice a second the main thread prints "progress mem <pages written>
 * sweeps=<fewest sweeps of a thread> ns=<pid ns inode>" (the driver checks
 * that it advances, and tells a restored copy's lines by the namespace).
 * SIGUSR2: the threads stop, every page is checked once more, "PASS ns=..."
 * and exit 0.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "cr/crtest.h"

#define REGIONS	 8
#define THREADS	 2
#define DROP_ONE 509 /* every so many writes of a thread, a page is dropped */

static uint8_t *region[REGIONS];
static size_t region_pages;
static uint32_t *gen; /* per page, all regions in a row */
static long pause_us;
static atomic_bool stop;
static atomic_ullong writes[THREADS], sweeps[THREADS];

static uint64_t seed(size_t page, uint32_t g)
{
	return (uint64_t)page << 32 | g;
}

static void check_page(size_t i, const uint8_t *p)
{
	uint32_t g = gen[i];
	long w;

	if (g == 0) {
		cr_check(cr_is_zero(p, CR_PAGE), "page %zu (%p) was dropped but is not zero", i,
			 (const void *)p);
		return;
	}
	w = cr_mismatch(p, CR_PAGE, seed(i, g));
	cr_check(w < 0, "page %zu (%p), generation %u: word %ld is %#llx, not %#llx", i,
		 (const void *)p, g, w, (unsigned long long)((const uint64_t *)p)[w],
		 (unsigned long long)cr_pattern(seed(i, g), (uint64_t)w));
}

static void *worker(void *arg)
{
	size_t t = (size_t)arg;
	unsigned long long k = 0;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (size_t r = t; r < REGIONS; r += THREADS)
			for (size_t j = 0; j < region_pages; j++) {
				size_t i = r * region_pages + j;
				uint8_t *p = region[r] + j * CR_PAGE;

				check_page(i, p);
				if (++k % DROP_ONE == 0) {
					cr_check(!madvise(p, CR_PAGE, MADV_DONTNEED),
						 "madvise: %m");
					gen[i] = 0;
				} else {
					gen[i] = gen[i] == UINT32_MAX ? 1 : gen[i] + 1;
					cr_fill(p, CR_PAGE, seed(i, gen[i]));
				}
				if (k % 256 == 0) { /* each MiB */
					atomic_store_explicit(&writes[t], k, memory_order_relaxed);
					if (atomic_load_explicit(&stop, memory_order_relaxed))
						return NULL;
					if (pause_us > 0)
						usleep((useconds_t)pause_us);
				}
			}
		atomic_fetch_add_explicit(&sweeps[t], 1, memory_order_relaxed);
	}
	return NULL;
}

static unsigned long long ns_inode(void)
{
	struct stat st;

	return stat("/proc/self/ns/pid", &st) ? 0 : (unsigned long long)st.st_ino;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? (size_t)atol(argv[1]) : 64, total;
	pthread_t th[THREADS];
	uint8_t *base;

	pause_us = argc > 2 ? atol(argv[2]) : 0;
	cr_init(); /* SIGUSR2 blocked: the threads inherit that, main unblocks it */
	region_pages = (mib << 20) / CR_PAGE / REGIONS;
	cr_check(region_pages > 0, "%zu MiB is too small", mib);
	total = REGIONS * region_pages;
	gen = calloc(total, sizeof(*gen));
	base = mmap(NULL, REGIONS * (region_pages + 1) * CR_PAGE, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	cr_check(gen && base != MAP_FAILED, "memory: %m");
	for (size_t r = 0; r < REGIONS; r++) { /* each after a guard page */
		region[r] = base + r * (region_pages + 1) * CR_PAGE + CR_PAGE;
		cr_check(!mprotect(region[r], region_pages * CR_PAGE, PROT_READ | PROT_WRITE),
			 "mprotect: %m");
	}
	for (size_t i = 0; i < total; i++) { /* all populated, generation 1 */
		gen[i] = 1;
		cr_fill(region[i / region_pages] + (i % region_pages) * CR_PAGE, CR_PAGE,
			seed(i, 1));
	}
	for (size_t t = 0; t < THREADS; t++)
		cr_check(!pthread_create(&th[t], NULL, worker, (void *)t), "pthread_create");
	cr_unblock();
	cr_ready();
	while (!cr_flag) {
		unsigned long long w = 0, s = ~0ULL;

		usleep(500000); /* cut short by SIGUSR2 */
		for (size_t t = 0; t < THREADS; t++) {
			unsigned long long st = atomic_load(&sweeps[t]);

			w += atomic_load(&writes[t]);
			s = st < s ? st : s;
		}
		printf("progress mem %llu sweeps=%llu ns=%llu\n", w, s, ns_inode());
	}
	atomic_store(&stop, true);
	for (size_t t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	for (size_t i = 0; i < total; i++)
		check_page(i, region[i / region_pages] + (i % region_pages) * CR_PAGE);
	printf("PASS ns=%llu\n", ns_inode());
	return 0;
}
