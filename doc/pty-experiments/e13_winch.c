/*
 * e13_winch: which TIOCSWINSZ calls send SIGWINCH, to order the window size
 * before the controlling terminal at restart.
 */
#include "common.h"

static volatile int winch;
static void on_winch(int s) { (void)s; winch++; }

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	int s, m = open_pair("/dev/ptmx", &s, NULL);
	int p[2], q[2]; pipe(p); pipe(q);
	pid_t c = fork();
	if (c == 0) {
		signal(SIGWINCH, on_winch);
		setsid();
		char x; read(p[0], &x, 1);                 /* 1: parent sets a size before we have the ctty */
		usleep(50000); int before = winch;
		ioctl(s, TIOCSCTTY, 0);
		write(q[1], "r", 1); read(p[0], &x, 1);    /* 2: parent sets a new size */
		usleep(50000); int after = winch;
		write(q[1], "r", 1); read(p[0], &x, 1);    /* 3: parent sets the same size again */
		usleep(50000); int same = winch;
		int r[3] = { before, after, same }; write(q[1], r, sizeof r);
		_exit(0);
	}
	struct winsize a = { 24, 80, 0, 0 }, b = { 30, 100, 800, 600 };
	ioctl(m, TIOCSWINSZ, &a); write(p[1], "g", 1);
	char x; read(q[0], &x, 1);
	ioctl(m, TIOCSWINSZ, &b); write(p[1], "g", 1);
	read(q[0], &x, 1);
	ioctl(m, TIOCSWINSZ, &b); write(p[1], "g", 1);
	int r[3]; read(q[0], r, sizeof r);
	CHECK(r[0] == 0, "TIOCSWINSZ before the tty has a session/foreground group: no SIGWINCH (%d)", r[0]);
	CHECK(r[1] == 1, "after TIOCSCTTY, a new size sends SIGWINCH to the foreground group (%d)", r[1]);
	CHECK(r[2] == 1, "setting the same size again sends nothing (%d)", r[2] - r[1]);
	waitpid(c, NULL, 0);
	return finish("e13_winch");
}
