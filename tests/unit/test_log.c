// SPDX-License-Identifier: MIT
/*
 * The VMM log: the core's formatter against the C library's, and the
 * per-CPU rings: global order across CPUs, drops when full (never a
 * block), level filtering, and nothing leaked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>
#include "core/log.h"
#include "core/vmm.h"
#include "fake_platform.h"

static int setup(void **state)
{
	fake_reset();
	fake.cpus = 4;
	return 0;
}

#define SAME_AS_LIBC(...)						\
	do {								\
		char a[64], b[64];					\
		int na = tv_snprintf(a, sizeof(a), __VA_ARGS__);	\
		int nb = snprintf(b, sizeof(b), __VA_ARGS__);		\
		assert_string_equal(a, b);				\
		assert_int_equal(na, nb);				\
	} while (0)

static void formatter_matches_libc(void **state)
{
	SAME_AS_LIBC("plain");
	SAME_AS_LIBC("%d %i %u", -42, 7, 4000000000u);
	SAME_AS_LIBC("%x %X %08x %-6x|", 0xbeef, 0xbeef, 0x1f, 0xa);
	SAME_AS_LIBC("%llx %llu %lld", 0xfedcba9876543210ULL,
		     18446744073709551615ULL, -9223372036854775807LL - 1);
	SAME_AS_LIBC("%lu %zu %ld", 123456789UL, (size_t)77, -5L);
	SAME_AS_LIBC("%s|%10s|%-10s|%c", "vmx", "root", "exit", 'x');
	SAME_AS_LIBC("%5d|%-5d|%05d|%05d", 42, 42, 42, -42);
	SAME_AS_LIBC("100%% %s", "sure");
	SAME_AS_LIBC("%p", (void *)0x1234);
	SAME_AS_LIBC("%-16s 0x%llx", "rip", 0xffffffff81000000ULL);
}

static void formatter_truncates_and_counts(void **state)
{
	char buf[8];

	assert_int_equal(tv_snprintf(buf, sizeof(buf), "%s", "0123456789"), 10);
	assert_string_equal(buf, "0123456");
	assert_int_equal(tv_snprintf(buf, 1, "abc"), 3);
	assert_string_equal(buf, "");
	assert_int_equal(tv_snprintf(NULL, 0, "%d", 12345), 5);
}

static void rings_keep_global_order(void **state)
{
	struct tv_log_record rec;
	unsigned int i;

	assert_int_equal(tv_log_init(), TV_OK);
	for (i = 0; i < 12; i++) {
		fake.current_cpu = (i * 7) % 4;
		tv_vmm_log(TV_LOG_ERR, "msg %u\n", i);
	}
	for (i = 0; i < 12; i++) {
		char want[16];

		assert_true(tv_log_read(&rec));
		snprintf(want, sizeof(want), "msg %u\n", i);
		assert_string_equal(rec.text, want);
		assert_int_equal(rec.cpu, (i * 7) % 4);
		assert_int_equal(rec.level, TV_LOG_ERR);
	}
	assert_false(tv_log_read(&rec));
	tv_log_fini();
	assert_int_equal(fake.pages_live, 0);
}

static void full_ring_drops_and_counts(void **state)
{
	struct tv_log_record rec;
	unsigned int i, n = 0;

	assert_int_equal(tv_log_init(), TV_OK);
	fake.current_cpu = 2;
	for (i = 0; i < TV_LOG_RING_RECORDS + 10; i++)
		tv_vmm_log(TV_LOG_WARN, "m%u", i);
	assert_int_equal(tv_log_dropped(), 10);
	while (tv_log_read(&rec))
		n++;
	assert_int_equal(n, TV_LOG_RING_RECORDS);
	assert_string_equal(rec.text, "m63");
	/* Room again after draining. */
	tv_vmm_log(TV_LOG_WARN, "again");
	assert_true(tv_log_read(&rec));
	assert_string_equal(rec.text, "again");
	tv_log_fini();
}

static void level_filters_at_write(void **state)
{
	struct tv_log_record rec;

	assert_int_equal(tv_log_init(), TV_OK);
	tv_log_set_level(TV_LOG_WARN);
	tv_vmm_log(TV_LOG_INFO, "hidden");
	tv_vmm_log(TV_LOG_DEBUG, "hidden");
	tv_vmm_log(TV_LOG_ERR, "shown");
	assert_true(tv_log_read(&rec));
	assert_string_equal(rec.text, "shown");
	assert_false(tv_log_read(&rec));
	tv_log_set_level(TV_LOG_INFO);
	tv_log_fini();
}

static void init_failure_and_no_rings(void **state)
{
	struct tv_log_record rec;

	fake.fail_after = 0;
	assert_int_equal(tv_log_init(), TV_ERR_NO_MEMORY);
	/* Writing and reading without rings are harmless no-ops. */
	tv_vmm_log(TV_LOG_ERR, "nowhere");
	assert_false(tv_log_read(&rec));
	tv_log_fini();
	assert_int_equal(fake.pages_live, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(formatter_matches_libc, setup),
		cmocka_unit_test_setup(formatter_truncates_and_counts, setup),
		cmocka_unit_test_setup(rings_keep_global_order, setup),
		cmocka_unit_test_setup(full_ring_drops_and_counts, setup),
		cmocka_unit_test_setup(level_filters_at_write, setup),
		cmocka_unit_test_setup(init_failure_and_no_rings, setup),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
