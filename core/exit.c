// SPDX-License-Identifier: MIT
/*
 * The VM-exit dispatcher and its handlers.  Runs in VMX root with
 * interrupts off, on the VMM stack and VMX root's own IDT (core/root.c),
 * for every exit: no locks, no allocation, no host calls but the vmx-root
 * ones of core/platform.h.  Every function here is TV_VMX_ROOT.
 */
#include "core/vcpu.h"
#include "core/platform.h"
#include "core/vmm.h"
#include "core/ept.h"
#include "arch/x86/ept.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"
#include "arch/x86/vmcs.h"
#include "core/vmx_guest.h"
#include "core/ext.h"

/*
 * CPUID the exit stub's fast path stood aside for (an extension asked for
 * some leaf, an event waits for a window, MTF, stat_cycles, a shadow or
 * RF/TF) and no extension asked for this leaf: the answer the stub gives
 * (arch/x86/vmx_stub.S mirrors this).
 */
static TV_VMX_ROOT int handle_cpuid(struct tv_regs *regs)
{
	struct tv_cpuid r;
	u32 leaf = (u32)regs->rax, subleaf = (u32)regs->rcx;
	/* Only leaves 1 and 7 reflect CR4 (OSXSAVE, OSPKE); spare the rest
	 * the VMREAD.
	 */
	u64 cr4 = (leaf == 1 || leaf == 7) ? tv_vmread(VMCS_GUEST_CR4) : 0;

	tv_cpuid(leaf, subleaf, &r);
	tv_cpuid_shape(leaf, subleaf, cr4, &r);
	regs->rax = r.eax;
	regs->rbx = r.ebx;
	regs->rcx = r.ecx;
	regs->rdx = r.edx;
	skip_instruction();
	return RESUME;
}

/*
 * RDMSR/WRMSR that exited.  VMX capability MSRs: #GP, VMX is hidden.  MSRs
 * beyond the bitmap ranges always exit, yet real ones live there (uncore
 * counters at 0x2000-0x2fff...): the hardware's answer, #GP only when it
 * faults.  MSRs an extension intercepts: the real MSR, or for those that
 * VM entry and exit switch, the guest's copy in the VMCS.
 */
TV_VMX_ROOT int tv_exit_msr_access(u32 msr, bool write, u64 *val)
{
	u32 field;

	switch (tv_msr_exit_action(msr, write)) {
	case TV_MSR_INJECT_GP:
		return 1;
	case TV_MSR_HARDWARE:
		return write ? tv_asm_wrmsr_safe(msr, *val) :
			       tv_asm_rdmsr_safe(msr, val);
	case TV_MSR_PASSTHROUGH:
		field = tv_msr_guest_field(msr);
		if (field && write)
			tv_vmwrite(field, *val);
		else if (field)
			*val = tv_vmread(field);
		else if (write)
			tv_wrmsr(msr, *val);
		else
			*val = tv_rdmsr(msr);
		break;
	}
	return 0;
}

static TV_VMX_ROOT int handle_msr(struct tv_regs *regs, bool write)
{
	u64 val = (regs->rdx << 32) | (u32)regs->rax;

	if (tv_exit_msr_access((u32)regs->rcx, write, &val)) {
		inject_gp();
		return RESUME;
	}
	if (!write) {
		regs->rax = (u32)val;
		regs->rdx = val >> 32;
	}
	skip_instruction();
	return RESUME;
}

/*
 * A CR0 write that turned paging on or off with EFER.LME set enters or
 * leaves IA-32e mode: EFER.LMA and the "IA-32e mode guest" entry control
 * must follow (SDM 26.3.1.1), or the next VM entry fails.
 */
static TV_VMX_ROOT void follow_long_mode(u64 cr0)
{
	u64 efer = tv_vmread(VMCS_GUEST_EFER);
	u64 new_efer = tv_efer_after_cr0_write(efer, cr0);
	u64 entry;

	if (new_efer == efer)
		return;
	tv_vmwrite(VMCS_GUEST_EFER, new_efer);
	entry = tv_vmread(VMCS_ENTRY_CONTROLS) & ~(u64)ENTRY_IA32E_MODE_GUEST;
	if (new_efer & EFER_LMA)
		entry |= ENTRY_IA32E_MODE_GUEST;
	tv_vmwrite(VMCS_ENTRY_CONTROLS, entry);
}

