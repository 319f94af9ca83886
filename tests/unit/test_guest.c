// SPDX-License-Identifier: MIT
/*
 * The guest page-table walk (core/guest.c) against known answers from the
 * SDM Vol. 3A chapter 4: 32-bit, PAE, 4- and 5-level paging, every page
 * size, reserved bits per MAXPHYADDR, the access rights of 4.6 (WP, SMEP,
 * SMAP, NX, protection keys) and the #PF error code of 4.7; then guest
 * linear reads and writes across pages through the fake platform's
 * physical memory.  Tables are built by hand here, entry by entry.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <cmocka.h>
#include "core/guest.h"
#include "arch/x86/vmx.h"
#include "arch/x86/msr.h"
#include "fake_platform.h"

#define MEM (1u << 20)		/* 1 MiB of guest-physical memory */
#define P 0x1ULL
#define RW 0x2ULL
#define US 0x4ULL
#define A 0x20ULL
#define D 0x40ULL
#define PS 0x80ULL
#define XD (1ULL << 63)
#define PRW (P | RW)
#define PRWU (P | RW | US)

#define CR4_PSE (1ULL << 4)
#define CR4_SMEP (1ULL << 20)
#define CR4_SMAP (1ULL << 21)
#define CR4_PKE (1ULL << 22)
#define CR4_LA57 (1ULL << 12)

static int setup(void **state)
{
	fake_reset();
	fake.phys_mem = aligned_alloc(4096, MEM);
	memset(fake.phys_mem, 0, MEM);
	fake.phys_size = MEM;
	return 0;
}

static int teardown(void **state)
{
	free(fake.phys_mem);
	fake_reset();
	return 0;
}

static void put(u64 pa, u64 v)
{
	memcpy(fake.phys_mem + pa, &v, 8);
}

static void put32(u64 pa, u32 v)
{
	memcpy(fake.phys_mem + pa, &v, 4);
}

static u64 get(u64 pa)
{
	u64 v;

	memcpy(&v, fake.phys_mem + pa, 8);
	return v;
}

static bool mem_read(void *ctx, u64 pa, u64 *val)
{
	(*(int *)ctx)++;
	assert_int_equal(pa & 7, 0);
	if (pa + 8 > MEM)
		return false;
	*val = get(pa);
	return true;
}

static enum tv_walk_status walk(const struct tv_paging *p, u64 la, u32 acc,
				struct tv_walk *w)
{
	int reads = 0;

	return tv_guest_walk(p, la, acc, mem_read, &reads, w);
}

/* 4-level tables for LA 0x00007f80_8060_3000 + n: 4 KiB page at 0x10000. */
#define LA4 0x00007f8080603000ULL
static struct tv_paging paging4(void)
{
	struct tv_paging p = {
		.cr0 = CR0_PE | CR0_PG | CR0_WP, .cr3 = 0x1000,
		.cr4 = CR4_PAE, .efer = EFER_LME | EFER_LMA | EFER_NXE,
		.maxphyaddr = 46,
	};

	/* PML4[255] PDPT[2] PD[3] PT[3] */
	put(0x1000 + 8 * 255, 0x2000 | PRWU);
	put(0x2000 + 8 * 2, 0x3000 | PRWU);
	put(0x3000 + 8 * 3, 0x4000 | PRWU);
	put(0x4000 + 8 * 3, 0x10000 | PRW);
	return p;
}

static void walk_4level_4k(void **state)
{
	struct tv_paging p = paging4();
	struct tv_walk w;

	assert_int_equal(walk(&p, LA4 + 0x123, 0, &w), TV_WALK_OK);
	assert_int_equal(w.pa, 0x10123);
	assert_int_equal(w.page_size, 4096);
	assert_int_equal(w.nentries, 4);
	assert_int_equal(w.entry_pa[0], 0x1000 + 8 * 255);
	assert_int_equal(w.entry_pa[3], 0x4000 + 8 * 3);
	assert_true(w.writable);
	assert_false(w.user);
	/* CR3's PCID bits and the high bits of an upper-half address. */
	p.cr3 = 0x1000 | 0x5a5;
	assert_int_equal(walk(&p, LA4 + 0xfff, TV_ACC_WRITE, &w), TV_WALK_OK);
	assert_int_equal(w.pa, 0x10fff);
}

