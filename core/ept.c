// SPDX-License-Identifier: MIT
/*
 * EPT identity map of what exists, with MTRR memory types and the largest
 * uniform leaves, plus on-demand mappings from VMX root.
 *
 * Beside the hardware tables we keep an array of the table pages in use
 * (VA and PA), sorted by PA.  Walking the map (from VMX root too) turns an
 * entry's PA into the table's VA by a binary search and never asks the OS,
 * which neither Linux nor Windows can do safely from VMX root.  Spare
 * tables, allocated with the map, wait in a stack; taking one in VMX root
 * inserts it into the array, whose capacity was sized for every spare, so
 * nothing is ever allocated there.
 */
#include "core/types.h"
#include "core/platform.h"
#include "core/ept.h"
#include "core/mtrr.h"
#include "core/vmm.h"
#include "arch/x86/ept.h"
#include "arch/x86/cpu.h"
#include "arch/x86/vmcs.h"
#include "arch/x86/vmx.h"

struct tv_ept_page {
	u64 *va;
	u64 pa;
};

struct tv_ept {
	struct tv_ept_page *pages;	/* tables in use, sorted by PA */
	unsigned int npages, cap;	/* cap >= npages + nspare */
	struct tv_ept_page *spare;	/* zeroed tables for VMX root */
	unsigned int nspare;
	u64 *root;
	u64 root_pa;
	int levels;			/* 4 or 5 */
	u64 limit;			/* 2^phys_bits */
	u64 end;			/* end of the highest range mapped */
	u64 eptp;
	bool use_1gb;
	u32 lock;			/* tv_ept_map_missing() */
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

/* Index in @ept->pages of the table at @pa, or -1. */
static TV_VMX_ROOT int page_index(const struct tv_ept *ept, u64 pa)
{
	unsigned int lo = 0, hi = ept->npages;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (ept->pages[mid].pa == pa)
			return (int)mid;
		if (ept->pages[mid].pa < pa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static TV_VMX_ROOT u64 *table_of(const struct tv_ept *ept, u64 entry)
{
	int i = page_index(ept, entry & EPT_ADDR_MASK);

	return i < 0 ? NULL : ept->pages[i].va;
}

/* Append one zeroed page to @ept->pages (unsorted until sort_pages()). */
static u64 *new_page(struct tv_ept *ept)
{
	struct tv_ept_page *p;

	if (ept->npages == ept->cap) {
		unsigned int cap = ept->cap ? 2 * ept->cap : 64;

		p = tv_plat_zalloc(cap * sizeof(*p));
		if (!p)
			return NULL;
		if (ept->pages) {
			memcpy(p, ept->pages, ept->npages * sizeof(*p));
			tv_plat_free(ept->pages);
		}
		ept->pages = p;
		ept->cap = cap;
	}
	p = &ept->pages[ept->npages];
	p->va = tv_plat_alloc_pages(1);
	if (!p->va)
		return NULL;
	p->pa = tv_plat_virt_to_phys(p->va);
	ept->npages++;
	return p->va;
}

/* Heap sort of @ept->pages by PA: no recursion, no extra memory. */
static void sift(struct tv_ept_page *a, unsigned int i, unsigned int n)
{
	for (;;) {
		unsigned int c = 2 * i + 1;
		struct tv_ept_page t;

		if (c >= n)
			return;
		if (c + 1 < n && a[c + 1].pa > a[c].pa)
			c++;
		if (a[i].pa >= a[c].pa)
			return;
		t = a[i];
		a[i] = a[c];
		a[c] = t;
		i = c;
	}
}

static void sort_pages(struct tv_ept *ept)
{
	struct tv_ept_page *a = ept->pages, t;
	unsigned int n = ept->npages, i;

	for (i = n / 2; i-- > 0;)
		sift(a, i, n);
	for (i = n; i-- > 1;) {
		t = a[0];
		a[0] = a[i];
		a[i] = t;
		sift(a, 0, i);
	}
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
		u64 a = base + i * span;
		u64 *c;
		int type, ret;

		if (a >= ept->limit)
			break;
		type = tv_ept_choose_block(rs, mtrr, a, level, ept->use_1gb);
		if (type == TV_EPT_EMPTY)
			continue;	/* not present: mapped on demand */
		if (type != TV_EPT_SPLIT) {
			t[i] = a | EPT_RWX | ((u64)type << EPT_MEMTYPE_SHIFT) |
			       (level > 1 ? EPT_LARGE_PAGE : 0);
			continue;
		}
		c = new_page(ept);
		if (!c)
			return TV_ERR_NO_MEMORY;
		/* Non-leaf entries: rights only; the leaves decide the type. */
		t[i] = (ept->pages[ept->npages - 1].pa & EPT_ADDR_MASK) |
		       EPT_RWX;
		ret = fill(ept, c, level - 1, a, rs, mtrr);
		if (ret)
			return ret;
	}
	return TV_OK;
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

static int reserve_spares(struct tv_ept *ept, unsigned int n)
{
	struct tv_ept_page *p;
	unsigned int cap = ept->npages + n;

	ept->spare = tv_plat_zalloc((n ? n : 1) * sizeof(*ept->spare));
	if (!ept->spare)
		return TV_ERR_NO_MEMORY;
	for (; ept->nspare < n; ept->nspare++) {
		p = &ept->spare[ept->nspare];
		p->va = tv_plat_alloc_pages(1);
		if (!p->va)
			return TV_ERR_NO_MEMORY;
		p->pa = tv_plat_virt_to_phys(p->va);
	}
	/* Room to insert every spare and split tables without allocating. */
	cap += TV_EPT_SPLIT_ROOM;
	if (ept->cap < cap) {
		p = tv_plat_zalloc(cap * sizeof(*p));
		if (!p)
			return TV_ERR_NO_MEMORY;
		memcpy(p, ept->pages, ept->npages * sizeof(*p));
		tv_plat_free(ept->pages);
		ept->pages = p;
		ept->cap = cap;
	}
	return TV_OK;
}

/* Take a spare table (zeroed) into the map's array; NULL when none left. */
static TV_VMX_ROOT u64 *take_spare(struct tv_ept *ept, u64 *pa)
{
	struct tv_ept_page p;
	unsigned int i;

	if (!ept->nspare || ept->npages >= ept->cap)
		return NULL;
	p = ept->spare[--ept->nspare];
	for (i = ept->npages; i > 0 && ept->pages[i - 1].pa > p.pa; i--)
		ept->pages[i] = ept->pages[i - 1];
	ept->pages[i] = p;
	ept->npages++;
	*pa = p.pa;
	return p.va;
}

int tv_ept_build_identity(struct tv_ept **out, const struct tv_mtrr_state *mtrr,
			  const struct tv_ept_config *cfg)
{
	struct tv_ept_ranges rs = { NULL, 0 };
	struct tv_ept *ept;
	unsigned int bits;
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

	ret = TV_ERR_NO_MEMORY;
	ept->root = new_page(ept);
	if (!ept->root)
		goto fail;
	ept->root_pa = ept->pages[0].pa;
	ret = fill(ept, ept->root, ept->levels, 0, &rs, mtrr);
	if (ret)
		goto fail;
	sort_pages(ept);
	ret = reserve_spares(ept, cfg->spare_tables ? cfg->spare_tables :
				  TV_EPT_SPARE_TABLES);
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
	for (i = 0; i < ept->npages; i++)
		tv_plat_free_pages(ept->pages[i].va, 1);
	for (i = 0; ept->spare && i < ept->nspare; i++)
		tv_plat_free_pages(ept->spare[i].va, 1);
	tv_plat_free(ept->pages);
	tv_plat_free(ept->spare);
	tv_plat_free(ept);
}

u64 tv_ept_pointer(const struct tv_ept *ept)
{
	return ept->eptp;
}

int tv_ept_levels(const struct tv_ept *ept)
{
	return ept->levels;
}

u64 tv_ept_table_bytes(const struct tv_ept *ept)
{
	return ept ? (u64)ept->npages * TV_PAGE_SIZE : 0;
}

u64 tv_ept_spare_bytes(const struct tv_ept *ept)
{
	return ept ? (u64)ept->nspare * TV_PAGE_SIZE : 0;
}

u64 tv_ept_meta_bytes(const struct tv_ept *ept)
{
	if (!ept)
		return 0;
	return sizeof(*ept) + (u64)ept->cap * sizeof(*ept->pages) +
	       (u64)(ept->nspare ? ept->nspare : 1) * sizeof(*ept->spare);
}

u64 tv_ept_mapped_end(const struct tv_ept *ept)
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

		/* Nonzero: a table, or a leaf (even one set to no access). */
		if (*e) {
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
				     (l > 1 ? EPT_LARGE_PAGE : 0);
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
		/* The spare is zeroed: the CPU sees an empty table at once. */
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

TV_VMX_ROOT int tv_ept_fault_exit(struct tv_ept *ept, unsigned int cpu,
				  u32 reason)
{
	u64 gpa = tv_vmread(VMCS_GUEST_PHYS_ADDR);
	u64 idt = tv_vmread(VMCS_IDT_VECTORING_INFO);
	struct tv_ept_demand d;
	int ret;

	ret = tv_ept_map_missing(ept, gpa, &d);
	if (ret) {
		tv_vmm_log(TV_LOG_ERR,
			   "CPU %u: EPT %s at GPA 0x%llx: cannot map it (%s)\n",
			   cpu, reason == EXIT_REASON_EPT_MISCONFIG ?
			   "misconfiguration" : "violation", gpa,
			   ret == TV_ERR_NO_MEMORY ? "no spare table left" :
			   "not an identity-map fault");
		return ret;
	}
	/*
	 * A leaf already there: another CPU mapped it first, or this is a
	 * misconfiguration or a permission fault the identity map never
	 * makes.  Only the first is ours to resume.
	 */
	if (!d.mapped && (reason == EXIT_REASON_EPT_MISCONFIG ||
			  (d.entry & EPT_RWX) != EPT_RWX))
		return TV_ERR_INVALID;
	if (d.mapped)
		tv_vmm_log(TV_LOG_WARN,
			   "CPU %u: EPT: GPA 0x%llx is in no known range: mapped [0x%llx, 0x%llx) (%s, type %u) on demand\n",
			   cpu, gpa, d.base, d.base + d.size,
			   level_name[d.level < 4 ? d.level : 0], d.type);
	/*
	 * An event whose delivery faulted is lost unless given again (SDM
	 * 28.2.4); an IRET that faulted had already lifted NMI blocking,
	 * which its re-execution lifts again (SDM 28.2.3).
	 */
	if (idt & INTR_INFO_VALID) {
		tv_vmwrite(VMCS_ENTRY_INTR_INFO, idt & ~TV_BIT(12));
		if (idt & INTR_INFO_DELIVER_ERROR)
			tv_vmwrite(VMCS_ENTRY_EXCEPTION_ERROR,
				   tv_vmread(VMCS_IDT_VECTORING_ERROR));
		tv_vmwrite(VMCS_ENTRY_INSTR_LEN,
			   tv_vmread(VMCS_EXIT_INSTR_LEN));
	} else if (reason == EXIT_REASON_EPT_VIOLATION &&
		   (tv_vmread(VMCS_EXIT_QUALIFICATION) &
		    EPT_QUAL_NMI_UNBLOCKING)) {
		tv_vmwrite(VMCS_GUEST_INTERRUPTIBILITY,
			   tv_vmread(VMCS_GUEST_INTERRUPTIBILITY) |
			   INTERRUPTIBILITY_NMI);
	}
	tv_invept(INVEPT_ALL_CONTEXT, 0);
	return TV_OK;
}

/* --- pools, splits, rights, views ------------------------------------- */

struct tv_ept_pool {
	struct tv_ept_page *slot;	/* ring of @cap + 1 slots */
	unsigned int cap;
	u32 head;			/* next to take (takers) */
	u32 tail;			/* next to fill (the filler) */
	u32 lock;			/* takers */
};

static TV_VMX_ROOT unsigned int ring_next(const struct tv_ept_pool *p, unsigned int i)
{
	return i == p->cap ? 0 : i + 1;
}

int tv_ept_pool_create(struct tv_ept_pool **out, unsigned int capacity)
{
	struct tv_ept_pool *p;
	int ret;

	*out = NULL;
	if (!capacity)
		return TV_ERR_INVALID;
	p = tv_plat_zalloc(sizeof(*p));
	if (!p)
		return TV_ERR_NO_MEMORY;
	p->cap = capacity;
	p->slot = tv_plat_zalloc((capacity + 1) * sizeof(*p->slot));
	if (!p->slot) {
		tv_plat_free(p);
		return TV_ERR_NO_MEMORY;
	}
	ret = tv_ept_pool_fill(p);
	if (ret) {
		tv_ept_pool_destroy(p);
		return ret;
	}
	*out = p;
	return TV_OK;
}

int tv_ept_pool_fill(struct tv_ept_pool *p)
{
	for (;;) {
		u32 tail = p->tail, next = ring_next(p, tail);
		struct tv_ept_page *s = &p->slot[tail];

		if (next == __atomic_load_n(&p->head, __ATOMIC_ACQUIRE))
			return TV_OK;	/* full */
		s->va = tv_plat_alloc_pages(1);
		if (!s->va)
			return TV_ERR_NO_MEMORY;
		s->pa = tv_plat_virt_to_phys(s->va);
		/* The slot is written before the takers can see it. */
		__atomic_store_n(&p->tail, next, __ATOMIC_RELEASE);
	}
}

TV_VMX_ROOT unsigned int tv_ept_pool_available(const struct tv_ept_pool *p)
{
	u32 head = __atomic_load_n(&p->head, __ATOMIC_ACQUIRE);
	u32 tail = __atomic_load_n(&p->tail, __ATOMIC_ACQUIRE);

	return tail >= head ? tail - head : p->cap + 1 - head + tail;
}

void tv_ept_pool_destroy(struct tv_ept_pool *p)
{
	if (!p)
		return;
	while (p->head != p->tail) {
		tv_plat_free_pages(p->slot[p->head].va, 1);
		p->head = ring_next(p, p->head);
	}
	tv_plat_free(p->slot);
	tv_plat_free(p);
}

/* Take a zeroed page from @p into @ept's array; NULL when none or full. */
static TV_VMX_ROOT u64 *take_from_pool(struct tv_ept *ept,
				       struct tv_ept_pool *p, u64 *pa)
{
	struct tv_ept_page pg;
	unsigned int i;

	if (!p || ept->npages + ept->nspare >= ept->cap)
		return NULL;
	lock(&p->lock);
	if (p->head == __atomic_load_n(&p->tail, __ATOMIC_ACQUIRE)) {
		unlock(&p->lock);
		return NULL;
	}
	pg = p->slot[p->head];
	__atomic_store_n(&p->head, ring_next(p, p->head), __ATOMIC_RELEASE);
	unlock(&p->lock);
	for (i = ept->npages; i > 0 && ept->pages[i - 1].pa > pg.pa; i--)
		ept->pages[i] = ept->pages[i - 1];
	ept->pages[i] = pg;
	ept->npages++;
	*pa = pg.pa;
	return pg.va;
}

/* Under @ept->lock: the 4 KiB PTE of @gpa, splitting on the way. */
static TV_VMX_ROOT int split_locked(struct tv_ept *ept, struct tv_ept_pool *p,
				    u64 gpa, u64 **pte)
{
	u64 *t = ept->root;
	int l;

	for (l = ept->levels; l >= 1; l--) {
		u64 *e = &t[entry_index(gpa, l)], *c, pa, keep;
		unsigned int i;

		/* A PTE set to no access keeps its address: still ours. */
		if (l == 1 && *e) {
			*pte = e;
			return TV_OK;
		}
		if (!(*e & EPT_RWX))
			return TV_ERR_INVALID;
		if (!is_leaf(*e, l)) {
			t = table_of(ept, *e);
			if (!t)
				return TV_ERR_INVALID;
			continue;
		}
		c = take_from_pool(ept, p, &pa);
		if (!c)
			return TV_ERR_NO_MEMORY;
		/* Rights, type, ignore-PAT and the high bits carry over. */
		keep = *e & ~(EPT_ADDR_MASK | EPT_LARGE_PAGE | EPT_ACCESSED |
			      EPT_DIRTY);
		for (i = 0; i < EPT_ENTRIES; i++)
			c[i] = ((*e & EPT_ADDR_MASK) + i * entry_span(l - 1)) |
			       keep | (l - 1 > 1 ? EPT_LARGE_PAGE : 0);
		__atomic_store_n(e, (pa & EPT_ADDR_MASK) | EPT_RWX,
				 __ATOMIC_RELEASE);
		t = c;
	}
	return TV_ERR_INVALID;
}

TV_VMX_ROOT int tv_ept_split(struct tv_ept *ept, struct tv_ept_pool *pool,
			     u64 gpa)
{
	u64 *pte;
	int ret;

	if (!ept || gpa >= ept->limit)
		return TV_ERR_INVALID;
	lock(&ept->lock);
	ret = split_locked(ept, pool, gpa, &pte);
	unlock(&ept->lock);
	return ret;
}

TV_VMX_ROOT int tv_ept_set_page(struct tv_ept *ept, struct tv_ept_pool *pool,
				u64 gpa, u64 rwx, u64 host_pa)
{
	u64 *pte;
	int ret;

	if (!ept || gpa >= ept->limit || (rwx & ~EPT_RWX) ||
	    ((rwx & EPT_WRITE) && !(rwx & EPT_READ)) ||
	    (host_pa & ~EPT_ADDR_MASK))
		return TV_ERR_INVALID;
	lock(&ept->lock);
	ret = split_locked(ept, pool, gpa, &pte);
	if (!ret)
		__atomic_store_n(pte, host_pa | rwx |
				 (*pte & ~(EPT_ADDR_MASK | EPT_RWX)),
				 __ATOMIC_RELEASE);
	unlock(&ept->lock);
	return ret;
}

TV_VMX_ROOT bool tv_ept_rights_allowed(u64 cap, u64 rwx)
{
	if (rwx & ~EPT_RWX)
		return false;
	if ((rwx & EPT_WRITE) && !(rwx & EPT_READ))
		return false;
	if (rwx == EPT_EXEC && !(cap & TV_BIT(0)))	/* EPT_CAP_EXEC_ONLY */
		return false;
	return true;
}

/* Copy @src's table @st (level @level) into a new page of @dst. */
static int clone_table(struct tv_ept *dst, const struct tv_ept *src,
		       const u64 *st, int level, u64 *pa_out)
{
	unsigned int i;
	u64 *t = new_page(dst);
	u64 pa;

	if (!t)
		return TV_ERR_NO_MEMORY;
	pa = dst->pages[dst->npages - 1].pa;
	memcpy(t, st, TV_PAGE_SIZE);
	for (i = 0; i < EPT_ENTRIES; i++) {
		const u64 *sc;
		u64 cpa;
		int ret;

		if (!(t[i] & EPT_RWX) || is_leaf(t[i], level))
			continue;
		sc = table_of(src, t[i]);
		if (!sc)
			return TV_ERR_INVALID;
		ret = clone_table(dst, src, sc, level - 1, &cpa);
		if (ret)
			return ret;
		t[i] = (t[i] & ~EPT_ADDR_MASK) | (cpa & EPT_ADDR_MASK);
	}
	*pa_out = pa;
	return TV_OK;
}

int tv_ept_clone(struct tv_ept **out, const struct tv_ept *src)
{
	struct tv_ept *ept;
	int ret;

	*out = NULL;
	if (!src)
		return TV_ERR_INVALID;
	ept = tv_plat_zalloc(sizeof(*ept));
	if (!ept)
		return TV_ERR_NO_MEMORY;
	ept->levels = src->levels;
	ept->limit = src->limit;
	ept->end = src->end;
	ept->use_1gb = src->use_1gb;
	ept->mtrr = src->mtrr;
	ret = clone_table(ept, src, src->root, src->levels, &ept->root_pa);
	if (ret)
		goto fail;
	ept->root = ept->pages[0].va;
	sort_pages(ept);
	ret = reserve_spares(ept, TV_EPT_SPARE_TABLES);
	if (ret)
		goto fail;
	ept->eptp = (ept->root_pa & EPT_ADDR_MASK) |
		    (src->eptp & ~EPT_ADDR_MASK);
	*out = ept;
	return TV_OK;
fail:
	tv_ept_free(ept);
	return ret;
}
