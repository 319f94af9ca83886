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
 * Owns the paging structures and, for every table page, in use or spare,
 * its virtual and physical address, so that walking the map never needs a
 * PA-to-VA call into the OS.  Opaque to callers.
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
 * End (exclusive) of what the map translates: 2^phys_bits.  Everything
 * below is mapped, at build or when first used (tv_ept_map_missing(),
 * tv_ept_split_4k()), so run-time changes (core/ext.c) may name any page
 * below it, MMIO no range listed included.  Context: any.
 */
u64 tv_ept_mapped_end(const struct tv_ept *ept);

/*
 * End of the highest range mapped at build time (exclusive); the map is
 * not contiguous up to it.  For reports.  Context: any.
 */
u64 tv_ept_ranges_end(const struct tv_ept *ept);

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
 * tables from the spares (TV_EPT_SPARE_TABLES at build, tv_ept_reserve()).
 * Several CPUs may call it at once (the map's spin lock, held by VMX-root
 * code only, serializes them); one that finds a leaf already there
 * reports it with @out->mapped false.  The caller flushes (INVEPT) on
 * its own CPU before resuming: other CPUs that cached nothing for an
 * absent entry fault and flush for themselves.  Returns TV_OK,
 * TV_ERR_INVALID (@gpa at or above 2^phys_bits) or TV_ERR_NO_MEMORY
 * (spares exhausted; the map is unchanged apart from tables linked on the
 * way, which are valid).  Pure apart from
 * the map; context: any, including vmx-root (no allocation).
 */
int tv_ept_map_missing(struct tv_ept *ept, u64 gpa, struct tv_ept_demand *out);

/*
 * The VMX-root end of an EPT violation or misconfiguration exit: read the
 * guest-physical address and map it with tv_ept_map_missing() in each of
 * the @n maps (view 0 and every other EPT view; NULLs skipped), so that
 * no view faults on it again; decide by the map the VMCS's EPT pointer
 * names (the CPU's view, even after a VMFUNC switch): log each block
 * mapped once (tv_vmm_log), INVEPT this CPU.  Returns TV_OK to resume
 * the guest (the caller re-injects an event whose delivery the exit
 * interrupted: tv_event_fault_exit_done()), anything else when the exit is
 * not one this can handle (the caller dumps and stops).  Context: vmx-root.
 */
int tv_ept_fault_exit(struct tv_ept *const *maps, unsigned int n,
		      unsigned int cpu, u32 reason);

