// SPDX-License-Identifier: MIT
/*
 * Exit-information decoders and operand addressing (core/decode.c), and
 * descriptor-table instruction emulation (core/desc.c), against known
 * answers from the SDM: the instruction-information formats for
 * LIDT/LGDT/SIDT/SGDT and LLDT/LTR/SLDT/STR and the I/O and MOV-DR
 * qualifications (Vol. 3C 28.2.1, 28.2.5), segmentation (Vol. 3A 5.3),
 * and the instruction pages of Vol. 2.  Guest memory is the fake
 * platform's; the descriptors are built here byte by byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <cmocka.h>
#include "core/decode.h"
#include "core/desc.h"
#include "arch/x86/vmx.h"
#include "arch/x86/msr.h"
#include "fake_platform.h"

#define MEM (1u << 20)

/* Field builders, from the tables' bit positions. */
#define SCALE(s) ((u32)(s))
#define ASIZE(a) ((u32)(a) << 7)
#define OPSIZE32 (1u << 11)
#define SEG(s) ((u32)(s) << 15)
#define INDEX(r) ((u32)(r) << 18)
#define NO_INDEX (1u << 22)
#define BASE(r) ((u32)(r) << 23)
#define NO_BASE (1u << 27)
#define IDENT(i) ((u32)(i) << 28)
#define REG1(r) ((u32)(r) << 3)
#define ISREG (1u << 10)

static void decode_instruction_information(void **state)
{
	/* SGDT [rax + rbx*4 + disp], DS, 64-bit addressing. */
	struct tv_instr_info ii = tv_decode_dt_info(0xd8102);

	assert_int_equal(0xd8102, SCALE(2) | ASIZE(2) | SEG(3) | INDEX(3) |
			 BASE(0) | IDENT(0));
	assert_int_equal(ii.scale, 2);
	assert_int_equal(ii.addr_size, 2);
	assert_int_equal(ii.seg, 3);
	assert_int_equal(ii.index, 3);
	assert_true(ii.index_valid);
	assert_int_equal(ii.base, 0);
	assert_true(ii.base_valid);
	assert_int_equal(ii.identity, TV_DT_SGDT);
	assert_int_equal(ii.op_size, 0);
	/* LIDT [disp32], GS, 32-bit operand size, no base, no index; the
	 * undefined bits (2-6, 10, 12-14, 30-31) set and ignored. */
	ii = tv_decode_dt_info(0xc0007c7c | ASIZE(1) | OPSIZE32 | SEG(5) |
			       INDEX(15) | NO_INDEX | BASE(13) | NO_BASE |
			       IDENT(3));
	assert_int_equal(ii.scale, 0);
	assert_int_equal(ii.addr_size, 1);
	assert_int_equal(ii.op_size, 1);
	assert_int_equal(ii.seg, 5);
	assert_false(ii.index_valid);
	assert_false(ii.base_valid);
	assert_int_equal(ii.base, 13);
	assert_int_equal(ii.identity, TV_DT_LIDT);
	/* LTR r9 (register form) and SLDT [rsp+8] (memory). */
	ii = tv_decode_seg_info(ISREG | REG1(9) | IDENT(3) | ASIZE(2));
	assert_true(ii.is_reg);
	assert_int_equal(ii.reg, 9);
	assert_int_equal(ii.identity, TV_SEG_LTR);
	ii = tv_decode_seg_info(ASIZE(2) | SEG(2) | BASE(4) | NO_INDEX |
				IDENT(0));
	assert_false(ii.is_reg);
	assert_int_equal(ii.seg, 2);
	assert_int_equal(ii.base, 4);
	assert_int_equal(ii.identity, TV_SEG_SLDT);
	/* OUTS: segment from the field; INS: always ES. */
	ii = tv_decode_io_info(ASIZE(1) | SEG(4), false);
	assert_int_equal(ii.addr_size, 1);
	assert_int_equal(ii.seg, 4);
	ii = tv_decode_io_info(ASIZE(0) | SEG(4), true);
	assert_int_equal(ii.seg, 0);
	assert_int_equal(ii.addr_size, 0);
}

