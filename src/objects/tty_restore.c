// SPDX-License-Identifier: MIT
/*
 * Terminals at restart (doc/pty.md sections 6 to 8).
 *
 * The pairs are made by restart itself, before any task exists: a pty
 * that cannot be had (an instance that is gone, an index that is taken
 * under --pty-index=exact) fails the restart with nothing to undo, and the
 * one line saying a pty got another index can be printed. The tasks
 * inherit the descriptors through clone (rst_ctx.kept_fds) and take their
 * files from the objhash like any other file; only what must happen
 * inside a task is done there: taking the controlling terminal and
 * opening /dev/tty (tty_restore_ctty, tty_open_file). The last touches,
 * which need every file of the tree in place, come once the tasks are
 * complete (tty_restore_finish).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/rst.h"
#include "lib/fdpass.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "objects/tty_line.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

#define COVER_DEPTH 16 /* mounts a helper lifts off a covered devpts, at most */

/* One REC_DEVPTS: where its ptmx is now. */
struct rst_devpts {
	const struct rec_devpts *rec;
	dev_t dev;	 /* the instance it maps to */
	int ptmx_path;	 /* O_PATH descriptor of its ptmx node, -1 to use `ptmx` */
	char ptmx[4200]; /* a path that opens ptmx in the instance */
};

/* One pty being restored. */
struct rst_pty {
	const struct rec_tty_master *m; /* NULL for a gone master */
	const struct rec_tty_slave *s;
	const struct rst_devpts *inst;
	int master, slave, peer; /* restart's descriptors, -1 if none */
	uint32_t index;		 /* the index it got */
};

struct rst_ttys {
	struct rst_devpts *insts;
	size_t nr_insts;
	struct rst_devpts own; /* restart's own instance, for external terminals */
	struct rst_pty *ptys;
	size_t nr_ptys;
};

static const char *inst_path(const struct rec_devpts *d)
{
	return d ? (const char *)(d + 1) : "/dev/pts";
}

static bool is_external(const struct rec_tty_slave *s)
{
	return s->flags & TTYS_EXTERNAL;
}

/* An external terminal that --tty=none puts on /dev/null: no pty is made for it. */
static bool on_null(const struct rst_ctx *ctx, const struct rec_tty_slave *s)
{
	return is_external(s) && ctx->tty_mode == TTY_NONE;
}

/* Keeps FD for the tasks: moved above every fd of the image and listed. */
static int keep_fd(struct rst_ctx *ctx, int fd)
{
	int high, *n;

	if (fd < 0)
		return -errno; /* of the call that made FD */
	high = fcntl(fd, F_DUPFD_CLOEXEC, ctx->fd_floor);
	close(fd);
	if (high < 0)
		return -errno;
	n = realloc(ctx->kept_fds, (ctx->nr_kept_fds + 1) * sizeof(*n));
	if (!n) {
		close(high);
		return -ENOMEM;
	}
	ctx->kept_fds = n;
	ctx->kept_fds[ctx->nr_kept_fds++] = high;
	return high;
}

/* Closes FD, one of kept_fds, and takes it off the list. */
static void drop_kept(struct rst_ctx *ctx, int fd)
{
	for (size_t i = 0; i < ctx->nr_kept_fds; i++)
		if (ctx->kept_fds[i] == fd)
			ctx->kept_fds[i] = -1;
	close(fd);
}

/* --- instances (section 8) ----------------------------------------------------------- */

static bool same_boot(const struct rec_devpts *d)
{
	uint8_t id[16];

	return proc_read_boot_id(id) == 0 && !memcmp(id, d->boot_id, sizeof(id));
}

static int send_fd(int sock, int fd)
{
	return fdpass_send(sock, "f", 1, &fd, 1);
}

static int recv_fd(int sock)
{
	size_t nr;
	char data = 0;
	int fd, ret = fdpass_recv(sock, &data, 1, &fd, 1, &nr);

	if (!ret && nr != 1)
		ret = -EIO;
	return ret ? ret : fd;
}

/*
 * The ptmx of a covered devpts mount (2.3): a helper in a private mount
 * namespace lifts the mounts above it and sends back an O_PATH descriptor
 * of its ptmx node; opening /proc/self/fd/N then opens ptmx in it.
 */
