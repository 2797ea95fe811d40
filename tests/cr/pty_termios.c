// SPDX-License-Identifier: MIT
/*
 * Every attribute of a pty pair that is not a queue: odd termios in all four
 * flag words, all 19 control characters, arbitrary (BOTHER) speeds; locked
 * termios, which must still resist a change; window size with pixels; the
 * index; owner, mode and times (to the nanosecond) of the slave node;
 * exclusive mode (an open by the node's owner, not root, must fail with
 * EBUSY); packet mode; and a second pair left locked, whose slave was never
 * opened. The slave is open through two files, one of them behind two fds:
 * the two fds share their file (status flags), the two files do not.
 */
#include <sys/wait.h>

#include "cr/ptytest.h"

static const struct winsize want_ws = { 50, 132, 1320, 800 };
static const struct timespec want_times[2] = { { 1000000000, 123456789 },
					       { 1100000000, 987654321 } };

static struct termios2 odd_termios(int s)
{
	struct termios2 t;

	pt_get(s, &t);
	t.c_iflag = IGNBRK | BRKINT | IGNPAR | INPCK | ISTRIP | IXANY | IXOFF | IMAXBEL | IUTF8;
	t.c_oflag = OPOST | OLCUC | ONLRET | TAB3 | CR2 | BS1 | VT1 | FF1;
	t.c_cflag = (t.c_cflag & ~(CBAUD | CIBAUD)) | BOTHER | (BOTHER << IBSHIFT) | CSTOPB |
		    HUPCL | CLOCAL | CRTSCTS | CMSPAR;
	t.c_lflag =
	    ISIG | ICANON | XCASE | ECHOE | ECHOK | ECHONL | NOFLSH | TOSTOP | ECHOPRT | IEXTEN;
	for (int i = 0; i < NCCS; i++)
		t.c_cc[i] = (cc_t)(0x41 + 3 * i);
	t.c_ispeed = 12345;
	t.c_ospeed = 54321;
	return t;
}

/* The owner of the node opens the slave again: EBUSY under TIOCEXCL. */
static void check_exclusive(int index)
{
	char path[64];
	int status;
	pid_t pid;

	snprintf(path, sizeof(path), "/dev/pts/%d", index);
	pid = fork();
	if (pid == 0) {
		int fd;

		if (setgid(5) || setuid(1000))
			_exit(3);
		fd = open(path, O_RDWR | O_NOCTTY);
		_exit(fd < 0 && errno == EBUSY ? 0 : fd < 0 ? 2 : 1);
	}
	cr_check(pid > 0 && waitpid(pid, &status, 0) == pid, "fork: %m");
	cr_check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		 "exclusive: a second open of %s by uid 1000 %s", path,
		 WEXITSTATUS(status) == 1 ? "succeeded" : "failed, but not with EBUSY");
}

