// SPDX-License-Identifier: MIT
#include "ptrace/ptrace.h"

#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "lib/util.h"

#define SEIZE_MAX_SIGNAL_STOPS 64

static long ptrace_req(int req, pid_t tid, void *addr, void *data)
{
	long r = ptrace((enum __ptrace_request)req, tid, addr, data);

	return r < 0 ? -errno : r;
}

int ptrace_wait_stop(pid_t tid, int *ret_status)
{
	int status;

	for (;;) {
		pid_t r = waitpid(tid, &status, __WALL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		break;
	}
	if (!WIFSTOPPED(status))
		return -ESRCH; /* it exited or was killed under us */
	*ret_status = status;
	return 0;
}

static int get_regs(pid_t tid, arch_regs_t *regs)
{
	struct iovec iov = { regs, sizeof(*regs) };

	return (int)ptrace_req(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov);
}

static int set_regs(pid_t tid, const arch_regs_t *regs)
{
	struct iovec iov = { (void *)regs, sizeof(*regs) };

	return (int)ptrace_req(PTRACE_SETREGSET, tid, (void *)NT_PRSTATUS, &iov);
}

static int set_sigmask(pid_t tid, uint64_t mask)
{
	return (int)ptrace_req(PTRACE_SETSIGMASK, tid, (void *)sizeof(mask), &mask);
}

/*
 * Waits for the stop PTRACE_INTERRUPT asked for. A signal that arrives
 * first stops the task in signal delivery; it is handed back (delivered as
 * it would have been) and the interrupt stop follows.
 */
static int wait_interrupt_stop(struct tracee *t)
{
	pid_t tid = t->tid;

	for (int i = 0; i < SEIZE_MAX_SIGNAL_STOPS; i++) {
		int status, ret = ptrace_wait_stop(tid, &status);

		if (ret)
			return ret;
		if (status >> 16 == PTRACE_EVENT_STOP) {
			/* the interrupt reports SIGTRAP; a group stop, its stop signal */
			t->group_stopped = WSTOPSIG(status) != SIGTRAP;
			return 0;
		}
		ret = (int)ptrace_req(PTRACE_CONT, tid, NULL, (void *)(long)WSTOPSIG(status));
		if (ret)
			return ret;
	}
	return -EAGAIN;
}

int tracee_seize(struct tracee *t, pid_t tid)
{
	int ret;

	memset(t, 0, sizeof(*t));
	t->tid = tid;
	ret = (int)ptrace_req(PTRACE_SEIZE, tid, NULL, (void *)(long)PTRACE_O_TRACESYSGOOD);
	if (ret)
		return ret;
	t->seized = true;
	ret = (int)ptrace_req(PTRACE_INTERRUPT, tid, NULL, NULL);
	if (!ret)
		ret = wait_interrupt_stop(t);
	if (!ret)
		ret = get_regs(tid, &t->regs);
	/* the EINTR our stop caused is no EINTR of the task's: it waits on (arch.h) */
	if (!ret && arch_regs_resume_wait(&t->regs))
		ret = set_regs(tid, &t->regs);
	if (!ret)
		ret = (int)ptrace_req(PTRACE_GETSIGMASK, tid, (void *)sizeof(t->sigmask),
				      &t->sigmask);
	if (ret) {
		ptrace_req(PTRACE_DETACH, tid, NULL, NULL);
		t->seized = false;
	}
	return ret;
}

int tracee_detach(struct tracee *t)
{
	int ret = 0, err;

	if (!t->seized)
		return 0;
	if (t->regs_changed) {
		/*
		 * After an injected syscall the task stops at a syscall exit, not
		 * in signal delivery, so the kernel will not restart the syscall
		 * it was interrupted in: do it here, as the kernel would have.
		 */
		arch_regs_t regs = t->regs;

		arch_regs_restart_syscall(&regs, RESTART_IN_PLACE);
		ret = set_regs(t->tid, &regs);
	}
	if (t->mask_blocked) {
		int r = set_sigmask(t->tid, t->sigmask);

		ret = ret ? ret : r;
		t->mask_blocked = false;
	}
	/* detached even so: a task left traced and stopped is worse than an EINTR */
	err = (int)ptrace_req(PTRACE_DETACH, t->tid, NULL, NULL);
	t->seized = false;
	return ret ? ret : err;
}

int tracee_get_xstate(struct tracee *t, void *buf, size_t size, size_t *ret_len)
{
	struct iovec iov = { buf, size };
	int ret = (int)ptrace_req(PTRACE_GETREGSET, t->tid, (void *)ARCH_NT_XSTATE, &iov);

	if (ret)
		return ret;
	*ret_len = iov.iov_len;
	return 0;
}

/* Finds a syscall instruction in the task's vdso, so nothing needs patching. */
static int find_syscall_ip(struct tracee *t)
{
	char path[64], line[512];
	unsigned char code[16384];
	unsigned long start = 0, end = 0;
	FILE *maps;

	snprintf(path, sizeof(path), "/proc/%d/maps", t->tid);
	maps = fopen(path, "re");
	if (!maps)
		return -errno;
	while (fgets(line, sizeof(line), maps))
		if (strstr(line, "[vdso]") && sscanf(line, "%lx-%lx", &start, &end) == 2)
			break;
	fclose(maps);
	if (!start || end - start > sizeof(code))
		return -ENOTSUP;
	{
		struct iovec local = { code, end - start }, remote = { (void *)start, end - start };

		if (process_vm_readv(t->tid, &local, 1, &remote, 1, 0) != (ssize_t)(end - start))
			return -errno ? -errno : -EIO;
	}
	for (size_t i = 0; i + ARCH_SYSCALL_INSN_LEN <= end - start; i++)
		if (!memcmp(code + i, arch_syscall_insn, ARCH_SYSCALL_INSN_LEN)) {
			t->syscall_ip = start + i;
			return 0;
		}
	return -ENOTSUP;
}

/*
 * Resumes the task with REQ (PTRACE_SYSCALL, PTRACE_CONT) until it stops
 * with WANT as its stop status: a syscall stop, or the batch code's trap.
 * A task stopped by job control reports its group stop again first: step
 * past it. Another stop gives up, cleanly: -EAGAIN.
 */
static int resume_until(pid_t tid, int req, int want)
{
	for (int i = 0; i < SEIZE_MAX_SIGNAL_STOPS; i++) {
		int status, ret = (int)ptrace_req(req, tid, NULL, NULL);

		if (!ret)
			ret = ptrace_wait_stop(tid, &status);
		if (ret)
			return ret;
		if (status >> 8 == want)
			return 0;
		if (status >> 16 != PTRACE_EVENT_STOP)
			return -EAGAIN;
	}
	return -EAGAIN;
}

/* To the next syscall stop (entry or exit). */
static int step_to_syscall_stop(pid_t tid)
{
	return resume_until(tid, PTRACE_SYSCALL, SIGTRAP | 0x80);
}

static int block_all(struct tracee *t)
{
	int ret;

	if (t->mask_blocked)
		return 0;
	ret = set_sigmask(t->tid, ~0ull);
	t->mask_blocked = !ret;
	return ret;
}

/* Until the batch code traps (a plain SIGTRAP, no event). */
static int run_to_trap(pid_t tid)
{
	return resume_until(tid, PTRACE_CONT, SIGTRAP);
}

int tracee_batch(struct tracee *t, uint64_t code, uint64_t table, struct tracee_call *calls,
		 size_t n)
{
	size_t len = n * sizeof(*calls);
	struct iovec local = { calls, len }, remote = { (void *)table, len };
	arch_regs_t regs = t->regs;
	int ret = block_all(t);

	if (ret)
		return ret;
	if (process_vm_writev(t->tid, &local, 1, &remote, 1, 0) != (ssize_t)len)
		return -EFAULT;
	arch_regs_prepare_batch(&regs, code, table, n);
	/* the registers are the task's again when it is let go (tracee_detach) */
	t->regs_changed = true;
	ret = set_regs(t->tid, &regs);
	if (!ret)
		ret = run_to_trap(t->tid);
	if (!ret && process_vm_readv(t->tid, &local, 1, &remote, 1, 0) != (ssize_t)len)
		ret = -EFAULT;
	return ret;
}

int tracee_syscall(struct tracee *t, long nr, const long args[6], long *ret_result)
{
	arch_regs_t regs = t->regs;
	int ret;

	if (!t->syscall_ip && (ret = find_syscall_ip(t)))
		return ret;
	/* nothing may be delivered in the middle: all blocked until the detach */
	ret = block_all(t);
	if (ret)
		return ret;
	arch_regs_prepare_syscall(&regs, t->syscall_ip, nr, args);
	t->regs_changed = true;
	ret = set_regs(t->tid, &regs);
	if (!ret)
		ret = step_to_syscall_stop(t->tid); /* entry */
	if (!ret)
		ret = step_to_syscall_stop(t->tid); /* exit */
	if (!ret)
		ret = get_regs(t->tid, &regs);
	if (!ret)
		*ret_result = arch_regs_syscall_result(&regs);
	return ret;
}
