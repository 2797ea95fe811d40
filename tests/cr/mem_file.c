// SPDX-License-Identifier: MIT
/*
 * File mappings survive checkpoint/restart:
 *  - a MAP_PRIVATE writable mapping of a temp file, at a file offset: the
 *    pages written before the checkpoint keep their private data, the others
 *    still show the file, the file itself never sees the private writes;
 *  - a MAP_SHARED writable mapping of another file, filled through the
 *    mapping: after restart it still writes through to the file and shows
 *    what is written to the file (pwrite/pread).
 * The files are closed once mapped: only the mappings refer to them. A check
 * that writes a file puts the old bytes back, so restarting the same image
 * again finds the files as they were at checkpoint time.
 */
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>

#include "cr/crtest.h"

#define PRIV_PAGES   64
#define PRIV_SKIP    4 /* the private mapping starts at this file page */
#define PRIV_MAPPED  (PRIV_PAGES - PRIV_SKIP)
#define SHARED_PAGES 32

/* Seeds: the file's pattern, the private writes, the shared mapping, probes. */
#define SEED_FILE    0x1000000
#define SEED_PRIVATE 0x2000000
#define SEED_SHARED  0x3000000
#define SEED_PROBE   0x4000000

static char priv_path[PATH_MAX], shared_path[PATH_MAX];
static uint8_t *priv, *shared;

/* /proc/self/maps shows the canonical path: compare with that. */
static void canonicalize(char *path)
{
	char real[PATH_MAX];

	if (!realpath(path, real))
		cr_fail("realpath %s: %m", path);
	snprintf(path, PATH_MAX, "%s", real);
}

static int open_file(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0600);

	if (fd < 0)
		cr_fail("open %s: %m", path);
	return fd;
}

static void pread_page(int fd, void *buf, size_t page, const char *path)
{
	ssize_t n = pread(fd, buf, CR_PAGE, (off_t)(page * CR_PAGE));

	cr_check(n == (ssize_t)CR_PAGE, "pread %s page %zu: %zd (%m)", path, page, n);
}

static void pwrite_page(int fd, const void *buf, size_t page, const char *path)
{
	ssize_t n = pwrite(fd, buf, CR_PAGE, (off_t)(page * CR_PAGE));

	cr_check(n == (ssize_t)CR_PAGE, "pwrite %s page %zu: %zd (%m)", path, page, n);
}

static void *map_file(const char *path, size_t pages, size_t skip, int flags)
{
	int fd = open_file(path, O_RDWR);
	off_t off = (off_t)(skip * CR_PAGE);
	void *p = mmap(NULL, pages * CR_PAGE, PROT_READ | PROT_WRITE, flags, fd, off);

	if (p == MAP_FAILED)
		cr_fail("mmap %s: %m", path);
	close(fd);
	return p;
}

static void setup_private(void)
{
	uint8_t page[CR_PAGE];
	int fd = open_file(priv_path, O_RDWR | O_CREAT | O_TRUNC);

	for (size_t i = 0; i < PRIV_PAGES; i++) {
		cr_fill(page, CR_PAGE, SEED_FILE + i);
		pwrite_page(fd, page, i, priv_path);
	}
	close(fd);
	canonicalize(priv_path);
	priv = map_file(priv_path, PRIV_MAPPED, PRIV_SKIP, MAP_PRIVATE);
	/* every third page becomes private; read the others so they are mapped too */
	for (size_t i = 0; i < PRIV_MAPPED; i++) {
		uint8_t *p = priv + i * CR_PAGE;

		if (i % 3 == 0)
			cr_fill(p, CR_PAGE, SEED_PRIVATE + i);
		else
			cr_check(cr_mismatch(p, CR_PAGE, SEED_FILE + PRIV_SKIP + i) < 0,
				 "private mapping page %zu does not show the file", i);
	}
}

static void check_map(const char *what, const void *p, const char *path, const char *perms,
		      size_t skip)
{
	struct cr_map m;

	cr_check(cr_find_map(p, &m), "%s: %p is not mapped any more", what, p);
	cr_check(!strcmp(m.path, path), "%s maps \"%s\", not %s", what, m.path, path);
	cr_check(!strcmp(m.perms, perms), "%s is %s, wanted %s", what, m.perms, perms);
	cr_check(m.pgoff == skip * CR_PAGE && m.start == (unsigned long)p,
		 "%s: mapping at %#lx offset %#lx, wanted %p offset %#lx", what, m.start, m.pgoff,
		 p, skip * CR_PAGE);
}

