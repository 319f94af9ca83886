/* SPDX-License-Identifier: MIT */
/*
 * Emulation of the descriptor-table instructions that exit under
 * "descriptor-table exiting" (SDM Vol. 3C 25.1.3): SGDT, SIDT, LGDT, LIDT
 * (exit reason 46) and SLDT, STR, LLDT, LTR (exit reason 47), after the
 * exit, with the checks the CPU would still have made (the instruction
 * pages of SDM Vol. 2, and Vol. 3A 3.5 and 8.2 on system descriptors).
 * Pure but for guest memory, which it reads and writes with
 * core/guest.h.  Context: any (vmx-root included).
 */
#ifndef TV_CORE_DESC_H
#define TV_CORE_DESC_H

#include "core/decode.h"
#include "core/guest.h"

/* Segment indexes: arch/x86/vmcs.h's enum tv_seg order. */
#define TV_DESC_ES 0
#define TV_DESC_CS 1
#define TV_DESC_SS 2
#define TV_DESC_LDTR 6
#define TV_DESC_TR 7

/* The guest state the instructions read and write (the VMCS fields). */
struct tv_desc_state {
	u64 gpr[16];		/* SDM order, [4] the guest's RSP */
	struct tv_segment seg[8]; /* ES CS SS DS FS GS LDTR TR */
	u64 gdtr_base, idtr_base;
	u32 gdtr_limit, idtr_limit;
	struct tv_paging paging; /* cr0, cr4 (UMIP, LA57), efer (LMA) too */
	u64 rflags;
	u64 rip;		/* the instruction's, for its prefixes */
	u32 instr_len;		/* the exit's instruction length */
	unsigned int cpl;
};

/* What tv_desc_emulate() changed in @st, for the caller to write back. */
#define TV_DESC_CHANGED_GPR	TV_BIT(0)	/* gpr[@reg] */
#define TV_DESC_CHANGED_GDTR	TV_BIT(1)
#define TV_DESC_CHANGED_IDTR	TV_BIT(2)
#define TV_DESC_CHANGED_LDTR	TV_BIT(3)	/* seg[6]: all four fields */
#define TV_DESC_CHANGED_TR	TV_BIT(4)	/* seg[7]: all four fields */

enum tv_desc_result {
	TV_DESC_DONE = 0,	/* write back what changed, skip the instr. */
	TV_DESC_FAULT = 1,	/* inject @f (CR2 first for #PF) */
	TV_DESC_NO_MEMORY = 2,	/* an operand is not in host-mapped RAM */
};

/*
 * Emulate the instruction of a descriptor-table exit: @ldtr_tr is true
 * for exit reason 47 (SLDT STR LLDT LTR), false for 46; @info the
 * VM-exit instruction information, @qual the exit qualification (the
 * displacement).  On TV_DESC_DONE @changed (TV_DESC_CHANGED_*) and @reg
 * (for TV_DESC_CHANGED_GPR) say what to write back.
 *  - SGDT/SIDT: 10 bytes (limit, 64-bit base) in 64-bit mode, else 6
 *    (limit, 32-bit base, whatever the operand size).
 *  - LGDT/LIDT: CPL 0 only (#GP(0)); 64-bit mode reads 10 bytes, else
 *    6, a 16-bit operand size keeping 24 bits of base.  A non-canonical
 *    base in 64-bit mode gets #GP(0): the next VM entry would fail on it
 *    (SDM 26.3.1.3).
 *  - SLDT/STR: #GP(0) at CPL>0 with CR4.UMIP; to memory 2 bytes; to a
 *    register: a 16-bit operand keeps the register's bits 63:16, a 32-
 *    or 64-bit one zero-extends.  The instruction information has no
 *    operand size for these, so the prefixes are read at @rip (a fetch
 *    of @instr_len bytes); if that fails, zero-extended.
 *  - LLDT/LTR: #GP(0) at CPL>0; the descriptor read from the GDT (16
 *    bytes in IA-32e mode) and checked: inside the GDT limit and TI=0,
 *    a system descriptor of type LDT (2) or available TSS (9, or 1
 *    outside IA-32e mode), upper type bits 0 and a canonical base in
 *    IA-32e mode, else #GP(selector); not present #NP(selector).  A
 *    null LLDT selector makes LDTR unusable; a null LTR selector is
 *    #GP(0).  LTR marks the descriptor busy in the GDT (a one-byte
 *    implicit supervisor write, so a read-only GDT faults as on the CPU)
 *    and loads TR with the busy type.
 *  - In real and virtual-8086 mode SLDT STR LLDT LTR raise #UD.
 */
enum tv_desc_result tv_desc_emulate(struct tv_desc_state *st, bool ldtr_tr,
				    u32 info, u64 qual, struct tv_guest_fault *f,
				    u32 *changed, unsigned int *reg);

#endif
