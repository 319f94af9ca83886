// SPDX-License-Identifier: MIT
/*
 * EPT identity map: built on the fake platform, whose PA is the VA, so the
 * tests walk the tables the way the CPU would, from the EPT pointer alone,
 * and compare with tv_ept_leaf() and with the MTRR answers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <setjmp.h>
#include <cmocka.h>
#include "fake_platform.h"
#include "core/ept.h"
#include "core/mtrr.h"
#include "arch/x86/ept.h"

#define KiB 0x400ULL
#define MiB 0x100000ULL
#define GiB 0x40000000ULL

static u64 span_of(int level)
{
	return 0x1000ULL << (9 * (level - 1));
}

static void var(struct tv_mtrr_state *s, unsigned int i, u64 base, u64 size,
		u8 type)
{
	u64 pm = (TV_BIT(s->phys_bits) - 1) & ~0xfffULL;

	s->var[i] = (struct tv_mtrr_var){ base, ~(size - 1) & pm, type, true };
	if (s->var_count <= i)
		s->var_count = i + 1;
}

/*
 * The PC of test_mtrr.c: fixed 0-9FFFF WB, A0000-BFFFF UC, C0000 up WP with
 * UC pieces; 0-4G WB, 3G-4G UC, 4G-8G WB, 6G +256M WT, 5G +2M WP (UC);
 * default @def.
 */
static void pc_state(struct tv_mtrr_state *s, unsigned int phys_bits, u8 def)
{
	unsigned int i;

	tv_mtrr_set_uniform(s, phys_bits, def);
	s->fixed_enabled = true;
	for (i = 0; i < 16; i++)
		s->fixed[i] = MEMTYPE_WB;
	for (; i < 24; i++)
		s->fixed[i] = MEMTYPE_UC;
	for (; i < TV_MTRR_FIXED_COUNT; i++)
		s->fixed[i] = (i >= 32 && i < 36) || (i >= 40 && i < 56) ?
			      MEMTYPE_UC : MEMTYPE_WP;
	var(s, 0, 0, 4 * GiB, MEMTYPE_WB);
	var(s, 1, 3 * GiB, GiB, MEMTYPE_UC);
	var(s, 2, 4 * GiB, 4 * GiB, MEMTYPE_WB);
	var(s, 3, 6 * GiB, 256 * MiB, MEMTYPE_WT);
	var(s, 4, 5 * GiB, 2 * MiB, MEMTYPE_WP);
}

/* --- a walker of our own, from the EPTP, as the CPU does it ----------- */

static u64 *table_at(u64 pa)
{
	return (u64 *)(uintptr_t)pa;	/* fake platform: PA == VA */
}

/*
 * Walk @gpa from @eptp; return the leaf and its level, or NULL when not
 * present.  Check on the way what would be a misconfiguration.
 */
static u64 *hw_walk(u64 eptp, u64 gpa, int *level)
{
	u64 *t = table_at(eptp & EPT_ADDR_MASK);
	int l;

	for (l = 4; l >= 1; l--) {
		u64 *e = &t[(gpa >> (12 + 9 * (l - 1))) & 511];

		if (!(*e & EPT_RWX))
			return NULL;
		if (l == 1 || (l < 4 && (*e & EPT_LARGE_PAGE))) {
			u64 span = span_of(l);

			/* reserved PA bits inside a large page are zero */
			assert_int_equal(*e & EPT_ADDR_MASK & (span - 1), 0);
			*level = l;
			return e;
		}
		/* non-leaf: bits 7:3 reserved (PML4E) or zero by us */
		assert_int_equal(*e & 0xf8, 0);
		assert_int_equal(*e & ~(EPT_ADDR_MASK | EPT_RWX), 0);
		t = table_at(*e & EPT_ADDR_MASK);
	}
	fail();
	return NULL;
}

static int max_leaf_level(bool use_1gb)
{
	return use_1gb ? 3 : 2;
}

