/* SPDX-License-Identifier: MIT */
/*
 * Event-injection decisions, pure: the VM-entry interruption-information,
 * error-code and instruction-length words for an event the VMM delivers
 * to the guest, and what to re-inject when the exit interrupted the
 * delivery of one (SDM Vol. 3C 25.8.3 "VM-Entry Controls for Event
 * Injection", 28.2.4 "Information for VM Exits During Event Delivery",
 * 28.2.3 on NMI unblocking by IRET, Vol. 3A 6.15 Table 6-5 on double
 * faults).  The caller VMWRITEs the result (VMCS_ENTRY_INTR_INFO,
 * VMCS_ENTRY_EXCEPTION_ERROR, VMCS_ENTRY_INSTR_LEN).  Context: any.
 */
#ifndef TV_CORE_INJECT_H
#define TV_CORE_INJECT_H

#include "core/types.h"

/* Interruption types (bits 10:8 of the interruption-information words). */
enum tv_event_type {
	TV_EVENT_EXT_INTR = 0,
	TV_EVENT_NMI = 2,
	TV_EVENT_HW_EXCEPTION = 3,
	TV_EVENT_SW_INTR = 4,		/* INT n */
	TV_EVENT_PRIV_SW_EXCEPTION = 5,	/* INT1 (ICEBP) */
	TV_EVENT_SW_EXCEPTION = 6,	/* INT3, INTO */
	TV_EVENT_OTHER = 7,		/* MTF, no vector */
};

#define TV_EVENT_VALID TV_BIT(31)
#define TV_EVENT_HAS_ERROR TV_BIT(11)
/* Exit interruption information: "NMI unblocking due to IRET". */
#define TV_EVENT_NMI_UNBLOCKED_BY_IRET TV_BIT(12)

/* One event for VM entry: the three fields it writes. */
struct tv_event {
	u32 info;		/* 0: nothing to inject */
	u32 error;		/* meaningful when info has TV_EVENT_HAS_ERROR */
	u32 instr_len;		/* software events only, else 0 */
};

static inline u32 tv_event_vector(u32 info) { return info & 0xff; }
static inline u32 tv_event_type(u32 info) { return (info >> 8) & 7; }

/*
 * A hardware exception @vector (0-31).  The error code @error is pushed
 * only for the vectors that push one, and only in protected mode (@cr0 is
 * the VMCS guest CR0; SDM 26.2.1.3: VM entry fails otherwise): the same
 * rule as tv_exception_has_error_code().  #BP and #OF raised this way
 * are "hardware" (no instruction length): use tv_event_sw_exception()
 * for the INT3/INTO the guest executed.
 */
struct tv_event tv_event_hw_exception(u32 vector, u32 error, u64 cr0);

/* A #PF the guest should see: error code @error; the caller sets CR2. */
struct tv_event tv_event_page_fault(u32 error, u64 cr0);

/*
 * The software exception INT3 (#BP, 3) or INTO (#OF, 4) the guest
 * executed, @instr_len bytes long (1 for INT3 0xcc, 2 for CD 03): the
 * guest's RIP stays at the instruction, delivery pushes RIP + length.
 * Any other vector returns no event (VM entry would fail).
 */
struct tv_event tv_event_sw_exception(u32 vector, u32 instr_len);

/* INT n, @instr_len bytes long. */
struct tv_event tv_event_sw_interrupt(u32 vector, u32 instr_len);

/* INT1 / ICEBP (F1), one byte: #DB delivered as the instruction does. */
struct tv_event tv_event_icebp(void);

/* An NMI.  The guest must not block NMIs (caller checks interruptibility). */
struct tv_event tv_event_nmi(void);

/*
 * External interrupt @vector (16-255 architecturally usable; any 8 bits
 * are accepted by VM entry).  Caller checks RFLAGS.IF and the
 * interruptibility state, or uses the interrupt-window exit.
 */
struct tv_event tv_event_ext_interrupt(u32 vector);

/*
 * The event whose delivery the exit interrupted, to deliver again: from
 * the IDT-vectoring information @idt_info and error code @idt_error and
 * the exit's instruction length @exit_instr_len.  Returns false (and an
 * empty @out) when @idt_info is not valid.  The type, vector and
 * error-code bit carry over; bit 12 (undefined here) and the reserved
 * bits are dropped; software interrupts and exceptions (types 4, 5, 6)
 * take @exit_instr_len, which the CPU saved for exactly these (SDM
 * 28.2.5), others 0.  @clear_nmi_blocking is set for an NMI: its
 * delivery did not complete, so NMIs are not blocked yet and "blocking by
 * NMI" must be 0 in the guest interruptibility state before it is
 * injected again (VM entry fails otherwise, SDM 26.2.1.5).
 */
bool tv_event_reinject(u32 idt_info, u32 idt_error, u32 exit_instr_len,
		       struct tv_event *out, bool *clear_nmi_blocking);

/*
 * After an exit that reports "NMI unblocking due to IRET" (bit 12 of the
 * exit interruption information of an exception exit, or of the exit
 * qualification of an EPT violation, page-modification-log-full or
 * SPP exit): must the VMM set "blocking by NMI" before resuming the guest
 * (SDM 28.2.3)?  The IRET that faulted had unblocked NMIs; when it is
 * executed again it must run with NMIs blocked.  True when the bit is set
 * and no event was being delivered (@idt_info not valid: then bit 12 is
 * undefined) and the exit was not a #DF (@exit_vector 8, for which bit
 * 12 is undefined; pass ~0u for exits that are not exceptions).
 */
bool tv_event_iret_nmi_blocking(bool unblocked_by_iret, u32 exit_vector,
				u32 idt_info);

/*
 * The guest takes exception @second while delivering the event @first
 * (an IDT-vectoring information word): what does the CPU deliver (SDM
 * Vol. 3A Table 6-5)?  Benign first events, software events, external
 * interrupts and NMIs: @second alone.  Contributory (0, 10-13) then
 * contributory, or #PF then contributory or #PF: #DF with error code 0.
 * #DF then contributory or #PF: a triple fault (*@shutdown).  Otherwise
 * @second alone.  @second_error is @second's error code; @cr0 as for
 * tv_event_hw_exception().
 */
struct tv_event tv_event_combine(u32 first, u32 second, u32 second_error,
				 u64 cr0, bool *shutdown);

#endif
