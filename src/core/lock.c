// SPDX-License-Identifier: MIT
/*
 * One checkpoint of a tree at a time (core/lock.h).
 *
 * The lock is a POSIX record lock (fcntl F_SETLK) on
 * STATE_DIR/.checkpoint-NS-PID.lock, NS and PID naming the root as its own
 * pid namespace does (the inode of /proc/ROOT/ns/pid, the last NSpid), so
 * a checkpoint from inside a session and one from outside it take the
 * same lock. A record lock rather than flock(): F_GETLK says which process
 * holds it, and it dies with its holder: a killed cryo leaves no lock
 * behind, only the file, which the next checkpoint removes (see BYTE_GONE).
 * The holder removes its file before it lets go, so whoever locks a file
 * checks that it is still the one the name leads to. (A record lock goes
 * when its process closes any descriptor of the file: no one opens its own
 * lock file twice.) The name starts with a dot: never a session's.
 */
#include "core/lock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ckpt.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/util.h"
#include "session/session.h"

#define LOCK_PREFIX   ".checkpoint-"
#define LOCK_TRIES    100
#define ANCESTORS_MAX 4096
#define STATUS_MAX    16384

/* The name of PID's lock: its pid namespace and its pid there. */
static int lock_name(pid_t pid, char *buf, size_t len)
{
	char path[64], *text, *p;
	struct stat st;
	size_t n;
	long nspid = -1;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
	if (stat(path, &st) < 0)
		return -errno;
	text = malloc(STATUS_MAX);
	if (!text)
		return -ENOMEM;
	ret = proc_read_small(pid, "status", text, STATUS_MAX, &n);
	p = ret ? NULL : strstr(text, "\nNSpid:");
	if (p) {
		char *end;

		/* the last number of the line: the pid in its own namespace */
		for (p += 7; *p && *p != '\n'; p = end) {
			long v = strtol(p, &end, 10);

			if (end == p)
				break;
			nspid = v;
		}
	}
	free(text);
	if (ret)
		return ret;
	if (nspid <= 0)
		nspid = pid; /* a kernel without NSpid: no pid namespaces to tell apart */
	n = (size_t)snprintf(buf, len, LOCK_PREFIX "%llu-%ld.lock", (unsigned long long)st.st_ino,
			     nspid);
	return n < len ? 0 : -ENAMETOOLONG;
}

static void tell_busy(pid_t pid, pid_t holder, pid_t tree_of)
{
	char by[32] = "";

	if (holder > 0)
		snprintf(by, sizeof(by), " (pid %d)", holder);
	if (tree_of)
		log_error("pid %d: is being checkpointed by another cryo%s, with the tree of its "
			  "ancestor pid %d; wait for it to finish",
			  pid, by, tree_of);
	else
		log_error("pid %d: is being checkpointed by another cryo%s; wait for it to finish",
			  pid, by);
}

static int lock_path(const struct ckpt_lock *l, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", l->dir, l->name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/*
 * Byte 0 of a lock file is the checkpoint's. Whoever removes a file left
 * behind (its holder killed) holds byte 1, then byte 0, while it unlinks
 * it: one who meets byte 0 held tells such a passing holder from a
 * checkpoint by byte 1.
 */
#define BYTE_CKPT 0
#define BYTE_GONE 1

static int take_byte(int fd, off_t b)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = b, .l_len = 1 };

	return fcntl(fd, F_SETLK, &fl) < 0 ? -errno : 0;
}

/* Whether another process holds byte B of FD: 0 or 1, its pid (0 if unseen) in *ret_pid. */
static int byte_held(int fd, off_t b, pid_t *ret_pid)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = b, .l_len = 1 };

	if (fcntl(fd, F_GETLK, &fl) < 0)
		return -errno;
	if (fl.l_type == F_UNLCK)
		return 0;
	*ret_pid = fl.l_pid;
	return 1;
}