static void check_private(void)
{
	uint8_t page[CR_PAGE];
	size_t probe = 1;
	int fd;

	check_map("private mapping", priv, priv_path, "rw-p", PRIV_SKIP);
	for (size_t i = 0; i < PRIV_MAPPED; i++) {
		bool mine = i % 3 == 0;
		uint64_t seed = mine ? SEED_PRIVATE + i : SEED_FILE + PRIV_SKIP + i;

		cr_check(cr_mismatch(priv + i * CR_PAGE, CR_PAGE, seed) < 0,
			 "private mapping page %zu lost its %s", i,
			 mine ? "private data" : "file data");
	}
	/* still copy-on-write: a new write stays out of the file */
	cr_fill(priv + probe * CR_PAGE, CR_PAGE, SEED_PROBE);
	fd = open_file(priv_path, O_RDONLY);
	for (size_t i = 0; i < PRIV_PAGES; i++) {
		pread_page(fd, page, i, priv_path);
		cr_check(cr_mismatch(page, CR_PAGE, SEED_FILE + i) < 0,
			 "%s page %zu changed: private writes reached the file", priv_path, i);
	}
	close(fd);
}

static void setup_shared(void)
{
	int fd = open_file(shared_path, O_RDWR | O_CREAT | O_TRUNC);

	if (ftruncate(fd, SHARED_PAGES * CR_PAGE))
		cr_fail("ftruncate %s: %m", shared_path);
	close(fd);
	canonicalize(shared_path);
	shared = map_file(shared_path, SHARED_PAGES, 0, MAP_SHARED);
	for (size_t i = 0; i < SHARED_PAGES; i++)
		cr_fill(shared + i * CR_PAGE, CR_PAGE, SEED_SHARED + i);
	if (msync(shared, SHARED_PAGES * CR_PAGE, MS_SYNC))
		cr_fail("msync: %m");
}

/* The mapping and the file must show the same bytes. */
static void check_both(int fd, size_t i, uint64_t seed, const char *when)
{
	uint8_t page[CR_PAGE];

	cr_check(cr_mismatch(shared + i * CR_PAGE, CR_PAGE, seed) < 0,
		 "shared mapping page %zu is wrong %s", i, when);
	pread_page(fd, page, i, shared_path);
	cr_check(cr_mismatch(page, CR_PAGE, seed) < 0, "%s page %zu is wrong %s", shared_path, i,
		 when);
}

static void check_shared(void)
{
	uint8_t page[CR_PAGE];
	size_t a = 5, b = 7;
	int fd;

	check_map("shared mapping", shared, shared_path, "rw-s", 0);
	fd = open_file(shared_path, O_RDWR);
	for (size_t i = 0; i < SHARED_PAGES; i++)
		check_both(fd, i, SEED_SHARED + i, "after restart");
	/* mapping -> file */
	cr_fill(shared + a * CR_PAGE, CR_PAGE, SEED_PROBE + a);
	check_both(fd, a, SEED_PROBE + a, "after a write through the mapping");
	/* file -> mapping */
	cr_fill(page, CR_PAGE, SEED_PROBE + b);
	pwrite_page(fd, page, b, shared_path);
	check_both(fd, b, SEED_PROBE + b, "after a pwrite to the file");
	/* put the checkpoint-time bytes back */
	cr_fill(shared + a * CR_PAGE, CR_PAGE, SEED_SHARED + a);
	cr_fill(page, CR_PAGE, SEED_SHARED + b);
	pwrite_page(fd, page, b, shared_path);
	check_both(fd, a, SEED_SHARED + a, "once restored");
	check_both(fd, b, SEED_SHARED + b, "once restored");
	close(fd);
}

int main(void)
{
	cr_init();
	snprintf(priv_path, sizeof(priv_path), "%s/cr-mem_file.%d.private", cr_tmpdir(),
		 (int)getpid());
	snprintf(shared_path, sizeof(shared_path), "%s/cr-mem_file.%d.shared", cr_tmpdir(),
		 (int)getpid());
	setup_private();
	setup_shared();
	cr_ready();
	cr_wait();
	check_private();
	check_shared();
	if (!cr_keep_files()) {
		unlink(priv_path);
		unlink(shared_path);
	}
	cr_pass();
}
