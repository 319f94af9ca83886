// SPDX-License-Identifier: MIT
/*
 * MTRR capture and range-type queries: known answers on a realistic PC
 * layout, the SDM overlap rules, odd masks, and a brute-force comparison.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <unistd.h>
#include <cmocka.h>
#include "fake_platform.h"
#include "core/mtrr.h"
#include "arch/x86/ept.h"
#include "arch/x86/msr.h"

#define KiB 0x400ULL
#define MiB 0x100000ULL
#define GiB 0x40000000ULL

/* --- fake MSR table ---------------------------------------------------- */

struct msr_val {
	u32 msr;
	u64 val;
};

struct msr_table {
	struct msr_val v[128];
	unsigned int n;
	unsigned int reads;
};

static void msr_set(struct msr_table *t, u32 msr, u64 val)
{
	unsigned int i;

	for (i = 0; i < t->n; i++) {
		if (t->v[i].msr == msr) {
			t->v[i].val = val;
			return;
		}
	}
	assert_true(t->n < TV_ARRAY_SIZE(t->v));
	t->v[t->n].msr = msr;
	t->v[t->n].val = val;
	t->n++;
}

/* An MSR missing from the table is one the CPU would #GP on. */
static u64 fake_rdmsr(u32 msr, void *ctx)
{
	struct msr_table *t = ctx;
	unsigned int i;

	t->reads++;
	for (i = 0; i < t->n; i++)
		if (t->v[i].msr == msr)
			return t->v[i].val;
	fail_msg("RDMSR of absent MSR %#x", msr);
	return 0;
}

static u64 bytes8(u8 t)
{
	return 0x0101010101010101ULL * t;
}

static void set_var(struct msr_table *t, unsigned int i, u64 base, u64 size,
		    u8 type, unsigned int phys_bits)
{
	u64 pm = (TV_BIT(phys_bits) - 1) & ~0xfffULL;

	msr_set(t, MSR_IA32_MTRR_PHYSBASE0 + 2 * i, base | type);
	msr_set(t, MSR_IA32_MTRR_PHYSMASK0 + 2 * i,
		(~(size - 1) & pm) | MTRR_PHYSMASK_VALID);
}

/*
 * A desktop as firmware leaves it, MAXPHYADDR 39:
 *   fixed: 0-9FFFF WB, A0000-BFFFF UC, C0000-C7FFF WP (video BIOS),
 *          C8000-CBFFF UC, CC000-CFFFF WP, D0000-DFFFF UC, E0000-FFFFF WP
 *   var0 0-4G WB, var1 3G-4G UC (PCI hole), var2 4G-8G WB,
 *   var3 6G +256M WT (over WB: WT), var4 D0000000 +256M WC (inside the
 *   UC hole: UC), var5 invalid WT 0-4G (ignored), var6 5G +2M WP (over WB:
 *   undefined, UC), var7-9 unused; default @def.
 */
static void pc_layout(struct msr_table *t, u8 def, bool fe)
{
	unsigned int i;

	memset(t, 0, sizeof(*t));
	msr_set(t, MSR_IA32_MTRRCAP, 0x50a);	/* WC, FIX, VCNT=10 */
	msr_set(t, MSR_IA32_MTRR_DEF_TYPE,
		MTRR_DEF_TYPE_E | (fe ? MTRR_DEF_TYPE_FE : 0) | def);
	msr_set(t, MSR_IA32_MTRR_FIX64K_00000, bytes8(MEMTYPE_WB));
	msr_set(t, MSR_IA32_MTRR_FIX16K_80000, bytes8(MEMTYPE_WB));
	msr_set(t, MSR_IA32_MTRR_FIX16K_A0000, bytes8(MEMTYPE_UC));
	msr_set(t, MSR_IA32_MTRR_FIX4K_C0000, bytes8(MEMTYPE_WP));
	msr_set(t, MSR_IA32_MTRR_FIX4K_C0000 + 1, 0x0505050500000000ULL);
	msr_set(t, MSR_IA32_MTRR_FIX4K_C0000 + 2, bytes8(MEMTYPE_UC));
	msr_set(t, MSR_IA32_MTRR_FIX4K_C0000 + 3, bytes8(MEMTYPE_UC));
	for (i = 4; i < 8; i++)
		msr_set(t, MSR_IA32_MTRR_FIX4K_C0000 + i, bytes8(MEMTYPE_WP));
	for (i = 0; i < 10; i++) {
		msr_set(t, MSR_IA32_MTRR_PHYSBASE0 + 2 * i, 0);
		msr_set(t, MSR_IA32_MTRR_PHYSMASK0 + 2 * i, 0);
	}
	set_var(t, 0, 0, 4 * GiB, MEMTYPE_WB, 39);
	set_var(t, 1, 3 * GiB, GiB, MEMTYPE_UC, 39);
	set_var(t, 2, 4 * GiB, 4 * GiB, MEMTYPE_WB, 39);
	set_var(t, 3, 6 * GiB, 256 * MiB, MEMTYPE_WT, 39);
	set_var(t, 4, 0xd0000000ULL, 256 * MiB, MEMTYPE_WC, 39);
	set_var(t, 5, 0, 4 * GiB, MEMTYPE_WT, 39);
	msr_set(t, MSR_IA32_MTRR_PHYSMASK0 + 2 * 5,
		(~(4 * GiB - 1) & 0x7ffffff000ULL));	/* V clear */
	set_var(t, 6, 5 * GiB, 2 * MiB, MEMTYPE_WP, 39);
}

