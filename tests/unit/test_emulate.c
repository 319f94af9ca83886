// SPDX-License-Identifier: MIT
/*
 * The exit handlers' pure decisions: CPUID shaping, MSR bitmap positions
 * and actions, CR-access decoding and CR writes, XSETBV validity.  Known
 * answers from the Intel SDM (Vol. 3 Tables 28-3 and 25.6.9, XSETBV).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <cmocka.h>
#include "core/emulate.h"
#include "core/vmm.h"
#include "arch/x86/msr.h"
#include "arch/x86/vmx.h"

static void cpuid_leaf1_hides_vmx_and_shows_hypervisor(void **state)
{
	/* Skylake-SP leaf 1 as the host sees it: OSXSAVE (bit 27) set. */
	struct tv_cpuid r = { 0x50654, 0x800, 0x7ffafbbf, 0xbfebfbff };

	tv_cpuid_shape(1, 0, 0x3606f0 /* OSXSAVE */, &r);
	assert_int_equal(r.ecx, (0x7ffafbbfu & ~0x20u) | 0x80000000u);
	assert_int_equal(r.eax, 0x50654);
	assert_int_equal(r.ebx, 0x800);
	assert_int_equal(r.edx, 0xbfebfbff);
}

/*
 * SDM Vol. 2 CPUID: leaf 1 ECX[27] OSXSAVE and leaf 7.0 ECX[4] OSPKE
 * reflect CR4.OSXSAVE (bit 18) and CR4.PKE (bit 22) of the software
 * asking, here the guest: CPUID in VMX root sees the host's launch CR4.
 */
static void cpuid_os_bits_follow_guest_cr4(void **state)
{
	struct tv_cpuid r;

	/* Host CR4 had OSXSAVE, the guest has cleared it (e.g. noxsave). */
	r = (struct tv_cpuid){ 0x50654, 0x800, 0x7ffafbbf, 0xbfebfbff };
	tv_cpuid_shape(1, 0, 0x3606b0 & ~CR4_OSXSAVE, &r);
	assert_int_equal(r.ecx & (1u << 27), 0);
	/* Host CR4 without OSXSAVE (launched early), the guest set it. */
	r = (struct tv_cpuid){ 0x50654, 0x800, 0x77fafbbf, 0xbfebfbff };
	tv_cpuid_shape(1, 0, CR4_OSXSAVE, &r);
	assert_int_equal(r.ecx, (0x77fafbbfu & ~0x20u) | 0x88000000u);

	/* Leaf 7.0: OSPKE follows CR4.PKE, PKU (ECX[3]) and the rest stay. */
	r = (struct tv_cpuid){ 0, 0xd19f4fbb, 0x0000000c, 0xbc000400 };
	tv_cpuid_shape(7, 0, 1ULL << 22, &r);
	assert_int_equal(r.ecx, 0x1c);
	assert_int_equal(r.ebx, 0xd19f4fbb);
	assert_int_equal(r.edx, 0xbc000400);
	r = (struct tv_cpuid){ 0, 0xd19f4fbb, 0x0000001c, 0xbc000400 };
	tv_cpuid_shape(7, 0, 0x3606f0, &r);
	assert_int_equal(r.ecx, 0x0c);
	/* Subleaf 1 of leaf 7 has no OSPKE: untouched. */
	r = (struct tv_cpuid){ 1, 2, 0x10, 4 };
	tv_cpuid_shape(7, 1, 0, &r);
	assert_int_equal(r.ecx, 0x10);
	r = (struct tv_cpuid){ 1, 2, 0, 4 };
	tv_cpuid_shape(7, 1, 1ULL << 22, &r);
	assert_int_equal(r.ecx, 0);
}

static void cpuid_hypervisor_leaves(void **state)
{
	/* Native CPUs echo the highest basic leaf here: must be replaced. */
	struct tv_cpuid r = { 0x16, 0x1, 0x2, 0x3 };

	tv_cpuid_shape(0x40000000, 0, 0, &r);
	assert_int_equal(r.eax, 0x40000001);
	/* "thin" "viso" "r-hv", little-endian, typed independently. */
	assert_int_equal(r.ebx, 0x6e696874);
	assert_int_equal(r.ecx, 0x6f736976);
	assert_int_equal(r.edx, 0x76682d72);

	r = (struct tv_cpuid){ 9, 9, 9, 9 };
	tv_cpuid_shape(0x40000001, 0, 0, &r);
	assert_int_equal(r.eax, TV_CPUID_INTERFACE);
	assert_int_equal(r.ebx | r.ecx | r.edx, 0);

	r = (struct tv_cpuid){ 9, 9, 9, 9 };
	tv_cpuid_shape(0x400000ff, 0, 0, &r);
	assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
}

