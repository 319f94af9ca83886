/* SPDX-License-Identifier: MIT */
/* EPT paging-structure entries and memory types (Intel SDM Vol. 3, 29.3). */
#ifndef TV_ARCH_EPT_H
#define TV_ARCH_EPT_H

#define EPT_READ TV_BIT(0)
#define EPT_WRITE TV_BIT(1)
#define EPT_EXEC TV_BIT(2)
#define EPT_RWX (EPT_READ | EPT_WRITE | EPT_EXEC)
#define EPT_MEMTYPE_SHIFT 3		/* leaf entries: bits 5:3 */
#define EPT_IGNORE_PAT TV_BIT(6)
#define EPT_LARGE_PAGE TV_BIT(7)	/* PDPTE: 1 GB, PDE: 2 MB */
#define EPT_ACCESSED TV_BIT(8)
#define EPT_DIRTY TV_BIT(9)
/*
 * Leaves and not-present entries: with the "EPT-violation #VE" control on,
 * a violation decided by an entry with this bit clear becomes a #VE in the
 * guest instead of an exit (SDM 25.5.6.1).  Ignored with the control off.
 * Every entry thinvisor writes has it, but the 4 KiB leaves an extension
 * asked #VE for (tv_ext_page_set_ve()); an absent entry is EPT_ABSENT.
 */
#define EPT_SUPPRESS_VE TV_BIT(63)
#define EPT_ABSENT EPT_SUPPRESS_VE
#define EPT_ADDR_MASK 0x000ffffffffff000ULL

/* Memory types (shared with MTRR and PAT encodings) */
#define MEMTYPE_UC 0
#define MEMTYPE_WC 1
#define MEMTYPE_WT 4
#define MEMTYPE_WP 5
#define MEMTYPE_WB 6

/* EPT pointer */
#define EPTP_MEMTYPE_WB 6ULL
#define EPTP_WALK_LENGTH_4 (3ULL << 3)
#define EPTP_WALK_LENGTH_5 (4ULL << 3)	/* needs EPT_CAP_WALK5 */
#define EPTP_ENABLE_AD TV_BIT(6)

#define EPT_ENTRIES 512
#define EPT_PDPTE_SPAN (1ULL << 30)
#define EPT_PDE_SPAN (1ULL << 21)
#define EPT_PTE_SPAN (1ULL << 12)
#define EPT_PML4E_SPAN (1ULL << 39)
#define EPT_PML5E_SPAN (1ULL << 48)

/* EPT-violation exit qualification (SDM Vol. 3C, Table 28-7) */
#define EPT_QUAL_NMI_UNBLOCKING TV_BIT(12)

#endif
