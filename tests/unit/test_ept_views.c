// SPDX-License-Identifier: MIT
/*
 * EPT at run time (issue 9): splitting large leaves with the map's spare
 * tables, changing one 4 KiB page's rights and target, cloned views that
 * share no table, freeing a view with what it split, and which rights a
 * CPU accepts.  Every result is checked by a walk from the EPT pointer as
 * the CPU does it (fake platform: PA == VA).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <setjmp.h>
#include <cmocka.h>
#include "fake_platform.h"
#include "ept_walk.h"
#include "core/ept.h"
#include "core/mtrr.h"
#include "arch/x86/ept.h"
#include "arch/x86/msr.h"

#define MiB 0x100000ULL
#define GiB 0x40000000ULL

static u64 span_of(int level)
{
	return 0x1000ULL << (9 * (level - 1));
}

static u64 *hw_walk(u64 eptp, u64 gpa, int *level)
{
	u64 *t = (u64 *)(uintptr_t)(eptp & EPT_ADDR_MASK);
	int l;

	for (l = ((eptp >> 3) & 7) + 1; l >= 1; l--) {
		u64 *e = &t[(gpa >> (12 + 9 * (l - 1))) & 511];

		if (!(*e & EPT_RWX))
			return NULL;
		if (l == 1 || (l <= 3 && (*e & EPT_LARGE_PAGE))) {
			*level = l;
			return e;
		}
		assert_int_equal(*e & ~(EPT_ADDR_MASK | EPT_RWX), 0);
		t = (u64 *)(uintptr_t)(*e & EPT_ADDR_MASK);
	}
	return NULL;
}

/* What the CPU makes of @gpa: host address, rights, type. */
static void translate(u64 eptp, u64 gpa, u64 *hpa, u64 *rwx, u64 *type)
{
	int level = 0;
	u64 *e = hw_walk(eptp, gpa, &level);

	assert_non_null(e);
	*hpa = (*e & EPT_ADDR_MASK & ~(span_of(level) - 1)) |
	       (gpa & (span_of(level) - 1));
	*rwx = *e & EPT_RWX;
	*type = (*e >> EPT_MEMTYPE_SHIFT) & 7;
}

/*
 * 0-4 GiB WB but 3-4 GiB UC, 8-16 GiB RAM WB; 1 GiB leaves; @spares
 * spare tables.
 */
static struct tv_ept *build(struct tv_mtrr_state *s, bool use_1gb,
			    unsigned int spares)
{
	static const struct tv_phys_range r[] = {
		{ 0, 3 * GiB, TV_PHYS_RAM }, { 3 * GiB, GiB, TV_PHYS_MMIO },
		{ 8 * GiB, 8 * GiB, TV_PHYS_RAM } };
	struct tv_ept_config cfg = { .phys_bits = 40, .use_1gb = use_1gb,
				     .ranges = r, .nranges = 3,
				     .spare_tables = spares };
	struct tv_ept *ept = NULL;

	tv_mtrr_set_uniform(s, 40, MEMTYPE_WB);
	s->var[0] = (struct tv_mtrr_var){ 3 * GiB,
					  ~(GiB - 1) & 0xfffffff000ULL,
					  MEMTYPE_UC, true };
	s->var_count = 1;
	assert_int_equal(tv_ept_build_identity(&ept, s, &cfg), TV_OK);
	return ept;
}

static void check_no_leak(void)
{
	assert_int_equal(fake.pages_live, 0);
	assert_int_equal(fake.zallocs_live, 0);
}

/* Identity, RWX, @type over [@a, @b) in 4 KiB steps (sampled by 64K). */
static void check_identity(u64 eptp, u64 a, u64 b, u64 type, u64 skip)
{
	for (; a < b; a += 0x10000 - 0x1000 * ((a >> 16) & 1)) {
		u64 hpa, rwx, t;

		if ((a & ~0xfffULL) == skip)
			continue;
		translate(eptp, a, &hpa, &rwx, &t);
		assert_int_equal(hpa, a);
		assert_int_equal(rwx, EPT_RWX);
		assert_int_equal(t, type);
	}
}

