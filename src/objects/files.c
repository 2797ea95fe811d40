// SPDX-License-Identifier: MIT
/*
 * Files: open file descriptions (REC_FILE), fd tables (REC_FDTABLE) and the
 * descriptors in them (REC_FD).
 *
 * An open file description is a shared object: two fds made by dup() share
 * one, with its offset and status flags. At checkpoint, kcmp(KCMP_FILE)
 * tells whether two fds name the same description, so each is written once
 * and every fd refers to it by objref. Files that are not open descriptions
 * of the tree (the executable, mapped files) are written the same way,
 * keyed by their path and access mode.
 *
 * Supported today: regular files, directories, and the character devices
 * that can simply be reopened (/dev/null, /dev/zero, /dev/full, /dev/random,
 * /dev/urandom). Anything else is refused by name: pid, fd, kind.
 *
 * At restart a file is opened by path with its flags, checked against what
 * was saved (a file that is gone, of another type, or, when it was opened
 * read-only, of another size or modification time, is an error: the
 * program would read different data), and put at its offset.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <string.h>
#include <inttypes.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/ckpt.h"
#include "core/rst.h"
#include "lib/log.h"
#include "lib/util.h"

/* Devices that hold no state and can be reopened by path. */
static const struct {
	unsigned int major, minor;
} reopenable_devices[] = {
	{ 1, 3 }, /* /dev/null */
	{ 1, 5 }, /* /dev/zero */
	{ 1, 7 }, /* /dev/full */
	{ 1, 8 }, /* /dev/random */
	{ 1, 9 }, /* /dev/urandom */
};

static bool device_reopenable(dev_t rdev)
{
	for (size_t i = 0; i < ARRAY_SIZE(reopenable_devices); i++)
		if (major(rdev) == reopenable_devices[i].major &&
		    minor(rdev) == reopenable_devices[i].minor)
			return true;
	return false;
}

/* kcmp says whether two fds (possibly of two tasks) share a description. */
static int same_file(const struct obj_key *a, const struct obj_key *b, void *opaque)
{
	long r;

	(void)opaque;
	/* word[1] is -1 for a file named by path: those are equal when all words are */
	if ((int64_t)a->word[1] < 0 || (int64_t)b->word[1] < 0)
		return a->word[0] == b->word[0] && a->word[1] == b->word[1] &&
		       a->word[2] == b->word[2];
	r = syscall(SYS_kcmp, (pid_t)a->word[0], (pid_t)b->word[0], KCMP_FILE, a->word[1],
		    b->word[1]);
	if (r < 0)
		return -errno;
	return r == 0;
}

static int kind_of(const struct stat *st, uint32_t *ret_kind)
{
	if (S_ISREG(st->st_mode))
		*ret_kind = FILE_REG;
	else if (S_ISDIR(st->st_mode))
		*ret_kind = FILE_DIR;
	else if (S_ISCHR(st->st_mode) && device_reopenable(st->st_rdev))
		*ret_kind = FILE_CHR;
	else
		return -ENOTSUP;
	return 0;
}

static const char *describe_mode(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFIFO:
		return "a pipe or FIFO";
	case S_IFSOCK:
		return "a socket";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFLNK:
		return "a symlink";
	default:
		return "a special file";
	}
}

static int write_file(struct ckpt_ctx *ctx, uint32_t objref, uint32_t kind, int flags, uint64_t pos,
		      const struct stat *st, const char *path)
{
	struct rec_file f = {
		.objref = objref,
		.kind = kind,
		.flags = (uint32_t)flags & ~(uint32_t)O_CLOEXEC,
		.mode = st->st_mode,
		.pos = pos,
		.size = (uint64_t)st->st_size,
		.rdev = kind == FILE_CHR ? st->st_rdev : 0,
		.mtime_ns =
		    (uint64_t)st->st_mtim.tv_sec * 1000000000ull + (uint64_t)st->st_mtim.tv_nsec,
		.path_len = (uint32_t)strlen(path) + 1,
	};

	return image_write_rec(&ctx->w, REC_FILE, &f, sizeof(f), path, f.path_len);
}

