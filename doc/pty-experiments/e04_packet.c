/*
 * e04_packet: packet mode (TIOCPKT) on the master. What a read returns,
 * which events leave a status byte pending, whether cryo's own read-out and
 * put-back create status bytes, and how each pending bit can be produced
 * again at restart.
 */
#include "common.h"
__attribute__((constructor)) static void unbuf(void) { setvbuf(stdout, NULL, _IOLBF, 0); }

static void settle(int fd) { struct pollfd p = { fd, POLLIN, 0 }; poll(&p, 1, 0); usleep(2000); poll(&p, 1, 0); }

static int pending_status(int m) /* -1: nothing to read; else the first byte of one read of 1 byte... */
{
	unsigned char b[64];
	struct pollfd p = { m, POLLIN | POLLPRI, 0 };
	if (poll(&p, 1, 0) <= 0) return -1;
	int n = read(m, b, sizeof b);
	if (n == 1 && b[0]) return b[0];
	return 0x1000 | n;
}

int main(void)
{
	int one = 1, zero = 0;
	int s, m = open_pair("/dev/ptmx", &s, NULL);
	CHECK(ioctl(m, TIOCPKT, &one) == 0, "TIOCPKT 1 on the master");
	CHECK(ioctl(s, TIOCPKT, &one) < 0, "TIOCPKT on the slave fails: %s", strerror(errno));
	struct termios2 t; tget(s, &t);
	write(s, "hello", 5); settle(m);
	unsigned char b[100];
	int n = read(m, b, sizeof b);
	hexdump("master read in packet mode", b, n);
	CHECK(n == 6 && b[0] == TIOCPKT_DATA && !memcmp(b + 1, "hello", 5), "a read returns one TIOCPKT_DATA (0) byte, then the data");
	write(s, "abcdefg", 7); settle(m);
	int r1 = read(m, b, 3), r2 = read(m, b + 3, 3), r3 = read(m, b + 6, sizeof b - 6);
	hexdump("three reads of 3, 3, 100", b, r1 + r2 + r3);
	CHECK(r1 == 3 && r2 == 3 && r3 == 4 && b[0] == 0 && b[3] == 0 && b[6] == 0, "every read() has its own header byte: strip exactly one per read");
	fcntl(m, F_SETFL, O_NONBLOCK);
	n = read(m, b, 1);
	CHECK(n < 0 && errno == EAGAIN, "empty: read gets EAGAIN (no bare header byte is returned)");

	printf("-- which events leave a status byte\n");
	struct { const char *what; int expect; } ev[] = {
		{ "TCFLSH TCIFLUSH on slave", TIOCPKT_FLUSHREAD }, { "TCFLSH TCOFLUSH on slave", TIOCPKT_FLUSHWRITE },
		{ "TCXONC TCOOFF on slave", TIOCPKT_STOP }, { "TCXONC TCOON on slave", TIOCPKT_START },
		{ "^S typed (IXON)", TIOCPKT_STOP }, { "^Q typed (IXON)", TIOCPKT_START },
		{ "termios: IXON off", TIOCPKT_NOSTOP }, { "termios: IXON on", TIOCPKT_DOSTOP },
		{ "termios: VSTOP changed", TIOCPKT_NOSTOP }, { "termios: VSTOP back", TIOCPKT_DOSTOP },
		{ "termios: EXTPROC on", TIOCPKT_IOCTL }, { "termios: anything, EXTPROC on", TIOCPKT_IOCTL },
		{ "termios: EXTPROC off", TIOCPKT_IOCTL }, { "termios: ECHO/ICANON/VMIN changed, no EXTPROC", -1 },
		{ "TCFLSH TCIOFLUSH on master", -2 }, { "TIOCSWINSZ", -1 }, { "^C typed (ISIG, flushes both ways)", TIOCPKT_FLUSHREAD | TIOCPKT_FLUSHWRITE },
	};
	for (unsigned i = 0; i < sizeof ev / sizeof ev[0]; i++) {
		struct termios2 u; tget(s, &u);
		switch (i) {
		case 0: ioctl(s, TCFLSH, TCIFLUSH); break;
		case 1: ioctl(s, TCFLSH, TCOFLUSH); break;
		case 2: ioctl(s, TCXONC, TCOOFF); break;
		case 3: ioctl(s, TCXONC, TCOON); break;
		case 4: write(m, "\x13", 1); settle(s); break;
		case 5: write(m, "\x11", 1); settle(s); break;
		case 6: u.c_iflag &= ~IXON; tset(s, &u); break;
		case 7: u.c_iflag |= IXON; tset(s, &u); break;
		case 8: u.c_cc[VSTOP] = 0x14; tset(s, &u); break;
		case 9: u.c_cc[VSTOP] = 0x13; tset(s, &u); break;
		case 10: u.c_lflag |= EXTPROC; tset(s, &u); break;
		case 11: u.c_cc[VMIN] = 2; tset(s, &u); break;
		case 12: u.c_lflag &= ~EXTPROC; u.c_cc[VMIN] = 1; tset(s, &u); break;
		case 13: u.c_lflag ^= ECHO | ICANON; u.c_cc[VMIN] = 0; tset(s, &u); u = t; tset(s, &u); break;
		case 14: ioctl(m, TCFLSH, TCIOFLUSH); break;
		case 15: { struct winsize w = { 10, 20, 0, 0 }; ioctl(m, TIOCSWINSZ, &w); break; }
		case 16: write(m, "\x03", 1); settle(s); break;
		}
		int st = pending_status(m);
		if (ev[i].expect == -2) NOTE("%-45s -> status %#x", ev[i].what, st);
		else CHECK(st == ev[i].expect, "%-45s -> status %s%#x", ev[i].what, st < 0 ? "none " : "", st);
	}
	printf("-- accumulation and order\n");
	ioctl(s, TCFLSH, TCIFLUSH); ioctl(s, TCFLSH, TCOFLUSH); ioctl(s, TCXONC, TCOOFF);
	int st = pending_status(m);
	CHECK(st == (TIOCPKT_FLUSHREAD | TIOCPKT_FLUSHWRITE | TIOCPKT_STOP), "three events before one read: bits accumulate into one status byte %#x", st);
	ioctl(s, TCXONC, TCOON); pending_status(m);
	while (pending_status(m) != -1) ; /* the echo of ^C above */
	write(s, "data", 4); settle(m);
	ioctl(s, TCXONC, TCOOFF); ioctl(s, TCXONC, TCOON);
	n = read(m, b, sizeof b);
	CHECK(n == 1 && b[0] == TIOCPKT_START, "status pending with data queued: the first read returns only the status byte (%#x), START replaced STOP", b[0]);
	n = read(m, b, sizeof b);
	CHECK(n == 5 && b[0] == 0 && !memcmp(b + 1, "data", 4), "the next read returns header 0 + data");
	struct pollfd p = { m, POLLIN | POLLPRI, 0 };
	ioctl(s, TCFLSH, TCIFLUSH);
	poll(&p, 1, 0);
	NOTE("poll on the master with a status pending: revents %#x (POLLIN %#x POLLPRI %#x)", p.revents, POLLIN, POLLPRI);
	ioctl(m, TIOCPKT, &zero); ioctl(m, TIOCPKT, &one);
	CHECK(pending_status(m) == -1, "TIOCPKT 0 then 1 discards a pending status");
	ioctl(s, TCFLSH, TCIFLUSH);
	ioctl(m, TIOCPKT, &one);
	CHECK(pending_status(m) == TIOCPKT_FLUSHREAD, "TIOCPKT 1 while already on keeps the pending status");
	ioctl(m, TIOCPKT, &zero);
	ioctl(s, TCFLSH, TCIFLUSH);
	ioctl(m, TIOCPKT, &one);
	CHECK(pending_status(m) == -1, "events while packet mode is off leave no status");
	ioctl(m, TIOCPKT, &zero);
	write(s, "xy", 2); settle(m);
	n = read(m, b, sizeof b);
	CHECK(n == 2 && !memcmp(b, "xy", 2), "packet mode off: reads have no header");

	printf("-- EXTPROC: input path\n");
	{
		struct termios2 u = t; u.c_lflag |= EXTPROC; tset(s, &u);
		write(m, "ab\x7f" "c\n", 5); settle(s);
		unsigned char e[64]; int en = drain(m, e, sizeof e);
		hexdump("echo with EXTPROC|ECHO|ICANON", e, en);
		struct termios2 z = u; z.c_cc[VMIN] = 0; z.c_cc[VTIME] = 0; tset(s, &z);
		fcntl(s, F_SETFL, O_NONBLOCK);
		int k = read(s, e, sizeof e);
		hexdump("slave reads with EXTPROC", e, k);
		CHECK(k == 5 && !memcmp(e, "ab\x7f" "c\n", 5), "with EXTPROC the ldisc stores input raw: no erase, no line editing");
		tset(s, &t);
	}
	close(s); close(m);
	return finish("e04_packet");
}
