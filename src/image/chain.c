// SPDX-License-Identifier: MIT
#include "image/chain.h"

#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

static int chain_fail(char *err, size_t err_len, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
	return ret;
}

int image_identity(const struct image *img, const struct image_source *src, uint64_t *ret_time,
		   uint64_t *ret_size, uint32_t *ret_crc)
{
	struct rec_trailer tr;

	if (src->len < sizeof(tr))
		return -EINVAL;
	/* the reader checked it: the trailer ends the image */
	memcpy(&tr, (const char *)src->buf + src->len - sizeof(tr), sizeof(tr));
	*ret_time = img->header.time_ns;
	*ret_size = src->len;
	*ret_crc = tr.crc32c;
	return 0;
}

/* The parent's name beside the child, in the child's directory (malloc'd); NULL without memory. */
static char *beside_child(const char *child_path, const char *parent_path)
{
	char *dir_copy = strdup(child_path), *base_copy = strdup(parent_path), *beside = NULL;

	if (dir_copy && base_copy &&
	    asprintf(&beside, "%s/%s", dirname(dir_copy), basename(base_copy)) < 0)
		beside = NULL;
	free(dir_copy);
	free(base_copy);
	return beside;
}

/*
 * PATH opened as the child was (a parent's pages are restored as much as
 * the child's: the same trust check); a refusal names PATH in ERR.
 */
static int open_as_child(const struct image_link *child, const char *path, struct image_source *src,
			 char *err, size_t err_len)
{
	char reason[200];
	int ret = image_source_open_flags(src, path, child->src.flags, reason, sizeof(reason));

	if (ret && reason[0])
		chain_fail(err, err_len, ret, "%s (parent image of %s): %s", path, child->path,
			   reason);
	return ret;
}

/*
 * The parent's file: the path the child recorded, or, when that is gone,
 * the same name beside the child (images moved together). ERR is filled
 * only when the trust check refused one.
 */
static int open_parent_source(const struct image_link *child, struct image_source *src,
			      char **ret_path, char *err, size_t err_len)
{
	const char *recorded = child->img->parent_path;
	char *path = strdup(recorded);
	int ret;

	err[0] = '\0';
	if (!path)
		return -ENOMEM;
	ret = open_as_child(child, path, src, err, err_len);
	if (ret == -ENOENT) {
		free(path);
		path = beside_child(child->path, recorded);
		if (!path)
			return -ENOMEM;
		ret = open_as_child(child, path, src, err, err_len);
		if (ret && !err[0])
			ret = -ENOENT; /* the recorded path is the one to report */
	}
	if (ret) {
		free(path);
		return ret;
	}
	*ret_path = path;
	return 0;
}

static int open_parent(struct image_chain *c, char *err, size_t err_len)
{
	const struct image_link *child = &c->links[c->nr - 1];
	const struct rec_parent *want = child->img->parent;
	struct image_link *l = &c->links[c->nr];
	struct image_error ierr;
	char reason[320];
	uint64_t time_ns, size;
	uint32_t crc;
	int ret;

	if (c->nr > IMAGE_CHAIN_MAX)
		return chain_fail(err, err_len, -ELOOP, "%s: more than %d parent images",
				  c->links[0].path, IMAGE_CHAIN_MAX);
	ret = open_parent_source(child, &l->src, &l->path, err, err_len);
	if (ret && err[0])
		return ret; /* refused by the trust check: ERR says why */
	if (ret)
		return chain_fail(err, err_len, ret, "%s: cannot read its parent image %s: %s",
				  child->path, child->img->parent_path, strerror(-ret));
	c->nr++;
	/* page CRCs are the user's to check (image_pages_check), as they use the data */
	ret = image_parse(l->src.buf, l->src.len,
			  IMAGE_PARSE_DEFER_PAGE_CRC | IMAGE_PARSE_RELEASE_BEHIND, &l->img, &ierr);
	if (ret) {
		image_error_format(&ierr, reason, sizeof(reason));
		return chain_fail(err, err_len, ret, "%s: invalid parent image: %s", l->path,
				  reason);
	}
	ret = image_identity(l->img, &l->src, &time_ns, &size, &crc);
	if (ret || time_ns != want->time_ns || size != want->size || crc != want->crc32c)
		return chain_fail(err, err_len, -ESTALE,
				  "%s: parent image %s is not the one it was made against "
				  "(replaced or rewritten since)",
				  child->path, l->path);
	return 0;
}

int image_chain_open(struct image_chain *chain, const char *path, struct image *img,
		     const struct image_source *src, char *err, size_t err_len)
{
	int ret = 0;

	memset(chain, 0, sizeof(*chain));
	chain->links[0] = (struct image_link){ .src = *src, .img = img, .path = (char *)path };
	chain->nr = 1;
	while (!ret && chain->links[chain->nr - 1].img->parent)
		ret = open_parent(chain, err, err_len);
	if (ret)
		image_chain_close(chain);
	return ret;
}

void image_chain_close(struct image_chain *chain)
{
	for (size_t i = 1; i < chain->nr; i++) {
		image_free(chain->links[i].img);
		image_source_close(&chain->links[i].src);
		free(chain->links[i].path);
	}
	chain->nr = 0;
}

/* --- where the pages are ------------------------------------------------------- */

struct extents {
	struct page_extent *v;
	size_t nr, cap;
};