static void test_split_keeps_translation(void **unused)
{
	struct tv_mtrr_state s;
	struct tv_ept *ept;
	u64 eptp, before, *pte;
	int level;

	fake_reset();
	ept = build(&s, true, 4);
	eptp = tv_ept_pointer(ept);
	assert_int_equal(tv_ept_spare_tables(ept), 4);
	before = tv_ept_table_bytes(ept);
	assert_non_null(hw_walk(eptp, 9 * GiB + 0x5000, &level));
	assert_int_equal(level, 3);
	/* 1 GiB -> PD of 2 MiB leaves -> PT of 4 KiB leaves */
	pte = tv_ept_split_4k(ept, 9 * GiB + 0x5123);
	assert_non_null(pte);
	assert_ptr_equal(tv_ept_leaf_4k(ept, 9 * GiB + 0x5000), pte);
	assert_int_equal(tv_ept_spare_tables(ept), 2);
	assert_int_equal(tv_ept_table_bytes(ept), before + 2 * 4096);
	assert_non_null(hw_walk(eptp, 9 * GiB + 0x5000, &level));
	assert_int_equal(level, 1);
	assert_non_null(hw_walk(eptp, 9 * GiB + 4 * MiB, &level));
	assert_int_equal(level, 2);
	check_identity(eptp, 9 * GiB, 9 * GiB + 4 * MiB, MEMTYPE_WB, ~0ULL);
	check_identity(eptp, 9 * GiB + GiB - 4 * MiB, 10 * GiB, MEMTYPE_WB,
		       ~0ULL);
	/* a UC leaf splits into UC leaves */
	assert_non_null(tv_ept_split_4k(ept, 3 * GiB + 8 * MiB));
	check_identity(eptp, 3 * GiB + 6 * MiB, 3 * GiB + 12 * MiB,
		       MEMTYPE_UC, ~0ULL);
	/* already 4 KiB: nothing taken */
	assert_ptr_equal(tv_ept_split_4k(ept, 9 * GiB + 0x5000), pte);
	assert_int_equal(tv_ept_spare_tables(ept), 0);
	/* no spare left */
	assert_null(tv_ept_split_4k(ept, 10 * GiB));
	check_identity(eptp, 10 * GiB, 10 * GiB + 2 * MiB, MEMTYPE_WB, ~0ULL);
	/* reserved again in sleepable context, it works again */
	assert_int_equal(tv_ept_reserve(ept, 4), TV_OK);
	assert_int_equal(tv_ept_spare_tables(ept), 4);
	assert_non_null(tv_ept_split_4k(ept, 10 * GiB));
	/* a hole is mapped as on demand first, then split; the width ends */
	assert_int_equal(tv_ept_demand_count(ept), 0);
	assert_non_null(tv_ept_split_4k(ept, 5 * GiB));
	assert_int_equal(tv_ept_demand_count(ept), 1);
	check_identity(eptp, 5 * GiB, 5 * GiB + 4 * MiB, MEMTYPE_WB, ~0ULL);
	assert_null(tv_ept_split_4k(ept, TV_BIT(40)));
	assert_null(tv_ept_leaf_4k(ept, 6 * GiB));
	/* the walk by PA finds the split tables */
	assert_non_null(tv_ept_leaf(ept, 10 * GiB + 0x3000, &level));
	assert_int_equal(level, 1);
	/* freeing the view frees what it split and its spares */
	tv_ept_free(ept);
	check_no_leak();
}

