// SPDX-License-Identifier: MIT
/*
 * Queued data, both directions, byte for byte. Pair A, canonical with echo:
 * complete lines (one holding erase, kill and VEOF characters typed after
 * VLNEXT, one ended by VEOL with an escaped ^C, one ended by VEOF), then a
 * partial line typed with an erase; output with ONLCR waiting on the
 * master. After the checkpoint, more typing: two erases must act on the
 * pre-checkpoint text, and their echo must be exactly that of a pty never
 * touched. Pair B: a partial line killed by VKILL after the checkpoint.
 * Pair C: a raw (non-canonical, no signals) queue with bytes that are
 * special in canonical mode, and a ^Q and a ^S that came in before IXON
 * was turned on. Pair D: the only slave file is read-only, with a line
 * queued for it and output queued (written before through another file).
 */
#include "cr/ptytest.h"

static const char typed_a[] =
    "first line\nera\x16\x08se\x16\x18\x16\x04\nsec\x16\x03ond@last\x04par\x08tial";
static const char output_a[] = "out1\nout2\n";
static const char raw_c[] = "raw\x03\x7f\x15 data\n\r\x04\x11\x13";

static void setup_a(int s)
{
	struct termios2 t;

	pt_get(s, &t);
	t.c_iflag = ICRNL | IXON;
	t.c_oflag = OPOST | ONLCR;
	t.c_lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN;
	t.c_cc[VERASE] = 0x08;
	t.c_cc[VKILL] = 0x18;
	t.c_cc[VEOL] = '@';
	pt_set(s, &t);
}

static void setup_c(int s)
{
	struct termios2 t;

	pt_get(s, &t);
	t.c_iflag = 0;
	t.c_lflag = 0;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	pt_set(s, &t);
}

static void ixon(int s)
{
	struct termios2 t;

	pt_get(s, &t);
	t.c_iflag |= IXON;
	pt_set(s, &t);
}

static void expect_line(int s, const char *want, const char *what)
{
	char buf[4096];
	ssize_t n = pt_read_one(s, buf, sizeof(buf));

	cr_check(n == (ssize_t)strlen(want) && !memcmp(buf, want, (size_t)n), "%s: read \"%s\"",
		 what, n < 0 ? "(nothing)" : pt_show(buf, (size_t)n));
}

int main(void)
{
	char buf[4096];
	int ma, sa, mb, sb, mc, sc, md, sd, sd_ro, index;
	struct pollfd p;

	cr_init();
	ma = pt_open("/dev/ptmx", &sa, &index);
	mb = pt_open("/dev/ptmx", &sb, &index);
	mc = pt_open("/dev/ptmx", &sc, &index);
	setup_a(sa);
	setup_a(sb);
	setup_c(sc);
	pt_write(ma, typed_a, sizeof(typed_a) - 1);
	pt_write(mb, "hello world", 11);
	pt_write(mc, raw_c, sizeof(raw_c) - 1);
	pt_settle(sc); /* the line discipline takes them in, as data: IXON is off */
	ixon(sc);
	/* the echo so far is read: what waits on the master is the program's output only */
	pt_read_all(ma, buf, sizeof(buf), 100);
	pt_read_all(mb, buf, sizeof(buf), 100);
	pt_write(sa, output_a, sizeof(output_a) - 1);
	md = pt_open("/dev/ptmx", &sd, &index);
	setup_c(sd);
	sd_ro = ioctl(md, TIOCGPTPEER, O_RDONLY | O_NOCTTY);
	cr_check(sd_ro >= 0, "TIOCGPTPEER O_RDONLY: %m");
	pt_write(sd, "from d", 6);
	close(sd);
	pt_write(md, "to d", 4);

	cr_ready();
	cr_wait();

	pt_expect(ma, "out1\r\nout2\r\n", 12, "output waiting on the master");
	pt_write(ma, "\x08\x08XY\n", 5);
	pt_expect(ma, "\b \b\b \bXY\r\n", 10, "echo of the erases typed after the checkpoint");
	expect_line(sa, "first line\n", "line 1");
	expect_line(sa, "era\x08se\x18\x04\n", "line 2 (escaped erase, kill and VEOF)");
	expect_line(sa, "sec\x03ond@", "line 3 (escaped ^C, ended by VEOL)");
	expect_line(sa, "last", "line 4 (ended by VEOF)");
	expect_line(sa, "patiXY\n", "the partial line, erased and completed after the checkpoint");
	p = (struct pollfd){ .fd = sa, .events = POLLIN };
	cr_check(poll(&p, 1, 50) == 0, "pair A: more input than typed");

	pt_write(mb,
		 "\x18"
		 "bye\n",
		 5);
	expect_line(sb, "bye\n", "pair B: the partial line killed after the checkpoint");

	cr_check(pt_read_all(sc, buf, sizeof(buf), 100) == sizeof(raw_c) - 1 &&
		     !memcmp(buf, raw_c, sizeof(raw_c) - 1),
		 "pair C: the raw queue differs");
	cr_check(pt_read_all(ma, buf, sizeof(buf), 50) == 0, "pair A: more output than written");
	pt_expect(md, "from d", 6, "pair D: output");
	pt_expect(sd_ro, "to d", 4, "pair D: input, through the read-only file");
	cr_pass();
}
