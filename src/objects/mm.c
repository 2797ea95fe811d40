// SPDX-License-Identifier: MIT
/*
 * Address spaces: the mm fields (REC_MM), the mappings (REC_VMA) and the
 * pages that hold data (REC_PAGES).
 *
 * Checkpoint reads /proc/PID/maps for the mappings and /proc/PID/pagemap
 * for the pages worth saving: in private mappings the pages that are
 * present or swapped and anonymous (a private file page that was never
 * written is the file's, and a never-written anonymous page is the zero
 * page: neither needs saving). Shared anonymous memory is read from its
 * shmem object (map_files, SEEK_DATA), which holds pages the page tables
 * may not map any more. Shared file mappings need nothing: the file holds the
 * data. [vvar], [vvar_vclock] and [vdso] are recorded but never saved:
 * restart moves its own to the same place.
 *
 * Memory is copied with process_vm_readv, or /proc/PID/mem for mappings the
 * task itself cannot read (PROT_NONE, write-only).
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/ckpt.h"
#include "core/rst.h"
#include "lib/log.h"
#include "lib/uffd.h"
#include "lib/util.h"

#define PAGES_PER_RECORD (CRYO_PAGES_MAX_BYTES / 4096)

/*
 * One page record being filled. Runs the task can read itself are read at
 * flush, all with one process_vm_readv (an iovec per run), like the
 * reference copy: sparse memory is one call per 256 runs, not one per run.
 */
struct page_batch {
	uint32_t type; /* REC_PAGES, or REC_PRECOPY while the tree runs */
	struct rec_pages hdr;
	struct rec_pages_run runs[PAGES_PER_RECORD];
	bool deferred[PAGES_PER_RECORD]; /* run i is read at flush */
	unsigned char *data;
	size_t cap_pages;
	pid_t pid;
	int mem_fd;   /* /proc/PID/mem, for unreadable mappings */
	int shmem_fd; /* the shared memory object of the vma being saved, or -1 */
	/* pre-copy: a run that cannot be read is left out, the others are kept here */
	struct mm_track *precopy;
};

static bool is_vdso_name(const char *path)
{
	return !strcmp(path, "[vdso]") || !strcmp(path, "[vvar]") || !strcmp(path, "[vvar_vclock]");
}

/* Sorts a mapping into a vma kind, or says why it cannot be saved yet. */
static int classify(const struct proc_vma *v, uint32_t *ret_kind, const char **ret_why)
{
	const char *p = v->path;

	if (is_vdso_name(p))
		*ret_kind = VMA_VDSO;
	else if (!strcmp(p, "[heap]"))
		*ret_kind = VMA_HEAP;
	else if (!strcmp(p, "[stack]"))
		*ret_kind = VMA_STACK;
	else if (!*p)
		*ret_kind = VMA_ANON;
	else if (v->shared && !strcmp(p, "/dev/zero (deleted)"))
		*ret_kind = VMA_ANON; /* MAP_SHARED | MAP_ANONYMOUS */
	else if (!strncmp(p, "/memfd:", 7) || !strncmp(p, "/SYSV", 5))
		return *ret_why = "shared memory (memfd or SysV)", -ENOTSUP;
	else if (strstr(p, " (deleted)"))
		return *ret_why = "a mapping of a deleted file", -ENOTSUP;
	else if (p[0] == '/')
		*ret_kind = VMA_FILE;
	else
		return *ret_why = "a special mapping", -ENOTSUP;
	return 0;
}

/* Does this mapping hold pages that only the image can bring back? */
static bool has_private_data(const struct proc_vma *v, uint32_t kind)
{
	if (kind == VMA_VDSO)
		return false;
	return !(kind == VMA_FILE && v->shared);
}

/* Private mappings: a page the task wrote (an anonymous page), in memory or swap. */
static bool page_worth_saving(uint64_t pm)
{
	return (pm & (PM_PRESENT | PM_SWAP)) && !(pm & PM_FILE);
}

/* One deferred run alone, when the gathered read fell short. */
static int read_one(struct page_batch *b, uint64_t addr, size_t len, unsigned char *dst)
{
	struct iovec local = { dst, len }, remote = { (void *)addr, len };
	ssize_t n = process_vm_readv(b->pid, &local, 1, &remote, 1, 0);

	if (n == (ssize_t)len)
		return 0;
	if (b->precopy)
		return -EFAULT; /* the tree runs: the mapping went away */
	n = pread(b->mem_fd, dst, len, (off_t)addr);
	return n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
}

/* Leaves run I out of the batch, its data too (pre-copy only). */
static void drop_run(struct page_batch *b, uint32_t i, uint64_t data_off, uint64_t ps)
{
	uint64_t len = b->runs[i].nr_pages * ps;

	memmove(b->data + data_off, b->data + data_off + len,
		b->hdr.nr_pages * ps - data_off - len);
	memmove(&b->runs[i], &b->runs[i + 1], (b->hdr.nr_runs - i - 1) * sizeof(b->runs[0]));
	memmove(&b->deferred[i], &b->deferred[i + 1], b->hdr.nr_runs - i - 1);
	b->hdr.nr_pages -= (uint32_t)(len / ps);
	b->hdr.nr_runs--;
}

