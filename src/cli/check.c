// SPDX-License-Identifier: MIT
/*
 * The probes behind `cryo check`: one row per kernel feature or privilege
 * that checkpoint or restart relies on. A header or a sysctl says nothing
 * about the running kernel and our credentials, so each probe exercises its
 * feature the way cryo will use it, then undoes what it did: children are
 * killed and reaped, fds closed, mounts made only in a child's private mount
 * namespace, temporary directories and cgroups removed.
 */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/kcmp.h>
#include <linux/sched.h>
#include <linux/userfaultfd.h>

#ifndef CAP_CHECKPOINT_RESTORE
#define CAP_CHECKPOINT_RESTORE 40
#endif

/*
 * The running kernel decides whether userfaultfd's asynchronous write
 * protection and PAGEMAP_SCAN exist, not the headers we were built with:
 * lib/uffd.h carries their ABI.
 */
#include "lib/uffd.h"

#define ARRAY_SIZE(a)	 (sizeof(a) / sizeof((a)[0]))
#define MSG_LEN		 256
#define CHILD_TIMEOUT_MS 5000 /* longest we wait for a child to report or stop */
#define CHILD_ALARM_S	 10   /* a child of a wedged parent dies by itself */
#define UNIX98_PTS_MAJOR 136  /* first of the 8 majors of pty slaves */

typedef int probe_fn(char *msg, size_t len);

struct probe {
	const char *name;
	bool optional; /* missing: listed, but check still passes */
	probe_fn *run; /* 0 or -errno, with a one-line explanation in msg */
};

/* Writes the message and passes RET through, so a probe can `return say(...)`. */
__attribute__((format(printf, 4, 5))) static int say(char *msg, size_t len, int ret,
						     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return ret;
}

static void list_add(char *list, size_t size, const char *item)
{
	size_t used = strlen(list);

	snprintf(list + used, size - used, "%s%s", used ? ", " : "", item);
}

