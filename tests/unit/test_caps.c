// SPDX-License-Identifier: MIT
/*
 * Control adjustment, capability checks and VMCS field decoding, with
 * known answers from the Intel SDM and the MSR values Bochs' skylake_x
 * model reports (shared/reference/bochs-facts.md).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "core/caps.h"
#include "arch/x86/msr.h"
#include "arch/x86/vmx.h"
#include "arch/x86/vmcs.h"

/*
 * Bochs corei7_skylake_x.  PROC is the TRUE MSR: the legacy one (0x482,
 * 0xf7f9fffe0401e172) also forces CR3-load/store exiting (bits 15, 16).
 */
static void skylake_caps(struct tv_vmx_caps *c)
{
	memset(c, 0, sizeof(*c));
	c->basic = 0xd810000000002bULL;
	c->pin = 0x7f00000016ULL;
	c->proc = 0xf7f9fffe04006172ULL;
	c->exit = 0x7fffff00036dffULL;
	c->entry = 0xffff000011ffULL;
	c->proc2 = 0x0217ffff00000000ULL;
	c->ept_vpid = 0xf0106334141ULL;	/* exec-only, walk4, UC, WB, 2M, 1G,
					 * INVEPT(+single/all), A/D, INVVPID */
	c->cr0_fixed0 = 0x80000021ULL;
	c->cr0_fixed1 = 0xffffffffULL;
	c->cr4_fixed0 = 0x2000ULL;
	c->cr4_fixed1 = 0x3727ffULL;
	c->misc = 0x600401e0ULL;	/* activity HLT, shutdown, wait-for-SIPI */
}

/*
 * Bochs core2_penryn_t9600 (shared/reference/cpu-models.md): VMX with TRUE
 * MSRs, secondary controls allowed-1 = 0x41 (virtualize APIC accesses,
 * WBINVD exiting): no EPT, no VPID, no unrestricted guest; EPT_VPID_CAP
 * raises #GP, so the host reads 0.  MISC and the fixed CR values are
 * constructed (not in the probe's notes).
 */
static void penryn_caps(struct tv_vmx_caps *c)
{
	skylake_caps(c);
	c->proc2 = 0x0000004100000000ULL;
	c->ept_vpid = 0;
	c->misc = 0x401e0ULL;
}

/*
 * Bochs corei5_lynnfield_750: EPT (no 1 GB, no A/D) and VPID with all four
 * INVVPID types, PROC2 allowed-1 = 0x7f: no unrestricted guest.
 * EPT_VPID_CAP is Bochs' 0x06114141 plus 0xf01 << 32; MISC as Sandy Bridge.
 */
static void lynnfield_caps(struct tv_vmx_caps *c)
{
	skylake_caps(c);
	c->proc2 = 0x0000007f00000000ULL;
	c->ept_vpid = 0xf0106114141ULL;
	c->misc = 0x401e0ULL;
}

static void adjust_sets_required_and_clears_forbidden(void **state)
{
	/* allowed-0 (low) = 0x16 must be 1; allowed-1 (high) = 0x7f. */
	assert_int_equal(tv_adjust_controls(0x7f00000016ULL, 0), 0x16);
	assert_int_equal(tv_adjust_controls(0x7f00000016ULL, 0x80), 0x16);
	assert_int_equal(tv_adjust_controls(0x7f00000016ULL, 0x41), 0x57);
}

