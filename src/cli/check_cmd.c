// SPDX-License-Identifier: MIT
/* cryo check: the probes live in check.c. */
#include <getopt.h>

#include "cli/cli.h"

int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONG,
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_command *cmd = cli_find("check");
	int opt, ret;

	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORT, longopts, NULL)) != -1) {
		ret = cli_common_option(cmd, opt, optarg);
		if (ret >= 0)
			return ret;
	}
	if (optind != argc)
		return cli_usage_error(cmd, "check takes no arguments");
	return check_run_probes(stdout);
}
