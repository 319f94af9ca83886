// SPDX-License-Identifier: MIT
/*
 * EPT identity map of what exists, with MTRR memory types and the largest
 * uniform leaves, plus on-demand mappings and run-time changes (splits,
 * views) from VMX root.
 *
 * Beside the hardware tables we keep a store of every table page the map
 * owns (VA and PA), in use or spare.  Walking the map (from VMX root too)
 * turns an entry's PA into the table's VA by a lookup in the store and
 * never asks the OS, which neither Linux nor Windows can do safely from
 * VMX root.  The store only grows, in sleepable context (build, clone,
 * tv_ept_reserve()), and its entries never move: it is cut in fixed chunks,
 * so VMX-root readers need no lock against the filler.  Its first @nused
 * pages are in use, the rest are empty spares; taking a spare in VMX root
 * only moves @nused, so nothing is ever allocated there.
 */
#include "core/types.h"
#include "core/platform.h"
#include "core/ept.h"
#include "core/mtrr.h"
#include "core/vmm.h"
#include "arch/x86/ept.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"
#include "arch/x86/vmcs.h"
#include "arch/x86/vmx.h"

struct tv_ept_page {
	u64 *va;
	u64 pa;
	u32 block;	/* pages of the allocation this page starts, or 0 */
};

/*
 * Table pages come in allocations of up to 2 MiB, which cross no 2 MiB
 * boundary (core/platform.h): hiding the tables from the guest then
 * splits one 2 MiB leaf per allocation, not one per table.
 */
#define BLOCK_PAGES 512

/* The store: chunks of pages, allocated as it grows, never moved. */
#define STORE_CHUNK 512
#define STORE_CHUNKS 512	/* 256 Ki tables: 1 GiB of tables */

struct tv_ept {
	struct tv_ept_page *chunk[STORE_CHUNKS];
	u32 npages;			/* pages in the store (release) */
	u32 nused;			/* [0, nused) in use, the rest spare */
	u32 nsorted;			/* [0, nsorted) sorted by PA */
	u32 nchunks;
	u64 *root;
	u64 root_pa;
	int levels;			/* 4 or 5 */
	u64 limit;			/* 2^phys_bits */
	u64 end;			/* end of the highest range listed */
	u64 eptp;
	bool use_1gb;
	u32 lock;			/* changes from VMX root */
	/*
	 * Under @lock: the page table of the 2 MiB block last split to, so
	 * that a run of pages there costs one walk (tables are never
	 * unlinked: it stays valid for the map's life).
	 */
	u64 *last_pt;
	u64 last_pt_gpa;
	u64 demand_count;
	struct tv_mtrr_state mtrr;	/* types for on-demand leaves */
};

/* Bytes mapped by one entry of a table at @level (5: PML5 ... 1: PT). */
static TV_VMX_ROOT u64 entry_span(int level)
{
	return TV_PAGE_SIZE << (9 * (level - 1));
}

static TV_VMX_ROOT unsigned int entry_index(u64 gpa, int level)
{
	return (unsigned int)(gpa >> (TV_PAGE_SHIFT + 9 * (level - 1))) &
	       (EPT_ENTRIES - 1);
}

TV_VMX_ROOT int tv_ept_choose_leaf(const struct tv_mtrr_state *mtrr, u64 base, int level,
		       bool use_1gb)
{
	u64 span;
	u8 t;

	if (level < 1 || level > 3 || (level == 3 && !use_1gb))
		return TV_EPT_SPLIT;
	span = entry_span(level);
	t = tv_mtrr_range_type(mtrr, base & ~(span - 1), span);
	if (t != TV_MEMTYPE_MIXED)
		return t;
	/*
	 * MTRR types change only at 4 KiB boundaries, so a page cannot be
	 * mixed; should it ever be, UC is the type that cannot hurt MMIO.
	 */
	return level == 1 ? MEMTYPE_UC : TV_EPT_SPLIT;
}

/* --- ranges --------------------------------------------------------- */

