// SPDX-License-Identifier: MIT
/*
 * Session and the states of files. The program (a session leader) makes the
 * slave of pair A its controlling terminal with its own group in the
 * foreground, and opens /dev/tty. Pair H: a slave file hung up by
 * TIOCVHANGUP next to one opened after (live). Pair X: the slave was opened
 * and closed (the master reads EIO), and the pty is locked. Pair P: an open
 * of the slave failed while the pty was locked, which poisons the slave's
 * open file (EIO) until a later open succeeds; the pty stays locked.
 * Pair G: the master was closed: the slave file is dead (reads end of
 * file, writes fail with EIO) and its node is gone.
 */
#include <sys/sysmacros.h>

#include "cr/ptytest.h"

static void check_stat(dev_t rdev)
{
	char text[1024], *p;
	int tty_nr = 0, tpgid = 0;
	FILE *f = fopen("/proc/self/stat", "re");

	cr_check(f && fgets(text, sizeof(text), f), "read /proc/self/stat: %m");
	fclose(f);
	p = strrchr(text, ')');
	cr_check(p && sscanf(p + 2, "%*c %*d %*d %*d %d %d", &tty_nr, &tpgid) == 2,
		 "parse /proc/self/stat");
	cr_check((unsigned)tty_nr ==
		     ((minor(rdev) & 0xff) | (major(rdev) << 8) | ((minor(rdev) & ~0xffu) << 12)),
		 "controlling tty %#x, wanted the slave %u:%u", tty_nr, major(rdev), minor(rdev));
	cr_check(tpgid == getpgrp(), "foreground group %d, wanted %d", tpgid, getpgrp());
}

int main(void)
{
	int mg, sg, ma, sa, mh, sh_dead, sh_live, mx, sx, mp, sp, index, tty, sid,
	    pgrp = 0, fl, one = 1, zero = 0, fd, v;
	char buf[64], link[64];
	struct stat st;
	ssize_t n;

	cr_init();
	cr_check(getsid(0) == getpid(), "not a session leader");
	ma = pt_open("/dev/ptmx", &sa, &index);
	cr_check(ioctl(sa, TIOCSCTTY, 0) == 0, "TIOCSCTTY: %m");
	pgrp = getpgrp();
	cr_check(ioctl(sa, TIOCSPGRP, &pgrp) == 0, "TIOCSPGRP: %m");
	tty = open("/dev/tty", O_RDWR | O_NOCTTY);
	cr_check(tty >= 0, "open /dev/tty: %m");
	mh = pt_open("/dev/ptmx", &sh_dead, &index);
	cr_check(ioctl(sh_dead, TIOCVHANGUP) == 0, "TIOCVHANGUP: %m");
	sh_live = ioctl(mh, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	cr_check(sh_live >= 0, "TIOCGPTPEER: %m");
	mx = pt_open("/dev/ptmx", &sx, &index);
	close(sx);
	cr_check(ioctl(mx, TIOCSPTLCK, &one) == 0, "TIOCSPTLCK: %m");
	fl = fcntl(mx, F_GETFL);
	fcntl(mx, F_SETFL, fl | O_NONBLOCK);
	mp = pt_open("/dev/ptmx", &sp, &index);
	cr_check(ioctl(mp, TIOCSPTLCK, &one) == 0, "TIOCSPTLCK: %m");
	cr_check(ioctl(mp, TIOCGPTPEER, O_RDWR | O_NOCTTY) < 0, "a locked slave opened");
	cr_check(write(sp, "", 0) < 0 && errno == EIO, "the failed open did not poison the slave");
	mg = pt_open("/dev/ptmx", &sg, &index);
	close(mg);
	cr_check(fstat(sg, &st) == 0 && st.st_nlink == 0, "pair G: the node is still there");

	cr_ready();
	cr_wait();

	cr_check(fstat(sa, &st) == 0, "fstat: %m");
	check_stat(st.st_rdev);
	cr_check(ioctl(ma, TIOCGSID, &sid) == 0 && sid == getpid(), "session of pair A: %d", sid);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", tty);
	n = readlink(link, buf, sizeof(buf) - 1);
	cr_check(n == 8 && !memcmp(buf, "/dev/tty", 8), "the /dev/tty file is now %.*s", (int)n,
		 buf);
	pt_write(tty, "via tty", 7);
	pt_expect(ma, "via tty", 7, "written through /dev/tty");

	cr_check(read(sh_dead, buf, 1) == 0, "hung-up file: read did not give end of file");
	cr_check(write(sh_dead, "x", 1) < 0 && errno == EIO, "hung-up file: write did not fail");
	pt_write(sh_live, "live", 4);
	pt_expect(mh, "live", 4, "the file opened after the hangup");

	cr_check(read(mx, buf, 1) < 0 && errno == EIO, "closed slave: the master read %m, not EIO");
	cr_check(ioctl(mx, TIOCGPTLCK, &v) == 0 && v == 1, "closed slave: the pty is unlocked");

	cr_check(write(sp, "", 0) < 0 && errno == EIO, "pair P: the slave is not poisoned");
	cr_check(ioctl(mp, TIOCGPTLCK, &v) == 0 && v == 1, "pair P: the pty is unlocked");
	cr_check(ioctl(mp, TIOCSPTLCK, &zero) == 0, "TIOCSPTLCK: %m");
	fd = ioctl(mp, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	cr_check(fd >= 0, "pair P: a new open failed: %m");
	pt_write(sp, "cured", 5);
	pt_expect(mp, "cured", 5, "pair P after a successful open");

	cr_check(read(sg, buf, 1) == 0, "pair G: the slave did not read end of file");
	cr_check(write(sg, "x", 1) < 0 && errno == EIO, "pair G: a write did not fail with EIO");
	cr_check(fstat(sg, &st) == 0 && st.st_nlink == 0, "pair G: the node is back");
	cr_pass();
}