static void decode_qualifications(void **state)
{
	struct tv_io_access io;
	struct tv_dr_access dr;

	/* OUT 0x80, AL: size 0, out, immediate, port 0x80. */
	io = tv_decode_io(0x00800040);
	assert_int_equal(io.size, 1);
	assert_false(io.in);
	assert_false(io.string);
	assert_false(io.rep);
	assert_true(io.imm);
	assert_int_equal(io.port, 0x80);
	/* REP INSD from DX = 0x1f0: size 3, in, string, rep, DX. */
	io = tv_decode_io(0x01f00000 | 3 | 8 | 16 | 32);
	assert_int_equal(io.size, 4);
	assert_true(io.in && io.string && io.rep);
	assert_false(io.imm);
	assert_int_equal(io.port, 0x1f0);
	/* IN AX, DX: size 1 -> 2 bytes; bits 63:32 ignored. */
	io = tv_decode_io(0xffffffff0cf80009ULL);
	assert_int_equal(io.size, 2);
	assert_true(io.in);
	assert_int_equal(io.port, 0xcf8);

	/* MOV DR7, RBX: dr 7, to DR, gpr 3. MOV R12, DR6: from DR, 12. */
	dr = tv_decode_dr(0x307);
	assert_int_equal(dr.dr, 7);
	assert_false(dr.from_dr);
	assert_int_equal(dr.gpr, 3);
	dr = tv_decode_dr(0xc16);
	assert_int_equal(dr.dr, 6);
	assert_true(dr.from_dr);
	assert_int_equal(dr.gpr, 12);

	assert_int_equal(tv_decode_invlpg(0xffff888012345000ULL, true),
			 0xffff888012345000ULL);
	assert_int_equal(tv_decode_invlpg(0xdeadbeefc0001000ULL, false),
			 0xc0001000ULL);
}

static void operand_offsets(void **state)
{
	u64 gpr[16] = { 0 };
	struct tv_instr_info ii;

	gpr[0] = 0x1000;		/* rax */
	gpr[3] = 0x30;			/* rbx */
	gpr[4] = 0xffffffffffff0000ULL;	/* rsp */
	ii = tv_decode_dt_info(SCALE(2) | ASIZE(2) | SEG(3) | INDEX(3) |
			       BASE(0));
	assert_int_equal(tv_decode_offset(&ii, 0x10, gpr), 0x10d0);
	/* Negative displacement, sign-extended in the qualification. */
	assert_int_equal(tv_decode_offset(&ii, (u64)-0x20, gpr), 0x10a0);
	/* RSP as base, no index: the stack. */
	ii = tv_decode_dt_info(ASIZE(2) | SEG(2) | BASE(4) | NO_INDEX);
	assert_int_equal(tv_decode_offset(&ii, 8, gpr), 0xffffffffffff0008ULL);
	/* 32-bit and 16-bit addressing truncate. */
	ii = tv_decode_dt_info(ASIZE(1) | SEG(2) | BASE(4) | NO_INDEX);
	assert_int_equal(tv_decode_offset(&ii, 8, gpr), 0xffff0008ULL);
	gpr[5] = 0xfff0;		/* rbp */
	gpr[6] = 0x20;			/* rsi */
	ii = tv_decode_dt_info(ASIZE(0) | SEG(2) | BASE(5) | INDEX(6));
	assert_int_equal(tv_decode_offset(&ii, 0, gpr), 0x10);
	/* RIP-relative: no base, no index, the qualification is it all. */
	ii = tv_decode_dt_info(ASIZE(2) | NO_BASE | NO_INDEX);
	assert_int_equal(tv_decode_offset(&ii, 0xffffffff81234567ULL, gpr),
			 0xffffffff81234567ULL);
}