static int covered_ptmx(const char *point, dev_t dev)
{
	char ptmx[4200];
	int sv[2], status, fd;
	pid_t pid;

	snprintf(ptmx, sizeof(ptmx), "%s/ptmx", point);
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid == 0) {
		struct stat st;
		int ret = -ENOENT;

		close(sv[0]);
		if (unshare(CLONE_NEWNS) == 0 &&
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
			for (int i = 0; i < COVER_DEPTH; i++) {
				if (stat(ptmx, &st) == 0 && st.st_dev == dev) {
					int p = open(ptmx, O_PATH | O_CLOEXEC);

					ret = p < 0 ? -errno : send_fd(sv[1], p);
					break;
				}
				if (umount2(point, MNT_DETACH) < 0)
					break;
			}
		_exit(ret ? 1 : 0);
	}
	close(sv[1]);
	fd = pid < 0 ? -errno : 0;
	if (pid > 0) {
		pid_t r;

		while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
			;
		fd = r == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? recv_fd(sv[0])
									       : -ENOENT;
	}
	close(sv[0]);
	return fd;
}

static int find_instance(struct rst_ctx *ctx, const struct rec_devpts *d, struct rst_devpts *out)
{
	const char *path = inst_path(d);
	dev_t saved = makedev(d->dev_major, d->dev_minor);
	struct proc_mount_list ml = { 0 };
	struct stat st;
	bool mounted = false;
	int ret;

	out->rec = d;
	out->ptmx_path = -1;
	ret = same_boot(d) ? proc_read_mountinfo(getpid(), &ml) : 0;
	if (ret) {
		log_error("cannot read restart's own mounts: %s", strerror(-ret));
		return ret;
	}
	for (size_t i = 0; i < ml.nr; i++)
		if (!strcmp(ml.mounts[i].fstype, "devpts") &&
		    ml.mounts[i].dev_major == d->dev_major &&
		    ml.mounts[i].dev_minor == d->dev_minor && !strcmp(ml.mounts[i].point, path))
			mounted = true;
	proc_mount_list_free(&ml);
	if (mounted) {
		out->dev = saved;
		snprintf(out->ptmx, sizeof(out->ptmx), "%s/ptmx", path);
		if (stat(out->ptmx, &st) == 0 && st.st_dev == saved)
			return 0;
		out->ptmx_path = covered_ptmx(path, saved);
		if (out->ptmx_path >= 0) {
			snprintf(out->ptmx, sizeof(out->ptmx), "/proc/self/fd/%d", out->ptmx_path);
			return 0;
		}
		log_error("devpts %s (%u:%u) is covered by another mount and cannot be reached: %s",
			  path, d->dev_major, d->dev_minor, strerror(-out->ptmx_path));
		return out->ptmx_path;
	}
	if ((d->flags & DEVPTS_DEFAULT) && stat("/dev/pts", &st) == 0) {
		/* after a reboot (or elsewhere): the instance /dev/ptmx opens in now */
		out->dev = st.st_dev;
		snprintf(out->ptmx, sizeof(out->ptmx), "/dev/ptmx");
		log_debug("devpts %s (%u:%u): restored into the one on /dev/pts (%u:%u)", path,
			  d->dev_major, d->dev_minor, major(st.st_dev), minor(st.st_dev));
		return 0;
	}
	(void)ctx;
	log_error("devpts instance of %s (%u:%u) is gone; restarting into a new devpts instance "
		  "needs mount namespaces, not supported yet",
		  path, d->dev_major, d->dev_minor);
	return -ENOENT;
}

/* Whether a pty of the tree lives in instance OBJREF: external ones get restart's own. */
static bool instance_needed(const struct rst_ctx *ctx, uint32_t objref)
{
	for (size_t i = 0; i < ctx->img->nr_recs; i++) {
		const struct image_record *r = &ctx->img->recs[i];
		const struct rec_tty_slave *s = r->payload;

		if (r->type == REC_TTY_SLAVE && s->devpts_objref == objref && !is_external(s))
			return true;
	}
	return false;
}

static int find_instances(struct rst_ctx *ctx, struct rst_ttys *tt)
{
	for (size_t i = 0; i < ctx->img->nr_recs; i++) {
		const struct image_record *r = &ctx->img->recs[i];
		struct rst_devpts *d;
		int ret;

		if (r->type != REC_DEVPTS ||
		    !instance_needed(ctx, ((const struct rec_devpts *)r->payload)->objref))
			continue;
		d = &tt->insts[tt->nr_insts];
		ret = find_instance(ctx, r->payload, d);
		if (ret)
			return ret;
		tt->nr_insts++;
		for (size_t k = 0; k + 1 < tt->nr_insts; k++)
			if (tt->insts[k].dev == d->dev) {
				log_error("devpts %s and %s would both be restored into %u:%u; two "
					  "instances cannot be merged",
					  inst_path(tt->insts[k].rec), inst_path(d->rec),
					  major(d->dev), minor(d->dev));
				return -ENOTSUP;
			}
	}
	return 0;
}