static int read_deferred(struct page_batch *b, uint64_t ps)
{
	static struct iovec local[PAGES_PER_RECORD], remote[PAGES_PER_RECORD];
	uint64_t off = 0, total = 0;
	size_t n = 0;
	int ret = 0;

	for (uint32_t i = 0; i < b->hdr.nr_runs; off += b->runs[i++].nr_pages * ps) {
		if (!b->deferred[i])
			continue;
		local[n] = (struct iovec){ b->data + off, b->runs[i].nr_pages * ps };
		remote[n++] = (struct iovec){ (void *)b->runs[i].vaddr, b->runs[i].nr_pages * ps };
		total += b->runs[i].nr_pages * ps;
	}
	if (!n || process_vm_readv(b->pid, local, n, remote, n, 0) == (ssize_t)total)
		return 0;
	for (uint32_t i = 0, o = 0; i < b->hdr.nr_runs && !ret;) {
		uint64_t len = b->runs[i].nr_pages * ps;

		if (b->deferred[i] && (ret = read_one(b, b->runs[i].vaddr, len, b->data + o))) {
			if (!b->precopy) {
				log_error("pid %d: cannot read memory at %#llx: %s", b->pid,
					  (unsigned long long)b->runs[i].vaddr, strerror(-ret));
				return ret;
			}
			drop_run(b, i, o, ps);
			ret = 0;
			continue;
		}
		o += (uint32_t)len;
		i++;
	}
	return ret;
}

static int batch_flush(struct ckpt_ctx *ctx, struct page_batch *b)
{
	uint64_t ps = (uint64_t)ctx->page_size;
	int ret;

	if (!b->hdr.nr_runs)
		return 0;
	ret = read_deferred(b, ps);
	for (uint32_t i = 0; i < b->hdr.nr_runs && !ret && b->precopy; i++)
		ret = mm_track_keep(b->precopy, b->runs[i].vaddr,
				    b->runs[i].vaddr + b->runs[i].nr_pages * ps);
	if (!ret && b->hdr.nr_runs)
		ret = image_write_page_data(&ctx->w, b->type, &b->hdr, b->runs, b->data);
	b->hdr.nr_runs = 0;
	b->hdr.nr_pages = 0;
	return ret;
}

static int read_pages(pid_t pid, struct page_batch *b, const struct proc_vma *v, uint64_t addr,
		      size_t len, unsigned char *dst)
{
	struct iovec local = { dst, len }, remote = { (void *)addr, len };
	ssize_t n;

	if (b->shmem_fd >= 0) {
		n = pread(b->shmem_fd, dst, len, (off_t)(addr - v->start + v->pgoff));
		return n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
	}
	if (v->prot & PROT_READ) {
		n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
		if (n == (ssize_t)len)
			return 0;
	}
	/* the task cannot read it itself (PROT_NONE): /proc/PID/mem can */
	n = pread(b->mem_fd, dst, len, (off_t)addr);
	if (n == (ssize_t)len)
		return 0;
	return n < 0 ? -errno : -EIO;
}

/*
 * Adds pages [addr, addr + n pages) of one vma: read at flush if the task
 * can read them itself, else at once (shared memory, PROT_NONE).
 */
static int batch_add(struct ckpt_ctx *ctx, struct ckpt_task *t, struct page_batch *b,
		     const struct proc_vma *v, uint64_t addr, uint64_t n)
{
	uint64_t ps = (uint64_t)ctx->page_size;
	bool defer = b->shmem_fd < 0 && (v->prot & PROT_READ);

	while (n) {
		uint64_t room = b->cap_pages - b->hdr.nr_pages, take = n < room ? n : room;
		int ret = 0;

		if (!defer)
			ret = read_pages(t->pid, b, v, addr, take * ps,
					 b->data + b->hdr.nr_pages * ps);
		if (ret) {
			log_error("pid %d: cannot read memory at %#llx: %s", t->pid,
				  (unsigned long long)addr, strerror(-ret));
			return ret;
		}
		b->deferred[b->hdr.nr_runs] = defer;
		b->runs[b->hdr.nr_runs++] = (struct rec_pages_run){ addr, take };
		b->hdr.nr_pages += (uint32_t)take;
		addr += take * ps;
		n -= take;
		if ((b->hdr.nr_pages == b->cap_pages || b->hdr.nr_runs == PAGES_PER_RECORD) &&
		    (ret = batch_flush(ctx, b)))
			return ret;
	}
	return 0;
}

#define PAGEMAP_CHUNK 4096 /* entries read at once */

static int dump_vma_pages(struct ckpt_ctx *ctx, struct ckpt_task *t, struct page_batch *b,
			  int pagemap_fd, const struct proc_vma *v)
{
	static uint64_t pm[PAGEMAP_CHUNK];
	uint64_t ps = (uint64_t)ctx->page_size;

	for (uint64_t at = v->start; at < v->end;) {
		uint64_t end = v->end - at > PAGEMAP_CHUNK * ps ? at + PAGEMAP_CHUNK * ps : v->end;
		uint64_t n = (end - at) / ps, i = 0;
		int ret = proc_pagemap_read(pagemap_fd, at, end, pm);

		if (ret) {
			log_error("pid %d: cannot read its pagemap at %#llx: %s", t->pid,
				  (unsigned long long)at, strerror(-ret));
			return ret;
		}
		while (i < n) {
			uint64_t j;

			if (!page_worth_saving(pm[i])) {
				i++;
				continue;
			}
			for (j = i; j < n && page_worth_saving(pm[j]); j++)
				;
			ret = batch_add(ctx, t, b, v, at + i * ps, j - i);
			if (ret)
				return ret;
			i = j;
		}
		at = end;
	}
	return 0;
}

