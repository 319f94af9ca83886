// SPDX-License-Identifier: MIT
/*
 * The guest page-table walk (tv_guest_walk, core/guest.c) against a
 * reference written from the SDM Vol. 3A chapter 4: the paging mode from
 * CR0.PG, CR4.PAE, EFER.LMA and CR4.LA57 (4.1.1, Table 4-1); linear-
 * address division and entry formats (Tables 4-4 to 4-8 for 32-bit,
 * 4-11 to 4-13 for PAE, 4-15 to 4-20 for 4- and 5-level paging);
 * reserved bits (4.3, 4.4.2, 4.5.4: bits MAXPHYADDR and up, XD without
 * NXE, PS in PML4Es and PML5Es, PS in PDPTEs without 1-GByte pages, the
 * large-page address bits); the access rights of 4.6 (U/S and R/W
 * combined over every level, WP, SMEP, SMAP with AC and implicit
 * accesses, XD, protection keys of 4.6.2) and the error code of 4.7.
 * The reference collects the entries first and decides after, in the
 * SDM's words; the core decides as it walks.
 * Input: CR0/CR4/EFER selectors, MAXPHYADDR, PKRU, the linear address,
 * the access, then 64 entries of "memory": an entry read at physical
 * address A returns entry ((A >> 3) ^ (A >> 12)) mod 64, so the tables
 * point anywhere and still read fuzzer data; above 2^45 there is none.
 */
#include "fuzz_common.h"
#include "core/guest.h"

static u64 mem[64];

REF_CODE static bool mem_ok(u64 pa)
{
	return pa < (1ULL << 45);
}

REF_CODE static u64 mem_at(u64 pa)
{
	return mem[((pa >> 3) ^ (pa >> 12)) & 63];
}

static bool core_read(void *ctx, u64 pa, u64 *val)
{
	if ((pa & 7) || !mem_ok(pa))
		return (pa & 7) ? (abort(), false) : false;
	*val = mem_at(pa);
	return true;
}

struct ref_out {
	enum tv_walk_status st;
	u64 pa, size;
	u32 ec;
};

/* Bit @n of @v. */
#define B(v, n) (((v) >> (n)) & 1)

REF_CODE static u64 ones(unsigned int hi, unsigned int lo)
{
	u64 r = 0;
	unsigned int i;

	for (i = lo; i <= hi && i < 64; i++)
		r |= 1ULL << i;
	return r;
}

