// SPDX-License-Identifier: MIT
/*
 * cryo run [--name NAME] [--detach] -- CMD...
 * cryo attach NAME
 * cryo ls
 * and the restart hooks that make sessions (doc/sessions.md).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/restart.h"
#include "lib/log.h"
#include "session/session.h"

/* After a session started: attached when on a terminal and not --detach, else its name. */
static int attach_or_say(const char *name, bool detach, int *ret_status)
{
	int ret;

	if (detach || !isatty(STDIN_FILENO)) {
		printf("%s\n", name);
		fflush(stdout);
		fprintf(stderr, "cryo: session %s runs; attach with: cryo attach %s\n", name, name);
		*ret_status = 0;
		return 0;
	}
	ret = session_attach(name, ret_status);
	if (!ret && *ret_status < 0)
		*ret_status = 0; /* detached: the session runs on */
	return ret;
}

int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "detach", no_argument, NULL, 'd' },
		CLI_COMMON_LONG,
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_command *cmd = cli_find("run");
	struct session_start s = { 0 };
	char name[SESSION_NAME_MAX];
	bool detach = false;
	int opt, ret, status;

	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORT "n:d", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			s.name = optarg;
			break;
		case 'd':
			detach = true;
			break;
		default:
			ret = cli_common_option(cmd, opt, optarg);
			if (ret >= 0)
				return ret;
		}
	}
	if (optind >= argc)
		return cli_usage_error(cmd, "run takes a command to run");
	s.argv = argv + optind;
	if (session_start(&s, name))
		return EXIT_FAIL;
	return attach_or_say(name, detach, &status) ? EXIT_FAIL : status;
}

int cmd_attach(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONG,
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_command *cmd = cli_find("attach");
	int opt, ret, status;

	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORT, longopts, NULL)) != -1) {
		ret = cli_common_option(cmd, opt, optarg);
		if (ret >= 0)
			return ret;
	}
	if (argc - optind != 1)
		return cli_usage_error(cmd, "attach takes exactly one session NAME");
	if (session_attach(argv[optind], &status))
		return EXIT_FAIL;
	return status < 0 ? EXIT_OK : status;
}

int cmd_ls(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONG,
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_command *cmd = cli_find("ls");
	struct session_info *list = NULL;
	size_t nr = 0;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORT, longopts, NULL)) != -1) {
		ret = cli_common_option(cmd, opt, optarg);
		if (ret >= 0)
			return ret;
	}
	if (argc != optind)
		return cli_usage_error(cmd, "ls takes no argument");
	ret = session_list(&list, &nr);
	if (ret) {
		log_error("cannot list the sessions: %s", strerror(-ret));
		return EXIT_FAIL;
	}
	for (size_t i = 0; i < nr; i++) {
		if (!session_alive(&list[i])) {
			session_remove(list[i].name); /* its holder died without cleaning up */
			continue;
		}
		printf("%s\t%d\t%s\n", list[i].name, (int)list[i].holder, list[i].cmd);
	}
	free(list);
	return EXIT_OK;
}

/* --- restart ------------------------------------------------------------------------ */

int restart_session_hook(const struct restart_opts *opts, const char *name, int *ret_status)
{
	struct session_start s = { .name = opts->session_name ? opts->session_name : name,
				   .image = opts->image,
				   .pty_index_exact = opts->pty_index_exact,
				   .trust_image = opts->trust_image };
	char got[SESSION_NAME_MAX];

	if (!strcmp(opts->image, "-")) {
		log_error("-: a session's image is restarted from a file, not from stdin");
		return -EINVAL;
	}
	if (session_start(&s, got))
		return -EIO;
	return attach_or_say(got, opts->detach, ret_status);
}

/*
 * --tty=new without a session: a holder alone keeps the new pty's master
 * (an image with no external terminal has none: restart goes on as usual).
 */
int restart_hold_hook(void *arg, int master, pid_t root, int *ret_status)
{
	const struct restart_opts *opts = arg;
	char name[SESSION_NAME_MAX], cmd[SESSION_CMD_MAX];
	int ret;

	*ret_status = 0;
	if (master < 0)
		return opts->detach ? 0 : restart_wait_root(root, ret_status);
	snprintf(cmd, sizeof(cmd), "restart %s", opts->image);
	ret = session_hold(opts->session_name, master, root, cmd, name);
	close(master);
	if (ret)
		return ret;
	fprintf(stderr,
		"cryo: pid %d holds its terminal in session %s; attach with: cryo attach %s\n",
		(int)root, name, name);
	return opts->detach ? 0 : restart_wait_root(root, ret_status);
}
