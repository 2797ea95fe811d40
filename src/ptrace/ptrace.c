// SPDX-License-Identifier: MIT
#include "ptrace/ptrace.h"

#include <elf.h>
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/fault.h"
#include "lib/util.h"

#define SEIZE_MAX_SIGNAL_STOPS 64
#define BATCH_WAIT_MS	       1000 /* a batch waits this long for cryo, then goes home */

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

int tracee_get_xstate(struct tracee *t, void *buf, size_t size, size_t *ret_len)
{
	struct iovec iov = { buf, size };
	int ret = (int)ptrace_req(PTRACE_GETREGSET, t->tid, (void *)ARCH_NT_XSTATE, &iov);

	if (ret)
		return ret;
	*ret_len = iov.iov_len;
	return 0;
}

#define VDSO_MAX 16384

/* The task's vdso, read into BUF: its start in *ret_start, its length in *ret_len. */
static int read_vdso(pid_t tid, unsigned char *buf, uint64_t *ret_start, size_t *ret_len)
{
	char path[64], line[512];
	unsigned long start = 0, end = 0;
	FILE *maps;

	snprintf(path, sizeof(path), "/proc/%d/maps", tid);
	maps = fopen(path, "re");
	if (!maps)
		return -errno;
	while (fgets(line, sizeof(line), maps))
		if (strstr(line, "[vdso]") && sscanf(line, "%lx-%lx", &start, &end) == 2)
			break;
	fclose(maps);
	if (!start || end - start > VDSO_MAX)
		return -ENOTSUP;
	struct iovec local = { buf, end - start }, remote = { (void *)start, end - start };

	if (process_vm_readv(tid, &local, 1, &remote, 1, 0) != (ssize_t)(end - start))
		return -EIO;
	*ret_start = start;
	*ret_len = end - start;
	return 0;
}

/*
 * Where the vdso's ELF image ends (its section headers come last): the
 * rest of its pages is zero padding nobody uses. 0 if it is no ELF.
 */
static size_t vdso_image_end(const unsigned char *vdso, size_t len)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)vdso;
	size_t end;

	if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG))
		return 0;
	end = eh->e_shoff + (size_t)eh->e_shnum * eh->e_shentsize;
	return end > eh->e_shoff && end <= len ? end : 0;
}

static size_t lifeline_stride(void)
{
	return ALIGN_UP(arch_lifeline_len, (size_t)64);
}

/*
 * Finds where the task's injected syscalls run: its lifeline slot in the
 * vdso's padding when there is room (and it is all zero: not another
 * cryo's, left by one that died), else a syscall instruction of the vdso.
 */
static int find_syscall_ip(struct tracee *t)
{
	unsigned char vdso[VDSO_MAX];
	uint64_t start = 0;
	size_t len = 0, need = TRACEE_LIFELINE_SLOTS * lifeline_stride(), at;
	int ret = read_vdso(t->tid, vdso, &start, &len);

	if (ret)
		return ret;
	at = ALIGN_UP(vdso_image_end(vdso, len), (size_t)64);
	if (at > 64 && at + need <= len) {
		size_t slot = at + (size_t)t->lifeline_slot * lifeline_stride();
		bool zero = true;

		/* its own slot only: the other may be armed for another thread */
		for (size_t i = slot; i < slot + lifeline_stride() && zero; i++)
			zero = !vdso[i];
		if (zero) {
			t->lifeline = start + slot;
			t->syscall_ip = t->lifeline;
			return 0;
		}
	}
	t->unprotected = true;
	for (size_t i = 0; i + ARCH_SYSCALL_INSN_LEN <= len; i++)
		if (!memcmp(vdso + i, arch_syscall_insn, ARCH_SYSCALL_INSN_LEN)) {
			t->syscall_ip = start + i;
			return 0;
		}
	return -ENOTSUP;
}

/* Writes LEN bytes at ADDR in the task, read-only memory included (its vdso). */
static int poke(pid_t tid, uint64_t addr, const void *buf, size_t len)
{
	char path[64];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/mem", tid);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (pwrite(fd, buf, len, (off_t)addr) != (ssize_t)len)
		ret = errno ? -errno : -EIO;
	close(fd);
	return ret;
}

static int write_life(struct tracee *t)
{
	return poke(t->tid, t->lifeline + arch_lifeline_data_off, &t->life, sizeof(t->life));
}

/* Copies the lifeline into the task, holding its state as it was stopped. */
static int arm_lifeline(struct tracee *t)
{
	unsigned char block[512];
	arch_regs_t home = t->regs;
	int ret;

	if (!t->lifeline || t->lifeline_armed)
		return 0;
	if (arch_lifeline_len > sizeof(block))
		return -E2BIG;
	/* the syscall it was stopped in restarts, as the kernel would have done */
	arch_regs_restart_syscall(&home, RESTART_IN_PLACE);
	t->life = (struct arch_lifeline_data){ .fd = -1, .sigmask = t->sigmask };
	arch_lifeline_set_regs(&t->life, &home);
	memcpy(block, arch_lifeline_code, arch_lifeline_len);
	memcpy(block + arch_lifeline_data_off, &t->life, sizeof(t->life));
	ret = poke(t->tid, t->lifeline, block, arch_lifeline_len);
	t->lifeline_armed = !ret;
	return ret;
}