/*
 * Shared anonymous memory: its pages live in a shmem object, whether or
 * not this task's page tables map them, so pagemap would miss some. Read
 * the object itself (through map_files) where SEEK_DATA finds data.
 */
static int dump_shmem_pages(struct ckpt_ctx *ctx, struct ckpt_task *t, struct page_batch *b,
			    const struct proc_vma *v)
{
	uint64_t ps = (uint64_t)ctx->page_size, end = v->pgoff + (v->end - v->start);
	char path[64];
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", t->pid,
		 (unsigned long long)v->start, (unsigned long long)v->end);
	b->shmem_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (b->shmem_fd < 0) {
		ret = -errno;
		log_error("pid %d: cannot open its shared memory at %#llx: %s", t->pid,
			  (unsigned long long)v->start, strerror(-ret));
		return ret;
	}
	for (uint64_t pos = v->pgoff; pos < end && !ret;) {
		off_t data = lseek(b->shmem_fd, (off_t)pos, SEEK_DATA), hole;

		if (data < 0 || (uint64_t)data >= end)
			break; /* ENXIO: no data past pos */
		hole = lseek(b->shmem_fd, data, SEEK_HOLE);
		if (hole < 0 || (uint64_t)hole > end)
			hole = (off_t)end;
		data = (off_t)((uint64_t)data & ~(ps - 1));
		hole = (off_t)ALIGN_UP((uint64_t)hole, ps);
		ret = batch_add(ctx, t, b, v, v->start + ((uint64_t)data - v->pgoff),
				((uint64_t)hole - (uint64_t)data) / ps);
		pos = (uint64_t)hole;
	}
	close(b->shmem_fd);
	b->shmem_fd = -1;
	return ret;
}

/* Kept runs of one mm, written after its page data (REC_PAGES_KEPT). */
struct kept_runs {
	struct rec_pages_run *v;
	size_t nr, cap;
};

static int kept_add(struct kept_runs *k, uint64_t addr, uint64_t end, uint64_t ps)
{
	while (addr < end) {
		uint64_t n = (end - addr) / ps;

		if (n > PAGES_PER_RECORD)
			n = PAGES_PER_RECORD;
		if (array_reserve(&k->v, &k->cap, k->nr, sizeof(*k->v)))
			return -ENOMEM;
		k->v[k->nr++] = (struct rec_pages_run){ addr, n };
		addr += n * ps;
	}
	return 0;
}

#define KEPT_RUNS_PER_RECORD 4096

static int write_kept(struct ckpt_ctx *ctx, struct ckpt_task *t, const struct kept_runs *k,
		      uint32_t source)
{
	int ret = 0;

	for (size_t at = 0; at < k->nr && !ret;) {
		size_t n = k->nr - at < KEPT_RUNS_PER_RECORD ? k->nr - at : KEPT_RUNS_PER_RECORD;
		struct rec_pages_kept rec = { .mm_objref = t->mm_objref,
					      .nr_runs = (uint32_t)n,
					      .source = source };

		for (size_t i = 0; i < n; i++)
			rec.nr_pages += (uint32_t)k->v[at + i].nr_pages;
		ret = image_write_rec(&ctx->w, REC_PAGES_KEPT, &rec, sizeof(rec), &k->v[at],
				      n * sizeof(*k->v));
		at += n;
	}
	return ret;
}

/* A write-tracked vma: written pages are saved, the others are kept where they are. */
struct tracked_walk {
	struct ckpt_ctx *ctx;
	struct ckpt_task *t;
	struct page_batch *b;
	const struct mm_track *tr;
	const struct proc_vma *v;
	struct kept_runs *kept;
	int pagemap_fd;
	struct pagemap_window *win;
	bool written; /* of the region being walked */
	bool failed;  /* in the callback, which logged it */
};

/* Pages [start, end), all written or all not: saved, or kept where they were saved before. */
static int save_or_keep(struct tracked_walk *w, uint64_t start, uint64_t end, bool written)
{
	uint64_t ps = (uint64_t)w->ctx->page_size;
	int ret = 0;

	if (written)
		return batch_add(w->ctx, w->t, w->b, w->v, start, (end - start) / ps);
	for (uint64_t at = start; at < end && !ret;) {
		bool kept;
		uint64_t until = mm_track_kept_until(w->tr, at, end, &kept);

		if (kept)
			ret = kept_add(w->kept, at, until, ps);
		else
			ret = batch_add(w->ctx, w->t, w->b, w->v, at, (until - at) / ps);
		at = until;
	}
	return ret;
}

static int on_swapped_run(void *arg, uint64_t start, uint64_t end)
{
	struct tracked_walk *w = arg;

	return save_or_keep(w, start, end, w->written);
}

static int on_tracked_region(void *arg, const struct page_region *r)
{
	struct tracked_walk *w = arg;
	int ret;

	if (r->categories & (PAGE_IS_PFNZERO | PAGE_IS_FILE))
		return 0; /* the zero page: an untouched page of the new mapping reads the same */
	w->written = r->categories & PAGE_IS_WRITTEN;
	if (r->categories & PAGE_IS_PRESENT)
		ret = save_or_keep(w, r->start, r->end, w->written);
	else /* swapped, or the markers of empty pages */
		ret = mm_track_swapped(w->pagemap_fd, w->win, r->start, r->end, w->v->end,
				       on_swapped_run, w);
	w->failed = ret != 0;
	return ret;
}