static void skylake_controls(void **state)
{
	struct tv_vmx_caps c;
	struct tv_cpu_features f = { .rdtscp = true, .invpcid = true,
				     .xsaves = true, .phys_bits = 39 };
	struct tv_controls ctl;
	const char *why = "x";

	skylake_caps(&c);
	assert_int_equal(tv_check_caps(&c, &why), TV_OK);
	assert_int_equal(tv_choose_controls(&c, &f, &ctl, &why), TV_OK);
	assert_null(why);
	/* Only what we need: MSR bitmaps and secondary controls, no
	 * CR3/CR8/I/O/RDTSC/HLT exiting (TRUE controls allow them off). */
	assert_true(ctl.proc & PROC_USE_MSR_BITMAPS);
	assert_true(ctl.proc & PROC_SECONDARY_CONTROLS);
	assert_false(ctl.proc & (PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING |
				 PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING |
				 PROC_UNCOND_IO_EXITING | PROC_USE_IO_BITMAPS |
				 PROC_RDTSC_EXITING | PROC_HLT_EXITING |
				 PROC_MOV_DR_EXITING | PROC_INVLPG_EXITING));
	assert_int_equal(ctl.proc & 0x04006172u, 0x04006172u);	/* default1 */
	assert_int_equal(ctl.pin, 0x16);	/* no interrupt/NMI exiting */
	assert_int_equal(ctl.proc2, PROC2_ENABLE_EPT | PROC2_ENABLE_VPID |
			 PROC2_UNRESTRICTED_GUEST | PROC2_ENABLE_RDTSCP |
			 PROC2_ENABLE_INVPCID | PROC2_ENABLE_XSAVES);
	assert_true(ctl.exit & EXIT_HOST_ADDR_SPACE_SIZE);
	assert_true(ctl.exit & EXIT_LOAD_EFER);
	assert_false(ctl.exit & EXIT_ACK_INTR_ON_EXIT);
	assert_true(ctl.entry & ENTRY_IA32E_MODE_GUEST);
	/*
	 * tv_msr_guest_field() relies on these: EFER and DEBUGCTL are loaded
	 * and saved through the VMCS, PAT is neither (the live MSR).
	 */
	assert_true(ctl.entry & ENTRY_LOAD_EFER);
	assert_true(ctl.exit & EXIT_SAVE_EFER);
	assert_true(ctl.entry & ENTRY_LOAD_DEBUG_CONTROLS);
	assert_true(ctl.exit & EXIT_SAVE_DEBUG_CONTROLS);
	assert_false(ctl.entry & ENTRY_LOAD_PAT);
	assert_false(ctl.exit & (EXIT_SAVE_PAT | EXIT_LOAD_PAT));
	assert_true(ctl.unrestricted_guest);
	assert_true(ctl.ept_1gb);
	/* CR0: NE pinned; PE/PG free under unrestricted guest. */
	assert_int_equal(ctl.cr0_mask, CR0_NE);
	/* CR4: VMXE and the bits VMX cannot have (fixed1 = 0x3727ff). */
	assert_int_equal(ctl.cr4_mask, (~0x3727ffULL & 0xffffffffULL) | CR4_VMXE);
}

static void legacy_controls_keep_default1_bits(void **state)
{
	struct tv_vmx_caps c;
	struct tv_cpu_features f = { 0 };
	struct tv_controls ctl;
	const char *why;

	skylake_caps(&c);
	/* Without TRUE MSRs CR3 load/store exiting are default1 (bits 15,16). */
	c.proc = 0xf7f9fffe0401e172ULL;
	assert_int_equal(tv_choose_controls(&c, &f, &ctl, &why), TV_OK);
	assert_true(ctl.proc & PROC_CR3_LOAD_EXITING);
	assert_true(ctl.proc & PROC_CR3_STORE_EXITING);
	/* No RDTSCP/INVPCID/XSAVES in CPUID: not enabled. */
	assert_false(ctl.proc2 & (PROC2_ENABLE_RDTSCP | PROC2_ENABLE_INVPCID |
				  PROC2_ENABLE_XSAVES));
}

