// SPDX-License-Identifier: MIT
/*
 * Open files survive checkpoint/restart: regular files O_RDONLY at offset 100
 * (FD_CLOEXEC), O_RDWR at offset 5000, O_WRONLY|O_APPEND, a directory used
 * with openat, a dup sharing its offset with the original, fds 50 and 200
 * (gaps; 50 a dup2 of the O_RDWR fd, 200 another file, O_NONBLOCK, at 777),
 * /dev/null, /dev/zero and /dev/urandom.
 *
 * After restart the set of open fds must be the same, each with the same
 * fd flags, status flags, offset, path and inode; then the content is read
 * through every fd, shared offsets move together, writes still go where
 * they should. A check that changes a file undoes it (see mem_file.c).
 */
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include "cr/crtest.h"

#define MAXFD	 1024
#define RO_LEN	 4096
#define RW_LEN	 8192
#define APP_LEN	 1000
#define FAR_LEN	 2048
#define IN_LEN	 304
#define APPENDED 8

enum {
	F_RO,
	F_RW,
	F_APP,
	F_FAR,
	F_IN,
	NFILES
};

struct fdstate {
	bool open;
	int fdflags, flags;
	off_t pos;
	dev_t dev, rdev;
	ino_t ino;
	char path[PATH_MAX];
};

static const char *const suffix[NFILES] = { "ro", "rw", "app", "far", "d/inside" };
static char paths[NFILES][PATH_MAX], dir[PATH_MAX];
static uint8_t content[NFILES][RW_LEN];
static int fd_ro, fd_rw, fd_app, fd_dir, fd_dup, fd_null, fd_zero, fd_rand;
static struct fdstate before[MAXFD];

static int open_or_fail(const char *path, int flags)
{
	int fd = open(path, flags, 0644);

	if (fd < 0)
		cr_fail("open %s: %m", path);
	return fd;
}

static void make_file(int i, size_t len)
{
	int fd = open_or_fail(paths[i], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC);

	cr_fill(content[i], len, 0xf11e + (uint64_t)i);
	if (write(fd, content[i], len) != (ssize_t)len)
		cr_fail("write %s: %m", paths[i]);
	close(fd);
}

static void make_files(void)
{
	static const size_t len[NFILES] = { RO_LEN, RW_LEN, APP_LEN, FAR_LEN, IN_LEN };

	snprintf(dir, sizeof(dir), "%s/cr-files.%d.d", cr_tmpdir(), (int)getpid());
	if (mkdir(dir, 0755))
		cr_fail("mkdir %s: %m", dir);
	for (int i = 0; i < NFILES; i++) {
		snprintf(paths[i], sizeof(paths[i]), "%s/cr-files.%d.%s", cr_tmpdir(),
			 (int)getpid(), suffix[i]);
		make_file(i, len[i]);
	}
}

static void seek_or_fail(int fd, off_t pos)
{
	if (lseek(fd, pos, SEEK_SET) != pos)
		cr_fail("lseek fd %d: %m", fd);
}

static void open_files(void)
{
	int far;

	fd_ro = open_or_fail(paths[F_RO], O_RDONLY | O_CLOEXEC);
	seek_or_fail(fd_ro, 100);
	fd_rw = open_or_fail(paths[F_RW], O_RDWR);
	seek_or_fail(fd_rw, 5000);
	fd_app = open_or_fail(paths[F_APP], O_WRONLY | O_APPEND);
	if (write(fd_app, "appended", APPENDED) != APPENDED)
		cr_fail("write %s: %m", paths[F_APP]);
	fd_dir = open_or_fail(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd_dup = dup(fd_ro);
	far = open_or_fail(paths[F_FAR], O_RDONLY | O_NONBLOCK);
	seek_or_fail(far, 777);
	if (dup2(fd_rw, 50) != 50 || dup3(far, 200, O_CLOEXEC) != 200)
		cr_fail("dup2: %m");
	close(far);
	fd_null = open_or_fail("/dev/null", O_WRONLY);
	fd_zero = open_or_fail("/dev/zero", O_RDONLY);
	fd_rand = open_or_fail("/dev/urandom", O_RDONLY | O_CLOEXEC);
}

static void read_state(int fd, struct fdstate *s)
{
	char link[64];
	struct stat st;
	ssize_t n;

	memset(s, 0, sizeof(*s));
	s->fdflags = fcntl(fd, F_GETFD);
	if (s->fdflags < 0)
		return;
	s->open = true;
	s->flags = fcntl(fd, F_GETFL);
	s->pos = lseek(fd, 0, SEEK_CUR);
	if (fstat(fd, &st))
		cr_fail("fstat %d: %m", fd);
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->rdev = st.st_rdev;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, s->path, sizeof(s->path) - 1);
	if (n < 0)
		cr_fail("readlink %s: %m", link);
}