/* Whether HOLDER, holding byte 0 of FD, is removing the file rather than checkpointing. */
static bool being_removed(int fd, pid_t holder)
{
	pid_t p = 0;

	return byte_held(fd, BYTE_GONE, &p) == 1 && p == holder;
}

int ckpt_lock_take(struct ckpt_lock *l, pid_t root)
{
	char path[sizeof(l->dir) + sizeof(l->name) + 1];
	int ret;

	l->fd = -1;
	ret = lock_name(root, l->name, sizeof(l->name));
	if (ret == -ENOENT || ret == -ESRCH)
		return 0; /* no such process: find_tree() says so */
	if (ret) {
		log_error("pid %d: cannot read its pid namespace: %s", root, strerror(-ret));
		return ret;
	}
	ret = session_state_dir(l->dir, sizeof(l->dir)); /* logs, but a name too long */
	if (!ret)
		ret = lock_path(l, path, sizeof(path));
	if (ret == -ENAMETOOLONG)
		log_error("the state directory's name is too long; set CRYO_STATE_DIR");
	if (ret)
		return ret;
	for (int i = 0; i < LOCK_TRIES; i++) {
		struct stat a, b;
		pid_t holder = 0;
		bool removing;
		int held, fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

		if (fd < 0) {
			ret = -errno;
			log_error("%s: cannot open the checkpoint lock of pid %d: %s", path, root,
				  strerror(-ret));
			return ret;
		}
		ret = take_byte(fd, BYTE_CKPT);
		if (!ret) {
			if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
			    a.st_ino == b.st_ino) {
				l->fd = fd;
				return 0;
			}
			close(fd); /* removed meanwhile: take the new one */
			continue;
		}
		if (ret != -EAGAIN && ret != -EACCES) {
			close(fd);
			log_error("%s: cannot take the checkpoint lock of pid %d: %s", path, root,
				  strerror(-ret));
			return ret;
		}
		held = byte_held(fd, BYTE_CKPT, &holder);
		removing = held == 1 && being_removed(fd, holder);
		close(fd);
		if (held == 0)
			continue; /* let go of meanwhile */
		if (removing) {
			usleep(1000); /* a file left behind, on its way out */
			continue;
		}
		tell_busy(root, held == 1 ? holder : 0, 0);
		return -EBUSY;
	}
	log_error("%s: the checkpoint lock of pid %d keeps changing hands; retry", path, root);
	return -EAGAIN;
}

void ckpt_lock_release(struct ckpt_lock *l)
{
	char path[sizeof(l->dir) + sizeof(l->name) + 1];

	if (l->fd < 0)
		return;
	if (!lock_path(l, path, sizeof(path)))
		unlink(path); /* still ours: only its holder removes it */
	close(l->fd);
	l->fd = -1;
}

