// SPDX-License-Identifier: MIT
/*
 * p01: write tracking of another process's memory, the way checkpoint
 * pre-copy uses it. The child makes a userfaultfd (as an injected syscall
 * would); the parent takes it with pidfd_getfd, enables asynchronous write
 * protection, registers and protects the child's buffer, and asks
 * PAGEMAP_SCAN on /proc/CHILD/pagemap which pages were written since.
 * Checked: only written pages are reported; a page populated after the
 * protection (written, or read then written) is reported; a page dropped
 * with MADV_DONTNEED is not present; a page read after the protection maps
 * the zero page (PFNZERO); a page never touched gets a marker (WP_ASYNC
 * implies WP_UNPOPULATED), which PAGEMAP_SCAN reports as swapped and
 * /proc/PID/pagemap as swap type 31, the kernel's marker type, never a
 * swap file's; WP_MATCHING re-protects; a vma moved by mremap loses its
 * registration (not WPALLOWED); closing the uffd ends tracking.
 * Prints "p01: ok" or the first surprise.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/lib/uffd.h"

#define PS 4096ul
#define N  64

static int pipe_go[2], pipe_back[2];
static char *buf;

static void step(int fd_to, int fd_from) /* tell the other side, wait for its answer */
{
	char c = 1;

	if (write(fd_to, &c, 1) != 1 || read(fd_from, &c, 1) != 1)
		exit(2);
}

static int scan(int pm, unsigned long start, unsigned long end, unsigned long want,
		unsigned long flags, struct page_region *v, int nv)
{
	struct pm_scan_arg a = { .size = sizeof(a), .flags = flags, .start = start, .end = end,
				 .vec = (unsigned long)v, .vec_len = (unsigned long)nv,
				 .category_anyof_mask = want, .return_mask = 0xff };

	return ioctl(pm, PAGEMAP_SCAN, &a);
}

static unsigned long cat_of(struct page_region *v, int n, unsigned long addr)
{
	for (int i = 0; i < n; i++)
		if (addr >= v[i].start && addr < v[i].end)
			return v[i].categories;
	return 0;
}

#define CHECK(c, what)                                                                             \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			printf("p01: surprise: %s\n", what);                                       \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