static void linear_addresses(void **state)
{
	struct tv_segment ds = { 0x18, 0x10000, 0xffff, 0x93 };
	struct tv_segment fs = { 0, 0x7f0000000000ULL, 0xffffffff, 0x93 };
	u64 la = 0;

	/* 64-bit mode: DS base ignored, FS base used, canonical checks. */
	assert_int_equal(tv_decode_linear(&ds, 3, 0x5000, 8, true,
					  TV_MODE_64 | TV_MODE_PROT, &la), 0);
	assert_int_equal(la, 0x5000);
	assert_int_equal(tv_decode_linear(&fs, 4, 0x10, 8, false,
					  TV_MODE_64 | TV_MODE_PROT, &la), 0);
	assert_int_equal(la, 0x7f0000000010ULL);
	assert_int_equal(tv_decode_linear(&fs, 4, 0xfffffffff8ULL, 16, false,
					  TV_MODE_64 | TV_MODE_PROT, &la), 13);
	assert_int_equal(tv_decode_linear(&ds, 2, 0x00007ffffffffffcULL, 8,
					  false, TV_MODE_64, &la), 12);
	assert_int_equal(tv_decode_linear(&ds, 3, 0x00007ffffffffffcULL, 8,
					  false, TV_MODE_64 | TV_MODE_LA57,
					  &la), 0);
	/* Protected mode, expand-up limit 0xffff. */
	assert_int_equal(tv_decode_linear(&ds, 3, 0xfffa, 6, true,
					  TV_MODE_PROT, &la), 0);
	assert_int_equal(la, 0x1fffa);
	assert_int_equal(tv_decode_linear(&ds, 3, 0xfffb, 6, true,
					  TV_MODE_PROT, &la), 13);
	assert_int_equal(tv_decode_linear(&ds, 2, 0xfffb, 6, true,
					  TV_MODE_PROT, &la), 12);
	/* Read-only data: reads fine, writes #GP; unusable: #GP. */
	ds.ar = 0x91;
	assert_int_equal(tv_decode_linear(&ds, 3, 0, 2, false, TV_MODE_PROT,
					  &la), 0);
	assert_int_equal(tv_decode_linear(&ds, 3, 0, 2, true, TV_MODE_PROT,
					  &la), 13);
	/* ...real mode checks only the limit. */
	assert_int_equal(tv_decode_linear(&ds, 3, 0, 2, true, 0, &la), 0);
	ds.ar = 0x93 | TV_AR_UNUSABLE;
	assert_int_equal(tv_decode_linear(&ds, 3, 0, 2, false, TV_MODE_PROT,
					  &la), 13);
	/* Code: readable code may be read, never written; execute-only
	 * not even read. */
	ds.ar = 0x9b;
	assert_int_equal(tv_decode_linear(&ds, 1, 0, 2, false, TV_MODE_PROT,
					  &la), 0);
	assert_int_equal(tv_decode_linear(&ds, 1, 0, 2, true, TV_MODE_PROT,
					  &la), 13);
	ds.ar = 0x99;
	assert_int_equal(tv_decode_linear(&ds, 1, 0, 2, false, TV_MODE_PROT,
					  &la), 13);
	/* Expand-down, limit 0x0fff, B=1: offsets 0x1000-0xffffffff. */
	ds.ar = 0x97 | (1u << 14);
	ds.limit = 0xfff;
	assert_int_equal(tv_decode_linear(&ds, 3, 0xfff, 1, false,
					  TV_MODE_PROT, &la), 13);
	assert_int_equal(tv_decode_linear(&ds, 3, 0x1000, 4, false,
					  TV_MODE_PROT, &la), 0);
	assert_int_equal(tv_decode_linear(&ds, 3, 0xfffffffc, 4, false,
					  TV_MODE_PROT, &la), 0);
	assert_int_equal(la, 0xfffc);	/* 0x10000 + 0xfffffffc wraps */
	assert_int_equal(tv_decode_linear(&ds, 3, 0xfffffffd, 4, false,
					  TV_MODE_PROT, &la), 13);
	/* B=0: the upper end is 0xffff. */
	ds.ar = 0x97;
	assert_int_equal(tv_decode_linear(&ds, 3, 0xfffe, 4, false,
					  TV_MODE_PROT, &la), 13);
}

/* --- descriptor-table emulation --------------------------------------- */

#define GDT 0x2000
#define MEMOP 0x8000

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

static u64 get(u64 pa, unsigned int n)
{
	u64 v = 0;

	memcpy(&v, fake.phys_mem + pa, n);
	return v;
}

/*
 * A 64-bit kernel: CS.L, one identity 2 MiB supervisor page over the fake
 * memory (PML4 0x10000 -> PDPT 0x11000 -> PD 0x12000).
 */
static struct tv_desc_state state64(void)
{
	struct tv_desc_state st;
	int i;

