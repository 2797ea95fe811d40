// SPDX-License-Identifier: MIT
/*
 * Starting a session (doc/sessions.md): the holder, then, in a new pid and
 * mount namespace, the init with a devpts instance and /proc of its own,
 * and the program on a pty of that instance: a command, or a tree
 * restarted from an image. Pids and pty indexes are the session's own, so
 * its images restart anywhere without colliding with anything.
 *
 *	caller (cryo run / restart) ── fork ──> holder (setsid, socket)
 *	                                          │ unshare(NEWPID | NEWNS), fork
 *	                                          v
 *	                                        init, pid 1 (mounts; the pty)
 *	                                          │ fork + exec, or restart
 *	                                          v
 *	                                        the program (pid 2 for a command)
 *
 * The init passes the pty's master and the program's pid to the holder
 * (SCM_RIGHTS); the holder writes the session's info and tells the caller
 * it is ready, or why it failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/restart.h"
#include "lib/fdpass.h"
#include "lib/log.h"
#include "lib/util.h"
#include "session/session.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/* --- passing the master and the program's pid ----------------------------------------- */

int session_send_master(int sock, int master, pid_t root)
{
	return fdpass_send(sock, &root, sizeof(root), &master, master >= 0 ? 1 : 0);
}

static int recv_master(int sock, int *ret_master, pid_t *ret_root)
{
	size_t nr;
	int ret = fdpass_recv(sock, ret_root, sizeof(*ret_root), ret_master, 1, &nr);

	if (!ret && !nr)
		*ret_master = -1;
	return ret ? -EPIPE : 0;
}

/* --- the init -------------------------------------------------------------------------- */

/* The session's own devpts instance and /proc, in its own mount namespace. */
static int init_mounts(void)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -errno;
	if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		  "newinstance,ptmxmode=0666,mode=0620,gid=5") < 0)
		return -errno;
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return -errno;
	return 0;
}

/* The command, on a new pty of the session's instance; the master's descriptor is returned. */
static int spawn_command(char *const *argv, pid_t *ret_pid)
{
	int zero = 0, master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	pid_t pid;

	if (master < 0 || ioctl(master, TIOCSPTLCK, &zero) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int slave;

		setsid();
		slave = ioctl(master, TIOCGPTPEER, O_RDWR);
		if (slave < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
			_exit(127);
		dup2(slave, 0);
		dup2(slave, 1);
		dup2(slave, 2);
		/* the program starts with its terminal alone: nothing of the caller's leaks in */
		syscall(SYS_close_range, 3, ~0u, 0);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		fprintf(stderr, "cryo: %s: cannot run it: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	*ret_pid = pid;
	return master;
}

/* Pid 1's duty: every orphan is reaped; the session ends with its program. */
static __attribute__((noreturn)) void init_reap(pid_t root)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, 0);

		if (pid < 0 && errno != EINTR)
			_exit(127);
		if (pid == root)
			_exit(exit_code_of(status));
	}
}

/* restart's hook, in the init: the master to the holder, then init's life. */
static int restarted(void *arg, int master, pid_t root, int *ret_status)
{
	int sock = *(int *)arg;

	(void)ret_status;
	if (session_send_master(sock, master, root))
		return -EPIPE;
	close(sock);
	if (master >= 0)
		close(master);
	session_daemon_stdio();
	init_reap(root);
}

static __attribute__((noreturn)) void init_main(const struct session_start *s, int sock)
{
	struct restart_opts ro = { .image = s->image,
				   .tty = TTY_NEW,
				   .in_session = true,
				   .pty_index_exact = s->pty_index_exact,
				   .trust_image = s->trust_image,
				   .on_running = restarted,
				   .on_running_arg = &sock };
	pid_t root = 0;
	int ret = init_mounts(), master, status;

	prctl(PR_SET_PDEATHSIG, SIGKILL); /* the session goes with its holder */
	if (ret) {
		log_error("session: cannot mount its devpts instance and /proc: %s",
			  strerror(-ret));
		_exit(1);
	}
	if (s->image) {
		restart_run(&ro, &status); /* returns on failure only: logged */
		_exit(1);
	}
	master = spawn_command(s->argv, &root);
	if (master < 0) {
		log_error("session: cannot make its pty: %s", strerror(-master));
		_exit(1);
	}
	if (session_send_master(sock, master, root))
		_exit(1);
	close(sock);
	close(master);
	session_daemon_stdio();
	init_reap(root);
}