static void capture_pc(struct tv_mtrr_state *s, u8 def, bool fe)
{
	struct msr_table t;

	pc_layout(&t, def, fe);
	tv_mtrr_capture(s, 39, fake_rdmsr, &t);
}

static u8 at(const struct tv_mtrr_state *s, u64 a)
{
	return tv_mtrr_range_type(s, a, 1);
}

/* --- capture ----------------------------------------------------------- */

static void test_capture_fields(void **unused)
{
	struct tv_mtrr_state s;
	struct msr_table t;

	pc_layout(&t, MEMTYPE_UC, true);
	tv_mtrr_capture(&s, 39, fake_rdmsr, &t);
	/* CAP, DEF_TYPE, 11 fixed, 10 pairs */
	assert_int_equal(t.reads, 2 + 11 + 20);
	assert_true(s.enabled);
	assert_true(s.fixed_enabled);
	assert_int_equal(s.default_type, MEMTYPE_UC);
	assert_int_equal(s.phys_bits, 39);
	assert_int_equal(s.var_count, 10);
	assert_int_equal(s.fixed[0], MEMTYPE_WB);
	assert_int_equal(s.fixed[23], MEMTYPE_UC);
	assert_int_equal(s.fixed[24], MEMTYPE_WP);
	/* 0x0505050500000000 at C8000: low bytes are the low addresses */
	assert_int_equal(s.fixed[32], MEMTYPE_UC);
	assert_int_equal(s.fixed[35], MEMTYPE_UC);
	assert_int_equal(s.fixed[36], MEMTYPE_WP);
	assert_int_equal(s.fixed[87], MEMTYPE_WP);
	assert_true(s.var[1].valid);
	assert_int_equal(s.var[1].base, 3 * GiB);
	assert_int_equal(s.var[1].mask, 0x7fc0000000ULL);
	assert_int_equal(s.var[1].type, MEMTYPE_UC);
	assert_false(s.var[5].valid);
	assert_false(s.var[7].valid);
}

static void test_capture_masks_to_maxphyaddr(void **unused)
{
	struct tv_mtrr_state s;
	struct msr_table t = { .n = 0 };

	msr_set(&t, MSR_IA32_MTRRCAP, 1);
	msr_set(&t, MSR_IA32_MTRR_DEF_TYPE, MTRR_DEF_TYPE_E | 3);
	/* bits above MAXPHYADDR 36 and the low flag bits must go */
	msr_set(&t, MSR_IA32_MTRR_PHYSBASE0, 0xfff0000080000f07ULL);
	msr_set(&t, MSR_IA32_MTRR_PHYSMASK0, 0xffffffff80000800ULL);
	tv_mtrr_capture(&s, 36, fake_rdmsr, &t);
	assert_int_equal(s.var[0].base, 0x80000000ULL);
	assert_int_equal(s.var[0].mask, 0xf80000000ULL);
	/* reserved encodings 3 and 7 are recorded as UC */
	assert_int_equal(s.default_type, MEMTYPE_UC);
	assert_int_equal(s.var[0].type, MEMTYPE_UC);
	/* the mask covers 2G-4G and its aliases above 2^36 do not exist */
	assert_int_equal(at(&s, 0x80000000ULL), MEMTYPE_UC);
	assert_int_equal(tv_mtrr_range_type(&s, 2 * GiB, 2 * GiB), MEMTYPE_UC);
}

