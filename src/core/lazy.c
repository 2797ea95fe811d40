// SPDX-License-Identifier: MIT
/*
 * The page server of a lazy restart (`cryo restart --lazy`,
 * doc/performance.md).
 *
 * The restorers left the private anonymous memory of every task empty and
 * registered with a userfaultfd (restorer.c, register_lazy()); restart took
 * the descriptors. The tree runs at once; this process, forked just before,
 * fills its memory: a page the program touches first is copied at once
 * (UFFDIO_COPY of the chunk around it, from the image mapped read-only),
 * and the rest is copied in the background, a MiB at a time, until nothing
 * is left; then it closes the descriptors, which unregisters the memory,
 * and exits. Pages are copied into real anonymous memory: MADV_DONTNEED
 * gives zeros as it should, and nothing stays backed by the image file.
 *
 * What the program does to its memory meanwhile comes as events: fork (a
 * child's memory is missing the same pages: it gets a view of its own),
 * mremap (the data moves with the mapping), MADV_DONTNEED and munmap (the
 * pages are no longer to be filled). While such an event is pending, the
 * kernel refuses copies (EAGAIN), so a copy never lands in memory the
 * program has just dropped.
 *
 * Each page record's checksum is checked before the first copy from it.
 * A mismatch kills the tree: with --lazy the tree runs before all of its
 * memory was read, which is the price of starting at once. If the server
 * is killed, pages not copied yet read as zeros: --lazy is for when the
 * server is sure to live (doc/performance.md says so).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/rst.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/uffd.h"
#include "lib/util.h"

#define FAULT_CHUNK    (256u << 10) /* copied around a fault */
#define PREFETCH_CHUNK (1u << 20)   /* copied per background step */
#define MSGS	       16

/* One address space being filled: what is still to copy into it. */
struct view {
	int uffd;		 /* -1 once done */
	pid_t pid;		 /* for messages; 0 for a child forked since */
	struct page_extent *ext; /* ascending, not overlapping */
	size_t nr;
	/* faults read while copies were refused (EAGAIN): answered after the events */
	uint64_t *retry;
	size_t nr_retry, cap_retry;
};

struct server {
	struct rst_ctx *ctx;
	struct view *views;
	size_t nr_views;
	bool *checked[IMAGE_CHAIN_MAX + 1]; /* per link, per record: its checksum was checked */
	uint64_t ps;
};

static const struct image *link_img(const struct server *s, uint32_t link)
{
	return link ? s->ctx->chain.links[link].img : s->ctx->img;
}

static __attribute__((noreturn)) void give_up(struct server *s, const char *why)
{
	log_error("%s; the restored tree is killed", why);
	for (size_t i = 0; i < s->ctx->nr_tasks; i++)
		if (!s->ctx->tasks[i].zombie)
			kill(s->ctx->tasks[i].pid, SIGKILL);
	_exit(1);
}

static void check_record(struct server *s, const struct page_extent *e)
{
	const struct image *img = link_img(s, e->link);
	struct image_error err;
	char reason[320], line[400];

	if (s->checked[e->link][e->rec])
		return;
	if (image_pages_check(img, &img->recs[e->rec], &err)) {
		image_error_format(&err, reason, sizeof(reason));
		snprintf(line, sizeof(line), "%s: invalid image: %s",
			 e->link ? s->ctx->chain.links[e->link].path : s->ctx->opts->image, reason);
		give_up(s, line);
	}
	s->checked[e->link][e->rec] = true;
}

/* --- a view's extents ------------------------------------------------------------- */

static int add_extent(struct page_extent **v, size_t *nr, size_t *cap, const struct page_extent *e)
{
	if (array_reserve(v, cap, *nr, sizeof(**v)))
		return -ENOMEM;
	(*v)[(*nr)++] = *e;
	return 0;
}

/* The part of E inside [start, end), or a zero length. */
static struct page_extent clip(const struct page_extent *e, uint64_t start, uint64_t end)
{
	struct page_extent c = *e;
	uint64_t lo = e->vaddr > start ? e->vaddr : start;
	uint64_t hi = e->vaddr + e->len < end ? e->vaddr + e->len : end;

	c.len = hi > lo ? hi - lo : 0;
	c.offset += lo - e->vaddr;
	c.vaddr = lo;
	return c;
}