/* Every check one mapped address must pass. */
static void check_gpa(struct tv_ept *ept, const struct tv_mtrr_state *s,
		      u64 gpa, bool use_1gb)
{
	int level = 0, hw_level = 0;
	u64 *e = tv_ept_leaf(ept, gpa, &level);
	u64 *hw = hw_walk(tv_ept_pointer(ept), gpa, &hw_level);
	u64 span, page = gpa & ~0xfffULL;
	u8 mt;

	if (!e)
		fail_msg("gpa %#llx not mapped", gpa);
	assert_ptr_equal(e, hw);
	assert_int_equal(level, hw_level);
	span = span_of(level);
	/* identity, RWX, ignore-PAT clear, no A/D */
	assert_int_equal(*e & EPT_ADDR_MASK, gpa & ~(span - 1));
	assert_int_equal(*e & EPT_RWX, EPT_RWX);
	assert_int_equal(*e & (EPT_IGNORE_PAT | EPT_ACCESSED | EPT_DIRTY), 0);
	assert_int_equal(!!(*e & EPT_LARGE_PAGE), level > 1);
	mt = (*e >> EPT_MEMTYPE_SHIFT) & 7;
	if (mt != tv_mtrr_range_type(s, page, 0x1000))
		fail_msg("gpa %#llx memtype %u, MTRR %u", gpa, mt,
			 tv_mtrr_range_type(s, page, 0x1000));
	/* the whole leaf has that type and a larger leaf would not */
	assert_int_equal(tv_mtrr_range_type(s, gpa & ~(span - 1), span), mt);
	if (level < max_leaf_level(use_1gb)) {
		u64 up = span_of(level + 1);

		assert_int_equal(tv_mtrr_range_type(s, gpa & ~(up - 1), up),
				 TV_MEMTYPE_MIXED);
	}
}

struct census {
	long tables;
	long leaves[4];
	long split_checked;
};

/*
 * Visit every entry of every table from the EPTP: leaves must be identity
 * and uniform, tables must stand for blocks that could not be one leaf.
 */
static void census_walk(const struct tv_mtrr_state *s, u64 table_pa,
			int level, u64 base, u64 end, bool use_1gb,
			struct census *c)
{
	u64 *t = table_at(table_pa);
	u64 span = span_of(level);
	unsigned int i;

	c->tables++;
	for (i = 0; i < 512; i++) {
		u64 a = base + i * span;
		u64 e = t[i];

		/* absent: not present, and never a #VE (suppress set) */
		if (a >= end) {
			assert_int_equal(e, EPT_ABSENT);
			continue;
		}
		assert_int_equal(e & EPT_RWX, EPT_RWX);
		if (level == 1 || (level < 4 && (e & EPT_LARGE_PAGE))) {
			u8 mt = (e >> EPT_MEMTYPE_SHIFT) & 7;

			/* a violation here would exit, not be a #VE */
			assert_true(e & EPT_SUPPRESS_VE);

			assert_int_equal(e & EPT_ADDR_MASK, a);
			assert_int_equal(tv_mtrr_range_type(s, a, span), mt);
			c->leaves[level]++;
			continue;
		}
		/* a table: the block had to be split */
		if (level < 4 && (level != 3 || use_1gb)) {
			assert_int_equal(tv_mtrr_range_type(s, a, span),
					 TV_MEMTYPE_MIXED);
			c->split_checked++;
		}
		census_walk(s, e & EPT_ADDR_MASK, level - 1, a, end, use_1gb,
			    c);
	}
}

static struct tv_ept *build(const struct tv_mtrr_state *s,
			    unsigned int phys_bits, bool use_1gb)
{
	struct tv_ept_config cfg = { .phys_bits = phys_bits,
				     .use_1gb = use_1gb };
	struct tv_ept *ept = (void *)1;

	assert_int_equal(tv_ept_build_identity(&ept, s, &cfg), TV_OK);
	assert_non_null(ept);
	return ept;
}

static void setup_fake(void)
{
	fake_reset();
}