REF_CODE static struct ref_out ref_walk(const struct tv_paging *p, u64 la,
					u32 acc)
{
	struct ref_out o = { TV_WALK_OK, 0, 4096, 0 };
	bool pg = B(p->cr0, 31), pae = B(p->cr4, 5), lma = B(p->efer, 10);
	bool nxe = B(p->efer, 11), la57 = B(p->cr4, 12);
	unsigned int M = p->maxphyaddr ? p->maxphyaddr : 52;
	bool wr = acc & TV_ACC_WRITE, fetch = acc & TV_ACC_FETCH;
	bool usr = acc & TV_ACC_USER;
	u64 ent[5];
	unsigned int n = 0, i, esize = 8, idxbits, top;
	u64 table, e, pa_of_entry;
	bool leaf = false;
	u32 base_ec = (wr ? 2 : 0) | (usr ? 4 : 0) |
		      ((fetch && (B(p->cr4, 20) || (pae && nxe))) ? 16 : 0);

	if (!pg) {
		o.pa = la & 0xffffffffULL;
		return o;
	}
	if (!pae) {
		/* 32-bit paging: PDE from CR3[31:12] + LA[31:22]*4. */
		u64 l = la & 0xffffffffULL;
		u64 pde_addr = (p->cr3 & 0xfffff000ULL) + ((l >> 22) << 2);
		u64 pde, pte;

		if (!mem_ok(pde_addr & ~7ULL))
			return (struct ref_out){ TV_WALK_NO_MEMORY, 0, 0, 0 };
		pde = (mem_at(pde_addr & ~7ULL) >> ((pde_addr & 4) * 8)) & 0xffffffffULL;
		if (!B(pde, 0))
			return (struct ref_out){ TV_WALK_PAGE_FAULT, 0, 0, base_ec };
		ent[n++] = pde;
		if (B(pde, 7) && B(p->cr4, 4)) {
			/* 4-MByte page: bit 21 reserved; bits 20:13 are PA
			 * 39:32, reserved from MAXPHYADDR up. */
			u64 hi = (pde >> 13) & 0xff;
			unsigned int k;

			if (B(pde, 21))
				return (struct ref_out){ TV_WALK_PAGE_FAULT, 0, 0, base_ec | 9 };
			for (k = 0; k < 8; k++)
				if (B(hi, k) && 32 + k >= M)
					return (struct ref_out){ TV_WALK_PAGE_FAULT, 0, 0, base_ec | 9 };
			o.pa = (pde & 0xffc00000ULL) + (hi << 32) + (l & 0x3fffff);
			o.size = 4 << 20;
		} else {
			u64 pte_addr = (pde & 0xfffff000ULL) + (((l >> 12) & 0x3ff) << 2);

			if (!mem_ok(pte_addr & ~7ULL))
				return (struct ref_out){ TV_WALK_NO_MEMORY, 0, 0, 0 };
			pte = (mem_at(pte_addr & ~7ULL) >> ((pte_addr & 4) * 8)) & 0xffffffffULL;
			if (!B(pte, 0))
				return (struct ref_out){ TV_WALK_PAGE_FAULT, 0, 0, base_ec };
			ent[n++] = pte;
			o.pa = (pte & 0xfffff000ULL) + (l & 0xfff);
		}
		goto rights;
	}
	if (!lma) {
		/* PAE: PDPTE i = LA[31:30] at CR3[31:5]. */
		u64 l = la & 0xffffffffULL, pdpte, addr;
		unsigned int lvl;

		if (p->pdptes) {
			pdpte = p->pdptes[(l >> 30) & 3];
		} else {
			addr = (p->cr3 & 0xffffffe0ULL) + 8 * ((l >> 30) & 3);
			if (!mem_ok(addr))
				return (struct ref_out){ TV_WALK_NO_MEMORY, 0, 0, 0 };
			pdpte = mem_at(addr);
		}
		if (!B(pdpte, 0))
			return (struct ref_out){ TV_WALK_PAGE_FAULT, 0, 0, base_ec };
		if ((pdpte & (ones(2, 1) | ones(8, 5) | ones(63, M))))
			return (struct ref_out){ TV_WALK_PAGE_FAULT, 0, 0, base_ec | 9 };
		table = pdpte & ones(M - 1, 12);
		for (lvl = 2; lvl >= 1; lvl--) {
			addr = table + 8 * ((l >> (12 + 9 * (lvl - 1))) & 511);
			if (!mem_ok(addr))
				return (struct ref_out){ TV_WALK_NO_MEMORY, 0, 0, 0 };
			e = mem_at(addr);
			if (!B(e, 0))
				return (struct ref_out){ TV_WALK_PAGE_FAULT, 0, 0, base_ec };
			if ((e & ones(62, M)) || (!nxe && B(e, 63)) ||
			    (lvl == 2 && B(e, 7) && (e & ones(20, 13))))
				return (struct ref_out){ TV_WALK_PAGE_FAULT, 0, 0, base_ec | 9 };
			ent[n++] = e;
			if (lvl == 1 || B(e, 7)) {
				o.size = lvl == 2 ? 2 << 20 : 4096;
				o.pa = (e & ones(M - 1, 12) & ~(o.size - 1)) |
				       (l & (o.size - 1));
				break;
			}
			table = e & ones(M - 1, 12);
		}
		goto rights;
	}
	/* IA-32e: canonical first (a #GP, not a #PF). */
	top = la57 ? 57 : 48;
	if ((u64)((s64)(la << (64 - top)) >> (64 - top)) != la)
		return (struct ref_out){ TV_WALK_NONCANONICAL, 0, 0, 0 };
	table = p->cr3 & ones(M - 1, 12);
	idxbits = 9;
	for (i = la57 ? 5 : 4; i >= 1 && !leaf; i--) {
		pa_of_entry = table + 8 * ((la >> (12 + idxbits * (i - 1))) & 511);
		if (!mem_ok(pa_of_entry))
			return (struct ref_out){ TV_WALK_NO_MEMORY, 0, 0, 0 };
		e = mem_at(pa_of_entry);
		if (!B(e, 0))
			return (struct ref_out){ TV_WALK_PAGE_FAULT, 0, 0, base_ec };
		if ((e & ones(51, M)) || (!nxe && B(e, 63)) ||
		    (i >= 4 && B(e, 7)) ||
		    (i == 3 && B(e, 7) && (p->no_1g_pages || (e & ones(29, 13)))) ||
		    (i == 2 && B(e, 7) && (e & ones(20, 13))))
			return (struct ref_out){ TV_WALK_PAGE_FAULT, 0, 0, base_ec | 9 };
		ent[n++] = e;
		if (i == 1 || ((i == 2 || i == 3) && B(e, 7))) {
			leaf = true;
			o.size = 1ULL << (12 + 9 * (i - 1));
			o.pa = (e & ones(M - 1, 12) & ~(o.size - 1)) |
			       (la & (o.size - 1));
		}
		table = e & ones(M - 1, 12);
	}
	(void)esize;

rights: {
	/* 4.6.1: a user-mode address has U/S=1 at every level; writable
	 * with R/W=1 at every level; not executable with XD=1 at some
	 * level (NXE=1, not 32-bit paging). */
	bool user_page = true, writable = true, xd = false, bad = false;
	bool ia32e = pae && lma, wp = B(p->cr0, 16);
	u32 pk = 0;

	for (i = 0; i < n; i++) {
		user_page = user_page && B(ent[i], 2);
		writable = writable && B(ent[i], 1);
		if (pae && nxe && B(ent[i], 63))
			xd = true;
	}
	if (!usr) {
		/* Supervisor-mode access. */
		if (fetch) {
			if (user_page && B(p->cr4, 20))
				bad = true;	/* SMEP */
			if (xd)
				bad = true;
		} else {
			if (user_page && B(p->cr4, 21) &&
			    (!(acc & TV_ACC_AC) || (acc & TV_ACC_IMPLICIT)))
				bad = true;	/* SMAP */
			if (wr && wp && !writable)
				bad = true;
		}
	} else {
		/* User-mode access: user-mode addresses only. */
		if (!user_page)
			bad = true;
		if (wr && !writable)
			bad = true;
		if (fetch && xd)
			bad = true;
	}
	if (ia32e && B(p->cr4, 22) && user_page && !fetch) {
		unsigned int key = (ent[n - 1] >> 59) & 15;

		if (B(p->pkru, 2 * key))
			pk = 32;
		if (wr && B(p->pkru, 2 * key + 1) && (usr || wp))
			pk = 32;
	}
	if (bad || pk)
		return (struct ref_out){ TV_WALK_PAGE_FAULT, 0, 0, base_ec | 1 | pk };
	return o;
}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = fz_init(data, size);
	struct tv_paging p = { 0 };
	u64 pdptes[4];
	u8 sel = fz_u8(&f), cr4sel = fz_u8(&f);
	u32 acc;
	u64 la;
	struct tv_walk w;
	struct ref_out r;
	enum tv_walk_status st;
	unsigned int i;

	p.cr0 = (sel & 1 ? TV_BIT(31) | 1 : 1) | (sel & 2 ? TV_BIT(16) : 0);
	p.cr4 = (sel & 4 ? TV_BIT(5) : 0) | (cr4sel & 1 ? TV_BIT(4) : 0) |
		(cr4sel & 2 ? TV_BIT(20) : 0) | (cr4sel & 4 ? TV_BIT(21) : 0) |
		(cr4sel & 8 ? TV_BIT(22) : 0) | (cr4sel & 16 ? TV_BIT(12) : 0);
	p.efer = (sel & 8 ? TV_BIT(10) | TV_BIT(8) : 0) |
		 (sel & 16 ? TV_BIT(11) : 0);
	p.no_1g_pages = sel & 32;
	p.maxphyaddr = 32 + fz_u8(&f) % 21;	/* 32..52 */
	p.pkru = fz_u32(&f);
	p.cr3 = fz_u64(&f);
	la = fz_u64(&f);
	acc = fz_u8(&f) & 31;
	if (sel & 64) {
		for (i = 0; i < 4; i++)
			pdptes[i] = fz_u64(&f);
		p.pdptes = pdptes;
	}
	for (i = 0; i < 64; i++)
		mem[i] = fz_u64(&f);
	/* Entries must point at 8-byte aligned addresses: they do (bits
	 * 11:0 of a table address are zero, CR3 is masked), except 32-bit
	 * paging's 4-byte entries, which core_read() is given aligned. */
	st = tv_guest_walk(&p, la, acc, core_read, NULL, &w);
	r = ref_walk(&p, la, acc);
	CHECK(st == r.st, "cr0 %#llx cr4 %#llx efer %#llx M %u la %#llx acc %#x: status %d want %d (ec %#x want %#x)",
	      p.cr0, p.cr4, p.efer, p.maxphyaddr, la, acc, st, r.st,
	      w.error_code, r.ec);
	if (st == TV_WALK_PAGE_FAULT)
		CHECK(w.error_code == r.ec, "la %#llx acc %#x cr4 %#llx: ec %#x want %#x",
		      la, acc, p.cr4, w.error_code, r.ec);
	if (st == TV_WALK_OK) {
		CHECK(w.pa == r.pa, "la %#llx: pa %#llx want %#llx", la, w.pa, r.pa);
		CHECK(w.page_size == r.size, "la %#llx: size %#llx want %#llx",
		      la, w.page_size, r.size);
	}
	return 0;
}
