// SPDX-License-Identifier: MIT
#include "core/emulate.h"
#include "core/vmm.h"
#include "arch/x86/msr.h"
#include "arch/x86/vmx.h"
#include "arch/x86/vmcs.h"

/* Byte offset of @msr's bit in the read half, or -1 outside both ranges. */
static TV_VMX_ROOT int msr_bitmap_offset(u32 msr)
{
	if (msr <= 0x1fff)
		return 0;
	if (msr >= 0xc0000000u && msr <= 0xc0001fffu)
		return 1024;
	return -1;
}

bool tv_msr_bitmap_set(u8 *bitmap, u32 msr, bool read, bool write)
{
	int base = msr_bitmap_offset(msr);
	u32 bit = msr & 0x1fff;

	if (base < 0)
		return false;
	if (read)
		bitmap[base + bit / 8] |= (u8)(1u << (bit % 8));
	if (write)
		bitmap[base + 2048 + bit / 8] |= (u8)(1u << (bit % 8));
	return true;
}

bool tv_msr_bitmap_clear(u8 *bitmap, u32 msr)
{
	int base = msr_bitmap_offset(msr);
	u32 bit = msr & 0x1fff;

	if (base < 0)
		return false;
	bitmap[base + bit / 8] &= (u8)~(1u << (bit % 8));
	bitmap[base + 2048 + bit / 8] &= (u8)~(1u << (bit % 8));
	return true;
}

bool tv_msr_in_bitmap(u32 msr)
{
	return msr_bitmap_offset(msr) >= 0;
}

bool tv_msr_bitmap_exits(const u8 *bitmap, u32 msr, bool write)
{
	int base = msr_bitmap_offset(msr);
	u32 bit = msr & 0x1fff;

	if (base < 0)
		return true;
	if (write)
		base += 2048;
	return bitmap[base + bit / 8] & (1u << (bit % 8));
}

void tv_msr_bitmap_build(u8 *bitmap)
{
	u32 msr;

	memset(bitmap, 0, TV_MSR_BITMAP_BYTES);
	for (msr = MSR_IA32_VMX_FIRST; msr <= MSR_IA32_VMX_LAST; msr++)
		tv_msr_bitmap_set(bitmap, msr, true, true);
}

TV_VMX_ROOT enum tv_msr_action tv_msr_exit_action(u32 msr, bool write)
{
	if (msr >= MSR_IA32_VMX_FIRST && msr <= MSR_IA32_VMX_LAST)
		return TV_MSR_INJECT_GP;
	if (msr_bitmap_offset(msr) < 0)
		return TV_MSR_HARDWARE;
	/* In range and intercepted by someone else: a real MSR. */
	return TV_MSR_PASSTHROUGH;
}

TV_VMX_ROOT u32 tv_msr_guest_field(u32 msr)
{
	switch (msr) {
	case MSR_IA32_EFER:
		return VMCS_GUEST_EFER;
	case MSR_IA32_DEBUGCTL:
		return VMCS_GUEST_DEBUGCTL;
	case MSR_IA32_SYSENTER_CS:
		return VMCS_GUEST_SYSENTER_CS;
	case MSR_IA32_SYSENTER_ESP:
		return VMCS_GUEST_SYSENTER_ESP;
	case MSR_IA32_SYSENTER_EIP:
		return VMCS_GUEST_SYSENTER_EIP;
	case MSR_IA32_FS_BASE:
		return VMCS_GUEST_FS_BASE;
	case MSR_IA32_GS_BASE:
		return VMCS_GUEST_GS_BASE;
	default:
		return 0;
	}
}

TV_VMX_ROOT struct tv_cr_access tv_cr_access_decode(u64 q)
{
	struct tv_cr_access a;

	a.cr = q & 0xf;
	a.type = (enum tv_cr_access_type)((q >> 4) & 3);
	a.gpr = (q >> 8) & 0xf;
	a.lmsw_source = (q >> 16) & 0xffff;
	return a;
}

TV_VMX_ROOT int tv_cr_write(const struct tv_cr_policy *p, int cr, u64 val, u64 *real,
		u64 *shadow)
{
	u64 fixed0, fixed1;

	if (cr == 0) {
		fixed0 = p->cr0_fixed0;
		fixed1 = p->cr0_fixed1;
		if (p->unrestricted_guest)
			fixed0 &= ~(CR0_PE | CR0_PG);
		if (val >> 32)
			return VEC_GP;
		if ((val & CR0_PG) && !(val & CR0_PE))
			return VEC_GP;
		if ((val & CR0_NW) && !(val & CR0_CD))
			return VEC_GP;
	} else if (cr == 4) {
		fixed0 = p->cr4_fixed0 & ~CR4_VMXE;
		fixed1 = p->cr4_fixed1 & ~CR4_VMXE;
	} else {
		return VEC_GP;
	}
	/* Bits VMX does not allow to be 1 are reserved: so is CR4.VMXE. */
	if (val & ~fixed1)
		return VEC_GP;
	*shadow = val;
	*real = val | fixed0;
	if (cr == 4)
		*real |= CR4_VMXE;
	return 0;
}

