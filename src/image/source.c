// SPDX-License-Identifier: MIT
#include "image/source.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"

#define SPOOL_CHUNK (1u << 20)

/* Copies all of IN into a new memfd; returns the memfd or -errno. */
static int spool(int in)
{
	char *buf =
	    mmap(NULL, SPOOL_CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd, ret = 0;

	if (buf == MAP_FAILED)
		return -errno;
	fd = memfd_create("cryo-image", MFD_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto out_unmap;
	}
	for (;;) {
		ssize_t n = read(in, buf, SPOOL_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : 0;
			break;
		}
		ret = write_full(fd, buf, (size_t)n);
		if (ret)
			break;
	}
	if (ret)
		close(fd);
out_unmap:
	munmap(buf, SPOOL_CHUNK);
	return ret ? ret : fd;
}

int image_source_open(struct image_source *src, const char *path)
{
	struct stat st;
	void *buf;
	int fd, ret;

	memset(src, 0, sizeof(*src));
	src->fd = -1;
	if (!strcmp(path, "-"))
		fd = spool(STDIN_FILENO);
	else
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fd == -1 ? -errno : fd;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto err_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto err_close;
	}
	src->fd = fd;
	src->len = (size_t)st.st_size;
	if (!src->len)
		return 0; /* the reader reports an empty image */
	buf = mmap(NULL, src->len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (buf == MAP_FAILED) {
		ret = -errno;
		goto err_close;
	}
	src->buf = buf;
	return 0;
err_close:
	close(fd);
	src->fd = -1;
	return ret;
}

void image_source_close(struct image_source *src)
{
	if (src->buf)
		munmap((void *)src->buf, src->len);
	if (src->fd >= 0)
		close(src->fd);
	memset(src, 0, sizeof(*src));
	src->fd = -1;
}
