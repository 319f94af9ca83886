/* SPDX-License-Identifier: MIT */
/*
 * The VMX entry and exit stubs, VMX root's own exception vectors and the
 * few instructions that need a label (fault-guarded MSR access, the
 * terminate VMCALL): the only assembly file of thinvisor.  It serves both
 * the System V ABI (Linux) and the Microsoft x64 ABI (Windows): only the
 * argument registers, the callee-saved set and the shadow space differ,
 * and the macros below pick them.
 */
#if defined(_WIN64) || defined(__MINGW64__) || defined(__MINGW32__)
#define ARG1 %rcx
#define ARG2 %rdx
#define ARG3 %r8
#define ALLOC_SHADOW_SPACE sub $32, %rsp
#define FREE_SHADOW_SPACE add $32, %rsp
#define PUSH_ABI_SAVED push %rdi; .seh_pushreg %rdi; push %rsi; .seh_pushreg %rsi
#define POP_ABI_SAVED pop %rsi; pop %rdi
/*
 * Unwind data (.pdata/.xdata) so that WinDbg and RtlVirtualUnwind can walk
 * a stack through these stubs, e.g. from a KeBugCheckEx in VMX root.
 */
#define SEH_PROC(f) .seh_proc f
#define SEH_PUSHREG(r) .seh_pushreg r
#define SEH_STACKALLOC(n) .seh_stackalloc n
#define SEH_PUSHFRAME_CODE .seh_pushframe code
#define SEH_SETFRAME(r) .seh_setframe r, 0
#define SEH_ENDPROLOGUE .seh_endprologue
#define SEH_ENDPROC .seh_endproc
#define RODATA_SECTION .section .rdata, "dr"
#else
#define ARG1 %rdi
#define ARG2 %rsi
#define ARG3 %rdx
#define ALLOC_SHADOW_SPACE
#define FREE_SHADOW_SPACE
#define PUSH_ABI_SAVED
#define POP_ABI_SAVED
#define SEH_PROC(f)
#define SEH_PUSHREG(r)
#define SEH_STACKALLOC(n)
#define SEH_PUSHFRAME_CODE
#define SEH_SETFRAME(r)
#define SEH_ENDPROLOGUE
#define SEH_ENDPROC
#define RODATA_SECTION .section .rodata
#endif

/* Layouts, encodings and return values, checked against C at compile time. */
#include "arch/x86/vmx_stub.h"
/* The CPUID signature and interface the guest sees, as C has them. */
#include "include/thinvisor/hypercall.h"

#define VMCS_GUEST_RSP TV_STUB_VMCS_GUEST_RSP
#define VMCS_GUEST_RIP TV_STUB_VMCS_GUEST_RIP
#define VMCS_GUEST_CR4 TV_STUB_VMCS_GUEST_CR4

/* struct tv_stack_top (core/vcpu.h): offsets from HOST_RSP (its pad). */
#define TOP_VCPU 8
#define TOP_ROOT_EVENTS TV_STUB_TOP_ROOT_EVENTS
#define TOP_SCRATCH 24

/* struct tv_vcpu (core/vcpu.h asserts these offsets). */
#define VCPU_EXT_EXITS 0
#define VCPU_PENDING 16		/* pending_nmis, pending_mces: 8 bytes */
#define VCPU_SLOW_FLAGS 24	/* mtf_armed ... native_step: 4 bytes */
#define VCPU_CPUID_LEAVES 28	/* bit n: leaf n wanted; 31: any above 30 */
#define VCPU_EXITS 32
#define VCPU_STAT 40		/* struct tv_exit_stat[], 16 bytes each */

