/*
 * t07_ctty: controlling terminal inheritance and job control, with puppets.
 *   S   setsid(); B0 forked; S opens a pty (ptmx + TIOCGPTPEER) and TIOCSCTTY; B1 forked.
 *   B1  own group, SIGTTOU blocked, TIOCSPGRP itself into the foreground.
 *   C   own group (background, not orphaned: its parent S is in another group of the
 *       session): read() with SIGTTIN caught; TIOCSPGRP with SIGTTOU caught.
 *   S   (group S is orphaned: S's parent is us, in another session): read() in background.
 *   D   background, default SIGTTIN: stops.
 */
#include "common.h"

/* ---- puppet functions ---- */
static long f_openpty(long a, long b, long c)
{
	(void)a; (void)b; (void)c;
	int m = open("/dev/ptmx", O_RDWR | O_NOCTTY);
	if (m < 0) return -1;
	int zero = 0;
	ioctl(m, TIOCSPTLCK, &zero);
	int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	pup_x[0] = m;
	pup_x[1] = s;
	return s < 0 ? -1 : 0;
}
static long f_ioctl_val(long fd, long req, long val) { return ioctl(fd, req, val); }
static long f_ioctl_int(long fd, long req, long val) { int v = val; return ioctl(fd, req, &v); }
static long f_tiocgpgrp(long fd, long b, long c) { (void)b; (void)c; int v = -1; if (ioctl(fd, TIOCGPGRP, &v) < 0) return -1; return v; }
static long f_open(long path, long flags, long c) { (void)c; return open((const char *)path, flags); }
static long f_read(long fd, long b, long c) { (void)b; (void)c; char buf[64]; return read(fd, buf, sizeof buf); }
static long f_mask(long how, long sig, long c) { (void)c; sigset_t s; sigemptyset(&s); sigaddset(&s, sig); return sigprocmask(how, &s, NULL); }
static volatile sig_atomic_t caught[65];
static void on_sig(int sig) { caught[sig]++; }
/* catch sig without SA_RESTART (a=1) or restore the default (a=0) */
static long f_catch(long sig, long on, long c)
{
	(void)c;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on ? on_sig : SIG_DFL;
	caught[sig] = 0;
	return sigaction(sig, &sa, NULL);
}
static long f_caught(long sig, long b, long c) { (void)b; (void)c; return caught[sig]; }

/* tty_nr as /proc shows it: new_encode_dev() */
static long encode(dev_t d)
{
	unsigned ma = major(d), mi = minor(d);
	return (mi & 0xff) | (ma << 8) | ((mi & ~0xffu) << 12);
}

