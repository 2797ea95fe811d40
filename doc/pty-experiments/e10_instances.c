/*
 * e10_instances: which devpts instance a pty lives in, and how to reach the
 * ptmx of a given instance, on this machine where /dev/pts holds two
 * stacked devpts mounts (the lower one covered by the upper one).
 */
#include "common.h"
#include <sys/socket.h>

struct mnt { int id; unsigned ma, mi; char mp[256]; char opts[256]; };

static int devpts_mounts(const char *mountinfo, struct mnt *out, int max)
{
	FILE *f = fopen(mountinfo, "r");
	char line[1024]; int n = 0;
	while (fgets(line, sizeof line, f) && n < max) {
		struct mnt m; char fstype[64], super[256];
		char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%d %*d %u:%u %*s %255s", &m.id, &m.ma, &m.mi, m.mp) != 4) continue;
		if (sscanf(dash + 3, "%63s %*s %255s", fstype, super) != 2 || strcmp(fstype, "devpts")) continue;
		strcpy(m.opts, super); out[n++] = m;
	}
	fclose(f);
	return n;
}

static int fdinfo_mnt_id(pid_t pid, int fd)
{
	char p[64], buf[512]; snprintf(p, sizeof p, "/proc/%d/fdinfo/%d", pid, fd);
	int f = open(p, O_RDONLY); int n = read(f, buf, sizeof buf - 1); close(f); buf[n > 0 ? n : 0] = 0;
	char *s = strstr(buf, "mnt_id:"); return s ? atoi(s + 7) : -1;
}