static void cpuid_other_leaves_untouched(void **state)
{
	static const u32 leaves[] = { 0, 4, 0xd, 0x3fffffff, 0x40000100,
				      0x80000000, 0x80000008 };
	unsigned int i;

	for (i = 0; i < TV_ARRAY_SIZE(leaves); i++) {
		struct tv_cpuid r = { 1, 2, 0x10 | (1u << 27), 4 };

		tv_cpuid_shape(leaves[i], 0, 0, &r);
		assert_int_equal(r.eax, 1);
		assert_int_equal(r.ebx, 2);
		assert_int_equal(r.ecx, 0x10 | (1u << 27));
		assert_int_equal(r.edx, 4);
	}
}

static void msr_bitmap_positions(void **state)
{
	u8 *bm = calloc(1, TV_MSR_BITMAP_BYTES);

	/* SDM 25.6.9: read-low at 0, read-high at 1024, write-low at 2048,
	 * write-high at 3072; one bit per MSR. */
	assert_true(tv_msr_bitmap_set(bm, 0x480, true, false));
	assert_int_equal(bm[0x480 / 8], 1u << (0x480 % 8));
	assert_true(tv_msr_bitmap_set(bm, 0xc0000082, false, true));
	assert_int_equal(bm[3072 + 0x82 / 8], 1u << (0x82 % 8));
	assert_true(tv_msr_bitmap_set(bm, 0x1fff, true, true));
	assert_int_equal(bm[1023], 0x80);
	assert_int_equal(bm[2048 + 1023], 0x80);
	assert_false(tv_msr_bitmap_set(bm, 0x2000, true, true));
	assert_false(tv_msr_bitmap_set(bm, 0xc0002000, true, true));
	assert_true(tv_msr_bitmap_exits(bm, 0x480, false));
	assert_false(tv_msr_bitmap_exits(bm, 0x480, true));
	assert_true(tv_msr_bitmap_exits(bm, 0x40000000, false));
	free(bm);
}

static void msr_default_bitmap(void **state)
{
	u8 *bm = calloc(1, TV_MSR_BITMAP_BYTES);
	static const u32 hot[] = { MSR_IA32_FS_BASE, MSR_IA32_GS_BASE,
				   MSR_IA32_KERNEL_GS_BASE, MSR_IA32_EFER,
				   MSR_IA32_SYSENTER_EIP, 0x6e0 /* TSC deadline */,
				   0x830 /* x2APIC ICR */, 0x80b /* x2APIC EOI */,
				   0x10 /* TSC */, 0xc0000103 /* TSC_AUX */ };
	unsigned int i;
	u32 msr;

	memset(bm, 0xff, TV_MSR_BITMAP_BYTES);
	tv_msr_bitmap_build(bm);
	for (msr = MSR_IA32_VMX_FIRST; msr <= MSR_IA32_VMX_LAST; msr++)
		assert_true(tv_msr_bitmap_exits(bm, msr, false));
	/* Linux's hot-path MSRs never exit. */
	for (i = 0; i < TV_ARRAY_SIZE(hot); i++) {
		assert_false(tv_msr_bitmap_exits(bm, hot[i], false));
		assert_false(tv_msr_bitmap_exits(bm, hot[i], true));
	}
	free(bm);
}

static void msr_actions(void **state)
{
	/* VMX capabilities: #GP, as on a CPU without VMX. */
	assert_int_equal(tv_msr_exit_action(0x480, false), TV_MSR_INJECT_GP);
	assert_int_equal(tv_msr_exit_action(0x48c, true), TV_MSR_INJECT_GP);
	assert_int_equal(tv_msr_exit_action(0x493, false), TV_MSR_INJECT_GP);
	/*
	 * Outside both bitmap ranges (SDM 25.6.9: 0-0x1fff and
	 * 0xc0000000-0xc0001fff): real MSRs exist there, the hardware
	 * decides.  Alder Lake uncore 0x2000/0x2fdf/0x2ff0, SPR 0x200e.
	 */
	assert_int_equal(tv_msr_exit_action(0x2000, false), TV_MSR_HARDWARE);
	assert_int_equal(tv_msr_exit_action(0x200e, true), TV_MSR_HARDWARE);
	assert_int_equal(tv_msr_exit_action(0x2fdf, false), TV_MSR_HARDWARE);
	assert_int_equal(tv_msr_exit_action(0x2ff0, true), TV_MSR_HARDWARE);
	assert_int_equal(tv_msr_exit_action(0x12345678, false), TV_MSR_HARDWARE);
	assert_int_equal(tv_msr_exit_action(0x40000000, true), TV_MSR_HARDWARE);
	assert_int_equal(tv_msr_exit_action(0xbfffffff, false), TV_MSR_HARDWARE);
	assert_int_equal(tv_msr_exit_action(0xc0002000, false), TV_MSR_HARDWARE);
	assert_int_equal(tv_msr_exit_action(0xffffffff, true), TV_MSR_HARDWARE);
	/* In range, intercepted by an extension: the real MSR. */
	assert_int_equal(tv_msr_exit_action(0x47f, false), TV_MSR_PASSTHROUGH);
	assert_int_equal(tv_msr_exit_action(0x494, false), TV_MSR_PASSTHROUGH);
	assert_int_equal(tv_msr_exit_action(0x1fff, true), TV_MSR_PASSTHROUGH);
	assert_int_equal(tv_msr_exit_action(0xc0000000, true), TV_MSR_PASSTHROUGH);
	assert_int_equal(tv_msr_exit_action(MSR_IA32_EFER, false), TV_MSR_PASSTHROUGH);
	assert_int_equal(tv_msr_exit_action(0x3a, false), TV_MSR_PASSTHROUGH);
	assert_int_equal(tv_msr_exit_action(0xc0001fff, false), TV_MSR_PASSTHROUGH);
}

