/* SPDX-License-Identifier: MIT */
/*
 * What the CPU reads of a 4-level EPT built by the core in the unit
 * tests' fake memory (table addresses are host pointers there).
 */
#ifndef TV_TEST_EPT_WALK_H
#define TV_TEST_EPT_WALK_H

#include <stdint.h>
#include "core/types.h"
#include "arch/x86/ept.h"

/*
 * Would a violation at @gpa be a #VE with the control on?  As the CPU
 * decides (SDM 25.5.6.1): bit 63 of the entry that is not present on the
 * way, or of the leaf that maps the page.
 */
static inline bool tv_test_ve_converts(u64 eptp, u64 gpa)
{
	const u64 *t = (const u64 *)(uintptr_t)(eptp & EPT_ADDR_MASK);
	int l;

	for (l = 4; l >= 1; l--) {
		u64 e = t[(gpa >> (12 + 9 * (l - 1))) & 511];

		if (!(e & EPT_RWX) || l == 1 || (l < 4 && (e & EPT_LARGE_PAGE)))
			return !(e & EPT_SUPPRESS_VE);
		t = (const u64 *)(uintptr_t)(e & EPT_ADDR_MASK);
	}
	return false;
}

#endif
