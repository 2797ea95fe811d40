/*
 * t09_ptrace: PTRACE_SEIZE as root of tasks that are not our children (grandchildren via
 * a puppet P): a running one, one already stopped by SIGSTOP, one with a zombie child;
 * and a zombie itself. What waitpid reports after PTRACE_SEIZE / PTRACE_INTERRUPT, the
 * /proc state letters, and what detaching leaves behind.
 */
#include "common.h"
#include <sys/ptrace.h>

static const char *wstr(int r, int st)
{
	static char b[128];
	if (r <= 0) { snprintf(b, sizeof b, "waitpid %d (%s)", r, r < 0 ? strerror(errno) : "nothing to report"); return b; }
	if (WIFSTOPPED(st)) snprintf(b, sizeof b, "stopped, sig %d, event %d (status %#x)", WSTOPSIG(st), st >> 16, st);
	else if (WIFEXITED(st)) snprintf(b, sizeof b, "exited %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st)) snprintf(b, sizeof b, "killed by %d", WTERMSIG(st));
	else snprintf(b, sizeof b, "status %#x", st);
	return b;
}

/* pending-signal masks (hex) of /proc/PID/status */
static unsigned long long mask(pid_t pid, const char *key) { return strtoull(status_str(pid, key), NULL, 16); }
#define BIT(sig) (1ULL << ((sig) - 1))

int main(void)
{
	begin("t09_ptrace");
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	char ys[16] = "absent (no Yama)";
	read_file("/proc/sys/kernel/yama/ptrace_scope", ys, sizeof ys);
	ys[strcspn(ys, "\n")] = 0;
	NOTE("kernel.yama.ptrace_scope = %s", ys);
	pid_t me = getpid();
	int st, w;
	long r;
	struct puppet P = pup_spawn();

	printf("-- a running task that is not our child\n");
	struct puppet T = pup_fork(&P);
	CHECK(stat_long(T.pid, F_PPID) == P.pid, "T is P's child (our grandchild)");
	r = ptrace(PTRACE_SEIZE, T.pid, 0, 0);
	CHECK(r == 0, "PTRACE_SEIZE of T: %s", r ? strerror(errno) : "works");
	CHECK(atoi(status_str(T.pid, "TracerPid")) == me, "T's TracerPid is us (%s)", status_str(T.pid, "TracerPid"));
	w = waitpid(T.pid, &st, WNOHANG | __WALL);
	CHECK(w == 0, "after SEIZE alone waitpid(WNOHANG) reports nothing (SEIZE does not stop)");
	r = pcall(&T, f_getpid, 0, 0, 0);
	CHECK(r == T.pid, "T keeps running while seized (answers a request)");
	r = ptrace(PTRACE_INTERRUPT, T.pid, 0, 0);
	w = waitpid(T.pid, &st, __WALL);
	CHECK(r == 0 && w == T.pid && WIFSTOPPED(st) && WSTOPSIG(st) == SIGTRAP && st >> 16 == PTRACE_EVENT_STOP,
	      "PTRACE_INTERRUPT, waitpid: %s (SIGTRAP | PTRACE_EVENT_STOP << 8)", wstr(w, st));
	CHECK(stat_state(T.pid) == 't', "/proc state: %c (tracing stop)", stat_state(T.pid));
	r = pcall(&P, f_waitpid, T.pid, WNOHANG | WUNTRACED, 0);
	CHECK(r == 0, "T's real parent P sees nothing with waitpid(WUNTRACED|WNOHANG): %ld", r);
	r = ptrace(PTRACE_DETACH, T.pid, 0, 0);
	CHECK(r == 0 && pcall(&T, f_getpid, 0, 0, 0) == T.pid && stat_state(T.pid) != 't', "PTRACE_DETACH: T runs on (state %c)", stat_state(T.pid));
	r = ptrace(PTRACE_SEIZE, T.pid, 0, 0);
	long r2 = ptrace(PTRACE_SEIZE, T.pid, 0, 0);
	CHECK(r == 0 && r2 < 0 && errno == EPERM, "seizing twice: the second PTRACE_SEIZE fails EPERM");
	ptrace(PTRACE_DETACH, T.pid, 0, 0); /* not stopped: ESRCH, but the interrupt below does it */
	ptrace(PTRACE_INTERRUPT, T.pid, 0, 0);
	waitpid(T.pid, &st, __WALL);
	ptrace(PTRACE_DETACH, T.pid, 0, 0);

	printf("-- a task already stopped by SIGSTOP\n");
	struct puppet T2 = pup_fork(&P);
	kill(T2.pid, SIGSTOP);
	CHECK(wait_state(T2.pid, 'T', 1000), "T2 got SIGSTOP: state T");
	r = ptrace(PTRACE_SEIZE, T2.pid, 0, 0);
	CHECK(r == 0, "PTRACE_SEIZE of the stopped T2 works");
	w = waitpid(T2.pid, &st, WNOHANG | __WALL);
	CHECK(w == T2.pid && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP && st >> 16 == PTRACE_EVENT_STOP,
	      "immediately, waitpid(WNOHANG): %s: a group-stop report (SIGSTOP | PTRACE_EVENT_STOP << 8)", wstr(w, st));
	CHECK(stat_state(T2.pid) == 't', "/proc state now %c (was T)", stat_state(T2.pid));
	siginfo_t si;
	memset(&si, 0, sizeof si);
	r = ptrace(PTRACE_GETSIGINFO, T2.pid, 0, &si);
	CHECK(r == 0 && si.si_signo == SIGSTOP && si.si_code == (SIGSTOP | PTRACE_EVENT_STOP << 8) && si.si_pid == T2.pid,
	      "PTRACE_GETSIGINFO in this group-stop works (so the EINVAL test of ptrace(2) for group-stops does not apply under SEIZE): si_signo %d, si_code %#x, si_pid %d (T2 is %d)",
	      si.si_signo, si.si_code, si.si_pid, T2.pid);
	r = ptrace(PTRACE_INTERRUPT, T2.pid, 0, 0);
	w = waitpid(T2.pid, &st, WNOHANG | __WALL);
	CHECK(r == 0 && w == 0, "PTRACE_INTERRUPT on it: returns %ld, then waitpid(WNOHANG) has nothing new (%d)", r, w);
	w = waitpid(T2.pid, &st, WNOHANG | __WALL);
	r = ptrace(PTRACE_DETACH, T2.pid, 0, 0);
	msleep(20);
	CHECK(r == 0 && stat_state(T2.pid) == 'T', "PTRACE_DETACH: T2 is still stopped (state %c): the job-control stop survives", stat_state(T2.pid));
	pcall(&P, f_waitpid, T2.pid, WUNTRACED | WNOHANG, 0);
	kill(T2.pid, SIGCONT);
	r = pcall(&T2, f_getpid, 0, 0, 0);
	CHECK(r == T2.pid, "SIGCONT: T2 runs again");

	printf("-- a traced task's zombie child\n");
	struct puppet T3 = pup_fork(&P);
	struct puppet Z = pup_fork(&T3);
	ptrace(PTRACE_SEIZE, T3.pid, 0, 0);
	ptrace(PTRACE_INTERRUPT, T3.pid, 0, 0);
	w = waitpid(T3.pid, &st, __WALL);
	CHECK(w == T3.pid && WIFSTOPPED(st), "T3 seized and interrupted: %s", wstr(w, st));
	pup_send(&Z, f_exit, 7, 0, 0);
	CHECK(wait_state(Z.pid, 'Z', 1000), "T3's child Z exits: zombie");
	msleep(100);
	CHECK(stat_state(Z.pid) == 'Z' && stat_long(Z.pid, F_PPID) == T3.pid, "100 ms later Z is still a zombie, ppid T3");
	unsigned long long shd = mask(T3.pid, "ShdPnd");
	CHECK(shd & BIT(SIGCHLD), "SIGCHLD is pending in the stopped tracee (ShdPnd %llx; default-ignored signals are queued for a traced task)", shd);
	w = waitpid(Z.pid, &st, WNOHANG | __WALL);
	CHECK(w < 0 && errno == ECHILD, "we (the tracer of its parent) cannot reap Z: ECHILD");
	w = waitpid(T3.pid, &st, WNOHANG | __WALL);
	CHECK(w == 0, "the SIGCHLD does not produce a new stop while T3 is stopped (waitpid: %d)", w);
	r = ptrace(PTRACE_CONT, T3.pid, 0, 0);
	w = waitpid(T3.pid, &st, __WALL);
	CHECK(r == 0 && w == T3.pid && WIFSTOPPED(st) && WSTOPSIG(st) == SIGCHLD && st >> 16 == 0,
	      "PTRACE_CONT: the next report is a signal-delivery-stop for SIGCHLD: %s", wstr(w, st));
	CHECK(stat_state(Z.pid) == 'Z', "Z is still a zombie");
	r = ptrace(PTRACE_DETACH, T3.pid, 0, 0);
	CHECK(r == 0, "PTRACE_DETACH (signal 0: the SIGCHLD is dropped)");
	msleep(20);
	CHECK(stat_state(Z.pid) == 'Z', "after detaching, Z stays a zombie until its parent waits");
	r = pcall(&T3, f_waitpid, Z.pid, 0, 0);
	CHECK(r == Z.pid && pup_last_x[0] == 7 << 8, "T3 reaps Z with status %#lx", pup_last_x[0]);

	printf("-- a zombie\n");
	struct puppet Z2 = pup_fork(&P);
	pup_send(&Z2, f_exit, 0, 0, 0);
	wait_state(Z2.pid, 'Z', 1000);
	r = ptrace(PTRACE_SEIZE, Z2.pid, 0, 0);
	CHECK(r < 0 && errno == EPERM, "PTRACE_SEIZE of a zombie: %s", r < 0 ? strerror(errno) : "works");
	pcall(&P, f_waitpid, Z2.pid, 0, 0);

	return finish("t09_ptrace");
}
