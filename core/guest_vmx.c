// SPDX-License-Identifier: MIT
/*
 * VMREAD/VMWRITE glue for guest memory, event injection and the
 * descriptor-table instructions (core/guest_vmx.h).  Every function here
 * is TV_VMX_ROOT; the decisions are in core/guest.c, core/inject.c and
 * core/desc.c, tested on the host.
 */
#include "core/guest_vmx.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"
#include "arch/x86/vmcs.h"
#include "arch/x86/vmx.h"

#define CR4_PKE_BIT TV_BIT(22)

static TV_VMX_ROOT u32 read_pkru(void)
{
	u32 eax, edx;

	asm volatile(".byte 0x0f, 0x01, 0xee"	/* rdpkru */
		     : "=a"(eax), "=d"(edx) : "c"(0));
	return eax;
}

TV_VMX_ROOT void tv_guest_paging_load(struct tv_guest_paging *g,
				      unsigned int phys_bits)
{
	struct tv_paging *p = &g->p;
	unsigned int i;

	p->cr0 = tv_vmread(VMCS_GUEST_CR0);
	p->cr3 = tv_vmread(VMCS_GUEST_CR3);
	p->cr4 = tv_vmread(VMCS_GUEST_CR4);
	p->efer = tv_vmread(VMCS_GUEST_EFER);
	p->maxphyaddr = (u8)phys_bits;
	p->no_1g_pages = false;
	p->pkru = 0;
	p->pdptes = NULL;
	if ((p->cr4 & CR4_PKE_BIT) && (tv_read_cr4() & CR4_PKE_BIT))
		p->pkru = read_pkru();
	if ((p->cr0 & CR0_PG) && (p->cr4 & CR4_PAE) && !(p->efer & EFER_LMA)) {
		for (i = 0; i < 4; i++)
			g->pdptes[i] = tv_vmread(VMCS_GUEST_PDPTE0 + 2 * i);
		p->pdptes = g->pdptes;
	}
}

TV_VMX_ROOT void tv_event_write(const struct tv_event *e)
{
	u32 type = tv_event_type(e->info);

	if (!(e->info & TV_EVENT_VALID))
		return;
	if (e->info & TV_EVENT_HAS_ERROR)
		tv_vmwrite(VMCS_ENTRY_EXCEPTION_ERROR, e->error);
	if (type == TV_EVENT_SW_INTR || type == TV_EVENT_PRIV_SW_EXCEPTION ||
	    type == TV_EVENT_SW_EXCEPTION)
		tv_vmwrite(VMCS_ENTRY_INSTR_LEN, e->instr_len);
	tv_vmwrite(VMCS_ENTRY_INTR_INFO, e->info);
}

TV_VMX_ROOT void tv_fault_inject(const struct tv_guest_fault *f)
{
	struct tv_event e = tv_event_hw_exception(f->vector, f->error,
						  tv_vmread(VMCS_GUEST_CR0));

	/* CR2 is not switched by VM exit: the live one is the guest's. */
	if (f->vector == VEC_PF)
		asm volatile("mov %0, %%cr2" : : "r"(f->cr2) : "memory");
	tv_event_write(&e);
}

TV_VMX_ROOT bool tv_event_reinject_pending(void)
{
	struct tv_event e;
	bool clear_nmi;
	u64 intr;

	if (!tv_event_reinject((u32)tv_vmread(VMCS_IDT_VECTORING_INFO),
			       (u32)tv_vmread(VMCS_IDT_VECTORING_ERROR),
			       (u32)tv_vmread(VMCS_EXIT_INSTR_LEN), &e,
			       &clear_nmi))
		return false;
	if (clear_nmi) {
		intr = tv_vmread(VMCS_GUEST_INTERRUPTIBILITY);
		if (intr & INTERRUPTIBILITY_NMI)
			tv_vmwrite(VMCS_GUEST_INTERRUPTIBILITY,
				   intr & ~(u64)INTERRUPTIBILITY_NMI);
	}
	tv_event_write(&e);
	return true;
}

