// SPDX-License-Identifier: MIT
/*
 * Per-process attributes survive checkpoint/restart:
 *  - resource limits: soft RLIMIT_NOFILE, RLIMIT_STACK, RLIMIT_CORE,
 *    RLIMIT_NICE and RLIMIT_MSGQUEUE set to unusual values below their hard
 *    limits (a hard limit lowered too), and every other limit unchanged;
 *  - umask, the working directory (a temp dir made here, still usable with a
 *    relative path), comm (PR_SET_NAME), personality (UNAME26, which only
 *    changes what uname reports), PR_SET_PDEATHSIG, PR_SET_DUMPABLE 0,
 *    PR_SET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER, the timer slack, the nice
 *    value.
 */
#include <fcntl.h>
#include <limits.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "cr/crtest.h"

#define UMASK	  0136
#define COMM	  "cr-comm-test"
#define PERS	  (PER_LINUX | UNAME26)
#define SLACK	  123457UL
#define NICE	  7
#define MARKER	  "marker"
#define MARK_TEXT "the working directory is still here\n"

struct lim {
	int res;
	const char *name;
	rlim_t soft;
};

static const struct lim lims[] = {
	{ RLIMIT_NOFILE, "RLIMIT_NOFILE", 777 },
	{ RLIMIT_STACK, "RLIMIT_STACK", 7 * 1024 * 1024 + 12 * 1024 },
	{ RLIMIT_CORE, "RLIMIT_CORE", 1234567 },
	{ RLIMIT_NICE, "RLIMIT_NICE", 7 },
	{ RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE", 654321 },
};

#define NLIMS (int)(sizeof(lims) / sizeof(lims[0]))

static struct rlimit before[RLIM_NLIMITS];
static char dir[PATH_MAX];
static volatile int pdeath_fired;

static void on_pdeath(int sig)
{
	(void)sig;
	pdeath_fired = 1;
}

/*
 * The soft limit to the wanted value if the hard one allows, else raise the
 * hard one (CAP_SYS_RESOURCE), else halfway to the hard one; it stays as it
 * is only when the hard limit is 0 or 1.
 */
static void set_limit(const struct lim *l)
{
	struct rlimit r, up = { l->soft, l->soft * 2 };

	getrlimit(l->res, &r);
	if (r.rlim_max == RLIM_INFINITY || r.rlim_max > l->soft)
		r.rlim_cur = l->soft;
	else if (!setrlimit(l->res, &up))
		r = up;
	else if (r.rlim_max > 1)
		r.rlim_cur = r.rlim_max / 2;
	if (l->res == RLIMIT_NOFILE)
		r.rlim_max -= 3; /* a lowered hard limit too */
	if (setrlimit(l->res, &r))
		cr_fail("setrlimit(%s): %m", l->name);
	printf("rlimits: %s %llu/%llu\n", l->name, (unsigned long long)r.rlim_cur,
	       (unsigned long long)r.rlim_max);
}

static void set_limits(void)
{
	for (int i = 0; i < NLIMS; i++)
		set_limit(&lims[i]);
	for (int res = 0; res < RLIM_NLIMITS; res++)
		getrlimit(res, &before[res]);
}

static void check_limits(void)
{
	for (int res = 0; res < RLIM_NLIMITS; res++) {
		struct rlimit r;

		getrlimit(res, &r);
		cr_check(r.rlim_cur == before[res].rlim_cur && r.rlim_max == before[res].rlim_max,
			 "rlimit %d is %llu/%llu, was %llu/%llu", res,
			 (unsigned long long)r.rlim_cur, (unsigned long long)r.rlim_max,
			 (unsigned long long)before[res].rlim_cur,
			 (unsigned long long)before[res].rlim_max);
	}
}

static void setup_cwd(void)
{
	int fd;

	snprintf(dir, sizeof(dir), "%s/cr-rlimits.XXXXXX", cr_tmpdir());
	if (!mkdtemp(dir))
		cr_fail("mkdtemp %s: %m", dir);
	if (chdir(dir))
		cr_fail("chdir %s: %m", dir);
	if (!getcwd(dir, sizeof(dir)))
		cr_fail("getcwd: %m");
	fd = open(MARKER, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0 || write(fd, MARK_TEXT, strlen(MARK_TEXT)) != (ssize_t)strlen(MARK_TEXT))
		cr_fail("write %s/%s: %m", dir, MARKER);
	close(fd);
}

static void check_cwd(void)
{
	char cwd[PATH_MAX], text[128] = "";
	ssize_t n;
	int fd;

	cr_check(getcwd(cwd, sizeof(cwd)), "getcwd: %m");
	cr_check(!strcmp(cwd, dir), "cwd is %s, was %s", cwd, dir);
	fd = open(MARKER, O_RDONLY);
	cr_check(fd >= 0, "open %s relative to the cwd: %m", MARKER);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	cr_check(n == (ssize_t)strlen(MARK_TEXT) && !memcmp(text, MARK_TEXT, (size_t)n),
		 "%s in the cwd has the wrong content", MARKER);
}

static void setup_task(void)
{
	struct sigaction sa = { .sa_handler = on_pdeath };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	umask(UMASK);
	if (prctl(PR_SET_NAME, COMM) || prctl(PR_SET_PDEATHSIG, SIGUSR1) ||
	    prctl(PR_SET_DUMPABLE, 0) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_CHILD_SUBREAPER, 1) || prctl(PR_SET_TIMERSLACK, SLACK))
		cr_fail("prctl: %m");
	if (personality(PERS) < 0)
		cr_fail("personality: %m");
	if (setpriority(PRIO_PROCESS, 0, NICE))
		cr_fail("setpriority: %m");
}

