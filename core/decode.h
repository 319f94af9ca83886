/* SPDX-License-Identifier: MIT */
/*
 * Decoders for what the CPU reports about the instruction that exited,
 * pure: the VM-exit instruction-information field of the descriptor-table
 * instructions (SGDT SIDT LGDT LIDT), of SLDT STR LLDT LTR and of the
 * string I/O instructions; the I/O, MOV-DR and INVLPG exit
 * qualifications; and the memory operand's offset and linear address with
 * the segmentation checks the CPU makes after the exit would have been
 * taken (SDM Vol. 3C 28.2.1 exit qualifications, Tables 28-4 and 28-5,
 * 28.2.5 instruction information, Tables 28-10 and 28-11 of the 2023
 * edition; Vol. 1 3.4.5, Vol. 3A 5.3 limit checking).  Context: any.
 */
#ifndef TV_CORE_DECODE_H
#define TV_CORE_DECODE_H

#include "core/types.h"

/* A memory or register operand from the instruction-information field. */
struct tv_instr_info {
	u8 scale;		/* 0-3: index * 1, 2, 4, 8 */
	u8 addr_size;		/* 0 16-bit, 1 32-bit, 2 64-bit */
	u8 op_size;		/* SGDT...LIDT: 0 16-bit, 1 32-bit (bit 11) */
	u8 seg;			/* 0 ES, 1 CS, 2 SS, 3 DS, 4 FS, 5 GS */
	u8 index, base;		/* SDM register numbers */
	bool index_valid, base_valid;
	bool is_reg;		/* SLDT...LTR: register operand */
	u8 reg;			/* ... its register (reg1) */
	u8 identity;		/* see the enums below */
};

enum tv_dt_identity { TV_DT_SGDT = 0, TV_DT_SIDT = 1, TV_DT_LGDT = 2,
		      TV_DT_LIDT = 3 };
enum tv_seg_identity { TV_SEG_SLDT = 0, TV_SEG_STR = 1, TV_SEG_LLDT = 2,
		       TV_SEG_LTR = 3 };

/* Instruction information of SGDT, SIDT, LGDT, LIDT (always memory). */
struct tv_instr_info tv_decode_dt_info(u32 info);
/* Instruction information of SLDT, STR, LLDT, LTR. */
struct tv_instr_info tv_decode_seg_info(u32 info);
/*
 * Instruction information of INS/OUTS (when the CPU reports it, IA32_VMX_
 * BASIC[54]): address size and, for OUTS, the segment (INS: always ES).
 */
struct tv_instr_info tv_decode_io_info(u32 info, bool in);

/* The I/O-instruction exit qualification (Table 28-5). */
struct tv_io_access {
	u8 size;		/* 1, 2 or 4 bytes */
	bool in;		/* IN/INS; else OUT/OUTS */
	bool string;		/* INS/OUTS */
	bool rep;		/* REP prefixed */
	bool imm;		/* port from an immediate; else DX */
	u16 port;
};
struct tv_io_access tv_decode_io(u64 qualification);

/* The MOV-DR exit qualification (Table 28-4). */
struct tv_dr_access {
	u8 dr;			/* 0-7 */
	bool from_dr;		/* MOV from DR (read); else MOV to DR */
	u8 gpr;			/* SDM register number */
};
struct tv_dr_access tv_decode_dr(u64 qualification);

/*
 * INVLPG: the qualification is the linear address the instruction would
 * have invalidated, segment base included; outside 64-bit mode its bits
 * 63:32 are cleared here (@long_mode: CS.L=1 with EFER.LMA=1).
 */
u64 tv_decode_invlpg(u64 qualification, bool long_mode);

/*
 * The operand's offset (effective address) for memory operand @ii:
 * base + index * scale + @disp (the exit qualification: the displacement
 * sign-extended, or for RIP-relative operands the displacement plus the
 * next instruction's RIP, SDM 28.2.1), truncated to the address size.
 * @gpr holds the 16 registers in SDM order, [4] the guest's RSP.
 */
u64 tv_decode_offset(const struct tv_instr_info *ii, u64 disp,
		     const u64 *gpr);

/* A segment register as the VMCS holds it (access rights: VMCS format). */
struct tv_segment {
	u16 sel;
	u64 base;
	u32 limit;		/* byte granular, as the VMCS holds it */
	u32 ar;			/* type 3:0, S 4, DPL 6:5, P 7, AVL 12, L 13,
				 * D/B 14, G 15, unusable 16
				 */
};

#define TV_AR_UNUSABLE TV_BIT(16)

/* The CPU mode for tv_decode_linear(). */
#define TV_MODE_64	TV_BIT(0)	/* 64-bit mode: CS.L=1, EFER.LMA=1 */
#define TV_MODE_LA57	TV_BIT(1)	/* CR4.LA57 */
#define TV_MODE_PROT	TV_BIT(2)	/* CR0.PE=1 and RFLAGS.VM=0 */

/*
 * The linear address of an @size-byte access at @offset through segment
 * @s (index @seg, for the SS rule), as the CPU checks it after the exit
 * (SDM Vol. 3A 5.3 limit checking, 5.4.1 type checking; Vol. 1 3.3.7.1
 * canonical addressing), for @mode (TV_MODE_*):
 *  - 64-bit mode: base only for FS and GS, the address canonical (at bit
 *    56 with LA57, else 47);
 *  - protected mode (compatibility mode too): the segment usable, a
 *    readable one for reads, a writable data segment for writes;
 *  - every mode but 64-bit: the access inside the limit (expand-down
 *    segments: above it, up to 0xffff or 0xffffffff by D/B); the address
 *    wraps at 4 GiB.  Real and virtual-8086 mode check the limit only.
 * Returns 0 and @la, or the vector to raise with error code 0: 13 (#GP),
 * or 12 (#SS) for SS-relative accesses.
 */
int tv_decode_linear(const struct tv_segment *s, unsigned int seg,
		     u64 offset, unsigned int size, bool write, u32 mode,
		     u64 *la);

#endif
