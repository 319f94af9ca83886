// SPDX-License-Identifier: MIT
/*
 * EPT identity map with MTRR memory types and the largest uniform leaves.
 *
 * Beside the hardware tables we keep a small software tree: for each table
 * page its VA and PA, and for each table that points to lower tables an
 * array of child records.  Walking the map (tv_ept_leaf(), from VMX root)
 * then follows plain pointers and never asks the OS to turn a PA back into
 * a VA, which neither Linux nor Windows can do safely from VMX root.
 */
#include "core/types.h"
#include "core/platform.h"
#include "core/ept.h"
#include "core/mtrr.h"
#include "arch/x86/ept.h"

struct tv_ept_table {
	u64 *e;				/* the 512 entries */
	u64 pa;				/* physical address of @e */
	struct tv_ept_table **child;	/* NULL, or the table of each entry */
	struct tv_ept_table *next_spare; /* in tv_ept.spare */
};

struct tv_ept {
	struct tv_ept_table *root;	/* PML4 */
	u64 end;			/* mapped: [0, end) */
	u64 eptp;
	u64 table_pages;
	u64 meta_bytes;
	/*
	 * Tables reserved in sleepable context for changes made from VMX
	 * root, each with its child array; and spare child arrays for
	 * tables that had none.
	 */
	struct tv_ept_table *spare;
	struct tv_ept_table **spare_child[TV_EPT_SPARE_CHILD];
	u32 nspare, nspare_child;
};

/* Bytes mapped by one entry of a table at @level (4: PML4 ... 1: PT). */
static u64 entry_span(int level)
{
	return TV_PAGE_SIZE << (9 * (level - 1));
}

static unsigned int entry_index(u64 gpa, int level)
{
	return (unsigned int)(gpa >> (TV_PAGE_SHIFT + 9 * (level - 1))) &
	       (EPT_ENTRIES - 1);
}

