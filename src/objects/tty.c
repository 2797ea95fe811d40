// SPDX-License-Identifier: MIT
/*
 * Terminals at checkpoint: UNIX98 pseudo terminals (doc/pty.md section 5).
 *
 * A pty is a pair of tty objects, master and slave, named by devpts
 * instance and index; files point at them; fds point at files. Every
 * terminal descriptor of the tree is fetched into cryo with pidfd_getfd
 * (the same open file description), and all the work is done on those:
 *
 * 1. collect: classify each descriptor (master, slave, /dev/tty), one
 *    entry per open file description (kcmp through the objhash);
 * 2. pair: a master's slave is the inode TIOCGPTPEER(O_PATH) gives; a
 *    slave file with no master in the tree is an external terminal, or a
 *    pty whose master is gone; a /dev/tty file is paired by TIOCGDEV;
 * 3. per pty, read what reading does not change, then gather the queues
 *    and the flow state and put them straight back (tty_line.c): the
 *    tree is frozen, the window is one pair long, and a checkpoint that
 *    fails later has nothing to undo;
 * 4. write, per pty: its devpts instance (once), master, slave, the
 *    slave's files, the queues; then each task's controlling terminal.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/ckpt.h"
#include "lib/fault.h"
#include "lib/log.h"
#include "lib/util.h"
#include "objects/tty_line.h"

#define PTY_SLAVE_MAJOR_FIRST 136 /* UNIX98_PTY_SLAVE_MAJOR */
#define PTY_SLAVE_MAJOR_LAST  143
#define TTYAUX_MAJOR	      5

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/* One open file description of a pty end, held by the tree. */
struct ck_file {
	pid_t pid; /* the first holder met, for messages and /proc */
	int fd;
	int cfd; /* cryo's descriptor of the same description */
	enum tty_end end;
	struct stat st; /* of cfd */
	uint32_t flags; /* open flags, from fdinfo */
	int mnt_id;
	uint32_t objref;
	bool dead;   /* hung up: reads 0, writes and ioctls EIO (2.10) */
	bool hidden; /* opened by cryo in the task to reach its controlling tty: not a file of it */
	int pty;     /* index into ck_ttys.ptys, -1 until paired */
};

struct ck_devpts {
	dev_t dev;
	uint32_t objref; /* 0 until written */
};

struct ck_pty {
	dev_t dev; /* the devpts instance, 0 if unknown (an external tty seen through /dev/tty) */
	uint32_t index;
	int master; /* index into files, -1 for an external or a gone master */
	ino_t slave_ino;
	int peer;	      /* O_PATH descriptor of the slave node, -1 if none */
	uint32_t mflags;      /* TTYM_* */
	uint32_t sflags;      /* TTYS_* */
	int32_t sid, fg_pgid; /* 0 for none */
	struct stat node;     /* the slave node: owner, mode, times */
	uint32_t m_objref, s_objref;
	struct tty_line line;
};

struct ck_ttys {
	struct ckpt_ctx *ctx;
	struct ck_file *files;
	size_t nr_files, cap_files;
	struct ck_pty *ptys;
	size_t nr_ptys, cap_ptys;
	struct ck_devpts *insts;
	size_t nr_insts;
};

enum tty_end tty_end_of(dev_t rdev)
{
	unsigned int maj = major(rdev), min = minor(rdev);

	if (maj == TTYAUX_MAJOR && min == 2)
		return TTY_END_MASTER;
	if (maj == TTYAUX_MAJOR && min == 0)
		return TTY_END_DEVTTY;
	if (maj >= PTY_SLAVE_MAJOR_FIRST && maj <= PTY_SLAVE_MAJOR_LAST)
		return TTY_END_SLAVE;
	/* console, virtual consoles and serial (4, 5:1), BSD ptys (2, 3), USB/ACM serial */
	if (maj == 4 || (maj == TTYAUX_MAJOR && min == 1) || maj == 2 || maj == 3 || maj == 166 ||
	    maj == 188 || maj == 204 || maj == 229)
		return TTY_END_OTHER;
	return TTY_END_NONE;
}

/* A task's controlling tty as a device number: /proc/PID/stat encodes it as new_encode_dev. */
static dev_t ctty_dev(const struct proc_stat *st)
{
	unsigned int v = (unsigned int)st->tty_nr;

	return makedev((v >> 8) & 0xfff, (v & 0xff) | ((v >> 12) & 0xfff00));
}

int tty_file_objref(struct ckpt_ctx *ctx, pid_t pid, int fd, const struct stat *st,
		    const char *path, uint32_t *ret_objref)
{
	if (tty_end_of(st->st_rdev) == TTY_END_OTHER) {
		log_error("pid %d fd %d: %s is a terminal of another kind (%u:%u), not supported",
			  pid, fd, path, major(st->st_rdev), minor(st->st_rdev));
		return -ENOTSUP;
	}
	return files_lookup_saved(ctx, pid, fd, st, path, "the terminals", ret_objref);
}

/* --- 1. collect ------------------------------------------------------------------- */

/* A hung-up file polls HUP and fails TCGETS2 with EIO (2.10). */
static bool file_dead(int cfd)
{
	struct pollfd p = { .fd = cfd, .events = POLLIN };
	struct rec_termios2 t;

	return poll(&p, 1, 0) == 1 && (p.revents & POLLHUP) && tty_termios_get(cfd, &t) == -EIO;
}

