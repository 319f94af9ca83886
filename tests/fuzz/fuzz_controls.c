// SPDX-License-Identifier: MIT
/*
 * VMX capability checks and control choice (tv_check_caps,
 * tv_adjust_controls, tv_choose_controls) against the SDM:
 * - Vol. 3D A.3-A.5: a control bit X is forced to 1 when bit X of the
 *   capability MSR is 1 (allowed 0-settings) and forced to 0 when bit 32+X
 *   is 0 (allowed 1-settings);
 * - A.1 IA32_VMX_BASIC: bits 44:32 region size (1..4096 bytes here),
 *   48 32-bit address limit (refused), 53:50 memory type (6 = WB needed);
 * - A.6 IA32_VMX_MISC bit 8: wait-for-SIPI activity state;
 * - A.10 IA32_VMX_EPT_VPID_CAP: 6 4-level walk, 14 WB, 16 2 MB pages,
 *   17 1 GB pages, 20 INVEPT, 25/26 INVEPT single/all-context, 32 INVVPID,
 *   40-43 INVVPID individual-address/single/all/single-retaining-globals;
 * - INVVPID/INVEPT types (Vol. 3C 30.3): a type the CPU lacks is replaced
 *   by the narrowest supported one that invalidates at least as much
 *   (individual-address and single-context-retaining-globals by
 *   single-context, anything by all-context);
 * - control bit numbers from Vol. 3C 25.6-25.8: primary 28 use MSR bitmaps,
 *   31 activate secondary; secondary 1 EPT, 3 RDTSCP, 5 VPID,
 *   7 unrestricted guest, 12 INVPCID, 20 XSAVES, 26 user wait/pause;
 *   exit 2 save debug controls, 9 host address-space size, 20/21 save/load
 *   EFER; entry 2 load debug controls, 9 IA-32e mode guest, 15 load EFER.
 * What thinvisor needs is refused when absent (core/caps.h): a WB VMCS of
 * at most a page, EPT (4-level, WB, 2 MB, INVEPT all-context), VPID
 * (INVVPID all-context), unrestricted guest, wait-for-SIPI; a MAXPHYADDR
 * above 48 (a 4-level EPT maps 48 bits); RDTSCP, INVPCID, XSAVES and user
 * wait are needed when the CPU has them (else the guest's instructions
 * would #UD).  A missing EPT/VPID feature is TV_ERR_EPT_CAPS, the rest
 * TV_ERR_VMX_CAPS.
 * Input: raw capability MSRs, CPUID features, a mode that makes them
 * consistent (as CPUs report) or realistic.
 */
#include "fuzz_common.h"
#include "core/caps.h"

#define B(n) (1ULL << (n))

/* Bit by bit, as the SDM words it. */
REF_CODE static u32 ref_adjust(u64 cap, u32 want)
{
	u32 out = 0;
	unsigned int x;

	for (x = 0; x < 32; x++) {
		bool may0 = !((cap >> x) & 1), may1 = (cap >> (32 + x)) & 1;
		bool w = (want >> x) & 1;

		if (!may0)
			w = true;
		if (!may1)
			w = false;
		out |= (u32)w << x;
	}
	return out;
}

REF_CODE static bool allowed1(u64 cap, unsigned int x)
{
	return (cap >> (32 + x)) & 1;
}

/* A secondary control can be 1 only if "activate secondary" can. */
REF_CODE static bool sec_allowed(const struct tv_vmx_caps *c, unsigned int x)
{
	return allowed1(c->proc, 31) && allowed1(c->proc2, x);
}

REF_CODE static int ref_check_caps(const struct tv_vmx_caps *c)
{
	static const unsigned int ept_bits[] = { 6, 14, 16, 20, 26 };
	static const unsigned int vpid_bits[] = { 32, 42 };
	u64 size = (c->basic >> 32) & 0x1fff;
	unsigned int i;

	if (((c->basic >> 50) & 0xf) != 6 || size == 0 || size > 4096 ||
	    (c->basic & B(48)))
		return TV_ERR_VMX_CAPS;
	if (!sec_allowed(c, 1))
		return TV_ERR_EPT_CAPS;
	for (i = 0; i < TV_ARRAY_SIZE(ept_bits); i++)
		if (!(c->ept_vpid & B(ept_bits[i])))
			return TV_ERR_EPT_CAPS;
	if (!sec_allowed(c, 5))
		return TV_ERR_EPT_CAPS;
	for (i = 0; i < TV_ARRAY_SIZE(vpid_bits); i++)
		if (!(c->ept_vpid & B(vpid_bits[i])))
			return TV_ERR_EPT_CAPS;
	if (!sec_allowed(c, 7) || !(c->misc & B(8)))
		return TV_ERR_VMX_CAPS;
	return TV_OK;
}