static int push(struct extents *e, uint64_t vaddr, uint64_t len, uint64_t offset, uint32_t link,
		uint32_t rec)
{
	if (e->nr && e->v[e->nr - 1].link == link && e->v[e->nr - 1].rec == rec &&
	    e->v[e->nr - 1].vaddr + e->v[e->nr - 1].len == vaddr &&
	    e->v[e->nr - 1].offset + e->v[e->nr - 1].len == offset) {
		e->v[e->nr - 1].len += len;
		return 0;
	}
	if (array_reserve(&e->v, &e->cap, e->nr, sizeof(*e->v)))
		return -ENOMEM;
	e->v[e->nr++] = (struct page_extent){
		.vaddr = vaddr, .len = len, .offset = offset, .link = link, .rec = rec
	};
	return 0;
}

/* The mm objref of live process PID in IMG, 0 if it has none. */
static uint32_t mm_of(const struct image *img, int32_t pid)
{
	uint32_t task = 0;

	for (size_t i = 0; i < img->nr_recs; i++) {
		const struct image_record *r = &img->recs[i];

		if (r->type == REC_TASK) {
			const struct rec_task *t = r->payload;

			if (t->pid == pid && t->tgid == pid && t->state == TASK_ALIVE)
				task = t->objref;
		} else if (r->type == REC_TASK_OBJS && task) {
			const struct rec_task_objs *o = r->payload;

			if (o->task_objref == task)
				return o->mm_objref;
		}
	}
	return 0;
}

/* Data records of (TYPE, KEY) in links[LINK] as extents: REC_PAGES of an mm or REC_PRECOPY of a
 * pid. */
static int data_extents(const struct image_chain *c, size_t link, uint32_t type, uint32_t key,
			struct extents *out)
{
	const struct image *img = c->links[link].img;
	uint64_t ps = img->header.page_size;

	for (size_t i = 0; i < img->nr_recs; i++) {
		const struct image_record *r = &img->recs[i];
		const struct rec_pages *pg = r->payload;
		const struct rec_pages_run *runs = (const void *)(pg + 1);
		uint64_t off = r->data_offset;

		if (r->type != type || pg->mm_objref != key)
			continue;
		for (uint32_t j = 0; j < pg->nr_runs; j++) {
			int ret = push(out, runs[j].vaddr, runs[j].nr_pages * ps, off,
				       (uint32_t)link, (uint32_t)i);

			if (ret)
				return ret;
			off += runs[j].nr_pages * ps;
		}
	}
	return 0;
}

/*
 * Copies the parts of SRC (ascending) that fall in [vaddr, vaddr + len)
 * into OUT; fails unless they cover it all.
 */
static int take_range(const struct extents *src, uint64_t vaddr, uint64_t len, struct extents *out)
{
	size_t lo = 0, hi = src->nr;
	uint64_t at = vaddr, end = vaddr + len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (src->v[mid].vaddr + src->v[mid].len <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < src->nr && at < end; i++) {
		const struct page_extent *x = &src->v[i];
		uint64_t from, to;
		int ret;

		if (x->vaddr > at)
			return -ENOENT; /* a hole */
		from = at - x->vaddr;
		to = x->vaddr + x->len < end ? x->len : end - x->vaddr;
		ret = push(out, at, to - from, x->offset + from, x->link, x->rec);
		if (ret)
			return ret;
		at = x->vaddr + to;
	}
	return at < end ? -ENOENT : 0;
}

static int cmp_extent(const void *a, const void *b)
{
	const struct page_extent *x = a, *y = b;

	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

int image_chain_pages(const struct image_chain *c, size_t link, int32_t pid,
		      struct page_extent **ret_ext, size_t *ret_nr, char *err, size_t err_len)
{
	const struct image *img = c->links[link].img;
	uint64_t ps = img->header.page_size;
	struct extents out = { 0 }, pre = { 0 }, parent = { 0 };
	bool have_pre = false, have_parent = false;
	uint32_t mm = mm_of(img, pid);
	int ret = mm ? data_extents(c, link, REC_PAGES, mm, &out) : 0;

	for (size_t i = 0; i < img->nr_recs && mm && !ret; i++) {
		const struct image_record *r = &img->recs[i];
		const struct rec_pages_kept *k = r->payload;
		const struct rec_pages_run *runs = (const void *)(k + 1);
		struct extents *from = k->source == PAGES_IN_PRECOPY ? &pre : &parent;

		if (r->type != REC_PAGES_KEPT || k->mm_objref != mm)
			continue;
		if (k->source == PAGES_IN_PRECOPY && !have_pre) {
			ret = data_extents(c, link, REC_PRECOPY, (uint32_t)pid, &pre);
			have_pre = true;
		} else if (k->source == PAGES_IN_PARENT && !have_parent) {
			ret = link + 1 < c->nr ? image_chain_pages(c, link + 1, pid, &parent.v,
								   &parent.nr, err, err_len)
					       : chain_fail(err, err_len, -EINVAL,
							    "%s: its parent image is not open",
							    c->links[link].path);
			have_parent = true;
			if (ret)
				break;
		}
		for (uint32_t j = 0; j < k->nr_runs && !ret; j++) {
			ret = take_range(from, runs[j].vaddr, runs[j].nr_pages * ps, &out);
			if (ret == -ENOENT)
				chain_fail(err, err_len, -EINVAL,
					   "%s: pages %#llx+%llu of pid %d are kept in its %s, "
					   "which does not hold them: the image is corrupt",
					   c->links[link].path, (unsigned long long)runs[j].vaddr,
					   (unsigned long long)runs[j].nr_pages, pid,
					   k->source == PAGES_IN_PRECOPY ? "pre-copy" : "parent");
		}
	}
	free(pre.v);
	free(parent.v);
	if (ret) {
		free(out.v);
		return ret == -ENOENT ? -EINVAL : ret;
	}
	if (out.nr)
		qsort(out.v, out.nr, sizeof(*out.v), cmp_extent);
	*ret_ext = out.v;
	*ret_nr = out.nr;
	return 0;
}
