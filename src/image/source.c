// SPDX-License-Identifier: MIT
#include "image/source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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

/*
 * -EPERM with ERR filled unless ST, the file an image comes from, is the
 * caller's or root's and writable by its owner alone: anyone else who could
 * write it could choose what restart runs, with the caller's privileges.
 * Group write counts too: it is also how an ACL granting write shows.
 */
static int check_trust(const struct stat *st, char *err, size_t err_len)
{
	uid_t me = geteuid();

	if (!S_ISREG(st->st_mode))
		return 0; /* a pipe or terminal: it carries what the caller connected */
	if (st->st_uid != me && st->st_uid != 0) {
		snprintf(err, err_len,
			 "owned by uid %u, not by you (uid %u) or root; check where it came from, "
			 "or pass --trust-image",
			 (unsigned)st->st_uid, (unsigned)me);
		return -EPERM;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, err_len,
			 "writable by others (mode %04o); chmod go-w it, or pass --trust-image",
			 (unsigned)(st->st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/* fstat on the open descriptor: the file checked is the file read, whatever its path is now. */
static int check_fd(int fd, unsigned flags, char *err, size_t err_len)
{
	struct stat st;

	if (!(flags & IMAGE_SOURCE_CHECK_TRUST))
		return 0;
	if (fstat(fd, &st) < 0)
		return -errno;
	return check_trust(&st, err, err_len);
}

/* PATH opened, or stdin spooled ("-"), each checked as it was given: the file or memfd. */
static int open_fd(const char *path, unsigned flags, char *err, size_t err_len)
{
	int fd, ret;

	if (!strcmp(path, "-")) {
		ret = check_fd(STDIN_FILENO, flags, err, err_len);
		return ret ? ret : spool(STDIN_FILENO);
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = check_fd(fd, flags, err, err_len);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

int image_source_open_flags(struct image_source *src, const char *path, unsigned flags, char *err,
			    size_t err_len)
{
	struct stat st;
	void *buf;
	int fd, ret;

	memset(src, 0, sizeof(*src));
	src->fd = -1;
	if (err_len)
		err[0] = '\0';
	fd = open_fd(path, flags, err, err_len);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto err_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto err_close;
	}
	src->fd = fd;
	src->flags = flags;
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
	src->flags = 0;
	return ret;
}

int image_source_open(struct image_source *src, const char *path)
{
	return image_source_open_flags(src, path, 0, NULL, 0);
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