static void refusals_name_the_missing_feature(void **state)
{
	struct tv_vmx_caps c;
	struct tv_cpu_features f = { .xsaves = true, .phys_bits = 39 };
	struct tv_controls ctl;
	const char *why;

	skylake_caps(&c);
	c.basic &= ~(0xfULL << 50);		/* VMCS memory type UC */
	assert_int_equal(tv_check_caps(&c, &why), TV_ERR_VMX_CAPS);
	assert_string_equal(why, "VMCS memory type is not write-back");

	skylake_caps(&c);
	c.ept_vpid &= ~EPT_CAP_INVEPT_ALL;
	assert_int_equal(tv_check_caps(&c, &why), TV_ERR_EPT_CAPS);
	assert_string_equal(why, "INVEPT all-context");

	skylake_caps(&c);
	c.ept_vpid &= ~VPID_CAP_INVVPID_ALL;
	assert_int_equal(tv_check_caps(&c, &why), TV_ERR_EPT_CAPS);
	assert_string_equal(why, "INVVPID all-context");

	skylake_caps(&c);
	c.ept_vpid &= ~EPT_CAP_2MB;
	assert_int_equal(tv_check_caps(&c, &why), TV_ERR_EPT_CAPS);
	assert_string_equal(why, "EPT 2 MB pages");

	skylake_caps(&c);
	c.ept_vpid &= ~EPT_CAP_1GB;		/* optional */
	assert_int_equal(tv_check_caps(&c, &why), TV_OK);
	assert_int_equal(tv_choose_controls(&c, &f, &ctl, &why), TV_OK);
	assert_false(ctl.ept_1gb);

	/* Single-context flushes are optional: all-context stands in. */
	skylake_caps(&c);
	c.ept_vpid &= ~(EPT_CAP_INVEPT_SINGLE | VPID_CAP_INVVPID_SINGLE |
			VPID_CAP_INVVPID_ADDR | VPID_CAP_INVVPID_SINGLE_GLOBALS);
	assert_int_equal(tv_check_caps(&c, &why), TV_OK);

	skylake_caps(&c);
	c.proc2 &= ~((u64)PROC2_ENABLE_VPID << 32);
	assert_int_equal(tv_check_caps(&c, &why), TV_ERR_EPT_CAPS);
	assert_string_equal(why, "VPID");
	assert_int_equal(tv_choose_controls(&c, &f, &ctl, &why), TV_ERR_VMX_CAPS);
	assert_string_equal(why, "VPID");

	skylake_caps(&c);
	c.proc2 &= ~((u64)PROC2_ENABLE_XSAVES << 32);
	assert_int_equal(tv_choose_controls(&c, &f, &ctl, &why), TV_ERR_VMX_CAPS);
	assert_string_equal(why, "enable XSAVES/XRSTORS");
}

/*
 * INIT/SIPI need unrestricted guest (real mode after SIPI) and the
 * wait-for-SIPI activity state (IA32_VMX_MISC bit 8, SDM A.6): refuse a
 * CPU without either, naming it; EPT is named first when it is missing.
 */
static void refusals_for_init_sipi_and_ept(void **state)
{
	struct tv_vmx_caps c;
	struct tv_cpu_features f = { .phys_bits = 36 };
	struct tv_controls ctl;
	const char *why;

	/* Penryn: no EPT, VPID or UG; the reason is EPT. */
	penryn_caps(&c);
	assert_int_equal(tv_check_caps(&c, &why), TV_ERR_EPT_CAPS);
	assert_string_equal(why, "EPT");
	/* Even when EPT_VPID_CAP reads as if it had everything. */
	c.ept_vpid = 0xf0106334141ULL;
	assert_int_equal(tv_check_caps(&c, &why), TV_ERR_EPT_CAPS);
	assert_string_equal(why, "EPT");
	/* No secondary controls at all: still EPT. */
	skylake_caps(&c);
	c.proc &= ~((u64)PROC_SECONDARY_CONTROLS << 32);
	assert_int_equal(tv_check_caps(&c, &why), TV_ERR_EPT_CAPS);
	assert_string_equal(why, "EPT");

	/* Lynnfield: EPT and VPID, no unrestricted guest. */
	lynnfield_caps(&c);
	assert_int_equal(tv_check_caps(&c, &why), TV_ERR_VMX_CAPS);
	assert_string_equal(why, "unrestricted guest");
	assert_int_equal(tv_choose_controls(&c, &f, &ctl, &why), TV_ERR_VMX_CAPS);
	assert_string_equal(why, "unrestricted guest");
	/* Arrandale is Lynnfield plus UG (PROC2 0xff): accepted. */
	c.proc2 = 0x000000ff00000000ULL;
	assert_int_equal(tv_check_caps(&c, &why), TV_OK);
	assert_int_equal(tv_choose_controls(&c, &f, &ctl, &why), TV_OK);
	assert_true(ctl.unrestricted_guest);
	assert_true(ctl.proc2 & PROC2_UNRESTRICTED_GUEST);
	assert_int_equal(ctl.cr0_mask, CR0_NE);
	assert_false(ctl.ept_1gb);

	/* Wait-for-SIPI missing (MISC bit 8): refused, named. */
	skylake_caps(&c);
	c.misc &= ~TV_BIT(8);
	assert_int_equal(tv_check_caps(&c, &why), TV_ERR_VMX_CAPS);
	assert_string_equal(why, "wait-for-SIPI activity state");
	/* HLT and shutdown states alone (bits 6, 7) are not enough. */
	c.misc = 0xc0ULL;
	assert_int_equal(tv_check_caps(&c, &why), TV_ERR_VMX_CAPS);
	c.misc = TV_BIT(8);
	assert_int_equal(tv_check_caps(&c, &why), TV_OK);
}