static void test_capture_no_fixed_msrs(void **unused)
{
	struct tv_mtrr_state s;
	struct msr_table t = { .n = 0 };

	/* FE set but MTRRCAP.FIX clear: no fixed MSR may be read */
	msr_set(&t, MSR_IA32_MTRRCAP, 0);
	msr_set(&t, MSR_IA32_MTRR_DEF_TYPE,
		MTRR_DEF_TYPE_E | MTRR_DEF_TYPE_FE | MEMTYPE_WB);
	tv_mtrr_capture(&s, 39, fake_rdmsr, &t);
	assert_int_equal(t.reads, 2);
	assert_false(s.fixed_enabled);
	assert_int_equal(s.var_count, 0);
	assert_int_equal(at(&s, 0xa0000), MEMTYPE_WB);
}

static void test_capture_clamps_vcnt(void **unused)
{
	struct tv_mtrr_state s;
	struct msr_table t = { .n = 0 };
	unsigned int i;

	msr_set(&t, MSR_IA32_MTRRCAP, 0xff);
	msr_set(&t, MSR_IA32_MTRR_DEF_TYPE, MTRR_DEF_TYPE_E | MEMTYPE_WB);
	for (i = 0; i < TV_MTRR_MAX_VAR; i++) {
		msr_set(&t, MSR_IA32_MTRR_PHYSBASE0 + 2 * i, 0);
		msr_set(&t, MSR_IA32_MTRR_PHYSMASK0 + 2 * i, 0);
	}
	set_var(&t, TV_MTRR_MAX_VAR - 1, 0, 4 * KiB, MEMTYPE_UC, 39);
	tv_mtrr_capture(&s, 39, fake_rdmsr, &t);
	assert_int_equal(s.var_count, TV_MTRR_MAX_VAR);
	assert_int_equal(at(&s, 0), MEMTYPE_UC);
	assert_int_equal(at(&s, 4 * KiB), MEMTYPE_WB);
}

static void test_capture_clamps_phys_bits(void **unused)
{
	struct tv_mtrr_state s;
	struct msr_table t = { .n = 0 };

	msr_set(&t, MSR_IA32_MTRRCAP, 0);
	msr_set(&t, MSR_IA32_MTRR_DEF_TYPE, 0);
	tv_mtrr_capture(&s, 0, fake_rdmsr, &t);
	assert_int_equal(s.phys_bits, 32);
	tv_mtrr_capture(&s, 64, fake_rdmsr, &t);
	assert_int_equal(s.phys_bits, 52);
}

/* --- known answers ------------------------------------------------------ */

static void test_disabled_is_uc(void **unused)
{
	struct tv_mtrr_state s;
	struct msr_table t;

	pc_layout(&t, MEMTYPE_WB, true);
	msr_set(&t, MSR_IA32_MTRR_DEF_TYPE,
		MTRR_DEF_TYPE_FE | MEMTYPE_WB);	/* E clear */
	tv_mtrr_capture(&s, 39, fake_rdmsr, &t);
	assert_false(s.enabled);
	assert_int_equal(at(&s, 0), MEMTYPE_UC);
	assert_int_equal(at(&s, 2 * GiB), MEMTYPE_UC);
	assert_int_equal(tv_mtrr_range_type(&s, 0, TV_BIT(39)), MEMTYPE_UC);
}