static int dump_tracked_vma_pages(struct ckpt_ctx *ctx, struct ckpt_task *t, struct page_batch *b,
				  int pagemap_fd, const struct mm_track *tr,
				  const struct proc_vma *v, struct kept_runs *kept)
{
	static struct pagemap_window win;
	struct tracked_walk w = { .ctx = ctx,
				  .t = t,
				  .b = b,
				  .tr = tr,
				  .v = v,
				  .kept = kept,
				  .pagemap_fd = pagemap_fd,
				  .win = &win };

	win.nr = 0; /* another vma, perhaps another process: nothing cached */
	int ret = mm_track_scan(pagemap_fd, v->start, v->end, PAGE_IS_PRESENT | PAGE_IS_SWAPPED, 0,
				on_tracked_region, &w);

	if (ret && !w.failed)
		log_error("pid %d: cannot scan its memory at %#llx: %s", t->pid,
			  (unsigned long long)v->start, strerror(-ret));
	return ret;
}

static int dump_pages(struct ckpt_ctx *ctx, struct ckpt_task *t, const struct proc_vma_list *l,
		      const uint32_t *kinds)
{
	struct page_batch b = { .type = REC_PAGES,
				.hdr.mm_objref = t->mm_objref,
				.pid = t->pid,
				.mem_fd = -1,
				.shmem_fd = -1 };
	const struct mm_track *tr = ckpt_track_of(ctx, t->pid);
	struct kept_runs kept = { 0 };
	char path[64];
	int pagemap_fd, ret = 0;

	b.cap_pages = CRYO_PAGES_MAX_BYTES / (size_t)ctx->page_size;
	b.data = mmap(NULL, CRYO_PAGES_MAX_BYTES, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b.data == MAP_FAILED)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/proc/%d/mem", t->pid);
	b.mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	pagemap_fd = proc_pagemap_open(t->pid);
	if (b.mem_fd < 0 || pagemap_fd < 0) {
		ret = b.mem_fd < 0 ? -errno : pagemap_fd;
		log_error("pid %d: cannot open its memory: %s", t->pid, strerror(-ret));
		goto out;
	}
	for (size_t i = 0; i < l->nr && !ret; i++) {
		/*
		 * Every mapping of a shared object saves the part it maps: a second
		 * mapping may cover another part (a split mapping, another task's).
		 * Where they overlap the bytes are the same, written twice at restart.
		 */
		const struct proc_vma *v = &l->vmas[i];

		if (kinds[i] == VMA_ANON && v->shared)
			ret = dump_shmem_pages(ctx, t, &b, v);
		else if (tr && mm_track_eligible(v) && !mm_track_claim(tr, v))
			ret = dump_tracked_vma_pages(ctx, t, &b, pagemap_fd, tr, v, &kept);
		else if (has_private_data(v, kinds[i]))
			ret = dump_vma_pages(ctx, t, &b, pagemap_fd, v);
	}
	if (!ret)
		ret = batch_flush(ctx, &b);
	if (!ret && kept.nr)
		ret = write_kept(ctx, t, &kept, tr->source);
out:
	if (pagemap_fd >= 0)
		close(pagemap_fd);
	if (b.mem_fd >= 0)
		close(b.mem_fd);
	munmap(b.data, CRYO_PAGES_MAX_BYTES);
	free(kept.v);
	return ret;
}

/* --- pre-copy ---------------------------------------------------------------------- */

/*
 * The tree runs: a mapping may go away under the copy. A run that cannot
 * be read whole is left out (not kept), and the freeze saves it
 * (read_deferred(), batch_flush()).
 */
struct precopy_walk {
	struct ckpt_ctx *ctx;
	struct page_batch *b;
	struct mm_track *tr;
};

static int precopy_run(struct precopy_walk *w, uint64_t addr, uint64_t n)
{
	struct page_batch *b = w->b;
	uint64_t ps = (uint64_t)w->ctx->page_size;

	while (n) {
		uint64_t take =
		    n < b->cap_pages - b->hdr.nr_pages ? n : b->cap_pages - b->hdr.nr_pages;
		int ret;

		b->deferred[b->hdr.nr_runs] = true;
		b->runs[b->hdr.nr_runs++] = (struct rec_pages_run){ addr, take };
		b->hdr.nr_pages += (uint32_t)take;
		if ((b->hdr.nr_pages == b->cap_pages || b->hdr.nr_runs == PAGES_PER_RECORD) &&
		    (ret = batch_flush(w->ctx, b)))
			return ret;
		addr += take * ps;
		n -= take;
	}
	return 0;
}

static int on_precopy_region(void *arg, const struct page_region *r)
{
	struct precopy_walk *w = arg;

	if (r->categories & (PAGE_IS_PFNZERO | PAGE_IS_FILE))
		return 0;
	return precopy_run(w, r->start, (r->end - r->start) / (uint64_t)w->ctx->page_size);
}