/* Reads at most SIZE bytes of a (small, /proc) file; returns the count or -errno. */
static ssize_t read_file(const char *path, void *buf, size_t size)
{
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (got < size) {
		ssize_t n = read(fd, (char *)buf + got, size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		if (n == 0)
			break;
		got += n;
	}
	close(fd);
	return got;
}

static ssize_t read_text(const char *path, char *buf, size_t size)
{
	ssize_t n = read_file(path, buf, size - 1);

	buf[n < 0 ? 0 : n] = '\0';
	return n;
}

static long read_long(const char *path, long fallback)
{
	char buf[32];

	return read_text(path, buf, sizeof buf) > 0 ? strtol(buf, NULL, 10) : fallback;
}

static int write_text(const char *dir, const char *name, const char *text)
{
	char path[512];
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	n = n < 0 ? -errno : 0;
	close(fd);
	return n;
}

static void write_all(int fd, const void *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf = (const char *)buf + n;
		len -= n;
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * Test children. A child runs an optional setup, reports on a pipe and then
 * sleeps until the parent kills it: SIGKILL works whatever state a probe
 * left it in (traced, frozen), so one cleanup path fits every probe.
 */
struct child {
	pid_t pid;
	int fd; /* read end of the pipe the child reports on */
};

typedef void child_fn(int fd, void *arg);

static void __attribute__((noreturn)) child_main(int fd, child_fn *fn, void *arg)
{
	sigset_t all;

	/* Inherited masks and dispositions must not keep the alarm from killing us. */
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	signal(SIGALRM, SIG_DFL);
	alarm(CHILD_ALARM_S);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (fn)
		fn(fd, arg);
	for (;;)
		pause();
}

static int child_start(struct child *c, child_fn *fn, void *arg)
{
	int p[2], err;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	c->pid = fork();
	if (c->pid < 0) {
		err = -errno;
		close(p[0]);
		close(p[1]);
		return err;
	}
	if (c->pid == 0) {
		close(p[0]);
		child_main(p[1], fn, arg);
	}
	close(p[1]);
	c->fd = p[0];
	return 0;
}

static void child_stop(struct child *c)
{
	kill(c->pid, SIGKILL);
	while (waitpid(c->pid, NULL, __WALL) < 0 && errno == EINTR)
		;
	close(c->fd);
}

/* Reads exactly LEN bytes of the child's report; -ETIMEDOUT or -ECHILD if it never comes. */
static int child_read(const struct child *c, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		ssize_t n = poll(&pfd, 1, CHILD_TIMEOUT_MS);

		if (n == 0)
			return -ETIMEDOUT;
		if (n > 0)
			n = read(c->fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECHILD;
		got += n;
	}
	return 0;
}

/* waitpid() for a child that should stop soon, without trusting that it will. */
static int wait_timeout(pid_t pid, int *status)
{
	for (int ms = 0; ms < CHILD_TIMEOUT_MS; ms++) {
		pid_t r = waitpid(pid, status, WNOHANG | __WALL);

		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		sleep_ms(1);
	}
	return -ETIMEDOUT;
}

/* Runs FN in a child, for probes that change the calling process irreversibly. */
typedef int child_probe_fn(void *arg, char *msg, size_t len);

struct child_result {
	int ret;
	char msg[MSG_LEN];
};

struct child_call {
	child_probe_fn *fn;
	void *arg;
};

static void child_call_main(int fd, void *arg)
{
	const struct child_call *call = arg;
	struct child_result res = { 0 };

	res.ret = call->fn(call->arg, res.msg, sizeof res.msg);
	write_all(fd, &res, sizeof res);
}

static int run_in_child(child_probe_fn *fn, void *arg, char *msg, size_t len)
{
	struct child_call call = { fn, arg };
	struct child_result res;
	struct child c;
	int err = child_start(&c, child_call_main, &call);

	if (err)
		return say(msg, len, err, "fork: %s", strerror(-err));
	err = child_read(&c, &res, sizeof res);
	child_stop(&c);
	if (err)
		return say(msg, len, err, "test child gave no answer: %s", strerror(-err));
	res.msg[sizeof res.msg - 1] = '\0';
	return say(msg, len, res.ret, "%s", res.msg);
}

/* --- kernel and privileges ------------------------------------------------ */

static int probe_kernel(char *msg, size_t len)
{
	struct utsname u;
	unsigned int major = 0, minor = 0;

	if (uname(&u))
		return say(msg, len, -errno, "uname: %s", strerror(errno));
	sscanf(u.release, "%u.%u", &major, &minor);
	if (strcmp(u.machine, "x86_64"))
		return say(msg, len, -ENOEXEC, "Linux %s on %s; cryo supports x86_64 only",
			   u.release, u.machine);
	/* 5.13: PTRACE_GET_RSEQ_CONFIGURATION, without which rseq cannot be saved */
	if (major < 5 || (major == 5 && minor < 13))
		return say(msg, len, -ENOSYS, "Linux %s is older than 5.13; upgrade the kernel",
			   u.release);
	return say(msg, len, 0, "Linux %s %s", u.release, u.machine);
}

/* Reads a number from a "Name:\tvalue" line of /proc/self/status. */
static int status_field(const char *name, int base, uint64_t *val)
{
	char buf[4096], key[64], *p;
	ssize_t n = read_text("/proc/self/status", buf, sizeof buf);

	if (n < 0)
		return n;
	snprintf(key, sizeof key, "\n%s:", name);
	p = strstr(buf, key);
	if (!p)
		return -ENOENT;
	*val = strtoull(p + strlen(key), NULL, base);
	return 0;
}

static bool has_cap(uint64_t caps, int cap)
{
	return caps >> cap & 1;
}

/*
 * Judged by the effective capabilities, not the uid: uid 0 with its
 * capabilities dropped (a locked-down container) can do none of this.
 */
static int probe_privileges(char *msg, size_t len)
{
	long last_cap = read_long("/proc/sys/kernel/cap_last_cap", 0);
	uint64_t caps;
	char have[128] = "", lack[128] = "";
	int err = status_field("CapEff", 16, &caps);

	if (err)
		return say(msg, len, err, "reading CapEff: %s", strerror(-err));
	list_add(has_cap(caps, CAP_SYS_ADMIN) ? have : lack, sizeof have, "CAP_SYS_ADMIN");
	list_add(has_cap(caps, CAP_SYS_PTRACE) ? have : lack, sizeof have, "CAP_SYS_PTRACE");
	if (last_cap < CAP_CHECKPOINT_RESTORE)
		list_add(have, sizeof have, "no CAP_CHECKPOINT_RESTORE in this kernel");
	else if (has_cap(caps, CAP_CHECKPOINT_RESTORE))
		list_add(have, sizeof have, "CAP_CHECKPOINT_RESTORE");
	if (lack[0] && geteuid() == 0)
		return say(msg, len, -EPERM, "uid 0 but without %s; run with full capabilities",
			   lack);
	if (lack[0])
		return say(msg, len, -EPERM, "uid %u lacks %s; run as root",
			   (unsigned int)geteuid(), lack);
	/* Worth saying: many would expect PR_SET_MM to need it, cryo does not. */
	if (!has_cap(caps, CAP_SYS_RESOURCE))
		list_add(have, sizeof have, "no CAP_SYS_RESOURCE (not needed)");
	return say(msg, len, 0, "uid %u; %s", (unsigned int)geteuid(), have);
}

/* --- ptrace --------------------------------------------------------------- */

static int ptrace_denied(char *msg, size_t len, int err)
{
	long scope = read_long("/proc/sys/kernel/yama/ptrace_scope", 0);
	uint64_t tracer = 0;

	/* strace -f or a debugger already holds our children: a task has only one tracer. */
	if (!status_field("TracerPid", 10, &tracer) && tracer)
		return say(msg, len, err,
			   "PTRACE_SEIZE: %s; cryo itself is traced by pid %d, which takes its "
			   "children too",
			   strerror(-err), (int)tracer);
	if (scope >= 3)
		return say(msg, len, err,
			   "PTRACE_SEIZE: %s; yama ptrace_scope=3 forbids all ptrace",
			   strerror(-err));
	if (scope > 0)
		return say(msg, len, err,
			   "PTRACE_SEIZE: %s (kernel.yama.ptrace_scope=%ld); run as root or set "
			   "kernel.yama.ptrace_scope=0",
			   strerror(-err), scope);
	return say(msg, len, err, "PTRACE_SEIZE: %s; run as root (needs CAP_SYS_PTRACE)",
		   strerror(-err));
}

static int ptrace_interrupt(pid_t pid, char *msg, size_t len)
{
	int status, err;

	if (ptrace(PTRACE_INTERRUPT, pid, 0, 0))
		return say(msg, len, -errno, "PTRACE_INTERRUPT: %s", strerror(errno));
	err = wait_timeout(pid, &status);
	if (err)
		return say(msg, len, err, "waiting for the interrupt stop: %s", strerror(-err));
	if (!WIFSTOPPED(status) || status >> 16 != PTRACE_EVENT_STOP)
		return say(msg, len, -EPROTO,
			   "PTRACE_INTERRUPT gave wait status %#x, not an event stop", status);
	return say(msg, len, 0, "PTRACE_SEIZE and PTRACE_INTERRUPT work");
}

static int probe_ptrace(char *msg, size_t len)
{
	struct child c;
	int err = child_start(&c, NULL, NULL);

	if (err)
		return say(msg, len, err, "fork: %s", strerror(-err));
	if (ptrace(PTRACE_SEIZE, c.pid, 0, 0)) {
		err = -errno;
		child_stop(&c);
		return ptrace_denied(msg, len, err);
	}
	err = ptrace_interrupt(c.pid, msg, len);
	ptrace(PTRACE_DETACH, c.pid, 0, 0);
	child_stop(&c);
	return err;
}

/* --- clone3 with set_tid -------------------------------------------------- */

/*
 * Restart recreates tasks with their old pids in the namespace cryo runs in,
 * so try exactly that: a pid a little ahead of the last one handed out.
 */
static pid_t pick_free_pid(int attempt)
{
	long last = read_long("/proc/sys/kernel/ns_last_pid", getpid());
	long max = read_long("/proc/sys/kernel/pid_max", 32768);
	long pid = last + 100 + attempt * 37;

	if (max <= 300)
		max = 32768;
	/* Past pid_max the kernel wraps to 300 (RESERVED_PIDS); do likewise. */
	if (pid >= max)
		pid = 300 + pid % (max - 300);
	return pid;
}

static int clone3_with_pid(pid_t want, pid_t *got)
{
	struct clone_args args;
	long ret;

	memset(&args, 0, sizeof args);
	args.exit_signal = SIGCHLD;
	args.set_tid = (uintptr_t)&want;
	args.set_tid_size = 1;
	ret = syscall(SYS_clone3, &args, sizeof args);
	if (ret == 0)
		_exit(0);
	if (ret < 0)
		return -errno;
	*got = ret;
	return 0;
}

static int clone3_failed(char *msg, size_t len, int err)
{
	switch (err) {
	case -ENOSYS:
		return say(msg, len, err, "clone3: %s; needs kernel 5.5+", strerror(-err));
	case -E2BIG:
	case -EINVAL:
		return say(msg, len, err, "clone3 rejected set_tid: %s; needs kernel 5.5+",
			   strerror(-err));
	case -EPERM:
		return say(msg, len, err,
			   "clone3 failed: %s; run as root (needs CAP_CHECKPOINT_RESTORE or "
			   "CAP_SYS_ADMIN)",
			   strerror(-err));
	case -EEXIST:
		return say(msg, len, err, "clone3: every pid tried was taken");
	}
	return say(msg, len, err, "clone3 failed: %s", strerror(-err));
}

static int probe_clone3(char *msg, size_t len)
{
	pid_t want = 0, got = 0;
	int err = -EEXIST;

	for (int attempt = 0; attempt < 8 && err == -EEXIST; attempt++) {
		want = pick_free_pid(attempt);
		if (kill(want, 0) == 0 || errno != ESRCH)
			continue; /* taken; clone3 would say EEXIST */
		err = clone3_with_pid(want, &got);
	}
	if (err)
		return clone3_failed(msg, len, err);
	while (waitpid(got, NULL, 0) < 0 && errno == EINTR)
		;
	if (got != want)
		return say(msg, len, -EPROTO, "clone3 asked for pid %d but created %d", (int)want,
			   (int)got);
	return say(msg, len, 0, "created a child with the chosen pid %d", (int)want);
}

/* --- fds of another process: pidfd_getfd and kcmp ------------------------- */

struct fd_report {
	int fd;
	dev_t dev;
	ino_t ino;
};

/* The child opens a pipe of its own, so the parent cannot already hold that file. */
static void pidfd_child(int fd, void *arg)
{
	struct fd_report rep = { .fd = -1 };
	struct stat st;
	int p[2];

	(void)arg;
	if (pipe(p) == 0 && fstat(p[0], &st) == 0)
		rep = (struct fd_report){ p[0], st.st_dev, st.st_ino };
	write_all(fd, &rep, sizeof rep);
}

static int pidfd_denied(char *msg, size_t len, const char *call, int err)
{
	if (err == -ENOSYS)
		return say(msg, len, err, "%s: %s; needs kernel 5.6+", call, strerror(-err));
	if (err == -EPERM)
		return say(msg, len, err, "%s: %s; run as root (needs ptrace access)", call,
			   strerror(-err));
	return say(msg, len, err, "%s: %s", call, strerror(-err));
}

static int pidfd_fetch(pid_t pid, const struct fd_report *rep, char *msg, size_t len)
{
	struct stat st;
	int pidfd, fd, err;

	pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return pidfd_denied(msg, len, "pidfd_open", -errno);
	fd = syscall(SYS_pidfd_getfd, pidfd, rep->fd, 0);
	err = fd < 0 ? -errno : 0;
	close(pidfd);
	if (err)
		return pidfd_denied(msg, len, "pidfd_getfd", err);
	err = fstat(fd, &st) ? -errno : 0;
	close(fd);
	if (err)
		return say(msg, len, err, "fstat: %s", strerror(-err));
	if (st.st_dev != rep->dev || st.st_ino != rep->ino)
		return say(msg, len, -EPROTO, "pidfd_getfd returned some other file");
	return say(msg, len, 0, "took a child's pipe fd through pidfd_open and pidfd_getfd");
}

static int probe_pidfd_getfd(char *msg, size_t len)
{
	struct fd_report rep;
	struct child c;
	int err = child_start(&c, pidfd_child, NULL);

	if (err)
		return say(msg, len, err, "fork: %s", strerror(-err));
	err = child_read(&c, &rep, sizeof rep);
	if (!err && rep.fd < 0)
		err = -EMFILE;
	if (err)
		say(msg, len, err, "test child gave no pipe: %s", strerror(-err));
	else
		err = pidfd_fetch(c.pid, &rep, msg, len);
	child_stop(&c);
	return err;
}

/* The child dups one end of the parent's pipe: the same file under another number. */
static void kcmp_child(int fd, void *arg)
{
	int dup_fd = dup(*(const int *)arg);

	write_all(fd, &dup_fd, sizeof dup_fd);
}

static int kcmp_file(pid_t pid, int fd1, int fd2)
{
	long ret = syscall(SYS_kcmp, getpid(), pid, KCMP_FILE, fd1, fd2);

	return ret < 0 ? -errno : (int)ret;
}

static int kcmp_compare(pid_t pid, const int *p, int dup_fd, char *msg, size_t len)
{
	int same = kcmp_file(pid, p[0], dup_fd);
	int other = kcmp_file(pid, p[1], dup_fd);

	if (same == -ENOSYS)
		return say(msg, len, same,
			   "kcmp: %s; the kernel lacks CONFIG_KCMP (CONFIG_CHECKPOINT_RESTORE)",
			   strerror(-same));
	if (same < 0 || other < 0)
		return say(msg, len, same < 0 ? same : other, "kcmp: %s; run as root",
			   strerror(-(same < 0 ? same : other)));
	if (same != 0 || other == 0)
		return say(msg, len, -EPROTO, "KCMP_FILE answered %d and %d, expected 0 and not 0",
			   same, other);
	return say(msg, len, 0, "KCMP_FILE tells a child's dup of our fd from another file");
}

static int probe_kcmp(char *msg, size_t len)
{
	struct child c;
	int p[2], dup_fd, err;

	if (pipe2(p, O_CLOEXEC))
		return say(msg, len, -errno, "pipe: %s", strerror(errno));
	err = child_start(&c, kcmp_child, p);
	if (err) {
		say(msg, len, err, "fork: %s", strerror(-err));
	} else {
		err = child_read(&c, &dup_fd, sizeof dup_fd);
		if (!err && dup_fd < 0)
			err = -EMFILE;
		if (err)
			say(msg, len, err, "test child gave no fd: %s", strerror(-err));
		else
			err = kcmp_compare(c.pid, p, dup_fd, msg, len);
		child_stop(&c);
	}
	close(p[0]);
	close(p[1]);
	return err;
}

/* --- PR_SET_MM_MAP -------------------------------------------------------- */

#define STAT_FIELDS 52 /* /proc/PID/stat fields are numbered from 1 as in proc(5) */

static int read_stat(unsigned long long *f)
{
	char buf[2048], *p, *save = NULL;
	ssize_t n = read_text("/proc/self/stat", buf, sizeof buf);
	int i = 3;

	if (n < 0)
		return n;
	/* The command name may hold spaces and parentheses: field 3 follows the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	memset(f, 0, STAT_FIELDS * sizeof(*f));
	for (p = strtok_r(p + 1, " \n", &save); p && i < STAT_FIELDS;
	     p = strtok_r(NULL, " \n", &save))
		f[i++] = strtoull(p, NULL, 10);
	return i < STAT_FIELDS ? -EINVAL : 0;
}

static int mm_map_fill(struct prctl_mm_map *map, __u64 *auxv, size_t auxv_size)
{
	unsigned long long f[STAT_FIELDS];
	ssize_t n;
	int err = read_stat(f);

	if (err)
		return err;
	n = read_file("/proc/self/auxv", auxv, auxv_size);
	if (n < 0)
		return n;
	memset(map, 0, sizeof(*map));
	map->start_code = f[26];
	map->end_code = f[27];
	map->start_stack = f[28];
	map->start_data = f[45];
	map->end_data = f[46];
	map->start_brk = f[47];
	map->arg_start = f[48];
	map->arg_end = f[49];
	map->env_start = f[50];
	map->env_end = f[51];
	map->brk = (uintptr_t)sbrk(0);
	map->auxv = auxv;
	map->auxv_size = n;
	map->exe_fd = -1;
	return 0;
}

/*
 * Setting exe_fd is the part that needs privileges. Linux 6.x also refuses
 * while the old exe is still mapped, as ours is here; the restorer unmaps it first.
 */
static int mm_map_exe(struct prctl_mm_map *map, char *msg, size_t len)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	int err;

	if (fd < 0)
		return say(msg, len, -errno, "/proc/self/exe: %s", strerror(errno));
	map->exe_fd = fd;
	err = prctl(PR_SET_MM, PR_SET_MM_MAP, map, sizeof(*map), 0) ? -errno : 0;
	close(fd);
	/* EBUSY comes after the permission check: allowed, just not while mapped. */
	if (!err || err == -EBUSY)
		return say(msg, len, 0, "applied our own layout in a child; exe_fd is allowed");
	if (err == -EPERM)
		return say(msg, len, err,
			   "PR_SET_MM_MAP with exe_fd: %s; run as root (needs "
			   "CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN)",
			   strerror(-err));
	return say(msg, len, err, "PR_SET_MM_MAP with exe_fd: %s", strerror(-err));
}

static int mm_map_child(void *arg, char *msg, size_t len)
{
	struct prctl_mm_map map;
	__u64 auxv[128];
	int err = mm_map_fill(&map, auxv, sizeof auxv);

	(void)arg;
	if (err)
		return say(msg, len, err, "reading our own layout: %s", strerror(-err));
	if (prctl(PR_SET_MM, PR_SET_MM_MAP, &map, sizeof map, 0))
		return say(msg, len, -errno, "PR_SET_MM_MAP: %s", strerror(errno));
	return mm_map_exe(&map, msg, len);
}

static int probe_mm_map(char *msg, size_t len)
{
	unsigned int size = 0;

	if (prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, &size, 0, 0))
		return say(msg, len, -errno,
			   "PR_SET_MM_MAP_SIZE: %s; the kernel lacks CONFIG_CHECKPOINT_RESTORE",
			   strerror(errno));
	if (size != sizeof(struct prctl_mm_map))
		return say(msg, len, -EPROTO, "kernel struct prctl_mm_map is %u bytes, cryo's %zu",
			   size, sizeof(struct prctl_mm_map));
	return run_in_child(mm_map_child, NULL, msg, len);
}

/* --- reading another process: map_files, process_vm_readv ----------------- */

/* Finds a file mapping of ours; map_files names it with unpadded hex, unlike maps. */
static int first_file_mapping(char *path, size_t size, ino_t *ino)
{
	char line[512];
	unsigned long start, end, inode;
	FILE *f = fopen("/proc/self/maps", "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (err && fgets(line, sizeof line, f)) {
		if (sscanf(line, "%lx-%lx %*s %*s %*s %lu", &start, &end, &inode) != 3 || !inode)
			continue;
		snprintf(path, size, "/proc/self/map_files/%lx-%lx", start, end);
		*ino = inode;
		err = 0;
	}
	fclose(f);
	return err;
}

static int probe_map_files(char *msg, size_t len)
{
	char path[128];
	struct stat st;
	ino_t ino = 0;
	int fd, err = first_file_mapping(path, sizeof path, &ino);

	if (err)
		return say(msg, len, err, "no file mapping found in /proc/self/maps");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == EPERM)
		return say(msg, len, -errno,
			   "opening map_files: %s; run as root (needs CAP_CHECKPOINT_RESTORE or "
			   "CAP_SYS_ADMIN)",
			   strerror(errno));
	if (fd < 0)
		return say(msg, len, -errno, "open %s: %s", path, strerror(errno));
	err = fstat(fd, &st) ? -errno : 0;
	close(fd);
	if (err)
		return say(msg, len, err, "fstat: %s", strerror(-err));
	if (st.st_ino != ino)
		return say(msg, len, -EPROTO, "%s opened some other file", path);
	return say(msg, len, 0, "opened a file mapping through /proc/self/map_files");
}

