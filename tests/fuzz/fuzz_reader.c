// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the image reader: any bytes must give a clean
 * accept or a clean -EINVAL, never a crash, leak or undefined behaviour.
 * Accepted images are also decoded, both ways, to exercise `cryo show`.
 * The fuzz build (-DCRYO_FUZZING) does not fail on checksums, so mutations
 * reach the semantic checks.
 */
#include <stdint.h>
#include <stdio.h>

#include "image/reader.h"
#include "image/show.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	struct image_error err;
	struct image *img;

	if (!devnull)
		devnull = fopen("/dev/null", "we");
	if (image_parse(data, size, 0, &img, &err))
		return 0;
	if (devnull) {
		image_show(img, devnull, false);
		image_show(img, devnull, true);
	}
	image_free(img);
	return 0;
}
