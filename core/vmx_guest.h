/* SPDX-License-Identifier: MIT */
/*
 * Reading and changing the guest's state from VMX root: the small helpers
 * every exit handler shares (core/exit.c, core/exit_ext.c, core/ext_root.c).
 * Inline, on the exit path; VMX root only.
 */
#ifndef TV_CORE_VMX_GUEST_H
#define TV_CORE_VMX_GUEST_H

#include "core/vcpu.h"
#include "core/guest_vmx.h"
#include "arch/x86/cpu.h"
#include "arch/x86/vmcs.h"
#include "arch/x86/msr.h"

/* What an exit handler returns to the stub. */
enum { RESUME = 0, LEAVE = 1 };

/* A hardware exception for the guest; the error code goes only where the
 * guest's mode pushes one (none in real mode, SDM 26.2.1.3).
 */
static inline TV_VMX_ROOT void inject_exception(u32 vector, u32 error)
{
	struct tv_event e = tv_event_hw_exception(vector, error,
						  tv_vmread(VMCS_GUEST_CR0));

	tv_event_write(&e);
}

static inline TV_VMX_ROOT void inject_ud(void)
{
	inject_exception(VEC_UD, 0);
}

static inline TV_VMX_ROOT void inject_gp(void)
{
	inject_exception(VEC_GP, 0);
}

/*
 * Complete an emulated instruction: step RIP past it, end any STI/MOV SS
 * interrupt shadow it was under, clear RFLAGS.RF as completing any
 * instruction does (a breakpoint on the next one must fire), and if the
 * guest was single-stepping deliver the #DB that the instruction would
 * have raised after itself.
 */
static TV_ALWAYS_INLINE inline void skip_instruction(void)
{
	u64 rip = tv_vmread(VMCS_GUEST_RIP) + tv_vmread(VMCS_EXIT_INSTR_LEN);
	u64 intr = tv_vmread(VMCS_GUEST_INTERRUPTIBILITY);
	u64 rflags = tv_vmread(VMCS_GUEST_RFLAGS);

	tv_vmwrite(VMCS_GUEST_RIP, rip);
	if (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
		tv_vmwrite(VMCS_GUEST_INTERRUPTIBILITY,
			   intr & ~(INTERRUPTIBILITY_STI |
				    INTERRUPTIBILITY_MOV_SS));
	if (tv_unlikely(rflags & RFLAGS_RF))
		tv_vmwrite(VMCS_GUEST_RFLAGS, rflags & ~RFLAGS_RF);
	if ((rflags & RFLAGS_TF) &&
	    !(tv_vmread(VMCS_GUEST_DEBUGCTL) & TV_BIT(1) /* BTF */))
		tv_vmwrite(VMCS_GUEST_PENDING_DBG,
			   tv_vmread(VMCS_GUEST_PENDING_DBG) | PENDING_DBG_BS);
}

/*
 * The CR0 or CR4 value the guest believes it has: masked bits come from
 * the read shadow, the others are live in the guest field.  The shadow's
 * unmasked bits are stale (writes that leave masked bits alone do not
 * exit), so never read them alone.
 */
static inline TV_VMX_ROOT u64 guest_visible_cr(int cr)
{
	u64 mask = tv_vmread(cr == 0 ? VMCS_CR0_MASK : VMCS_CR4_MASK);
	u64 shadow = tv_vmread(cr == 0 ? VMCS_CR0_SHADOW : VMCS_CR4_SHADOW);
	u64 real = tv_vmread(cr == 0 ? VMCS_GUEST_CR0 : VMCS_GUEST_CR4);

	return (real & ~mask) | (shadow & mask);
}

static inline TV_VMX_ROOT unsigned int guest_cpl(void)
{
	return (tv_vmread(VMCS_GUEST_SS_AR) >> 5) & 3;
}

/* The L bit of the guest's CS (access rights bit 13): 64-bit code. */
static inline TV_VMX_ROOT bool guest_cs_l(void)
{
	return tv_vmread(VMCS_GUEST_CS_AR) & TV_BIT(13);
}

/* 64-bit mode: CS.L with EFER.LMA. */
static inline TV_VMX_ROOT bool guest_in_long_mode(void)
{
	return guest_cs_l() && (tv_vmread(VMCS_GUEST_EFER) & EFER_LMA);
}

static inline TV_VMX_ROOT u64 read_gpr(struct tv_regs *regs, unsigned int n)
{
	return n == 4 ? tv_vmread(VMCS_GUEST_RSP) : *tv_reg(regs, n);
}

static inline TV_VMX_ROOT void write_gpr(struct tv_regs *regs, unsigned int n,
				  u64 val)
{
	if (n == 4)
		tv_vmwrite(VMCS_GUEST_RSP, val);
	else
		*tv_reg(regs, n) = val;
}

#endif