	memset(&st, 0, sizeof(st));
	put(0x10000, 0x11000 | 3);
	put(0x11000, 0x12000 | 3);
	put(0x12000, 0x0 | 0x83);	/* 2 MiB page at 0, supervisor */
	st.paging.cr0 = CR0_PE | CR0_PG | CR0_WP;
	st.paging.cr3 = 0x10000;
	st.paging.cr4 = CR4_PAE;
	st.paging.efer = EFER_LME | EFER_LMA | EFER_NXE;
	st.paging.maxphyaddr = 46;
	for (i = 0; i < 6; i++)
		st.seg[i] = (struct tv_segment){ 0x18, 0, 0xffffffff, 0xc093 };
	st.seg[TV_DESC_CS] = (struct tv_segment){ 0x10, 0, 0xffffffff, 0xa09b };
	st.seg[TV_DESC_LDTR] = (struct tv_segment){ 0, 0, 0, TV_AR_UNUSABLE };
	st.seg[TV_DESC_TR] = (struct tv_segment){ 0x40, 0x5000, 0x67, 0x8b };
	st.gdtr_base = GDT;
	st.gdtr_limit = 0x7f;
	st.idtr_base = 0xfffffe0000000000ULL;
	st.idtr_limit = 0xfff;
	st.rflags = 2;
	return st;
}

/* A 32-bit protected-mode kernel without paging. */
static struct tv_desc_state state32(void)
{
	struct tv_desc_state st = state64();

	st.paging.cr0 = CR0_PE;
	st.paging.cr4 = 0;
	st.paging.efer = 0;
	st.seg[TV_DESC_CS].ar = 0xc09b;
	return st;
}

static enum tv_desc_result run(struct tv_desc_state *st, bool ldtr_tr,
			       u32 info, u64 qual, struct tv_guest_fault *f,
			       u32 *changed, unsigned int *reg)
{
	return tv_desc_emulate(st, ldtr_tr, info, qual, f, changed, reg);
}

static void sgdt_sidt(void **state)
{
	struct tv_desc_state st = state64();
	struct tv_guest_fault f;
	u32 ch;
	unsigned int reg;

	/* SIDT [rbx+8], 64-bit: limit then 8 bytes of base. */
	st.gpr[3] = MEMOP;
	assert_int_equal(run(&st, false, ASIZE(2) | SEG(3) | BASE(3) |
			     NO_INDEX | IDENT(TV_DT_SIDT), 8, &f, &ch, &reg),
			 TV_DESC_DONE);
	assert_int_equal(ch, 0);
	assert_int_equal(get(MEMOP + 8, 2), 0xfff);
	assert_int_equal(get(MEMOP + 10, 8), 0xfffffe0000000000ULL);
	/* SGDT in 32-bit mode: 6 bytes, the 7th untouched. */
	st = state32();
	put(MEMOP, ~0ULL);
	st.gdtr_base = 0xc1234567;
	assert_int_equal(run(&st, false, ASIZE(1) | SEG(3) | NO_BASE |
			     NO_INDEX | IDENT(TV_DT_SGDT), MEMOP, &f, &ch,
			     &reg), TV_DESC_DONE);
	assert_int_equal(get(MEMOP, 8), 0xffffc1234567007fULL);
	/* UMIP: #GP(0) at CPL 3, fine at CPL 0. */
	st.paging.cr4 |= 1ULL << 11;
	st.cpl = 3;
	assert_int_equal(run(&st, false, ASIZE(1) | SEG(3) | NO_BASE |
			     NO_INDEX | IDENT(TV_DT_SGDT), MEMOP, &f, &ch,
			     &reg), TV_DESC_FAULT);
	assert_int_equal(f.vector, 13);
	assert_int_equal(f.error, 0);
	/* A write beyond DS's limit: #GP(0); through SS: #SS(0). */
	st = state32();
	st.seg[3].limit = MEMOP + 4;
	st.seg[2].limit = MEMOP + 4;
	assert_int_equal(run(&st, false, ASIZE(1) | SEG(3) | NO_BASE |
			     NO_INDEX | IDENT(TV_DT_SGDT), MEMOP, &f, &ch,
			     &reg), TV_DESC_FAULT);
	assert_int_equal(f.vector, 13);
	assert_int_equal(run(&st, false, ASIZE(1) | SEG(2) | NO_BASE |
			     NO_INDEX | IDENT(TV_DT_SGDT), MEMOP, &f, &ch,
			     &reg), TV_DESC_FAULT);
	assert_int_equal(f.vector, 12);
	/* A page fault on the store: #PF with CR2, W. */
	st = state64();
	assert_int_equal(run(&st, false, ASIZE(2) | SEG(3) | NO_BASE |
			     NO_INDEX | IDENT(TV_DT_SGDT), 0x300000, &f, &ch,
			     &reg), TV_DESC_FAULT);
	assert_int_equal(f.vector, 14);
	assert_int_equal(f.error, 2);
	assert_int_equal(f.cr2, 0x300000);
}