static void walk_4level_not_present_each_level(void **state)
{
	static const u64 entry[4] = { 0x1000 + 8 * 255, 0x2000 + 16,
				      0x3000 + 24, 0x4000 + 24 };
	struct tv_walk w;
	int i;

	for (i = 0; i < 4; i++) {
		struct tv_paging p = paging4();

		put(entry[i], get(entry[i]) & ~P);
		assert_int_equal(walk(&p, LA4, 0, &w), TV_WALK_PAGE_FAULT);
		assert_int_equal(w.error_code, 0);
		assert_int_equal(walk(&p, LA4, TV_ACC_WRITE | TV_ACC_USER, &w),
				 TV_WALK_PAGE_FAULT);
		assert_int_equal(w.error_code, TV_PF_W | TV_PF_U);
		/* I/D: PAE-style paging with NXE. */
		assert_int_equal(walk(&p, LA4, TV_ACC_FETCH, &w),
				 TV_WALK_PAGE_FAULT);
		assert_int_equal(w.error_code, TV_PF_ID);
		memset(fake.phys_mem, 0, MEM);
	}
}

static void walk_4level_rights(void **state)
{
	struct tv_paging p = paging4();
	struct tv_walk w;

	/* Supervisor page: user read faults P|U. */
	assert_int_equal(walk(&p, LA4, TV_ACC_USER, &w), TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, TV_PF_P | TV_PF_U);
	/* Make it a user page: read OK; read-only leaf: user write faults. */
	put(0x4000 + 24, 0x10000 | P | US);
	assert_int_equal(walk(&p, LA4, TV_ACC_USER, &w), TV_WALK_OK);
	assert_int_equal(walk(&p, LA4, TV_ACC_USER | TV_ACC_WRITE, &w),
			 TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, TV_PF_P | TV_PF_W | TV_PF_U);
	/* Supervisor write to a read-only page: #PF with WP, fine without. */
	assert_int_equal(walk(&p, LA4, TV_ACC_WRITE, &w), TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, TV_PF_P | TV_PF_W);
	p.cr0 &= ~CR0_WP;
	assert_int_equal(walk(&p, LA4, TV_ACC_WRITE, &w), TV_WALK_OK);
	/* A read-only PDPTE makes the page read-only for users too. */
	put(0x4000 + 24, 0x10000 | PRWU);
	put(0x2000 + 16, 0x3000 | P | US);
	assert_int_equal(walk(&p, LA4, TV_ACC_USER | TV_ACC_WRITE, &w),
			 TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, TV_PF_P | TV_PF_W | TV_PF_U);
	put(0x2000 + 16, 0x3000 | PRWU);
	p.cr0 |= CR0_WP;

	/* SMEP: supervisor fetch from a user page. */
	assert_int_equal(walk(&p, LA4, TV_ACC_FETCH, &w), TV_WALK_OK);
	p.cr4 |= CR4_SMEP;
	assert_int_equal(walk(&p, LA4, TV_ACC_FETCH, &w), TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, TV_PF_P | TV_PF_ID);
	assert_int_equal(walk(&p, LA4, TV_ACC_FETCH | TV_ACC_USER, &w),
			 TV_WALK_OK);

	/* SMAP: supervisor data access to a user page unless AC (and not
	 * implicit). */
	p.cr4 |= CR4_SMAP;
	assert_int_equal(walk(&p, LA4, 0, &w), TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, TV_PF_P);
	assert_int_equal(walk(&p, LA4, TV_ACC_WRITE, &w), TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, TV_PF_P | TV_PF_W);
	assert_int_equal(walk(&p, LA4, TV_ACC_AC, &w), TV_WALK_OK);
	assert_int_equal(walk(&p, LA4, TV_ACC_AC | TV_ACC_WRITE, &w),
			 TV_WALK_OK);
	assert_int_equal(walk(&p, LA4, TV_ACC_AC | TV_ACC_IMPLICIT, &w),
			 TV_WALK_PAGE_FAULT);
	assert_int_equal(walk(&p, LA4, TV_ACC_USER, &w), TV_WALK_OK);

	/* NX at the PD level forbids fetches, user or not. */
	p.cr4 &= ~(CR4_SMEP | CR4_SMAP);
	put(0x3000 + 24, 0x4000 | PRWU | XD);
	assert_int_equal(walk(&p, LA4, 0, &w), TV_WALK_OK);
	assert_int_equal(walk(&p, LA4, TV_ACC_FETCH | TV_ACC_USER, &w),
			 TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, TV_PF_P | TV_PF_U | TV_PF_ID);
	assert_int_equal(walk(&p, LA4, TV_ACC_FETCH, &w), TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, TV_PF_P | TV_PF_ID);
	/* Without EFER.NXE bit 63 is reserved; the fetch has no I/D bit. */
	p.efer &= ~EFER_NXE;
	assert_int_equal(walk(&p, LA4, TV_ACC_FETCH, &w), TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, TV_PF_P | TV_PF_RSVD);
	assert_int_equal(walk(&p, LA4, TV_ACC_WRITE, &w), TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, TV_PF_P | TV_PF_RSVD | TV_PF_W);
}

