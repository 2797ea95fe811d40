// SPDX-License-Identifier: MIT
#include "core/restart.h"

#include <errno.h>
#include <string.h>

#include "image/reader.h"
#include "image/source.h"
#include "lib/log.h"

/* Step 1 of restart: the whole image, read and validated before anything else. */
static int load_image(const char *path, struct image_source *src, struct image **ret_img)
{
	struct image_error err;
	char reason[320];
	int ret;

	ret = image_source_open(src, path);
	if (ret) {
		log_error("%s: cannot read image: %s", path, strerror(-ret));
		return ret;
	}
	ret = image_parse(src->buf, src->len, 0, ret_img, &err);
	if (ret) {
		image_error_format(&err, reason, sizeof(reason));
		log_error("%s: invalid image: %s", path, reason);
		image_source_close(src);
	}
	return ret;
}

int restart_run(const struct restart_opts *opts, int *ret_status)
{
	struct image_source src;
	struct image *img;
	int ret;

	(void)ret_status;
	ret = load_image(opts->image, &src, &img);
	if (ret)
		return ret;
	log_info("%s: valid image, %zu records", opts->image, img->nr_recs + 1);
	log_error("%s: restart is not supported yet by this version of cryo; nothing was started",
		  opts->image);
	image_free(img);
	image_source_close(&src);
	return -ENOSYS;
}
