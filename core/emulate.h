/* SPDX-License-Identifier: MIT */
/*
 * Pure decisions of the exit handlers: what the guest sees for CPUID, which
 * MSR accesses exit and what they get, whether a CR or XCR0 write is one the
 * hardware would accept, and what an exit qualification means.  The handlers
 * in core/exit.c only read the VMCS, call these, and apply the result.
 */
#ifndef TV_CORE_EMULATE_H
#define TV_CORE_EMULATE_H

#include "core/types.h"
#include "arch/x86/cpu.h"
#include "arch/x86/vmx.h"
#include "arch/x86/vmx_stub.h"
#include "core/vmm.h"

#define TV_CPUID_HV_BASE 0x40000000u
#define TV_CPUID_HV_LAST 0x400000ffu

#define CPUID_1_ECX_VMX TV_BIT(5)
#define CPUID_1_ECX_OSXSAVE TV_BIT(27)
#define CPUID_1_ECX_HYPERVISOR TV_BIT(31)
#define CPUID_7_0_ECX_OSPKE TV_BIT(4)

/* CR4 bits arch/x86/vmx.h does not name (yet). */
#define TV_CR4_SMXE TV_BIT(14)
#define TV_CR4_PKE TV_BIT(22)

/*
 * A CPUID result register holding the 4 characters at @s + @i, as CPUID
 * returns them (first character in the low byte).
 */
#define TV_CPUID_CHARS(s, i) \
	((u32)(u8)(s)[i] | (u32)(u8)(s)[(i) + 1] << 8 | \
	 (u32)(u8)(s)[(i) + 2] << 16 | (u32)(u8)(s)[(i) + 3] << 24)

/*
 * Shape the native CPUID result @r of @leaf/@subleaf for the guest:
 *  - leaf 1 gains the hypervisor-present bit and loses VMX;
 *  - OSXSAVE (leaf 1 ECX[27]) and OSPKE (leaf 7.0 ECX[4]) mirror CR4.OSXSAVE
 *    and CR4.PKE.  The CPU computes them from the CR4 it runs with, which
 *    in VMX root is the host's launch-time CR4, not the guest's
 *    @guest_cr4 (the CR4 the guest sees);
 *  - leaves 0x40000000-0x400000ff are ours (signature, interface id, zeros
 *    above).
 * Inline: it is on the path of the most frequent exit; other leaves cost
 * two compares.  Plain assignments only: VMX-root code on Windows must not
 * call memset/memcpy (they may use XMM registers nobody saved).
 */
static inline void tv_cpuid_shape(u32 leaf, u32 subleaf, u64 guest_cr4,
				  struct tv_cpuid *r)
{
	if (leaf == 1) {
		r->ecx &= ~(u32)(CPUID_1_ECX_VMX | CPUID_1_ECX_OSXSAVE);
		r->ecx |= (u32)CPUID_1_ECX_HYPERVISOR;
		if (guest_cr4 & CR4_OSXSAVE)
			r->ecx |= (u32)CPUID_1_ECX_OSXSAVE;
		return;
	}
	if (leaf == 7) {
		if (subleaf != 0)
			return;
		r->ecx &= ~(u32)CPUID_7_0_ECX_OSPKE;
		if (guest_cr4 & TV_CR4_PKE)
			r->ecx |= (u32)CPUID_7_0_ECX_OSPKE;
		return;
	}
	if (tv_likely(leaf < TV_CPUID_HV_BASE || leaf > TV_CPUID_HV_LAST))
		return;
	r->eax = 0;
	r->ebx = 0;
	r->ecx = 0;
	r->edx = 0;
	if (leaf == TV_CPUID_HV_BASE) {
		r->eax = TV_CPUID_HV_BASE + 1;	/* highest leaf we define */
		r->ebx = TV_CPUID_CHARS(TV_CPUID_SIGNATURE, 0);
		r->ecx = TV_CPUID_CHARS(TV_CPUID_SIGNATURE, 4);
		r->edx = TV_CPUID_CHARS(TV_CPUID_SIGNATURE, 8);
	} else if (leaf == TV_CPUID_HV_BASE + 1) {
		r->eax = TV_CPUID_INTERFACE;
	}
}

/*
 * Leaves tv_cpuid_shape() leaves alone for every subleaf and CR4.  The
 * exit stub's CPUID fast path (arch/x86/vmx_stub.S, tv_asm_vmexit_fast)
 * answers every leaf, and mirrors both functions: these with the bare
 * CPUID (this test, exactly); leaf 1 and leaf 7 subleaf 0 with the CPUID
 * and the ECX bits above; leaves 0x400000xx with the constants above,
 * from the same include/thinvisor/hypercall.h.  handle_cpuid() in C
 * answers the exits the fast path stands aside for.  The stub's numbers
 * are checked here; tests/e2e/kmod/tvguest.c checks its answers.
 */
