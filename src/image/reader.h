/* SPDX-License-Identifier: MIT */
/*
 * The one image reader. image_parse() is a pure function of (buf, len): it
 * frames every record, checks the trailer's count and CRC32C, then checks
 * every field of every record (lengths, enums, ranges, alignment, objrefs
 * defined before use and of the right kind, ordering, counts) and builds an
 * in-memory model. Payloads in the model are validated copies, so nothing
 * downstream sees an unvalidated value, and later changes to BUF cannot
 * change them. Only page data stays in BUF; its CRC32C is checked by
 * image_parse() unless IMAGE_PARSE_DEFER_PAGE_CRC is given, in which case
 * the caller runs image_pages_check() before using each record's data.
 *
 * Errors fill struct image_error (offset, record type, reason) and return
 * -EINVAL (malformed) or -ENOMEM. No logging.
 */
#ifndef CRYO_IMAGE_READER_H
#define CRYO_IMAGE_READER_H

#include <stddef.h>
#include <stdint.h>

#include "image/format.h"

struct image_error {
	uint64_t offset;   /* where the fault is: a record's header, or the byte at fault */
	uint32_t rec_type; /* the record at fault, 0 if none */
	char reason[200];
};

struct image_record {
	uint32_t type;
	uint32_t len;
	uint64_t offset;      /* of its rec_hdr in the image */
	const void *payload;  /* validated copy, 8-byte aligned; page data is not in it */
	uint64_t data_offset; /* REC_PAGES, REC_PRECOPY: where the page data starts in the image */
	uint64_t data_len;
};

struct image_obj {
	uint32_t kind; /* enum obj_kind; OBJ_NONE if no record defines this objref */
	uint32_t rec;  /* index in image.recs of the defining record */
};

struct image {
	struct rec_header header;
	struct image_record *recs; /* header first; the trailer is not included */
	size_t nr_recs;
	struct image_obj *objs;		   /* indexed by objref; objs[0] is unused */
	uint32_t nr_objs;		   /* largest objref + 1 */
	const struct rec_session *session; /* the REC_SESSION, NULL if none */
	const struct rec_parent *parent;   /* the REC_PARENT, NULL if none */
	const char *parent_path;	   /* its path */
	const unsigned char *buf;	   /* the caller's buffer: page data is read from it */
	uint64_t len;
	void *arena; /* owns the payload copies */
};

enum image_parse_flags {
	IMAGE_PARSE_DEFER_PAGE_CRC = 1 << 0,
	/*
	 * BUF is a mapping of a file (or memfd): the pages the reader has gone
	 * past are let go of (MADV_DONTNEED) as it walks, so that reading a
	 * large image does not hold its metadata pages all at once. The
	 * contents do not change: they are read from the file again if needed.
	 */
	IMAGE_PARSE_RELEASE_BEHIND = 1 << 1,
};

int image_parse(const void *buf, size_t len, unsigned int flags, struct image **ret_img,
		struct image_error *err);
void image_free(struct image *img);

/* Checks one REC_PAGES or REC_PRECOPY record's data against its CRC32C. */
int image_pages_check(const struct image *img, const struct image_record *rec,
		      struct image_error *err);

/* The record defining OBJREF if it is of KIND, else NULL. */
const struct image_record *image_obj_record(const struct image *img, uint32_t objref,
					    enum obj_kind kind);

/* "task", "vma", ...; NULL for a type this version does not know. */
const char *image_rec_name(uint32_t type);

/* "offset 4096, record vma: <reason>" */
void image_error_format(const struct image_error *err, char *buf, size_t size);

#endif