unsigned int tv_ept_normalize_ranges(struct tv_phys_range *r, unsigned int n,
				     u64 limit)
{
	unsigned int i, j, out = 0;

	/* Round out to pages and cut at @limit; drop what is left empty. */
	for (i = 0; i < n; i++) {
		u64 b = r[i].base & ~(TV_PAGE_SIZE - 1);
		u64 e = r[i].base + r[i].size;

		if (e < r[i].base)	/* runs past 2^64 */
			e = ~0ULL;
		e = e > limit ? limit : e;
		if (r[i].size == 0 || b >= e)
			continue;
		if (e & (TV_PAGE_SIZE - 1))
			e = (e | (TV_PAGE_SIZE - 1)) + 1;
		r[out].base = b;
		r[out].size = e - b;
		r[out].kind = r[i].kind;
		out++;
	}
	/* Insertion sort by base: a few hundred ranges at most, once. */
	for (i = 1; i < out; i++) {
		struct tv_phys_range x = r[i];

		for (j = i; j > 0 && r[j - 1].base > x.base; j--)
			r[j] = r[j - 1];
		r[j] = x;
	}
	n = out;
	out = 0;
	for (i = 0; i < n; i++) {
		if (out && r[i].base <= r[out - 1].base + r[out - 1].size) {
			struct tv_phys_range *p = &r[out - 1];
			u64 e = r[i].base + r[i].size;

			if (e > p->base + p->size)
				p->size = e - p->base;
			if (r[i].kind != TV_PHYS_RAM)
				p->kind = TV_PHYS_MMIO;
			continue;
		}
		r[out++] = r[i];
	}
	return out;
}

/* Does any range of @rs meet [@a, @a + @span)? */
static bool ranges_meet(const struct tv_ept_ranges *rs, u64 a, u64 span)
{
	unsigned int lo = 0, hi = rs->n;

	/* The first range that ends above @a. */
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (rs->r[mid].base + rs->r[mid].size <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < rs->n && (rs->r[lo].base <= a || rs->r[lo].base - a < span);
}

int tv_ept_choose_block(const struct tv_ept_ranges *ranges,
			const struct tv_mtrr_state *mtrr, u64 base, int level,
			bool use_1gb)
{
	u64 span = entry_span(level);

	if (!ranges_meet(ranges, base & ~(span - 1), span))
		return TV_EPT_EMPTY;
	return tv_ept_choose_leaf(mtrr, base, level, use_1gb);
}

/* --- table pages ---------------------------------------------------- */

static TV_VMX_ROOT struct tv_ept_page *page_at(const struct tv_ept *ept,
					       u32 i)
{
	return &ept->chunk[i / STORE_CHUNK][i % STORE_CHUNK];
}

/*
 * VA of the table an entry points to, or NULL.  Binary search over the
 * sorted part (what the build or a clone made), then a scan of what
 * tv_ept_reserve() added since (a few tables, or one per page changed).
 */
static TV_VMX_ROOT u64 *table_of(const struct tv_ept *ept, u64 entry)
{
	u64 pa = entry & EPT_ADDR_MASK;
	u32 lo = 0, hi = ept->nsorted, n, i;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;
		const struct tv_ept_page *p = page_at(ept, mid);

		if (p->pa == pa)
			return p->va;
		if (p->pa < pa)
			lo = mid + 1;
		else
			hi = mid;
	}
	n = __atomic_load_n(&ept->npages, __ATOMIC_ACQUIRE);
	for (i = ept->nsorted; i < n; i++)
		if (page_at(ept, i)->pa == pa)
			return page_at(ept, i)->va;
	return NULL;
}

/* Room in the store for @n more pages.  Context: sleepable. */
static int store_room(struct tv_ept *ept, u32 n)
{
	u32 need;

	if (n > STORE_CHUNKS * STORE_CHUNK - ept->npages)
		return TV_ERR_NO_MEMORY;
	need = (ept->npages + n + STORE_CHUNK - 1) / STORE_CHUNK;
	while (ept->nchunks < need) {
		ept->chunk[ept->nchunks] =
			tv_plat_zalloc(STORE_CHUNK * sizeof(struct tv_ept_page));
		if (!ept->chunk[ept->nchunks])
			return TV_ERR_NO_MEMORY;
		ept->nchunks++;
	}
	return TV_OK;
}

/*
 * Make every entry of a new table absent: not present, and suppressing
 * #VE, so that with the #VE control on a violation there still exits.
 */
static void empty_table(u64 *t)
{
	unsigned int i;

	for (i = 0; i < EPT_ENTRIES; i++)
		t[i] = EPT_ABSENT;
}

/* An entry that is not absent: a table, or a leaf (even one of no access). */
static TV_VMX_ROOT bool entry_used(u64 e)
{
	return (e & ~EPT_SUPPRESS_VE) != 0;
}

/*
 * Take a spare table (empty: spares are never handed back); NULL when
 * none is left.  Under @ept->lock, or on a map nothing uses yet.
 */
static TV_VMX_ROOT u64 *take_spare(struct tv_ept *ept, u64 *pa)
{
	const struct tv_ept_page *p;
	u32 i = ept->nused;

	if (i >= __atomic_load_n(&ept->npages, __ATOMIC_ACQUIRE))
		return NULL;
	p = page_at(ept, i);
	__atomic_store_n(&ept->nused, i + 1, __ATOMIC_RELEASE);
	*pa = p->pa;
	return p->va;
}

