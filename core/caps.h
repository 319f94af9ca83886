/* SPDX-License-Identifier: MIT */
/*
 * Pure decisions about the processor: which VMX controls to use, what the
 * capability MSRs allow, and how VMCS field encodings decode.  No
 * instruction is executed here; tests/unit feeds known MSR values.
 */
#ifndef TV_CORE_CAPS_H
#define TV_CORE_CAPS_H

#include "core/types.h"

/* The capability MSRs, read once on the loading CPU. */
struct tv_vmx_caps {
	u64 basic;
	u64 pin, proc, exit, entry;	/* TRUE_* when basic[55], else legacy */
	u64 proc2;			/* 0 when secondary controls can't be 1 */
	u64 ept_vpid;			/* 0 when neither EPT nor VPID can be 1 */
	u64 misc;
	u64 vmfunc;			/* 0 unless VM functions can be on */
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
};

/* CPUID facts that decide controls. */
struct tv_cpu_features {
	bool rdtscp;		/* CPUID.80000001H:EDX[27] */
	bool invpcid;		/* CPUID.(7,0):EBX[10] */
	bool xsaves;		/* CPUID.(0DH,1):EAX[3] */
	bool waitpkg;		/* CPUID.(7,0):ECX[5] */
	bool mtrr;		/* CPUID.1:EDX[12] */
	unsigned int phys_bits;	/* CPUID.80000008H:EAX[7:0] */
	u64 xcr0_supported;	/* CPUID.(0DH,0):EDX:EAX */
};

/* The controls and masks a VMCS gets. */
struct tv_controls {
	u32 pin, proc, proc2, exit, entry;
	u64 cr0_mask, cr4_mask;
	bool unrestricted_guest;
	bool ept_1gb;
	bool ept_walk5;		/* MAXPHYADDR > 48: 5-level EPT */
};

/*
 * Adjust @want against a VMX control capability MSR: bits the CPU requires
 * are set (low word: allowed-0 settings), bits it cannot set are cleared
 * (high word: allowed-1 settings).
 */
static inline u32 tv_adjust_controls(u64 cap, u32 want)
{
	return (want | (u32)cap) & (u32)(cap >> 32);
}

/*
 * Check the capability MSRs for what thinvisor needs: a write-back VMCS of
 * at most a page; EPT (4-level walk, WB, 2 MB pages, INVEPT all-context);
 * VPID with INVVPID all-context; unrestricted guest and the wait-for-SIPI
 * activity state (an INIT'ed CPU waits for SIPI, then runs real mode).
 * Returns TV_OK, TV_ERR_VMX_CAPS or TV_ERR_EPT_CAPS, with @why naming the
 * first missing feature; EPT is named first when it is missing.
 */
int tv_check_caps(const struct tv_vmx_caps *c, const char **why);

/*
 * The INVVPID type (INVVPID_* of arch/x86/vmx.h) to execute for @wanted:
 * @wanted when IA32_VMX_EPT_VPID_CAP reports it (bits 40-43), else the
 * narrowest supported type that invalidates at least as much
 * (single-context, then all-context, which tv_check_caps() requires).
 */
u32 tv_invvpid_type(const struct tv_vmx_caps *c, u32 wanted);

/* Same for INVEPT: single-context (bit 25) or all-context (bit 26). */
u32 tv_invept_type(const struct tv_vmx_caps *c, u32 wanted);

/*
 * Choose the controls: only what the core needs (MSR bitmaps, EPT, VPID,
 * unrestricted guest, EFER switching, 64-bit host and guest) plus what
 * keeps guest instructions working (RDTSCP, INVPCID, XSAVES, user wait
 * when the CPU has them).  Refuses a MAXPHYADDR above 48, which a 4-level
 * EPT cannot map.  Returns TV_OK, TV_ERR_VMX_CAPS or TV_ERR_EPT_CAPS with
 * @why set.
 */
int tv_choose_controls(const struct tv_vmx_caps *c,
		       const struct tv_cpu_features *f,
		       struct tv_controls *out, const char **why);

/* Decoded VMCS field encoding (SDM Vol. 3, Appendix B). */
enum tv_vmcs_width { TV_W16 = 0, TV_W64 = 1, TV_W32 = 2, TV_WNATURAL = 3 };
enum tv_vmcs_type { TV_T_CONTROL = 0, TV_T_EXIT_INFO = 1, TV_T_GUEST = 2,
		    TV_T_HOST = 3 };
struct tv_vmcs_field_info {
	enum tv_vmcs_width width;
	enum tv_vmcs_type type;
	u16 index;
	bool high;		/* the high 32 bits of a 64-bit field */
	bool valid;		/* reserved bits clear */
};

struct tv_vmcs_field_info tv_vmcs_field_decode(u32 encoding);

#endif
