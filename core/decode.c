// SPDX-License-Identifier: MIT
/*
 * Exit-information decoders and operand addressing (core/decode.h).
 */
#include "core/decode.h"

static TV_VMX_ROOT u32 field(u64 v, unsigned int hi, unsigned int lo)
{
	return (u32)((v >> lo) & ((1ULL << (hi - lo + 1)) - 1));
}

/* The memory-operand fields both instruction-information formats share. */
static TV_VMX_ROOT struct tv_instr_info mem_fields(u32 info)
{
	struct tv_instr_info ii = {
		.scale = field(info, 1, 0),
		.addr_size = field(info, 9, 7),
		.seg = field(info, 17, 15),
		.index = field(info, 21, 18),
		.index_valid = !field(info, 22, 22),
		.base = field(info, 26, 23),
		.base_valid = !field(info, 27, 27),
		.identity = field(info, 29, 28),
	};

	return ii;
}

TV_VMX_ROOT struct tv_instr_info tv_decode_dt_info(u32 info)
{
	struct tv_instr_info ii = mem_fields(info);

	ii.op_size = field(info, 11, 11);
	return ii;
}

TV_VMX_ROOT struct tv_instr_info tv_decode_seg_info(u32 info)
{
	struct tv_instr_info ii = mem_fields(info);

	ii.is_reg = field(info, 10, 10);
	ii.reg = field(info, 6, 3);
	return ii;
}

TV_VMX_ROOT struct tv_instr_info tv_decode_io_info(u32 info, bool in)
{
	struct tv_instr_info ii = { 0 };

	ii.addr_size = field(info, 9, 7);
	ii.seg = in ? 0 : field(info, 17, 15);	/* INS: ES:(E)DI */
	return ii;
}

TV_VMX_ROOT struct tv_io_access tv_decode_io(u64 q)
{
	struct tv_io_access a = {
		.size = field(q, 2, 0) + 1,
		.in = field(q, 3, 3),
		.string = field(q, 4, 4),
		.rep = field(q, 5, 5),
		.imm = field(q, 6, 6),
		.port = field(q, 31, 16),
	};

	return a;
}

TV_VMX_ROOT struct tv_dr_access tv_decode_dr(u64 q)
{
	struct tv_dr_access a = {
		.dr = field(q, 2, 0),
		.from_dr = field(q, 4, 4),
		.gpr = field(q, 11, 8),
	};

	return a;
}

TV_VMX_ROOT u64 tv_decode_invlpg(u64 q, bool long_mode)
{
	return long_mode ? q : (u32)q;
}

static TV_VMX_ROOT u64 addr_mask(unsigned int addr_size)
{
	return addr_size == 0 ? 0xffffULL :
	       addr_size == 1 ? 0xffffffffULL : ~0ULL;
}

TV_VMX_ROOT u64 tv_decode_offset(const struct tv_instr_info *ii, u64 disp,
				 const u64 *gpr)
{
	u64 off = disp;

	if (ii->base_valid)
		off += gpr[ii->base & 15];
	if (ii->index_valid)
		off += gpr[ii->index & 15] << (ii->scale & 3);
	return off & addr_mask(ii->addr_size);
}

#define SEG_SS 2
#define SEG_FS 4
#define SEG_GS 5
#define AR_TYPE_CODE TV_BIT(3)
#define AR_TYPE_W_OR_R TV_BIT(1)	/* data: writable; code: readable */
#define AR_TYPE_EXPAND_DOWN TV_BIT(2)	/* data segments */
#define AR_DB TV_BIT(14)

TV_VMX_ROOT int tv_decode_linear(const struct tv_segment *s, unsigned int seg,
				 u64 offset, unsigned int size, bool write,
				 u32 mode, u64 *la)
{
	int fault = seg == SEG_SS ? 12 : 13;
	u64 last = offset + (size ? size - 1 : 0), a;

	if (mode & TV_MODE_64) {
		unsigned int top = (mode & TV_MODE_LA57) ? 56 : 47;
		u64 high;

		a = offset + ((seg == SEG_FS || seg == SEG_GS) ? s->base : 0);
		/* Both ends of the access canonical. */
		high = a >> top;
		if (high != 0 && high != (~0ULL >> top))
			return fault;
		high = (a + (size ? size - 1 : 0)) >> top;
		if (high != 0 && high != (~0ULL >> top))
			return fault;
		*la = a;
		return 0;
	}
	if (mode & TV_MODE_PROT) {
		if (s->ar & TV_AR_UNUSABLE)
			return fault;
		if (s->ar & AR_TYPE_CODE) {
			if (write || !(s->ar & AR_TYPE_W_OR_R))
				return fault;
		} else if (write && !(s->ar & AR_TYPE_W_OR_R)) {
			return fault;
		}
	}
	if (!(s->ar & AR_TYPE_CODE) && (s->ar & AR_TYPE_EXPAND_DOWN)) {
		u64 upper = (s->ar & AR_DB) ? 0xffffffffULL : 0xffffULL;

		if (offset <= s->limit || last > upper)
			return fault;
	} else if (last > s->limit) {
		return fault;
	}
	*la = (s->base + offset) & 0xffffffffULL;
	return 0;
}
