// SPDX-License-Identifier: MIT
/*
 * Descriptor-table instruction emulation (core/desc.h).
 */
#include "core/desc.h"
#include "arch/x86/vmx.h"
#include "arch/x86/msr.h"

#define CR4_UMIP_BIT TV_BIT(11)
#define CR4_LA57_BIT TV_BIT(12)
#define RFLAGS_AC_BIT TV_BIT(18)
#define RFLAGS_VM_BIT TV_BIT(17)
#define AR_L TV_BIT(13)

#define VEC_NP_FAULT 11		/* #NP: segment not present */
#define DESC_TYPE_LDT 2
#define DESC_TYPE_TSS16 1
#define DESC_TYPE_TSS 9
#define DESC_BUSY 2		/* type bit 1: available -> busy TSS */

struct emu {
	struct tv_desc_state *st;
	struct tv_guest_fault *f;
	u32 mode;		/* TV_MODE_* */
	bool ia32e;		/* EFER.LMA: 16-byte system descriptors */
};

static TV_VMX_ROOT enum tv_desc_result raise(struct emu *e, u8 vector,
					     u32 error)
{
	e->f->vector = vector;
	e->f->error = error;
	e->f->cr2 = 0;
	return TV_DESC_FAULT;
}

static TV_VMX_ROOT enum tv_desc_result from_guest(enum tv_guest_status gs)
{
	if (gs == TV_GUEST_OK)
		return TV_DESC_DONE;
	return gs == TV_GUEST_FAULT ? TV_DESC_FAULT : TV_DESC_NO_MEMORY;
}

/* The data access rights of an explicit operand access at the CPL. */
static TV_VMX_ROOT u32 data_access(const struct emu *e)
{
	u32 acc = 0;

	if (e->st->cpl == 3)
		acc |= TV_ACC_USER;
	if (e->st->rflags & RFLAGS_AC_BIT)
		acc |= TV_ACC_AC;
	return acc;
}

/* The memory operand's linear address, segmentation checked. */
static TV_VMX_ROOT enum tv_desc_result operand(struct emu *e,
					       const struct tv_instr_info *ii,
					       u64 qual, unsigned int size,
					       bool write, u64 *la)
{
	u64 off = tv_decode_offset(ii, qual, e->st->gpr);
	unsigned int seg = ii->seg < 6 ? ii->seg : 3;
	int v = tv_decode_linear(&e->st->seg[seg], seg, off, size, write,
				 e->mode, la);

	return v ? raise(e, (u8)v, 0) : TV_DESC_DONE;
}

static TV_VMX_ROOT enum tv_desc_result mem_read(struct emu *e,
						const struct tv_instr_info *ii,
						u64 qual, void *buf,
						unsigned int size)
{
	u64 la;
	enum tv_desc_result r = operand(e, ii, qual, size, false, &la);

	if (r != TV_DESC_DONE)
		return r;
	return from_guest(tv_guest_read(&e->st->paging, la, buf, size,
					   data_access(e), e->f));
}

static TV_VMX_ROOT enum tv_desc_result mem_write(struct emu *e,
						 const struct tv_instr_info *ii,
						 u64 qual, const void *buf,
						 unsigned int size)
{
	u64 la;
	enum tv_desc_result r = operand(e, ii, qual, size, true, &la);

	if (r != TV_DESC_DONE)
		return r;
	return from_guest(tv_guest_write(&e->st->paging, la, buf, size,
					    data_access(e), e->f));
}

static TV_VMX_ROOT void put_le(u8 *b, u64 v, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		b[i] = (u8)(v >> (8 * i));
}

static TV_VMX_ROOT u64 get_le(const u8 *b, unsigned int n)
{
	u64 v = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		v |= (u64)b[i] << (8 * i);
	return v;
}

static TV_VMX_ROOT bool canonical(const struct emu *e, u64 a)
{
	unsigned int top = (e->st->paging.cr4 & CR4_LA57_BIT) ? 56 : 47;
	u64 high = a >> top;

	return high == 0 || high == (~0ULL >> top);
}

