// SPDX-License-Identifier: MIT
/* x86_64: registers, syscall conventions, XSAVE geometry. */
#include <cpuid.h>
#include <errno.h>
#include <string.h>

#include "arch/arch.h"
#include "image/format.h"

/* Kernel-internal syscall results that mean "restart me" (include/linux/errno.h). */
#define ERESTARTSYS	      512
#define ERESTARTNOINTR	      513
#define ERESTARTNOHAND	      514
#define ERESTART_RESTARTBLOCK 516

#define NR_RESTART_SYSCALL 219

const unsigned char arch_syscall_insn[ARCH_SYSCALL_INSN_LEN] = { 0x0f, 0x05 };

size_t arch_xstate_size(void)
{
	unsigned int eax, ebx, ecx, edx;

	/* Leaf 0xd, sub-leaf 0: EBX is the XSAVE area size for the features enabled in XCR0. */
	if (!__get_cpuid_count(0xd, 0, &eax, &ebx, &ecx, &edx))
		return 0;
	return ebx;
}

uint64_t arch_xfeatures(void)
{
	unsigned int eax, ebx, ecx, edx, lo, hi;

	if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_OSXSAVE))
		return 0;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

uint64_t arch_regs_ip(const arch_regs_t *regs)
{
	return regs->r.rip;
}

uint64_t arch_regs_sp(const arch_regs_t *regs)
{
	return regs->r.rsp;
}

long arch_regs_syscall_nr(const arch_regs_t *regs)
{
	return (long)regs->r.orig_rax;
}

void arch_regs_prepare_syscall(arch_regs_t *regs, uint64_t ip, long nr, const long args[6])
{
	regs->r.rip = ip;
	regs->r.rax = (unsigned long)nr;
	/* not inside a syscall: the kernel must not apply restart rules to these regs */
	regs->r.orig_rax = (unsigned long)-1;
	regs->r.rdi = (unsigned long)args[0];
	regs->r.rsi = (unsigned long)args[1];
	regs->r.rdx = (unsigned long)args[2];
	regs->r.r10 = (unsigned long)args[3];
	regs->r.r8 = (unsigned long)args[4];
	regs->r.r9 = (unsigned long)args[5];
}

long arch_regs_syscall_result(const arch_regs_t *regs)
{
	return (long)regs->r.rax;
}

void arch_regs_skip_syscall(arch_regs_t *regs)
{
	regs->r.orig_rax = (unsigned long)-1;
}

bool arch_regs_restart_syscall(arch_regs_t *regs, enum syscall_restart how)
{
	long nr = (long)regs->r.orig_rax, ret = (long)regs->r.rax;

	if (nr < 0)
		return false;
	switch (-ret) {
	case ERESTARTSYS:
	case ERESTARTNOINTR:
	case ERESTARTNOHAND:
		regs->r.rax = (unsigned long)nr;
		break;
	case ERESTART_RESTARTBLOCK:
		/*
		 * The live task keeps its restart block (the time left of a
		 * nanosleep); a restored one has none, so it re-issues the call
		 * with its original arguments.
		 */
		regs->r.rax = how == RESTART_IN_PLACE ? NR_RESTART_SYSCALL : (unsigned long)nr;
		break;
	default:
		return false;
	}
	regs->r.rip -= ARCH_SYSCALL_INSN_LEN;
	regs->r.orig_rax = (unsigned long)-1;
	return true;
}

/*
 * The batch code (arch.h): r12 walks the table, r13 counts down; syscall
 * clobbers rcx and r11 only. Then, with a tail block at r15, it says it is
 * done there and waits (ppoll, the time in the block) for cryo to take it
 * back; should cryo be gone, the wait ends and it jumps to r14, the
 * lifeline's way home. Without one, it traps (int3) for cryo. Assembled
 * here, kept as bytes in .rodata.
 */
__asm__(".pushsection .rodata\n"
	".globl arch_batch_code\n"
	"arch_batch_code:\n"
	"1:	test %r13, %r13\n"
	"	jz 2f\n"
	"	mov (%r12), %rax\n"
	"	mov 8(%r12), %rdi\n"
	"	mov 16(%r12), %rsi\n"
	"	mov 24(%r12), %rdx\n"
	"	mov 32(%r12), %r10\n"
	"	mov 40(%r12), %r8\n"
	"	mov 48(%r12), %r9\n"
	"	syscall\n"
	"	mov %rax, 56(%r12)\n"
	"	add $64, %r12\n"
	"	dec %r13\n"
	"	jmp 1b\n"
	"2:	test %r15, %r15\n" /* no tail block: no lifeline, trap */
	"	jz 3f\n"
	"	movq $1, (%r15)\n" /* done */
	"	mov $271, %eax\n"  /* ppoll(NULL, 0, &wait, NULL, 8) */
	"	xor %edi, %edi\n"
	"	xor %esi, %esi\n"
	"	lea 8(%r15), %rdx\n"
	"	xor %r10d, %r10d\n"
	"	mov $8, %r8d\n"
	"	syscall\n"
	"	jmp *%r14\n"
	"3:	int3\n"
	"arch_batch_code_end:\n"
	".balign 8\n"
	".globl arch_batch_code_len\n"
	"arch_batch_code_len:\n"
	"	.quad arch_batch_code_end - arch_batch_code\n"
	".popsection\n");