static void check_no_leak(void)
{
	assert_int_equal(fake.pages_live, 0);
	assert_int_equal(fake.zallocs_live, 0);
}

/* --- tests ----------------------------------------------------------- */

static void test_choose_leaf(void **unused)
{
	struct tv_mtrr_state s;

	pc_state(&s, 39, MEMTYPE_UC);
	/* 1 GiB: only with use_1gb and a uniform type */
	assert_int_equal(tv_ept_choose_leaf(&s, GiB, 3, true), MEMTYPE_WB);
	assert_int_equal(tv_ept_choose_leaf(&s, GiB, 3, false), TV_EPT_SPLIT);
	assert_int_equal(tv_ept_choose_leaf(&s, 3 * GiB, 3, true), MEMTYPE_UC);
	assert_int_equal(tv_ept_choose_leaf(&s, 0, 3, true), TV_EPT_SPLIT);
	assert_int_equal(tv_ept_choose_leaf(&s, 6 * GiB, 3, true),
			 TV_EPT_SPLIT);
	/* 2 MiB */
	assert_int_equal(tv_ept_choose_leaf(&s, 0, 2, true), TV_EPT_SPLIT);
	assert_int_equal(tv_ept_choose_leaf(&s, 2 * MiB, 2, false),
			 MEMTYPE_WB);
	assert_int_equal(tv_ept_choose_leaf(&s, 6 * GiB, 2, true), MEMTYPE_WT);
	assert_int_equal(tv_ept_choose_leaf(&s, 5 * GiB, 2, true), MEMTYPE_UC);
	/* 4 KiB is always a leaf */
	assert_int_equal(tv_ept_choose_leaf(&s, 0xa0000, 1, true), MEMTYPE_UC);
	assert_int_equal(tv_ept_choose_leaf(&s, 0xc0000, 1, true), MEMTYPE_WP);
	assert_int_equal(tv_ept_choose_leaf(&s, 0, 1, false), MEMTYPE_WB);
	/* an unaligned base means its block */
	assert_int_equal(tv_ept_choose_leaf(&s, 3 * GiB + 12345, 3, true),
			 MEMTYPE_UC);
	assert_int_equal(tv_ept_choose_leaf(&s, 0xa0fff, 1, true), MEMTYPE_UC);
	assert_int_equal(tv_ept_choose_leaf(&s, 4 * GiB - 1, 2, true),
			 MEMTYPE_UC);
	/* a PML4E is never a leaf, nor is a level that does not exist */
	assert_int_equal(tv_ept_choose_leaf(&s, 8 * GiB, 4, true),
			 TV_EPT_SPLIT);
	assert_int_equal(tv_ept_choose_leaf(&s, 8 * GiB, 0, true),
			 TV_EPT_SPLIT);
}

static void test_eptp_format(void **unused)
{
	struct tv_mtrr_state s;
	struct tv_ept *ept;
	u64 eptp;

	setup_fake();
	pc_state(&s, 39, MEMTYPE_UC);
	ept = build(&s, 39, true);
	eptp = tv_ept_pointer(ept);
	assert_int_equal(eptp & 7, EPTP_MEMTYPE_WB);
	assert_int_equal((eptp >> 3) & 7, 3);		/* 4-level walk */
	assert_int_equal(eptp & EPTP_ENABLE_AD, 0);
	assert_int_equal(eptp & 0xf80, 0);		/* reserved */
	assert_int_equal(eptp & ~EPT_ADDR_MASK & ~0xfffULL, 0);
	assert_int_not_equal(eptp & EPT_ADDR_MASK, 0);
	/* the PML4 it names maps gpa 0 */
	assert_int_equal(table_at(eptp & EPT_ADDR_MASK)[0] & EPT_RWX, EPT_RWX);
	tv_ept_free(ept);
	check_no_leak();
}

