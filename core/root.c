// SPDX-License-Identifier: MIT
/*
 * VMX root's own IDT.  The OS's NMI and machine-check handlers must never
 * run in VMX root: they would run on the VMM's host CR3 and TLB tag, with
 * the interrupted OS code below them on the same CPU.  Each vCPU's host
 * IDTR points at a page of its own whose gates lead to the stubs of
 * arch/x86/vmx_stub.S:
 *   NMI, #MC  recorded in the stack top and handed to the OS: injected at
 *             the next VM entry (or a later one, through the monitor trap
 *             flag, when the guest cannot take it yet), or raised as a
 *             software interrupt after a CPU was given back;
 *   #GP       from the fault-guarded RDMSR/WRMSR: the access fails softly;
 *   #DB       none is expected (VM exit clears DR7 and RFLAGS.TF): counted;
 *   others    a VMM bug: log, dump and stop the machine.
 */
#include "core/vcpu.h"
#include "core/ext.h"
#include "core/root.h"
#include "core/platform.h"
#include "core/vmm.h"
#include "arch/x86/cpu.h"
#include "arch/x86/vmcs.h"

/* What tv_asm_root_common pushed, above what the CPU pushed. */
struct tv_root_frame {
	struct tv_regs regs;
	u64 vector, error;
	u64 rip, cs, rflags, rsp, ss;
};
_Static_assert(offsetof(struct tv_root_frame, vector) == TV_STUB_FRAME_VECTOR &&
	       offsetof(struct tv_root_frame, error) == TV_STUB_FRAME_ERROR &&
	       offsetof(struct tv_root_frame, rip) == TV_STUB_FRAME_CPU,
	       "tv_asm_root_common pushes the registers below vector, error code");

void tv_root_idt_build(struct tv_vcpu *v, u16 cs)
{
	u64 *gates = v->root_idt;
	unsigned int vec;

	for (vec = 0; vec < TV_ROOT_IDT_VECTORS; vec++)
		tv_idt_gate(&gates[2 * vec],
			    (u64)tv_asm_root_vectors + 16 * vec, cs);
	*(struct tv_vcpu **)((u8 *)v->root_idt + TV_ROOT_IDT_VCPU_SLOT) = v;
}

u64 tv_root_idt_base(const struct tv_vcpu *v)
{
	return (u64)v->root_idt;
}

/* The vCPU of the CPU we are on, from its root IDT: no per-CPU data of
 * the host is needed, and none of its segment bases is trusted.
 */
TV_VMX_ROOT struct tv_vcpu *tv_root_vcpu(void)
{
	struct tv_dtr idt;

	tv_sidt(&idt);
	return *(struct tv_vcpu **)(idt.base + TV_ROOT_IDT_VCPU_SLOT);
}

TV_VMX_ROOT void tv_root_exception(struct tv_root_frame *f)
{
	struct tv_vcpu *v = tv_root_vcpu();
	struct tv_stack_top *top = tv_stack_top(v);

	switch (f->vector) {
	case VEC_NMI:
		__atomic_fetch_add(&top->root_events, TV_ROOT_EVENT_NMI,
				   __ATOMIC_RELAXED);
		break;
	case VEC_MC:
		__atomic_fetch_add(&top->root_events, TV_ROOT_EVENT_MCE,
				   __ATOMIC_RELAXED);
		break;
	case VEC_GP:
		if (f->rip == (u64)tv_asm_rdmsr_insn ||
		    f->rip == (u64)tv_asm_wrmsr_insn) {
			f->rip = (u64)tv_asm_msr_fault;
			return;
		}
		goto fatal;
	case VEC_DB:
		return;
	default:
		goto fatal;
	}
	f->rip = tv_root_event_resume_rip(f->rip, (u64)tv_asm_resume_window,
					  (u64)tv_asm_resume_window_end);
	return;
fatal:
	tv_vmm_log(TV_LOG_ERR,
		   "CPU %u: exception %llu (error 0x%llx) in VMX root at RIP 0x%llx, RSP 0x%llx\n",
		   v->cpu, f->vector, f->error, f->rip, f->rsp);
	if (v->launched)
		tv_dump_guest_state(v, "exception in VMX root");
	tv_plat_panic("thinvisor: exception in VMX root (see the VMM log above)");
}

