/* SPDX-License-Identifier: MIT */
/*
 * An independent model of the MTRRs (Intel SDM Vol. 3A 11.11), for the
 * mtrr and ept harnesses: a "machine" of raw MSR values generated from the
 * fuzzer's input, the memory type of one address computed from those raw
 * values as the SDM defines it, and the set of types in any address range,
 * computed from the points where a variable range's matches begin or end.
 * Nothing here uses core/mtrr.c.
 *
 * The model follows the choices core/mtrr.h documents where the SDM leaves
 * them open: reserved type encodings and overlaps the SDM leaves undefined
 * are UC; MAXPHYADDR is clamped to [32, 52]; address bits at and above
 * MAXPHYADDR take no part in variable-range matching, and the fixed ranges
 * cover the addresses below 1 MiB only.
 */
#ifndef TV_FUZZ_REF_MTRR_H
#define TV_FUZZ_REF_MTRR_H

#include "fuzz_common.h"
#include "core/mtrr.h"

#define REF_MAX_VAR 32
#define REF_MIXED 0xff

struct mtrr_machine {
	unsigned int phys_in;	/* MAXPHYADDR as handed to the core */
	u64 cap;		/* IA32_MTRRCAP */
	u64 def;		/* IA32_MTRR_DEF_TYPE */
	u64 fix[11];		/* 250H, 258H, 259H, 268H-26FH */
	u64 physbase[REF_MAX_VAR], physmask[REF_MAX_VAR];
	bool direct;		/* state written directly, not captured */
	unsigned long rdmsr_calls;
};

/*
 * Fill @m from the input: at most @max_var variable ranges, each of whose
 * masks leaves at most @max_holes clear bits between its lowest set bit
 * and MAXPHYADDR (so that the ranges' matches are a few intervals each).
 * @max_phys caps MAXPHYADDR.
 */
void ref_machine(struct mtrr_machine *m, struct fz *f, unsigned int max_var,
		 unsigned int max_holes, unsigned int max_phys);

/* The core's state for @m: tv_mtrr_capture() from its MSRs, or direct. */
void ref_state(struct mtrr_machine *m, struct tv_mtrr_state *s);

unsigned int ref_phys_bits(const struct mtrr_machine *m);

/* Memory type of the byte at @a, from the raw MSRs. */
u8 ref_type_at(const struct mtrr_machine *m, u64 a);

/* Set of types (bit t for type t) in [@base, @last], exactly. */
unsigned int ref_types(const struct mtrr_machine *m, u64 base, u64 last);

/* The one type of [@base, @last], or REF_MIXED. */
u8 ref_range_type(const struct mtrr_machine *m, u64 base, u64 last);

/* The same by looking at every 4 KiB page: for ranges of few pages. */
u8 ref_range_type_pages(const struct mtrr_machine *m, u64 base, u64 last);

/*
 * Every address in [@lo, @hi] (below 2^MAXPHYADDR) where the type may
 * change (interval edges and fixed-range edges), plus @lo, into @out
 * (unsorted, may repeat).  Returns the count, or 0 if more than @max.
 */
size_t ref_edges(const struct mtrr_machine *m, u64 lo, u64 hi, u64 *out,
		 size_t max);

#endif
