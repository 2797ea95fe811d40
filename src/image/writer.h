/* SPDX-License-Identifier: MIT */
/*
 * The image writer. It frames records (header, padding, alignment), keeps
 * the running CRC32C and record count for the trailer, buffers small
 * records, and writes page data straight from the caller's buffers.
 *
 * To a path: the image is written to an unnamed file (O_TMPFILE, mode 0600)
 * in the same directory, fsynced, linked under a temporary name and renamed
 * over the final name by image_writer_finish(); so a failed checkpoint, or
 * a killed one, never leaves a partial image, under the final name or any
 * other. Where the filesystem has no O_TMPFILE, the temporary file is
 * named from the start, and image_writer_close() removes it if not finished.
 * To a stream (a pipe, stdout): bytes go out in order; finish flushes.
 *
 * Errors are sticky: after the first failure every call returns it, so a
 * caller may check once at the end. No logging: 0 or -errno.
 */
#ifndef CRYO_IMAGE_WRITER_H
#define CRYO_IMAGE_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "image/format.h"

struct image_writer {
	int fd;
	int owns_fd;
	char *final_path; /* NULL when streaming */
	char *tmp_path;
	int unnamed;	     /* the file has no name yet (O_TMPFILE): tmp_path is a template */
	uint64_t offset;     /* bytes of image produced so far */
	uint64_t nr_records; /* records written, header included */
	uint32_t crc;	     /* running CRC32C of everything but page data */
	uint32_t page_size;
	int error;	      /* first error, sticky */
	uint32_t trailer_crc; /* the trailer's CRC32C, once finished */
	/* a regular file: written back as it grows (writer.c, writeback()) */
	int regular;
	uint64_t wb_start;	       /* the window being written back */
	uint64_t wb_prev, wb_prev_len; /* the window before it */
	/* the page data in each of them, to drop from the cache (nr > WB_RANGES: all of it) */
	struct writer_range {
		uint64_t off, len;
	} wb_data[2][64];
	size_t wb_nr[2];
	unsigned char *buf;
	size_t buf_used;
};

/* Creates PATH's temporary twin; the image appears at PATH only on finish. */
int image_writer_open_path(struct image_writer *w, const char *path);

/* Streams to FD (not closed by the writer). */
int image_writer_open_fd(struct image_writer *w, int fd);

/* Fills a header for this machine; callers set root_pid and time. */
void image_header_init(struct rec_header *hdr);

/* The first record; it sets the page size used to align page data. */
int image_write_header(struct image_writer *w, const struct rec_header *hdr);

/* A record whose payload is FIXED (fixed_len bytes) then VAR (var_len). */
int image_write_rec(struct image_writer *w, uint32_t type, const void *fixed, size_t fixed_len,
		    const void *var, size_t var_len);

/*
 * A REC_PAGES record: PAGES (nr_runs, nr_pages and mm_objref set by the
 * caller; crc32c and data_offset are filled in here), the runs, then the
 * page data, nr_pages * page_size bytes at DATA, written without a copy.
 */
int image_write_pages(struct image_writer *w, const struct rec_pages *pages,
		      const struct rec_pages_run *runs, const void *data);

/* The same for a REC_PRECOPY (TYPE), whose PAGES names a pid instead of an mm. */
int image_write_page_data(struct image_writer *w, uint32_t type, const struct rec_pages *pages,
			  const struct rec_pages_run *runs, const void *data);

/* Writes the trailer; for a path, fsyncs, renames, and fsyncs the directory. */
int image_writer_finish(struct image_writer *w);

/* Frees the writer. An unfinished path image's temporary file is removed. */
void image_writer_close(struct image_writer *w);

#endif
