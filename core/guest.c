// SPDX-License-Identifier: MIT
/*
 * The guest page-table walk and guest linear memory (core/guest.h).
 * Everything here may run in VMX root: no lock, no allocation, and byte
 * loops rather than memcpy (the Windows exit path must not touch XMM).
 */
#include "core/guest.h"
#include "core/platform.h"
#include "arch/x86/vmx.h"
#include "arch/x86/msr.h"

#define PTE_P		TV_BIT(0)
#define PTE_RW		TV_BIT(1)
#define PTE_US		TV_BIT(2)
#define PTE_A		TV_BIT(5)
#define PTE_D		TV_BIT(6)
#define PTE_PS		TV_BIT(7)
#define PTE_XD		TV_BIT(63)

#define CR4_PSE_BIT	TV_BIT(4)
#define CR4_SMEP_BIT	TV_BIT(20)
#define CR4_SMAP_BIT	TV_BIT(21)
#define CR4_PKE_BIT	TV_BIT(22)
#define CR4_LA57_BIT	TV_BIT(12)

/* Bits @lo..@hi (inclusive) set. */
static TV_VMX_ROOT u64 bits(unsigned int hi, unsigned int lo)
{
	if (hi < lo)
		return 0;
	return (hi == 63 ? ~0ULL : (TV_BIT(hi + 1) - 1)) & ~(TV_BIT(lo) - 1);
}

static TV_VMX_ROOT unsigned int phys_bits(const struct tv_paging *p)
{
	return p->maxphyaddr && p->maxphyaddr <= 52 ? p->maxphyaddr : 52;
}

static TV_ALWAYS_INLINE inline bool
read_entry(tv_read_phys_fn read, void *ctx, u64 pa, unsigned int size,
	   u64 *val)
{
	u64 v;

	if (!read(ctx, pa & ~7ULL, &v))
		return false;
	if (size == 4)
		v = (u32)(v >> (8 * (pa & 4)));
	*val = v;
	return true;
}

struct walk_state {
	const struct tv_paging *p;
	u32 access;
	u32 ec;			/* the error code's access bits */
	struct tv_walk *w;
};

static TV_VMX_ROOT enum tv_walk_status fault(struct walk_state *s, u32 bits_)
{
	s->w->error_code = s->ec | bits_;
	return TV_WALK_PAGE_FAULT;
}

/* Note a present entry: its address and the rights it grants. */
static TV_VMX_ROOT void note(struct walk_state *s, u64 pa, u64 e,
			     bool has_a)
{
	struct tv_walk *w = s->w;

	if (has_a)
		w->entry_pa[w->nentries++] = pa;
	w->writable &= !!(e & PTE_RW);
	w->user &= !!(e & PTE_US);
	if ((s->p->efer & EFER_NXE) && (e & PTE_XD))
		w->no_exec = true;
}

/*
 * SDM 4.6: the rights the walk collected against the access; @leaf is the
 * leaf entry (its protection key) and @ia32e says whether keys apply.
 */
static TV_VMX_ROOT enum tv_walk_status check_rights(struct walk_state *s,
						    u64 leaf, bool ia32e)
{
	const struct tv_paging *p = s->p;
	const struct tv_walk *w = s->w;
	bool write = s->access & TV_ACC_WRITE, fetch = s->access & TV_ACC_FETCH;
	bool user = s->access & TV_ACC_USER, wp = p->cr0 & CR0_WP;
	bool denied = false;
	u32 pk = 0;

	if (user) {
		denied = !w->user || (write && !w->writable) ||
			 (fetch && w->no_exec);
	} else if (fetch) {
		denied = w->no_exec || (w->user && (p->cr4 & CR4_SMEP_BIT));
	} else {
		if (w->user && (p->cr4 & CR4_SMAP_BIT) &&
		    ((s->access & TV_ACC_IMPLICIT) || !(s->access & TV_ACC_AC)))
			denied = true;
		if (write && wp && !w->writable)
			denied = true;
	}
	/* Protection keys: data accesses to user-mode addresses (4.6.2). */
	if (ia32e && (p->cr4 & CR4_PKE_BIT) && w->user && !fetch) {
		unsigned int key = (leaf >> 59) & 0xf;
		bool ad = p->pkru & (1u << (2 * key));
		bool wd = p->pkru & (1u << (2 * key + 1));

		if (ad || (write && wd && (user || wp)))
			pk = TV_PF_PK;
	}
	if (denied || pk)
		return fault(s, TV_PF_P | pk);
	return TV_WALK_OK;
}