#define VMCS_EXIT_REASON 0x4402
#define VMCS_EXIT_INSTR_LEN 0x440c
#define VMCS_GUEST_INTERRUPTIBILITY 0x4824
#define VMCS_GUEST_RFLAGS 0x6820
#define TV_EXIT_CPUID 10
#define TV_EXIT_RDMSR 31
#define TV_EXIT_WRMSR 32
#define TV_CPUID_HV_PAGE (TV_CPUID_LEAF_SIGNATURE >> 8)	/* 0x400000xx */
/* tv_cpuid_shape()'s bits (TV_STUB_* in arch/x86/vmx_stub.h). */
#define ECX1_VMX (1 << TV_STUB_CPUID_1_ECX_VMX)
#define ECX1_OSXSAVE (1 << TV_STUB_CPUID_1_ECX_OSXSAVE)
#define ECX1_HYPERVISOR (1 << TV_STUB_CPUID_1_ECX_HYPERVISOR)
#define ECX7_OSPKE (1 << TV_STUB_CPUID_7_0_ECX_OSPKE)
#define FAST_INTR_BLOCKING 3		/* TV_FAST_INTR_BLOCKING */
#define FAST_RFLAGS_BITS 0x10100	/* TV_FAST_RFLAGS_BITS */

/* Save the guest's general registers as a struct tv_regs (core/vcpu.h):
 * SDM register order from the lowest address, the RSP slot left as is.
 * prologue=1 also describes each push for the unwinder (Windows). */
.macro PUSH_GUEST_GPRS prologue=0
	.irp reg, %r15, %r14, %r13, %r12, %r11, %r10, %r9, %r8, %rdi, %rsi, %rbp
	push \reg
	.if \prologue
	SEH_PUSHREG(\reg)
	.endif
	.endr
	push %rbp		/* RSP slot, filled from the VMCS when needed */
	.if \prologue
	SEH_STACKALLOC(8)
	.endif
	.irp reg, %rbx, %rdx, %rcx, %rax
	push \reg
	.if \prologue
	SEH_PUSHREG(\reg)
	.endif
	.endr
.endm

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
	SEH_PROC(tv_asm_launch)
	push %rbx
	SEH_PUSHREG(%rbx)
	push %rbp
	SEH_PUSHREG(%rbp)
	push %r12
	SEH_PUSHREG(%r12)
	push %r13
	SEH_PUSHREG(%r13)
	push %r14
	SEH_PUSHREG(%r14)
	push %r15
	SEH_PUSHREG(%r15)
	PUSH_ABI_SAVED
	pushfq
	SEH_STACKALLOC(8)
	SEH_ENDPROLOGUE
	mov $TV_STUB_VMCS_GUEST_RSP, %rax
	vmwrite %rsp, %rax
	jbe 2f
	lea 1f(%rip), %rdx
	mov $TV_STUB_VMCS_GUEST_RIP, %rax
	vmwrite %rdx, %rax
	jbe 2f
	mov $TV_LAUNCH_GUEST, %eax
	vmlaunch
2:	mov $TV_LAUNCH_VMFAIL_INVALID, %eax
	jc 1f
	mov $TV_LAUNCH_VMFAIL_VALID, %eax
1:	popfq
	POP_ABI_SAVED
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	ret
	SEH_ENDPROC

/*
 * Host RIP of every VMCS: the fast paths, for exits that need neither the
 * whole register file nor the general dispatcher.  Everything else goes to
 * tv_asm_vmexit below with the guest's registers as the exit left them.
 *
 * Both paths take an exit only when no extension asked for it
 * (tv_ext_wants_exit), no NMI or #MC waits for a window, no flag of
 * VCPU_SLOW_FLAGS is set (MTF armed, stat_cycles, an extension's single
 * step, a native step) and completing the instruction only moves RIP
 * (tv_exit_completes_plainly: no STI/MOV-SS shadow, no RFLAGS.RF or TF).
 * Registers they need are parked in the stack top's scratch slots until
 * they are sure: [0] RDX, [1] RBX, [2] the exit reason, [3] a temporary.
 *
 * CPUID, every leaf, as handle_cpuid() answers it (tv_cpuid_shape() in
 * core/emulate.h, mirrored here): a leaf it leaves alone
 * (tv_cpuid_leaf_native) gets the bare CPUID, executed in root; leaf 1
 * and leaf 7 subleaf 0 the CPUID with ECX shaped, OSXSAVE and OSPKE from
 * the guest's CR4 (read only for them); leaves 0x400000xx their
 * constants, with no CPUID at all.
 * RDMSR/WRMSR of an MSR whose intercepted access is just the access
 * (tv_msr_exit_plain, mirrored here): the bare RDMSR/WRMSR in root, as
 * handle_msr() does for them.  Both then VMRESUME through the resume
 * window, like the general path.
 *
 * No unwind data: nothing here calls, and nothing can fault.
 */
	.globl tv_asm_vmexit_fast