static TV_VMX_ROOT int write_cr(struct tv_vcpu *v, int cr, u64 val)
{
	u64 real, shadow;

	if (tv_cr_write(&v->shared->cr_policy, cr, val, &real, &shadow) ||
	    tv_cr_write_breaks_cet(cr, val, guest_visible_cr(cr == 0 ? 4 : 0)) ||
	    (cr == 0 &&
	     tv_cr0_write_faults_long_mode(tv_vmread(VMCS_GUEST_EFER),
					   guest_visible_cr(0), val,
					   tv_vmread(VMCS_GUEST_CR4),
					   guest_cs_l()))) {
		inject_gp();
		return RESUME;
	}
	tv_vmwrite(cr == 0 ? VMCS_GUEST_CR0 : VMCS_GUEST_CR4, real);
	tv_vmwrite(cr == 0 ? VMCS_CR0_SHADOW : VMCS_CR4_SHADOW, shadow);
	if (cr == 0)
		follow_long_mode(real);
	skip_instruction();
	return RESUME;
}

/*
 * Offer a control-register access to the extensions that asked for it;
 * on TV_EXT_CONTINUE *@val holds the value to go on with (an extension
 * may have changed it).
 */
static TV_VMX_ROOT enum tv_ext_reply cr_event(struct tv_vcpu *v,
					      struct tv_regs *regs, u32 cr,
					      bool write, u64 old, u64 *val,
					      struct tv_ext_event *ev)
{
	enum tv_ext_reply r;

	if (tv_likely(!tv_ext_wants_exit(v, TV_EXIT_CR_ACCESS)))
		return TV_EXT_CONTINUE;
	*ev = (struct tv_ext_event){
		.type = write ? TV_EV_CR_WRITE : TV_EV_CR_READ,
		.instr_len = (u32)tv_vmread(VMCS_EXIT_INSTR_LEN),
	};
	ev->cr.cr = cr;
	ev->cr.old_value = old;
	ev->cr.new_value = *val;
	r = tv_ext_deliver(v, regs, ev);
	*val = ev->cr.new_value;
	return r;
}

static TV_VMX_ROOT u64 read_cr8(void)
{
	u64 val;

	asm volatile("mov %%cr8, %0" : "=r"(val));
	return val;
}

static TV_VMX_ROOT int mov_to_cr(struct tv_vcpu *v, struct tv_regs *regs,
				 u32 cr, u64 val)
{
	struct tv_ext_event ev;
	enum tv_ext_reply r;
	u64 old;

	if (cr == 0 || cr == 4)
		old = guest_visible_cr((int)cr);
	else
		old = cr == 3 ? tv_vmread(VMCS_GUEST_CR3) : read_cr8();
	r = cr_event(v, regs, cr, true, old, &val, &ev);
	if (r != TV_EXT_CONTINUE)
		return tv_ext_finish(&ev, r);
	switch (cr) {
	case 0:
	case 4:
		return write_cr(v, (int)cr, val);
	case 3:
		/* CR3-load exiting: forced on CPUs without TRUE MSRs, or an
		 * extension's.  No-flush bit 63 is honoured conservatively.
		 */
		tv_vmwrite(VMCS_GUEST_CR3, val & ~TV_BIT(63));
		tv_invvpid(tv_invvpid_type(&v->shared->caps,
					   INVVPID_SINGLE_CONTEXT_GLOBALS),
			   v->vpid, 0);
		break;
	case 8:
		/* CR8 holds the TPR in bits 3:0; the rest is reserved. */
		if (val >> 4) {
			inject_gp();
			return RESUME;
		}
		asm volatile("mov %0, %%cr8" : : "r"(val));
		break;
	default:
		tv_dump_guest_state(v, "unexpected control-register write");
		tv_plat_panic("thinvisor: unexpected control-register write exit");
		return RESUME;
	}
	skip_instruction();
	return RESUME;
}

