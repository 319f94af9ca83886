// SPDX-License-Identifier: MIT
/*
 * The one list of exit reasons (include/thinvisor/exit_reasons.h): the
 * core's enum and the names tvctl and the logs print agree with the SDM's
 * numbers (Vol. 3, Appendix C), and the gaps stay nameless.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "core/types.h"
#include "core/vmm.h"
#include "arch/x86/vmx.h"
#include "thinvisor/uapi.h"

static void numbers_are_the_sdms(void **state)
{
	assert_int_equal(TV_EXIT_EXCEPTION_NMI, 0);
	assert_int_equal(TV_EXIT_TRIPLE_FAULT, 2);
	assert_int_equal(TV_EXIT_CPUID, 10);
	assert_int_equal(TV_EXIT_VMCALL, 18);
	assert_int_equal(TV_EXIT_CR_ACCESS, 28);
	assert_int_equal(TV_EXIT_WRMSR, 32);
	assert_int_equal(TV_EXIT_MWAIT, 36);
	assert_int_equal(TV_EXIT_MTF, 37);
	assert_int_equal(TV_EXIT_EPT_VIOLATION, 48);
	assert_int_equal(TV_EXIT_XSETBV, 55);
	assert_int_equal(TV_EXIT_XRSTORS, 64);
}

static void names_come_from_the_same_list(void **state)
{
	assert_string_equal(tv_exit_reason_name(TV_EXIT_CPUID), "CPUID");
	assert_string_equal(tv_exit_reason_name(0), "EXCEPTION_NMI");
	assert_string_equal(tv_exit_reason_name(37), "MTF");
	assert_string_equal(tv_exit_reason_name(55), "XSETBV");
	assert_string_equal(tv_exit_reason_name(64), "XRSTORS");
	/* Reserved numbers and numbers past the list have no name. */
	assert_null(tv_exit_reason_name(35));
	assert_null(tv_exit_reason_name(38));
	assert_null(tv_exit_reason_name(42));
	assert_null(tv_exit_reason_name(65));
	assert_null(tv_exit_reason_name(0xffff));
}

static void every_table_has_a_slot_per_reason(void **state)
{
	unsigned int r, named = 0;

	assert_int_equal(TV_EXIT_MAX, TV_EXIT_REASON_SLOTS);
	assert_int_equal(TV_STAT_REASONS, TV_EXIT_REASON_SLOTS);
	assert_int_equal(TV_UAPI_STAT_REASONS, TV_EXIT_REASON_SLOTS);
	for (r = 0; r < TV_EXIT_REASON_SLOTS; r++)
		named += tv_exit_reason_name(r) != NULL;
	assert_int_equal(named, 62);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(numbers_are_the_sdms),
		cmocka_unit_test(names_come_from_the_same_list),
		cmocka_unit_test(every_table_has_a_slot_per_reason),
	};

	return cmocka_run_group_tests_name("exit_reasons", tests, NULL, NULL);
}