static void test_fixed_ranges(void **unused)
{
	struct tv_mtrr_state s;

	capture_pc(&s, MEMTYPE_UC, true);
	assert_int_equal(at(&s, 0), MEMTYPE_WB);
	assert_int_equal(at(&s, 0x7ffff), MEMTYPE_WB);
	assert_int_equal(at(&s, 0x9ffff), MEMTYPE_WB);
	assert_int_equal(at(&s, 0xa0000), MEMTYPE_UC);
	assert_int_equal(at(&s, 0xbffff), MEMTYPE_UC);
	assert_int_equal(at(&s, 0xc0000), MEMTYPE_WP);
	assert_int_equal(at(&s, 0xc7fff), MEMTYPE_WP);
	assert_int_equal(at(&s, 0xc8000), MEMTYPE_UC);
	assert_int_equal(at(&s, 0xcbfff), MEMTYPE_UC);
	assert_int_equal(at(&s, 0xcc000), MEMTYPE_WP);
	assert_int_equal(at(&s, 0xd0000), MEMTYPE_UC);
	assert_int_equal(at(&s, 0xdffff), MEMTYPE_UC);
	assert_int_equal(at(&s, 0xe0000), MEMTYPE_WP);
	assert_int_equal(at(&s, 0xfffff), MEMTYPE_WP);
	/* from 1 MiB the variable ranges decide */
	assert_int_equal(at(&s, 0x100000), MEMTYPE_WB);

	assert_int_equal(tv_mtrr_range_type(&s, 0, 0xa0000), MEMTYPE_WB);
	assert_int_equal(tv_mtrr_range_type(&s, 0xa0000, 0x20000), MEMTYPE_UC);
	assert_int_equal(tv_mtrr_range_type(&s, 0xe0000, 0x20000), MEMTYPE_WP);
	assert_int_equal(tv_mtrr_range_type(&s, 0x9f000, 0x2000),
			 TV_MEMTYPE_MIXED);
	assert_int_equal(tv_mtrr_range_type(&s, 0xc7000, 0x2000),
			 TV_MEMTYPE_MIXED);
	assert_int_equal(tv_mtrr_range_type(&s, 0, MiB), TV_MEMTYPE_MIXED);
	/* across 1 MiB: WP below, WB above */
	assert_int_equal(tv_mtrr_range_type(&s, 0xff000, 0x2000),
			 TV_MEMTYPE_MIXED);
	assert_int_equal(tv_mtrr_range_type(&s, 0, 2 * MiB), TV_MEMTYPE_MIXED);
	assert_int_equal(tv_mtrr_range_type(&s, MiB, MiB), MEMTYPE_WB);
}

static void test_fixed_disabled_uses_variable(void **unused)
{
	struct tv_mtrr_state s;

	capture_pc(&s, MEMTYPE_UC, false);
	assert_false(s.fixed_enabled);
	/* var0 (0-4G WB) now decides below 1 MiB too */
	assert_int_equal(at(&s, 0xa0000), MEMTYPE_WB);
	assert_int_equal(at(&s, 0xc8000), MEMTYPE_WB);
	assert_int_equal(tv_mtrr_range_type(&s, 0, 2 * MiB), MEMTYPE_WB);
	assert_int_equal(tv_mtrr_range_type(&s, 0, GiB), MEMTYPE_WB);
}

static void test_fixed_disabled_default_below_1m(void **unused)
{
	struct tv_mtrr_state s;

	tv_mtrr_set_uniform(&s, 39, MEMTYPE_WT);
	memset(s.fixed, MEMTYPE_UC, sizeof(s.fixed));	/* FE off: unused */
	assert_int_equal(tv_mtrr_range_type(&s, 0, 2 * MiB), MEMTYPE_WT);
	s.fixed_enabled = true;
	assert_int_equal(tv_mtrr_range_type(&s, 0, MiB), MEMTYPE_UC);
	assert_int_equal(tv_mtrr_range_type(&s, 0, 2 * MiB), TV_MEMTYPE_MIXED);
}