int mm_precopy(struct ckpt_ctx *ctx, struct mm_track *tr)
{
	struct page_batch b = { .type = REC_PRECOPY,
				.hdr.pid = (uint32_t)tr->pid,
				.pid = tr->pid,
				.mem_fd = -1,
				.shmem_fd = -1,
				.precopy = tr };
	struct precopy_walk w = { ctx, &b, tr };
	struct proc_vma_list l = { 0 };
	int ret = proc_read_maps(tr->pid, &l);

	if (ret)
		return ret == -ENOENT || ret == -ESRCH ? 0 : ret;
	b.cap_pages = CRYO_PAGES_MAX_BYTES / (size_t)ctx->page_size;
	b.data = mmap(NULL, CRYO_PAGES_MAX_BYTES, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b.data == MAP_FAILED) {
		proc_vma_list_free(&l);
		return -ENOMEM;
	}
	tr->source = PAGES_IN_PRECOPY;
	for (size_t i = 0; i < l.nr && !ret; i++) {
		const struct proc_vma *v = &l.vmas[i];

		if (mm_track_eligible(v) && (v->prot & PROT_READ))
			/* present pages only: swapped ones are saved at the freeze */
			ret = mm_track_scan(tr->pagemap_fd, v->start, v->end, PAGE_IS_PRESENT, 0,
					    on_precopy_region, &w);
	}
	if (ret == 1 || ret == -ENOENT || ret == -ESRCH)
		ret = 0; /* gone */
	if (!ret)
		ret = batch_flush(ctx, &b);
	munmap(b.data, CRYO_PAGES_MAX_BYTES);
	proc_vma_list_free(&l);
	return ret;
}

/* The exact path of a mapped file, from map_files (maps escapes some names). */
static int mapped_file_path(pid_t pid, const struct proc_vma *v, char *buf, size_t size)
{
	char name[64];

	snprintf(name, sizeof(name), "map_files/%llx-%llx", (unsigned long long)v->start,
		 (unsigned long long)v->end);
	return proc_readlink(pid, name, buf, size);
}

/*
 * The shared object behind a MAP_SHARED|MAP_ANONYMOUS mapping: one per
 * shmem inode (the identity map_files shows, doc/tree-experiments t03), so
 * tasks that inherited the mapping, or one task mapping it twice, share it
 * again at restart.
 */
static int dump_shmem(struct ckpt_ctx *ctx, struct ckpt_task *t, const struct proc_vma *v,
		      uint32_t *ret_objref)
{
	char path[64];
	struct stat st;
	bool is_new;
	int fd, ret;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", t->pid,
		 (unsigned long long)v->start, (unsigned long long)v->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		log_error("pid %d: cannot open its shared memory at %#llx: %s", t->pid,
			  (unsigned long long)v->start, strerror(-ret));
		return ret;
	}
	close(fd);
	{
		/* word[1] < 0: compared by all words, not kcmp (files.c) */
		struct obj_key key = { .hash = st.st_dev * 1000003ull ^ st.st_ino,
				       .word = { st.st_dev, (uint64_t)-2, st.st_ino } };

		ret = objhash_lookup_or_add(ctx->objs, OBJ_FILE, &key, ret_objref, &is_new);
	}
	if (ret || !is_new)
		return ret;
	{
		struct rec_shmem m = {
			.objref = *ret_objref,
			.size = ALIGN_UP((uint64_t)st.st_size, (uint64_t)ctx->page_size),
		};

		if (m.size < v->pgoff + (v->end - v->start))
			m.size = v->pgoff + (v->end - v->start);
		return image_write_rec(&ctx->w, REC_SHMEM, &m, sizeof(m), NULL, 0);
	}
}

/* Files first: every record must come after the objects it names. */
static int dump_vma_files(struct ckpt_ctx *ctx, struct ckpt_task *t, const struct proc_vma_list *l,
			  const uint32_t *kinds, uint32_t *file_refs)
{
	char path[CRYO_PATH_MAX];

	for (size_t i = 0; i < l->nr; i++) {
		const struct proc_vma *v = &l->vmas[i];
		int flags = v->shared && (v->prot & PROT_WRITE) ? O_RDWR : O_RDONLY, ret;

		file_refs[i] = 0;
		if (kinds[i] == VMA_ANON && v->shared) {
			ret = dump_shmem(ctx, t, v, &file_refs[i]);
			if (ret)
				return ret;
			continue;
		}
		if (kinds[i] != VMA_FILE)
			continue;
		ret = mapped_file_path(t->pid, v, path, sizeof(path));
		if (ret) {
			log_error("pid %d: mapping %#llx: cannot read its file name: %s", t->pid,
				  (unsigned long long)v->start, strerror(-ret));
			return ret;
		}
		ret = files_dump_path(ctx, t, path, flags, &file_refs[i]);
		if (ret)
			return ret;
	}
	return 0;
}

static int write_vmas(struct ckpt_ctx *ctx, struct ckpt_task *t, const struct proc_vma_list *l,
		      const uint32_t *kinds, const uint32_t *file_refs)
{
	for (size_t i = 0; i < l->nr; i++) {
		const struct proc_vma *v = &l->vmas[i];
		struct rec_vma r = {
			.mm_objref = t->mm_objref,
			.file_objref = file_refs[i],
			.start = v->start,
			.end = v->end,
			.pgoff = kinds[i] == VMA_FILE || file_refs[i] ? v->pgoff : 0,
			.kind = kinds[i],
			.prot = v->prot & VMA_PROT_MASK,
			.flags = (v->shared ? VMA_FLAG_SHARED : 0) |
				 (kinds[i] == VMA_STACK ? VMA_FLAG_GROWSDOWN : 0),
		};
		int ret = image_write_rec(&ctx->w, REC_VMA, &r, sizeof(r), NULL, 0);

		if (ret)
			return ret;
	}
	return 0;
}