TV_VMX_ROOT void tv_event_iret_nmi_restore(bool unblocked_by_iret,
					   u32 exit_vector)
{
	u32 entry = (u32)tv_vmread(VMCS_ENTRY_INTR_INFO);
	u64 intr;

	if (!tv_event_iret_nmi_blocking(unblocked_by_iret, exit_vector,
					(u32)tv_vmread(VMCS_IDT_VECTORING_INFO)))
		return;
	if ((entry & TV_EVENT_VALID) && tv_event_type(entry) == TV_EVENT_NMI)
		return;
	intr = tv_vmread(VMCS_GUEST_INTERRUPTIBILITY);
	tv_vmwrite(VMCS_GUEST_INTERRUPTIBILITY, intr | INTERRUPTIBILITY_NMI);
}

TV_VMX_ROOT void tv_event_fault_exit_done(bool unblocked_by_iret,
					  u32 exit_vector)
{
	if (!tv_event_reinject_pending())
		tv_event_iret_nmi_restore(unblocked_by_iret, exit_vector);
}

TV_VMX_ROOT enum tv_desc_result tv_desc_exit(struct tv_regs *regs,
					     bool ldtr_tr,
					     unsigned int phys_bits,
					     struct tv_guest_fault *f)
{
	struct tv_guest_paging g;
	struct tv_desc_state st;
	enum tv_desc_result r;
	unsigned int i, reg;
	u32 changed;

	for (i = 0; i < 16; i++)
		st.gpr[i] = *tv_reg(regs, i);
	st.gpr[4] = tv_vmread(VMCS_GUEST_RSP);
	for (i = 0; i < 8; i++) {
		st.seg[i].sel = (u16)tv_vmread(VMCS_GUEST_SEL(i));
		st.seg[i].base = tv_vmread(VMCS_GUEST_BASE(i));
		st.seg[i].limit = (u32)tv_vmread(VMCS_GUEST_LIMIT(i));
		st.seg[i].ar = (u32)tv_vmread(VMCS_GUEST_AR(i));
	}
	st.gdtr_base = tv_vmread(VMCS_GUEST_GDTR_BASE);
	st.gdtr_limit = (u32)tv_vmread(VMCS_GUEST_GDTR_LIMIT);
	st.idtr_base = tv_vmread(VMCS_GUEST_IDTR_BASE);
	st.idtr_limit = (u32)tv_vmread(VMCS_GUEST_IDTR_LIMIT);
	tv_guest_paging_load(&g, phys_bits);
	st.paging = g.p;	/* its pdptes point into g, alive here */
	st.rflags = tv_vmread(VMCS_GUEST_RFLAGS);
	st.rip = tv_vmread(VMCS_GUEST_RIP);
	st.instr_len = (u32)tv_vmread(VMCS_EXIT_INSTR_LEN);
	st.cpl = (tv_vmread(VMCS_GUEST_SS_AR) >> 5) & 3;

	r = tv_desc_emulate(&st, ldtr_tr, (u32)tv_vmread(VMCS_EXIT_INSTR_INFO),
			    tv_vmread(VMCS_EXIT_QUALIFICATION), f, &changed,
			    &reg);
	if (r != TV_DESC_DONE)
		return r;
	if (changed & TV_DESC_CHANGED_GPR) {
		if (reg == 4)
			tv_vmwrite(VMCS_GUEST_RSP, st.gpr[4]);
		else
			*tv_reg(regs, reg) = st.gpr[reg];
	}
	if (changed & TV_DESC_CHANGED_GDTR) {
		tv_vmwrite(VMCS_GUEST_GDTR_BASE, st.gdtr_base);
		tv_vmwrite(VMCS_GUEST_GDTR_LIMIT, st.gdtr_limit);
	}
	if (changed & TV_DESC_CHANGED_IDTR) {
		tv_vmwrite(VMCS_GUEST_IDTR_BASE, st.idtr_base);
		tv_vmwrite(VMCS_GUEST_IDTR_LIMIT, st.idtr_limit);
	}
	for (i = TV_DESC_LDTR; i <= TV_DESC_TR; i++) {
		if (!(changed & (i == TV_DESC_LDTR ? TV_DESC_CHANGED_LDTR :
						     TV_DESC_CHANGED_TR)))
			continue;
		tv_vmwrite(VMCS_GUEST_SEL(i), st.seg[i].sel);
		tv_vmwrite(VMCS_GUEST_BASE(i), st.seg[i].base);
		tv_vmwrite(VMCS_GUEST_LIMIT(i), st.seg[i].limit);
		tv_vmwrite(VMCS_GUEST_AR(i), st.seg[i].ar);
	}
	return TV_DESC_DONE;
}
