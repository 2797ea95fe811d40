// SPDX-License-Identifier: MIT
/*
 * Write tracking of a process's private anonymous memory, for pre-copy and
 * incremental checkpoints (doc/performance.md).
 *
 * The process makes a userfaultfd (an injected syscall; cryo takes it with
 * pidfd_getfd and closes the process's own descriptor at once). cryo turns
 * on asynchronous write protection, registers every private anonymous
 * mapping and write-protects it. From then on the kernel resolves a write
 * fault by itself, with no message and no wait, and clears the page's
 * protection bit: PAGEMAP_SCAN on /proc/PID/pagemap reports it as
 * PAGE_IS_WRITTEN. A page present and not written was not changed since
 * the protection. Verified by doc/perf-experiments/p01-wp-async.c, with
 * what the kernel does to the tracking on mremap (the moved mapping loses
 * it), fork (the child has none), MADV_DONTNEED (the page is not present
 * any more) and a read fault (the zero page, PAGE_IS_PFNZERO).
 *
 * At the freeze, every eligible mapping is registered again
 * (mm_track_claim()). A mapping made since the protection registers now,
 * with no protection bits: all its pages read as written and are saved.
 * A mapping another userfaultfd holds (the program's own) refuses (EBUSY)
 * and is saved whole; so does every mapping of a process that exec'd or
 * died (the userfaultfd's mm is not its mm any more). The written bits of a
 * claimed mapping are therefore ours.
 *
 * Closing cryo's descriptor, the last, unregisters everything and clears
 * the protection bits: nothing stays in the process.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/ckpt.h"
#include "lib/log.h"
#include "lib/uffd.h"
#include "lib/util.h"

/*
 * WP_ASYNC implies WP_UNPOPULATED: protecting a range puts a marker in
 * every empty page, so that a write to it is seen too. PAGEMAP_SCAN
 * reports a marker as swapped: mm_track_swapped() tells them apart.
 */
#define TRACK_FEATURES (UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED)

#define PM_SWAP_BIT	     (1ull << 62)
#define PM_SWAP_TYPE_MASK    0x1full
#define SWAP_TYPE_PTE_MARKER 0x1full /* the kernel's last swap type: never a swap file's */

bool mm_track_eligible(const struct proc_vma *v)
{
	/* private and anonymous: the heap, the stack, other anonymous mappings */
	return !v->shared &&
	       (!v->path[0] || !strcmp(v->path, "[heap]") || !strcmp(v->path, "[stack]"));
}

int mm_track_scan(int pagemap_fd, uint64_t start, uint64_t end, uint64_t anyof, uint64_t flags,
		  int (*fn)(void *arg, const struct page_region *r), void *arg)
{
	struct page_region vec[256];

	while (start < end) {
		struct pm_scan_arg a = {
			.size = sizeof(a),
			.flags = flags,
			.start = start,
			.end = end,
			.vec = (uint64_t)(uintptr_t)vec,
			.vec_len = ARRAY_SIZE(vec),
			.category_anyof_mask = anyof,
			.return_mask = PAGE_IS_WPALLOWED | PAGE_IS_WRITTEN | PAGE_IS_FILE |
				       PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_PFNZERO,
		};
		int n = ioctl(pagemap_fd, PAGEMAP_SCAN, &a);

		if (n < 0)
			return -errno;
		for (int i = 0; i < n; i++) {
			int ret = fn ? fn(arg, &vec[i]) : 0;

			if (ret)
				return ret;
		}
		if (a.walk_end <= start)
			return -EIO;
		start = a.walk_end;
	}
	return 0;
}

/* The pagemap entry of ADDR, read a window at a time: holes come a few pages each. */
static int pagemap_entry(int pagemap_fd, struct pagemap_window *win, uint64_t addr, uint64_t end,
			 uint64_t *ret)
{
	uint64_t ps = (uint64_t)sysconf(_SC_PAGESIZE);

	if (addr < win->start || addr >= win->start + win->nr * ps) {
		uint64_t n = (end - addr) / ps;
		ssize_t got;

		if (n > ARRAY_SIZE(win->pm))
			n = ARRAY_SIZE(win->pm);
		got = pread(pagemap_fd, win->pm, n * 8, (off_t)(addr / ps * 8));
		if (got != (ssize_t)(n * 8))
			return got < 0 ? -errno : -EIO;
		win->start = addr;
		win->nr = n;
	}
	*ret = win->pm[(addr - win->start) / ps];
	return 0;
}