/* Heap sort of the store by PA: no recursion, no extra memory. */
static void swap_pages(struct tv_ept *ept, u32 a, u32 b)
{
	struct tv_ept_page t = *page_at(ept, a);

	*page_at(ept, a) = *page_at(ept, b);
	*page_at(ept, b) = t;
}

static void sift(struct tv_ept *ept, u32 i, u32 n)
{
	for (;;) {
		u32 c = 2 * i + 1;

		if (c >= n)
			return;
		if (c + 1 < n && page_at(ept, c + 1)->pa > page_at(ept, c)->pa)
			c++;
		if (page_at(ept, i)->pa >= page_at(ept, c)->pa)
			return;
		swap_pages(ept, i, c);
		i = c;
	}
}

/*
 * Sort the whole store; only while nothing walks the map and every page is
 * spare (build, clone), so that the tables taken next are sorted too.
 */
static void sort_pages(struct tv_ept *ept)
{
	u32 n = ept->npages, i;

	for (i = n / 2; i-- > 0;)
		sift(ept, i, n);
	for (i = n; i-- > 1;) {
		swap_pages(ept, 0, i);
		sift(ept, 0, i);
	}
	ept->nsorted = n;
}

/*
 * Fill table @t of level @level, which maps from @base, with leaves where
 * tv_ept_choose_block() allows and lower tables elsewhere.  Recursion
 * depth is the EPT depth, at most five.
 */
static int fill(struct tv_ept *ept, u64 *t, int level, u64 base,
		const struct tv_ept_ranges *rs, const struct tv_mtrr_state *mtrr)
{
	u64 span = entry_span(level);
	unsigned int i;

	for (i = 0; i < EPT_ENTRIES; i++) {
		u64 a = base + i * span, pa;
		u64 *c;
		int type, ret;

		if (a >= ept->limit)
			break;
		type = tv_ept_choose_block(rs, mtrr, a, level, ept->use_1gb);
		if (type == TV_EPT_EMPTY)
			continue;	/* not present: mapped on demand */
		if (type != TV_EPT_SPLIT) {
			t[i] = a | EPT_RWX | ((u64)type << EPT_MEMTYPE_SHIFT) |
			       (level > 1 ? EPT_LARGE_PAGE : 0) |
			       EPT_SUPPRESS_VE;
			continue;
		}
		c = take_spare(ept, &pa);
		if (!c)
			return TV_ERR_NO_MEMORY;
		/* Non-leaf entries: rights only; the leaves decide the type. */
		t[i] = (pa & EPT_ADDR_MASK) | EPT_RWX;
		ret = fill(ept, c, level - 1, a, rs, mtrr);
		if (ret)
			return ret;
	}
	return TV_OK;
}

/*
 * The tables fill() makes for a table of @level that maps from @base,
 * that table included: the build takes them all in one reservation.
 */
static u64 count_tables(const struct tv_ept *ept, int level, u64 base,
			const struct tv_ept_ranges *rs,
			const struct tv_mtrr_state *mtrr)
{
	u64 span = entry_span(level), n = 1;
	unsigned int i;

	for (i = 0; i < EPT_ENTRIES; i++) {
		u64 a = base + i * span;

		if (a >= ept->limit)
			break;
		if (tv_ept_choose_block(rs, mtrr, a, level, ept->use_1gb) ==
		    TV_EPT_SPLIT)
			n += count_tables(ept, level - 1, a, rs, mtrr);
	}
	return n;
}

/* Normalized copy of @cfg's ranges, or the old whole-width range. */
static int make_ranges(struct tv_ept_ranges *rs, const struct tv_ept_config *cfg,
		       u64 limit)
{
	unsigned int n = cfg->ranges ? cfg->nranges : 1;

	rs->r = tv_plat_zalloc((n ? n : 1) * sizeof(*rs->r));
	if (!rs->r)
		return TV_ERR_NO_MEMORY;
	if (cfg->ranges) {
		memcpy(rs->r, cfg->ranges, n * sizeof(*rs->r));
	} else {
		/* 2 MiB leaves past one PML4 entry cost 2 MiB per 512 GiB. */
		rs->r[0].size = !cfg->use_1gb && limit > EPT_PML4E_SPAN ?
				EPT_PML4E_SPAN : limit;
	}
	rs->n = tv_ept_normalize_ranges(rs->r, n, limit);
	return TV_OK;
}

/*
 * Allocate pages [npages, npages + @n) of the store in blocks of up to
 * BLOCK_PAGES; once a block cannot be had (fragmented memory), page by
 * page.  Nothing is published: on failure free_unpublished() undoes it.
 */