/*
 * Run-time changes (the extension API's page permissions and views).
 * Tables are written from VMX root only once the map protects itself
 * (core/ext.c), so changes take their tables from spares reserved before,
 * in sleepable context; nothing here allocates but the build,
 * tv_ept_reserve() and tv_ept_clone_prepare().  The spares are the same
 * ones on-demand mappings take (TV_EPT_SPARE_TABLES at build).  Changes
 * from VMX root are serialized with each other and with on-demand
 * mappings by the map's spin lock (VMX-root code only).
 *
 * tv_ept_reserve(): keep at least @tables spare tables; all or nothing
 * (TV_ERR_NO_MEMORY leaves the spares as they were).  VMX-root code may
 * take spares meanwhile.  One caller at a time.  Context: sleepable.
 *
 * tv_ept_spare_tables(): how many are left.  Context: any.
 *
 * tv_ept_split_4k(): make @gpa's 4 KiB page a leaf of its own, splitting
 * the 1 GiB/2 MiB leaf above it into leaves of the same rights and type;
 * a block no range listed is first mapped as on demand (identity, RWX, its
 * MTRR type), so any @gpa below tv_ept_mapped_end() can be split.  At most
 * one spare per level.  Each new table is complete before it is linked,
 * so CPUs running on the map meanwhile see the old leaf or the new table,
 * never a hole.  Returns the leaf entry, or NULL when @gpa is outside the
 * map or the spares ran out (tables linked on the way stay, valid).  The
 * caller flushes (INVEPT) after changing leaves.  Context: any, vmx-root
 * included (no allocation).
 *
 * tv_ept_leaf_4k(): the 4 KiB leaf of @gpa if it was split before (or
 * built as one), else NULL.  Context: any.
 *
 * tv_ept_find_4k(): the same under the map's lock, through the page
 * table the last split or find reached, so that a run of pages costs one
 * walk.  Context: VMX root, or a map no CPU runs under.
 *
 * tv_ept_set_page(): tv_ept_split_4k(), then give the page the rights
 * @rwx (EPT_READ|EPT_WRITE|EPT_EXEC; 0 for none) and host page @host_pa,
 * keeping its memory type and ignore-PAT.  TV_ERR_INVALID for write
 * without read (an EPT misconfiguration), stray bits or an unaligned
 * @host_pa (check execute-only with tv_ept_rights_allowed() first);
 * TV_ERR_NO_MEMORY when split_4k fails.  Same context and INVEPT duty.
 *
 * tv_ept_leaf_write(): give the 4 KiB leaf @leaf (from tv_ept_split_4k()
 * or tv_ept_leaf_4k()) the rights @rwx and host page @host_pa in one
 * atomic store; its memory type, ignore-PAT and every other bit stay,
 * suppress-#VE included (a page's #VE setting outlives changes of its
 * rights).  No check: the caller validated @rwx.  Context: any.
 *
 * tv_ept_leaf_ve(): the leaf @leaf with violations converted to #VE
 * (@ve: suppress-#VE clear) or exiting (set, as every entry is built).
 * Pure.
 *
 * Every entry is built with suppress-#VE set, not-present ones included
 * (EPT_ABSENT, the contents of a new or spare table): the bit is ignored
 * while the "EPT-violation #VE" control is off, and while it is on a
 * violation converts only on a leaf tv_ept_leaf_ve() cleared.
 *
 * tv_ept_rights_allowed(): can a leaf carry @rwx on a CPU whose
 * IA32_VMX_EPT_VPID_CAP is @cap?  Write without read never (SDM
 * 29.3.3.1); execute-only only with EPT_CAP_EXEC_ONLY.  Pure.
 *
 * tv_ept_clone_prepare() allocates a second view's tables, as spares: one
 * per table @src uses now, plus TV_EPT_SPARE_TABLES for its own on-demand
 * mappings (sleepable); tv_ept_clone_fill() copies @src into them (any
 * context: VMX root when @src is protected; it holds @src's lock, so
 * on-demand mappings into @src wait).  The copy shares no table with
 * @src and has its width, memory types and on-demand state; a table
 * @src gained in between that the spares cannot hold stays absent in the
 * copy and is mapped on demand when used.  tv_ept_clone() does both.
 * Free a view with tv_ept_free().
 *
 * tv_ept_visit_tables(): call @fn with the physical address of every
 * table page, spares included.  Context: sleepable (pages VMX root takes
 * meanwhile are spares already listed).
 *
 * tv_ept_store_pages(): how many table pages, spares included, the map
 * has: a number that only grows, so that a caller can tell whether
 * tv_ept_visit_tables() has anything new to show.  Context: any.
 */
int tv_ept_reserve(struct tv_ept *ept, u32 tables);
u32 tv_ept_spare_tables(const struct tv_ept *ept);
u32 tv_ept_store_pages(const struct tv_ept *ept);
u64 *tv_ept_split_4k(struct tv_ept *ept, u64 gpa);
u64 *tv_ept_leaf_4k(struct tv_ept *ept, u64 gpa);
u64 *tv_ept_find_4k(struct tv_ept *ept, u64 gpa);
int tv_ept_set_page(struct tv_ept *ept, u64 gpa, u64 rwx, u64 host_pa);
void tv_ept_leaf_write(u64 *leaf, u64 rwx, u64 host_pa);
u64 tv_ept_leaf_ve(u64 leaf, bool ve);
bool tv_ept_rights_allowed(u64 cap, u64 rwx);
int tv_ept_clone_prepare(struct tv_ept **out, const struct tv_ept *src);
void tv_ept_clone_fill(struct tv_ept *ept, const struct tv_ept *src);
int tv_ept_clone(struct tv_ept **out, const struct tv_ept *src);
void tv_ept_visit_tables(const struct tv_ept *ept,
			   void (*fn)(u64 pa, void *arg), void *arg);

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

#endif
