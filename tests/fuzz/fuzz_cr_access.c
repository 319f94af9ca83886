// SPDX-License-Identifier: MIT
/*
 * Control-register-access exit qualification (tv_cr_access_decode) and the
 * register it names (tv_reg), against the SDM's table "Exit Qualification
 * for Control-Register Accesses" (Vol. 3C, Table 28-3 in the 2023 edition):
 *   3:0 control register, 5:4 access type (0 MOV to CR, 1 MOV from CR,
 *   2 CLTS, 3 LMSW), 6 LMSW operand type, 11:8 general-purpose register
 *   (0 RAX, 1 RCX, 2 RDX, 3 RBX, 4 RSP, 5 RBP, 6 RSI, 7 RDI, 8-15 R8-R15),
 *   31:16 LMSW source data; 7, 15:12 and 63:32 not defined.
 * Input: 8 bytes of qualification, then one of each field to encode.
 */
#include <stddef.h>
#include "fuzz_common.h"
#include "core/emulate.h"
#include "core/vcpu.h"

/* The register block in SDM register-number order, by name. */
static const size_t sdm_gpr_offset[16] = {
	offsetof(struct tv_regs, rax), offsetof(struct tv_regs, rcx),
	offsetof(struct tv_regs, rdx), offsetof(struct tv_regs, rbx),
	offsetof(struct tv_regs, rsp), offsetof(struct tv_regs, rbp),
	offsetof(struct tv_regs, rsi), offsetof(struct tv_regs, rdi),
	offsetof(struct tv_regs, r8), offsetof(struct tv_regs, r9),
	offsetof(struct tv_regs, r10), offsetof(struct tv_regs, r11),
	offsetof(struct tv_regs, r12), offsetof(struct tv_regs, r13),
	offsetof(struct tv_regs, r14), offsetof(struct tv_regs, r15),
};

REF_CODE static void check_decode(u64 q)
{
	struct tv_cr_access a = tv_cr_access_decode(q);
	unsigned int ref_cr = 0, ref_type = 0, ref_gpr = 0, ref_lmsw = 0;
	unsigned int bit;
	struct tv_regs regs;

	/* The reference reads the table bit by bit. */
	for (bit = 0; bit < 64; bit++) {
		unsigned int v = (q >> bit) & 1;

		if (bit <= 3)
			ref_cr |= v << bit;
		else if (bit <= 5)
			ref_type |= v << (bit - 4);
		else if (bit >= 8 && bit <= 11)
			ref_gpr |= v << (bit - 8);
		else if (bit >= 16 && bit <= 31)
			ref_lmsw |= v << (bit - 16);
	}
	CHECK(a.cr == ref_cr, "q=%#llx cr %u want %u", q, a.cr, ref_cr);
	CHECK((unsigned int)a.type == ref_type, "q=%#llx type %u want %u", q,
	      (unsigned int)a.type, ref_type);
	CHECK(a.gpr == ref_gpr, "q=%#llx gpr %u want %u", q, a.gpr, ref_gpr);
	CHECK(a.lmsw_source == ref_lmsw, "q=%#llx lmsw %#x want %#x", q,
	      a.lmsw_source, ref_lmsw);
	/* The enum's values are the SDM's encodings. */
	CHECK(TV_CR_MOV_TO == 0 && TV_CR_MOV_FROM == 1 && TV_CR_CLTS == 2 &&
	      TV_CR_LMSW == 3, "access-type encodings");

	/* The handler reads and writes the register the SDM names. */
	CHECK((char *)tv_reg(&regs, a.gpr) ==
	      (char *)&regs + sdm_gpr_offset[ref_gpr],
	      "gpr %u maps to offset %td", ref_gpr,
	      (char *)tv_reg(&regs, a.gpr) - (char *)&regs);
}

/* What a CPU reports: the defined fields only, zeros where the SDM says. */
static void check_roundtrip(u8 cr_sel, u8 type, u8 gpr, u16 src, bool mem)
{
	static const u8 crs[4] = { 0, 3, 4, 8 };
	u64 q;
	struct tv_cr_access a;

	type &= 3;
	gpr &= 15;
	if (type == TV_CR_MOV_TO || type == TV_CR_MOV_FROM)
		q = crs[cr_sel & 3] | (u64)type << 4 | (u64)gpr << 8;
	else if (type == TV_CR_CLTS)
		q = 2 << 4;
	else
		q = 3 << 4 | (u64)mem << 6 | (u64)src << 16;
	a = tv_cr_access_decode(q);
	CHECK(a.type == type, "q=%#llx", q);
	if (type <= 1) {
		CHECK(a.cr == crs[cr_sel & 3] && a.gpr == gpr, "q=%#llx", q);
		CHECK(a.lmsw_source == 0, "q=%#llx", q);
	} else {
		CHECK(a.cr == 0 && a.gpr == 0, "q=%#llx", q);
		CHECK(a.lmsw_source == (type == 3 ? src : 0), "q=%#llx", q);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = fz_init(data, size);
	u64 q = fz_u64(&f);
	u8 cr_sel = fz_u8(&f), type = fz_u8(&f), gpr = fz_u8(&f);
	u16 src = fz_u16(&f);
	bool mem = fz_bool(&f);

	check_decode(q);
	check_roundtrip(cr_sel, type, gpr, src, mem);
	return 0;
}