static TV_VMX_ROOT enum tv_desc_result emulate_dt(struct emu *e, u32 info,
						  u64 qual, u32 *changed)
{
	struct tv_desc_state *st = e->st;
	struct tv_instr_info ii = tv_decode_dt_info(info);
	bool idt = ii.identity == TV_DT_SIDT || ii.identity == TV_DT_LIDT;
	bool is64 = e->mode & TV_MODE_64;
	unsigned int size = is64 ? 10 : 6;
	enum tv_desc_result r;
	u8 b[10];
	u64 base;
	u32 limit;

	if (ii.identity == TV_DT_SGDT || ii.identity == TV_DT_SIDT) {
		if (st->cpl > 0 && (st->paging.cr4 & CR4_UMIP_BIT))
			return raise(e, VEC_GP, 0);
		put_le(b, idt ? st->idtr_limit : st->gdtr_limit, 2);
		put_le(b + 2, idt ? st->idtr_base : st->gdtr_base, size - 2);
		return mem_write(e, &ii, qual, b, size);
	}
	/* LGDT/LIDT: CPL 0 (virtual-8086 mode runs at CPL 3). */
	if (st->cpl > 0)
		return raise(e, VEC_GP, 0);
	r = mem_read(e, &ii, qual, b, size);
	if (r != TV_DESC_DONE)
		return r;
	limit = (u32)get_le(b, 2);
	base = get_le(b + 2, size - 2);
	if (!is64 && ii.op_size == 0)
		base &= 0xffffffULL;
	if (is64 && !canonical(e, base))
		return raise(e, VEC_GP, 0);
	if (idt) {
		st->idtr_base = base;
		st->idtr_limit = limit;
		*changed |= TV_DESC_CHANGED_IDTR;
	} else {
		st->gdtr_base = base;
		st->gdtr_limit = limit;
		*changed |= TV_DESC_CHANGED_GDTR;
	}
	return TV_DESC_DONE;
}

/*
 * Load the system descriptor @sel names from the GDT into @out (VMCS
 * form) for LLDT (@tss false) or LTR, checked as those instructions do.
 */
static TV_VMX_ROOT enum tv_desc_result load_system(struct emu *e, u16 sel,
						   bool tss,
						   struct tv_segment *out)
{
	struct tv_desc_state *st = e->st;
	unsigned int size = e->ia32e ? 16 : 8;
	u32 err = sel & 0xfffc, type, limit;
	u64 at = st->gdtr_base + (sel & 0xfff8), lo, base;
	u8 b[16];
	enum tv_desc_result r;

	if ((sel & 4) || (u64)(sel & 0xfff8) + size - 1 > st->gdtr_limit)
		return raise(e, VEC_GP, err);
	r = from_guest(tv_guest_read(&st->paging, at, b, size,
					TV_ACC_IMPLICIT, e->f));
	if (r != TV_DESC_DONE)
		return r;
	lo = get_le(b, 8);
	type = (lo >> 40) & 0xf;
	if (lo & TV_BIT(44))		/* S=1: not a system descriptor */
		return raise(e, VEC_GP, err);
	if (tss ? !(type == DESC_TYPE_TSS ||
		    (type == DESC_TYPE_TSS16 && !e->ia32e)) :
		  type != DESC_TYPE_LDT)
		return raise(e, VEC_GP, err);
	base = ((lo >> 16) & 0xffffff) | ((lo >> 56) << 24);
	if (e->ia32e) {
		u64 hi = get_le(b + 8, 8);

		/* Bits 12:8 of its last dword: a type field that must be 0. */
		if ((hi >> 40) & 0x1f)
			return raise(e, VEC_GP, err);
		base |= (hi & 0xffffffffULL) << 32;
		if (!canonical(e, base))
			return raise(e, VEC_GP, err);
	}
	if (!(lo & TV_BIT(47)))
		return raise(e, VEC_NP_FAULT, err);
	limit = (u32)((lo & 0xffff) | ((lo >> 32) & 0xf0000));
	if (lo & TV_BIT(55))		/* G: 4 KiB units */
		limit = (limit << 12) | 0xfff;
	if (tss) {
		/* Mark it busy in the GDT, as LTR does, before loading TR. */
		u8 access = (u8)(lo >> 40) | DESC_BUSY;

		r = from_guest(tv_guest_write(&st->paging, at + 5, &access,
						 1, TV_ACC_IMPLICIT, e->f));
		if (r != TV_DESC_DONE)
			return r;
		lo |= (u64)DESC_BUSY << 40;
	}
	out->sel = sel;
	out->base = base;
	out->limit = limit;
	out->ar = (u32)(((lo >> 40) & 0xff) | (((lo >> 52) & 0xf) << 12));
	return TV_DESC_DONE;
}

/*
 * Is the register operand of the SLDT/STR at RIP 16 bits wide?  The
 * instruction information does not say; the prefixes do (Vol. 2 2.1.1,
 * 2.2.1): 0x66 flips the default size (CS.D outside 64-bit mode, 32 in
 * it), REX.W (64-bit mode, last prefix) makes it 64.  A 16-bit
 * destination keeps the register's other bits (SLDT/STR pages); 32 and
 * 64 zero-extend.  If the bytes cannot be read (the guest changed its
 * tables since the fetch), the common 32/64-bit form is assumed.
 */
