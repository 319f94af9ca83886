// SPDX-License-Identifier: MIT
/*
 * Event-injection decisions (core/inject.c) against the SDM: the
 * interruption-information format (Vol. 3C 25.8.3: vector 7:0, type 10:8,
 * deliver-error-code 11, valid 31), re-injection from the IDT-vectoring
 * information (28.2.4, instruction length 28.2.5), NMI unblocking by IRET
 * (28.2.3) and the double-fault classes (Vol. 3A Tables 6-4, 6-5).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <cmocka.h>
#include "core/inject.h"
#include "arch/x86/vmx.h"

static void hardware_exceptions(void **state)
{
	struct tv_event e;

	/* #GP(0x10) in protected mode: 0x80000b0d with the error code. */
	e = tv_event_hw_exception(13, 0x10, CR0_PE | CR0_PG);
	assert_int_equal(e.info, 0x80000b0d);
	assert_int_equal(e.error, 0x10);
	assert_int_equal(e.instr_len, 0);
	/* #UD: no error code. */
	e = tv_event_hw_exception(6, 0x55, CR0_PE);
	assert_int_equal(e.info, 0x80000306);
	assert_int_equal(e.error, 0);
	/* Real mode: never an error code (SDM 26.2.1.3). */
	e = tv_event_hw_exception(13, 0x10, 0);
	assert_int_equal(e.info, 0x8000030d);
	/* #PF, #DF, #AC push one; vector 32 is no exception. */
	assert_int_equal(tv_event_page_fault(6, CR0_PE).info, 0x80000b0e);
	assert_int_equal(tv_event_page_fault(6, CR0_PE).error, 6);
	assert_int_equal(tv_event_hw_exception(8, 0, CR0_PE).info, 0x80000b08);
	assert_int_equal(tv_event_hw_exception(17, 0, CR0_PE).info,
			 0x80000b11);
	assert_int_equal(tv_event_hw_exception(32, 0, CR0_PE).info, 0);
}

static void software_events(void **state)
{
	struct tv_event e;

	/* INT3 (CC): type 6, length 1; CD 03: length 2; INTO type 6. */
	e = tv_event_sw_exception(3, 1);
	assert_int_equal(e.info, 0x80000603);
	assert_int_equal(e.instr_len, 1);
	assert_int_equal(tv_event_sw_exception(3, 2).instr_len, 2);
	assert_int_equal(tv_event_sw_exception(4, 1).info, 0x80000604);
	assert_int_equal(tv_event_sw_exception(13, 1).info, 0);
	/* INT 0x80: type 4. */
	e = tv_event_sw_interrupt(0x80, 2);
	assert_int_equal(e.info, 0x80000480);
	assert_int_equal(e.instr_len, 2);
	/* ICEBP: type 5, vector 1, length 1. */
	e = tv_event_icebp();
	assert_int_equal(e.info, 0x80000501);
	assert_int_equal(e.instr_len, 1);
	/* NMI: type 2 vector 2; external interrupt 0xec: type 0. */
	assert_int_equal(tv_event_nmi().info, 0x80000202);
	assert_int_equal(tv_event_ext_interrupt(0xec).info, 0x800000ec);
	assert_int_equal(tv_event_ext_interrupt(0xec).instr_len, 0);
}

