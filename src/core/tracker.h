/* SPDX-License-Identifier: MIT */
/*
 * The tracker: a small process that keeps a tree's write tracking alive
 * between two checkpoints (doc/performance.md, incremental checkpoints).
 * Write tracking lives as long as its userfaultfd is open, and cryo exits
 * after a checkpoint; so `checkpoint --track` hands the descriptors to a
 * tracker, which holds them, touches nothing, and answers one question on
 * its socket in the state directory (track-ROOT.sock): the next checkpoint
 * takes the descriptors, with the identity of the image they date from,
 * and the tracker exits. It also exits when every tracked process has.
 */
#ifndef CRYO_CORE_TRACKER_H
#define CRYO_CORE_TRACKER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/fdpass.h"

/* Which image the tracking dates from: its header time, size and trailer CRC. */
struct tracker_identity {
	uint64_t time_ns;
	uint64_t size;
	uint32_t crc32c;
	int32_t root;
};

#define TRACKER_MAX FDPASS_MAX /* processes one tracker holds */

/* Starts a tracker for ROOT holding FDS (of PIDS), dating from ID. Logs its errors. */
int tracker_spawn(const struct tracker_identity *id, const pid_t *pids, const int *fds, size_t nr);

/*
 * Takes the descriptors of ROOT's tracker: 0 with *RET_NR of them in PIDS
 * and FDS (the caller owns them), -ENOENT if ROOT has none. Logs other errors.
 */
int tracker_take(pid_t root, struct tracker_identity *id, pid_t *pids, int *fds, size_t *ret_nr);

#endif
