// SPDX-License-Identifier: MIT
/*
 * Sliding under one CPU and giving it back.  Everything here runs on the
 * vCPU's own CPU with interrupts disabled: the VMCS is filled from the live
 * CPU state, and the CPU continues as the guest at the very instruction
 * after VMLAUNCH (see tv_asm_launch).
 */
#include "core/vcpu.h"
#include "core/ext.h"
#include "core/platform.h"
#include "core/vmm.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"
#include "arch/x86/vmcs.h"

/* VMWRITEs are checked: the first failing field is kept for the log. */
struct vmcs_writer {
	int status;
	u32 field;
};

static void vw(struct vmcs_writer *w, u32 field, u64 val)
{
	int st = tv_vmwrite(field, val);

	if (st && !w->status) {
		w->status = st;
		w->field = field;
	}
}

/* Base of the GDT descriptor @sel; system descriptors are 16 bytes. */
static u64 seg_base(const struct tv_dtr *gdt, u16 sel, bool system)
{
	const u8 *d;
	u64 base;

	if (!(sel & ~7u) || (sel & 4))
		return 0;
	d = (const u8 *)(gdt->base + (sel & ~7u));
	base = d[2] | (u64)d[3] << 8 | (u64)d[4] << 16 | (u64)d[7] << 24;
	if (system)
		base |= (u64)(*(const u32 *)(d + 8)) << 32;
	return base;
}

/* Access rights in VMCS format; a null or invalid selector is unusable. */
static u32 seg_ar(u16 sel)
{
	bool ok;
	u32 ar;

	if (!(sel & ~3u))
		return AR_UNUSABLE;
	ar = tv_lar(sel, &ok);
	return ok ? (ar >> 8) & 0xf0ff : AR_UNUSABLE;
}

static void write_guest_segments(struct vmcs_writer *w,
				 const struct tv_dtr *gdt)
{
	u16 sel[TV_SEG_COUNT];
	int s;

	sel[TV_SEG_ES] = tv_read_es();
	sel[TV_SEG_CS] = tv_read_cs();
	sel[TV_SEG_SS] = tv_read_ss();
	sel[TV_SEG_DS] = tv_read_ds();
	sel[TV_SEG_FS] = tv_read_fs();
	sel[TV_SEG_GS] = tv_read_gs();
	sel[TV_SEG_LDTR] = tv_read_ldtr();
	sel[TV_SEG_TR] = tv_read_tr();
	for (s = 0; s < TV_SEG_COUNT; s++) {
		vw(w, VMCS_GUEST_SEL(s), sel[s]);
		vw(w, VMCS_GUEST_LIMIT(s), tv_lsl(sel[s]));
		vw(w, VMCS_GUEST_AR(s), seg_ar(sel[s]));
		vw(w, VMCS_GUEST_BASE(s),
		   seg_base(gdt, sel[s], s >= TV_SEG_LDTR));
	}
	/* In 64-bit mode the FS and GS bases live in MSRs. */
	vw(w, VMCS_GUEST_FS_BASE, tv_rdmsr(MSR_IA32_FS_BASE));
	vw(w, VMCS_GUEST_GS_BASE, tv_rdmsr(MSR_IA32_GS_BASE));
}

