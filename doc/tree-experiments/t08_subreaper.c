/*
 * t08_subreaper: where orphans go. Puppets:
 *   control:  C4 (our child) forks G4; C4 exits; we are not a subreaper yet.
 *   P  PR_SET_CHILD_SUBREAPER; C = child of P; G = child of C; C exits -> G's parent?
 *   P  C2 -> G2; G2 exits first (zombie of C2), then C2 exits -> the zombie's parent?
 *   we become a subreaper too; P exits with G still alive -> G's parent?
 */
#include "common.h"

int main(void)
{
	begin("t08_subreaper");
	long r;
	int v = -1;
	prctl(PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0);
	NOTE("we start with PR_GET_CHILD_SUBREAPER = %d; our ancestors: ppid %ld", v, stat_long(getpid(), F_PPID));

	printf("-- control: no subreaper in between\n");
	/* in a new pid namespace, so that the orphan goes to an init we control:
	 * I unshares, N is pid 1 there, C4 its child, G4 C4's child; C4 exits */
	int rp[2];
	pipe(rp);
	fflush(stdout);
	pid_t I = fork();
	if (I == 0) {
		if (unshare(CLONE_NEWPID)) _exit(1);
		pid_t N = fork();
		if (N == 0) {
			pid_t C4 = fork();
			if (C4 == 0) {
				pid_t G4 = fork();
				if (G4 == 0) {
					while (getppid() != 1) msleep(1);
					char b[32];
					ssize_t n = readlink("/proc/self", b, sizeof b - 1); /* root /proc: our outer pid */
					b[n > 0 ? n : 0] = 0;
					long msg[3] = { atol(b), getpid(), getppid() };
					write(rp[1], msg, sizeof msg);
					pause();
				}
				_exit(0);
			}
			waitpid(C4, NULL, 0);
			for (;;) if (wait(NULL) < 0 && errno == ECHILD) pause(); /* an init reaps */
		}
		waitpid(N, NULL, 0);
		_exit(0);
	}
	long msg[3] = { 0, 0, 0 };
	read(rp[0], msg, sizeof msg);
	long pp = stat_long(msg[0], F_PPID);
	pid_t Nroot = 0;
	/* N is I's only child */
	char path[64], kids[64] = "";
	snprintf(path, sizeof path, "/proc/%d/task/%d/children", I, I);
	read_file(path, kids, sizeof kids);
	Nroot = atoi(kids);
	CHECK(pp == Nroot && msg[2] == 1, "C4 exited: its child G4 (pid %ld in the namespace) went to the namespace's pid 1: getppid() = %ld, /proc ppid %ld = N", msg[1], msg[2], pp);
	kill(Nroot, SIGKILL); /* the namespace dies with its init */
	waitpid(I, NULL, 0);
	CHECK(stat_state(msg[0]) == '?', "killing the namespace init took G4 with it");

	printf("-- P is a subreaper\n");
	struct puppet P = pup_spawn();
	r = pcall(&P, f_prctl, PR_SET_CHILD_SUBREAPER, 1, 0);
	CHECK(r == 0 && pcall(&P, f_get_subreaper, 0, 0, 0) == 1, "P: PR_SET_CHILD_SUBREAPER, PR_GET_CHILD_SUBREAPER = 1");
	struct puppet C = pup_fork(&P);
	r = pcall(&C, f_get_subreaper, 0, 0, 0);
	CHECK(r == 0, "C, forked by P: PR_GET_CHILD_SUBREAPER = %ld (not inherited)", r);
	struct puppet G = pup_fork(&C);
	CHECK(stat_long(G.pid, F_PPID) == C.pid, "G's parent is C");
	pup_send(&C, f_exit, 0, 0, 0);
	wait_state(C.pid, 'Z', 1000);
	msleep(10);
	CHECK(stat_long(G.pid, F_PPID) == P.pid, "C exited (zombie, not reaped): G's ppid in /proc is now P (%ld)", stat_long(G.pid, F_PPID));
	r = pcall(&G, f_getppid, 0, 0, 0);
	CHECK(r == P.pid, "getppid() in G: %ld", r);
	r = pcall(&P, f_waitpid, C.pid, 0, 0);
	CHECK(r == C.pid, "P reaps C");

	printf("-- an orphaned zombie\n");
	struct puppet C2 = pup_fork(&P);
	struct puppet G2 = pup_fork(&C2);
	pup_send(&G2, f_exit, 5, 0, 0);
	CHECK(wait_state(G2.pid, 'Z', 1000), "G2 exited with 5, C2 does not wait: zombie");
	pup_send(&C2, f_exit, 0, 0, 0);
	wait_state(C2.pid, 'Z', 1000);
	msleep(10);
	CHECK(stat_long(G2.pid, F_PPID) == P.pid && stat_state(G2.pid) == 'Z', "C2 exited: zombie G2 now has ppid P (%ld), still Z", stat_long(G2.pid, F_PPID));
	r = pcall(&P, f_waitpid, G2.pid, 0, 0);
	CHECK(r == G2.pid && pup_last_x[0] == 5 << 8, "P reaps the inherited zombie with its status (%#lx)", pup_last_x[0]);
	pcall(&P, f_waitpid, C2.pid, 0, 0);

	printf("-- the subreaper itself exits\n");
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	pup_send(&P, f_exit, 0, 0, 0);
	waitpid(P.pid, NULL, 0);
	msleep(10);
	CHECK(stat_long(G.pid, F_PPID) == getpid(), "P exited: G (alive) went to the next subreaper up, us (ppid %ld)", stat_long(G.pid, F_PPID));
	pup_send(&G, f_exit, 9, 0, 0);
	int st;
	r = waitpid(G.pid, &st, 0);
	CHECK(r == G.pid && WEXITSTATUS(st) == 9, "and we reap it");
	return finish("t08_subreaper");
}
