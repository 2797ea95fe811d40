// SPDX-License-Identifier: MIT
/*
 * Checkpointing a session's program from inside its namespaces: a child
 * joins the session's pid and mount namespaces (setns), and its own child,
 * born in that pid namespace, sees the session's /proc and pids and runs
 * an ordinary checkpoint. The image goes where the caller asked: its
 * directory is held open across the change of mount namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/checkpoint.h"
#include "lib/log.h"
#include "session/session.h"

static int open_ns(pid_t pid, const char *ns)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, ns);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* The output, as a path that reaches the same directory from the session's mounts. */
static int output_path(const char *output, char *buf, size_t len, int *ret_dirfd)
{
	char copy[4096], copy2[4096];
	int dirfd;

	*ret_dirfd = -1;
	if (!strcmp(output, "-")) {
		snprintf(buf, len, "-");
		return 0;
	}
	snprintf(copy, sizeof(copy), "%s", output);
	snprintf(copy2, sizeof(copy2), "%s", output);
	dirfd = open(dirname(copy), O_PATH | O_DIRECTORY); /* inherited by the children */
	if (dirfd < 0) {
		int err = errno;

		log_error("%s: cannot open its directory: %s", output, strerror(err));
		return -err;
	}
	snprintf(buf, len, "/proc/self/fd/%d/%s", dirfd, basename(copy2));
	*ret_dirfd = dirfd;
	return 0;
}

/* In the child: joins the namespaces, then checkpoints from a child born in them. */
static __attribute__((noreturn)) void enter_and_checkpoint(const struct checkpoint_opts *o,
							   int pidns, int mntns)
{
	int status;
	pid_t pid;

	if (setns(pidns, CLONE_NEWPID) < 0 || setns(mntns, CLONE_NEWNS) < 0) {
		log_error("session %s: cannot enter its namespaces: %s", o->session,
			  strerror(errno));
		_exit(1);
	}
	pid = fork();
	if (pid == 0)
		_exit(checkpoint_run(o) ? 1 : 0);
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		_exit(1);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

int session_checkpoint(const char *name, const struct checkpoint_opts *opts)
{
	struct checkpoint_opts o = *opts;
	struct session_info info;
	char path[4200];
	int pidns = -1, mntns = -1, dirfd, status, ret = session_read_info(name, &info);
	pid_t child;

	if (ret || !session_alive(&info) || info.init <= 0) {
		log_error("session %s: %s; see cryo ls", name,
			  ret || !session_alive(&info) ? "no such session"
						       : "it runs in no namespaces of its own");
		return ret ? ret : -ESRCH;
	}
	ret = output_path(opts->output, path, sizeof(path), &dirfd);
	if (ret)
		return ret;
	pidns = open_ns(info.init, "pid");
	mntns = open_ns(info.init, "mnt");
	if (pidns < 0 || mntns < 0) {
		ret = -errno;
		log_error("session %s: cannot reach its namespaces: %s", name, strerror(errno));
		goto out;
	}
	o.pid = info.root;
	o.output = path;
	o.session = info.name;
	/*
	 * --kill from outside, once the image is durable: the end of the tree
	 * ends the session's init, and with it every process of its pid
	 * namespace, the checkpoint's own included.
	 */
	o.kill = false;
	child = fork();
	if (child == 0)
		enter_and_checkpoint(&o, pidns, mntns);
	if (child < 0 || waitpid(child, &status, 0) < 0)
		ret = -errno;
	else
		ret = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
	if (!ret && opts->kill)
		kill(info.init, SIGKILL);
	if (!ret)
		log_info("session %s: checkpointed into %s", name, opts->output);
out:
	if (pidns >= 0)
		close(pidns);
	if (mntns >= 0)
		close(mntns);
	if (dirfd >= 0)
		close(dirfd);
	return ret;
}
