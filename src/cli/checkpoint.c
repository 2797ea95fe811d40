// SPDX-License-Identifier: MIT
/* cryo checkpoint [--kill] [-o IMAGE] [--precopy=WHEN] [--track] [--parent OLD] PID|SESSION */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/checkpoint.h"
#include "session/session.h"

static int parse_pid(const char *s, pid_t *ret_pid)
{
	char *end;
	long v;

	v = strtol(s, &end, 10);
	if (!*s || *end || v <= 0 || v > 0x3fffffff)
		return -1;
	*ret_pid = (pid_t)v;
	return 0;
}

int cmd_checkpoint(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "kill", no_argument, NULL, 'k' },
		{ "output", required_argument, NULL, 'o' },
		{ "precopy", required_argument, NULL, 'P' },
		{ "track", no_argument, NULL, 'T' },
		{ "parent", required_argument, NULL, 'A' },
		CLI_COMMON_LONG,
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_command *cmd = cli_find("checkpoint");
	struct checkpoint_opts opts = { 0 };
	char default_path[64];
	int opt, ret;

	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORT "o:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'k':
			opts.kill = true;
			break;
		case 'o':
			opts.output = optarg;
			break;
		case 'T':
			opts.track = true;
			break;
		case 'A':
			opts.parent = optarg;
			break;
		case 'P':
			if (!strcmp(optarg, "auto"))
				opts.precopy = PRECOPY_AUTO;
			else if (!strcmp(optarg, "always"))
				opts.precopy = PRECOPY_ALWAYS;
			else if (!strcmp(optarg, "never"))
				opts.precopy = PRECOPY_NEVER;
			else
				return cli_usage_error(
				    cmd, "--precopy takes auto, always or never, not '%s'", optarg);
			break;
		default:
			ret = cli_common_option(cmd, opt, optarg);
			if (ret >= 0)
				return ret;
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(cmd, "checkpoint takes exactly one PID or session NAME");
	if (opts.track && opts.kill)
		return cli_usage_error(cmd,
				       "--track keeps tracking a tree that --kill ends: use one");
	if (session_is_name(argv[optind])) {
		if (!opts.output) {
			snprintf(default_path, sizeof(default_path), "cryo-%.40s.img",
				 argv[optind]);
			opts.output = default_path;
		}
		return session_checkpoint(argv[optind], &opts) ? EXIT_FAIL : EXIT_OK;
	}
	if (parse_pid(argv[optind], &opts.pid))
		return cli_usage_error(cmd, "'%s' is not a pid", argv[optind]);
	if (!opts.output) {
		snprintf(default_path, sizeof(default_path), "cryo-%d.img", (int)opts.pid);
		opts.output = default_path;
	}
	return checkpoint_run(&opts) ? EXIT_FAIL : EXIT_OK;
}