static int alloc_unpublished(struct tv_ept *ept, u32 n)
{
	u32 i, k, len, block = BLOCK_PAGES;
	u64 *va;

	for (i = 0; i < n; i += len) {
		len = n - i < block ? n - i : block;
		va = tv_plat_alloc_pages_uninit(len);
		if (!va && len > 1) {
			block = 1;
			len = 1;
			va = tv_plat_alloc_pages_uninit(1);
		}
		if (!va)
			return TV_ERR_NO_MEMORY;
		for (k = 0; k < len; k++) {
			struct tv_ept_page *p = page_at(ept, ept->npages + i + k);

			p->va = va + k * EPT_ENTRIES;
			p->pa = tv_plat_virt_to_phys(p->va);
			p->block = k ? 0 : len;
			empty_table(p->va);
		}
	}
	return TV_OK;
}

/* Free the store's allocations among pages [@from, @to). */
static void free_blocks(struct tv_ept *ept, u32 from, u32 to)
{
	u32 i;

	for (i = from; i < to; i++) {
		struct tv_ept_page *p = page_at(ept, i);

		if (p->block)
			tv_plat_free_pages(p->va, p->block);
		*p = (struct tv_ept_page){ NULL, 0, 0 };
	}
}

int tv_ept_reserve(struct tv_ept *ept, u32 tables)
{
	u32 have, need;
	int ret;

	if (!ept)
		return TV_ERR_INVALID;
	have = ept->npages - __atomic_load_n(&ept->nused, __ATOMIC_ACQUIRE);
	if (have >= tables)
		return TV_OK;
	need = tables - have;
	/* All or nothing: the pages first, then the store shows them. */
	ret = store_room(ept, need);
	if (ret)
		return ret;
	ret = alloc_unpublished(ept, need);
	if (ret) {
		/* Entries past what was written are still zero. */
		free_blocks(ept, ept->npages, ept->npages + need);
		return ret;
	}
	/* The entries are written before a taker can see them. */
	__atomic_store_n(&ept->npages, ept->npages + need, __ATOMIC_RELEASE);
	return TV_OK;
}

u32 tv_ept_store_pages(const struct tv_ept *ept)
{
	return ept ? __atomic_load_n(&ept->npages, __ATOMIC_ACQUIRE) : 0;
}

TV_VMX_ROOT u32 tv_ept_spare_tables(const struct tv_ept *ept)
{
	return ept ? __atomic_load_n(&ept->npages, __ATOMIC_ACQUIRE) -
		     __atomic_load_n(&ept->nused, __ATOMIC_ACQUIRE) : 0;
}

int tv_ept_build_identity(struct tv_ept **out, const struct tv_mtrr_state *mtrr,
			  const struct tv_ept_config *cfg)
{
	struct tv_ept_ranges rs = { NULL, 0 };
	struct tv_ept *ept;
	unsigned int bits;
	u64 tables;
	u32 spares;
	int ret;

	if (!out)
		return TV_ERR_INVALID;
	*out = NULL;
	if (!mtrr || !cfg || cfg->phys_bits < 32 || cfg->phys_bits > 52 ||
	    (cfg->ranges == NULL && cfg->nranges))
		return TV_ERR_INVALID;
	bits = cfg->phys_bits;
	if (bits > TV_EPT_MAX_BITS && cfg->ranges && !cfg->walk5)
		return TV_ERR_EPT_CAPS;
	/* The whole-width map of old stays 4-level, cut at 48 bits. */
	if (bits > TV_EPT_MAX_BITS && !cfg->ranges)
		bits = TV_EPT_MAX_BITS;

	ept = tv_plat_zalloc(sizeof(*ept));
	if (!ept)
		return TV_ERR_NO_MEMORY;
	ept->limit = TV_BIT(bits);
	ept->levels = bits > TV_EPT_MAX_BITS ? 5 : 4;
	ept->use_1gb = cfg->use_1gb;
	ept->mtrr = *mtrr;
	ret = make_ranges(&rs, cfg, ept->limit);
	if (ret)
		goto fail;
	if (rs.n)
		ept->end = rs.r[rs.n - 1].base + rs.r[rs.n - 1].size;

	/* The tables and the spares in one reservation, sorted, then taken. */
	tables = count_tables(ept, ept->levels, 0, &rs, mtrr);
	spares = cfg->spare_tables ? cfg->spare_tables : TV_EPT_SPARE_TABLES;
	ret = TV_ERR_NO_MEMORY;
	if (tables + spares > STORE_CHUNKS * STORE_CHUNK)
		goto fail;
	ret = tv_ept_reserve(ept, (u32)(tables + spares));
	if (ret)
		goto fail;
	sort_pages(ept);
	ret = TV_ERR_NO_MEMORY;
	ept->root = take_spare(ept, &ept->root_pa);
	if (!ept->root)
		goto fail;
	ret = fill(ept, ept->root, ept->levels, 0, &rs, mtrr);
	if (ret)
		goto fail;
	ept->eptp = (ept->root_pa & EPT_ADDR_MASK) | EPTP_MEMTYPE_WB |
		    (ept->levels == 5 ? EPTP_WALK_LENGTH_5 : EPTP_WALK_LENGTH_4);
	tv_plat_free(rs.r);
	*out = ept;
	return TV_OK;

fail:
	tv_plat_free(rs.r);
	tv_ept_free(ept);
	return ret;
}

