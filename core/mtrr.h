/* SPDX-License-Identifier: MIT */
/*
 * MTRR snapshot and memory-type queries (Intel SDM Vol. 3, 11.11).
 *
 * With EPT the processor takes the memory type of a guest access from the
 * EPT leaf instead of the MTRRs, so the identity map must copy the MTRR
 * types into its leaves.  The state is captured once, on one CPU (the BIOS
 * programs every CPU alike), and then queried by pure functions.
 */
#ifndef TV_CORE_MTRR_H
#define TV_CORE_MTRR_H

#include "core/types.h"

#define TV_MTRR_MAX_VAR 32
#define TV_MTRR_FIXED_COUNT 88
#define TV_MTRR_FIXED_END 0x100000ULL	/* fixed ranges cover [0, 1 MiB) */
#define TV_MEMTYPE_MIXED 0xff		/* range not uniform */

/* IA32_MTRRCAP, IA32_MTRR_DEF_TYPE and IA32_MTRR_PHYSMASKn fields */
#define MTRRCAP_VCNT(v) ((unsigned int)((v) & 0xff))
#define MTRRCAP_FIX TV_BIT(8)
#define MTRR_DEF_TYPE_TYPE(v) ((u8)((v) & 0xff))
#define MTRR_DEF_TYPE_FE TV_BIT(10)
#define MTRR_DEF_TYPE_E TV_BIT(11)
#define MTRR_PHYSMASK_VALID TV_BIT(11)

struct tv_mtrr_var {
	u64 base;	/* PHYSBASE bits MAXPHYADDR-1:12 */
	u64 mask;	/* PHYSMASK bits MAXPHYADDR-1:12 */
	u8 type;	/* MEMTYPE_* */
	bool valid;	/* PHYSMASK.V */
};

struct tv_mtrr_state {
	bool enabled;		/* IA32_MTRR_DEF_TYPE.E */
	bool fixed_enabled;	/* DEF_TYPE.FE && MTRRCAP.FIX */
	u8 default_type;
	/* 8 x 64K from 0, 16 x 16K from 0x80000, 64 x 4K from 0xC0000 */
	u8 fixed[TV_MTRR_FIXED_COUNT];
	unsigned int var_count;
	struct tv_mtrr_var var[TV_MTRR_MAX_VAR];
	unsigned int phys_bits;	/* MAXPHYADDR (CPUID 0x80000008 EAX 7:0) */
};

/*
 * Fill @s from the MTRR MSRs, read through @rdmsr(msr, @ctx), which must
 * execute RDMSR on the current CPU (tests pass a fake table).  Only MSRs that
 * IA32_MTRRCAP says exist are read: the fixed ones when MTRRCAP.FIX, and
 * VCNT pairs of variable ones (at most TV_MTRR_MAX_VAR).  The caller must
 * have checked CPUID.1:EDX.MTRR[bit 12]; without MTRRs use
 * tv_mtrr_set_uniform() instead.  @phys_bits is MAXPHYADDR; values outside
 * [32, 52] are clamped.  Reserved type encodings are recorded as UC.
 * Context: whatever @rdmsr needs (any for a plain RDMSR); no allocation.
 */
void tv_mtrr_capture(struct tv_mtrr_state *s, unsigned int phys_bits,
		     u64 (*rdmsr)(u32 msr, void *ctx), void *ctx);

/*
 * Make @s describe "every address has memory type @type": enabled, no fixed
 * and no variable range.  For CPUs without MTRRs, and for tests.
 * Context: any.
 */
void tv_mtrr_set_uniform(struct tv_mtrr_state *s, unsigned int phys_bits,
			 u8 type);

/*
 * Memory type (MEMTYPE_* from arch/x86/ept.h) of every byte of
 * [@base, @base + @size), or TV_MEMTYPE_MIXED when it is not the same for
 * all of them.  Exact for any mask, contiguous or not.  @size 0 is taken
 * as 1; a range running past 2^64 is cut there.  Address bits at and above
 * MAXPHYADDR take no part in matching, as in the hardware.
 * Context: any (pure; recursion at most MAXPHYADDR - 12 frames of a few
 * words, so at most 40).
 */
u8 tv_mtrr_range_type(const struct tv_mtrr_state *s, u64 base, u64 size);

#endif