static void walk_4level_reserved_bits(void **state)
{
	struct tv_paging p = paging4();
	struct tv_walk w;

	/* MAXPHYADDR 46: bit 46 of the leaf is reserved, bit 45 is not. */
	put(0x4000 + 24, 0x10000 | PRW | (1ULL << 45));
	assert_int_equal(walk(&p, LA4, 0, &w), TV_WALK_OK);
	assert_int_equal(w.pa, 0x200000010000ULL);
	put(0x4000 + 24, 0x10000 | PRW | (1ULL << 46));
	assert_int_equal(walk(&p, LA4, TV_ACC_USER, &w), TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, TV_PF_P | TV_PF_RSVD | TV_PF_U);
	/* ...unless MAXPHYADDR is 52; bits 62:52 are ignored. */
	p.maxphyaddr = 52;
	put(0x4000 + 24, 0x10000 | PRW | (1ULL << 51) | (0x7ffULL << 52));
	assert_int_equal(walk(&p, LA4, 0, &w), TV_WALK_OK);
	assert_int_equal(w.pa, 0x8000000010000ULL);
	/* A reserved bit in a not-present entry does not matter. */
	p.maxphyaddr = 46;
	put(0x4000 + 24, 0x10000 | (1ULL << 50));
	assert_int_equal(walk(&p, LA4, 0, &w), TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, 0);
	/* PS in a PML4E is reserved. */
	put(0x4000 + 24, 0x10000 | PRW);
	put(0x1000 + 8 * 255, 0x2000 | PRWU | PS);
	assert_int_equal(walk(&p, LA4, 0, &w), TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, TV_PF_P | TV_PF_RSVD);
}