/* Flags that describe how a file was opened and that reopening reproduces. */
#define FILE_FLAGS_KEPT                                                                            \
	(O_ACCMODE | O_APPEND | O_NONBLOCK | O_DSYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY |      \
	 O_NOFOLLOW | O_NOATIME | O_SYNC | O_PATH | FASYNC)

static int has_locks(pid_t pid, int fd)
{
	char name[32], text[4096];
	size_t len;
	int ret;

	snprintf(name, sizeof(name), "fdinfo/%d", fd);
	ret = proc_read_small(pid, name, text, sizeof(text), &len);
	if (ret == -EFBIG)
		return 1; /* only lock lines make fdinfo of these files this long */
	if (ret)
		return ret;
	return strstr(text, "\nlock:") != NULL;
}

/* A signalfd is its mask and flags (the "sigmask:" line of its fdinfo). */
static int dump_signalfd(struct ckpt_ctx *ctx, struct ckpt_task *t, int fd, const struct stat *st,
			 const struct proc_fdinfo *info, uint32_t *ret_objref)
{
	struct rec_signalfd r = { .flags = info->flags & (O_ACCMODE | O_NONBLOCK) };
	char name[32], text[4096];
	const char *line;
	size_t len;
	bool is_new;
	int ret;

	ret = files_lookup_fd(ctx, t->pid, fd, st, ret_objref, &is_new);
	if (ret || !is_new)
		return ret;
	snprintf(name, sizeof(name), "fdinfo/%d", fd);
	ret = proc_read_small(t->pid, name, text, sizeof(text), &len);
	line = ret ? NULL : strstr(text, "\nsigmask:");
	if (!line || sscanf(line + 9, "%" SCNx64, &r.mask) != 1) {
		log_error("pid %d fd %d: cannot read its signalfd mask: %s", t->pid, fd,
			  ret ? strerror(-ret) : "no sigmask line");
		return ret ? ret : -EINVAL;
	}
	r.objref = *ret_objref;
	return image_write_rec(&ctx->w, REC_SIGNALFD, &r, sizeof(r), NULL, 0);
}

int files_lookup_fd(struct ckpt_ctx *ctx, pid_t pid, int fd, const struct stat *st,
		    uint32_t *ret_objref, bool *ret_new)
{
	struct obj_key key = { 0 };
	int ret;

	objhash_set_same(ctx->objs, OBJ_FILE, same_file, NULL);
	key.hash = st->st_dev * 1000003ull ^ st->st_ino;
	key.word[0] = (uint64_t)pid;
	key.word[1] = (uint64_t)fd;
	ret = objhash_lookup_or_add(ctx->objs, OBJ_FILE, &key, ret_objref, ret_new);
	if (ret)
		log_error("pid %d fd %d: cannot compare files: %s", pid, fd, strerror(-ret));
	return ret;
}

int files_lookup_saved(struct ckpt_ctx *ctx, pid_t pid, int fd, const struct stat *st,
		       const char *path, const char *saved_with, uint32_t *ret_objref)
{
	bool is_new;
	int ret = files_lookup_fd(ctx, pid, fd, st, ret_objref, &is_new);

	if (!ret && is_new) {
		/* the pass that saved its kind saw every fd of the frozen tree: this one is new */
		log_error("pid %d fd %d: %s appeared after %s were saved; retry the checkpoint",
			  pid, fd, path, saved_with);
		ret = -EAGAIN;
	}
	return ret;
}