int tv_ept_choose_leaf(const struct tv_mtrr_state *mtrr, u64 base, int level,
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

static void free_table(struct tv_ept_table *t)
{
	unsigned int i;

	if (!t)
		return;
	if (t->child) {
		for (i = 0; i < EPT_ENTRIES; i++)
			free_table(t->child[i]);
		tv_plat_free(t->child);
	}
	if (t->e)
		tv_plat_free_pages(t->e, 1);
	tv_plat_free(t);
}

static struct tv_ept_table *new_table(struct tv_ept *ept)
{
	struct tv_ept_table *t = tv_plat_zalloc(sizeof(*t));

	if (!t)
		return NULL;
	t->e = tv_plat_alloc_pages(1);
	if (!t->e) {
		tv_plat_free(t);
		return NULL;
	}
	t->pa = tv_plat_virt_to_phys(t->e);
	ept->table_pages++;
	ept->meta_bytes += sizeof(*t);
	return t;
}

/*
 * Give entry @i of @parent a new lower table.  The record is hooked into
 * @parent before the entry is written, so that a failure anywhere later
 * still finds it through the tree and frees it.
 */
static struct tv_ept_table *add_child(struct tv_ept *ept,
				      struct tv_ept_table *parent,
				      unsigned int i)
{
	struct tv_ept_table *t;

	if (!parent->child) {
		parent->child = tv_plat_zalloc(EPT_ENTRIES *
					       sizeof(*parent->child));
		if (!parent->child)
			return NULL;
		ept->meta_bytes += EPT_ENTRIES * sizeof(*parent->child);
	}
	t = new_table(ept);
	if (!t)
		return NULL;
	parent->child[i] = t;
	/* Non-leaf entries: rights only; the leaves decide the type. */
	parent->e[i] = (t->pa & EPT_ADDR_MASK) | EPT_RWX;
	return t;
}

/*
 * Fill table @t of level @level, which maps from @base, with leaves where
 * tv_ept_choose_leaf() allows and lower tables elsewhere.  Recursion depth
 * is the EPT depth, four.
 */
static int fill(struct tv_ept *ept, struct tv_ept_table *t, int level,
		u64 base, const struct tv_mtrr_state *mtrr, bool use_1gb)
{
	u64 span = entry_span(level);
	unsigned int i;

	for (i = 0; i < EPT_ENTRIES; i++) {
		u64 a = base + i * span;
		struct tv_ept_table *c;
		int type, ret;

		/* Entries past the end stay zero: not present. */
		if (a >= ept->end)
			break;
		type = tv_ept_choose_leaf(mtrr, a, level, use_1gb);
		if (type != TV_EPT_SPLIT) {
			t->e[i] = a | EPT_RWX |
				  ((u64)type << EPT_MEMTYPE_SHIFT) |
				  (level > 1 ? EPT_LARGE_PAGE : 0);
			continue;
		}
		c = add_child(ept, t, i);
		if (!c)
			return TV_ERR_NO_MEMORY;
		ret = fill(ept, c, level - 1, a, mtrr, use_1gb);
		if (ret)
			return ret;
	}
	return TV_OK;
}

int tv_ept_build_identity(struct tv_ept **out, const struct tv_mtrr_state *mtrr,
			  const struct tv_ept_config *cfg)
{
	struct tv_ept *ept;
	unsigned int bits;
	int ret;

	if (!out)
		return TV_ERR_INVALID;
	*out = NULL;
	if (!mtrr || !cfg || cfg->phys_bits < 32 || cfg->phys_bits > 52)
		return TV_ERR_INVALID;

	ept = tv_plat_zalloc(sizeof(*ept));
	if (!ept)
		return TV_ERR_NO_MEMORY;
	ept->meta_bytes = sizeof(*ept);
	/* A 4-level walk translates 48 bits; wider MAXPHYADDR needs 5. */
	bits = cfg->phys_bits < TV_EPT_MAX_BITS ? cfg->phys_bits :
						  TV_EPT_MAX_BITS;
	ept->end = TV_BIT(bits);
	/* 2 MiB leaves for more than one PML4 entry cost 2 MiB per 512 GiB. */
	if (!cfg->use_1gb && ept->end > EPT_PML4E_SPAN)
		ept->end = EPT_PML4E_SPAN;

	ept->root = new_table(ept);
	if (!ept->root) {
		ret = TV_ERR_NO_MEMORY;
		goto fail;
	}
	ret = fill(ept, ept->root, 4, 0, mtrr, cfg->use_1gb);
	if (ret)
		goto fail;
	ept->eptp = (ept->root->pa & EPT_ADDR_MASK) | EPTP_MEMTYPE_WB |
		    EPTP_WALK_LENGTH_4;
	*out = ept;
	return TV_OK;

fail:
	tv_ept_free(ept);
	return ret;
}

void tv_ept_free(struct tv_ept *ept)
{
	struct tv_ept_table *t;
	u32 i;

	if (!ept)
		return;
	free_table(ept->root);
	while ((t = ept->spare)) {
		ept->spare = t->next_spare;
		free_table(t);
	}
	for (i = 0; i < ept->nspare_child; i++)
		tv_plat_free(ept->spare_child[i]);
	tv_plat_free(ept);
}

u64 tv_ept_pointer(const struct tv_ept *ept)
{
	return ept->eptp;
}

u64 tv_ept_table_bytes(const struct tv_ept *ept)
{
	return ept ? ept->table_pages * TV_PAGE_SIZE : 0;
}

u64 tv_ept_meta_bytes(const struct tv_ept *ept)
{
	return ept ? ept->meta_bytes : 0;
}

u64 tv_ept_mapped_end(const struct tv_ept *ept)
{
	return ept ? ept->end : 0;
}

u64 *tv_ept_leaf(struct tv_ept *ept, u64 gpa, int *level)
{
	struct tv_ept_table *t;
	int l;

	if (!ept || !ept->root || gpa >= ept->end)
		return NULL;
	t = ept->root;
	for (l = 4; l >= 1; l--) {
		unsigned int i = entry_index(gpa, l);
		u64 *e = &t->e[i];

		if (!(*e & EPT_RWX))
			return NULL;
		/* Bit 7 is reserved in a PML4E and means "leaf" below it. */
		if (l == 1 || (l <= 3 && (*e & EPT_LARGE_PAGE))) {
			*level = l;
			return e;
		}
		if (!t->child || !t->child[i])
			return NULL;
		t = t->child[i];
	}
	return NULL;
}

/* --- changing the map at run time ---------------------------------- */

int tv_ept_reserve(struct tv_ept *ept, u32 tables)
{
	struct tv_ept_table *t;

	if (!ept)
		return TV_ERR_INVALID;
	while (ept->nspare < tables) {
		t = tv_plat_zalloc(sizeof(*t));
		if (!t)
			return TV_ERR_NO_MEMORY;
		t->e = tv_plat_alloc_pages(1);
		t->child = tv_plat_zalloc(EPT_ENTRIES * sizeof(*t->child));
		if (!t->e || !t->child) {
			free_table(t);
			return TV_ERR_NO_MEMORY;
		}
		t->pa = tv_plat_virt_to_phys(t->e);
		t->next_spare = ept->spare;
		ept->spare = t;
		ept->nspare++;
	}
	while (ept->nspare_child < TV_EPT_SPARE_CHILD) {
		struct tv_ept_table **c =
			tv_plat_zalloc(EPT_ENTRIES * sizeof(*c));

		if (!c)
			return TV_ERR_NO_MEMORY;
		ept->spare_child[ept->nspare_child++] = c;
	}
	return TV_OK;
}

u32 tv_ept_spare_tables(const struct tv_ept *ept)
{
	return ept ? ept->nspare : 0;
}

static struct tv_ept_table *take_spare(struct tv_ept *ept)
{
	struct tv_ept_table *t = ept->spare;

	if (!t)
		return NULL;
	ept->spare = t->next_spare;
	ept->nspare--;
	t->next_spare = NULL;
	ept->table_pages++;
	ept->meta_bytes += sizeof(*t) + EPT_ENTRIES * sizeof(*t->child);
	return t;
}

/*
 * The record of the table that entry @i of @t points to, or NULL when the
 * entry is a leaf or not present.
 */
static struct tv_ept_table *child_of(const struct tv_ept_table *t,
				     unsigned int i)
{
	return t->child ? t->child[i] : NULL;
}

/*
 * Replace the large leaf at entry @i of @t (level @level) by a table of
 * leaves one level down that map the same memory with the same rights and
 * type, from the spares.  The new table is complete before the entry
 * points to it, so a CPU walking the map meanwhile sees either the old
 * leaf or the new table, never a hole.
 */
static struct tv_ept_table *split_leaf(struct tv_ept *ept,
				       struct tv_ept_table *t, unsigned int i,
				       int level)
{
	u64 leaf = t->e[i], span = entry_span(level - 1);
	u64 keep = leaf & ~EPT_ADDR_MASK & ~EPT_LARGE_PAGE;
	struct tv_ept_table *c;
	unsigned int j;

	if (!t->child) {
		if (!ept->nspare_child || !ept->spare)
			return NULL;
		t->child = ept->spare_child[--ept->nspare_child];
		ept->meta_bytes += EPT_ENTRIES * sizeof(*t->child);
	}
	c = take_spare(ept);
	if (!c)
		return NULL;
	for (j = 0; j < EPT_ENTRIES; j++)
		c->e[j] = ((leaf & EPT_ADDR_MASK) + j * span) | keep |
			  (level - 1 > 1 ? EPT_LARGE_PAGE : 0);
	t->child[i] = c;
	__atomic_store_n(&t->e[i], (c->pa & EPT_ADDR_MASK) | EPT_RWX,
			 __ATOMIC_RELEASE);
	return c;
}

u64 *tv_ept_split_4k(struct tv_ept *ept, u64 gpa)
{
	struct tv_ept_table *t, *c;
	int l;

	if (!ept || !ept->root || gpa >= ept->end)
		return NULL;
	t = ept->root;
	for (l = 4; l > 1; l--) {
		unsigned int i = entry_index(gpa, l);

		c = child_of(t, i);
		if (!c) {
			/* Not present, or a PML4E without a table: unmapped. */
			if (!(t->e[i] & EPT_LARGE_PAGE) || l == 4)
				return NULL;
			c = split_leaf(ept, t, i, l);
			if (!c)
				return NULL;
		}
		t = c;
	}
	return &t->e[entry_index(gpa, 1)];
}

u64 *tv_ept_leaf_4k(struct tv_ept *ept, u64 gpa)
{
	struct tv_ept_table *t;
	int l;

	if (!ept || !ept->root || gpa >= ept->end)
		return NULL;
	t = ept->root;
	for (l = 4; l > 1 && t; l--)
		t = child_of(t, entry_index(gpa, l));
	return t ? &t->e[entry_index(gpa, 1)] : NULL;
}

/* Copy @src into @dst (a spare, with its child array) and below. */
static void copy_table(struct tv_ept *ept, struct tv_ept_table *dst,
		       const struct tv_ept_table *src)
{
	unsigned int i;

	for (i = 0; i < EPT_ENTRIES; i++) {
		struct tv_ept_table *c;

		if (!src->child || !src->child[i]) {
			dst->e[i] = src->e[i];
			continue;
		}
		c = take_spare(ept);
		copy_table(ept, c, src->child[i]);
		dst->child[i] = c;
		dst->e[i] = (c->pa & EPT_ADDR_MASK) |
			    (src->e[i] & ~EPT_ADDR_MASK);
	}
}

static void count_tables(const struct tv_ept_table *t, u32 *n)
{
	unsigned int i;

	(*n)++;
	for (i = 0; t->child && i < EPT_ENTRIES; i++)
		if (t->child[i])
			count_tables(t->child[i], n);
}

int tv_ept_clone_prepare(struct tv_ept **out, const struct tv_ept *src)
{
	struct tv_ept *ept;
	u32 n = 0;
	int ret;

	*out = NULL;
	if (!src || !src->root)
		return TV_ERR_INVALID;
	ept = tv_plat_zalloc(sizeof(*ept));
	if (!ept)
		return TV_ERR_NO_MEMORY;
	ept->meta_bytes = sizeof(*ept);
	ept->end = src->end;
	count_tables(src->root, &n);
	ret = tv_ept_reserve(ept, n);
	if (ret) {
		tv_ept_free(ept);
		return ret;
	}
	*out = ept;
	return TV_OK;
}

void tv_ept_clone_fill(struct tv_ept *ept, const struct tv_ept *src)
{
	ept->root = take_spare(ept);
	copy_table(ept, ept->root, src->root);
	ept->eptp = (ept->root->pa & EPT_ADDR_MASK) |
		    (src->eptp & ~EPT_ADDR_MASK);
}

int tv_ept_clone(struct tv_ept **out, const struct tv_ept *src)
{
	int ret = tv_ept_clone_prepare(out, src);

	if (!ret)
		tv_ept_clone_fill(*out, src);
	return ret;
}

static void each_table(const struct tv_ept_table *t,
		       void (*fn)(u64 pa, void *arg), void *arg)
{
	unsigned int i;

	fn(t->pa, arg);
	for (i = 0; t->child && i < EPT_ENTRIES; i++)
		if (t->child[i])
			each_table(t->child[i], fn, arg);
}

void tv_ept_visit_tables(const struct tv_ept *ept,
			   void (*fn)(u64 pa, void *arg), void *arg)
{
	const struct tv_ept_table *t;

	if (!ept)
		return;
	if (ept->root)
		each_table(ept->root, fn, arg);
	for (t = ept->spare; t; t = t->next_spare)
		fn(t->pa, arg);
}