void tv_ept_free(struct tv_ept *ept)
{
	unsigned int i;

	if (!ept)
		return;
	free_blocks(ept, 0, ept->npages);
	for (i = 0; i < ept->nchunks; i++)
		tv_plat_free(ept->chunk[i]);
	tv_plat_free(ept);
}

TV_VMX_ROOT u64 tv_ept_pointer(const struct tv_ept *ept)
{
	return ept->eptp;
}

int tv_ept_levels(const struct tv_ept *ept)
{
	return ept->levels;
}

u64 tv_ept_table_bytes(const struct tv_ept *ept)
{
	return ept ? (u64)ept->nused * TV_PAGE_SIZE : 0;
}

u64 tv_ept_spare_bytes(const struct tv_ept *ept)
{
	return (u64)tv_ept_spare_tables(ept) * TV_PAGE_SIZE;
}

u64 tv_ept_meta_bytes(const struct tv_ept *ept)
{
	if (!ept)
		return 0;
	return sizeof(*ept) +
	       (u64)ept->nchunks * STORE_CHUNK * sizeof(struct tv_ept_page);
}

TV_VMX_ROOT u64 tv_ept_mapped_end(const struct tv_ept *ept)
{
	return ept ? ept->limit : 0;
}

u64 tv_ept_ranges_end(const struct tv_ept *ept)
{
	return ept ? ept->end : 0;
}

u64 tv_ept_demand_count(const struct tv_ept *ept)
{
	return ept ? ept->demand_count : 0;
}

/* Is @e, an entry of a table at @level, a leaf?  (Present assumed.) */
static TV_VMX_ROOT bool is_leaf(u64 e, int level)
{
	/* Bit 7 is reserved in PML5Es and PML4Es and means "leaf" below. */
	return level == 1 || (level <= 3 && (e & EPT_LARGE_PAGE));
}

TV_VMX_ROOT u64 *tv_ept_leaf(struct tv_ept *ept, u64 gpa, int *level)
{
	u64 *t;
	int l;

	if (!ept || !ept->root || gpa >= ept->limit)
		return NULL;
	t = ept->root;
	for (l = ept->levels; l >= 1; l--) {
		u64 *e = &t[entry_index(gpa, l)];

		if (!(*e & EPT_RWX))
			return NULL;
		if (is_leaf(*e, l)) {
			*level = l;
			return e;
		}
		t = table_of(ept, *e);
		if (!t)
			return NULL;
	}
	return NULL;
}

/* A spin lock taken only by VMX-root code (interrupts are off there). */
static TV_VMX_ROOT void lock(u32 *l)
{
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(l, __ATOMIC_RELAXED))
			asm volatile("pause");
}