static int cmp_extent(const void *a, const void *b)
{
	const struct page_extent *x = a, *y = b;

	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

/* Takes [start, end) out of the view; what was there goes to MOVED if asked. */
static int cut_out(struct view *v, uint64_t start, uint64_t end, struct view *moved)
{
	struct page_extent *n = NULL;
	size_t nr = 0, cap = 0, cap_moved = 0;
	int ret = 0;

	for (size_t i = 0; i < v->nr && !ret; i++) {
		struct page_extent before = clip(&v->ext[i], 0, start);
		struct page_extent inside = clip(&v->ext[i], start, end);
		struct page_extent after = clip(&v->ext[i], end, UINT64_MAX);

		if (before.len)
			ret = add_extent(&n, &nr, &cap, &before);
		if (!ret && inside.len && moved)
			ret = add_extent(&moved->ext, &moved->nr, &cap_moved, &inside);
		if (!ret && after.len)
			ret = add_extent(&n, &nr, &cap, &after);
	}
	if (ret) {
		free(n);
		return ret;
	}
	free(v->ext);
	v->ext = n;
	v->nr = nr;
	return 0;
}

static int cut(struct view *v, uint64_t start, uint64_t end)
{
	return cut_out(v, start, end, NULL);
}

/* mremap moved [from, from + len) to TO, which it had emptied first: the data goes along. */
static int move(struct view *v, uint64_t from, uint64_t len, uint64_t to)
{
	struct view moved = { .uffd = -1 };
	size_t cap;
	int ret = cut_out(v, from, from + len, &moved);

	if (!ret)
		ret = cut(v, to, to + len);
	cap = v->nr; /* what is known of its allocation: add_extent() grows it first */
	for (size_t i = 0; i < moved.nr && !ret; i++) {
		moved.ext[i].vaddr = moved.ext[i].vaddr - from + to;
		ret = add_extent(&v->ext, &v->nr, &cap, &moved.ext[i]);
	}
	if (!ret && v->nr)
		qsort(v->ext, v->nr, sizeof(*v->ext), cmp_extent);
	free(moved.ext);
	return ret;
}

/* --- copying ------------------------------------------------------------------------ */

/* The server's memory does not grow with the image: copied data is let go of. */
static void drop_source(const struct server *s, uint64_t src, uint64_t len)
{
	uint64_t from = ALIGN_UP(src, s->ps), to = (src + len) & ~(s->ps - 1);

	if (to > from)
		madvise((void *)(uintptr_t)from, to - from, MADV_DONTNEED);
}

/*
 * Copies [start, end) of extent I of V into the task, or a first part of
 * it; what was copied is cut from the view. 0, -EAGAIN when events must be
 * read first, -ESRCH when the address space is gone.
 */
static int copy(struct server *s, struct view *v, size_t i, uint64_t start, uint64_t end)
{
	const struct page_extent *e = &v->ext[i];
	const unsigned char *base = link_img(s, e->link)->buf;
	struct uffdio_copy c = { .dst = start,
				 .src =
				     (uint64_t)(uintptr_t)(base + e->offset + (start - e->vaddr)),
				 .len = end - start };

	check_record(s, e);
	if (!ioctl(v->uffd, UFFDIO_COPY, &c)) {
		drop_source(s, c.src, end - start);
		return cut(v, start, end);
	}
	if (c.copy > 0) /* a part: the rest comes in another step */
		return cut(v, start, start + (uint64_t)c.copy);
	if (errno == EAGAIN)
		return -EAGAIN;
	if (errno == ESRCH)
		return -ESRCH;
	/*
	 * One copy must stay inside one vma: the range spans two (ENOENT), so
	 * page by page. A page alone that fails is already there (EEXIST), or
	 * its mapping is gone or was never registered (ENOENT): nothing to fill.
	 */
	if (errno == ENOENT && end - start > s->ps)
		return copy(s, v, i, start, start + s->ps);
	return cut(v, start, start + s->ps);
}

static size_t find_extent(const struct view *v, uint64_t addr)
{
	size_t lo = 0, hi = v->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->ext[mid].vaddr + v->ext[mid].len <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < v->nr && v->ext[lo].vaddr <= addr ? lo : v->nr;
}

/* The program touched ADDR: the chunk around it, or a zero page if the image has none. */
static int serve_fault(struct server *s, struct view *v, uint64_t addr)
{
	uint64_t page = addr & ~(s->ps - 1), start, end;
	size_t i = find_extent(v, page);
	int ret;

	if (i == v->nr) {
		struct uffdio_zeropage z = { .range = { page, s->ps } };

		if (ioctl(v->uffd, UFFDIO_ZEROPAGE, &z) && errno == EAGAIN)
			return -EAGAIN;
		return 0; /* EEXIST: another fault of it was served */
	}
	start = page & ~(uint64_t)(FAULT_CHUNK - 1);
	if (start < v->ext[i].vaddr)
		start = v->ext[i].vaddr;
	end = start + FAULT_CHUNK;
	if (end > v->ext[i].vaddr + v->ext[i].len)
		end = v->ext[i].vaddr + v->ext[i].len;
	ret = copy(s, v, i, start, end);
	/* a copy cut short (two vmas, a page already there) may have stopped before it */
	i = ret ? v->nr : find_extent(v, page);
	return i < v->nr ? copy(s, v, i, page, page + s->ps) : ret;
}

/* A fault to answer once the pending events are read: the thread waits for it. */
static int defer_fault(struct view *v, uint64_t addr)
{
	if (array_reserve(&v->retry, &v->cap_retry, v->nr_retry, sizeof(*v->retry)))
		return -ENOMEM;
	v->retry[v->nr_retry++] = addr;
	return 0;
}

static int retry_faults(struct server *s, struct view *v)
{
	size_t left = 0;
	int ret = 0;

	for (size_t k = 0; k < v->nr_retry && ret != -ENOMEM; k++) {
		ret = serve_fault(s, v, v->retry[k]);
		if (ret == -EAGAIN)
			v->retry[left++] = v->retry[k];
	}
	v->nr_retry = left;
	return ret == -ENOMEM ? ret : 0;
}

static int add_view(struct server *s, int uffd, pid_t pid, const struct page_extent *ext, size_t nr)
{
	struct view *n = realloc(s->views, (s->nr_views + 1) * sizeof(*n));
	struct view *v;

	if (!n)
		return -ENOMEM;
	s->views = n;
	v = &s->views[s->nr_views++];
	*v = (struct view){ .uffd = uffd, .pid = pid, .nr = nr };
	v->ext = malloc((nr ? nr : 1) * sizeof(*ext));
	if (!v->ext)
		return -ENOMEM;
	memcpy(v->ext, ext, nr * sizeof(*ext));
	return 0;
}

/* Reads V's events; faults are served at once. -EAGAIN: copies still refused. */
static int handle_events(struct server *s, size_t vi)
{
	struct uffd_msg msg[MSGS];
	ssize_t n;
	int ret = 0;

	while ((n = read(s->views[vi].uffd, msg, sizeof(msg))) > 0) {
		for (ssize_t k = 0; k < n / (ssize_t)sizeof(msg[0]) && ret != -ENOMEM; k++) {
			struct view *v = &s->views[vi];

			switch (msg[k].event) {
			case UFFD_EVENT_PAGEFAULT:
				ret = serve_fault(s, v, msg[k].arg.pagefault.address);
				if (ret == -EAGAIN)
					ret = defer_fault(v, msg[k].arg.pagefault.address);
				break;
			case UFFD_EVENT_FORK:
				ret = add_view(s, (int)msg[k].arg.fork.ufd, 0, v->ext, v->nr);
				break;
			case UFFD_EVENT_REMAP:
				ret = move(v, msg[k].arg.remap.from, msg[k].arg.remap.len,
					   msg[k].arg.remap.to);
				break;
			case UFFD_EVENT_REMOVE:
			case UFFD_EVENT_UNMAP:
				ret = cut(v, msg[k].arg.remove.start, msg[k].arg.remove.end);
				break;
			}
			if (ret == -EAGAIN) /* a background copy refused: it comes again */
				ret = 0;
		}
	}
	return ret ? ret : retry_faults(s, &s->views[vi]);
}

static void close_view(struct view *v)
{
	close(v->uffd); /* wakes any fault still waiting: the memory is unregistered */
	v->uffd = -1;
	v->nr = 0;
	v->nr_retry = 0;
}

static __attribute__((noreturn)) void serve(struct server *s)
{
	for (;;) {
		struct pollfd p[64];
		size_t np = 0, busy = SIZE_MAX;

		for (size_t i = 0; i < s->nr_views && np < ARRAY_SIZE(p); i++) {
			if (s->views[i].uffd < 0)
				continue;
			if (!s->views[i].nr && !s->views[i].nr_retry) {
				close_view(&s->views[i]);
				continue;
			}
			if (busy == SIZE_MAX)
				busy = i;
			p[np++] = (struct pollfd){ .fd = s->views[i].uffd, .events = POLLIN };
		}
		if (busy == SIZE_MAX)
			_exit(0); /* every page is in */
		poll(p, np, 0);
		for (size_t i = 0; i < s->nr_views; i++)
			if (s->views[i].uffd >= 0 && handle_events(s, i) == -ENOMEM)
				give_up(s, "page server: out of memory");
		/* one background step: the next MiB of the first view with work */
		if (s->views[busy].uffd >= 0 && s->views[busy].nr) {
			struct view *v = &s->views[busy];
			uint64_t start = v->ext[0].vaddr, len = v->ext[0].len;
			int ret = copy(s, v, 0, start,
				       start + (len < PREFETCH_CHUNK ? len : PREFETCH_CHUNK));

			if (ret == -ESRCH)
				close_view(v); /* it exited */
			else if (ret == -ENOMEM)
				give_up(s, "page server: out of memory");
		}
	}
}

/* The extents of task T the server fills: those in its lazy vmas. */
static int lazy_extents(struct rst_ctx *ctx, struct rst_task *t, struct page_extent **ret,
			size_t *ret_nr)
{
	struct page_extent *ext = NULL;
	struct view v = { 0 };
	size_t nr = 0;
	uint64_t at = 0;
	char err[320];
	int r = image_chain_pages(&ctx->chain, 0, t->pid, &ext, &nr, err, sizeof(err));

	if (r)
		return r;
	v.ext = ext;
	v.nr = nr;
	/* keep only what lies in lazy vmas: cut every gap between them */
	for (size_t i = 0; i < ctx->img->nr_recs && !r; i++) {
		const struct image_record *rec = &ctx->img->recs[i];
		const struct rec_vma *vma = rec->payload;

		if (rec->type != REC_VMA || vma->mm_objref != t->objs->mm_objref ||
		    !mm_vma_is_lazy(vma))
			continue;
		if (vma->start > at)
			r = cut(&v, at, vma->start);
		at = vma->end;
	}
	if (!r)
		r = cut(&v, at, UINT64_MAX);
	*ret = v.ext;
	*ret_nr = v.nr;
	return r;
}

/* The server holds nothing of restart's but the userfaultfds and stderr (the images stay mapped).
 */
static void keep_only_uffds(const struct rst_ctx *ctx)
{
	int *fds = NULL;
	size_t n = 0;

	if (proc_list_fds(getpid(), &fds, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		bool keep = fds[i] == STDERR_FILENO;

		for (size_t k = 0; k < ctx->nr_tasks && !keep; k++)
			keep = fds[i] == ctx->tasks[k].uffd;
		if (!keep)
			close(fds[i]);
	}
	free(fds);
}

static int server_init(struct server *s, struct rst_ctx *ctx)
{
	*s = (struct server){ .ctx = ctx, .ps = (uint64_t)ctx->page_size };
	for (size_t l = 0; l < ctx->chain.nr; l++) {
		s->checked[l] = calloc(link_img(s, (uint32_t)l)->nr_recs + 1, sizeof(bool));
		if (!s->checked[l])
			return -ENOMEM;
	}
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		struct rst_task *t = &ctx->tasks[i];
		struct page_extent *ext = NULL;
		size_t nr = 0;
		int ret;

		if (t->uffd < 0)
			continue;
		ret = lazy_extents(ctx, t, &ext, &nr);
		if (!ret)
			ret = add_view(s, t->uffd, t->pid, ext, nr);
		free(ext);
		if (ret)
			return ret;
	}
	return 0;
}

int lazy_serve(struct rst_ctx *ctx)
{
	pid_t pid = fork();
	int status;

	if (pid < 0) {
		log_error("cannot start the page server: %s", strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		struct server s;

		/* a grandchild: restart may wait for any child, and ^C must not reach it */
		if (fork() != 0)
			_exit(0);
		setsid();
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		keep_only_uffds(ctx);
		if (server_init(&s, ctx))
			give_up(&s, "page server: out of memory");
		serve(&s);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/*
	 * The server's descriptors must be the last: when it closes them, the
	 * memory is unregistered; one left here would keep it registered with
	 * no one to answer.
	 */
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].uffd >= 0) {
			close(ctx->tasks[i].uffd);
			ctx->tasks[i].uffd = -1;
		}
	return 0;
}
