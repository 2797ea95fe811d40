/*
 * t06_zombies: children that exit while we (their parent) do not wait, with SIGCHLD blocked.
 * /proc/PID/stat state and field 52 (exit_code, the wait status) of each zombie, the
 * pending SIGCHLD, discarding it with sigtimedwait(timeout 0), peeking with
 * waitid(WNOWAIT), and what reaping returns.
 */
#include "common.h"
#include <sys/resource.h>

static pid_t child(int how)
{
	fflush(stdout);
	pid_t p = fork();
	if (p < 0) DIE("fork");
	if (p) return p;
	sigset_t s;
	sigemptyset(&s);
	sigprocmask(SIG_SETMASK, &s, NULL);
	switch (how) {
	case 0: _exit(3);
	case 1: _exit(259);                  /* only the low 8 bits survive */
	case 2: kill(getpid(), SIGTERM); break; /* default action: terminate */
	case 3: kill(getpid(), SIGKILL); break;
	case 4: {                            /* a core-dump signal that cannot dump */
		struct rlimit rl = { 0, 0 };
		setrlimit(RLIMIT_CORE, &rl);
		prctl(PR_SET_DUMPABLE, 0);
		kill(getpid(), SIGABRT);
		break;
	}
	case 5: pause(); break;              /* stays alive */
	}
	_exit(100);
}

int main(void)
{
	begin("t06_zombies");
	sigset_t chld, pend, empty;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigemptyset(&empty);
	sigprocmask(SIG_BLOCK, &chld, NULL);

	const char *what[] = { "_exit(3)", "_exit(259)", "kill(self, SIGTERM)", "kill(self, SIGKILL)", "SIGABRT, RLIMIT_CORE 0, not dumpable" };
	int want[] = { 3 << 8, 3 << 8, SIGTERM, SIGKILL, SIGABRT };
	pid_t z[5];
	for (int i = 0; i < 5; i++) {
		z[i] = child(i);
		wait_state(z[i], 'Z', 1000);
	}
	pid_t live = child(5);
	msleep(20);
	printf("-- /proc/PID/stat of the zombies\n");
	for (int i = 0; i < 5; i++) {
		char s = stat_state(z[i]);
		long ec = stat_long(z[i], F_EXIT_CODE);
		CHECK(s == 'Z' && ec == want[i], "%-38s state %c, field 52 = %#lx (%ld)", what[i], s, ec, ec);
	}
	CHECK(stat_long(live, F_EXIT_CODE) == 0, "a live child shows field 52 = 0");
	CHECK(stat_long(z[0], F_PPID) == getpid() && stat_long(z[0], F_PGRP) == getpgrp(), "a zombie keeps ppid and pgrp in /proc/PID/stat");
	NOTE("zombie /proc/PID/status State: \"%s\", Threads: \"%s\", VmRSS: \"%s\"", status_str(z[0], "State"), status_str(z[0], "Threads"), status_str(z[0], "VmRSS"));
	char lnk[64], t[256];
	snprintf(lnk, sizeof lnk, "/proc/%d/exe", z[0]);
	ssize_t n = readlink(lnk, t, sizeof t);
	CHECK(n < 0, "readlink /proc/ZOMBIE/exe fails (%s): a zombie has no mm/exe left", strerror(errno));

	printf("-- SIGCHLD while blocked\n");
	sigpending(&pend);
	CHECK(sigismember(&pend, SIGCHLD), "sigpending() shows SIGCHLD");
	NOTE("our ShdPnd %s SigPnd %s, SigBlk %s", status_str(getpid(), "ShdPnd"), status_str(getpid(), "SigPnd"), status_str(getpid(), "SigBlk"));
	siginfo_t si;
	struct timespec zero = { 0, 0 };
	int sig = sigtimedwait(&chld, &si, &zero);
	CHECK(sig == SIGCHLD && si.si_pid == z[0] && si.si_status == 3, "sigtimedwait(SIGCHLD, timeout 0) takes it: si_pid %d (first zombie %d), si_code %d, si_status %d", si.si_pid, z[0], si.si_code, si.si_status);
	sig = sigtimedwait(&chld, &si, &zero);
	CHECK(sig < 0 && errno == EAGAIN, "a second sigtimedwait: EAGAIN: five deaths left one SIGCHLD (standard signals do not queue)");
	sigpending(&pend);
	CHECK(!sigismember(&pend, SIGCHLD), "SIGCHLD no longer pending (ShdPnd %s SigPnd %s)", status_str(getpid(), "ShdPnd"), status_str(getpid(), "SigPnd"));
	CHECK(stat_state(z[0]) == 'Z', "the zombies are unaffected by taking the signal");

	printf("-- peeking and reaping\n");
	memset(&si, 0, sizeof si);
	int r = waitid(P_PID, z[0], &si, WEXITED | WNOWAIT);
	CHECK(r == 0 && si.si_code == CLD_EXITED && si.si_status == 3 && stat_state(z[0]) == 'Z', "waitid(WEXITED|WNOWAIT): CLD_EXITED status 3, and still a zombie");
	memset(&si, 0, sizeof si);
	waitid(P_PID, z[2], &si, WEXITED | WNOWAIT);
	CHECK(si.si_code == CLD_KILLED && si.si_status == SIGTERM, "WNOWAIT on the SIGTERM zombie: CLD_KILLED, si_status %d", si.si_status);
	int ok = 1;
	for (int i = 0; i < 5; i++) {
		int st = -1;
		pid_t w = waitpid(z[i], &st, 0);
		ok &= w == z[i] && st == want[i];
	}
	CHECK(ok, "waitpid on each returns exactly the field-52 value as status");
	sigpending(&pend);
	CHECK(!sigismember(&pend, SIGCHLD), "reaping does not raise SIGCHLD again");
	kill(live, SIGKILL);
	waitpid(live, NULL, 0);
	sigtimedwait(&chld, &si, &zero);

	printf("-- SIGCHLD ignored\n");
	struct sigaction sa = { .sa_handler = SIG_IGN };
	sigaction(SIGCHLD, &sa, NULL);
	pid_t q = child(0);
	msleep(50);
	CHECK(stat_state(q) == '?', "with SIGCHLD set to SIG_IGN a child that exits leaves no zombie (auto-reaped, /proc entry gone)");
	sigpending(&pend);
	CHECK(!sigismember(&pend, SIGCHLD), "and no SIGCHLD is pending even though it is blocked");
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	return finish("t06_zombies");
}