static void send_fd(int sock, int fd)
{
	char c = 0; struct iovec iov = { &c, 1 };
	char cbuf[CMSG_SPACE(sizeof(int))]; memset(cbuf, 0, sizeof cbuf);
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm->cmsg_level = SOL_SOCKET; cm->cmsg_type = SCM_RIGHTS; cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof fd);
	sendmsg(sock, &mh, 0);
}
static int recv_fd(int sock)
{
	char c; struct iovec iov = { &c, 1 };
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
	if (recvmsg(sock, &mh, 0) <= 0) return -1;
	int fd; memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof fd); return fd;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct mnt ms[16];
	int n = devpts_mounts("/proc/self/mountinfo", ms, 16);
	struct stat top; stat("/dev/pts", &top);
	for (int i = 0; i < n; i++) {
		char p[300]; snprintf(p, sizeof p, "%s/ptmx", ms[i].mp);
		struct stat st; stat(p, &st);
		NOTE("devpts mount id %d dev %u:%u on %s (%s): %s/ptmx stats as dev %u:%u -> %s", ms[i].id, ms[i].ma, ms[i].mi, ms[i].mp, ms[i].opts, ms[i].mp,
		     major(st.st_dev), minor(st.st_dev), makedev(ms[i].ma, ms[i].mi) == st.st_dev ? "reachable" : "COVERED: the path leads to another instance");
	}
	/* which instance /dev/ptmx and /dev/pts/ptmx open in */
	int s1, m1 = open_pair("/dev/ptmx", &s1, NULL);
	int s2, m2 = open_pair("/dev/pts/ptmx", &s2, NULL);
	struct stat a, b; fstat(s1, &a); fstat(s2, &b);
	CHECK(a.st_dev == top.st_dev && b.st_dev == top.st_dev, "/dev/ptmx and /dev/pts/ptmx both open in the top instance %u:%u", major(top.st_dev), minor(top.st_dev));
	NOTE("fdinfo mnt_id: master opened by /dev/ptmx %d, by /dev/pts/ptmx %d; slave %d", fdinfo_mnt_id(getpid(), m1), fdinfo_mnt_id(getpid(), m2), fdinfo_mnt_id(getpid(), s1));
	struct stat mst; fstat(m2, &mst);
	CHECK(mst.st_dev == top.st_dev, "a master opened through <devpts>/ptmx has the instance's st_dev; through /dev/ptmx it has devtmpfs's");
	int op = ioctl(m1, TIOCGPTPEER, O_PATH | O_CLOEXEC);
	struct stat o; fstat(op, &o);
	CHECK(op >= 0 && o.st_dev == a.st_dev && o.st_ino == a.st_ino, "TIOCGPTPEER(O_PATH) on the master gives the slave inode: st_dev names the master's instance");

	/* the covered instance: reachable from a private mount namespace after detaching the upper mount */
	int sv[2]; socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
	pid_t c = fork();
	if (c == 0) {
		if (unshare(CLONE_NEWNS) < 0) DIE("unshare");
		mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
		if (umount2("/dev/pts", MNT_DETACH) < 0) DIE("umount upper /dev/pts");
		int m = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY);
		if (m < 0) DIE("lower ptmx");
		int m3 = open("/dev/ptmx", O_RDWR | O_NOCTTY);
		if (m3 < 0) NOTE("child: /dev/ptmx with the upper /dev/pts detached: %s", strerror(errno));
		send_fd(sv[1], m); send_fd(sv[1], m3);
		_exit(0);
	}
	int lm = recv_fd(sv[0]), lm2 = recv_fd(sv[0]);
	NOTE("received fds %d %d", lm, lm2);
	waitpid(c, NULL, 0);
	int zero = 0; ioctl(lm, TIOCSPTLCK, &zero); ioctl(lm2, TIOCSPTLCK, &zero);
	int ls = ioctl(lm, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	int ls2 = ioctl(lm2, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	int ls2_errno = errno;
	struct stat l, l2; fstat(ls, &l); fstat(ls2, &l2);
	unsigned lower_dev = 0;
	for (int i = 0; i < n; i++) if (makedev(ms[i].ma, ms[i].mi) != top.st_dev) lower_dev = makedev(ms[i].ma, ms[i].mi);
	CHECK(ls >= 0 && l.st_dev == lower_dev, "in a private mount namespace with the upper mount detached, /dev/pts/ptmx opens in the lower instance (slave dev %u:%u); TIOCGPTPEER works back in the original namespace", major(l.st_dev), minor(l.st_dev));
	CHECK(ls2 < 0 && ls2_errno == ENODEV, "there, /dev/ptmx opened in the lower instance too, but once that namespace is gone TIOCGPTPEER on this master fails: %s", ls2 < 0 ? strerror(ls2_errno) : "worked");
	(void)l2;
	int idx = -1; ioctl(lm, TIOCGPTN, &idx);
	NOTE("lower-instance pty index %d; /dev/pts/%d in our namespace is %s", idx, idx, access("/dev/pts/0", F_OK) == 0 ? "a node of the upper instance (same name, another tty)" : "absent");
	char p[64]; snprintf(p, sizeof p, "/proc/self/fd/%d", ls);
	char lk[128]; ssize_t k = readlink(p, lk, sizeof lk - 1); lk[k > 0 ? k : 0] = 0;
	NOTE("readlink of the lower slave fd: %s (mnt_id %d): the path alone does not say which instance", lk, fdinfo_mnt_id(getpid(), ls));
	/* the situation of a stacked /dev/pts: a master opened by /dev/ptmx before another devpts was mounted over /dev/pts */
	{
		pid_t h = fork();
		if (h == 0) {
			unshare(CLONE_NEWNS); mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
			int m = open("/dev/ptmx", O_RDWR | O_NOCTTY); /* upper instance of this machine */
			int z = 0; ioctl(m, TIOCSPTLCK, &z);
			int before = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
			if (mount("devpts", "/dev/pts", "devpts", 0, "ptmxmode=0666") < 0) DIE("stack devpts");
			int after = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
			int e1 = errno;
			int afterp = ioctl(m, TIOCGPTPEER, O_PATH);
			int e2 = errno;
			CHECK(before >= 0 && after < 0, "master opened by /dev/ptmx, then another devpts mounted over /dev/pts: TIOCGPTPEER worked before, fails after: %s; with O_PATH: %s",
			      strerror(e1), afterp < 0 ? strerror(e2) : "works");
			int pm = open("/dev/ptmx", O_RDWR | O_NOCTTY);
			struct stat x, y; fstat(before, &x);
			z = 0; ioctl(pm, TIOCSPTLCK, &z); int ps = ioctl(pm, TIOCGPTPEER, O_RDWR | O_NOCTTY); fstat(ps, &y);
			CHECK(x.st_dev != y.st_dev, "and /dev/ptmx now opens in the new top instance (%u:%u, the first was %u:%u)", major(y.st_dev), minor(y.st_dev), major(x.st_dev), minor(x.st_dev));
			int k = -1; ioctl(m, TIOCGPTN, &k);
			CHECK(k >= 0, "TIOCGPTN still works on the old master (index %d)", k);
			/* a master opened through the instance's own ptmx node keeps working */
			_exit(fails ? 1 : 0);
		}
		int st; waitpid(h, &st, 0); if (!WIFEXITED(st) || WEXITSTATUS(st)) fails++;
	}
	close(ls); close(ls2); close(lm); close(lm2); close(s1); close(m1); close(s2); close(m2); close(op);
	return finish("e10_instances");
}
