// SPDX-License-Identifier: MIT
/*
 * Attaching a terminal to a session: the caller's terminal goes raw, keys
 * go to the holder as they are typed (but the detach key, ^]), the
 * program's output comes back to the screen, and a size change of the
 * terminal is passed on. Detaching, or the end of the program, gives the
 * terminal its modes back.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "session/session.h"

struct client {
	int sock;
	struct frame_reader frames;
	int exit_code; /* -1 until the program ended */
};

static int connect_to(const char *name)
{
	struct sockaddr_un addr;
	int fd = session_socket(name, &addr), ret;

	if (fd < 0)
		return fd;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

static int send_size(int sock)
{
	struct winsize ws;

	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
		return 0; /* not a terminal: the pty keeps its size */
	return session_send_frame(sock, FRAME_WINSIZE, &ws, sizeof(ws));
}

/* Keys for the program; 1 when the detach key came (what was before it is sent). */
static int read_keys(struct client *c)
{
	char buf[SESSION_FRAME_MAX], *key;
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

	if (n <= 0)
		return n < 0 && errno == EINTR ? 0 : 1; /* end of input: detach */
	key = memchr(buf, SESSION_DETACH_KEY, (size_t)n);
	if (key)
		n = key - buf;
	if (n > 0 && session_send_frame(c->sock, FRAME_DATA, buf, (uint32_t)n))
		return -1;
	return key != NULL;
}

static int take_frame(void *arg, uint8_t type, const unsigned char *data, uint32_t len)
{
	struct client *c = arg;

	if (type == FRAME_DATA && write_full(STDOUT_FILENO, data, len))
		return 1;
	if (type == FRAME_EXIT && len == sizeof(int32_t))
		memcpy(&c->exit_code, data, sizeof(int32_t));
	return 0;
}

/* What the holder sent; 1 once the stream ended (the program ended, or another took over). */
static int read_holder(struct client *c)
{
	return session_read_frames(c->sock, &c->frames, take_frame, c);
}

static int attach_loop(struct client *c, int sfd)
{
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = STDIN_FILENO, .events = POLLIN },
			{ .fd = c->sock, .events = POLLIN },
		};
		struct signalfd_siginfo si;
		int ret;

		if (poll(p, 3, -1) < 0 && errno != EINTR)
			return -errno;
		if (p[0].revents) {
			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				;
			if (send_size(c->sock))
				return 1;
		}
		if (p[1].revents && (ret = read_keys(c)))
			return ret < 0 ? 1 : 0;
		if (p[2].revents && read_holder(c))
			return 1;
	}
}

int session_attach(const char *name, int *ret_status)
{
	struct client c = { .exit_code = -1 };
	struct termios saved, raw;
	bool tty = tcgetattr(STDIN_FILENO, &saved) == 0;
	sigset_t set, old;
	int sfd, ended;

	c.sock = connect_to(name);
	if (c.sock < 0) {
		log_error("session %s: cannot attach: %s%s", name, strerror(-c.sock),
			  c.sock == -ENOENT || c.sock == -ECONNREFUSED
			      ? " (no such session; see cryo ls)"
			      : "");
		return c.sock;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGWINCH);
	sigprocmask(SIG_BLOCK, &set, &old);
	sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	raw = saved;
	cfmakeraw(&raw);
	if (tty)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &raw);
	ended = send_size(c.sock) ? 1 : attach_loop(&c, sfd);
	if (tty)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
	close(sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(c.sock);
	if (ended <= 0 || c.exit_code < 0) {
		fprintf(stderr, "\r\n[cryo: detached from session %s]\r\n", name);
		*ret_status = -1;
	} else {
		*ret_status = c.exit_code;
	}
	return ended < 0 ? ended : 0;
}