static inline bool tv_cpuid_leaf_native(u32 leaf)
{
	return leaf != 1 && leaf != 7 && (leaf >> 8) != (TV_CPUID_HV_BASE >> 8);
}

_Static_assert(TV_BIT(TV_STUB_CPUID_1_ECX_VMX) == CPUID_1_ECX_VMX &&
	       TV_BIT(TV_STUB_CPUID_1_ECX_OSXSAVE) == CPUID_1_ECX_OSXSAVE &&
	       TV_BIT(TV_STUB_CPUID_1_ECX_HYPERVISOR) == CPUID_1_ECX_HYPERVISOR &&
	       TV_BIT(TV_STUB_CPUID_7_0_ECX_OSPKE) == CPUID_7_0_ECX_OSPKE &&
	       TV_BIT(TV_STUB_CR4_OSXSAVE) == CR4_OSXSAVE &&
	       TV_BIT(TV_STUB_CR4_PKE) == TV_CR4_PKE,
	       "the stub's CPUID shaping bits (arch/x86/vmx_stub.h)");
/* The stub answers 0x400000xx from hypercall.h's leaf numbers. */
_Static_assert(TV_CPUID_HV_BASE == TV_CPUID_LEAF_SIGNATURE, "0x40000000");
_Static_assert(TV_CPUID_HV_BASE + 1 == TV_CPUID_LEAF_INTERFACE, "0x40000001");
_Static_assert((TV_CPUID_HV_BASE | 0xff) == TV_CPUID_HV_LAST, "0x400000ff");

/*
 * MSRs whose intercepted RDMSR/WRMSR is exactly the access on the hardware
 * in VMX root: inside the bitmap ranges (tv_msr_exit_action() says
 * TV_MSR_PASSTHROUGH) and not switched through the VMCS
 * (tv_msr_guest_field() says 0).  The exit stub's MSR fast path mirrors
 * this test exactly; every other MSR takes handle_msr() in C.
 */
static inline bool tv_msr_exit_plain(u32 msr)
{
	if (msr <= 0x1fff)
		return (msr < 0x480 || msr > 0x493) &&
		       (msr < 0x174 || msr > 0x176) && msr != 0x1d9;
	if (msr - 0xc0000000u <= 0x1fff)
		return msr != 0xc0000080 && msr != 0xc0000100 &&
		       msr != 0xc0000101;
	return false;
}

/*
 * Whether completing an emulated instruction is just moving RIP past it:
 * no STI/MOV-SS shadow to end and neither RFLAGS.RF to clear nor a
 * single-step #DB to raise (what skip_instruction() in core/exit.c does
 * otherwise).  The fast paths take only such exits.
 */
#define TV_FAST_INTR_BLOCKING (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)
#define TV_FAST_RFLAGS_BITS (RFLAGS_RF | RFLAGS_TF)
static inline bool tv_exit_completes_plainly(u64 interruptibility,
					     u64 rflags)
{
	return !(interruptibility & TV_FAST_INTR_BLOCKING) &&
	       !(rflags & TV_FAST_RFLAGS_BITS);
}

/* --- MSRs ------------------------------------------------------------ */

#define TV_MSR_BITMAP_BYTES 4096

/*
 * Set the read and/or write intercept of @msr in a 4 KB MSR bitmap.
 * Returns false for an MSR outside the two bitmap ranges (those always
 * exit).
 */
bool tv_msr_bitmap_set(u8 *bitmap, u32 msr, bool read, bool write);

/* Clear both intercepts of @msr; false outside the bitmap ranges. */
bool tv_msr_bitmap_clear(u8 *bitmap, u32 msr);

/* Does the MSR bitmap cover @msr (else every access to it exits)? */
bool tv_msr_in_bitmap(u32 msr);

/* Would an access to @msr exit with this bitmap? */
bool tv_msr_bitmap_exits(const u8 *bitmap, u32 msr, bool write);

/* Fill @bitmap with thinvisor's default intercepts: the VMX capabilities. */
void tv_msr_bitmap_build(u8 *bitmap);