static TV_VMX_ROOT void leaf_at(struct tv_walk *w, u64 base, u64 size, u64 la)
{
	w->page_size = size;
	w->pa = (base & ~(size - 1)) | (la & (size - 1));
}

/* 32-bit paging (SDM 4.3): 4-byte entries, 4 MiB pages with CR4.PSE. */
static TV_ALWAYS_INLINE inline enum tv_walk_status
walk_32(struct walk_state *s, u64 la, tv_read_phys_fn read, void *ctx)
{
	const struct tv_paging *p = s->p;
	unsigned int m = phys_bits(p);
	u64 pde_pa, pte_pa, pde, pte, base;

	s->w->entry_size = 4;
	la &= 0xffffffffULL;
	pde_pa = (p->cr3 & 0xfffff000ULL) | ((la >> 22) << 2);
	if (!read_entry(read, ctx, pde_pa, 4, &pde))
		return TV_WALK_NO_MEMORY;
	if (!(pde & PTE_P))
		return fault(s, 0);
	if ((pde & PTE_PS) && (p->cr4 & CR4_PSE_BIT)) {
		/* PSE-36: bits 20:13 hold PA 39:32; 21 and those above
		 * MAXPHYADDR are reserved.
		 */
		if ((pde & TV_BIT(21)) ||
		    (m < 40 && (pde & bits(20, m > 32 ? m - 19 : 13))))
			return fault(s, TV_PF_P | TV_PF_RSVD);
		note(s, pde_pa, pde, true);
		base = (pde & 0xffc00000ULL) | (((pde >> 13) & 0xff) << 32);
		leaf_at(s->w, base, TV_BIT(22), la);
		return check_rights(s, pde, false);
	}
	note(s, pde_pa, pde, true);
	pte_pa = (pde & 0xfffff000ULL) | (((la >> 12) & 0x3ff) << 2);
	if (!read_entry(read, ctx, pte_pa, 4, &pte))
		return TV_WALK_NO_MEMORY;
	if (!(pte & PTE_P))
		return fault(s, 0);
	note(s, pte_pa, pte, true);
	leaf_at(s->w, pte & 0xfffff000ULL, TV_PAGE_SIZE, la);
	return check_rights(s, pte, false);
}

/* PAE paging (SDM 4.4): four PDPTEs, then 8-byte PDEs and PTEs. */
static TV_ALWAYS_INLINE inline enum tv_walk_status
walk_pae(struct walk_state *s, u64 la, tv_read_phys_fn read, void *ctx)
{
	const struct tv_paging *p = s->p;
	unsigned int m = phys_bits(p);
	u64 addr = bits(m - 1, 12);
	/* Bits 62:M, and the XD bit without EFER.NXE. */
	u64 rsvd = bits(62, m) | ((p->efer & EFER_NXE) ? 0 : PTE_XD);
	u64 pdpte, pde, pte, pa;
	unsigned int i = (la >> 30) & 3;

	s->w->entry_size = 8;
	la &= 0xffffffffULL;
	if (p->pdptes) {
		pdpte = p->pdptes[i];
	} else if (!read_entry(read, ctx, (p->cr3 & 0xffffffe0ULL) + 8 * i, 8,
			       &pdpte)) {
		return TV_WALK_NO_MEMORY;
	}
	if (!(pdpte & PTE_P))
		return fault(s, 0);
	/* 2:1, 8:5 and 63:M reserved; a PDPTE grants no rights. */
	if (pdpte & (bits(2, 1) | bits(8, 5) | bits(63, m)))
		return fault(s, TV_PF_P | TV_PF_RSVD);
	pa = (pdpte & addr) + 8 * ((la >> 21) & 0x1ff);
	if (!read_entry(read, ctx, pa, 8, &pde))
		return TV_WALK_NO_MEMORY;
	if (!(pde & PTE_P))
		return fault(s, 0);
	if ((pde & rsvd) || ((pde & PTE_PS) && (pde & bits(20, 13))))
		return fault(s, TV_PF_P | TV_PF_RSVD);
	note(s, pa, pde, true);
	if (pde & PTE_PS) {
		leaf_at(s->w, pde & addr, TV_BIT(21), la);
		return check_rights(s, pde, false);
	}
	pa = (pde & addr) + 8 * ((la >> 12) & 0x1ff);
	if (!read_entry(read, ctx, pa, 8, &pte))
		return TV_WALK_NO_MEMORY;
	if (!(pte & PTE_P))
		return fault(s, 0);
	if (pte & rsvd)
		return fault(s, TV_PF_P | TV_PF_RSVD);
	note(s, pa, pte, true);
	leaf_at(s->w, pte & addr, TV_PAGE_SIZE, la);
	return check_rights(s, pte, false);
}