static const struct rst_devpts *instance_of(const struct rst_ttys *tt, uint32_t objref)
{
	for (size_t i = 0; i < tt->nr_insts; i++)
		if (tt->insts[i].rec->objref == objref)
			return &tt->insts[i];
	return NULL;
}

/* --- index (section 7) --------------------------------------------------------------- */

/*
 * Opens ptmx until it hands out WANT (each open takes the lowest free
 * index, 2.4), holding the lower ones meanwhile: -EBUSY when it hands out
 * a higher one, for then WANT is taken.
 */
static int open_at_index(const char *ptmx, int flags, uint32_t want, int *ret_fd)
{
	int *held = NULL, found = -1, ret = 0;
	size_t nr = 0;

	for (;;) {
		int fd = open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC | flags), idx, *n;

		if (fd < 0) {
			ret = errno == ENOSPC ? -EBUSY : -errno;
			break;
		}
		if (ioctl(fd, TIOCGPTN, &idx) < 0) {
			ret = -errno;
			close(fd);
			break;
		}
		if ((uint32_t)idx == want) {
			found = fd;
			break;
		}
		if ((uint32_t)idx > want) {
			close(fd);
			ret = -EBUSY;
			break;
		}
		n = realloc(held, (nr + 1) * sizeof(*n));
		if (!n) {
			close(fd);
			ret = -ENOMEM;
			break;
		}
		held = n;
		held[nr++] = fd;
	}
	for (size_t i = 0; i < nr; i++)
		close(held[i]);
	free(held);
	*ret_fd = found;
	return ret;
}

/*
 * Opens the pair at its saved index, or, when ANY (the saved index was
 * taken), at the lowest free one, saying so (section 7).
 */
static int open_pair(struct rst_ctx *ctx, struct rst_pty *p, bool any)
{
	const struct rst_devpts *inst = p->inst;
	const char *ptmx = inst->ptmx;
	int flags = p->m ? (int)(p->m->file_flags & (O_APPEND | O_NONBLOCK)) : 0;
	struct stat st;
	int zero = 0, fd = -1, ret = 0;

	/* a master opened through /dev/ptmx is opened so again when it leads to the instance */
	if (p->m && (p->m->flags & TTYM_VIA_DEV_PTMX) && stat("/dev/pts", &st) == 0 &&
	    st.st_dev == inst->dev)
		ptmx = "/dev/ptmx";
	if (!any) {
		ret = open_at_index(ptmx, flags, p->s->index, &fd);
		if (ret == -EBUSY && ctx->opts->pty_index_exact)
			log_error("pty %u (devpts %s): index taken; free it or restart without "
				  "--pty-index=exact",
				  p->s->index, inst_path(inst->rec));
		if (ret == -EBUSY)
			return ret;
	} else {
		fd = open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC | flags);
		ret = fd < 0 ? -errno : 0;
	}
	if (!ret && ioctl(fd, TIOCGPTN, &p->index) < 0)
		ret = -errno;
	if (!ret && ioctl(fd, TIOCSPTLCK, &zero) < 0)
		ret = -errno;
	if (ret) {
		if (fd >= 0)
			close(fd);
		log_error("pty %u (devpts %s): cannot open %s: %s", p->s->index,
			  inst_path(inst->rec), ptmx, strerror(-ret));
		return ret;
	}
	if (any && !is_external(p->s))
		log_warn("pty %u (devpts %s): index taken, restored as pty %u", p->s->index,
			 inst_path(inst->rec), p->index);
	p->master = keep_fd(ctx, fd);
	if (p->master < 0)
		return p->master;
	p->peer = keep_fd(ctx, ioctl(p->master, TIOCGPTPEER, O_PATH | O_NOCTTY | O_CLOEXEC));
	return p->peer < 0 ? p->peer : 0;
}

/* --- one pty (section 6) --------------------------------------------------------------- */

static int open_slave_file(struct rst_ctx *ctx, struct rst_pty *p, const struct rec_tty_file *f)
{
	int fd = ioctl(p->master, TIOCGPTPEER, (int)f->flags | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	fd = keep_fd(ctx, fd);
	return fd < 0 ? fd : objhash_set(ctx->objs, f->objref, OBJ_FILE, (uint64_t)fd);
}

/* Whether a task of the image gets the tty as its controlling terminal. */
static bool is_ctty(const struct rst_ctx *ctx, uint32_t tty_objref)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].ctty && ctx->tasks[i].ctty->tty_objref == tty_objref)
			return true;
	return false;
}

