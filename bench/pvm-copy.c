// SPDX-License-Identifier: MIT
/*
 * The physical reference for the benchmarks: copy LEN bytes at ADDR of PID
 * into FILE with process_vm_readv in large iovecs, then fsync, as a
 * checkpoint of that memory must at least do.  pvm-copy PID ADDR LEN FILE
 * [STRIDE]: with STRIDE, only one page in STRIDE (the populated ones of a
 * sparse memhog), gathered by one iovec per page.
 */
#define _GNU_SOURCE /* process_vm_readv */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#define CHUNK (8u << 20)
#define PAGE  4096ul
#define IOV   1024 /* remote iovecs per call (UIO_MAXIOV) */

static int copy_strided(pid_t pid, unsigned long addr, unsigned long len, const char *file,
			unsigned long stride)
{
	static struct iovec remote[IOV];
	char *buf =
	    mmap(NULL, IOV * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	unsigned long at = 0;

	if (buf == MAP_FAILED || fd < 0 || !stride)
		return 1;
	while (at < len) {
		struct iovec local = { buf, 0 };
		int n = 0;

		for (; n < IOV && at < len; n++, at += stride * PAGE)
			remote[n] = (struct iovec){ (void *)(addr + at), PAGE };
		local.iov_len = (size_t)n * PAGE;
		if (process_vm_readv(pid, &local, 1, remote, (unsigned long)n, 0) !=
			(ssize_t)local.iov_len ||
		    write(fd, buf, local.iov_len) != (ssize_t)local.iov_len)
			return 1;
	}
	return fsync(fd) ? 1 : 0;
}

int main(int argc, char **argv)
{
	pid_t pid;
	unsigned long addr, len;
	char *buf;
	int fd;

	if (argc != 5 && argc != 6)
		return 2;
	if (argc == 6)
		return copy_strided(atoi(argv[1]), strtoul(argv[2], NULL, 0),
				    strtoul(argv[3], NULL, 0), argv[4], strtoul(argv[5], NULL, 0));
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
