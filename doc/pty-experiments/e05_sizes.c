/*
 * e05_sizes: how much data a pty queues in each direction before writers
 * block, depending on the size of the writes, and what happens at the limit.
 */
#include "common.h"

static unsigned char buf[1 << 20];

static void settle(int fd) { struct pollfd p = { fd, POLLIN, 0 }; poll(&p, 1, 0); usleep(1000); poll(&p, 1, 0); }

/* write `chunk` bytes at a time to w (non-blocking) until nothing more goes in; the reader side is r */
static int fill(int w, int r, int chunk, int settle_between)
{
	int total = 0, stuck = 0;
	while (stuck < 20 && total < 200000) {
		int k = write(w, buf + total % 4096, chunk);
		if (k > 0) { total += k; stuck = 0; if (settle_between) settle(r); continue; }
		stuck++;
		settle(r);
	}
	return total;
}

static void one(const char *dir, int chunk, int canon, int settle_between)
{
	int s, m = open_pair("/dev/ptmx", &s, NULL);
	struct termios2 t; tget(s, &t);
	t.c_lflag &= ~(ECHO | ISIG | IEXTEN);
	t.c_iflag &= ~(IXON | ICRNL);
	t.c_oflag &= ~OPOST;
	if (!canon) t.c_lflag &= ~ICANON;
	tset(s, &t);
	int w, r;
	if (!strcmp(dir, "output")) { w = ioctl(m, TIOCGPTPEER, O_RDWR | O_NONBLOCK | O_NOCTTY); r = m; }
	else { w = open("/proc/self/fd/0", O_RDONLY); close(w); w = dup(m); fcntl(w, F_SETFL, O_NONBLOCK); r = s; }
	for (int i = 0; i < 4096; i++) buf[i] = 'a' + i % 26;
	if (canon && strcmp(dir, "output")) for (int i = 0; i < 4096; i++) buf[i] = 'a' + i % 26; /* no newline at all */
	int total = fill(w, r, chunk, settle_between);
	int inq = -1; ioctl(r, FIONREAD, &inq);
	/* how much can be read back? */
	int rr = r == m ? dup(m) : ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (canon && r == s) { t.c_lflag &= ~ICANON; t.c_cc[VMIN] = 0; t.c_cc[VTIME] = 0; tset(rr, &t); }
	int got = drain(rr, buf + 8192, sizeof buf - 8192);
	NOTE("%-6s %-9s chunk %5d%s: accepted %6d bytes, FIONREAD %5d, read back %6d", dir, canon ? "canonical" : "raw", chunk,
	     settle_between ? " (reader polled between writes)" : "                               ", total, inq, got);
	close(rr); close(w); close(s); close(m);
}

int main(void)
{
	int chunks[] = { 1, 64, 256, 1024, 4096, 16384, 65536 };
	for (int d = 0; d < 2; d++)
		for (unsigned i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
			one(d ? "input" : "output", chunks[i], 0, 1);
			one(d ? "input" : "output", chunks[i], 0, 0);
		}
	for (unsigned i = 0; i < sizeof chunks / sizeof chunks[0]; i++) one("input", chunks[i], 1, 0);

	/* canonical line longer than 4095: what is kept? */
	int s, m = open_pair("/dev/ptmx", &s, NULL);
	struct termios2 t; tget(s, &t); t.c_lflag &= ~ECHO; tset(s, &t);
	memset(buf, 'x', 5000); buf[5000] = '\n';
	int w = 0; fcntl(m, F_SETFL, O_NONBLOCK);
	while (w < 5001) { int k = write(m, buf + w, 5001 - w); if (k <= 0) { settle(s); continue; } w += k; settle(s); }
	settle(s);
	int n = read(s, buf + 8192, 10000);
	CHECK(n == 4096 && buf[8192 + 4094] == 'x' && buf[8192 + 4095] == '\n', "a 5000-char canonical line is cut to 4095 chars + newline: read %d bytes, last %#x", n, buf[8192 + n - 1]);
	close(s); close(m);
	return finish("e05_sizes");
}