static const char *end_name(enum tty_end end)
{
	return end == TTY_END_MASTER ? "pty master" : end == TTY_END_SLAVE ? "pty" : "/dev/tty";
}

static int check_file(struct ck_file *f)
{
	int ldisc = 0;

	if (f->end == TTY_END_MASTER &&
	    ((f->flags & O_ACCMODE) != O_RDWR || (f->flags & (O_ASYNC | O_DIRECT)))) {
		log_error("pid %d fd %d: pty master opened with flags %#o, not supported", f->pid,
			  f->fd, f->flags);
		return -ENOTSUP;
	}
	if ((f->flags & O_ACCMODE) == O_ACCMODE) {
		log_error("pid %d fd %d: %s opened with access mode 3 (ioctl only), not supported",
			  f->pid, f->fd, end_name(f->end));
		return -ENOTSUP;
	}
	if (f->flags & O_ASYNC) {
		log_error("pid %d fd %d: %s opened with O_ASYNC, not supported", f->pid, f->fd,
			  end_name(f->end));
		return -ENOTSUP;
	}
	if (f->dead && f->end == TTY_END_MASTER) {
		log_error("pid %d fd %d: pty master was hung up (vhangup), not supported", f->pid,
			  f->fd);
		return -ENOTSUP;
	}
	if (f->dead && f->end == TTY_END_DEVTTY) {
		log_error("pid %d fd %d: /dev/tty file was hung up, not supported", f->pid, f->fd);
		return -ENOTSUP;
	}
	if (!f->dead && ioctl(f->cfd, TIOCGETD, &ldisc) == 0 && ldisc != 0) {
		log_error("pid %d fd %d: %s uses line discipline %d, not supported", f->pid, f->fd,
			  end_name(f->end), ldisc);
		return -ENOTSUP;
	}
	return 0;
}

