/* SPDX-License-Identifier: MIT */
/*
 * EPT identity map of the guest-physical space (Intel SDM Vol. 3, 29.3).
 *
 * The guest is the host OS itself, so guest-physical == host-physical with
 * full RWX rights; the only thing the map decides is the memory type of
 * each leaf, copied from the MTRRs, and the leaf sizes: the largest page
 * whose memory type is uniform.  See docs/ept.md.
 */
#ifndef TV_CORE_EPT_H
#define TV_CORE_EPT_H

#include "core/types.h"
#include "core/mtrr.h"
#include "core/platform.h"

/* Returned by tv_ept_choose_leaf(): the block must be split. */
#define TV_EPT_SPLIT (-1)
/* Returned by tv_ept_choose_block(): no known range meets the block. */
#define TV_EPT_EMPTY (-2)

/* Highest guest-physical address width of a 4-level / 5-level EPT walk. */
#define TV_EPT_MAX_BITS 48
#define TV_EPT_MAX_BITS_5LEVEL 52

/* Spare tables reserved at load for mappings made from VMX root. */
#define TV_EPT_SPARE_TABLES 16

/*
 * Owns the paging structures and, for every table page, its virtual and
 * physical address (kept sorted by physical address), so that walking the
 * map never needs a PA-to-VA call into the OS.  Opaque to callers.
 */
struct tv_ept;

/*
 * Physical ranges to map, as the platform reports them (core/platform.h);
 * tv_ept_normalize_ranges() makes them what the planner reads: 4 KiB
 * aligned, sorted, disjoint and not adjacent.
 */
struct tv_ept_ranges {
	struct tv_phys_range *r;
	unsigned int n;
};

struct tv_ept_config {
	/* MAXPHYADDR: guest-physical addresses are below 2^phys_bits */
	unsigned int phys_bits;
	/* IA32_VMX_EPT_VPID_CAP bit 17: 1 GiB leaves allowed */
	bool use_1gb;
	/* bit 7: 5-level walk; used when phys_bits > 48, else refused */
	bool walk5;
	/*
	 * What exists (normalized or not: the build normalizes a copy).  NULL
	 * keeps the old whole-width map: [0, 2^min(phys_bits, 48)), cut at
	 * 512 GiB without 1 GiB leaves (tests of the leaf choice only).
	 */
	const struct tv_phys_range *ranges;
	unsigned int nranges;
	/* Spare tables for on-demand mappings; 0 means TV_EPT_SPARE_TABLES */
	unsigned int spare_tables;
};

/*
 * Sort @r[0..@n), round each range out to 4 KiB, cut it at @limit, drop
 * empty ones and merge overlapping or touching ones (the kind of a merged
 * range is RAM only when all its parts are).  Returns the new count.
 * Pure; context: any.
 */
unsigned int tv_ept_normalize_ranges(struct tv_phys_range *r, unsigned int n,
				     u64 limit);

/*
 * Build the identity map of what exists: every byte of every range in
 * @cfg->ranges is mapped RWX, guest-physical == host-physical, with the
 * memory type of @mtrr (ignore-PAT clear, so the guest PAT still combines
 * with it as it would with the MTRRs).  Blocks no range meets stay not
 * present; a block a range meets is one leaf, of the largest size allowed
 * (1 GiB only with @cfg->use_1gb), when its MTRR type is uniform, even if
 * part of it is a hole (the hole then behaves as on bare metal, and the
 * tables stay small).  Width: 2^phys_bits, with a 5-level walk above 48
 * bits when @cfg->walk5, else TV_ERR_EPT_CAPS.  @cfg->phys_bits must be in
 * [32, 52], else TV_ERR_INVALID.  Also reserves @cfg->spare_tables tables
 * for tv_ept_map_missing().  On failure everything is freed, *@out is NULL
 * and the result is TV_ERR_NO_MEMORY, TV_ERR_INVALID or TV_ERR_EPT_CAPS.
 * Context: sleepable.
 */
int tv_ept_build_identity(struct tv_ept **out, const struct tv_mtrr_state *mtrr,
			  const struct tv_ept_config *cfg);

/* Free the map and its bookkeeping; NULL is ignored.  Context: sleepable. */
void tv_ept_free(struct tv_ept *ept);

