// SPDX-License-Identifier: MIT
/*
 * cryo restart [--detach] [--lazy] [--pidfile FILE] [--tty=inherit|new|none]
 *              [--pty-index=any|exact] [--name NAME] [--trust-image] [IMAGE]
 */
#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/restart.h"

static int parse_tty(const char *s, enum tty_mode *ret_mode)
{
	static const char *const names[] = {
		[TTY_INHERIT] = "inherit", [TTY_NEW] = "new", [TTY_NONE] = "none"
	};

	for (int m = TTY_INHERIT; m <= TTY_NONE; m++)
		if (!strcmp(s, names[m])) {
			*ret_mode = (enum tty_mode)m;
			return 0;
		}
	return -1;
}

int cmd_restart(int argc, char **argv)
{
	enum {
		OPT_PIDFILE = 0x200,
		OPT_TTY,
		OPT_PTY_INDEX,
		OPT_NAME,
		OPT_LAZY,
		OPT_TRUST_IMAGE
	};
	static const struct option longopts[] = {
		{ "detach", no_argument, NULL, 'd' },
		{ "pidfile", required_argument, NULL, OPT_PIDFILE },
		{ "tty", required_argument, NULL, OPT_TTY },
		{ "pty-index", required_argument, NULL, OPT_PTY_INDEX },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "lazy", no_argument, NULL, OPT_LAZY },
		{ "trust-image", no_argument, NULL, OPT_TRUST_IMAGE },
		CLI_COMMON_LONG,
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_command *cmd = cli_find("restart");
	struct restart_opts opts = { 0 };
	int opt, ret, status;

	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORT "d", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			opts.detach = true;
			break;
		case OPT_PIDFILE:
			opts.pidfile = optarg;
			break;
		case OPT_LAZY:
			opts.lazy = true;
			break;
		case OPT_TRUST_IMAGE:
			opts.trust_image = true;
			break;
		case OPT_TTY:
			if (parse_tty(optarg, &opts.tty))
				return cli_usage_error(
				    cmd, "--tty takes inherit, new or none, not '%s'", optarg);
			break;
		case OPT_NAME:
			opts.session_name = optarg;
			break;
		case OPT_PTY_INDEX:
			if (strcmp(optarg, "any") && strcmp(optarg, "exact"))
				return cli_usage_error(
				    cmd, "--pty-index takes any or exact, not '%s'", optarg);
			opts.pty_index_exact = !strcmp(optarg, "exact");
			break;
		default:
			ret = cli_common_option(cmd, opt, optarg);
			if (ret >= 0)
				return ret;
		}
	}
	if (argc - optind > 1)
		return cli_usage_error(cmd, "restart takes at most one IMAGE");
	if (argc - optind == 1)
		opts.image = argv[optind];
	else if (!isatty(STDIN_FILENO))
		opts.image = "-";
	else
		return cli_usage_error(cmd, "no IMAGE given and stdin is a terminal");
	opts.on_session = restart_session_hook;
	/* --tty=new: a holder keeps the new pty (the default: not on a terminal, or --detach) */
	if (opts.tty == TTY_NEW ||
	    (opts.tty == TTY_AUTO && (opts.detach || !isatty(STDIN_FILENO)))) {
		opts.on_running = restart_hold_hook;
		opts.on_running_arg = &opts;
	}
	return restart_run(&opts, &status) ? EXIT_FAIL : status;
}