static void write_host_state(struct vmcs_writer *w, struct tv_vcpu *v,
			     const struct tv_dtr *gdt, const struct tv_dtr *idt)
{
	struct tv_stack_top *top = tv_stack_top(v);
	u16 tr = tv_read_tr();

	top->vcpu = v;
	tv_root_idt_build(v, tv_read_cs() & 0xf8);
	vw(w, VMCS_HOST_CR0, tv_read_cr0());
	vw(w, VMCS_HOST_CR3, tv_plat_host_cr3());
	vw(w, VMCS_HOST_CR4, tv_read_cr4());
	/* Data selectors stay null: VM exit needs no descriptor for them. */
	vw(w, VMCS_HOST_CS_SEL, tv_read_cs() & 0xf8);
	vw(w, VMCS_HOST_SS_SEL, tv_read_ss() & 0xf8);
	vw(w, VMCS_HOST_DS_SEL, 0);
	vw(w, VMCS_HOST_ES_SEL, 0);
	vw(w, VMCS_HOST_FS_SEL, 0);
	vw(w, VMCS_HOST_GS_SEL, 0);
	vw(w, VMCS_HOST_TR_SEL, tr & 0xf8);
	vw(w, VMCS_HOST_FS_BASE, tv_rdmsr(MSR_IA32_FS_BASE));
	vw(w, VMCS_HOST_GS_BASE, tv_rdmsr(MSR_IA32_GS_BASE));
	vw(w, VMCS_HOST_TR_BASE, seg_base(gdt, tr, true));
	vw(w, VMCS_HOST_GDTR_BASE, gdt->base);
	/* NMIs and machine checks in root go to the VMM's own vectors. */
	vw(w, VMCS_HOST_IDTR_BASE, tv_root_idt_base(v));
	vw(w, VMCS_HOST_SYSENTER_CS, tv_rdmsr(MSR_IA32_SYSENTER_CS));
	vw(w, VMCS_HOST_SYSENTER_ESP, tv_rdmsr(MSR_IA32_SYSENTER_ESP));
	vw(w, VMCS_HOST_SYSENTER_EIP, tv_rdmsr(MSR_IA32_SYSENTER_EIP));
	vw(w, VMCS_HOST_EFER, tv_rdmsr(MSR_IA32_EFER));
	vw(w, VMCS_HOST_RSP, (u64)&top->pad);
	vw(w, VMCS_HOST_RIP, (u64)tv_asm_vmexit_fast);
}

