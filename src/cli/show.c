// SPDX-License-Identifier: MIT
/* cryo show [--json] IMAGE: validate IMAGE, then decode every record. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <string.h>

#include "cli/cli.h"
#include "image/reader.h"
#include "image/show.h"
#include "image/source.h"
#include "lib/log.h"

int cmd_show(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		CLI_COMMON_LONG,
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_command *cmd = cli_find("show");
	struct image_source src;
	struct image_error err;
	struct image *img;
	char reason[320];
	bool json = false;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORT, longopts, NULL)) != -1) {
		if (opt == 'j') {
			json = true;
			continue;
		}
		ret = cli_common_option(cmd, opt, optarg);
		if (ret >= 0)
			return ret;
	}
	if (argc - optind != 1)
		return cli_usage_error(cmd, "show takes exactly one IMAGE");

	ret = image_source_open(&src, argv[optind]);
	if (ret) {
		log_error("%s: cannot read image: %s", argv[optind], strerror(-ret));
		return EXIT_FAIL;
	}
	ret = image_parse(src.buf, src.len, 0, &img, &err);
	if (ret) {
		image_error_format(&err, reason, sizeof(reason));
		log_error("%s: invalid image: %s", argv[optind], reason);
		image_source_close(&src);
		return EXIT_FAIL;
	}
	ret = image_show(img, stdout, json);
	image_free(img);
	image_source_close(&src);
	if (ret == -EPIPE)
		return EXIT_FAIL; /* whoever reads stopped reading (`| head`): nothing to say */
	if (ret) {
		log_error("%s: cannot write the decoded image: %s", argv[optind], strerror(-ret));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}
