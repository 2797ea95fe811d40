/* SPDX-License-Identifier: MIT */
/*
 * Terminal relays (relay.c): restart's terminal standing for a restored
 * one (--tty=inherit), and the redraw that the session holder uses too.
 */
#ifndef CRYO_CORE_RELAY_H
#define CRYO_CORE_RELAY_H

#include <stdint.h>
#include <sys/ioctl.h>

/*
 * Making the program on a pty draw its screen again: the pty gets one
 * column less, then its real size WS, each change a moment after the last,
 * so that even a program that redraws only on a real change does
 * (readline). Start it, poll with pty_redraw_timeout() (-1: none due), and
 * call pty_redraw_step() after each poll.
 */
struct pty_redraw {
	struct winsize ws;
	int step; /* 2: one column less is due, 1: the real size, 0: done */
	int64_t at_ms;
};

void pty_redraw_start(struct pty_redraw *d, const struct winsize *ws);
int pty_redraw_timeout(const struct pty_redraw *d);
void pty_redraw_step(struct pty_redraw *d, int master);

#endif