/* Removes NAME (open as FD), a lock file nobody holds, unless somebody takes it meanwhile. */
static void remove_left_behind(int dirfd, const char *name, int fd)
{
	struct stat a, b;

	if (take_byte(fd, BYTE_GONE) || take_byte(fd, BYTE_CKPT))
		return;
	if (fstat(fd, &a) == 0 && fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		unlinkat(dirfd, name, 0);
	/* the caller's close() lets go of both bytes */
}

/* A lock another cryo holds: its file's name and its holder. */
struct held_lock {
	char name[64];
	pid_t holder;
};

/*
 * The locks of the state directory that others hold, in *ret (malloc'd);
 * the files of killed holders are removed on the way.
 */
static int held_locks(const struct ckpt_lock *l, struct held_lock **ret, size_t *ret_nr)
{
	struct held_lock *list = NULL;
	size_t nr = 0, cap = 0;
	struct dirent *e;
	DIR *d = opendir(l->dir);
	int r = 0;

	if (!d)
		return -errno;
	while (!r && (e = readdir(d))) {
		pid_t holder = 0;
		int fd, held;

		if (strncmp(e->d_name, LOCK_PREFIX, strlen(LOCK_PREFIX)) ||
		    !strcmp(e->d_name, l->name) || strlen(e->d_name) >= sizeof(list->name))
			continue;
		fd = openat(dirfd(d), e->d_name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		held = byte_held(fd, BYTE_CKPT, &holder);
		if (held == 0)
			remove_left_behind(dirfd(d), e->d_name, fd);
		if (held == 1 && !being_removed(fd, holder)) {
			r = array_reserve(&list, &cap, nr, sizeof(*list));
			if (!r) {
				/* it fits: checked above */
				memcpy(list[nr].name, e->d_name, strlen(e->d_name) + 1);
				list[nr++].holder = holder;
			}
		}
		close(fd);
	}
	closedir(d);
	if (r) {
		free(list);
		return r;
	}
	*ret = list;
	*ret_nr = nr;
	return 0;
}

/* Whether another cryo holds PID's lock; its pid (0 if unknown) in *ret_holder. */
static bool locked_by_other(const struct held_lock *held, size_t nr, pid_t pid, pid_t *ret_holder)
{
	char name[64];

	if (lock_name(pid, name, sizeof(name)))
		return false; /* gone: not in anybody's tree any more */
	for (size_t i = 0; i < nr; i++)
		if (!strcmp(held[i].name, name)) {
			*ret_holder = held[i].holder;
			return true;
		}
	return false;
}

int ckpt_lock_check_overlap(const struct ckpt_lock *l, const struct ckpt_ctx *ctx)
{
	pid_t root = ctx->opts->pid, holder = 0, p;
	struct held_lock *held = NULL;
	struct proc_stat st;
	size_t nr = 0;
	int ret = 0;

	if (l->fd < 0 || held_locks(l, &held, &nr) || !nr)
		return 0; /* nobody else checkpoints: nothing overlaps */
	for (size_t i = 0; i < ctx->nr_tasks && !ret; i++)
		if (!ctx->tasks[i].zombie &&
		    locked_by_other(held, nr, ctx->tasks[i].pid, &holder)) {
			tell_busy(ctx->tasks[i].pid, holder, 0);
			ret = -EBUSY;
		}
	/* a tree being checkpointed holds ours if its root is an ancestor of ours */
	p = root;
	for (int depth = 0; !ret && depth < ANCESTORS_MAX; depth++) {
		if (proc_read_stat(p, 0, &st) || st.ppid <= 0)
			break;
		p = st.ppid;
		if (locked_by_other(held, nr, p, &holder)) {
			tell_busy(root, holder, p);
			ret = -EBUSY;
		}
	}
	free(held);
	return ret;
}

/* Whether TRACER runs cryo: our own executable, or one named so (another build). */
static bool is_cryo(pid_t tracer, const char *comm)
{
	struct stat self, other;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/exe", tracer);
	if (stat("/proc/self/exe", &self) == 0 && stat(path, &other) == 0 &&
	    self.st_dev == other.st_dev && self.st_ino == other.st_ino)
		return true;
	return !strcmp(comm, "cryo");
}

bool ckpt_tell_tracer(pid_t pid, pid_t tid)
{
	struct proc_status st;
	char comm[32] = "?", thread[32] = "";
	pid_t tracer;
	size_t len;

	if (proc_read_status(pid, tid == pid ? 0 : tid, &st))
		return false;
	tracer = st.tracer_pid;
	proc_status_free(&st);
	if (tracer <= 0 || tracer == getpid())
		return false; /* none, one outside our pid namespace, or us */
	if (!proc_read_small(tracer, "comm", comm, sizeof(comm), &len))
		comm[strcspn(comm, "\n")] = '\0';
	if (tid != pid)
		snprintf(thread, sizeof(thread), " its thread %d", tid);
	if (is_cryo(tracer, comm))
		log_error("pid %d:%s is being checkpointed by another cryo (pid %d); wait for it "
			  "to finish",
			  pid, thread, tracer);
	else
		log_error("pid %d:%s is being traced by pid %d (%s); detach the debugger first",
			  pid, thread, tracer, comm);
	return true;
}