static void reinjection(void **state)
{
	struct tv_event e;
	bool clear;

	/* Nothing was being delivered. */
	assert_false(tv_event_reinject(0x00000b0e, 7, 3, &e, &clear));
	assert_int_equal(e.info, 0);
	assert_false(clear);
	/* A #PF with error code: info and error carry over, no length,
	 * bit 12 (undefined) and reserved bits dropped. */
	assert_true(tv_event_reinject(0x80001b0e | (1u << 20), 0x6, 3, &e,
				      &clear));
	assert_int_equal(e.info, 0x80000b0e);
	assert_int_equal(e.error, 6);
	assert_int_equal(e.instr_len, 0);
	assert_false(clear);
	/* INT 0x80 interrupted by an EPT violation on the IDT: length. */
	assert_true(tv_event_reinject(0x80000480, 0xdead, 2, &e, &clear));
	assert_int_equal(e.info, 0x80000480);
	assert_int_equal(e.error, 0);
	assert_int_equal(e.instr_len, 2);
	/* INT3 and ICEBP likewise. */
	assert_true(tv_event_reinject(0x80000603, 0, 1, &e, &clear));
	assert_int_equal(e.instr_len, 1);
	assert_true(tv_event_reinject(0x80000501, 0, 1, &e, &clear));
	assert_int_equal(e.instr_len, 1);
	/* External interrupt: no length even if the field holds one. */
	assert_true(tv_event_reinject(0x800000ec, 0, 5, &e, &clear));
	assert_int_equal(e.instr_len, 0);
	assert_false(clear);
	/* NMI: must be injected with NMI blocking clear. */
	assert_true(tv_event_reinject(0x80000202, 0, 0, &e, &clear));
	assert_int_equal(e.info, 0x80000202);
	assert_true(clear);
}

static void nmi_unblocking_by_iret(void **state)
{
	assert_true(tv_event_iret_nmi_blocking(true, 14, 0));
	assert_true(tv_event_iret_nmi_blocking(true, ~0u, 0));
	assert_false(tv_event_iret_nmi_blocking(false, 14, 0));
	/* #DF, or an event being delivered: bit 12 is undefined. */
	assert_false(tv_event_iret_nmi_blocking(true, 8, 0));
	assert_false(tv_event_iret_nmi_blocking(true, 14, 0x80000b0e));
}

static void double_faults(void **state)
{
	struct tv_event e;
	bool shut;

	/* #GP while delivering #NP: contributory twice = #DF(0). */
	e = tv_event_combine(0x80000b0b, 13, 0x18, CR0_PE, &shut);
	assert_false(shut);
	assert_int_equal(e.info, 0x80000b08);
	assert_int_equal(e.error, 0);
	/* #PF while delivering #PF: #DF; #GP after #PF: #DF. */
	assert_int_equal(tv_event_combine(0x80000b0e, 14, 2, CR0_PE, &shut).info,
			 0x80000b08);
	assert_int_equal(tv_event_combine(0x80000b0e, 13, 0, CR0_PE, &shut).info,
			 0x80000b08);
	/* #PF while delivering #GP: serially, the #PF. */
	e = tv_event_combine(0x80000b0d, 14, 2, CR0_PE, &shut);
	assert_int_equal(e.info, 0x80000b0e);
	assert_int_equal(e.error, 2);
	/* Benign first (#DB, NMI, INT n, ext. interrupt): serially. */
	assert_int_equal(tv_event_combine(0x80000301, 13, 0, CR0_PE, &shut).info,
			 0x80000b0d);
	assert_int_equal(tv_event_combine(0x80000202, 14, 0, CR0_PE, &shut).info,
			 0x80000b0e);
	assert_int_equal(tv_event_combine(0x8000040d, 13, 0, CR0_PE, &shut).info,
			 0x80000b0d);
	assert_int_equal(tv_event_combine(0x80000030, 13, 0, CR0_PE, &shut).info,
			 0x80000b0d);
	/* Contributory then benign: serially. */
	assert_int_equal(tv_event_combine(0x80000b0d, 6, 0, CR0_PE, &shut).info,
			 0x80000306);
	/* #DF then #GP or #PF: shutdown. */
	e = tv_event_combine(0x80000b08, 13, 0, CR0_PE, &shut);
	assert_true(shut);
	assert_int_equal(e.info, 0);
	tv_event_combine(0x80000b08, 14, 0, CR0_PE, &shut);
	assert_true(shut);
	/* Nothing being delivered: the exception alone. */
	assert_int_equal(tv_event_combine(0, 13, 4, CR0_PE, &shut).error, 4);
	assert_false(shut);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hardware_exceptions),
		cmocka_unit_test(software_events),
		cmocka_unit_test(reinjection),
		cmocka_unit_test(nmi_unblocking_by_iret),
		cmocka_unit_test(double_faults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
