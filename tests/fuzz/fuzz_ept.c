// SPDX-License-Identifier: MIT
/*
 * EPT identity map (tv_ept_build_identity, tv_ept_leaf, tv_ept_choose_leaf)
 * over MTRR states from ref_mtrr.c, checked the way the CPU would use it
 * (SDM Vol. 3C 29.3 "The Extended Page Table Mechanism"):
 * - EPTP: memory type WB (bits 2:0 = 6), walk length 4 (bits 5:3 = 3),
 *   A/D off, bits 11:7 zero, the PML4 page's address;
 * - a walk from the EPTP (fake platform: physical == virtual), for random
 *   addresses and every edge where the MTRR type changes: present exactly
 *   below the documented end (2^min(MAXPHYADDR, 48), at most 512 GiB
 *   without 1 GiB pages), RWX, identity, bit 7 clear in PML4Es and set in
 *   large leaves, reserved bits clear (non-leaf 7:3, large-page address
 *   bits below its size, bits above MAXPHYADDR), ignore-PAT clear, and the
 *   leaf's memory type is the MTRR type of the address (ref_type_at);
 *   tv_ept_leaf() finds the same entry at the same level;
 * - the whole tree, visited in address order against the model's pieces of
 *   constant type: every leaf is uniform, every table stands for a block
 *   that is not (or a level that cannot be a leaf), entries past the end
 *   are zero, and the table count equals tv_ept_table_bytes() / 4096, so
 *   the map is exactly the smallest one;
 * - an allocation failure at any point: TV_ERR_NO_MEMORY, nothing left
 *   allocated; and tv_ept_free() gives every page back.
 * Input: the MTRR machine (8 ranges of at most 3 holes), the config,
 * an allocation-failure point, then addresses to walk.
 */
#include "ref_mtrr.h"
#include "fake_platform.h"
#include "core/ept.h"
#include "arch/x86/ept.h"

#define B(n) (1ULL << (n))

REF_CODE static u64 span_of(int level)
{
	return 0x1000ULL << (9 * (level - 1));
}

/* Pieces of constant type over [0, end): sorted starts and their types. */
struct pieces {
	u64 start[8192];
	u8 type[8192];
	size_t n;
};

REF_CODE static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

REF_CODE static void make_pieces(const struct mtrr_machine *m, u64 end,
			struct pieces *p)
{
	size_t k, i;

	k = ref_edges(m, 0, end - 1, p->start, TV_ARRAY_SIZE(p->start));
	CHECK(k > 0, "too many edges");
	qsort(p->start, k, sizeof(u64), cmp_u64);
	p->n = 0;
	for (i = 0; i < k; i++) {
		u8 t = ref_type_at(m, p->start[i]);

		if (p->n && p->start[p->n - 1] == p->start[i])
			continue;
		if (p->n && p->type[p->n - 1] == t)
			continue;	/* no change of type there */
		p->start[p->n] = p->start[i];
		p->type[p->n++] = t;
	}
}

/* Types of [a, a + span): bit t for type t, from piece *@cur on. */
REF_CODE static unsigned int piece_types(const struct pieces *p, size_t *cur, u64 a,
				u64 span)
{
	unsigned int set = 0;
	size_t i = *cur;

	while (i + 1 < p->n && p->start[i + 1] <= a)
		i++;
	*cur = i;
	for (; i < p->n && p->start[i] < a + span; i++)
		set |= 1u << p->type[i];
	return set;
}

struct walk_ctx {
	const struct pieces *p;
	size_t cur;
	u64 end, phys_top;
	bool use_1gb;
	long tables;
};

REF_CODE static u64 *table_at(u64 pa)
{
	return (u64 *)(uintptr_t)pa;
}