/* The PC layout with 1 GiB pages: which addresses get which page size. */
static void test_pc_1g_layout(void **unused)
{
	struct tv_mtrr_state s;
	struct tv_ept *ept;
	int level = 0;
	struct census c = { 0 };

	setup_fake();
	pc_state(&s, 39, MEMTYPE_UC);
	ept = build(&s, 39, true);
	assert_int_equal(tv_ept_ranges_end(ept), TV_BIT(39));

	/* first GiB: 4 KiB in the first 2 MiB only, 2 MiB above */
	assert_non_null(tv_ept_leaf(ept, 0, &level));
	assert_int_equal(level, 1);
	assert_non_null(tv_ept_leaf(ept, 2 * MiB - 1, &level));
	assert_int_equal(level, 1);
	assert_non_null(tv_ept_leaf(ept, 2 * MiB, &level));
	assert_int_equal(level, 2);
	assert_non_null(tv_ept_leaf(ept, GiB - 1, &level));
	assert_int_equal(level, 2);
	/* uniform GiBs: 1 GiB pages, the PCI hole included */
	assert_non_null(tv_ept_leaf(ept, GiB, &level));
	assert_int_equal(level, 3);
	assert_non_null(tv_ept_leaf(ept, 3 * GiB, &level));
	assert_int_equal(level, 3);
	assert_non_null(tv_ept_leaf(ept, 4 * GiB, &level));
	assert_int_equal(level, 3);
	/* the WP 2 MiB at 5G and the WT 256 MiB at 6G: 2 MiB pages */
	assert_non_null(tv_ept_leaf(ept, 5 * GiB, &level));
	assert_int_equal(level, 2);
	assert_non_null(tv_ept_leaf(ept, 6 * GiB + 300 * MiB, &level));
	assert_int_equal(level, 2);
	assert_non_null(tv_ept_leaf(ept, 100 * GiB, &level));
	assert_int_equal(level, 3);
	/* the end */
	assert_non_null(tv_ept_leaf(ept, TV_BIT(39) - 1, &level));
	assert_null(tv_ept_leaf(ept, TV_BIT(39), &level));
	assert_null(tv_ept_leaf(ept, ~0ULL, &level));

	census_walk(&s, tv_ept_pointer(ept) & EPT_ADDR_MASK, 4, 0, TV_BIT(39),
		    true, &c);
	/* PML4, PDPT, PDs for GiB 0, 5 and 6, one PT for the first 2 MiB */
	assert_int_equal(c.tables, 6);
	assert_int_equal(tv_ept_table_bytes(ept), 6 * 4096);
	assert_int_equal(fake.pages_live, 6 + TV_EPT_SPARE_TABLES);
	assert_int_equal(tv_ept_spare_bytes(ept), TV_EPT_SPARE_TABLES * 4096);
	assert_int_equal(c.leaves[3], 512 - 3);
	assert_int_equal(c.leaves[2], 3 * 512 - 1);
	assert_int_equal(c.leaves[1], 512);
	assert_int_equal(c.split_checked, 4);
	tv_ept_free(ept);
	check_no_leak();
}

static void check_boundaries(struct tv_ept *ept, const struct tv_mtrr_state *s,
			     bool use_1gb, u64 end)
{
	static const u64 marks[] = {
		0x80000, 0xa0000, 0xc0000, 0xc8000, 0xcc000, 0xd0000,
		0xe0000, 0x100000, 0x200000, GiB, 3 * GiB, 0xd0000000ULL,
		4 * GiB, 5 * GiB, 5 * GiB + 2 * MiB, 6 * GiB,
		6 * GiB + 256 * MiB, 8 * GiB, 512 * GiB,
	};
	static u64 rng = 0x2545f4914f6cdd1dULL;
	unsigned int i;
	u64 a;

	/* every fixed-range boundary, 4 KiB apart below 1 MiB */
	for (a = 0; a < MiB; a += 0x1000)
		check_gpa(ept, s, a, use_1gb);
	for (i = 0; i < TV_ARRAY_SIZE(marks); i++) {
		if (marks[i] >= end)
			continue;
		check_gpa(ept, s, marks[i], use_1gb);
		check_gpa(ept, s, marks[i] - 1, use_1gb);
		check_gpa(ept, s, marks[i] + 0xfff, use_1gb);
	}
	for (i = 0; i < 20000; i++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		/* half of them in the interesting first 8 GiB */
		a = rng % (i & 1 ? end : (end < 8 * GiB ? end : 8 * GiB));
		check_gpa(ept, s, a, use_1gb);
	}
	check_gpa(ept, s, end - 0x1000, use_1gb);
	check_gpa(ept, s, end - 1, use_1gb);
	assert_null(tv_ept_leaf(ept, end, &(int){ 0 }));
}