/* Files of the slave: the hung-up ones (HUNGUP set) or the live ones. */
static int open_files(struct rst_ctx *ctx, struct rst_pty *p, bool hungup)
{
	int ret = 0, one = -1;

	for (size_t i = 0; i < ctx->img->nr_recs && !ret; i++) {
		const struct image_record *r = &ctx->img->recs[i];
		const struct rec_tty_file *f = r->payload;
		uint64_t fd;

		if (r->type != REC_TTY_FILE || f->tty_objref != p->s->objref ||
		    !(f->how & TTYF_HUNGUP) != !hungup)
			continue;
		if ((f->how & TTYF_DEVTTY) && !hungup && is_ctty(ctx, p->s->objref))
			continue; /* opened through /dev/tty by its task (tty_open_file) */
		if ((f->how & TTYF_DEVTTY) && !hungup)
			log_warn("pty %u: a file opened through /dev/tty is restored as %s/%u (the "
				 "tty is nobody's controlling terminal now)",
				 p->s->index, inst_path(p->inst->rec), p->index);
		ret = open_slave_file(ctx, p, f);
		if (!ret && objhash_get(ctx->objs, f->objref, OBJ_FILE, &fd) == 0)
			one = (int)fd;
	}
	/* files open at the time of a vhangup are dead, later ones live (2.10) */
	if (!ret && hungup && one >= 0 && !(p->s->flags & TTYS_MASTER_GONE) &&
	    ioctl(one, TIOCVHANGUP) < 0)
		ret = -errno;
	return ret;
}

/* The saved line state and queues, in tty_line form. */
static int line_of(struct rst_ctx *ctx, const struct rst_pty *p, struct tty_line *l)
{
	const struct rec_tty_slave *s = p->s;
	int ret = 0;

	l->tio = s->termios;
	l->locked = s->locked;
	l->ws[0] = s->ws_row;
	l->ws[1] = s->ws_col;
	l->ws[2] = s->ws_xpixel;
	l->ws[3] = s->ws_ypixel;
	l->packet = p->m && (p->m->flags & TTYM_PACKET);
	l->pktstatus = p->m ? p->m->pktstatus : 0;
	l->excl_master = p->m && (p->m->flags & TTYM_EXCL);
	l->excl_slave = s->flags & TTYS_EXCL;
	l->stopped = s->stopped;
	for (size_t i = 0; i < ctx->img->nr_recs && !ret; i++) {
		const struct image_record *r = &ctx->img->recs[i];

		if (r->type == REC_TTY_INPUT &&
		    ((const struct rec_tty_input *)r->payload)->tty_objref == s->objref) {
			const struct rec_tty_input *in = r->payload;
			const struct rec_tty_seg *segs = (const void *)(in + 1);

			for (uint32_t k = 0; k < in->nr_segs && !ret; k++)
				ret = tty_line_add_seg(l, segs[k].len, segs[k].end);
			if (!ret)
				ret = tty_bytes_add(&l->in, segs + in->nr_segs, in->data_len);
		} else if (r->type == REC_TTY_OUTPUT && p->m &&
			   ((const struct rec_tty_output *)r->payload)->tty_objref ==
			       p->m->objref) {
			const struct rec_tty_output *out = r->payload;

			ret = tty_bytes_add(&l->out, out + 1, out->data_len);
		}
	}
	return ret;
}

/* Owner and mode of the slave node (2.11): through a slave file, or the O_PATH peer. */
static int set_owner(const struct rst_pty *p)
{
	char proc[64];

	if (p->slave >= 0)
		return fchown(p->slave, p->s->uid, p->s->gid) < 0 ||
			       fchmod(p->slave, p->s->mode) < 0
			   ? -errno
			   : 0;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", p->peer);
	return fchownat(p->peer, "", p->s->uid, p->s->gid, AT_EMPTY_PATH) < 0 ||
		       chmod(proc, p->s->mode) < 0
		   ? -errno
		   : 0;
}

/* --tty=none: every file of the external terminal is /dev/null, with its access mode. */
static int open_null_files(struct rst_ctx *ctx, const struct rst_pty *p)
{
	int ret = 0;

	for (size_t i = 0; i < ctx->img->nr_recs && !ret; i++) {
		const struct image_record *r = &ctx->img->recs[i];
		const struct rec_tty_file *f = r->payload;
		int fd;

		if (r->type != REC_TTY_FILE || f->tty_objref != p->s->objref)
			continue;
		fd = keep_fd(ctx, open("/dev/null", (int)(f->flags & O_ACCMODE) | O_CLOEXEC));
		ret = fd < 0 ? fd : objhash_set(ctx->objs, f->objref, OBJ_FILE, (uint64_t)fd);
	}
	if (ret)
		log_error("pty %u: cannot open /dev/null in its place: %s", p->s->index,
			  strerror(-ret));
	return ret;
}