/*
 * MSRs VM entry/exit switch through the VMCS: the guest-state field
 * encodings of SDM Vol. 3 Appendix B, typed here from the SDM rather than
 * from arch/x86/vmcs.h (B.2.3 64-bit guest state, B.3.3 32-bit guest
 * state, B.4.3 natural-width guest state).
 */
static void msr_guest_fields(void **state)
{
	static const struct {
		u32 msr, field;
	} sdm[] = {
		{ 0xc0000080, 0x2806 },	/* IA32_EFER -> guest IA32_EFER */
		{ 0x1d9, 0x2802 },	/* IA32_DEBUGCTL -> guest IA32_DEBUGCTL */
		{ 0x174, 0x482a },	/* SYSENTER_CS -> guest IA32_SYSENTER_CS */
		{ 0x175, 0x6824 },	/* SYSENTER_ESP -> guest IA32_SYSENTER_ESP */
		{ 0x176, 0x6826 },	/* SYSENTER_EIP -> guest IA32_SYSENTER_EIP */
		{ 0xc0000100, 0x680e },	/* FS_BASE -> guest FS base */
		{ 0xc0000101, 0x6810 },	/* GS_BASE -> guest GS base */
	};
	static const u32 live[] = {
		0x277,		/* PAT: no load/save-PAT controls, live MSR */
		0xc0000102,	/* KERNEL_GS_BASE: never switched */
		0xc0000081, 0xc0000082, 0xc0000084,	/* STAR LSTAR FMASK */
		0x10, 0x3a, 0x1a0, 0x6e0, 0x173, 0x177, 0x1d8, 0x1da,
		0xc000007f, 0xc0000103, 0x2ff0, 0x480,
	};
	unsigned int i;

	for (i = 0; i < TV_ARRAY_SIZE(sdm); i++)
		assert_int_equal(tv_msr_guest_field(sdm[i].msr), sdm[i].field);
	for (i = 0; i < TV_ARRAY_SIZE(live); i++)
		assert_int_equal(tv_msr_guest_field(live[i]), 0);
}

static void cr_access_decoding(void **state)
{
	struct tv_cr_access a;

	/* mov %rax, %cr4: CR 4, type 0, register 0. */
	a = tv_cr_access_decode(0x4);
	assert_int_equal(a.cr, 4);
	assert_int_equal(a.type, TV_CR_MOV_TO);
	assert_int_equal(a.gpr, 0);
	/* mov %cr3, %r13: CR 3, type 1, register 13. */
	a = tv_cr_access_decode(0x3 | (1 << 4) | (13 << 8));
	assert_int_equal(a.cr, 3);
	assert_int_equal(a.type, TV_CR_MOV_FROM);
	assert_int_equal(a.gpr, 13);
	/* lmsw with source data 0x0001. */
	a = tv_cr_access_decode((3 << 4) | (1ULL << 16));
	assert_int_equal(a.type, TV_CR_LMSW);
	assert_int_equal(a.lmsw_source, 1);
	a = tv_cr_access_decode(2 << 4);
	assert_int_equal(a.type, TV_CR_CLTS);
}

static const struct tv_cr_policy policy = {
	.cr0_fixed0 = 0x80000021ULL, .cr0_fixed1 = 0xffffffffULL,
	.cr4_fixed0 = 0x2000ULL, .cr4_fixed1 = 0x3727ffULL,
	.unrestricted_guest = true,
};