static void test_set_page(void **unused)
{
	struct tv_mtrr_state s;
	struct tv_ept *ept;
	u64 eptp, hpa, rwx, type;
	const u64 gpa = 2 * GiB + 0x7000, other = 8 * GiB + 0x3000;

	fake_reset();
	ept = build(&s, false, 2);	/* 2 MiB leaves: one PT from spares */
	eptp = tv_ept_pointer(ept);
	/* the DdiMon trick: execute-only, reading shows another page */
	assert_int_equal(tv_ept_set_page(ept, gpa + 0x10, EPT_EXEC,
					 other), TV_OK);
	assert_int_equal(tv_ept_spare_tables(ept), 1);
	translate(eptp, gpa + 0x234, &hpa, &rwx, &type);
	assert_int_equal(hpa, other + 0x234);
	assert_int_equal(rwx, EPT_EXEC);
	assert_int_equal(type, MEMTYPE_WB);	/* the type stays */
	/* neighbours untouched */
	check_identity(eptp, 2 * GiB, 2 * GiB + 4 * MiB, MEMTYPE_WB, gpa);
	/* read-only, back at itself */
	assert_int_equal(tv_ept_set_page(ept, gpa, EPT_READ, gpa),
			 TV_OK);
	translate(eptp, gpa, &hpa, &rwx, &type);
	assert_int_equal(hpa, gpa);
	assert_int_equal(rwx, EPT_READ);
	/* no access at all */
	assert_int_equal(tv_ept_set_page(ept, gpa, 0, gpa), TV_OK);
	assert_null(hw_walk(eptp, gpa, &(int){ 0 }));
	/* write without read, stray bits, unaligned target: refused */
	assert_int_equal(tv_ept_set_page(ept, gpa, EPT_WRITE, gpa),
			 TV_ERR_INVALID);
	assert_int_equal(tv_ept_set_page(ept, gpa, EPT_RWX | 8, gpa),
			 TV_ERR_INVALID);
	assert_int_equal(tv_ept_set_page(ept, gpa, EPT_RWX, gpa + 1),
			 TV_ERR_INVALID);
	/* and back to identity RWX */
	assert_int_equal(tv_ept_set_page(ept, gpa, EPT_RWX, gpa), TV_OK);
	check_identity(eptp, 2 * GiB, 2 * GiB + 4 * MiB, MEMTYPE_WB, ~0ULL);
	tv_ept_free(ept);
	check_no_leak();
}

static void collect(const u64 *t, int level, u64 *pas, unsigned int *n)
{
	unsigned int i;

	pas[(*n)++] = (u64)(uintptr_t)t;
	for (i = 0; i < 512; i++)
		if ((t[i] & EPT_RWX) && level > 1 &&
		    !(level <= 3 && (t[i] & EPT_LARGE_PAGE)))
			collect((const u64 *)(uintptr_t)(t[i] & EPT_ADDR_MASK),
				level - 1, pas, n);
}

static void test_clone_shares_nothing(void **unused)
{
	u64 a[64], b[64], hpa, rwx, type;
	unsigned int na = 0, nb = 0, i, j;
	struct tv_ept *ept, *view;
	struct tv_mtrr_state s;
	const u64 gpa = 9 * GiB + 0x1000;
	long pages;

	fake_reset();
	ept = build(&s, true, 8);
	/* a split in the original first: the clone copies it */
	assert_non_null(tv_ept_split_4k(ept, 2 * GiB));
	pages = fake.pages_live;
	assert_int_equal(tv_ept_clone(&view, ept), TV_OK);
	assert_int_equal(tv_ept_table_bytes(view), tv_ept_table_bytes(ept));
	assert_int_equal(tv_ept_levels(view), 4);
	assert_int_not_equal(tv_ept_pointer(view), tv_ept_pointer(ept));
	assert_int_equal(tv_ept_pointer(view) & 0xfff,
			 tv_ept_pointer(ept) & 0xfff);
	collect((const u64 *)(uintptr_t)(tv_ept_pointer(ept) & EPT_ADDR_MASK),
		4, a, &na);
	collect((const u64 *)(uintptr_t)(tv_ept_pointer(view) & EPT_ADDR_MASK),
		4, b, &nb);
	assert_int_equal(na, nb);
	for (i = 0; i < na; i++)
		for (j = 0; j < nb; j++)
			assert_int_not_equal(a[i], b[j]);
	/* same translation everywhere mapped */
	check_identity(tv_ept_pointer(view), 0, 3 * GiB, MEMTYPE_WB, ~0ULL);
	/* a change in the view is not in the original, and back */
	assert_int_equal(tv_ept_set_page(view, gpa, EPT_READ, gpa),
			 TV_OK);
	translate(tv_ept_pointer(view), gpa, &hpa, &rwx, &type);
	assert_int_equal(rwx, EPT_READ);
	translate(tv_ept_pointer(ept), gpa, &hpa, &rwx, &type);
	assert_int_equal(rwx, EPT_RWX);
	assert_int_equal(tv_ept_set_page(ept, gpa + 0x1000, 0, gpa),
			 TV_OK);
	translate(tv_ept_pointer(view), gpa + 0x1000, &hpa, &rwx, &type);
	assert_int_equal(rwx, EPT_RWX);
	/* the view maps on demand for itself */
	{
		struct tv_ept_demand d;

		assert_int_equal(tv_ept_map_missing(view, 100 * GiB, &d), TV_OK);
		assert_true(d.mapped);
		assert_null(tv_ept_leaf(ept, 100 * GiB, &(int){ 0 }));
	}
	/* freeing the view gives back its copy, its spares, what it split */
	tv_ept_free(view);
	assert_int_equal(fake.pages_live, pages);
	tv_ept_free(ept);
	check_no_leak();
}

