// SPDX-License-Identifier: MIT
/*
 * The exit-information decoders and operand addressing of core/decode.c
 * against references written from the SDM (Vol. 3C, 2023 edition):
 *  - instruction information for LIDT, LGDT, SIDT, SGDT (Table 28-10):
 *    1:0 scaling, 9:7 address size, 11 operand size, 17:15 segment,
 *    21:18 index, 22 index invalid, 26:23 base, 27 base invalid,
 *    29:28 instruction identity; for LLDT, LTR, SLDT, STR (Table 28-11):
 *    the same, without operand size, plus 6:3 reg1 and 10 mem/reg; for
 *    INS/OUTS (Table 28-8): 9:7 address size, 17:15 segment (OUTS only);
 *  - I/O qualification (Table 28-5): 2:0 size - 1, 3 direction (1 = IN),
 *    4 string, 5 REP, 6 operand encoding (1 = immediate), 31:16 port;
 *  - MOV-DR qualification (Table 28-4): 2:0 DR, 4 direction (1 = MOV
 *    from DR), 11:8 register;
 *  - the offset, base + index * 2^scale + displacement modulo 2^(16, 32
 *    or 64) (28.2.1), and the linear address with segmentation (Vol. 3A
 *    3.4.5.1 segment types, 5.3 limit checking; Vol. 1 3.3.7.1 canonical
 *    addresses), each check made byte by byte here.
 * Input: u32 info, u64 qualification, 16 registers, a segment (base,
 * limit, access rights), mode, segment index, offset, size, write.
 */
#include "fuzz_common.h"
#include "core/decode.h"

REF_CODE static u32 bitfield(u64 v, unsigned int hi, unsigned int lo)
{
	u32 r = 0;
	unsigned int b;

	for (b = lo; b <= hi; b++)
		r |= (u32)((v >> b) & 1) << (b - lo);
	return r;
}

REF_CODE static void check_info(u32 info)
{
	struct tv_instr_info d = tv_decode_dt_info(info);
	struct tv_instr_info s = tv_decode_seg_info(info);
	struct tv_instr_info in = tv_decode_io_info(info, true);
	struct tv_instr_info out = tv_decode_io_info(info, false);
	const struct tv_instr_info *both[2] = { &d, &s };
	int i;

	for (i = 0; i < 2; i++) {
		const struct tv_instr_info *ii = both[i];

		CHECK(ii->scale == bitfield(info, 1, 0), "info %#x", info);
		CHECK(ii->addr_size == bitfield(info, 9, 7), "info %#x", info);
		CHECK(ii->seg == bitfield(info, 17, 15), "info %#x", info);
		CHECK(ii->index == bitfield(info, 21, 18), "info %#x", info);
		CHECK(ii->index_valid == !bitfield(info, 22, 22), "info %#x",
		      info);
		CHECK(ii->base == bitfield(info, 26, 23), "info %#x", info);
		CHECK(ii->base_valid == !bitfield(info, 27, 27), "info %#x",
		      info);
		CHECK(ii->identity == bitfield(info, 29, 28), "info %#x", info);
	}
	CHECK(d.op_size == bitfield(info, 11, 11), "info %#x", info);
	CHECK(s.is_reg == bitfield(info, 10, 10), "info %#x", info);
	CHECK(s.reg == bitfield(info, 6, 3), "info %#x", info);
	CHECK(in.addr_size == bitfield(info, 9, 7) && in.seg == 0,
	      "info %#x", info);
	CHECK(out.addr_size == bitfield(info, 9, 7) &&
	      out.seg == bitfield(info, 17, 15), "info %#x", info);
}

REF_CODE static void check_quals(u64 q)
{
	struct tv_io_access io = tv_decode_io(q);
	struct tv_dr_access dr = tv_decode_dr(q);

	CHECK(io.size == bitfield(q, 2, 0) + 1, "q %#llx", q);
	CHECK(io.in == bitfield(q, 3, 3), "q %#llx", q);
	CHECK(io.string == bitfield(q, 4, 4), "q %#llx", q);
	CHECK(io.rep == bitfield(q, 5, 5), "q %#llx", q);
	CHECK(io.imm == bitfield(q, 6, 6), "q %#llx", q);
	CHECK(io.port == bitfield(q, 31, 16), "q %#llx", q);
	CHECK(dr.dr == bitfield(q, 2, 0), "q %#llx", q);
	CHECK(dr.from_dr == bitfield(q, 4, 4), "q %#llx", q);
	CHECK(dr.gpr == bitfield(q, 11, 8), "q %#llx", q);
	CHECK(tv_decode_invlpg(q, true) == q, "q %#llx", q);
	CHECK(tv_decode_invlpg(q, false) == q % (1ULL << 32), "q %#llx", q);
}

