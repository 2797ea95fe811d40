/*
 * e14_stopped_echo: while output is stopped (^S), is the echo of typed keys
 * held back inside the line discipline? (Then it is invisible from outside
 * until output restarts.)
 */
#include "common.h"
static void settle(int fd) { struct pollfd p = { fd, POLLIN, 0 }; poll(&p, 1, 0); usleep(2000); poll(&p, 1, 0); }
int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	int s, m = open_pair("/dev/ptmx", &s, NULL);
	unsigned char b[64];
	write(m, "\x13", 1); settle(s);
	write(m, "abc", 3); settle(s);
	int n = drain(m, b, sizeof b);
	CHECK(n == 0, "output stopped by ^S, \"abc\" typed: the master reads nothing (%d bytes): the echo is held in the ldisc", n);
	write(m, "\x11", 1); settle(s); settle(m);
	n = drain(m, b, sizeof b);
	hexdump("after ^Q the master reads", b, n);
	CHECK(n == 3 && !memcmp(b, "abc", 3), "the held echo comes out when output restarts");
	/* the held echo and a termios change (what cryo's input read-out does) */
	write(m, "\x13", 1); settle(s);
	write(m, "xyz", 3); settle(s);
	struct termios2 T, t; tget(s, &T); t = T; t.c_lflag &= ~ICANON; t.c_cc[VMIN] = 0; tset(s, &t);
	n = drain(s, b, sizeof b);
	tset(s, &T);
	NOTE("input read out while stopped: %d bytes", n);
	write(m, "\x11", 1); settle(s); settle(m);
	n = drain(m, b, sizeof b);
	hexdump("after ^Q the master reads", b, n);
	CHECK(n == 3 && !memcmp(b, "xyz", 3), "the held echo survives the ICANON toggle of the read-out and still comes out at ^Q");
	close(s); close(m);
	return finish("e14_stopped_echo");
}
