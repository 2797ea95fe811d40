// SPDX-License-Identifier: MIT
/*
 * Pipes and FIFOs (REC_PIPE, REC_PIPE_FILE, REC_PIPE_DATA; doc/trees.md).
 *
 * A pipe is a shared object: its files (one per open file description,
 * found with kcmp like any file) point at it, and fds point at the files.
 * Both ends must be in the tree: a pipe to a process outside cannot be
 * reconnected at restart, and is refused by name.
 *
 * The bytes buffered in a pipe are copied out with tee(2), which does not
 * consume them (doc/tree-experiments t01): a checkpoint leaves the pipe as
 * it was, and there is nothing to put back. At restart the pipe is made
 * again (pipe2, or the FIFO opened read-write by path), given its size,
 * refilled, and each file is a new open of it through /proc/self/fd (or
 * the FIFO's path), with its own flags.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/ckpt.h"
#include "core/rst.h"
#include "lib/log.h"
#include "lib/util.h"

struct ck_pipe_file {
	pid_t pid;
	int fd;
	uint32_t objref, flags;
	size_t pipe; /* index into ck_pipes.pipes */
};

struct ck_pipe {
	dev_t dev;
	ino_t ino;
	char path[CRYO_PATH_MAX]; /* "pipe:[N]", or the FIFO's path */
	bool fifo, readers, writers;
	pid_t pid; /* a task with a file of it, and that fd, for reading it */
	int fd;
	int read_fd; /* a fd of the same task that can read it, -1 if none */
};

struct ck_pipes {
	struct ck_pipe_file *files;
	size_t nr_files;
	struct ck_pipe *pipes;
	size_t nr_pipes;
};

static struct ck_pipe *find_pipe(struct ck_pipes *pp, const struct stat *st, size_t *ret_at)
{
	for (size_t i = 0; i < pp->nr_pipes; i++)
		if (pp->pipes[i].dev == st->st_dev && pp->pipes[i].ino == st->st_ino) {
			*ret_at = i;
			return &pp->pipes[i];
		}
	return NULL;
}

