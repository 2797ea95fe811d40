// SPDX-License-Identifier: MIT
#include "core/tracker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/proc.h"
#include "session/session.h"

/* The answer: the identity and the pids; the descriptors ride along. */
struct tracker_reply {
	struct tracker_identity id;
	uint32_t nr;
	uint32_t pad;
	int32_t pids[TRACKER_MAX];
};

static int tracker_address(pid_t root, struct sockaddr_un *addr)
{
	char dir[sizeof(addr->sun_path)];
	int ret = session_state_dir(dir, sizeof(dir)), n;

	if (ret)
		return ret;
	*addr = (struct sockaddr_un){ .sun_family = AF_UNIX };
	n = snprintf(addr->sun_path, sizeof(addr->sun_path), "%s/track-%d.sock", dir, (int)root);
	return n < 0 || (size_t)n >= sizeof(addr->sun_path) ? -ENAMETOOLONG : 0;
}

/* Only the tracker's own user, or root, may take its descriptors. */
static bool peer_allowed(int conn)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	return cred.uid == 0 || cred.uid == getuid();
}

/* Closes every descriptor but KEEP (NR of them), and points 0-2 at /dev/null. */
static void keep_only(const int *keep, size_t nr)
{
	int *fds = NULL, null = open("/dev/null", O_RDWR | O_CLOEXEC);
	size_t n = 0;

	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	if (proc_list_fds(getpid(), &fds, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		bool kept = fds[i] <= 2;

		for (size_t k = 0; k < nr && !kept; k++)
			kept = fds[i] == keep[k];
		if (!kept)
			close(fds[i]);
	}
	free(fds);
}

static __attribute__((noreturn)) void tracker_main(int listener, const char *path,
						   struct tracker_reply *reply, int *fds)
{
	struct pollfd p[1 + TRACKER_MAX];
	size_t alive = reply->nr;

	p[0] = (struct pollfd){ .fd = listener, .events = POLLIN };
	for (size_t i = 0; i < reply->nr; i++) {
		int pidfd = (int)syscall(SYS_pidfd_open, reply->pids[i], 0);

		p[1 + i] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
		if (pidfd < 0)
			alive--; /* gone already */
	}
	while (alive) {
		int conn;
		char req;

		if (poll(p, 1 + reply->nr, -1) < 0)
			continue;
		for (size_t i = 0; i < reply->nr; i++)
			if (p[1 + i].fd >= 0 && p[1 + i].revents) {
				close(p[1 + i].fd);
				p[1 + i].fd = -1; /* poll ignores it from now on */
				alive--;
			}
		if (!(p[0].revents & POLLIN))
			continue;
		conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0)
			continue;
		if (peer_allowed(conn) && read(conn, &req, 1) == 1) {
			unlink(path); /* before the answer: the taker may bind a new tracker here */
			fdpass_send(conn, reply, sizeof(*reply), fds, reply->nr);
			_exit(0);
		}
		close(conn);
	}
	unlink(path);
	_exit(0);
}

int tracker_spawn(const struct tracker_identity *id, const pid_t *pids, const int *fds, size_t nr)
{
	struct tracker_reply reply = { .id = *id, .nr = (uint32_t)nr };
	struct sockaddr_un addr;
	int listener, ret, keep[1 + TRACKER_MAX];
	pid_t pid;

	if (nr > TRACKER_MAX)
		return -E2BIG;
	for (size_t i = 0; i < nr; i++)
		reply.pids[i] = pids[i];
	ret = tracker_address(id->root, &addr);
	if (ret)
		return ret;
	listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listener < 0)
		return -errno;
	unlink(addr.sun_path);
	if (bind(listener, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(listener, 4) < 0) {
		ret = -errno;
		close(listener);
		return ret;
	}
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		unlink(addr.sun_path);
		close(listener);
		return ret;
	}
	if (pid == 0) {
		setsid();
		signal(SIGHUP, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		keep[0] = listener;
		memcpy(keep + 1, fds, nr * sizeof(int));
		keep_only(keep, 1 + nr);
		tracker_main(listener, addr.sun_path, &reply, (int *)fds);
	}
	close(listener);
	return 0;
}

int tracker_take(pid_t root, struct tracker_identity *id, pid_t *pids, int *fds, size_t *ret_nr)
{
	struct tracker_reply reply;
	struct sockaddr_un addr;
	size_t nr = 0;
	int sock, ret = tracker_address(root, &addr);

	*ret_nr = 0;
	if (ret)
		return ret;
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -errno;
	if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		ret = errno == ENOENT || errno == ECONNREFUSED ? -ENOENT : -errno;
		if (ret == -ENOENT)
			unlink(addr.sun_path); /* a tracker that died leaves its socket */
		close(sock);
		return ret;
	}
	ret = write(sock, "t", 1) == 1 ? 0 : -errno;
	if (!ret)
		ret = fdpass_recv(sock, &reply, sizeof(reply), fds, TRACKER_MAX, &nr);
	close(sock);
	if (!ret && (nr != reply.nr || reply.id.root != root)) {
		for (size_t i = 0; i < nr; i++)
			close(fds[i]);
		ret = -EPROTO;
	}
	if (ret) {
		log_warn("pid %d: its tracker did not answer: %s", root, strerror(-ret));
		return ret;
	}
	*id = reply.id;
	for (size_t i = 0; i < nr; i++)
		pids[i] = reply.pids[i];
	*ret_nr = nr;
	return 0;
}