static void test_variable_ranges(void **unused)
{
	struct tv_mtrr_state s;

	capture_pc(&s, MEMTYPE_UC, true);
	assert_int_equal(tv_mtrr_range_type(&s, MiB, 3 * GiB - MiB),
			 MEMTYPE_WB);
	assert_int_equal(tv_mtrr_range_type(&s, GiB, GiB), MEMTYPE_WB);
	/* PCI hole: UC over WB, and the WC framebuffer inside it is UC */
	assert_int_equal(tv_mtrr_range_type(&s, 3 * GiB, GiB), MEMTYPE_UC);
	assert_int_equal(at(&s, 0xd0000000ULL), MEMTYPE_UC);
	assert_int_equal(at(&s, 0xbfffffffULL), MEMTYPE_WB);
	assert_int_equal(tv_mtrr_range_type(&s, 2 * GiB, 2 * GiB),
			 TV_MEMTYPE_MIXED);
	assert_int_equal(tv_mtrr_range_type(&s, 3 * GiB - 4 * KiB, 8 * KiB),
			 TV_MEMTYPE_MIXED);
	/* the 4 GiB boundary */
	assert_int_equal(at(&s, 4 * GiB - 1), MEMTYPE_UC);
	assert_int_equal(at(&s, 4 * GiB), MEMTYPE_WB);
	assert_int_equal(tv_mtrr_range_type(&s, 4 * GiB - 4 * KiB, 8 * KiB),
			 TV_MEMTYPE_MIXED);
	assert_int_equal(tv_mtrr_range_type(&s, 4 * GiB, GiB), MEMTYPE_WB);
	/* WT over WB is WT */
	assert_int_equal(tv_mtrr_range_type(&s, 6 * GiB, 256 * MiB),
			 MEMTYPE_WT);
	assert_int_equal(at(&s, 6 * GiB + 256 * MiB - 1), MEMTYPE_WT);
	assert_int_equal(at(&s, 6 * GiB + 256 * MiB), MEMTYPE_WB);
	assert_int_equal(tv_mtrr_range_type(&s, 6 * GiB, 512 * MiB),
			 TV_MEMTYPE_MIXED);
	/* WP over WB is undefined in the SDM: UC */
	assert_int_equal(tv_mtrr_range_type(&s, 5 * GiB, 2 * MiB), MEMTYPE_UC);
	assert_int_equal(at(&s, 5 * GiB + 2 * MiB), MEMTYPE_WB);
	/* the invalid WT pair must not turn 0-4G into WT */
	assert_int_equal(at(&s, 2 * GiB), MEMTYPE_WB);
	/* above 8 GiB: the default */
	assert_int_equal(at(&s, 8 * GiB), MEMTYPE_UC);
	assert_int_equal(tv_mtrr_range_type(&s, 8 * GiB, TV_BIT(39) - 8 * GiB),
			 MEMTYPE_UC);
	assert_int_equal(tv_mtrr_range_type(&s, 7 * GiB, 2 * GiB),
			 TV_MEMTYPE_MIXED);
}

static void test_default_wb(void **unused)
{
	struct tv_mtrr_state s;

	capture_pc(&s, MEMTYPE_WB, true);
	assert_int_equal(at(&s, 8 * GiB), MEMTYPE_WB);
	/* 7G-9G: var2 WB then default WB: one type */
	assert_int_equal(tv_mtrr_range_type(&s, 7 * GiB, 2 * GiB), MEMTYPE_WB);
	assert_int_equal(tv_mtrr_range_type(&s, 8 * GiB, TV_BIT(39) - 8 * GiB),
			 MEMTYPE_WB);
	assert_int_equal(tv_mtrr_range_type(&s, 3 * GiB, GiB), MEMTYPE_UC);
}

/* Each pair of types in two overlapping ranges over a WB default. */
static void test_overlap_rules(void **unused)
{
	static const u8 types[] = { MEMTYPE_UC, MEMTYPE_WC, MEMTYPE_WT,
				    MEMTYPE_WP, MEMTYPE_WB };
	struct tv_mtrr_state s;
	unsigned int i, j;

	for (i = 0; i < TV_ARRAY_SIZE(types); i++) {
		for (j = 0; j < TV_ARRAY_SIZE(types); j++) {
			u8 a = types[i], b = types[j], want;

			tv_mtrr_set_uniform(&s, 39, MEMTYPE_WB);
			s.var_count = 2;
			s.var[0] = (struct tv_mtrr_var){ 4 * GiB, ~(GiB - 1) &
				0x7ffffff000ULL, a, true };
			s.var[1] = (struct tv_mtrr_var){ 4 * GiB, ~(GiB - 1) &
				0x7ffffff000ULL, b, true };
			if (a == MEMTYPE_UC || b == MEMTYPE_UC)
				want = MEMTYPE_UC;
			else if (a == b)
				want = a;
			else if ((a == MEMTYPE_WT && b == MEMTYPE_WB) ||
				 (a == MEMTYPE_WB && b == MEMTYPE_WT))
				want = MEMTYPE_WT;
			else
				want = MEMTYPE_UC;
			assert_int_equal(tv_mtrr_range_type(&s, 4 * GiB, GiB),
					 want);
			assert_int_equal(at(&s, 5 * GiB), MEMTYPE_WB);
		}
	}
}

