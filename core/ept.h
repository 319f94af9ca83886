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

/* Returned by tv_ept_choose_leaf(): the block must be split. */
#define TV_EPT_SPLIT (-1)

/* Highest guest-physical address width a 4-level EPT walk can map. */
#define TV_EPT_MAX_BITS 48

/*
 * Owns the paging structures and, for every table page, its virtual and
 * physical address, so that walking the map never needs a PA-to-VA call
 * into the OS.  Opaque to callers.
 */
struct tv_ept;

struct tv_ept_config {
	/* MAXPHYADDR; the map covers [0, 2^min(phys_bits, 48)) */
	unsigned int phys_bits;
	/* IA32_VMX_EPT_VPID_CAP bit 17: 1 GiB leaves allowed */
	bool use_1gb;
};

/*
 * Build the identity map of [0, 2^min(@cfg->phys_bits, 48)) with RWX
 * rights, the memory type of each leaf from @mtrr (ignore-PAT clear, so the
 * guest PAT still combines with it as it would with the MTRRs), 1 GiB
 * leaves (when @cfg->use_1gb) or 2 MiB leaves wherever the type is uniform
 * across them, and 4 KiB leaves only where it is not.  Without 1 GiB leaves
 * only [0, min(2^phys_bits, 512 GiB)) is mapped: a full map of 2^46 bytes
 * with 2 MiB leaves would take 256 MiB of tables.
 * @cfg->phys_bits must be in [32, 52], else TV_ERR_INVALID.
 * On failure everything is freed, *@out is NULL and the result is
 * TV_ERR_NO_MEMORY or TV_ERR_INVALID.  Context: sleepable.
 */
int tv_ept_build_identity(struct tv_ept **out, const struct tv_mtrr_state *mtrr,
			  const struct tv_ept_config *cfg);

/* Free the map and its bookkeeping; NULL is ignored.  Context: sleepable. */
void tv_ept_free(struct tv_ept *ept);

/*
 * The EPT pointer for the VMCS: WB paging-structure accesses, 4-level walk,
 * accessed/dirty flags off, PML4 physical address.  Context: any.
 */
u64 tv_ept_pointer(const struct tv_ept *ept);

/* Bytes of 4 KiB paging-structure pages, for reports.  Context: any. */
u64 tv_ept_table_bytes(const struct tv_ept *ept);

/*
 * Bytes of the software bookkeeping kept beside the tables (VA/PA records
 * and child pointers), for reports.  Context: any.
 */
u64 tv_ept_meta_bytes(const struct tv_ept *ept);

/* End of the mapped guest-physical space (exclusive).  Context: any. */
u64 tv_ept_mapped_end(const struct tv_ept *ept);

/*
 * Walk to the leaf that maps @gpa: returns a pointer to the entry and stores
 * its level in *@level (1: 4 KiB PTE, 2: 2 MiB PDE, 3: 1 GiB PDPTE), or
 * returns NULL (and leaves *@level alone) when @gpa is not mapped.
 * Context: any, including vmx-root (no allocation, no lock).  Callers that
 * change the map concurrently with a walk must serialize themselves.
 */
u64 *tv_ept_leaf(struct tv_ept *ept, u64 gpa, int *level);

/*
 * Run-time changes (the extension API's page permissions and views).
 * Tables are written from VMX root only once the map protects itself
 * (core/ext.c), so changes take their tables from spares reserved before,
 * in sleepable context; nothing here allocates but tv_ept_reserve() and
 * tv_ept_clone_prepare().
 *
 * tv_ept_reserve(): keep at least @tables spare tables (and a few spare
 * child arrays).  Context: sleepable.
 *
 * tv_ept_split_4k(): make @gpa's 4 KiB page a leaf of its own, splitting
 * the 1 GiB/2 MiB leaf above it into leaves of the same rights and type
 * (at most two spares per call); each new table is complete before it is
 * linked, so CPUs running on the map meanwhile see the old leaf or the new
 * table, never a hole.  Returns the leaf entry, or NULL when @gpa is not
 * mapped or the spares ran out.  The caller flushes (INVEPT) after
 * changing leaves.  Context: any, vmx-root included.
 *
 * tv_ept_leaf_4k(): the 4 KiB leaf of @gpa if it was split before, else
 * NULL.  Context: any.
 *
 * tv_ept_clone_prepare() reserves a new map's tables (sleepable);
 * tv_ept_clone_fill() copies @src into them (any context: VMX root when
 * @src is protected); tv_ept_clone() does both.
 *
 * tv_ept_visit_tables(): call @fn with the physical address of every
 * table page, spares included.  Context: sleepable (the caller keeps the
 * map unchanged meanwhile).
 */
#define TV_EPT_SPARE_CHILD 4
int tv_ept_reserve(struct tv_ept *ept, u32 tables);
u32 tv_ept_spare_tables(const struct tv_ept *ept);
u64 *tv_ept_split_4k(struct tv_ept *ept, u64 gpa);
u64 *tv_ept_leaf_4k(struct tv_ept *ept, u64 gpa);
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
 * leaf (3 without @use_1gb; 4 always).  A 4 KiB block is always a leaf
 * (MTRRs have 4 KiB granularity).  Context: any.
 */
int tv_ept_choose_leaf(const struct tv_mtrr_state *mtrr, u64 base, int level,
		       bool use_1gb);

#endif
