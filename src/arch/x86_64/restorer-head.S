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

	.section .note.GNU-stack, "", @progbits