static void test_size_edges(void **unused)
{
	struct tv_mtrr_state s;

	capture_pc(&s, MEMTYPE_UC, true);
	/* size 0 is one byte */
	assert_int_equal(tv_mtrr_range_type(&s, 0xa0000, 0), MEMTYPE_UC);
	/* past 2^64 is cut; above 2^39 the top page aliases (default UC) */
	assert_int_equal(tv_mtrr_range_type(&s, ~0ULL - 0xfff, 0x10000),
			 MEMTYPE_UC);
	assert_int_equal(tv_mtrr_range_type(&s, 0, ~0ULL), TV_MEMTYPE_MIXED);
	/* unaligned ranges inside one type */
	assert_int_equal(tv_mtrr_range_type(&s, 0x123456789ULL, 0x1234567),
			 MEMTYPE_WB);
	assert_int_equal(tv_mtrr_range_type(&s, 0xbffff001ULL, 0xfff),
			 MEMTYPE_WB);
	assert_int_equal(tv_mtrr_range_type(&s, 0xbffff001ULL, 0x1000),
			 TV_MEMTYPE_MIXED);
}

/* --- masks that are not contiguous ------------------------------------ */

static u64 pm39(void)
{
	return 0x7ffffff000ULL;
}

static void test_noncontiguous_mask(void **unused)
{
	struct tv_mtrr_state s;

	tv_mtrr_set_uniform(&s, 39, MEMTYPE_WB);
	/* bit 13 free: matches the pages at 0x1000 and 0x3000 only */
	s.var_count = 1;
	s.var[0] = (struct tv_mtrr_var){ 0x1000, pm39() & ~0x2000ULL,
					 MEMTYPE_UC, true };
	assert_int_equal(tv_mtrr_range_type(&s, 0, 0x1000), MEMTYPE_WB);
	assert_int_equal(tv_mtrr_range_type(&s, 0x1000, 0x1000), MEMTYPE_UC);
	assert_int_equal(tv_mtrr_range_type(&s, 0x2000, 0x1000), MEMTYPE_WB);
	assert_int_equal(tv_mtrr_range_type(&s, 0x3000, 0x1000), MEMTYPE_UC);
	assert_int_equal(tv_mtrr_range_type(&s, 0x4000, GiB - 0x4000),
			 MEMTYPE_WB);
	assert_int_equal(tv_mtrr_range_type(&s, 0, 2 * MiB), TV_MEMTYPE_MIXED);
	assert_int_equal(tv_mtrr_range_type(&s, 0x2000, 0x1001),
			 TV_MEMTYPE_MIXED);
}

static void test_noncontiguous_uniform_and_one_page(void **unused)
{
	struct tv_mtrr_state s;

	tv_mtrr_set_uniform(&s, 39, MEMTYPE_WB);
	/*
	 * var0: every odd page below 2^30 and its aliases with bit 30 clear,
	 * WB, under var1: WT over [0, 2G).  WT+WB is WT and WT alone is WT,
	 * so [0, 2G) is all WT although var0 cuts it into 2^18 pieces.
	 */
	s.var_count = 3;
	s.var[0] = (struct tv_mtrr_var){ 0x1000, TV_BIT(12) | TV_BIT(30),
					 MEMTYPE_WB, true };
	s.var[1] = (struct tv_mtrr_var){ 0, pm39() & ~(2 * GiB - 1),
					 MEMTYPE_WT, true };
	assert_int_equal(tv_mtrr_range_type(&s, 0, GiB), MEMTYPE_WT);
	assert_int_equal(tv_mtrr_range_type(&s, 0, 2 * GiB), MEMTYPE_WT);
	/* above 2G var0 alone makes odd pages below 3G WB over WB default */
	assert_int_equal(tv_mtrr_range_type(&s, 2 * GiB, GiB), MEMTYPE_WB);

	/* one UC page at the very end of the first GiB breaks uniformity */
	s.var[2] = (struct tv_mtrr_var){ GiB - 0x1000, pm39(), MEMTYPE_UC,
					 true };
	assert_int_equal(tv_mtrr_range_type(&s, 0, GiB), TV_MEMTYPE_MIXED);
	assert_int_equal(tv_mtrr_range_type(&s, 0, GiB - 0x1000), MEMTYPE_WT);
	assert_int_equal(tv_mtrr_range_type(&s, GiB, GiB), MEMTYPE_WT);
}