/* 4-level and 5-level paging (SDM 4.5). */
static TV_ALWAYS_INLINE inline enum tv_walk_status
walk_ia32e(struct walk_state *s, u64 la, tv_read_phys_fn read, void *ctx)
{
	const struct tv_paging *p = s->p;
	unsigned int m = phys_bits(p);
	unsigned int level = (p->cr4 & CR4_LA57_BIT) ? 5 : 4;
	unsigned int top_bit = level == 5 ? 56 : 47;
	u64 addr = bits(m - 1, 12);
	u64 rsvd = bits(51, m) | ((p->efer & EFER_NXE) ? 0 : PTE_XD);
	u64 high = la >> top_bit, table = p->cr3 & addr, e, pa;

	s->w->entry_size = 8;
	if (high != 0 && high != (~0ULL >> top_bit))
		return TV_WALK_NONCANONICAL;
	for (;; level--) {
		unsigned int shift = 12 + 9 * (level - 1);
		bool large;

		pa = table + 8 * ((la >> shift) & 0x1ff);
		if (!read_entry(read, ctx, pa, 8, &e))
			return TV_WALK_NO_MEMORY;
		if (!(e & PTE_P))
			return fault(s, 0);
		large = level <= 3 && level >= 2 && (e & PTE_PS);
		if ((e & rsvd) ||
		    (level >= 4 && (e & PTE_PS)) ||
		    (large && level == 3 &&
		     (p->no_1g_pages || (e & bits(29, 13)))) ||
		    (large && level == 2 && (e & bits(20, 13))))
			return fault(s, TV_PF_P | TV_PF_RSVD);
		note(s, pa, e, true);
		if (large || level == 1) {
			leaf_at(s->w, e & addr, TV_BIT(shift), la);
			return check_rights(s, e, true);
		}
		table = e & addr;
	}
}

/*
 * The walk, inlined into both of its entry points (with the helpers
 * above), so that the one VMX root uses, walk_guest(), reads entries with
 * a direct call: platform/windows/root_check.py cannot follow an indirect
 * call, and refuses it.
 */
static TV_ALWAYS_INLINE inline enum tv_walk_status
walk(const struct tv_paging *p, u64 la, u32 access, tv_read_phys_fn read,
	void *ctx, struct tv_walk *w)
{
	struct walk_state s = { p, access, 0, w };
	bool pae = p->cr4 & CR4_PAE;

	w->pa = 0;
	w->page_size = TV_PAGE_SIZE;
	w->error_code = 0;
	w->nentries = 0;
	w->entry_size = 8;
	w->writable = true;
	w->user = true;
	w->no_exec = false;
	if (access & TV_ACC_WRITE)
		s.ec |= TV_PF_W;
	if (access & TV_ACC_USER)
		s.ec |= TV_PF_U;
	if ((access & TV_ACC_FETCH) &&
	    ((p->cr4 & CR4_SMEP_BIT) || (pae && (p->efer & EFER_NXE))))
		s.ec |= TV_PF_ID;
	if (!(p->cr0 & CR0_PG)) {
		w->pa = la & 0xffffffffULL;
		return TV_WALK_OK;
	}
	if (!pae)
		return walk_32(&s, la, read, ctx);
	if (!(p->efer & EFER_LMA))
		return walk_pae(&s, la, read, ctx);
	return walk_ia32e(&s, la, read, ctx);
}

TV_VMX_ROOT enum tv_walk_status tv_guest_walk(const struct tv_paging *p,
					      u64 la, u32 access,
					      tv_read_phys_fn read, void *ctx,
					      struct tv_walk *w)
{
	return walk(p, la, access, read, ctx, w);
}

/* --- guest linear memory -------------------------------------------- */

/*
 * Guest memory is read and written through volatile pointers: the guest's
 * other CPUs may change it meanwhile, and byte loops must stay loops, not
 * become memcpy calls (the Windows exit path must not use XMM registers).
 */
static TV_VMX_ROOT bool read_phys_u64(void *ctx, u64 pa, u64 *val)
{
	const volatile u64 *q = tv_plat_phys_to_virt(pa);

	if (!q)
		return false;
	*val = *q;
	return true;
}

/* The walk on guest memory, reading entries with a direct call. */
static TV_VMX_ROOT enum tv_walk_status walk_guest(const struct tv_paging *p,
						  u64 la, u32 access,
						  struct tv_walk *w)
{
	return walk(p, la, access, read_phys_u64, NULL, w);
}