tv_asm_vmexit_fast:
	mov %rdx, TOP_SCRATCH(%rsp)
	mov $VMCS_EXIT_REASON, %edx
	vmread %rdx, %rdx
	cmp $TV_EXIT_CPUID, %edx
	jne 6f
	mov %rbx, TOP_SCRATCH+8(%rsp)
	mov TOP_VCPU(%rsp), %rbx
	testb $(1 << (TV_EXIT_CPUID - 8)), VCPU_EXT_EXITS+1(%rbx)
	jnz .Lcpuid_wanted
.Lcpuid_leaf_free:
	cmpq $0, VCPU_PENDING(%rbx)
	jne 5f
	cmpl $0, VCPU_SLOW_FLAGS(%rbx)
	jne 5f
	mov $VMCS_GUEST_INTERRUPTIBILITY, %edx
	vmread %rdx, %rdx
	test $FAST_INTR_BLOCKING, %edx
	jnz 5f
	mov $VMCS_GUEST_RFLAGS, %edx
	vmread %rdx, %rdx
	test $FAST_RFLAGS_BITS, %edx
	jnz 5f
	/*
	 * Committed: count it and move RIP past CPUID.  The guest's RBX and
	 * RDX are not needed any more: every answer below sets all four.
	 */
	incq VCPU_EXITS(%rbx)
	incq VCPU_STAT+16*TV_EXIT_CPUID(%rbx)
	mov $VMCS_EXIT_INSTR_LEN, %edx
	vmread %rdx, %rbx
	mov $VMCS_GUEST_RIP, %edx
	vmread %rdx, TOP_SCRATCH+24(%rsp)
	add TOP_SCRATCH+24(%rsp), %rbx
	vmwrite %rbx, %rdx
	/* Leaves 0 and 2-6 first: they are the most frequent after 1. */
	cmp $7, %eax
	ja .Lcpuid_high
	je .Lcpuid_leaf7
	cmp $1, %eax
	je .Lcpuid_leaf1
.Lcpuid_native:
	cpuid
	jmp tv_asm_resume_window

	/*
	 * An extension asked for CPUID: the general path only if for this
	 * leaf (EAX, the guest's, untouched so far), or any above 30.
	 */
.Lcpuid_wanted:
	mov $31, %edx
	cmp %edx, %eax
	cmovb %eax, %edx
	bt %edx, VCPU_CPUID_LEAVES(%rbx)
	jc 5f
	jmp .Lcpuid_leaf_free

	/*
	 * Leaf 1: VMX off, hypervisor on, OSXSAVE = guest CR4.OSXSAVE.  The
	 * bits to set wait in scratch [3] while CPUID takes all four
	 * registers.
	 */
.Lcpuid_leaf1:
	mov $VMCS_GUEST_CR4, %edx
	vmread %rdx, %rbx
	shl $(TV_STUB_CPUID_1_ECX_OSXSAVE - TV_STUB_CR4_OSXSAVE), %ebx
	and $ECX1_OSXSAVE, %ebx
	or $ECX1_HYPERVISOR, %ebx
	mov %ebx, TOP_SCRATCH+24(%rsp)
	cpuid
	and $~(ECX1_VMX | ECX1_OSXSAVE), %ecx
	or TOP_SCRATCH+24(%rsp), %ecx
	jmp tv_asm_resume_window

	/* Leaf 7 subleaf 0: OSPKE = guest CR4.PKE; other subleaves as is. */
.Lcpuid_leaf7:
	test %ecx, %ecx
	jnz .Lcpuid_native
	mov $VMCS_GUEST_CR4, %edx
	vmread %rdx, %rbx
	shr $(TV_STUB_CR4_PKE - TV_STUB_CPUID_7_0_ECX_OSPKE), %ebx
	and $ECX7_OSPKE, %ebx
	mov %ebx, TOP_SCRATCH+24(%rsp)
	cpuid
	and $~ECX7_OSPKE, %ecx
	or TOP_SCRATCH+24(%rsp), %ecx
	jmp tv_asm_resume_window

	/*
	 * Leaves 0x40000000-0x400000ff are thinvisor's: the highest leaf and
	 * the signature, the interface, zeros above.  Others are native.
	 */
