// SPDX-License-Identifier: MIT
/*
 * MSR bitmap position and action: tv_msr_bitmap_set/_exits/_build and
 * tv_msr_exit_action against the SDM (Vol. 3C 25.6.9 "MSR-Bitmap Address"
 * and 26.1.3 "Instructions That Cause VM Exits Conditionally"): the 4 KB
 * bitmap is four 1 KB bitmaps, read-low (MSRs 0-1FFFH) at 0, read-high
 * (C0000000H-C0001FFFH) at 1024, write-low at 2048, write-high at 3072;
 * MSR n's bit is bit n%8 of byte n/8 of its bitmap (n taken modulo 2000H);
 * any other MSR always exits.  Actions (core/emulate.h): the VMX
 * capability MSRs 480H-493H (SDM Vol. 4, Table 2-2) get #GP, MSRs outside
 * the ranges go to the hardware, the rest pass through; an exit of the
 * default bitmap never passes through.  tv_msr_guest_field: the MSRs the
 * VMCS switches and their guest-state fields (SDM Vol. 3D Appendix B:
 * IA32_DEBUGCTL 2802H, IA32_EFER 2806H, IA32_SYSENTER_CS 482AH,
 * IA32_SYSENTER_ESP 6824H, IA32_SYSENTER_EIP 6826H, FS base 680EH, GS base
 * 6810H; thinvisor does not switch IA32_PAT), 0 for every other MSR.
 * Input: a list of 5-byte operations (MSR selector, flags): set the
 * intercept of that MSR in a bitmap and a reference model side by side,
 * then query exits and action for that MSR and a neighbour.
 */
#include "fuzz_common.h"
#include "core/emulate.h"

#define BYTES 4096

/* The reference position: byte and bit, or false outside the ranges. */
REF_CODE static bool ref_pos(u32 msr, bool write, unsigned int *byte, unsigned int *bit)
{
	unsigned int quarter, n;

	if (msr < 0x2000) {
		quarter = write ? 2 : 0;
		n = msr;
	} else if (msr >= 0xc0000000u && msr - 0xc0000000u < 0x2000) {
		quarter = write ? 3 : 1;
		n = msr - 0xc0000000u;
	} else {
		return false;
	}
	*byte = quarter * 1024 + n / 8;
	*bit = n % 8;
	return true;
}

REF_CODE static bool ref_test(const u8 *bm, u32 msr, bool write)
{
	unsigned int byte, bit;

	if (!ref_pos(msr, write, &byte, &bit))
		return true;
	return (bm[byte] >> bit) & 1;
}

REF_CODE static bool is_vmx_cap_msr(u32 msr)
{
	return msr >= 0x480 && msr <= 0x493;
}

/* Shape a selector into the MSR numbers worth trying. */
static u32 pick_msr(u32 sel, unsigned int mode)
{
	static const u32 edges[] = {
		0, 0x1fff, 0x2000, 0x47f, 0x480, 0x493, 0x494, 0xbfffffffu,
		0xc0000000u, 0xc0000080u, 0xc0001fffu, 0xc0002000u,
		0xffffffffu, 0x40000000u, 0x80001fffu, 0xc0010000u,
		0x174, 0x1d9, 0x277, 0xc0000100u, 0x200e, 0x2fff,
	};

	switch (mode) {
	case 0:
		return sel;
	case 1:
		return sel & 0x1fff;
	case 2:
		return 0xc0000000u | (sel & 0x1fff);
	case 3:
		return edges[sel % TV_ARRAY_SIZE(edges)] + (s32)(sel >> 24) % 3;
	default:
		return 0x480 + sel % 0x14;
	}
}

REF_CODE static u32 ref_guest_field(u32 msr)
{
	static const u32 map[][2] = {
		{ 0x1d9, 0x2802 }, { 0xc0000080u, 0x2806 }, { 0x174, 0x482a },
		{ 0x175, 0x6824 }, { 0x176, 0x6826 }, { 0xc0000100u, 0x680e },
		{ 0xc0000101u, 0x6810 },
	};
	unsigned int i;

	for (i = 0; i < TV_ARRAY_SIZE(map); i++)
		if (map[i][0] == msr)
			return map[i][1];
	return 0;
}

static void check_action(u32 msr, bool write)
{
	enum tv_msr_action act = tv_msr_exit_action(msr, write), want;
	unsigned int byte, bit;
	bool in_range = ref_pos(msr, write, &byte, &bit);
	u32 field = tv_msr_guest_field(msr);

	if (is_vmx_cap_msr(msr))
		want = TV_MSR_INJECT_GP;
	else if (!in_range)
		want = TV_MSR_HARDWARE;
	else
		want = TV_MSR_PASSTHROUGH;
	CHECK(act == want, "msr %#x write %d action %d want %d", msr, write,
	      act, want);
	CHECK(field == ref_guest_field(msr), "msr %#x guest field %#x want %#x",
	      msr, field, ref_guest_field(msr));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = fz_init(data, size);
	u8 *bm = malloc(BYTES), *ref = malloc(BYTES), *dflt = malloc(BYTES);
	u32 msr;
	unsigned int i;

	/* The default bitmap: the VMX capability MSRs, both directions. */
	memset(dflt, 0xa5, BYTES);
	tv_msr_bitmap_build(dflt);
	memset(ref, 0, BYTES);
	for (msr = 0x480; msr <= 0x493; msr++) {
		unsigned int byte, bit;

		ref_pos(msr, false, &byte, &bit);
		ref[byte] |= 1u << bit;
		ref_pos(msr, true, &byte, &bit);
		ref[byte] |= 1u << bit;
	}
	CHECK(!memcmp(dflt, ref, BYTES), "default bitmap differs");

	memset(bm, 0, BYTES);
	memset(ref, 0, BYTES);
	while (fz_left(&f)) {
		u32 sel = fz_u32(&f);
		u8 fl = fz_u8(&f);
		bool rd = fl & 1, wr = fl & 2;
		unsigned int byte, bit;
		bool ok, in_range;

		msr = pick_msr(sel, (fl >> 2) % 5);
		ok = tv_msr_bitmap_set(bm, msr, rd, wr);
		in_range = ref_pos(msr, false, &byte, &bit);
		CHECK(ok == in_range, "set msr %#x returned %d", msr, ok);
		if (rd && in_range)
			ref[byte] |= 1u << bit;
		if (wr && ref_pos(msr, true, &byte, &bit))
			ref[byte] |= 1u << bit;
		/* Exactly the reference bits, nothing else anywhere. */
		for (i = 0; memcmp(bm, ref, BYTES) && i < BYTES; i++)
			CHECK(bm[i] == ref[i],
			      "after set msr %#x r%d w%d byte %u is %#x want %#x",
			      msr, rd, wr, i, bm[i], ref[i]);
		for (i = 0; i < 4; i++) {
			u32 m = msr + (i < 2 ? 0 : (i == 2 ? 1 : 0x2000));
			bool w = i & 1;

			CHECK(tv_msr_bitmap_exits(bm, m, w) ==
			      ref_test(ref, m, w), "exits msr %#x w %d", m, w);
			/* An exit of the default bitmap never passes through. */
			if (ref_test(dflt, m, w))
				CHECK(tv_msr_exit_action(m, w) !=
				      TV_MSR_PASSTHROUGH, "msr %#x", m);
			CHECK(tv_msr_bitmap_exits(dflt, m, w) ==
			      ref_test(dflt, m, w), "default exits %#x", m);
			check_action(m, w);
		}
	}
	free(bm);
	free(ref);
	free(dflt);
	return 0;
}
