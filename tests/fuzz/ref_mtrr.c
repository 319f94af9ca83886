// SPDX-License-Identifier: MIT
/* The MTRR model of ref_mtrr.h: see there. */
#include "ref_mtrr.h"

#define MiB1 0x100000ULL

static const u8 valid_types[] = { 0, 1, 4, 5, 6 };	/* UC WC WT WP WB */

/* Reserved encodings are UC (core/mtrr.h's choice; WRMSR refuses them). */
static u8 ref_sane(u8 t)
{
	return (t == 0 || t == 1 || t == 4 || t == 5 || t == 6) ? t : 0;
}

unsigned int ref_phys_bits(const struct mtrr_machine *m)
{
	unsigned int p = m->phys_in;

	return p < 32 ? 32 : (p > 52 ? 52 : p);
}

static unsigned int ref_vcnt(const struct mtrr_machine *m)
{
	unsigned int n = m->cap & 0xff;

	return n < REF_MAX_VAR ? n : REF_MAX_VAR;
}

static bool ref_fixed_on(const struct mtrr_machine *m)
{
	return (m->def & (1u << 10)) && (m->direct || (m->cap & (1u << 8)));
}

/* A type byte: one of the five, or (rarely) any value. */
static u8 pick_type(struct fz *f)
{
	u8 b = fz_u8(f);

	return (b & 0x80) ? b & 0x7f : valid_types[b % 5];
}

void ref_machine(struct mtrr_machine *m, struct fz *f, unsigned int max_var,
		 unsigned int max_holes, unsigned int max_phys)
{
	u8 mode = fz_u8(f), b;
	unsigned int i, phys, nvar;

	memset(m, 0, sizeof(*m));
	m->direct = mode & 1;
	b = fz_u8(f);
	m->phys_in = (mode & 2) ? b : 32 + b % 21;	/* raw: clamping */
	if (m->phys_in > max_phys)
		m->phys_in = max_phys;
	phys = ref_phys_bits(m);

	b = fz_u8(f);
	nvar = b % (max_var + 1);
	m->cap = nvar | ((mode & 4) ? 0 : 1u << 8) | (u64)fz_u8(f) << 9;
	if ((mode & 8) && max_var == REF_MAX_VAR)
		m->cap = (m->cap & ~0xffULL) | (b | 0x20);	/* VCNT > 32 */
	m->def = pick_type(f) | (mode & 0x10 ? 0 : 1u << 11) |
		 (mode & 0x20 ? 0 : 1u << 10);

	for (i = 0; i < 11; i++) {
		b = fz_u8(f);
		if (b & 0x80)
			m->fix[i] = fz_u64(f);
		else
			m->fix[i] = 0x0101010101010101ULL *
				    valid_types[b % 5];
		/* one odd byte makes a fixed range boundary */
		if (b & 0x40)
			m->fix[i] ^= (u64)(valid_types[(b >> 3) % 5] ^
					   (m->fix[i] & 0xff)) << (8 * (b & 7));
	}

	for (i = 0; i < nvar && fz_left(f); i++) {
		u8 fl = fz_u8(f);
		unsigned int h = 12 + fz_u8(f) % (phys - 12 + 1);
		u64 span, holes, base, prev;

		/*
		 * Firmware's layouts: a range next to the previous one, or its
		 * other half (same size, the neighbouring aligned block).
		 */
		prev = i ? m->physmask[i - 1] & ((1ULL << phys) - 1) & ~0xfffULL : 0;
		if ((fl & 0x30) && prev)
			h = __builtin_ctzll(prev);
		span = ~0ULL << h & ((1ULL << phys) - 1);
		holes = fz_u64(f) & span & ~(1ULL << h);
		base = fz_u64(f);
		if (i && (fl & 0x30) == 0x10)
			base = m->physbase[i - 1] ^ (1ULL << h);
		else if (i && (fl & 0x30) == 0x20)
			base = (m->physbase[i - 1] & ~0xfffULL) + (1ULL << h);

		if (!(fl & 8))
			holes = 0;	/* most masks are contiguous */
		while ((unsigned int)__builtin_popcountll(holes) > max_holes)
			holes &= ~(1ULL << (63 - __builtin_clzll(holes)));
		m->physmask[i] = (span & ~holes) | ((fl & 1) ? 0 : 1u << 11);
		if (fl & 2)	/* bits above MAXPHYADDR, bits 10:0 */
			m->physmask[i] |= ~((1ULL << phys) - 1) | (base & 0x7ff);
		else
			base &= (1ULL << phys) - 1;
		m->physbase[i] = (base & ~0xfffULL) | pick_type(f) |
				 ((fl & 4) ? base & 0xf00 : 0);
	}
}

