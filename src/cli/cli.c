// SPDX-License-Identifier: MIT
/* The command table, help texts, and the options every command shares. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/log.h"

static int cmd_help(int argc, char **argv);

const struct cli_command cli_commands[] = {
	{ "checkpoint", "dump", cmd_checkpoint,
	  "cryo checkpoint [--kill] [-o IMAGE] [--precopy=auto|always|never] [--track] "
	  "[--parent OLD] PID|SESSION",
	  "checkpoint the process tree rooted at PID, or the program of SESSION, into IMAGE",
	  "  -o, --output IMAGE  image to write (default ./cryo-PID.img or ./cryo-SESSION.img; "
	  "- for stdout)\n"
	  "      --kill          end the tree once the image is durable (default: it keeps "
	  "running)\n"
	  "      --precopy=WHEN  copy memory while the tree runs, then freeze it only for what\n"
	  "                      changed: auto (16 MiB of private memory or more), always, never\n"
	  "      --track         keep tracking writes after the checkpoint, for --parent\n"
	  "      --parent OLD    save only the pages written since OLD was taken with --track;\n"
	  "                      the others stay in OLD, which restart reads too (implies "
	  "--track)\n" },
	{ "restart", "restore", cmd_restart,
	  "cryo restart [--detach] [--lazy] [--pidfile FILE] [--tty=inherit|new|none] "
	  "[--pty-index=any|exact] [--name NAME] [--trust-image] [IMAGE]",
	  "restart the tree saved in IMAGE (- or no IMAGE: read stdin)",
	  "  -d, --detach        return once the tree runs (default: wait and exit with its "
	  "status)\n"
	  "      --lazy          run the tree at once; memory comes in on first touch and in\n"
	  "                      the background, from a page server that lives until it is all in\n"
	  "      --pidfile FILE  write the restored root's pid to FILE\n"
	  "      --tty=MODE      external terminals: inherit (restart's own), new (a pty held by "
	  "cryo),\n"
	  "                      none (/dev/null); default inherit on a terminal, else new\n"
	  "      --pty-index=any|exact\n"
	  "                      a pty whose index is taken: another index, said in one line "
	  "(any,\n"
	  "                      the default), or an error (exact)\n"
	  "      --name NAME     the session a session's image (or --tty=new) makes "
	  "(default: its own)\n"
	  "      --trust-image   restart an image file even if it is not yours or root's, or\n"
	  "                      others may write it (refused by default)\n" },
	{ "run", NULL, cmd_run, "cryo run [--name NAME] [--detach] -- CMD...",
	  "run CMD as a session: its own pid and mount namespaces and pty, attached here "
	  "(^] detaches)",
	  "  -n, --name NAME     the session's name (default: s1, s2, ...)\n"
	  "  -d, --detach        do not attach; print the session's name\n" },
	{ "attach", NULL, cmd_attach, "cryo attach NAME",
	  "attach this terminal to session NAME (^] detaches)", "" },
	{ "ls", NULL, cmd_ls, "cryo ls", "list the sessions: name, holder pid, command", "" },
	{ "show", NULL, cmd_show, "cryo show [--json] IMAGE",
	  "decode every record of IMAGE (- for stdin)",
	  "      --json          one JSON document instead of one line per record\n" },
	{ "check", NULL, cmd_check, "cryo check",
	  "say whether this kernel and these privileges let cryo work", "" },
	{ "help", NULL, cmd_help, "cryo help COMMAND", "show the help of COMMAND", "" },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

static const char common_help[] = "  -v, --verbose       more messages (-vv: debug)\n"
				  "      --log-file FILE also write messages to FILE\n"
				  "  -h, --help          this help\n";

const struct cli_command *cli_find(const char *name)
{
	for (const struct cli_command *c = cli_commands; c->name; c++)
		if (!strcmp(name, c->name) || (c->alias && !strcmp(name, c->alias)))
			return c;
	return NULL;
}

void cli_print_help(const struct cli_command *cmd, FILE *out)
{
	fprintf(out, "usage: %s\n\n%s.\n", cmd->synopsis, cmd->summary);
	if (cmd->alias)
		fprintf(out, "Alias: cryo %s.\n", cmd->alias);
	fprintf(out, "\nOptions:\n%s%s", cmd->help, common_help);
}

int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("cryo: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: %s\n(see 'cryo help %s')\n", cmd->synopsis, cmd->name);
	return EXIT_USAGE;
}

int cli_common_option(const struct cli_command *cmd, int opt, const char *arg)
{
	int ret;

	switch (opt) {
	case 'v':
		log_set_verbosity(log_verbosity() + 1);
		return -1;
	case CLI_OPT_LOG_FILE:
		ret = log_open_file(arg);
		if (ret) {
			fprintf(stderr, "cryo: log file %s: %s\n", arg, strerror(-ret));
			return EXIT_FAIL;
		}
		return -1;
	case 'h':
		cli_print_help(cmd, stdout);
		return EXIT_OK;
	default: /* getopt already named the bad option */
		fprintf(stderr, "usage: %s\n(see 'cryo help %s')\n", cmd->synopsis, cmd->name);
		return EXIT_USAGE;
	}
}

void cli_print_usage(FILE *out)
{
	fputs("usage: cryo [-v] [--log-file FILE] COMMAND [ARGS]\n\n"
	      "Checkpoint a running process tree into an image, terminals and all, and restart "
	      "it later.\n\nCommands:\n",
	      out);
	for (const struct cli_command *c = cli_commands; c->name; c++)
		fprintf(out, "  %-11s %s\n", c->name, c->summary);
	fputs("\nAliases: dump = checkpoint, restore = restart.\n"
	      "Options for every command:\n",
	      out);
	fputs(common_help, out);
	fputs("      --version       print the version\n", out);
}

static int cmd_help(int argc, char **argv)
{
	const struct cli_command *cmd;

	if (argc < 2) {
		cli_print_usage(stdout);
		return EXIT_OK;
	}
	cmd = cli_find(argv[1]);
	if (!cmd) {
		fprintf(stderr, "cryo: unknown command '%s'; see 'cryo --help'\n", argv[1]);
		return EXIT_USAGE;
	}
	cli_print_help(cmd, stdout);
	return EXIT_OK;
}
