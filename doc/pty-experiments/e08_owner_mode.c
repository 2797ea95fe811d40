/*
 * e08_owner_mode: owner, group, mode (and times) of the slave node
 * /dev/pts/N: where they come from, whether chown/chmod stick, what grantpt
 * does, and how restart can set them.
 */
#include "common.h"
#include <sys/time.h>

static void node(int fd, const char *what)
{
	struct stat st; fstat(fd, &st);
	NOTE("%-44s uid %u gid %u mode %04o", what, st.st_uid, st.st_gid, st.st_mode & 07777);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	int p[2]; pipe(p);
	pid_t c = fork();
	if (c == 0) {
		setresgid(4242, 4242, 4242); setresuid(65534, 65534, 65534);
		int m = open("/dev/ptmx", O_RDWR | O_NOCTTY);
		int g = grantpt(m), u = unlockpt(m);
		char *name = ptsname(m);
		int s = open(name, O_RDWR | O_NOCTTY);
		struct stat st; fstat(s, &st);
		char buf[256]; snprintf(buf, sizeof buf, "%u %u %o %d %d %s", st.st_uid, st.st_gid, st.st_mode & 07777, g, u, name);
		write(p[1], buf, strlen(buf) + 1);
		pause(); _exit(0);
	}
	char buf[256]; read(p[0], buf, sizeof buf);
	unsigned uid, gid, mode; int g, u; char name[64];
	sscanf(buf, "%u %u %o %d %d %63s", &uid, &gid, &mode, &g, &u, name);
	CHECK(uid == 65534 && gid == 4242, "a pty opened by uid 65534 gid 4242 (mount without uid=/gid=): slave node owned %u:%u (the opener's fsuid/fsgid)", uid, gid);
	CHECK(mode == 0600 && g == 0, "grantpt() returned %d and left mode %04o (the mount's mode=600): glibc's grantpt changes nothing on devpts", g, mode);
	kill(c, SIGKILL); waitpid(c, NULL, 0);

	int s, m = open_pair("/dev/ptmx", &s, NULL);
	node(s, "opened by root:");
	CHECK(fchown(s, 1000, 5) == 0 && fchmod(s, 0620) == 0, "fchown/fchmod on an open slave fd work");
	node(s, "after fchown(1000, 5), fchmod(0620):");
	int idx; ioctl(m, TIOCGPTN, &idx);
	char path[64]; snprintf(path, sizeof path, "/dev/pts/%d", idx);
	close(s);
	struct stat st; stat(path, &st);
	CHECK(st.st_uid == 1000 && st.st_gid == 5 && (st.st_mode & 07777) == 0620, "slave closed, master open: the node keeps 1000:5 0620");
	s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	fstat(s, &st);
	CHECK(st.st_uid == 1000 && (st.st_mode & 07777) == 0620, "reopened slave: same owner and mode (they belong to the node, which lives as long as the master)");
	int op = ioctl(m, TIOCGPTPEER, O_PATH);
	CHECK(fchownat(op, "", 1001, 6, AT_EMPTY_PATH) == 0, "fchownat(AT_EMPTY_PATH) on the O_PATH peer works: owner can be set before the slave is ever opened");
	int fm = fchmod(op, 0640);
	NOTE("fchmod on the O_PATH peer: %s", fm < 0 ? strerror(errno) : "ok");
	char pp[64]; snprintf(pp, sizeof pp, "/proc/self/fd/%d", op);
	CHECK(chmod(pp, 0640) == 0, "chmod through /proc/self/fd/N of the O_PATH peer works");
	node(s, "now:");
	/* mesg n / mesg y: the group write bit */
	/* times: the tty layer updates them on I/O; can they be set back? */
	struct timespec ts[2] = { { 1000000000, 0 }, { 1100000000, 0 } };
	CHECK(futimens(s, ts) == 0, "futimens on the slave fd sets atime/mtime");
	write(s, "x", 1);
	fstat(s, &st);
	NOTE("after a write by the program: atime %ld mtime %ld (the tty layer touches mtime on output, atime on input, in 8-second steps)", (long)st.st_atime, (long)st.st_mtime);
	write(m, "y\n", 2); usleep(20000); { char b[8]; read(s, b, 8); }
	fstat(s, &st);
	NOTE("after a read by the program:  atime %ld mtime %ld", (long)st.st_atime, (long)st.st_mtime);
	{
		struct timespec t2[2] = { { 1200000000, 5 }, { 1300000000, 7 } };
		int fu = futimens(op, t2);
		NOTE("futimens on the O_PATH peer: %s", fu < 0 ? strerror(errno) : "ok");
		CHECK(utimensat(AT_FDCWD, pp, t2, 0) == 0, "utimensat on /proc/self/fd/<O_PATH peer> works");
		struct stat t3; fstat(op, &t3);
		CHECK(t3.st_atim.tv_sec == 1200000000 && t3.st_atim.tv_nsec == 5 && t3.st_mtim.tv_sec == 1300000000 && t3.st_mtim.tv_nsec == 7, "node times set to the nanosecond");
	}
	close(op); close(s); close(m);
	stat(path, &st);
	CHECK(access(path, F_OK) < 0, "master closed: the node and its owner/mode are gone");
	return finish("e08_owner_mode");
}
