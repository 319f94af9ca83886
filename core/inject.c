// SPDX-License-Identifier: MIT
/*
 * Event-injection decisions (core/inject.h).  Pure; called from VMX root.
 */
#include "core/inject.h"
#include "core/emulate.h"

static TV_VMX_ROOT u32 event_info(u32 type, u32 vector)
{
	return TV_EVENT_VALID | type << 8 | (vector & 0xff);
}

TV_VMX_ROOT struct tv_event tv_event_hw_exception(u32 vector, u32 error,
						  u64 cr0)
{
	struct tv_event e = { 0, 0, 0 };

	if (vector > 31)
		return e;
	e.info = event_info(TV_EVENT_HW_EXCEPTION, vector);
	if (tv_exception_has_error_code(vector, cr0)) {
		e.info |= TV_EVENT_HAS_ERROR;
		e.error = error;
	}
	return e;
}

TV_VMX_ROOT struct tv_event tv_event_page_fault(u32 error, u64 cr0)
{
	return tv_event_hw_exception(VEC_PF, error, cr0);
}

TV_VMX_ROOT struct tv_event tv_event_sw_exception(u32 vector, u32 instr_len)
{
	struct tv_event e = { 0, 0, 0 };

	/* Only INT3 and INTO are software exceptions (SDM 25.8.3). */
	if (vector != VEC_BP && vector != 4)
		return e;
	e.info = event_info(TV_EVENT_SW_EXCEPTION, vector);
	e.instr_len = instr_len;
	return e;
}

TV_VMX_ROOT struct tv_event tv_event_sw_interrupt(u32 vector, u32 instr_len)
{
	struct tv_event e = { event_info(TV_EVENT_SW_INTR, vector), 0,
			      instr_len };

	return e;
}

TV_VMX_ROOT struct tv_event tv_event_icebp(void)
{
	struct tv_event e = { event_info(TV_EVENT_PRIV_SW_EXCEPTION, VEC_DB),
			      0, 1 };

	return e;
}

TV_VMX_ROOT struct tv_event tv_event_nmi(void)
{
	struct tv_event e = { event_info(TV_EVENT_NMI, VEC_NMI), 0, 0 };

	return e;
}

TV_VMX_ROOT struct tv_event tv_event_ext_interrupt(u32 vector)
{
	struct tv_event e = { event_info(TV_EVENT_EXT_INTR, vector), 0, 0 };

	return e;
}

TV_VMX_ROOT bool tv_event_reinject(u32 idt_info, u32 idt_error,
				   u32 exit_instr_len, struct tv_event *out,
				   bool *clear_nmi_blocking)
{
	u32 type = tv_event_type(idt_info);

	out->info = 0;
	out->error = 0;
	out->instr_len = 0;
	*clear_nmi_blocking = false;
	if (!(idt_info & TV_EVENT_VALID))
		return false;
	/* Valid, error-code bit, type, vector: bits 31, 11, 10:8, 7:0. */
	out->info = idt_info & (TV_EVENT_VALID | TV_EVENT_HAS_ERROR | 0x7ff);
	if (idt_info & TV_EVENT_HAS_ERROR)
		out->error = idt_error;
	if (type == TV_EVENT_SW_INTR || type == TV_EVENT_PRIV_SW_EXCEPTION ||
	    type == TV_EVENT_SW_EXCEPTION)
		out->instr_len = exit_instr_len;
	*clear_nmi_blocking = type == TV_EVENT_NMI;
	return true;
}

TV_VMX_ROOT bool tv_event_iret_nmi_blocking(bool unblocked_by_iret,
					    u32 exit_vector, u32 idt_info)
{
	return unblocked_by_iret && !(idt_info & TV_EVENT_VALID) &&
	       exit_vector != VEC_DF;
}

enum fault_class { BENIGN, CONTRIBUTORY, PAGE_FAULT, DOUBLE_FAULT };

/* SDM Vol. 3A Table 6-4 (with #CP contributory and #VE a page fault). */
static TV_VMX_ROOT enum fault_class fault_class(u32 vector)
{
	switch (vector) {
	case 0:		/* #DE */
	case 10:	/* #TS */
	case 11:	/* #NP */
	case 12:	/* #SS */
	case 13:	/* #GP */
	case 21:	/* #CP */
		return CONTRIBUTORY;
	case 14:	/* #PF */
	case 20:	/* #VE */
		return PAGE_FAULT;
	case 8:
		return DOUBLE_FAULT;
	default:
		return BENIGN;
	}
}

TV_VMX_ROOT struct tv_event tv_event_combine(u32 first, u32 second,
					     u32 second_error, u64 cr0,
					     bool *shutdown)
{
	enum fault_class a = BENIGN, b = fault_class(second);

	*shutdown = false;
	if ((first & TV_EVENT_VALID) &&
	    tv_event_type(first) == TV_EVENT_HW_EXCEPTION)
		a = fault_class(tv_event_vector(first));
	if (a == DOUBLE_FAULT && (b == CONTRIBUTORY || b == PAGE_FAULT ||
				  b == DOUBLE_FAULT)) {
		struct tv_event none = { 0, 0, 0 };

		*shutdown = true;
		return none;
	}
	if ((a == CONTRIBUTORY && b == CONTRIBUTORY) ||
	    (a == PAGE_FAULT && (b == CONTRIBUTORY || b == PAGE_FAULT)))
		return tv_event_hw_exception(VEC_DF, 0, cr0);
	return tv_event_hw_exception(second, second_error, cr0);
}