.Lcpuid_high:
	mov %eax, %edx
	shr $8, %edx
	cmp $TV_CPUID_HV_PAGE, %edx
	jne .Lcpuid_native
	xor %ebx, %ebx
	xor %ecx, %ecx
	xor %edx, %edx
	cmp $TV_CPUID_LEAF_SIGNATURE, %eax
	je .Lcpuid_signature_leaf
	cmp $TV_CPUID_LEAF_INTERFACE, %eax
	mov $0, %eax		/* MOV leaves the flags alone */
	jne tv_asm_resume_window
	mov $TV_CPUID_INTERFACE, %eax
	jmp tv_asm_resume_window
.Lcpuid_signature_leaf:
	mov $TV_CPUID_LEAF_INTERFACE, %eax	/* the highest leaf we define */
	mov .Lcpuid_signature(%rip), %ebx
	mov .Lcpuid_signature+4(%rip), %ecx
	mov .Lcpuid_signature+8(%rip), %edx
	jmp tv_asm_resume_window

	/* Not for us: the general path, registers as the exit left them. */
5:	mov TOP_SCRATCH+8(%rsp), %rbx
7:	mov TOP_SCRATCH(%rsp), %rdx
	jmp tv_asm_vmexit

6:	cmp $TV_EXIT_RDMSR, %edx
	je 8f
	cmp $TV_EXIT_WRMSR, %edx
	jne 7b
8:	mov %edx, TOP_SCRATCH+16(%rsp)
	mov %rbx, TOP_SCRATCH+8(%rsp)
	mov TOP_VCPU(%rsp), %rbx
	bt %rdx, VCPU_EXT_EXITS(%rbx)
	jc 5b
	cmpq $0, VCPU_PENDING(%rbx)
	jne 5b
	cmpl $0, VCPU_SLOW_FLAGS(%rbx)
	jne 5b
	/* tv_msr_exit_plain(ECX) */
	cmp $0x1fff, %ecx
	ja 9f
	mov %ecx, %edx
	sub $0x480, %edx
	cmp $(0x493 - 0x480), %edx
	jbe 5b
	mov %ecx, %edx
	sub $0x174, %edx
	cmp $(0x176 - 0x174), %edx
	jbe 5b
	cmp $0x1d9, %ecx
	je 5b
	jmp 10f
9:	mov %ecx, %edx
	sub $0xc0000000, %edx
	cmp $0x1fff, %edx
	ja 5b
	cmp $0x80, %edx
	je 5b
	cmp $0x100, %edx
	je 5b
	cmp $0x101, %edx
	je 5b
10:	mov $VMCS_GUEST_INTERRUPTIBILITY, %edx
	vmread %rdx, %rdx
	test $FAST_INTR_BLOCKING, %edx
	jnz 5b
	mov $VMCS_GUEST_RFLAGS, %edx
	vmread %rdx, %rdx
	test $FAST_RFLAGS_BITS, %edx
	jnz 5b
	/* Committed: count it, move RIP, then do the access itself. */
	incq VCPU_EXITS(%rbx)
	mov TOP_SCRATCH+16(%rsp), %edx
	shl $4, %edx
	incq VCPU_STAT(%rbx, %rdx)
	mov $VMCS_EXIT_INSTR_LEN, %edx
	vmread %rdx, %rbx
	mov $VMCS_GUEST_RIP, %edx
	vmread %rdx, TOP_SCRATCH+24(%rsp)
	add TOP_SCRATCH+24(%rsp), %rbx
	vmwrite %rbx, %rdx
	mov TOP_SCRATCH+8(%rsp), %rbx
	mov TOP_SCRATCH(%rsp), %rdx
	cmpl $TV_EXIT_WRMSR, TOP_SCRATCH+16(%rsp)
	je 11f
	rdmsr
	jmp tv_asm_resume_window
11:	wrmsr
	jmp tv_asm_resume_window

	/*
	 * EBX, ECX, EDX of leaf 0x40000000: the signature's characters in
	 * order, first in the low byte, as TV_CPUID_CHARS() packs them.
	 */
	RODATA_SECTION
	.balign 4