static int add_pipe_file(struct ckpt_ctx *ctx, struct ck_pipes *pp, pid_t pid, int fd,
			 const struct stat *st)
{
	struct proc_fdinfo info;
	struct ck_pipe *p;
	char link[32];
	uint32_t objref;
	size_t at;
	bool is_new;
	int ret;

	ret = files_lookup_fd(ctx, pid, fd, st, &objref, &is_new);
	if (ret || !is_new)
		return ret;
	ret = proc_read_fdinfo(pid, fd, &info);
	if (ret) {
		log_error("pid %d fd %d: cannot inspect it: %s", pid, fd, strerror(-ret));
		return ret;
	}
	p = find_pipe(pp, st, &at);
	if (!p) {
		struct ck_pipe *n = realloc(pp->pipes, (pp->nr_pipes + 1) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		pp->pipes = n;
		at = pp->nr_pipes++;
		p = &pp->pipes[at];
		*p = (struct ck_pipe){
			.dev = st->st_dev, .ino = st->st_ino, .pid = pid, .fd = fd, .read_fd = -1
		};
		snprintf(link, sizeof(link), "fd/%d", fd);
		ret = proc_readlink(pid, link, p->path, sizeof(p->path));
		if (ret)
			return ret;
		p->fifo = p->path[0] == '/';
	}
	if (info.flags & (O_DIRECT | O_ASYNC) || (p->fifo && strstr(p->path, " (deleted)"))) {
		log_error("pid %d fd %d: %s is a packet-mode or O_ASYNC pipe, or a deleted FIFO; "
			  "not supported yet",
			  pid, fd, p->path);
		return -ENOTSUP;
	}
	if ((info.flags & O_ACCMODE) != O_WRONLY) {
		p->readers = true;
		if (p->read_fd < 0 && p->pid == pid)
			p->read_fd = fd;
	}
	if ((info.flags & O_ACCMODE) != O_RDONLY)
		p->writers = true;
	{
		struct ck_pipe_file *n = realloc(pp->files, (pp->nr_files + 1) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		pp->files = n;
		pp->files[pp->nr_files++] = (struct ck_pipe_file){
			.pid = pid,
			.fd = fd,
			.objref = objref,
			.flags = info.flags & PIPE_FILE_FLAGS,
			.pipe = at,
		};
	}
	return 0;
}

struct collect_arg {
	struct ckpt_ctx *ctx;
	struct ck_pipes *pp;
};

static int collect_one(void *arg, pid_t pid, int fd, const struct stat *st)
{
	struct collect_arg *c = arg;

	return S_ISFIFO(st->st_mode) ? add_pipe_file(c->ctx, c->pp, pid, fd, st) : 0;
}

static int collect(struct ckpt_ctx *ctx, struct ck_pipes *pp)
{
	struct collect_arg c = { ctx, pp };

	return ckpt_for_each_fd(ctx, collect_one, &c);
}

/*
 * The buffered bytes, copied by tee(2) into a pipe of the same size and
 * read from there: the pipe itself keeps them. A pipe with readers only in
 * another task than the one noted is read through a reader of its own.
 */
static int read_buffered(struct ck_pipe *p, uint32_t *ret_size, char **ret_data, size_t *ret_len)
{
	int src = -1, tmp[2] = { -1, -1 }, size, ret = 0;
	char *data = NULL;
	ssize_t n = 0;

	src = ckpt_fetch_fd(p->pid, p->read_fd >= 0 ? p->read_fd : p->fd);
	if (src < 0)
		return src;
	size = fcntl(src, F_GETPIPE_SZ);
	if (size < 0)
		ret = -errno;
	if (!ret && p->read_fd < 0) {
		/* only a writer at hand here: a reader of cryo's own, through /proc */
		char proc[32];
		int r;

		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", src);
		r = open(proc, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (r < 0)
			ret = -errno;
		close(src);
		src = r;
	}
	if (!ret &&
	    (pipe2(tmp, O_CLOEXEC | O_NONBLOCK) < 0 || fcntl(tmp[1], F_SETPIPE_SZ, size) < size))
		ret = -errno;
	data = ret ? NULL : malloc((size_t)size);
	if (!ret && !data)
		ret = -ENOMEM;
	if (!ret) {
		n = tee(src, tmp[1], (size_t)size, SPLICE_F_NONBLOCK);
		if (n < 0 && errno == EAGAIN)
			n = 0; /* empty */
		if (n > 0)
			n = read(tmp[0], data, (size_t)n);
		if (n < 0)
			ret = -errno;
	}
	if (src >= 0)
		close(src);
	if (tmp[0] >= 0)
		close(tmp[0]);
	if (tmp[1] >= 0)
		close(tmp[1]);
	if (ret) {
		free(data);
		return ret;
	}
	*ret_size = (uint32_t)size;
	*ret_data = data;
	*ret_len = (size_t)n;
	return 0;
}

static int write_pipe(struct ckpt_ctx *ctx, struct ck_pipes *pp, size_t at)
{
	struct ck_pipe *p = &pp->pipes[at];
	struct rec_pipe r = { 0 };
	struct obj_key key = { .hash = p->dev * 1000003ull ^ p->ino, .word = { p->dev, p->ino } };
	char *data = NULL;
	size_t len = 0;
	bool is_new;
	int ret;

	if (!p->readers || !p->writers) {
		log_error("pid %d fd %d: %s is a pipe whose other end is outside the tree; not "
			  "supported yet",
			  p->pid, p->fd, p->path);
		return -ENOTSUP;
	}
	ret = read_buffered(p, &r.size, &data, &len);
	if (ret) {
		log_error("pid %d fd %d: %s: cannot read what it holds: %s", p->pid, p->fd, p->path,
			  strerror(-ret));
		return ret;
	}
	ret = objhash_lookup_or_add(ctx->objs, OBJ_PIPE, &key, &r.objref, &is_new);
	r.path_len = p->fifo ? (uint32_t)strlen(p->path) + 1 : 0;
	if (!ret)
		ret = image_write_rec(&ctx->w, REC_PIPE, &r, sizeof(r), p->path, r.path_len);
	for (size_t i = 0; i < pp->nr_files && !ret; i++) {
		const struct ck_pipe_file *f = &pp->files[i];
		struct rec_pipe_file rf = { .objref = f->objref,
					    .pipe_objref = r.objref,
					    .flags = f->flags };

		if (f->pipe == at)
			ret = image_write_rec(&ctx->w, REC_PIPE_FILE, &rf, sizeof(rf), NULL, 0);
	}
	if (!ret && len) {
		struct rec_pipe_data d = { .pipe_objref = r.objref, .data_len = (uint32_t)len };

		ret = image_write_rec(&ctx->w, REC_PIPE_DATA, &d, sizeof(d), data, len);
	}
	free(data);
	return ret;
}

int pipe_dump(struct ckpt_ctx *ctx)
{
	struct ck_pipes pp = { 0 };
	int ret = collect(ctx, &pp);

	for (size_t i = 0; i < pp.nr_pipes && !ret; i++)
		ret = write_pipe(ctx, &pp, i);
	free(pp.files);
	free(pp.pipes);
	return ret;
}

/* --- restart ------------------------------------------------------------------------- */

/* The objhash keeps a pipe's two descriptors in one value (task.c closes both). */
#define PIPE_FDS(r, w) ((uint64_t)(uint32_t)(r) << 32 | (uint32_t)(w))

static int move_high(struct rst_ctx *ctx, int fd)
{
	int high = fcntl(fd, F_DUPFD_CLOEXEC, ctx->high_fd);

	close(fd);
	return high < 0 ? -errno : high;
}

/* The pipe itself, made once: its two ends (one read-write fd for a FIFO), refilled. */
static int make_pipe(struct rst_ctx *ctx, const struct rec_pipe *p, int *ret_r, int *ret_w)
{
	const char *path = (const char *)(p + 1);
	int fds[2] = { -1, -1 }, ret = 0;
	uint64_t v;
	struct stat st;

	if (objhash_get(ctx->objs, p->objref, OBJ_PIPE, &v) == 0) {
		*ret_r = (int)(v >> 32);
		*ret_w = (int)(uint32_t)v;
		return 0;
	}
	if (p->path_len) {
		fds[0] = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (fds[0] < 0 || fstat(fds[0], &st) < 0 || !S_ISFIFO(st.st_mode)) {
			int err = fds[0] < 0 ? errno : 0;

			if (fds[0] >= 0)
				close(fds[0]);
			return rst_fail(ctx, err ? -err : -ESTALE,
					"pid %d pipe objref %u: %s is not a FIFO any more%s%s",
					ctx->pid, p->objref, path, err ? ": " : "",
					err ? strerror(err) : "");
		}
		fds[1] = dup(fds[0]);
	} else if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
		return rst_fail(ctx, -errno, "pid %d pipe objref %u: cannot make it: %s", ctx->pid,
				p->objref, strerror(errno));
	}
	if (fds[1] < 0 || fcntl(fds[1], F_SETPIPE_SZ, p->size) < (int)p->size)
		ret = rst_fail(ctx, -errno, "pid %d pipe objref %u: cannot give it %u bytes: %s",
			       ctx->pid, p->objref, p->size, strerror(errno));
	for (size_t i = 0; i < ctx->img->nr_recs && !ret; i++) {
		const struct image_record *r = &ctx->img->recs[i];
		const struct rec_pipe_data *d = r->payload;

		if (r->type == REC_PIPE_DATA && d->pipe_objref == p->objref &&
		    write_full(fds[1], d + 1, d->data_len))
			ret = rst_fail(ctx, -errno, "pid %d pipe objref %u: cannot refill it: %s",
				       ctx->pid, p->objref, strerror(errno));
	}
	if (!ret) {
		fds[0] = move_high(ctx, fds[0]);
		fds[1] = move_high(ctx, fds[1]);
		if (fds[0] < 0 || fds[1] < 0)
			ret = rst_fail(ctx, -EMFILE, "pid %d pipe objref %u: no descriptor free",
				       ctx->pid, p->objref);
	}
	if (!ret)
		ret = objhash_set(ctx->objs, p->objref, OBJ_PIPE, PIPE_FDS(fds[0], fds[1]));
	if (ret) {
		if (fds[0] >= 0)
			close(fds[0]);
		if (fds[1] >= 0)
			close(fds[1]);
		return ret;
	}
	*ret_r = fds[0];
	*ret_w = fds[1];
	return 0;
}

int pipe_open_file(struct rst_ctx *ctx, const struct rec_pipe_file *f, int *ret_fd)
{
	const struct rec_pipe *p = image_obj_record(ctx->img, f->pipe_objref, OBJ_PIPE)->payload;
	int mode = (int)(f->flags & O_ACCMODE), rfd = -1, wfd = -1, fd, ret;
	char proc[32];
	const char *path = proc;

	ret = make_pipe(ctx, p, &rfd, &wfd);
	if (ret)
		return ret;
	if (p->path_len)
		path = (const char *)(p + 1);
	else
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", mode == O_RDONLY ? rfd : wfd);
	/* never blocks: restart holds both ends; the saved O_NONBLOCK is put back after */
	fd = open(path, mode | (int)(f->flags & O_APPEND) | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || (!(f->flags & O_NONBLOCK) &&
		       fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		return rst_fail(ctx, ret, "pid %d file objref %u: cannot open its pipe: %s",
				ctx->pid, f->objref, strerror(-ret));
	}
	return files_move_high(ctx, fd, f->objref, ret_fd);
}
