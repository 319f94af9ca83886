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
	struct tv_cpu_features f = { .xsaves = true };
	struct tv_controls ctl;
	const char *why;

	skylake_caps(&c);
	c.basic &= ~(0xfULL << 50);		/* VMCS memory type UC */
	assert_int_equal(tv_check_caps(&c, &why), TV_ERR_VMX_CAPS);
	assert_string_equal(why, "VMCS memory type is not write-back");

	skylake_caps(&c);
	c.ept_vpid &= ~EPT_CAP_INVEPT_SINGLE;
	assert_int_equal(tv_check_caps(&c, &why), TV_ERR_EPT_CAPS);
	assert_string_equal(why, "INVEPT single-context");

	skylake_caps(&c);
	c.ept_vpid &= ~EPT_CAP_2MB;
	assert_int_equal(tv_check_caps(&c, &why), TV_ERR_EPT_CAPS);

	skylake_caps(&c);
	c.ept_vpid &= ~EPT_CAP_1GB;		/* optional */
	assert_int_equal(tv_check_caps(&c, &why), TV_OK);
	assert_int_equal(tv_choose_controls(&c, &f, &ctl, &why), TV_OK);
	assert_false(ctl.ept_1gb);

	skylake_caps(&c);
	c.proc2 &= ~((u64)PROC2_ENABLE_VPID << 32);
	assert_int_equal(tv_choose_controls(&c, &f, &ctl, &why), TV_ERR_VMX_CAPS);
	assert_string_equal(why, "VPID");

	skylake_caps(&c);
	c.proc2 &= ~((u64)PROC2_ENABLE_XSAVES << 32);
	assert_int_equal(tv_choose_controls(&c, &f, &ctl, &why), TV_ERR_VMX_CAPS);
	assert_string_equal(why, "enable XSAVES/XRSTORS");

	skylake_caps(&c);
	c.proc2 &= ~((u64)PROC2_UNRESTRICTED_GUEST << 32);
	f.xsaves = false;
	assert_int_equal(tv_choose_controls(&c, &f, &ctl, &why), TV_OK);
	assert_false(ctl.unrestricted_guest);
	assert_false(ctl.proc2 & PROC2_UNRESTRICTED_GUEST);
	assert_int_equal(ctl.cr0_mask, CR0_PE | CR0_NE | CR0_PG);
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
		cmocka_unit_test(vmcs_field_decoding),
	};

	return cmocka_run_group_tests_name("caps", tests, NULL, NULL);
}