static void lgdt_lidt(void **state)
{
	struct tv_desc_state st = state64();
	struct tv_guest_fault f;
	u32 ch;
	unsigned int reg;

	/* Limit 0xfff, base (bytes 2-9) 0xffff8678_00000000. */
	put(MEMOP, 0x8678000000000fffULL);
	put(MEMOP + 8, 0xffff);
	assert_int_equal(run(&st, false, ASIZE(2) | SEG(3) | NO_BASE |
			     NO_INDEX | IDENT(TV_DT_LGDT), MEMOP, &f, &ch,
			     &reg), TV_DESC_DONE);
	assert_int_equal(ch, TV_DESC_CHANGED_GDTR);
	assert_int_equal(st.gdtr_limit, 0xfff);
	assert_int_equal(st.gdtr_base, 0xffff867800000000ULL);
	/* A non-canonical base: #GP(0), nothing changed. */
	put(MEMOP + 8, 0x7fff);
	assert_int_equal(run(&st, false, ASIZE(2) | SEG(3) | NO_BASE |
			     NO_INDEX | IDENT(TV_DT_LIDT), MEMOP, &f, &ch,
			     &reg), TV_DESC_FAULT);
	assert_int_equal(f.vector, 13);
	assert_int_equal(st.idtr_limit, 0xfff);
	assert_int_equal(ch, 0);
	/* CPL 3: #GP(0). */
	st.cpl = 3;
	assert_int_equal(run(&st, false, ASIZE(2) | SEG(3) | NO_BASE |
			     NO_INDEX | IDENT(TV_DT_LIDT), MEMOP, &f, &ch,
			     &reg), TV_DESC_FAULT);
	assert_int_equal(f.vector, 13);
	/* 32-bit mode: 6 bytes; a 16-bit operand size keeps 24 bits. */
	st = state32();
	put(MEMOP, 0x0000c12345670123ULL);
	assert_int_equal(run(&st, false, ASIZE(1) | OPSIZE32 | SEG(3) |
			     NO_BASE | NO_INDEX | IDENT(TV_DT_LIDT), MEMOP,
			     &f, &ch, &reg), TV_DESC_DONE);
	assert_int_equal(ch, TV_DESC_CHANGED_IDTR);
	assert_int_equal(st.idtr_base, 0xc1234567);
	assert_int_equal(st.idtr_limit, 0x123);
	assert_int_equal(run(&st, false, ASIZE(1) | SEG(3) | NO_BASE |
			     NO_INDEX | IDENT(TV_DT_LIDT), MEMOP, &f, &ch,
			     &reg), TV_DESC_DONE);
	assert_int_equal(st.idtr_base, 0x234567);
}