static void cr4_writes(void **state)
{
	u64 real = 0, shadow = 0;

	assert_int_equal(tv_cr_write(&policy, 4, 0x3606f0, &real, &shadow), 0);
	assert_int_equal(shadow, 0x3606f0);
	assert_int_equal(real, 0x3606f0 | CR4_VMXE);
	/* Setting VMXE: #GP, the guest sees no VMX. */
	assert_int_equal(tv_cr_write(&policy, 4, 0x3606f0 | CR4_VMXE, &real, &shadow), VEC_GP);
	/* A bit VMX operation cannot have (here bit 23): #GP. */
	assert_int_equal(tv_cr_write(&policy, 4, 0x3606f0 | (1ULL << 23), &real, &shadow), VEC_GP);
	assert_int_equal(tv_cr_write(&policy, 4, 1ULL << 40, &real, &shadow), VEC_GP);
}

static void cr0_writes(void **state)
{
	u64 real = 0, shadow = 0;

	assert_int_equal(tv_cr_write(&policy, 0, 0x80050033, &real, &shadow), 0);
	assert_int_equal(real, 0x80050033);
	/* Clearing NE: the guest reads what it wrote, VMX keeps NE set. */
	assert_int_equal(tv_cr_write(&policy, 0, 0x80050013, &real, &shadow), 0);
	assert_int_equal(shadow, 0x80050013);
	assert_int_equal(real, 0x80050033);
	/* PG without PE, NW without CD, upper bits: #GP as on hardware. */
	assert_int_equal(tv_cr_write(&policy, 0, 0x80000020, &real, &shadow), VEC_GP);
	assert_int_equal(tv_cr_write(&policy, 0, 0x20000031, &real, &shadow), VEC_GP);
	assert_int_equal(tv_cr_write(&policy, 0, 0x100000031ULL, &real, &shadow), VEC_GP);
	/* Real mode is fine under unrestricted guest... */
	assert_int_equal(tv_cr_write(&policy, 0, 0x60000010, &real, &shadow), 0);
	assert_int_equal(real, 0x60000030);
	/* ...and forced to PE|PG without it. */
	{
		struct tv_cr_policy p = policy;

		p.unrestricted_guest = false;
		assert_int_equal(tv_cr_write(&p, 0, 0x60000010, &real, &shadow), 0);
		assert_int_equal(real, 0xe0000031);
	}
	assert_int_equal(tv_cr_write(&policy, 3, 0, &real, &shadow), VEC_GP);
}

/*
 * SDM 26.2.1.3 (VM-entry checks on the entry-interruption field) and
 * Vol. 3 Table 6-1: exactly #DF(8), #TS(10), #NP(11), #SS(12), #GP(13),
 * #PF(14), #AC(17) and #CP(21) push an error code, and none does when the
 * guest CR0 field has PE=0 (real mode under unrestricted guest).
 */
static void exception_error_codes(void **state)
{
	static const u32 with_code[] = { 8, 10, 11, 12, 13, 14, 17, 21 };
	const u64 pm = 0x80050033, rm = 0x60000030;	/* PE=1 / PE=0 */
	u32 v, i, n = 0;

	for (v = 0; v < 32; v++) {
		bool expect = false;

		for (i = 0; i < TV_ARRAY_SIZE(with_code); i++)
			expect |= with_code[i] == v;
		assert_int_equal(tv_exception_has_error_code(v, pm), expect);
		assert_false(tv_exception_has_error_code(v, rm));
		n += expect;
	}
	assert_int_equal(n, 8);
	/* PE alone decides, not PG: protected mode without paging. */
	assert_true(tv_exception_has_error_code(13, 0x11));
	assert_false(tv_exception_has_error_code(13, 0x10));
	/* #DB, #UD, #BP, #MC never carry one. */
	assert_false(tv_exception_has_error_code(1, pm));
	assert_false(tv_exception_has_error_code(6, pm));
	assert_false(tv_exception_has_error_code(18, pm));
}

/*
 * SDM Vol. 2 MOV to/from control registers: outside 64-bit mode the
 * operand is 32 bits, so the upper half of the register is ignored.
 */
static void cr_operand_width(void **state)
{
	const u64 r = 0xdeadbeef80000011ULL;

	assert_int_equal(tv_cr_operand(r, true), r);
	assert_int_equal(tv_cr_operand(r, false), 0x80000011ULL);
	assert_int_equal(tv_cr_operand(0xffffffffULL, false), 0xffffffffULL);
	/* A 32-bit write of PE|PG after a 64->32 switch is not a #GP. */
	{
		u64 real, shadow;

		assert_int_equal(tv_cr_write(&(struct tv_cr_policy){
				.cr0_fixed0 = 0x80000021ULL,
				.cr0_fixed1 = 0xffffffffULL,
				.unrestricted_guest = true }, 0,
				tv_cr_operand(r | CR0_NE, false), &real,
				&shadow), 0);
		assert_int_equal(shadow, 0x80000031ULL);
	}
}

