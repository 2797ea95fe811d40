/*
 * e01_inspect: inspect a pty held by another process, from outside, with
 * pidfd_getfd. The target (a child) sets up a pair with non-default state;
 * the inspector gets its own descriptors and tries every ioctl on each end.
 */
#include "common.h"

struct setup { int master, slave, pgrp_child; };

static void target(int wfd)
{
	struct setup s;
	s.master = open("/dev/ptmx", O_RDWR | O_NOCTTY);
	if (s.master < 0) DIE("ptmx");
	int zero = 0, one = 1;
	ioctl(s.master, TIOCSPTLCK, &zero);
	if (setsid() < 0) DIE("setsid");
	s.slave = ioctl(s.master, TIOCGPTPEER, O_RDWR); /* no O_NOCTTY: but TIOCSCTTY explicit below */
	if (s.slave < 0) DIE("peer");
	if (ioctl(s.slave, TIOCSCTTY, 0) < 0) DIE("TIOCSCTTY");
	struct termios2 t;
	tget(s.slave, &t);
	t.c_iflag = ICRNL | IXON | IUTF8 | IMAXBEL;
	t.c_oflag = OPOST | ONLCR | TAB3;
	t.c_lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN | TOSTOP;
	t.c_cflag = (t.c_cflag & ~(CBAUD | CSIZE)) | CS7 | BOTHER | (BOTHER << IBSHIFT) | PARENB;
	t.c_ispeed = 12345; t.c_ospeed = 54321;
	for (int i = 0; i < NCCS; i++) t.c_cc[i] = 0x40 + i; /* distinct values */
	t.c_cc[VMIN] = 3; t.c_cc[VTIME] = 7;
	if (tset(s.slave, &t) < 0) DIE("TCSETS2");
	struct termios lk; memset(&lk, 0, sizeof lk);
	lk.c_lflag = ECHO; lk.c_cc[VINTR] = 0xff;
	if (ioctl(s.slave, TIOCSLCKTRMIOS, &lk) < 0) DIE("TIOCSLCKTRMIOS");
	struct winsize ws = { 33, 111, 999, 777 };
	if (ioctl(s.master, TIOCSWINSZ, &ws) < 0) DIE("TIOCSWINSZ");
	if (ioctl(s.master, TIOCPKT, &one) < 0) DIE("TIOCPKT");
	if (ioctl(s.slave, TIOCEXCL) < 0) DIE("TIOCEXCL");
	pid_t g = fork();
	if (g == 0) { setpgid(0, 0); pause(); _exit(0); }
	setpgid(g, g);
	s.pgrp_child = g;
	signal(SIGTTOU, SIG_IGN);
	if (ioctl(s.slave, TIOCSPGRP, &g) < 0) DIE("TIOCSPGRP");
	write(wfd, &s, sizeof s);
	pause();
	_exit(0);
}

static void try_int(const char *end, int fd, unsigned long req, const char *name)
{
	int v = -12345;
	int r = ioctl(fd, req, &v);
	if (r < 0) NOTE("%-7s %-15s -> error %s", end, name, strerror(errno));
	else NOTE("%-7s %-15s -> %d", end, name, v);
}

static void show_stat(const char *what, int fd)
{
	struct stat st;
	fstat(fd, &st);
	NOTE("%s: st_dev %u:%u st_rdev %u:%u st_ino %lu mode %o uid %u",
	     what, major(st.st_dev), minor(st.st_dev), major(st.st_rdev), minor(st.st_rdev),
	     (unsigned long)st.st_ino, st.st_mode & 07777, st.st_uid);
}

static void show_file(const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDONLY);
	if (fd < 0) { NOTE("%s: %s", path, strerror(errno)); return; }
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n")) NOTE("  %s: %s", path, l);
}