/* tv_ept_leaf_write() of a copy: the value it would store. */
static u64 written(u64 old, u64 rwx, u64 host_pa)
{
	tv_ept_leaf_write(&old, rwx, host_pa);
	return old;
}

static void test_leaf_bits(void **unused)
{
	const u64 type = (u64)MEMTYPE_WB << EPT_MEMTYPE_SHIFT;
	const u64 old = 0x5000 | EPT_RWX | type | EPT_IGNORE_PAT |
			EPT_SUPPRESS_VE;
	u64 ve;

	/* rights and frame change; type, ignore-PAT and suppress stay */
	assert_int_equal(written(old, EPT_READ, 0x9000),
			 0x9000 | EPT_READ | type | EPT_IGNORE_PAT |
			 EPT_SUPPRESS_VE);
	assert_int_equal(written(old, EPT_RWX, 0x9fff),
			 0x9000 | EPT_RWX | type | EPT_IGNORE_PAT |
			 EPT_SUPPRESS_VE);
	/* #VE: suppress clear, kept by a change of rights, then set again */
	ve = tv_ept_leaf_ve(old, true);
	assert_int_equal(ve, old & ~EPT_SUPPRESS_VE);
	assert_int_equal(written(ve, 0, 0x5000),
			 0x5000 | type | EPT_IGNORE_PAT);
	assert_int_equal(tv_ept_leaf_ve(ve, false), old);
	assert_int_equal(tv_ept_leaf_ve(old, false), old);
	assert_int_equal(EPT_ABSENT & EPT_RWX, 0);
}

/*
 * Every entry suppresses #VE as built, absent ones included, so turning
 * the control on changes nothing until a leaf is marked; splits, on
 * demand mappings and clones keep that, and a mark stays on its page.
 */
