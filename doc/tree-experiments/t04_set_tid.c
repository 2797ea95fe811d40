/*
 * t04_set_tid: clone3() with set_tid, as root, inside a new pid namespace
 * (unshare(CLONE_NEWPID) + fork: the child is pid 1 of the namespace and reaps).
 * Nested chosen pids, EEXIST for a taken pid, several levels at once (namespace pid and
 * the pid in the parent namespace), a nested namespace with set_tid {1, N}, and where
 * ordinary pid allocation continues afterwards.
 * /proc is not remounted: /proc/self/status NSpid lists the pids from the root namespace down.
 */
#include "common.h"
#include <linux/sched.h>

static pid_t clone3_tid(const pid_t *tids, int n, unsigned long flags)
{
	struct clone_args a;
	memset(&a, 0, sizeof a);
	a.flags = flags;
	a.exit_signal = SIGCHLD;
	a.set_tid = (uintptr_t)tids;
	a.set_tid_size = n;
	fflush(stdout);
	return syscall(SYS_clone3, &a, sizeof a);
}

/* exit status of a child that ran checks: its number of failures */
static void collect(pid_t pid, const char *what)
{
	int st = 0;
	pid_t w = waitpid(pid, &st, 0);
	if (w != pid || !WIFEXITED(st)) { printf("  FAIL %s: waitpid %d status %#x\n", what, w, st); fails++; return; }
	fails += WEXITSTATUS(st);
}

static long root_pidmax;