static TV_VMX_ROOT void unlock(u32 *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

static TV_VMX_ROOT int map_missing_locked(struct tv_ept *ept, u64 gpa,
					  struct tv_ept_demand *out)
{
	u64 *t = ept->root;
	int l;

	for (l = ept->levels; l >= 1; l--) {
		u64 *e = &t[entry_index(gpa, l)];
		u64 span = entry_span(l), base = gpa & ~(span - 1), pa;
		int type;

		/* Used: a table, or a leaf (even one set to no access). */
		if (entry_used(*e)) {
			if (is_leaf(*e, l)) {
				out->base = base;
				out->size = span;
				out->level = l;
				out->type = (*e >> EPT_MEMTYPE_SHIFT) & 7;
				out->entry = *e;
				return TV_OK;
			}
			t = table_of(ept, *e);
			if (!t)
				return TV_ERR_INVALID;	/* not ours: a bug */
			continue;
		}
		/*
		 * Absent: no range met this block at build, so a leaf over all
		 * of it maps only addresses nobody reported.
		 */
		type = tv_ept_choose_leaf(&ept->mtrr, base, l, ept->use_1gb);
		if (type != TV_EPT_SPLIT) {
			out->entry = base | EPT_RWX |
				     ((u64)type << EPT_MEMTYPE_SHIFT) |
				     (l > 1 ? EPT_LARGE_PAGE : 0) |
				     EPT_SUPPRESS_VE;
			__atomic_store_n(e, out->entry, __ATOMIC_RELEASE);
			out->base = base;
			out->size = span;
			out->level = l;
			out->type = (u8)type;
			out->mapped = true;
			ept->demand_count++;
			return TV_OK;
		}
		t = take_spare(ept, &pa);
		if (!t)
			return TV_ERR_NO_MEMORY;
		out->tables++;
		/* The spare is empty: the CPU sees an empty table at once. */
		__atomic_store_n(e, (pa & EPT_ADDR_MASK) | EPT_RWX,
				 __ATOMIC_RELEASE);
	}
	return TV_ERR_INVALID;
}

TV_VMX_ROOT int tv_ept_map_missing(struct tv_ept *ept, u64 gpa,
				   struct tv_ept_demand *out)
{
	int ret;

	out->base = 0;
	out->size = 0;
	out->entry = 0;
	out->level = 0;
	out->type = 0;
	out->mapped = false;
	out->tables = 0;
	if (!ept || gpa >= ept->limit)
		return TV_ERR_INVALID;
	lock(&ept->lock);
	ret = map_missing_locked(ept, gpa, out);
	unlock(&ept->lock);
	return ret;
}

static const char *const level_name[] = { "", "4 KiB", "2 MiB", "1 GiB" };

TV_VMX_ROOT int tv_ept_fault_exit(struct tv_ept *const *maps, unsigned int n,
				  unsigned int cpu, u32 reason)
{
	u64 gpa = tv_vmread(VMCS_GUEST_PHYS_ADDR);
	/* VMFUNC may have switched the view without an exit: ask the VMCS. */
	u64 eptp = tv_vmread(VMCS_EPT_POINTER) & EPT_ADDR_MASK;
	struct tv_ept_demand d, cur = { 0 };
	int ret = TV_ERR_INVALID, r;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (!maps[i])
			continue;
		r = tv_ept_map_missing(maps[i], gpa, &d);
		if ((maps[i]->eptp & EPT_ADDR_MASK) == eptp) {
			ret = r;
			cur = d;
		}
	}
	if (ret) {
		tv_vmm_log(TV_LOG_ERR,
			   "CPU %u: EPT %s at GPA 0x%llx: cannot map it (%s)\n",
			   cpu, reason == TV_EXIT_EPT_MISCONFIG ?
			   "misconfiguration" : "violation", gpa,
			   ret == TV_ERR_NO_MEMORY ? "no spare table left" :
			   "not an identity-map fault");
		return ret;
	}
	/*
	 * A leaf already there: another CPU mapped it first, or this is a
	 * misconfiguration or a permission fault the identity map never
	 * makes (restricted pages are core/ext.c's, before this).  Only the
	 * first is ours to resume.
	 */
	if (!cur.mapped && (reason == TV_EXIT_EPT_MISCONFIG ||
			    (cur.entry & EPT_RWX) != EPT_RWX))
		return TV_ERR_INVALID;
	if (cur.mapped)
		tv_vmm_log(TV_LOG_WARN,
			   "CPU %u: EPT: GPA 0x%llx is in no known range: mapped [0x%llx, 0x%llx) (%s, type %u) on demand\n",
			   cpu, gpa, cur.base, cur.base + cur.size,
			   level_name[cur.level < 4 ? cur.level : 0], cur.type);
	tv_invept(INVEPT_ALL_CONTEXT, 0);
	return TV_OK;
}

/* --- run-time changes: splits, permissions, views -------------------- */

/* split_locked(): an entry on the way is absent (not an error code). */
#define SPLIT_ABSENT (-1)

/*
 * Under @ept->lock: the 4 KiB PTE of @gpa, splitting large leaves on the
 * way with spares.  SPLIT_ABSENT when an entry on the way is absent.
 */
