// SPDX-License-Identifier: MIT
/*
 * The C half of the exit stub's fast path (tv_asm_vmexit_fast in
 * arch/x86/vmx_stub.S): RDMSR and WRMSR exits, which are frequent once an
 * extension intercepts an MSR and need neither the whole register file
 * nor the general dispatcher.  The stub saved only what C may clobber
 * (struct tv_fast_regs).  Whatever this cannot finish on the plain path
 * (an extension registered for the exit, an event waiting for a window,
 * timed statistics, an instruction whose completion is more than moving
 * RIP, a #GP to inject) it hands back untouched, and the stub takes the
 * general path, which then handles the exit as if this had not looked.
 * Runs in VMX root: TV_VMX_ROOT, no locks, no host calls.
 */
#include "core/vcpu.h"
#include "core/platform.h"
#include "arch/x86/cpu.h"
#include "arch/x86/vmcs.h"

enum { FAST_DONE = 0, FAST_DECLINED = 1 };

/* The stub pushed struct tv_fast_regs right below HOST_RSP, where the
 * stack top's pad is; the vCPU pointer follows the pad. */
static TV_VMX_ROOT struct tv_vcpu *fast_vcpu(struct tv_fast_regs *regs)
{
	return *(struct tv_vcpu **)((u8 *)(regs + 1) + 8);
}

TV_VMX_ROOT int tv_vmexit_fast(struct tv_fast_regs *regs)
{
	struct tv_vcpu *v = fast_vcpu(regs);
	u32 reason = (u32)tv_vmread(VMCS_EXIT_REASON);
	bool write = reason == EXIT_REASON_WRMSR;
	u32 msr = (u32)regs->rcx, field;
	u64 val = (regs->rdx << 32) | (u32)regs->rax;

	if (tv_ext_wants_exit(v, reason) || v->pending_nmis | v->pending_mces ||
	    v->mtf_armed | v->stat_cycles | v->ext_single_step | v->native_step)
		return FAST_DECLINED;
	if (!tv_exit_completes_plainly(tv_vmread(VMCS_GUEST_INTERRUPTIBILITY),
				       tv_vmread(VMCS_GUEST_RFLAGS)))
		return FAST_DECLINED;
	switch (tv_msr_exit_action(msr, write)) {
	case TV_MSR_INJECT_GP:
		return FAST_DECLINED;
	case TV_MSR_HARDWARE:
		/* A read that faults is read again by the general path, which
		 * injects the #GP; a write must happen once: general path. */
		if (write || tv_asm_rdmsr_safe(msr, &val))
			return FAST_DECLINED;
		break;
	case TV_MSR_PASSTHROUGH:
		field = tv_msr_guest_field(msr);
		if (field && write)
			tv_vmwrite(field, val);
		else if (field)
			val = tv_vmread(field);
		else if (write)
			tv_wrmsr(msr, val);
		else
			val = tv_rdmsr(msr);
		break;
	}
	if (!write) {
		regs->rax = (u32)val;
		regs->rdx = val >> 32;
	}
	tv_vmwrite(VMCS_GUEST_RIP, tv_vmread(VMCS_GUEST_RIP) +
				   tv_vmread(VMCS_EXIT_INSTR_LEN));
	v->exits++;
	v->stat[reason].count++;
	return FAST_DONE;
}