static TV_VMX_ROOT int mov_from_cr(struct tv_vcpu *v, struct tv_regs *regs,
				   u32 cr, u32 gpr)
{
	struct tv_ext_event ev;
	enum tv_ext_reply r;
	u64 val;

	if (cr != 3 && cr != 8) {
		tv_dump_guest_state(v, "unexpected control-register read");
		tv_plat_panic("thinvisor: unexpected control-register read exit");
		return RESUME;
	}
	val = cr == 3 ? tv_vmread(VMCS_GUEST_CR3) : read_cr8();
	r = cr_event(v, regs, cr, false, val, &val, &ev);
	if (r != TV_EXT_CONTINUE)
		return tv_ext_finish(&ev, r);
	write_gpr(regs, gpr, val);
	skip_instruction();
	return RESUME;
}

static TV_VMX_ROOT int handle_cr_access(struct tv_vcpu *v,
					struct tv_regs *regs)
{
	struct tv_cr_access a =
		tv_cr_access_decode(tv_vmread(VMCS_EXIT_QUALIFICATION));
	u64 val;

	switch (a.type) {
	case TV_CR_MOV_TO:
		val = tv_cr_operand(read_gpr(regs, a.gpr), guest_in_long_mode());
		return mov_to_cr(v, regs, a.cr, val);
	case TV_CR_MOV_FROM:
		return mov_from_cr(v, regs, a.cr, a.gpr);
	case TV_CR_LMSW:
		/* LMSW writes CR0[3:0] but can never clear PE. */
		val = guest_visible_cr(0);
		val = (val & ~0xeULL) | (a.lmsw_source & 0xf) | (val & CR0_PE);
		return mov_to_cr(v, regs, 0, val);
	case TV_CR_CLTS:
		/* Exits only when an extension watches CR0.TS. */
		return mov_to_cr(v, regs, 0, guest_visible_cr(0) & ~CR0_TS);
	}
	tv_dump_guest_state(v, "unexpected control-register access");
	tv_plat_panic("thinvisor: unexpected control-register access exit");
	return RESUME;
}

static TV_VMX_ROOT int handle_xsetbv(struct tv_vcpu *v, struct tv_regs *regs)
{
	u64 val = (regs->rdx << 32) | (u32)regs->rax;
	u32 xcr = (u32)regs->rcx;

	if (!(guest_visible_cr(4) & CR4_OSXSAVE)) {
		inject_ud();
		return RESUME;
	}
	if (guest_cpl() != 0) {
		inject_gp();
		return RESUME;
	}
	if (tv_unlikely(tv_ext_wants_exit(v, TV_EXIT_XSETBV))) {
		struct tv_ext_event ev = {
			.type = TV_EV_XSETBV,
			.instr_len = (u32)tv_vmread(VMCS_EXIT_INSTR_LEN),
		};
		enum tv_ext_reply r;

		ev.xsetbv.xcr = xcr;
		ev.xsetbv.value = val;
		r = tv_ext_deliver(v, regs, &ev);
		if (r != TV_EXT_CONTINUE)
			return tv_ext_finish(&ev, r);
		val = ev.xsetbv.value;
	}
	if (!tv_xsetbv_valid(xcr, val, v->shared->features.xcr0_supported)) {
		inject_gp();
		return RESUME;
	}
	tv_xsetbv(xcr, val);
	skip_instruction();
	return RESUME;
}

/*
 * GETSEC exits at any CPL once CR4.SMXE is set (SDM 25.1.2), and
 * GETSEC[CAPABILITIES] is legal in user mode: answer what the hardware
 * would rather than stop the machine.
 */
