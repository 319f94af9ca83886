// SPDX-License-Identifier: MIT
/*
 * MTRR capture and the memory type of a range (tv_mtrr_capture,
 * tv_mtrr_range_type, tv_mtrr_set_uniform) against the model of
 * ref_mtrr.c, which computes types from the raw MSR values as SDM Vol. 3A
 * 11.11 defines them: MTRRs off (DEF_TYPE.E = 0) mean UC; below 1 MiB the
 * fixed ranges decide when DEF_TYPE.FE and MTRRCAP.FIX; elsewhere the
 * variable ranges that match (PHYSBASE & PHYSMASK == address & PHYSMASK),
 * combined: none gives the default type, any UC gives UC, equal types keep
 * it, WT with WB gives WT (11.11.4.1).  Capture may read only the MSRs
 * MTRRCAP announces (a read of another one fails the run, as it would #GP).
 * Each range is compared with the model's exact answer, and for ranges of
 * up to 4096 pages also with a page-by-page look-up; each single byte with
 * the type at that address.
 * Input: the MTRR machine (see ref_machine), then a list of queries
 * (shape byte, base, size).
 */
#include "ref_mtrr.h"

static void query(const struct mtrr_machine *m, const struct tv_mtrr_state *s,
		  u64 base, u64 size)
{
	u64 last = size ? base + (size - 1) : base;
	u8 got, want, pages;

	if (last < base)
		last = ~0ULL;	/* cut at 2^64, as documented */
	got = tv_mtrr_range_type(s, base, size);
	want = ref_range_type(m, base, last);
	CHECK(got == want, "range [%#llx, %#llx] size %#llx: type %u want %u",
	      base, last, size, got, want);
	if (last - base < 4096 * 4096ULL) {
		pages = ref_range_type_pages(m, base, last);
		CHECK(pages == want, "model disagrees with itself on [%#llx, %#llx]: %u vs %u",
		      base, last, pages, want);
	}
	got = tv_mtrr_range_type(s, last, 1);
	CHECK(got == ref_type_at(m, last), "byte %#llx: type %u want %u", last,
	      got, ref_type_at(m, last));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = fz_init(data, size);
	struct mtrr_machine m;
	struct tv_mtrr_state s;
	unsigned int n = 0;
	u8 t;

	ref_machine(&m, &f, REF_MAX_VAR, 6, 52);
	ref_state(&m, &s);

	while (fz_left(&f) && n++ < 64) {
		u8 shape = fz_u8(&f);
		u64 a = fz_u64(&f), b = fz_u64(&f);
		unsigned int k = b % 65, i = (a >> 56) % REF_MAX_VAR;

		switch (shape % 7) {
		case 0:		/* anything */
			query(&m, &s, a, b);
			break;
		case 1:		/* aligned power-of-two blocks: EPT's queries */
			a = k >= 64 ? 0 : a & ~((1ULL << k) - 1);
			query(&m, &s, a, k >= 64 ? 0 : 1ULL << k);
			break;
		case 2:		/* around a variable range's start */
			query(&m, &s, (m.physbase[i] & ~0xfffULL) +
				      (s64)(int8_t)(a & 0xff) * 0x1000 + (b & 0xfff),
			      (b >> 12) % (1ULL << (b % 40)));
			break;
		case 3:		/* the fixed ranges and around 1 MiB */
			query(&m, &s, a % 0x110000, 1 + b % 0x40000);
			break;
		case 4:		/* to the top of the address space */
			query(&m, &s, a, 0 - a);
			break;
		case 5:		/* the aligned block around a range's start */
			a = k >= 64 ? 0 : m.physbase[i] & ~((1ULL << k) - 1);
			query(&m, &s, a, k >= 64 ? 0 : 1ULL << k);
			break;
		default:	/* a few pages, anywhere in MAXPHYADDR */
			a &= (1ULL << ref_phys_bits(&m)) - 1;
			query(&m, &s, a, (b % 64) * 0x1000 + (b >> 58));
			break;
		}
	}

	/* Without MTRRs: one type everywhere, a reserved one taken as UC. */
	t = data && size ? data[0] : 6;
	tv_mtrr_set_uniform(&s, ref_phys_bits(&m), t);
	t = (t == 0 || t == 1 || t == 4 || t == 5 || t == 6) ? t : 0;
	CHECK(tv_mtrr_range_type(&s, m.physbase[0], m.physmask[0]) == t &&
	      tv_mtrr_range_type(&s, 0, 0) == t, "uniform %u", t);
	return 0;
}