static void sldt_str(void **state)
{
	struct tv_desc_state st = state64();
	struct tv_guest_fault f;
	u32 ch;
	unsigned int reg;

	/* STR r10: zero-extended. */
	st.gpr[10] = ~0ULL;
	assert_int_equal(run(&st, true, ISREG | REG1(10) | IDENT(TV_SEG_STR),
			     0, &f, &ch, &reg), TV_DESC_DONE);
	assert_int_equal(ch, TV_DESC_CHANGED_GPR);
	assert_int_equal(reg, 10);
	assert_int_equal(st.gpr[10], 0x40);
	/* STR r10 with 0x66 (66 41 0f 00 ca): 16 bits, the rest kept;
	 * with REX.W after 0x66 (66 49 0f 00 ca): 64 bits. */
	put(0x9000, 0xca000f4166ULL);
	st.rip = 0x9000;
	st.instr_len = 5;
	st.gpr[10] = ~0ULL;
	assert_int_equal(run(&st, true, ISREG | REG1(10) | IDENT(TV_SEG_STR),
			     0, &f, &ch, &reg), TV_DESC_DONE);
	assert_int_equal(st.gpr[10], 0xffffffffffff0040ULL);
	put(0x9000, 0xca000f4966ULL);
	st.gpr[10] = ~0ULL;
	assert_int_equal(run(&st, true, ISREG | REG1(10) | IDENT(TV_SEG_STR),
			     0, &f, &ch, &reg), TV_DESC_DONE);
	assert_int_equal(st.gpr[10], 0x40);
	/* 32-bit code (CS.D=1): 0f 00 c8 is STR eax, 32 bits; with 0x66,
	 * 16.  16-bit code (CS.D=0): the other way round. */
	st.instr_len = 3;
	put(0x9000, 0xc8000fULL);
	{
		struct tv_desc_state s32 = state32();

		s32.rip = 0x9000;
		s32.instr_len = 3;
		s32.gpr[0] = ~0ULL;
		assert_int_equal(run(&s32, true, ISREG | REG1(0) |
				     IDENT(TV_SEG_STR), 0, &f, &ch, &reg),
				 TV_DESC_DONE);
		assert_int_equal(s32.gpr[0], 0x40);
		s32.seg[TV_DESC_CS].ar = 0x9b;
		s32.gpr[0] = ~0ULL;
		assert_int_equal(run(&s32, true, ISREG | REG1(0) |
				     IDENT(TV_SEG_STR), 0, &f, &ch, &reg),
				 TV_DESC_DONE);
		assert_int_equal(s32.gpr[0], 0xffffffffffff0040ULL);
		put(0x9000, 0xc8000f66ULL);
		s32.instr_len = 4;
		s32.gpr[0] = ~0ULL;
		assert_int_equal(run(&s32, true, ISREG | REG1(0) |
				     IDENT(TV_SEG_STR), 0, &f, &ch, &reg),
				 TV_DESC_DONE);
		assert_int_equal(s32.gpr[0], 0x40);
	}
	/* SLDT [mem]: 2 bytes. */
	st.seg[TV_DESC_LDTR].sel = 0x28;
	put(MEMOP, ~0ULL);
	assert_int_equal(run(&st, true, ASIZE(2) | SEG(3) | NO_BASE |
			     NO_INDEX | IDENT(TV_SEG_SLDT), MEMOP, &f, &ch,
			     &reg), TV_DESC_DONE);
	assert_int_equal(ch, 0);
	assert_int_equal(get(MEMOP, 8), 0xffffffffffff0028ULL);
	/* UMIP at CPL 3. */
	st.cpl = 3;
	st.paging.cr4 |= 1ULL << 11;
	assert_int_equal(run(&st, true, ISREG | REG1(0) | IDENT(TV_SEG_STR),
			     0, &f, &ch, &reg), TV_DESC_FAULT);
	assert_int_equal(f.vector, 13);
	/* Real mode: #UD. */
	st = state32();
	st.paging.cr0 = 0;
	assert_int_equal(run(&st, true, ISREG | REG1(0) | IDENT(TV_SEG_SLDT),
			     0, &f, &ch, &reg), TV_DESC_FAULT);
	assert_int_equal(f.vector, 6);
	/* Virtual-8086 mode too. */
	st = state32();
	st.rflags |= 1ULL << 17;
	assert_int_equal(run(&st, true, ISREG | REG1(0) | IDENT(TV_SEG_STR),
			     0, &f, &ch, &reg), TV_DESC_FAULT);
	assert_int_equal(f.vector, 6);
}

/* An 8-byte descriptor: base, 20-bit limit, access byte, flags nibble. */
static u64 desc(u32 base, u32 limit, u8 access, u8 flags)
{
	return (limit & 0xffffULL) | ((u64)(base & 0xffffff) << 16) |
	       ((u64)access << 40) | ((u64)((limit >> 16) & 0xf) << 48) |
	       ((u64)(flags & 0xf) << 52) | ((u64)(base >> 24) << 56);
}