#define VM_BUF_SIZE 4096

static unsigned char vm_pattern(size_t i)
{
	return (unsigned char)(i * 7 + 13);
}

/* The child changes its copy after fork, so reading the parent's memory would not match. */
static void vm_child(int fd, void *arg)
{
	unsigned char *buf = arg;
	char ready = 1;

	for (size_t i = 0; i < VM_BUF_SIZE; i++)
		buf[i] = vm_pattern(i);
	write_all(fd, &ready, 1);
}

static int vm_read(pid_t pid, void *remote, char *msg, size_t len)
{
	unsigned char local[VM_BUF_SIZE];
	struct iovec l = { local, sizeof local }, r = { remote, sizeof local };
	ssize_t n = process_vm_readv(pid, &l, 1, &r, 1, 0);

	if (n < 0 && errno == ENOSYS)
		return say(msg, len, -errno,
			   "process_vm_readv: %s; the kernel lacks CONFIG_CROSS_MEMORY_ATTACH",
			   strerror(errno));
	if (n < 0)
		return say(msg, len, -errno,
			   "process_vm_readv: %s; run as root (needs ptrace access)",
			   strerror(errno));
	if (n != (ssize_t)sizeof local)
		return say(msg, len, -EIO, "process_vm_readv read %zd of %zu bytes", n,
			   sizeof local);
	for (size_t i = 0; i < sizeof local; i++) {
		if (local[i] != vm_pattern(i))
			return say(msg, len, -EPROTO, "process_vm_readv read the wrong bytes");
	}
	return say(msg, len, 0, "read %zd bytes of a child's memory", n);
}

