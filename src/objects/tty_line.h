/* SPDX-License-Identifier: MIT */
/*
 * The line state of one pty pair, read out of a live pair ("gather") and
 * written into a pair ("apply"): doc/pty.md sections 2.5 to 2.9, 5.5 and
 * 6 steps 6 to 12. Checkpoint gathers and applies at once on the tree's
 * own pair (so a checkpoint leaves it as it was); restart applies to a new
 * pair. The kernel structs stay inside tty_line.c: <asm/termbits.h> cannot
 * share a file with <termios.h>.
 */
#ifndef CRYO_OBJECTS_TTY_LINE_H
#define CRYO_OBJECTS_TTY_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/format.h"

struct tty_bytes {
	uint8_t *data;
	size_t len, cap;
};

struct tty_line {
	struct rec_termios2 tio;
	struct rec_termios locked;
	uint16_t ws[4]; /* rows, columns, x pixels, y pixels */
	bool packet, pty_locked, excl_master, excl_slave;
	uint32_t pktstatus; /* TTY_PKT_* pending */
	uint32_t stopped;   /* enum tty_stop */
	bool have_queues;   /* the queues and the flow state were read (a slave file was at hand) */
	struct tty_bytes in, out;
	struct rec_tty_seg *segs; /* pieces of `in` */
	size_t nr_segs, segs_cap;
};

void tty_line_free(struct tty_line *l);

/* Appends to the line's queues (restart builds them from the image). 0 or -ENOMEM. */
int tty_bytes_add(struct tty_bytes *b, const void *data, size_t len);
int tty_line_add_seg(struct tty_line *l, uint32_t len, uint32_t end);

/*
 * The state that reading does not change, through the master M and, if it
 * is not -1, a live slave file S: termios, locked termios, window size,
 * packet mode, pty lock, exclusive flags. 0 or -errno.
 */
int tty_line_read(int m, int s, struct tty_line *l);

/* The same through a slave file alone (an external terminal): no master-side state. */
int tty_line_read_slave(int s, struct tty_line *l);

/* The state of a new pty (for a tty whose files are all dead: nothing can be read). */
void tty_line_default(struct tty_line *l);

/*
 * Reads the queues and the flow state out of the pair, leaving it drained:
 * queues empty, packet mode off, termios unlocked, output running. S must
 * be a live slave file. tty_line_read() first. 0 or -errno; on error the
 * pair may be partly drained: apply what was gathered to put it back.
 */
int tty_line_gather(int m, int s, struct tty_line *l);

/*
 * Writes the state into a drained or new pair: termios, window size,
 * packet mode and its pending status, the queues, the flow state,
 * exclusive flags, locked termios (the pty lock is the caller's: it must
 * come after every open of the slave). S is a slave file, or -1 when the
 * slave was never opened (then only what goes through the master). 0 or
 * -errno, with *ret_step naming what failed.
 */
int tty_line_apply(int m, int s, const struct tty_line *l, const char **ret_step);

/*
 * Puts the slave in the error state a failed open leaves (doc/pty.md 2.9):
 * its open files get EIO until a later open succeeds. Leaves the pty
 * unlocked. 0 or -errno.
 */
int tty_poison_slave(int m);

/* The termios in the image's layout, and back. */
int tty_termios_get(int fd, struct rec_termios2 *t);

#endif