static void walk_4level_large_pages(void **state)
{
	struct tv_paging p = paging4();
	struct tv_walk w;

	/* 2 MiB: PD[3] is a leaf at 0x4_0020_0000 (PAT bit 12 not address). */
	put(0x3000 + 24, 0x400200000ULL | PRW | PS | (1ULL << 12));
	assert_int_equal(walk(&p, LA4 + 0x45, 0, &w), TV_WALK_OK);
	assert_int_equal(w.pa, 0x400200000ULL + 0x3045);
	assert_int_equal(w.page_size, 2u << 20);
	assert_int_equal(w.nentries, 3);
	/* Bits 20:13 of a 2 MiB leaf are reserved. */
	put(0x3000 + 24, 0x400200000ULL | PRW | PS | (1ULL << 13));
	assert_int_equal(walk(&p, LA4, 0, &w), TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, TV_PF_P | TV_PF_RSVD);

	/* 1 GiB: PDPT[2] a leaf at 0x80_4000_0000. */
	put(0x2000 + 16, 0x8040000000ULL | PRW | PS);
	assert_int_equal(walk(&p, LA4 + 7, 0, &w), TV_WALK_OK);
	assert_int_equal(w.pa, 0x8040000000ULL + 0x603007);
	assert_int_equal(w.page_size, 1u << 30);
	assert_int_equal(w.nentries, 2);
	put(0x2000 + 16, 0x8040000000ULL | PRW | PS | (1ULL << 29));
	assert_int_equal(walk(&p, LA4, 0, &w), TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, TV_PF_P | TV_PF_RSVD);
	/* Without 1 GiB page support PS in a PDPTE is reserved. */
	put(0x2000 + 16, 0x8040000000ULL | PRW | PS);
	p.no_1g_pages = true;
	assert_int_equal(walk(&p, LA4, 0, &w), TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, TV_PF_P | TV_PF_RSVD);
}

static void walk_canonical_and_5level(void **state)
{
	struct tv_paging p = paging4();
	struct tv_walk w;

	assert_int_equal(walk(&p, 0x0000800000000000ULL, 0, &w),
			 TV_WALK_NONCANONICAL);
	assert_int_equal(walk(&p, 0xffff7fffffffffffULL, 0, &w),
			 TV_WALK_NONCANONICAL);
	/* Upper half: PML4[511]. */
	put(0x1000 + 8 * 511, 0x2000 | PRW);
	put(0x2000 + 8 * 511, 0x200000000ULL | PRW | PS);
	assert_int_equal(walk(&p, 0xffffffffc0000010ULL, 0, &w), TV_WALK_OK);
	assert_int_equal(w.pa, 0x200000010ULL);

	/* 5-level: PML5 at 0x5000, PML5[1] -> the PML4 above; LA bit 48. */
	p.cr4 |= CR4_LA57;
	p.cr3 = 0x5000;
	put(0x5000 + 8, 0x1000 | PRWU);
	assert_int_equal(walk(&p, (1ULL << 48) | LA4 | 0x10, 0, &w),
			 TV_WALK_OK);
	assert_int_equal(w.pa, 0x10010);
	assert_int_equal(w.nentries, 5);
	/* Canonical at bit 56 now; 47 set alone is fine. */
	assert_int_equal(walk(&p, 0x0100000000000000ULL, 0, &w),
			 TV_WALK_NONCANONICAL);
	assert_int_equal(walk(&p, 0x0000800000000000ULL, 0, &w),
			 TV_WALK_PAGE_FAULT);
	/* PS in a PML5E is reserved. */
	put(0x5000 + 8, 0x1000 | PRWU | PS);
	assert_int_equal(walk(&p, (1ULL << 48) | LA4, 0, &w),
			 TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, TV_PF_P | TV_PF_RSVD);
}

static void walk_paging_off(void **state)
{
	struct tv_paging p = { .cr0 = CR0_PE, .cr4 = CR4_PAE,
			       .efer = EFER_NXE };
	struct tv_walk w;

	assert_int_equal(walk(&p, 0x1234567890ULL, TV_ACC_WRITE | TV_ACC_USER,
			      &w), TV_WALK_OK);
	assert_int_equal(w.pa, 0x34567890);
}

/* PAE: CR3 -> 4 PDPTEs at 0x6020; LA 0xc0403000 = PDPT[3] PD[2] PT[3]. */
static struct tv_paging paging_pae(void)
{
	struct tv_paging p = { .cr0 = CR0_PE | CR0_PG | CR0_WP,
			       .cr3 = 0x6020, .cr4 = CR4_PAE,
			       .efer = EFER_NXE, .maxphyaddr = 36 };

