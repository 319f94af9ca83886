// SPDX-License-Identifier: MIT
/*
 * MTRR snapshot and exact memory-type queries over address ranges.
 *
 * The query splits a range into naturally aligned power-of-two blocks.  For
 * such a block every variable range either misses it, covers all of it, or
 * covers part of it, and which one is decided exactly from the mask bits
 * above and below the block size, whatever the shape of the mask.  Only a
 * partial cover that could change the answer makes the block split in two,
 * so a contiguous range costs at most one split per address bit.
 */
#include "core/types.h"
#include "core/mtrr.h"
#include "arch/x86/ept.h"
#include "arch/x86/msr.h"

#define TYPE_BIT(t) ((u8)(1u << (t)))

/*
 * Encodings 2, 3 and 7 and above are reserved: WRMSR refuses them, so they
 * only come from a hand-made state.  An EPT leaf with one of them is a
 * misconfiguration, so they are treated as UC everywhere.
 */
static TV_VMX_ROOT u8 sane_type(u8 t)
{
	switch (t) {
	case MEMTYPE_UC:
	case MEMTYPE_WC:
	case MEMTYPE_WT:
	case MEMTYPE_WP:
	case MEMTYPE_WB:
		return t;
	default:
		return MEMTYPE_UC;
	}
}

static TV_VMX_ROOT unsigned int clamp_phys_bits(unsigned int phys_bits)
{
	if (phys_bits < 32)
		return 32;
	if (phys_bits > 52)
		return 52;
	return phys_bits;
}

/* PHYSBASE/PHYSMASK address bits: 12 up to MAXPHYADDR - 1. */
static TV_VMX_ROOT u64 phys_page_mask(unsigned int phys_bits)
{
	return (TV_BIT(clamp_phys_bits(phys_bits)) - 1) & ~(TV_PAGE_SIZE - 1);
}

void tv_mtrr_set_uniform(struct tv_mtrr_state *s, unsigned int phys_bits,
			 u8 type)
{
	memset(s, 0, sizeof(*s));
	s->enabled = true;
	s->default_type = sane_type(type);
	s->phys_bits = clamp_phys_bits(phys_bits);
}

/* The eight one-byte types of a fixed-range MSR, lowest address first. */
static void put_fixed(u8 *dst, u64 v)
{
	unsigned int i;

	for (i = 0; i < 8; i++)
		dst[i] = sane_type((u8)(v >> (8 * i)));
}

void tv_mtrr_capture(struct tv_mtrr_state *s, unsigned int phys_bits,
		     u64 (*rdmsr)(u32 msr, void *ctx), void *ctx)
{
	u64 cap, def, pm;
	unsigned int i;

	memset(s, 0, sizeof(*s));
	s->phys_bits = clamp_phys_bits(phys_bits);
	pm = phys_page_mask(s->phys_bits);

	cap = rdmsr(MSR_IA32_MTRRCAP, ctx);
	def = rdmsr(MSR_IA32_MTRR_DEF_TYPE, ctx);
	s->enabled = def & MTRR_DEF_TYPE_E;
	s->default_type = sane_type(MTRR_DEF_TYPE_TYPE(def));
	/* FE without the fixed MSRs cannot be set, but do not trust it. */
	s->fixed_enabled = (def & MTRR_DEF_TYPE_FE) && (cap & MTRRCAP_FIX);

	/* Reading a fixed MSR that MTRRCAP does not announce would #GP. */
	if (cap & MTRRCAP_FIX) {
		put_fixed(&s->fixed[0],
			  rdmsr(MSR_IA32_MTRR_FIX64K_00000, ctx));
		put_fixed(&s->fixed[8],
			  rdmsr(MSR_IA32_MTRR_FIX16K_80000, ctx));
		put_fixed(&s->fixed[16],
			  rdmsr(MSR_IA32_MTRR_FIX16K_A0000, ctx));
		for (i = 0; i < 8; i++)
			put_fixed(&s->fixed[24 + 8 * i],
				  rdmsr(MSR_IA32_MTRR_FIX4K_C0000 + i, ctx));
	}

	s->var_count = MTRRCAP_VCNT(cap);
	if (s->var_count > TV_MTRR_MAX_VAR)
		s->var_count = TV_MTRR_MAX_VAR;
	for (i = 0; i < s->var_count; i++) {
		u64 base = rdmsr(MSR_IA32_MTRR_PHYSBASE0 + 2 * i, ctx);
		u64 mask = rdmsr(MSR_IA32_MTRR_PHYSMASK0 + 2 * i, ctx);

		s->var[i].valid = mask & MTRR_PHYSMASK_VALID;
		s->var[i].type = sane_type((u8)(base & 0xff));
		s->var[i].mask = mask & pm;
		s->var[i].base = base & pm;
	}
}

/*
 * Memory type of addresses matched by the ranges whose types are in @set
 * (SDM 11.11.4.1): none is the default type, UC wins over anything, equal
 * types keep their type, WT with WB gives WT.  Every other mix is undefined
 * in the SDM; UC is the one choice that can never cache MMIO, so it is ours.
 */
static TV_VMX_ROOT u8 combine(u8 set, u8 default_type)
{
	if (!set)
		return default_type;
	if (set & TYPE_BIT(MEMTYPE_UC))
		return MEMTYPE_UC;
	if (!(set & (set - 1)))
		return (u8)__builtin_ctz(set);
	if (set == (TYPE_BIT(MEMTYPE_WT) | TYPE_BIT(MEMTYPE_WB)))
		return MEMTYPE_WT;
	return MEMTYPE_UC;
}

