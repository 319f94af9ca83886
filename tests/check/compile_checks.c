// SPDX-License-Identifier: MIT
/*
 * The compile-time checks of arch/x86/cpu.h and arch/x86/vmcs.h, shown to
 * work: scripts/check.sh compiles this file once with TV_CASE=0, which
 * must build, and once per bad case, each of which must fail with its
 * message (make check).  Compiled only, never run.
 */
#include "core/types.h"
#include "arch/x86/cpu.h"
#include "arch/x86/vmcs.h"

#define TV_SAME_TYPE(x, t) __builtin_types_compatible_p(__typeof__(x), t)

u64 tv_case(u64 field, u64 val);
u64 tv_case(u64 field, u64 val)
{
#if TV_CASE == 0
	/* Reads are as wide as their field; a run-time field reads 64 bits. */
	_Static_assert(TV_SAME_TYPE(tv_vmread(VMCS_GUEST_CS_SEL), u16), "16");
	_Static_assert(TV_SAME_TYPE(tv_vmread(VMCS_EXIT_REASON), u32), "32");
	_Static_assert(TV_SAME_TYPE(tv_vmread(VMCS_EPT_POINTER), u64), "64");
	_Static_assert(TV_SAME_TYPE(tv_vmread(VMCS_GUEST_RIP), u64), "nat");
	_Static_assert(TV_SAME_TYPE(tv_vmread(field), u64), "any");
	tv_vmwrite(VMCS_GUEST_CS_SEL, 0xffff);
	tv_vmwrite(VMCS_EPT_POINTER + 1, 0xffffffffULL);	/* high half */
	tv_vmwrite(field, val);
	return tv_vmread(VMCS_GUEST_RIP);
#elif TV_CASE == 1	/* "VMWRITE to a read-only VMCS field" */
	return tv_vmwrite(VMCS_EXIT_REASON, 0);
#elif TV_CASE == 2	/* "value wider than the VMCS field" */
	return tv_vmwrite(VMCS_GUEST_CS_SEL, 0x10000);
#elif TV_CASE == 3	/* "value wider than the VMCS field" */
	return tv_vmwrite(VMCS_GUEST_CS_LIMIT, 0x100000000ULL);
#elif TV_CASE == 4	/* "malformed VMCS field encoding" */
	return tv_vmread(VMCS_GUEST_CS_LIMIT + 1);	/* no high half */
#elif TV_CASE == 5	/* "malformed VMCS field encoding" */
	return tv_vmread(0x1000);			/* bit 12 */
#elif TV_CASE == 6	/* "negative" (the table's width check) */
	enum { BAD = TV_VMCS16(0x4002) };		/* a 32-bit field */
	return BAD;
#endif
}