static u64 machine_rdmsr(u32 msr, void *ctx)
{
	struct mtrr_machine *m = ctx;
	unsigned int i;
	bool fix = m->cap & (1u << 8);

	m->rdmsr_calls++;
	if (msr == 0xfe)
		return m->cap;
	if (msr == 0x2ff)
		return m->def;
	if (msr == 0x250 && fix)
		return m->fix[0];
	if ((msr == 0x258 || msr == 0x259) && fix)
		return m->fix[1 + msr - 0x258];
	if (msr >= 0x268 && msr <= 0x26f && fix)
		return m->fix[3 + msr - 0x268];
	/* Variable pairs: as many as MTRRCAP.VCNT announces. */
	if (msr >= 0x200 && msr < 0x200 + 2 * (m->cap & 0xff)) {
		i = (msr - 0x200) / 2;
		if (i >= REF_MAX_VAR)
			return 0;
		return (msr & 1) ? m->physmask[i] : m->physbase[i];
	}
	CHECK(0, "RDMSR of MSR %#x, which this CPU does not have (MTRRCAP %#llx)",
	      msr, m->cap);
	return 0;
}

void ref_state(struct mtrr_machine *m, struct tv_mtrr_state *s)
{
	unsigned int i, j;

	if (!m->direct) {
		memset(s, 0xa5, sizeof(*s));
		tv_mtrr_capture(s, m->phys_in, machine_rdmsr, m);
		CHECK(s->enabled == !!(m->def & (1u << 11)) &&
		      s->fixed_enabled == ref_fixed_on(m) &&
		      s->var_count == ref_vcnt(m) &&
		      s->phys_bits == ref_phys_bits(m),
		      "captured state: E %d FE %d VCNT %u phys %u",
		      s->enabled, s->fixed_enabled, s->var_count, s->phys_bits);
		return;
	}
	/* A hand-made state: raw values, reserved types and all. */
	memset(s, 0, sizeof(*s));
	s->enabled = m->def & (1u << 11);
	s->fixed_enabled = m->def & (1u << 10);
	s->default_type = m->def & 0xff;
	for (i = 0; i < 11; i++)
		for (j = 0; j < 8; j++)
			s->fixed[8 * i + j] = (u8)(m->fix[i] >> (8 * j));
	s->var_count = m->cap & 0xff;
	for (i = 0; i < REF_MAX_VAR; i++) {
		s->var[i].base = m->physbase[i];
		s->var[i].mask = m->physmask[i];
		s->var[i].type = m->physbase[i] & 0xff;
		s->var[i].valid = m->physmask[i] & (1u << 11);
	}
	s->phys_bits = m->phys_in;
}

/* SDM Table 11-9: which fixed-range MSR byte holds address @a < 1 MiB. */
static u8 ref_fixed_type(const struct mtrr_machine *m, u64 a)
{
	unsigned int msr, byte;

	if (a < 0x80000) {
		msr = 0;
		byte = a / 0x10000;
	} else if (a < 0xa0000) {
		msr = 1;
		byte = (a - 0x80000) / 0x4000;
	} else if (a < 0xc0000) {
		msr = 2;
		byte = (a - 0xa0000) / 0x4000;
	} else {
		msr = 3 + (a - 0xc0000) / 0x8000;
		byte = ((a - 0xc0000) % 0x8000) / 0x1000;
	}
	return ref_sane((u8)(m->fix[msr] >> (8 * byte)));
}

static u64 addr_mask(const struct mtrr_machine *m)
{
	return ((1ULL << ref_phys_bits(m)) - 1) & ~0xfffULL;
}

static bool var_valid(const struct mtrr_machine *m, unsigned int i)
{
	return m->physmask[i] & (1u << 11);
}

/* SDM 11.11.4.1: the variable ranges' type of address @a. */
static u8 ref_var_type(const struct mtrr_machine *m, u64 a)
{
	u64 am = addr_mask(m);
	unsigned int i, n = ref_vcnt(m), seen = 0;

	for (i = 0; i < n; i++) {
		if (!var_valid(m, i))
			continue;
		if (((a ^ m->physbase[i]) & m->physmask[i] & am) == 0)
			seen |= 1u << ref_sane(m->physbase[i] & 0xff);
	}
	if (!seen)
		return ref_sane(m->def & 0xff);
	if (seen & 1)				/* any UC: UC */
		return 0;
	if (!(seen & (seen - 1)))		/* all the same */
		return __builtin_ctz(seen);
	if (seen == ((1u << 4) | (1u << 6)))	/* WT and WB: WT */
		return 4;
	return 0;				/* undefined: UC */
}