void arch_regs_prepare_batch(arch_regs_t *regs, uint64_t ip, uint64_t table, uint64_t n,
			     uint64_t home, uint64_t tail)
{
	regs->r.rip = ip;
	regs->r.r12 = table;
	regs->r.r13 = n;
	regs->r.r14 = home;
	regs->r.r15 = home ? tail : 0;
	/* not inside a syscall: the kernel must not apply restart rules to these regs */
	regs->r.orig_rax = (unsigned long)-1;
}

#define NR_RT_SIGTIMEDWAIT 128

bool arch_regs_resume_wait(arch_regs_t *regs)
{
	/* rt_sigtimedwait(set, info, timeout, sigsetsize): the timeout in rdx */
	if ((long)regs->r.orig_rax != NR_RT_SIGTIMEDWAIT || (long)regs->r.rax != -EINTR ||
	    regs->r.rdx)
		return false;
	regs->r.rax = (unsigned long)-ERESTARTNOHAND;
	return true;
}

_Static_assert(sizeof(struct user_regs_struct) == CRYO_X86_64_NR_REGS * 8,
	       "user_regs_struct is 27 words");

void arch_regs_to_image(const arch_regs_t *regs, struct rec_task_regs *rec)
{
	rec->nr_regs = CRYO_X86_64_NR_REGS;
	memcpy(rec->regs, &regs->r, sizeof(rec->regs));
}

void arch_regs_from_image(const struct rec_task_regs *rec, arch_regs_t *regs)
{
	memcpy(&regs->r, rec->regs, sizeof(regs->r));
}

void arch_jump_to_restorer(uint64_t entry, uint64_t stack_top, uint64_t arg)
{
	__asm__ volatile("mov %0, %%rsp\n\t"
			 "xor %%ebp, %%ebp\n\t"
			 "call *%1\n\t"
			 "ud2\n\t"
			 :
			 : "r"(stack_top), "r"(entry), "D"(arg)
			 : "memory");
	__builtin_unreachable();
}

/*
 * The lifeline (arch.h). Its code runs the injected syscall; what follows
 * runs only if the task goes on without cryo: it closes the descriptor
 * and unmaps the scratch pages cryo left in the task, puts its signal
 * mask back, then its registers, and jumps to where it was. Everything is
 * addressed from the instruction pointer: the block works wherever it is
 * copied, and never touches the task's stack.
 */
__asm__(".pushsection .rodata\n"
	".globl arch_lifeline_code\n"
	".balign 8\n"
	"arch_lifeline_code:\n"
	"	syscall\n"
	"	mov L_fd(%rip), %rdi\n"
	"	test %rdi, %rdi\n"
	"	js 1f\n"
	"	mov $3, %eax\n" /* close */
	"	syscall\n"
	"1:	mov L_scratch(%rip), %rdi\n"
	"	test %rdi, %rdi\n"
	"	jz 2f\n"
	"	mov L_scratch_len(%rip), %rsi\n"
	"	mov $11, %eax\n" /* munmap */
	"	syscall\n"
	"2:	mov $14, %eax\n" /* rt_sigprocmask(SIG_SETMASK, &mask, NULL, 8) */
	"	mov $2, %edi\n"
	"	lea L_mask(%rip), %rsi\n"
	"	xor %edx, %edx\n"
	"	mov $8, %r10d\n"
	"	syscall\n"
	"	lea L_gpr(%rip), %rsp\n"
	"	pop %r15\n"
	"	pop %r14\n"
	"	pop %r13\n"
	"	pop %r12\n"
	"	pop %rbp\n"
	"	pop %rbx\n"
	"	pop %r11\n"
	"	pop %r10\n"
	"	pop %r9\n"
	"	pop %r8\n"
	"	pop %rax\n"
	"	pop %rcx\n"
	"	pop %rdx\n"
	"	pop %rsi\n"
	"	pop %rdi\n"
	"	popfq\n"
	"	mov L_rsp(%rip), %rsp\n"
	"	jmp *L_rip(%rip)\n"
	"	.balign 8\n"
	"L_data:\n"
	"L_fd:	.quad -1\n"
	"L_scratch:	.quad 0\n"
	"L_scratch_len:	.quad 0\n"
	"L_mask:	.quad 0\n"
	"L_gpr:	.skip 15 * 8\n"
	"L_rflags:	.quad 0\n"
	"L_rsp:	.quad 0\n"
	"L_rip:	.quad 0\n"
	"arch_lifeline_code_end:\n"
	".balign 8\n"
	".globl arch_lifeline_len\n"
	"arch_lifeline_len:\n"
	"	.quad arch_lifeline_code_end - arch_lifeline_code\n"
	".globl arch_lifeline_data_off\n"
	"arch_lifeline_data_off:\n"
	"	.quad L_data - arch_lifeline_code\n"
	".popsection\n");

void arch_lifeline_set_regs(struct arch_lifeline_data *d, const arch_regs_t *regs)
{
	const struct user_regs_struct *r = &regs->r;
	const unsigned long long gpr[15] = { r->r15, r->r14, r->r13, r->r12, r->rbp,
					     r->rbx, r->r11, r->r10, r->r9,  r->r8,
					     r->rax, r->rcx, r->rdx, r->rsi, r->rdi };

	for (size_t i = 0; i < 15; i++)
		d->gpr[i] = gpr[i];
	d->rflags = r->eflags;
	d->rsp = r->rsp;
	d->rip = r->rip;
}