	put(0x6020 + 24, 0x7000 | P);
	put(0x7000 + 16, 0x8000 | PRWU);
	put(0x8000 + 24, 0x11000 | PRWU | XD);
	return p;
}

static void walk_pae(void **state)
{
	struct tv_paging p = paging_pae();
	u64 pdptes[4] = { 0, 0, 0, 0x7000 | P };
	struct tv_walk w;

	assert_int_equal(walk(&p, 0xc0403abcULL, TV_ACC_USER | TV_ACC_WRITE,
			      &w), TV_WALK_OK);
	assert_int_equal(w.pa, 0x11abc);
	/* The PDPTE has no accessed bit: only PDE and PTE are noted. */
	assert_int_equal(w.nentries, 2);
	assert_int_equal(walk(&p, 0xc0403abcULL, TV_ACC_FETCH, &w),
			 TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, TV_PF_P | TV_PF_ID);
	/* The upper 32 bits of the address are ignored. */
	assert_int_equal(walk(&p, 0x5c0403abcULL, 0, &w), TV_WALK_OK);
	assert_int_equal(w.pa, 0x11abc);
	/* Bits 62:36 are reserved in PAE entries (not only 51:M). */
	put(0x8000 + 24, 0x11000 | PRWU | (1ULL << 60));
	assert_int_equal(walk(&p, 0xc0403000ULL, 0, &w), TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, TV_PF_P | TV_PF_RSVD);
	/* PDPTEs from the VMCS override memory. */
	put(0x8000 + 24, 0x11000 | PRWU);
	put(0x6020 + 24, 0);
	assert_int_equal(walk(&p, 0xc0403000ULL, 0, &w), TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, 0);
	p.pdptes = pdptes;
	assert_int_equal(walk(&p, 0xc0403000ULL, 0, &w), TV_WALK_OK);
	/* A PDPTE with RW set has a reserved bit. */
	pdptes[3] |= RW;
	assert_int_equal(walk(&p, 0xc0403000ULL, 0, &w), TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, TV_PF_P | TV_PF_RSVD);
	/* 2 MiB page at 0x8_0040_0000 (36-bit MAXPHYADDR: bit 35 ok). */
	pdptes[3] = 0x7000 | P;
	put(0x7000 + 16, 0x800400000ULL | PRW | PS);
	assert_int_equal(walk(&p, 0xc0403abcULL, 0, &w), TV_WALK_OK);
	assert_int_equal(w.pa, 0x800403abcULL);
	assert_int_equal(w.page_size, 2u << 20);
	/* No NXE: bit 63 reserved, fetches carry no I/D bit. */
	p.efer = 0;
	put(0x7000 + 16, 0x8000 | PRWU);
	put(0x8000 + 24, 0x11000 | P);
	assert_int_equal(walk(&p, 0xc0403000ULL, TV_ACC_FETCH | TV_ACC_WRITE |
			      TV_ACC_USER, &w), TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, TV_PF_P | TV_PF_W | TV_PF_U);
}

