/* SPDX-License-Identifier: MIT */
/*
 * The first bytes of the restorer blob, at fixed offsets that restart
 * relies on (src/restorer/restorer.h): the entry, then a syscall
 * instruction that restart uses, through ptrace, to unmap the blob.
 */
	.section .head.text, "ax"
	.globl restorer_head
restorer_head:
	/* offset 0: called with the args block in %rdi */
	jmp	restorer_main
	.balign 16
	/* offset 16 */
	syscall
	ud2

/*
 * long restorer_clone_thread(struct clone_args *args, size_t size,
 *			      void (*fn)(void *, uint64_t), void *arg, uint64_t index)
 *
 * clone3; the new thread starts on the stack ARGS gives it and calls
 * FN(ARG, INDEX), which never returns. The caller gets clone3's result.
 * FN and its arguments travel in callee-saved registers, which the new
 * thread inherits; the caller's are put back.
 */
	.text
	.globl restorer_clone_thread
	.hidden restorer_clone_thread
restorer_clone_thread:
	push	%r12
	push	%r13
	push	%r14
	mov	%rdx, %r12
	mov	%rcx, %r13
	mov	%r8, %r14
	mov	$435, %eax		/* __NR_clone3 */
	syscall
	test	%rax, %rax
	jz	1f
	pop	%r14
	pop	%r13
	pop	%r12
	ret
1:	xor	%ebp, %ebp
	mov	%r13, %rdi
	mov	%r14, %rsi
	and	$-16, %rsp
	call	*%r12
	ud2

	.section .note.GNU-stack, "", @progbits
