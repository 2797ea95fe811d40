/*
 * e03_output: output queued for the master (written by the programs on the
 * slave, not yet read by the terminal). Read it out from a descriptor of the
 * master, put it back by writing to the slave with OPOST cleared, compare
 * byte for byte.
 */
#include "common.h"

static unsigned char big[70000], got[70000], again[70000];

static void settle(int m) { struct pollfd p = { m, POLLIN, 0 }; poll(&p, 1, 0); usleep(2000); }

static int master_fd = -1;

static int putback(int sdup, const unsigned char *b, int n)
{
	struct termios2 T, t;
	tget(sdup, &T);
	t = T; t.c_oflag &= ~OPOST;
	tset(sdup, &t);
	int w = 0;
	int stuck = 0;
	while (w < n && stuck < 50) {
		int k = write(sdup, b + w, n - w > 1024 ? 1024 : n - w); /* small writes: see e05_sizes */
		if (k > 0) { w += k; stuck = 0; continue; }
		if (k < 0 && errno != EAGAIN) break;
		stuck++;
		settle(master_fd); /* let the ldisc of the master take what the flip buffer holds */
	}
	tset(sdup, &T);
	return w;
}

int main(void)
{
	int s = -1, m = open_pair("/dev/ptmx", &s, NULL);
	master_fd = m;
	struct termios2 t; tget(s, &t);
	CHECK((t.c_oflag & (OPOST | ONLCR)) == (OPOST | ONLCR), "default slave termios has OPOST|ONLCR");
	const char *prog = "line1\nline2\n\ttab\n";
	write(s, prog, strlen(prog));
	settle(m);
	int mdup = dup(m), sdup = dup(s);
	int n = drain(mdup, got, sizeof got);
	hexdump("read out of the master", got, n);
	CHECK(n == 20 && !memcmp(got, "line1\r\nline2\r\n\ttab\r\n", 20), "ONLCR was applied when the program wrote: \\n came out as \\r\\n");
	int w = putback(sdup, got, n);
	settle(m);
	int n2 = drain(m, again, sizeof again);
	CHECK(w == n && n2 == n && !memcmp(got, again, n), "put back with OPOST cleared: the master reads the same %d bytes", n);
	/* the wrong way: OPOST left on */
	write(s, got, n); settle(m);
	n2 = drain(m, again, sizeof again);
	hexdump("put back with OPOST on (wrong)", again, n2);
	CHECK(n2 != n, "with OPOST on the data changes (%d bytes instead of %d: \\r\\r\\n)", n2, n);
	/* TAB3 (XTABS) and OLCUC also apply at write time */
	t.c_oflag |= TAB3 | OLCUC; tset(s, &t);
	write(s, "a\tb\n", 4); settle(m);
	n = drain(m, got, sizeof got);
	hexdump("with TAB3|OLCUC", got, n);
	putback(sdup, got, n); settle(m);
	n2 = drain(m, again, sizeof again);
	CHECK(n2 == n && !memcmp(got, again, n), "TAB3|OLCUC output put back unchanged");
	t.c_oflag &= ~(TAB3 | OLCUC); tset(s, &t);

	/* capacity: how much the slave can write before it would block */
	int fl = fcntl(s, F_GETFL);
	int s2 = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_NONBLOCK);
	t.c_oflag &= ~OPOST; tset(s2, &t);
	for (int i = 0; i < (int)sizeof big; i++) big[i] = 'A' + i % 26;
	int total = 0;
	for (;;) { int k = write(s2, big + total, 1024); if (k <= 0) { NOTE("slave write stops: %s after %d bytes", k < 0 ? strerror(errno) : "0", total); break; } total += k; settle(m); }
	CHECK(total > 0, "output queue capacity (master side): %d bytes", total);
	int outq = -1, inq = -1; ioctl(s, TIOCOUTQ, &outq); ioctl(m, FIONREAD, &inq);
	NOTE("with the queue full: TIOCOUTQ on slave %d, FIONREAD on master %d", outq, inq);
	n = drain(mdup, got, sizeof got);
	CHECK(n == total && !memcmp(got, big, n), "read out all %d bytes in order from the master (poll+read loop)", n);
	w = putback(s2, got, n);
	settle(m);
	CHECK(w == n, "put back all %d bytes (slave O_NONBLOCK, queue empty after read-out)", w);
	n2 = drain(m, again, sizeof again);
	CHECK(n2 == n && !memcmp(got, again, n), "master reads the same %d bytes again", n2);
	(void)fl;

	/* the input direction, raw mode: fill it, read it out from the slave, put it back through the master */
	{
		int si, mi = open_pair("/dev/ptmx", &si, NULL);
		struct termios2 r; tget(si, &r);
		r.c_lflag &= ~(ICANON | ECHO | ISIG | IEXTEN); r.c_iflag = 0; r.c_cc[VMIN] = 1; r.c_cc[VTIME] = 0; tset(si, &r);
		int mw = ioctl(mi, TIOCGPTPEER, O_RDWR | O_NOCTTY); close(mw);
		mw = dup(mi); fcntl(mw, F_SETFL, O_NONBLOCK | O_RDWR);
		int tot = 0, st = 0;
		while (st < 20) { int k = write(mw, big + tot, 1024); if (k > 0) { tot += k; st = 0; } else { st++; settle(si); } }
		NOTE("input queue (raw) took %d bytes", tot);
		struct termios2 z = r; z.c_cc[VMIN] = 0; tset(si, &z);
		int got_n = drain(si, got, sizeof got);
		tset(si, &r);
		CHECK(got_n == tot && !memcmp(got, big, tot), "read out all %d input bytes in order from the slave", got_n);
		int pw = 0; st = 0;
		while (pw < got_n && st < 50) { int k = write(mw, got + pw, got_n - pw > 1024 ? 1024 : got_n - pw); if (k > 0) { pw += k; st = 0; } else { st++; settle(si); } }
		CHECK(pw == got_n, "put back all %d bytes through the master in 1024-byte writes", pw);
		z.c_cc[VMIN] = 0; tset(si, &z);
		int again_n = drain(si, again, sizeof again);
		CHECK(again_n == got_n && !memcmp(again, got, got_n), "slave reads the same %d bytes", again_n);
		close(mw); close(si); close(mi);
	}

	/* flow control: a ^S typed on the terminal stops the slave's output */
	t.c_oflag |= OPOST; t.c_iflag |= IXON; tset(s, &t);
	write(m, "\x13", 1); settle(m);
	int k = write(s2, "x", 1);
	CHECK(k < 0 && errno == EAGAIN, "after ^S (IXON), a 1-byte non-blocking write to the slave gets EAGAIN: the stop is detectable (%s)", k < 0 ? strerror(errno) : "written");
	write(m, "\x11", 1); settle(m);
	k = write(s2, "y", 1); settle(m);
	CHECK(k == 1, "after ^Q the write goes through");
	drain(m, got, sizeof got);
	ioctl(s, TCXONC, TCOOFF);
	k = write(s2, "x", 1);
	CHECK(k < 0 && errno == EAGAIN, "after TCXONC TCOOFF (program-side stop) writes get EAGAIN too");
	write(m, "\x11", 1); settle(m);
	k = write(s2, "x", 1);
	CHECK(k < 0 && errno == EAGAIN, "^Q does not undo a TCOOFF stop (tco_stopped): the two kinds differ, and ^Q tells them apart");
	ioctl(s, TCXONC, TCOON);
	k = write(s2, "z", 1); settle(m);
	CHECK(k == 1, "TCOON restarts it");
	n = drain(m, got, sizeof got);
	hexdump("master got", got, n);
	close(s2); close(s); close(m); close(mdup); close(sdup);
	return finish("e03_output");
}