/* 32-bit: CR3 0x9000, LA 0x80403000 = PD[0x201] PT[3]. */
static void walk_32bit(void **state)
{
	struct tv_paging p = { .cr0 = CR0_PE | CR0_PG | CR0_WP, .cr3 = 0x9000,
			       .maxphyaddr = 36 };
	struct tv_walk w;

	put32(0x9000 + 4 * 0x201, 0xa000 | PRWU);
	put32(0xa000 + 4 * 3, 0x12000 | P | US);
	assert_int_equal(walk(&p, 0x80403555ULL, TV_ACC_USER, &w), TV_WALK_OK);
	assert_int_equal(w.pa, 0x12555);
	assert_int_equal(w.entry_size, 4);
	assert_int_equal(w.entry_pa[0], 0x9000 + 4 * 0x201);
	assert_int_equal(w.entry_pa[1], 0xa000 + 4 * 3);
	assert_int_equal(walk(&p, 0x80403555ULL, TV_ACC_USER | TV_ACC_WRITE,
			      &w), TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, TV_PF_P | TV_PF_W | TV_PF_U);
	/* No NX in 32-bit paging: I/D only with SMEP. */
	assert_int_equal(walk(&p, 0x80403555ULL, TV_ACC_FETCH | TV_ACC_USER,
			      &w), TV_WALK_OK);
	put32(0xa000 + 4 * 3, 0);
	assert_int_equal(walk(&p, 0x80403555ULL, TV_ACC_FETCH, &w),
			 TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, 0);
	p.cr4 = CR4_SMEP;
	assert_int_equal(walk(&p, 0x80403555ULL, TV_ACC_FETCH, &w),
			 TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, TV_PF_ID);

	/* PS without CR4.PSE: the PDE still points at a page table. */
	p.cr4 = 0;
	put32(0x9000 + 4 * 0x201, 0xa000 | PRWU | PS);
	put32(0xa000 + 4 * 3, 0x12000 | P);
	assert_int_equal(walk(&p, 0x80403555ULL, 0, &w), TV_WALK_OK);
	assert_int_equal(w.pa, 0x12555);
	/* With PSE: a 4 MiB page, PSE-36 bits 16:13 = PA 35:32. */
	p.cr4 = CR4_PSE;
	put32(0x9000 + 4 * 0x201, 0x80c00000u | PRW | PS | (0x5u << 13));
	assert_int_equal(walk(&p, 0x80403555ULL, 0, &w), TV_WALK_OK);
	assert_int_equal(w.pa, 0x580c03555ULL);
	assert_int_equal(w.page_size, 4u << 20);
	/* Bit 17 is PA bit 36: reserved with MAXPHYADDR 36; bit 21 always. */
	put32(0x9000 + 4 * 0x201, 0x80c00000u | PRW | PS | (1u << 17));
	assert_int_equal(walk(&p, 0x80403555ULL, 0, &w), TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, TV_PF_P | TV_PF_RSVD);
	p.maxphyaddr = 40;
	assert_int_equal(walk(&p, 0x80403555ULL, 0, &w), TV_WALK_OK);
	assert_int_equal(w.pa, 0x1080c03555ULL);
	put32(0x9000 + 4 * 0x201, 0x80c00000u | PRW | PS | (1u << 21));
	assert_int_equal(walk(&p, 0x80403555ULL, 0, &w), TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, TV_PF_P | TV_PF_RSVD);
}

static void walk_protection_keys(void **state)
{
	struct tv_paging p = paging4();
	struct tv_walk w;

	/* User page with key 5. */
	put(0x4000 + 24, 0x10000 | PRWU | (5ULL << 59));
	p.cr4 |= CR4_PKE;
	p.pkru = 1u << 11;	/* WD5 */
	assert_int_equal(walk(&p, LA4, TV_ACC_USER, &w), TV_WALK_OK);
	assert_int_equal(walk(&p, LA4, TV_ACC_USER | TV_ACC_WRITE, &w),
			 TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, TV_PF_P | TV_PF_W | TV_PF_U | TV_PF_PK);
	/* Supervisor writes obey WD only with CR0.WP. */
	assert_int_equal(walk(&p, LA4, TV_ACC_WRITE, &w), TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, TV_PF_P | TV_PF_W | TV_PF_PK);
	p.cr0 &= ~CR0_WP;
	assert_int_equal(walk(&p, LA4, TV_ACC_WRITE, &w), TV_WALK_OK);
	/* AD5 blocks every data access, never fetches. */
	p.pkru = 1u << 10;
	assert_int_equal(walk(&p, LA4, TV_ACC_USER, &w), TV_WALK_PAGE_FAULT);
	assert_int_equal(w.error_code, TV_PF_P | TV_PF_U | TV_PF_PK);
	assert_int_equal(walk(&p, LA4, TV_ACC_FETCH | TV_ACC_USER, &w),
			 TV_WALK_OK);
	/* Another key's bits, or CR4.PKE clear: no effect. */
	p.pkru = ~(3u << 10);
	assert_int_equal(walk(&p, LA4, TV_ACC_USER | TV_ACC_WRITE, &w),
			 TV_WALK_OK);
	p.pkru = 1u << 10;
	p.cr4 &= ~CR4_PKE;
	assert_int_equal(walk(&p, LA4, TV_ACC_USER, &w), TV_WALK_OK);
	/* Keys do not apply to supervisor pages. */
	p.cr4 |= CR4_PKE;
	put(0x4000 + 24, 0x10000 | PRW | (5ULL << 59));
	assert_int_equal(walk(&p, LA4, 0, &w), TV_WALK_OK);
}

