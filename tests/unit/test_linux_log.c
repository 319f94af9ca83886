// SPDX-License-Identifier: MIT
/*
 * The Linux host's log lines have one "thinvisor: " prefix, from pr_fmt:
 * the core's own copy (kept for the Windows host) is skipped, and nothing
 * else is (platform/linux/status.h: tv_log_unprefixed).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "platform/linux/status.h"

static void core_prefix_is_skipped(void **state)
{
	assert_string_equal(tv_log_unprefixed("thinvisor: VMRESUME failed: VM-instruction error 5\n"),
			    "VMRESUME failed: VM-instruction error 5\n");
	assert_string_equal(tv_log_unprefixed("thinvisor: refusing to load: %s\n"),
			    "refusing to load: %s\n");
}

static void other_text_is_kept(void **state)
{
	assert_string_equal(tv_log_unprefixed("CPU 0: ping from the guest\n"),
			    "CPU 0: ping from the guest\n");
	/* Only a leading prefix, only once, only the whole word. */
	assert_string_equal(tv_log_unprefixed("CPU 1: thinvisor: x"), "CPU 1: thinvisor: x");
	assert_string_equal(tv_log_unprefixed("thinvisor: thinvisor: x"), "thinvisor: x");
	assert_string_equal(tv_log_unprefixed("thinvisor:x"), "thinvisor:x");
	assert_string_equal(tv_log_unprefixed("thinvisor"), "thinvisor");
	assert_string_equal(tv_log_unprefixed(""), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(core_prefix_is_skipped),
		cmocka_unit_test(other_text_is_kept),
	};

	return cmocka_run_group_tests_name("linux_log", tests, NULL, NULL);
}
