// SPDX-License-Identifier: MIT
/*
 * Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS) inherited across fork:
 * parent and child share one object. Both wrote into it before the
 * checkpoint; after it, a byte the child writes must be seen by the parent
 * and one the parent writes by the child, and the mapping is still
 * "/dev/zero (deleted)". A second shared mapping, the parent's alone, stays
 * its own object; its upper half is made read-only, which splits it in two
 * mappings of one object: both halves must keep their bytes.
 */
#include <sys/mman.h>
#include <sys/wait.h>

#include "cr/crtest.h"

#define LEN (16 * CR_PAGE)

static volatile uint8_t *shared, *own;

static void check_content(const char *who)
{
	cr_check(cr_mismatch((const void *)shared, LEN / 2, 1) < 0, "%s: the parent's half differs",
		 who);
	cr_check(cr_mismatch((const void *)(shared + LEN / 2), LEN / 2 - CR_PAGE, 2) < 0,
		 "%s: the child's half differs", who);
}

int main(void)
{
	struct cr_map map;
	int status;
	pid_t child;

	cr_init();
	shared = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	own = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_check(shared != MAP_FAILED && own != MAP_FAILED, "mmap: %m");
	cr_fill((void *)shared, LEN / 2, 1);
	cr_fill((void *)own, LEN, 3);
	cr_check(mprotect((void *)(own + LEN / 2), LEN / 2, PROT_READ) == 0, "mprotect: %m");
	child = fork();
	if (child == 0) {
		/* the child's half; the last page is the mailbox */
		cr_fill((void *)(shared + LEN / 2), LEN / 2 - CR_PAGE, 2);
		cr_wait();
		check_content("the child");
		shared[LEN - CR_PAGE] = 'c'; /* for the parent */
		for (int i = 0; i < 200 && shared[LEN - CR_PAGE + 1] != 'p'; i++)
			usleep(10000);
		cr_check(shared[LEN - CR_PAGE + 1] == 'p', "the child never saw the parent's byte");
		_exit(0);
	}
	usleep(100000); /* the child has written its half */

	cr_ready();
	cr_wait();

	check_content("the parent");
	cr_check(cr_mismatch((const void *)own, LEN, 3) < 0, "the parent's own mapping differs");
	cr_check(cr_find_map((const void *)shared, &map) &&
		     !strcmp(map.path, "/dev/zero (deleted)"),
		 "the shared mapping is now \"%s\"", map.path);
	shared[LEN - CR_PAGE + 1] = 'p'; /* for the child */
	kill(child, SIGUSR2);
	for (int i = 0; i < 200 && shared[LEN - CR_PAGE] != 'c'; i++)
		usleep(10000);
	cr_check(shared[LEN - CR_PAGE] == 'c', "the parent never saw the child's byte: not shared");
	cr_check(own[0] == (uint8_t)cr_pattern(3, 0), "the parent's own mapping changed");
	cr_check(waitpid(child, &status, 0) == child && WIFEXITED(status) && !WEXITSTATUS(status),
		 "the child failed (status %#x)", status);
	cr_pass();
}