int main(void)
{
	begin("t07_ctty");
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	long r;

	printf("-- acquiring a controlling terminal\n");
	struct puppet S = pup_spawn();
	pcall(&S, f_setsid, 0, 0, 0);
	struct puppet B0 = pup_fork(&S);
	r = pcall(&S, f_openpty, 0, 0, 0);
	int m = pup_last_x[0], s = pup_last_x[1];
	CHECK(r == 0, "S: ptmx opened (fd %d), slave via TIOCGPTPEER (fd %d)", m, s);
	CHECK(stat_long(S.pid, F_TTY_NR) == 0, "before TIOCSCTTY S has tty_nr 0 (opened with O_NOCTTY)");
	r = pcall(&S, f_ioctl_val, s, TIOCSCTTY, 0);
	CHECK(r == 0, "S (session leader): TIOCSCTTY on the slave works");
	int sl = getfd_of(S.pid, s);
	struct stat st;
	fstat(sl, &st);
	long want = encode(st.st_rdev);
	CHECK(stat_long(S.pid, F_TTY_NR) == want, "S: tty_nr %ld = encoded st_rdev %u:%u of the slave", stat_long(S.pid, F_TTY_NR), major(st.st_rdev), minor(st.st_rdev));
	CHECK(stat_long(S.pid, F_TPGID) == S.pid, "S: tpgid (field 8) = %ld: its group became the foreground", stat_long(S.pid, F_TPGID));
	struct puppet B1 = pup_fork(&S);
	CHECK(stat_long(B1.pid, F_TTY_NR) == want, "B1, forked after: same tty_nr %ld", stat_long(B1.pid, F_TTY_NR));
	CHECK(stat_long(B0.pid, F_TTY_NR) == 0 && stat_long(B0.pid, F_TPGID) == -1, "B0, forked before: tty_nr %ld, tpgid %ld (no controlling tty)", stat_long(B0.pid, F_TTY_NR), stat_long(B0.pid, F_TPGID));
	r = pcall(&B0, f_open, (long)"/dev/tty", O_RDWR, 0);
	CHECK(r < 0 && errno == ENXIO, "B0: open(\"/dev/tty\"): ENXIO");
	r = pcall(&B1, f_open, (long)"/dev/tty", O_RDWR, 0);
	CHECK(r >= 0, "B1: open(\"/dev/tty\") works");
	r = pcall(&B1, f_ioctl_val, s, TIOCSCTTY, 0);
	CHECK(r < 0 && errno == EPERM, "B1 (not a session leader): TIOCSCTTY: EPERM");

	printf("-- foreground group\n");
	pcall(&B1, f_setpgid, 0, 0, 0);
	pcall(&B1, f_mask, SIG_BLOCK, SIGTTOU, 0);
	r = pcall(&B1, f_ioctl_int, s, TIOCSPGRP, B1.pid);
	CHECK(r == 0, "B1 (own group, background, SIGTTOU blocked): TIOCSPGRP to its own group works");
	CHECK(stat_long(S.pid, F_TPGID) == B1.pid && stat_long(B1.pid, F_TPGID) == B1.pid, "tpgid in /proc of S and B1 is now %d", B1.pid);
	r = pcall(&S, f_tiocgpgrp, s, 0, 0);
	CHECK(r == B1.pid, "S: TIOCGPGRP = %ld", r);
	r = pcall(&S, f_ioctl_int, s, TIOCSPGRP, S.pid);
	CHECK(r < 0 && errno == ENOTTY && stat_long(S.pid, F_TPGID) == B1.pid,
	      "S (now background; group S is orphaned as S's parent is in another session; SIGTTOU default): TIOCSPGRP: %s (the kernel turns the EIO of an orphaned group into ENOTTY)", r < 0 ? strerror(errno) : "worked");
	pcall(&B0, f_setpgid, 0, 0, 0);
	r = pcall(&B1, f_ioctl_int, s, TIOCSPGRP, B0.pid);
	CHECK(r == 0 && stat_long(S.pid, F_TPGID) == B0.pid,
	      "B1 (foreground): TIOCSPGRP to B0's group works (same session) although B0 has no controlling tty: tpgid %ld", stat_long(S.pid, F_TPGID));
	CHECK(stat_long(B0.pid, F_TTY_NR) == 0, "B0 still has tty_nr 0: being the foreground group does not give it the tty");
	r = pcall(&B1, f_ioctl_int, s, TIOCSPGRP, B1.pid);
	CHECK(r == 0 && stat_long(S.pid, F_TPGID) == B1.pid, "B1 (background again, SIGTTOU blocked) takes the foreground back");

	printf("-- background reads\n");
	struct puppet C = pup_fork(&S);
	pcall(&C, f_setpgid, 0, 0, 0);
	pcall(&C, f_catch, SIGTTIN, 1, 0);
	r = pcall(&C, f_read, s, 0, 0);
	int e = errno;
	long n = pcall(&C, f_caught, SIGTTIN, 0, 0);
	errno = e;
	CHECK(r < 0 && errno == EINTR && n == 1, "C (background group %d, not orphaned): read() of the tty: SIGTTIN caught %ld time(s), read fails EINTR", C.pid, n);
	pcall(&S, f_catch, SIGTTIN, 1, 0);
	r = pcall(&S, f_read, s, 0, 0);
	e = errno;
	n = pcall(&S, f_caught, SIGTTIN, 0, 0);
	errno = e;
	CHECK(r < 0 && errno == EIO && n == 0, "S (background, group S orphaned: S's parent is in another session): read(): %s, SIGTTIN caught %ld times", r < 0 ? strerror(errno) : "data", n);
	pcall(&C, f_catch, SIGTTOU, 1, 0);
	r = pcall(&C, f_ioctl_int, s, TIOCSPGRP, C.pid);
	e = errno;
	n = pcall(&C, f_caught, SIGTTOU, 0, 0);
	errno = e;
	CHECK(r < 0 && errno == EINTR && n == 1 && stat_long(S.pid, F_TPGID) == B1.pid,
	      "C: TIOCSPGRP with SIGTTOU caught (not blocked): SIGTTOU caught %ld time(s), EINTR, foreground unchanged", n);
	struct puppet D = pup_fork(&S);
	pcall(&D, f_setpgid, 0, 0, 0);
	pcall(&D, f_catch, SIGTTIN, 0, 0); /* S's handler was inherited */
	pup_send(&D, f_read, s, 0, 0);
	CHECK(wait_state(D.pid, 'T', 1000), "D (background group, default SIGTTIN): read() stops it: state %c", stat_state(D.pid));
	kill(D.pid, SIGKILL);
	int mm = getfd_of(S.pid, m);
	ssize_t w = write(mm, "x\n", 2);
	r = pcall(&B1, f_read, s, 0, 0);
	CHECK(w == 2 && r == 2, "B1 (foreground) reads what the master wrote (%ld bytes)", r);

	return finish("t07_ctty");
}
