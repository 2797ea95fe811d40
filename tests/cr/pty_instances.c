// SPDX-License-Identifier: MIT
/*
 * Two devpts instances: a pair in the instance /dev/ptmx opens in, and a
 * pair with the same index in a second instance mounted at $CR_PTS2 (the
 * drivers mount it). Device numbers collide (136:N both); each pair must
 * come back in its own instance, with its own queued data.
 */
#include "cr/ptytest.h"

static void no_echo(int s)
{
	struct termios2 t;

	pt_get(s, &t);
	t.c_lflag &= ~(unsigned)ECHO;
	pt_set(s, &t);
}

int main(void)
{
	const char *pts2 = getenv("CR_PTS2");
	int m1, s1, m2, s2, i1, i2, extra[64], nr_extra = 0, v;
	struct stat st1, st2, mnt;
	char ptmx2[4096];

	cr_init();
	cr_check(pts2 && *pts2, "CR_PTS2 (a second devpts mount) is not set");
	snprintf(ptmx2, sizeof(ptmx2), "%s/ptmx", pts2);
	m1 = pt_open("/dev/ptmx", &s1, &i1);
	/* take indexes of the second instance until it hands out the first one's */
	for (;;) {
		m2 = pt_open(ptmx2, &s2, &i2);
		if (i2 >= i1 || nr_extra == 64)
			break;
		extra[nr_extra++] = m2;
		close(s2);
	}
	while (nr_extra)
		close(extra[--nr_extra]);
	cr_check(i2 == i1, "no index %d in the second instance (got %d)", i1, i2);
	cr_check(fstat(s1, &st1) == 0 && fstat(s2, &st2) == 0 && stat(pts2, &mnt) == 0,
		 "fstat: %m");
	cr_check(st1.st_rdev == st2.st_rdev && st1.st_dev != st2.st_dev && st2.st_dev == mnt.st_dev,
		 "the two slaves are not 136:%d of two instances", i1);
	no_echo(s1);
	no_echo(s2);
	pt_write(m1, "one\n", 4);
	pt_write(m2, "two\n", 4);
	pt_write(s1, "out-one", 7);
	pt_write(s2, "out-two", 7);

	cr_ready();
	cr_wait();

	cr_check(ioctl(m1, TIOCGPTN, &v) == 0 && v == i1, "first index %d, was %d", v, i1);
	cr_check(ioctl(m2, TIOCGPTN, &v) == 0 && v == i2, "second index %d, was %d", v, i2);
	cr_check(fstat(s1, &mnt) == 0 && mnt.st_dev == st1.st_dev, "first pair: another instance");
	cr_check(fstat(s2, &mnt) == 0 && mnt.st_dev == st2.st_dev, "second pair: another instance");
	pt_expect(s1, "one\n", 4, "first pair's input");
	pt_expect(s2, "two\n", 4, "second pair's input");
	pt_expect(m1, "out-one", 7, "first pair's output");
	pt_expect(m2, "out-two", 7, "second pair's output");
	cr_pass();
}