static int probe_vm_readv(char *msg, size_t len)
{
	unsigned char *buf = calloc(1, VM_BUF_SIZE);
	struct child c;
	char ready;
	int err;

	if (!buf)
		return say(msg, len, -ENOMEM, "out of memory");
	err = child_start(&c, vm_child, buf);
	if (err) {
		say(msg, len, err, "fork: %s", strerror(-err));
	} else {
		err = child_read(&c, &ready, 1);
		if (err)
			say(msg, len, err, "test child never got ready: %s", strerror(-err));
		else
			err = vm_read(c.pid, buf, msg, len);
		child_stop(&c);
	}
	free(buf);
	return err;
}

/* --- ptys ----------------------------------------------------------------- */

static int devpts_child(void *arg, char *msg, size_t len)
{
	const char *dir = arg;
	char ptmx[128];
	unsigned int n;
	int fd, err = 0;

	if (unshare(CLONE_NEWNS))
		return say(msg, len, -errno,
			   "unshare(CLONE_NEWNS): %s; run as root (needs CAP_SYS_ADMIN)",
			   strerror(errno));
	/* Else the mount below would propagate back into cryo's namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return say(msg, len, -errno, "making / private: %s", strerror(errno));
	if (mount("devpts", dir, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666"))
		return say(msg, len, -errno, "mounting devpts: %s", strerror(errno));
	snprintf(ptmx, sizeof ptmx, "%s/ptmx", dir);
	fd = open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, TIOCGPTN, &n))
		err = -errno;
	if (fd >= 0)
		close(fd);
	umount2(dir, MNT_DETACH);
	if (err)
		return say(msg, len, err, "pty in the new instance: %s", strerror(-err));
	return say(msg, len, 0, "opened pty %u of a private devpts instance", n);
}

static int probe_devpts(char *msg, size_t len)
{
	char dir[] = "/tmp/cryo-check.XXXXXX";
	int err;

	if (!mkdtemp(dir))
		return say(msg, len, -errno, "mkdtemp: %s", strerror(errno));
	err = run_in_child(devpts_child, dir, msg, len);
	rmdir(dir);
	return err;
}

static int ptpeer_check(int master, char *msg, size_t len)
{
	unsigned int n;
	struct stat st;
	int peer, err;

	if (unlockpt(master) || ioctl(master, TIOCGPTN, &n))
		return say(msg, len, -errno, "unlocking the pty: %s", strerror(errno));
	peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (peer < 0)
		return say(msg, len, -errno, "TIOCGPTPEER: %s; needs kernel 4.13+",
			   strerror(errno));
	err = fstat(peer, &st) ? -errno : 0;
	close(peer);
	if (err)
		return say(msg, len, err, "fstat: %s", strerror(-err));
	if (!S_ISCHR(st.st_mode) ||
	    (major(st.st_rdev) - UNIX98_PTS_MAJOR) * 256 + minor(st.st_rdev) != n)
		return say(msg, len, -EPROTO, "TIOCGPTPEER gave a file that is not pty %u", n);
	return say(msg, len, 0, "got the slave of pty %u from its master", n);
}

static int probe_ptpeer(char *msg, size_t len)
{
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	int err;

	if (master < 0)
		return say(msg, len, -errno, "/dev/ptmx: %s", strerror(errno));
	err = ptpeer_check(master, msg, len);
	close(master);
	return err;
}

/* --- userfaultfd and PAGEMAP_SCAN ----------------------------------------- */

static int uffd_open(void)
{
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	int err, dev;

	if (fd >= 0)
		return fd;
	err = -errno;
	/* vm.unprivileged_userfaultfd=0 denies the syscall; /dev/userfaultfd obeys its mode. */
	dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return err;
	fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
	close(dev);
	return fd < 0 ? err : fd;
}

static int uffd_api(int fd, __u64 want, __u64 *have)
{
	struct uffdio_api api = { .api = UFFD_API, .features = want };

	if (ioctl(fd, UFFDIO_API, &api))
		return -errno;
	*have = api.features;
	return 0;
}

/* Returns a ready userfaultfd, with wp-async enabled if the kernel has it, or -errno. */
static int uffd_start(bool *async, __u64 *have)
{
	int fd = uffd_open(), err;

	if (fd < 0)
		return fd;
	*async = true;
	err = uffd_api(fd, UFFD_FEATURE_WP_ASYNC, have);
	if (err == -EINVAL) {
		/* Unknown feature requested; UFFDIO_API works once per fd, so take a new one. */
		close(fd);
		fd = uffd_open();
		if (fd < 0)
			return fd;
		*async = false;
		err = uffd_api(fd, 0, have);
	}
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* Returns the number of regions of [mem, mem + size) in CATEGORY, or -errno. */
static int pagemap_scan(void *mem, size_t size, __u64 category, struct page_region *vec,
			size_t nvec)
{
	struct pm_scan_arg arg = {
		.size = sizeof arg,
		.start = (uintptr_t)mem,
		.end = (uintptr_t)mem + size,
		.vec = (uintptr_t)vec,
		.vec_len = nvec,
		.category_mask = category,
		.return_mask = category,
	};
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = ioctl(fd, PAGEMAP_SCAN, &arg);
	ret = ret < 0 ? -errno : ret;
	close(fd);
	return ret;
}

/* Is exactly page INDEX of MEM reported? */
static int scan_finds_page(char *mem, size_t size, __u64 category, size_t index)
{
	size_t page = sysconf(_SC_PAGESIZE);
	struct page_region vec[4];
	int n = pagemap_scan(mem, size, category, vec, ARRAY_SIZE(vec));

	if (n < 0)
		return n;
	if (n != 1 || vec[0].start != (uintptr_t)mem + index * page ||
	    vec[0].end != vec[0].start + page)
		return -EPROTO;
	return 0;
}

/* PAGEMAP_SCAN alone: of two pages, only the touched one is present. */
static int pagemap_scan_works(void)
{
	size_t size = 2 * sysconf(_SC_PAGESIZE);
	char *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int err;

	if (mem == MAP_FAILED)
		return -errno;
	mem[0] = 1;
	err = scan_finds_page(mem, size, PAGE_IS_PRESENT, 0);
	munmap(mem, size);
	return err;
}

static int uffd_protect(int uffd, void *mem, size_t size)
{
	struct uffdio_register reg = {
		.range = { (uintptr_t)mem, size },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	struct uffdio_writeprotect wp = {
		.range = { (uintptr_t)mem, size },
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};

	if (ioctl(uffd, UFFDIO_REGISTER, &reg) || ioctl(uffd, UFFDIO_WRITEPROTECT, &wp))
		return -errno;
	return 0;
}

/* An incremental checkpoint in small: protect, write one page, find just that one written. */
static int uffd_tracks_writes(int uffd)
{
	size_t page = sysconf(_SC_PAGESIZE), size = 4 * page;
	char *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int err;

	if (mem == MAP_FAILED)
		return -errno;
	memset(mem, 1, size);
	err = uffd_protect(uffd, mem, size);
	if (!err) {
		mem[2 * page] = 2;
		err = scan_finds_page(mem, size, PAGE_IS_WRITTEN, 2);
	}
	munmap(mem, size);
	return err;
}

static int uffd_denied(char *msg, size_t len, int err)
{
	if (err == -EPERM || err == -EACCES)
		return say(msg, len, err,
			   "userfaultfd: %s; run as root or set vm.unprivileged_userfaultfd=1",
			   strerror(-err));
	if (err == -ENOSYS)
		return say(msg, len, err, "userfaultfd: %s; the kernel lacks CONFIG_USERFAULTFD",
			   strerror(-err));
	return say(msg, len, err, "userfaultfd: %s", strerror(-err));
}

static int probe_userfaultfd(char *msg, size_t len)
{
	char have[96] = "", lack[96] = "";
	__u64 features = 0;
	bool async;
	int uffd = uffd_start(&async, &features);

	if (uffd < 0)
		return uffd_denied(msg, len, uffd);
	list_add(features & UFFD_FEATURE_PAGEFAULT_FLAG_WP ? have : lack, sizeof have, "wp");
	list_add(async && !uffd_tracks_writes(uffd) ? have : lack, sizeof have, "wp-async");
	close(uffd);
	list_add(!pagemap_scan_works() ? have : lack, sizeof have, "pagemap-scan");
	if (!lack[0])
		return say(msg, len, 0, "features: %s", have);
	return say(msg, len, 0, "features: %s; lacks %s (kernel 6.7+)", have[0] ? have : "none",
		   lack);
}

/* --- cgroup v2 freezer ---------------------------------------------------- */

static int cgroup2_mount(char *mnt, size_t size)
{
	char line[1024], point[512];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (err && fgets(line, sizeof line, f)) {
		if (!strstr(line, " - cgroup2 "))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %511s", point) == 1) {
			snprintf(mnt, size, "%s", point);
			err = 0;
		}
	}
	fclose(f);
	return err;
}

/* Our cgroup v2 path ("/..."), "" if unknown or the root. */
static void own_cgroup(char *path, size_t size)
{
	char buf[4096] = "\n", *p, *nl;

	path[0] = '\0';
	/* Behind a newline, so the v2 line is "\n0::" even when it comes first. */
	if (read_text("/proc/self/cgroup", buf + 1, sizeof buf - 1) < 0)
		return;
	p = strstr(buf, "\n0::");
	if (!p)
		return;
	p += 4;
	nl = strchr(p, '\n');
	if (nl)
		*nl = '\0';
	if (strcmp(p, "/"))
		snprintf(path, size, "%s", p);
}

/* Under our own cgroup first: that is the part of the tree a container is delegated. */
static int freezer_mkdir(const char *mnt, char *dir, size_t size)
{
	char own[512];

	own_cgroup(own, sizeof own);
	snprintf(dir, size, "%s%s/cryo-check.%d", mnt, own, (int)getpid());
	if (!mkdir(dir, 0755))
		return 0;
	snprintf(dir, size, "%s/cryo-check.%d", mnt, (int)getpid());
	return mkdir(dir, 0755) ? -errno : 0;
}

static int freezer_cycle(const char *dir, pid_t pid)
{
	char buf[256], path[1200];
	int err;

	snprintf(buf, sizeof buf, "%d", (int)pid);
	err = write_text(dir, "cgroup.procs", buf);
	if (!err)
		err = write_text(dir, "cgroup.freeze", "1");
	if (err)
		return err;
	snprintf(path, sizeof path, "%s/cgroup.events", dir);
	err = -ETIMEDOUT;
	for (int ms = 0; err && ms < CHILD_TIMEOUT_MS; ms += 10) {
		if (read_text(path, buf, sizeof buf) > 0 && strstr(buf, "frozen 1"))
			err = 0;
		else
			sleep_ms(10);
	}
	write_text(dir, "cgroup.freeze", "0");
	return err;
}

/* rmdir fails with EBUSY until the cgroup notices its last task has gone. */
static void freezer_rmdir(const char *dir)
{
	for (int i = 0; i < 100 && rmdir(dir) && errno == EBUSY; i++)
		sleep_ms(10);
}

static int freezer_try(const char *dir, char *msg, size_t len)
{
	struct child c;
	char path[1200];
	int err;

	snprintf(path, sizeof path, "%s/cgroup.freeze", dir);
	if (access(path, F_OK))
		return say(msg, len, -ENOENT, "no cgroup.freeze; needs kernel 5.2+");
	err = child_start(&c, NULL, NULL);
	if (err)
		return say(msg, len, err, "fork: %s", strerror(-err));
	err = freezer_cycle(dir, c.pid);
	child_stop(&c);
	if (err)
		return say(msg, len, err, "freezing a child in %s: %s", dir, strerror(-err));
	return 0;
}

static int probe_freezer(char *msg, size_t len)
{
	char mnt[512], dir[1100];
	int err = cgroup2_mount(mnt, sizeof mnt);

	if (err)
		return say(msg, len, err, "no cgroup v2 hierarchy mounted");
	err = freezer_mkdir(mnt, dir, sizeof dir);
	if (err)
		return say(msg, len, err, "creating a cgroup under %s: %s; run as root", mnt,
			   strerror(-err));
	err = freezer_try(dir, msg, len);
	freezer_rmdir(dir);
	if (err)
		return err;
	/* Name the hierarchy rather than our temporary cgroup, which is gone. */
	return say(msg, len, 0, "froze and thawed a child in a cgroup v2 at %s", mnt);
}

/* --- the table ------------------------------------------------------------ */

static const struct probe probes[] = {
	{ "kernel", false, probe_kernel },
	{ "privileges", false, probe_privileges },
	{ "ptrace", false, probe_ptrace },
	{ "clone3 set_tid", false, probe_clone3 },
	{ "pidfd_getfd", false, probe_pidfd_getfd },
	{ "kcmp", false, probe_kcmp },
	{ "PR_SET_MM_MAP", false, probe_mm_map },
	{ "map_files", false, probe_map_files },
	{ "process_vm_readv", false, probe_vm_readv },
	/* Restoring ptys into private instances; same-instance restarts work without. */
	{ "devpts newinstance", true, probe_devpts },
	{ "TIOCGPTPEER", true, probe_ptpeer },
	/* Lazy restart and incremental checkpoints. */
	{ "userfaultfd", true, probe_userfaultfd },
	{ "cgroup freezer", true, probe_freezer },
};

static int run_probe(FILE *out, const struct probe *p, int width)
{
	char msg[MSG_LEN] = "";
	int err = p->run(msg, sizeof msg);
	const char *status = !err ? "ok" : p->optional ? "absent" : "MISSING";

	if (err && !msg[0])
		snprintf(msg, sizeof msg, "%s", strerror(-err));
	fprintf(out, "%-8s %-*s %s%s\n", status, width, p->name, p->optional ? "optional; " : "",
		msg);
	/* Shows progress line by line, and leaves nothing buffered for a fork to copy. */
	fflush(out);
	return err;
}

int check_run_probes(FILE *out)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL }, old;
	bool missing[ARRAY_SIZE(probes)];
	int width = 0, nmissing = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(probes); i++)
		if ((int)strlen(probes[i].name) > width)
			width = strlen(probes[i].name);
	/* An inherited SIG_IGN for SIGCHLD would reap our children behind our back. */
	sigaction(SIGCHLD, &dfl, &old);
	fflush(out);
	for (i = 0; i < ARRAY_SIZE(probes); i++) {
		missing[i] = run_probe(out, &probes[i], width) && !probes[i].optional;
		nmissing += missing[i];
	}
	sigaction(SIGCHLD, &old, NULL);
	if (!nmissing) {
		fprintf(out, "cryo can checkpoint and restart on this machine\n");
		return EXIT_OK;
	}
	fprintf(out, "cryo cannot work here: missing");
	for (i = 0; i < ARRAY_SIZE(probes); i++) {
		if (missing[i])
			fprintf(out, " %s%s", probes[i].name, --nmissing ? "," : "");
	}
	fprintf(out, "\n");
	return EXIT_FAIL;
}