.Lcpuid_signature:
	.ascii TV_CPUID_SIGNATURE
	.if . - .Lcpuid_signature != 12
	.error "TV_CPUID_SIGNATURE must be 12 characters: EBX, ECX, EDX"
	.endif
	.text

	/* The shifts of .Lcpuid_leaf1 and .Lcpuid_leaf7 go these ways. */
	.if TV_STUB_CPUID_1_ECX_OSXSAVE < TV_STUB_CR4_OSXSAVE || \
	    TV_STUB_CR4_PKE < TV_STUB_CPUID_7_0_ECX_OSPKE
	.error "CPUID fast path: shift directions"
	.endif

/*
 * The general path.  Saves the guest's general registers as a
 * struct tv_regs (SDM register order, RSP slot filled by C) and calls
 * int tv_vmexit_handler(struct tv_regs *).  Zero: resume the guest.
 * Non-zero: leave VMX; the handler has stored the guest RFLAGS and RIP
 * just below the guest stack and put that address in the RSP slot.
 *
 * From tv_asm_resume_window to tv_asm_resume_window_end the guest's
 * registers are live and VMRESUME is next.  An NMI or machine check that
 * reaches VMX root there (tv_root_exception) is recorded in the stack
 * top's root_events and sends execution back to the window's start, so
 * that the check below always sees it: nothing is left behind for a VM
 * entry that might not come for seconds.
 */
	.globl tv_asm_vmexit
tv_asm_vmexit:
	/*
	 * For the unwinder: the struct tv_regs pushes and the shadow space,
	 * 0xa0 bytes below HOST_RSP.  Undone, they leave RSP at HOST_RSP,
	 * struct tv_stack_top's pad, which is zero: taken as the return
	 * address, it ends the walk there.  The path at 4: below calls with
	 * the same frame; from label 1 to VMRESUME it is not there any more.
	 */
	SEH_PROC(tv_asm_vmexit)
	PUSH_GUEST_GPRS prologue=1
	mov %rsp, ARG1
	ALLOC_SHADOW_SPACE
	SEH_STACKALLOC(32)
	SEH_ENDPROLOGUE
	call tv_vmexit_handler
	FREE_SHADOW_SPACE
	test %eax, %eax
	jnz 3f
1:	POP_GUEST_GPRS
	.globl tv_asm_resume_window
tv_asm_resume_window:
	cmpq $0, TV_STUB_TOP_ROOT_EVENTS(%rsp)
	jne 4f
	vmresume
	.globl tv_asm_resume_window_end
tv_asm_resume_window_end:
	/* VMRESUME failed: report and stop, never returns. */
	ALLOC_SHADOW_SPACE
	call tv_vmresume_failed
	ud2

	/* An NMI or #MC arrived after the handler last looked: hand it on. */
4:	PUSH_GUEST_GPRS
	mov %rsp, ARG1
	ALLOC_SHADOW_SPACE
	call tv_vmexit_root_events
	FREE_SHADOW_SPACE
	jmp 1b

3:	POP_GUEST_GPRS
	/* RSP is at HOST_RSP again, just above the register block whose RSP
	 * slot holds where to go; NMIs use their own stack. */
	mov (TV_STUB_REGS_RSP - TV_STUB_REGS_SIZE)(%rsp), %rsp
	popfq
	ret
	SEH_ENDPROC

/*
 * VMX root's exception vectors 0-31, 16 bytes apart (core/root.c builds
 * the gates from tv_asm_root_vectors + 16 * vector).  Each pushes a zero
 * where the CPU pushes no error code, then its vector, and joins
 * tv_asm_root_common, which calls void tv_root_exception(struct
 * tv_root_frame *) and returns with IRETQ to the (possibly changed) RIP.
 */