static void walk_table_outside_memory(void **state)
{
	struct tv_paging p = paging4();
	struct tv_walk w;

	put(0x3000 + 24, 0x7ff000000ULL | PRW);
	assert_int_equal(walk(&p, LA4, 0, &w), TV_WALK_NO_MEMORY);
}

/* --- guest linear memory ---------------------------------------------- */

static void guest_read_write_across_pages(void **state)
{
	struct tv_paging p = paging4();
	struct tv_guest_fault f = { 0, 0, 0 };
	u8 buf[16], out[16];
	int i;

	/* LA4+0x1000 -> PT[4] -> 0x20000: not contiguous with 0x10000. */
	put(0x4000 + 32, 0x20000 | PRW);
	for (i = 0; i < 16; i++)
		buf[i] = (u8)(0xa0 + i);
	assert_int_equal(tv_guest_write(&p, LA4 + 0xff8, buf, 16, 0, &f),
			 TV_GUEST_OK);
	assert_memory_equal(fake.phys_mem + 0x10ff8, buf, 8);
	assert_memory_equal(fake.phys_mem + 0x20000, buf + 8, 8);
	/* Accessed bits on every level, dirty on the leaves only. */
	assert_int_equal(get(0x1000 + 8 * 255) & (A | D), A);
	assert_int_equal(get(0x3000 + 24) & (A | D), A);
	assert_int_equal(get(0x4000 + 24) & (A | D), A | D);
	assert_int_equal(get(0x4000 + 32) & (A | D), A | D);
	assert_int_equal(tv_guest_read(&p, LA4 + 0xff8, out, 16, 0, &f),
			 TV_GUEST_OK);
	assert_memory_equal(out, buf, 16);
}