/* Visit table @pa of @level mapping from @base; returns its types. */
REF_CODE static unsigned int visit(struct walk_ctx *c, u64 pa, int level, u64 base)
{
	u64 *t = table_at(pa), span = span_of(level);
	unsigned int i, all = 0;

	c->tables++;
	for (i = 0; i < 512; i++) {
		u64 a = base + i * span, e = t[i];
		unsigned int set;

		if (a >= c->end || (level == 4 && i * span >= c->end)) {
			CHECK(e == EPT_ABSENT,
			      "entry %u of level %d at %#llx past the end: %#llx",
			      i, level, a, e);
			continue;
		}
		CHECK((e & 7) == 7, "entry at %#llx level %d not RWX: %#llx", a,
		      level, e);
		/* 62:52 clear; bit 63 (suppress #VE) counts in leaves only. */
		CHECK(!(e & 0x7ff0000000000000ULL),
		      "entry at %#llx level %d: bits 62:52 %#llx", a, level, e);
		if (level == 1 || (level < 4 && (e & B(7)))) {
			u8 mt = (e >> 3) & 7;

			/* Tables live at fake "physical" addresses: leaves only. */
			CHECK(!(e & c->phys_top),
			      "leaf at %#llx level %d: bits above MAXPHYADDR %#llx",
			      a, level, e);

			CHECK(level < 4, "PML4E bit 7 set");
			CHECK(e & EPT_SUPPRESS_VE,
			      "leaf at %#llx level %d converts violations to #VE: %#llx",
			      a, level, e);
			CHECK((e & 0xffffffffff000ULL) == a,
			      "leaf at %#llx level %d maps %#llx", a, level,
			      e & 0xffffffffff000ULL);
			CHECK(!(e & (B(6) | B(8) | B(9))),
			      "leaf at %#llx: ignore-PAT/A/D set %#llx", a, e);
			CHECK(level < 3 || c->use_1gb, "1 GiB leaf without 1 GiB pages");
			set = piece_types(c->p, &c->cur, a, span);
			CHECK(set == (1u << mt),
			      "leaf at %#llx level %d type %u, MTRR types %#x", a,
			      level, mt, set);
			all |= set;
			continue;
		}
		CHECK(!(e & 0xf8), "non-leaf at %#llx level %d: bits 7:3 %#llx",
		      a, level, e);
		/* Before following it: a leaf that lost bit 7 maps @a. */
		CHECK((e & 0xffffffffff000ULL) != a || !a,
		      "entry at %#llx level %d maps itself without bit 7: %#llx",
		      a, level, e);
		CHECK(e & 0xffffffffff000ULL, "entry at %#llx level %d: table 0",
		      a, level);
		set = visit(c, e & 0xffffffffff000ULL, level - 1, a);
		/* A table only where one leaf could not do. */
		if (level == 2 || (level == 3 && c->use_1gb))
			CHECK(set & (set - 1),
			      "block at %#llx level %d split but all type %#x", a,
			      level, set);
		all |= set;
	}
	return all;
}

/* The CPU's walk of @gpa (< 2^48): the leaf, or NULL if not present. */
REF_CODE static u64 *hw_walk(u64 eptp, u64 gpa, int *level)
{
	u64 *t = table_at(eptp & 0xffffffffff000ULL);
	int l;

	for (l = 4; l >= 1; l--) {
		u64 *e = &t[(gpa >> (12 + 9 * (l - 1))) & 511];

		if (!(*e & 7))
			return NULL;
		if (l == 1 || (l < 4 && (*e & B(7)))) {
			*level = l;
			return e;
		}
		CHECK(*e & 0xffffffffff000ULL, "gpa %#llx level %d: table 0",
		      gpa, l);
		t = table_at(*e & 0xffffffffff000ULL);
	}
	return NULL;
}

REF_CODE static void check_gpa(struct tv_ept *ept, const struct mtrr_machine *m,
		      u64 gpa, u64 end)
{
	int lvl = 0, hw_lvl = 0;
	u64 *e = tv_ept_leaf(ept, gpa, &lvl), *hw = NULL, span;

	if (gpa < B(48))
		hw = hw_walk(tv_ept_pointer(ept), gpa, &hw_lvl);
	if (gpa >= end) {
		CHECK(!e && !hw, "gpa %#llx past the end %#llx is mapped", gpa,
		      end);
		return;
	}
	CHECK(e && e == hw && lvl == hw_lvl,
	      "gpa %#llx: tv_ept_leaf %p level %d, walk %p level %d", gpa,
	      (void *)e, lvl, (void *)hw, hw_lvl);
	span = span_of(lvl);
	CHECK(((*e & 0xffffffffff000ULL) | (gpa & (span - 1))) == gpa,
	      "gpa %#llx translates to %#llx", gpa,
	      (*e & 0xffffffffff000ULL) | (gpa & (span - 1)));
	CHECK(((*e >> 3) & 7) == ref_type_at(m, gpa),
	      "gpa %#llx type %llu, MTRR %u", gpa, (*e >> 3) & 7,
	      ref_type_at(m, gpa));
}