int main(void)
{
	struct termios2 want, got, change;
	struct termios lock = { 0 }, lock_got;
	struct winsize ws;
	struct stat st;
	int s, m, index, index2, m2, one = 1, v, s_dup, s_other;

	cr_init();
	m = pt_open("/dev/ptmx", &s, &index);
	want = odd_termios(s);
	pt_set(s, &want);
	pt_get(s, &want); /* as the pty keeps it: CS8 and CREAD forced */
	cr_check(want.c_ispeed == 12345 && want.c_ospeed == 54321, "speeds not taken");
	lock.c_lflag = ICANON;
	lock.c_cc[VINTR] = 0xff;
	cr_check(ioctl(s, TIOCSLCKTRMIOS, &lock) == 0, "TIOCSLCKTRMIOS: %m");
	cr_check(ioctl(m, TIOCSWINSZ, &want_ws) == 0, "TIOCSWINSZ: %m");
	cr_check(fchown(s, 1000, 5) == 0 && fchmod(s, 0620) == 0, "owner: %m");
	cr_check(ioctl(s, TIOCEXCL) == 0, "TIOCEXCL: %m");
	cr_check(ioctl(m, TIOCPKT, &one) == 0, "TIOCPKT: %m");
	s_dup = dup(s);
	s_other = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	cr_check(s_dup >= 0 && s_other >= 0, "second slave fd: %m");
	cr_check(futimens(s, want_times) == 0, "futimens: %m");
	m2 = open("/dev/ptmx", O_RDWR | O_NOCTTY); /* a new pair is locked */
	cr_check(m2 >= 0 && ioctl(m2, TIOCGPTN, &index2) == 0, "second ptmx: %m");

	cr_ready();
	cr_wait();

	cr_check(fstat(s, &st) == 0 && st.st_atim.tv_sec == want_times[0].tv_sec &&
		     st.st_atim.tv_nsec == want_times[0].tv_nsec &&
		     st.st_mtim.tv_sec == want_times[1].tv_sec &&
		     st.st_mtim.tv_nsec == want_times[1].tv_nsec,
		 "node times %ld.%09ld %ld.%09ld", (long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
		 (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	cr_check(ioctl(m, TIOCGPTN, &v) == 0 && v == index, "index %d, was %d", v, index);
	cr_check(ioctl(m2, TIOCGPTN, &v) == 0 && v == index2, "second index %d, was %d", v, index2);
	pt_get(s, &got);
	cr_check(!memcmp(&got, &want, sizeof(got)),
		 "termios differ: flags %#x %#x %#x %#x speeds %u %u", got.c_iflag, got.c_oflag,
		 got.c_cflag, got.c_lflag, got.c_ispeed, got.c_ospeed);
	cr_check(ioctl(s, TIOCGLCKTRMIOS, &lock_got) == 0 &&
		     !memcmp(&lock_got, &lock, sizeof(lock)),
		 "locked termios differ");
	change = want;
	change.c_lflag &= ~(unsigned)ICANON;
	change.c_cc[VINTR] = 1;
	change.c_cc[VQUIT] = 2;
	pt_set(s, &change);
	pt_get(s, &got);
	cr_check((got.c_lflag & ICANON) && got.c_cc[VINTR] == want.c_cc[VINTR] &&
		     got.c_cc[VQUIT] == 2,
		 "the locked fields changed (lflag %#x, VINTR %#x) or the free one did not",
		 got.c_lflag, got.c_cc[VINTR]);
	cr_check(ioctl(m, TIOCGWINSZ, &ws) == 0 && !memcmp(&ws, &want_ws, sizeof(ws)),
		 "window size %ux%u %ux%u", ws.ws_row, ws.ws_col, ws.ws_xpixel, ws.ws_ypixel);
	cr_check(fstat(s, &st) == 0 && st.st_uid == 1000 && st.st_gid == 5 &&
		     (st.st_mode & 07777) == 0620,
		 "node owner %u:%u mode %o", st.st_uid, st.st_gid, st.st_mode & 07777);
	cr_check(ioctl(s, TIOCGEXCL, &v) == 0 && v == 1, "exclusive flag %d", v);
	cr_check(ioctl(m, TIOCGPKT, &v) == 0 && v == 1, "packet mode %d", v);
	cr_check(ioctl(m, TIOCGPTLCK, &v) == 0 && v == 0, "first pair locked");
	cr_check(ioctl(m2, TIOCGPTLCK, &v) == 0 && v == 1, "second pair unlocked");
	check_exclusive(index);
	/* O_NONBLOCK is a flag of the open file: the dup sees it, the other file not */
	cr_check(fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK) == 0, "F_SETFL: %m");
	cr_check(fcntl(s_dup, F_GETFL) & O_NONBLOCK, "the dup does not share the slave's file");
	cr_check(!(fcntl(s_other, F_GETFL) & O_NONBLOCK), "the second file is the first one");
	cr_pass();
}
