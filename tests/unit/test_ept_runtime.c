// SPDX-License-Identifier: MIT
/*
 * Changing the EPT at run time (core/ept.c: split to 4 KiB, the 4 KiB leaf
 * lookup, deep copies for views, the table census).  Checked the way the
 * CPU sees it: a walk from the EPT pointer alone (fake platform: PA == VA),
 * address, rights and memory type of every page of the split block.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "fake_platform.h"
#include "core/ept.h"
#include "core/mtrr.h"
#include "arch/x86/ept.h"

#define MiB 0x100000ULL
#define GiB 0x40000000ULL

static u64 *table_at(u64 pa)
{
	return (u64 *)(uintptr_t)pa;
}

/* The CPU's walk: the leaf and its level, NULL when no entry is there. */
static u64 *hw_walk(u64 eptp, u64 gpa, int *level)
{
	u64 *t = table_at(eptp & EPT_ADDR_MASK);
	int l;

	for (l = 4; l >= 1; l--) {
		u64 *e = &t[(gpa >> (12 + 9 * (l - 1))) & 511];

		if (l == 1 || (l < 4 && (*e & EPT_LARGE_PAGE))) {
			*level = l;
			return e;
		}
		if (!(*e & EPT_RWX))
			return NULL;
		/* Non-leaf entries: rights only. */
		assert_int_equal(*e & ~(EPT_ADDR_MASK | EPT_RWX), 0);
		t = table_at(*e & EPT_ADDR_MASK);
	}
	return NULL;
}

/* What the CPU translates @gpa to, with its rights and type. */
static void hw_translate(u64 eptp, u64 gpa, u64 *pa, u64 *rights, u64 *type)
{
	int level = 0;
	u64 *e = hw_walk(eptp, gpa, &level), span;

	assert_non_null(e);
	span = 0x1000ULL << (9 * (level - 1));
	*pa = (*e & EPT_ADDR_MASK & ~(span - 1)) | (gpa & (span - 1));
	*rights = *e & EPT_RWX;
	*type = (*e >> EPT_MEMTYPE_SHIFT) & 7;
}

/* A PC: WB RAM to 3 GiB, UC hole 3-4 GiB, WB above; 1 GiB pages. */
static struct tv_ept *build(bool use_1gb)
{
	static struct tv_mtrr_state s;
	struct tv_ept_config cfg = { .phys_bits = 36, .use_1gb = use_1gb,
				     .spare_tables = 4 };
	struct tv_ept *ept;

	tv_mtrr_set_uniform(&s, 36, MEMTYPE_UC);
	s.var[0] = (struct tv_mtrr_var){ 0, ~(2 * GiB - 1) & 0xffffff000ULL,
					  MEMTYPE_WB, true };
	s.var[1] = (struct tv_mtrr_var){ 2 * GiB, ~(GiB - 1) & 0xffffff000ULL,
					  MEMTYPE_WB, true };
	s.var[2] = (struct tv_mtrr_var){ 4 * GiB, ~(4 * GiB - 1) & 0xffffff000ULL,
					  MEMTYPE_WB, true };
	s.var_count = 3;
	assert_int_equal(tv_ept_build_identity(&ept, &s, &cfg), TV_OK);
	assert_int_equal(tv_ept_reserve(ept, 4), TV_OK);
	return ept;
}

static int setup(void **state)
{
	fake_reset();
	return 0;
}

static int teardown(void **state)
{
	assert_int_equal(fake.pages_live, 0);
	assert_int_equal(fake.zallocs_live, 0);
	return 0;
}

/* Every 4 KiB page of [from, to) still identity, RWX, of type @type. */
static void check_identity(u64 eptp, u64 from, u64 to, u64 step, u64 type)
{
	u64 gpa, pa, rights, t;

	for (gpa = from; gpa < to; gpa += step) {
		hw_translate(eptp, gpa, &pa, &rights, &t);
		assert_int_equal(pa, gpa);
		assert_int_equal(rights, EPT_RWX);
		assert_int_equal(t, type);
	}
}

