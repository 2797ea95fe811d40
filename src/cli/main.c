// SPDX-License-Identifier: MIT
/* cryo: checkpoint and restart Linux process trees, terminals included. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "image/format.h"
#include "lib/fault.h"
#include "lib/log.h"

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "log-file", required_argument, NULL, CLI_OPT_LOG_FILE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_command *cmd;
	int opt, ret;

	/* a reader that goes away (cryo checkpoint -o - | head) is an error to report, not death */
	signal(SIGPIPE, SIG_IGN);
	fault_init();

	while ((opt = getopt_long(argc, argv, "+vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			cli_print_usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("cryo %s (image format %d.%d)\n", CRYO_VERSION, CRYO_IMAGE_MAJOR,
			       CRYO_IMAGE_MINOR);
			return EXIT_OK;
		case 'v':
			log_set_verbosity(log_verbosity() + 1);
			break;
		case CLI_OPT_LOG_FILE:
			ret = log_open_file(optarg);
			if (ret) {
				fprintf(stderr, "cryo: log file %s: %s\n", optarg, strerror(-ret));
				return EXIT_FAIL;
			}
			break;
		default:
			cli_print_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		cli_print_usage(stderr);
		return EXIT_USAGE;
	}
	cmd = cli_find(argv[optind]);
	if (!cmd) {
		fprintf(stderr, "cryo: unknown command '%s'; see 'cryo --help'\n", argv[optind]);
		return EXIT_USAGE;
	}
	argv += optind;
	argc -= optind;
	optind = 0; /* the command parses its own options from argv[1] on */
	ret = cmd->run(argc, argv);
	log_close();
	return ret;
}