/* --- the holder, until it is ready ------------------------------------------------------ */

/*
 * Once the session runs, the caller's stdin, stdout and stderr are no
 * business of a daemon's (one that kept the caller's stdout open would keep
 * `$(cryo run --detach ...)` waiting).
 */
void session_daemon_stdio(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	close(fd);
}

static void command_line(const struct session_start *s, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	if (s->image) {
		snprintf(buf, len, "restart %s", s->image);
		return;
	}
	for (char *const *a = s->argv; *a && at + 1 < len; a++)
		at += (size_t)snprintf(buf + at, len - at, "%s%s", a == s->argv ? "" : " ", *a);
}

/* The holder: sets the session up, says so on READY, then holds it. */
static __attribute__((noreturn)) void holder_main(const struct session_start *s, const char *name,
						  int ready)
{
	struct session_info info = { .holder = getpid() };
	int sp[2], listen_fd, master = -1;
	pid_t init;

	setsid();
	snprintf(info.name, sizeof(info.name), "%s", name);
	command_line(s, info.cmd, sizeof(info.cmd));
	listen_fd = holder_listen(name);
	if (listen_fd < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0 ||
	    unshare(CLONE_NEWPID | CLONE_NEWNS) < 0) {
		log_error("session %s: cannot make its socket or namespaces: %s", name,
			  strerror(errno));
		_exit(1);
	}
	init = fork();
	if (init == 0) {
		close(sp[0]);
		close(listen_fd);
		close(ready);
		init_main(s, sp[1]);
	}
	close(sp[1]);
	if (init < 0 || recv_master(sp[0], &master, &info.root)) {
		/* the init said why, on our stderr */
		if (init > 0)
			waitpid(init, NULL, 0);
		session_remove(name);
		_exit(1);
	}
	close(sp[0]);
	info.init = init;
	if (session_write_info(&info)) {
		kill(init, SIGKILL);
		session_remove(name);
		_exit(1);
	}
	/* ready: the caller goes on; a daemon has no terminal of the caller's */
	if (write(ready, "k", 1) != 1)
		_exit(1);
	close(ready);
	session_daemon_stdio();
	_exit(holder_run(name, listen_fd, master, init));
}

int session_hold(const char *name, int master, pid_t root, const char *cmd,
		 char ret_name[SESSION_NAME_MAX])
{
	struct session_info info = { .root = root };
	int listen_fd, ret = session_create(name, info.name);
	pid_t holder;

	if (ret)
		return ret;
	snprintf(info.cmd, sizeof(info.cmd), "%s", cmd);
	listen_fd = holder_listen(info.name);
	holder = listen_fd < 0 ? -1 : fork();
	if (holder == 0) {
		setsid();
		session_daemon_stdio();
		_exit(holder_run(info.name, listen_fd, master, 0));
	}
	if (listen_fd >= 0)
		close(listen_fd);
	/* the info is there before the caller goes on: cryo ls sees the session at once */
	info.holder = holder;
	ret = holder < 0 ? -errno : session_write_info(&info);
	if (ret) {
		log_error("session %s: cannot start its holder: %s", info.name, strerror(-ret));
		if (holder > 0)
			kill(holder, SIGKILL);
		session_remove(info.name);
		return ret;
	}
	snprintf(ret_name, SESSION_NAME_MAX, "%s", info.name);
	return 0;
}

int session_start(const struct session_start *s, char ret_name[SESSION_NAME_MAX])
{
	int ready[2], ret = session_create(s->name, ret_name);
	pid_t holder;
	char ok;

	if (ret)
		return ret;
	if (pipe2(ready, O_CLOEXEC) < 0) {
		ret = -errno;
		session_remove(ret_name);
		return ret;
	}
	holder = fork();
	if (holder == 0) {
		close(ready[0]);
		holder_main(s, ret_name, ready[1]);
	}
	close(ready[1]);
	ret = holder < 0 ? -errno : read(ready[0], &ok, 1) == 1 ? 0 : -ECHILD;
	close(ready[0]);
	if (ret) {
		if (holder > 0)
			waitpid(holder, NULL, 0);
		session_remove(ret_name);
	}
	return ret;
}
