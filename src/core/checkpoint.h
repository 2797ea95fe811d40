/* SPDX-License-Identifier: MIT */
/* The checkpoint phase driver: find, freeze, collect, write, resume. */
#ifndef CRYO_CORE_CHECKPOINT_H
#define CRYO_CORE_CHECKPOINT_H

#include <stdbool.h>
#include <sys/types.h>

struct checkpoint_opts {
	pid_t pid;	     /* root of the tree */
	const char *output;  /* image path, "-" for stdout */
	bool kill;	     /* end the tree once the image is durable */
	const char *session; /* the session the tree is the program of (REC_SESSION), or NULL */
};

/* Logs its own errors; returns 0 or -errno. */
int checkpoint_run(const struct checkpoint_opts *opts);

#endif