static int write_mm(struct ckpt_ctx *ctx, struct ckpt_task *t, uint32_t exe_ref)
{
	uint64_t auxv[CRYO_AUXV_WORDS_MAX];
	const struct proc_stat *s = &t->stat;
	struct rec_mm mm = {
		.objref = t->mm_objref,
		.exe_file_objref = exe_ref,
		.start_code = s->start_code,
		.end_code = s->end_code,
		.start_data = s->start_data,
		.end_data = s->end_data,
		.start_brk = s->start_brk,
		.start_stack = s->start_stack,
		.arg_start = s->arg_start,
		.arg_end = s->arg_end,
		.env_start = s->env_start,
		.env_end = s->env_end,
	};
	size_t words;
	long brk;
	int ret;

	ret = proc_read_auxv(t->pid, auxv, ARRAY_SIZE(auxv), &words);
	if (!ret)
		ret = ckpt_task_syscall(t, SYS_brk, 0, 0, 0, 0, &brk); /* brk(0) reads the break */
	if (ret) {
		log_error("pid %d: cannot read its auxv or break: %s", t->pid, strerror(-ret));
		return ret;
	}
	mm.brk = (uint64_t)brk;
	mm.auxv_words = (uint32_t)words;
	return image_write_rec(&ctx->w, REC_MM, &mm, sizeof(mm), auxv, words * sizeof(uint64_t));
}

static int check_vmas(struct ckpt_task *t, const struct proc_vma_list *l, uint32_t *kinds)
{
	size_t j = 0;

	for (size_t i = 0; i < l->nr; i++) {
		const char *why = NULL;

		if (!strcmp(l->vmas[i].path, "[vsyscall]"))
			continue; /* above user space: every task has it */
		if (classify(&l->vmas[i], &kinds[j], &why)) {
			log_error("pid %d: mapping %#llx-%#llx (%s) is %s, not supported yet",
				  t->pid, (unsigned long long)l->vmas[i].start,
				  (unsigned long long)l->vmas[i].end, l->vmas[i].path, why);
			return -ENOTSUP;
		}
		j++;
	}
	return 0;
}

int mm_dump(struct ckpt_ctx *ctx, struct ckpt_task *t)
{
	struct proc_vma_list l = { 0 };
	uint32_t *kinds = NULL, *file_refs = NULL, exe_ref = 0;
	char exe[CRYO_PATH_MAX];
	struct obj_key key = { .hash = (uint64_t)t->pid, .word = { (uint64_t)t->pid } };
	bool is_new;
	int ret;

	ret = proc_read_maps(t->pid, &l);
	if (ret) {
		log_error("pid %d: cannot read its mappings: %s", t->pid, strerror(-ret));
		return ret;
	}
	/* [vsyscall] is not a mapping of the task's: leave it out of the list */
	if (l.nr && !strcmp(l.vmas[l.nr - 1].path, "[vsyscall]"))
		l.nr--;
	kinds = calloc(l.nr + 1, sizeof(*kinds));
	file_refs = calloc(l.nr + 1, sizeof(*file_refs));
	ret = kinds && file_refs ? check_vmas(t, &l, kinds) : -ENOMEM;
	if (!ret)
		ret = proc_readlink(t->pid, "exe", exe, sizeof(exe));
	if (!ret)
		ret = files_dump_path(ctx, t, exe, O_RDONLY, &exe_ref);
	if (!ret)
		ret = dump_vma_files(ctx, t, &l, kinds, file_refs);
	if (!ret)
		ret = objhash_lookup_or_add(ctx->objs, OBJ_MM, &key, &t->mm_objref, &is_new);
	if (!ret)
		ret = write_mm(ctx, t, exe_ref);
	if (!ret)
		ret = write_vmas(ctx, t, &l, kinds, file_refs);
	if (!ret)
		ret = dump_pages(ctx, t, &l, kinds);
	free(kinds);
	free(file_refs);
	proc_vma_list_free(&l);
	return ret;
}

/* --- restart ----------------------------------------------------------------------- */

static uint32_t map_flags(const struct rec_vma *v)
{
	uint32_t flags = v->flags & VMA_FLAG_SHARED ? MAP_SHARED : MAP_PRIVATE;

	if (v->kind != VMA_FILE && !v->file_objref) /* shared memory maps its object */
		flags |= MAP_ANONYMOUS;
	if (v->flags & VMA_FLAG_GROWSDOWN)
		flags |= MAP_GROWSDOWN;
	return flags;
}

/*
 * Page data of the task: one restorer_run per extent, pointing into the
 * image, its pre-copy, or a parent image (image/chain.h), in address order.
 */
static int add_runs(struct rst_ctx *ctx, struct rst_task *t, struct rst_block *b, uint64_t *ret_nr)
{
	struct page_extent *ext = NULL;
	size_t nr = 0;
	char err[320];
	int ret = image_chain_pages(&ctx->chain, 0, t->pid, &ext, &nr, err, sizeof(err));

	if (ret)
		return ret == -ENOMEM ? ret : rst_fail(ctx, ret, "%s", err);
	for (size_t i = 0; i < nr && !ret; i++) {
		struct restorer_run run = {
			.vaddr = ext[i].vaddr,
			.len = ext[i].len,
			.file_offset = ext[i].offset,
			.fd = ext[i].link ? ctx->chain.links[ext[i].link].src.fd : ctx->src.fd,
		};

		if (!rst_block_append(b, &run, sizeof(run)))
			ret = -ENOMEM;
	}
	free(ext);
	*ret_nr = nr;
	return ret;
}