static int prctl_get(int option)
{
	int v = -1;

	if (option == PR_GET_PDEATHSIG || option == PR_GET_CHILD_SUBREAPER) {
		if (prctl(option, &v))
			cr_fail("prctl(%d): %m", option);
		return v;
	}
	v = prctl(option, 0, 0, 0, 0);
	if (v < 0)
		cr_fail("prctl(%d): %m", option);
	return v;
}

static void check_comm(void)
{
	char name[17] = "", proc[32] = "";
	FILE *f = fopen("/proc/self/comm", "re");

	prctl(PR_GET_NAME, name);
	cr_check(!strcmp(name, COMM), "comm is \"%s\", wanted \"%s\"", name, COMM);
	cr_check(f && fgets(proc, sizeof(proc), f), "read /proc/self/comm: %m");
	fclose(f);
	proc[strcspn(proc, "\n")] = 0;
	cr_check(!strcmp(proc, COMM), "/proc/self/comm is \"%s\", wanted \"%s\"", proc, COMM);
}

static void check_task(void)
{
	mode_t m = umask(UMASK);
	struct utsname u;
	int pers = personality(0xffffffff);

	cr_check(m == UMASK, "umask is %04o, wanted %04o", (unsigned int)m, UMASK);
	check_comm();
	cr_check(pers == PERS, "personality is %#x, wanted %#x", pers, PERS);
	uname(&u);
	cr_check(!strncmp(u.release, "2.6.", 4), "UNAME26 has no effect: release %s", u.release);
	cr_check(prctl_get(PR_GET_PDEATHSIG) == SIGUSR1, "pdeath signal is %d, wanted SIGUSR1",
		 prctl_get(PR_GET_PDEATHSIG));
	cr_check(!pdeath_fired, "the parent-death signal was delivered");
	cr_check(prctl_get(PR_GET_DUMPABLE) == 0, "dumpable is %d, wanted 0",
		 prctl_get(PR_GET_DUMPABLE));
	cr_check(prctl_get(PR_GET_NO_NEW_PRIVS) == 1, "no_new_privs is not set");
	cr_check(prctl_get(PR_GET_CHILD_SUBREAPER) == 1, "child subreaper is not set");
	cr_check((unsigned long)prctl_get(PR_GET_TIMERSLACK) == SLACK,
		 "timer slack is %d ns, wanted %lu", prctl_get(PR_GET_TIMERSLACK), SLACK);
	errno = 0;
	cr_check(getpriority(PRIO_PROCESS, 0) == NICE && !errno, "nice is %d, wanted %d",
		 getpriority(PRIO_PROCESS, 0), NICE);
}

int main(void)
{
	cr_init();
	set_limits();
	setup_cwd();
	setup_task();
	cr_ready();
	cr_wait();
	check_limits();
	check_cwd();
	check_task();
	if (!cr_keep_files()) {
		unlink(MARKER);
		if (chdir("/") || rmdir(dir))
			cr_fail("rmdir %s: %m", dir);
	}
	cr_pass();
}
