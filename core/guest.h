/* SPDX-License-Identifier: MIT */
/*
 * The guest's linear addresses: a page-table walk as the CPU does it, and
 * fault-safe reads and writes of guest linear memory from VMX root.
 *
 * tv_guest_walk() is pure: it reads paging-structure entries through a
 * callback and returns the physical address or the #PF error code the CPU
 * would raise (SDM Vol. 3A chapter 4: 4.3 32-bit, 4.4 PAE, 4.5 4- and
 * 5-level paging, 4.6 access rights, 4.7 page-fault error code).
 * tv_guest_read()/tv_guest_write() add the memory: guest-physical is
 * host-physical (thinvisor's EPT is the identity map), reached through
 * tv_plat_phys_to_virt().  Context of all: any (vmx-root included; no
 * lock, no allocation, no SIMD).
 */
#ifndef TV_CORE_GUEST_H
#define TV_CORE_GUEST_H

#include "core/types.h"

/* The guest's paging controls, as the caller reads them from the VMCS. */
struct tv_paging {
	u64 cr0;		/* GUEST_CR0 (PG, WP) */
	u64 cr3;		/* GUEST_CR3 */
	u64 cr4;		/* GUEST_CR4 (PSE, PAE, SMEP, SMAP, PKE, LA57) */
	u64 efer;		/* GUEST_EFER (LMA, NXE) */
	u32 pkru;		/* PKRU, read only when CR4.PKE */
	u8 maxphyaddr;		/* CPUID.80000008H:EAX[7:0]; 0 means 52 */
	bool no_1g_pages;	/* CPUID.80000001H:EDX[26] clear: PS=1 in
				 * a PDPTE is reserved
				 */
	/*
	 * PAE paging only: the four PDPTEs the CPU loaded (with EPT they are
	 * the VMCS fields GUEST_PDPTE0-3, SDM 26.3.2.4), or NULL to read
	 * them from CR3 in memory.
	 */
	const u64 *pdptes;
};

/* What the access is (flags for @access). */
#define TV_ACC_WRITE	TV_BIT(0)	/* else a read */
#define TV_ACC_FETCH	TV_BIT(1)	/* instruction fetch */
#define TV_ACC_USER	TV_BIT(2)	/* CPL 3 and not implicit */
#define TV_ACC_IMPLICIT	TV_BIT(3)	/* implicit supervisor access (GDT,
					 * IDT, TSS...): SMAP ignores AC
					 */
#define TV_ACC_AC	TV_BIT(4)	/* RFLAGS.AC at the access */

/* #PF error code bits (SDM Vol. 3A 4.7). */
#define TV_PF_P		TV_BIT(0)
#define TV_PF_W		TV_BIT(1)
#define TV_PF_U		TV_BIT(2)
#define TV_PF_RSVD	TV_BIT(3)
#define TV_PF_ID	TV_BIT(4)
#define TV_PF_PK	TV_BIT(5)

/*
 * Read the 8-byte paging-structure entry at guest-physical @pa (8-byte
 * aligned) into @val.  False when there is no memory there.
 */
typedef bool (*tv_read_phys_fn)(void *ctx, u64 pa, u64 *val);

enum tv_walk_status {
	TV_WALK_OK = 0,
	TV_WALK_PAGE_FAULT = 1,		/* @error_code: the #PF to raise */
	TV_WALK_NONCANONICAL = 2,	/* #GP(0), or #SS(0) via SS */
	TV_WALK_NO_MEMORY = 3,		/* a table is not in RAM */
};

struct tv_walk {
	u64 pa;			/* the linear address's physical address */
	u64 page_size;		/* 4 KiB, 2 MiB, 4 MiB or 1 GiB */
	u32 error_code;		/* for TV_WALK_PAGE_FAULT */
	unsigned int nentries;	/* entries with an accessed bit, top first */
	u64 entry_pa[5];	/* where each of them is (for A/D bits) */
	u8 entry_size;		/* 4 (32-bit paging) or 8 */
	bool writable;		/* R/W=1 at every level */
	bool user;		/* U/S=1 at every level */
	bool no_exec;		/* XD=1 at some level (with EFER.NXE) */
};

/*
 * Translate linear address @la for an @access (TV_ACC_*) under @p as the
 * CPU would.  Paging off (CR0.PG=0): the identity, on 32 bits.  Not
 * modelled: the accessed and dirty bits (tv_guest_read/write set them),
 * PKS (supervisor protection keys), CET shadow-stack accesses, HLAT,
 * linear-address masking (LAM) and SGX.  Reserved bits follow
 * @p->maxphyaddr.  A PAE PDPTE with reserved bits set (the CPU would have
 * refused it at CR3 load with #GP) is reported as a #PF with RSVD.
 * @read is an indirect call, which the Windows build refuses in VMX root
 * (root_check.py): from root, use the functions below, which walk guest
 * memory with a direct one.
 */
enum tv_walk_status tv_guest_walk(const struct tv_paging *p, u64 la,
				  u32 access, tv_read_phys_fn read,
				  void *ctx, struct tv_walk *w);

/* A fault for the caller to inject (vector 14 sets CR2 first). */
struct tv_guest_fault {
	u8 vector;		/* VEC_PF, VEC_GP */
	u32 error;
	u64 cr2;		/* #PF only */
};

enum tv_guest_status {
	TV_GUEST_OK = 0,
	TV_GUEST_FAULT = 1,	/* @f holds the fault the CPU would raise */
	TV_GUEST_NO_MEMORY = 2,	/* translated, but not to RAM the host maps
				 * (MMIO): no architectural answer; the
				 * caller decides
				 */
};

/*
 * Read or write @n bytes of guest linear memory at @la, across pages, as
 * a data access (@access: TV_ACC_USER, TV_ACC_IMPLICIT, TV_ACC_AC; the
 * write bit is set by tv_guest_write), or for tv_guest_read with
 * TV_ACC_FETCH as the CPU fetches instructions (NX and SMEP apply).  Every page is translated before
 * a byte moves, so a write that faults changes nothing, as on the CPU.
 * Sets the accessed bit of every entry used and, for writes, the dirty
 * bit of the leaf, atomically.  The fault is #PF (CR2 = the first
 * faulting byte's address) or #GP(0) for a non-canonical address; the
 * caller makes it #SS(0) for SS-relative operands.  Segmentation is the
 * caller's (tv_decode_linear() in core/decode.h).
 */
enum tv_guest_status tv_guest_read(const struct tv_paging *p, u64 la,
				   void *dst, size_t n, u32 access,
				   struct tv_guest_fault *f);
enum tv_guest_status tv_guest_write(const struct tv_paging *p, u64 la,
				    const void *src, size_t n, u32 access,
				    struct tv_guest_fault *f);

/*
 * Guest-physical address of linear @la (any kernel address: module text,
 * vmalloc and the direct map alike) by walking the guest's tables, for
 * @access; TV_GUEST_FAULT with the #PF the access would raise.  The
 * entries' A/D bits are left alone.
 */
enum tv_guest_status tv_guest_virt_to_phys(const struct tv_paging *p, u64 la,
					   u32 access, u64 *pa,
					   struct tv_guest_fault *f);

#endif