u8 ref_type_at(const struct mtrr_machine *m, u64 a)
{
	if (!(m->def & (1u << 11)))
		return 0;
	if (ref_fixed_on(m) && a < MiB1)
		return ref_fixed_type(m, a);
	return ref_var_type(m, a);
}

struct edges {
	u64 lo, hi, *out;
	size_t k, max;
	bool full;
};

static void add_edge(struct edges *e, u64 p)
{
	if (p <= e->lo || p > e->hi)
		return;
	if (e->k == e->max)
		e->full = true;
	else
		e->out[e->k++] = p;
}

size_t ref_edges(const struct mtrr_machine *m, u64 lo, u64 hi, u64 *out,
		 size_t max)
{
	u64 am = addr_mask(m), top = am | 0xfff;
	unsigned int i, n = ref_vcnt(m);
	struct edges e = { lo, hi, out, 0, max, false };

	if (max == 0)
		return 0;
	out[e.k++] = lo;
	/* Fixed ranges: every 4 KiB page below 1 MiB, and 1 MiB itself. */
	if (ref_fixed_on(m) && lo < MiB1) {
		u64 p;

		for (p = 0x1000; p <= MiB1; p += 0x1000)
			add_edge(&e, p);
	}
	for (i = 0; i < n; i++) {
		u64 mask = m->physmask[i] & am, holes, sub;
		unsigned int h;

		if (!var_valid(m, i) || !mask)
			continue;	/* off, or matching everything */
		h = __builtin_ctzll(mask);
		/* Clear bits above the lowest set one: where copies repeat. */
		holes = ~mask & top & ~((1ULL << h) - 1);
		/* Each subset of the holes: one interval of 2^h bytes. */
		sub = 0;
		do {
			u64 s = (m->physbase[i] & mask) | sub;

			add_edge(&e, s);
			add_edge(&e, s + (1ULL << h));
			sub = (sub - holes) & holes;
		} while (sub);
	}
	return e.full ? 0 : e.k;
}

/* Types of the variable ranges over [lo, hi], both below 2^MAXPHYADDR. */
static unsigned int var_types(const struct mtrr_machine *m, u64 lo, u64 hi)
{
	static u64 pts[1 << 16];
	size_t k = ref_edges(m, lo, hi, pts, TV_ARRAY_SIZE(pts)), i;
	unsigned int set = 0;

	CHECK(k > 0, "too many edges for the reference");
	for (i = 0; i < k; i++)
		set |= 1u << ref_var_type(m, pts[i]);
	return set;
}

unsigned int ref_types(const struct mtrr_machine *m, u64 base, u64 last)
{
	u64 period = 1ULL << ref_phys_bits(m), lo, hi;
	unsigned int set = 0;

	if (!(m->def & (1u << 11)))
		return 1u << 0;
	if (ref_fixed_on(m) && base < MiB1) {
		u64 p;

		for (p = base & ~0xfffULL; p <= last && p < MiB1; p += 0x1000)
			set |= 1u << ref_fixed_type(m, p);
		if (last < MiB1)
			return set;
		base = MiB1;
	}
	/* Addresses repeat every 2^MAXPHYADDR for the variable ranges. */
	if (last - base >= period - 1)
		return set | var_types(m, 0, period - 1);
	lo = base & (period - 1);
	hi = last & (period - 1);
	if (lo <= hi)
		return set | var_types(m, lo, hi);
	return set | var_types(m, lo, period - 1) | var_types(m, 0, hi);
}

u8 ref_range_type(const struct mtrr_machine *m, u64 base, u64 last)
{
	unsigned int set = ref_types(m, base, last);

	return (set & (set - 1)) ? REF_MIXED : (u8)__builtin_ctz(set);
}

u8 ref_range_type_pages(const struct mtrr_machine *m, u64 base, u64 last)
{
	u64 p = base;
	u8 t = ref_type_at(m, base), u;

	/* The type is the same for every byte of a 4 KiB page. */
	for (p = (base & ~0xfffULL) + 0x1000; p && p <= last; p += 0x1000) {
		u = ref_type_at(m, p);
		if (u != t)
			return REF_MIXED;
	}
	return t;
}
