// SPDX-License-Identifier: MIT
/*
 * Event decisions: which injected exceptions carry an error code
 * (tv_exception_has_error_code), what a GETSEC exit gets
 * (tv_getsec_action) and what a VM-entry failure leads to
 * (tv_entry_fail_action), against the SDM:
 * - Vol. 3A 6.15 / Table 6-1: #DF (8), #TS (10), #NP (11), #SS (12),
 *   #GP (13), #PF (14), #AC (17) and #CP (21) push an error code; Vol. 3C
 *   26.2.1.3: with unrestricted guest (thinvisor always has it) VM entry
 *   requires deliver-error-code = 0 when the guest CR0.PE is 0;
 * - Vol. 2D chapter 7 (GETSEC): with CR4.SMXE (bit 14) clear every leaf is
 *   #UD; leaf 1 and leaves above 8 are #UD, and so is a leaf 2-8 whose bit
 *   GETSEC[CAPABILITIES] leaves clear; CAPABILITIES (0) and PARAMETERS (6)
 *   run anywhere; ENTERACCS, EXITAC, SENTER, SEXIT, SMCTRL and WAKEUP are
 *   #GP in VMX operation, whatever the CPL;
 * - Vol. 3C 26.8: basic exit reason 41 with bit 31 set is a machine check
 *   during VM entry: handed to the OS; any other failed entry is reported
 *   on the first launch and fatal once the guest ran.
 * Input: a list of (vector, CR0, leaf, CPL, CR4, SMX caps, exit reason,
 * launched) records.
 */
#include "fuzz_common.h"
#include "core/emulate.h"

REF_CODE static bool ref_error_code(u32 vector, u64 cr0)
{
	static const u8 with_code[] = { 8, 10, 11, 12, 13, 14, 17, 21 };
	unsigned int i;

	if (!(cr0 & 1))
		return false;
	for (i = 0; i < sizeof(with_code); i++)
		if (vector == with_code[i])
			return true;
	return false;
}

REF_CODE static enum tv_getsec_action ref_getsec(u32 leaf, u64 cr4, u32 caps)
{
	if (!(cr4 & (1ULL << 14)))
		return TV_GETSEC_INJECT_UD;
	switch (leaf) {
	case 0:				/* CAPABILITIES */
		return TV_GETSEC_EXECUTE;
	case 2: case 3: case 4: case 5: case 7: case 8:
		return (caps >> leaf) & 1 ? TV_GETSEC_INJECT_GP :
					    TV_GETSEC_INJECT_UD;
	case 6:				/* PARAMETERS */
		return (caps >> 6) & 1 ? TV_GETSEC_EXECUTE :
					 TV_GETSEC_INJECT_UD;
	default:
		return TV_GETSEC_INJECT_UD;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = fz_init(data, size);

	do {
		u8 sel = fz_u8(&f);
		u32 vector = fz_u32(&f);
		u64 cr0 = fz_u64(&f);
		u32 leaf = fz_u32(&f);
		unsigned int cpl = fz_u8(&f);
		u64 cr4 = fz_u64(&f);
		u32 caps = fz_u32(&f), reason = fz_u32(&f);
		bool launched = sel & 1;

		if (sel & 2)
			vector %= 32;
		if (sel & 4)
			leaf %= 10;
		if (sel & 8)
			cpl %= 4;
		if (sel & 16)
			reason = (reason & 0xffff0000u) | 41 | 0x80000000u;

		CHECK(tv_exception_has_error_code(vector, cr0) ==
		      ref_error_code(vector, cr0), "vector %u CR0 %#llx",
		      vector, cr0);
		CHECK(tv_getsec_action(leaf, cpl, cr4, caps) ==
		      ref_getsec(leaf, cr4, caps),
		      "GETSEC leaf %u CPL %u CR4 %#llx caps %#x: %d want %d",
		      leaf, cpl, cr4, caps, tv_getsec_action(leaf, cpl, cr4, caps),
		      ref_getsec(leaf, cr4, caps));
		reason |= 0x80000000u;	/* a VM-entry failure */
		CHECK(tv_entry_fail_action(reason, launched) ==
		      ((reason & 0xffff) == 41 ? TV_ENTRY_FAIL_MCE :
		       launched ? TV_ENTRY_FAIL_PANIC : TV_ENTRY_FAIL_REPORT),
		      "entry failure %#x launched %d: %d", reason, launched,
		      tv_entry_fail_action(reason, launched));
	} while (fz_left(&f));
	return 0;
}