/* SDM Vol. 3 9.8.5: CR0.PG=1 with EFER.LME=1 sets LMA; clearing PG clears it. */
static void efer_lma_follows_cr0_pg(void **state)
{
	const u64 sce_nxe = EFER_SCE | EFER_NXE;

	assert_int_equal(tv_efer_after_cr0_write(EFER_LME | sce_nxe, 0x80000011),
			 EFER_LME | EFER_LMA | sce_nxe);
	assert_int_equal(tv_efer_after_cr0_write(EFER_LME | EFER_LMA, 0x11),
			 EFER_LME);
	/* No LME: never LMA (32-bit or PAE paging). */
	assert_int_equal(tv_efer_after_cr0_write(EFER_NXE, 0x80000011),
			 EFER_NXE);
	/* A stale LMA with LME clear is dropped. */
	assert_int_equal(tv_efer_after_cr0_write(EFER_LMA, 0x80000011), 0);
	assert_int_equal(tv_efer_after_cr0_write(EFER_LME | EFER_LMA,
						 0x80000031), EFER_LME | EFER_LMA);
}

/*
 * SDM Vol. 3 4.1.2 (paging cannot be enabled with LME=1 and PAE=0) and the
 * MOV CR #GP lists (activate IA-32e with CS.L=1; clear PG in 64-bit mode;
 * clear PG while CR4.PCIDE=1).
 */
static void cr0_long_mode_faults(void **state)
{
	const u64 pe = 0x11, pg = 0x80000011;
	const u64 lme = EFER_LME, lma = EFER_LME | EFER_LMA;

	/* Entering long mode: PAE needed, CS.L must be 0. */
	assert_false(tv_cr0_write_faults_long_mode(lme, pe, pg, CR4_PAE, false));
	assert_true(tv_cr0_write_faults_long_mode(lme, pe, pg, 0, false));
	assert_true(tv_cr0_write_faults_long_mode(lme, pe, pg, CR4_PAE, true));
	/* Without LME, 32-bit paging with PAE=0 is fine. */
	assert_false(tv_cr0_write_faults_long_mode(0, pe, pg, 0, false));
	/* Leaving: allowed from compatibility mode, not from 64-bit mode. */
	assert_false(tv_cr0_write_faults_long_mode(lma, pg, pe, CR4_PAE, false));
	assert_true(tv_cr0_write_faults_long_mode(lma, pg, pe, CR4_PAE, true));
	assert_true(tv_cr0_write_faults_long_mode(lma, pg, pe,
						  CR4_PAE | CR4_PCIDE, false));
	/* Writes that keep PG (e.g. toggling NE or WP) never fault here. */
	assert_false(tv_cr0_write_faults_long_mode(lma, pg, pg | CR0_WP,
						   CR4_PAE | CR4_PCIDE, true));
	assert_false(tv_cr0_write_faults_long_mode(lme, pe, pe | CR0_NE, 0,
						   true));
}

/*
 * GETSEC (SDM 25.1.2: exits at any CPL when CR4.SMXE=1) and the SDM's
 * GETSEC leaf pages: CAPABILITIES and PARAMETERS have no CPL condition;
 * ENTERACCS, EXITAC, SENTER, SEXIT, SMCTRL #GP at CPL>0 or in VMX root,
 * WAKEUP in VMX operation; an unsupported leaf is #UD before any #GP.
 */
