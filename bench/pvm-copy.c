// SPDX-License-Identifier: MIT
/*
 * The physical reference for the benchmarks: copy LEN bytes at ADDR of PID
 * into FILE with process_vm_readv in large iovecs, then fsync, as a
 * checkpoint of that memory must at least do.  pvm-copy PID ADDR LEN FILE
 */
#define _GNU_SOURCE /* process_vm_readv */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#define CHUNK (8u << 20)

int main(int argc, char **argv)
{
	pid_t pid;
	unsigned long addr, len;
	char *buf;
	int fd;

	if (argc != 5)
		return 2;
	pid = atoi(argv[1]);
	addr = strtoul(argv[2], NULL, 0);
	len = strtoul(argv[3], NULL, 0);
	buf = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fd = open(argv[4], O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (buf == MAP_FAILED || fd < 0)
		return 1;
	for (unsigned long done = 0; done < len;) {
		size_t n = len - done < CHUNK ? len - done : CHUNK;
		struct iovec local = { buf, n }, remote = { (void *)(addr + done), n };

		if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t)n ||
		    write(fd, buf, n) != (ssize_t)n)
			return 1;
		done += n;
	}
	return fsync(fd) ? 1 : 0;
}
