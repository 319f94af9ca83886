// SPDX-License-Identifier: MIT
/*
 * Guest writes to CR0 and CR4 that exit (tv_cr_write), with the CR masks
 * tv_choose_controls() gives the VMCS, against:
 * - the SDM's #GP causes of MOV to CR0 (Vol. 2B "MOV - Move to/from
 *   Control Registers", Vol. 3A 2.5): bits 63:32 set, PG=1 with PE=0,
 *   NW=1 with CD=0; and of MOV to CR4: a reserved bit set;
 * - VMX's fixed bits (Vol. 3D A.7, A.8): a bit IA32_VMX_CRn_FIXED1 reports
 *   0 is reserved (#GP); one FIXED0 reports 1 is forced 1 in the real
 *   register, except CR0.PE and CR0.PG under unrestricted guest; CR4.VMXE
 *   is ours: always 1 in the real register, and the guest, which sees a CPU
 *   without VMX, gets #GP for setting it;
 * - the VM-entry checks on guest CR0/CR4 (Vol. 3C 27.3.1.1), which the real
 *   value must pass, including PG=1 requires PE=1 under unrestricted guest;
 * - read-back: with the VMCS masks, what the guest then reads from the
 *   register ((real & ~mask) | (shadow & mask)) is exactly what it wrote;
 * - the operand (tv_cr_operand): all 64 bits of the register in 64-bit
 *   mode, its low 32 bits otherwise ("operand size ... always 32 bits in
 *   non-64-bit modes", MOV to/from CR);
 * - EFER after a CR0 write (tv_efer_after_cr0_write): LMA = LME && PG
 *   (Vol. 3A 10.8.5, "Initializing IA-32e Mode"), no other bit touched;
 * - the long-mode #GP causes of MOV to CR0 (tv_cr0_write_faults_long_mode,
 *   MOV CR #GP lists and Vol. 3A 10.8.5): setting PG with EFER.LME=1 and
 *   CR4.PAE=0, or with LME=1 while CS.L=1; clearing PG in 64-bit mode
 *   (LMA=1, CS.L=1) or while CR4.PCIDE=1.
 * Input: policy mode and the four fixed MSRs, unrestricted guest, then a
 * list of (CR selector, value[, EFER, old CR0, CR4]) writes.
 */
#include "fuzz_common.h"
#include "core/emulate.h"
#include "core/caps.h"
#include "arch/x86/vmx.h"

#define B(n) (1ULL << (n))
#define PE B(0)
#define NE B(5)
#define NW B(29)
#define CD B(30)
#define PG B(31)
#define VMXE B(13)
#define GP 13

struct pol {
	u64 cr0_f0, cr0_f1, cr4_f0, cr4_f1;
	bool ug;
};

/* The reference decision: #GP or the real and shadow values. */
REF_CODE static int ref_write(const struct pol *p, int cr, u64 v, u64 *real,
		     u64 *shadow)
{
	u64 forced;

	if (cr == 0) {
		if (v >> 32)
			return GP;
		if ((v & PG) && !(v & PE))
			return GP;
		if ((v & NW) && !(v & CD))
			return GP;
		if (v & ~p->cr0_f1)
			return GP;
		forced = p->cr0_f0;
		if (p->ug)
			forced &= ~(PE | PG);
	} else if (cr == 4) {
		if (v >> 32 || (v & VMXE) || (v & ~p->cr4_f1))
			return GP;
		forced = p->cr4_f0 | VMXE;
	} else {
		return GP;
	}
	*real = v | forced;
	*shadow = v;
	return 0;
}

/* The reference mask: every bit VMX pins (Vol. 3C 25.6.6 guest/host masks). */
REF_CODE static u64 ref_mask(const struct pol *p, int cr)
{
	u64 m;

	if (cr == 0) {
		m = (p->cr0_f0 | ~p->cr0_f1) & 0xffffffffULL;
		if (p->ug)
			m &= ~(PE | PG);
		return m;
	}
	return ((p->cr4_f0 | ~p->cr4_f1) & 0xffffffffULL) | VMXE;
}

REF_CODE static bool ref_long_mode_gp(u64 efer, u64 old, u64 new, u64 cr4,
				      bool cs_l)
{
	bool lme = efer & B(8), lma = efer & B(10);
	bool pae = cr4 & B(5), pcide = cr4 & B(17);

	if (!(old & PG) && (new & PG) && lme && !pae)
		return true;
	if (!(old & PG) && (new & PG) && lme && cs_l)
		return true;
	if ((old & PG) && !(new & PG) && lma && cs_l)
		return true;
	if ((old & PG) && !(new & PG) && pcide)
		return true;
	return false;
}