/*
 * A 4-level EPT walk translates 48-bit guest-physical addresses (SDM
 * 28.2.2); CPUID.80000008H:EAX[7:0] above 48 would leave memory unmapped.
 */
static void refusal_for_maxphyaddr_above_48(void **state)
{
	struct tv_vmx_caps c;
	struct tv_cpu_features f = { 0 };
	struct tv_controls ctl;
	const char *why;

	skylake_caps(&c);
	f.phys_bits = 48;
	assert_int_equal(tv_choose_controls(&c, &f, &ctl, &why), TV_OK);
	f.phys_bits = 46;
	assert_int_equal(tv_choose_controls(&c, &f, &ctl, &why), TV_OK);
	f.phys_bits = 49;
	assert_int_equal(tv_choose_controls(&c, &f, &ctl, &why), TV_ERR_EPT_CAPS);
	assert_string_equal(why, "MAXPHYADDR 49 needs 5-level EPT");
	f.phys_bits = 52;
	assert_int_equal(tv_choose_controls(&c, &f, &ctl, &why), TV_ERR_EPT_CAPS);
	assert_string_equal(why, "MAXPHYADDR 52 needs 5-level EPT");
	f.phys_bits = 53;
	assert_int_equal(tv_choose_controls(&c, &f, &ctl, &why), TV_ERR_EPT_CAPS);
	assert_string_equal(why, "MAXPHYADDR above 52");
	/* With the 5-level walk (EPT_VPID_CAP bit 7): loads, 5-level. */
	c.ept_vpid |= EPT_CAP_WALK5;
	f.phys_bits = 52;
	assert_int_equal(tv_choose_controls(&c, &f, &ctl, &why), TV_OK);
	assert_true(ctl.ept_walk5);
	f.phys_bits = 48;
	assert_int_equal(tv_choose_controls(&c, &f, &ctl, &why), TV_OK);
	assert_false(ctl.ept_walk5);
	f.phys_bits = 53;
	assert_int_equal(tv_choose_controls(&c, &f, &ctl, &why), TV_ERR_EPT_CAPS);
}

/*
 * INVVPID types (SDM Vol. 3 INVVPID; IA32_VMX_EPT_VPID_CAP bits 40-43,
 * A.10): the wanted type when reported, else the narrowest one that
 * flushes at least as much.  INVEPT: bits 25 (single) and 26 (all).
 */