static int dump_fd_file(struct ckpt_ctx *ctx, struct ckpt_task *t, int fd, uint32_t *ret_objref)
{
	struct proc_fdinfo info;
	char link[32], path[CRYO_PATH_MAX];
	struct stat st;
	uint32_t kind;
	bool is_new;
	int ret;

	snprintf(link, sizeof(link), "/proc/%d/fd/%d", t->pid, fd);
	ret = stat(link, &st) < 0 ? -errno : proc_read_fdinfo(t->pid, fd, &info);
	if (!ret) {
		snprintf(link, sizeof(link), "fd/%d", fd);
		ret = proc_readlink(t->pid, link, path, sizeof(path));
	}
	if (ret) {
		log_error("pid %d fd %d: cannot inspect it: %s", t->pid, fd, strerror(-ret));
		return ret;
	}
	if (S_ISCHR(st.st_mode) && tty_end_of(st.st_rdev) != TTY_END_NONE)
		return tty_file_objref(ctx, t->pid, fd, &st, path, ret_objref);
	if (S_ISFIFO(st.st_mode))
		return files_lookup_saved(ctx, t->pid, fd, &st, path, "the pipes", ret_objref);
	if (!strcmp(path, "anon_inode:[signalfd]"))
		return dump_signalfd(ctx, t, fd, &st, &info, ret_objref);
	if (kind_of(&st, &kind) || path[0] != '/') {
		log_error("pid %d fd %d: %s is %s, not supported yet", t->pid, fd, path,
			  describe_mode(st.st_mode));
		return -ENOTSUP;
	}
	if ((st.st_nlink == 0 && !S_ISDIR(st.st_mode)) || strstr(path, " (deleted)")) {
		char *mark = strstr(path, " (deleted)");

		if (mark)
			*mark = '\0';
		log_error("pid %d fd %d: %s was deleted; deleted files are not supported yet",
			  t->pid, fd, path);
		return -ENOTSUP;
	}
	ret = has_locks(t->pid, fd);
	if (ret) {
		log_error("pid %d fd %d: %s holds file locks, not supported yet", t->pid, fd, path);
		return ret < 0 ? ret : -ENOTSUP;
	}
	ret = files_lookup_fd(ctx, t->pid, fd, &st, ret_objref, &is_new);
	if (ret || !is_new)
		return ret;
	return write_file(ctx, *ret_objref, kind, (int)(info.flags & FILE_FLAGS_KEPT), info.pos,
			  &st, path);
}

int files_dump_path(struct ckpt_ctx *ctx, struct ckpt_task *t, const char *path, int flags,
		    uint32_t *ret_objref)
{
	struct obj_key key = { 0 };
	struct stat st;
	uint32_t kind;
	bool is_new;
	int ret;

	if (stat(path, &st) < 0) {
		ret = -errno;
		log_error("pid %d: %s: %s (a deleted or unreachable file is not supported yet)",
			  t->pid, path, strerror(-ret));
		return ret;
	}
	if (kind_of(&st, &kind)) {
		log_error("pid %d: %s is %s, not supported yet", t->pid, path,
			  describe_mode(st.st_mode));
		return -ENOTSUP;
	}
	key.hash = st.st_dev * 1000003ull ^ st.st_ino;
	key.word[0] = st.st_dev;
	key.word[1] = (uint64_t)-1;
	key.word[2] = st.st_ino << 2 | ((unsigned)flags & O_ACCMODE);
	ret = objhash_lookup_or_add(ctx->objs, OBJ_FILE, &key, ret_objref, &is_new);
	if (ret || !is_new)
		return ret;
	return write_file(ctx, *ret_objref, kind, flags, 0, &st, path);
}