static TV_VMX_ROOT void set_mtf(struct tv_vcpu *v, bool on)
{
	if (v->mtf_armed == on)
		return;
	v->mtf_armed = on;
	tv_ext_write_controls(v);
}

/*
 * Before VM entry: take the events the root IDT recorded and inject the
 * next one the guest can take now; if something is left, arm the monitor
 * trap flag so that we are back after the guest's next instruction (or
 * event delivery), the earliest the guest may take it.  Without MTF the
 * rest waits for the next exit.
 */
/* Move what the root IDT recorded in the stack top to the vCPU's pending
 * counts (and statistics); the stub's check reads only the stack top.
 */
static TV_VMX_ROOT void take_root_events(struct tv_vcpu *v)
{
	u64 ev = __atomic_exchange_n(&tv_stack_top(v)->root_events, 0,
				     __ATOMIC_RELAXED);

	v->pending_nmis += (u32)ev;
	v->pending_mces += (u32)(ev >> 32);
	v->root_nmis += (u32)ev;
	v->root_mces += (u32)(ev >> 32);
}

TV_VMX_ROOT void tv_root_events_hand_on(struct tv_vcpu *v)
{
	u32 intr = 0, info = 0, act = 0;

	take_root_events(v);
	if (v->pending_nmis || v->pending_mces) {
		info = (u32)tv_vmread(VMCS_ENTRY_INTR_INFO);
		intr = (u32)tv_vmread(VMCS_GUEST_INTERRUPTIBILITY);
		act = (u32)tv_vmread(VMCS_GUEST_ACTIVITY_STATE);
	}
	switch (tv_root_event_action(v->pending_nmis, v->pending_mces, info,
				     intr, act)) {
	case TV_EVENT_INJECT_MCE:
		tv_vmwrite(VMCS_ENTRY_INTR_INFO,
			   VEC_MC | INTR_TYPE_HW_EXCEPTION | INTR_INFO_VALID);
		v->pending_mces--;
		break;
	case TV_EVENT_INJECT_NMI:
		tv_vmwrite(VMCS_ENTRY_INTR_INFO,
			   VEC_NMI | INTR_TYPE_NMI | INTR_INFO_VALID);
		v->pending_nmis--;
		break;
	case TV_EVENT_DROP:
		v->root_events_dropped += v->pending_nmis + v->pending_mces;
		v->pending_nmis = 0;
		v->pending_mces = 0;
		break;
	case TV_EVENT_WAIT:
	case TV_EVENT_NONE:
		break;
	}
	set_mtf(v, v->shared->mtf && (v->pending_nmis || v->pending_mces));
}

/* From the exit stub, when an event arrived inside its resume window. */
TV_VMX_ROOT void tv_vmexit_root_events(struct tv_regs *regs)
{
	tv_root_events_hand_on(tv_container_of(regs, struct tv_stack_top,
					       regs)->vcpu);
}

/*
 * After a CPU left VMX operation with the OS's IDT loaded again: the
 * events recorded meanwhile go to the OS's own handlers, as software
 * interrupts (KVM gave NMIs to Linux with "int $2" for years).
 */
TV_VMX_ROOT void tv_root_events_deliver_native(struct tv_vcpu *v)
{
	u32 nmis, mces;

	take_root_events(v);
	nmis = v->pending_nmis;
	mces = v->pending_mces;
	v->pending_nmis = 0;
	v->pending_mces = 0;
	while (mces--)
		asm volatile("int $18" : : : "memory");
	while (nmis--)
		asm volatile("int $2" : : : "memory");
}