/* A leaf that maps @gpa of a listed range, or one mapped on demand. */
REF_CODE static void check_range_gpa(u64 eptp, const struct mtrr_machine *m,
				     u64 gpa, bool use_1gb)
{
	int level = 0;
	u64 *e = hw_walk(eptp, gpa, &level), span, base;

	CHECK(e, "gpa %#llx of a range is not mapped", gpa);
	span = span_of(level);
	base = gpa & ~(span - 1);
	CHECK((*e & 7) == 7, "gpa %#llx not RWX: %#llx", gpa, *e);
	CHECK((*e & 0xffffffffff000ULL) == base, "gpa %#llx leaf %#llx", gpa,
	      *e);
	CHECK(level < 3 || use_1gb, "1 GiB leaf without 1 GiB pages");
	CHECK(((*e >> 3) & 7) == ref_type_at(m, gpa) &&
	      ref_range_type(m, base, base + span - 1) == ((*e >> 3) & 7),
	      "gpa %#llx level %d type %llu, MTRR %u", gpa, level,
	      (*e >> 3) & 7, ref_type_at(m, gpa));
}

/*
 * The map of what exists: up to 8 ranges from the input, every range's
 * edges mapped right; then addresses from the input mapped on demand
 * (tv_ept_map_missing), each with a uniform identity leaf, until the
 * spares run out.
 */
REF_CODE static void ranges_case(struct fz *f, const struct mtrr_machine *m,
				 const struct tv_mtrr_state *s,
				 struct tv_ept_config *cfg)
{
	struct tv_phys_range r[8];
	struct tv_ept_demand d;
	unsigned int n = fz_u8(f) % 8 + 1, i;
	u64 limit = 1ULL << cfg->phys_bits;
	struct tv_ept *ept;
	int ret;

	for (i = 0; i < n; i++) {
		unsigned int k = fz_u8(f) % (cfg->phys_bits - 11) + 12;

		r[i].base = fz_u64(f) & (limit - 1);
		r[i].size = (fz_u64(f) & ((1ULL << k) - 1)) + 1;
		r[i].kind = i & 1;
	}
	cfg->ranges = r;
	cfg->nranges = n;
	cfg->spare_tables = 4;
	fake_reset();
	ret = tv_ept_build_identity(&ept, s, cfg);
	CHECK(ret == TV_OK, "ranges build failed: %d", ret);
	for (i = 0; i < n; i++) {
		u64 end = r[i].base + r[i].size;

		end = end > limit ? limit : end;
		check_range_gpa(tv_ept_pointer(ept), m, r[i].base, cfg->use_1gb);
		check_range_gpa(tv_ept_pointer(ept), m, end - 1, cfg->use_1gb);
	}
	while (fz_left(f)) {
		u64 gpa = fz_u64(f) & (limit - 1);

		ret = tv_ept_map_missing(ept, gpa, &d);
		if (ret == TV_ERR_NO_MEMORY)
			break;
		CHECK(ret == TV_OK, "map_missing %#llx: %d", gpa, ret);
		check_range_gpa(tv_ept_pointer(ept), m, gpa, cfg->use_1gb);
	}
	tv_ept_free(ept);
	CHECK(fake.pages_live == 0 && fake.zallocs_live == 0,
	      "free left %ld pages %ld allocations", fake.pages_live,
	      fake.zallocs_live);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pieces pcs;
	struct fz f = fz_init(data, size);
	struct mtrr_machine m;
	struct tv_mtrr_state s;
	struct tv_ept_config cfg;
	struct tv_ept *ept = (void *)1;
	struct walk_ctx c;
	u8 mode = fz_u8(&f), fail = fz_u8(&f);
	unsigned int bits, i;
	u64 end, eptp;
	int ret, lvl, level;

	/*
	 * Wide maps only now and then: one with 2^18 top-level leaves (48
	 * bits with 1 GiB pages, 512 GiB with 2 MiB ones) takes half a
	 * second to build and check; up to 36 bits a few milliseconds.
	 */
	ref_machine(&m, &f, 8, 3, (mode & 0x3c) == 0x3c ? 52 : 36);
	ref_state(&m, &s);
	memset(&cfg, 0, sizeof(cfg));	/* no ranges: the whole-width map */
	cfg.phys_bits = ref_phys_bits(&m);
	cfg.use_1gb = mode & 1;
	if ((mode & 0xc0) == 0xc0)
		cfg.phys_bits = m.phys_in;	/* out of range: refused */