static void test_walk_many_1g(void **unused)
{
	struct tv_mtrr_state s;
	struct tv_ept *ept;
	struct census c = { 0 };

	setup_fake();
	pc_state(&s, 46, MEMTYPE_UC);
	ept = build(&s, 46, true);
	check_boundaries(ept, &s, true, TV_BIT(46));
	census_walk(&s, tv_ept_pointer(ept) & EPT_ADDR_MASK, 4, 0, TV_BIT(46),
		    true, &c);
	assert_int_equal(c.tables * 4096, tv_ept_table_bytes(ept));
	tv_ept_free(ept);
	check_no_leak();
}

static void test_walk_many_2m(void **unused)
{
	struct tv_mtrr_state s;
	struct tv_ept *ept;
	struct census c = { 0 };
	int level = 0;

	setup_fake();
	pc_state(&s, 46, MEMTYPE_WB);
	ept = build(&s, 46, false);
	/* without 1 GiB pages only the first 512 GiB are mapped at build, */
	assert_int_equal(tv_ept_ranges_end(ept), 512 * GiB);
	/* the rest of the width when used */
	assert_int_equal(tv_ept_mapped_end(ept), TV_BIT(46));
	check_boundaries(ept, &s, false, 512 * GiB);
	assert_non_null(tv_ept_leaf(ept, GiB, &level));
	assert_int_equal(level, 2);
	assert_non_null(tv_ept_leaf(ept, 3 * GiB, &level));
	assert_int_equal(level, 2);
	census_walk(&s, tv_ept_pointer(ept) & EPT_ADDR_MASK, 4, 0, 512 * GiB,
		    false, &c);
	assert_int_equal(c.leaves[3], 0);
	/* PML4, PDPT, 512 PDs, one PT */
	assert_int_equal(c.tables, 1 + 1 + 512 + 1);
	assert_int_equal(c.tables * 4096, tv_ept_table_bytes(ept));
	tv_ept_free(ept);
	check_no_leak();
}

/* Narrower than 512 GiB without 1 GiB pages: MAXPHYADDR is the limit. */
static void test_small_phys_2m(void **unused)
{
	struct tv_mtrr_state s;
	struct tv_ept *ept;
	struct census c = { 0 };

	setup_fake();
	pc_state(&s, 36, MEMTYPE_UC);
	ept = build(&s, 36, false);
	assert_int_equal(tv_ept_ranges_end(ept), 64 * GiB);
	check_boundaries(ept, &s, false, 64 * GiB);
	census_walk(&s, tv_ept_pointer(ept) & EPT_ADDR_MASK, 4, 0, 64 * GiB,
		    false, &c);
	assert_int_equal(c.tables, 1 + 1 + 64 + 1);
	tv_ept_free(ept);
	check_no_leak();
}

static void test_mtrr_disabled_all_uc(void **unused)
{
	struct tv_mtrr_state s;
	struct tv_ept *ept;
	struct census c = { 0 };

	setup_fake();
	pc_state(&s, 39, MEMTYPE_WB);
	s.enabled = false;
	ept = build(&s, 39, true);
	census_walk(&s, tv_ept_pointer(ept) & EPT_ADDR_MASK, 4, 0, TV_BIT(39),
		    true, &c);
	assert_int_equal(c.tables, 2);
	assert_int_equal(c.leaves[3], 512);
	check_gpa(ept, &s, 0, true);
	check_gpa(ept, &s, 0xa0000, true);
	assert_int_equal((*tv_ept_leaf(ept, 0, &(int){ 0 }) >>
			  EPT_MEMTYPE_SHIFT) & 7, MEMTYPE_UC);
	tv_ept_free(ept);
	check_no_leak();
}