/*
 * A vma that page data lands in is mapped writable until it is filled. Runs
 * and vmas are both in address order: one binary search per run. With
 * --lazy, a run is left to the page server when its vmas are all lazy.
 */
static void mark_vmas_with_data(struct rst_block *b, uint64_t vmas_off, uint64_t nr_vmas,
				uint64_t runs_off, uint64_t nr_runs)
{
	struct restorer_vma *v = (void *)((char *)b->args + vmas_off);
	struct restorer_run *r = (void *)((char *)b->args + runs_off);

	for (uint64_t i = 0; i < nr_runs; i++) {
		uint64_t lo = 0, hi = nr_vmas, first;

		while (lo < hi) {
			uint64_t mid = lo + (hi - lo) / 2;

			if (v[mid].end <= r[i].vaddr)
				lo = mid + 1;
			else
				hi = mid;
		}
		first = lo;
		/* an extent may span adjacent vmas (image/chain.c merges touching runs) */
		for (; lo < nr_vmas && v[lo].start < r[i].vaddr + r[i].len; lo++)
			v[lo].has_data = 1;
		/* lazy only when every vma it lands in is (else the restorer reads it now) */
		r[i].lazy = lo > first;
		for (uint64_t k = first; k < lo && r[i].lazy; k++)
			r[i].lazy = v[k].lazy;
	}
	for (uint64_t k = 0; k < nr_vmas; k++)
		v[k].lazy = v[k].lazy && v[k].has_data; /* nothing to serve in the others */
}

bool mm_vma_is_lazy(const struct rec_vma *v)
{
	return (v->kind == VMA_ANON || v->kind == VMA_HEAP || v->kind == VMA_STACK) &&
	       !(v->flags & VMA_FLAG_SHARED) && !v->file_objref;
}

/*
 * --lazy applies to single-threaded processes only. With threads, a futex
 * operation that faults a missing page in without the right to wait (the
 * kernel's fault_in_user_writeable()) fails with EFAULT, and glibc aborts:
 * seen once in six lazy restarts of tests/cr/threads.c. Such a process is
 * restored eagerly, whole, before it runs.
 */
bool mm_task_is_lazy(const struct rst_ctx *ctx, const struct rst_task *t)
{
	return ctx->opts->lazy && !t->nr_threads;
}

static int add_vmas(struct rst_ctx *ctx, uint32_t mm, bool lazy, struct rst_block *b,
		    uint64_t *ret_nr)
{
	uint64_t nr = 0;

	for (size_t i = 0; i < ctx->img->nr_recs; i++) {
		const struct image_record *r = &ctx->img->recs[i];
		const struct rec_vma *v = r->payload;
		struct restorer_vma rv;
		int fd = -1, ret;

		if (r->type != REC_VMA || v->mm_objref != mm || v->kind == VMA_VDSO)
			continue;
		if (v->file_objref && (ret = files_open_objref(ctx, v->file_objref, &fd)))
			return ret;
		rv = (struct restorer_vma){
			.start = v->start,
			.end = v->end,
			.pgoff = v->pgoff,
			.prot = v->prot,
			.flags = map_flags(v),
			.fd = fd,
			.lazy = lazy && mm_vma_is_lazy(v),
		};
		if (!rst_block_append(b, &rv, sizeof(rv)))
			return -ENOMEM;
		nr++;
	}
	*ret_nr = nr;
	return 0;
}

_Static_assert(offsetof(struct rec_mm, env_end) - offsetof(struct rec_mm, start_code) ==
		   offsetof(struct restorer_mm, env_end) - offsetof(struct restorer_mm, start_code),
	       "rec_mm and restorer_mm list the same addresses in the same order");
_Static_assert(offsetof(struct restorer_mm, auxv) == RESTORER_MM_MAP_SIZE &&
		   sizeof(struct prctl_mm_map) == RESTORER_MM_MAP_SIZE,
	       "restorer_mm starts with struct prctl_mm_map");

int mm_restore_prepare(struct rst_ctx *ctx, struct rst_task *t, struct rst_block *b)
{
	const struct image_record *r = image_obj_record(ctx->img, t->objs->mm_objref, OBJ_MM);
	const struct rec_mm *m = r->payload;
	struct restorer_mm *rm;
	uint64_t vmas_off, runs_off, nr_vmas, nr_runs;
	int exe_fd = -1, ret;

	if (m->exe_file_objref && (ret = files_open_objref(ctx, m->exe_file_objref, &exe_fd)))
		return ret;
	vmas_off = rst_block_array(b);
	ret = add_vmas(ctx, m->objref, mm_task_is_lazy(ctx, t), b, &nr_vmas);
	if (ret)
		return ret;
	runs_off = rst_block_array(b);
	ret = add_runs(ctx, t, b, &nr_runs);
	if (ret)
		return ret;
	mark_vmas_with_data(b, vmas_off, nr_vmas, runs_off, nr_runs);
	b->args->vmas_off = nr_vmas ? vmas_off : 0;
	b->args->nr_vmas = nr_vmas;
	b->args->runs_off = nr_runs ? runs_off : 0;
	b->args->nr_runs = nr_runs;
	rm = &b->args->mm;
	/* the eleven addresses, start_code to env_end, in the same order in both */
	memcpy(&rm->start_code, &m->start_code,
	       offsetof(struct rec_mm, auxv_words) - offsetof(struct rec_mm, start_code));
	rm->auxv_size = m->auxv_words * (uint32_t)sizeof(uint64_t);
	rm->exe_fd = exe_fd;
	memcpy(rm->auxv, m + 1, m->auxv_words * sizeof(uint64_t));
	return 0;
}

