/* SPDX-License-Identifier: MIT */
/*
 * An image with the parents it names (incremental checkpoints,
 * doc/performance.md), and where each page of a process's memory is:
 * a page of an image is in one of its REC_PAGES, or kept in its own
 * pre-copy (REC_PRECOPY), or kept in its parent, which says the same of
 * its own pages, down the chain. Every image of the chain is read and
 * validated before any of its data is used (page CRCs: image_pages_check()
 * by the user of the data), and each parent must be
 * the very file its child was made against (time, size, trailer CRC).
 * No logging: errors are written to ERR as one line.
 */
#ifndef CRYO_IMAGE_CHAIN_H
#define CRYO_IMAGE_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "image/reader.h"
#include "image/source.h"

#define IMAGE_CHAIN_MAX 64 /* parents followed at most */

struct image_link {
	struct image_source src;
	struct image *img;
	char *path;
};

struct image_chain {
	struct image_link links[IMAGE_CHAIN_MAX + 1]; /* links[0]: the image itself */
	size_t nr;
};

/*
 * LEN bytes of memory at VADDR are at byte OFFSET of links[LINK]'s file,
 * in the data of its record REC (an index in its image's recs).
 */
struct page_extent {
	uint64_t vaddr, len, offset;
	uint32_t link;
	uint32_t rec;
};

/*
 * Makes IMG (read from SRC, at PATH) links[0] of CHAIN, then opens, reads
 * and checks its parents in turn, each opened with SRC's flags (the trust
 * check of a restart applies to every image of the chain). CHAIN owns
 * nothing of links[0]; it owns the parents. -errno with ERR filled.
 */
int image_chain_open(struct image_chain *chain, const char *path, struct image *img,
		     const struct image_source *src, char *err, size_t err_len);
void image_chain_close(struct image_chain *chain);

/*
 * The page data of process PID in links[LINK], every kept page resolved:
 * extents in ascending address order (malloc'd, the caller frees them).
 * A process the image does not hold has none.
 */
int image_chain_pages(const struct image_chain *chain, size_t link, int32_t pid,
		      struct page_extent **ret_ext, size_t *ret_nr, char *err, size_t err_len);

/* The identity a child image records of its parent. */
int image_identity(const struct image *img, const struct image_source *src, uint64_t *ret_time,
		   uint64_t *ret_size, uint32_t *ret_crc);

#endif