/* Caps under which tv_choose_controls() succeeds and takes @p's CR bits. */
static bool core_masks(const struct pol *p, u64 *cr0_mask, u64 *cr4_mask)
{
	struct tv_vmx_caps c;
	struct tv_cpu_features feat;
	struct tv_controls out;
	const char *why;

	memset(&c, 0, sizeof(c));
	memset(&feat, 0, sizeof(feat));
	c.pin = c.proc = c.exit = c.entry = 0xffffffff00000000ULL;
	c.proc2 = p->ug ? 0xffffffff00000000ULL :
			  (0xffffffff00000000ULL & ~(B(7) << 32));
	c.cr0_fixed0 = p->cr0_f0;
	c.cr0_fixed1 = p->cr0_f1;
	c.cr4_fixed0 = p->cr4_f0;
	c.cr4_fixed1 = p->cr4_f1;
	if (tv_choose_controls(&c, &feat, &out, &why) != TV_OK)
		return false;
	CHECK(out.unrestricted_guest == p->ug, "ug %d", p->ug);
	*cr0_mask = out.cr0_mask;
	*cr4_mask = out.cr4_mask;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = fz_init(data, size);
	u8 mode = fz_u8(&f);
	struct pol p;
	struct tv_cr_policy cp;
	u64 cmask[2];

	/* A CPU's fixed MSRs, or ones shaped by the input. */
	if (mode & 1) {
		p.cr0_f0 = 0x80000021;
		p.cr0_f1 = 0xffffffff;
		p.cr4_f0 = 0x2000;
		p.cr4_f1 = (mode & 2) ? 0x3767ff : 0x1727ff;
		fz_skip(&f, 16);
	} else {
		p.cr0_f1 = fz_u32(&f) | PE | NE | PG;
		p.cr0_f0 = (fz_u32(&f) | PE | NE | PG) & p.cr0_f1;
		p.cr4_f1 = fz_u32(&f) | VMXE;
		p.cr4_f0 = (fz_u32(&f) | VMXE) & p.cr4_f1;
	}
	p.ug = mode & 4;
	cp.cr0_fixed0 = p.cr0_f0;
	cp.cr0_fixed1 = p.cr0_f1;
	cp.cr4_fixed0 = p.cr4_f0;
	cp.cr4_fixed1 = p.cr4_f1;
	cp.unrestricted_guest = p.ug;
	/* thinvisor requires unrestricted guest; tv_cr_write() takes both. */
	cmask[0] = ref_mask(&p, 0);
	cmask[1] = ref_mask(&p, 4);
	if (p.ug) {
		CHECK(core_masks(&p, &cmask[0], &cmask[1]), "controls refused");
		CHECK(cmask[0] == ref_mask(&p, 0) && cmask[1] == ref_mask(&p, 4),
		      "masks %#llx %#llx want %#llx %#llx", cmask[0], cmask[1],
		      ref_mask(&p, 0), ref_mask(&p, 4));
	}

	while (fz_left(&f)) {
		u8 sel = fz_u8(&f);
		int cr = (sel & 0x80) ? sel & 0xf : ((sel & 1) ? 4 : 0);
		u64 v = fz_u64(&f);
		u64 real = 0x5a5a, shadow = 0xa5a5, rreal = 0, rshadow = 0;
		int ret, want;

		if (sel & 0x10) {
			u64 efer = fz_u64(&f), old = fz_u64(&f), cr4 = fz_u64(&f);
			u64 efer2 = tv_efer_after_cr0_write(efer, v);
			bool cs_l = sel & 8, lm = sel & 4;

			CHECK(tv_cr_operand(v, lm) == (lm ? v : v & 0xffffffffULL),
			      "operand %#llx long %d: %#llx", v, lm,
			      tv_cr_operand(v, lm));
			CHECK(efer2 == ((efer & ~B(10)) |
					(((efer & B(8)) && (v & PG)) ? B(10) : 0)),
			      "EFER %#llx after CR0 %#llx: %#llx", efer, v, efer2);
			CHECK(tv_cr0_write_faults_long_mode(efer, old, v, cr4, cs_l) ==
			      ref_long_mode_gp(efer, old, v, cr4, cs_l),
			      "long-mode #GP: EFER %#llx CR0 %#llx -> %#llx CR4 %#llx CS.L %d",
			      efer, old, v, cr4, cs_l);
		}

		if (sel & 0x40)
			v &= 0xffffffffULL;
		if (sel & 0x20)	/* a value the fixed bits already allow */
			v = (v | (cr ? p.cr4_f0 & ~VMXE : p.cr0_f0)) &
			    (cr ? p.cr4_f1 & ~VMXE : p.cr0_f1);
		ret = tv_cr_write(&cp, cr, v, &real, &shadow);
		want = ref_write(&p, cr, v, &rreal, &rshadow);
		CHECK(ret == want, "cr%d value %#llx ug %d: %d want %d", cr, v,
		      p.ug, ret, want);
		if (ret) {
			CHECK(real == 0x5a5a && shadow == 0xa5a5,
			      "cr%d outputs written on #GP", cr);
			continue;
		}
		CHECK(real == rreal && shadow == rshadow,
		      "cr%d value %#llx ug %d: real %#llx shadow %#llx want %#llx %#llx",
		      cr, v, p.ug, real, shadow, rreal, rshadow);
		/* The VM-entry checks on the guest register. */
		if (cr == 0) {
			u64 need = p.ug ? p.cr0_f0 & ~(PE | PG) : p.cr0_f0;

			CHECK((real & need) == need && !(real & ~p.cr0_f1),
			      "cr0 real %#llx breaks the fixed bits", real);
			CHECK(!(p.ug && (real & PG) && !(real & PE)),
			      "cr0 real %#llx: PG without PE", real);
		} else {
			CHECK((real & p.cr4_f0) == p.cr4_f0 &&
			      !(real & ~p.cr4_f1) && (real & VMXE),
			      "cr4 real %#llx breaks the fixed bits", real);
		}
		/* The guest reads back what it wrote. */
		CHECK(((real & ~cmask[cr == 4]) | (shadow & cmask[cr == 4])) == v,
		      "cr%d value %#llx reads back %#llx", cr, v,
		      (real & ~cmask[cr == 4]) | (shadow & cmask[cr == 4]));
	}
	return 0;
}
