/*
 * e06_index: how ptmx hands out indexes, how to get a given index back, what
 * happens when it is taken, and private devpts instances.
 */
#include "common.h"
#include <time.h>
#include <sys/resource.h>

static int idx_of(int m) { int i = -1; ioctl(m, TIOCGPTN, &i); return i; }

/* open ptmx until the wanted index comes; keep the extras open meanwhile; return the master or -1 */
static int extras[20000];
static int open_at(const char *ptmx, int want, int *opens, int *got_instead)
{
	int ne = 0, m = -1;
	*got_instead = -1;
	for (;;) {
		int f = open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (f < 0) { *got_instead = -errno; break; }
		int i = idx_of(f);
		if (i == want) { m = f; break; }
		if (i > want) { *got_instead = i; close(f); break; }
		extras[ne++] = f;
	}
	*opens = ne + 1;
	for (int k = 0; k < ne; k++) close(extras[k]);
	return m;
}

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

static int readint(const char *p) { FILE *f = fopen(p, "r"); int v = -1; if (f) { fscanf(f, "%d", &v); fclose(f); } return v; }

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct rlimit rl = { 20000, 20000 }; setrlimit(RLIMIT_NOFILE, &rl);
	int m[16];
	for (int i = 0; i < 5; i++) m[i] = open("/dev/ptmx", O_RDWR | O_NOCTTY);
	NOTE("five opens: indexes %d %d %d %d %d", idx_of(m[0]), idx_of(m[1]), idx_of(m[2]), idx_of(m[3]), idx_of(m[4]));
	int base = idx_of(m[0]);
	close(m[2]);
	m[2] = open("/dev/ptmx", O_RDWR | O_NOCTTY);
	CHECK(idx_of(m[2]) == base + 2, "after closing index %d the next open gets it again (lowest free)", base + 2);
	int opens, instead;
	double t0 = now();
	int w = open_at("/dev/ptmx", base + 9, &opens, &instead);
	CHECK(w >= 0 && idx_of(w) == base + 9, "open_at(%d): got it after %d opens (%.3f ms)", base + 9, opens, (now() - t0) * 1e3);
	int probe = open("/dev/ptmx", O_RDWR | O_NOCTTY);
	CHECK(idx_of(probe) == base + 5, "the extras were closed: the next open gets %d again", base + 5);
	close(probe);
	int taken = open_at("/dev/ptmx", base + 1, &opens, &instead);
	CHECK(taken < 0 && instead == base + 5, "open_at(%d) while it is taken: no such open, the first index above it is %d, after %d opens", base + 1, instead, opens);
	int wants[] = { 255, 256, 1000, 3000 };
	for (unsigned k = 0; k < 4; k++) {
		t0 = now();
		int f = open_at("/dev/ptmx", wants[k], &opens, &instead);
		double dt = now() - t0;
		if (f >= 0) {
			int zero = 0; ioctl(f, TIOCSPTLCK, &zero);
			int sl = ioctl(f, TIOCGPTPEER, O_RDWR | O_NOCTTY);
			struct stat st; fstat(sl, &st);
			CHECK(1, "open_at(%d): %d opens, %.1f ms; slave st_rdev %u:%u", wants[k], opens, dt * 1e3, major(st.st_rdev), minor(st.st_rdev));
			close(sl); close(f);
		} else
			CHECK(0, "open_at(%d) failed: %s after %d opens", wants[k], instead < 0 ? strerror(-instead) : "index above", opens);
	}
	NOTE("kernel.pty.max %d, kernel.pty.reserve %d, kernel.pty.nr now %d", readint("/proc/sys/kernel/pty/max"), readint("/proc/sys/kernel/pty/reserve"), readint("/proc/sys/kernel/pty/nr"));
	/* how many can this instance hold in all? */
	int n = 0, err = 0;
	for (;;) { int f = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC); if (f < 0) { err = errno; break; } extras[n++] = f; if (n == 19000) break; }
	NOTE("/dev/ptmx: %d more opens until %s (index of the last %d, kernel.pty.nr %d)", n, strerror(err), idx_of(extras[n - 1]), readint("/proc/sys/kernel/pty/nr"));
	for (int k = 0; k < n; k++) close(extras[k]);

	/* half-closed pair: master closed, slave still open: the index and the node? */
	{
		int s, mm = open_pair("/dev/ptmx", &s, NULL);
		int i = idx_of(mm);
		char p[64]; snprintf(p, sizeof p, "/dev/pts/%d", i);
		close(mm);
		struct stat st;
		int exists = stat(p, &st) == 0;
		int f = open("/dev/ptmx", O_RDWR | O_NOCTTY);
		int j = idx_of(f);
		CHECK(!exists && j != i, "master closed, slave still open: %s is %s, and index %d is still taken (next open got %d)", p, exists ? "there" : "gone", i, j);
		close(f); close(s);
		f = open("/dev/ptmx", O_RDWR | O_NOCTTY);
		CHECK(idx_of(f) == i, "after the slave is closed too, index %d is free again", i);
		close(f);
	}

	/* a private instance in a private mount namespace */
	pid_t c = fork();
	if (c == 0) {
		if (unshare(CLONE_NEWNS) < 0) DIE("unshare");
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) DIE("make-rprivate");
		if (mount("devpts", "/tmp/pty-research/mnt", "devpts", 0, "newinstance,ptmxmode=0666,mode=620,gid=5") < 0) DIE("mount devpts");
		struct stat mst; stat("/tmp/pty-research/mnt", &mst);
		struct stat pst; stat("/tmp/pty-research/mnt/ptmx", &pst);
		CHECK(S_ISCHR(pst.st_mode) && major(pst.st_rdev) == 5 && minor(pst.st_rdev) == 2 && (pst.st_mode & 0777) == 0666, "the new instance has its own ptmx node 5:2, mode %o (ptmxmode=0666)", pst.st_mode & 0777);
		int s1, m1 = open_pair("/tmp/pty-research/mnt/ptmx", &s1, NULL);
		int s0, m0 = open_pair("/dev/ptmx", &s0, NULL);
		struct stat a, b; fstat(s1, &a); fstat(s0, &b);
		CHECK(idx_of(m1) == 0, "first pty of the new instance has index 0 (while the main instance holds indexes %d..)", base);
		CHECK(a.st_dev == mst.st_dev && a.st_dev != b.st_dev, "its slave's st_dev (%u:%u) is the new mount's, not /dev/pts's (%u:%u)", major(a.st_dev), minor(a.st_dev), major(b.st_dev), minor(b.st_dev));
		int same = idx_of(m0) == idx_of(m1);
		NOTE("index in the main instance now %d, in the new one %d: st_rdev %u:%u vs %u:%u%s", idx_of(m0), idx_of(m1), major(b.st_rdev), minor(b.st_rdev), major(a.st_rdev), minor(a.st_rdev), same ? " (equal rdev, different ttys)" : "");
		struct stat z; stat("/dev/pts/0", &z);
		CHECK(z.st_rdev == a.st_rdev && z.st_dev != a.st_dev, "/dev/pts/0 (held by this program in the main instance) and the new instance's pty 0 have the same st_rdev %u:%u: only st_dev tells them apart", major(z.st_rdev), minor(z.st_rdev));
		CHECK(a.st_gid == 5 && (a.st_mode & 0777) == 0620, "slave node of the new instance: gid %u mode %o (from gid=5,mode=620)", a.st_gid, a.st_mode & 0777);
		/* a second mount of devpts is another instance, with or without newinstance */
		mount("devpts", "/tmp/pty-research/mnt2", "devpts", 0, "ptmxmode=0666");
		int s2, m2 = open_pair("/tmp/pty-research/mnt2/ptmx", &s2, NULL);
		struct stat c2; fstat(s2, &c2);
		CHECK(idx_of(m2) == 0 && c2.st_dev != a.st_dev && c2.st_dev != b.st_dev, "a mount without newinstance is a new instance too (index 0, st_dev %u:%u)", major(c2.st_dev), minor(c2.st_dev));
		/* a bind mount of an instance is the same instance */
		mount("/tmp/pty-research/mnt", "/tmp/pty-research/mnt2", NULL, MS_BIND, NULL);
		int s3, m3 = open_pair("/tmp/pty-research/mnt2/ptmx", &s3, NULL);
		struct stat c3; fstat(s3, &c3);
		CHECK(c3.st_dev == a.st_dev && idx_of(m3) == 1, "a bind mount of the first new instance opens in it (index %d, same st_dev)", idx_of(m3));
		/* /dev/ptmx (devtmpfs) goes to whatever is mounted on /dev/pts */
		close(s3); close(m3);
		int lim = 0; err = 0;
		mount(NULL, "/tmp/pty-research/mnt", NULL, MS_REMOUNT, "ptmxmode=0666,max=3");
		for (;;) { int f = open("/tmp/pty-research/mnt/ptmx", O_RDWR | O_NOCTTY); if (f < 0) { err = errno; break; } lim++; }
		CHECK(err == ENOSPC, "remount with max=3 (1 in use): %d more opens, then %s", lim, strerror(err));
		mount(NULL, "/tmp/pty-research/mnt", NULL, MS_REMOUNT, "ptmxmode=0666");
		lim = 0;
		for (;;) { int f = open("/tmp/pty-research/mnt/ptmx", O_RDWR | O_NOCTTY); if (f < 0) { err = errno; break; } lim++; if (lim > 5000) break; }
		NOTE("a user-mounted instance without max=: %d more opens, then %s (kernel.pty.nr %d)", lim, strerror(err), readint("/proc/sys/kernel/pty/nr"));
		_exit(fails ? 1 : 0);
	}
	int st; waitpid(c, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) fails++;
	return finish("e06_index");
}