/*
 * What an exiting RDMSR/WRMSR gets:
 *  - TV_MSR_INJECT_GP: the VMX capability MSRs 0x480-0x493; VMX is hidden,
 *    so they fault as on a CPU without VMX.
 *  - TV_MSR_HARDWARE: MSRs outside both bitmap ranges, which always exit
 *    (SDM 25.1.3).  Real Intel MSRs live there (uncore PMON 0x2000-0x2fff
 *    on Alder Lake and later, 0x200e on Sapphire Rapids), so the caller
 *    executes the access in VMX root behind a fault guard and injects #GP
 *    only if the hardware faulted: the guest gets what bare metal gives.
 *  - TV_MSR_PASSTHROUGH: an in-range MSR that an extension intercepted; a
 *    real MSR (see tv_msr_guest_field() for those the VMCS switches).
 */
enum tv_msr_action { TV_MSR_INJECT_GP, TV_MSR_PASSTHROUGH, TV_MSR_HARDWARE };
enum tv_msr_action tv_msr_exit_action(u32 msr, bool write);

/*
 * For an MSR that VM entry loads from and VM exit saves to the VMCS, the
 * guest-state field holding the guest's value while it runs; 0 for any
 * other MSR (the live MSR is the guest's).  An intercepted access to one
 * of these must read or write that field: in VMX root the MSR holds the
 * host's value (DEBUGCTL is even cleared by VM exit, SDM 27.5.1), and the
 * next VM entry overwrites a WRMSR to it (SDM 26.3.2.1).  thinvisor's
 * controls switch EFER and DEBUGCTL (load/save EFER and debug controls);
 * SYSENTER_CS/ESP/EIP and FS/GS base are always switched.  PAT is not
 * switched (no load/save-PAT controls): 0, the live MSR is the guest's.
 */
u32 tv_msr_guest_field(u32 msr);

/* --- control registers ------------------------------------------------ */

/* A decoded control-register-access exit qualification (SDM Table 28-3). */
enum tv_cr_access_type { TV_CR_MOV_TO = 0, TV_CR_MOV_FROM = 1, TV_CR_CLTS = 2,
			 TV_CR_LMSW = 3 };
struct tv_cr_access {
	u8 cr;			/* 0, 3, 4 or 8 */
	enum tv_cr_access_type type;
	u8 gpr;			/* SDM register number, for MOV */
	u16 lmsw_source;	/* for LMSW */
};

struct tv_cr_access tv_cr_access_decode(u64 qualification);

/* The CR0/CR4 policy of a VMCS: bits VMX pins, and unrestricted guest. */
struct tv_cr_policy {
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	bool unrestricted_guest;
};

/*
 * A guest write of @val to CR0 or CR4 that exited.  Returns 0 and the value
 * for the real register (@real, fixed bits forced) and for the read shadow
 * (@shadow, what the guest wrote), or an exception vector (#GP) to inject.
 */
int tv_cr_write(const struct tv_cr_policy *p, int cr, u64 val, u64 *real,
		u64 *shadow);

/*
 * The source operand of MOV to CR0/CR4 from general register @gpr: all 64
 * bits in 64-bit mode (@long_mode: CS.L=1 and EFER.LMA=1), else its low 32
 * bits (SDM Vol. 2 MOV to/from control registers: "the operand size ... is
 * always 32 bits in non-64-bit modes").
 */
u64 tv_cr_operand(u64 gpr, bool long_mode);

/*
 * EFER after a CR0 write of @new_cr0 is applied: LMA = LME && CR0.PG (SDM
 * Vol. 3 9.8.5).  The caller keeps the "IA-32e mode guest" VM-entry
 * control equal to the result's LMA (SDM 26.2.1.1, 26.3.1.1).
 */
u64 tv_efer_after_cr0_write(u64 efer, u64 new_cr0);

/*
 * Would MOV to CR0 of @new_cr0 raise #GP for a long-mode reason that
 * tv_cr_write() cannot see?  @efer and @cr4 are the guest's values before
 * the write, @old_cr0 the CR0 the guest sees, @cs_l the L bit of the
 * guest's CS access rights (bit 13).  True when the write
 *  - sets PG with EFER.LME=1 and CR4.PAE=0 (SDM Vol. 3 4.1.2),
 *  - sets PG with EFER.LME=1 while CS.L=1 (MOV CR protected-mode #GP:
 *    "activate IA-32e mode and ... the current CS has the L-bit set"),
 *  - clears PG in 64-bit mode (EFER.LMA=1 and CS.L=1), or
 *  - clears PG while CR4.PCIDE=1 (both: MOV CR #GP lists).
 * Call it after tv_cr_write() accepted the value, before applying it.
 */