static TV_VMX_ROOT int split_locked(struct tv_ept *ept, u64 gpa, u64 **pte)
{
	u64 *t = ept->root;
	int l;

	for (l = ept->levels; l >= 1; l--) {
		u64 *e = &t[entry_index(gpa, l)], *c, pa, keep, next, span;
		unsigned int i;

		/* A PTE set to no access keeps its address: still ours. */
		if (l == 1 && entry_used(*e)) {
			*pte = e;
			return TV_OK;
		}
		if (!(*e & EPT_RWX))
			return SPLIT_ABSENT;
		if (!is_leaf(*e, l)) {
			t = table_of(ept, *e);
			if (!t)
				return TV_ERR_INVALID;
			continue;
		}
		c = take_spare(ept, &pa);
		if (!c)
			return TV_ERR_NO_MEMORY;
		/*
		 * Rights, type, ignore-PAT and the high bits carry over.  The
		 * loop only adds: 512 stores are most of the time a CPU takes
		 * to hide its pages when their 2 MiB block is not split yet.
		 */
		keep = *e & ~(EPT_ADDR_MASK | EPT_LARGE_PAGE | EPT_ACCESSED |
			      EPT_DIRTY);
		next = (*e & EPT_ADDR_MASK) | keep |
		       (l - 1 > 1 ? EPT_LARGE_PAGE : 0);
		span = entry_span(l - 1);
		for (i = 0; i < EPT_ENTRIES; i++, next += span)
			c[i] = next;
		/* Complete before linked: CPUs see the old leaf or this. */
		__atomic_store_n(e, (pa & EPT_ADDR_MASK) | EPT_RWX,
				 __ATOMIC_RELEASE);
		t = c;
	}
	return TV_ERR_INVALID;
}

/* Under @ept->lock: @gpa's 4 KiB leaf in the page table last reached. */
static TV_VMX_ROOT u64 *cached_pte(struct tv_ept *ept, u64 gpa)
{
	u64 *pte;

	if (!ept->last_pt || ept->last_pt_gpa != (gpa & ~(EPT_PDE_SPAN - 1)))
		return NULL;
	pte = &ept->last_pt[entry_index(gpa, 1)];
	return entry_used(*pte) ? pte : NULL;
}

/* Under @ept->lock: remember the page table that holds @pte, @gpa's leaf. */
static TV_VMX_ROOT void cache_pt(struct tv_ept *ept, u64 gpa, u64 *pte)
{
	ept->last_pt = pte - entry_index(gpa, 1);
	ept->last_pt_gpa = gpa & ~(EPT_PDE_SPAN - 1);
}

/* Under @ept->lock: split, mapping first what is absent (on demand). */
static TV_VMX_ROOT u64 *split_4k_locked(struct tv_ept *ept, u64 gpa)
{
	struct tv_ept_demand d = { 0 };
	u64 *pte = cached_pte(ept, gpa);
	int ret;

	if (pte)
		return pte;
	ret = split_locked(ept, gpa, &pte);
	if (ret == SPLIT_ABSENT && !map_missing_locked(ept, gpa, &d))
		ret = split_locked(ept, gpa, &pte);
	if (ret)
		return NULL;
	cache_pt(ept, gpa, pte);
	return pte;
}

/* Under @ept->lock: @gpa's 4 KiB leaf if there is one, no split. */
static TV_VMX_ROOT u64 *find_4k_locked(struct tv_ept *ept, u64 gpa)
{
	u64 *pte = cached_pte(ept, gpa);

	if (!pte) {
		pte = tv_ept_leaf_4k(ept, gpa);
		if (pte)
			cache_pt(ept, gpa, pte);
	}
	return pte;
}

/* @gpa's 4 KiB leaf under the map's lock: split to, or only found. */
static TV_VMX_ROOT u64 *leaf_4k(struct tv_ept *ept, u64 gpa, bool split)
{
	u64 *pte;

	if (!ept || !ept->root || gpa >= ept->limit)
		return NULL;
	lock(&ept->lock);
	pte = split ? split_4k_locked(ept, gpa) : find_4k_locked(ept, gpa);
	unlock(&ept->lock);
	return pte;
}

TV_VMX_ROOT u64 *tv_ept_split_4k(struct tv_ept *ept, u64 gpa)
{
	return leaf_4k(ept, gpa, true);
}

TV_VMX_ROOT u64 *tv_ept_leaf_4k(struct tv_ept *ept, u64 gpa)
{
	u64 *t;
	int l;

	if (!ept || !ept->root || gpa >= ept->limit)
		return NULL;
	t = ept->root;
	for (l = ept->levels; l > 1; l--) {
		u64 e = t[entry_index(gpa, l)];

		if (!(e & EPT_RWX) || is_leaf(e, l))
			return NULL;
		t = table_of(ept, e);
		if (!t)
			return NULL;
	}
	t = &t[entry_index(gpa, 1)];
	/* An absent PTE (a hole in a split block) is no leaf to change. */
	return entry_used(*t) ? t : NULL;
}

TV_VMX_ROOT u64 *tv_ept_find_4k(struct tv_ept *ept, u64 gpa)
{
	return leaf_4k(ept, gpa, false);
}

