/* SPDX-License-Identifier: MIT */
/*
 * The privileged instructions thinvisor executes, as GCC inline asm shared
 * by every host (Linux gcc and mingw-w64 gcc).  VMX instructions return a
 * VMX status: TV_VMX_OK, TV_VMX_FAIL_VALID (ZF) or TV_VMX_FAIL_INVALID (CF).
 */
#ifndef TV_ARCH_CPU_H
#define TV_ARCH_CPU_H

#include "core/types.h"

struct tv_cpuid {
	u32 eax, ebx, ecx, edx;
};

static inline void tv_cpuid(u32 leaf, u32 subleaf, struct tv_cpuid *r)
{
	asm volatile("cpuid"
		     : "=a"(r->eax), "=b"(r->ebx), "=c"(r->ecx), "=d"(r->edx)
		     : "a"(leaf), "c"(subleaf));
}

static inline u64 tv_rdmsr(u32 msr)
{
	u32 lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((u64)hi << 32) | lo;
}

static inline void tv_wrmsr(u32 msr, u64 val)
{
	asm volatile("wrmsr"
		     : : "c"(msr), "a"((u32)val), "d"((u32)(val >> 32))
		     : "memory");
}

#define TV_DEFINE_CR(n)							\
static inline u64 tv_read_cr##n(void)					\
{									\
	u64 v;								\
	asm volatile("mov %%cr" #n ", %0" : "=r"(v));			\
	return v;							\
}									\
static inline void tv_write_cr##n(u64 v)				\
{									\
	asm volatile("mov %0, %%cr" #n : : "r"(v) : "memory");		\
}
TV_DEFINE_CR(0)
TV_DEFINE_CR(3)
TV_DEFINE_CR(4)
#undef TV_DEFINE_CR

static inline u64 tv_read_dr7(void)
{
	u64 v;

	asm volatile("mov %%dr7, %0" : "=r"(v));
	return v;
}

static inline void tv_write_dr7(u64 v)
{
	asm volatile("mov %0, %%dr7" : : "r"(v));
}

static inline u64 tv_read_rflags(void)
{
	u64 v;

	asm volatile("pushfq; popq %0" : "=r"(v));
	return v;
}

/* A pseudo-descriptor as SGDT/SIDT store it. */
struct tv_dtr {
	u16 limit;
	u64 base;
} TV_PACKED;

static inline void tv_sgdt(struct tv_dtr *d)
{
	asm volatile("sgdt %0" : "=m"(*d));
}

static inline void tv_sidt(struct tv_dtr *d)
{
	asm volatile("sidt %0" : "=m"(*d));
}

static inline void tv_lgdt(const struct tv_dtr *d)
{
	asm volatile("lgdt %0" : : "m"(*d) : "memory");
}

static inline void tv_lidt(const struct tv_dtr *d)
{
	asm volatile("lidt %0" : : "m"(*d) : "memory");
}

#define TV_DEFINE_SEL(name, reg)					\
static inline u16 tv_read_##name(void)					\
{									\
	u16 v;								\
	asm volatile("mov %%" #reg ", %0" : "=r"(v));			\
	return v;							\
}
TV_DEFINE_SEL(es, es)
TV_DEFINE_SEL(cs, cs)
TV_DEFINE_SEL(ss, ss)
TV_DEFINE_SEL(ds, ds)
TV_DEFINE_SEL(fs, fs)
TV_DEFINE_SEL(gs, gs)
#undef TV_DEFINE_SEL

static inline u16 tv_read_tr(void)
{
	u16 v;

	asm volatile("str %0" : "=r"(v));
	return v;
}

static inline u16 tv_read_ldtr(void)
{
	u16 v;

	asm volatile("sldt %0" : "=r"(v));
	return v;
}

/* Segment limit of @sel via LSL; 0 when the selector is not valid. */
static inline u32 tv_lsl(u16 sel)
{
	u32 limit = 0;

	asm volatile("lsl %1, %0" : "+r"(limit) : "r"((u32)sel) : "cc");
	return limit;
}

/* LAR of @sel; *ok false when the selector is unusable. */
static inline u32 tv_lar(u16 sel, bool *ok)
{
	u32 ar = 0;
	u8 zf;

	asm volatile("lar %2, %0; setz %1"
		     : "+r"(ar), "=qm"(zf) : "r"((u32)sel) : "cc");
	*ok = zf;
	return ar;
}

static inline u64 tv_xgetbv(u32 xcr)
{
	u32 lo, hi;

	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(xcr));
	return ((u64)hi << 32) | lo;
}

static inline void tv_xsetbv(u32 xcr, u64 val)
{
	asm volatile("xsetbv"
		     : : "c"(xcr), "a"((u32)val), "d"((u32)(val >> 32))
		     : "memory");
}

static inline void tv_invd(void)
{
	asm volatile("invd" : : : "memory");
}

static inline u64 tv_rdtsc(void)
{
	u32 lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

/* --- VMX ------------------------------------------------------------ */

/* The outcome of a VMX instruction (SDM Vol. 3, 31.2). */
#define TV_VMX_OK		0
#define TV_VMX_FAIL_VALID	1	/* ZF: error number in VMCS_INSTR_ERROR */
#define TV_VMX_FAIL_INVALID	2	/* CF: no current VMCS */

#define TV_VMX_STATUS(asm_str, ...)					\
	({								\
		u8 cf_, zf_;						\
		asm volatile(asm_str "; setc %0; setz %1"		\
			     : "=qm"(cf_), "=qm"(zf_) : __VA_ARGS__	\
			     : "cc", "memory");				\
		cf_ ? TV_VMX_FAIL_INVALID :				\
		zf_ ? TV_VMX_FAIL_VALID : TV_VMX_OK;			\
	})

static inline int tv_vmxon(u64 pa)
{
	return TV_VMX_STATUS("vmxon %2", "m"(pa));
}

static inline int tv_vmxoff(void)
{
	return TV_VMX_STATUS("vmxoff", "i"(0));
}

static inline int tv_vmclear(u64 pa)
{
	return TV_VMX_STATUS("vmclear %2", "m"(pa));
}

static inline int tv_vmptrld(u64 pa)
{
	return TV_VMX_STATUS("vmptrld %2", "m"(pa));
}

/*
 * VMREAD and VMWRITE take any field at run time (tv_vmread_any,
 * tv_vmwrite_any); tv_vmread() and tv_vmwrite() are the same calls with
 * what the encoding tells checked at compile time whenever the field is
 * a constant, as it is almost everywhere:
 * - the encoding is well formed (TV_VMCS_VALID);
 * - tv_vmread() returns u16, u32 or u64 by the field's width, as KVM's
 *   vmcs_read16/32/64 do, so a 16-bit selector reads as a u16;
 * - tv_vmwrite() refuses read-only (VM-exit information) fields and a
 *   constant value wider than the field, which VMWRITE would cut short.
 */
static inline int tv_vmwrite_any(u64 field, u64 val)
{
	return TV_VMX_STATUS("vmwrite %3, %2", "r"(field), "rm"(val));
}

/* VMREAD of a field known to exist in the current VMCS. */
static inline u64 tv_vmread_any(u64 field)
{
	u64 v;

	asm volatile("vmread %1, %0" : "=rm"(v) : "r"(field) : "cc");
	return v;
}

/*
 * 1 when @x is an integer constant expression, else 0, itself always a
 * constant: (void *)(x * 0) is a null pointer constant only when x is
 * constant, and only then does the conditional take the int * type.
 */
#define TV_IS_ICE(x)							\
	(sizeof(int) ==							\
	 sizeof(*(1 ? ((void *)((__INTPTR_TYPE__)(x) * 0)) : (int *)1)))
/* @x when it is a constant expression, else @otherwise (a constant). */
#define TV_ICE_OR(x, otherwise)						\
	__builtin_choose_expr(TV_IS_ICE(x), (x), (otherwise))

/* A field's width when it is a constant, else natural (64 bits). */
#define TV_VMCS_CONST_WIDTH(f)						\
	TV_VMCS_WIDTH(TV_ICE_OR(f, TV_VMCS_WIDTH_NATURAL << 13))

#define TV_VMCS_CHECK_FIELD(f)						\
	_Static_assert(TV_VMCS_VALID(TV_ICE_OR(f, 0)),			\
		       "malformed VMCS field encoding")

/* The widest value a field takes: 16 bits, 32 (also a high half) or 64. */
#define TV_VMCS_MAX(f)							\
	(TV_VMCS_WIDTH(f) == TV_VMCS_WIDTH_16 ? 0xffffULL :		\
	 TV_VMCS_WIDTH(f) == TV_VMCS_WIDTH_32 ||			\
	 ((f) & TV_VMCS_ACCESS_HIGH) ? 0xffffffffULL : ~0ULL)

#define tv_vmread(f)							\
	({								\
		TV_VMCS_CHECK_FIELD(f);					\
		__builtin_choose_expr(					\
			TV_VMCS_CONST_WIDTH(f) == TV_VMCS_WIDTH_16,	\
			(u16)tv_vmread_any(f),				\
		__builtin_choose_expr(					\
			TV_VMCS_CONST_WIDTH(f) == TV_VMCS_WIDTH_32,	\
			(u32)tv_vmread_any(f),				\
			tv_vmread_any(f)));				\
	})

#define tv_vmwrite(f, val)						\
	({								\
		TV_VMCS_CHECK_FIELD(f);					\
		_Static_assert(TV_VMCS_TYPE(TV_ICE_OR(f, 0)) !=		\
			       TV_VMCS_TYPE_READ_ONLY,			\
			       "VMWRITE to a read-only VMCS field");	\
		_Static_assert(!((u64)TV_ICE_OR(val, 0) &		\
				 ~TV_VMCS_MAX(TV_ICE_OR(f, 0))),	\
			       "value wider than the VMCS field");	\
		tv_vmwrite_any(f, val);					\
	})

/* VMREAD that reports failure, for dumps of fields that may not exist. */
static inline int tv_vmread_safe(u64 field, u64 *val)
{
	u8 cf, zf;

	asm volatile("vmread %3, %2; setc %0; setz %1"
		     : "=qm"(cf), "=qm"(zf), "=rm"(*val) : "r"(field)
		     : "cc");
	return cf ? TV_VMX_FAIL_INVALID : zf ? TV_VMX_FAIL_VALID : TV_VMX_OK;
}

struct tv_invept_desc {
	u64 eptp;
	u64 reserved;
};

static inline int tv_invept(u64 type, u64 eptp)
{
	struct tv_invept_desc d = { eptp, 0 };

	return TV_VMX_STATUS("invept %2, %3", "m"(d), "r"(type));
}

struct tv_invvpid_desc {
	u64 vpid;
	u64 addr;
};

static inline int tv_invvpid(u64 type, u16 vpid, u64 addr)
{
	struct tv_invvpid_desc d = { vpid, addr };

	return TV_VMX_STATUS("invvpid %2, %3", "m"(d), "r"(type));
}

/*
 * VMCALL into thinvisor: RAX = number, RDX/R8 = arguments, RAX = result.
 * Without a VMM below, this raises #UD: callers check the CPUID signature
 * first, on the same CPU with interrupts off (core/vmm.c).
 */
static inline u64 tv_vmcall(u64 nr, u64 a1, u64 a2)
{
	register u64 r8 asm("r8") = a2;

	asm volatile("vmcall" : "+a"(nr), "+d"(a1), "+r"(r8) : : "memory", "cc");
	return nr;
}

#endif
