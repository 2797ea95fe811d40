// SPDX-License-Identifier: MIT
/*
 * A process tree: the root (a session leader, run.sh's setsid) with a pty
 * as controlling terminal and a file shared by every task (one open file
 * description: one offset). Its children:
 *   A  leads a process group, the terminal's foreground group; A1, A's
 *      child, is in A's group;
 *   B  joins A's group (a sibling's);
 *   C  leads a second session; C1, its child, leads a group of that session;
 *   D  let go of the controlling terminal (TIOCNOTTY);
 *   E  leads a background group of the root's session;
 *   M  is in a group whose leader L exited; M was L's child and was
 *      reparented to the root, a child subreaper;
 *   N  is in a session (and group) whose leader S exited, N's parent
 *      before it was reparented to the root;
 *   Z  exited with status 3 and is not reaped: a zombie.
 * Job control goes on after the checkpoint: ^C typed on the terminal
 * interrupts the foreground group (A, A1, B) and nobody else, and E,
 * reading the terminal from the background, gets SIGTTIN.
 * On SIGUSR2 the root tells every task to check itself: its pid, parent,
 * group, session and controlling terminal as they were, and one byte
 * written to the shared file; a parent collects its children's verdicts
 * (exit status). The root also checks the zombie's status, the foreground
 * group and that the file's offset counts every task's byte.
 */
#include <sys/prctl.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "cr/ptytest.h"

struct expect {
	pid_t pid, ppid, pgid, sid;
	int tty_nr; /* 0: none */
};

static int shared_fd = -1;
static volatile sig_atomic_t got_sigint, got_sigttin;

static void on_sigint(int sig)
{
	(void)sig;
	got_sigint = 1;
}

static void on_sigttin(int sig)
{
	(void)sig;
	got_sigttin = 1;
}

/* Whether the task is in the terminal's foreground group (it gets ^C). */
static bool in_foreground(void)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY);
	bool fg = fd >= 0 && tcgetpgrp(fd) == getpgrp();

	if (fd >= 0)
		close(fd);
	return fg;
}

static int tty_nr_of_self(void)
{
	char text[1024], *p;
	int tty_nr = -1;
	FILE *f = fopen("/proc/self/stat", "re");

	if (!f || !fgets(text, sizeof(text), f))
		cr_fail("read /proc/self/stat: %m");
	fclose(f);
	p = strrchr(text, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %d", &tty_nr) != 1)
		cr_fail("parse /proc/self/stat");
	return tty_nr;
}

static struct expect now(void)
{
	return (struct expect){ getpid(), getppid(), getpgrp(), getsid(0), tty_nr_of_self() };
}

static bool same(const struct expect *a, const struct expect *b, const char *who)
{
	if (!memcmp(a, b, sizeof(*a)))
		return true;
	printf("FAIL: %s: pid %d ppid %d pgid %d sid %d tty %#x, was pid %d ppid %d pgid %d "
	       "sid %d tty %#x\n",
	       who, b->pid, b->ppid, b->pgid, b->sid, b->tty_nr, a->pid, a->ppid, a->pgid, a->sid,
	       a->tty_nr);
	return false;
}

/* Waits for CHILD's verdict: its exit status must be 0. */
static bool child_passed(pid_t child, const char *who)
{
	int status;

	if (waitpid(child, &status, 0) != child) {
		printf("FAIL: %s: waitpid %d: %m\n", who, child);
		return false;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return true;
	printf("FAIL: %s (pid %d) failed (status %#x)\n", who, child, status);
	return false;
}

/* A task of the tree: after SETUP, it waits for SIGUSR2, checks itself and its own child. */
static pid_t task(const char *who, void (*setup)(void), pid_t (*child)(void))
{
	pid_t pid = fork();

	if (pid < 0)
		cr_fail("fork: %m");
	if (pid == 0) {
		struct expect was, cur;
		pid_t kid = 0;
		bool ok;

		if (setup)
			setup();
		if (child)
			kid = child();
		was = now();
		cr_wait();
		cur = now();
		ok = same(&was, &cur, who);
		if (!!got_sigint != in_foreground()) {
			printf("FAIL: %s: %s ^C\n", who, got_sigint ? "got" : "did not get");
			ok = false;
		}
		if (!strcmp(who, "E")) {
			char c;
			int fd = open("/dev/tty", O_RDWR | O_NOCTTY);

			/* from the background: SIGTTIN, and the read fails with EINTR */
			if (fd < 0 || read(fd, &c, 1) != -1 || !got_sigttin) {
				printf(
				    "FAIL: E: a background read of the terminal got no SIGTTIN\n");
				ok = false;
			}
		}
		ok = write(shared_fd, who, 1) == 1 && ok;
		if (kid) {
			kill(kid, SIGUSR2);
			ok = child_passed(kid, "a grandchild") && ok;
		}
		fflush(stdout);
		_exit(ok ? 0 : 1);
	}
	return pid;
}

static pid_t group_a;

static void lead_group(void)
{
	if (setpgid(0, 0))
		cr_fail("setpgid: %m");
}

static void join_group_a(void)
{
	if (setpgid(0, group_a))
		cr_fail("setpgid %d: %m", group_a);
}

static void new_session(void)
{
	if (setsid() < 0)
		cr_fail("setsid: %m");
}

static void let_go_of_tty(void)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY);

	if (fd < 0 || ioctl(fd, TIOCNOTTY))
		cr_fail("TIOCNOTTY: %m");
	close(fd);
}