static void lldt(void **state)
{
	struct tv_desc_state st = state64();
	struct tv_guest_fault f;
	u32 ch;
	unsigned int reg;

	/* GDT[5] (0x28): 64-bit LDT descriptor, base 0xffff8880_12345678,
	 * limit 0xfff, present, DPL 0. */
	put(GDT + 0x28, desc(0x12345678, 0xfff, 0x82, 0));
	put(GDT + 0x30, 0xffff8880ULL);
	st.gpr[0] = 0x28;
	assert_int_equal(run(&st, true, ISREG | REG1(0) | IDENT(TV_SEG_LLDT),
			     0, &f, &ch, &reg), TV_DESC_DONE);
	assert_int_equal(ch, TV_DESC_CHANGED_LDTR);
	assert_int_equal(st.seg[TV_DESC_LDTR].sel, 0x28);
	assert_int_equal(st.seg[TV_DESC_LDTR].base, 0xffff888012345678ULL);
	assert_int_equal(st.seg[TV_DESC_LDTR].limit, 0xfff);
	assert_int_equal(st.seg[TV_DESC_LDTR].ar, 0x82);
	/* The GDT read set the accessed bit on the page-table entries. */
	assert_int_equal(get(0x12000, 8) & 0x20, 0x20);
	/* From memory, RPL 3 kept in the selector; G scales the limit. */
	put(GDT + 0x28, desc(0x12345678, 0x1, 0x82, 0x8));
	put(MEMOP, 0x2b);
	assert_int_equal(run(&st, true, ASIZE(2) | SEG(3) | NO_BASE |
			     NO_INDEX | IDENT(TV_SEG_LLDT), MEMOP, &f, &ch,
			     &reg), TV_DESC_DONE);
	assert_int_equal(st.seg[TV_DESC_LDTR].sel, 0x2b);
	assert_int_equal(st.seg[TV_DESC_LDTR].limit, 0x1fff);
	assert_int_equal(st.seg[TV_DESC_LDTR].ar, 0x8082);
	/* Null: unusable. */
	st.gpr[0] = 3;
	assert_int_equal(run(&st, true, ISREG | REG1(0) | IDENT(TV_SEG_LLDT),
			     0, &f, &ch, &reg), TV_DESC_DONE);
	assert_int_equal(st.seg[TV_DESC_LDTR].sel, 3);
	assert_int_equal(st.seg[TV_DESC_LDTR].ar, TV_AR_UNUSABLE);
	/* TI=1: #GP(sel); beyond the limit (16 bytes in IA-32e): #GP. */
	st.gpr[0] = 0x2c;
	assert_int_equal(run(&st, true, ISREG | REG1(0) | IDENT(TV_SEG_LLDT),
			     0, &f, &ch, &reg), TV_DESC_FAULT);
	assert_int_equal(f.vector, 13);
	assert_int_equal(f.error, 0x2c);
	st.gpr[0] = 0x78;		/* 0x78 + 15 > 0x7f */
	assert_int_equal(run(&st, true, ISREG | REG1(0) | IDENT(TV_SEG_LLDT),
			     0, &f, &ch, &reg), TV_DESC_FAULT);
	assert_int_equal(f.error, 0x78);
	/* Wrong type (a TSS), code segment, upper type bits: #GP(sel). */
	st.gpr[0] = 0x28;
	put(GDT + 0x28, desc(0, 0xfff, 0x89, 0));
	assert_int_equal(run(&st, true, ISREG | REG1(0) | IDENT(TV_SEG_LLDT),
			     0, &f, &ch, &reg), TV_DESC_FAULT);
	assert_int_equal(f.error, 0x28);
	put(GDT + 0x28, desc(0, 0xfff, 0x9a, 0));
	assert_int_equal(run(&st, true, ISREG | REG1(0) | IDENT(TV_SEG_LLDT),
			     0, &f, &ch, &reg), TV_DESC_FAULT);
	put(GDT + 0x28, desc(0, 0xfff, 0x82, 0));
	put(GDT + 0x30, 2ULL << 40);
	assert_int_equal(run(&st, true, ISREG | REG1(0) | IDENT(TV_SEG_LLDT),
			     0, &f, &ch, &reg), TV_DESC_FAULT);
	assert_int_equal(f.vector, 13);
	/* Non-canonical base: #GP(sel). */
	put(GDT + 0x30, 0x00008000ULL);
	assert_int_equal(run(&st, true, ISREG | REG1(0) | IDENT(TV_SEG_LLDT),
			     0, &f, &ch, &reg), TV_DESC_FAULT);
	assert_int_equal(f.error, 0x28);
	/* Not present: #NP(sel). */
	put(GDT + 0x30, 0);
	put(GDT + 0x28, desc(0, 0xfff, 0x02, 0));
	assert_int_equal(run(&st, true, ISREG | REG1(0) | IDENT(TV_SEG_LLDT),
			     0, &f, &ch, &reg), TV_DESC_FAULT);
	assert_int_equal(f.vector, 11);
	assert_int_equal(f.error, 0x28);
	/* CPL 3: #GP(0). */
	st.cpl = 3;
	assert_int_equal(run(&st, true, ISREG | REG1(0) | IDENT(TV_SEG_LLDT),
			     0, &f, &ch, &reg), TV_DESC_FAULT);
	assert_int_equal(f.error, 0);
}

