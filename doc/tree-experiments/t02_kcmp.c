/*
 * t02_kcmp: what kcmp(2) says about resources shared between tasks.
 * KCMP_FILE (same open file description), KCMP_FILES (fd table, CLONE_FILES),
 * KCMP_FS (cwd/root/umask, CLONE_FS), KCMP_VM (CLONE_VM), KCMP_SIGHAND (CLONE_SIGHAND),
 * KCMP_SYSVSEM (CLONE_SYSVSEM), against plain fork() children and threads.
 * kcmp returns 0 for equal, 1 or 2 for an ordering of unequal objects.
 */
#include "common.h"
#include <linux/sched.h>
#include <pthread.h>
#include <sys/sem.h>

static int hold[2]; /* each child waits for one byte on hold[0] */

static void wait_hold(void)
{
	char c;
	while (read(hold[0], &c, 1) < 0 && errno == EINTR)
		;
	/* (closing hold[1] would not do: forked children hold copies of it) */
}

/* clone3 without CLONE_VM: returns twice like fork */
static pid_t clone3_(unsigned long flags)
{
	struct clone_args a;
	memset(&a, 0, sizeof a);
	a.flags = flags;
	a.exit_signal = SIGCHLD;
	fflush(stdout);
	return syscall(SYS_clone3, &a, sizeof a);
}

static int report[2]; /* children that must tell us something write here */

static int vm_child(void *arg)
{
	(void)arg;
	wait_hold();
	return 0;
}
static char vm_stack[2][256 * 1024] __attribute__((aligned(16)));

static pid_t thread_tid;
static void *thread_fn(void *arg)
{
	(void)arg;
	thread_tid = gettid();
	wait_hold();
	return NULL;
}

static const char *rel(long r)
{
	return r == 0 ? "equal" : r == 1 ? "less" : r == 2 ? "greater" : r == 3 ? "not equal (unordered)" : "error";
}