static void split_keeps_every_page(void **state)
{
	struct tv_ept *ept = build(true);
	u64 eptp = tv_ept_pointer(ept), before = tv_ept_table_bytes(ept);
	u64 gpa = GiB + 5 * 2 * MiB + 7 * 0x1000 + 0x123, *leaf;
	int level = 0;

	assert_null(tv_ept_leaf_4k(ept, gpa));
	hw_walk(eptp, gpa, &level);
	assert_int_equal(level, 3);
	leaf = tv_ept_split_4k(ept, gpa);
	assert_non_null(leaf);
	/* One table for the 1 GiB block, one for its 2 MiB block. */
	assert_int_equal(tv_ept_table_bytes(ept), before + 2 * 0x1000);
	assert_ptr_equal(hw_walk(eptp, gpa, &level), leaf);
	assert_int_equal(level, 1);
	assert_ptr_equal(tv_ept_leaf_4k(ept, gpa), leaf);
	/* Nothing else moved: the whole 1 GiB, page by page near the split. */
	check_identity(eptp, GiB, 2 * GiB, 2 * MiB, MEMTYPE_WB);
	check_identity(eptp, GiB + 10 * MiB, GiB + 12 * MiB, 0x1000,
		       MEMTYPE_WB);
	/* Split again: same leaf, no table. */
	assert_ptr_equal(tv_ept_split_4k(ept, gpa + 0x10), leaf);
	assert_int_equal(tv_ept_table_bytes(ept), before + 2 * 0x1000);
	assert_int_equal(tv_ept_spare_tables(ept), 2);
	tv_ept_free(ept);
}

static void split_keeps_type_of_uc_hole(void **state)
{
	struct tv_ept *ept = build(false);
	u64 eptp = tv_ept_pointer(ept);

	assert_non_null(tv_ept_split_4k(ept, 3 * GiB + 0x5000));
	check_identity(eptp, 3 * GiB, 3 * GiB + 2 * MiB, 0x1000, MEMTYPE_UC);
	check_identity(eptp, 2 * GiB, 3 * GiB, 2 * MiB, MEMTYPE_WB);
	tv_ept_free(ept);
}

static void leaf_change_is_seen_alone(void **state)
{
	struct tv_ept *ept = build(true);
	u64 eptp = tv_ept_pointer(ept), gpa = 0x201000, pa, rights, type;
	u64 *leaf = tv_ept_split_4k(ept, gpa);

	*leaf = (0x7777000ULL) | EPT_EXEC | (*leaf & (7ULL << EPT_MEMTYPE_SHIFT));
	hw_translate(eptp, gpa + 0x42, &pa, &rights, &type);
	assert_int_equal(pa, 0x7777042);
	assert_int_equal(rights, EPT_EXEC);
	assert_int_equal(type, MEMTYPE_WB);
	check_identity(eptp, gpa + 0x1000, gpa + 2 * MiB - 0x1000, 0x1000,
		       MEMTYPE_WB);
	check_identity(eptp, 0x200000, gpa, 0x1000, MEMTYPE_WB);
	tv_ept_free(ept);
}

static void unmapped_is_refused(void **state)
{
	struct tv_ept *ept = build(true);

	assert_null(tv_ept_split_4k(ept, tv_ept_mapped_end(ept)));
	assert_null(tv_ept_split_4k(NULL, 0));
	assert_null(tv_ept_leaf_4k(ept, 1ULL << 40));
	tv_ept_free(ept);
}

static void spares_run_out_and_map_stays_whole(void **state)
{
	struct tv_ept *ept = build(true);
	u64 eptp = tv_ept_pointer(ept), before = tv_ept_table_bytes(ept);
	long pages;
	int n;

	/* Two splits of a 1 GiB leaf use all four spares ... */
	assert_non_null(tv_ept_split_4k(ept, 2 * GiB + 0x3000));
	assert_non_null(tv_ept_split_4k(ept, 5 * GiB + 0x3000));
	/* ... a third finds none and allocates nothing: no VMX-root
	 * allocation, ever. */
	pages = fake.pages_total;
	assert_null(tv_ept_split_4k(ept, 6 * GiB + 0x3000));
	assert_int_equal(fake.pages_total, pages);
	assert_int_equal(tv_ept_table_bytes(ept), before + 4 * 0x1000);
	check_identity(eptp, 6 * GiB, 7 * GiB, 2 * MiB, MEMTYPE_WB);
	check_identity(eptp, 2 * GiB, 2 * GiB + 2 * MiB, 0x1000, MEMTYPE_WB);
	/*
	 * Reserving fails cleanly at every allocation: fragmented memory,
	 * page by page, the first page or the second fails.
	 */
	fake.max_pages = 1;
	for (n = 0; n < 2; n++) {
		long live = fake.pages_live;

		fake.fail_after = n;
		assert_int_equal(tv_ept_reserve(ept, 2), TV_ERR_NO_MEMORY);
		fake.fail_after = -1;
		assert_int_equal(fake.pages_live, live);
		assert_int_equal(tv_ept_spare_tables(ept), 0);
	}
	fake.max_pages = 0;
	assert_int_equal(tv_ept_reserve(ept, 2), TV_OK);
	assert_non_null(tv_ept_split_4k(ept, 6 * GiB + 0x3000));
	tv_ept_free(ept);
}