static int disarm_lifeline(struct tracee *t)
{
	static const unsigned char zeros[512];
	int ret;

	if (!t->lifeline_armed)
		return 0;
	ret = poke(t->tid, t->lifeline, zeros, arch_lifeline_len);
	t->lifeline_armed = ret != 0;
	return ret;
}

int tracee_lifeline_fd(struct tracee *t, long fd)
{
	if (!t->lifeline_armed)
		return 0;
	t->life.fd = fd;
	return write_life(t);
}

int tracee_lifeline_scratch(struct tracee *t, uint64_t scratch, uint64_t len)
{
	if (!t->lifeline_armed)
		return 0;
	t->life.scratch = scratch;
	t->life.scratch_len = len;
	return write_life(t);
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

/*
 * An injection that gave up between a syscall's entry and its exit left
 * the task at the entry: let go from there, it would run that syscall, and
 * a new injection would take its exit for the entry. Skip it (-1) instead.
 */
static int leave_entry_stop(struct tracee *t)
{
	arch_regs_t regs = { 0 };
	int ret;

	if (!t->at_entry)
		return 0;
	ret = get_regs(t->tid, &regs);
	if (!ret) {
		arch_regs_skip_syscall(&regs);
		ret = set_regs(t->tid, &regs);
	}
	if (!ret)
		ret = step_to_syscall_stop(t->tid);
	t->at_entry = ret != 0;
	return ret;
}

int tracee_restore(struct tracee *t)
{
	int ret = 0, err;

	if (!t->seized)
		return 0;
	/* if even that fails, let it go as it is: it finishes the call and takes its lifeline */
	ret = leave_entry_stop(t);
	if (ret)
		return ret;
	/* the mask first: until the registers are back, the lifeline would put it back too */
	if (t->mask_blocked) {
		ret = set_sigmask(t->tid, t->sigmask);
		t->mask_blocked = ret != 0;
	}
	if (t->regs_changed)
		fault_point_kill("restore: mask back, registers not yet");
	if (t->regs_changed) {
		/*
		 * After an injected syscall the task stops at a syscall exit, not
		 * in signal delivery, so the kernel will not restart the syscall
		 * it was interrupted in: do it here, as the kernel would have.
		 */
		arch_regs_t regs = t->regs;

		arch_regs_restart_syscall(&regs, RESTART_IN_PLACE);
		err = set_regs(t->tid, &regs);
		t->regs_changed = err != 0;
		ret = ret ? ret : err;
	}
	/* the block may go only once nothing of the task points into it */
	if (!ret)
		ret = disarm_lifeline(t);
	return ret;
}

int tracee_detach(struct tracee *t)
{
	int ret, err;

	if (!t->seized)
		return 0;
	ret = tracee_restore(t);
	/* detached even so: a task left traced and stopped is worse than an EINTR */
	err = (int)ptrace_req(PTRACE_DETACH, t->tid, NULL, NULL);
	t->seized = false;
	return ret ? ret : err;
}

/* The task's lifeline (found once), copied in if not yet. */
static int prepare_injection(struct tracee *t)
{
	int ret = t->syscall_ip ? 0 : find_syscall_ip(t);

	if (!ret)
		ret = leave_entry_stop(t);
	return ret ? ret : arm_lifeline(t);
}

int tracee_arm(struct tracee *t)
{
	return prepare_injection(t);
}

int tracee_park(struct tracee *t)
{
	arch_regs_t regs = { 0 };
	int ret;

	if (!t->lifeline_armed || !t->regs_changed)
		return 0;
	ret = leave_entry_stop(t);
	if (!ret)
		ret = get_regs(t->tid, &regs);
	if (!ret) {
		arch_regs_prepare_syscall(&regs, t->lifeline + ARCH_LIFELINE_HOME, -1,
					  (const long[6]){ 0 });
		ret = set_regs(t->tid, &regs);
	}
	return ret;
}

/* Until the batch code traps (a plain SIGTRAP, no event): the unprotected way. */
static int run_to_trap(pid_t tid)
{
	return resume_until(tid, PTRACE_CONT, SIGTRAP);
}

/* The batch's done word, read from the task. */
static int batch_done(pid_t tid, uint64_t tail, uint64_t *ret_done)
{
	struct iovec local = { ret_done, sizeof(*ret_done) }, remote = { (void *)tail, 8 };

	return process_vm_readv(tid, &local, 1, &remote, 1, 0) == 8 ? 0 : -EFAULT;
}

/*
 * Had cryo been kept from the CPU for the whole of the batch's wait, the
 * task went home by itself: its lifeline put it back as it was (mask,
 * registers, no scratch pages) and it ran on. Its state is its own again,
 * not to be overwritten; the checkpoint cannot go on (-ETIME).
 */
static int check_still_in_batch(struct tracee *t, uint64_t code)
{
	arch_regs_t regs = { 0 };
	uint64_t ip;
	int ret = get_regs(t->tid, &regs);

	ip = ret ? code : arch_regs_ip(&regs);
	if (ip >= code && ip < code + arch_batch_code_len)
		return ret;
	t->regs = regs;
	t->regs_changed = false;
	t->mask_blocked = false;
	t->life.scratch = 0;
	return -ETIME;
}

/*
 * Lets the batch run (PTRACE_CONT: no stop per call) and watches its done
 * word; then interrupts its wait and parks it. A stop on the way (a group
 * stop from outside) is let go on; a task that stays silent for the whole
 * wait is given up on, cleanly: it finishes on its own and goes home.
 */
static int run_to_done(struct tracee *t, uint64_t code, uint64_t tail)
{
	int64_t deadline = now_ms() + BATCH_WAIT_MS;
	uint64_t done = 0;
	int status, err, ret = (int)ptrace_req(PTRACE_CONT, t->tid, NULL, NULL);

	if (!ret)
		ret = fault_point("batch: running");
	while (!ret && !done) {
		pid_t r = waitpid(t->tid, &status, __WALL | WNOHANG);

		if (r < 0)
			return -errno;
		if (r > 0 && !WIFSTOPPED(status))
			return -ESRCH;
		if (r > 0) /* a group stop on the way: on with it, signals stay blocked */
			ret = (int)ptrace_req(PTRACE_CONT, t->tid, NULL, NULL);
		if (!ret)
			ret = batch_done(t->tid, tail, &done);
		if (!ret && !done && now_ms() > deadline)
			ret = -ETIMEDOUT;
		if (!ret && !done)
			sched_yield();
	}
	/* done or not, the task must be stopped again before anything else is done to it */
	if (ret == -ESRCH)
		return ret;
	err = (int)ptrace_req(PTRACE_INTERRUPT, t->tid, NULL, NULL);
	for (int i = 0; !err && i < SEIZE_MAX_SIGNAL_STOPS; i++) {
		err = ptrace_wait_stop(t->tid, &status);
		if (!err && status >> 16 == PTRACE_EVENT_STOP) {
			/* even after a failure: a task gone home must not get old registers */
			err = check_still_in_batch(t, code);
			return err == -ETIME || !ret ? err : ret;
		}
		if (!err)
			err = (int)ptrace_req(PTRACE_CONT, t->tid, NULL, NULL);
	}
	return ret ? ret : err ? err : -EAGAIN;
}

int tracee_batch(struct tracee *t, uint64_t code, uint64_t table, uint64_t tail,
		 struct tracee_call *calls, size_t n)
{
	const struct arch_batch_tail wait = { .wait_sec = BATCH_WAIT_MS / 1000 };
	size_t len = n * sizeof(*calls);
	struct iovec local[2] = { { calls, len }, { (void *)&wait, sizeof(wait) } },
		     remote[2] = { { (void *)table, len }, { (void *)tail, sizeof(wait) } };
	arch_regs_t regs = t->regs;
	int ret = prepare_injection(t);

	if (ret || !n)
		return ret;
	if (process_vm_writev(t->tid, local, 2, remote, 2, 0) != (ssize_t)(len + sizeof(wait)))
		return -EFAULT;
	arch_regs_prepare_batch(&regs, code, table, n,
				t->lifeline ? t->lifeline + ARCH_LIFELINE_HOME : 0, tail);
	/* the registers are the task's again when it is let go (tracee_restore) */
	t->regs_changed = true;
	ret = set_regs(t->tid, &regs);
	/* nothing may be delivered in the middle: all blocked until the restore */
	if (!ret)
		ret = block_all(t);
	if (!ret)
		ret = t->lifeline ? run_to_done(t, code, tail) : run_to_trap(t->tid);
	if (!ret && process_vm_readv(t->tid, local, 1, remote, 1, 0) != (ssize_t)len)
		ret = -EFAULT;
	/* out of the scratch pages at once: another thread's lifeline may remove them */
	if (!ret)
		ret = tracee_park(t);
	return ret;
}

int tracee_syscall(struct tracee *t, long nr, const long args[6], long *ret_result)
{
	arch_regs_t regs = t->regs;
	int ret = prepare_injection(t);

	if (ret)
		return ret;
	arch_regs_prepare_syscall(&regs, t->syscall_ip, nr, args);
	t->regs_changed = true;
	ret = set_regs(t->tid, &regs);
	/* nothing may be delivered in the middle: all blocked until the restore */
	if (!ret)
		ret = block_all(t);
	if (!ret)
		ret = fault_point("inject: registers set");
	if (!ret)
		ret = step_to_syscall_stop(t->tid); /* entry */
	t->at_entry = !ret;
	if (!ret)
		fault_point_kill("inject: syscall entered");
	if (!ret)
		ret = step_to_syscall_stop(t->tid); /* exit */
	if (!ret)
		t->at_entry = false;
	if (!ret)
		ret = get_regs(t->tid, &regs);
	if (!ret)
		*ret_result = arch_regs_syscall_result(&regs);
	return ret;
}
