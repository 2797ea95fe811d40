/* SPDX-License-Identifier: MIT */
/*
 * Sessions (doc/sessions.md): a program on a pty whose master cryo holds,
 * in namespaces of its own, that users attach to and detach from, and
 * that cryo checkpoints and restarts by name.
 *
 * A session is three processes: the holder (a daemon holding the pty
 * master and a unix socket that clients attach through), the init of a
 * new pid and mount namespace (pid 1 there, with its own devpts instance
 * and /proc) and, below it, the session's program: the command `cryo run`
 * started, or the tree `cryo restart` brought back. Its state lives in a
 * directory of the state directory: the holder's socket and an info file.
 */
#ifndef CRYO_SESSION_SESSION_H
#define CRYO_SESSION_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SESSION_NAME_MAX 64
#define SESSION_CMD_MAX	 256

/* The detach key of an attached client: ^] (as telnet's escape). */
#define SESSION_DETACH_KEY 0x1d

struct session_info {
	char name[SESSION_NAME_MAX];
	pid_t holder; /* the holder daemon */
	pid_t init;   /* the session's init (its pid seen from outside), 0 if none */
	pid_t root;   /* the session's program, its pid inside the session */
	char cmd[SESSION_CMD_MAX];
};

/* --- registry.c: the state directory --------------------------------------------- */

/*
 * The state directory: $CRYO_STATE_DIR, else $XDG_RUNTIME_DIR/cryo, else
 * /run/cryo; made (mode 0700) if missing. 0 or -errno (logged).
 */
int session_state_dir(char *buf, size_t len);

/* PATH of FILE ("sock", "info") of session NAME. */
int session_path(const char *name, const char *file, char *buf, size_t len);

/* A unix stream socket for session NAME's, and its address in *ADDR. */
struct sockaddr_un;
int session_socket(const char *name, struct sockaddr_un *addr);

/*
 * Makes the directory of session NAME, or with NAME NULL of the lowest
 * free number ("1", "2", ...); its name in RET_NAME. -EEXIST if NAME is
 * taken by a live session (a dead one's directory is cleared first).
 */
int session_create(const char *name, char ret_name[SESSION_NAME_MAX]);
int session_write_info(const struct session_info *info);
int session_read_info(const char *name, struct session_info *info);
/* Whether the holder of INFO still runs. */
bool session_alive(const struct session_info *info);
void session_remove(const char *name);
/* Every session of the state directory, live or not; free() the array. */
int session_list(struct session_info **ret, size_t *ret_nr);
/* Whether S names a session rather than a pid (it is not all digits). */
bool session_is_name(const char *s);

/* --- the holder's protocol: frames of {u8 type; u32 len (LE); len bytes} ---------- */

enum session_frame {
	FRAME_DATA = 'd',    /* bytes for the pty (from a client) or the screen (to it) */
	FRAME_WINSIZE = 'w', /* a client's struct winsize */
	FRAME_EXIT = 'x',    /* to a client: the program ended, its exit code (s32) */
};

#define SESSION_FRAME_MAX 8192 /* bytes of one frame's data, at most */

int session_send_frame(int fd, uint8_t type, const void *data, uint32_t len);

/* Frames arriving on a stream: the bytes read so far, parsed as frames complete. */
struct frame_reader {
	unsigned char buf[5 + SESSION_FRAME_MAX];
	size_t len;
};

/*
 * Reads what FD has into R and hands each complete frame to TAKE, which
 * stops the reading by returning nonzero. 1 at the end of the stream, on
 * a frame longer than SESSION_FRAME_MAX (not a peer of ours), or when TAKE
 * stopped; else 0.
 */
int session_read_frames(int fd, struct frame_reader *r,
			int (*take)(void *arg, uint8_t type, const unsigned char *data,
				    uint32_t len),
			void *arg);

/* --- holder.c ----------------------------------------------------------------- */

/*
 * The holder's life, in a daemon: relays MASTER to the attached client
 * (one at a time; a new one takes over) through LISTEN_FD, until INIT
 * (the session's init, our child) ends, or, with INIT 0, until no one
 * holds the pty's slave any more. Removes the session's directory and
 * returns the program's exit code.
 */
int holder_run(const char *name, int listen_fd, int master, pid_t init);

/* The listening socket of session NAME. */
int holder_listen(const char *name);

/* --- client.c ----------------------------------------------------------------- */

/*
 * Attaches the caller's terminal to session NAME until the detach key
 * (then *ret_status is -1) or the end of the program (its exit code).
 * 0, or -errno (logged).
 */
int session_attach(const char *name, int *ret_status);

/* --- enter.c: checkpointing a session ----------------------------------------------- */

struct checkpoint_opts;

/*
 * Checkpoints the program of session NAME (OPTS's pid is ignored): from
 * inside the session's pid and mount namespaces, so the image holds the
 * session's own pids and devpts instance, and is marked as a session's
 * (REC_SESSION). 0 or -errno (logged).
 */
int session_checkpoint(const char *name, const struct checkpoint_opts *opts);

/* --- start.c: a new session ------------------------------------------------------ */

/*
 * A session without namespaces for a pty whose program runs already
 * (restart --tty=new of an image that is not a session's): a holder
 * daemon keeps MASTER (the caller closes its copy) until no one holds the
 * slave. NAME NULL: the lowest free number. Logs its errors.
 */
int session_hold(const char *name, int master, pid_t root, const char *cmd,
		 char ret_name[SESSION_NAME_MAX]);

/* The caller's stdio of a daemon of the session's goes: /dev/null instead. */
void session_daemon_stdio(void);

/* Sends the master (or -1: none) and the program's pid to the holder. */
int session_send_master(int sock, int master, pid_t root);

/*
 * Where a new session's program comes from: ARGV to execute, or IMAGE to
 * restart (a session image, or any image whose external terminal becomes
 * the session's).
 */
struct session_start {
	const char *name; /* NULL: the lowest free number */
	char *const *argv;
	const char *image;
	bool pty_index_exact;
	bool trust_image; /* restart --trust-image: the image file's owner and mode are not checked
			   */
};

/*
 * Starts the holder and the session's namespaces and program; returns once
 * the program runs (or failed to start: logged), with the session's name.
 */
int session_start(const struct session_start *s, char ret_name[SESSION_NAME_MAX]);

#endif