static int setup_vmcs(struct tv_vcpu *v, u64 shadow_cr4)
{
	const struct tv_shared *s = v->shared;
	const struct tv_controls *c = &s->ctl;
	struct vmcs_writer w = { 0, 0 };
	struct tv_dtr gdt, idt;
	u64 cr0 = tv_read_cr0();

	tv_sgdt(&gdt);
	tv_sidt(&idt);

	vw(&w, VMCS_PIN_CONTROLS, c->pin);
	vw(&w, VMCS_PROC_CONTROLS, c->proc);
	vw(&w, VMCS_PROC2_CONTROLS, c->proc2);
	vw(&w, VMCS_EXIT_CONTROLS, c->exit);
	vw(&w, VMCS_ENTRY_CONTROLS, c->entry);
	vw(&w, VMCS_EXCEPTION_BITMAP, 0);
	vw(&w, VMCS_PF_ERROR_MASK, 0);
	vw(&w, VMCS_PF_ERROR_MATCH, 0);
	vw(&w, VMCS_CR3_TARGET_COUNT, 0);
	vw(&w, VMCS_EXIT_MSR_STORE_COUNT, 0);
	vw(&w, VMCS_EXIT_MSR_LOAD_COUNT, 0);
	vw(&w, VMCS_ENTRY_MSR_LOAD_COUNT, 0);
	vw(&w, VMCS_ENTRY_INTR_INFO, 0);
	vw(&w, VMCS_VPID, v->vpid);
	vw(&w, VMCS_MSR_BITMAP, tv_plat_virt_to_phys(s->msr_bitmap));
	vw(&w, VMCS_EPT_POINTER, s->eptp);
	vw(&w, VMCS_CR0_MASK, c->cr0_mask);
	vw(&w, VMCS_CR4_MASK, c->cr4_mask);
	vw(&w, VMCS_CR0_SHADOW, cr0);
	vw(&w, VMCS_CR4_SHADOW, shadow_cr4);
	vw(&w, VMCS_LINK_POINTER, ~0ULL);
	/* With XSAVES enabled the CPU consults the bitmap: nothing exits. */
	if (c->proc2 & PROC2_ENABLE_XSAVES)
		vw(&w, VMCS_XSS_EXIT_BITMAP, 0);

	vw(&w, VMCS_GUEST_CR0, cr0);
	vw(&w, VMCS_GUEST_CR3, tv_read_cr3());
	vw(&w, VMCS_GUEST_CR4, tv_read_cr4());
	vw(&w, VMCS_GUEST_DR7, tv_read_dr7());
	vw(&w, VMCS_GUEST_RFLAGS, tv_read_rflags());
	vw(&w, VMCS_GUEST_DEBUGCTL, tv_rdmsr(MSR_IA32_DEBUGCTL));
	vw(&w, VMCS_GUEST_SYSENTER_CS, tv_rdmsr(MSR_IA32_SYSENTER_CS));
	vw(&w, VMCS_GUEST_SYSENTER_ESP, tv_rdmsr(MSR_IA32_SYSENTER_ESP));
	vw(&w, VMCS_GUEST_SYSENTER_EIP, tv_rdmsr(MSR_IA32_SYSENTER_EIP));
	vw(&w, VMCS_GUEST_EFER, tv_rdmsr(MSR_IA32_EFER));
	vw(&w, VMCS_GUEST_PAT, tv_rdmsr(MSR_IA32_PAT));
	write_guest_segments(&w, &gdt);
	vw(&w, VMCS_GUEST_GDTR_BASE, gdt.base);
	vw(&w, VMCS_GUEST_GDTR_LIMIT, gdt.limit);
	vw(&w, VMCS_GUEST_IDTR_BASE, idt.base);
	vw(&w, VMCS_GUEST_IDTR_LIMIT, idt.limit);
	vw(&w, VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
	vw(&w, VMCS_GUEST_INTERRUPTIBILITY, 0);
	vw(&w, VMCS_GUEST_PENDING_DBG, 0);

	write_host_state(&w, v, &gdt, &idt);

	/* Test builds: one failure of each kind the hardware can report. */
	if (tv_plat_fault(TV_FAULT_VMCS))
		vw(&w, 0x7ffe, 0);	/* no such field: VMfailValid */
	if (tv_plat_fault(TV_FAULT_VMLAUNCH))
		vw(&w, VMCS_HOST_CR4, tv_read_cr4() & ~CR4_VMXE);
	if (tv_plat_fault(TV_FAULT_VMENTRY))
		vw(&w, VMCS_GUEST_RFLAGS, tv_read_rflags() | TV_BIT(15));

	if (w.status) {
		tv_log(TV_LOG_ERR,
		       "thinvisor: CPU %u: VMWRITE of field 0x%x failed (VM-instruction error %llu)\n",
		       v->cpu, w.field,
		       w.status == TV_VMX_FAIL_VALID ? tv_vmread(VMCS_INSTR_ERROR) : 0ULL);
		return TV_ERR_VMCS;
	}
	return TV_OK;
}

/* Set the bits VMX operation requires in CR0 and CR4; refuse if that would
 * change what the OS relies on (only CR4.VMXE may change).
 */
static int enter_vmx_operation(struct tv_vcpu *v)
{
	const struct tv_vmx_caps *c = &v->shared->caps;
	u64 cr0 = tv_read_cr0(), cr4 = tv_read_cr4();
	u64 vmxon_pa = tv_plat_virt_to_phys(v->vmxon);

	if (cr4 & CR4_VMXE)
		return TV_ERR_VMX_BUSY;
	if ((cr0 | c->cr0_fixed0) != cr0 || (cr0 & c->cr0_fixed1) != cr0 ||
	    ((cr4 | c->cr4_fixed0) & ~CR4_VMXE) != cr4 ||
	    (cr4 & c->cr4_fixed1) != cr4)
		return TV_ERR_VMX_CAPS;
	v->cr4_before = cr4;
	*(u32 *)v->vmxon = VMX_BASIC_REVISION(c->basic);
	*(u32 *)v->vmcs = VMX_BASIC_REVISION(c->basic);
	tv_write_cr4(cr4 | CR4_VMXE);
	tv_plat_before_vmxon();
	if (tv_plat_fault(TV_FAULT_VMXON) || tv_vmxon(vmxon_pa)) {
		tv_write_cr4(cr4);
		tv_plat_after_vmxoff();
		return TV_ERR_VMXON;
	}
	/* Nothing cached from an earlier life of these VPIDs/EPTPs may survive. */
	tv_invept(INVEPT_ALL_CONTEXT, 0);
	tv_invvpid(INVVPID_ALL_CONTEXT, 0, 0);
	return TV_OK;
}

static TV_VMX_ROOT void leave_vmx_operation(struct tv_vcpu *v)
{
	tv_vmclear(v->vmcs_pa);
	tv_vmxoff();
	tv_write_cr4(v->cr4_before);
}

/*
 * Translations made in VMX root carry VPID 0, the tag of native operation,
 * and nothing the guest did invalidated them (SDM 28.3.3.1): drop every
 * one, global ones included (toggling CR4.PGE flushes all PCIDs).
 */
static TV_VMX_ROOT void flush_host_tlb(void)
{
	u64 cr4 = tv_read_cr4();

	if (cr4 & CR4_PGE) {
		tv_write_cr4(cr4 & ~CR4_PGE);
		tv_write_cr4(cr4);
	} else {
		tv_write_cr3(tv_read_cr3());
	}
}

int tv_vcpu_launch(struct tv_vcpu *v)
{
	u64 vmcs_pa = v->vmcs_pa;
	int ret, st;

	ret = enter_vmx_operation(v);
	if (ret)
		return ret;
	if (tv_vmclear(vmcs_pa) || tv_vmptrld(vmcs_pa)) {
		ret = TV_ERR_VMCS;
		goto out;
	}
	ret = setup_vmcs(v, v->cr4_before);
	if (ret)
		goto out;
	/*
	 * Does the monitor trap flag trap?  The capability MSR can say yes
	 * where the control does nothing (Bochs 2.7's Ice Lake and Tiger
	 * Lake; a nested hypervisor may do the same), and single steps that
	 * never end would leave an extension's pages open or its events
	 * off.  So the first entry sets it: an MTF exit after the guest's
	 * first instruction proves it; the CPUID of the root call that
	 * follows every launch (tv_vmm_cpu_up()), if it comes first,
	 * disproves it without an exit of its own (tv_vcpu_mtf_probed(),
	 * core/exit.c).
	 */
	v->mtf_probe = v->shared->mtf;
	v->mtf_armed = v->mtf_probe;
	/* The controls the registered extensions need, before any exit. */
	tv_ext_write_controls(v);

	st = tv_asm_launch();
	if (st == TV_LAUNCH_GUEST) {
		/* We are the guest now, on the same stack. */
		v->launched = true;
		return TV_OK;
	}
	v->mtf_probe = false;
	v->mtf_armed = false;
	if (st == TV_LAUNCH_ENTRY_FAILED) {
		/* The exit handler already left VMX operation for us. */
		tv_log(TV_LOG_ERR,
		       "thinvisor: CPU %u: VM entry failed: exit reason 0x%x, qualification 0x%llx\n",
		       v->cpu, v->entry_fail_reason, v->entry_fail_qual);
		return TV_ERR_VMENTRY;
	}
	tv_log(TV_LOG_ERR, "thinvisor: CPU %u: VMLAUNCH failed: %s %llu\n",
	       v->cpu,
	       st == TV_LAUNCH_VMFAIL_VALID ? "VM-instruction error" :
					      "no current VMCS",
	       st == TV_LAUNCH_VMFAIL_VALID ? tv_vmread(VMCS_INSTR_ERROR) : 0ULL);
	ret = TV_ERR_VMLAUNCH;
out:
	leave_vmx_operation(v);
	flush_host_tlb();
	tv_plat_after_vmxoff();
	return ret;
}

/* Caller: on @v's CPU, which runs as the guest (CPUID signature seen). */
int tv_vcpu_terminate(const struct tv_vcpu *v)
{
	return tv_asm_vmcall_terminate(v->shared->terminate_key) ?
		TV_ERR_BUSY : TV_OK;
}

TV_VMX_ROOT void tv_vcpu_mtf_probed(struct tv_vcpu *v, bool traps)
{
	v->mtf_probe = false;
	if (traps || !v->shared->mtf)
		return;
	/*
	 * Every CPU is the same model: the first to find out says so for
	 * all.  Only extensions single-step (the core has other ways to an
	 * NMI window), so the warning waits for the first to register
	 * (core/ext.c): formatting it here was a tenth of this CPU's load.
	 */
	v->shared->mtf = false;
	v->shared->mtf_untrapped = true;
}

TV_VMX_ROOT void tv_reset_by_triple_fault(struct tv_vcpu *v)
{
	tv_vmm_log(TV_LOG_ERR,
		   "CPU %u: the guest triple-faulted: resetting as the hardware would\n",
		   v->cpu);
	leave_vmx_operation(v);
	tv_asm_triple_fault();
}

TV_VMX_ROOT void tv_leave_to_guest(struct tv_vcpu *v, struct tv_regs *regs,
				   u64 rip)
{
	struct tv_dtr gdt, idt;
	u64 rsp = tv_vmread(VMCS_GUEST_RSP);
	u64 rflags = tv_vmread(VMCS_GUEST_RFLAGS);
	u64 cr0 = tv_vmread(VMCS_GUEST_CR0);
	u64 cr3 = tv_vmread(VMCS_GUEST_CR3);
	u64 cr4 = tv_vmread(VMCS_GUEST_CR4) & ~CR4_VMXE;
	u64 dr7 = tv_vmread(VMCS_GUEST_DR7);
	u64 debugctl = tv_vmread(VMCS_GUEST_DEBUGCTL);
	u64 efer = tv_vmread(VMCS_GUEST_EFER);
	u64 fs_base = tv_vmread(VMCS_GUEST_FS_BASE);
	u64 gs_base = tv_vmread(VMCS_GUEST_GS_BASE);
	u64 sysenter_cs = tv_vmread(VMCS_GUEST_SYSENTER_CS);
	u64 sysenter_esp = tv_vmread(VMCS_GUEST_SYSENTER_ESP);
	u64 sysenter_eip = tv_vmread(VMCS_GUEST_SYSENTER_EIP);
	u16 ds = tv_vmread(VMCS_GUEST_DS_SEL), es = tv_vmread(VMCS_GUEST_ES_SEL);
	u16 fs = tv_vmread(VMCS_GUEST_FS_SEL), gs = tv_vmread(VMCS_GUEST_GS_SEL);
	u16 ss = tv_vmread(VMCS_GUEST_SS_SEL);
	u16 ldtr = tv_vmread(VMCS_GUEST_LDTR_SEL);
	u64 *frame;

	gdt.base = tv_vmread(VMCS_GUEST_GDTR_BASE);
	gdt.limit = tv_vmread(VMCS_GUEST_GDTR_LIMIT);
	idt.base = tv_vmread(VMCS_GUEST_IDTR_BASE);
	idt.limit = tv_vmread(VMCS_GUEST_IDTR_LIMIT);

	tv_invept(INVEPT_ALL_CONTEXT, 0);
	tv_invvpid(INVVPID_ALL_CONTEXT, 0, 0);
	leave_vmx_operation(v);
	v->launched = false;

	/* VM exit loaded host values or fixed ones; put the guest's back. */
	tv_write_cr0(cr0);
	tv_write_cr4(cr4);
	tv_lgdt(&gdt);
	/*
	 * VMX root's own IDT stays loaded until the very end: an NMI or #MC
	 * meanwhile is only recorded, so it never sees the FS/GS bases half
	 * restored (loading a selector zeroes the base until the WRMSR).
	 */
	asm volatile("mov %0, %%ds; mov %1, %%es; mov %2, %%ss; lldt %w3"
		     : : "r"((u32)ds), "r"((u32)es), "r"((u32)ss),
		       "r"(ldtr) : "memory");
	if (fs)
		asm volatile("mov %0, %%fs" : : "r"((u32)fs) : "memory");
	if (gs)
		asm volatile("mov %0, %%gs" : : "r"((u32)gs) : "memory");
	tv_wrmsr(MSR_IA32_FS_BASE, fs_base);
	tv_wrmsr(MSR_IA32_GS_BASE, gs_base);
	tv_wrmsr(MSR_IA32_EFER, efer);
	tv_wrmsr(MSR_IA32_SYSENTER_CS, sysenter_cs);
	tv_wrmsr(MSR_IA32_SYSENTER_ESP, sysenter_esp);
	tv_wrmsr(MSR_IA32_SYSENTER_EIP, sysenter_eip);
	tv_wrmsr(MSR_IA32_DEBUGCTL, debugctl);
	tv_write_dr7(dr7);
	tv_write_cr3(cr3);
	flush_host_tlb();
	tv_plat_after_vmxoff();
	tv_lidt(&idt);
	tv_root_events_deliver_native(v);

	/* The stub pops RFLAGS and returns to RIP from just below the stack. */
	frame = (u64 *)(rsp - 16);
	frame[0] = rflags;
	frame[1] = rip;
	regs->rsp = (u64)frame;
}