/* Non-contiguous masks reach the map exactly too. */
static void test_noncontiguous_in_map(void **unused)
{
	struct tv_mtrr_state s;
	struct tv_ept *ept;
	struct census c = { 0 };
	int level = 0;
	u64 *e;

	setup_fake();
	tv_mtrr_set_uniform(&s, 39, MEMTYPE_WB);
	/* the pages at 0x40001000 and 0x40003000 are UC (bit 13 free) */
	s.var_count = 1;
	s.var[0] = (struct tv_mtrr_var){ GiB + 0x1000,
					 0x7ffffff000ULL & ~0x2000ULL,
					 MEMTYPE_UC, true };
	ept = build(&s, 39, true);
	e = tv_ept_leaf(ept, GiB + 0x3000, &level);
	assert_non_null(e);
	assert_int_equal(level, 1);
	assert_int_equal((*e >> EPT_MEMTYPE_SHIFT) & 7, MEMTYPE_UC);
	e = tv_ept_leaf(ept, GiB + 0x2000, &level);
	assert_int_equal((*e >> EPT_MEMTYPE_SHIFT) & 7, MEMTYPE_WB);
	census_walk(&s, tv_ept_pointer(ept) & EPT_ADDR_MASK, 4, 0, TV_BIT(39),
		    true, &c);
	assert_int_equal(c.tables, 4);
	tv_ept_free(ept);
	check_no_leak();
}

static void report(unsigned int bits, bool use_1gb, u64 *tables, u64 *meta)
{
	struct tv_mtrr_state s;
	struct tv_ept *ept;

	setup_fake();
	pc_state(&s, bits, MEMTYPE_UC);
	ept = build(&s, bits, use_1gb);
	*tables = tv_ept_table_bytes(ept);
	*meta = tv_ept_meta_bytes(ept);
	assert_int_equal(*tables + tv_ept_spare_bytes(ept),
			 fake.pages_live * 4096);
	printf("ept: MAXPHYADDR %u %s: map %llu GiB, tables %llu KiB (%llu pages), meta %llu KiB\n",
	       bits, use_1gb ? "1G" : "2M",
	       tv_ept_ranges_end(ept) >> 30, *tables >> 10, *tables >> 12,
	       *meta >> 10);
	tv_ept_free(ept);
	check_no_leak();
}

/* Table memory for the PC layout; the project target is <= 1 MiB. */
static void test_memory_figures(void **unused)
{
	u64 t, m;

	report(39, true, &t, &m);
	assert_int_equal(t, 6 * 4096);		/* see test_pc_1g_layout */
	report(46, true, &t, &m);
	/* PML4 + 128 PDPTs + 3 PDs + 1 PT */
	assert_int_equal(t, (1 + 128 + 3 + 1) * 4096);
	assert_true(t + m <= 1024 * 1024);
	report(48, true, &t, &m);
	assert_int_equal(t, (1 + 512 + 3 + 1) * 4096);
	report(39, false, &t, &m);
	assert_int_equal(t, (1 + 1 + 512 + 1) * 4096);
	report(46, false, &t, &m);
	assert_int_equal(t, (1 + 1 + 512 + 1) * 4096);
	report(48, false, &t, &m);
	assert_int_equal(t, (1 + 1 + 512 + 1) * 4096);
}

/*
 * Fail each allocation in turn: every failure frees all, none leaks.
 * @max_pages 1: memory too fragmented for any block, page by page.
 */
