/* SPDX-License-Identifier: MIT */
/*
 * The cryo command: one file per subcommand. Each cmd_* parses its own
 * arguments and returns the process exit code: 0 ok, 1 failure, 2 usage.
 */
#ifndef CRYO_CLI_CLI_H
#define CRYO_CLI_CLI_H

#include <stdio.h>
#include <sys/types.h>

enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
};

struct cli_command {
	const char *name;
	const char *alias; /* NULL if none */
	int (*run)(int argc, char **argv);
	const char *synopsis; /* "cryo show [--json] IMAGE" */
	const char *summary;  /* one line */
	const char *help;     /* the options, one per line */
};

extern const struct cli_command cli_commands[];
const struct cli_command *cli_find(const char *name);

/*
 * Options every command takes: -v/--verbose (repeatable), --log-file FILE,
 * -h/--help. Use CLI_COMMON_SHORT in the optstring and CLI_COMMON_LONG in
 * the long options, then hand unknown options to cli_common_option().
 */
#define CLI_OPT_LOG_FILE 0x100
#define CLI_COMMON_SHORT "+vh"
#define CLI_COMMON_LONG                                                                            \
	{ "verbose", no_argument, NULL, 'v' },                                                     \
	    { "log-file", required_argument, NULL, CLI_OPT_LOG_FILE },                             \
	{                                                                                          \
		"help", no_argument, NULL, 'h'                                                     \
	}

/*
 * Handles a common option. Returns -1 when the option was consumed and
 * parsing goes on, or an exit code when the command must stop now (help
 * printed: 0; bad option or log file: 2 or 1).
 */
int cli_common_option(const struct cli_command *cmd, int opt, const char *arg);

/* Prints "usage: <synopsis>" and a hint to stderr; returns EXIT_USAGE. */
int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void cli_print_help(const struct cli_command *cmd, FILE *out);
/* The general usage: every command and the common options. */
void cli_print_usage(FILE *out);

int cmd_checkpoint(int argc, char **argv);
int cmd_restart(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_ls(int argc, char **argv);

/*
 * restart's hooks (session.c): a session image becomes a session again;
 * --tty=new without a session gets a holder for its new pty.
 */
struct restart_opts;
int restart_session_hook(const struct restart_opts *opts, const char *name, int *ret_status);
int restart_hold_hook(void *arg, int master, pid_t root, int *ret_status);

/*
 * Runs every probe of `cryo check` and prints one line per feature to OUT.
 * Returns EXIT_OK when checkpoint and restart can work (optional features
 * may be missing), EXIT_FAIL otherwise.
 */
int check_run_probes(FILE *out);

#endif
