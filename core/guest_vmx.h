/* SPDX-License-Identifier: MIT */
/*
 * The VMX side of core/guest.h, core/inject.h and core/desc.h: the thin
 * VMREAD/VMWRITE glue an exit handler calls.  Context: vmx-root only
 * (the current VMCS is the exiting vCPU's).
 */
#ifndef TV_CORE_GUEST_VMX_H
#define TV_CORE_GUEST_VMX_H

#include "core/guest.h"
#include "core/inject.h"
#include "core/desc.h"
#include "core/vcpu.h"

/* The guest's paging controls, with storage for the PAE PDPTEs. */
struct tv_guest_paging {
	struct tv_paging p;
	u64 pdptes[4];
};

/*
 * Fill @g from the VMCS: GUEST_CR0/CR3/CR4/EFER (the values the CPU uses,
 * not the read shadows), the PDPTE fields under PAE paging, PKRU when the
 * guest has CR4.PKE (read with RDPKRU: PKRU is not switched by VM exit;
 * 0 if the host's CR4 lacks PKE, where RDPKRU would fault), and
 * @phys_bits (tv_shared.features.phys_bits).
 */
void tv_guest_paging_load(struct tv_guest_paging *g, unsigned int phys_bits);

/* Write @e to the VM-entry event fields (nothing if @e->info is 0). */
void tv_event_write(const struct tv_event *e);

/* Inject fault @f: CR2 first for a #PF, the error code as the mode
 * allows (tv_event_hw_exception with GUEST_CR0).
 */
void tv_fault_inject(const struct tv_guest_fault *f);

/*
 * If the exit interrupted an event's delivery (IDT-vectoring
 * information valid), write it back for the next VM entry, clearing
 * "blocking by NMI" for an NMI.  Returns true if there was one: the
 * handler must then not inject another event of its own.
 */
bool tv_event_reinject_pending(void);

/*
 * After an exit a fault caused (an exception, an EPT violation), when
 * the guest resumes without a new event from the handler: the event
 * whose delivery faulted goes again (tv_event_reinject_pending()); if
 * there was none and the fault hit an IRET that had unblocked NMIs
 * (@unblocked_by_iret: bit 12 of the exit interruption information or of
 * the EPT exit qualification; @exit_vector: the exception's, ~0u for an
 * EPT violation), NMIs are blocked again as the IRET left them
 * (tv_event_iret_nmi_blocking()).
 */
void tv_event_fault_exit_done(bool unblocked_by_iret, u32 exit_vector);

/*
 * Only the NMI-blocking half of tv_event_fault_exit_done(), for a handler
 * that injects an event of its own: skipped when that event is an NMI,
 * whose delivery blocks NMIs itself (VM entry refuses an NMI injected
 * with "blocking by NMI" set, SDM 26.2.1.5).
 */
void tv_event_iret_nmi_restore(bool unblocked_by_iret, u32 exit_vector);

/*
 * Emulate the descriptor-table instruction of exit reason 46 (@ldtr_tr
 * false) or 47 (true) on the current VMCS and @regs: reads the state
 * tv_desc_emulate() needs, and on TV_DESC_DONE writes back what it
 * changed (the register, RSP through the VMCS; GDTR, IDTR, LDTR, TR).
 * The caller then skips the instruction (DONE) or injects @f (FAULT,
 * with tv_fault_inject); TV_DESC_NO_MEMORY leaves everything as it was.
 */
enum tv_desc_result tv_desc_exit(struct tv_regs *regs, bool ldtr_tr,
				 unsigned int phys_bits, struct tv_guest_fault *f);

#endif
