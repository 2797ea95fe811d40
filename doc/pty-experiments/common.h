/* Shared helpers for the PTY experiments. Kernel termios only: never include <termios.h>. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <asm/termbits.h>

static int fails;
#define CHECK(cond, ...) do { if (cond) { printf("  ok   "); } else { printf("  FAIL "); fails++; } \
	printf(__VA_ARGS__); printf("\n"); } while (0)
#define NOTE(...) do { printf("  ..   "); printf(__VA_ARGS__); printf("\n"); } while (0)
#define DIE(...) do { fprintf(stderr, __VA_ARGS__); fprintf(stderr, ": %s\n", strerror(errno)); exit(2); } while (0)

static inline int pidfd_open_(pid_t pid) { return syscall(SYS_pidfd_open, pid, 0); }
static inline int pidfd_getfd_(int pidfd, int fd) { return syscall(SYS_pidfd_getfd, pidfd, fd, 0); }
static inline int kcmp_(pid_t a, pid_t b, int type, unsigned long x, unsigned long y)
{ return syscall(SYS_kcmp, a, b, type, x, y); }
#define KCMP_FILE_ 0

static inline int tget(int fd, struct termios2 *t) { return ioctl(fd, TCGETS2, t); }
static inline int tset(int fd, const struct termios2 *t) { return ioctl(fd, TCSETS2, t); }

/* open a new pair on the given ptmx path, unlocked; returns master, *slave set */
static inline int open_pair(const char *ptmx, int *slave, int *index)
{
	if (slave) *slave = -1;
	int m = open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0) return -1;
	int zero = 0;
	if (ioctl(m, TIOCSPTLCK, &zero) < 0) DIE("unlock");
	if (index && ioctl(m, TIOCGPTN, index) < 0) DIE("TIOCGPTN");
	if (slave) {
		*slave = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (*slave < 0) DIE("TIOCGPTPEER");
	}
	return m;
}

static inline void hexdump(const char *what, const unsigned char *b, ssize_t n)
{
	printf("  ..   %s (%zd bytes):", what, n);
	for (ssize_t i = 0; i < n && i < 64; i++) printf(" %02x", b[i]);
	if (n > 64) printf(" ...");
	printf("  \"");
	for (ssize_t i = 0; i < n && i < 64; i++) putchar(b[i] >= 32 && b[i] < 127 ? b[i] : '.');
	printf("\"\n");
}

/* read everything available now: poll with timeout 0, read, repeat */
static inline ssize_t drain(int fd, unsigned char *buf, size_t cap)
{
	size_t n = 0;
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int r = poll(&p, 1, 0);
		if (r <= 0 || !(p.revents & POLLIN)) break;
		ssize_t k = read(fd, buf + n, cap - n);
		if (k <= 0) break;
		n += k;
		if (n == cap) break;
	}
	return n;
}

static inline int finish(const char *name)
{
	printf("%s: %s (%d failed checks)\n", name, fails ? "FAILURES" : "all checks passed", fails);
	return fails ? 1 : 0;
}