/*
 * The EPT pointer for the VMCS: WB paging-structure accesses, 4-level (or
 * 5-level) walk, accessed/dirty flags off, root table's physical address.
 * Context: any.
 */
u64 tv_ept_pointer(const struct tv_ept *ept);

/* Levels of the walk: 4 or 5.  Context: any. */
int tv_ept_levels(const struct tv_ept *ept);

/*
 * Bytes of 4 KiB paging-structure pages in use (spares not counted), for
 * reports.  Context: any.
 */
u64 tv_ept_table_bytes(const struct tv_ept *ept);

/* Bytes of spare tables still unused.  Context: any. */
u64 tv_ept_spare_bytes(const struct tv_ept *ept);

/*
 * Bytes of the software bookkeeping kept beside the tables (the map
 * object and the sorted VA/PA array), for reports.  Context: any.
 */
u64 tv_ept_meta_bytes(const struct tv_ept *ept);

/*
 * End of the highest range mapped at build time (exclusive); the map is
 * not contiguous up to it.  Context: any.
 */
u64 tv_ept_mapped_end(const struct tv_ept *ept);

/* Blocks mapped by tv_ept_map_missing() since the build.  Context: any. */
u64 tv_ept_demand_count(const struct tv_ept *ept);

/*
 * Walk to the leaf that maps @gpa: returns a pointer to the entry and stores
 * its level in *@level (1: 4 KiB PTE, 2: 2 MiB PDE, 3: 1 GiB PDPTE), or
 * returns NULL (and leaves *@level alone) when @gpa is not mapped.
 * Context: any, including vmx-root (no allocation, no lock).  Callers that
 * change the map concurrently with a walk must serialize themselves.
 */
u64 *tv_ept_leaf(struct tv_ept *ept, u64 gpa, int *level);

/* What tv_ept_map_missing() did. */
struct tv_ept_demand {
	u64 base;	/* the block now mapped, or the leaf already there */
	u64 size;
	u64 entry;	/* the leaf entry */
	int level;	/* of that leaf */
	u8 type;	/* its memory type */
	bool mapped;	/* false: a leaf was already there (another CPU) */
	unsigned int tables;	/* spare tables this took */
};

/*
 * Map the block holding @gpa, which no known range met at build time (so
 * every entry on its way is absent or a table): a leaf of the largest size
 * whose block is absent from the map and MTRR-uniform, identity, RWX,
 * tables from the spares reserved at build.  Several CPUs may call it at
 * once (an internal spin lock, held by VMX-root code only, serializes
 * them); one that finds a leaf already there reports it with @out->mapped
 * false.  The caller flushes (INVEPT) on its own CPU before resuming: other
 * CPUs that cached nothing for an absent entry fault and flush for
 * themselves.  Returns TV_OK, TV_ERR_INVALID (@gpa at or above
 * 2^phys_bits) or TV_ERR_NO_MEMORY (spares exhausted; the map is unchanged
 * apart from tables linked on the way, which are valid).  Pure apart from
 * the map; context: any, including vmx-root (no allocation).
 */
int tv_ept_map_missing(struct tv_ept *ept, u64 gpa, struct tv_ept_demand *out);

/*
 * The VMX-root end of an EPT violation or misconfiguration exit: read the
 * guest-physical address, map it with tv_ept_map_missing(), log each
 * block mapped once (tv_vmm_log), re-inject an event whose delivery the
 * exit interrupted, restore NMI blocking an IRET had lifted, INVEPT this
 * CPU.  Returns TV_OK to resume the guest, anything else when the exit is
 * not one this can handle (the caller dumps and stops).  Context: vmx-root.
 */
int tv_ept_fault_exit(struct tv_ept *ept, unsigned int cpu, u32 reason);

/*
 * The page-size decision, pure: for the block of level @level (3: 1 GiB,
 * 2: 2 MiB, 1: 4 KiB) that contains @base, return the MEMTYPE_* to map it
 * with as one leaf, or TV_EPT_SPLIT when it must be mapped by the next
 * level down: its memory type is not uniform, or the level may not be a
 * leaf (3 without @use_1gb; 4 and 5 always).  A 4 KiB block is always a
 * leaf (MTRRs have 4 KiB granularity).  Context: any.
 */