TV_VMX_ROOT u64 tv_cr_operand(u64 gpr, bool long_mode)
{
	return long_mode ? gpr : (u32)gpr;
}

TV_VMX_ROOT u64 tv_efer_after_cr0_write(u64 efer, u64 new_cr0)
{
	if ((efer & EFER_LME) && (new_cr0 & CR0_PG))
		return efer | EFER_LMA;
	return efer & ~EFER_LMA;
}

TV_VMX_ROOT bool tv_cr0_write_faults_long_mode(u64 efer, u64 old_cr0, u64 new_cr0,
				   u64 cr4, bool cs_l)
{
	bool sets_pg = !(old_cr0 & CR0_PG) && (new_cr0 & CR0_PG);
	bool clears_pg = (old_cr0 & CR0_PG) && !(new_cr0 & CR0_PG);

	if (sets_pg && (efer & EFER_LME) && (!(cr4 & CR4_PAE) || cs_l))
		return true;
	if (clears_pg && (((efer & EFER_LMA) && cs_l) || (cr4 & CR4_PCIDE)))
		return true;
	return false;
}

#define TV_CR4_CET TV_BIT(23)

TV_VMX_ROOT bool tv_cr_write_breaks_cet(int cr, u64 val, u64 other)
{
	if (cr == 0)
		return (other & TV_CR4_CET) && !(val & CR0_WP);
	return (val & TV_CR4_CET) && !(other & CR0_WP);
}

TV_VMX_ROOT bool tv_exception_has_error_code(u32 vector, u64 guest_cr0)
{
	if (!(guest_cr0 & CR0_PE))
		return false;
	switch (vector) {
	case 8:		/* #DF */
	case 10:	/* #TS */
	case 11:	/* #NP */
	case 12:	/* #SS */
	case 13:	/* #GP */
	case 14:	/* #PF */
	case 17:	/* #AC */
	case 21:	/* #CP */
		return true;
	default:
		return false;
	}
}

TV_VMX_ROOT enum tv_getsec_action tv_getsec_action(u32 leaf, unsigned int cpl,
				       u64 guest_cr4, u32 smx_caps)
{
	if (!(guest_cr4 & TV_CR4_SMXE))
		return TV_GETSEC_INJECT_UD;
	if (leaf == TV_GETSEC_CAPABILITIES)
		return TV_GETSEC_EXECUTE;
	/* Leaves 2-8 exist when CAPABILITIES reports them; 1 is undefined. */
	if (leaf < 2 || leaf > 8 || !(smx_caps & (1u << leaf)))
		return TV_GETSEC_INJECT_UD;
	if (leaf == TV_GETSEC_PARAMETERS)
		return TV_GETSEC_EXECUTE;
	return TV_GETSEC_INJECT_GP;
}

TV_VMX_ROOT enum tv_entry_fail_action tv_entry_fail_action(u32 exit_reason,
					       bool launched)
{
	if (TV_EXIT_BASIC(exit_reason) == TV_EXIT_MACHINE_CHECK)
		return TV_ENTRY_FAIL_MCE;
	if (!launched)
		return TV_ENTRY_FAIL_REPORT;
	return TV_ENTRY_FAIL_PANIC;
}

#define XCR0_X87 TV_BIT(0)
#define XCR0_SSE TV_BIT(1)
#define XCR0_AVX TV_BIT(2)
#define XCR0_MPX (TV_BIT(3) | TV_BIT(4))
#define XCR0_AVX512 (TV_BIT(5) | TV_BIT(6) | TV_BIT(7))
#define XCR0_AMX (TV_BIT(17) | TV_BIT(18))

static bool all_or_none(u64 val, u64 group)
{
	return (val & group) == 0 || (val & group) == group;
}

TV_VMX_ROOT bool tv_xsetbv_valid(u32 xcr, u64 val, u64 supported)
{
	if (xcr != 0)
		return false;
	if (!(val & XCR0_X87) || (val & ~supported))
		return false;
	if ((val & XCR0_AVX) && !(val & XCR0_SSE))
		return false;
	if (!all_or_none(val, XCR0_MPX) || !all_or_none(val, XCR0_AVX512) ||
	    !all_or_none(val, XCR0_AMX))
		return false;
	if ((val & XCR0_AVX512) && !(val & XCR0_AVX))
		return false;
	return true;
}