static void ltr(void **state)
{
	struct tv_desc_state st = state64();
	struct tv_guest_fault f;
	u32 ch;
	unsigned int reg;

	/* GDT[8] (0x40): available 64-bit TSS at 0xfffffe00_00003000. */
	put(GDT + 0x40, desc(0x00003000, 0x4087, 0x89, 0));
	put(GDT + 0x48, 0xfffffe00ULL);
	st.gpr[1] = 0x40;
	assert_int_equal(run(&st, true, ISREG | REG1(1) | IDENT(TV_SEG_LTR),
			     0, &f, &ch, &reg), TV_DESC_DONE);
	assert_int_equal(ch, TV_DESC_CHANGED_TR);
	assert_int_equal(st.seg[TV_DESC_TR].sel, 0x40);
	assert_int_equal(st.seg[TV_DESC_TR].base, 0xfffffe0000003000ULL);
	assert_int_equal(st.seg[TV_DESC_TR].limit, 0x4087);
	assert_int_equal(st.seg[TV_DESC_TR].ar, 0x8b);
	/* Busy in the GDT now; a second LTR of it: #GP(sel). */
	assert_int_equal(get(GDT + 0x45, 1), 0x8b);
	assert_int_equal(run(&st, true, ISREG | REG1(1) | IDENT(TV_SEG_LTR),
			     0, &f, &ch, &reg), TV_DESC_FAULT);
	assert_int_equal(f.vector, 13);
	assert_int_equal(f.error, 0x40);
	/* Null selector: #GP(0). */
	st.gpr[1] = 2;
	assert_int_equal(run(&st, true, ISREG | REG1(1) | IDENT(TV_SEG_LTR),
			     0, &f, &ch, &reg), TV_DESC_FAULT);
	assert_int_equal(f.error, 0);
	/* A 16-bit TSS (type 1) is refused in IA-32e mode, taken in
	 * 32-bit mode (8-byte descriptors there), and marked busy (3). */
	put(GDT + 0x40, desc(0x3000, 0x2b, 0x81, 0));
	st.gpr[1] = 0x40;
	assert_int_equal(run(&st, true, ISREG | REG1(1) | IDENT(TV_SEG_LTR),
			     0, &f, &ch, &reg), TV_DESC_FAULT);
	st = state32();
	st.gpr[1] = 0x40;
	assert_int_equal(run(&st, true, ISREG | REG1(1) | IDENT(TV_SEG_LTR),
			     0, &f, &ch, &reg), TV_DESC_DONE);
	assert_int_equal(st.seg[TV_DESC_TR].ar, 0x83);
	assert_int_equal(st.seg[TV_DESC_TR].base, 0x3000);
	assert_int_equal(get(GDT + 0x45, 1), 0x83);
	/* A read-only GDT page: the busy-bit write faults (#PF P|W), TR is
	 * left alone. */
	st = state64();
	put(GDT + 0x40, desc(0x00003000, 0x4087, 0x89, 0));
	put(GDT + 0x48, 0xfffffe00ULL);
	put(0x12000, 0x81);		/* the 2 MiB page read-only */
	st.gpr[1] = 0x40;
	assert_int_equal(run(&st, true, ISREG | REG1(1) | IDENT(TV_SEG_LTR),
			     0, &f, &ch, &reg), TV_DESC_FAULT);
	assert_int_equal(f.vector, 14);
	assert_int_equal(f.error, 3);
	assert_int_equal(f.cr2, GDT + 0x45);
	assert_int_equal(st.seg[TV_DESC_TR].sel, 0x40);
	assert_int_equal(st.seg[TV_DESC_TR].base, 0x5000);
	assert_int_equal(get(GDT + 0x45, 1), 0x89);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decode_instruction_information),
		cmocka_unit_test(decode_qualifications),
		cmocka_unit_test(operand_offsets),
		cmocka_unit_test(linear_addresses),
		cmocka_unit_test_setup_teardown(sgdt_sidt, setup, teardown),
		cmocka_unit_test_setup_teardown(lgdt_lidt, setup, teardown),
		cmocka_unit_test_setup_teardown(sldt_str, setup, teardown),
		cmocka_unit_test_setup_teardown(lldt, setup, teardown),
		cmocka_unit_test_setup_teardown(ltr, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
