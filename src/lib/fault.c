// SPDX-License-Identifier: MIT
#include "lib/fault.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
	pid_t owner;	 /* the cryo process; 0 when fault injection is off */
	unsigned long n; /* points reached so far */
	unsigned long target;
	int kill_self, stall;
	bool undoing;
	int trace_fd;
} fault = { .trace_fd = -1 };

void fault_init(void)
{
	const char *spec = getenv("CRYO_FAULT"), *trace = getenv("CRYO_FAULT_TRACE");
	char *end = NULL;

	if (spec) {
		fault.target = strtoul(spec, &end, 10);
		fault.kill_self = end && !strcmp(end, ":kill");
		fault.stall = end && !strcmp(end, ":stall");
	}
	if (trace)
		fault.trace_fd = open(trace, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fault.target || fault.trace_fd >= 0)
		fault.owner = getpid();
}

/* Counts a point; true if it is the one chosen. */
static bool reached(const char *name, bool kill_only)
{
	if (!fault.owner || getpid() != fault.owner)
		return false;
	kill_only |= fault.undoing;
	fault.n++;
	if (fault.trace_fd >= 0)
		dprintf(fault.trace_fd, "%lu %s%s\n", fault.n, name, kill_only ? " [kill]" : "");
	if (fault.n != fault.target)
		return false;
	if (fault.kill_self)
		kill(getpid(), SIGKILL);
	return true;
}

int fault_point(const char *name)
{
	if (!reached(name, false) || fault.undoing)
		return 0;
	if (fault.stall) {
		usleep(1500 * 1000);
		return 0;
	}
	return -EIO;
}

bool fault_active(void)
{
	return fault.owner != 0;
}

void fault_undoing(bool on)
{
	fault.undoing = on;
}

void fault_point_kill(const char *name)
{
	reached(name, true);
}