int tv_ept_choose_leaf(const struct tv_mtrr_state *mtrr, u64 base, int level,
		       bool use_1gb);

/*
 * The planner's decision for one block, pure: TV_EPT_EMPTY when no range of
 * the normalized @ranges meets the block of level @level holding @base,
 * else what tv_ept_choose_leaf() answers.  Context: any.
 */
int tv_ept_choose_block(const struct tv_ept_ranges *ranges,
			const struct tv_mtrr_state *mtrr, u64 base, int level,
			bool use_1gb);

/* --- run-time changes: split, permissions, views (issue 9) ---------- */

/*
 * Pages of zeroed tables filled in sleepable context and taken in VMX
 * root (a ring: one filler at a time, takers serialized by a spin lock
 * that only VMX-root code or code with no exit in between takes), so
 * splitting a leaf from VMX root never allocates.  A page taken belongs
 * to the view that took it from then on and is freed with it.
 */
struct tv_ept_pool;

/* Room in a view for tables taken from pools (splits), per view. */
#define TV_EPT_SPLIT_ROOM 512

/* A pool of up to @capacity pages, filled.  Context: sleepable. */
int tv_ept_pool_create(struct tv_ept_pool **out, unsigned int capacity);
/*
 * Top the pool up to its capacity; TV_ERR_NO_MEMORY when some page could
 * not be had (what was had is in).  One filler at a time; takers may run
 * meanwhile on other CPUs.  Context: sleepable.
 */
int tv_ept_pool_fill(struct tv_ept_pool *pool);
/* Pages ready to take.  Context: any. */
unsigned int tv_ept_pool_available(const struct tv_ept_pool *pool);
/*
 * Free the pool and the pages still in it; nobody may take any more.
 * Context: sleepable.
 */
void tv_ept_pool_destroy(struct tv_ept_pool *pool);

/*
 * Split the leaf that maps @gpa (1 GiB or 2 MiB) down to a 4 KiB PTE:
 * each new table holds 512 leaves with the parent's rights, memory type
 * and ignore-PAT, so the translation is unchanged.  A 4 KiB leaf already
 * there: TV_OK, nothing taken.  Returns TV_OK, TV_ERR_INVALID (@gpa not
 * mapped, or outside the map) or TV_ERR_NO_MEMORY (pool empty or the
 * view's TV_EPT_SPLIT_ROOM used up; tables already linked stay, valid).
 * The caller runs INVEPT on every CPU that uses the view before it relies
 * on the change (cached large translations stay correct until then).
 * Serialized with the other changes of this view by its spin lock.
 * Context: any, including vmx-root (no allocation).
 */
int tv_ept_split(struct tv_ept *ept, struct tv_ept_pool *pool, u64 gpa);

/*
 * Split down to @gpa's 4 KiB page (tv_ept_split), then give the page the
 * rights @rwx (EPT_READ|EPT_WRITE|EPT_EXEC bits; 0 for none) and point it
 * at host-physical page @host_pa, keeping its memory type and ignore-PAT.
 * Write without read is a misconfiguration in EPT: TV_ERR_INVALID; check
 * execute-only against the CPU with tv_ept_rights_allowed() first.  Same
 * returns, INVEPT duty and context as tv_ept_split().
 */
int tv_ept_set_page(struct tv_ept *ept, struct tv_ept_pool *pool, u64 gpa,
		    u64 rwx, u64 host_pa);

/*
 * Can a leaf carry @rwx on a CPU whose IA32_VMX_EPT_VPID_CAP is @cap?
 * Write without read never (SDM 29.3.3.1); execute-only only with
 * EPT_CAP_EXEC_ONLY (bit 0).  Pure; context: any.
 */
bool tv_ept_rights_allowed(u64 cap, u64 rwx);

/*
 * A second view: a deep copy of @src's tables (no table shared, so
 * changing one view never changes the other), with @src's memory types,
 * width and on-demand state, its own spare tables and TV_EPT_SPLIT_ROOM.
 * @src must not change during the copy (the caller quiesces writers).
 * Free it with tv_ept_free(), which frees every table it split too.
 * Returns TV_OK or TV_ERR_NO_MEMORY (*@out NULL).  Context: sleepable.
 */
int tv_ept_clone(struct tv_ept **out, const struct tv_ept *src);

#endif