struct range {
	uint64_t start, end;
};

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The lowest hole of LEN bytes above 4 GiB that no range covers. */
static uint64_t find_hole(struct range *used, size_t nr, uint64_t len)
{
	uint64_t at = 1ull << 32;

	qsort(used, nr, sizeof(*used), cmp_range);
	for (size_t i = 0; i < nr; i++) {
		if (used[i].end <= at)
			continue;
		if (used[i].start >= at + len)
			break;
		at = ALIGN_UP(used[i].end, 4096ull);
	}
	return at + len <= ARCH_TASK_SIZE ? at : 0;
}

/* Current special mappings, in address order, must match the saved ones one for one. */
static int plan_vdso(struct rst_ctx *ctx, struct rst_task *t, struct rst_block *b,
		     const struct proc_vma_list *self, struct range *used, size_t nr_used)
{
	struct restorer_args *a = b->args;
	uint32_t n = 0, saved = 0;
	uint64_t lo_cur = UINT64_MAX, hi_cur = 0, lo_saved = UINT64_MAX, hi_saved = 0;

	for (size_t i = 0; i < self->nr; i++) {
		const struct proc_vma *v = &self->vmas[i];

		if (!is_vdso_name(v->path))
			continue;
		if (n == RESTORER_MAX_VDSO)
			return rst_fail(ctx, -ENOTSUP, "pid %d: too many vdso mappings", t->pid);
		a->vdso[n++] = (struct restorer_vdso){ v->start, 0, v->end - v->start };
		lo_cur = v->start < lo_cur ? v->start : lo_cur;
		hi_cur = v->end > hi_cur ? v->end : hi_cur;
	}
	for (size_t i = 0; i < ctx->img->nr_recs; i++) {
		const struct image_record *r = &ctx->img->recs[i];
		const struct rec_vma *v = r->payload;

		if (r->type != REC_VMA || v->mm_objref != t->objs->mm_objref || v->kind != VMA_VDSO)
			continue;
		if (saved >= n || a->vdso[saved].len != v->end - v->start)
			return rst_fail(ctx, -ENOTSUP,
					"pid %d: its vdso differs from this kernel's; restart on "
					"the kernel it was checkpointed on",
					t->pid);
		a->vdso[saved++].to = v->start;
		lo_saved = v->start < lo_saved ? v->start : lo_saved;
		hi_saved = v->end > hi_saved ? v->end : hi_saved;
	}
	if (!saved) { /* the task had none: drop ours */
		memcpy(a->unmap_vdso, a->vdso, sizeof(a->vdso));
		a->nr_unmap_vdso = n;
		return 0;
	}
	if (saved != n)
		return rst_fail(ctx, -ENOTSUP, "pid %d: its vdso differs from this kernel's",
				t->pid);
	a->nr_vdso = n;
	if (lo_cur == lo_saved)
		return 0; /* already in place (same layout, e.g. no ASLR on either side) */
	if (lo_cur < hi_saved && lo_saved < hi_cur) {
		/* the moves would overlap: go through a hole first */
		uint64_t tmp = find_hole(used, nr_used, hi_cur - lo_cur);

		if (!tmp)
			return rst_fail(ctx, -ENOMEM, "pid %d: no room to move the vdso", t->pid);
		for (uint32_t i = 0; i < n; i++) {
			a->vdso_tmp[i] = (struct restorer_vdso){ a->vdso[i].from,
								 tmp + (a->vdso[i].from - lo_cur),
								 a->vdso[i].len };
			a->vdso[i].from = a->vdso_tmp[i].to;
		}
	}
	return 0;
}

int mm_restore_layout(struct rst_ctx *ctx, struct rst_task *t, struct rst_block *b, size_t len,
		      uint64_t *ret_start)
{
	struct proc_vma_list self = { 0 };
	struct range *used;
	size_t nr = 0;
	int ret;

	ret = proc_read_maps(getpid(), &self);
	if (ret)
		return rst_fail(ctx, ret, "pid %d: cannot read its own mappings: %s", t->pid,
				strerror(-ret));
	used = calloc(self.nr + ctx->img->nr_recs + 1, sizeof(*used));
	if (!used) {
		proc_vma_list_free(&self);
		return -ENOMEM;
	}
	for (size_t i = 0; i < self.nr; i++)
		used[nr++] = (struct range){ self.vmas[i].start, self.vmas[i].end };
	for (size_t i = 0; i < ctx->img->nr_recs; i++) {
		const struct rec_vma *v = ctx->img->recs[i].payload;

		if (ctx->img->recs[i].type == REC_VMA)
			used[nr++] = (struct range){ v->start, v->end };
	}
	*ret_start = find_hole(used, nr, len);
	if (!*ret_start) {
		ret = rst_fail(ctx, -ENOMEM, "pid %d: no hole for the restorer", t->pid);
	} else {
		used[nr++] = (struct range){ *ret_start, *ret_start + len };
		ret = plan_vdso(ctx, t, b, &self, used, nr);
	}
	b->args->task_size = ARCH_TASK_SIZE;
	free(used);
	proc_vma_list_free(&self);
	return ret;
}