static void getsec_actions(void **state)
{
	const u64 smxe = 1ULL << 14;
	const u32 all = 0x1fd;	/* chipset + leaves 2-8 (bit 1 undefined) */
	unsigned int cpl;
	u32 leaf;

	for (cpl = 0; cpl < 4; cpl++) {
		/* A user program asking for capabilities gets an answer. */
		assert_int_equal(tv_getsec_action(0, cpl, smxe, 0),
				 TV_GETSEC_EXECUTE);
		assert_int_equal(tv_getsec_action(0, cpl, smxe, all),
				 TV_GETSEC_EXECUTE);
		assert_int_equal(tv_getsec_action(6, cpl, smxe, all),
				 TV_GETSEC_EXECUTE);
		for (leaf = 2; leaf <= 8; leaf++) {
			if (leaf == 6)
				continue;
			assert_int_equal(tv_getsec_action(leaf, cpl, smxe, all),
					 TV_GETSEC_INJECT_GP);
			/* Not reported by CAPABILITIES: #UD, not #GP. */
			assert_int_equal(tv_getsec_action(leaf, cpl, smxe,
							  all & ~(1u << leaf)),
					 TV_GETSEC_INJECT_UD);
		}
		/* PARAMETERS unsupported: never executed in root. */
		assert_int_equal(tv_getsec_action(6, cpl, smxe, all & ~0x40u),
				 TV_GETSEC_INJECT_UD);
		/* Leaf 1 and leaves above 8 do not exist. */
		assert_int_equal(tv_getsec_action(1, cpl, smxe, 0xffffffff),
				 TV_GETSEC_INJECT_UD);
		assert_int_equal(tv_getsec_action(9, cpl, smxe, 0xffffffff),
				 TV_GETSEC_INJECT_UD);
		assert_int_equal(tv_getsec_action(0x80000000, cpl, smxe,
						  0xffffffff),
				 TV_GETSEC_INJECT_UD);
		/* CR4.SMXE=0: #UD for every leaf. */
		for (leaf = 0; leaf <= 9; leaf++)
			assert_int_equal(tv_getsec_action(leaf, cpl, 0x3606f0,
							  all),
					 TV_GETSEC_INJECT_UD);
	}
}

/* SDM 26.7 and 26.8: basic exit reason 41 is a machine check during entry. */
static void entry_failure_actions(void **state)
{
	const u32 fail = 1u << 31;

	assert_int_equal(tv_entry_fail_action(fail | 41, true),
			 TV_ENTRY_FAIL_MCE);
	assert_int_equal(tv_entry_fail_action(fail | 41, false),
			 TV_ENTRY_FAIL_MCE);
	/* 33 invalid guest state, 34 MSR loading: report or panic. */
	assert_int_equal(tv_entry_fail_action(fail | 33, false),
			 TV_ENTRY_FAIL_REPORT);
	assert_int_equal(tv_entry_fail_action(fail | 34, false),
			 TV_ENTRY_FAIL_REPORT);
	assert_int_equal(tv_entry_fail_action(fail | 33, true),
			 TV_ENTRY_FAIL_PANIC);
	assert_int_equal(tv_entry_fail_action(fail | 34, true),
			 TV_ENTRY_FAIL_PANIC);
	/* Bits 16-30 do not hide the basic reason. */
	assert_int_equal(tv_entry_fail_action(fail | (1u << 27) | 41, true),
			 TV_ENTRY_FAIL_MCE);
}

static void xsetbv_validity(void **state)
{
	const u64 sup = 0x2e7;	/* x87 SSE AVX, AVX-512 trio, PKRU */

	assert_true(tv_xsetbv_valid(0, 0x3, sup));
	assert_true(tv_xsetbv_valid(0, 0x7, sup));
	assert_true(tv_xsetbv_valid(0, 0xe7, sup));
	assert_true(tv_xsetbv_valid(0, 0x2e7, sup));
	assert_false(tv_xsetbv_valid(1, 0x3, sup));	/* only XCR0 */
	assert_false(tv_xsetbv_valid(0, 0x2, sup));	/* x87 must be on */
	assert_false(tv_xsetbv_valid(0, 0x5, sup));	/* AVX without SSE */
	assert_false(tv_xsetbv_valid(0, 0x67, sup));	/* AVX-512 partial */
	assert_false(tv_xsetbv_valid(0, 0xe3, sup));	/* AVX-512 w/o AVX */
	assert_false(tv_xsetbv_valid(0, 0x0b, 0x1f));	/* MPX pair split */
	assert_true(tv_xsetbv_valid(0, 0x1b, 0x1f));	/* MPX pair whole */
	assert_true(tv_xsetbv_valid(0, 0x1f, 0x1f));
	assert_false(tv_xsetbv_valid(0, 0x7 | (1ULL << 9), 0x7));	/* unsupported */
	assert_false(tv_xsetbv_valid(0, 0x3 | (1ULL << 17), 0x60003)); /* AMX split */
	assert_true(tv_xsetbv_valid(0, 0x60003, 0x60003));
}

/* MOV CR #GP lists: "clearing CR0.WP while CR4.CET = 1" and "setting
 * CR4.CET while CR0.WP = 0"; CET is CR4 bit 23, WP is CR0 bit 16. */
static void cet_needs_wp(void **state)
{
	const u64 cet = 1ULL << 23, wp = 1ULL << 16;

	assert_true(tv_cr_write_breaks_cet(0, 0x80000033, 0x3506f0 | cet));
	assert_false(tv_cr_write_breaks_cet(0, 0x80000033 | wp, 0x3506f0 | cet));
	assert_false(tv_cr_write_breaks_cet(0, 0x80000033, 0x3506f0));
	assert_true(tv_cr_write_breaks_cet(4, 0x3506f0 | cet, 0x80000033));
	assert_false(tv_cr_write_breaks_cet(4, 0x3506f0 | cet, 0x80000033 | wp));
	assert_false(tv_cr_write_breaks_cet(4, 0x3506f0, 0x80000033));
}