static void clone_is_independent(void **state)
{
	struct tv_ept *ept = build(true), *view;
	u64 gpa = 0x345000, pa, rights, type, *leaf;

	assert_non_null(tv_ept_split_4k(ept, gpa));
	assert_int_equal(tv_ept_clone(&view, ept), TV_OK);
	assert_int_equal(tv_ept_table_bytes(view), tv_ept_table_bytes(ept));
	assert_int_not_equal(tv_ept_pointer(view) & EPT_ADDR_MASK,
			     tv_ept_pointer(ept) & EPT_ADDR_MASK);
	assert_int_equal(tv_ept_pointer(view) & ~EPT_ADDR_MASK,
			 tv_ept_pointer(ept) & ~EPT_ADDR_MASK);
	check_identity(tv_ept_pointer(view), 0, 3 * GiB, 2 * MiB, MEMTYPE_WB);
	check_identity(tv_ept_pointer(view), 3 * GiB, 4 * GiB, 2 * MiB,
		       MEMTYPE_UC);
	check_identity(tv_ept_pointer(view), 4 * GiB, 8 * GiB, 2 * MiB,
		       MEMTYPE_WB);
	leaf = tv_ept_leaf_4k(view, gpa);
	assert_non_null(leaf);
	assert_ptr_not_equal(leaf, tv_ept_leaf_4k(ept, gpa));
	*leaf &= ~EPT_WRITE;
	hw_translate(tv_ept_pointer(view), gpa, &pa, &rights, &type);
	assert_int_equal(rights, EPT_READ | EPT_EXEC);
	hw_translate(tv_ept_pointer(ept), gpa, &pa, &rights, &type);
	assert_int_equal(rights, EPT_RWX);
	/* Splitting the copy leaves the original alone. */
	assert_int_equal(tv_ept_reserve(view, 2), TV_OK);
	assert_non_null(tv_ept_split_4k(view, 5 * GiB));
	assert_null(tv_ept_leaf_4k(ept, 5 * GiB));
	tv_ept_free(view);
	tv_ept_free(ept);
}

static void clone_out_of_memory(void **state)
{
	struct tv_ept *ept = build(true), *view = (void *)1;
	int n;

	assert_non_null(tv_ept_split_4k(ept, 0x345000));
	/* Fragmented: the tables come one by one, each may fail. */
	fake.max_pages = 1;
	for (n = 0; n < 6; n++) {
		long live = fake.pages_live, zlive = fake.zallocs_live;

		fake.fail_after = n;
		assert_int_equal(tv_ept_clone(&view, ept), TV_ERR_NO_MEMORY);
		assert_null(view);
		fake.fail_after = -1;
		assert_int_equal(fake.pages_live, live);
		assert_int_equal(fake.zallocs_live, zlive);
	}
	tv_ept_free(ept);
}

static void count_table(u64 pa, void *arg)
{
	(*(u64 *)arg)++;
}

static void census_matches_bytes(void **state)
{
	struct tv_ept *ept = build(false);
	u64 n = 0;

	assert_non_null(tv_ept_split_4k(ept, 0x345000));
	tv_ept_visit_tables(ept, count_table, &n);
	assert_int_equal(n * 0x1000, tv_ept_table_bytes(ept) +
			 tv_ept_spare_tables(ept) * 0x1000);
	tv_ept_free(ept);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(split_keeps_every_page, setup, teardown),
		cmocka_unit_test_setup_teardown(split_keeps_type_of_uc_hole, setup, teardown),
		cmocka_unit_test_setup_teardown(leaf_change_is_seen_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(unmapped_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(spares_run_out_and_map_stays_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(clone_is_independent, setup, teardown),
		cmocka_unit_test_setup_teardown(clone_out_of_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(census_matches_bytes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