/* Two WC halves of a block, default UC: uniform though neither covers it. */
static void test_partial_ranges_that_tile(void **unused)
{
	struct tv_mtrr_state s;

	tv_mtrr_set_uniform(&s, 39, MEMTYPE_UC);
	s.var_count = 2;
	s.var[0] = (struct tv_mtrr_var){ 0, pm39() & ~(GiB / 2 - 1),
					 MEMTYPE_WC, true };
	s.var[1] = (struct tv_mtrr_var){ GiB / 2, pm39() & ~(GiB / 2 - 1),
					 MEMTYPE_WC, true };
	assert_int_equal(tv_mtrr_range_type(&s, 0, GiB), MEMTYPE_WC);
	assert_int_equal(tv_mtrr_range_type(&s, 0, 2 * GiB), TV_MEMTYPE_MIXED);
	s.var[1].type = MEMTYPE_WB;
	assert_int_equal(tv_mtrr_range_type(&s, 0, GiB), TV_MEMTYPE_MIXED);
}

/*
 * Above MAXPHYADDR addresses alias: with MAXPHYADDR 32 the 64-bit space is
 * 2^32 copies of [0, 4 GiB), and must cost about as much as one copy.  Two
 * WC halves need a look at each half; doing that for each of 2^32 copies
 * would take minutes, so an alarm turns that into a failure.
 */
static void test_aliases_above_maxphyaddr(void **unused)
{
	u64 pm32 = 0xfffff000ULL;
	struct tv_mtrr_state s;

	alarm(20);
	tv_mtrr_set_uniform(&s, 32, MEMTYPE_UC);
	s.var_count = 2;
	s.var[0] = (struct tv_mtrr_var){ 0, pm32 & ~(TV_BIT(31) - 1),
					 MEMTYPE_WC, true };
	s.var[1] = (struct tv_mtrr_var){ TV_BIT(31), pm32 & ~(TV_BIT(31) - 1),
					 MEMTYPE_WC, true };
	assert_int_equal(tv_mtrr_range_type(&s, 0, TV_BIT(32)), MEMTYPE_WC);
	assert_int_equal(tv_mtrr_range_type(&s, 0, ~0ULL), MEMTYPE_WC);
	assert_int_equal(tv_mtrr_range_type(&s, TV_BIT(63), TV_BIT(63)),
			 MEMTYPE_WC);
	s.var[1].type = MEMTYPE_WB;
	assert_int_equal(tv_mtrr_range_type(&s, TV_BIT(50) + TV_BIT(31),
					    TV_BIT(31)), MEMTYPE_WB);
	assert_int_equal(tv_mtrr_range_type(&s, TV_BIT(50), TV_BIT(50)),
			 TV_MEMTYPE_MIXED);
	alarm(0);
}

/* --- brute force -------------------------------------------------------- */

static u64 rng_state = 0x9e3779b97f4a7c15ULL;

static u64 rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* The SDM rules, address by address, written out the long way. */
static u8 ref_type(const struct tv_mtrr_state *s, u64 a)
{
	bool seen[8] = { false };
	unsigned int i, nseen = 0;

	if (!s->enabled)
		return MEMTYPE_UC;
	if (s->fixed_enabled && a < MiB) {
		if (a < 0x80000)
			return s->fixed[a / 0x10000];
		if (a < 0xc0000)
			return s->fixed[8 + (a - 0x80000) / 0x4000];
		return s->fixed[24 + (a - 0xc0000) / 0x1000];
	}
	for (i = 0; i < s->var_count; i++) {
		const struct tv_mtrr_var *v = &s->var[i];

		if (v->valid && (a & v->mask) == (v->base & v->mask)) {
			if (!seen[v->type])
				nseen++;
			seen[v->type] = true;
		}
	}
	if (!nseen)
		return s->default_type;
	if (seen[MEMTYPE_UC])
		return MEMTYPE_UC;
	if (nseen == 1) {
		for (i = 0; i < 8; i++)
			if (seen[i])
				return i;
	}
	if (nseen == 2 && seen[MEMTYPE_WT] && seen[MEMTYPE_WB])
		return MEMTYPE_WT;
	return MEMTYPE_UC;
}

