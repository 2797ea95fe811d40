/* SPDX-License-Identifier: MIT */
/* The restart phase driver: read and validate, check, build, run. */
#ifndef CRYO_CORE_RESTART_H
#define CRYO_CORE_RESTART_H

#include <stdbool.h>

enum tty_mode {
	TTY_AUTO = 0, /* inherit on a terminal without --detach, else new */
	TTY_INHERIT,
	TTY_NEW,
	TTY_NONE,
};

struct restart_opts {
	const char *image;   /* path, "-" for stdin */
	const char *pidfile; /* NULL if none */
	bool detach;
	bool pty_index_exact; /* a pty whose index is taken fails the restart */
	enum tty_mode tty;
};

/*
 * Logs its own errors; returns 0 or -errno. On success *ret_status is the
 * exit code for the command: the restored root's exit status in the
 * foreground (128+N if it was killed by signal N), 0 when detached.
 */
int restart_run(const struct restart_opts *opts, int *ret_status);

#endif