static int restore_pty(struct rst_ctx *ctx, struct rst_pty *p)
{
	struct tty_line line = { 0 };
	const char *step = "opening its files";
	int ret = 0;

	if (on_null(ctx, p->s))
		return open_null_files(ctx, p);

	if (p->m)
		ret = objhash_set(ctx->objs, p->m->objref, OBJ_TTY, (uint64_t)p->master);
	if (!ret && p->m)
		ret = objhash_set(ctx->objs, p->m->file_objref, OBJ_FILE, (uint64_t)p->master);
	/* dead files first: the hangup resets the termios, and no session exists yet (6.3) */
	if (!ret)
		ret = open_files(ctx, p, true);
	if (!ret && (p->s->flags & TTYS_OPENED) && !(p->s->flags & TTYS_MASTER_GONE)) {
		p->slave =
		    keep_fd(ctx, ioctl(p->master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
		ret = p->slave < 0 ? p->slave : 0;
	}
	if (!ret && p->slave >= 0)
		ret = objhash_set(ctx->objs, p->s->objref, OBJ_TTY, (uint64_t)p->slave);
	if (!ret && !(p->s->flags & TTYS_MASTER_GONE)) {
		/* the live files before the exclusive flag, which would refuse them (2.9) */
		ret = open_files(ctx, p, false);
		if (!ret) {
			step = "setting the owner and mode of its node";
			ret = set_owner(p);
		}
		if (!ret) {
			step = "reading its queues from the image";
			ret = line_of(ctx, p, &line);
		}
		/* on restart's terminal: its size, not the saved one (the program redraws);
		 * a held one (--tty=new) keeps the saved size until a client attaches */
		if (!ret && is_external(p->s) && ctx->tty_mode == TTY_INHERIT &&
		    ioctl(STDIN_FILENO, TIOCGWINSZ, line.ws) < 0) {
			step = "reading the size of restart's terminal";
			ret = -errno;
		}
		if (!ret)
			ret = tty_line_apply(p->master, p->slave, &line, &step);
	}
	tty_line_free(&line);
	if (ret)
		log_error("pty %u (devpts %s): %s: %s", p->s->index, inst_path(p->inst->rec), step,
			  strerror(-ret));
	return ret;
}

/* --- checks before anything is made -------------------------------------------------- */

static bool pgid_in_image(const struct rst_ctx *ctx, int32_t pgid)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].task->pgid == pgid)
			return true;
	return false;
}

static bool leader_has_ctty(const struct rst_ctx *ctx, pid_t sid, uint32_t tty_objref)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		const struct rst_task *t = &ctx->tasks[i];

		if (t->pid == sid && !t->zombie && t->ctty && t->ctty->tty_objref == tty_objref)
			return true;
	}
	return false;
}

/*
 * An external terminal (its master was outside the tree) goes where --tty
 * says (doc/pty.md section 9): on restart's own terminal, through a new
 * pty that restart relays to it (inherit), or on /dev/null (none). One
 * terminal can speak for one external terminal only.
 */
static int check_external(const struct rst_ctx *ctx, const struct rec_tty_slave *s, bool *seen)
{
	const struct image_record *d =
	    s->devpts_objref ? image_obj_record(ctx->img, s->devpts_objref, OBJ_DEVPTS) : NULL;
	const char *path = d ? inst_path(d->payload) : "unknown";

	if (ctx->tty_mode == TTY_NEW && !ctx->opts->on_running) {
		/* the caller did not say who holds the new pty's master */
		log_error("pty %u (devpts %s) is an external terminal; --tty=new has no holder "
			  "for its new pty here: restart it on a terminal (--tty=inherit), or "
			  "with --tty=none",
			  s->index, path);
		return -ENOTSUP;
	}
	if (ctx->tty_mode == TTY_INHERIT && ctx->opts->detach) {
		log_error("pty %u (devpts %s) is an external terminal; --tty=inherit puts it on "
			  "restart's terminal, which needs restart in the foreground (no --detach)",
			  s->index, path);
		return -EINVAL;
	}
	if (ctx->tty_mode == TTY_INHERIT && !isatty(STDIN_FILENO)) {
		log_error("pty %u (devpts %s) is an external terminal; --tty=inherit puts it on "
			  "restart's terminal, but restart's stdin is not one",
			  s->index, path);
		return -ENOTTY;
	}
	if (ctx->tty_mode != TTY_NONE && *seen) {
		log_error("pty %u (devpts %s) is a second external terminal; one pty of restart's "
			  "(--tty=inherit or new) can stand for one only: restart with --tty=none",
			  s->index, path);
		return -ENOTSUP;
	}
	*seen = true;
	return 0;
}