/*
 * Would a MOV to CR0 or CR4 (@cr) of @val break the CET rule, CR4.CET=1
 * only with CR0.WP=1?  @other is the guest's CR4 (for a CR0 write) or CR0
 * (for a CR4 write).  The MOV CR #GP lists: clearing CR0.WP while
 * CR4.CET=1, setting CR4.CET while CR0.WP=0.  Without this the write
 * would be applied and the next VM entry fail its CET check (SDM
 * 26.3.1.1).
 */
bool tv_cr_write_breaks_cet(int cr, u64 val, u64 other);

bool tv_cr0_write_faults_long_mode(u64 efer, u64 old_cr0, u64 new_cr0,
				   u64 cr4, bool cs_l);

/* --- exceptions ------------------------------------------------------- */

/*
 * Does injecting hardware exception @vector push an error code?  Only #DF,
 * #TS, #NP, #SS, #GP, #PF, #AC and #CP do, and only in protected mode: SDM
 * 26.2.1.3 makes VM entry fail unless deliver-error-code is 1 exactly when
 * bit 0 (PE) of the guest-state CR0 field is 1 and the vector is one of
 * those.  @guest_cr0 is that VMCS field (GUEST_CR0), not the read shadow.
 */
bool tv_exception_has_error_code(u32 vector, u64 guest_cr0);

/* --- GETSEC and VM-entry failures -------------------------------------- */

/*
 * GETSEC exits whenever CR4.SMXE=1, at any CPL and for any leaf (SDM
 * 25.1.2), so every check the instruction makes is ours.  From the SDM's
 * GETSEC leaf pages (Vol. 2D, chapter 6, "Safer Mode Extensions
 * Reference"), in their order:
 *  - CR4.SMXE=0: #UD (the exit cannot happen; checked anyway);
 *  - a leaf GETSEC[CAPABILITIES] does not report (leaf 1, leaves above 8,
 *    or a clear bit @leaf of @smx_caps): #UD, ahead of every #GP;
 *  - CAPABILITIES (0) and PARAMETERS (6) have no CPL or mode condition:
 *    TV_GETSEC_EXECUTE, in VMX root, where neither faults;
 *  - ENTERACCS (2), EXITAC (3), SENTER (4), SEXIT (5), SMCTRL (7) raise
 *    #GP at CPL>0 and "in VMX root operation", WAKEUP (8) "in VMX
 *    operation": executing them in root would fault, so the guest gets
 *    the #GP a failed launch gives (no TXT-capable chipset present, or
 *    not in a measured environment).  A tboot-launched OS that calls SEXIT
 *    under thinvisor therefore fails its SEXIT.
 * @smx_caps is EAX of GETSEC[CAPABILITIES] with EBX=0 (bit n: leaf n
 * supported); it is read only for leaves 2-8.  @cpl is the guest's CPL; it
 * does not change the answer: every leaf that faults at CPL>0 also faults
 * at CPL 0 under a VMM, and the #UD cases come first.
 * The caller executes GETSEC in root only with CR4.SMXE=1 there (the host
 * CR4 is the launch-time one).
 */
enum tv_getsec_action { TV_GETSEC_EXECUTE, TV_GETSEC_INJECT_GP,
			TV_GETSEC_INJECT_UD };
enum tv_getsec_action tv_getsec_action(u32 leaf, unsigned int cpl,
				       u64 guest_cr4, u32 smx_caps);

#define TV_GETSEC_CAPABILITIES 0
#define TV_GETSEC_PARAMETERS 6

/*
 * What to do with a VM-entry failure, @exit_reason with bit 31 set (SDM
 * 26.7, 26.8):
 *  - basic reason 41, a machine-check event during VM entry: MCE, the
 *    caller hands it to the OS's machine-check handler (whether or not
 *    the VMCS was launched: the event must not be lost);
 *  - the first VMLAUNCH (@launched false): REPORT, unwind to the caller
 *    of the launch with the reason;
 *  - a running guest whose state became invalid: PANIC.
 */
enum tv_entry_fail_action { TV_ENTRY_FAIL_REPORT, TV_ENTRY_FAIL_MCE,
			    TV_ENTRY_FAIL_PANIC };
enum tv_entry_fail_action tv_entry_fail_action(u32 exit_reason,
					       bool launched);

/* --- XSETBV ----------------------------------------------------------- */

/*
 * Would the CPU accept XSETBV(@xcr, @val) given the XCR0 bits it supports?
 * (SDM XSETBV: only XCR0, bit 0 set, no unsupported bits, AVX needs SSE,
 * the MPX pair and the AVX-512 trio and the AMX pair set together.)
 */
bool tv_xsetbv_valid(u32 xcr, u64 val, u64 supported);

#endif
