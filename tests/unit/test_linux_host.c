// SPDX-License-Identifier: MIT
/*
 * The Linux host's pure decisions: which module may not run together with
 * thinvisor (platform/linux/coexist.h), and the CPU window of the status
 * ioctl that reports every CPU, however many (platform/linux/status.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>
#include "platform/linux/coexist.h"
#include "platform/linux/status.h"

static void only_kvm_intel_owns_vmx(void **state)
{
	assert_true(tv_is_vmx_owner_module("kvm_intel"));
	assert_false(tv_is_vmx_owner_module("kvm"));
	assert_false(tv_is_vmx_owner_module("kvm_amd"));
	assert_false(tv_is_vmx_owner_module("kvm_intel2"));
	assert_false(tv_is_vmx_owner_module("kvm_inte"));
	assert_false(tv_is_vmx_owner_module("thinvisor"));
	assert_false(tv_is_vmx_owner_module(""));
	assert_false(tv_is_vmx_owner_module(NULL));
}

/* Possible CPUs for the window tests: a bitmap over 1000 indices. */
static bool possible_map[1000];

static bool is_possible(u32 cpu, void *ctx)
{
	assert_ptr_equal(ctx, possible_map);
	assert_true(cpu < 1000);
	return possible_map[cpu];
}

/*
 * Page through every CPU with windows of @max: each possible CPU once, in
 * order, and never more than @max a call.
 */
static void page_all(u32 max, u32 expect)
{
	u32 out[300], next, first = 0, seen = 0, last = 0, n, i;
	int calls = 0;

	do {
		n = tv_status_window(first, max, 1000, is_possible, possible_map,
				     out, &next);
		assert_true(n <= max);
		for (i = 0; i < n; i++) {
			assert_true(possible_map[out[i]]);
			assert_true(out[i] >= first);
			if (seen)
				assert_true(out[i] > last);
			last = out[i];
			seen++;
		}
		if (next != TV_UAPI_CPU_END) {
			assert_int_equal(n, max);
			assert_true(next > last);
			assert_true(possible_map[next]);
		}
		first = next;
		assert_true(++calls < 2000);
	} while (first != TV_UAPI_CPU_END);
	assert_int_equal(seen, expect);
}

static void status_window_reports_every_cpu(void **state)
{
	u32 out[4], next, cpu, count = 0;

	/* 600 of 1000 possible, with holes, the last one at 999. */
	for (cpu = 0; cpu < 1000; cpu++) {
		possible_map[cpu] = cpu % 5 < 3 || cpu == 999;
		count += possible_map[cpu];
	}
	page_all(256, count);
	page_all(255, count);
	page_all(1, count);
	page_all(7, count);
	page_all(300, count);
	/* The old ABI's limit: CPU 256 and above are there. */
	assert_int_equal(tv_status_window(256, 1, 1000, is_possible,
					  possible_map, out, &next), 1);
	assert_int_equal(out[0], 256);
	/* Past the end: nothing, and done. */
	assert_int_equal(tv_status_window(1000, 4, 1000, is_possible,
					  possible_map, out, &next), 0);
	assert_int_equal(next, TV_UAPI_CPU_END);
	assert_int_equal(tv_status_window(TV_UAPI_CPU_END, 4, 1000,
					  is_possible, possible_map, out,
					  &next), 0);
	assert_int_equal(next, TV_UAPI_CPU_END);
	/* No room: nothing filled, and the next CPU to ask for. */
	assert_int_equal(tv_status_window(3, 0, 1000, is_possible,
					  possible_map, out, &next), 0);
	assert_int_equal(next, 5);
	/* A window that ends exactly at the last CPU says done. */
	assert_int_equal(tv_status_window(997, 4, 1000, is_possible,
					  possible_map, out, &next), 2);
	assert_int_equal(out[0], 997);
	assert_int_equal(out[1], 999);
	assert_int_equal(next, TV_UAPI_CPU_END);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(only_kvm_intel_owns_vmx),
		cmocka_unit_test(status_window_reports_every_cpu),
	};

	return cmocka_run_group_tests_name("linux_host", tests, NULL, NULL);
}