/*
 * The root of the image is a job of a session whose leader stays out (the
 * user's shell), on an external terminal coming back on a new pty: the
 * root leads a new session of its own there, which its descendants of
 * that session join as they are made. Its session id changes: said so.
 */
static void root_leads_new_session(struct rst_ctx *ctx, const struct rec_tty_slave *s)
{
	struct rst_task *root = &ctx->tasks[0];
	pid_t sid = root->task->sid;

	if (!is_external(s) || ctx->tty_mode == TTY_NONE || sid == root->pid || !root->ctty ||
	    root->ctty->tty_objref != s->objref)
		return;
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].pid == sid)
			return; /* its leader is in the image */
	/*
	 * On restart's terminal, a keeper of cryo's leads the session and is
	 * the root's parent: the root's group is not orphaned, so a stop key
	 * stops the job, as it did under the user's shell. On a held pty the
	 * root leads the session itself.
	 */
	if (ctx->tty_mode == TTY_INHERIT)
		ctx->keeper_wanted = true;
	else
		root->new_session = true;
	log_warn("pid %d: its session %d, whose leader is not in the image, comes back as a new "
		 "session led by %s, on a new terminal",
		 root->pid, sid, ctx->keeper_wanted ? "cryo" : "itself");
}

static int check_slave(struct rst_ctx *ctx, const struct rec_tty_slave *s, bool *external)
{
	const struct rst_task *root = &ctx->tasks[0];
	bool has_ctty = false;
	int ret;

	if (is_external(s) && (ret = check_external(ctx, s, external)))
		return ret;
	if (on_null(ctx, s))
		return 0; /* nobody's controlling terminal: /dev/null stands for it */
	root_leads_new_session(ctx, s);
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		const struct rst_task *t = &ctx->tasks[i];

		if (!t->ctty || t->ctty->tty_objref != s->objref)
			continue;
		/* a member gets it from the leader: the leader must be restored with it */
		if (t->task->sid != t->pid && !leader_has_ctty(ctx, t->task->sid, s->objref) &&
		    !((root->new_session || ctx->keeper_wanted) &&
		      t->task->sid == root->task->sid)) {
			log_error(
			    "pid %d: its controlling terminal is pty %u, but it does not lead "
			    "its session %d, whose leader is not in the image; not supported yet",
			    t->pid, s->index, t->task->sid);
			return -ENOTSUP;
		}
		has_ctty = true;
	}
	if (s->sid && !has_ctty)
		log_warn("pty %u: the controlling terminal of session %d, which is not in the "
			 "image; restored as nobody's controlling terminal",
			 s->index, s->sid);
	else if (s->fg_pgid && !pgid_in_image(ctx, s->fg_pgid))
		log_warn("pty %u: its foreground process group %d is not in the image; the "
			 "session leader's group is the foreground one",
			 s->index, s->fg_pgid);
	return 0;
}

/* --- entry points ------------------------------------------------------------------------ */

void tty_restore_close(struct rst_ctx *ctx)
{
	struct rst_ttys *tt = ctx->ttys;

	for (size_t i = 0; i < ctx->nr_kept_fds; i++)
		if (ctx->kept_fds[i] >= 0)
			close(ctx->kept_fds[i]);
	free(ctx->kept_fds);
	ctx->kept_fds = NULL;
	ctx->nr_kept_fds = 0;
	if (!tt)
		return;
	for (size_t i = 0; i < tt->nr_insts; i++)
		if (tt->insts[i].ptmx_path >= 0)
			close(tt->insts[i].ptmx_path);
	free(tt->insts);
	free(tt->ptys);
	free(tt);
	ctx->ttys = NULL;
}

static int count_ptys(struct rst_ctx *ctx, struct rst_ttys *tt)
{
	size_t insts = 0, slaves = 0;

	for (size_t i = 0; i < ctx->img->nr_recs; i++) {
		insts += ctx->img->recs[i].type == REC_DEVPTS;
		slaves += ctx->img->recs[i].type == REC_TTY_SLAVE;
	}
	tt->insts = calloc(insts + 1, sizeof(*tt->insts));
	tt->ptys = calloc(slaves + 1, sizeof(*tt->ptys));
	return tt->insts && tt->ptys ? 0 : -ENOMEM;
}

