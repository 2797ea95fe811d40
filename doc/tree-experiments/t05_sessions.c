/*
 * t05_sessions: sessions and process groups, with puppets (common.h) so that each step
 * runs in the process that matters. We are a subreaper so that orphans come back to us.
 *   S  setsid()                   session S, group S
 *   A  child of S, setpgid(0, 0)  group A
 *   B  child of S, setpgid(0, A)  joins its sibling's group
 *   X  child of us (our session)  setpgid(0, A): EPERM (other session)
 * Then A exits (zombie, then reaped): group A lives on with B; new children of S join it.
 * Then S exits: the session lives on; who can still get into it.
 * Whether the number of a dead leader can be taken while its group/session lives
 * (clone3 set_tid, root).
 */
#include "common.h"
#include <linux/sched.h>

/* try to create a process with pid `pid` (root, our own pid namespace): returns the result
 * of clone3; a created child exits at once and is reaped */
static pid_t try_pid(pid_t pid)
{
	struct clone_args a;
	memset(&a, 0, sizeof a);
	a.exit_signal = SIGCHLD;
	a.set_tid = (uintptr_t)&pid;
	a.set_tid_size = 1;
	fflush(stdout);
	pid_t r = syscall(SYS_clone3, &a, sizeof a);
	if (r == 0) _exit(0);
	int e = errno;
	if (r > 0) waitpid(r, NULL, 0);
	errno = e;
	return r;
}

/* a pid number nobody uses (found by looking at /proc), for "group that does not exist" */
static pid_t unused_pid(void)
{
	char p[64];
	for (pid_t x = 30000;; x++) {
		snprintf(p, sizeof p, "/proc/%d", x);
		if (access(p, F_OK)) return x;
	}
}

