// SPDX-License-Identifier: MIT
/*
 * VMCS component encodings (tv_vmcs_field_decode) against the SDM's
 * "Structure of VMCS Component Encoding" (Vol. 3D, Appendix B / Table
 * 25-21): bit 0 access type (0 full, 1 high; high only for 64-bit fields),
 * 9:1 index, 11:10 type (control, VM-exit information, guest state, host
 * state), 12 reserved (0), 14:13 width (16-bit, 64-bit, 32-bit, natural),
 * 31:15 reserved (0).  Input: a 32-bit encoding.
 */
#include "fuzz_common.h"
#include "core/caps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = fz_init(data, size);
	u32 enc = fz_u32(&f);
	struct tv_vmcs_field_info fi = tv_vmcs_field_decode(enc);
	unsigned int high = enc % 2;
	unsigned int index = (enc / 2) % 512;
	unsigned int type = (enc / 1024) % 4;
	unsigned int width = (enc / 8192) % 4;
	bool reserved = (enc / 4096) % 2 != 0 || enc / 32768 != 0;
	/* SDM width 1 is 64-bit; "high" accesses exist only for those. */
	bool valid = !reserved && (!high || width == 1);

	CHECK(fi.high == (bool)high, "enc=%#x", enc);
	CHECK(fi.index == index, "enc=%#x index %u want %u", enc, fi.index,
	      index);
	CHECK((unsigned int)fi.type == type, "enc=%#x type %u want %u", enc,
	      (unsigned int)fi.type, type);
	CHECK((unsigned int)fi.width == width, "enc=%#x width %u want %u", enc,
	      (unsigned int)fi.width, width);
	CHECK(fi.valid == valid, "enc=%#x valid %d want %d", enc, fi.valid,
	      valid);
	CHECK(TV_W16 == 0 && TV_W64 == 1 && TV_W32 == 2 && TV_WNATURAL == 3 &&
	      TV_T_CONTROL == 0 && TV_T_EXIT_INFO == 1 && TV_T_GUEST == 2 &&
	      TV_T_HOST == 3, "enum values are the SDM's encodings");
	return 0;
}
