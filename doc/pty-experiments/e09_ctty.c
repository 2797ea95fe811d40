/*
 * e09_ctty: controlling terminal, session, foreground process group, and
 * descriptors opened through /dev/tty, as seen from outside.
 */
#include "common.h"

static int stat_field(pid_t pid, int *tty_nr, int *tpgid, int *sid)
{
	char p[64], st[1024]; snprintf(p, sizeof p, "/proc/%d/stat", pid);
	FILE *f = fopen(p, "r"); if (!f) return -1; fgets(st, sizeof st, f); fclose(f);
	return sscanf(strrchr(st, ')') + 2, "%*c %*d %*d %d %d %d", sid, tty_nr, tpgid) == 3 ? 0 : -1;
}

/* a tiny command protocol: the parent sends a letter, the child does it and answers */
static int cmd[2], ans[2];
static void do_cmd(char c) { write(cmd[1], &c, 1); char a; read(ans[0], &a, 1); }

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	int s, m = open_pair("/dev/ptmx", &s, NULL);
	int idx; ioctl(m, TIOCGPTN, &idx);
	pipe(cmd); pipe(ans);
	pid_t L = fork();
	if (L == 0) {
		/* L: session leader. children: A before the ctty, C after. */
		setsid();
		signal(SIGTTOU, SIG_IGN);
		pid_t A = fork();
		if (A == 0) { for (;;) pause(); }
		setpgid(A, A);
		int r1 = ioctl(s, TIOCSCTTY, 0);
		pid_t C = fork();
		if (C == 0) { setpgid(0, 0); for (;;) pause(); }
		setpgid(C, C);
		int info[4] = { A, C, r1, 0 };
		write(ans[1], info, sizeof info);
		for (;;) {
			char c; if (read(cmd[0], &c, 1) != 1) _exit(0);
			int r = 0;
			if (c == 'f') r = ioctl(s, TIOCSPGRP, &C);         /* C in the foreground */
			if (c == 'g') { pid_t bad = getppid(); r = ioctl(s, TIOCSPGRP, &bad); r = r < 0 ? errno : 0; }
			if (c == 't') { int d = open("/dev/tty", O_RDWR | O_NOCTTY); info[3] = d; r = d; }
			write(ans[1], &r, 1);
		}
	}
	int info[4]; read(ans[0], info, sizeof info);
	pid_t A = info[0], C = info[1];
	CHECK(info[2] == 0, "L: setsid, then TIOCSCTTY on the slave");
	int ttl, tpl, sl, tta, tpa, sa, ttc, tpc, sc;
	stat_field(L, &ttl, &tpl, &sl); stat_field(A, &tta, &tpa, &sa); stat_field(C, &ttc, &tpc, &sc);
	NOTE("/proc stat: L sid %d tty_nr %#x tpgid %d | A (forked before) sid %d tty_nr %#x tpgid %d | C (forked after) sid %d tty_nr %#x tpgid %d", sl, ttl, tpl, sa, tta, tpa, sc, ttc, tpc);
	CHECK(ttl && sa == sl && tta == 0 && ttc == ttl, "same session, but only the tasks forked after TIOCSCTTY have the tty (A: none, C: yes): the ctty is per process");
	CHECK(tpa == -1, "a task without ctty shows tpgid -1");
	int v = -1;
	CHECK(ioctl(m, TIOCGSID, &v) == 0 && v == L, "TIOCGSID through the master from outside: %d", v);
	CHECK(ioctl(m, TIOCGPGRP, &v) == 0 && v == L, "foreground group is L's own group at first (%d)", v);
	do_cmd('f');
	ioctl(m, TIOCGPGRP, &v);
	stat_field(L, &ttl, &tpl, &sl);
	CHECK(v == C && tpl == C, "L does TIOCSPGRP(C's group): the master and /proc tpgid show %d", v);
	pid_t mine = getpgrp();
	errno = 0;
	CHECK(ioctl(m, TIOCSPGRP, &mine) < 0 && errno == ENOTTY, "TIOCSPGRP through the master from outside fails: %s (it needs the caller's own ctty)", strerror(errno));
	write(cmd[1], "g", 1); char a; read(ans[0], &a, 1);
	CHECK(a == EPERM, "TIOCSPGRP to a group of another session: %s", strerror(a));
	/* A (no ctty) cannot get it: TIOCSCTTY needs a session leader */
	pid_t t = fork();
	if (t == 0) {
		int pf = pidfd_open_(A); (void)pf;
		_exit(0);
	}
	waitpid(t, NULL, 0);
	/* /dev/tty in L */
	write(cmd[1], "t", 1); read(ans[0], &a, 1);
	int pfd = pidfd_open_(L);
	char fdp[64]; int dfd = -1;
	for (int fd = 3; fd < 64 && dfd < 0; fd++) {
		snprintf(fdp, sizeof fdp, "/proc/%d/fd/%d", L, fd);
		char lk[64]; ssize_t n = readlink(fdp, lk, sizeof lk - 1); if (n < 0) continue; lk[n] = 0;
		if (!strcmp(lk, "/dev/tty")) dfd = fd;
	}
	CHECK(dfd >= 0, "L opened /dev/tty: /proc/L/fd/%d -> /dev/tty", dfd);
	int d = pidfd_getfd_(pfd, dfd);
	struct stat st; fstat(d, &st);
	unsigned dev = 0; ioctl(d, TIOCGDEV, &dev);
	NOTE("that fd: st_rdev %u:%u, TIOCGDEV %u:%u", major(st.st_rdev), minor(st.st_rdev), major(dev), minor(dev));
	CHECK(major(st.st_rdev) == 5 && minor(st.st_rdev) == 0 && major(dev) == 136 && (int)minor(dev) == idx, "a /dev/tty file stats as 5:0; TIOCGDEV gives the real tty (136:%d), without its instance", idx);
	struct termios2 a1, a2; tget(m, &a1); a2 = a1; a2.c_cc[VDISCARD] ^= 0x55; tset(m, &a2);
	struct termios2 b; tget(d, &b);
	tset(m, &a1);
	CHECK(b.c_cc[VDISCARD] == a2.c_cc[VDISCARD], "a reversible termios probe through a master (VDISCARD) shows through the /dev/tty file: that pairs it with its pty");
	write(m, "hi\n", 3); usleep(20000);
	fcntl(d, F_SETFL, O_NONBLOCK);
	char rb[8]; int rn = read(d, rb, sizeof rb);
	CHECK(rn == 3, "reading the /dev/tty file reads the pty's input (%d bytes)", rn);
	/* C drops its ctty with TIOCNOTTY: only C, no hangup */
	/* (C is not cooperative here; use A's view: a non-leader can't TIOCSCTTY) */
	kill(-C, SIGKILL); kill(-A, SIGKILL); kill(L, SIGKILL);
	while (waitpid(-1, NULL, __WALL) > 0) ;
	close(d);
	/* non-leader TIOCNOTTY, leader TIOCNOTTY, TIOCSCTTY stealing */
	{
		int s2, m2 = open_pair("/dev/ptmx", &s2, NULL);
		int rp[2]; pipe(rp);
		pid_t l = fork();
		if (l == 0) {
			setsid(); ioctl(s2, TIOCSCTTY, 0);
			signal(SIGHUP, SIG_IGN);
			pid_t c2 = fork();
			if (c2 == 0) {
				int r = ioctl(s2, TIOCNOTTY);
				int tn, tp, sd; stat_field(getpid(), &tn, &tp, &sd);
				int o = open("/dev/tty", O_RDWR);
				int oe = errno;
				int sc = ioctl(s2, TIOCSCTTY, 1);
				int res[3] = { r, tn, o < 0 ? oe : 0 };
				if (sc == 0 || errno != EPERM) res[0] = 99;
				write(rp[1], res, sizeof res); _exit(0);
			}
			waitpid(c2, NULL, 0);
			int tn, tp, sd; stat_field(getpid(), &tn, &tp, &sd);
			int res[3] = { tn, 0, 0 };
			write(rp[1], res, sizeof res);
			pause(); _exit(0);
		}
		int r1[3], r2[3]; read(rp[0], r1, sizeof r1); read(rp[0], r2, sizeof r2);
		CHECK(r1[0] == 0 && r1[1] == 0 && r1[2] == ENXIO && r2[0] != 0, "a non-leader's TIOCNOTTY drops only its own ctty (then /dev/tty: %s, and TIOCSCTTY even as root: EPERM, not a leader); the leader keeps it", strerror(r1[2]));
		pid_t l2 = fork();
		if (l2 == 0) {
			setsid();
			int r = ioctl(s2, TIOCSCTTY, 0); int e = errno;
			int r3 = ioctl(s2, TIOCSCTTY, 1);
			int res[3] = { r < 0 ? e : 0, r3 < 0 ? errno : 0, 0 };
			write(rp[1], res, sizeof res); _exit(0);
		}
		read(rp[0], r1, sizeof r1); waitpid(l2, NULL, 0);
		CHECK(r1[0] == EPERM && r1[1] == 0, "another session's leader: TIOCSCTTY(0) on a tty that is someone's ctty: %s; TIOCSCTTY(1) as root steals it", strerror(r1[0]));
		kill(l, SIGKILL); waitpid(l, NULL, 0);
		close(s2); close(m2);
	}
	/* tty_nr encoding for an index >= 256 */
	{
		int ex[300], n = 0, s3, m3 = -1, id = -1;
		while (n < 300) { m3 = open_pair("/dev/ptmx", &s3, &id); if (id >= 260) break; ex[n++] = m3; close(s3); }
		pid_t l3 = fork();
		if (l3 == 0) { setsid(); ioctl(s3, TIOCSCTTY, 0); pause(); _exit(0); }
		usleep(50000);
		int tn, tp, sd; stat_field(l3, &tn, &tp, &sd);
		unsigned maj = (tn >> 8) & 0xfff, min = (tn & 0xff) | ((tn >> 12) & 0xfff00);
		CHECK(maj == 136 && (int)min == id, "tty_nr of a ctty with index %d: %#x = %u:%u (the kernel's new_encode_dev: minor bits above 8 at bit 20)", id, tn, maj, min);
		kill(l3, SIGKILL); waitpid(l3, NULL, 0);
		for (int k = 0; k < n; k++) close(ex[k]);
		close(s3); close(m3);
	}
	close(s); close(m);
	return finish("e09_ctty");
}