/*
 * Reaching index N holds one descriptor per free lower index (2.4): the
 * soft limit on descriptors goes up to the hard one for that. The task's
 * own limits are set from the image later, in the task.
 */
static void raise_fd_limit(void)
{
	struct rlimit lim;

	if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
		lim.rlim_cur = lim.rlim_max;
		setrlimit(RLIMIT_NOFILE, &lim);
	}
}

int tty_restore_open(struct rst_ctx *ctx)
{
	struct rst_ttys *tt = calloc(1, sizeof(*tt));
	bool external = false;
	int ret;

	if (!tt)
		return -ENOMEM;
	ctx->ttys = tt;
	tt->own.ptmx_path = -1;
	snprintf(tt->own.ptmx, sizeof(tt->own.ptmx), "/dev/ptmx");
	raise_fd_limit();
	ctx->tty_mode = ctx->opts->tty != TTY_AUTO		     ? ctx->opts->tty
			: isatty(STDIN_FILENO) && !ctx->opts->detach ? TTY_INHERIT
								     : TTY_NEW;
	ret = count_ptys(ctx, tt);
	for (size_t i = 0; i < ctx->img->nr_recs && !ret; i++)
		if (ctx->img->recs[i].type == REC_TTY_SLAVE)
			ret = check_slave(ctx, ctx->img->recs[i].payload, &external);
	if (!ret)
		ret = find_instances(ctx, tt);
	for (size_t i = 0; i < ctx->img->nr_recs && !ret; i++) {
		const struct image_record *r = &ctx->img->recs[i];
		const struct rec_tty_slave *s = r->payload;
		struct rst_pty *p;

		if (r->type != REC_TTY_SLAVE)
			continue;
		p = &tt->ptys[tt->nr_ptys++];
		*p = (struct rst_pty){ .s = s, .master = -1, .slave = -1, .peer = -1 };
		if (s->master_objref)
			p->m = image_obj_record(ctx->img, s->master_objref, OBJ_TTY)->payload;
		/* an external terminal gets a new pty of restart's own, at any index */
		p->inst = is_external(s) ? &tt->own : instance_of(tt, s->devpts_objref);
		ret = p->inst ? 0 : -EINVAL;
	}
	/* every saved index that is free first: a displaced pty must not displace another */
	for (size_t i = 0; i < tt->nr_ptys && !ret; i++) {
		if (is_external(tt->ptys[i].s))
			continue;
		ret = open_pair(ctx, &tt->ptys[i], false);
		if (ret == -EBUSY && !ctx->opts->pty_index_exact)
			ret = 0;
	}
	for (size_t i = 0; i < tt->nr_ptys && !ret; i++)
		if (tt->ptys[i].master < 0 && !on_null(ctx, tt->ptys[i].s)) {
			ret = open_pair(ctx, &tt->ptys[i], true);
			if (!ret && is_external(tt->ptys[i].s))
				ctx->external_master = tt->ptys[i].master;
		}
	for (size_t i = 0; i < tt->nr_ptys && !ret; i++)
		ret = restore_pty(ctx, &tt->ptys[i]);
	if (ret == -ENOMEM)
		log_error("%s: out of memory restoring its terminals", ctx->opts->image);
	return ret;
}

/*
 * Once every task holds its files (doc/pty.md 6.17): restart's slave
 * descriptor goes (the master sees "slave closed" again where it did), a
 * poisoned slave is poisoned again, the pty lock and the node times come
 * back, and a gone master goes.
 */
int tty_restore_finish(struct rst_ctx *ctx)
{
	struct rst_ttys *tt = ctx->ttys;
	int first = 0;

	for (size_t i = 0; tt && i < tt->nr_ptys; i++) {
		struct rst_pty *p = &tt->ptys[i];
		struct timespec times[2] = {
			{ .tv_sec = (time_t)(p->s->atime_ns / 1000000000u),
			  .tv_nsec = (long)(p->s->atime_ns % 1000000000u) },
			{ .tv_sec = (time_t)(p->s->mtime_ns / 1000000000u),
			  .tv_nsec = (long)(p->s->mtime_ns % 1000000000u) },
		};
		const char *what = NULL;
		char proc[64];
		int one = 1, ret = 0;

		if (p->master < 0 && is_external(p->s))
			continue; /* --tty=none: nothing of it was made */
		if (p->slave >= 0) {
			drop_kept(ctx, p->slave);
			p->slave = -1;
		}
		if ((p->s->flags & TTYS_IO_ERROR) && (ret = tty_poison_slave(p->master)))
			what = "poison its slave again";
		if (!ret && p->m && (p->m->flags & TTYM_LOCKED) &&
		    ioctl(p->master, TIOCSPTLCK, &one) < 0) {
			ret = -errno;
			what = "lock it";
		}
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", p->peer);
		if (!ret && !(p->s->flags & TTYS_MASTER_GONE) &&
		    utimensat(AT_FDCWD, proc, times, 0) < 0) {
			ret = -errno;
			what = "set its node times";
		}
		if (ret) {
			log_error("pty %u (devpts %s): cannot %s: %s", p->s->index,
				  inst_path(p->inst->rec), what, strerror(-ret));
			first = first ? first : ret;
		}
		/* --tty=inherit: restart keeps the master, to relay */
		if (!ret && is_external(p->s) && p->master >= 0 &&
		    (ctx->relay_fd = fcntl(p->master, F_DUPFD_CLOEXEC, 3)) < 0) {
			first = first ? first : -errno;
			log_error("pty %u: cannot keep its master: %s", p->s->index,
				  strerror(errno));
		}
	}
	ctx->external_master = -1;
	tty_restore_close(ctx);
	return first;
}

