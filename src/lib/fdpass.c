// SPDX-License-Identifier: MIT
#include "lib/fdpass.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int fdpass_send(int sock, const void *data, size_t len, const int *fds, size_t nr_fds)
{
	union {
		char buf[CMSG_SPACE(FDPASS_MAX * sizeof(int))];
		struct cmsghdr align;
	} ctl = { 0 };
	struct iovec iov = { (void *)data, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (nr_fds > FDPASS_MAX)
		return -EINVAL;
	if (nr_fds) {
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(nr_fds * sizeof(int));
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nr_fds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nr_fds * sizeof(int));
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == (ssize_t)len ? 0 : errno ? -errno : -EPIPE;
}

int fdpass_recv(int sock, void *data, size_t len, int *fds, size_t max_fds, size_t *ret_nr)
{
	union {
		char buf[CMSG_SPACE(FDPASS_MAX * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { data, len };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl) };
	size_t nr = 0;
	ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);

	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c && n >= 0; c = CMSG_NXTHDR(&msg, c)) {
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (nr < max_fds)
				fds[nr++] = fd;
			else
				close(fd); /* more than the caller takes */
		}
	}
	*ret_nr = nr;
	if (n == (ssize_t)len)
		return 0;
	for (size_t i = 0; i < nr; i++)
		close(fds[i]);
	*ret_nr = 0;
	return n < 0 ? -errno : -EPIPE;
}
