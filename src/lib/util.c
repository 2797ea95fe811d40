// SPDX-License-Identifier: MIT
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int array_reserve(void *arrayp, size_t *cap, size_t nr, size_t size)
{
	size_t ncap = *cap ? 2 * *cap : 16;
	void *old, *n;

	if (nr < *cap)
		return 0;
	/* through memcpy: *ARRAYP is a pointer of the caller's type, not a void * */
	memcpy(&old, arrayp, sizeof(old));
	n = realloc(old, ncap * size);
	if (!n)
		return -ENOMEM;
	memcpy(arrayp, &n, sizeof(n));
	*cap = ncap;
	// cppcheck-suppress memleak ; N is stored in *ARRAYP by the memcpy above
	return 0;
}

int exit_code_of(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