/*
 * The controlling terminal of a task, through the slave restart opened;
 * when the slave had no open file of the tree's, one opened and closed for
 * the purpose (doc/pty.md 6.14, 6.15).
 */
static int take_ctty(struct rst_ctx *ctx, struct rst_task *t, const struct rec_tty_slave *s)
{
	uint64_t fd, master;
	int tmp = -1, ret = 0;

	if (objhash_get(ctx->objs, s->objref, OBJ_TTY, &fd)) {
		if (!s->master_objref || objhash_get(ctx->objs, s->master_objref, OBJ_TTY, &master))
			return rst_fail(ctx, -ENOENT,
					"pid %d: its controlling terminal pty %u has no open file",
					t->pid, s->index);
		tmp = ioctl((int)master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (tmp < 0)
			return rst_fail(ctx, -errno, "pid %d: cannot open pty %u: %s", t->pid,
					s->index, strerror(errno));
		fd = (uint64_t)tmp;
	}
	/* the leader takes it; the other tasks of the session inherited it from their parent */
	if ((t->task->sid == t->pid || t->new_session) && ioctl((int)fd, TIOCSCTTY, 0) < 0)
		ret =
		    rst_fail(ctx, -errno, "pid %d: cannot make pty %u its controlling terminal: %s",
			     t->pid, s->index, strerror(errno));
	if (!ret && s->fg_pgid == t->task->pgid && s->fg_pgid && tcsetpgrp((int)fd, s->fg_pgid) < 0)
		ret = rst_fail(ctx, -errno,
			       "pid %d: cannot make group %d the foreground of pty %u: %s", t->pid,
			       s->fg_pgid, s->index, strerror(errno));
	if (tmp >= 0)
		close(tmp);
	return ret;
}

/* In the restored task, after its session exists (doc/pty.md 6.14, 6.15). */
int tty_restore_ctty(struct rst_ctx *ctx, struct rst_task *t)
{
	const struct rec_tty_slave *s =
	    t->ctty ? image_obj_record(ctx->img, t->ctty->tty_objref, OBJ_TTY)->payload : NULL;
	int fd;

	if (s && !on_null(ctx, s))
		return take_ctty(ctx, t, s);
	if (s)
		return 0; /* --tty=none: the session has no controlling terminal any more */
	if (t->task->sid == t->pid)
		return 0; /* a new session has no controlling terminal */
	/*
	 * A task of a session inherits its parent's controlling terminal; one
	 * that had none (it was forked before the leader took it, or it let go
	 * with TIOCNOTTY) drops it, which touches no other task (2.12).
	 */
	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (ioctl(fd, TIOCNOTTY) < 0) {
		int err = errno;

		close(fd);
		return rst_fail(ctx, -err, "pid %d: cannot let go of its controlling terminal: %s",
				t->pid, strerror(err));
	}
	close(fd);
	return 0;
}

/* A tty file only a task can open: /dev/tty, once its controlling terminal is back. */
int tty_open_file(struct rst_ctx *ctx, const struct rec_tty_file *f, int *ret_fd)
{
	int fd;

	if (!(f->how & TTYF_DEVTTY))
		return rst_fail(ctx, -ENOENT, "pid %d file objref %u: the tty file was not opened",
				ctx->pid, f->objref);
	fd = open("/dev/tty", (int)f->flags | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return rst_fail(ctx, -errno, "pid %d file objref %u: cannot open /dev/tty: %s",
				ctx->pid, f->objref, strerror(errno));
	return files_move_high(ctx, fd, f->objref, ret_fd);
}
