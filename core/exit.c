// SPDX-License-Identifier: MIT
/*
 * The VM-exit dispatcher and its handlers.  Runs in VMX root with
 * interrupts off, on the VMM stack, for every exit: no locks, no
 * allocation, no host calls but the vmx-root ones of core/platform.h.
 */
#include "core/vcpu.h"
#include "core/platform.h"
#include "core/vmm.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"
#include "arch/x86/vmcs.h"

enum { RESUME = 0, LEAVE = 1 };

static void inject_exception(u32 vector, bool has_error, u32 error)
{
	u32 info = vector | INTR_TYPE_HW_EXCEPTION | INTR_INFO_VALID;

	if (has_error) {
		info |= INTR_INFO_DELIVER_ERROR;
		tv_vmwrite(VMCS_ENTRY_EXCEPTION_ERROR, error);
	}
	tv_vmwrite(VMCS_ENTRY_INTR_INFO, info);
}

static void inject_ud(void)
{
	inject_exception(VEC_UD, false, 0);
}

static void inject_gp(void)
{
	inject_exception(VEC_GP, true, 0);
}

/*
 * Complete an emulated instruction: step RIP past it, end any STI/MOV SS
 * interrupt shadow it was under, and if the guest was single-stepping
 * deliver the #DB that the instruction would have raised after itself.
 */