/* A walk's failure as the fault to inject, or TV_GUEST_NO_MEMORY. */
static TV_VMX_ROOT enum tv_guest_status walk_failed(enum tv_walk_status ws,
						    const struct tv_walk *w,
						    u64 la, struct tv_guest_fault *f)
{
	if (ws == TV_WALK_PAGE_FAULT) {
		f->vector = VEC_PF;
		f->error = w->error_code;
		f->cr2 = la;
		return TV_GUEST_FAULT;
	}
	if (ws == TV_WALK_NONCANONICAL) {
		f->vector = VEC_GP;
		f->error = 0;
		f->cr2 = 0;
		return TV_GUEST_FAULT;
	}
	return TV_GUEST_NO_MEMORY;
}

/*
 * Translate the page holding @la; on success @host points at @la's byte,
 * valid to the end of its 4 KiB page.
 */
static TV_VMX_ROOT enum tv_guest_status translate(const struct tv_paging *p,
						  u64 la, u32 access,
						  struct tv_walk *w, u8 **host,
						  struct tv_guest_fault *f)
{
	enum tv_walk_status ws = walk_guest(p, la, access, w);

	if (ws != TV_WALK_OK)
		return walk_failed(ws, w, la, f);
	*host = tv_plat_phys_to_virt(w->pa);
	return *host ? TV_GUEST_OK : TV_GUEST_NO_MEMORY;
}

/* Set the accessed bits of the walk's entries, and the leaf's dirty bit. */
static TV_VMX_ROOT void set_accessed(const struct tv_walk *w, bool write)
{
	unsigned int i;

	for (i = 0; i < w->nentries; i++) {
		/* A and D sit in the low 32 bits of either entry size. */
		u32 *e = tv_plat_phys_to_virt(w->entry_pa[i]);
		u32 want = (u32)PTE_A;

		if (write && i == w->nentries - 1)
			want |= (u32)PTE_D;
		if (e && (__atomic_load_n(e, __ATOMIC_RELAXED) & want) != want)
			__atomic_fetch_or(e, want, __ATOMIC_SEQ_CST);
	}
}

/* Bytes from @la to the end of its 4 KiB page, at most @n. */
static TV_VMX_ROOT size_t chunk(u64 la, size_t n)
{
	size_t left = TV_PAGE_SIZE - (la & (TV_PAGE_SIZE - 1));

	return n < left ? n : left;
}

TV_VMX_ROOT enum tv_guest_status tv_guest_read(const struct tv_paging *p,
					       u64 la, void *dst, size_t n,
					       u32 access, struct tv_guest_fault *f)
{
	u8 *out = dst, *host;
	struct tv_walk w;
	enum tv_guest_status st;
	size_t done = 0, len, i;

	access &= ~(u32)TV_ACC_WRITE;
	while (done < n) {
		len = chunk(la + done, n - done);
		st = translate(p, la + done, access, &w, &host, f);
		if (st != TV_GUEST_OK)
			return st;
		set_accessed(&w, false);
		for (i = 0; i < len; i++)
			out[done + i] = ((volatile u8 *)host)[i];
		done += len;
	}
	return TV_GUEST_OK;
}

TV_VMX_ROOT enum tv_guest_status tv_guest_write(const struct tv_paging *p,
						u64 la, const void *src,
						size_t n, u32 access,
						struct tv_guest_fault *f)
{
	const u8 *in = src;
	u8 *host;
	struct tv_walk w;
	enum tv_guest_status st;
	size_t done, len, i;

	access = (access & ~(u32)TV_ACC_FETCH) | TV_ACC_WRITE;
	/* Every page first: a faulting write must leave memory alone. */
	for (done = 0; done < n; done += chunk(la + done, n - done)) {
		st = translate(p, la + done, access, &w, &host, f);
		if (st != TV_GUEST_OK)
			return st;
	}
	for (done = 0; done < n; done += len) {
		len = chunk(la + done, n - done);
		st = translate(p, la + done, access, &w, &host, f);
		if (st != TV_GUEST_OK)
			return st;	/* the guest changed its tables */
		set_accessed(&w, true);
		for (i = 0; i < len; i++)
			((volatile u8 *)host)[i] = in[done + i];
	}
	return TV_GUEST_OK;
}

TV_VMX_ROOT enum tv_guest_status tv_guest_virt_to_phys(const struct tv_paging *p,
						       u64 la, u32 access,
						       u64 *pa,
						       struct tv_guest_fault *f)
{
	struct tv_walk w;
	enum tv_walk_status ws = walk_guest(p, la, access, &w);

	if (ws != TV_WALK_OK)
		return walk_failed(ws, &w, la, f);
	*pa = w.pa;
	return TV_GUEST_OK;
}
