/* SPDX-License-Identifier: MIT */
/*
 * Fault injection, for the tests that prove a failure anywhere harms
 * nothing (doc/reliability.md, tests/cr/faults.sh).
 *
 * Every step of checkpoint and restart that can fail calls fault_point()
 * first and treats its error as the step's own. Two environment variables
 * drive it; without them a fault point is one branch:
 *
 *	CRYO_FAULT=N		the Nth point reached fails (-EIO)
 *	CRYO_FAULT=N:kill	at the Nth point cryo sends itself SIGKILL
 *	CRYO_FAULT=N:stall	at the Nth point cryo sleeps 1.5 s, then goes on
 *				(as if kept from the CPU: tests/cr/faults.sh)
 *	CRYO_FAULT_TRACE=FILE	appends "N name" for each point reached
 *
 * Only cryo's own process counts: the processes it forks (a restored task
 * before it becomes the program, the tracker, the page server) inherit
 * nothing of it, so the numbering is the same run after run.
 */
#ifndef CRYO_LIB_FAULT_H
#define CRYO_LIB_FAULT_H

#include <stdbool.h>

/* Reads the environment; called once, first thing, by main(). */
void fault_init(void);

/* 0, or -EIO when this is the point chosen to fail (never returns for :kill). */
int fault_point(const char *name);

/*
 * A point where only dying makes sense (there is no error to return, as
 * halfway through putting a task back): counted like the others, traced
 * as "N name [kill]", a no-op unless :kill.
 */
void fault_point_kill(const char *name);

/* Whether fault injection (or its trace) is on: for the handshakes some points need. */
bool fault_active(void);

/* While ON, every point is kill-only: cryo is undoing, and has no failure to report. */
void fault_undoing(bool on);

#endif
