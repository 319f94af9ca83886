// SPDX-License-Identifier: MIT
/*
 * VMX root's own IDT: the gate format (SDM Vol. 3, 6.14.1, Figure 6-8),
 * the choice of what to do with NMIs and machine checks that reached VMX
 * root (SDM 26.3.1.5 on what VM entry may inject), and the resume-window
 * rewind of the exit stub.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <cmocka.h>
#include "core/root.h"

static void gate_known_answer(void **state)
{
	u64 g[2];

	/* Offset 0xffffffffc0123456 in CS 0x10: offset 15:0 in bits 15:0,
	 * selector in 31:16, P=1 DPL=0 type 0xE in 47:40, offset 31:16 in
	 * 63:48, offset 63:32 in the second quadword. */
	tv_idt_gate(g, 0xffffffffc0123456ULL, 0x10);
	assert_int_equal(g[0], 0xc0128e0000103456ULL);
	assert_int_equal(g[1], 0xffffffffULL);
}

static void gate_has_no_ist_and_is_present(void **state)
{
	u64 g[2];

	tv_idt_gate(g, 0x1234567890abcdefULL, 0x33);
	assert_int_equal((g[0] >> 32) & 7, 0);		/* IST 0 */
	assert_int_equal((g[0] >> 47) & 1, 1);		/* present */
	assert_int_equal((g[0] >> 45) & 3, 0);		/* DPL 0 */
	assert_int_equal((g[0] >> 40) & 0xf, 0xe);	/* 64-bit intr gate */
	assert_int_equal((g[0] >> 16) & 0xffff, 0x33);
	assert_int_equal((g[0] & 0xffff) | ((g[0] >> 48) << 16) |
			 (g[1] << 32), 0x1234567890abcdefULL);
}

static void nothing_pending_does_nothing(void **state)
{
	assert_int_equal(tv_root_event_action(0, 0, 0, 0, ACTIVITY_ACTIVE),
			 TV_EVENT_NONE);
	/* Even with everything blocked. */
	assert_int_equal(tv_root_event_action(0, 0, INTR_INFO_VALID,
					      INTERRUPTIBILITY_NMI,
					      ACTIVITY_WAIT_SIPI),
			 TV_EVENT_NONE);
}

static void nmi_injected_when_the_guest_can_take_it(void **state)
{
	assert_int_equal(tv_root_event_action(1, 0, 0, 0, ACTIVITY_ACTIVE),
			 TV_EVENT_INJECT_NMI);
	/* HLT may take an NMI (SDM 26.3.1.5: activity HLT allows NMI). */
	assert_int_equal(tv_root_event_action(3, 0, 0, 0, ACTIVITY_HLT),
			 TV_EVENT_INJECT_NMI);
}

static void nmi_waits_behind_a_shadow_or_nmi_blocking(void **state)
{
	static const u32 blocking[] = { INTERRUPTIBILITY_STI,
					INTERRUPTIBILITY_MOV_SS,
					INTERRUPTIBILITY_NMI };
	unsigned int i;

	for (i = 0; i < 3; i++)
		assert_int_equal(tv_root_event_action(1, 0, 0, blocking[i],
						      ACTIVITY_ACTIVE),
				 TV_EVENT_WAIT);
	/* Blocking by SMI does not hold NMIs back. */
	assert_int_equal(tv_root_event_action(1, 0, 0, INTERRUPTIBILITY_SMI,
					      ACTIVITY_ACTIVE),
			 TV_EVENT_INJECT_NMI);
}

static void one_event_per_entry(void **state)
{
	/* An exception the handler already injects goes first. */
	u32 gp = VEC_GP | INTR_TYPE_HW_EXCEPTION | INTR_INFO_VALID;

	assert_int_equal(tv_root_event_action(1, 0, gp, 0, ACTIVITY_ACTIVE),
			 TV_EVENT_WAIT);
	assert_int_equal(tv_root_event_action(0, 1, gp, 0, ACTIVITY_ACTIVE),
			 TV_EVENT_WAIT);
	/* An invalid (bit 31 clear) field is free. */
	assert_int_equal(tv_root_event_action(1, 0, gp & ~INTR_INFO_VALID, 0,
					      ACTIVITY_ACTIVE),
			 TV_EVENT_INJECT_NMI);
}

static void machine_check_first_even_in_a_shadow(void **state)
{
	assert_int_equal(tv_root_event_action(2, 1, 0, 0, ACTIVITY_ACTIVE),
			 TV_EVENT_INJECT_MCE);
	assert_int_equal(tv_root_event_action(0, 1, 0, INTERRUPTIBILITY_STI |
					      INTERRUPTIBILITY_NMI,
					      ACTIVITY_ACTIVE),
			 TV_EVENT_INJECT_MCE);
}

static void wait_for_sipi_takes_no_event(void **state)
{
	/* SDM 26.3.1.5: no injection into wait-for-SIPI, #MC included. */
	assert_int_equal(tv_root_event_action(1, 0, 0, 0, ACTIVITY_WAIT_SIPI),
			 TV_EVENT_DROP);
	assert_int_equal(tv_root_event_action(0, 1, 0, 0, ACTIVITY_WAIT_SIPI),
			 TV_EVENT_DROP);
	assert_int_equal(tv_root_event_action(2, 1, 0, INTERRUPTIBILITY_NMI,
					      ACTIVITY_WAIT_SIPI),
			 TV_EVENT_DROP);
}

static void resume_window_rewinds_only_inside(void **state)
{
	const u64 w = 0x1000, end = 0x1010;

	assert_int_equal(tv_root_event_resume_rip(0x0fff, w, end), 0x0fff);
	assert_int_equal(tv_root_event_resume_rip(0x1000, w, end), w);
	assert_int_equal(tv_root_event_resume_rip(0x100c, w, end), w);
	/* At the window's end VMRESUME has failed: no rewind. */
	assert_int_equal(tv_root_event_resume_rip(0x1010, w, end), 0x1010);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(gate_known_answer),
		cmocka_unit_test(gate_has_no_ist_and_is_present),
		cmocka_unit_test(nothing_pending_does_nothing),
		cmocka_unit_test(nmi_injected_when_the_guest_can_take_it),
		cmocka_unit_test(nmi_waits_behind_a_shadow_or_nmi_blocking),
		cmocka_unit_test(one_event_per_entry),
		cmocka_unit_test(machine_check_first_even_in_a_shadow),
		cmocka_unit_test(wait_for_sipi_takes_no_event),
		cmocka_unit_test(resume_window_rewinds_only_inside),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