int mm_track_swapped(int pagemap_fd, struct pagemap_window *win, uint64_t start, uint64_t end,
		     uint64_t vma_end, int (*fn)(void *arg, uint64_t start, uint64_t end),
		     void *arg)
{
	uint64_t ps = (uint64_t)sysconf(_SC_PAGESIZE), run = 0;
	int ret = 0;

	for (uint64_t addr = start; addr < end && !ret; addr += ps) {
		uint64_t pm = 0;
		bool data;

		ret = pagemap_entry(pagemap_fd, win, addr, vma_end, &pm);
		data =
		    !ret && (pm & PM_SWAP_BIT) && (pm & PM_SWAP_TYPE_MASK) != SWAP_TYPE_PTE_MARKER;
		if (data && !run)
			run = addr;
		if (!ret && !data && run) {
			ret = fn(arg, run, addr);
			run = 0;
		}
	}
	return !ret && run ? fn(arg, run, end) : ret;
}

int mm_track_claim(const struct mm_track *tr, const struct proc_vma *v)
{
	struct uffdio_register reg = { .range = { v->start, v->end - v->start },
				       .mode = UFFDIO_REGISTER_MODE_WP };

	if (tr->uffd < 0)
		return -EBADF;
	return ioctl(tr->uffd, UFFDIO_REGISTER, &reg) ? -errno : 0;
}

static int protect(const struct mm_track *tr, const struct proc_vma *v)
{
	struct uffdio_writeprotect wp = { .range = { v->start, v->end - v->start },
					  .mode = UFFDIO_WRITEPROTECT_MODE_WP };
	int ret = mm_track_claim(tr, v);

	if (!ret && ioctl(tr->uffd, UFFDIO_WRITEPROTECT, &wp))
		ret = -errno;
	return ret;
}

int mm_track_arm(struct mm_track *tr)
{
	struct proc_vma_list l = { 0 };
	int ret = proc_read_maps(tr->pid, &l);

	if (ret)
		return ret;
	for (size_t i = 0; i < l.nr; i++) {
		const struct proc_vma *v = &l.vmas[i];

		if (!mm_track_eligible(v))
			continue;
		/* one that cannot be tracked (another userfaultfd has it) is saved whole */
		ret = protect(tr, v);
		if (ret)
			log_debug("pid %d: mapping %#llx-%#llx is not write-tracked: %s", tr->pid,
				  (unsigned long long)v->start, (unsigned long long)v->end,
				  strerror(-ret));
	}
	proc_vma_list_free(&l);
	return 0;
}

int mm_track_start(struct ckpt_task *t, struct mm_track *tr)
{
	struct uffdio_api api = { .api = UFFD_API, .features = TRACK_FEATURES };
	char path[64];
	int ret;

	*tr = (struct mm_track){ .pid = t->pid, .uffd = -1, .pagemap_fd = -1 };
	/* the process's own userfaultfd, taken by cryo */
	tr->uffd = ckpt_task_fd_syscall(t, SYS_userfaultfd,
					O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY, 0, 0, 0);
	ret = tr->uffd < 0 ? tr->uffd : 0;
	if (!ret && ioctl(tr->uffd, UFFDIO_API, &api))
		ret = -errno;
	if (!ret) {
		snprintf(path, sizeof(path), "/proc/%d/pagemap", t->pid);
		tr->pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (tr->pagemap_fd < 0)
			ret = -errno;
	}
	if (!ret)
		ret = mm_track_arm(tr);
	if (ret) {
		log_debug("pid %d: no write tracking: %s", t->pid, strerror(-ret));
		mm_track_free(tr);
	}
	return ret;
}

void mm_track_free(struct mm_track *tr)
{
	if (tr->uffd >= 0)
		close(tr->uffd);
	if (tr->pagemap_fd >= 0)
		close(tr->pagemap_fd);
	free(tr->kept);
	*tr = (struct mm_track){ .uffd = -1, .pagemap_fd = -1 };
}

int mm_track_keep(struct mm_track *tr, uint64_t start, uint64_t end)
{
	if (tr->nr_kept && tr->kept[tr->nr_kept - 1].end == start) {
		tr->kept[tr->nr_kept - 1].end = end;
		return 0;
	}
	if (array_reserve(&tr->kept, &tr->cap_kept, tr->nr_kept, sizeof(*tr->kept)))
		return -ENOMEM;
	tr->kept[tr->nr_kept++] = (struct mm_span){ start, end };
	return 0;
}

uint64_t mm_track_kept_until(const struct mm_track *tr, uint64_t addr, uint64_t end, bool *ret_kept)
{
	size_t lo = 0, hi = tr->nr_kept;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (tr->kept[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < tr->nr_kept && tr->kept[lo].start <= addr) {
		*ret_kept = true;
		return tr->kept[lo].end < end ? tr->kept[lo].end : end;
	}
	*ret_kept = false;
	return lo < tr->nr_kept && tr->kept[lo].start < end ? tr->kept[lo].start : end;
}