static TV_VMX_ROOT bool reg_operand_16(struct emu *e)
{
	struct tv_desc_state *st = e->st;
	struct tv_guest_fault f;
	bool is64 = e->mode & TV_MODE_64, opsize = false, rex_w = false;
	u64 la = st->rip + (is64 ? 0 : st->seg[TV_DESC_CS].base);
	u8 b[15];
	unsigned int i, len = st->instr_len;

	if (len < 3 || len > 15)
		return false;
	if (!is64)
		la &= 0xffffffffULL;
	if (tv_guest_read(&st->paging, la, b, len,
			  TV_ACC_FETCH | (st->cpl == 3 ? TV_ACC_USER : 0),
			  &f) != TV_GUEST_OK)
		return false;
	for (i = 0; i < len; i++) {
		u8 c = b[i];

		if (c == 0x66) {
			opsize = true;
			rex_w = false;
		} else if (c == 0xf0 || c == 0xf2 || c == 0xf3 || c == 0x2e ||
			   c == 0x36 || c == 0x3e || c == 0x26 || c == 0x64 ||
			   c == 0x65 || c == 0x67) {
			rex_w = false;	/* a REX must be the last prefix */
		} else if (is64 && (c & 0xf0) == 0x40) {
			rex_w = c & 8;
		} else {
			break;
		}
	}
	if (rex_w)
		return false;
	if (is64)
		return opsize;
	/* CS.D (access rights bit 14): default 32 bits, 0x66 makes 16. */
	return !!(st->seg[TV_DESC_CS].ar & TV_BIT(14)) == opsize;
}

static TV_VMX_ROOT enum tv_desc_result emulate_seg(struct emu *e, u32 info,
						   u64 qual, u32 *changed,
						   unsigned int *reg)
{
	struct tv_desc_state *st = e->st;
	struct tv_instr_info ii = tv_decode_seg_info(info);
	bool tr = ii.identity == TV_SEG_STR || ii.identity == TV_SEG_LTR;
	struct tv_segment *s = &st->seg[tr ? TV_DESC_TR : TV_DESC_LDTR];
	struct tv_segment loaded;
	enum tv_desc_result r;
	u8 b[2];
	u16 sel;

	/* Not recognized in real-address or virtual-8086 mode. */
	if (!(e->mode & TV_MODE_PROT))
		return raise(e, VEC_UD, 0);
	if (ii.identity == TV_SEG_SLDT || ii.identity == TV_SEG_STR) {
		if (st->cpl > 0 && (st->paging.cr4 & CR4_UMIP_BIT))
			return raise(e, VEC_GP, 0);
		if (ii.is_reg) {
			u64 *r = &st->gpr[ii.reg & 15];

			*r = reg_operand_16(e) ? (*r & ~0xffffULL) | s->sel :
						 s->sel;
			*reg = ii.reg & 15;
			*changed |= TV_DESC_CHANGED_GPR;
			return TV_DESC_DONE;
		}
		put_le(b, s->sel, 2);
		return mem_write(e, &ii, qual, b, 2);
	}
	if (st->cpl > 0)
		return raise(e, VEC_GP, 0);
	if (ii.is_reg) {
		sel = (u16)st->gpr[ii.reg & 15];
	} else {
		r = mem_read(e, &ii, qual, b, 2);
		if (r != TV_DESC_DONE)
			return r;
		sel = (u16)get_le(b, 2);
	}
	if ((sel & 0xfffc) == 0) {
		if (tr)
			return raise(e, VEC_GP, 0);
		/* A null LDT selector: LDTR unusable. */
		s->sel = sel;
		s->ar = TV_AR_UNUSABLE;
		*changed |= TV_DESC_CHANGED_LDTR;
		return TV_DESC_DONE;
	}
	r = load_system(e, sel, tr, &loaded);
	if (r != TV_DESC_DONE)
		return r;
	*s = loaded;
	*changed |= tr ? TV_DESC_CHANGED_TR : TV_DESC_CHANGED_LDTR;
	return TV_DESC_DONE;
}

TV_VMX_ROOT enum tv_desc_result tv_desc_emulate(struct tv_desc_state *st,
						bool ldtr_tr, u32 info,
						u64 qual, struct tv_guest_fault *f,
						u32 *changed,
						unsigned int *reg)
{
	struct emu e = { st, f, 0, false };

	*changed = 0;
	*reg = 0;
	e.ia32e = st->paging.efer & EFER_LMA;
	if (e.ia32e && (st->seg[TV_DESC_CS].ar & AR_L))
		e.mode |= TV_MODE_64;
	if (st->paging.cr4 & CR4_LA57_BIT)
		e.mode |= TV_MODE_LA57;
	if ((st->paging.cr0 & CR0_PE) && !(st->rflags & RFLAGS_VM_BIT))
		e.mode |= TV_MODE_PROT;
	return ldtr_tr ? emulate_seg(&e, info, qual, changed, reg) :
			 emulate_dt(&e, info, qual, changed);
}
