/* Shared helpers for the process-tree experiments (libc and kernel headers only). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/kcmp.h>

static int fails;
#define CHECK(cond, ...) do { if (cond) { printf("  ok   "); } else { printf("  FAIL "); fails++; } \
	printf(__VA_ARGS__); printf("\n"); } while (0)
#define NOTE(...) do { printf("  ..   "); printf(__VA_ARGS__); printf("\n"); } while (0)
#define DIE(...) do { fprintf(stderr, __VA_ARGS__); fprintf(stderr, ": %s\n", strerror(errno)); exit(2); } while (0)

static inline int pidfd_open_(pid_t pid) { return syscall(SYS_pidfd_open, pid, 0); }
static inline int pidfd_getfd_(int pidfd, int fd) { return syscall(SYS_pidfd_getfd, pidfd, fd, 0); }
static inline long kcmp_(pid_t a, pid_t b, int type, unsigned long x, unsigned long y)
{ return syscall(SYS_kcmp, a, b, type, x, y); }
/* fetch fd `fd` of process `pid` into this process (needs ptrace access: root) */
static inline int getfd_of(pid_t pid, int fd)
{
	int pfd = pidfd_open_(pid);
	if (pfd < 0) return -1;
	int r = pidfd_getfd_(pfd, fd);
	int e = errno;
	close(pfd);
	errno = e;
	return r;
}

static inline void msleep(int ms) { struct timespec t = { ms / 1000, (ms % 1000) * 1000000L }; nanosleep(&t, NULL); }

/* ---- /proc readers ---- */

static inline ssize_t read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return -1;
	ssize_t n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0) return -1;
	buf[n] = 0;
	return n;
}

/* field `field` (1-based, as in proc(5)) of /proc/PID/stat as a string; fields from 3 on are
 * parsed after the last ')' so that comm may contain anything. Returns 0 on success. */
static inline int stat_str(pid_t pid, int field, char *out, size_t cap)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	if (read_file(path, buf, sizeof buf) < 0) return -1;
	char *p = strrchr(buf, ')');
	if (!p || field < 3) return -1;
	p += 2;
	for (int f = 3; f < field; f++) {
		p = strchr(p, ' ');
		if (!p) return -1;
		p++;
	}
	size_t n = strcspn(p, " \n");
	if (n >= cap) n = cap - 1;
	memcpy(out, p, n);
	out[n] = 0;
	return 0;
}
static inline long stat_long(pid_t pid, int field)
{
	char b[64];
	if (stat_str(pid, field, b, sizeof b)) return LONG_MIN;
	return strtol(b, NULL, 10);
}
static inline char stat_state(pid_t pid)
{
	char b[8];
	return stat_str(pid, 3, b, sizeof b) ? '?' : b[0];
}
#define F_PPID 4
#define F_PGRP 5
#define F_SESSION 6
#define F_TTY_NR 7
#define F_TPGID 8
#define F_EXIT_CODE 52

/* wait until /proc/PID/stat shows state `want` (up to ms milliseconds) */
static inline int wait_state(pid_t pid, char want, int ms)
{
	for (int i = 0; i < ms; i++) {
		if (stat_state(pid) == want) return 1;
		msleep(1);
	}
	return stat_state(pid) == want;
}

/* the text after "Key:" in /proc/PID/status (leading blanks removed), "" if absent;
 * four static buffers in turn, so that up to four results can be used together */
static inline const char *status_str(pid_t pid, const char *key)
{
	static char vals[4][256];
	static int turn;
	char *val = vals[turn++ % 4];
	char path[64], buf[8192];
	val[0] = 0;
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	if (read_file(path, buf, sizeof buf) < 0) return val;
	size_t kl = strlen(key);
	for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (!strncmp(l, key, kl) && l[kl] == ':') {
			char *v = l + kl + 1;
			while (*v == ' ' || *v == '\t') v++;
			size_t n = strcspn(v, "\n");
			if (n >= sizeof vals[0]) n = sizeof vals[0] - 1;
			memcpy(val, v, n);
			val[n] = 0;
			break;
		}
	}
	return val;
}

/* ---- puppets: forked helper processes that run functions on request ----
 * A puppet loops: read {fn, a, b, c} from its command pipe, run fn(a, b, c), send back
 * {ret, errno, two extra values}. Function pointers are valid because nobody execs.
 * A puppet forks further puppets (pup_fork); the controller fetches the new puppet's pipe
 * ends with pidfd_getfd. A puppet exits by itself after 20 s without a command. */

typedef long (*pfn)(long, long, long);
struct preq { pfn fn; long a, b, c; };
struct prep { long ret; int err; long x[2]; };
struct puppet { pid_t pid; int cmd, rep; };

static int pup_cmd = -1, pup_rep = -1; /* inside a puppet: its own ends */
static long pup_x[2];                   /* extra reply values, set by fn */

static void __attribute__((noreturn, unused)) puppet_loop(int cmd, int rep)
{
	pup_cmd = cmd;
	pup_rep = rep;
	for (;;) {
		struct pollfd p = { cmd, POLLIN, 0 };
		int r = poll(&p, 1, 20000);
		if (r == 0) _exit(98);
		if (r < 0) { if (errno == EINTR) continue; _exit(97); }
		struct preq q;
		ssize_t n = read(cmd, &q, sizeof q);
		if (n < 0 && errno == EINTR) continue;
		if (n == 0) _exit(0);
		if (n != sizeof q) _exit(96);
		pup_x[0] = pup_x[1] = -1;
		errno = 0;
		struct prep a;
		a.ret = q.fn(q.a, q.b, q.c);
		a.err = errno;
		a.x[0] = pup_x[0];
		a.x[1] = pup_x[1];
		if (write(pup_rep, &a, sizeof a) != sizeof a) _exit(95);
	}
}