int main(void)
{
	struct page_region v[256];
	char path[64], c;
	pid_t pid;
	int uffd_child, pidfd, uffd, pm, n;

	buf = mmap(NULL, N * PS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (int i = 0; i < N / 2; i++)
		buf[i * PS] = 1; /* pages 0..31 populated, 32..63 not */
	if (pipe(pipe_go) || pipe(pipe_back))
		return 2;
	pid = fork();
	if (pid == 0) {
		uffd_child = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
		if (write(pipe_back[1], &uffd_child, sizeof(uffd_child)) != sizeof(uffd_child))
			_exit(2);
		read(pipe_go[0], &c, 1); /* armed */
		buf[1 * PS] = 2;	 /* written */
		buf[40 * PS] = 3;	 /* populated by a write */
		c = buf[41 * PS];	 /* populated by a read: zero page */
		madvise(buf + 2 * PS, PS, MADV_DONTNEED);
		step(pipe_back[1], pipe_go[0]); /* scanned */
		buf[3 * PS] = 4;
		step(pipe_back[1], pipe_go[0]);
		mremap(buf + 10 * PS, PS, PS, MREMAP_MAYMOVE | MREMAP_FIXED, buf + 100 * PS);
		step(pipe_back[1], pipe_go[0]);
		_exit(c);
	}
	if (read(pipe_back[0], &uffd_child, sizeof(uffd_child)) != sizeof(uffd_child))
		return 2;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	uffd = (int)syscall(SYS_pidfd_getfd, pidfd, uffd_child, 0);
	CHECK(uffd >= 0, "pidfd_getfd of the child's userfaultfd");
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED };
	CHECK(!ioctl(uffd, UFFDIO_API, &api), "UFFDIO_API with WP_ASYNC | WP_UNPOPULATED");
	struct uffdio_register reg = { .range = { (unsigned long)buf, N * PS },
				       .mode = UFFDIO_REGISTER_MODE_WP };
	CHECK(!ioctl(uffd, UFFDIO_REGISTER, &reg), "register another process's vma");
	struct uffdio_writeprotect wp = { .range = { (unsigned long)buf, N * PS },
					  .mode = UFFDIO_WRITEPROTECT_MODE_WP };
	CHECK(!ioctl(uffd, UFFDIO_WRITEPROTECT, &wp), "write-protect it");
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	pm = open(path, O_RDONLY);
	n = scan(pm, (unsigned long)buf, (unsigned long)buf + N * PS, PAGE_IS_WRITTEN, 0, v, 256);
	CHECK(n == 0, "nothing written right after the protection");
	step(pipe_go[1], pipe_back[0]);
	n = scan(pm, (unsigned long)buf, (unsigned long)buf + N * PS,
		 PAGE_IS_PRESENT | PAGE_IS_SWAPPED, 0, v, 256);
	CHECK(n > 0, "scan");
	CHECK(cat_of(v, n, (unsigned long)buf + 1 * PS) & PAGE_IS_WRITTEN, "written page");
	CHECK(!(cat_of(v, n, (unsigned long)buf + 0 * PS) & PAGE_IS_WRITTEN), "unwritten page");
	CHECK(cat_of(v, n, (unsigned long)buf + 0 * PS) & PAGE_IS_WPALLOWED, "wpallowed");
	CHECK(!cat_of(v, n, (unsigned long)buf + 2 * PS), "dropped page not present");
	/* a page never touched holds a marker: "swapped", and in pagemap swap type 31 */
	CHECK(cat_of(v, n, (unsigned long)buf + 50 * PS) == (PAGE_IS_WPALLOWED | PAGE_IS_SWAPPED),
	      "a never touched page is a swapped marker");
	{
		uint64_t e = 0;
		int fd = open(path, O_RDONLY);

		CHECK(pread(fd, &e, 8, ((unsigned long)buf / PS + 50) * 8) == 8 && (e >> 62 & 1) &&
			  (e & 0x1f) == 0x1f,
		      "pagemap shows the marker as swap type 31");
		close(fd);
	}
	CHECK(cat_of(v, n, (unsigned long)buf + 40 * PS) & PAGE_IS_WRITTEN, "populated by write");
	CHECK(cat_of(v, n, (unsigned long)buf + 41 * PS) & PAGE_IS_PFNZERO, "zero page");
	CHECK(!(cat_of(v, n, (unsigned long)buf + 41 * PS) & PAGE_IS_WRITTEN), "zero page unwritten");
	/* re-protect what was written, then see only the newer write */
	n = scan(pm, (unsigned long)buf, (unsigned long)buf + N * PS, PAGE_IS_WRITTEN,
		 PM_SCAN_WP_MATCHING, v, 256);
	CHECK(n > 0, "WP_MATCHING scan");
	step(pipe_go[1], pipe_back[0]);
	n = scan(pm, (unsigned long)buf, (unsigned long)buf + N * PS, PAGE_IS_WRITTEN, 0, v, 256);
	CHECK(n == 1 && v[0].start == (unsigned long)buf + 3 * PS &&
		  v[0].end == (unsigned long)buf + 4 * PS,
	      "only the write after WP_MATCHING");
	step(pipe_go[1], pipe_back[0]);
	n = scan(pm, (unsigned long)buf + 100 * PS, (unsigned long)buf + 101 * PS,
		 PAGE_IS_WPALLOWED, 0, v, 256);
	CHECK(n == 0, "a moved vma is not tracked");
	close(uffd);
	n = scan(pm, (unsigned long)buf, (unsigned long)buf + 4 * PS, PAGE_IS_WPALLOWED, 0, v, 256);
	CHECK(n >= 1 && (v[0].categories & PAGE_IS_WPALLOWED),
	      "still tracked while the child holds its copy");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	printf("p01: ok\n");
	return 0;
}
