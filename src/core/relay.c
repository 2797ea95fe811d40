// SPDX-License-Identifier: MIT
/*
 * --tty=inherit: restart's own terminal speaks for the external terminal of
 * the restored session (doc/pty.md section 9).
 *
 * The session runs on a pty of restart's, whose slave has the saved modes
 * (raw for an editor, say); restart puts its own terminal in raw mode and
 * copies bytes both ways, so every key reaches the restored line
 * discipline as typed (^C becomes SIGINT there, for the restored
 * foreground group) and the screen gets the program's output untouched.
 * The pty takes the size of restart's terminal, and follows it. To make the
 * program draw its screen on the new terminal, the pty gets one column
 * less, then, a moment later, the real size: two size changes, which even
 * a program that redraws only when the size changed (readline: bash,
 * python) takes as a reason to redraw. Each comes a moment after the
 * program was let go, so that it waits in its own system call by then: a
 * signal handled before the call would only set the program's flag.
 *
 * Job control goes through restart, the job the caller's shell knows: when
 * the restored root stops (^Z in its session), restart gives the terminal
 * its modes back and stops too; on `fg` it takes the terminal again, lets
 * the root go on, and makes the program redraw (SIGWINCH). When the root
 * ends, the caller's terminal gets back the modes it had.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "core/relay.h"
#include "core/rst.h"
#include "lib/log.h"
#include "lib/util.h"

#define RELAY_BUF	4096
#define REDRAW_DELAY_MS 100 /* between the two size changes that make the program redraw */
#define DRAIN_QUIET_MS	50  /* the pty is drained when it stayed quiet this long */

/* Bytes on their way from one descriptor to another. */
struct pipe_buf {
	char data[RELAY_BUF];
	size_t len;
};

struct relay {
	int master;
	pid_t root;
	struct termios saved; /* restart's terminal as the caller left it */
	struct pipe_buf in;   /* keys, for the master */
	struct pipe_buf out;  /* output, for restart's stdout */
	bool master_gone;     /* every slave file is closed: EIO */
	struct pty_redraw redraw;
};

static int make_raw(const struct relay *r)
{
	struct termios raw = r->saved;

	cfmakeraw(&raw);
	return tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) < 0 ? -errno : 0;
}

/* The pty takes the size of restart's terminal (the kernel signals SIGWINCH if it changed). */
static void follow_size(struct relay *r)
{
	struct winsize ws;

	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
		ioctl(r->master, TIOCSWINSZ, &ws);
}

void pty_redraw_start(struct pty_redraw *d, const struct winsize *ws)
{
	d->ws = *ws;
	d->step = 2;
	d->at_ms = now_ms() + REDRAW_DELAY_MS;
}

int pty_redraw_timeout(const struct pty_redraw *d)
{
	int64_t left = d->at_ms - now_ms();

	return !d->step ? -1 : left > 0 ? (int)left : 0;
}

void pty_redraw_step(struct pty_redraw *d, int master)
{
	struct winsize ws = d->ws;

	if (!d->step || now_ms() < d->at_ms)
		return;
	if (d->step-- == 2)
		ws.ws_col = ws.ws_col > 1 ? ws.ws_col - 1 : ws.ws_col + 1;
	ioctl(master, TIOCSWINSZ, &ws);
	d->at_ms = now_ms() + REDRAW_DELAY_MS;
}

/* The program redraws on the size of restart's terminal. */
static void redraw(struct relay *r)
{
	struct winsize ws;

	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
		pty_redraw_start(&r->redraw, &ws);
}

/* Moves what is there from FD into B (one read); 0, or -1 at end of input or EIO. */
static int fill(int fd, struct pipe_buf *b)
{
	ssize_t n = read(fd, b->data + b->len, sizeof(b->data) - b->len);

	if (n > 0) {
		b->len += (size_t)n;
		return 0;
	}
	return n < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
}

/* Writes what B holds to FD, as much as it takes now. */
static void flush(int fd, struct pipe_buf *b)
{
	ssize_t n = write(fd, b->data, b->len);

	if (n > 0) {
		memmove(b->data, b->data + n, b->len - (size_t)n);
		b->len -= (size_t)n;
	}
}