static void invalidation_types(void **state)
{
	struct tv_vmx_caps c;
	const u64 inv_bits = 0xfULL << 40;

	skylake_caps(&c);			/* all four reported */
	assert_int_equal(tv_invvpid_type(&c, 0), 0);
	assert_int_equal(tv_invvpid_type(&c, 1), 1);
	assert_int_equal(tv_invvpid_type(&c, 2), 2);
	assert_int_equal(tv_invvpid_type(&c, 3), 3);
	assert_int_equal(tv_invept_type(&c, 1), 1);
	assert_int_equal(tv_invept_type(&c, 2), 2);

	/* All-context only. */
	c.ept_vpid = (c.ept_vpid & ~inv_bits) | (1ULL << 42);
	c.ept_vpid &= ~(1ULL << 25);
	assert_int_equal(tv_invvpid_type(&c, 0), 2);
	assert_int_equal(tv_invvpid_type(&c, 1), 2);
	assert_int_equal(tv_invvpid_type(&c, 2), 2);
	assert_int_equal(tv_invvpid_type(&c, 3), 2);
	assert_int_equal(tv_invept_type(&c, 1), 2);
	assert_int_equal(tv_invept_type(&c, 2), 2);

	/* Single and all: address and retaining-globals fall to single. */
	c.ept_vpid |= 1ULL << 41;
	assert_int_equal(tv_invvpid_type(&c, 0), 1);
	assert_int_equal(tv_invvpid_type(&c, 3), 1);
	assert_int_equal(tv_invvpid_type(&c, 1), 1);
	assert_int_equal(tv_invvpid_type(&c, 2), 2);

	/*
	 * Retaining-globals reported but not individual-address: an address
	 * flush must not become retaining-globals (it keeps global entries).
	 */
	c.ept_vpid = (c.ept_vpid & ~inv_bits) | (1ULL << 43) | (1ULL << 42);
	assert_int_equal(tv_invvpid_type(&c, 3), 3);
	assert_int_equal(tv_invvpid_type(&c, 0), 2);
	/* Unknown types: all-context. */
	assert_int_equal(tv_invvpid_type(&c, 4), 2);
	assert_int_equal(tv_invept_type(&c, 3), 2);
}

static void vmcs_field_decoding(void **state)
{
	struct tv_vmcs_field_info fi;

	fi = tv_vmcs_field_decode(VMCS_GUEST_RIP);	/* 0x681e */
	assert_int_equal(fi.width, TV_WNATURAL);
	assert_int_equal(fi.type, TV_T_GUEST);
	assert_int_equal(fi.index, 15);
	assert_true(fi.valid);

	fi = tv_vmcs_field_decode(VMCS_EXIT_REASON);	/* 0x4402 */
	assert_int_equal(fi.width, TV_W32);
	assert_int_equal(fi.type, TV_T_EXIT_INFO);
	assert_int_equal(fi.index, 1);

	fi = tv_vmcs_field_decode(VMCS_VPID);		/* 0x0000 */
	assert_int_equal(fi.width, TV_W16);
	assert_int_equal(fi.type, TV_T_CONTROL);

	fi = tv_vmcs_field_decode(VMCS_EPT_POINTER + 1);	/* high half */
	assert_int_equal(fi.width, TV_W64);
	assert_true(fi.high);
	assert_true(fi.valid);

	fi = tv_vmcs_field_decode(VMCS_HOST_RIP);	/* 0x6c16 */
	assert_int_equal(fi.type, TV_T_HOST);
	assert_int_equal(fi.index, 11);

	/* "high" access on a 32-bit field, and reserved bits, are invalid. */
	assert_false(tv_vmcs_field_decode(VMCS_EXIT_REASON + 1).valid);
	assert_false(tv_vmcs_field_decode(0x10000).valid);
	assert_false(tv_vmcs_field_decode(0x1000).valid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(adjust_sets_required_and_clears_forbidden),
		cmocka_unit_test(skylake_controls),
		cmocka_unit_test(legacy_controls_keep_default1_bits),
		cmocka_unit_test(refusals_name_the_missing_feature),
		cmocka_unit_test(refusals_for_init_sipi_and_ept),
		cmocka_unit_test(refusal_for_maxphyaddr_above_48),
		cmocka_unit_test(invalidation_types),
		cmocka_unit_test(vmcs_field_decoding),
	};

	return cmocka_run_group_tests_name("caps", tests, NULL, NULL);
}