/* M's first step: wait until L's exit made it the root's (the subreaper's) child */
static pid_t leader_l;

static void reparented(void)
{
	for (int i = 0; i < 1000 && getppid() == leader_l; i++)
		usleep(1000);
}

/* L's role for a session: S leads a new one, makes N in it, and exits */
static pid_t orphan_of_dead_leader(bool new_session, const char *who)
{
	pid_t l, kid = 0;
	int p[2], status;

	cr_check(pipe(p) == 0, "pipe: %m");
	l = fork();
	if (l == 0) {
		if (new_session)
			setsid();
		else
			setpgid(0, 0);
		leader_l = getpid();
		kid = task(who, reparented, NULL);
		cr_check(write(p[1], &kid, sizeof(kid)) == sizeof(kid), "write: %m");
		_exit(0);
	}
	cr_check(read(p[0], &kid, sizeof(kid)) == sizeof(kid), "read: %m");
	cr_check(waitpid(l, &status, 0) == l, "waitpid: %m");
	close(p[0]);
	close(p[1]);
	return kid;
}

static pid_t child_in_group(void)
{
	return task("A1", NULL, NULL);
}

static pid_t child_leading_group(void)
{
	return task("C1", lead_group, NULL);
}

int main(void)
{
	pid_t a, b, c, d, e, z, mpid, npid;
	struct expect was, cur;
	char path[4096];
	int m, s, index, status;
	bool ok = true;
	off_t off;

	cr_init();
	cr_check(getsid(0) == getpid(), "not a session leader");
	{
		struct sigaction sa = { .sa_handler = on_sigint }; /* no SA_RESTART */

		sigaction(SIGINT, &sa, NULL);
		sa.sa_handler = on_sigttin;
		sigaction(SIGTTIN, &sa, NULL);
	}
	snprintf(path, sizeof(path), "%s/cr-tree-%d", cr_tmpdir(), getpid());
	shared_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	cr_check(shared_fd >= 0, "open %s: %m", path);
	m = pt_open("/dev/ptmx", &s, &index);
	cr_check(ioctl(s, TIOCSCTTY, 0) == 0, "TIOCSCTTY: %m");

	a = task("A", lead_group, child_in_group);
	group_a = a;
	setpgid(a, a); /* as a shell does, from both sides: B may not wait for A */
	b = task("B", join_group_a, NULL);
	c = task("C", new_session, child_leading_group);
	d = task("D", let_go_of_tty, NULL);
	e = task("E", lead_group, NULL);
	setpgid(e, e);
	/* L leads a group, makes M in it, and exits: M is the root's now; S, the same with a
	 * session */
	cr_check(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "subreaper: %m");
	mpid = orphan_of_dead_leader(false, "M");
	npid = orphan_of_dead_leader(true, "N");
	z = fork();
	if (z == 0)
		_exit(3);
	/* A's group in the foreground (SIGTTOU: the root is now in the background) */
	signal(SIGTTOU, SIG_IGN);
	cr_check(tcsetpgrp(s, a) == 0, "tcsetpgrp: %m");
	signal(SIGTTOU, SIG_DFL);
	usleep(200000); /* every task has set itself up, and Z is a zombie */
	was = now();

	cr_ready();
	cr_wait();

	cur = now();
	cur.ppid = was.ppid; /* the root's parent is whoever restarted it */
	ok = same(&was, &cur, "the root");
	cr_check(tcgetpgrp(s) == a, "the foreground group is %d, not A's %d", tcgetpgrp(s), a);
	cr_check(write(shared_fd, "R", 1) == 1, "write: %m");
	pt_write(m, "\x03", 1); /* ^C: SIGINT to the foreground group */
	usleep(100000);
	cr_check(!got_sigint, "the root, in the background, got ^C");
	kill(a, SIGUSR2);
	kill(b, SIGUSR2);
	kill(c, SIGUSR2);
	kill(d, SIGUSR2);
	kill(e, SIGUSR2);
	kill(mpid, SIGUSR2);
	kill(npid, SIGUSR2);
	ok = child_passed(a, "A") && ok;
	ok = child_passed(b, "B") && ok;
	ok = child_passed(c, "C") && ok;
	ok = child_passed(d, "D") && ok;
	ok = child_passed(e, "E") && ok;
	ok = child_passed(mpid, "M") && ok;
	ok = child_passed(npid, "N") && ok;
	cr_check(ok, "a task of the tree failed");
	cr_check(waitpid(z, &status, 0) == z && WIFEXITED(status) && WEXITSTATUS(status) == 3,
		 "the zombie %d: status %#x", z, status);
	/* ten tasks wrote a byte each through one description: one offset */
	off = lseek(shared_fd, 0, SEEK_CUR);
	cr_check(off == 10, "the shared offset is %lld, not 10: the file is not shared any more",
		 (long long)off);
	if (!cr_keep_files())
		unlink(path);
	cr_pass();
}
