/*
 * e07_lock_excl_hup: pty lock, exclusive mode, and the hang-up states
 * (vhangup, master closed, slave closed): what each end sees, and how to
 * tell from outside.
 */
#include "common.h"

static void settle(int fd) { struct pollfd p = { fd, POLLIN, 0 }; poll(&p, 1, 0); usleep(2000); }

static const char *probe(int fd, char *out)
{
	struct pollfd p = { fd, POLLIN | POLLOUT | POLLPRI, 0 };
	int pr = poll(&p, 1, 0);
	int fl = fcntl(fd, F_GETFL); fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	char b[16]; errno = 0;
	int r = read(fd, b, sizeof b); int re = errno;
	errno = 0;
	int w = write(fd, "", 0); int we = errno; (void)w;
	errno = 0;
	int w1 = write(fd, "q", 1); int w1e = errno;
	fcntl(fd, F_SETFL, fl);
	struct termios2 t; errno = 0;
	int g = tget(fd, &t); int ge = errno;
	sprintf(out, "poll %d revents %s%s%s%s%s; read %d%s%s; write(1) %d%s%s; TCGETS2 %s",
		pr, p.revents & POLLIN ? "IN " : "", p.revents & POLLOUT ? "OUT " : "", p.revents & POLLHUP ? "HUP " : "",
		p.revents & POLLERR ? "ERR " : "", p.revents & POLLPRI ? "PRI " : "",
		r, r < 0 ? " " : "", r < 0 ? strerror(re) : "", w1, w1 < 0 ? " " : "", w1 < 0 ? strerror(w1e) : "", g < 0 ? strerror(ge) : "ok");
	(void)we;
	return out;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	char o[512];
	printf("-- lock\n");
	int m = open("/dev/ptmx", O_RDWR | O_NOCTTY), v = -1;
	ioctl(m, TIOCGPTLCK, &v);
	CHECK(v == 1, "a new master is locked (TIOCGPTLCK %d)", v);
	int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	CHECK(s < 0 && errno == EIO, "TIOCGPTPEER while locked: %s", strerror(errno));
	int sp = ioctl(m, TIOCGPTPEER, O_PATH | O_CLOEXEC);
	CHECK(sp >= 0, "TIOCGPTPEER with O_PATH works while locked (no open of the tty): the instance can be read without unlocking");
	int zero = 0, one = 1;
	ioctl(m, TIOCSPTLCK, &zero);
	s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	CHECK(s >= 0, "unlocked: TIOCGPTPEER opens the slave");
	ioctl(m, TIOCSPTLCK, &one);
	int s2 = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	char pth[64]; snprintf(pth, sizeof pth, "/proc/self/fd/%d", s);
	int s3 = open(pth, O_RDWR | O_NOCTTY);
	CHECK(s2 < 0 && s3 < 0, "locked again after the slave was opened: new opens fail (TIOCGPTPEER: %s, reopen via /proc/self/fd: %s)", s2 < 0 ? "EIO" : "ok", s3 < 0 ? strerror(errno) : "ok");
	errno = 0;
	int wr = write(s, "x", 1);
	CHECK(wr < 0 && errno == EIO, "but the FAILED open set TTY_IO_ERROR: the slave opened before now gets EIO on write (%s)", wr < 0 ? strerror(errno) : "ok");
	{ char b[4]; fcntl(s, F_SETFL, O_NONBLOCK); errno = 0; int rd = read(s, b, 4); NOTE("and read: %d %s", rd, rd < 0 ? strerror(errno) : ""); fcntl(s, F_SETFL, 0); }
	errno = 0;
	int z0 = write(s, "", 0);
	CHECK(z0 < 0 && errno == EIO, "a zero-length write shows that state without side effects (%s)", z0 < 0 ? strerror(errno) : "0");
	ioctl(m, TIOCSPTLCK, &zero);
	int s4 = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	CHECK(write(s4, "", 0) == 0, "on a healthy slave a zero-length write returns 0");
	CHECK(s4 >= 0 && write(s, "x", 1) == 1, "unlock and a successful open clear it: the old slave writes again");
	close(s4);
	{ /* same without any failed open: lock set after the slave was opened leaves it working */
		int s5, m5 = open_pair("/dev/ptmx", &s5, NULL);
		ioctl(m5, TIOCSPTLCK, &one);
		CHECK(write(s5, "x", 1) == 1, "lock set after the slave was opened, no open attempted: the slave keeps working");
		close(s5); close(m5);
	}

	printf("-- exclusive\n");
	fchmod(s, 0666);
	ioctl(s, TIOCEXCL);
	int r = open(pth, O_RDWR | O_NOCTTY);
	CHECK(r >= 0, "TIOCEXCL: root (CAP_SYS_ADMIN) can still open the slave");
	close(r);
	int pipefd[2]; pipe(pipefd);
	pid_t c = fork();
	if (c == 0) {
		if (setresuid(65534, 65534, 65534) < 0) DIE("setuid");
		char res[256];
		int a = open(pth, O_RDWR | O_NOCTTY); int ae = errno;
		int b = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY); int be = errno;
		int d = open("/dev/ptmx", O_RDWR | O_NOCTTY);
		snprintf(res, sizeof res, "%s|%s|%s", a < 0 ? strerror(ae) : "opened", b < 0 ? strerror(be) : "opened", d < 0 ? strerror(errno) : "opened");
		write(pipefd[1], res, strlen(res) + 1);
		_exit(0);
	}
	char res[256] = ""; read(pipefd[0], res, sizeof res); waitpid(c, NULL, 0);
	CHECK(!strncmp(res, "Device or resource busy|Device or resource busy", 47), "as uid 65534 with the slave exclusive: reopen and TIOCGPTPEER -> %s", res);
	ioctl(s, TIOCNXCL);
	ioctl(m, TIOCEXCL);
	c = fork();
	if (c == 0) {
		setresuid(65534, 65534, 65534);
		char r2[128];
		int b = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
		snprintf(r2, sizeof r2, "%s", b < 0 ? strerror(errno) : "opened");
		write(pipefd[1], r2, strlen(r2) + 1); _exit(0);
	}
	read(pipefd[0], res, sizeof res); waitpid(c, NULL, 0);
	CHECK(!strcmp(res, "opened"), "exclusive set on the master does not stop a non-root TIOCGPTPEER of the slave (%s): the master's flag has no effect on opens", res);
	ioctl(m, TIOCNXCL);
	close(s); close(m);

	printf("-- states seen from each end\n");
	m = open("/dev/ptmx", O_RDWR | O_NOCTTY);
	ioctl(m, TIOCSPTLCK, &zero);
	NOTE("fresh master, slave never opened: %s", probe(m, o));
	s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	settle(m); { char b[8]; fcntl(m, F_SETFL, O_NONBLOCK); read(m, b, 8); fcntl(m, F_SETFL, 0); }
	NOTE("master, slave open:                  %s", probe(m, o));
	{ char b[8]; fcntl(m, F_SETFL, O_NONBLOCK); settle(m); read(m, b, 8); fcntl(m, F_SETFL, 0); }
	close(s);
	NOTE("master, slave opened then closed:    %s", probe(m, o));
	s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	NOTE("master, slave reopened:              %s", probe(m, o));
	settle(m); { char b[8]; fcntl(m, F_SETFL, O_NONBLOCK); read(m, b, 8); fcntl(m, F_SETFL, 0); }
	NOTE("slave, master open:                  %s", probe(s, o));
	int sx = dup(s);
	snprintf(pth, sizeof pth, "/dev/pts/%d", ({ int i; ioctl(m, TIOCGPTN, &i); i; }));
	close(m);
	NOTE("slave, master closed:                %s", probe(sx, o));
	{ struct stat ns; fstat(sx, &ns); CHECK(ns.st_nlink == 0, "fstat of a slave file after the master closed: st_nlink %lu (the node was removed)", (unsigned long)ns.st_nlink); }
	CHECK(access(pth, F_OK) < 0, "master closed: %s is gone from devpts", pth);
	close(s); close(sx);

	printf("-- vhangup of the slave\n");
	m = open_pair("/dev/ptmx", &s, NULL);
	int keep = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	struct termios2 t; tget(s, &t); t.c_cc[VERASE] = 0x08; t.c_lflag &= ~ECHOCTL; tset(s, &t);
	int sig[2]; pipe(sig);
	c = fork();
	if (c == 0) {
		setsid();
		ioctl(s, TIOCSCTTY, 0);
		signal(SIGHUP, SIG_IGN);
		write(sig[1], "r", 1);
		pause(); _exit(0);
	}
	char ch; read(sig[0], &ch, 1);
	char statp[64], st[512]; snprintf(statp, sizeof statp, "/proc/%d/stat", c);
	FILE *f = fopen(statp, "r"); fgets(st, sizeof st, f); fclose(f);
	int ttynr_before; sscanf(strrchr(st, ')') + 2, "%*c %*d %*d %*d %d", &ttynr_before);
	CHECK(ioctl(s, TIOCVHANGUP) == 0, "TIOCVHANGUP on the slave (root)");
	NOTE("slave file opened before the hangup: %s", probe(keep, o));
	{ struct stat ns; fstat(keep, &ns); CHECK(ns.st_nlink == 1, "fstat of a file hung up by TIOCVHANGUP (master alive): st_nlink %lu: nlink tells a vhangup from a gone master", (unsigned long)ns.st_nlink); }
	int fresh = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	NOTE("slave file opened after the hangup:  %s", probe(fresh, o));
	NOTE("master after the slave's hangup:     %s", probe(m, o));
	struct termios2 t2; tget(fresh, &t2);
	CHECK(t2.c_cc[VERASE] == 0x7f && (t2.c_lflag & ECHOCTL), "the hangup reset the slave's termios to the defaults (VERASE %#x)", t2.c_cc[VERASE]);
	f = fopen(statp, "r"); fgets(st, sizeof st, f); fclose(f);
	int ttynr_after; sscanf(strrchr(st, ')') + 2, "%*c %*d %*d %*d %d", &ttynr_after);
	CHECK(ttynr_before != 0 && ttynr_after == 0, "the session lost its controlling tty (tty_nr %#x -> %#x)", ttynr_before, ttynr_after);
	struct pollfd pp = { keep, POLLIN, 0 }; poll(&pp, 1, 0);
	CHECK((pp.revents & POLLHUP) && tget(keep, &t2) < 0 && errno == EIO, "from outside, a hung-up file is told by poll POLLHUP and TCGETS2 failing with EIO (a live file answers TCGETS2)");
	kill(c, SIGKILL); waitpid(c, NULL, 0);
	close(keep); close(fresh); close(s); close(m);

	printf("-- recreating a hung-up file next to a live one\n");
	m = open_pair("/dev/ptmx", &s, NULL);
	ioctl(s, TIOCVHANGUP);
	int live = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	struct pollfd q[2] = { { s, POLLIN, 0 }, { live, POLLIN, 0 } }; poll(q, 2, 0);
	CHECK((q[0].revents & POLLHUP) && !(q[1].revents & POLLHUP) && tget(live, &t2) == 0, "open the files to be hung up, TIOCVHANGUP, then open the live ones: only the first are hung up");
	close(live); close(s); close(m);
	printf("-- hangup of the master's file\n");
	m = open_pair("/dev/ptmx", &s, NULL);
	CHECK(ioctl(m, TIOCVHANGUP) == 0, "TIOCVHANGUP on the master");
	NOTE("master file after its hangup: %s", probe(m, o));
	NOTE("slave after the master's hangup: %s", probe(s, o));
	int pk = ioctl(m, TIOCGPTN, &v);
	NOTE("TIOCGPTN on the hung-up master: %s", pk < 0 ? strerror(errno) : "works");
	close(s); close(m);
	printf("-- a master has exactly one open file description\n");
	m = open_pair("/dev/ptmx", &s, NULL);
	int i1 = -1, i2 = -1; ioctl(m, TIOCGPTN, &i1);
	snprintf(pth, sizeof pth, "/proc/self/fd/%d", m);
	int re = open(pth, O_RDWR | O_NOCTTY);
	ioctl(re, TIOCGPTN, &i2);
	CHECK(re >= 0 && i2 != i1, "reopening a master through /proc/self/fd gives a NEW pair (index %d, not %d): a master tty never has a second file", i2, i1);
	close(re); close(s); close(m);
	return finish("e07_lock_excl_hup");
}
