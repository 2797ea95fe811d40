// SPDX-License-Identifier: MIT
/*
 * Incremental checkpoints (doc/performance.md): `checkpoint --track`
 * leaves the tree's write tracking to a tracker (core/tracker.h);
 * `checkpoint --parent OLD` takes it back, and if it dates from OLD, saves
 * only the pages written since and marks the others as kept in OLD
 * (REC_PARENT, REC_PAGES_KEPT with PAGES_IN_PARENT). Without tracking
 * that dates from OLD, every page is saved, with one warning line: an
 * image is never made from a guess.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ckpt.h"
#include "core/tracker.h"
#include "lib/log.h"

static bool tracking_wanted(const struct ckpt_ctx *ctx)
{
	return (ctx->opts->track || ctx->opts->parent) && !ctx->opts->kill;
}

static int open_parent(struct ckpt_ctx *ctx)
{
	const char *path = ctx->opts->parent;
	struct image_error err;
	char reason[320];
	int ret = image_source_open(&ctx->parent_src, path);

	if (ret) {
		log_error("%s: cannot read the parent image: %s", path, strerror(-ret));
		return ret;
	}
	ret = image_parse(ctx->parent_src.buf, ctx->parent_src.len, IMAGE_PARSE_DEFER_PAGE_CRC,
			  &ctx->parent_img, &err);
	if (ret) {
		image_error_format(&err, reason, sizeof(reason));
		log_error("%s: invalid parent image: %s", path, reason);
		return ret;
	}
	ret = image_chain_open(&ctx->parent_chain, path, ctx->parent_img, &ctx->parent_src, reason,
			       sizeof(reason));
	if (ret)
		log_error("%s", reason);
	return ret;
}

static int write_parent_rec(struct ckpt_ctx *ctx, const struct tracker_identity *id)
{
	struct rec_parent rec = { .time_ns = id->time_ns, .size = id->size, .crc32c = id->crc32c };
	char path[PATH_MAX];

	if (!realpath(ctx->opts->parent, path)) {
		int ret = -errno;

		log_error("%s: cannot resolve the parent image's path: %s", ctx->opts->parent,
			  strerror(-ret));
		return ret;
	}
	return image_write_rec(&ctx->w, REC_PARENT, &rec, sizeof(rec), path, strlen(path) + 1);
}

/* A track of PID on UFFD whose kept pages are those the parent holds of PID. */
static int parent_track(struct ckpt_ctx *ctx, pid_t pid, int uffd, struct mm_track *tr)
{
	struct page_extent *ext = NULL;
	size_t nr = 0;
	char path[64], err[320];
	int ret;

	*tr = (struct mm_track){ .pid = pid, .uffd = uffd, .source = PAGES_IN_PARENT };
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	tr->pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (tr->pagemap_fd < 0)
		return -errno; /* gone: the freeze will not meet it */
	ret = image_chain_pages(&ctx->parent_chain, 0, pid, &ext, &nr, err, sizeof(err));
	if (ret)
		log_error("%s", err);
	for (size_t i = 0; i < nr && !ret; i++)
		ret = mm_track_keep(tr, ext[i].vaddr, ext[i].vaddr + ext[i].len);
	free(ext);
	return ret;
}

static int cmp_track(const void *a, const void *b)
{
	const struct mm_track *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static void close_all(const int *fds, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		close(fds[i]);
}

int incr_begin(struct ckpt_ctx *ctx)
{
	pid_t root = ctx->opts->pid, pids[TRACKER_MAX];
	struct tracker_identity have, want = { .root = root };
	int fds[TRACKER_MAX], ret;
	size_t nr = 0;

	if (!ctx->opts->parent && !ctx->opts->track)
		return 0;
	/* an older tracker of this tree goes: its registrations would stand in the way */
	if (tracker_take(root, &have, pids, fds, &nr))
		nr = 0;
	if (!ctx->opts->parent) {
		close_all(fds, nr);
		return 0;
	}
	ret = open_parent(ctx);
	if (!ret)
		ret = image_identity(ctx->parent_img, &ctx->parent_src, &want.time_ns, &want.size,
				     &want.crc32c);
	if (ret) {
		close_all(fds, nr);
		return ret;
	}
	if (!nr || memcmp(&have, &want, sizeof(want))) {
		log_warn("pid %d: no write tracking dates from %s (it was not taken with --track, "
			 "or a later checkpoint took it): every page is saved",
			 root, ctx->opts->parent);
		close_all(fds, nr);
		return 0;
	}
	ret = write_parent_rec(ctx, &want);
	ctx->tracks = ret ? NULL : calloc(nr, sizeof(*ctx->tracks));
	if (!ret && !ctx->tracks)
		ret = -ENOMEM;
	for (size_t i = 0; i < nr; i++) {
		struct mm_track *tr = &ctx->tracks[ctx->nr_tracks];

		if (ret) {
			close(fds[i]);
			continue;
		}
		if (!parent_track(ctx, pids[i], fds[i], tr))
			ctx->nr_tracks++;
		else
			mm_track_free(tr);
	}
	if (ctx->nr_tracks)
		qsort(ctx->tracks, ctx->nr_tracks, sizeof(*ctx->tracks), cmp_track);
	return ret;
}

/*
 * At the freeze, once the tree is saved: every process is tracked from
 * this instant, for the next --parent. Protecting a tracked mapping again
 * forgets the writes the image just saved.
 */
int incr_rearm(struct ckpt_ctx *ctx)
{
	struct mm_track *n;
	size_t nr = ctx->nr_tracks;

	if (!tracking_wanted(ctx))
		return 0;
	n = realloc(ctx->tracks, (nr + ctx->nr_tasks) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	ctx->tracks = n;
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		struct ckpt_task *t = &ctx->tasks[i];
		struct mm_track *tr = ckpt_track_of(ctx, t->pid);

		if (t->zombie)
			continue;
		if (tr)
			mm_track_arm(tr);
		else if (!mm_track_start(t, &ctx->tracks[nr]))
			nr++;
	}
	ctx->nr_tracks = nr;
	qsort(ctx->tracks, nr, sizeof(*n), cmp_track);
	return 0;
}

/* The image is done: a tracker keeps the tracking until the next checkpoint. */
void incr_end(struct ckpt_ctx *ctx)
{
	struct tracker_identity id = { .time_ns = ctx->time_ns,
				       .size = ctx->w.offset,
				       .crc32c = ctx->w.trailer_crc,
				       .root = ctx->opts->pid };
	pid_t pids[TRACKER_MAX];
	int fds[TRACKER_MAX], ret;
	size_t nr = 0;

	if (!tracking_wanted(ctx))
		return;
	for (size_t i = 0; i < ctx->nr_tracks && nr < TRACKER_MAX; i++) {
		if (ctx->tracks[i].uffd < 0 || !ckpt_task_alive(ctx, ctx->tracks[i].pid))
			continue;
		pids[nr] = ctx->tracks[i].pid;
		fds[nr++] = ctx->tracks[i].uffd;
	}
	ret = nr ? tracker_spawn(&id, pids, fds, nr) : -ESRCH;
	if (ret)
		log_warn("pid %d: cannot keep tracking its writes (%s): a checkpoint with --parent "
			 "%s will save every page",
			 ctx->opts->pid, strerror(-ret), ctx->opts->output);
}

void incr_free(struct ckpt_ctx *ctx)
{
	if (ctx->parent_img)
		image_chain_close(&ctx->parent_chain);
	image_free(ctx->parent_img);
	ctx->parent_img = NULL;
	if (ctx->parent_src.fd >= 0)
		image_source_close(&ctx->parent_src);
}