TV_VMX_ROOT int tv_ept_set_page(struct tv_ept *ept, u64 gpa, u64 rwx,
				u64 host_pa)
{
	u64 *pte;

	if (!ept || !ept->root || gpa >= ept->limit || (rwx & ~EPT_RWX) ||
	    ((rwx & EPT_WRITE) && !(rwx & EPT_READ)) ||
	    (host_pa & ~EPT_ADDR_MASK))
		return TV_ERR_INVALID;
	lock(&ept->lock);
	pte = split_4k_locked(ept, gpa);
	if (pte)
		tv_ept_leaf_write(pte, rwx, host_pa);
	unlock(&ept->lock);
	return pte ? TV_OK : TV_ERR_NO_MEMORY;
}

TV_VMX_ROOT void tv_ept_leaf_write(u64 *leaf, u64 rwx, u64 host_pa)
{
	u64 keep = *leaf & ~(EPT_ADDR_MASK | EPT_RWX);

	__atomic_store_n(leaf, (host_pa & EPT_ADDR_MASK) | rwx | keep,
			 __ATOMIC_RELEASE);
}

TV_VMX_ROOT u64 tv_ept_leaf_ve(u64 leaf, bool ve)
{
	return ve ? leaf & ~EPT_SUPPRESS_VE : leaf | EPT_SUPPRESS_VE;
}

TV_VMX_ROOT bool tv_ept_rights_allowed(u64 cap, u64 rwx)
{
	if (rwx & ~EPT_RWX)
		return false;
	if ((rwx & EPT_WRITE) && !(rwx & EPT_READ))
		return false;
	if (rwx == EPT_EXEC && !(cap & EPT_CAP_EXEC_ONLY))
		return false;
	return true;
}

int tv_ept_clone_prepare(struct tv_ept **out, const struct tv_ept *src)
{
	struct tv_ept *ept;
	int ret;

	*out = NULL;
	if (!src || !src->root)
		return TV_ERR_INVALID;
	ept = tv_plat_zalloc(sizeof(*ept));
	if (!ept)
		return TV_ERR_NO_MEMORY;
	ept->levels = src->levels;
	ept->limit = src->limit;
	ept->end = src->end;
	ept->use_1gb = src->use_1gb;
	ept->mtrr = src->mtrr;
	/* A copy of every table, and spares of its own for on demand. */
	ret = tv_ept_reserve(ept, __atomic_load_n(&src->nused,
						  __ATOMIC_ACQUIRE) +
			     TV_EPT_SPARE_TABLES);
	if (ret) {
		tv_ept_free(ept);
		return ret;
	}
	/* Every page is spare yet: sorting keeps [0, nused) in use. */
	sort_pages(ept);
	*out = ept;
	return TV_OK;
}

/*
 * Copy @src's table @st (level @level) into a spare of @dst; a table the
 * spares cannot hold stays absent (on demand maps it again, identity).
 */
static TV_VMX_ROOT u64 *clone_table(struct tv_ept *dst,
				    const struct tv_ept *src, const u64 *st,
				    int level, u64 *pa)
{
	u64 *t = take_spare(dst, pa), cpa;
	unsigned int i;

	if (!t)
		return NULL;
	for (i = 0; i < EPT_ENTRIES; i++) {
		const u64 *sc;

		t[i] = st[i];
		if (!(t[i] & EPT_RWX) || is_leaf(t[i], level))
			continue;
		sc = table_of(src, t[i]);
		if (!sc || !clone_table(dst, src, sc, level - 1, &cpa)) {
			t[i] = EPT_ABSENT;
			continue;
		}
		t[i] = (t[i] & ~EPT_ADDR_MASK) | (cpa & EPT_ADDR_MASK);
	}
	return t;
}

TV_VMX_ROOT void tv_ept_clone_fill(struct tv_ept *ept, const struct tv_ept *src)
{
	/* On-demand mappings into @src wait until the copy is whole. */
	u32 *src_lock = (u32 *)&src->lock;

	lock(src_lock);
	ept->root = clone_table(ept, src, src->root, src->levels,
				&ept->root_pa);
	unlock(src_lock);
	ept->demand_count = src->demand_count;
	ept->eptp = (ept->root_pa & EPT_ADDR_MASK) |
		    (src->eptp & ~EPT_ADDR_MASK);
}

int tv_ept_clone(struct tv_ept **out, const struct tv_ept *src)
{
	int ret = tv_ept_clone_prepare(out, src);

	if (!ret)
		tv_ept_clone_fill(*out, src);
	return ret;
}

void tv_ept_visit_tables(const struct tv_ept *ept,
			   void (*fn)(u64 pa, void *arg), void *arg)
{
	u32 i, n;

	if (!ept)
		return;
	n = __atomic_load_n(&ept->npages, __ATOMIC_ACQUIRE);
	for (i = 0; i < n; i++)
		fn(page_at(ept, i)->pa, arg);
}
