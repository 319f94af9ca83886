/* SPDX-License-Identifier: MIT */
/*
 * Pure decisions of VMX root's own IDT (core/root.c): the gate format, and
 * what to do with NMIs and machine checks that reached VMX root.
 */
#ifndef TV_CORE_ROOT_H
#define TV_CORE_ROOT_H

#include "core/types.h"
#include "arch/x86/vmx.h"

/* Vectors VMX root handles: the exceptions; IF is 0 there. */
#define TV_ROOT_IDT_VECTORS 32
/* Where the vCPU pointer lives in the root IDT page (gate 255's unused
 * upper half: that gate is not present).
 */
#define TV_ROOT_IDT_VCPU_SLOT (TV_PAGE_SIZE - 8)

/*
 * A 64-bit interrupt gate (SDM Vol. 3, 6.14.1): present, DPL 0, type 0xE,
 * IST 0 (the VMM stack is always valid in root), to @handler in code
 * segment @cs.
 */
static inline void tv_idt_gate(u64 gate[2], u64 handler, u16 cs)
{
	gate[0] = (handler & 0xffff) | ((u64)cs << 16) | (0x8eULL << 40) |
		  (((handler >> 16) & 0xffff) << 48);
	gate[1] = handler >> 32;
}

enum tv_root_event_action {
	TV_EVENT_NONE,		/* nothing pending */
	TV_EVENT_INJECT_MCE,	/* inject #MC now */
	TV_EVENT_INJECT_NMI,	/* inject an NMI now */
	TV_EVENT_WAIT,		/* not now: come back after one instruction */
	TV_EVENT_DROP,		/* events for a CPU in wait-for-SIPI */
};

/*
 * The next step for the NMIs and machine checks pending for a guest, given
 * the VM-entry interruption information already set up for this entry and
 * the guest's interruptibility and activity states.  One event per VM
 * entry, machine checks first.  An NMI waits while the guest blocks NMIs
 * or sits in an STI or MOV SS shadow (SDM 26.3.1.5 forbids injecting it
 * under MOV SS, and KVM treats the STI shadow alike).  Nothing at all may
 * be injected into a CPU waiting for SIPI (SDM 26.3.1.5: "no interruptions
 * are allowed"; the entry would fail), and natively it would take neither
 * an NMI nor a machine check there: those are dropped and counted.
 */
static inline enum tv_root_event_action
tv_root_event_action(u32 nmis, u32 mces, u32 entry_intr_info,
		     u32 interruptibility, u32 activity)
{
	if (!nmis && !mces)
		return TV_EVENT_NONE;
	if (activity == ACTIVITY_WAIT_SIPI)
		return TV_EVENT_DROP;
	if (entry_intr_info & INTR_INFO_VALID)
		return TV_EVENT_WAIT;
	if (mces)
		return TV_EVENT_INJECT_MCE;
	if (interruptibility & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS |
				INTERRUPTIBILITY_NMI))
		return TV_EVENT_WAIT;
	return TV_EVENT_INJECT_NMI;
}

/*
 * An NMI or #MC that interrupted VMX root at @rip: where to go on.  Inside
 * the exit stub's resume window, back to its start, so that the event is
 * seen before VMRESUME; anywhere else, where it was.
 */
static inline u64 tv_root_event_resume_rip(u64 rip, u64 window,
					   u64 window_end)
{
	return rip >= window && rip < window_end ? window : rip;
}

#endif
