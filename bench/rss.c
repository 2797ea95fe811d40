// SPDX-License-Identifier: MIT
/*
 * rss FILE CMD...: runs CMD and writes to FILE its peak resident memory
 * (KiB, the largest of it and its waited-for descendants) and its wall time
 * from fork to exit (us): "KIB US". Exits as CMD did. Timed here rather
 * than by the shell, whose own forks would count for several ms.
 */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ll + ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	struct rusage ru;
	long long t0 = now_us();
	int status;
	pid_t pid;
	FILE *f;

	if (argc < 3)
		return 2;
	pid = fork();
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &status, 0, &ru) < 0)
		return 2;
	f = fopen(argv[1], "w");
	if (f) {
		fprintf(f, "%ld %lld\n", ru.ru_maxrss, now_us() - t0);
		fclose(f);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