static void fail_each_allocation(unsigned int bits, bool use_1gb,
				 int min_allocs, size_t max_pages)
{
	struct tv_ept_config cfg = { .phys_bits = bits, .use_1gb = use_1gb };
	struct tv_mtrr_state s;
	struct tv_ept *ept;
	int n, ret;

	pc_state(&s, bits, MEMTYPE_UC);
	for (n = 0; n < 100000; n++) {
		fake_reset();
		fake.fail_after = n;
		fake.max_pages = max_pages;
		ept = (void *)1;
		ret = tv_ept_build_identity(&ept, &s, &cfg);
		if (ret == TV_OK)
			break;
		assert_int_equal(ret, TV_ERR_NO_MEMORY);
		assert_null(ept);
		check_no_leak();
	}
	assert_int_equal(ret, TV_OK);
	assert_true(n >= min_allocs);
	check_gpa(ept, &s, 0xa0000, use_1gb);
	tv_ept_free(ept);
	check_no_leak();
}

static void test_alloc_failures_1g(void **unused)
{
	/*
	 * ept, ranges, store chunk, then the 6 tables and 16 spares in one
	 * block; a block that fails falls back to single pages, which
	 * succeed.  Fragmented: the 6 + 16 pages one by one.
	 */
	fail_each_allocation(39, true, 3, 0);
	fail_each_allocation(39, true, 3 + 6 + TV_EPT_SPARE_TABLES, 1);
}

static void test_alloc_failures_2m(void **unused)
{
	/* ept, ranges, store chunk, 67 tables and 16 spares */
	fail_each_allocation(36, false, 3, 0);
	fail_each_allocation(36, false, 3 + 67 + TV_EPT_SPARE_TABLES, 1);
}

static void test_bad_args(void **unused)
{
	struct tv_ept_config cfg = { .phys_bits = 31, .use_1gb = true };
	struct tv_mtrr_state s;
	struct tv_ept *ept = (void *)1;

	setup_fake();
	pc_state(&s, 39, MEMTYPE_UC);
	assert_int_equal(tv_ept_build_identity(&ept, &s, &cfg),
			 TV_ERR_INVALID);
	assert_null(ept);
	cfg.phys_bits = 53;
	assert_int_equal(tv_ept_build_identity(&ept, &s, &cfg),
			 TV_ERR_INVALID);
	assert_int_equal(tv_ept_build_identity(NULL, &s, &cfg),
			 TV_ERR_INVALID);
	cfg.phys_bits = 39;
	assert_int_equal(tv_ept_build_identity(&ept, NULL, &cfg),
			 TV_ERR_INVALID);
	tv_ept_free(NULL);
	assert_null(tv_ept_leaf(NULL, 0, &(int){ 0 }));
	assert_int_equal(tv_ept_table_bytes(NULL), 0);
	check_no_leak();
}

/* MAXPHYADDR 52: a 4-level walk stops at 2^48. */
static void test_phys_52_capped(void **unused)
{
	struct tv_mtrr_state s;
	struct tv_ept *ept;
	int level = 0;

	setup_fake();
	pc_state(&s, 52, MEMTYPE_WB);
	ept = build(&s, 52, true);
	assert_int_equal(tv_ept_ranges_end(ept), TV_BIT(48));
	check_gpa(ept, &s, TV_BIT(48) - 1, true);
	assert_non_null(tv_ept_leaf(ept, TV_BIT(48) - 1, &level));
	assert_int_equal(level, 3);
	assert_null(tv_ept_leaf(ept, TV_BIT(48), &level));
	tv_ept_free(ept);
	check_no_leak();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_choose_leaf),
		cmocka_unit_test(test_eptp_format),
		cmocka_unit_test(test_pc_1g_layout),
		cmocka_unit_test(test_walk_many_1g),
		cmocka_unit_test(test_walk_many_2m),
		cmocka_unit_test(test_small_phys_2m),
		cmocka_unit_test(test_mtrr_disabled_all_uc),
		cmocka_unit_test(test_noncontiguous_in_map),
		cmocka_unit_test(test_memory_figures),
		cmocka_unit_test(test_alloc_failures_1g),
		cmocka_unit_test(test_alloc_failures_2m),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_phys_52_capped),
	};

	fake_reset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
