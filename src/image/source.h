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

struct image_source {
	const void *buf; /* the image, read-only */
	size_t len;
	int fd; /* the file or memfd behind buf */
};

/* PATH, or stdin when PATH is "-". */
int image_source_open(struct image_source *src, const char *path);
void image_source_close(struct image_source *src);

#endif