static __attribute__((unused)) struct puppet pup_spawn(void)
{
	int c[2], r[2];
	if (pipe(c) || pipe(r)) DIE("pipe");
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) DIE("fork");
	if (pid == 0) { close(c[1]); close(r[0]); puppet_loop(c[0], r[1]); }
	close(c[0]); close(r[1]);
	return (struct puppet){ pid, c[1], r[0] };
}

static long pup_last_x[2];
/* send a request without waiting for the answer */
static inline void pup_send(struct puppet *p, pfn fn, long a, long b, long c)
{
	struct preq q = { fn, a, b, c };
	if (write(p->cmd, &q, sizeof q) != sizeof q) DIE("puppet write");
}
/* wait up to ms for the answer; -1/ETIMEDOUT if none (puppet stopped or blocked) */
static inline long pup_recv(struct puppet *p, int ms)
{
	struct pollfd pf = { p->rep, POLLIN, 0 };
	if (poll(&pf, 1, ms) <= 0) { errno = ETIMEDOUT; return -1; }
	struct prep a;
	if (read(p->rep, &a, sizeof a) != sizeof a) { errno = EPIPE; return -1; }
	pup_last_x[0] = a.x[0];
	pup_last_x[1] = a.x[1];
	errno = a.err;
	return a.ret;
}
static inline long pcall(struct puppet *p, pfn fn, long a, long b, long c)
{
	pup_send(p, fn, a, b, c);
	return pup_recv(p, 3000);
}

/* standard puppet functions */
#define PF static __attribute__((unused)) long
PF f_exit(long code, long b, long c) { (void)b; (void)c; _exit(code); }
PF f_getpid(long a, long b, long c) { (void)a; (void)b; (void)c; return getpid(); }
PF f_getppid(long a, long b, long c) { (void)a; (void)b; (void)c; return getppid(); }
PF f_setsid(long a, long b, long c) { (void)a; (void)b; (void)c; return setsid(); }
PF f_getsid(long a, long b, long c) { (void)b; (void)c; return getsid(a); }
PF f_setpgid(long pid, long pgid, long c) { (void)c; return setpgid(pid, pgid); }
PF f_getpgrp(long a, long b, long c) { (void)a; (void)b; (void)c; return getpgrp(); }
PF f_kill(long pid, long sig, long c) { (void)c; return kill(pid, sig); }
PF f_prctl(long opt, long arg, long c) { (void)c; return prctl(opt, arg, 0, 0, 0); }
PF f_get_subreaper(long a, long b, long c) { (void)a; (void)b; (void)c; int v = -1; prctl(PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0); return v; }
/* waitpid(pid, flags); the status goes to x[0] */
PF f_waitpid(long pid, long flags, long c) { (void)c; int st = 0; long r = waitpid(pid, &st, flags); pup_x[0] = st; return r; }
/* fork a new puppet; x[0], x[1] are its command write end and reply read end (valid in the child) */
PF f_fork(long a, long b, long c)
{
	(void)a; (void)b; (void)c;
	int cm[2], rp[2];
	if (pipe(cm) || pipe(rp)) return -1;
	pid_t pid = fork();
	if (pid == 0) { close(pup_cmd); close(pup_rep); puppet_loop(cm[0], rp[1]); }
	close(cm[0]); close(cm[1]); close(rp[0]); close(rp[1]);
	pup_x[0] = cm[1];
	pup_x[1] = rp[0];
	return pid;
}
/* make a puppet fork a new puppet and take over its pipe ends */
static __attribute__((unused)) struct puppet pup_fork(struct puppet *parent)
{
	long pid = pcall(parent, f_fork, 0, 0, 0);
	if (pid <= 0) DIE("puppet fork");
	struct puppet p = { pid, getfd_of(pid, pup_last_x[0]), getfd_of(pid, pup_last_x[1]) };
	if (p.cmd < 0 || p.rep < 0) DIE("pidfd_getfd of puppet pipes");
	return p;
}

/* ---- start and end ---- */

static inline void begin(const char *name)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	syscall(SYS_close_range, 3, ~0U, 0); /* inherited fds (the harness may leak one) */
	alarm(30);                           /* never hang */
	printf("%s (pid %d)\n", name, getpid());
}

/* kill and reap every descendant: our children are killed and reaped; their children, if
 * we are a subreaper, come to us and are handled in the next round */
static inline void reap_all(void)
{
	for (int round = 0; round < 50; round++) {
		int found = 0;
		DIR *d = opendir("/proc");
		struct dirent *e;
		while (d && (e = readdir(d))) {
			pid_t pid = atoi(e->d_name);
			if (pid <= 0) continue;
			if (stat_long(pid, F_PPID) == getpid()) { kill(pid, SIGKILL); found = 1; }
		}
		if (d) closedir(d);
		int st;
		while (waitpid(-1, &st, WNOHANG | __WALL) > 0) found = 1;
		if (!found) return;
		msleep(5);
	}
}

static inline int finish(const char *name)
{
	reap_all();
	printf("%s: %s (%d failed checks)\n", name, fails ? "FAILURES" : "all checks passed", fails);
	return fails ? 1 : 0;
}
