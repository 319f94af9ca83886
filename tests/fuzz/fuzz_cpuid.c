// SPDX-License-Identifier: MIT
/*
 * CPUID shaping (tv_cpuid_shape): every bit of every leaf is the CPU's
 * except the documented ones (docs/design.md, core/emulate.h):
 *   leaf 1: ECX[5] (VMX) reads 0 and ECX[31] (hypervisor present) reads 1;
 *   leaf 1 ECX[27] (OSXSAVE) and leaf 7 subleaf 0 ECX[4] (OSPKE) are the
 *   guest's CR4.OSXSAVE (bit 18) and CR4.PKE (bit 22) (SDM Vol. 2A CPUID:
 *   "reflects the setting of CR4.OSXSAVE", "... CR4.PKE");
 *   leaf 40000000H: EAX 40000001H (highest hypervisor leaf), EBX:ECX:EDX
 *   the signature "thinvisor-hv";
 *   leaf 40000001H: EAX the interface id "TV01", the rest 0;
 *   leaves 40000002H-400000FFH (the range reserved for hypervisors): 0.
 * The subleaf matters for leaf 7 only.  Input: leaf selector, mode,
 * subleaf, the guest's CR4, the four native registers.
 */
#include "fuzz_common.h"
#include "core/emulate.h"

REF_CODE static u32 le32(const char *s)
{
	return (u32)(u8)s[0] | (u32)(u8)s[1] << 8 | (u32)(u8)s[2] << 16 |
	       (u32)(u8)s[3] << 24;
}

static u32 pick_leaf(u32 sel, unsigned int mode)
{
	switch (mode) {
	case 0:
		return sel;
	case 1:
		return (sel & 1) ? 1 : 7;
	case 2:
		return 0x40000000u + (sel & 0x1ff) - 0x80;	/* around it */
	default:
		return (sel & 0x3) ? (sel & 0x8000001fu) : 0x400000ffu + (sel & 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = fz_init(data, size);
	u32 sel = fz_u32(&f);
	u8 mode = fz_u8(&f);
	u32 leaf = pick_leaf(sel, mode % 4);
	u32 subleaf = fz_u32(&f);
	u64 cr4 = fz_u64(&f);
	struct tv_cpuid native, r, want;

	native.eax = fz_u32(&f);
	native.ebx = fz_u32(&f);
	native.ecx = fz_u32(&f);
	native.edx = fz_u32(&f);
	r = native;
	want = native;
	if (mode & 4)
		subleaf &= 1;
	tv_cpuid_shape(leaf, subleaf, cr4, &r);

	if (leaf == 1) {
		want.ecx = (native.ecx & ~(1u << 5)) | (1u << 31);
		want.ecx = (want.ecx & ~(1u << 27)) | (u32)((cr4 >> 18) & 1) << 27;
	} else if (leaf == 7 && subleaf == 0) {
		want.ecx = (native.ecx & ~(1u << 4)) | (u32)((cr4 >> 22) & 1) << 4;
	} else if (leaf >= 0x40000000u && leaf <= 0x400000ffu) {
		memset(&want, 0, sizeof(want));
		if (leaf == 0x40000000u) {
			want.eax = 0x40000001u;
			want.ebx = le32("thin");
			want.ecx = le32("viso");
			want.edx = le32("r-hv");
		} else if (leaf == 0x40000001u) {
			want.eax = le32("TV01");
		}
	}
	CHECK(r.eax == want.eax && r.ebx == want.ebx && r.ecx == want.ecx &&
	      r.edx == want.edx,
	      "leaf %#x.%#x cr4 %#llx native %08x %08x %08x %08x: got %08x %08x %08x %08x, want %08x %08x %08x %08x",
	      leaf, subleaf, cr4, native.eax, native.ebx, native.ecx, native.edx,
	      r.eax, r.ebx, r.ecx, r.edx, want.eax, want.ebx, want.ecx,
	      want.edx);
	return 0;
}