/*
 * The exit stub answers the leaves tv_cpuid_leaf_native() accepts with the
 * bare CPUID, never calling tv_cpuid_shape(): for each of them shaping
 * must change nothing, whatever the subleaf, registers and CR4.  Fails as
 * soon as someone shapes another leaf without teaching the stub.
 */
static void cpuid_fast_path_leaves_are_never_shaped(void **state)
{
	static const u32 leaves[] = {
		0, 2, 3, 4, 5, 6, 8, 0xb, 0xd, 0xf, 0x10, 0x12, 0x14, 0x1f,
		0x3fffffff, 0x40000100, 0x4fffffff, 0x80000000, 0x80000001,
		0x80000008, 0xffffffff,
	};
	static const u64 cr4s[] = { 0, ~0ULL, CR4_OSXSAVE, TV_CR4_PKE };
	unsigned int i, j, k;
	u32 x = 0x12345678;

	for (i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
		assert_true(tv_cpuid_leaf_native(leaves[i]));
		for (j = 0; j < 4; j++)
			for (k = 0; k < 64; k++) {
				struct tv_cpuid r, before;

				x = x * 1103515245 + 12345;
				r.eax = x;
				r.ebx = ~x;
				r.ecx = x ^ 0x5a5a5a5a;
				r.edx = x * 7;
				before = r;
				tv_cpuid_shape(leaves[i], k, cr4s[j], &r);
				assert_memory_equal(&r, &before, sizeof(r));
			}
	}
}

/* ... and every leaf that is shaped is not bare: 1, 7 and ours. */
static void cpuid_shaped_leaves_are_not_bare(void **state)
{
	u32 leaf;

	assert_false(tv_cpuid_leaf_native(1));
	assert_false(tv_cpuid_leaf_native(7));
	for (leaf = TV_CPUID_HV_BASE; leaf <= TV_CPUID_HV_LAST; leaf++)
		assert_false(tv_cpuid_leaf_native(leaf));
	assert_true(tv_cpuid_leaf_native(TV_CPUID_HV_BASE - 1));
	assert_true(tv_cpuid_leaf_native(TV_CPUID_HV_LAST + 1));
}

/*
 * The exit stub shapes leaves 1 and 7.0 with two shifts and masks of the
 * guest's CR4 built from the bit numbers of arch/x86/vmx_stub.h
 * (.Lcpuid_leaf1, .Lcpuid_leaf7): the same arithmetic here, with those
 * numbers, must give tv_cpuid_shape()'s ECX for any native ECX and CR4;
 * and the other registers are the CPU's.  (The e2e test tvguest.ko
 * checks the stub itself.)
 */
static void cpuid_stub_shaping_is_tv_cpuid_shape(void **state)
{
	static const u64 cr4s[] = { 0, ~0ULL, CR4_OSXSAVE, TV_CR4_PKE,
				    CR4_OSXSAVE | TV_CR4_PKE, ~CR4_OSXSAVE,
				    ~TV_CR4_PKE };
	const u32 leaf1_clear = (1u << TV_STUB_CPUID_1_ECX_VMX) |
				(1u << TV_STUB_CPUID_1_ECX_OSXSAVE);
	unsigned int j, k;
	u32 x = 0x9e3779b9, stub;

	for (j = 0; j < sizeof(cr4s) / sizeof(cr4s[0]); j++)
		for (k = 0; k < 256; k++) {
			struct tv_cpuid r, before;
			u32 cr4 = (u32)cr4s[j];

			x = x * 1103515245 + 12345;
			r.eax = x;
			r.ebx = ~x;
			r.ecx = k & 1 ? x : ~x;
			r.edx = x * 7;
			before = r;
			tv_cpuid_shape(1, k, cr4s[j], &r);
			stub = (cr4 << (TV_STUB_CPUID_1_ECX_OSXSAVE -
					TV_STUB_CR4_OSXSAVE)) &
			       (1u << TV_STUB_CPUID_1_ECX_OSXSAVE);
			stub |= 1u << TV_STUB_CPUID_1_ECX_HYPERVISOR;
			stub |= before.ecx & ~leaf1_clear;
			assert_int_equal(r.ecx, stub);
			assert_int_equal(r.eax, before.eax);
			assert_int_equal(r.ebx, before.ebx);
			assert_int_equal(r.edx, before.edx);

			r = before;
			tv_cpuid_shape(7, 0, cr4s[j], &r);
			stub = (cr4 >> (TV_STUB_CR4_PKE -
					TV_STUB_CPUID_7_0_ECX_OSPKE)) &
			       (1u << TV_STUB_CPUID_7_0_ECX_OSPKE);
			stub |= before.ecx & ~(1u << TV_STUB_CPUID_7_0_ECX_OSPKE);
			assert_int_equal(r.ecx, stub);
			assert_int_equal(r.eax, before.eax);
			assert_int_equal(r.ebx, before.ebx);
			assert_int_equal(r.edx, before.edx);
		}
}

