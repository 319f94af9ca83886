/* SPDX-License-Identifier: MIT */
/*
 * The VMX entry and exit stubs: the only assembly file of thinvisor.  It
 * serves both the System V ABI (Linux) and the Microsoft x64 ABI (Windows):
 * only the first-argument register, the callee-saved set and the shadow
 * space differ, and the macros below pick them.
 */
#if defined(_WIN64) || defined(__MINGW64__) || defined(__MINGW32__)
#define ARG1 %rcx
#define ALLOC_SHADOW_SPACE sub $32, %rsp
#define FREE_SHADOW_SPACE add $32, %rsp
#define PUSH_ABI_SAVED push %rdi; push %rsi
#define POP_ABI_SAVED pop %rsi; pop %rdi
#else
#define ARG1 %rdi
#define ALLOC_SHADOW_SPACE
#define FREE_SHADOW_SPACE
#define PUSH_ABI_SAVED
#define POP_ABI_SAVED
#endif

#define VMCS_GUEST_RSP 0x681c
#define VMCS_GUEST_RIP 0x681e

/* Undo the pushes of tv_asm_vmexit; the RSP slot is skipped. */
.macro POP_GUEST_GPRS
	pop %rax
	pop %rcx
	pop %rdx
	pop %rbx
	add $8, %rsp
	pop %rbp
	pop %rsi
	pop %rdi
	pop %r8
	pop %r9
	pop %r10
	pop %r11
	pop %r12
	pop %r13
	pop %r14
	pop %r15
.endm

	.text

/*
 * int tv_asm_launch(void)
 *
 * VMLAUNCH the current VMCS with the guest continuing at label 1 below on
 * this very stack, so the caller simply returns as the guest.  Returns 0 as
 * the guest, 1 on VMfailValid, 2 on VMfailInvalid, or the value the exit
 * handler placed in RAX when VM entry failed on guest state (3).
 */
	.globl tv_asm_launch
tv_asm_launch:
	push %rbx
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	PUSH_ABI_SAVED
	pushfq
	mov $VMCS_GUEST_RSP, %rax
	vmwrite %rsp, %rax
	jbe 2f
	lea 1f(%rip), %rdx
	mov $VMCS_GUEST_RIP, %rax
	vmwrite %rdx, %rax
	jbe 2f
	xor %eax, %eax
	vmlaunch
2:	mov $2, %eax
	jc 1f
	mov $1, %eax
1:	popfq
	POP_ABI_SAVED
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	ret

/*
 * Host RIP of every VMCS.  Saves the guest's general registers as a
 * struct tv_regs (SDM register order, RSP slot filled by C) and calls
 * int tv_vmexit_handler(struct tv_regs *).  Zero: resume the guest.
 * Non-zero: leave VMX; the handler has stored the guest RFLAGS and RIP
 * just below the guest stack and put that address in the RSP slot.
 */
	.globl tv_asm_vmexit
tv_asm_vmexit:
	push %r15
	push %r14
	push %r13
	push %r12
	push %r11
	push %r10
	push %r9
	push %r8
	push %rdi
	push %rsi
	push %rbp
	push %rbp		/* RSP slot, filled from the VMCS */
	push %rbx
	push %rdx
	push %rcx
	push %rax
	mov %rsp, ARG1
	ALLOC_SHADOW_SPACE
	call tv_vmexit_handler
	FREE_SHADOW_SPACE
	test %eax, %eax
	jnz 3f
	POP_GUEST_GPRS
	vmresume
	/* VMRESUME failed: report and stop, never returns. */
	ALLOC_SHADOW_SPACE
	call tv_vmresume_failed
	ud2

3:	POP_GUEST_GPRS
	/* The RSP slot lies 12 slots below us now; NMIs use their own stack. */
	mov -96(%rsp), %rsp
	popfq
	ret