static TV_VMX_ROOT int handle_getsec(struct tv_regs *regs)
{
	u64 cr4 = tv_read_cr4(), guest_cr4 = tv_vmread(VMCS_GUEST_CR4);
	u32 eax = (u32)regs->rax, ebx = (u32)regs->rbx, ecx = 0, caps = 0;
	enum tv_getsec_action act;

	/* The guest has SMXE only if the CPU has SMX: lend it to root. */
	if (guest_cr4 & CR4_SMXE) {
		tv_write_cr4(cr4 | CR4_SMXE);
		asm volatile("getsec" : "=a"(caps) : "a"(0), "b"(0) : "ecx");
	}
	act = tv_getsec_action(eax, guest_cpl(), guest_cr4, caps);
	if (act == TV_GETSEC_EXECUTE)
		asm volatile("getsec" : "+a"(eax), "+b"(ebx), "+c"(ecx));
	if (guest_cr4 & CR4_SMXE)
		tv_write_cr4(cr4);
	if (act == TV_GETSEC_INJECT_UD) {
		inject_ud();
		return RESUME;
	}
	if (act == TV_GETSEC_INJECT_GP) {
		inject_gp();
		return RESUME;
	}
	regs->rax = eax;
	regs->rbx = ebx;
	regs->rcx = ecx;
	skip_instruction();
	return RESUME;
}

/*
 * Only thinvisor's own give-back may terminate: the VMCALL must be the one
 * in tv_asm_vmcall_terminate and carry this load's key.  Anything else is
 * an unknown hypercall (#UD), so that no other kernel code can pull the
 * VMM from under the tools built on it.
 */
static TV_VMX_ROOT bool terminate_allowed(struct tv_vcpu *v,
					  struct tv_regs *regs)
{
	u64 rip = tv_vmread(VMCS_GUEST_RIP);

	if (rip == (u64)tv_asm_terminate_vmcall &&
	    regs->rdx == v->shared->terminate_key)
		return true;
	tv_vmm_log(TV_LOG_WARN,
		   "CPU %u: refused TERMINATE hypercall from RIP 0x%llx: not thinvisor's\n",
		   v->cpu, rip);
	return false;
}

/* The root call's VMCALL: thinvisor's own, keyed like TERMINATE. */
static TV_VMX_ROOT bool root_call_allowed(struct tv_vcpu *v,
					  struct tv_regs *regs)
{
	return tv_vmread(VMCS_GUEST_RIP) == (u64)tv_asm_root_vmcall &&
	       regs->rdx == v->shared->terminate_key;
}

static TV_VMX_ROOT int handle_vmcall(struct tv_vcpu *v, struct tv_regs *regs)
{
	u64 rip;

	/* Numbers extensions own, with the CPL each allows. */
	if (regs->rax >= TV_HC_EXT_FIRST && regs->rax <= TV_HC_EXT_LAST &&
	    tv_ext_wants_exit(v, TV_EXIT_VMCALL))
		return tv_exit_ext(v, regs, TV_EXIT_VMCALL);
	if (guest_cpl() != 0) {
		inject_ud();
		return RESUME;
	}
	switch (regs->rax) {
	case TV_HC_PING:
		/* A ping before any MTF exit: it does not trap. */
		if (tv_unlikely(v->mtf_probe))
			tv_vcpu_mtf_probed(v, false);
		regs->rax = TV_HC_PONG;
		regs->rdx = v->cpu;
		tv_vmm_log(TV_LOG_DEBUG, "CPU %u: ping from the guest\n", v->cpu);
		break;
	case TV_HC_INFO:
		regs->rax = 0;
		regs->rdx = (TV_VERSION_MAJOR << 16) | TV_VERSION_MINOR;
		regs->r8 = v->exits;
		break;
	case TV_HC_ROOT_CALL:
		if (!root_call_allowed(v, regs)) {
			inject_ud();
			return RESUME;
		}
		regs->rax = tv_ext_root_call(v, regs->r8, regs->r9);
		break;
	case TV_HC_TERMINATE:
		if (!terminate_allowed(v, regs)) {
			inject_ud();
			return RESUME;
		}
		tv_ext_cpu_down(v);
		rip = tv_vmread(VMCS_GUEST_RIP) +
		      tv_vmread(VMCS_EXIT_INSTR_LEN);
		regs->rax = 0;
		tv_leave_to_guest(v, regs, rip);
		return LEAVE;
	default:
		inject_ud();
		return RESUME;
	}
	skip_instruction();
	return RESUME;
}