int files_dump(struct ckpt_ctx *ctx, struct ckpt_task *t)
{
	struct rec_fdtable fdt = { 0 };
	struct rec_fd *recs = NULL;
	size_t nr = 0;
	int *fds = NULL;
	int ret;

	objhash_set_same(ctx->objs, OBJ_FILE, same_file, NULL);
	ret = proc_list_fds(t->pid, &fds, &nr);
	if (ret) {
		log_error("pid %d: cannot list its fds: %s", t->pid, strerror(-ret));
		return ret;
	}
	recs = calloc(nr ? nr : 1, sizeof(*recs));
	if (!recs) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nr; i++) {
		struct proc_fdinfo info;

		ret = dump_fd_file(ctx, t, fds[i], &recs[i].file_objref);
		if (!ret)
			ret = proc_read_fdinfo(t->pid, fds[i], &info);
		if (ret)
			goto out;
		recs[i].fd = fds[i];
		recs[i].flags = info.flags & O_CLOEXEC ? FD_FLAG_CLOEXEC : 0;
	}
	{
		/* one table per task until shared tables (CLONE_FILES) are compared */
		struct obj_key key = { .hash = (uint64_t)t->pid, .word = { (uint64_t)t->pid } };
		bool is_new;

		ret = objhash_lookup_or_add(ctx->objs, OBJ_FDTABLE, &key, &t->fdt_objref, &is_new);
		if (ret)
			goto out;
	}
	fdt.objref = t->fdt_objref;
	fdt.nr_fds = (uint32_t)nr;
	ret = image_write_rec(&ctx->w, REC_FDTABLE, &fdt, sizeof(fdt), NULL, 0);
	for (size_t i = 0; i < nr && !ret; i++) {
		recs[i].fdt_objref = t->fdt_objref;
		ret = image_write_rec(&ctx->w, REC_FD, &recs[i], sizeof(recs[i]), NULL, 0);
	}
out:
	free(recs);
	free(fds);
	return ret;
}

/* --- restart ----------------------------------------------------------------------- */

static bool file_matches(const struct rec_file *f, const struct stat *st, const char **ret_why)
{
	uint64_t mtime =
	    (uint64_t)st->st_mtim.tv_sec * 1000000000ull + (uint64_t)st->st_mtim.tv_nsec;
	bool read_only = (f->flags & O_ACCMODE) == O_RDONLY;

	if ((st->st_mode & S_IFMT) != (f->mode & S_IFMT))
		*ret_why = "it is now a file of another type";
	else if (f->kind == FILE_CHR && st->st_rdev != f->rdev)
		*ret_why = "it is now another device";
	else if (f->kind == FILE_REG && read_only &&
		 ((uint64_t)st->st_size != f->size || mtime != f->mtime_ns))
		*ret_why = "it changed since the checkpoint (size or modification time)";
	else
		return true;
	return false;
}

/* Opens the file of a REC_FILE record above every fd of the image. */
static int open_file(struct rst_ctx *ctx, const struct rec_file *f, int *ret_fd)
{
	const char *path = (const char *)(f + 1), *why = NULL;
	int flags =
	    (int)(f->flags & ~(uint32_t)(O_CREAT | O_EXCL | O_TRUNC)) | O_NOCTTY | O_CLOEXEC;
	struct stat st;
	int fd;

	fd = open(path, flags);
	if (fd < 0)
		return rst_fail(ctx, -errno,
				"pid %d file objref %u: cannot open %s: %s; it must exist as "
				"it was at checkpoint",
				ctx->pid, f->objref, path, strerror(errno));
	if (fstat(fd, &st) < 0 || !file_matches(f, &st, &why)) {
		close(fd);
		return rst_fail(ctx, -ESTALE, "pid %d file objref %u: %s: %s", ctx->pid, f->objref,
				path, why ? why : strerror(errno));
	}
	if ((f->kind == FILE_REG || f->kind == FILE_DIR) && f->pos &&
	    lseek(fd, (off_t)f->pos, SEEK_SET) < 0) {
		close(fd);
		return rst_fail(ctx, -errno, "pid %d file objref %u: %s: cannot seek to %llu: %s",
				ctx->pid, f->objref, path, (unsigned long long)f->pos,
				strerror(errno));
	}
	return files_move_high(ctx, fd, f->objref, ret_fd);
}

int files_move_high(struct rst_ctx *ctx, int fd, uint32_t objref, int *ret_fd)
{
	int high = fcntl(fd, F_DUPFD_CLOEXEC, ctx->high_fd);

	close(fd);
	if (high < 0)
		return rst_fail(ctx, -errno, "pid %d file objref %u: no descriptor free: %s",
				ctx->pid, objref, strerror(errno));
	*ret_fd = high;
	return 0;
}

