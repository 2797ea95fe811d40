/* SPDX-License-Identifier: MIT */
/* The checkpoint phase driver: find, freeze, collect, write, resume. */
#ifndef CRYO_CORE_CHECKPOINT_H
#define CRYO_CORE_CHECKPOINT_H

#include <stdbool.h>
#include <sys/types.h>

/* Copy memory while the tree runs, then freeze and save what changed (doc/performance.md). */
enum precopy_mode {
	PRECOPY_AUTO = 0, /* when the tree has at least PRECOPY_AUTO_BYTES of anonymous memory */
	PRECOPY_ALWAYS,
	PRECOPY_NEVER,
};
#define PRECOPY_AUTO_BYTES (16ull << 20)

struct checkpoint_opts {
	pid_t pid;	     /* root of the tree */
	const char *output;  /* image path, "-" for stdout */
	bool kill;	     /* end the tree once the image is durable */
	const char *session; /* the session the tree is the program of (REC_SESSION), or NULL */
	enum precopy_mode precopy;
	const char *parent; /* an incremental image: pages unchanged since PARENT stay there */
	bool track;	    /* keep tracking writes for the next --parent (a tracker) */
};

/* Logs its own errors; returns 0 or -errno. */
int checkpoint_run(const struct checkpoint_opts *opts);

#endif