static int init_main(pid_t outer)
{
	int hold[2];
	pipe(hold);
	CHECK(getpid() == 1, "after unshare(CLONE_NEWPID) + fork the child is pid %d in the new namespace (%d outside)", getpid(), outer);
	NOTE("NSpid of the namespace init: %s", status_str(outer, "NSpid"));

	printf("-- nested chosen pids\n");
	pid_t t100 = 100;
	pid_t c = clone3_tid(&t100, 1, 0);
	if (c == 0) {
		fails = 0;
		CHECK(getpid() == 100, "set_tid {100}: the child is pid %d", getpid());
		pid_t t200 = 200;
		pid_t g = clone3_tid(&t200, 1, 0);
		if (g == 0) _exit(getpid() == 200 && getppid() == 100 ? 0 : 1);
		int st = -1;
		waitpid(g, &st, 0);
		CHECK(g == 200 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "that child (pid 100, not a namespace init) creates its own child with set_tid {200}: pid %d, which sees itself as 200 with parent 100", g);
		char x;
		read(hold[0], &x, 1);
		_exit(fails);
	}
	CHECK(c == 100, "clone3 set_tid {100} returned %d in the parent%s", c, c < 0 ? strerror(errno) : "");
	if (c < 0) return fails;
	msleep(20);

	printf("-- taken and invalid pids\n");
	pid_t r = clone3_tid(&t100, 1, 0);
	if (r == 0) _exit(0);
	CHECK(r < 0 && errno == EEXIST, "set_tid {100} while pid 100 lives: %s", r < 0 ? strerror(errno) : "created!");
	pid_t t1 = 1;
	r = clone3_tid(&t1, 1, 0);
	if (r == 0) _exit(0);
	CHECK(r < 0 && errno == EEXIST, "set_tid {1} (the init itself): %s", r < 0 ? strerror(errno) : "created!");
	pid_t t200 = 200;
	r = clone3_tid(&t200, 1, 0);
	if (r == 0) _exit(0);
	CHECK(r == 200, "set_tid {200} after pid 200 was reaped: %d (the number is free again)", r);
	if (r > 0) waitpid(r, NULL, 0);
	pid_t three[3] = { 300, 300, 300 };
	r = clone3_tid(three, 3, 0);
	if (r == 0) _exit(0);
	CHECK(r < 0 && errno == EINVAL, "set_tid_size 3 with only 2 pid namespace levels: %s", r < 0 ? strerror(errno) : "created!");
	long pidmax = 0;
	char b[32];
	if (read_file("/proc/sys/kernel/pid_max", b, sizeof b) > 0) pidmax = atol(b);
	pid_t tmax = pidmax;
	r = clone3_tid(&tmax, 1, 0);
	if (r == 0) _exit(0);
	CHECK(r < 0 && errno == EINVAL, "set_tid {pid_max = %ld}: %s", pidmax, r < 0 ? strerror(errno) : "created!");
	NOTE("kernel.pid_max read inside the new namespace: %ld; in the root namespace: %ld (pid_max is per pid namespace on this kernel)", pidmax, root_pidmax);

	printf("-- two levels at once\n");
	/* a free pid of the root namespace: look at the root /proc (not remounted) */
	pid_t two[2] = { 300, 0 };
	char path[64];
	for (two[1] = root_pidmax - 2000; two[1] < root_pidmax - 1; two[1]++) {
		snprintf(path, sizeof path, "/proc/%d", two[1]);
		if (access(path, F_OK)) break;
	}
	r = clone3_tid(two, 2, 0);
	if (r == 0) {
		fails = 0;
		char want[64];
		snprintf(want, sizeof want, "%d\t300", two[1]);
		const char *ns = status_str(two[1], "NSpid");
		CHECK(getpid() == 300 && !strcmp(ns, want), "set_tid {300, %d}: pid 300 here, %d in the root namespace (NSpid \"%s\")", two[1], two[1], ns);
		_exit(fails);
	}
	if (r > 0) collect(r, "two-level child");
	else CHECK(0, "set_tid {300, %d}: %s", two[1], strerror(errno));

	printf("-- a nested pid namespace with set_tid {1, 400}\n");
	pid_t nested[2] = { 1, 400 };
	r = clone3_tid(nested, 2, CLONE_NEWPID);
	if (r == 0) {
		fails = 0;
		CHECK(getpid() == 1 && getppid() == 0, "the new namespace's init is pid %d (parent shown as %d)", getpid(), getppid());
		_exit(fails);
	}
	CHECK(r == 400, "clone3(CLONE_NEWPID) with set_tid {1, 400}: pid %d in our namespace", r);
	if (r > 0) collect(r, "nested init");
	pid_t bad[2] = { 2, 401 };
	r = clone3_tid(bad, 2, CLONE_NEWPID);
	if (r == 0) _exit(0);
	CHECK(r < 0 && errno == EINVAL, "CLONE_NEWPID with set_tid {2, 401} (init of a new namespace must be 1): %s", r < 0 ? strerror(errno) : "created!");
	if (r > 0) waitpid(r, NULL, 0);

	printf("-- ordinary allocation afterwards\n");
	r = fork();
	if (r == 0) _exit(0);
	waitpid(r, NULL, 0);
	NOTE("a plain fork() now gets pid %d", r);
	CHECK(r < 100, "plain fork after set_tid 100/200/300/400: pid %d: set_tid does not move the allocation cursor", r);

	write(hold[1], "x", 1);
	collect(c, "pid 100");
	/* pid 1 of a namespace must reap everything that lands on it: nothing is left */
	int st;
	CHECK(waitpid(-1, &st, WNOHANG) < 0 && errno == ECHILD, "init has no children left");
	return fails;
}

int main(void)
{
	begin("t04_set_tid");
	char b[32];
	if (read_file("/proc/sys/kernel/pid_max", b, sizeof b) > 0) root_pidmax = atol(b);
	if (unshare(CLONE_NEWPID)) DIE("unshare(CLONE_NEWPID)");
	CHECK(getpid() > 1, "unshare(CLONE_NEWPID) does not move the caller: still pid %d", getpid());
	fflush(stdout);
	pid_t init = fork();
	if (init < 0) DIE("fork");
	if (init == 0) {
		/* our own pid as the root namespace sees it: the only entry in NSpid that is not 1 */
		pid_t outer = 0;
		char buf[64];
		ssize_t n = readlink("/proc/self", buf, sizeof buf - 1);
		if (n > 0) { buf[n] = 0; outer = atoi(buf); }
		fails = 0;
		_exit(init_main(outer));
	}
	collect(init, "namespace init");
	pid_t again = fork();
	if (again == 0) _exit(0);
	CHECK(again < 0 && errno == ENOMEM, "after the namespace init exited, fork() in the unshared process fails: %s (the namespace is dead)", again < 0 ? strerror(errno) : "worked");
	if (again > 0) waitpid(again, NULL, 0);
	return finish("t04_set_tid");
}
