// SPDX-License-Identifier: MIT
/*
 * Pipes and FIFOs with data in their buffers, byte for byte:
 *   P  a pipe holding 60 KiB (of 64), both ends here, the read end O_NONBLOCK;
 *   Q  a pipe grown to 1 MiB holding 300 KiB;
 *   F  a FIFO in $CR_TMPDIR opened read-write, holding 1000 bytes;
 *   C  a pipe to a child: the parent keeps the write end and has written
 *      5000 bytes, the child keeps the read end and reads them on SIGUSR2.
 * The sizes, the flags and the content are checked; each pipe must then
 * be empty (nothing invented) and still work.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include "cr/crtest.h"

#include <fcntl.h>
#include <poll.h>

static uint8_t byte_at(size_t i, unsigned seed)
{
	return (uint8_t)(cr_pattern(seed, i / 8) >> (8 * (i % 8)));
}

static void fill(int fd, size_t len, unsigned seed)
{
	uint8_t buf[4096];

	for (size_t done = 0; done < len;) {
		size_t n = len - done < sizeof(buf) ? len - done : sizeof(buf);
		ssize_t k;

		for (size_t i = 0; i < n; i++)
			buf[i] = byte_at(done + i, seed);
		k = write(fd, buf, n);
		if (k <= 0)
			cr_fail("write %zu bytes into a pipe: %m", n);
		done += (size_t)k;
	}
}

/* Reads LEN bytes back (blocking reads on a blocking fd), then the pipe must be empty. */
static void drain(int fd, size_t len, unsigned seed, const char *what)
{
	static uint8_t buf[1 << 20];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;

	while (got < len) {
		ssize_t k;

		if (poll(&p, 1, 1000) != 1)
			cr_fail("%s: %zu of %zu bytes came back", what, got, len);
		k = read(fd, buf + got, len - got);
		if (k <= 0)
			cr_fail("%s: read: %m after %zu bytes", what, got);
		got += (size_t)k;
	}
	for (size_t i = 0; i < len; i++)
		cr_check(buf[i] == byte_at(i, seed), "%s: byte %zu differs", what, i);
	cr_check(poll(&p, 1, 0) == 0, "%s: more data than was written", what);
}

int main(void)
{
	int p[2], q[2], c[2], f, status;
	char fifo[4096];
	pid_t child;

	cr_init();
	cr_check(pipe(p) == 0 && pipe(q) == 0 && pipe(c) == 0, "pipe: %m");
	fill(p[1], 60 << 10, 1);
	cr_check(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0, "F_SETFL: %m");
	cr_check(fcntl(q[1], F_SETPIPE_SZ, 1 << 20) >= 1 << 20, "F_SETPIPE_SZ: %m");
	fill(q[1], 300 << 10, 2);
	snprintf(fifo, sizeof(fifo), "%s/cr-fifo-%d", cr_tmpdir(), getpid());
	cr_check(mkfifo(fifo, 0600) == 0, "mkfifo %s: %m", fifo);
	f = open(fifo, O_RDWR);
	cr_check(f >= 0, "open %s: %m", fifo);
	fill(f, 1000, 3);
	child = fork();
	if (child == 0) {
		close(c[1]);
		cr_wait();
		drain(c[0], 5000, 4, "pipe C, in the child");
		_exit(0);
	}
	close(c[0]);
	fill(c[1], 5000, 4);

	cr_ready();
	cr_wait();

	cr_check(fcntl(p[0], F_GETFL) & O_NONBLOCK, "pipe P: its read end lost O_NONBLOCK");
	cr_check(!(fcntl(p[1], F_GETFL) & O_NONBLOCK), "pipe P: its write end became O_NONBLOCK");
	cr_check(fcntl(p[0], F_GETPIPE_SZ) == 65536, "pipe P: size %d", fcntl(p[0], F_GETPIPE_SZ));
	cr_check(fcntl(q[0], F_GETPIPE_SZ) == 1 << 20, "pipe Q: size %d",
		 fcntl(q[0], F_GETPIPE_SZ));
	drain(p[0], 60 << 10, 1, "pipe P");
	drain(q[0], 300 << 10, 2, "pipe Q");
	drain(f, 1000, 3, "FIFO F");
	/* they still work */
	fill(p[1], 10, 5);
	drain(p[0], 10, 5, "pipe P, written after the checkpoint");
	fill(f, 10, 6);
	drain(f, 10, 6, "FIFO F, written after the checkpoint");
	kill(child, SIGUSR2);
	cr_check(waitpid(child, &status, 0) == child && WIFEXITED(status) && !WEXITSTATUS(status),
		 "the child failed (status %#x)", status);
	if (!cr_keep_files())
		unlink(fifo);
	cr_pass();
}