.macro ROOT_VECTOR vec
	.balign 16
	.if (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || \
	    (\vec == 21) || (\vec == 29) || (\vec == 30)
	.else
	push $0
	.endif
	push $\vec
	jmp tv_asm_root_common
.endm

	.balign 16
	.globl tv_asm_root_vectors
tv_asm_root_vectors:
	.irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	ROOT_VECTOR \vec
	.endr

tv_asm_root_common:
	/*
	 * For the unwinder: on entry the CPU's interrupt frame with an error
	 * code (ours or the CPU's) and the vector; then the register pushes.
	 * RBX then holds RSP, so the realignment below needs no description,
	 * and the machine frame leads the walk on to the interrupted code.
	 */
	SEH_PROC(tv_asm_root_common)
	SEH_PUSHFRAME_CODE
	SEH_STACKALLOC(8)
	PUSH_GUEST_GPRS prologue=1
	mov %rsp, ARG1
	/* The CPU aligned RSP before its frame; 23 slots later it is not. */
	mov %rsp, %rbx
	SEH_SETFRAME(%rbx)
	SEH_ENDPROLOGUE
	and $-16, %rsp
	ALLOC_SHADOW_SPACE
	call tv_root_exception
	mov %rbx, %rsp
	POP_GUEST_GPRS
	add $(TV_STUB_FRAME_CPU - TV_STUB_FRAME_VECTOR), %rsp	/* vector, error code */
	iretq
	SEH_ENDPROC

/*
 * int tv_asm_rdmsr_safe(u32 msr, u64 *val)
 * int tv_asm_wrmsr_safe(u32 msr, u64 val)
 *
 * RDMSR/WRMSR in VMX root for MSRs the hardware may not have: 0 when the
 * access worked, 1 when it raised #GP (tv_root_exception moves RIP from
 * the faulting instruction to tv_asm_msr_fault).  Only with VMX root's own
 * IDT loaded, that is inside the exit handler.
 */
	.globl tv_asm_rdmsr_safe
tv_asm_rdmsr_safe:
	/* RDMSR overwrites RDX, which is ARG2 in the Microsoft ABI. */
	mov ARG2, %r8
	mov ARG1, %rcx
	.globl tv_asm_rdmsr_insn
tv_asm_rdmsr_insn:
	rdmsr
	shl $32, %rdx
	or %rdx, %rax
	mov %rax, (%r8)
	mov $TV_MSR_SAFE_OK, %eax
	ret

	.globl tv_asm_wrmsr_safe
tv_asm_wrmsr_safe:
	mov ARG1, %rcx
	mov ARG2, %rax
	mov %rax, %rdx
	shr $32, %rdx
	.globl tv_asm_wrmsr_insn
tv_asm_wrmsr_insn:
	wrmsr
	mov $TV_MSR_SAFE_OK, %eax
	ret

	.globl tv_asm_msr_fault
tv_asm_msr_fault:
	mov $TV_MSR_SAFE_FAULT, %eax
	ret

/*
 * u64 tv_asm_vmcall_terminate(u64 key)
 *
 * The only VMCALL the VMM accepts TERMINATE from: its RIP and the per-load
 * key in RDX both have to match (core/exit.c).  Returns 0 as the guest
 * given back, at the RET below.
 */
	.globl tv_asm_vmcall_terminate
tv_asm_vmcall_terminate:
	mov ARG1, %rdx
	movabs $TV_STUB_HC_TERMINATE, %rax
	.globl tv_asm_terminate_vmcall
tv_asm_terminate_vmcall:
	vmcall
	ret

/*
 * u64 tv_asm_vmcall_root(u64 key, u64 fn, u64 arg)
 *
 * The only VMCALL the VMM accepts a root call from (core/vmm.c
 * tv_vmm_root_call_each): RIP and key checked as for TERMINATE.  Returns
 * what fn returned in VMX root.  The moves run from the last argument to
 * the first so that neither ABI overwrites one before it is read.
 */
	.globl tv_asm_vmcall_root
tv_asm_vmcall_root:
	mov ARG3, %r9
	mov ARG2, %r8
	mov ARG1, %rdx
	movabs $TV_STUB_HC_ROOT_CALL, %rax
	.globl tv_asm_root_vmcall
tv_asm_root_vmcall:
	vmcall
	ret

/*
 * void tv_asm_triple_fault(void)
 *
 * Out of VMX operation: fault with an empty IDT.  #UD cannot be
 * delivered, nor the #GP and #DF that follow, so the CPU shuts down and
 * the platform resets, as it would have for the guest's triple fault.
 */
	.globl tv_asm_triple_fault
tv_asm_triple_fault:
	sub $16, %rsp
	movq $0, (%rsp)
	movq $0, 8(%rsp)
	lidt (%rsp)
	ud2
5:	hlt
	jmp 5b