int main(void)
{
	begin("t05_sessions");
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	long r;

	printf("-- setsid, setpgid into a sibling's group\n");
	struct puppet S = pup_spawn();
	r = pcall(&S, f_setsid, 0, 0, 0);
	CHECK(r == S.pid, "S: setsid() returns %ld = its pid", r);
	CHECK(stat_long(S.pid, F_SESSION) == S.pid && stat_long(S.pid, F_PGRP) == S.pid, "S is leader of session and group %d (/proc stat fields 6, 5)", S.pid);
	r = pcall(&S, f_setsid, 0, 0, 0);
	CHECK(r < 0 && errno == EPERM, "setsid() again in S (a group leader): EPERM");
	struct puppet A = pup_fork(&S), B = pup_fork(&S);
	CHECK(stat_long(A.pid, F_SESSION) == S.pid && stat_long(A.pid, F_PGRP) == S.pid, "children of S start in session S, group S");
	r = pcall(&A, f_setpgid, 0, 0, 0);
	CHECK(r == 0 && stat_long(A.pid, F_PGRP) == A.pid, "A: setpgid(0, 0) makes group %d", A.pid);
	r = pcall(&B, f_setpgid, 0, A.pid, 0);
	CHECK(r == 0 && stat_long(B.pid, F_PGRP) == A.pid, "B: setpgid(0, A) joins its sibling's group (pgrp %ld)", stat_long(B.pid, F_PGRP));
	pid_t none = unused_pid();
	r = pcall(&B, f_setpgid, 0, none, 0);
	CHECK(r < 0 && errno == EPERM, "B: setpgid(0, %d) for a group that does not exist: EPERM", none);
	struct puppet X = pup_spawn();
	r = pcall(&X, f_setpgid, 0, A.pid, 0);
	CHECK(r < 0 && errno == EPERM, "X (our child, another session): setpgid(0, A): EPERM");
	r = pcall(&X, f_setpgid, 0, 0, 0);
	CHECK(r == 0, "X: setpgid(0, 0) works (own group in its own session)");
	r = pcall(&S, f_setpgid, B.pid, S.pid, 0);
	CHECK(r == 0 && stat_long(B.pid, F_PGRP) == S.pid, "S: setpgid(B, S) moves its child B back to group S");
	r = pcall(&S, f_setpgid, B.pid, A.pid, 0);
	CHECK(r == 0 && stat_long(B.pid, F_PGRP) == A.pid, "S: setpgid(B, A) moves B into A's group again (a parent may place a child)");
	r = pcall(&B, f_setpgid, A.pid, B.pid, 0);
	CHECK(r < 0 && errno == ESRCH, "B: setpgid(A, ...) on its sibling: ESRCH (only self or own children)");
	r = pcall(&S, f_setpgid, S.pid, A.pid, 0);
	CHECK(r < 0 && errno == EPERM, "S: setpgid(0, A) for the session leader: EPERM");

	printf("-- the group leader exits\n");
	pup_send(&A, f_exit, 0, 0, 0);
	CHECK(wait_state(A.pid, 'Z', 1000), "A exited, not yet reaped: state Z");
	CHECK(stat_long(A.pid, F_PGRP) == A.pid, "the zombie A still shows pgrp %ld", stat_long(A.pid, F_PGRP));
	struct puppet D = pup_fork(&S);
	r = pcall(&D, f_setpgid, 0, A.pid, 0);
	CHECK(r == 0 && stat_long(D.pid, F_PGRP) == A.pid, "a new child D of S joins group A while its leader is a zombie");
	r = pcall(&S, f_waitpid, A.pid, 0, 0);
	CHECK(r == A.pid, "S reaps A");
	CHECK(stat_state(A.pid) == '?', "/proc/%d is gone", A.pid);
	CHECK(stat_long(B.pid, F_PGRP) == A.pid && stat_long(D.pid, F_PGRP) == A.pid, "members B and D still show pgrp %d in /proc/PID/stat", A.pid);
	r = pcall(&B, f_getpgrp, 0, 0, 0);
	CHECK(r == A.pid, "B: getpgrp() = %ld", r);
	CHECK(kill(-A.pid, 0) == 0, "kill(-%d, 0): the group exists", A.pid);
	struct puppet E = pup_fork(&S);
	r = pcall(&E, f_setpgid, 0, A.pid, 0);
	CHECK(r == 0 && stat_long(E.pid, F_PGRP) == A.pid, "a new child E of S, created after A was reaped, joins group %d: works", A.pid);
	r = try_pid(A.pid);
	CHECK(r < 0 && errno == EEXIST, "clone3 set_tid {%d} (the dead leader's number) while the group lives: %s", A.pid, r < 0 ? strerror(errno) : "created!");
	r = pcall(&X, f_setpgid, 0, A.pid, 0);
	CHECK(r < 0 && errno == EPERM, "X (other session) still cannot join: EPERM");

	printf("-- the session leader exits\n");
	pup_send(&S, f_exit, 0, 0, 0);
	int st;
	CHECK(waitpid(S.pid, &st, 0) == S.pid, "S exited and we (its parent) reaped it");
	msleep(10);
	CHECK(stat_long(B.pid, F_PPID) == getpid(), "its children came to us (subreaper): B's ppid %ld", stat_long(B.pid, F_PPID));
	CHECK(stat_long(B.pid, F_SESSION) == S.pid && stat_long(E.pid, F_SESSION) == S.pid, "B and E still show session %d", S.pid);
	r = pcall(&B, f_getsid, 0, 0, 0);
	CHECK(r == S.pid, "B: getsid(0) = %ld", r);
	r = try_pid(S.pid);
	CHECK(r < 0 && errno == EEXIST, "clone3 set_tid {%d} (the dead session leader's number) while the session has members: %s", S.pid, r < 0 ? strerror(errno) : "created!");
	struct puppet F = pup_fork(&B);
	CHECK(stat_long(F.pid, F_SESSION) == S.pid, "a child F forked by member B after the leader died is in session %ld: fork is the way in", stat_long(F.pid, F_SESSION));
	r = pcall(&F, f_setpgid, 0, 0, 0);
	CHECK(r == 0 && stat_long(F.pid, F_PGRP) == F.pid, "F: setpgid(0, 0) makes a new group %d inside the leaderless session", F.pid);
	r = pcall(&E, f_setpgid, 0, F.pid, 0);
	CHECK(r == 0, "E joins F's group (same session): works");
	r = pcall(&X, f_setpgid, 0, F.pid, 0);
	CHECK(r < 0 && errno == EPERM, "X (outside) cannot join any of its groups: EPERM");
	r = pcall(&D, f_setsid, 0, 0, 0);
	CHECK(r == D.pid && stat_long(D.pid, F_SESSION) == D.pid, "D: setsid() leaves for a new session %ld (no call joins an existing one)", r);
	r = pcall(&D, f_setpgid, 0, A.pid, 0);
	CHECK(r < 0 && errno == EPERM, "and D cannot come back into group %d: EPERM", A.pid);

	printf("-- the last members leave\n");
	pcall(&B, f_setpgid, 0, 0, 0);
	r = try_pid(A.pid);
	CHECK(r == A.pid, "with B, D and E out of group %d its number can be taken again: clone3 set_tid gives %ld", A.pid, r);
	NOTE("(a session or group id is a pid number kept in use by its members; it is freed with the last one)");

	return finish("t05_sessions");
}