	/* The largest leaf level choose_leaf may answer, any address. */
	for (level = 0; level <= 5; level++) {
		u64 a = m.physbase[level % 8] & ((1ULL << 52) - 1);
		int t = tv_ept_choose_leaf(&s, a, level, cfg.use_1gb);

		if (level < 1 || level > 3 || (level == 3 && !cfg.use_1gb)) {
			CHECK(t == TV_EPT_SPLIT, "level %d leaf %d", level, t);
			continue;
		}
		u8 want = ref_range_type(&m, a & ~(span_of(level) - 1),
					 (a | (span_of(level) - 1)));
		CHECK(t == (want == REF_MIXED ? (level == 1 ? 0 : TV_EPT_SPLIT)
					      : want),
		      "choose_leaf %#llx level %d: %d want %u", a, level, t, want);
	}

	if ((mode & 0x30) == 0x20 && cfg.phys_bits >= 32 &&
	    cfg.phys_bits <= 48) {
		ranges_case(&f, &m, &s, &cfg);
		return 0;
	}
	fake_reset();
	if (mode & 2)
		fake.fail_after = fail;
	ret = tv_ept_build_identity(&ept, &s, &cfg);
	if (cfg.phys_bits < 32 || cfg.phys_bits > 52) {
		CHECK(ret == TV_ERR_INVALID && !ept, "phys %u accepted",
		      cfg.phys_bits);
		return 0;
	}
	if (ret != TV_OK) {
		CHECK(ret == TV_ERR_NO_MEMORY && (mode & 2),
		      "build failed with %d", ret);
		CHECK(!ept && fake.pages_live == 0 && fake.zallocs_live == 0,
		      "failed build left %ld pages %ld allocations",
		      fake.pages_live, fake.zallocs_live);
		return 0;
	}
	CHECK(ept, "no map");

	bits = cfg.phys_bits < 48 ? cfg.phys_bits : 48;
	end = 1ULL << bits;
	if (!cfg.use_1gb && end > B(39))
		end = B(39);
	CHECK(tv_ept_ranges_end(ept) == end, "end %#llx want %#llx",
	      tv_ept_ranges_end(ept), end);

	eptp = tv_ept_pointer(ept);
	CHECK((eptp & 7) == 6 && ((eptp >> 3) & 7) == 3 && !(eptp & 0xfc0),
	      "EPTP %#llx", eptp);

	make_pieces(&m, end, &pcs);
	memset(&c, 0, sizeof(c));
	c.p = &pcs;
	c.end = end;
	c.use_1gb = cfg.use_1gb;
	c.phys_top = ~((1ULL << cfg.phys_bits) - 1) & 0x000fffffffffffffULL;
	visit(&c, eptp & 0xffffffffff000ULL, 4, 0);
	CHECK((u64)c.tables * 4096 == tv_ept_table_bytes(ept),
	      "%ld tables reachable, %llu bytes reported", c.tables,
	      tv_ept_table_bytes(ept));
	CHECK(fake.pages_live == c.tables + (long)(tv_ept_spare_bytes(ept) / 4096),
	      "%ld pages live, %ld tables + spares",
	      fake.pages_live, c.tables);

	/* Every edge of the model, both sides, and the input's addresses. */
	for (i = 0; i < pcs.n && i < 512; i++) {
		check_gpa(ept, &m, pcs.start[i], end);
		if (pcs.start[i])
			check_gpa(ept, &m, pcs.start[i] - 1, end);
	}
	while (fz_left(&f)) {
		u64 gpa = fz_u64(&f);

		if (!(gpa & 1))
			gpa &= end * 2 - 1;
		check_gpa(ept, &m, gpa, end);
	}
	lvl = -7;
	CHECK(!tv_ept_leaf(ept, ~0ULL, &lvl) && lvl == -7, "2^64-1 mapped");

	tv_ept_free(ept);
	CHECK(fake.pages_live == 0 && fake.zallocs_live == 0,
	      "free left %ld pages %ld allocations", fake.pages_live,
	      fake.zallocs_live);
	return 0;
}