static void check_fd(int fd)
{
	const struct fdstate *a = &before[fd];
	struct fdstate b;

	read_state(fd, &b);
	cr_check(a->open == b.open, "fd %d is %s", fd, b.open ? "open, it was not" : "closed");
	if (!a->open)
		return;
	cr_check(!strcmp(a->path, b.path), "fd %d is %s, was %s", fd, b.path, a->path);
	cr_check(a->dev == b.dev && a->ino == b.ino && a->rdev == b.rdev,
		 "fd %d (%s) is another file: dev/ino/rdev changed", fd, b.path);
	cr_check(a->fdflags == b.fdflags, "fd %d (%s): fd flags %#x, were %#x", fd, b.path,
		 b.fdflags, a->fdflags);
	cr_check(a->flags == b.flags, "fd %d (%s): status flags %#o, were %#o", fd, b.path, b.flags,
		 a->flags);
	cr_check(a->pos == b.pos, "fd %d (%s): offset %lld, was %lld", fd, b.path, (long long)b.pos,
		 (long long)a->pos);
}

/* Reads len bytes at the current offset of fd and compares with file i. */
static void read_expect(int fd, int i, off_t pos, size_t len)
{
	uint8_t buf[512];
	ssize_t n = read(fd, buf, len);

	cr_check(n == (ssize_t)len, "read fd %d (%s): %zd of %zu bytes (%m)", fd, suffix[i], n,
		 len);
	cr_check(!memcmp(buf, content[i] + pos, len), "fd %d: wrong bytes of %s at %lld", fd,
		 suffix[i], (long long)pos);
}

static void expect_pos(int fd, off_t pos, const char *why)
{
	off_t now = lseek(fd, 0, SEEK_CUR);

	cr_check(now == pos, "fd %d is at %lld, wanted %lld: %s", fd, (long long)now,
		 (long long)pos, why);
}

static void check_shared_offsets(void)
{
	/* fd_dup shares fd_ro's open file: one offset for both */
	read_expect(fd_ro, F_RO, 100, 50);
	expect_pos(fd_dup, 150, "a read on the fd it was dup'ed from moves it");
	read_expect(fd_dup, F_RO, 150, 10);
	expect_pos(fd_ro, 160, "a read on its dup moves it");
	/* fd 50 is a dup2 of fd_rw; a write of the same bytes leaves the file as it was */
	read_expect(50, F_RW, 5000, 100);
	expect_pos(fd_rw, 5100, "a read on fd 50 moves it");
	cr_check(write(fd_rw, content[F_RW] + 5100, 100) == 100, "write fd %d: %m", fd_rw);
	expect_pos(50, 5200, "a write on the fd it was dup'ed from moves it");
	read_expect(200, F_FAR, 777, 23);
}

/* O_APPEND: a write lands at the end, whatever the offset; then cut it off again. */
static void check_append(void)
{
	struct stat st;
	uint8_t tail[16] = "", probe[16] = "again, appended";
	int rd = open_or_fail(paths[F_APP], O_RDONLY | O_CLOEXEC);
	off_t end = APP_LEN + APPENDED;

	seek_or_fail(fd_app, 0);
	cr_check(write(fd_app, probe, sizeof(probe)) == sizeof(probe), "write append: %m");
	cr_check(!fstat(fd_app, &st) && st.st_size == end + (off_t)sizeof(probe),
		 "append: the file is %lld bytes, wanted %lld", (long long)st.st_size,
		 (long long)end + (long long)sizeof(probe));
	cr_check(pread(rd, tail, sizeof(tail), end) == sizeof(tail) &&
		     !memcmp(tail, probe, sizeof(tail)),
		 "the O_APPEND write did not land at the end");
	close(rd);
	if (ftruncate(fd_app, end))
		cr_fail("ftruncate: %m");
	seek_or_fail(fd_app, end);
}

static void check_devices_and_dir(void)
{
	uint8_t a[64], b[64];
	int fd = openat(fd_dir, "inside", O_RDONLY | O_CLOEXEC);

	cr_check(fd >= 0, "openat(dir fd, \"inside\"): %m");
	read_expect(fd, F_IN, 0, IN_LEN);
	close(fd);
	cr_check(write(fd_null, a, 5) == 5, "write /dev/null: %m");
	memset(a, 0xff, sizeof(a));
	cr_check(read(fd_zero, a, sizeof(a)) == sizeof(a) && cr_is_zero(a, sizeof(a)),
		 "/dev/zero did not read zeros");
	cr_check(read(fd_rand, a, sizeof(a)) == sizeof(a) &&
		     read(fd_rand, b, sizeof(b)) == sizeof(b),
		 "read /dev/urandom: %m");
	cr_check(!cr_is_zero(a, sizeof(a)) && memcmp(a, b, sizeof(a)),
		 "/dev/urandom does not look random");
}

static void cleanup(void)
{
	if (cr_keep_files())
		return;
	for (int i = 0; i < NFILES; i++)
		unlink(paths[i]);
	rmdir(dir);
}

int main(void)
{
	cr_init();
	make_files();
	open_files();
	cr_ready();
	/* after "ready": the log's offset must not move between here and the check */
	for (int fd = 0; fd < MAXFD; fd++)
		read_state(fd, &before[fd]);
	cr_wait();
	for (int fd = 0; fd < MAXFD; fd++)
		check_fd(fd);
	cr_check(before[fd_ro].fdflags == FD_CLOEXEC && before[200].fdflags == FD_CLOEXEC &&
		     before[fd_rw].fdflags == 0 && before[fd_dup].fdflags == 0,
		 "FD_CLOEXEC was not set as intended");
	check_shared_offsets();
	check_append();
	check_devices_and_dir();
	cleanup();
	cr_pass();
}
