/* SPDX-License-Identifier: MIT */
/*
 * Where an image's bytes come from. A regular file is mapped read-only; a
 * pipe or terminal (stdin, "-") is spooled whole into a memfd first, so the
 * reader always validates the complete image, trailer included, before
 * anything uses it. No logging: 0 or -errno.
 */
#ifndef CRYO_IMAGE_SOURCE_H
#define CRYO_IMAGE_SOURCE_H

#include <stddef.h>

/*
 * Refuse a file someone else could have written: one owned by another user
 * than the caller (euid) or root, or writable by group or others (restart
 * runs what an image holds, with the caller's privileges). Only a regular
 * file is checked, named or on stdin: a pipe or terminal carries what the
 * caller connected to it. doc/checkpoint-restart.md, "Trusting an image".
 */
#define IMAGE_SOURCE_CHECK_TRUST (1u << 0)

struct image_source {
	const void *buf; /* the image, read-only */
	size_t len;
	int fd;		/* the file or memfd behind buf */
	unsigned flags; /* IMAGE_SOURCE_*: the parents of a chain are opened the same way */
};

/* PATH, or stdin when PATH is "-". */
int image_source_open(struct image_source *src, const char *path);
/*
 * The same, with IMAGE_SOURCE_* FLAGS. A file the trust check refuses:
 * -EPERM, and ERR says why and what to do (without the path); on any other
 * failure ERR is "".
 */
int image_source_open_flags(struct image_source *src, const char *path, unsigned flags, char *err,
			    size_t err_len);
void image_source_close(struct image_source *src);

#endif
