// SPDX-License-Identifier: MIT
/*
 * Helpers of the pty test programs (tests/cr/pty_*.c). They talk termios to
 * the kernel directly (TCGETS2, <asm/termbits.h>), as cryo does: <termios.h>
 * cannot be included with it.
 */
#ifndef CRYO_TESTS_CR_PTYTEST_H
#define CRYO_TESTS_CR_PTYTEST_H

#include <asm/termbits.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "cr/crtest.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/* A new pair on PTMX, unlocked, both ends open read-write; the master is returned. */
static inline int pt_open(const char *ptmx, int *slave, int *index)
{
	int m = open(ptmx, O_RDWR | O_NOCTTY), zero = 0;

	if (m < 0 || ioctl(m, TIOCSPTLCK, &zero) || ioctl(m, TIOCGPTN, index))
		cr_fail("open %s: %m", ptmx);
	*slave = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (*slave < 0)
		cr_fail("TIOCGPTPEER: %m");
	return m;
}

static inline void pt_get(int fd, struct termios2 *t)
{
	if (ioctl(fd, TCGETS2, t))
		cr_fail("TCGETS2: %m");
}

static inline void pt_set(int fd, const struct termios2 *t)
{
	if (ioctl(fd, TCSETS2, t))
		cr_fail("TCSETS2: %m");
}

static inline void pt_write(int fd, const void *data, size_t len)
{
	if (write(fd, data, len) != (ssize_t)len)
		cr_fail("write to the pty: %m");
}

/* Lets the kernel's pending tty work for FD's side run (poll() does it). */
static inline void pt_settle(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	poll(&p, 1, 0);
}

/*
 * Reads FD until nothing more comes for QUIET_MS (poll() also runs the
 * kernel's pending tty work). Returns the bytes read.
 */
static inline size_t pt_read_all(int fd, char *buf, size_t cap, int quiet_ms)
{
	size_t n = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t k;

		if (poll(&p, 1, quiet_ms) != 1 || !(p.revents & POLLIN) || n == cap)
			return n;
		k = read(fd, buf + n, cap - n);
		if (k <= 0)
			return n;
		n += (size_t)k;
	}
}

/* Waits up to a second for one read's worth of FD. -1 with errno, or the bytes. */
static inline ssize_t pt_read_one(int fd, char *buf, size_t cap)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 1000) != 1)
		return -2;
	return read(fd, buf, cap);
}

/* "a\x03b" for messages. */
static inline const char *pt_show(const char *data, size_t len)
{
	static char out[1024];
	size_t o = 0;

	for (size_t i = 0; i < len && o + 5 < sizeof(out); i++) {
		unsigned char c = (unsigned char)data[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, sizeof(out) - o, "\\x%02x", c);
	}
	out[o] = '\0';
	return out;
}

/* Reads exactly WANT from FD (one second at most) and compares. */
static inline void pt_expect(int fd, const char *want, size_t len, const char *what)
{
	char buf[4096] = { 0 };
	size_t n = 0;

	while (n < len) {
		ssize_t k = pt_read_one(fd, buf + n, sizeof(buf) - n);

		if (k <= 0)
			break;
		n += (size_t)k;
	}
	cr_check(n == len && !memcmp(buf, want, len), "%s: read \"%s\"", what, pt_show(buf, n));
}

#endif