static void test_nothing_converts_unmarked(void **unused)
{
	static const u64 probes[] = { 0, 0x5000, 2 * GiB + 0x123000,
				      3 * GiB + 0x1000, 5 * GiB, 9 * GiB,
				      20 * GiB, 100 * GiB, 600 * GiB };
	struct tv_mtrr_state s;
	struct tv_ept *ept, *view;
	struct tv_ept_demand d;
	const u64 g = 9 * GiB + 0x7000;
	u64 *pte, eptp;
	unsigned int i;

	fake_reset();
	ept = build(&s, true, 8);
	eptp = tv_ept_pointer(ept);
	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		assert_false(tv_test_ve_converts(eptp, probes[i]));
	/* a split and an on-demand mapping: still nothing */
	pte = tv_ept_split_4k(ept, g);
	assert_non_null(pte);
	assert_int_equal(tv_ept_map_missing(ept, 5 * GiB, &d), TV_OK);
	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		assert_false(tv_test_ve_converts(eptp, probes[i]));
	assert_false(tv_test_ve_converts(eptp, g));
	assert_false(tv_test_ve_converts(eptp, g + 0x1000));
	/* marked: that page only, whatever its rights become */
	*pte = tv_ept_leaf_ve(*pte, true);
	assert_true(tv_test_ve_converts(eptp, g));
	assert_false(tv_test_ve_converts(eptp, g + 0x1000));
	assert_false(tv_test_ve_converts(eptp, g - 0x1000));
	assert_int_equal(tv_ept_set_page(ept, g, EPT_EXEC, g), TV_OK);
	assert_true(tv_test_ve_converts(eptp, g));
	/* a view copies the mark and the suppression everywhere else */
	assert_int_equal(tv_ept_clone(&view, ept), TV_OK);
	assert_true(tv_test_ve_converts(tv_ept_pointer(view), g));
	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		assert_false(tv_test_ve_converts(tv_ept_pointer(view), probes[i]));
	tv_ept_free(view);
	tv_ept_free(ept);
	check_no_leak();
}

static void test_rights_allowed(void **unused)
{
	assert_true(tv_ept_rights_allowed(0, EPT_RWX));
	assert_true(tv_ept_rights_allowed(0, EPT_READ));
	assert_true(tv_ept_rights_allowed(0, EPT_READ | EPT_EXEC));
	assert_true(tv_ept_rights_allowed(0, 0));
	assert_false(tv_ept_rights_allowed(0, EPT_EXEC));
	assert_true(tv_ept_rights_allowed(EPT_CAP_EXEC_ONLY, EPT_EXEC));
	assert_false(tv_ept_rights_allowed(EPT_CAP_EXEC_ONLY, EPT_WRITE));
	assert_false(tv_ept_rights_allowed(EPT_CAP_EXEC_ONLY,
					   EPT_WRITE | EPT_EXEC));
	assert_false(tv_ept_rights_allowed(EPT_CAP_EXEC_ONLY, 8));
}

static void test_reserve_failures(void **unused)
{
	struct tv_mtrr_state s;
	struct tv_ept *ept;
	long pages;
	int n, ret = -1;

	fake_reset();
	ept = build(&s, true, 1);
	pages = fake.pages_live;
	/* All or nothing: fragmented memory, 5 pages one by one. */
	fake.max_pages = 1;
	for (n = 0; n < 20; n++) {
		fake.fail_after = n;
		ret = tv_ept_reserve(ept, 6);
		fake.fail_after = -1;
		if (!ret)
			break;
		assert_int_equal(ret, TV_ERR_NO_MEMORY);
		assert_int_equal(tv_ept_spare_tables(ept), 1);
		assert_int_equal(fake.pages_live, pages);
	}
	assert_int_equal(n, 5);
	assert_int_equal(tv_ept_spare_tables(ept), 6);
	assert_int_equal(tv_ept_reserve(ept, 3), TV_OK);
	assert_int_equal(tv_ept_spare_tables(ept), 6);
	/* A block that cannot be had falls back to single pages. */
	fake.max_pages = 0;
	fake.fail_after = 0;
	assert_int_equal(tv_ept_reserve(ept, 9), TV_OK);
	fake.fail_after = -1;
	assert_int_equal(tv_ept_spare_tables(ept), 9);
	assert_int_equal(tv_ept_reserve(NULL, 3), TV_ERR_INVALID);
	tv_ept_free(ept);
	check_no_leak();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_keeps_translation),
		cmocka_unit_test(test_set_page),
		cmocka_unit_test(test_clone_shares_nothing),
		cmocka_unit_test(test_leaf_bits),
		cmocka_unit_test(test_nothing_converts_unmarked),
		cmocka_unit_test(test_rights_allowed),
		cmocka_unit_test(test_reserve_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
