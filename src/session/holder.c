// SPDX-License-Identifier: MIT
/*
 * The session holder: a daemon that holds the master of the session's pty
 * and relays it to the client attached through its unix socket.
 *
 * One client at a time: a new one takes over from the last (which reads
 * the end of the stream and says it was detached). With no client, the
 * program's output is read and dropped, so that it never blocks on a full
 * pty; on attach, the pty takes the client's size and the program redraws
 * (relay.h). The session ends when its init ends (the program's exit code
 * goes to the client), or, for a session without namespaces, when no one
 * holds the pty's slave any more.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/relay.h"
#include "lib/log.h"
#include "lib/util.h"
#include "session/session.h"

#define HOLDER_BUF 8192

struct holder {
	int listen_fd, client, master, sfd;
	pid_t init;
	bool master_gone;
	struct pty_redraw redraw;
	struct frame_reader frames; /* from the client */
	char keys[HOLDER_BUF];	    /* for the master, not written yet */
	size_t keys_len;
	int exit_code;
};

int holder_listen(const char *name)
{
	struct sockaddr_un addr;
	int fd = session_socket(name, &addr), ret;

	if (fd < 0)
		return fd;
	unlink(addr.sun_path);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 4) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

static void drop_client(struct holder *h)
{
	if (h->client >= 0)
		close(h->client);
	h->client = -1;
	h->frames.len = 0;
}

/* A new client takes over: the last one is let go. */
static void take_client(struct holder *h)
{
	int fd = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	drop_client(h);
	h->client = fd;
}

static int take_frame(void *arg, uint8_t type, const unsigned char *data, uint32_t len)
{
	struct holder *h = arg;
	struct winsize ws;

	switch (type) {
	case FRAME_DATA:
		len = len < sizeof(h->keys) - h->keys_len
			  ? len
			  : (uint32_t)(sizeof(h->keys) - h->keys_len);
		memcpy(h->keys + h->keys_len, data, len);
		h->keys_len += len;
		break;
	case FRAME_WINSIZE:
		if (len != sizeof(ws))
			break;
		memcpy(&ws, data, sizeof(ws));
		/* the program draws its screen for the client that just came */
		pty_redraw_start(&h->redraw, &ws);
		break;
	default:
		break;
	}
	return 0;
}

/* What the client sent: frames, parsed as they complete. */
static void read_client(struct holder *h)
{
	/* at its end, or with a frame no client of ours sends, it goes */
	if (session_read_frames(h->client, &h->frames, take_frame, h))
		drop_client(h);
}

/* The program's output: to the client, or dropped when none is attached. */
static void read_master(struct holder *h)
{
	char buf[SESSION_FRAME_MAX];
	ssize_t n = read(h->master, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		h->master_gone = true; /* EIO: no slave open any more */
		return;
	}
	if (h->client >= 0 && session_send_frame(h->client, FRAME_DATA, buf, (uint32_t)n))
		drop_client(h);
}

/* 1 once the session's init ended (or, without one, its pty). */
static int session_ended(struct holder *h)
{
	struct signalfd_siginfo si;
	int status;

	while (read(h->sfd, &si, sizeof(si)) == sizeof(si))
		if (si.ssi_signo == SIGTERM && h->init > 0)
			kill(h->init, SIGKILL); /* the session goes with its holder */
	if (h->init > 0 && waitpid(h->init, &status, WNOHANG) == h->init) {
		h->exit_code = exit_code_of(status);
		return 1;
	}
	return h->init <= 0 && h->master_gone;
}

int holder_run(const char *name, int listen_fd, int master, pid_t init)
{
	struct holder h = { .listen_fd = listen_fd, .client = -1, .master = master, .init = init };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	h.sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
	while (!session_ended(&h)) {
		struct pollfd p[4] = {
			{ .fd = h.sfd, .events = POLLIN },
			{ .fd = listen_fd, .events = POLLIN },
			{ .fd = h.client, .events = POLLIN },
			{ .fd = h.master_gone ? -1 : master,
			  .events = (short)(POLLIN | (h.keys_len ? POLLOUT : 0)) },
		};

		if (poll(p, 4, pty_redraw_timeout(&h.redraw)) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			take_client(&h);
		if (p[2].revents && h.client >= 0)
			read_client(&h);
		if (p[3].revents & (POLLIN | POLLHUP | POLLERR))
			read_master(&h);
		if (h.keys_len && !h.master_gone) {
			ssize_t n = write(master, h.keys, h.keys_len);

			if (n > 0) {
				memmove(h.keys, h.keys + n, h.keys_len - (size_t)n);
				h.keys_len -= (size_t)n;
			}
		}
		if (!h.master_gone)
			pty_redraw_step(&h.redraw, master);
	}
	if (h.client >= 0) {
		int32_t code = h.exit_code;

		session_send_frame(h.client, FRAME_EXIT, &code, sizeof(code));
	}
	drop_client(&h);
	session_remove(name);
	close(h.sfd);
	close(master);
	close(listen_fd);
	return h.exit_code;
}