/* INVVPID types 0-3 and the types that cover each, narrowest first. */
REF_CODE static void check_inv_types(const struct tv_vmx_caps *c)
{
	static const int covers[4][3] = {
		{ 0, 1, 2 }, { 1, 2, -1 }, { 2, -1, -1 }, { 3, 1, 2 },
	};
	unsigned int w, i;
	u32 want, got;

	for (w = 0; w < 4; w++) {
		want = 2;	/* all-context: tv_check_caps() requires it */
		for (i = 0; i < 3 && covers[w][i] >= 0; i++) {
			if (c->ept_vpid & B(40 + covers[w][i])) {
				want = covers[w][i];
				break;
			}
		}
		got = tv_invvpid_type(c, w);
		CHECK(got == want, "INVVPID type %u caps %#llx: %u want %u", w,
		      c->ept_vpid, got, want);
	}
	for (w = 1; w <= 2; w++) {
		want = (w == 1 && (c->ept_vpid & B(25))) ? 1 : 2;
		got = tv_invept_type(c, w);
		CHECK(got == want, "INVEPT type %u caps %#llx: %u want %u", w,
		      c->ept_vpid, got, want);
	}
}

static void check_choose(const struct tv_vmx_caps *c,
			 const struct tv_cpu_features *f)
{
	struct tv_controls out;
	const char *why = "unset";
	u32 proc = B(28) | B(31), proc2 = B(1) | B(5);
	u32 exit = B(2) | B(9) | B(20) | B(21), entry = B(2) | B(9) | B(15);
	bool ok = true;
	unsigned int x;
	int ret, want_ret;

	if (f->rdtscp)
		proc2 |= B(3);
	if (f->invpcid)
		proc2 |= B(12);
	if (f->xsaves)
		proc2 |= B(20);
	if (f->waitpkg)
		proc2 |= B(26);
	for (x = 0; x < 32; x++) {
		if (((proc >> x) & 1) && !allowed1(c->proc, x))
			ok = false;
		if (((proc2 >> x) & 1) && !allowed1(c->proc2, x))
			ok = false;
		if (((exit >> x) & 1) && !allowed1(c->exit, x))
			ok = false;
		if (((entry >> x) & 1) && !allowed1(c->entry, x))
			ok = false;
	}
	proc2 |= B(7);		/* unrestricted guest: required */
	if (!allowed1(c->proc2, 7))
		ok = false;
	want_ret = ok ? TV_OK : TV_ERR_VMX_CAPS;
	/* Above 48 bits only a 5-level walk (EPT_VPID_CAP bit 7) maps it all. */
	if (f->phys_bits > 52 ||
	    (f->phys_bits > 48 && !(c->ept_vpid & B(7)))) {
		ok = false;
		want_ret = TV_ERR_EPT_CAPS;
	}

	ret = tv_choose_controls(c, f, &out, &why);
	CHECK(ret == want_ret, "choose: %d want %d (phys %u)", ret, want_ret,
	      f->phys_bits);
	if (!ok) {
		CHECK(why && *why, "a refusal names its reason");
		return;
	}
	CHECK(why == NULL, "why %s on success", why);
	CHECK(out.pin == ref_adjust(c->pin, 0), "pin %#x", out.pin);
	CHECK(out.proc == ref_adjust(c->proc, proc), "proc %#x want %#x",
	      out.proc, ref_adjust(c->proc, proc));
	CHECK(out.proc2 == ref_adjust(c->proc2, proc2), "proc2 %#x want %#x",
	      out.proc2, ref_adjust(c->proc2, proc2));
	CHECK(out.exit == ref_adjust(c->exit, exit), "exit %#x want %#x",
	      out.exit, ref_adjust(c->exit, exit));
	CHECK(out.entry == ref_adjust(c->entry, entry), "entry %#x want %#x",
	      out.entry, ref_adjust(c->entry, entry));
	CHECK(out.unrestricted_guest, "unrestricted guest off");
	CHECK(out.ept_1gb == !!(c->ept_vpid & B(17)), "1gb %d", out.ept_1gb);
	CHECK(out.ept_walk5 == (f->phys_bits > 48), "walk5 %d", out.ept_walk5);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = fz_init(data, size);
	u8 mode = fz_u8(&f);
	struct tv_vmx_caps c = { 0 };
	struct tv_cpu_features feat;
	u64 *ctl[] = { &c.pin, &c.proc, &c.proc2, &c.exit, &c.entry };
	const char *why = "unset";
	u32 want;
	unsigned int i;
	int ret;

	memset(&feat, 0, sizeof(feat));
	c.basic = fz_u64(&f);
	for (i = 0; i < TV_ARRAY_SIZE(ctl); i++)
		*ctl[i] = fz_u64(&f);
	c.ept_vpid = fz_u64(&f);
	c.misc = fz_u64(&f);
	c.cr0_fixed0 = fz_u32(&f);
	c.cr0_fixed1 = fz_u32(&f);
	c.cr4_fixed0 = fz_u32(&f);
	c.cr4_fixed1 = fz_u32(&f);
	feat.rdtscp = fz_bool(&f);
	feat.invpcid = fz_bool(&f);
	feat.xsaves = fz_bool(&f);
	feat.waitpkg = fz_bool(&f);
	feat.phys_bits = fz_u8(&f);
	if (!(feat.phys_bits & 0x80))
		feat.phys_bits = 36 + feat.phys_bits % 14;	/* 36..49 */
	want = fz_u32(&f);

	/* Any capability word: the result only ever uses allowed 1s. */
	CHECK(!(tv_adjust_controls(c.proc, want) & ~(u32)(c.proc >> 32)),
	      "adjust %#llx %#x sets a forbidden bit", c.proc, want);

	if (mode & 1) {
		/* As CPUs report them: allowed 0-settings imply allowed 1. */
		for (i = 0; i < TV_ARRAY_SIZE(ctl); i++)
			*ctl[i] &= (*ctl[i] >> 32) | 0xffffffff00000000ULL;
	}
	if (mode & 2) {
		/* Most of what we need there; the input removes some. */
		c.basic = (c.basic & ~(0xfULL << 50 | B(48))) | 6ULL << 50;
		c.basic = (c.basic & ~(0x1fffULL << 32)) | 0x1000ULL << 32;
		if (mode & 4)
			c.basic ^= B(48);
		c.ept_vpid |= 0x60106114040ULL & ~(u64)fz_u64(&f);
		c.misc |= (mode & 0x10) ? 0 : B(8);
		c.proc |= (B(28) | B(31)) << 32;
		c.proc2 |= (B(1) | B(5) | B(3) | B(7) | B(12) | B(20)) << 32;
		c.exit |= (B(2) | B(9) | B(20) | B(21)) << 32;
		c.entry |= (B(2) | B(9) | B(15)) << 32;
		if (mode & 8) {
			u64 drop = fz_u64(&f);

			c.proc &= ~(drop & 0x90000000ULL) << 32;
			c.proc2 &= ~(drop & 0x41010aaULL) << 32;
			c.exit &= ~(drop & 0x300204ULL) << 32;
			c.entry &= ~(drop & 0x8204ULL) << 32;
		}
	}
	if (mode & 1)
		CHECK(tv_adjust_controls(c.proc, want) == ref_adjust(c.proc, want),
		      "adjust %#llx %#x: %#x want %#x", c.proc, want,
		      tv_adjust_controls(c.proc, want), ref_adjust(c.proc, want));

	ret = tv_check_caps(&c, &why);
	CHECK(ret == ref_check_caps(&c), "check_caps basic %#llx ept %#llx: %d want %d",
	      c.basic, c.ept_vpid, ret, ref_check_caps(&c));
	CHECK(ret == TV_OK ? why == NULL : why && *why, "check_caps reason");

	if (mode & 1)
		check_choose(&c, &feat);
	if (ret == TV_OK)
		check_inv_types(&c);
	return 0;
}