static int grow_files(struct ck_ttys *tt)
{
	if (tt->nr_files == tt->cap_files) {
		size_t cap = tt->cap_files ? tt->cap_files * 2 : 8;
		struct ck_file *n = realloc(tt->files, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		tt->files = n;
		tt->cap_files = cap;
	}
	return 0;
}

static int add_file(struct ck_ttys *tt, pid_t pid, int fd, const struct stat *st)
{
	struct proc_fdinfo info;
	struct ck_file *f;
	uint32_t objref;
	bool is_new;
	int ret, cfd;

	ret = files_lookup_fd(tt->ctx, pid, fd, st, &objref, &is_new);
	if (!ret && is_new)
		ret = grow_files(tt);
	if (ret || !is_new)
		return ret;
	ret = proc_read_fdinfo(pid, fd, &info);
	cfd = ret ? ret : ckpt_fetch_fd(pid, fd);
	if (cfd < 0) {
		log_error(
		    "pid %d fd %d: cannot get the terminal's descriptor (pidfd_getfd): %s; run "
		    "as root",
		    pid, fd, strerror(-cfd));
		return cfd;
	}
	f = &tt->files[tt->nr_files++];
	*f = (struct ck_file){
		.pid = pid,
		.fd = fd,
		.cfd = cfd,
		.end = tty_end_of(st->st_rdev),
		.st = *st,
		.flags = info.flags,
		.mnt_id = info.mnt_id,
		.objref = objref,
		.pty = -1,
	};
	if (fstat(cfd, &f->st) < 0)
		return -errno;
	f->dead = file_dead(cfd);
	return check_file(f);
}

static int collect_one(void *arg, pid_t pid, int fd, const struct stat *st)
{
	if (!S_ISCHR(st->st_mode))
		return 0;
	switch (tty_end_of(st->st_rdev)) {
	case TTY_END_MASTER:
	case TTY_END_SLAVE:
	case TTY_END_DEVTTY:
		return add_file(arg, pid, fd, st);
	default:
		return 0;
	}
}

static int collect(struct ck_ttys *tt)
{
	return ckpt_for_each_fd(tt->ctx, collect_one, tt);
}

/* --- 2. pair ------------------------------------------------------------------------ */

static struct ck_pty *new_pty(struct ck_ttys *tt, dev_t dev, uint32_t index, int *ret_at)
{
	struct ck_pty *p;

	if (tt->nr_ptys == tt->cap_ptys) {
		size_t cap = tt->cap_ptys ? tt->cap_ptys * 2 : 4;
		struct ck_pty *n = realloc(tt->ptys, cap * sizeof(*n));

		if (!n)
			return NULL;
		tt->ptys = n;
		tt->cap_ptys = cap;
	}
	*ret_at = (int)tt->nr_ptys;
	p = &tt->ptys[tt->nr_ptys++];
	*p = (struct ck_pty){ .dev = dev, .index = index, .master = -1, .peer = -1 };
	return p;
}

static int pair_master(struct ck_ttys *tt, size_t fi)
{
	struct ck_file *f = &tt->files[fi];
	struct ck_pty *p;
	struct stat st;
	int index, peer, at;

	if (ioctl(f->cfd, TIOCGPTN, &index) < 0) {
		int err = errno;

		log_error("pid %d fd %d: pty master: cannot read its index: %s", f->pid, f->fd,
			  strerror(err));
		return -err;
	}
	peer = ioctl(f->cfd, TIOCGPTPEER, O_PATH | O_NOCTTY | O_CLOEXEC);
	if (peer < 0 || fstat(peer, &st) < 0) {
		int err = errno;

		if (peer >= 0)
			close(peer);
		log_error("pid %d fd %d: pty %d: its devpts instance cannot be found (%s)%s",
			  f->pid, f->fd, index, strerror(err),
			  err == ENODEV
			      ? "; the master was opened through /dev/ptmx before another "
				"devpts was mounted on /dev/pts, not supported"
			      : "");
		return -err;
	}
	p = new_pty(tt, st.st_dev, (uint32_t)index, &at);
	if (!p) {
		close(peer);
		return -ENOMEM;
	}
	p->master = (int)fi;
	p->peer = peer;
	p->slave_ino = st.st_ino;
	p->node = st;
	f->pty = at;
	return 0;
}

static int find_pty(struct ck_ttys *tt, dev_t dev, uint32_t index, bool with_master)
{
	for (size_t i = 0; i < tt->nr_ptys; i++)
		if (tt->ptys[i].dev == dev && tt->ptys[i].index == index &&
		    (tt->ptys[i].master >= 0) == with_master)
			return (int)i;
	return -1;
}

/* A slave file belongs to the tree's master of its inode, or to a pty with no master here. */
static int pair_slave(struct ck_ttys *tt, struct ck_file *f)
{
	uint32_t index = minor(f->st.st_rdev);
	struct ck_pty *p;
	int at;

	for (size_t i = 0; i < tt->nr_ptys; i++)
		if (tt->ptys[i].master >= 0 && tt->ptys[i].dev == f->st.st_dev &&
		    tt->ptys[i].slave_ino == f->st.st_ino) {
			f->pty = (int)i;
			return 0;
		}
	at = find_pty(tt, f->st.st_dev, index, false);
	if (at < 0) {
		p = new_pty(tt, f->st.st_dev, index, &at);
		if (!p)
			return -ENOMEM;
		p->node = f->st;
		p->slave_ino = f->st.st_ino;
		/* a removed node (st_nlink 0) and only dead files: the master is closed (2.10) */
		p->sflags = f->st.st_nlink == 0 ? TTYS_MASTER_GONE : TTYS_EXTERNAL;
	}
	p = &tt->ptys[at];
	if (!f->dead || f->st.st_nlink)
		p->sflags = (p->sflags & ~TTYS_MASTER_GONE) | TTYS_EXTERNAL;
	f->pty = at;
	return 0;
}

/*
 * A /dev/tty file names its tty only by number (TIOCGDEV, 2.2): the pty
 * of the tree with that index; with two instances holding that index, a
 * reversible termios probe through each master tells which (2.12).
 */
static int probe_devtty(struct ck_ttys *tt, const struct ck_file *f, uint32_t index)
{
	int found = -1, nr = 0;

	for (size_t i = 0; i < tt->nr_ptys; i++)
		if (tt->ptys[i].index == index) {
			found = (int)i;
			nr++;
		}
	if (nr == 0)
		return -1;
	for (size_t i = 0; i < tt->nr_ptys; i++) {
		struct ck_pty *p = &tt->ptys[i];
		struct rec_termios2 before, seen;

		if (p->index != index || p->master < 0)
			continue;
		if (tty_termios_get(tt->files[p->master].cfd, &before) == 0 &&
		    tty_termios_get(f->cfd, &seen) == 0 && !memcmp(&before, &seen, sizeof(before)))
			return (int)i; /* equal termios: a good guess; see doc/pty.md 5.2 */
	}
	/* an external tty has no master to compare through: the index alone */
	return nr == 1 && tt->ptys[found].master < 0 ? found : -1;
}

static int pair_devtty(struct ck_ttys *tt, struct ck_file *f)
{
	unsigned int dev = 0;
	struct ck_pty *p;
	int at;

	if (ioctl(f->cfd, TIOCGDEV, &dev) < 0 || tty_end_of(dev) != TTY_END_SLAVE) {
		log_error("pid %d fd %d: /dev/tty is a terminal of another kind (%u:%u), not "
			  "supported",
			  f->pid, f->fd, major(dev), minor(dev));
		return -ENOTSUP;
	}
	at = probe_devtty(tt, f, minor(dev));
	if (at < 0) {
		/* an external terminal known only through /dev/tty: its instance is unknown */
		p = new_pty(tt, 0, minor(dev), &at);
		if (!p)
			return -ENOMEM;
		p->sflags = TTYS_EXTERNAL;
		p->node = f->st;
	}
	f->pty = at;
	return 0;
}

static int pair(struct ck_ttys *tt)
{
	int ret = 0;

	for (size_t i = 0; i < tt->nr_files && !ret; i++)
		if (tt->files[i].end == TTY_END_MASTER)
			ret = pair_master(tt, i);
	for (size_t i = 0; i < tt->nr_files && !ret; i++)
		if (tt->files[i].end == TTY_END_SLAVE)
			ret = pair_slave(tt, &tt->files[i]);
	for (size_t i = 0; i < tt->nr_files && !ret; i++)
		if (tt->files[i].end == TTY_END_DEVTTY)
			ret = pair_devtty(tt, &tt->files[i]);
	return ret;
}

/*
 * A task's controlling terminal is usually among the files already seen:
 * a master of the tree whose session is the task's, or a slave file with
 * its number. When it is not (the task closed every descriptor of it), it
 * is reached by opening /dev/tty inside the task (doc/pty.md section 9).
 */
static bool ctty_seen(const struct ck_ttys *tt, const struct proc_stat *st, unsigned int index)
{
	for (size_t i = 0; i < tt->nr_ptys; i++) {
		const struct ck_pty *p = &tt->ptys[i];
		int sid = 0;

		if (p->index != index)
			continue;
		if (p->master < 0 ||
		    (ioctl(tt->files[p->master].cfd, TIOCGSID, &sid) == 0 && sid == st->session))
			return true;
	}
	return false;
}

static int open_ctty(struct ck_ttys *tt, struct ckpt_task *t)
{
	struct ck_file *f;
	int cfd, ret = grow_files(tt);

	if (ret)
		return ret;
	cfd = ckpt_task_open(tt->ctx, t, "/dev/tty", O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (cfd < 0) {
		log_error("pid %d: cannot reach its controlling terminal (/dev/tty): %s", t->pid,
			  strerror(-cfd));
		return cfd;
	}
	f = &tt->files[tt->nr_files++];
	*f = (struct ck_file){ .pid = t->pid,
			       .fd = -1,
			       .cfd = cfd,
			       .end = TTY_END_DEVTTY,
			       .hidden = true,
			       .pty = -1 };
	if (fstat(cfd, &f->st) < 0)
		return -errno;
	return pair_devtty(tt, f);
}

static int find_cttys(struct ck_ttys *tt)
{
	for (size_t i = 0; i < tt->ctx->nr_tasks; i++) {
		struct ckpt_task *t = &tt->ctx->tasks[i];
		dev_t dev = ctty_dev(&t->stat);
		int ret;

		/* another kind of terminal is refused by name when the ctty records are written */
		if (t->zombie || !t->stat.tty_nr || tty_end_of(dev) != TTY_END_SLAVE ||
		    ctty_seen(tt, &t->stat, minor(dev)))
			continue;
		ret = open_ctty(tt, t);
		if (ret)
			return ret;
	}
	return 0;
}

/* --- 3. state ------------------------------------------------------------------------ */

/* The first file of the pty at AT in the tree (there is one: that is how it was found). */
static size_t slave_file(const struct ck_ttys *tt, int at)
{
	size_t i = 0;

	while (i + 1 < tt->nr_files && tt->files[i].pty != at)
		i++;
	return i;
}

/* A live slave file of the tree (for reading its state: any access mode), or -1. */
static int live_slave(const struct ck_ttys *tt, int at)
{
	for (size_t i = 0; i < tt->nr_files; i++)
		if (tt->files[i].pty == at && tt->files[i].end != TTY_END_MASTER &&
		    !tt->files[i].dead)
			return tt->files[i].cfd;
	return -1;
}

/* A live slave file of the tree open for reading and writing, as the read-out needs, or -1. */
static int read_write_slave(const struct ck_ttys *tt, int at)
{
	for (size_t i = 0; i < tt->nr_files; i++) {
		const struct ck_file *f = &tt->files[i];

		if (f->pty == at && f->end != TTY_END_MASTER && !f->dead && !f->hidden &&
		    (f->flags & O_ACCMODE) == O_RDWR)
			return f->cfd;
	}
	return -1;
}

/*
 * Whether a failed open poisoned the slave (2.9): a zero-length write
 * says EIO. Non-blocking, or it could wait for the tty's write lock.
 */
static bool slave_poisoned(int s)
{
	int fl = fcntl(s, F_GETFL);
	bool poisoned;

	if (fl < 0 || fcntl(s, F_SETFL, fl | O_NONBLOCK) < 0)
		return false;
	poisoned = write(s, "", 0) < 0 && errno == EIO;
	fcntl(s, F_SETFL, fl);
	return poisoned;
}

/* Whether the tree holds a file of the slave (dead files included). */
static bool has_slave_files(const struct ck_ttys *tt, int at)
{
	for (size_t i = 0; i < tt->nr_files; i++)
		if (tt->files[i].pty == at && tt->files[i].end != TTY_END_MASTER &&
		    !tt->files[i].hidden)
			return true;
	return false;
}

/* Session and foreground group of an external tty, from its tasks' /proc stat (2.12). */
static void external_session(struct ck_ttys *tt, struct ck_pty *p)
{
	for (size_t i = 0; i < tt->ctx->nr_tasks; i++) {
		const struct proc_stat *st = &tt->ctx->tasks[i].stat;
		dev_t dev = ctty_dev(st);

		if (st->tty_nr && tty_end_of(dev) == TTY_END_SLAVE && minor(dev) == p->index) {
			p->sid = st->session;
			p->fg_pgid = st->tpgid > 0 ? st->tpgid : 0;
		}
	}
}

/*
 * The state of a pty whose master is not in the tree, through a slave
 * file: no queues, no packet mode or lock (master-side), no flow state
 * (doc/pty.md section 9).
 */
static int state_external(struct ck_ttys *tt, int at)
{
	struct ck_pty *p = &tt->ptys[at];
	int s = live_slave(tt, at), ret = 0;

	/* with only dead files (a gone master, or a hangup) nothing can be read */
	if (s < 0)
		tty_line_default(&p->line);
	else
		ret = tty_line_read_slave(s, &p->line);
	if (ret) {
		log_error("pid %d: pty %u: cannot read its state: %s",
			  tt->files[slave_file(tt, at)].pid, p->index, strerror(-ret));
		return ret;
	}
	if (p->line.excl_slave)
		p->sflags |= TTYS_EXCL;
	if (p->sflags & TTYS_EXTERNAL)
		external_session(tt, p);
	if (has_slave_files(tt, at))
		p->sflags |= TTYS_OPENED;
	return 0;
}

/* The put-back's I/O touched the node's times (2.11): they are put back too. */
static int restore_node_times(const struct ck_pty *p)
{
	struct timespec times[2] = { p->node.st_atim, p->node.st_mtim };
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", p->peer);
	return utimensat(AT_FDCWD, proc, times, 0) < 0 ? -errno : 0;
}

static int keeper_sync = -1; /* in the keeper under fault injection: its line to cryo */

/* Under fault injection, the keeper waits here for cryo to have its fault (or die). */
static void keeper_pause(void)
{
	char c = 'g';

	if (keeper_sync >= 0 && write(keeper_sync, &c, 1) == 1)
		while (read(keeper_sync, &c, 1) < 0 && errno == EINTR)
			;
}

/*
 * Gathers the queues of a pty of the tree and puts them straight back
 * (doc/pty.md 5.5 and 5.6). Without a live slave file of the tree, cryo
 * opens one when the slave was opened before (the master says so, or dead
 * files exist); a slave never opened, or open only outside the tree, is
 * not opened: that would change what the master sees (2.10).
 */
static int state_paired(struct ck_ttys *tt, int at)
{
	struct ck_pty *p = &tt->ptys[at];
	struct ck_file *mf = &tt->files[p->master];
	struct pollfd pm = { .fd = mf->cfd, .events = POLLIN };
	int s = read_write_slave(tt, at), own = -1, zero = 0, one = 1, excl = 0, ret, err;
	const char *step = "reading its state";

	if (poll(&pm, 1, 0) == 1 && (pm.revents & POLLHUP))
		p->mflags |= TTYM_SLAVE_CLOSED;
	if (s >= 0 && slave_poisoned(s)) {
		/* its files cannot be used: an open of cryo's own cures it; poisoned again after */
		p->sflags |= TTYS_IO_ERROR;
		s = -1;
	}
	ret = tty_line_read(mf->cfd, s, &p->line);
	if (!ret && s < 0 && (has_slave_files(tt, at) || (p->mflags & TTYM_SLAVE_CLOSED))) {
		/* the slave is or was open: one more open changes nothing the master sees */
		if (p->line.pty_locked)
			ioctl(mf->cfd, TIOCSPTLCK, &zero); /* or the open fails and poisons it */
		s = own = ioctl(mf->cfd, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (s < 0 || ioctl(s, TIOCGEXCL, &excl) < 0)
			ret = -errno;
		p->line.excl_slave = excl;
	}
	if (!ret && s >= 0) {
		step = "reading its queues";
		ret = tty_line_gather(mf->cfd, s, &p->line);
		keeper_pause();
		/* put back at once, whatever was gathered: leave-running, --kill and failure alike
		 */
		err = tty_line_apply(mf->cfd, s, &p->line, &step);
		ret = ret ? ret : err;
	}
	if (own >= 0)
		close(own);
	/* whatever failed above, the pair goes back to how it was */
	err = (p->sflags & TTYS_IO_ERROR) ? tty_poison_slave(mf->cfd) : 0;
	if (p->line.pty_locked && ioctl(mf->cfd, TIOCSPTLCK, &one) < 0 && !err)
		err = -errno;
	if (!err)
		err = restore_node_times(p);
	if (!ret && err) {
		ret = err;
		step = "putting back its lock, error state or node times";
	}
	if (ret) {
		log_error("pid %d fd %d: pty %u: %s: %s", mf->pid, mf->fd, p->index, step,
			  strerror(-ret));
		return ret;
	}
	if (ioctl(mf->cfd, TIOCGSID, &p->sid) < 0)
		p->sid = 0; /* ENOTTY: nobody's controlling terminal */
	if (p->sid && ioctl(mf->cfd, TIOCGPGRP, &p->fg_pgid) < 0)
		p->fg_pgid = 0;
	if (!p->sid)
		p->fg_pgid = 0;
	if (has_slave_files(tt, at) || (p->mflags & TTYM_SLAVE_CLOSED))
		p->sflags |= TTYS_OPENED;
	if (p->line.pty_locked)
		p->mflags |= TTYM_LOCKED;
	if (p->line.packet)
		p->mflags |= TTYM_PACKET;
	if (p->line.excl_master)
		p->mflags |= TTYM_EXCL;
	if (p->line.excl_slave)
		p->sflags |= TTYS_EXCL;
	if (major(mf->st.st_dev) != major(p->dev) || minor(mf->st.st_dev) != minor(p->dev))
		p->mflags |= TTYM_VIA_DEV_PTMX;
	return 0;
}

static int state(struct ck_ttys *tt)
{
	for (size_t i = 0; i < tt->nr_ptys; i++) {
		int ret;

		if (tt->ptys[i].master >= 0)
			ret = state_paired(tt, (int)i);
		else
			ret = state_external(tt, (int)i);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * --- 3b. the queues' keeper ----------------------------------------------------------------
 * Reading a queue empties it; putting it back takes a while. Were cryo
 * killed in between, the bytes would be lost. So state() runs in a child,
 * the keeper, in a session of its own and deaf to signals: whatever
 * happens to cryo, it puts every pair back before it exits. What it read
 * comes back to cryo through shared memory (doc/reliability.md).
 */

struct keeper_slot {
	struct ck_pty pty; /* its line's pointers are the keeper's: see the offsets */
	uint64_t in_off, out_off, segs_off;
};

/* The most one pty takes: both queues at their limit, and the input's pieces. */
#define KEEPER_PTY_BYTES                                                                           \
	(2 * (uint64_t)CRYO_TTY_QUEUE_MAX +                                                        \
	 (uint64_t)CRYO_TTY_QUEUE_MAX * sizeof(struct rec_tty_seg))

static uint64_t put(uint8_t *area, uint64_t *at, const void *data, size_t len)
{
	uint64_t off = *at;

	if (len)
		memcpy(area + off, data, len);
	*at += ALIGN_UP(len, (size_t)8);
	return off;
}

/* In the keeper: what state() found, into AREA. */
static void keeper_hand_over(const struct ck_ttys *tt, uint8_t *area)
{
	struct keeper_slot *slots = (struct keeper_slot *)area;
	uint64_t at = tt->nr_ptys * sizeof(*slots);

	for (size_t i = 0; i < tt->nr_ptys; i++) {
		const struct tty_line *l = &tt->ptys[i].line;

		slots[i].pty = tt->ptys[i];
		slots[i].in_off = put(area, &at, l->in.data, l->in.len);
		slots[i].out_off = put(area, &at, l->out.data, l->out.len);
		slots[i].segs_off = put(area, &at, l->segs, l->nr_segs * sizeof(*l->segs));
	}
}

/* In cryo: the keeper's findings, copied into the ptys. */
static int keeper_take_over(struct ck_ttys *tt, const uint8_t *area)
{
	const struct keeper_slot *slots = (const struct keeper_slot *)area;

	for (size_t i = 0; i < tt->nr_ptys; i++) {
		const struct tty_line *kl = &slots[i].pty.line;
		struct ck_pty *p = &tt->ptys[i];
		int ret;

		tty_line_free(&p->line);
		*p = slots[i].pty;
		memset(&p->line.in, 0, sizeof(p->line.in));
		memset(&p->line.out, 0, sizeof(p->line.out));
		p->line.segs = NULL;
		p->line.nr_segs = p->line.segs_cap = 0;
		ret = tty_bytes_add(&p->line.in, area + slots[i].in_off, kl->in.len);
		if (!ret)
			ret = tty_bytes_add(&p->line.out, area + slots[i].out_off, kl->out.len);
		for (size_t k = 0; k < kl->nr_segs && !ret; k++) {
			const struct rec_tty_seg *seg =
			    (const struct rec_tty_seg *)(area + slots[i].segs_off) + k;

			ret = tty_line_add_seg(&p->line, seg->len, seg->end);
		}
		if (ret)
			return ret;
	}
	return 0;
}

static __attribute__((noreturn)) void keeper_main(struct ck_ttys *tt, uint8_t *area, int sync)
{
	sigset_t all;
	int ret;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	setsid();
	keeper_sync = sync;
	ret = state(tt);
	if (!ret)
		keeper_hand_over(tt, area);
	_exit(ret ? 1 : 0);
}

/* Waits for the keeper; under fault injection, has its fault while the queues are out. */
static int keeper_wait(pid_t root, pid_t pid, int sync)
{
	int status, ret = 0;
	char c;

	while (sync >= 0 && read(sync, &c, 1) == 1) {
		int err = fault_point("terminal queues read by the keeper, not yet put back");

		if (err && !ret) {
			log_error("pid %d: terminal queues: %s (injected fault)", root,
				  strerror(-err));
			ret = err;
		}
		c = 'c';
		if (write(sync, &c, 1) != 1)
			break;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (ret)
		return ret;
	/* a failure was said by the keeper itself */
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

static int state_kept(struct ck_ttys *tt)
{
	size_t len = tt->nr_ptys * (sizeof(struct keeper_slot) + KEEPER_PTY_BYTES);
	int sv[2] = { -1, -1 }, ret = 0;
	uint8_t *area;
	pid_t pid;

	if (!tt->nr_ptys)
		return 0;
	area = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE,
		    -1, 0);
	if (area == MAP_FAILED ||
	    (fault_active() && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)) {
		ret = -errno;
		log_error("pid %d: cannot set up the terminals' keeper: %s", tt->ctx->opts->pid,
			  strerror(-ret));
		if (area != MAP_FAILED)
			munmap(area, len);
		return ret;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if (sv[0] >= 0)
			close(sv[0]);
		keeper_main(tt, area, sv[1]);
	}
	if (sv[1] >= 0)
		close(sv[1]);
	if (pid < 0) {
		ret = -errno;
		log_error("pid %d: cannot start the terminals' keeper: %s", tt->ctx->opts->pid,
			  strerror(-ret));
	}
	if (!ret)
		ret = keeper_wait(tt->ctx->opts->pid, pid, sv[0]);
	if (!ret)
		ret = keeper_take_over(tt, area);
	if (sv[0] >= 0)
		close(sv[0]);
	munmap(area, len);
	return ret;
}

/* --- 4. records ---------------------------------------------------------------------- */

static uint32_t octal_option(const char *opts, const char *name, uint32_t dflt, bool *ret_set)
{
	size_t len = strlen(name);

	for (const char *p = opts; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, name, len) && p[len] == '=') {
			if (ret_set)
				*ret_set = true;
			return (uint32_t)strtoul(
			    p + len + 1, NULL,
			    !strcmp(name, "mode") || !strcmp(name, "ptmxmode") ? 8 : 10);
		}
	return dflt;
}

/* st_dev of PATH inside the task's root, 0 if it cannot be seen. */
static dev_t dev_in_root(pid_t pid, const char *path)
{
	char full[CRYO_PATH_MAX + 32];
	struct stat st;

	snprintf(full, sizeof(full), "/proc/%d/root%s", pid, path);
	return stat(full, &st) == 0 ? st.st_dev : 0;
}

static int write_devpts(struct ck_ttys *tt, dev_t dev, pid_t pid, uint32_t *ret_objref)
{
	struct proc_mount_list ml = { 0 };
	const struct proc_mount *mnt = NULL;
	struct rec_devpts r = { 0 };
	bool set;
	int ret;

	for (size_t i = 0; i < tt->nr_insts; i++)
		if (tt->insts[i].dev == dev) {
			*ret_objref = tt->insts[i].objref;
			return 0;
		}
	ret = proc_read_mountinfo(pid, &ml);
	if (ret) {
		log_error("pid %d: cannot read its mounts: %s", pid, strerror(-ret));
		return ret;
	}
	for (size_t i = 0; i < ml.nr; i++)
		if (!strcmp(ml.mounts[i].fstype, "devpts") &&
		    ml.mounts[i].dev_major == major(dev) && ml.mounts[i].dev_minor == minor(dev) &&
		    !strcmp(ml.mounts[i].root, "/")) {
			mnt = &ml.mounts[i];
			break;
		}
	if (!mnt) {
		log_error("pid %d: devpts instance %u:%u of its ptys is not mounted where it can "
			  "see it, not supported",
			  pid, major(dev), minor(dev));
		proc_mount_list_free(&ml);
		return -ENOTSUP;
	}
	{
		struct ck_devpts *n = realloc(tt->insts, (tt->nr_insts + 1) * sizeof(*n));

		if (!n) {
			proc_mount_list_free(&ml);
			return -ENOMEM;
		}
		tt->insts = n;
	}
	{
		struct obj_key key = { .hash = dev, .word = { dev } };
		bool is_new;

		ret = objhash_lookup_or_add(tt->ctx->objs, OBJ_DEVPTS, &key, &r.objref, &is_new);
	}
	r.dev_major = major(dev);
	r.dev_minor = minor(dev);
	set = false;
	r.uid = octal_option(mnt->super_options, "uid", 0, &set);
	r.flags |= set ? DEVPTS_SETUID : 0;
	set = false;
	r.gid = octal_option(mnt->super_options, "gid", 0, &set);
	r.flags |= set ? DEVPTS_SETGID : 0;
	r.mode = octal_option(mnt->super_options, "mode", 0600, NULL) & 07777;
	r.ptmxmode = octal_option(mnt->super_options, "ptmxmode", 0, NULL) & 07777;
	r.max = octal_option(mnt->super_options, "max", CRYO_PTY_INDEX_MAX, NULL);
	if (r.max == 0 || r.max > CRYO_PTY_INDEX_MAX)
		r.max = CRYO_PTY_INDEX_MAX;
	if (dev_in_root(pid, "/dev/pts") == dev)
		r.flags |= DEVPTS_DEFAULT; /* /dev/ptmx opens in the instance on /dev/pts (2.3) */
	if (dev_in_root(pid, mnt->point) != dev)
		r.flags |= DEVPTS_COVERED;
	if (proc_read_boot_id(r.boot_id))
		memset(r.boot_id, 0, sizeof(r.boot_id)); /* unknown: never the same boot */
	r.path_len = (uint32_t)strlen(mnt->point) + 1;
	if (!ret)
		ret =
		    image_write_rec(&tt->ctx->w, REC_DEVPTS, &r, sizeof(r), mnt->point, r.path_len);
	proc_mount_list_free(&ml);
	if (ret)
		return ret;
	tt->insts[tt->nr_insts++] = (struct ck_devpts){ .dev = dev, .objref = r.objref };
	*ret_objref = r.objref;
	return 0;
}

static uint64_t ns_of(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
}

static int new_objref(struct ck_ttys *tt, enum obj_kind kind, uint64_t a, uint64_t b, uint32_t *ret)
{
	struct obj_key key = { .hash = a * 1000003ull ^ b, .word = { a, b, kind } };
	bool is_new;

	return objhash_lookup_or_add(tt->ctx->objs, kind, &key, ret, &is_new);
}

static int write_queues(struct ck_ttys *tt, const struct ck_pty *p)
{
	const struct tty_line *l = &p->line;
	int ret = 0;

	if (l->nr_segs) {
		struct rec_tty_input in = {
			.tty_objref = p->s_objref,
			.nr_segs = (uint32_t)l->nr_segs,
			.data_len = (uint32_t)l->in.len,
		};
		size_t seg_bytes = l->nr_segs * sizeof(*l->segs);
		uint8_t *var = malloc(seg_bytes + l->in.len + 1);

		if (!var)
			return -ENOMEM;
		memcpy(var, l->segs, seg_bytes);
		if (l->in.len)
			memcpy(var + seg_bytes, l->in.data, l->in.len);
		ret = image_write_rec(&tt->ctx->w, REC_TTY_INPUT, &in, sizeof(in), var,
				      seg_bytes + l->in.len);
		free(var);
	}
	if (!ret && l->out.len) {
		struct rec_tty_output out = { .tty_objref = p->m_objref,
					      .data_len = (uint32_t)l->out.len };

		ret = image_write_rec(&tt->ctx->w, REC_TTY_OUTPUT, &out, sizeof(out), l->out.data,
				      l->out.len);
	}
	return ret;
}

static int write_pty(struct ck_ttys *tt, int at)
{
	struct ck_pty *p = &tt->ptys[at];
	struct rec_tty_slave s = { 0 };
	uint32_t devpts = 0;
	pid_t pid = tt->ctx->tasks[0].pid;
	int ret = 0;

	for (size_t i = 0; i < tt->nr_files; i++)
		if (tt->files[i].pty == at)
			pid = tt->files[i].pid;
	if (p->dev)
		ret = write_devpts(tt, p->dev, pid, &devpts);
	if (!ret && p->master >= 0) {
		const struct ck_file *mf = &tt->files[p->master];
		struct rec_tty_master m = {
			.file_objref = mf->objref,
			.devpts_objref = devpts,
			.index = p->index,
			.file_flags = mf->flags & (O_ACCMODE | O_APPEND | O_NONBLOCK),
			.flags = p->mflags,
			.pktstatus = p->line.packet ? p->line.pktstatus & TTY_PKT_MASK : 0,
		};

		/* a pending status of both kinds cannot be: the later one replaced the other */
		ret = new_objref(tt, OBJ_TTY, p->dev, (uint64_t)p->index << 1, &p->m_objref);
		m.objref = p->m_objref;
		if (!ret)
			ret = image_write_rec(&tt->ctx->w, REC_TTY_MASTER, &m, sizeof(m), NULL, 0);
	}
	if (!ret)
		ret = new_objref(tt, OBJ_TTY, p->dev, (uint64_t)p->index << 1 | 1, &p->s_objref);
	if (ret)
		return ret;
	s = (struct rec_tty_slave){
		.objref = p->s_objref,
		.master_objref = p->m_objref,
		.devpts_objref = devpts,
		.index = p->index,
		.flags = p->sflags,
		.stopped = p->line.stopped,
		.sid = p->sid,
		.fg_pgid = p->fg_pgid,
		.uid = p->node.st_uid,
		.gid = p->node.st_gid,
		.mode = p->node.st_mode & 07777,
		.atime_ns = ns_of(&p->node.st_atim),
		.mtime_ns = ns_of(&p->node.st_mtim),
		.termios = p->line.tio,
		.locked = p->line.locked,
		.ws_row = p->line.ws[0],
		.ws_col = p->line.ws[1],
		.ws_xpixel = p->line.ws[2],
		.ws_ypixel = p->line.ws[3],
	};
	ret = image_write_rec(&tt->ctx->w, REC_TTY_SLAVE, &s, sizeof(s), NULL, 0);
	for (size_t i = 0; i < tt->nr_files && !ret; i++) {
		const struct ck_file *f = &tt->files[i];
		struct rec_tty_file rf = {
			.objref = f->objref,
			.tty_objref = p->s_objref,
			.flags = f->flags & (O_ACCMODE | O_APPEND | O_NONBLOCK),
			.how = (f->end == TTY_END_DEVTTY ? TTYF_DEVTTY : 0) |
			       (f->dead ? TTYF_HUNGUP : 0),
		};

		if (f->pty == at && f->end != TTY_END_MASTER && !f->hidden)
			ret = image_write_rec(&tt->ctx->w, REC_TTY_FILE, &rf, sizeof(rf), NULL, 0);
	}
	if (!ret)
		ret = write_queues(tt, p);
	return ret;
}

/* The controlling terminal of each task: /proc/PID/stat's tty_nr, matched by session. */
static int write_ctty(struct ck_ttys *tt, struct ckpt_task *t)
{
	const struct proc_stat *st = &t->stat;
	dev_t dev = ctty_dev(st);
	unsigned int maj = major(dev), min = minor(dev);
	struct rec_tty_ctty c = { .task_objref = t->objref };

	if (t->zombie || !st->tty_nr)
		return 0;
	if (tty_end_of(makedev(maj, min)) != TTY_END_SLAVE) {
		log_error("pid %d: its controlling terminal is a terminal of another kind (%u:%u), "
			  "not supported",
			  t->pid, maj, min);
		return -ENOTSUP;
	}
	for (size_t i = 0; i < tt->nr_ptys; i++) {
		const struct ck_pty *p = &tt->ptys[i];

		if (p->index == min && p->sid == st->session && p->sid) {
			c.tty_objref = p->s_objref;
			break;
		}
	}
	if (!c.tty_objref) {
		log_error("pid %d: its controlling terminal (pty %u) belongs to another session",
			  t->pid, min);
		return -EINVAL;
	}
	return image_write_rec(&tt->ctx->w, REC_TTY_CTTY, &c, sizeof(c), NULL, 0);
}

static void free_ttys(struct ck_ttys *tt)
{
	for (size_t i = 0; i < tt->nr_files; i++)
		close(tt->files[i].cfd);
	for (size_t i = 0; i < tt->nr_ptys; i++) {
		if (tt->ptys[i].peer >= 0)
			close(tt->ptys[i].peer);
		tty_line_free(&tt->ptys[i].line);
	}
	free(tt->files);
	free(tt->ptys);
	free(tt->insts);
}

int tty_dump(struct ckpt_ctx *ctx)
{
	struct ck_ttys tt = { .ctx = ctx };
	int ret;

	ret = collect(&tt);
	if (!ret)
		ret = pair(&tt);
	if (!ret)
		ret = find_cttys(&tt);
	if (!ret)
		ret = state_kept(&tt);
	for (size_t i = 0; i < tt.nr_ptys && !ret; i++)
		ret = write_pty(&tt, (int)i);
	for (size_t i = 0; i < ctx->nr_tasks && !ret; i++)
		ret = write_ctty(&tt, &ctx->tasks[i]);
	free_ttys(&tt);
	return ret;
}