/* Segment register state after INIT (SDM Vol. 3, Table 10-1). */
static TV_VMX_ROOT void write_real_mode_segment(int seg, u16 sel, u64 base,
						u32 ar)
{
	tv_vmwrite(VMCS_GUEST_SEL(seg), sel);
	tv_vmwrite(VMCS_GUEST_BASE(seg), base);
	tv_vmwrite(VMCS_GUEST_LIMIT(seg), 0xffff);
	tv_vmwrite(VMCS_GUEST_AR(seg), ar);
}

/*
 * INIT reached a virtualized CPU: do what the CPU does, enter the INIT
 * state (SDM Vol. 3, Table 10-1) and wait for a SIPI, staying under the
 * VMM.  The load-time checks guarantee unrestricted guest and the
 * wait-for-SIPI activity state.  State the VMCS does not hold is reset
 * here in root, where it is the guest's: XCR0, CR2, DR0-DR3, DR6.  The
 * local APIC is not reset (the INIT was consumed by the exit); the OS's
 * AP start-up programs it anew.
 */
static TV_VMX_ROOT int handle_init(struct tv_vcpu *v, struct tv_regs *regs)
{
	const struct tv_shared *s = v->shared;
	struct tv_cpuid id;
	unsigned int i;
	int seg;

	tv_cpuid(1, 0, &id);
	for (i = 0; i < 16; i++)
		*tv_reg(regs, i) = 0;
	regs->rdx = id.eax;
	if (s->features.xcr0_supported)
		tv_xsetbv(0, 1);
	asm volatile("mov %0, %%cr2\n\t"
		     "mov %0, %%dr0\n\tmov %0, %%dr1\n\t"
		     "mov %0, %%dr2\n\tmov %0, %%dr3\n\t"
		     "mov %1, %%dr6"
		     : : "r"(0ULL), "r"(0xffff0ff0ULL) : "memory");
	tv_vmwrite(VMCS_GUEST_CR0, 0x60000010ULL |
		   (s->caps.cr0_fixed0 & ~(CR0_PE | CR0_PG)));
	tv_vmwrite(VMCS_CR0_SHADOW, 0x60000010ULL);
	tv_vmwrite(VMCS_GUEST_CR3, 0);
	tv_vmwrite(VMCS_GUEST_CR4, s->caps.cr4_fixed0 | CR4_VMXE);
	tv_vmwrite(VMCS_CR4_SHADOW, 0);
	for (seg = 0; seg < TV_SEG_LDTR; seg++)
		write_real_mode_segment(seg, 0, 0, 0x93);
	write_real_mode_segment(TV_SEG_CS, 0xf000, 0xffff0000ULL, 0x9b);
	write_real_mode_segment(TV_SEG_LDTR, 0, 0, 0x82);
	write_real_mode_segment(TV_SEG_TR, 0, 0, 0x8b);
	tv_vmwrite(VMCS_GUEST_GDTR_BASE, 0);
	tv_vmwrite(VMCS_GUEST_GDTR_LIMIT, 0xffff);
	tv_vmwrite(VMCS_GUEST_IDTR_BASE, 0);
	tv_vmwrite(VMCS_GUEST_IDTR_LIMIT, 0xffff);
	tv_vmwrite(VMCS_GUEST_RIP, 0xfff0);
	tv_vmwrite(VMCS_GUEST_RSP, 0);
	tv_vmwrite(VMCS_GUEST_RFLAGS, RFLAGS_FIXED);
	tv_vmwrite(VMCS_GUEST_DR7, 0x400);
	tv_vmwrite(VMCS_GUEST_DEBUGCTL, 0);
	tv_vmwrite(VMCS_GUEST_EFER, 0);
	tv_vmwrite(VMCS_ENTRY_CONTROLS, s->ctl.entry & ~ENTRY_IA32E_MODE_GUEST);
	tv_vmwrite(VMCS_GUEST_INTERRUPTIBILITY, 0);
	tv_vmwrite(VMCS_GUEST_PENDING_DBG, 0);
	tv_vmwrite(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_WAIT_SIPI);
	tv_invvpid(tv_invvpid_type(&s->caps, INVVPID_SINGLE_CONTEXT), v->vpid,
		   0);
	tv_vmm_log(TV_LOG_INFO, "CPU %u: INIT: waiting for SIPI\n", v->cpu);
	return RESUME;
}

