// SPDX-License-Identifier: MIT
/*
 * Full queues: as much input as the kernel takes for the slave and as much
 * output as it takes for the master (about 20 KiB each way, written in
 * 1 KiB pieces until the pty refuses more), on a raw pair. Every byte must
 * come back, in order: the put-back must pace itself to fit it all in.
 */
#include "cr/ptytest.h"

#define PIECE 1024
#define MOST  (256 * 1024)

static uint8_t byte_at(size_t i, unsigned seed)
{
	return (uint8_t)(cr_pattern(seed, i / 8) >> (8 * (i % 8)));
}

/* Writes the pattern into FD until it refuses more; returns how much went in. */
static size_t fill(int fd, int reader, unsigned seed)
{
	uint8_t piece[PIECE];
	size_t total = 0;
	int idle = 0, fl = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	while (total < MOST && idle < 20) {
		ssize_t n;

		for (size_t i = 0; i < PIECE; i++)
			piece[i] = byte_at(total + i, seed);
		n = write(fd, piece, PIECE);
		pt_settle(reader);
		if (n > 0) {
			total += (size_t)n;
			idle = 0;
		} else {
			idle++;
			usleep(1000);
		}
	}
	fcntl(fd, F_SETFL, fl);
	return total;
}

static void expect_all(int fd, size_t want, unsigned seed, const char *what)
{
	static uint8_t buf[MOST + 4096];
	size_t n = pt_read_all(fd, (char *)buf, sizeof(buf), 200);

	cr_check(n == want, "%s: %zu bytes came back, %zu were queued", what, n, want);
	for (size_t i = 0; i < n; i++)
		cr_check(buf[i] == byte_at(i, seed), "%s: byte %zu differs", what, i);
}

int main(void)
{
	size_t in, out;
	struct termios2 t;
	int m, s, index;

	cr_init();
	m = pt_open("/dev/ptmx", &s, &index);
	pt_get(s, &t);
	t.c_iflag = 0;
	t.c_oflag = 0;
	t.c_lflag = 0;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	pt_set(s, &t);
	in = fill(m, s, 1);
	out = fill(s, m, 2);
	cr_check(in > 8192 && out > 8192, "the queues took only %zu and %zu bytes", in, out);
	printf("queued: %zu bytes of input, %zu of output\n", in, out);

	cr_ready();
	cr_wait();

	expect_all(s, in, 1, "input");
	expect_all(m, out, 2, "output");
	cr_pass();
}