/* The root stopped (^Z in its session): restart stops too, as the caller's job. */
static void suspend(struct relay *r)
{
	tcsetattr(STDIN_FILENO, TCSADRAIN, &r->saved);
	kill(getpid(), SIGTSTP);
	/* `fg`: SIGCONT brought us here */
	make_raw(r);
	kill(r->root, SIGCONT);
	redraw(r);
}

/* A signal through the signalfd: 1 once the root has ended (status in *ret_status). */
static int take_signal(struct relay *r, int sfd, int *ret_status)
{
	struct signalfd_siginfo si;
	int status;
	pid_t pid;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGWINCH) {
			r->redraw.step = 0; /* the new size wins over a redraw on its way */
			follow_size(r);
		} else if (si.ssi_signo != SIGCHLD)
			kill(r->root, (int)si.ssi_signo); /* SIGTERM, SIGHUP, ... are for the job */
	}
	while ((pid = waitpid(r->root, &status, WNOHANG | WUNTRACED)) > 0) {
		if (WIFSTOPPED(status)) {
			suspend(r);
			continue;
		}
		*ret_status = status;
		return 1;
	}
	return 0;
}

/* The output left in the pty once the root ended, to the screen. */
/*
 * The last output of the program, to the screen. What it wrote just
 * before it ended may not have reached the master yet (the pty moves it
 * in a kernel work item): read until the master says every slave file is
 * closed (EIO), or stays quiet for DRAIN_QUIET_MS (a background process of
 * the session may still hold the slave).
 */
static void drain(struct relay *r)
{
	struct pollfd p = { .fd = r->master, .events = POLLIN };

	while (!r->master_gone && poll(&p, 1, DRAIN_QUIET_MS) > 0) {
		if (fill(r->master, &r->out))
			r->master_gone = true;
		if (r->out.len && write_full(STDOUT_FILENO, r->out.data, r->out.len))
			return;
		r->out.len = 0;
	}
	if (r->out.len)
		write_full(STDOUT_FILENO, r->out.data, r->out.len);
}

static int relay_loop(struct relay *r, int sfd, int *ret_status)
{
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = r->in.len < RELAY_BUF ? STDIN_FILENO : -1, .events = POLLIN },
			{ .fd = r->master_gone ? -1 : r->master,
			  .events = (short)((r->out.len < RELAY_BUF ? POLLIN : 0) |
					    (r->in.len ? POLLOUT : 0)) },
		};
		if (poll(p, 3, pty_redraw_timeout(&r->redraw)) < 0 && errno != EINTR)
			return -errno;
		pty_redraw_step(&r->redraw, r->master);
		if (p[0].revents && take_signal(r, sfd, ret_status))
			return 0;
		if (p[1].revents && fill(STDIN_FILENO, &r->in))
			p[1].fd = -1; /* end of restart's input: the session keeps its pty */
		if (!r->master_gone && (p[2].revents & POLLIN) && fill(r->master, &r->out))
			r->master_gone = true; /* EIO: no slave file open any more */
		if (!r->master_gone && (p[2].revents & (POLLERR | POLLHUP)) && !r->out.len &&
		    !(p[2].revents & POLLIN))
			r->master_gone = true;
		if (r->in.len && !r->master_gone)
			flush(r->master, &r->in);
		if (r->out.len)
			flush(STDOUT_FILENO, &r->out);
	}
}

int relay_run(int master, pid_t root, int *ret_status)
{
	struct relay r = { .master = master, .root = root };
	sigset_t set, old;
	int sfd, ret;

	if (tcgetattr(STDIN_FILENO, &r.saved) < 0) {
		ret = -errno;
		log_error("cannot read the modes of restart's terminal: %s", strerror(-ret));
		return ret;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGWINCH);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	sigprocmask(SIG_BLOCK, &set, &old);
	sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
	ret = sfd < 0 ? -errno : make_raw(&r);
	if (!ret) {
		redraw(&r);
		ret = relay_loop(&r, sfd, ret_status);
		drain(&r);
	}
	if (ret)
		log_error("cannot relay restart's terminal to the restored session: %s",
			  strerror(-ret));
	tcsetattr(STDIN_FILENO, TCSADRAIN, &r.saved);
	if (sfd >= 0)
		close(sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(master);
	return ret;
}