/*
 * A shared memory object: a MAP_SHARED|MAP_ANONYMOUS mapping of restart's
 * own, reached as a file through map_files, so that every task maps the
 * same object and /proc/PID/maps still says "/dev/zero (deleted)". The
 * restorer of its first mapping fills it from the image.
 */
static int open_shmem(struct rst_ctx *ctx, const struct rec_shmem *m, int *ret_fd)
{
	char path[64];
	void *at = mmap(NULL, m->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int fd;

	if (at == MAP_FAILED)
		return rst_fail(ctx, -errno, "pid %d shmem objref %u: cannot make %llu bytes: %s",
				ctx->pid, m->objref, (unsigned long long)m->size, strerror(errno));
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)at,
		 (unsigned long)at + (unsigned long)m->size);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	munmap(at, m->size);
	if (fd < 0)
		return rst_fail(ctx, fd, "pid %d shmem objref %u: cannot reach it: %s", ctx->pid,
				m->objref, strerror(-fd));
	return files_move_high(ctx, fd, m->objref, ret_fd);
}

static int open_signalfd(struct rst_ctx *ctx, const struct rec_signalfd *f, int *ret_fd)
{
	uint64_t mask = f->mask;
	int flags = SFD_CLOEXEC | (f->flags & O_NONBLOCK ? SFD_NONBLOCK : 0);
	int fd = (int)syscall(SYS_signalfd4, -1, &mask, sizeof(mask), flags);

	if (fd < 0)
		return rst_fail(ctx, -errno, "pid %d file objref %u: cannot make its signalfd: %s",
				ctx->pid, f->objref, strerror(errno));
	return files_move_high(ctx, fd, f->objref, ret_fd);
}

int files_open_objref(struct rst_ctx *ctx, uint32_t objref, int *ret_fd)
{
	const struct image_record *r = image_obj_record(ctx->img, objref, OBJ_FILE);
	uint64_t fd;
	int ret;

	if (objhash_get(ctx->objs, objref, OBJ_FILE, &fd) == 0) {
		*ret_fd = (int)fd;
		return 0;
	}
	/* a pty's files were opened by restart (tty_restore.c), but for /dev/tty */
	if (r->type == REC_TTY_MASTER)
		return rst_fail(ctx, -ENOENT,
				"pid %d file objref %u: the pty master was not opened", ctx->pid,
				objref);
	if (r->type == REC_TTY_FILE)
		ret = tty_open_file(ctx, r->payload, ret_fd);
	else if (r->type == REC_PIPE_FILE)
		ret = pipe_open_file(ctx, r->payload, ret_fd);
	else if (r->type == REC_SIGNALFD)
		ret = open_signalfd(ctx, r->payload, ret_fd);
	else if (r->type == REC_SHMEM)
		ret = open_shmem(ctx, r->payload, ret_fd);
	else
		ret = open_file(ctx, r->payload, ret_fd);
	if (!ret)
		ret = objhash_set(ctx->objs, objref, OBJ_FILE, (uint64_t)*ret_fd);
	return ret;
}

/*
 * Puts every fd of the task's table at its number. Two fds of one open
 * file description get one open() and a dup, so they share it again.
 */
int files_restore(struct rst_ctx *ctx, struct rst_task *t)
{
	for (size_t i = 0; i < ctx->img->nr_recs; i++) {
		const struct image_record *r = &ctx->img->recs[i];
		const struct rec_fd *fd = r->payload;
		int from, ret;

		if (r->type != REC_FD || fd->fdt_objref != t->objs->fdt_objref)
			continue;
		ret = files_open_objref(ctx, fd->file_objref, &from);
		if (ret)
			return ret;
		if (dup3(from, fd->fd, fd->flags & FD_FLAG_CLOEXEC ? O_CLOEXEC : 0) < 0)
			return rst_fail(ctx, -errno, "pid %d fd %d: cannot place it: %s", t->pid,
					fd->fd, strerror(errno));
	}
	return 0;
}