/*
 * Type of the block [@b, @b + 2^@k) from the variable ranges and the default
 * type.  @b is aligned to 2^@k, @k <= 64.  Recursion only happens for a
 * partial cover, which needs a mask bit below 2^@k; mask bits lie in
 * [12, MAXPHYADDR), so the depth is at most 52 - 12.
 */
static TV_VMX_ROOT u8 var_block_type(const struct tv_mtrr_state *s, u64 pm, u64 b,
			 unsigned int k)
{
	unsigned int pbits = clamp_phys_bits(s->phys_bits);
	u8 def = sane_type(s->default_type);
	u8 full = 0, part = 0, t0;
	unsigned int i, n, nparts = 0;
	u64 low;
	u8 lo, hi;

	/*
	 * Address bits from MAXPHYADDR up take no part in matching: a larger
	 * block is 2^(k - MAXPHYADDR) copies of [0, 2^MAXPHYADDR), and
	 * exploring each copy would cost as much as the first.
	 */
	if (k > pbits) {
		k = pbits;
		b = 0;
	}
	low = TV_BIT(k) - 1;

	n = s->var_count < TV_MTRR_MAX_VAR ? s->var_count : TV_MTRR_MAX_VAR;
	for (i = 0; i < n; i++) {
		const struct tv_mtrr_var *v = &s->var[i];
		u64 mask = v->mask & pm;

		if (!v->valid)
			continue;
		/* The block fixes the bits above @low: they decide a miss. */
		if ((b ^ v->base) & mask & ~low)
			continue;
		/* Mask bits inside the block: some addresses match, some not. */
		if (mask & low) {
			part |= TYPE_BIT(sane_type(v->type));
			nparts++;
		} else {
			full |= TYPE_BIT(sane_type(v->type));
		}
	}

	/*
	 * Each address matches every full range and some subset of the
	 * partial ones.  Uniform without looking closer: no partial range,
	 * a full UC range, or partial types the full ranges already have.
	 */
	t0 = combine(full, def);
	if (!part || (full & TYPE_BIT(MEMTYPE_UC)) || (full && !(part & ~full)))
		return t0;
	/*
	 * The partial ranges share one type: addresses they match have
	 * combine(full + it), the others (if any) t0.  One partial range
	 * surely leaves some addresses out, several may tile the block.
	 */
	if (!(part & (part - 1))) {
		if (combine(full | part, def) == t0)
			return t0;
		if (nparts == 1)
			return TV_MEMTYPE_MIXED;
	}

	/* Which combinations of partial ranges occur: look at each half. */
	lo = var_block_type(s, pm, b, k - 1);
	if (lo == TV_MEMTYPE_MIXED)
		return lo;
	hi = var_block_type(s, pm, b + TV_BIT(k - 1), k - 1);
	return lo == hi ? lo : TV_MEMTYPE_MIXED;
}

/* Fold @t into the running answer @acc (0xfe: nothing seen yet). */
#define TYPE_NONE 0xfe

static TV_VMX_ROOT u8 merge(u8 acc, u8 t)
{
	if (acc == TYPE_NONE || acc == t)
		return t;
	return TV_MEMTYPE_MIXED;
}

/* Start and size of fixed range @i (8 x 64K, 16 x 16K, 64 x 4K). */
static TV_VMX_ROOT void fixed_span(unsigned int i, u64 *start, u64 *size)
{
	if (i < 8) {
		*size = 0x10000;
		*start = i * *size;
	} else if (i < 24) {
		*size = 0x4000;
		*start = 0x80000 + (i - 8) * *size;
	} else {
		*size = 0x1000;
		*start = 0xc0000 + (i - 24) * *size;
	}
}

TV_VMX_ROOT u8 tv_mtrr_range_type(const struct tv_mtrr_state *s, u64 base, u64 size)
{
	u64 last, pm, cur;
	u8 acc = TYPE_NONE;
	unsigned int i;

	if (!s->enabled)
		return MEMTYPE_UC;
	if (!size)
		size = 1;
	/* Work with the last byte so that a range ending at 2^64 fits. */
	last = base + (size - 1);
	if (last < base)
		last = ~0ULL;
	cur = base;

	if (s->fixed_enabled && cur < TV_MTRR_FIXED_END) {
		for (i = 0; i < TV_MTRR_FIXED_COUNT; i++) {
			u64 fs, fz;

			fixed_span(i, &fs, &fz);
			if (fs + fz <= cur || fs > last)
				continue;
			acc = merge(acc, sane_type(s->fixed[i]));
			if (acc == TV_MEMTYPE_MIXED)
				return acc;
		}
		if (last < TV_MTRR_FIXED_END)
			return acc;
		cur = TV_MTRR_FIXED_END;
	}

	pm = phys_page_mask(s->phys_bits);
	/* Cover [cur, last] with the largest aligned blocks that fit. */
	for (;;) {
		unsigned int k = cur ? __builtin_ctzll(cur) : 64;
		u64 blast;

		/* Shrink until the block ends at or before @last. */
		while (k > 0 && (k >= 64 || last - cur < TV_BIT(k) - 1))
			k--;
		blast = cur + (k >= 64 ? ~0ULL : TV_BIT(k) - 1);
		acc = merge(acc, var_block_type(s, pm, cur, k));
		if (acc == TV_MEMTYPE_MIXED || blast == last)
			return acc;
		cur = blast + 1;
	}
}