int main(void)
{
	int p[2];
	pipe(p);
	pid_t pid = fork();
	if (pid == 0) { close(p[0]); target(p[1]); }
	close(p[1]);
	struct setup s;
	if (read(p[0], &s, sizeof s) != sizeof s) DIE("setup");
	printf("target pid %d: master fd %d, slave fd %d, foreground pgrp %d\n", pid, s.master, s.slave, s.pgrp_child);

	int pfd = pidfd_open_(pid);
	if (pfd < 0) DIE("pidfd_open");
	int m = pidfd_getfd_(pfd, s.master), sl = pidfd_getfd_(pfd, s.slave);
	CHECK(m >= 0 && sl >= 0, "pidfd_getfd of master and slave: %d, %d", m, sl);
	CHECK(kcmp_(getpid(), pid, KCMP_FILE_, m, s.master) == 0, "kcmp: our master fd is the target's open file description");
	CHECK(kcmp_(getpid(), pid, KCMP_FILE_, sl, s.slave) == 0, "kcmp: our slave fd is the target's open file description");

	printf("-- identification\n");
	show_stat("master", m);
	show_stat("slave ", sl);
	char path[64], link[256];
	snprintf(path, sizeof path, "/proc/%d/fd/%d", pid, s.master);
	ssize_t n = readlink(path, link, sizeof link - 1); link[n > 0 ? n : 0] = 0;
	NOTE("readlink master: %s", link);
	snprintf(path, sizeof path, "/proc/%d/fd/%d", pid, s.slave);
	n = readlink(path, link, sizeof link - 1); link[n > 0 ? n : 0] = 0;
	NOTE("readlink slave: %s", link);
	snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", pid, s.master); show_file(path);
	snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", pid, s.slave); show_file(path);
	struct stat sst, mst; fstat(sl, &sst); fstat(m, &mst);
	CHECK(major(mst.st_rdev) == 5 && minor(mst.st_rdev) == 2, "master st_rdev is 5:2 (ptmx)");
	CHECK(major(sst.st_rdev) >= 136 && major(sst.st_rdev) <= 143, "slave st_rdev major is in 136..143 (%u)", major(sst.st_rdev));
	int ptn = -1; ioctl(m, TIOCGPTN, &ptn);
	CHECK(major(sst.st_rdev) == 136 && minor(sst.st_rdev) == (unsigned)ptn, "slave st_rdev is 136:TIOCGPTN of the master (%d); e06 shows 136:256, 136:3000 too", ptn);
	/* the instance of the slave: the devpts mount with its st_dev */
	FILE *mi = fopen("/proc/self/mountinfo", "r");
	char line[1024];
	while (fgets(line, sizeof line, mi)) {
		unsigned ma, mi2; char mp[512], fstype[64];
		if (sscanf(line, "%*d %*d %u:%u %*s %511s %*[^-]- %63s", &ma, &mi2, mp, fstype) == 4 &&
		    !strcmp(fstype, "devpts"))
			NOTE("devpts mount %u:%u on %s%s", ma, mi2, mp,
			     makedev(ma, mi2) == sst.st_dev ? "   <- the slave's st_dev" : "");
	}
	fclose(mi);
	/* the slave opened from the master: fresh file, its st_dev says the instance */
	int peer = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	CHECK(peer >= 0, "TIOCGPTPEER on the master dup: fd %d (%s)", peer, peer < 0 ? strerror(errno) : "ok");
	if (peer >= 0) {
		struct stat pst; fstat(peer, &pst);
		CHECK(pst.st_dev == sst.st_dev && pst.st_ino == sst.st_ino, "peer is the same inode as the target's slave");
		CHECK(kcmp_(getpid(), pid, KCMP_FILE_, peer, s.slave) != 0, "peer is a new open file description (kcmp differs)");
	}
	{
		int pf = ioctl(m, TIOCGPTPEER, O_RDONLY | O_NONBLOCK | O_APPEND | O_NOCTTY);
		int fl = fcntl(pf, F_GETFL), fdf = fcntl(pf, F_GETFD);
		CHECK(pf >= 0 && (fl & O_ACCMODE) == O_RDONLY && (fl & O_NONBLOCK) && (fl & O_APPEND) && !(fdf & FD_CLOEXEC), "TIOCGPTPEER honours open flags: O_RDONLY|O_NONBLOCK|O_APPEND -> F_GETFL %#o", fl);
		close(pf);
		pf = ioctl(m, TIOCGPTPEER, O_RDWR | O_CLOEXEC | O_NOCTTY);
		CHECK(pf >= 0 && (fcntl(pf, F_GETFD) & FD_CLOEXEC), "and O_CLOEXEC goes to the new descriptor");
		close(pf);
	}
	int ppath = ioctl(m, TIOCGPTPEER, O_PATH | O_CLOEXEC);
	NOTE("TIOCGPTPEER with O_PATH: %s", ppath >= 0 ? "allowed" : strerror(errno));
	int pbad = ioctl(sl, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	CHECK(pbad < 0, "TIOCGPTPEER on the slave fails: %s", strerror(errno));

	printf("-- termios (TCGETS2) read through each end\n");
	struct termios2 tm, ts;
	int rm = tget(m, &tm), rs = tget(sl, &ts);
	CHECK(rm == 0 && rs == 0, "TCGETS2 works on both ends");
	CHECK(memcmp(&tm, &ts, sizeof tm) == 0, "master and slave return the same termios (the slave's)");
	NOTE("iflag %#o oflag %#o cflag %#o lflag %#o line %u ispeed %u ospeed %u", ts.c_iflag, ts.c_oflag, ts.c_cflag, ts.c_lflag, ts.c_line, ts.c_ispeed, ts.c_ospeed);
	CHECK(ts.c_ispeed == 12345 && ts.c_ospeed == 54321, "arbitrary BOTHER speeds kept");
	CHECK((ts.c_cflag & CSIZE) == CS8 && !(ts.c_cflag & PARENB), "pty forces CS8 and clears PARENB (asked CS7|PARENB): cflag %#o", ts.c_cflag);
	int allcc = 1; for (int i = 0; i < NCCS; i++) if (ts.c_cc[i] != (i == VMIN ? 3 : i == VTIME ? 7 : 0x40 + i)) allcc = 0;
	CHECK(allcc, "all 19 control characters kept as set");
	printf("-- locked termios\n");
	unsigned char lbuf[64]; memset(lbuf, 0xee, sizeof lbuf);
	int rl = ioctl(m, TIOCGLCKTRMIOS, lbuf);
	int used = 0; for (int i = 0; i < 64; i++) if (lbuf[i] != 0xee) used = i + 1;
	NOTE("TIOCGLCKTRMIOS on master: %s, bytes written <= %d (struct termios is %zu, termios2 %zu)", rl ? strerror(errno) : "ok", used, sizeof(struct termios), sizeof(struct termios2));
	struct termios lk; rl = ioctl(sl, TIOCGLCKTRMIOS, &lk);
	CHECK(rl == 0 && lk.c_lflag == ECHO && lk.c_cc[VINTR] == 0xff, "TIOCGLCKTRMIOS on slave gives the locked lflag ECHO and VINTR 0xff");
	struct termios lk2; ioctl(m, TIOCGLCKTRMIOS, &lk2);
	CHECK(!memcmp(&lk, &lk2, sizeof lk), "TIOCGLCKTRMIOS same on both ends (the slave's)");
	printf("-- window size\n");
	struct winsize wm, wsl;
	ioctl(m, TIOCGWINSZ, &wm); ioctl(sl, TIOCGWINSZ, &wsl);
	CHECK(wsl.ws_row == 33 && wsl.ws_col == 111 && wsl.ws_xpixel == 999 && wsl.ws_ypixel == 777, "TIOCGWINSZ on slave: %u x %u, %u x %u pixels", wsl.ws_row, wsl.ws_col, wsl.ws_xpixel, wsl.ws_ypixel);
	CHECK(!memcmp(&wm, &wsl, sizeof wm), "TIOCGWINSZ same on master");
	printf("-- int-valued ioctls on each end\n");
	struct { unsigned long req; const char *name; } iq[] = {
		{ TIOCGPKT, "TIOCGPKT" }, { TIOCGPTLCK, "TIOCGPTLCK" }, { TIOCGEXCL, "TIOCGEXCL" },
		{ TIOCGPTN, "TIOCGPTN" }, { TIOCGSID, "TIOCGSID" }, { TIOCGPGRP, "TIOCGPGRP" },
		{ TIOCGETD, "TIOCGETD" }, { TIOCOUTQ, "TIOCOUTQ" }, { FIONREAD, "FIONREAD" },
		{ TIOCGSOFTCAR, "TIOCGSOFTCAR" }, { TIOCMGET, "TIOCMGET" }, { TIOCGDEV, "TIOCGDEV" },
	};
	for (unsigned i = 0; i < sizeof iq / sizeof iq[0]; i++) {
		try_int("master", m, iq[i].req, iq[i].name);
		try_int("slave", sl, iq[i].req, iq[i].name);
	}
	int v;
	CHECK(ioctl(m, TIOCGPKT, &v) == 0 && v == 1, "TIOCGPKT on master = 1");
	CHECK(ioctl(sl, TIOCGEXCL, &v) == 0 && v == 1, "TIOCGEXCL on slave = 1 (set through the slave)");
	CHECK(ioctl(m, TIOCGEXCL, &v) == 0 && v == 0, "TIOCGEXCL on master = 0: the master has its own flag");
	CHECK(ioctl(m, TIOCGSID, &v) == 0 && v == pid, "TIOCGSID through the master from outside = target's session %d", pid);
	CHECK(ioctl(m, TIOCGPGRP, &v) == 0 && v == s.pgrp_child, "TIOCGPGRP through the master from outside = foreground group %d", s.pgrp_child);
	errno = 0;
	CHECK(ioctl(sl, TIOCGPGRP, &v) < 0 && errno == ENOTTY, "TIOCGPGRP through the slave from outside fails with ENOTTY (not our controlling tty)");
	CHECK(ioctl(sl, TIOCGSID, &v) < 0 && errno == ENOTTY, "TIOCGSID through the slave from outside fails with ENOTTY");
	{
		pid_t g2 = s.pgrp_child;
		errno = 0; int r1 = ioctl(sl, TIOCSPGRP, &g2); int e1 = errno;
		errno = 0; int r2 = ioctl(m, TIOCSPGRP, &g2); int e2 = errno;
		CHECK(r1 < 0 && e1 == ENOTTY && r2 < 0 && e2 == ENOTTY, "TIOCSPGRP from outside fails with ENOTTY through either end");
	}
	/* /proc/PID/stat: tty_nr (field 7) and tpgid (field 8) */
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r"); char st[1024]; fgets(st, sizeof st, f); fclose(f);
	char *rp = strrchr(st, ')');
	int ppid, pgrp, sid, ttynr, tpgid; char state;
	sscanf(rp + 2, "%c %d %d %d %d %d", &state, &ppid, &pgrp, &sid, &ttynr, &tpgid);
	NOTE("/proc/%d/stat: pgrp %d session %d tty_nr %#x (%u:%u) tpgid %d", pid, pgrp, sid, ttynr, (ttynr >> 8) & 0xfff, (ttynr & 0xff) | ((ttynr >> 12) & 0xfff00), tpgid);
	CHECK((unsigned)ttynr == (unsigned)((major(sst.st_rdev) << 8) | minor(sst.st_rdev)), "tty_nr is the slave's st_rdev (no instance in it)");
	CHECK(tpgid == s.pgrp_child, "tpgid is the foreground group");
	/* setting from outside */
	printf("-- setting from outside\n");
	struct termios2 t2 = ts; t2.c_cc[VERASE] = 0x7f;
	CHECK(tset(m, &t2) == 0 && tget(sl, &ts) == 0 && ts.c_cc[VERASE] == 0x7f, "TCSETS2 through the master changes the slave's termios");
	t2.c_lflag &= ~ECHO;
	tset(m, &t2); tget(sl, &ts);
	CHECK(ts.c_lflag & ECHO, "locked ECHO stays on after TCSETS2 without ECHO (locked termios works)");
	memset(&lk, 0, sizeof lk);
	CHECK(ioctl(m, TIOCSLCKTRMIOS, &lk) == 0, "TIOCSLCKTRMIOS through the master (root, CAP_SYS_ADMIN) clears the lock");
	tset(m, &t2); tget(sl, &ts);
	CHECK(!(ts.c_lflag & ECHO), "ECHO can now be cleared");
	struct termios2 tmaster;
	/* the master's own termios is not reachable: TCGETS2 on master is redirected */
	tget(m, &tmaster);
	CHECK(!memcmp(&tmaster, &ts, sizeof ts), "no ioctl reaches the master's own termios (TCGETS2 on the master is the slave's)");
	{
		pid_t c = fork();
		if (c == 0) {
			setresuid(65534, 65534, 65534);
			struct termios l; ioctl(sl, TIOCGLCKTRMIOS, &l);
			int r = ioctl(sl, TIOCSLCKTRMIOS, &l);
			_exit(r < 0 && errno == EPERM ? 0 : 1);
		}
		int st; waitpid(c, &st, 0);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "TIOCSLCKTRMIOS as uid 65534 (no CAP_SYS_ADMIN) fails with EPERM; TIOCGLCKTRMIOS works");
	}
	/* exclusive mode on master */
	ioctl(m, TIOCEXCL);
	CHECK(ioctl(m, TIOCGEXCL, &v) == 0 && v == 1, "TIOCEXCL on master sets the master's flag");
	ioctl(m, TIOCNXCL);
	kill(-s.pgrp_child, SIGKILL);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return finish("e01_inspect");
}
