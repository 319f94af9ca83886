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
 *   on the first launch and fatal once the guest ran;
 * - root IDT gates (tv_idt_gate), Vol. 3A 6.14.1: offset 15:0 in bits
 *   15:0, selector in 31:16, IST in 34:32 (0 here), bits 39:35 zero, type
 *   in 43:40 (0EH, interrupt gate), bit 44 zero, DPL in 46:45 (0), P bit
 *   47, offset 31:16 in 63:48, offset 63:32 in the second quadword, whose
 *   upper half is reserved (0);
 * - NMIs and #MCs that hit VMX root (tv_root_event_action): nothing to do
 *   without one; one event per VM entry (none if the entry already injects
 *   one); #MC first; and every injection must pass the VM-entry checks of
 *   Vol. 3C 26.3.1.5: in the wait-for-SIPI activity state no interruption
 *   is allowed (HLT and shutdown take NMIs and #MCs), an NMI not under
 *   blocking by MOV SS; thinvisor also waits out blocking by STI and by
 *   NMI (core/root.h); an NMI for a CPU waiting for SIPI is dropped;
 *   tv_root_event_resume_rip: back to the window's start inside it.
 * Input: a list of (vector, CR0, leaf, CPL, CR4, SMX caps, exit reason,
 * launched, pending events, entry info, interruptibility, activity, gate
 * and window addresses) records.
 */
#include "fuzz_common.h"
#include "core/emulate.h"
#include "core/root.h"

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

REF_CODE static void check_gate(u64 handler, u16 cs)
{
	u64 g[2] = { ~0ULL, ~0ULL };
	u64 off;

	tv_idt_gate(g, handler, cs);
	off = (g[0] & 0xffff) | ((g[0] >> 48) & 0xffff) << 16 |
	      (g[1] & 0xffffffffULL) << 32;
	CHECK(off == handler, "gate offset %#llx want %#llx", off, handler);
	CHECK(((g[0] >> 16) & 0xffff) == cs, "gate selector %#llx",
	      (g[0] >> 16) & 0xffff);
	CHECK(((g[0] >> 32) & 0xff) == 0, "gate IST/zero bits %#llx",
	      (g[0] >> 32) & 0xff);
	CHECK(((g[0] >> 40) & 0xf) == 0xe && !((g[0] >> 44) & 1) &&
	      ((g[0] >> 45) & 3) == 0 && ((g[0] >> 47) & 1),
	      "gate type/DPL/P %#llx", (g[0] >> 40) & 0xff);
	CHECK((g[1] >> 32) == 0, "gate reserved upper half %#llx", g[1]);
}

REF_CODE static void check_root_event(u32 nmis, u32 mces, u32 info, u32 intr,
				      u32 act)
{
	enum tv_root_event_action a = tv_root_event_action(nmis, mces, info,
							   intr, act);

	if (!nmis && !mces) {
		CHECK(a == TV_EVENT_NONE, "nothing pending: action %d", a);
		return;
	}
	CHECK(a != TV_EVENT_NONE, "%u NMIs %u #MCs pending: none", nmis, mces);
	/* SDM 26.3.1.5 "Wait-for-SIPI. No interruptions are allowed." */
	if (act == 3) {
		CHECK(a == TV_EVENT_DROP, "events for wait-for-SIPI: action %d",
		      a);
		return;
	}
	CHECK(a != TV_EVENT_DROP, "events dropped in activity %u", act);
	if (info & (1u << 31)) {
		CHECK(a == TV_EVENT_WAIT, "entry already injects %#x: action %d",
		      info, a);
		return;
	}
	/* Machine checks first, whenever the entry may carry one. */
	if (mces && act <= 2)
		CHECK(a == TV_EVENT_INJECT_MCE, "#MC activity %u: action %d",
		      act, a);
	if (a == TV_EVENT_INJECT_NMI)
		CHECK(nmis && !mces && !(intr & 0xb),
		      "NMI injected: interruptibility %#x, %u #MCs", intr, mces);
	if (a == TV_EVENT_INJECT_MCE)
		CHECK(mces, "#MC injected without one");
	/* An NMI the guest can take now is not held back. */
	if (nmis && !mces && act <= 2 && !(intr & 0xb))
		CHECK(a == TV_EVENT_INJECT_NMI, "NMI could go in: action %d", a);
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
		u8 ev = fz_u8(&f);
		u32 info = fz_u32(&f), intr = fz_u32(&f), act = fz_u32(&f);
		u64 rip = fz_u64(&f), win = fz_u64(&f), wend = fz_u64(&f);

		/* What VMREAD can return: activity 0-3, interruptibility 4:0. */
		act &= 3;
		intr &= (sel & 32) ? 0xf : 0x1f;
		if (sel & 32)
			info &= 0x800007ffu;
		check_root_event(ev & 3, (ev >> 2) & 3, info, intr, act);
		check_gate(rip, (u16)win);
		if (sel & 64) {		/* a window of a few bytes around rip */
			win = rip - (wend & 7);
			wend = win + (wend >> 3 & 15);
		}
		CHECK(tv_root_event_resume_rip(rip, win, wend) ==
		      (rip >= win && rip < wend ? win : rip),
		      "rip %#llx window [%#llx, %#llx)", rip, win, wend);
		CHECK(tv_entry_fail_action(reason, launched) ==
		      ((reason & 0xffff) == 41 ? TV_ENTRY_FAIL_MCE :
		       launched ? TV_ENTRY_FAIL_PANIC : TV_ENTRY_FAIL_REPORT),
		      "entry failure %#x launched %d: %d", reason, launched,
		      tv_entry_fail_action(reason, launched));
	} while (fz_left(&f));
	return 0;
}