REF_CODE static void check_offset(u32 info, u64 disp, const u64 *gpr)
{
	struct tv_instr_info ii = tv_decode_dt_info(info);
	static const unsigned int widths[8] = { 16, 32, 64, 64, 64, 64, 64,
						64 };
	unsigned __int128 sum = disp;
	unsigned int width = widths[bitfield(info, 9, 7)];
	u64 want;

	if (!bitfield(info, 27, 27))
		sum += gpr[bitfield(info, 26, 23)];
	if (!bitfield(info, 22, 22))
		sum += (unsigned __int128)gpr[bitfield(info, 21, 18)] *
		       (1u << bitfield(info, 1, 0));
	want = (u64)(sum % ((unsigned __int128)1 << width));
	CHECK(tv_decode_offset(&ii, disp, gpr) == want,
	      "info %#x disp %#llx: %#llx want %#llx", info, disp,
	      tv_decode_offset(&ii, disp, gpr), want);
}

/* Is @a canonical for a linear-address width of @bits (48 or 57)? */
REF_CODE static bool ref_canonical(u64 a, unsigned int bits)
{
	s64 ext = (s64)(a << (64 - bits)) >> (64 - bits);

	return (u64)ext == a;
}

/*
 * Segment types (Vol. 3A Table 3-1), type field 3:0: data 0-7 (bit 1
 * write-enable, bit 2 expand-down), code 8-15 (bit 1 read-enable).
 */
REF_CODE static int ref_linear(const struct tv_segment *s, unsigned int seg,
			       u64 off, unsigned int size, bool write,
			       u32 mode, u64 *la)
{
	static const bool readable[16] = { 1, 1, 1, 1, 1, 1, 1, 1,
					   0, 0, 1, 1, 0, 0, 1, 1 };
	static const bool writable[16] = { 0, 0, 1, 1, 0, 0, 1, 1,
					   0, 0, 0, 0, 0, 0, 0, 0 };
	unsigned int type = s->ar & 15, n = size ? size : 1, i;
	int fault = seg == 2 ? 12 : 13;

	if (mode & TV_MODE_64) {
		unsigned int bits = (mode & TV_MODE_LA57) ? 57 : 48;
		u64 a = off + ((seg == 4 || seg == 5) ? s->base : 0);

		for (i = 0; i < n; i++)
			if (!ref_canonical(a + i, bits))
				return fault;
		*la = a;
		return 0;
	}
	if (mode & TV_MODE_PROT) {
		if (s->ar & (1u << 16))
			return fault;
		if (write ? !writable[type] : !readable[type])
			return fault;
	}
	for (i = 0; i < n; i++) {
		unsigned __int128 byte = (unsigned __int128)off + i;

		if (type >= 4 && type <= 7) {	/* expand-down data */
			u64 top = (s->ar & (1u << 14)) ? 0xffffffffULL : 0xffffULL;

			if (byte <= s->limit || byte > top)
				return fault;
		} else if (byte > s->limit) {
			return fault;
		}
	}
	*la = (u64)(((unsigned __int128)s->base + off) % (1ULL << 32));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = fz_init(data, size);
	u32 info = fz_u32(&f);
	u64 q = fz_u64(&f), gpr[16], la = 0, rla = 0;
	struct tv_segment s;
	unsigned int i, seg, n;
	u32 mode;
	u64 off;
	bool write;
	int got, want;

	for (i = 0; i < 16; i++)
		gpr[i] = fz_u64(&f);
	s.base = fz_u64(&f);
	s.limit = fz_u32(&f);
	s.ar = fz_u32(&f) & 0x1f0ff;
	mode = fz_u8(&f) & 7;
	seg = fz_u8(&f) % 6;
	off = fz_u64(&f);
	n = fz_u8(&f) % 17;
	write = fz_bool(&f);
	if (!(mode & TV_MODE_64)) {
		/* Outside 64-bit mode bases, limits and offsets are 32 bits. */
		s.base = (u32)s.base;
		off = (u32)off;
	}

	check_info(info);
	check_quals(q);
	check_offset(info, q, gpr);
	got = tv_decode_linear(&s, seg, off, n, write, mode, &la);
	want = ref_linear(&s, seg, off, n, write, mode, &rla);
	CHECK(got == want, "seg %u base %#llx limit %#x ar %#x mode %u off %#llx size %u w %d: %d want %d",
	      seg, s.base, s.limit, s.ar, mode, off, n, write, got, want);
	CHECK(got || la == rla, "la %#llx want %#llx", la, rla);
	return 0;
}
