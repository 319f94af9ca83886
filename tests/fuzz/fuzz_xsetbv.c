// SPDX-License-Identifier: MIT
/*
 * XSETBV validity (tv_xsetbv_valid) against the SDM's list of #GP(0)
 * causes (Vol. 2D "XSETBV", Vol. 1 13.3 "Enabling the XSAVE Feature Set"):
 * ECX names no writable XCR (only XCR0 is); EDX:EAX sets a bit the CPU
 * does not support in XCR0 (CPUID.(EAX=0DH,ECX=0):EDX:EAX); bit 0 (x87)
 * clear; bit 2 (AVX) without bit 1 (SSE); bits 4:3 (MPX BNDREGS, BNDCSR)
 * not both equal; bits 7:5 (opmask, ZMM_Hi256, Hi16_ZMM) neither 000b nor
 * 111b; 111b there without bits 2:1 both set; bits 17 and 18 (AMX TILECFG,
 * TILEDATA) not equal.  Input: XCR number and mode, value, supported mask.
 */
#include "fuzz_common.h"
#include "core/emulate.h"

REF_CODE static unsigned int bit(u64 v, unsigned int n)
{
	return (v >> n) & 1;
}

/* Each SDM rule on its own: true when XSETBV would raise #GP. */
REF_CODE static bool ref_gp(u32 xcr, u64 v, u64 supported)
{
	if (xcr != 0)
		return true;
	if (v & ~supported)
		return true;
	if (!bit(v, 0))
		return true;
	if (bit(v, 2) && !bit(v, 1))
		return true;
	if (bit(v, 3) != bit(v, 4))
		return true;
	if (((v >> 5) & 7) != 0 && ((v >> 5) & 7) != 7)
		return true;
	if (((v >> 5) & 7) == 7 && ((v >> 1) & 3) != 3)
		return true;
	if (bit(v, 17) != bit(v, 18))
		return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* What CPUs report: x87+SSE, +AVX, +MPX, +AVX-512, +PKRU, +AMX. */
	static const u64 real_masks[] = {
		0x3, 0x7, 0x1f, 0xe7, 0x2e7, 0x602e7, 0x602ff, 0x2ff,
	};
	struct fz f = fz_init(data, size);
	u8 mode = fz_u8(&f);
	u32 xcr = fz_u32(&f);
	u64 v = fz_u64(&f);
	u64 sup = fz_u64(&f);
	bool valid;

	if (mode & 1)
		xcr &= (mode & 2) ? 1 : 0;
	if (mode & 4)
		sup = real_masks[(mode >> 3) % TV_ARRAY_SIZE(real_masks)];
	if (mode & 0x40)
		v &= sup;	/* supported bits only: the group rules decide */
	valid = tv_xsetbv_valid(xcr, v, sup);
	CHECK(valid == !ref_gp(xcr, v, sup),
	      "xcr %u value %#llx supported %#llx: valid %d", xcr, v, sup,
	      valid);
	return 0;
}