static void guest_write_faults_before_any_byte(void **state)
{
	struct tv_paging p = paging4();
	struct tv_guest_fault f = { 0, 0, 0 };
	u8 buf[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, zero[4] = { 0 };

	/* Second page read-only: the write faults on it, CR2 at its start,
	 * and the first page is untouched. */
	put(0x4000 + 32, 0x20000 | P);
	assert_int_equal(tv_guest_write(&p, LA4 + 0xffc, buf, 8, 0, &f),
			 TV_GUEST_FAULT);
	assert_int_equal(f.vector, 14);
	assert_int_equal(f.error, TV_PF_P | TV_PF_W);
	assert_int_equal(f.cr2, LA4 + 0x1000);
	assert_memory_equal(fake.phys_mem + 0x10ffc, zero, 4);
	assert_int_equal(get(0x4000 + 24) & D, 0);
	/* A read of the same bytes works. */
	assert_int_equal(tv_guest_read(&p, LA4 + 0xffc, buf, 8, 0, &f),
			 TV_GUEST_OK);
	/* User access to the supervisor page: #PF P|U at the first byte. */
	assert_int_equal(tv_guest_read(&p, LA4 + 0xffc, buf, 8, TV_ACC_USER,
				       &f), TV_GUEST_FAULT);
	assert_int_equal(f.error, TV_PF_P | TV_PF_U);
	assert_int_equal(f.cr2, LA4 + 0xffc);
	/* Instruction bytes: fetched as the CPU would, NX applies. */
	put(0x3000 + 24, get(0x3000 + 24) | XD);
	assert_int_equal(tv_guest_read(&p, LA4 + 0xffc, buf, 2, 0, &f),
			 TV_GUEST_OK);
	assert_int_equal(tv_guest_read(&p, LA4 + 0xffc, buf, 2, TV_ACC_FETCH,
				       &f), TV_GUEST_FAULT);
	assert_int_equal(f.error, TV_PF_P | TV_PF_ID);
	/* Non-canonical: #GP(0). */
	assert_int_equal(tv_guest_read(&p, 0x8000000000000000ULL, buf, 1, 0,
				       &f), TV_GUEST_FAULT);
	assert_int_equal(f.vector, 13);
	assert_int_equal(f.error, 0);
}

static void guest_mmio_and_virt_to_phys(void **state)
{
	struct tv_paging p = paging4();
	struct tv_guest_fault f = { 0, 0, 0 };
	u64 pa = 0;
	u8 b;

	/* A leaf beyond the fake's RAM: translated, but no host mapping. */
	put(0x4000 + 24, 0xfee00000ULL | PRW);
	assert_int_equal(tv_guest_read(&p, LA4, &b, 1, 0, &f),
			 TV_GUEST_NO_MEMORY);
	assert_int_equal(tv_guest_virt_to_phys(&p, LA4 + 0x30, 0, &pa, &f),
			 TV_GUEST_OK);
	assert_int_equal(pa, 0xfee00030ULL);
	/* virt_to_phys leaves A/D alone and reports faults. */
	assert_int_equal(get(0x4000 + 24) & A, 0);
	assert_int_equal(tv_guest_virt_to_phys(&p, LA4 + 0x1000, 0, &pa, &f),
			 TV_GUEST_FAULT);
	assert_int_equal(f.vector, 14);
	assert_int_equal(f.error, 0);
	assert_int_equal(f.cr2, LA4 + 0x1000);
}

static void guest_32bit_sets_accessed_in_4_byte_entries(void **state)
{
	struct tv_paging p = { .cr0 = CR0_PE | CR0_PG, .cr3 = 0x9000,
			       .maxphyaddr = 36 };
	struct tv_guest_fault f;
	u32 v = 0xdeadbeef;

	put32(0x9000 + 4 * 0x201, 0xa000 | PRWU);
	put32(0xa000 + 4 * 3, 0x12000 | PRW);
	put32(0xa000 + 4 * 2, 0x77777777);	/* the neighbour entry */
	assert_int_equal(tv_guest_write(&p, 0x80403010ULL, &v, 4, 0, &f),
			 TV_GUEST_OK);
	assert_int_equal(get(0x12010) & 0xffffffff, 0xdeadbeef);
	assert_int_equal(get(0xa000 + 8),
			 (0x12000 | PRW | A | D) << 32 | 0x77777777ULL);
	assert_int_equal(get(0x9000 + 4 * 0x200) >> 32, 0xa000 | PRWU | A);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(walk_4level_4k, setup, teardown),
		cmocka_unit_test_setup_teardown(walk_4level_not_present_each_level, setup, teardown),
		cmocka_unit_test_setup_teardown(walk_4level_rights, setup, teardown),
		cmocka_unit_test_setup_teardown(walk_4level_reserved_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(walk_4level_large_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(walk_canonical_and_5level, setup, teardown),
		cmocka_unit_test_setup_teardown(walk_paging_off, setup, teardown),
		cmocka_unit_test_setup_teardown(walk_pae, setup, teardown),
		cmocka_unit_test_setup_teardown(walk_32bit, setup, teardown),
		cmocka_unit_test_setup_teardown(walk_protection_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(walk_table_outside_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(guest_read_write_across_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(guest_write_faults_before_any_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(guest_mmio_and_virt_to_phys, setup, teardown),
		cmocka_unit_test_setup_teardown(guest_32bit_sets_accessed_in_4_byte_entries, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
