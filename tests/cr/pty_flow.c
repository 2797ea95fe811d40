// SPDX-License-Identifier: MIT
/*
 * Output flow control and packet mode. Pair A: output stopped by ^S typed on
 * the master (^Q restarts it). Pair B: stopped by TCXONC TCOOFF (^Q does not
 * restart it, TCOON does). Pair C: packet mode with a pending FLUSHREAD
 * status and output waiting behind it: the master reads the status byte
 * alone, then one header byte and the data. Pair D: packet mode with a
 * pending FLUSHWRITE|NOSTOP status and nothing else.
 */
#include "cr/ptytest.h"

/* Whether a one-byte non-blocking write to the slave is refused (output stopped). */
static bool stopped(int s)
{
	int fl = fcntl(s, F_GETFL);
	ssize_t n;

	fcntl(s, F_SETFL, fl | O_NONBLOCK);
	n = write(s, "z", 1);
	fcntl(s, F_SETFL, fl);
	return n < 0 && errno == EAGAIN;
}

int main(void)
{
	int ma, sa, mb, sb, mc, sc, md, sd, index, one = 1;
	struct termios2 t;
	char buf[64];
	ssize_t n;

	cr_init();
	ma = pt_open("/dev/ptmx", &sa, &index);
	mb = pt_open("/dev/ptmx", &sb, &index);
	mc = pt_open("/dev/ptmx", &sc, &index);
	pt_write(ma, "\x13", 1); /* ^S */
	pt_read_all(sa, buf, sizeof(buf), 50);
	cr_check(ioctl(sb, TCXONC, TCOOFF) == 0, "TCOOFF: %m");
	cr_check(stopped(sa) && stopped(sb), "output not stopped before the checkpoint");
	cr_check(ioctl(mc, TIOCPKT, &one) == 0, "TIOCPKT: %m");
	cr_check(ioctl(sc, TCFLSH, TCIFLUSH) == 0, "TCFLSH: %m");
	pt_write(sc, "pkt", 3);
	md = pt_open("/dev/ptmx", &sd, &index);
	cr_check(ioctl(md, TIOCPKT, &one) == 0 && ioctl(sd, TCFLSH, TCOFLUSH) == 0, "pair D: %m");
	pt_get(sd, &t);
	t.c_iflag &= ~(unsigned)IXON;
	pt_set(sd, &t);

	cr_ready();
	cr_wait();

	cr_check(stopped(sa), "pair A: output runs");
	pt_write(ma, "\x11", 1); /* ^Q */
	pt_read_all(sa, buf, sizeof(buf), 20);
	cr_check(!stopped(sa), "pair A: ^Q did not restart the output");
	pt_expect(ma, "z", 1, "pair A: the byte written once output ran");

	cr_check(stopped(sb), "pair B: output runs");
	pt_write(mb, "\x11", 1);
	pt_read_all(sb, buf, sizeof(buf), 20);
	cr_check(stopped(sb), "pair B: ^Q restarted a TCOOFF stop");
	cr_check(ioctl(sb, TCXONC, TCOON) == 0 && !stopped(sb), "pair B: TCOON did not restart it");

	n = pt_read_one(mc, buf, sizeof(buf));
	cr_check(n == 1 && buf[0] == TIOCPKT_FLUSHREAD, "pair C: first read %zd bytes (%s)", n,
		 n > 0 ? pt_show(buf, (size_t)n) : "-");
	n = pt_read_one(mc, buf, sizeof(buf));
	cr_check(n == 4 && !memcmp(buf, "\0pkt", 4), "pair C: second read %zd bytes (%s)", n,
		 n > 0 ? pt_show(buf, (size_t)n) : "-");
	n = pt_read_one(md, buf, sizeof(buf));
	cr_check(n == 1 && buf[0] == (TIOCPKT_FLUSHWRITE | TIOCPKT_NOSTOP),
		 "pair D: read %zd bytes (%s), wanted the status FLUSHWRITE|NOSTOP", n,
		 n > 0 ? pt_show(buf, (size_t)n) : "-");
	cr_pass();
}
