/* SPDX-License-Identifier: MIT */
/*
 * What arch/x86/vmx_stub.S and the C code agree on, as plain numbers the
 * assembler can read too.  The C side checks every one of them against
 * its own definition at compile time (core/vcpu.h, core/root.c), so the
 * stub cannot drift from a struct layout or a VMCS encoding unnoticed.
 */
#ifndef TV_ARCH_VMX_STUB_H
#define TV_ARCH_VMX_STUB_H

/* struct tv_regs: 16 slots in SDM order (RAX first, at the lowest address). */
#define TV_STUB_REGS_SIZE	128
#define TV_STUB_REGS_RSP	32	/* offset of the RSP slot */

/* struct tv_stack_top, from HOST_RSP (its @pad). */
#define TV_STUB_TOP_ROOT_EVENTS	16

/* struct tv_root_frame: the vector and error code above the registers. */
#define TV_STUB_FRAME_VECTOR	TV_STUB_REGS_SIZE
#define TV_STUB_FRAME_ERROR	(TV_STUB_REGS_SIZE + 8)
#define TV_STUB_FRAME_CPU	(TV_STUB_REGS_SIZE + 16)	/* the CPU's RIP */

/* The VMCS fields the stub writes (enum tv_vmcs_field). */
#define TV_STUB_VMCS_GUEST_RSP	0x681c
#define TV_STUB_VMCS_GUEST_RIP	0x681e

/* The VMCS fields the CPUID fast path reads (enum tv_vmcs_field). */
#define TV_STUB_VMCS_GUEST_CR4	0x6804

/*
 * tv_cpuid_shape() (core/emulate.h) as bit numbers, for the CPUID fast
 * path: the CR4 bits the guest's CPUID reflects and where they show.
 * The signature and interface come from include/thinvisor/hypercall.h
 * itself.
 */
#define TV_STUB_CPUID_1_ECX_VMX		5
#define TV_STUB_CPUID_1_ECX_OSXSAVE	27
#define TV_STUB_CPUID_1_ECX_HYPERVISOR	31
#define TV_STUB_CPUID_7_0_ECX_OSPKE	4
#define TV_STUB_CR4_OSXSAVE		18
#define TV_STUB_CR4_PKE			22

/* The hypercalls the stub makes (include/thinvisor/hypercall.h). */
#define TV_STUB_HC_TERMINATE	0x7476000000000002
#define TV_STUB_HC_ROOT_CALL	0x7476000000000004

/* What tv_asm_launch returns. */
#define TV_LAUNCH_GUEST			0	/* we are the guest now */
#define TV_LAUNCH_VMFAIL_VALID		1	/* VM-instruction error in the VMCS */
#define TV_LAUNCH_VMFAIL_INVALID	2	/* no current VMCS */
#define TV_LAUNCH_ENTRY_FAILED		3	/* VM entry failed on guest state */

/* The stub's own MSR access: what tv_asm_{rd,wr}msr_safe return. */
#define TV_MSR_SAFE_OK		0
#define TV_MSR_SAFE_FAULT	1	/* #GP: the MSR does not exist */

#endif
