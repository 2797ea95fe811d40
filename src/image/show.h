/* SPDX-License-Identifier: MIT */
/* Decoding a validated image for `cryo show`. No logging. */
#ifndef CRYO_IMAGE_SHOW_H
#define CRYO_IMAGE_SHOW_H

#include <stdbool.h>
#include <stdio.h>

#include "image/reader.h"

/* Every record, one line each or, with JSON, one JSON document. 0 or -EIO. */
int image_show(const struct image *img, FILE *out, bool json);

#endif
