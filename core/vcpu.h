/* SPDX-License-Identifier: MIT */
/* Per-CPU and shared VMM state: internal to the core. */
#ifndef TV_CORE_VCPU_H
#define TV_CORE_VCPU_H

#include "core/types.h"
#include "core/caps.h"
#include "core/emulate.h"
#include "arch/x86/vmx.h"
#include "core/vmm.h"

struct tv_ept;

/* Guest general registers as the exit stub saves them (SDM order). */
struct tv_regs {
	u64 rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi;
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
};

static inline u64 *tv_reg(struct tv_regs *r, unsigned int n)
{
	return &((u64 *)r)[n & 15];
}

/* State shared by every CPU: built once at load. */
struct tv_shared {
	struct tv_vmx_caps caps;
	struct tv_cpu_features features;
	struct tv_controls ctl;
	struct tv_cr_policy cr_policy;
	u8 *msr_bitmap;
	struct tv_ept *ept;
	u64 eptp;
};

#define TV_VMM_STACK_PAGES 8

struct tv_vcpu {
	unsigned int cpu;
	u16 vpid;
	bool launched;		/* VMLAUNCH succeeded: we are below this CPU */
	struct tv_shared *shared;
	void *vmxon;		/* one page each */
	void *vmcs;
	u8 *stack;		/* TV_VMM_STACK_PAGES pages */
	u64 cr4_before;		/* CR4 before CR4.VMXE was set */
	u32 entry_fail_reason;	/* VM entry failed on guest state: reason */
	u64 entry_fail_qual;
	u64 exits;
	struct tv_exit_stat stat[TV_STAT_REASONS];
};

/*
 * The top of each VMM stack.  HOST_RSP points at @pad: the exit stub
 * pushes exactly a struct tv_regs below it, so the handler finds its vCPU
 * from the register block without any per-CPU lookup.
 */
struct tv_stack_top {
	struct tv_regs regs;
	u64 pad;
	struct tv_vcpu *vcpu;
};

/* arch/x86/vmx_stub.S */
int tv_asm_launch(void);
void tv_asm_vmexit(void);

/* core/vcpu.c: executed on the vCPU's own CPU with interrupts off */
int tv_vcpu_launch(struct tv_vcpu *v);
int tv_vcpu_terminate(void);

/* core/exit.c */
int tv_vmexit_handler(struct tv_regs *regs);
void tv_vmresume_failed(void);
void tv_dump_guest_state(struct tv_vcpu *v, const char *why);

/*
 * Return to the guest's context in VMX root without resuming it: used for
 * the terminate hypercall and for a VM entry that failed on guest state.
 * Restores CR3, descriptor tables, debug and base MSRs from the VMCS.
 */
void tv_leave_to_guest(struct tv_vcpu *v, struct tv_regs *regs, u64 rip);

#endif