/* The fast paths complete an instruction only when that is moving RIP. */
static void fast_completion_only_without_shadow_rf_or_tf(void **state)
{
	assert_true(tv_exit_completes_plainly(0, RFLAGS_FIXED));
	/* IF, NMI blocking and the other RFLAGS bits change nothing. */
	assert_true(tv_exit_completes_plainly(INTERRUPTIBILITY_NMI,
					      RFLAGS_FIXED | TV_BIT(9) |
					      TV_BIT(17) | TV_BIT(21)));
	assert_false(tv_exit_completes_plainly(INTERRUPTIBILITY_STI, 2));
	assert_false(tv_exit_completes_plainly(INTERRUPTIBILITY_MOV_SS, 2));
	assert_false(tv_exit_completes_plainly(0, RFLAGS_FIXED | RFLAGS_RF));
	assert_false(tv_exit_completes_plainly(0, RFLAGS_FIXED | RFLAGS_TF));
	/* The stub's literals (arch/x86/vmx_stub.S) are these masks. */
	assert_int_equal(TV_FAST_INTR_BLOCKING, 3);
	assert_int_equal(TV_FAST_RFLAGS_BITS, 0x10100);
}

/*
 * The exit stub's MSR fast path does the bare RDMSR/WRMSR for the MSRs
 * tv_msr_exit_plain() accepts: exactly those handle_msr() would pass to
 * the hardware unguarded, with no VMCS field in between.  Checked over
 * both bitmap ranges and around them.
 */
static void msr_fast_path_is_exactly_plain_passthrough(void **state)
{
	static const u32 bases[] = { 0, 0xc0000000, 0x40000000, 0xc0010000 };
	unsigned int b;
	u32 msr;

	for (b = 0; b < 4; b++)
		for (msr = bases[b]; msr < bases[b] + 0x2100; msr++) {
			bool plain =
				tv_msr_exit_action(msr, false) == TV_MSR_PASSTHROUGH &&
				tv_msr_exit_action(msr, true) == TV_MSR_PASSTHROUGH &&
				tv_msr_guest_field(msr) == 0;

			if (tv_msr_exit_plain(msr) != plain)
				fail_msg("MSR 0x%x: fast path %d, handle_msr plain %d",
					 msr, tv_msr_exit_plain(msr), plain);
		}
	assert_true(tv_msr_exit_plain(0x10));	/* IA32_TSC */
	assert_false(tv_msr_exit_plain(MSR_IA32_EFER));
	assert_false(tv_msr_exit_plain(0xffffffff));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cet_needs_wp),
		cmocka_unit_test(cpuid_leaf1_hides_vmx_and_shows_hypervisor),
		cmocka_unit_test(cpuid_fast_path_leaves_are_never_shaped),
		cmocka_unit_test(cpuid_shaped_leaves_are_not_bare),
		cmocka_unit_test(cpuid_stub_shaping_is_tv_cpuid_shape),
		cmocka_unit_test(fast_completion_only_without_shadow_rf_or_tf),
		cmocka_unit_test(msr_fast_path_is_exactly_plain_passthrough),
		cmocka_unit_test(cpuid_os_bits_follow_guest_cr4),
		cmocka_unit_test(cpuid_hypervisor_leaves),
		cmocka_unit_test(cpuid_other_leaves_untouched),
		cmocka_unit_test(msr_bitmap_positions),
		cmocka_unit_test(msr_default_bitmap),
		cmocka_unit_test(msr_actions),
		cmocka_unit_test(msr_guest_fields),
		cmocka_unit_test(cr_access_decoding),
		cmocka_unit_test(cr4_writes),
		cmocka_unit_test(cr0_writes),
		cmocka_unit_test(xsetbv_validity),
		cmocka_unit_test(exception_error_codes),
		cmocka_unit_test(cr_operand_width),
		cmocka_unit_test(efer_lma_follows_cr0_pg),
		cmocka_unit_test(cr0_long_mode_faults),
		cmocka_unit_test(getsec_actions),
		cmocka_unit_test(entry_failure_actions),
	};

	return cmocka_run_group_tests_name("emulate", tests, NULL, NULL);
}