int main(void)
{
	begin("t02_kcmp");
	pid_t me = getpid();
	if (kcmp_(me, me, KCMP_FILES, 0, 0) < 0 && errno == ENOSYS) { printf("kcmp: ENOSYS (no CONFIG_KCMP)\n"); return 1; }
	pipe(hold);
	pipe(report);

	printf("-- KCMP_FILE\n");
	int fd1 = open("/dev/null", O_RDWR), fd2 = open("/dev/null", O_RDWR), fd3 = dup(fd1);
	long r = kcmp_(me, me, KCMP_FILE, fd1, fd3);
	CHECK(r == 0, "fd and its dup(): %s", rel(r));
	r = kcmp_(me, me, KCMP_FILE, fd1, fd2);
	long rr = kcmp_(me, me, KCMP_FILE, fd2, fd1);
	CHECK((r == 1 && rr == 2) || (r == 2 && rr == 1), "two open() of /dev/null: %s, swapped arguments: %s (a consistent order, usable for sorting)", rel(r), rel(rr));
	pid_t f = clone3_(0);
	if (f == 0) { wait_hold(); _exit(0); }
	r = kcmp_(me, f, KCMP_FILE, fd1, fd1);
	CHECK(r == 0, "same fd number in parent and fork() child: %s (the description is shared)", rel(r));
	r = kcmp_(me, f, KCMP_FILE, fd1, fd2);
	CHECK(r == 1 || r == 2, "our fd1 vs the child's fd2: %s", rel(r));
	r = kcmp_(me, f, KCMP_FILE, fd1, 999);
	CHECK(r < 0 && errno == EBADF, "a closed fd number in the other task: EBADF");

	printf("-- KCMP_FILES (fd table)\n");
	r = kcmp_(me, f, KCMP_FILES, 0, 0);
	CHECK(r == 1 || r == 2, "fork() child: %s (a copy)", rel(r));
	pid_t cf = clone3_(CLONE_FILES);
	if (cf == 0) {
		int nfd = open("/dev/zero", O_RDONLY); /* lands in the shared table */
		write(report[1], &nfd, sizeof nfd);
		wait_hold();
		_exit(0);
	}
	int nfd = -1;
	read(report[0], &nfd, sizeof nfd);
	r = kcmp_(me, cf, KCMP_FILES, 0, 0);
	CHECK(r == 0, "clone3(CLONE_FILES) child: %s", rel(r));
	char lnk[64], tgt[64] = "";
	snprintf(lnk, sizeof lnk, "/proc/self/fd/%d", nfd);
	readlink(lnk, tgt, sizeof tgt - 1);
	CHECK(!strcmp(tgt, "/dev/zero"), "fd %d opened by the CLONE_FILES child appears in our table (%s)", nfd, tgt);
	close(nfd);

	printf("-- KCMP_FS (cwd, root, umask)\n");
	r = kcmp_(me, f, KCMP_FS, 0, 0);
	CHECK(r == 1 || r == 2, "fork() child: %s", rel(r));
	char cwd0[PATH_MAX], cwd1[PATH_MAX] = "";
	getcwd(cwd0, sizeof cwd0);
	pid_t cfs = clone3_(CLONE_FS);
	if (cfs == 0) {
		int ok = chdir("/proc") == 0;
		write(report[1], &ok, sizeof ok);
		wait_hold();
		_exit(0);
	}
	int ok;
	read(report[0], &ok, sizeof ok);
	r = kcmp_(me, cfs, KCMP_FS, 0, 0);
	CHECK(r == 0, "clone3(CLONE_FS) child: %s", rel(r));
	getcwd(cwd1, sizeof cwd1);
	CHECK(!strcmp(cwd1, "/proc"), "its chdir(\"/proc\") moved our cwd too (%s)", cwd1);
	chdir(cwd0);

	printf("-- KCMP_VM, KCMP_SIGHAND\n");
	r = kcmp_(me, f, KCMP_VM, 0, 0);
	CHECK(r == 1 || r == 2, "fork() child VM: %s", rel(r));
	r = kcmp_(me, f, KCMP_SIGHAND, 0, 0);
	CHECK(r == 1 || r == 2, "fork() child SIGHAND: %s", rel(r));
	pid_t cvm = clone(vm_child, vm_stack[0] + sizeof vm_stack[0], CLONE_VM | SIGCHLD, NULL);
	r = kcmp_(me, cvm, KCMP_VM, 0, 0);
	CHECK(r == 0, "clone(CLONE_VM) child: %s", rel(r));
	r = kcmp_(me, cvm, KCMP_SIGHAND, 0, 0);
	CHECK(r == 1 || r == 2, "clone(CLONE_VM) child SIGHAND: %s", rel(r));
	pid_t csh = clone(vm_child, vm_stack[1] + sizeof vm_stack[1], CLONE_VM | CLONE_SIGHAND | SIGCHLD, NULL);
	r = kcmp_(me, csh, KCMP_SIGHAND, 0, 0);
	CHECK(r == 0, "clone(CLONE_VM|CLONE_SIGHAND) child SIGHAND: %s", rel(r));
	r = kcmp_(me, csh, KCMP_FILES, 0, 0);
	CHECK(r == 1 || r == 2, "and its FILES: %s (only what was asked for is shared)", rel(r));

	printf("-- KCMP_SYSVSEM (the SEM_UNDO list)\n");
	r = kcmp_(me, f, KCMP_SYSVSEM, 0, 0);
	CHECK(r == 0, "fork() child, no SEM_UNDO used anywhere: %s (both lists absent: equal says nothing)", rel(r));
	int sem = semget(IPC_PRIVATE, 1, 0600);
	struct sembuf op = { 0, 1, SEM_UNDO };
	CHECK(sem >= 0 && semop(sem, &op, 1) == 0, "semop with SEM_UNDO in the parent (creates its undo list)");
	pid_t f2 = clone3_(0);
	if (f2 == 0) { wait_hold(); _exit(0); }
	r = kcmp_(me, f2, KCMP_SYSVSEM, 0, 0);
	CHECK(r == 1 || r == 2, "fork() child after that: %s", rel(r));
	pid_t csem = clone3_(CLONE_SYSVSEM);
	if (csem == 0) { wait_hold(); _exit(0); }
	r = kcmp_(me, csem, KCMP_SYSVSEM, 0, 0);
	CHECK(r == 0, "clone3(CLONE_SYSVSEM) child: %s", rel(r));

	printf("-- a thread\n");
	pthread_t th;
	pthread_create(&th, NULL, thread_fn, NULL);
	while (!__atomic_load_n(&thread_tid, __ATOMIC_SEQ_CST)) msleep(1);
	long v = kcmp_(me, thread_tid, KCMP_VM, 0, 0), fi = kcmp_(me, thread_tid, KCMP_FILES, 0, 0);
	long fs = kcmp_(me, thread_tid, KCMP_FS, 0, 0), sh = kcmp_(me, thread_tid, KCMP_SIGHAND, 0, 0);
	CHECK(!v && !fi && !fs && !sh, "pthread (tid %d, accepted as a pid): VM %s, FILES %s, FS %s, SIGHAND %s", thread_tid, rel(v), rel(fi), rel(fs), rel(sh));
	r = kcmp_(me, thread_tid, KCMP_FILE, fd1, fd1);
	CHECK(r == 0, "KCMP_FILE with the thread's tid: %s", rel(r));

	write(hold[1], "12345678", 8); /* seven children and the thread */
	pthread_join(th, NULL);
	pid_t all[] = { f, cf, cfs, cvm, csh, f2, csem };
	for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++) waitpid(all[i], NULL, __WALL);
	semctl(sem, 0, IPC_RMID);
	return finish("t02_kcmp");
}