static TV_VMX_ROOT int handle_sipi(struct tv_vcpu *v)
{
	u64 vector = tv_vmread(VMCS_EXIT_QUALIFICATION) & 0xff;

	tv_vmm_log(TV_LOG_INFO, "CPU %u: SIPI: starting at 0x%llx\n", v->cpu,
		   vector << 12);
	write_real_mode_segment(TV_SEG_CS, vector << 8, vector << 12, 0x9b);
	tv_vmwrite(VMCS_GUEST_RIP, 0);
	/* Wait-for-SIPI blocks SMIs; the started CPU blocks nothing. */
	tv_vmwrite(VMCS_GUEST_INTERRUPTIBILITY, 0);
	tv_vmwrite(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
	return RESUME;
}

static TV_VMX_ROOT int handle_entry_failure(struct tv_vcpu *v,
					    struct tv_regs *regs, u32 reason)
{
	switch (tv_entry_fail_action(reason, v->launched)) {
	case TV_ENTRY_FAIL_REPORT:
		/* VMLAUNCH itself failed on guest state: report to the caller. */
		v->entry_fail_reason = reason;
		v->entry_fail_qual = tv_vmread(VMCS_EXIT_QUALIFICATION);
		tv_leave_to_guest(v, regs, tv_vmread(VMCS_GUEST_RIP));
		regs->rax = TV_LAUNCH_ENTRY_FAILED;
		return LEAVE;
	case TV_ENTRY_FAIL_MCE:
		/* A machine check during VM entry: the OS's handler takes it,
		 * in the guest, as it would have without us (KVM hands it to
		 * the host's handler likewise).
		 */
		v->pending_mces++;
		tv_vmm_log(TV_LOG_ERR,
			   "CPU %u: machine check during VM entry: handed to the OS\n",
			   v->cpu);
		return RESUME;
	case TV_ENTRY_FAIL_PANIC:
		break;
	}
	tv_dump_guest_state(v, "VM entry failed");
	tv_plat_panic("thinvisor: VM entry failed on a running guest");
	return RESUME;
}

/*
 * INVPCID exits only while INVLPG exiting is on, for an extension's
 * INVLPG events ("enable INVPCID" makes the one control cover both, SDM
 * 25.1.3).  Done as the flush of the guest's whole VPID context, a
 * superset of what any INVPCID type invalidates (a TLB may always drop
 * more); a type above 3 is the #GP(0) the CPU raises.  The memory
 * descriptor's own #GP and #PF checks are not redone: only the CPU's
 * own kernel issues INVPCID, and it issues them right.
 */
static TV_VMX_ROOT int handle_invpcid(struct tv_vcpu *v, struct tv_regs *regs)
{
	u32 reg = ((u32)tv_vmread(VMCS_EXIT_INSTR_INFO) >> 28) & 15;
	/* Outside 64-bit mode the type register is 32 bits. */
	u64 type = tv_cr_operand(read_gpr(regs, reg), guest_in_long_mode());

	if (type > 3) {
		inject_gp();
		return RESUME;
	}
	tv_invvpid(tv_invvpid_type(&v->shared->caps, INVVPID_SINGLE_CONTEXT),
		   v->vpid, 0);
	skip_instruction();
	return RESUME;
}

/*
 * A triple fault shuts a bare CPU down and the platform resets: do the
 * same (Linux falls back on it to reboot), unless the debug option asks
 * for the guest-state dump and a panic instead.
 */
TV_VMX_ROOT int tv_exit_triple_fault(struct tv_vcpu *v)
{
	if (v->shared->triple_fault_panic) {
		tv_dump_guest_state(v, "triple fault");
		tv_plat_panic("thinvisor: the guest triple-faulted");
		return RESUME;
	}
	tv_reset_by_triple_fault(v);
	return RESUME;
}

/*
 * Map an address no range listed at load in view 0 and in every other
 * EPT view (core/ext.h), so that whichever view the CPU runs in, or
 * switches to with VMFUNC, has it.
 */
static TV_VMX_ROOT int ept_fault(struct tv_vcpu *v, u32 reason)
{
	struct tv_ept *maps[TV_EXT_MAX_VIEWS];
	unsigned int n = 0;
	int i;

	maps[n++] = v->shared->ept;
	for (i = 1; i < TV_EXT_MAX_VIEWS; i++)
		if (tv_ext_g.views[i].ept)
			maps[n++] = tv_ext_g.views[i].ept;
	return tv_ept_fault_exit(maps, n, v->cpu, reason);
}

static TV_VMX_ROOT int dispatch(struct tv_vcpu *v, struct tv_regs *regs,
				u32 reason)
{
	u32 basic = TV_EXIT_BASIC(reason);

	/*
	 * The launch's MTF probe: a CPUID before any MTF exit (the root
	 * call that follows every launch checks the signature with one,
	 * tv_vmm_cpu_up()) comes after instructions completed: it does not
	 * trap.  The fast path stands aside while the probe arms MTF.
	 */
	if (tv_unlikely(v->mtf_probe) && reason == TV_EXIT_CPUID)
		tv_vcpu_mtf_probed(v, false);
	/* The exit the guest takes most, ahead of the general dispatch;
	 * extensions see only the leaves they asked for.
	 */
	if (tv_likely(reason == TV_EXIT_CPUID) &&
	    (tv_likely(!tv_ext_wants_exit(v, TV_EXIT_CPUID)) ||
	     !tv_ext_wants_cpuid((u32)regs->rax)))
		return handle_cpuid(regs);
	if (tv_unlikely(reason & TV_EXIT_ENTRY_FAILURE))
		return handle_entry_failure(v, regs, reason);
	/* Exits an extension asked for (VMCALL and CR: their handlers). */
	if (tv_unlikely(tv_ext_wants_exit(v, basic)) &&
	    basic != TV_EXIT_VMCALL && basic != TV_EXIT_CR_ACCESS &&
	    basic != TV_EXIT_XSETBV && basic != TV_EXIT_MTF &&
	    basic != TV_EXIT_EPT_VIOLATION) {
		int ret = tv_exit_ext(v, regs, basic);

		if (ret >= 0)
			return ret;
	}

	switch (basic) {
	case TV_EXIT_RDMSR:
		return handle_msr(regs, false);
	case TV_EXIT_WRMSR:
		return handle_msr(regs, true);
	case TV_EXIT_CR_ACCESS:
		return handle_cr_access(v, regs);
	case TV_EXIT_XSETBV:
		return handle_xsetbv(v, regs);
	case TV_EXIT_INVD:
		/* Write back rather than discard: never lose the OS's data. */
		asm volatile("wbinvd" : : : "memory");
		skip_instruction();
		return RESUME;
	case TV_EXIT_VMCALL:
		return handle_vmcall(v, regs);
	case TV_EXIT_VMCLEAR:
	case TV_EXIT_VMLAUNCH:
	case TV_EXIT_VMPTRLD:
	case TV_EXIT_VMPTRST:
	case TV_EXIT_VMREAD:
	case TV_EXIT_VMRESUME:
	case TV_EXIT_VMWRITE:
	case TV_EXIT_VMXOFF:
	case TV_EXIT_VMXON:
	case TV_EXIT_INVEPT:
	case TV_EXIT_INVVPID:
	case TV_EXIT_VMFUNC:
		/* VMX is hidden from the guest: as on a CPU without it. */
		inject_ud();
		return RESUME;
	case TV_EXIT_GETSEC:
		return handle_getsec(regs);
	case TV_EXIT_INVPCID:
		return handle_invpcid(v, regs);
	case TV_EXIT_INTERRUPT_WINDOW:
		return tv_ext_interrupt_window(v);
	case TV_EXIT_MTF:
		/* The launch's probe: it traps (see tv_vcpu_launch). */
		if (tv_unlikely(v->mtf_probe))
			tv_vcpu_mtf_probed(v, true);
		/* An extension's single step or native step; or armed to find
		 * an event window (tv_root_events_hand_on after this).
		 */
		if (v->native_step || v->ext_single_step)
			return tv_exit_ext(v, regs, basic);
		return RESUME;
	case TV_EXIT_INIT:
		return handle_init(v, regs);
	case TV_EXIT_SIPI:
		return handle_sipi(v);
	case TV_EXIT_TRIPLE_FAULT:
		return tv_exit_triple_fault(v);
	case TV_EXIT_EPT_VIOLATION:
		/* thinvisor's own pages, then what extensions asked for. */
		if (tv_exit_ext(v, regs, basic) >= 0)
			return RESUME;
		fallthrough;
	case TV_EXIT_EPT_MISCONFIG:
		/*
		 * A restricted page nobody answered for: let the access be.
		 * An address no range listed at load: mapped now (core/ept.h).
		 * Either way the faulting access runs again.
		 */
		if ((basic == TV_EXIT_EPT_VIOLATION &&
		     tv_ext_page_unanswered(v) == TV_OK) ||
		    ept_fault(v, basic) == TV_OK) {
			tv_event_fault_exit_done(basic == TV_EXIT_EPT_VIOLATION &&
						 (tv_vmread(VMCS_EXIT_QUALIFICATION) &
						  EPT_QUAL_NMI_UNBLOCKING), ~0u);
			return RESUME;
		}
		break;
	default:
		break;
	}
	tv_dump_guest_state(v, "unexpected VM exit");
	tv_plat_panic("thinvisor: unexpected VM exit (guest state dumped above)");
	return RESUME;
}

/*
 * The general path, for every exit the stub's fast paths did not take
 * (tv_asm_vmexit_fast).  Statistics: every exit is counted; the cycles
 * of each are measured only when the VMM was loaded to time them
 * (stat_cycles), because the two RDTSCs cost more than many handlers
 * (and then the fast paths stand aside, so every exit is timed here).
 */
TV_VMX_ROOT int tv_vmexit_handler(struct tv_regs *regs)
{
	struct tv_stack_top *top =
		tv_container_of(regs, struct tv_stack_top, regs);
	struct tv_vcpu *v = top->vcpu;
	u64 t0 = tv_unlikely(v->stat_cycles) ? tv_rdtsc() : 0;
	u32 reason = (u32)tv_vmread(VMCS_EXIT_REASON);
	u32 slot = TV_EXIT_BASIC(reason);
	int ret;

	if (slot >= TV_STAT_REASONS)
		slot = TV_STAT_REASONS - 1;
	ret = dispatch(v, regs, reason);
	/* NMIs or machine checks that reached root, or wait for a window. */
	if (tv_unlikely(ret == RESUME &&
			(top->root_events | v->pending_nmis |
			 v->pending_mces | v->mtf_armed)))
		tv_root_events_hand_on(v);
	v->exits++;
	v->stat[slot].count++;
	if (tv_unlikely(v->stat_cycles))
		v->stat[slot].cycles += tv_rdtsc() - t0;
	return ret;
}

TV_VMX_ROOT void tv_vmresume_failed(void)
{
	u64 err = 0;

	tv_vmread_safe(VMCS_INSTR_ERROR, &err);
	tv_vmm_log(TV_LOG_ERR, "thinvisor: VMRESUME failed: VM-instruction error %llu\n",
		   err);
	tv_plat_panic("thinvisor: VMRESUME failed");
}