static __attribute__((always_inline)) inline void skip_instruction(void)
{
	u64 rip = tv_vmread(VMCS_GUEST_RIP) + tv_vmread(VMCS_EXIT_INSTR_LEN);
	u64 intr = tv_vmread(VMCS_GUEST_INTERRUPTIBILITY);
	u64 rflags = tv_vmread(VMCS_GUEST_RFLAGS);

	tv_vmwrite(VMCS_GUEST_RIP, rip);
	if (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
		tv_vmwrite(VMCS_GUEST_INTERRUPTIBILITY,
			   intr & ~(INTERRUPTIBILITY_STI |
				    INTERRUPTIBILITY_MOV_SS));
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
static u64 guest_visible_cr(int cr)
{
	u64 mask = tv_vmread(cr == 0 ? VMCS_CR0_MASK : VMCS_CR4_MASK);
	u64 shadow = tv_vmread(cr == 0 ? VMCS_CR0_SHADOW : VMCS_CR4_SHADOW);
	u64 real = tv_vmread(cr == 0 ? VMCS_GUEST_CR0 : VMCS_GUEST_CR4);

	return (real & ~mask) | (shadow & mask);
}

static unsigned int guest_cpl(void)
{
	return (tv_vmread(VMCS_GUEST_SS_AR) >> 5) & 3;
}

static int handle_cpuid(struct tv_regs *regs)
{
	struct tv_cpuid r;
	u32 leaf = (u32)regs->rax, subleaf = (u32)regs->rcx;

	tv_cpuid(leaf, subleaf, &r);
	tv_cpuid_shape(leaf, subleaf, &r);
	regs->rax = r.eax;
	regs->rbx = r.ebx;
	regs->rcx = r.ecx;
	regs->rdx = r.edx;
	skip_instruction();
	return RESUME;
}

static int handle_msr(struct tv_regs *regs, bool write)
{
	u32 msr = (u32)regs->rcx;
	u64 val;

	if (tv_msr_exit_action(msr, write) == TV_MSR_INJECT_GP) {
		inject_gp();
		return RESUME;
	}
	if (write) {
		tv_wrmsr(msr, (regs->rdx << 32) | (u32)regs->rax);
	} else {
		val = tv_rdmsr(msr);
		regs->rax = (u32)val;
		regs->rdx = val >> 32;
	}
	skip_instruction();
	return RESUME;
}

static u64 read_gpr(struct tv_regs *regs, unsigned int n)
{
	return n == 4 ? tv_vmread(VMCS_GUEST_RSP) : *tv_reg(regs, n);
}

static void write_gpr(struct tv_regs *regs, unsigned int n, u64 val)
{
	if (n == 4)
		tv_vmwrite(VMCS_GUEST_RSP, val);
	else
		*tv_reg(regs, n) = val;
}

static int write_cr(struct tv_vcpu *v, int cr, u64 val)
{
	u64 real, shadow;

	if (tv_cr_write(&v->shared->cr_policy, cr, val, &real, &shadow)) {
		inject_gp();
		return RESUME;
	}
	tv_vmwrite(cr == 0 ? VMCS_GUEST_CR0 : VMCS_GUEST_CR4, real);
	tv_vmwrite(cr == 0 ? VMCS_CR0_SHADOW : VMCS_CR4_SHADOW, shadow);
	skip_instruction();
	return RESUME;
}

static int handle_cr_access(struct tv_vcpu *v, struct tv_regs *regs)
{
	struct tv_cr_access a =
		tv_cr_access_decode(tv_vmread(VMCS_EXIT_QUALIFICATION));
	u64 val;

	switch (a.type) {
	case TV_CR_MOV_TO:
		val = read_gpr(regs, a.gpr);
		if (a.cr == 0 || a.cr == 4)
			return write_cr(v, a.cr, val);
		if (a.cr == 3) {
			/* Only on CPUs that force CR3 exiting (no TRUE MSRs). */
			tv_vmwrite(VMCS_GUEST_CR3, val & ~TV_BIT(63));
			tv_invvpid(INVVPID_SINGLE_CONTEXT_GLOBALS, v->vpid, 0);
			skip_instruction();
			return RESUME;
		}
		break;
	case TV_CR_MOV_FROM:
		if (a.cr == 3) {
			write_gpr(regs, a.gpr, tv_vmread(VMCS_GUEST_CR3));
			skip_instruction();
			return RESUME;
		}
		break;
	case TV_CR_LMSW:
		/* LMSW writes CR0[3:0] but can never clear PE. */
		val = guest_visible_cr(0);
		val = (val & ~0xeULL) | (a.lmsw_source & 0xf) | (val & CR0_PE);
		return write_cr(v, 0, val);
	case TV_CR_CLTS:
		break;
	}
	tv_dump_guest_state(v, "unexpected control-register access");
	tv_plat_panic("thinvisor: unexpected control-register access exit");
	return RESUME;
}

static int handle_xsetbv(struct tv_vcpu *v, struct tv_regs *regs)
{
	u64 val = (regs->rdx << 32) | (u32)regs->rax;
	u32 xcr = (u32)regs->rcx;

	if (!(guest_visible_cr(4) & CR4_OSXSAVE)) {
		inject_ud();
		return RESUME;
	}
	if (guest_cpl() != 0 ||
	    !tv_xsetbv_valid(xcr, val, v->shared->features.xcr0_supported)) {
		inject_gp();
		return RESUME;
	}
	tv_xsetbv(xcr, val);
	skip_instruction();
	return RESUME;
}

static int handle_vmcall(struct tv_vcpu *v, struct tv_regs *regs)
{
	u64 rip;

	if (guest_cpl() != 0) {
		inject_ud();
		return RESUME;
	}
	switch (regs->rax) {
	case TV_HC_PING:
		regs->rax = TV_HC_PONG;
		regs->rdx = v->cpu;
		tv_vmm_log(TV_LOG_DEBUG, "CPU %u: ping from the guest\n", v->cpu);
		break;
	case TV_HC_INFO:
		regs->rax = 0;
		regs->rdx = (TV_VERSION_MAJOR << 16) | TV_VERSION_MINOR;
		regs->r8 = v->exits;
		break;
	case TV_HC_TERMINATE:
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
static void write_real_mode_segment(int seg, u16 sel, u64 base, u32 ar)
{
	tv_vmwrite(VMCS_GUEST_SEL(seg), sel);
	tv_vmwrite(VMCS_GUEST_BASE(seg), base);
	tv_vmwrite(VMCS_GUEST_LIMIT(seg), 0xffff);
	tv_vmwrite(VMCS_GUEST_AR(seg), ar);
}

/*
 * INIT reached a virtualized CPU: do what the CPU does, enter the INIT
 * state and wait for a SIPI, staying under the VMM.  Needs unrestricted
 * guest for the real-mode start that follows.
 */
static int handle_init(struct tv_vcpu *v, struct tv_regs *regs)
{
	const struct tv_shared *s = v->shared;
	struct tv_cpuid id;
	int seg;

	if (!s->ctl.unrestricted_guest) {
		tv_dump_guest_state(v, "INIT without unrestricted guest");
		tv_plat_panic("thinvisor: INIT signal on a virtualized CPU that lacks unrestricted guest");
		return RESUME;
	}
	tv_cpuid(1, 0, &id);
	memset(regs, 0, sizeof(*regs));
	regs->rdx = id.eax;
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
	tv_vmwrite(VMCS_GUEST_EFER, 0);
	tv_vmwrite(VMCS_ENTRY_CONTROLS, s->ctl.entry & ~ENTRY_IA32E_MODE_GUEST);
	tv_vmwrite(VMCS_GUEST_INTERRUPTIBILITY, 0);
	tv_vmwrite(VMCS_GUEST_PENDING_DBG, 0);
	tv_vmwrite(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_WAIT_SIPI);
	tv_invvpid(INVVPID_SINGLE_CONTEXT, v->vpid, 0);
	tv_vmm_log(TV_LOG_INFO, "CPU %u: INIT: waiting for SIPI\n", v->cpu);
	return RESUME;
}

static int handle_sipi(struct tv_vcpu *v)
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

static int handle_entry_failure(struct tv_vcpu *v, struct tv_regs *regs,
				u32 reason)
{
	if (!v->launched) {
		/* VMLAUNCH itself failed on guest state: report to the caller. */
		v->entry_fail_reason = reason;
		v->entry_fail_qual = tv_vmread(VMCS_EXIT_QUALIFICATION);
		tv_leave_to_guest(v, regs, tv_vmread(VMCS_GUEST_RIP));
		regs->rax = 3;
		return LEAVE;
	}
	tv_dump_guest_state(v, "VM entry failed");
	tv_plat_panic("thinvisor: VM entry failed on a running guest");
	return RESUME;
}

static int dispatch(struct tv_vcpu *v, struct tv_regs *regs, u32 reason)
{
	u32 basic = EXIT_REASON_BASIC(reason);

	/* The exit the guest takes most, ahead of the general dispatch. */
	if (tv_likely(reason == EXIT_REASON_CPUID))
		return handle_cpuid(regs);
	if (tv_unlikely(reason & EXIT_REASON_ENTRY_FAILURE))
		return handle_entry_failure(v, regs, reason);

	switch (basic) {
	case EXIT_REASON_RDMSR:
		return handle_msr(regs, false);
	case EXIT_REASON_WRMSR:
		return handle_msr(regs, true);
	case EXIT_REASON_CR_ACCESS:
		return handle_cr_access(v, regs);
	case EXIT_REASON_XSETBV:
		return handle_xsetbv(v, regs);
	case EXIT_REASON_INVD:
		/* Write back rather than discard: never lose the OS's data. */
		asm volatile("wbinvd" : : : "memory");
		skip_instruction();
		return RESUME;
	case EXIT_REASON_VMCALL:
		return handle_vmcall(v, regs);
	case EXIT_REASON_VMCLEAR:
	case EXIT_REASON_VMLAUNCH:
	case EXIT_REASON_VMPTRLD:
	case EXIT_REASON_VMPTRST:
	case EXIT_REASON_VMREAD:
	case EXIT_REASON_VMRESUME:
	case EXIT_REASON_VMWRITE:
	case EXIT_REASON_VMXOFF:
	case EXIT_REASON_VMXON:
	case EXIT_REASON_INVEPT:
	case EXIT_REASON_INVVPID:
	case EXIT_REASON_VMFUNC:
		/* VMX is hidden from the guest: as on a CPU without it. */
		inject_ud();
		return RESUME;
	case EXIT_REASON_INIT:
		return handle_init(v, regs);
	case EXIT_REASON_SIPI:
		return handle_sipi(v);
	case EXIT_REASON_TRIPLE_FAULT:
		tv_dump_guest_state(v, "triple fault");
		tv_plat_panic("thinvisor: the guest triple-faulted");
		return RESUME;
	default:
		break;
	}
	tv_dump_guest_state(v, "unexpected VM exit");
	tv_plat_panic("thinvisor: unexpected VM exit (guest state dumped above)");
	return RESUME;
}

int tv_vmexit_handler(struct tv_regs *regs)
{
	u64 t0 = tv_rdtsc();
	struct tv_vcpu *v =
		tv_container_of(regs, struct tv_stack_top, regs)->vcpu;
	u32 reason = (u32)tv_vmread(VMCS_EXIT_REASON);
	u32 slot = EXIT_REASON_BASIC(reason);
	int ret;

	if (slot >= TV_STAT_REASONS)
		slot = TV_STAT_REASONS - 1;
	ret = dispatch(v, regs, reason);
	v->exits++;
	v->stat[slot].count++;
	v->stat[slot].cycles += tv_rdtsc() - t0;
	return ret;
}

void tv_vmresume_failed(void)
{
	u64 err = 0;

	tv_vmread_safe(VMCS_INSTR_ERROR, &err);
	tv_vmm_log(TV_LOG_ERR, "thinvisor: VMRESUME failed: VM-instruction error %llu\n",
		   err);
	tv_plat_panic("thinvisor: VMRESUME failed");
}
