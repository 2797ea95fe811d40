/* SPDX-License-Identifier: MIT */
/* The restart phase driver: read and validate, check, build, run. */
#ifndef CRYO_CORE_RESTART_H
#define CRYO_CORE_RESTART_H

#include <stdbool.h>
#include <sys/types.h>

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
	bool lazy; /* pages come on first touch, from a page server (doc/performance.md) */
	bool pty_index_exact; /* a pty whose index is taken fails the restart */
	bool trust_image;     /* --trust-image: no owner and mode check of the image files */
	enum tty_mode tty;
	const char *session_name; /* --name: of the session restart makes, if it makes one */
	/*
	 * A session image (REC_SESSION, doc/sessions.md) is handed to
	 * ON_SESSION, which makes the session and restarts the image in it
	 * (IN_SESSION set); without it, such an image is restarted here.
	 */
	int (*on_session)(const struct restart_opts *opts, const char *name, int *ret_status);
	bool in_session;
	/*
	 * Once the tree runs, ON_RUNNING gets the master of the external
	 * terminal's new pty (--tty=new; -1 if none, and it is the hook's to
	 * close) and the root's pid, instead of restart waiting for the root.
	 */
	int (*on_running)(void *arg, int master, pid_t root, int *ret_status);
	void *on_running_arg;
};

/*
 * Logs its own errors; returns 0 or -errno. On success *ret_status is the
 * exit code for the command: the restored root's exit status in the
 * foreground (128+N if it was killed by signal N), 0 when detached.
 */
int restart_run(const struct restart_opts *opts, int *ret_status);

/* Foreground: waits for the restored root; its exit code, or 128+N if killed by signal N. */
int restart_wait_root(pid_t pid, int *ret_status);

#endif