static u8 ref_range(const struct tv_mtrr_state *s, u64 base, u64 size)
{
	u64 a = base & ~0xfffULL;
	u8 t = ref_type(s, base);

	/* types only change at page boundaries */
	for (; a < base + size; a += 0x1000)
		if (ref_type(s, a) != t)
			return TV_MEMTYPE_MIXED;
	return t;
}

static void test_random_against_reference(void **unused)
{
	static const u8 types[] = { MEMTYPE_UC, MEMTYPE_WC, MEMTYPE_WT,
				    MEMTYPE_WP, MEMTYPE_WB };
	struct tv_mtrr_state s;
	unsigned int round, i, q;
	unsigned long mixed = 0, uniform = 0;

	for (round = 0; round < 300; round++) {
		tv_mtrr_set_uniform(&s, 39, types[rnd() % 5]);
		s.fixed_enabled = rnd() & 1;
		for (i = 0; i < TV_MTRR_FIXED_COUNT; i++)
			s.fixed[i] = rnd() % 4 ? MEMTYPE_WB : types[rnd() % 5];
		s.var_count = 1 + rnd() % 6;
		for (i = 0; i < s.var_count; i++) {
			/*
			 * Everything happens below 16 MiB (mask bits from 24
			 * up are set, base bits there clear); below that the
			 * mask is contiguous half of the time, random else.
			 */
			unsigned int sz = 12 + rnd() % 12;
			u64 low = rnd() % 2 ? ~(TV_BIT(sz) - 1) : rnd();
			u64 mask = (low | ~(TV_BIT(24) - 1)) & pm39();

			s.var[i].mask = mask;
			s.var[i].base = rnd() & (TV_BIT(24) - 1) & mask;
			s.var[i].type = types[rnd() % 5];
			s.var[i].valid = rnd() % 8;
		}
		for (q = 0; q < 40; q++) {
			unsigned int k = rnd() % 13;	/* blocks 4K..16M */
			u64 size = 0x1000ULL << k;
			u64 base = (rnd() & (TV_BIT(24) - 1)) & ~(size - 1);
			u8 want, got;

			if (q & 1) {	/* unaligned ranges too */
				base = rnd() & (TV_BIT(24) - 1);
				size = 1 + rnd() % (TV_BIT(24) - base);
			}
			want = ref_range(&s, base, size);
			got = tv_mtrr_range_type(&s, base, size);
			if (want != got)
				fail_msg("round %u: [%#llx, +%#llx) want %u got %u",
					 round, base, size, want, got);
			if (want == TV_MEMTYPE_MIXED)
				mixed++;
			else
				uniform++;
		}
	}
	/* the comparison means something only if both answers occur often */
	assert_true(mixed > 1000);
	assert_true(uniform > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capture_fields),
		cmocka_unit_test(test_capture_masks_to_maxphyaddr),
		cmocka_unit_test(test_capture_no_fixed_msrs),
		cmocka_unit_test(test_capture_clamps_vcnt),
		cmocka_unit_test(test_capture_clamps_phys_bits),
		cmocka_unit_test(test_disabled_is_uc),
		cmocka_unit_test(test_fixed_ranges),
		cmocka_unit_test(test_fixed_disabled_uses_variable),
		cmocka_unit_test(test_fixed_disabled_default_below_1m),
		cmocka_unit_test(test_variable_ranges),
		cmocka_unit_test(test_default_wb),
		cmocka_unit_test(test_overlap_rules),
		cmocka_unit_test(test_size_edges),
		cmocka_unit_test(test_noncontiguous_mask),
		cmocka_unit_test(test_noncontiguous_uniform_and_one_page),
		cmocka_unit_test(test_partial_ranges_that_tile),
		cmocka_unit_test(test_aliases_above_maxphyaddr),
		cmocka_unit_test(test_random_against_reference),
	};

	fake_reset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
